"""The staged search: Nelder-Mead on a bounded, transformed scale, and the discontinuation medians."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from scipy import optimize

from . import Log
from .library import fmt, rounded
from .objective import Evaluator

# (name, free parameters, arms, evaluations at --maxiter 100 (scaled), short BOSTON horizon)
STAGES = [
    ("0: physiological constraints only (typical patient; priors + penalties)",
     ["gamma", "tpo_half", "fP", "EC50_btz"], [], 120, False),
    ("B: bortezomib on BOSTON Vd", ["EC50_btz", "Emax_btz", "P0_early"], ["vd"], 25, False),
    ("A: selinexor + platelet system on STORM / label pool and BOSTON SVd",
     ["Imax", "kon", "koff", "gamma", "tpo_half", "fP", "cv_kon", "cv_Imax", "P0_heavy", "P0_cv", "q_report"], ["storm", "svd"], 170, True),
    ("C: joint, all arms, full horizon", ["Imax", "kon", "koff", "cv_kon", "EC50_btz", "P0_early", "q_report"], ["storm", "svd", "vd"], 45, False),
]

FITTED = frozenset(k for _, free, *_ in STAGES for k in free)


def stages_of(spec: Any) -> list[tuple[str, list[str], list[str], int, bool]]:
    """The stages of the search: the targets file's own ``[[stages]]`` when it has them, else ``STAGES``."""
    return spec.stages or STAGES


def fitted(spec: Any) -> frozenset[str]:
    """The parameters free in some stage of ``spec``."""
    return frozenset(k for _, free, *_ in stages_of(spec) for k in free)


def solve_discontinuation(ev: Evaluator, x: dict[str, float], log: Log) -> dict[str, float]:
    """Choose the exponential discontinuation median of each population so that the simulated median
    days on treatment, min(discontinuation, stop by the dose rules, horizon), matches the arms' observed
    medians.

    The rule-stop times come from one run without discontinuation (common random numbers); a
    population that serves several arms (early relapse: both BOSTON arms) gets the median that
    minimises the summed squared log errors. The medians, rounded to days, are stored in
    ``ev.disc_median`` and returned.
    """
    out = {}
    grid = np.exp(np.linspace(math.log(20.0), math.log(900.0), 400))
    arms_of = {p: [k for k, a in ev.spec.arms.items() if a.population == p and a.time_on_treatment_days is not None]
               for p in ev.spec.populations}
    for pop, arms in arms_of.items():
        c = ev.cohorts[pop]
        arm = {a: ev.spec.arms[a] for a in arms}
        stops = {a: (ev.rule_stops(a, x) if arm[a].rules else np.full(c.n, np.inf)) for a in arms}

        def med(m: float, a: str) -> float:
            return float(np.median(np.minimum(np.minimum(c.disc_days(m), stops[a]), arm[a].days)))

        err = [sum(math.log(med(m, a) / arm[a].time_on_treatment_days) ** 2 for a in arms) for m in grid]
        m = float(grid[int(np.argmin(err))])
        out[pop] = float(round(m))
        ev.disc_median[pop] = out[pop]
        log(f"  discontinuation median {pop}: {out[pop]:.0f} days -> median days on treatment "
            + ", ".join(f"{a} {med(out[pop], a):.0f} (observed {arm[a].time_on_treatment_days:.0f}; stopped by the rules "
                        f"{100 * np.isfinite(stops[a]).mean():.0f}% within {arm[a].days:.0f} days)" for a in arms))
    return out


