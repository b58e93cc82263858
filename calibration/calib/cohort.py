"""Fixed virtual patients of a population (common random numbers), so that the objective is a smooth,
deterministic function of the free parameters."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special, stats

import selinexor_pkpd as sp

from .library import BASELINE_MEDIAN, population_value

LN2 = math.log(2.0)


class Cohort:
    """Fixed virtual patients of one population.

    Covariates come from the engine's sampler; fixed uniforms and normals stand behind the baseline
    platelets, kon, Imax and the time on treatment, so that a candidate changes the patients'
    values but not the patients.

    Parameters
    ----------
    population : str
        Population preset.
    n : int
        Number of patients.
    seed : int
        Seed of the covariates and of the fixed random numbers.
    """

    def __init__(self, population: str, n: int, seed: int) -> None:
        self.population = population
        self.n = n
        base = sp.population(population, n)
        r = sp.simulate_population("xd_80_biw", base, days=1.0, seed=seed)
        self.covariates = r.subjects[["weight", "height", "age", "sex", "crcl"]].reset_index(drop=True)
        rng = np.random.default_rng([seed, 7919, len(population)])
        self.u_p0 = rng.random(n)
        self.z_kon = rng.standard_normal(n)
        self.z_imax = rng.standard_normal(n)
        self.u_disc = rng.random(n)
        self.z_renewal = np.random.default_rng([seed, 7927, len(population)]).standard_normal(n)
        self.base = base

    def table(self, x: dict[str, float], disc_median: float | None) -> pd.DataFrame:
        """Patient table of candidate ``x`` for ``Population.from_table``.

        Baseline platelets are log-normal truncated to 75-700 (by inverse CDF, the distribution the
        engine samples by redrawing), kon log-normal and Imax logit-normal around the typical values,
        and the discontinuation time exponential with median ``disc_median`` (None: never).
        """
        med = x[BASELINE_MEDIAN[self.population]]
        s = math.sqrt(math.log(1 + x["P0_cv"] ** 2))
        lo = stats.norm.cdf((math.log(75.0) - math.log(med)) / s)
        hi = stats.norm.cdf((math.log(700.0) - math.log(med)) / s)
        p0 = med * np.exp(s * stats.norm.ppf(lo + self.u_p0 * (hi - lo)))
        t = self.covariates.copy()
        t["platelets"] = p0
        pop = self.population
        sk = math.sqrt(math.log(1 + population_value(x, "cv_kon", pop) ** 2))
        t["platelets.kon"] = population_value(x, "kon", pop) * np.exp(sk * self.z_kon)
        si = math.sqrt(math.log(1 + population_value(x, "cv_Imax", pop) ** 2))
        t["platelets.Imax"] = special.expit(special.logit(population_value(x, "Imax", pop)) + si * self.z_imax)
        cv_renewal = population_value(x, "cv_renewal", pop)
        if cv_renewal is not None:
            sr = math.sqrt(math.log(1 + cv_renewal ** 2))
            t["platelets.renewal"] = special.expit(special.logit(population_value(x, "renewal", pop)) + sr * self.z_renewal)
        t["disc_days"] = self.disc_days(disc_median)
        return t

    def disc_days(self, median: float | None) -> np.ndarray:
        """Discontinuation day of each patient for an exponential ``median`` (None: 1e6, never)."""
        if median is None:
            return np.full(self.n, 1e6)
        return -np.log1p(-self.u_disc) * median / LN2
