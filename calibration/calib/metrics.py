"""Metrics of a simulated arm on its lab visits, as trials grade.

``lab_days`` and ``ctcae_grade`` restate facts the engine owns (its lab-visit schedule and its
CTCAE grading); they are the only such copies in the calibration code.
"""

from __future__ import annotations

import math

import numpy as np

import selinexor_pkpd as sp


def lab_days(regimen: sp.Regimen, days: float) -> np.ndarray:
    """Lab-visit times (days after the first dose) of a regimen, as the engine schedules them."""
    return regimen.lab_days(days)


ctcae_grade = sp.ctcae_grade


def weighted_grouped_median(grid: np.ndarray, weights: np.ndarray) -> float:
    """Interpolated median of events with ``weights`` (expected counts) observed on the sorted visit
    days ``grid``.

    An event is dated by the visit that observes it, as trials date onsets. Each visit's events are
    spread evenly over its class, from the midpoint with the previous visit to the midpoint with the
    next (the first and last classes symmetric about their visit): the interpolated median of discrete
    data. It stays within the class of the plain median (the visit at which the cumulative share
    reaches one half) and, unlike it, is smooth in the weights.
    """
    total = weights.sum()
    if not total > 0:
        return math.nan
    grid = np.asarray(grid, dtype=float)
    if len(grid) == 1:
        return float(grid[0])
    mid = 0.5 * (grid[1:] + grid[:-1])
    edges = np.concatenate([[grid[0] - (mid[0] - grid[0])], mid, [grid[-1] + (grid[-1] - mid[-1])]])
    cdf = np.cumsum(weights) / total
    k = int(np.searchsorted(cdf, 0.5 - 1e-12))
    c0 = cdf[k - 1] if k > 0 else 0.0
    return float(edges[k] + (0.5 - c0) / (cdf[k] - c0) * (edges[k + 1] - edges[k]))


