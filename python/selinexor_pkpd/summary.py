"""Summaries of population results: incidences with confidence intervals, percentiles."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from .grading import ctcae_grade

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


def _emergent(s: pd.DataFrame, col: str) -> pd.Series:
    """Treatment-emergent: grade >= 1 and worse than the grade at baseline."""
    return (s[col] >= 1) & (s[col] > ctcae_grade(s["P0"].to_numpy()))


def summarize(s: pd.DataFrame) -> pd.Series:
    """One arm's summary from its subject table (see PopulationResult.subjects).

    The same computation as the streamed summary of ``compare(..., summary_only=True)``
    (:class:`StreamingSummary`), so a full run and a summary-only run report the same numbers:
    incidences are exact counts with Wilson intervals; medians and percentiles come from
    fixed-width histograms and lie within half a bin of the exact order statistics (0.125 x
    10^9/L for the nadir, 0.025 day for times, 0.05 mg/week for dose intensity).
    """
    st = StreamingSummary()
    st.add(s)
    return st.result()


class BlockSums:
    """Sums of per-subject values that do not depend on how subjects arrive in chunks: values are
    buffered and summed in fixed blocks of ``BLOCK`` subjects, then the block sums in order. Memory
    is bounded by one block."""

    BLOCK = 4096

    def __init__(self) -> None:
        self._buf: dict[str, list[np.ndarray]] = {}
        self._len = 0
        self._sums: dict[str, float] = {}
        self._n: dict[str, int] = {}

    def add(self, cols: dict[str, np.ndarray]) -> None:
        for k, v in cols.items():
            self._buf.setdefault(k, []).append(np.asarray(v, dtype=float))
        self._len += len(next(iter(cols.values()))) if cols else 0
        while self._len >= self.BLOCK:
            self._flush(self.BLOCK)

    def _flush(self, size: int) -> None:
        rest: dict[str, list[np.ndarray]] = {}
        for k, parts in self._buf.items():
            allv = np.concatenate(parts)
            block, tail = allv[:size], allv[size:]
            rest[k] = [tail] if len(tail) else []
            self._sums[k] = self._sums.get(k, 0.0) + float(np.sum(block))
            self._n[k] = self._n.get(k, 0) + len(block)
        self._buf = rest
        self._len -= size

    def totals(self) -> dict[str, float]:
        if self._len:
            self._flush(self._len)
        return dict(self._sums)


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


class StreamingSummary:
    """Bounded-memory version of :func:`summarize`: counts, sums and fixed-bin histograms.

    Percentiles come from histograms (nadir bins of 0.25 x 10^9/L up to 2000, time bins of
    0.05 day up to 2000 days), so memory does not grow with the number of subjects.
    """

    _HIST = {
        "nadir": (0.0, 2000.0, 8000),
        "t_nadir_days": (0.0, 2000.0, 40000),
        "t_onset_g3_days": (0.0, 2000.0, 40000),
        "t_onset_g1_days": (0.0, 2000.0, 40000),
        "t_recovery_days": (0.0, 2000.0, 40000),
        "dose_intensity_mg_week": (0.0, 2000.0, 20000),
        "days_on_treatment": (0.0, 2000.0, 40000),
        "auc_week": (0.0, 500.0, 50000),
        "cmax": (0.0, 50.0, 50000),
        "days_x_above": (0.0, 2000.0, 40000),
    }

    def __init__(self) -> None:
        self.n = 0
        self.counts: dict[str, int] = {}
        self.sums: dict[str, float] = {}
        self.hists = {k: np.zeros(b, dtype=np.int64) for k, (_, _, b) in self._HIST.items()}
        self._blocks = BlockSums()
        # PFS as counts of (days, event): progressions sit on the assessment grid, so memory
        # grows with the distinct death times only.
        self.pfs: dict[tuple[float, bool], int] = {}

    def add(self, s: pd.DataFrame) -> None:
        self.n += len(s)
        flags = {
            "g3plus_lab": s["worst_grade_lab"] >= 3, "g3_lab": s["worst_grade_lab"] == 3,
            "g4_lab": s["worst_grade_lab"] == 4, "g3plus": s["worst_grade"] >= 3, "g3": s["worst_grade"] == 3,
            "g4": s["worst_grade"] == 4, "any_grade": _emergent(s, "worst_grade"),
            "any_grade_lab": _emergent(s, "worst_grade_lab"),
            "interrupted": s["n_interruptions"] > 0, "reduced": s["n_reductions"] > 0,
            "modified": (s["n_interruptions"] > 0) | (s["n_reductions"] > 0),
            "orr": s["responder"], "vgpr_plus": s["vgpr_or_better"], "cr": s["best_response"] == "CR",
            "progressed": s["progressed"],
        }
        for k, m in flags.items():
            self.counts[k] = self.counts.get(k, 0) + int(m.sum())
        self._blocks.add({k: s[k].to_numpy(dtype=float) for k in ("days_g3plus", "dose_intensity_mg_week", "relative_dose_intensity")})
        for k, (lo, hi, bins) in self._HIST.items():
            x = s[k].to_numpy(dtype=float)
            x = x[~np.isnan(x)]
            h, _ = np.histogram(np.clip(x, lo, hi - 1e-9), bins=bins, range=(lo, hi))
            self.hists[k] += h
        keys, counts = np.unique(np.stack([s["pfs_days"].to_numpy(dtype=float),
                                           s["pfs_event"].to_numpy(dtype=float)]), axis=1, return_counts=True)
        for (t, e), c in zip(keys.T, counts):
            key = (float(t), bool(e))
            self.pfs[key] = self.pfs.get(key, 0) + int(c)

    def pfs_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(pfs_days, pfs_event) of every subject added, sorted by time then event."""
        keys = sorted(self.pfs)
        reps = [self.pfs[k] for k in keys]
        t = np.repeat(np.array([k[0] for k in keys], dtype=float), reps)
        e = np.repeat(np.array([k[1] for k in keys], dtype=bool), reps)
        return t, e

    def _pct(self, k: str, q: float) -> float:
        """numpy.quantile's linear interpolation between order statistics, each read as the
        centre of its bin: within half a bin of the exact value."""
        lo, hi, bins = self._HIST[k]
        h = self.hists[k]
        total = int(h.sum())
        if total == 0:
            return math.nan
        c = np.cumsum(h)
        width = (hi - lo) / bins

        def order_stat(r: int) -> float:  # r-th smallest (0-based)
            return lo + (int(np.searchsorted(c, r + 1)) + 0.5) * width

        pos = q * (total - 1)
        r0 = int(math.floor(pos))
        r1 = min(r0 + 1, total - 1)
        return order_stat(r0) + (order_stat(r1) - order_stat(r0)) * (pos - r0)

    def result(self) -> pd.Series:
        self.sums = self._blocks.totals()
        n = self.n
        out: dict[str, float] = {"n": n}
        for k, c in self.counts.items():
            lo, hi = wilson(c, n)
            out[k], out[f"{k}_lo"], out[f"{k}_hi"] = c / n, lo, hi
        out["nadir_median"] = self._pct("nadir", 0.5)
        out["nadir_p05"] = self._pct("nadir", 0.05)
        out["nadir_p95"] = self._pct("nadir", 0.95)
        out["t_nadir_days_median"] = self._pct("t_nadir_days", 0.5)
        out["t_onset_g3_days_median"] = self._pct("t_onset_g3_days", 0.5)
        out["t_onset_g1_days_median"] = self._pct("t_onset_g1_days", 0.5)
        out["t_recovery_days_median"] = self._pct("t_recovery_days", 0.5)
        out["days_g3plus_mean"] = self.sums["days_g3plus"] / n
        out["dose_intensity_mg_week_mean"] = self.sums["dose_intensity_mg_week"] / n
        out["dose_intensity_mg_week_median"] = self._pct("dose_intensity_mg_week", 0.5)
        out["relative_dose_intensity_mean"] = self.sums["relative_dose_intensity"] / n
        out["days_on_treatment_median"] = self._pct("days_on_treatment", 0.5)
        out["auc_week_median"] = self._pct("auc_week", 0.5)
        out["cmax_median"] = self._pct("cmax", 0.5)
        out["days_x_above_median"] = self._pct("days_x_above", 0.5)
        from .efficacy import DAYS_PER_MONTH, km_median

        med, lo, hi = km_median(*self.pfs_arrays())
        for k, v in (("pfs_median_days", med), ("pfs_median_days_lo", lo), ("pfs_median_days_hi", hi)):
            out[k] = v
            out[k.replace("days", "months")] = v / DAYS_PER_MONTH
        return pd.Series(out)
