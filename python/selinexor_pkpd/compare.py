"""The main job: compare regimens (once- vs twice-weekly selinexor) in one virtual population."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from ._errors import error
from ._validate import read_text_file
from ._runner import SUBJECT_COLUMNS, TrialRunner, check_budget, chunks, concat
from ._typing import DoseRulesLike, FilePath, LibrarySource, Observe, Params, RegimenLike, TrialPlateletModel
from .population import Population
from .regimen import Regimen
from .summary import Z95, BlockSums, StreamingSummary

#: The default arms of the main comparison: same backbone, selinexor dose/schedule varies.
DEFAULT_ARMS: dict[str, str] = {
    "100 mg QW": "xd_100_qw",
    "80 mg QW": "xd_80_qw",
    "60 mg QW": "xd_60_qw",
    "80 mg BIW": "xd_80_biw",
    "60 mg BIW": "xd_60_biw",
    "40 mg BIW": "xd_40_biw",
}

#: Per-subject quantities compared pairwise by :meth:`CompareResult.differences`.
PAIRED = {
    "g3plus_lab": lambda s: (s["worst_grade_lab"] >= 3).astype(float),
    "g4_lab": lambda s: (s["worst_grade_lab"] == 4).astype(float),
    "g3plus": lambda s: (s["worst_grade"] >= 3).astype(float),
    "modified": lambda s: ((s["n_interruptions"] > 0) | (s["n_reductions"] > 0)).astype(float),
    "nadir": lambda s: s["nadir"].astype(float),
    "dose_intensity_mg_week": lambda s: s["dose_intensity_mg_week"].astype(float),
    "auc_week": lambda s: s["auc_week"].astype(float),
    "days_g3plus": lambda s: s["days_g3plus"].astype(float),
}


class _Paired:
    """Running sums of paired differences (arm - reference) per quantity, independent of chunking."""

    def __init__(self) -> None:
        self._blocks = BlockSums()

    def add(self, a: pd.DataFrame, ref: pd.DataFrame) -> None:
        cols: dict[str, np.ndarray] = {}
        for k, f in PAIRED.items():
            d = f(a).to_numpy(dtype=float) - f(ref).to_numpy(dtype=float)
            ok = ~np.isnan(d)
            d = np.where(ok, d, 0.0)
            cols[f"{k}.n"] = ok.astype(float)
            cols[f"{k}.s1"] = d
            cols[f"{k}.s2"] = d * d
        self._blocks.add(cols)

    def table(self) -> pd.DataFrame:
        t = self._blocks.totals()
        rows = []
        for k in PAIRED:
            n = int(t.get(f"{k}.n", 0))
            s1, s2 = t.get(f"{k}.s1", 0.0), t.get(f"{k}.s2", 0.0)
            mean = s1 / n if n else math.nan
            var = (s2 - n * mean * mean) / (n - 1) if n > 1 else math.nan
            se = math.sqrt(max(var, 0.0) / n) if n > 1 else math.nan
            if n > 1 and var <= 0.0:  # identical arms: exactly zero, not rounding noise
                se = 0.0
            rows.append({"metric": k, "difference": mean, "lo": mean - Z95 * se, "hi": mean + Z95 * se, "n": n})
        return pd.DataFrame(rows)


class CompareResult:
    """Result of :func:`compare`.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per arm: incidences (``g3_lab``, ``g4_lab``, ``g3plus_lab`` from lab visits and
        ``g3``, ``g4``, ``g3plus`` from the continuous trajectory) with 95% Wilson intervals
        (``_lo``, ``_hi``), nadir median and 5th-95th percentiles, median time to nadir, onset
        and recovery, fraction interrupted/reduced, delivered dose intensity (mg/week), and
        selinexor exposure (AUC per week, Cmax, days with XPO1 engagement above 0.5).
    subjects : pandas.DataFrame or None
        All subjects of all arms (column ``arm``); None in summary-only mode.
    inputs : dict
        Everything needed to reproduce the run (JSON-serialisable).
    """

    def __init__(self, summary: pd.DataFrame, subjects: Optional[pd.DataFrame], bands: Optional[pd.DataFrame],
                 paired: dict[str, _Paired], inputs: dict[str, Any], seconds: float) -> None:
        self.summary = summary
        self.subjects = subjects
        self._bands = bands
        self._paired = paired
        self.inputs = inputs
        self.seconds = seconds

    @property
    def arms(self) -> list[str]:
        return list(self.summary.index)

    def differences(self, reference: str | None = None) -> pd.DataFrame:
        """Paired differences (arm - reference) over the same patients, with normal 95% CIs.

        Binary outcomes give differences in incidence; ``nadir``, ``dose_intensity_mg_week``,
        ``auc_week`` and ``days_g3plus`` mean differences.
        """
        ref = reference or self.inputs["reference"]
        if ref != self.inputs["reference"]:
            if self.subjects is None:
                raise error("reference", f"summary-only results hold differences against {self.inputs['reference']!r} only")
            return _differences_from_subjects(self.subjects, ref)
        out = []
        for arm, p in self._paired.items():
            t = p.table()
            t.insert(0, "arm", arm)
            out.append(t)
        df = pd.concat(out, ignore_index=True)
        df.insert(1, "reference", ref)
        return df

    def bands(self) -> pd.DataFrame:
        """Platelet percentiles (5th, 50th, 95th) over time per arm (long format)."""
        if self._bands is None:
            raise error("observe", "no platelet trajectories were kept (summary-only mode or observe=False)")
        return self._bands

    def plot(self, path: FilePath | None = None) -> np.ndarray:
        """Figures: platelet median and 5-95% band per arm with grade 3/4 thresholds; grade 3/4
        incidence per arm with 95% intervals; dose intensity against grade 3+ incidence.

        Returns
        -------
        numpy.ndarray of matplotlib Axes (3,). With ``path``, the figure is also saved (PNG).
        """
        from .plots import plot_compare

        return plot_compare(self, path)

    def to_csv(self, directory: FilePath) -> list[Path]:
        """Write summary.csv, differences.csv, subjects.csv (if kept), bands.csv, inputs.json."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        written = [d / "summary.csv", d / "differences.csv", d / "inputs.json"]
        self.summary.to_csv(written[0], index_label="arm")
        self.differences().to_csv(written[1], index=False)
        written[2].write_text(json.dumps(self.inputs, indent=2, default=str), encoding="utf-8")
        if self.subjects is not None:
            written.append(d / "subjects.csv")
            self.subjects.to_csv(written[-1], index=False)
        if self._bands is not None:
            written.append(d / "bands.csv")
            self._bands.to_csv(written[-1], index=False)
        return written

    def to_parquet(self, directory: FilePath) -> list[Path]:
        """Write summary and subjects as parquet (needs pyarrow)."""
        try:
            import pyarrow  # noqa: F401
        except ModuleNotFoundError as e:
            raise ModuleNotFoundError("to_parquet needs pyarrow: pip install pyarrow") from e
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        out = [d / "summary.parquet"]
        self.summary.reset_index().to_parquet(out[0])
        if self.subjects is not None:
            out.append(d / "subjects.parquet")
            self.subjects.to_parquet(out[-1])
        return out

    def table(self) -> pd.DataFrame:
        """A compact, human-readable version of the summary (percent and rounded values)."""
        s = self.summary

        def pct(k: str) -> pd.Series:
            return s.apply(lambda r: f"{100 * r[k]:.0f} ({100 * r[k + '_lo']:.0f}-{100 * r[k + '_hi']:.0f})", axis=1)

        t = pd.DataFrame(index=s.index)
        t["G3 %"] = (100 * s["g3_lab"]).round(0).astype(int)
        t["G4 %"] = (100 * s["g4_lab"]).round(0).astype(int)
        t["G3+ % (95% CI)"] = pct("g3plus_lab")
        t["nadir med (p5-p95)"] = s.apply(lambda r: f"{r['nadir_median']:.0f} ({r['nadir_p05']:.0f}-{r['nadir_p95']:.0f})", axis=1)
        t["t nadir d"] = s["t_nadir_days_median"].round(0)
        t["onset G3 d"] = s["t_onset_g3_days_median"].round(0)
        t["recov d"] = s["t_recovery_days_median"].round(0)
        t["interr %"] = (100 * s["interrupted"]).round(0).astype(int)
        t["reduc %"] = (100 * s["reduced"]).round(0).astype(int)
        t["mg/wk"] = s["dose_intensity_mg_week_mean"].round(0)
        t["AUC/wk"] = s["auc_week_median"].round(1)
        t["Cmax"] = s["cmax_median"].round(2)
        t["X>0.5 d"] = s["days_x_above_median"].round(0)
        return t

    def __repr__(self) -> str:
        return f"CompareResult(arms={self.arms}, n={int(self.summary['n'].iloc[0])}, seconds={self.seconds:.1f})"