def reported_events(te: np.ndarray, g: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Observation model of adverse-event reporting (ASSUMPTION, ``q_report`` in calibration/targets.toml).

    A treatment-emergent lab value of grade 3-4 is always reported, one of grade 1-2 with
    probability ``q`` at each visit, independently (``q = 1``: every treatment-emergent value).

    Parameters
    ----------
    te : ndarray of bool, (subjects, visits)
        Treatment-emergent lab values.
    g : ndarray of int, (subjects, visits)
        Their grades.
    q : float
        Probability that a grade 1-2 value is reported.

    Returns
    -------
    p_any : ndarray, (subjects,)
        Probability that any event is reported.
    p_first : ndarray, (subjects, visits)
        Probability that the first reported event is at each visit (expected values: smooth in
        ``q``, no random draws).
    """
    p = np.where(te, np.where(g >= 3, 1.0, q), 0.0)
    none_yet = np.cumprod(1.0 - p, axis=1)
    before = np.hstack([np.ones((p.shape[0], 1)), none_yet[:, :-1]])
    return 1.0 - none_yet[:, -1], p * before


def event_metrics(te: np.ndarray, g: np.ndarray, labs: np.ndarray, q: float) -> tuple[float, float, float]:
    """Fraction of patients with a reported event, and the grouped and plain medians of the study day
    (days after the first dose + 1) of the first one, under ``reported_events``."""
    p_any, p_first = reported_events(te, g, q)
    w = p_first.sum(axis=0)
    if not w.sum() > 0:
        return float(p_any.mean()), math.nan, math.nan
    days = labs + 1.0
    plain = float(days[int(np.searchsorted(np.cumsum(w) / w.sum(), 0.5 - 1e-12))])
    return float(p_any.mean()), weighted_grouped_median(days, w), plain


def arm_metrics(res: sp.PopulationResult, labs: np.ndarray, q_report: float) -> dict[str, float]:
    """The engine's summary of an arm plus the lab-visit metrics the targets compare with.

    Parameters
    ----------
    res : PopulationResult
        The arm, observed on ``labs``.
    labs : ndarray
        Lab-visit times (days after the first dose).
    q_report : float
        Reporting probability of grade 1-2 values (see ``reported_events``).

    Returns
    -------
    dict
        ``res.summary()`` with ``n``; ``any_te_lab``, ``onset_te_lab_median`` and
        ``onset_te_lab_median_plain`` (every treatment-emergent lab value an event), the same with
        ``reported`` for reported events; ``any_grade_lab_incl_baseline``; and the medians over all
        subjects of ``t_onset_g1_days``, ``t_nadir_days``, ``nadir``, ``days_on_treatment``
        (``<key>_median_all``).
    """
    s = res.subjects
    out = dict(res.summary())
    out["n"] = len(s)
    # Treatment-emergent any grade on the lab visits: a post-baseline visit (while on treatment)
    # whose grade is worse than the baseline grade. Onset: study day (days after first dose + 1).
    g0 = ctcae_grade(s["P0"].to_numpy())
    on = labs[None, :] <= s["days_on_treatment"].to_numpy()[:, None] + 1e-9
    post = labs[None, :] > 0
    g = ctcae_grade(res.trajectories)
    te = (g > g0[:, None]) & on & post
    for tag, q in (("lab", 1.0), ("reported", q_report)):
        out[f"any_te_{tag}"], out[f"onset_te_{tag}_median"], out[f"onset_te_{tag}_median_plain"] = \
            event_metrics(te, g, labs, q)
    # First grade >= 3 lab value while on treatment (the label's DLBCL onset of grade >= 3): interpolated
    # median of its study day among patients with one (smooth in the parameters, like the onset above).
    g3 = (g >= 3) & on & post
    first = g3 & (np.cumsum(g3, axis=1) == 1)
    out["onset_g3_lab_median"] = weighted_grouped_median(labs + 1.0, first.sum(axis=0).astype(float))
    out["any_grade_lab_incl_baseline"] = float((s["worst_grade_lab"] >= 1).mean())
    if "any_grade_lab" in out and abs(out["any_grade_lab"] - out["any_te_lab"]) > 1e-12:
        raise RuntimeError("treatment-emergent any grade differs from the package's any_grade_lab")
    for key in ("t_onset_g1_days", "t_nadir_days", "nadir", "days_on_treatment"):
        out[f"{key}_median_all"] = float(s[key].median())
    return out


RECOVERY_LEVEL = 75.0  # a count back at grade <= 1 (CTCAE: >= 75 x 10^9/L)
DAILY_STEP = 0.25      # days between the values of an arm observed "daily"


def daily_grid(days: float) -> np.ndarray:
    """Observation times (days) of an arm observed ``"daily"``: four a day."""
    return np.arange(0.0, days + 1e-9, DAILY_STEP)


def recovery_metrics(res: sp.PopulationResult, grid: np.ndarray) -> dict[str, float]:
    """Recovery after the dose rules stop selinexor (an arm whose rules stop it at a low count).

    For each patient stopped by the rules: days from the stop (the lab visit that stopped it, the
    engine's ``days_on_treatment``) to the first value >= ``RECOVERY_LEVEL`` after the count's
    lowest point after the stop, on ``grid``.

    Returns
    -------
    dict
        ``n``; ``stopped`` (fraction stopped by the rules); ``recovery_days_median`` and its
        quartiles (``_q1``, ``_q3``) over the stopped patients (never recovered counts as
        infinitely long); ``nadir_after_stop_days_median`` (days from the stop to the lowest count).
    """
    s = res.subjects
    traj = res.trajectories
    stopped = s["stopped_by_rule"].to_numpy().astype(bool)
    t_stop = s["days_on_treatment"].to_numpy()
    rec, low = [], []
    for i in np.flatnonzero(stopped):
        after = grid >= t_stop[i] - 1e-9
        p = np.where(after, traj[i], np.inf)
        j = int(np.argmin(p))
        low.append(grid[j] - t_stop[i])
        up = (grid > grid[j]) & (traj[i] >= RECOVERY_LEVEL)
        rec.append(grid[int(np.argmax(up))] - t_stop[i] if up.any() else math.inf)
    r = np.array(rec) if rec else np.array([math.nan])
    return {"n": float(len(s)), "stopped": float(stopped.mean()),
            "recovery_days_median": float(np.median(r)), "recovery_days_q1": float(np.percentile(r, 25)),
            "recovery_days_q3": float(np.percentile(r, 75)),
            "nadir_after_stop_days_median": float(np.median(low)) if low else math.nan,
            "days_on_treatment_median": float(np.median(t_stop))}
