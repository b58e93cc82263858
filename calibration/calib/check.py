"""The final check: every arm with a library's own population sampler (no patient table), and the
report table of observed against simulated values."""

from __future__ import annotations

import math
from typing import Any

import selinexor_pkpd as sp

from . import ROOT, Log
from .metrics import arm_metrics, daily_grid, lab_days, recovery_metrics
from .physiology import typical_checks
from .targets import Spec
from .writers import AE_REPORTING, load_q_report


def check(spec: Spec, library: Any, n: int, seed: int, q_report: float,
          threads: int | None = None) -> dict[str, dict[str, float]]:
    """Simulate every arm with the library's own populations (no patient table, no overrides).

    Returns
    -------
    dict
        ``calib.metrics.arm_metrics`` of each arm.
    """
    out = {}
    for key, a in spec.arms.items():
        pop = sp.population(a.population, n, library=library)
        if a.observe == "daily":
            grid = daily_grid(a.days)
            res = sp.simulate_population(a.regimen, pop, days=a.days, seed=seed, dose_rules=a.rules, observe=grid,
                                         library=library, threads=threads)
            out[key] = recovery_metrics(res, grid)
            continue
        labs = lab_days(sp.regimen(a.regimen, library=library), a.days)
        res = sp.simulate_population(a.regimen, pop, days=a.days, seed=seed, dose_rules=a.rules, observe=labs,
                                     library=library, threads=threads)
        out[key] = arm_metrics(res, labs, q_report)
    return out


def check_horizon(spec: Spec, library: Any, n: int, seed: int, q_report: float, threads: int | None,
                  log: Log) -> dict[str, dict[str, float]]:
    """The BOSTON arms over 364 days instead of their own horizon (sensitivity to the horizon)."""
    out = {}
    for key in ("svd", "vd"):
        a = spec.arms[key]
        labs = lab_days(sp.regimen(a.regimen), 364.0)
        pop = sp.population(a.population, n, library=library)
        res = sp.simulate_population(a.regimen, pop, days=364.0, seed=seed, dose_rules=a.rules,
                                     observe=labs, library=library, threads=threads)
        out[key] = arm_metrics(res, labs, q_report)
        log(f"  horizon 364 d, {key}: g3plus_lab={out[key]['g3plus_lab']:.3f}")
    return out


def report_rows(spec: Spec, sims: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """One row per target (observed, interval, simulated, within) and per arm's time on treatment."""
    rows = []
    for t in spec.targets:
        lo, hi = t.ci()
        v = sims[t.arm][t.metric]
        rows.append({
            "target": t.key, "description": t.description, "source": t.source, "arm": t.arm, "metric": t.metric,
            "observed": t.observed, "obs_k": t.k, "obs_n": t.n, "ci_lo": lo, "ci_hi": hi,
            "ci_kind": "Clopper-Pearson 95%" if t.k is not None else f"+/- 1.96 x assumed SE {t.se}",
            "simulated": v, "sim_n": int(sims[t.arm]["n"]), "within_ci": bool(lo <= v <= hi),
            "fitted": t.fit,
        })
    for arm, a in spec.arms.items():
        if a.time_on_treatment_days is None:
            continue
        rows.append({"target": f"{arm}_days_on_treatment", "description": f"{arm}: median days on treatment",
                     "source": a.time_on_treatment_source, "arm": arm,
                     "metric": "days_on_treatment_median", "observed": a.time_on_treatment_days, "obs_k": None, "obs_n": None,
                     "ci_lo": math.nan, "ci_hi": math.nan, "ci_kind": "", "simulated": sims[arm]["days_on_treatment_median"],
                     "sim_n": int(sims[arm]["n"]), "within_ci": None, "fitted": False})
    return rows


def print_table(rows: list[dict[str, Any]], log: Log) -> None:
    """Log the report rows, one line each."""
    for r in rows:
        if r["metric"] == "days_on_treatment_median":
            log(f"  {r['target']:<26} observed {r['observed']:7.1f}            simulated {r['simulated']:7.1f} (n={r['sim_n']})")
        elif r["obs_k"] is None:
            log(f"  {r['target']:<26} observed {r['observed']:7.1f} [{r['ci_lo']:.1f}, {r['ci_hi']:.1f}]  simulated {r['simulated']:7.2f} (n={r['sim_n']})  within: {'yes' if r['within_ci'] else 'NO'}")
        else:
            log(f"  {r['target']:<26} observed {r['observed']:6.3f} ({r['obs_k']}/{r['obs_n']}) [{r['ci_lo']:.3f}, {r['ci_hi']:.3f}]  "
                f"simulated {r['simulated']:6.3f} (n={r['sim_n']})  within: {'yes' if r['within_ci'] else 'NO'}")


def outside(rows: list[dict[str, Any]], typical: dict[str, float], log: Log, indent: str = "") -> list[str]:
    """Log the typical-patient checks and which targets lie outside their 95% interval; return those."""
    log(f"{indent}typical: " + " ".join(f"{k}={v:.3f}" for k, v in typical.items()))
    bad = [r["target"] for r in rows if r["within_ci"] is False]
    log("all targets within their 95% CI" if not bad else f"OUTSIDE the 95% CI: {', '.join(bad)}")
    return bad


def verify(spec: Spec, n: int, seed: int, threads: int | None, log: Log) -> bool:
    """Check the shipped defaults (no overrides) and the shipped ``q_report``.

    Returns
    -------
    bool
        Every target inside its 95% interval.
    """
    log(f"Verifying the shipped defaults: n={n} per arm, seed {seed}")
    q = load_q_report()
    log(f"  AE reporting: q_report = {q} ({AE_REPORTING.relative_to(ROOT)})")
    rows = report_rows(spec, check(spec, sp.Library(), n, seed, q, threads=threads))
    print_table(rows, log)
    return not outside(rows, typical_checks(None, sp.Library()), log, indent="  ")
