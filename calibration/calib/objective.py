"""Simulation of the training arms for a candidate, and the objective.

The objective is the sum over fitted targets of ((simulated - observed) / SE_observed)^2, plus the
priors of the free parameters, plus the physiological penalties (``calib.physiology``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import selinexor_pkpd as sp

from .cohort import Cohort
from .library import typical_params
from .metrics import arm_metrics, daily_grid, lab_days, recovery_metrics
from .physiology import stability_penalty, typical_checks, typical_penalty
from .targets import Spec

SEARCH_DAYS_BOSTON = 182.0  # BOSTON horizon in stages A and B (cheaper); stage C and the checks use the arm's days

# simulated metrics recorded in the history of every evaluation
HISTORY_METRICS = ("g3_lab", "g4_lab", "g3plus_lab", "any_te_reported", "onset_te_reported_median")
EXTRA_METRICS = ("onset_g3_lab_median", "recovery_days_median")


class Evaluator:
    """Evaluates candidates on fixed virtual patients.

    Candidates are passed through the API (typical values as ``params=``, per-subject values and
    baselines as a patient table) without rebuilding the library.

    Parameters
    ----------
    spec : Spec
        Arms, targets and free parameters.
    n : int
        Patients of the STORM arm's population.
    seed : int
        Seed of the patients and of the simulations.
    n_boston : int, optional
        Patients of the other populations (default: ``n``).
    threads : int, optional
        Worker threads (all cores when omitted).

    Attributes
    ----------
    disc_median : dict
        Discontinuation median (days) of each population, starting from ``targets.toml`` and
        updated by ``calib.fit.solve_discontinuation``.
    short : bool
        Simulate the BOSTON arms for ``SEARCH_DAYS_BOSTON`` days only.
    n_evals : int
        Evaluations so far.
    history : list of dict
        The record of every evaluation.
    """

    def __init__(self, spec: Spec, n: int, seed: int, n_boston: int | None = None, threads: int | None = None) -> None:
        self.spec = spec
        self.seed = seed
        self.threads = threads
        storm = spec.arms["storm"].population
        self.cohorts = {p: Cohort(p, n if p == storm else (n_boston or n), seed) for p in spec.populations}
        self.disc_median = {p: pop.discontinuation_median_days for p, pop in spec.populations.items()}
        self.labs = {k: lab_days(sp.regimen(a.regimen), a.days) for k, a in spec.arms.items()}
        self.short = False
        self.n_evals = 0
        self.history: list[dict[str, Any]] = []

    def days(self, arm: str) -> float:
        """Days simulated for ``arm`` (shortened BOSTON horizon when ``short``)."""
        days = self.spec.arms[arm].days
        return min(SEARCH_DAYS_BOSTON, days) if (self.short and arm != "storm") else days

    def simulate_arm(self, arm: str, x: dict[str, float]) -> dict[str, float]:
        """Metrics (``calib.metrics.arm_metrics``) of ``arm`` under candidate ``x``."""
        a = self.spec.arms[arm]
        c = self.cohorts[a.population]
        pop = sp.Population.from_table(c.table(x, self.disc_median[a.population]), base=c.base)
        days = self.days(arm)
        if a.observe == "daily":
            grid = daily_grid(days)
            res = sp.simulate_population(a.regimen, pop, days=days, seed=self.seed, dose_rules=a.rules,
                                         params=typical_params(x, a.population), observe=grid, threads=self.threads)
            return recovery_metrics(res, grid)
        labs = self.labs[arm][self.labs[arm] < days]
        res = sp.simulate_population(a.regimen, pop, days=days, seed=self.seed, dose_rules=a.rules,
                                     params=typical_params(x, a.population), observe=labs, threads=self.threads)
        return arm_metrics(res, labs, x["q_report"])

    def rule_stops(self, arm: str, x: dict[str, float]) -> np.ndarray:
        """Days at which the dose rules stop selinexor for good (inf: never within the horizon), with no
        discontinuation for other reasons."""
        a = self.spec.arms[arm]
        c = self.cohorts[a.population]
        pop = sp.Population.from_table(c.table(x, None), base=c.base)
        res = sp.simulate_population(a.regimen, pop, days=a.days, seed=self.seed, dose_rules=a.rules,
                                     params=typical_params(x, a.population), threads=self.threads)
        s = res.subjects
        return np.where(s["stopped_by_rule"].to_numpy(), s["days_on_treatment"].to_numpy(), np.inf)

    def objective(self, x: dict[str, float], arms: list[str], free: list[str]) -> tuple[float, dict[str, Any]]:
        """The objective of candidate ``x``.

        Parameters
        ----------
        x : dict
            Every free parameter.
        arms : list of str
            Arms simulated; only their fitted targets count (none: priors and penalties only).
        free : list of str
            Parameters whose priors count.

        Returns
        -------
        total : float
            Fit + prior + penalty.
        record : dict
            The terms, ``x``, simulated metrics and typical-patient checks (appended to ``history``).
        """
        self.n_evals += 1
        sims = {a: self.simulate_arm(a, x) for a in arms}
        terms: dict[str, float] = {}
        for t in self.spec.targets:
            if t.fit and t.arm in arms:
                v = sims[t.arm][t.metric]
                terms[t.key] = 25.0 if not math.isfinite(v) else ((v - t.observed) / t.se_obs) ** 2
        prior = sum(self.spec.params[k].prior(x[k]) for k in free)
        chk = typical_checks(x)
        pen = typical_penalty(chk)
        pen += stability_penalty(chk)
        total = sum(terms.values()) + prior + pen
        rec = {"eval": self.n_evals, "total": total, "fit": sum(terms.values()), "prior": prior, "penalty": pen,
               **{f"x.{k}": x[k] for k in free}, **{f"t.{k}": v for k, v in terms.items()},
               **{f"sim.{a}.{m}": sims[a][m] for a in arms for m in HISTORY_METRICS if m in sims[a]},
               **{f"sim.{a}.{m}": sims[a][m] for a in arms for m in EXTRA_METRICS if m in sims[a]},
               **{f"chk.{k}": v for k, v in chk.items()}}
        self.history.append(rec)
        return total, rec