def fit_stage(ev: Evaluator, x0: dict[str, float], free: list[str], arms: list[str], maxfev: int,
              name: str, log: Log) -> dict[str, float]:
    """One stage: Nelder-Mead (adaptive) over ``free`` on the bounded logit scale, on ``arms``.

    Parameters
    ----------
    ev : Evaluator
        The evaluator (its ``short`` flag is left as the caller set it).
    x0 : dict
        Starting candidate; parameters not in ``free`` are held.
    free, arms : list of str
        Parameters searched and arms simulated.
    maxfev : int
        Evaluation budget.
    name : str
        Stage name (its first character tags the progress lines).
    log : callable
        Receives progress lines.

    Returns
    -------
    dict
        The best candidate seen.
    """
    ps = [ev.spec.params[k] for k in free]
    u0 = np.array([p.to_u(x0[p.name]) for p in ps])
    best: dict[str, Any] = {"f": math.inf, "x": dict(x0), "rec": None}
    t0 = time.perf_counter()

    def unpack(u: np.ndarray) -> dict[str, float]:
        x = dict(x0)
        for p, ui in zip(ps, u):
            x[p.name] = p.from_u(float(ui))
        return x

    def f(u: np.ndarray) -> float:
        x = unpack(u)
        val, rec = ev.objective(x, arms, free)
        if val < best["f"]:
            best.update(f=val, x=x, rec=rec)
            sims = " ".join(f"{k[4:]}={v:.3f}" for k, v in rec.items() if k.startswith("sim.") and isinstance(v, (float, np.floating))
                            and not k.endswith("onset_te_reported_median") and (("g3plus" in k) or ("storm" in k and ("g3_lab" in k or "g4_lab" in k or "any" in k))))
            onset = rec.get("sim.storm.onset_te_reported_median")
            log(f"  [{name[:1]}] eval {ev.n_evals:4d}  t={time.perf_counter() - t0:6.1f}s  f={val:8.3f} (fit {rec['fit']:.2f} prior {rec['prior']:.2f} "
                f"pen {rec['penalty']:.2f})  {sims}" + (f" onset={onset:.1f}" if onset is not None else "")
                + f" | typ nadir d{rec['chk.biw_t_nadir_days']:.0f}/d{rec['chk.qw_t_nadir_days']:.0f} vd max {rec['chk.vd_max_rel']:.2f}"
                + f" withdraw max {rec['chk.withdraw_max_rel']:.2f} d112 {rec['chk.withdraw_day112_rel']:.2f}"
                + "  " + " ".join(f"{k}={x[k]:.4g}" for k in free))
        return val

    init = np.vstack([u0] + [u0 + 0.6 * np.eye(len(u0))[i] for i in range(len(u0))])
    log(f"Stage {name}: {len(free)} parameters, arms {arms}, up to {maxfev} evaluations")
    optimize.minimize(f, u0, method="Nelder-Mead",
                      options={"maxfev": maxfev, "initial_simplex": init, "xatol": 0.02, "fatol": 0.05, "adaptive": True})
    log(f"Stage {name} done: f={best['f']:.3f} after {time.perf_counter() - t0:.0f} s")
    return best["x"]


def fit(ev: Evaluator, x: dict[str, float], maxiter: int, log: Log) -> dict[str, float]:
    """Run every stage from ``x``, then round and solve the discontinuation medians.

    Parameters
    ----------
    ev : Evaluator
        The evaluator.
    x : dict
        Starting candidate.
    maxiter : int
        Evaluation budget of each stage, in percent of its default.
    log : callable
        Receives progress lines.

    Returns
    -------
    dict
        The fitted candidate, rounded to the precision written to the files (``calib.library.rnd``).
    """
    all_params = list(ev.spec.params)
    f0, rec0 = ev.objective(x, list(ev.spec.arms), all_params)
    log(f"start: f={f0:.2f} " + " ".join(f"{k}={v:.3f}" for k, v in rec0.items() if k.startswith("sim.")))
    for name, free, arms, fev, short in stages_of(ev.spec):
        if name.startswith("C"):
            log("Time on treatment before stage C:")
            solve_discontinuation(ev, x, log)
        ev.short = short
        x = fit_stage(ev, x, free, arms, max(4, int(fev * maxiter / 100)), name, log)
    ev.short = False
    x = rounded(x)
    log("Time on treatment with the fitted values:")
    solve_discontinuation(ev, x, log)
    f1, _ = ev.objective(x, list(ev.spec.arms), all_params)
    log(f"fitted (rounded): f={f1:.2f}  " + " ".join(f"{k}={fmt(v)}" for k, v in x.items()))
    return x
