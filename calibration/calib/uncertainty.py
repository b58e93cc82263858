"""Uncertainty of the fitted values: the Gauss-Newton (Fisher) approximation of the objective.

The objective is a sum of squared standardised residuals (targets and priors), i.e. -2 log
likelihood up to a constant, so near its minimum the covariance of the free parameters on the
search scale is (J^T J)^-1, J the Jacobian of the residuals. J is taken by central differences with
a step large enough to smooth over the discreteness of lab-visit grades in a finite cohort
(``STEP`` on the bounded logit scale). The physiological penalties are constraints, not data, and
are left out. Intervals are mapped back through each parameter's transform, so they stay inside the
bounds; a parameter whose interval spans most of its range is not identified by the targets.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import Log
from .objective import Evaluator

STEP = 0.25  # central-difference step on the logit scale of the bounds


def residuals(ev: Evaluator, x: dict[str, float], free: list[str]) -> np.ndarray:
    """Standardised residuals of every fitted target (all arms, full horizon) and of the priors of ``free``."""
    arms = list(ev.spec.arms)
    ev.short = False
    sims = {a: ev.simulate_arm(a, x) for a in arms}
    out = []
    for t in ev.spec.targets:
        if t.fit:
            v = sims[t.arm][t.metric]
            out.append((v - t.observed) / t.se_obs if math.isfinite(v) else 5.0)
    for k in free:
        p = ev.spec.params[k]
        if p.prior_sd is not None:
            out.append((p.to_y(x[k]) - p.to_y(p.start)) / p.prior_sd)
    return np.array(out)


def fisher_intervals(ev: Evaluator, x: dict[str, float], free: list[str], log: Log) -> dict[str, dict[str, Any]]:
    """Approximate 95% intervals of the free parameters at the fitted ``x``.

    Returns
    -------
    dict
        Per parameter: ``lo``, ``hi`` (95% interval on the parameter's own scale), ``se_u`` (SE on the
        search scale) and ``corr`` (the largest absolute correlation with another parameter, and which).
    """
    ps = [ev.spec.params[k] for k in free]
    u0 = np.array([p.to_u(x[p.name]) for p in ps])
    cols = []
    for i, p in enumerate(ps):
        rs = []
        for sgn in (1.0, -1.0):
            xi = dict(x)
            xi[p.name] = p.from_u(u0[i] + sgn * STEP)
            rs.append(residuals(ev, xi, free))
        cols.append((rs[0] - rs[1]) / (2 * STEP))
        log(f"  Jacobian column {i + 1}/{len(ps)} ({p.name}) done")
    jac = np.column_stack(cols)
    # a parameter that moves no residual carries no information: unidentified (infinite SE)
    seen = np.linalg.norm(jac, axis=0) > 1e-8
    info = jac[:, seen].T @ jac[:, seen]
    se = np.full(len(ps), np.inf)
    cov = np.full((len(ps), len(ps)), np.nan)
    cov[np.ix_(seen, seen)] = np.linalg.pinv(info)
    se[seen] = np.sqrt(np.clip(np.diag(cov)[seen], 0.0, None))
    d = np.where((se > 0) & np.isfinite(se), se, 1.0)
    corr = np.nan_to_num(cov / np.outer(d, d))
    out = {}
    for i, p in enumerate(ps):
        c = np.abs(corr[i]).copy()
        c[i] = 0.0
        j = int(np.argmax(c)) if len(c) > 1 else i
        lo, hi = (p.from_u(u0[i] - 1.96 * se[i]), p.from_u(u0[i] + 1.96 * se[i])) if np.isfinite(se[i]) else (p.lo, p.hi)
        out[p.name] = {"lo": lo, "hi": hi,
                       "se_u": float(se[i]), "corr": (float(corr[i, j]), ps[j].name)}
    cond = float(np.linalg.cond(info)) if info.size else float("inf")
    log(f"  Fisher information: {int(seen.sum())} of {len(ps)} parameters move the residuals; condition number {cond:.3g}")
    return out
