"""Summaries of population results: incidences with confidence intervals, percentiles."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score 95% interval of a binomial proportion k/n."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def _pct(x: pd.Series, q: float) -> float:
    x = x.dropna()
    return float(np.quantile(x, q)) if len(x) else math.nan


def summarize(s: pd.DataFrame) -> pd.Series:
    """One arm's summary from its subject table (see PopulationResult.subjects)."""
    n = len(s)
    out: dict[str, float] = {"n": n}

    def incidence(name: str, mask: pd.Series) -> None:
        k = int(mask.sum())
        lo, hi = wilson(k, n)
        out[name] = k / n if n else math.nan
        out[f"{name}_lo"] = lo
        out[f"{name}_hi"] = hi

    incidence("g3plus_lab", s["worst_grade_lab"] >= 3)
    incidence("g3_lab", s["worst_grade_lab"] == 3)
    incidence("g4_lab", s["worst_grade_lab"] == 4)
    incidence("g3plus", s["worst_grade"] >= 3)
    incidence("g3", s["worst_grade"] == 3)
    incidence("g4", s["worst_grade"] == 4)
    incidence("any_grade", s["worst_grade"] >= 1)
    out["nadir_median"] = _pct(s["nadir"], 0.5)
    out["nadir_p05"] = _pct(s["nadir"], 0.05)
    out["nadir_p95"] = _pct(s["nadir"], 0.95)
    out["t_nadir_days_median"] = _pct(s["t_nadir_days"], 0.5)
    out["t_onset_g3_days_median"] = _pct(s["t_onset_g3_days"], 0.5)
    out["t_onset_g1_days_median"] = _pct(s["t_onset_g1_days"], 0.5)
    out["t_recovery_days_median"] = _pct(s["t_recovery_days"], 0.5)
    out["days_g3plus_mean"] = float(s["days_g3plus"].mean()) if n else math.nan
    incidence("interrupted", s["n_interruptions"] > 0)
    incidence("reduced", s["n_reductions"] > 0)
    incidence("modified", (s["n_interruptions"] > 0) | (s["n_reductions"] > 0))
    out["dose_intensity_mg_week_mean"] = float(s["dose_intensity_mg_week"].mean()) if n else math.nan
    out["dose_intensity_mg_week_median"] = _pct(s["dose_intensity_mg_week"], 0.5)
    out["relative_dose_intensity_mean"] = float(s["relative_dose_intensity"].mean()) if n else math.nan
    out["days_on_treatment_median"] = _pct(s["days_on_treatment"], 0.5)
    out["auc_week_median"] = _pct(s["auc_week"], 0.5)
    out["cmax_median"] = _pct(s["cmax"], 0.5)
    out["days_x_above_median"] = _pct(s["days_x_above"], 0.5)
    return pd.Series(out)


def paired_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean paired difference a - b with a normal 95% interval (NaN pairs dropped)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    d = d[~np.isnan(d)]
    if len(d) == 0:
        return (math.nan, math.nan, math.nan)
    m = float(d.mean())
    if len(d) < 2:
        return (m, math.nan, math.nan)
    se = float(d.std(ddof=1) / math.sqrt(len(d)))
    return (m, m - Z95 * se, m + Z95 * se)


__all__: Sequence[str] = ["wilson", "summarize", "paired_difference"]