def _differences_from_subjects(subjects: pd.DataFrame, ref: str) -> pd.DataFrame:
    arms = list(dict.fromkeys(subjects["arm"]))
    if ref not in arms:
        raise error("reference", f"unknown arm {ref!r} (arms: {arms})")
    r = subjects[subjects["arm"] == ref].reset_index(drop=True)
    out = []
    for a in arms:
        p = _Paired()
        p.add(subjects[subjects["arm"] == a].reset_index(drop=True), r)
        t = p.table()
        t.insert(0, "arm", a)
        out.append(t)
    df = pd.concat(out, ignore_index=True)
    df.insert(1, "reference", ref)
    return df


def compare(
    arms: Union[Mapping[str, RegimenLike], Sequence[str], None] = None,
    population: Population | None = None,
    *,
    days: float = 168.0,
    seed: int = 20261121,
    dose_rules: DoseRulesLike = "label",
    threads: int | None = None,
    progress: bool = True,
    reference: str | None = None,
    observe: Observe = True,
    summary_only: bool = False,
    params: Params = None,
    platelet_model: TrialPlateletModel = "tpo",
    chunk_size: int | None = None,
    library: LibrarySource | None = None,
    max_hours: float | None = 4.0,
) -> CompareResult:
    """Compare regimens in one virtual population with common random numbers.

    Every arm sees the same patients (subject ``i`` depends only on ``seed`` and ``i``), so the
    differences between arms are paired.

    Parameters
    ----------
    arms : dict of label -> Regimen or preset name, or list of preset names
        Default: the six xd_* arms (100/80/60 mg QW, 80/60/40 mg BIW, each with
        dexamethasone 20 mg per selinexor dose).
    population : Population
        Default: ``population("rrmm_heavily_pretreated", n=1000)``.
    days : float
        Simulated time per patient.
    seed : int
    dose_rules : {"label", "label_qw", "label_biw"}, dict or None
        The XPOVIO label rules by default (the ladder follows each arm's schedule).
    threads : int, optional
    progress : bool
        tqdm progress bar (shown for runs longer than about a second).
    reference : str, optional
        Reference arm of the paired differences (default: the first arm).
    observe : bool or sequence of days
        Keep platelet trajectories for the bands (True: daily).
    summary_only : bool
        Stream: keep only per-arm summaries, paired-difference sums and histograms (memory
        does not grow with the number of patients). No subjects, no bands.
    params : dict, optional
        Typical-value overrides, as in :func:`simulate`.
    platelet_model : {"tpo", "friberg", "friberg_linear", "friberg_emax"}
        As in :func:`simulate_population`.
    chunk_size : int, optional
        Subjects per native call; adaptive when omitted.
    library : Library, path or dict, optional
        The model library; the current one when omitted.
    max_hours : float or None
        Refuse a run estimated to take longer (all arms; the error states the estimate); None:
        no limit. Full runs whose kept results would exceed 75% of the machine's memory are
        refused too (``summary_only=True`` keeps memory bounded).

    Returns
    -------
    CompareResult
    """
    from .population import population as make_population

    if arms is None:
        arms = DEFAULT_ARMS
    if isinstance(arms, (str, Regimen)):
        arms = [arms]
    if not isinstance(arms, Mapping):
        items = list(arms)
        labels_given = [a if isinstance(a, str) else (a.name if isinstance(a, Regimen) and a.name else f"arm {i + 1}")
                        for i, a in enumerate(items)]
        dup = sorted({x for x in labels_given if labels_given.count(x) > 1})
        if dup:
            raise error("arms", f"the same arm is given more than once: {dup}; label the arms with a dict")
        arms = dict(zip(labels_given, items))
    if len(arms) == 0:
        raise error("arms", "give at least one arm")
    pop = population if population is not None else make_population("rrmm_heavily_pretreated", n=1000, library=library)
    labels = list(arms)
    ref = reference or labels[0]
    if ref not in arms:
        raise error("reference", f"unknown arm {ref!r} (arms: {labels})")
    # Summary-only runs keep the output times too (and drop each chunk's trajectories): the
    # outputs cut the solver's steps, so the same times give the same numbers in both modes.
    obs = observe
    runners = {
        label: TrialRunner(r, pop, days=days, seed=seed, threads=threads, dose_rules=dose_rules, observe=obs,
                            params=params, platelet_model=platelet_model, rtol=1e-6, atol=1e-9, library=library)
        for label, r in arms.items()
    }
    first = runners[labels[0]]
    kept = 0 if summary_only else pop.n * len(labels) * (SUBJECT_COLUMNS + len(first.observe))
    check_budget(pop.n * len(labels), first.inputs["days"], first.threads, kept, max_hours)
    t0 = time.perf_counter()
    stream = {a: StreamingSummary() for a in labels}
    paired = {a: _Paired() for a in labels}
    parts: dict[str, list[dict[str, Any]]] = {a: [] for a in labels}
    bar = None
    try:
        for start, end in chunks(pop.n, chunk_size, None):
            chunk: dict[str, pd.DataFrame] = {}
            for a in labels:
                cols = runners[a].run(start, end)
                traj = cols.pop("PLT_traj", None)
                df, _ = concat([cols])
                chunk[a] = df
                stream[a].add(df)
                if not summary_only:
                    if traj is not None:
                        cols["PLT_traj"] = traj
                    parts[a].append(cols)
                if bar is None and progress and time.perf_counter() - t0 > 1.0:
                    from tqdm.auto import tqdm

                    bar = tqdm(total=pop.n * len(labels), desc="compare", unit="pt")
                    bar.update(start * len(labels) + (labels.index(a) + 1) * (end - start))
                elif bar is not None:
                    bar.update(end - start)
            for a in labels:
                paired[a].add(chunk[a], chunk[ref])
    finally:
        if bar is not None:
            bar.close()
    subjects = None
    bands = None
    if summary_only:
        summary = pd.DataFrame({a: stream[a].result() for a in labels}).T
    else:
        tables = []
        band_rows = []
        for a in labels:
            df, traj = concat(parts[a])
            df.insert(0, "arm", a)
            tables.append(df)
            if traj is not None:
                q = np.quantile(traj, [0.05, 0.5, 0.95], axis=0)
                band_rows.append(pd.DataFrame({"arm": a, "DAY": runners[a].observe, "PLT_p05": q[0],
                                               "PLT_p50": q[1], "PLT_p95": q[2]}))
        subjects = pd.concat(tables, ignore_index=True)
        summary = pd.DataFrame({a: stream[a].result() for a in labels}).T
        bands = pd.concat(band_rows, ignore_index=True) if band_rows else None
    summary.index.name = "arm"
    summary.insert(0, "regimen", [runners[a].regimen.name for a in labels])
    summary.insert(1, "planned_mg_week", [runners[a].regimen.weekly_dose("selinexor") for a in labels])
    inputs = {
        "arms": {a: runners[a].inputs["regimen"] for a in labels},
        "arm_presets": {a: (r if isinstance(r, str) else None) for a, r in arms.items()},
        "arm_names": {a: runners[a].regimen.name for a in labels},
        "reference": ref, "population": pop.to_dict(), "days": float(days), "seed": int(seed),
        "dose_rules": dose_rules if not isinstance(dose_rules, Mapping) else dict(dose_rules),
        "params": runners[labels[0]].inputs["params"], "platelet_model": platelet_model,
        "observe_days": runners[labels[0]].observe, "summary_only": summary_only,
    }
    return CompareResult(summary, subjects, bands, paired, inputs, time.perf_counter() - t0)


