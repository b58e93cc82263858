"""Simon's two-stage phase II designs: exact operating characteristics and design search
(Simon R, Control Clin Trials 1989;10:1-10), computed in the Rust core."""

from __future__ import annotations

import pandas as pd

from typing import Any

from . import _core
from ._validate import whole


def simon_oc(r1: int, n1: int, r: int, n: int, p: float) -> pd.Series:
    """Exact operating characteristics of the design ``r1/n1, r/n`` at response rate ``p``.

    The trial stops after ``n1`` patients with ``r1`` or fewer responses; otherwise ``n - n1``
    more are treated, and the regimen is declared active with more than ``r`` responses in all.

    Parameters
    ----------
    r1, n1, r, n : int
        The design (e.g. protocol 000's first stage: ``r1=3, n1=13``, ``n=43``).
    p : float
        True response rate.

    Returns
    -------
    pandas.Series
        ``pet`` (probability of early termination), ``p_active`` (probability of declaring the
        regimen active), ``en`` (expected sample size).
    """
    ints = [whole(v, f, 0) for v, f in ((r1, "r1"), (n1, "n1"), (r, "r"), (n, "n"))]
    pet, act, en = _core.simon_oc(*ints, float(p))
    return pd.Series({"pet": pet, "p_active": act, "en": en})


def simon_simulate(r1: int, n1: int, r: int, n: int, p: float, *, trials: int = 10_000, seed: int = 1) -> pd.Series:
    """Simulated trials of the design with a fixed response rate ``p`` (each patient responds
    with probability ``p``; trial ``i`` draws from its own stream of ``seed``): the Monte-Carlo
    counterpart of :func:`simon_oc`, with the same fields."""
    ints = [whole(v, f, 0) for v, f in ((r1, "r1"), (n1, "n1"), (r, "r"), (n, "n"))]
    trials = whole(trials, "trials", 1, 10**8)
    pet, act, en = _core.simon_simulate(*ints, float(p), trials, whole(seed, "seed", 0, 2**64 - 1))
    return pd.Series({"pet": pet, "p_active": act, "en": en})


def simon_design(p0: float, p1: float, *, alpha: float = 0.05, beta: float = 0.20, n_max: int = 100) -> pd.DataFrame:
    """The optimal and minimax two-stage designs for response rates ``p0`` (uninteresting) and
    ``p1`` (worth pursuing), with type I error at most ``alpha`` and power at least ``1 - beta``.

    Optimal: the smallest expected sample size under ``p0``; minimax: the smallest total sample
    size (then the smallest expected size), as Simon (1989) defines them.

    Returns
    -------
    pandas.DataFrame
        One row per design (``optimal``, ``minimax``): ``r1, n1, r, n``, ``en_p0``, ``pet_p0``,
        ``alpha`` and ``power`` (the design's exact values). Empty when no design up to
        ``n_max`` patients meets the constraints.
    """
    n_max = whole(n_max, "n_max", 2, 150)
    opt, mm = _core.simon_search(float(p0), float(p1), float(alpha), float(beta), n_max)
    rows = {}
    for name, d in (("optimal", opt), ("minimax", mm)):
        if d is None:
            continue
        r1_, n1_, r_, n_ = d
        pet0, a, en0 = _core.simon_oc(r1_, n1_, r_, n_, float(p0))
        power = _core.simon_oc(r1_, n1_, r_, n_, float(p1))[1]
        rows[name] = {"r1": r1_, "n1": n1_, "r": r_, "n": n_, "en_p0": en0, "pet_p0": pet0, "alpha": a, "power": power}
    return pd.DataFrame.from_dict(rows, orient="index")


def simon(arm: Any, *, stage1: int = 13, r1: int = 3, total: int = 43, r: int, trials: int = 200, seed: int = 20261207,
          population: Any = "rrmm_heavily_pretreated", days: float = 168.0, dose_rules: Any = "label",
          threads: int | None = None, library: Any = None) -> pd.Series:
    """Simon two-stage trials of a regimen, with the engine's simulated responses.

    Each of ``trials`` trials enrols its own ``total`` virtual patients (trial ``i``: subjects
    ``i total .. (i + 1) total - 1`` of ``population`` with ``seed``); the first ``stage1`` are
    stage 1. A trial stops after stage 1 with ``r1`` or fewer responders (IMWG partial response or
    better within ``days``, from the M-protein model of docs/efficacy.md); otherwise it enrols the
    rest and declares the regimen active with more than ``r`` responders of ``total``. Protocol
    000 arms 1 and 2: ``stage1=13, r1=3, total=43``.

    Parameters
    ----------
    arm : Regimen or str
        The regimen (preset name or :class:`Regimen`).
    stage1, r1, total, r : int
        The design.
    trials : int
        Simulated trials (``trials * total`` patients are simulated).
    seed : int
    population : Population or str
        A population, or a preset name.
    days : float
        Simulated days per patient: the window of the best response.
    dose_rules : {"label", "label_qw", "label_biw"}, dict or None
    threads : int, optional
    library : Library, path or dict, optional

    Returns
    -------
    pandas.Series
        ``pet``, ``p_active``, ``en`` over the simulated trials; ``orr``, the response rate over
        all simulated patients; and ``pet_exact``, ``p_active_exact``, ``en_exact``, the exact
        operating characteristics of the design at that rate (patients are independent, so the
        simulated figures agree with them within Monte-Carlo error).
    """
    from .population import Population
    from .population import population as make_population
    from .population import simulate_population

    ints = [whole(v, f, 0) for v, f in ((r1, "r1"), (stage1, "stage1"), (r, "r"), (total, "total"))]
    trials = whole(trials, "trials", 1, 10**6)
    _core.simon_oc(*ints, 0.5)  # validates the design before anything is simulated
    n = trials * ints[3]
    pop = population.with_n(n) if isinstance(population, Population) else make_population(population, n=n, library=library)
    res = simulate_population(arm, pop, days=days, seed=seed, dose_rules=dose_rules, threads=threads, library=library)
    responses = [bool(v) for v in res.subjects["responder"]]
    pet, act, en = _core.simon_trials(*ints, responses)
    orr = sum(responses) / len(responses)
    pet_x, act_x, en_x = _core.simon_oc(*ints, orr)
    return pd.Series({"pet": pet, "p_active": act, "en": en, "orr": orr, "pet_exact": pet_x,
                      "p_active_exact": act_x, "en_exact": en_x, "trials": float(trials)})


__all__ = ["simon", "simon_design", "simon_oc", "simon_simulate"]
