"""Efficacy statistics of simulated patients: response rates and Kaplan-Meier progression-free
survival from the subject table's efficacy columns (computed by the engine: ``best_response``,
``responder``, ``vgpr_or_better``, ``pfs_days``, ``pfs_event``; model in docs/efficacy.md)."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .summary import Z95, wilson

#: Days per month for PFS in months (365.25 / 12).
DAYS_PER_MONTH = 30.4375


def kaplan_meier(time: Any, event: Any) -> pd.DataFrame:
    """The Kaplan-Meier estimate of a survival function.

    Parameters
    ----------
    time : array-like
        Time to event or censoring (e.g. ``pfs_days``).
    event : array-like of bool
        True for an event, False for censoring (e.g. ``pfs_event``).

    Returns
    -------
    pandas.DataFrame
        Columns ``time`` (0 and each event time), ``survival``, ``lower`` and ``upper`` (95%
        pointwise interval, log-log transformed Greenwood variance), ``at_risk``, ``events``.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    if t.shape != e.shape or t.ndim != 1:
        raise ValueError("time and event must be 1-D arrays of one length")
    ok = np.isfinite(t)
    t, e = t[ok], e[ok]
    times = np.unique(t[e])
    rows = [(0.0, 1.0, 1.0, 1.0, len(t), 0)]
    s, green = 1.0, 0.0
    for u in times:
        n = int(np.sum(t >= u))
        d = int(np.sum((t == u) & e))
        s *= 1.0 - d / n
        if n > d:
            green += d / (n * (n - d))
        lo, hi = _loglog_interval(s, green)
        rows.append((float(u), s, lo, hi, n, d))
    return pd.DataFrame(rows, columns=["time", "survival", "lower", "upper", "at_risk", "events"])


def _loglog_interval(s: float, green: float) -> tuple[float, float]:
    if s <= 0.0 or s >= 1.0 or green <= 0.0:
        return (s, s)
    se = math.sqrt(green) / abs(math.log(s))
    a, b = math.exp(-Z95 * se), math.exp(Z95 * se)
    # log(-log S) +- z se: S^(exp(+z se)) is the lower bound.
    return (s ** b, s ** a)


def _first_below(km: pd.DataFrame, col: str) -> float:
    hit = km.loc[km[col] <= 0.5, "time"]
    return float(hit.iloc[0]) if len(hit) else math.nan


def km_median(time: Any, event: Any) -> tuple[float, float, float]:
    """Median of the Kaplan-Meier estimate with its 95% interval (Brookmeyer-Crowley style: the
    times at which the pointwise interval's bounds reach 0.5); NaN where not reached.

    Returns
    -------
    (median, lower, upper)
    """
    km = kaplan_meier(time, event)
    # the lower band reaches 0.5 first (the interval's lower end), the upper band last
    return (_first_below(km, "survival"), _first_below(km, "lower"), _first_below(km, "upper"))


def km_median_interpolated(time: Any, event: Any) -> float:
    """The time at which the Kaplan-Meier curve, linearly interpolated between its event times,
    reaches 0.5: a smooth version of the median (used by the efficacy calibration, whose
    simulated progression times sit on the assessment grid)."""
    km = kaplan_meier(time, event)
    s, t = km["survival"].to_numpy(), km["time"].to_numpy()
    below = np.flatnonzero(s <= 0.5)
    if below.size == 0:
        return math.nan
    i = below[0]
    if i == 0 or s[i - 1] == s[i]:
        return float(t[i])
    return float(t[i - 1] + (s[i - 1] - 0.5) / (s[i - 1] - s[i]) * (t[i] - t[i - 1]))


def efficacy_summary(subjects: pd.DataFrame) -> Mapping[str, float]:
    """One arm's efficacy: ORR (PR or better), >= VGPR and CR rates with 95% Wilson intervals,
    median PFS (days and months) with its 95% interval, and the number of patients.

    Parameters
    ----------
    subjects : pandas.DataFrame
        A subject table (``PopulationResult.subjects``).
    """
    n = len(subjects)
    out: dict[str, float] = {"n": float(n)}
    for key, col in (("orr", subjects["responder"]), ("vgpr_plus", subjects["vgpr_or_better"]),
                     ("cr", subjects["best_response"] == "CR")):
        k = int(np.sum(np.asarray(col, dtype=bool)))
        lo, hi = wilson(k, n)
        out[key], out[f"{key}_lo"], out[f"{key}_hi"] = (k / n if n else math.nan), lo, hi
    med, lo, hi = km_median(subjects["pfs_days"], subjects["pfs_event"])
    out["pfs_median_days"], out["pfs_median_days_lo"], out["pfs_median_days_hi"] = med, lo, hi
    for k in ("pfs_median_days", "pfs_median_days_lo", "pfs_median_days_hi"):
        out[k.replace("days", "months")] = out[k] / DAYS_PER_MONTH
    return out