def from_inputs(inputs: Union[Mapping[str, Any], FilePath], *, progress: bool = False) -> CompareResult:
    """Re-run a comparison from its ``inputs.json`` (bit-identical results)."""
    if isinstance(inputs, Mapping):
        data: Mapping[str, Any] = inputs
    else:
        try:
            data = json.loads(read_text_file(inputs))
        except ValueError as e:
            raise error("file", f"{str(inputs)!r} is not valid JSON: {e}") from None
        if not isinstance(data, Mapping):
            raise error("file", f"{str(inputs)!r} must hold a JSON object (an inputs.json of compare)")
    missing = [k for k in ("population", "arms", "days", "seed", "dose_rules", "reference") if k not in data]
    if missing:
        raise error(f"inputs.{missing[0]}", f"is required but missing (an inputs.json of compare has {missing})")
    pop_d = data["population"]
    table = pd.DataFrame(pop_d["table"]) if pop_d.get("table") is not None else None
    pop = Population(pop_d["spec"], pop_d["n"], name=pop_d.get("name", "population"), table=table)
    names = data.get("arm_names") or {}
    arms = {a: Regimen(spec, name=names.get(a) or (data.get("arm_presets") or {}).get(a) or a)
            for a, spec in data["arms"].items()}
    return compare(arms, pop, days=data["days"], seed=data["seed"], dose_rules=data["dose_rules"],
                   reference=data["reference"], observe=data.get("observe_days") or False,
                   summary_only=data.get("summary_only", False), params=data.get("params") or None,
                   platelet_model=data.get("platelet_model", "tpo"), progress=progress)
