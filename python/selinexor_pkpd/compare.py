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
from ._runner import SUBJECT_COLUMNS, TrialRunner, check_budget, concat, executor_threads, pop_array, run_chunks
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
    "orr": lambda s: s["responder"].astype(float),
    "vgpr_plus": lambda s: s["vgpr_or_better"].astype(float),
}


#: Unit of each paired difference (binary outcomes: a difference of fractions, printed in
#: percentage points).
PAIRED_UNITS = {
    "g3plus_lab": "fraction", "g4_lab": "fraction", "g3plus": "fraction", "modified": "fraction",
    "nadir": "10^9/L", "dose_intensity_mg_week": "mg/week", "auc_week": "mg.h/L", "days_g3plus": "days",
    "orr": "fraction", "vgpr_plus": "fraction",
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
            rows.append({"metric": k, "difference": mean, "lo": mean - Z95 * se, "hi": mean + Z95 * se, "n": n,
                         "unit": PAIRED_UNITS[k]})
        return pd.DataFrame(rows)


class CompareResult:
    """Result of :func:`compare`.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per arm: ``regimen`` (preset or regimen name), ``planned_mg_week`` (the arm's
        planned selinexor dose, mg per week, before any dose modification), ``n``; incidences
        (``g3_lab``, ``g4_lab``, ``g3plus_lab`` from lab visits and ``g3``, ``g4``, ``g3plus``
        from the continuous trajectory, ``any_grade``, ``interrupted``, ``reduced``,
        ``modified``), each a fraction with its 95% Wilson interval (``_lo``, ``_hi``); nadir
        median and 5th-95th percentiles (10^9/L); median days to nadir, to grade 3 onset and to
        recovery; median days on treatment; delivered dose intensity (mg/week, mean and median)
        and relative dose intensity; selinexor exposure (median AUC per week in mg.h/L, Cmax in
        mg/L, days with XPO1 engagement above 0.5); efficacy (``orr``: PR or better, ``vgpr_plus``,
        ``cr``, ``progressed``, fractions with Wilson intervals; ``pfs_median_days`` and
        ``pfs_median_months`` with their 95% intervals, Kaplan-Meier over the simulated
        patients; NaN when the median is not reached within ``days``).
    subjects : pandas.DataFrame or None
        All subjects of all arms (column ``arm``; the columns are described in
        :class:`~selinexor_pkpd.population.PopulationResult`); None in summary-only mode.
    inputs : dict
        Everything needed to reproduce the run (JSON-serialisable).
    """

    def __init__(self, summary: pd.DataFrame, subjects: Optional[pd.DataFrame], bands: Optional[pd.DataFrame],
                 paired: dict[str, dict[str, _Paired]], inputs: dict[str, Any], seconds: float,
                 pfs: Optional[dict[str, tuple[np.ndarray, np.ndarray]]] = None,
                 vpc: Optional[pd.DataFrame] = None) -> None:
        self.summary = summary
        self._vpc = vpc
        self._pfs = pfs or {}
        self.subjects = subjects
        self._bands = bands
        self._paired = paired
        self.inputs = inputs
        self.seconds = seconds

    @property
    def arms(self) -> list[str]:
        return list(self.summary.index)

    @property
    def reference(self) -> str:
        """The reference arm of the printed paired differences."""
        return str(self.inputs["reference"])

    def differences(self, reference: str | None = None, *, include_reference: bool = False) -> pd.DataFrame:
        """Paired differences (arm - reference) over the same patients, with normal 95% CIs.

        Columns ``arm``, ``reference``, ``metric``, ``difference``, ``lo``, ``hi``, ``n`` and
        ``unit``. Binary outcomes (``g3plus_lab``, ``g4_lab``, ``g3plus``, ``modified``) give
        differences in incidence as fractions (x 100: percentage points); ``nadir`` (10^9/L),
        ``dose_intensity_mg_week`` (mg/week), ``auc_week`` (mg.h/L) and ``days_g3plus`` (days)
        mean differences. The reference against itself (all zeros) is left out unless
        ``include_reference=True``. Every reference is available, also in summary-only runs.
        """
        ref = reference or self.reference
        if ref not in self._paired:
            raise error("reference", f"unknown arm {ref!r} (arms: {self.arms})")
        out = []
        for arm, p in self._paired[ref].items():
            if arm == ref and not include_reference:
                continue
            t = p.table()
            t.insert(0, "arm", arm)
            out.append(t)
        if not out:
            return pd.DataFrame(columns=["arm", "reference", "metric", "difference", "lo", "hi", "n", "unit"])
        df = pd.concat(out, ignore_index=True)
        df.insert(1, "reference", ref)
        return df

    def bands(self) -> pd.DataFrame:
        """Platelet percentiles over time per arm (long format): ``PLT_p05``, ``PLT_p50``,
        ``PLT_p95`` over all patients (also after they stop treatment), ``PLT_on_p05``,
        ``PLT_on_p50``, ``PLT_on_p95`` over the patients still on treatment that day (NaN when
        none is), ``n_on_treatment`` and ``on_treatment`` (fraction of patients on treatment)."""
        if self._bands is None:
            raise error("observe", "no platelet trajectories were kept (summary-only mode or observe=False)")
        return self._bands

    def vpc(self, arm: str | None = None) -> pd.DataFrame:
        """Visual predictive check table: the simulated platelet counts read at each scheduled lab
        visit of each arm (:meth:`Regimen.lab_days`; the counts the grading and the dose rules
        read, with the ``lab_error`` when one is given), over the patients who had that visit
        (those still on treatment, as a trial draws its labs): ``arm``, ``DAY`` (days after the
        first dose), ``n`` (patients with that visit), ``PLT_p05``, ``PLT_p50``, ``PLT_p95``
        (5th, 50th, 95th percentiles, 10^9/L; numpy's linear interpolation). Rechecks between
        scheduled visits (while a dose is held) are not included.

        Parameters
        ----------
        arm : str, optional
            One arm (default: all).

        Raises
        ------
        ModelError
            In summary-only runs or with ``observe=False`` (no per-subject counts were kept), or
            for an unknown arm.
        """
        if self._vpc is None:
            raise error("observe", "no platelet counts at the lab visits were kept (summary-only mode or observe=False); "
                                   "run compare with observe=True")
        if arm is None:
            return self._vpc
        if arm not in self.arms:
            raise error("arm", f"unknown arm {arm!r} (arms: {self.arms})")
        return self._vpc[self._vpc["arm"] == arm].reset_index(drop=True)

    def plot_vpc(self, path: FilePath | None = None, *, formats: Sequence[str] = ()) -> np.ndarray:
        """Visual predictive check figure: per arm, the median and 5-95% band of the simulated
        platelet counts at the lab visits (:meth:`vpc`), with the grade 3 and 4 thresholds.

        Parameters
        ----------
        path : path, optional
            Save the figure there (format from the suffix, PNG by default).
        formats : sequence of str
            Extra formats to save beside ``path``.

        Returns
        -------
        numpy.ndarray of matplotlib Axes, one per arm.
        """
        from .plots import plot_vpc

        return plot_vpc(self.vpc(), self.arms, path, formats=formats)

    def kaplan_meier(self, arm: str) -> pd.DataFrame:
        """Kaplan-Meier estimate of progression-free survival of one arm (days), with its 95%
        pointwise interval: see :func:`selinexor_pkpd.efficacy.kaplan_meier`. Also available in
        summary-only runs."""
        from .efficacy import kaplan_meier

        if arm not in self._pfs:
            raise error("arm", f"unknown arm {arm!r} (arms: {self.arms})")
        return kaplan_meier(*self._pfs[arm])

    def plot_benefit_risk(self, path: FilePath | None = None, *, formats: Sequence[str] = ()) -> np.ndarray:
        """Benefit against risk: ORR (PR or better) against grade 3+ thrombocytopenia at lab
        visits per arm, both with 95% Wilson intervals, and the Kaplan-Meier curves of
        progression-free survival per arm.

        Parameters
        ----------
        path : path, optional
            Save the figure there (format from the suffix, PNG by default).
        formats : sequence of str
            Extra formats to save beside ``path``.

        Returns
        -------
        numpy.ndarray of two matplotlib Axes.
        """
        from .plots import plot_benefit_risk

        return plot_benefit_risk(self, path, formats=formats)

    def schedules(self) -> dict[str, Optional[str]]:
        """Each arm's selinexor schedule: "QW" (one dose a week), "BIW" (two), or None."""
        return {a: _schedule(self.inputs["arms"][a]) for a in self.arms}

    def plot(self, path: FilePath | None = None, *, formats: Sequence[str] = ()) -> np.ndarray:
        """Figures: small multiples of the platelet median and 5-95% band per arm, over the
        patients still on treatment, with the fraction on treatment; a forest plot of the paired
        differences in grade 3+ and grade 4 incidence against the reference arm (95% CIs); grade 3+
        incidence against delivered dose intensity (QW and BIW arms by marker).

        Parameters
        ----------
        path : path, optional
            Save the figure there (format from the suffix, PNG by default).
        formats : sequence of str
            Extra formats to save beside ``path`` (e.g. ``["svg", "pdf"]``), same stem.

        Returns
        -------
        numpy.ndarray of matplotlib Axes: one platelet panel per arm, then the forest plot, then
        the dose-intensity panel.
        """
        from .plots import plot_compare

        return plot_compare(self, path, formats=formats)

    def to_csv(self, directory: FilePath) -> list[Path]:
        """Write summary.csv, differences.csv, subjects.csv (if kept), bands.csv and vpc.csv (if
        trajectories were kept), inputs.json."""
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
        if self._vpc is not None:
            written.append(d / "vpc.csv")
            self._vpc.to_csv(written[-1], index=False)
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
        """A compact, human-readable version of the summary, as text cells: every incidence in
        percent with its 95% Wilson CI, medians rounded; the abbreviations are defined by
        :data:`TABLE_LEGEND` (printed under the table by :meth:`report`)."""
        s = self.summary
        t = pd.DataFrame(index=s.index)
        for key, col in (("g3plus_lab", "G3+ % (95% CI)"), ("g3_lab", "G3 % (95% CI)"), ("g4_lab", "G4 % (95% CI)"),
                         ("interrupted", "interr % (95% CI)"), ("reduced", "reduc % (95% CI)")):
            t[col] = [_pct_ci(r[key], r[key + "_lo"], r[key + "_hi"]) for _, r in s.iterrows()]
        t["nadir med (p5-p95), 10^9/L"] = [f"{_num(r['nadir_median'])} ({_num(r['nadir_p05'])}-{_num(r['nadir_p95'])})"
                                           for _, r in s.iterrows()]
        t["t nadir, d"] = [_num(v) for v in s["t_nadir_days_median"]]
        t["onset G3, d"] = [_num(v) for v in s["t_onset_g3_days_median"]]
        t["recov, d"] = [_num(v) for v in s["t_recovery_days_median"]]
        t["on tx, d"] = [_num(v) for v in s["days_on_treatment_median"]]
        t["mg/wk"] = [_num(v) for v in s["dose_intensity_mg_week_mean"]]
        t["AUC/wk, mg.h/L"] = [_num(v, 1) for v in s["auc_week_median"]]
        t["Cmax, mg/L"] = [_num(v, 2) for v in s["cmax_median"]]
        t["X>0.5, d"] = [_num(v) for v in s["days_x_above_median"]]
        for key, col in (("orr", "ORR % (95% CI)"), ("vgpr_plus", ">=VGPR % (95% CI)")):
            t[col] = [_pct_ci(r[key], r[key + "_lo"], r[key + "_hi"]) for _, r in s.iterrows()]
        t["mPFS, mo (95% CI)"] = [f"{_num(r['pfs_median_months'], 1)} ({_num(r['pfs_median_months_lo'], 1)}-"
                                  f"{_num(r['pfs_median_months_hi'], 1)})" for _, r in s.iterrows()]
        t.index.name = "arm"
        return t

    def differences_table(self, reference: str | None = None) -> pd.DataFrame:
        """The paired differences (arm - reference) as text cells, one row per arm other than the
        reference: incidences in percentage points (pp), nadir in 10^9/L, delivered dose
        intensity in mg/week, each with its 95% CI."""
        ref = reference or self.reference
        d = self.differences(ref)
        cols = {"g3plus_lab": ("G3+, pp (95% CI)", 100.0, 1), "g4_lab": ("G4, pp (95% CI)", 100.0, 1),
                "modified": ("dose modified, pp (95% CI)", 100.0, 1), "nadir": ("nadir, 10^9/L (95% CI)", 1.0, 1),
                "dose_intensity_mg_week": ("mg/wk (95% CI)", 1.0, 0),
                "orr": ("ORR, pp (95% CI)", 100.0, 1), "vgpr_plus": (">=VGPR, pp (95% CI)", 100.0, 1)}
        t = pd.DataFrame(index=pd.Index([a for a in self.arms if a != ref], name=f"arm - {ref}"))
        for metric, (col, scale, digits) in cols.items():
            m = d[d["metric"] == metric].set_index("arm")
            t[col] = [_signed_ci(scale * m.loc[a, "difference"], scale * m.loc[a, "lo"], scale * m.loc[a, "hi"], digits)
                      for a in t.index]
        return t

    def matched_dose_pair(self, tolerance: float = 0.15) -> Optional[tuple[str, str]]:
        """The (QW arm, BIW arm) whose mean delivered dose intensities are closest (relative
        difference at most ``tolerance``), or None."""
        sched = self.schedules()
        di = self.summary["dose_intensity_mg_week_mean"].astype(float)
        best: Optional[tuple[float, tuple[str, str]]] = None
        for q in (a for a in self.arms if sched[a] == "QW"):
            for b in (a for a in self.arms if sched[a] == "BIW"):
                mean = 0.5 * (di[q] + di[b])
                if not (mean > 0):
                    continue
                rel = abs(di[q] - di[b]) / mean
                if rel <= tolerance and (best is None or rel < best[0]):
                    best = (rel, (q, b))
        return None if best is None else best[1]

    def finding(self) -> str:
        """A paragraph computed from the results: the arm with the lowest grade 3+ incidence (lab
        visits) and its delivered dose; the QW vs BIW contrast at matched delivered dose; and
        benefit against risk for that pair (or, without one, the arm other than the reference with
        the lowest incidence against the reference): ORR and median PFS differences with their intervals weighed against grade 3+
        thrombocytopenia, saying which differences the intervals do not resolve (the verdict is
        ``benefit_risk`` of the native module, docs/efficacy.md)."""
        s = self.summary
        g = s["g3plus_lab"].astype(float)
        best = str(g.idxmin())
        ties = [a for a in self.arms if g[a] == g[best] and a != best]
        di = s["dose_intensity_mg_week_mean"].astype(float)
        planned = s["planned_mg_week"].astype(float)
        out = (f"Lowest grade 3+ incidence: {best}, {_pct_text(s, best)}"
               f" at a delivered {di[best]:.0f} mg/week (planned {planned[best]:.0f})")
        if ties:
            out += f" (tied with {', '.join(ties)})"
        out += "."
        pair = self.matched_dose_pair()
        if pair is None:
            out += " No QW and BIW arms delivered matching doses (within 15%)."
            others = [a for a in g.sort_values(kind="stable").index if a != self.reference]
            if others:
                out += " " + self._benefit_risk_text(str(others[0]), self.reference)
            return out
        q, b = pair
        d = self.differences(reference=b)
        r = d[(d["arm"] == q) & (d["metric"] == "g3plus_lab")].iloc[0]
        lo, hi = 100 * r["lo"], 100 * r["hi"]
        if hi < 0:
            verdict = f"{q} has less grade 3+ thrombocytopenia than {b}"
        elif lo > 0:
            verdict = f"{q} has more grade 3+ thrombocytopenia than {b}"
        else:
            verdict = f"no difference in grade 3+ thrombocytopenia between {q} and {b} is resolved"
        return (out + f" At matched delivered dose ({q} {di[q]:.0f} vs {b} {di[b]:.0f} mg/week), {verdict}: "
                f"{_pct_text(s, q)} vs {_pct_text(s, b)}, paired difference "
                f"{_signed_ci(100 * r['difference'], lo, hi, 1).replace(' (', ' pp (95% CI ', 1)}. "
                + self._benefit_risk_text(q, b))

    def _benefit_risk_text(self, arm: str, ref: str) -> str:
        """Benefit against risk of ``arm`` against ``ref``, one or two sentences."""
        from . import _core

        s = self.summary
        d = self.differences(reference=ref)
        row = lambda m: d[(d["arm"] == arm) & (d["metric"] == m)].iloc[0]  # noqa: E731
        orr, g3 = row("orr"), row("g3plus_lab")
        pfs = lambda a: (float(s.loc[a, "pfs_median_months_lo"]), float(s.loc[a, "pfs_median_months_hi"]))  # noqa: E731
        o, p, t, verdict = _core.benefit_risk((float(orr["lo"]), float(orr["hi"])), (float(g3["lo"]), float(g3["hi"])),
                                              pfs(arm), pfs(ref))
        diff = _signed_ci(100 * orr["difference"], 100 * orr["lo"], 100 * orr["hi"], 1).replace(" (", " pp (95% CI ", 1)
        mpfs = lambda a: (f"{_num(s.loc[a, 'pfs_median_months'], 1)} months (95% CI "  # noqa: E731
                          f"{_num(s.loc[a, 'pfs_median_months_lo'], 1)}-{_num(s.loc[a, 'pfs_median_months_hi'], 1)})")
        facts = (f"Benefit against risk, {arm} vs {ref}: ORR {_pct_text(s, arm, 'orr')} vs {_pct_text(s, ref, 'orr')}, "
                 f"paired difference {diff}; median PFS {mpfs(arm)} vs {mpfs(ref)}.")
        unresolved = [name for name, v in (("ORR", o), ("median PFS", p), ("grade 3+ thrombocytopenia", t)) if v == 0]
        n = int(s.loc[arm, "n"])
        better, worse = (o > 0 or p > 0), (o < 0 or p < 0)
        text = {
            "favours": f"The balance favours {arm}: "
                       + ("more benefit and less grade 3+ thrombocytopenia" if better and t < 0
                          else "more benefit, and no increase in grade 3+ thrombocytopenia is distinguishable"
                          if better else "less grade 3+ thrombocytopenia, and no loss of benefit is distinguishable"),
            "disfavours": f"The balance is against {arm}: "
                          + ("less benefit and more grade 3+ thrombocytopenia" if worse and t > 0
                             else "less benefit, and no reduction in grade 3+ thrombocytopenia is distinguishable"
                             if worse else "more grade 3+ thrombocytopenia, and no gain in benefit is distinguishable"),
            "trade_off_more_benefit": f"A trade-off: {arm} gives more benefit at more grade 3+ thrombocytopenia",
            "trade_off_less_toxicity": f"A trade-off: {arm} gives less grade 3+ thrombocytopenia at less benefit",
            "mixed": f"The benefit of {arm} is mixed: ORR and median PFS differ in opposite directions",
            "not_distinguishable": f"No difference in ORR, median PFS or grade 3+ thrombocytopenia between {arm} and "
                                   f"{ref} is distinguishable with {n} patients per arm",
        }[verdict]
        if unresolved and verdict != "not_distinguishable":
            text += f"; not distinguishable with {n} patients per arm: {', '.join(unresolved)}"
        return f"{facts} {text} (ORR and grade 3+: paired 95% CIs; PFS: non-overlapping 95% CIs of the medians)."

    def report(self) -> str:
        """The text the command line prints: the table with its legend, the paired differences
        against the reference arm with theirs, and the closing :meth:`finding`."""
        import textwrap

        inp = self.inputs
        pop = inp.get("population", {})
        rules = inp.get("dose_rules")
        rules_text = "none" if not rules else (rules if isinstance(rules, str) else "custom")
        head = (f"selinexor QW vs BIW: {pop.get('n', '?')} patients per arm ({pop.get('name', 'population')}), "
                f"{inp.get('days', 0):g} days, seed {inp.get('seed')}, dose rules: {rules_text}")
        wrap = lambda text: textwrap.fill(text, width=110, break_on_hyphens=False)  # noqa: E731
        with pd.option_context("display.width", 250, "display.max_columns", 50, "display.max_colwidth", 60):
            t = self.table()
            split = list(t.columns).index("nadir med (p5-p95), 10^9/L")
            split2 = list(t.columns).index("ORR % (95% CI)")
            parts = [head, "", "Incidence, % of patients (95% CI):", "", t.iloc[:, :split].to_string(), "",
                     "Platelets, timing, dose and exposure (medians unless stated):", "",
                     t.iloc[:, split:split2].to_string(), "",
                     "Efficacy (IMWG response from the M-protein model; PFS Kaplan-Meier, months):", "",
                     t.iloc[:, split2:].to_string(), "", wrap(TABLE_LEGEND)]
            if len(self.arms) > 1:
                parts += ["", f"Paired differences against {self.reference} (same patients in every arm; arm minus "
                              f"{self.reference}):", "", self.differences_table().to_string(), "",
                          wrap(DIFFERENCES_LEGEND)]
        parts += ["", wrap("Finding: " + self.finding())]
        return "\n".join(parts)

    def __repr__(self) -> str:
        return f"CompareResult(arms={self.arms}, n={int(self.summary['n'].iloc[0])}, seconds={self.seconds:.1f})"


#: The legend printed under :meth:`CompareResult.table`.
TABLE_LEGEND = (
    "Legend: grades are CTCAE v4.03 thrombocytopenia at the scheduled lab visits (G3: platelets 25 to < 50 x 10^9/L, "
    "G4: < 25, G3+: grade 3 or 4), in percent of patients with the 95% Wilson CI. interr / reduc: "
    "patients with at least one dose interruption / reduction by the dose rules. nadir: lowest platelet count, "
    "median (5th-95th percentile). t nadir: days to the nadir; onset G3: days to the first count below "
    "50 (continuous trajectory; patients who reach it); recov: recovery, days from the first fall below 50 to the "
    "first return to >= 75 (patients who recover); on tx: days on treatment (until discontinuation, a stop by the dose rules, or the "
    "end of the run); all medians. mg/wk: delivered selinexor dose intensity (mean mg per week on treatment). "
    "AUC/wk: selinexor AUC per week; Cmax: peak concentration; X>0.5: days with XPO1 engagement above 0.5 "
    "(medians). d: days. ORR: overall response rate (partial response or better, IMWG, confirmed on two consecutive "
    "monthly M-protein assessments); >=VGPR: very good partial response or better; mPFS: median progression-free "
    "survival in months (Kaplan-Meier, 95% CI; n/a when not reached within the simulated days; progression is "
    "detected at the monthly M-protein assessments, so the median and its bounds fall on assessment days and "
    "often coincide). Efficacy comes "
    "from the M-protein model of docs/efficacy.md, calibrated to STORM part 2 and BOSTON."
)

#: The legend printed under :meth:`CompareResult.differences_table`.
DIFFERENCES_LEGEND = (
    "pp: percentage points. Each cell is the mean over patients of (arm - reference) with its normal 95% CI; "
    "the arms share their patients (common random numbers), so the CIs are paired. dose modified: at least one "
    "interruption or reduction. ORR, >=VGPR: differences in response rates. A CI that excludes 0 resolves the "
    "difference."
)


def _num(v: Any, digits: int = 0) -> str:
    v = float(v)
    return "n/a" if math.isnan(v) else f"{v:.{digits}f}"


def _pct_ci(p: float, lo: float, hi: float) -> str:
    return f"{100 * float(p):.0f} ({100 * float(lo):.0f}-{100 * float(hi):.0f})"


def _pct_text(s: pd.DataFrame, arm: str, key: str = "g3plus_lab") -> str:
    r = s.loc[arm]
    return f"{100 * float(r[key]):.0f}% (95% CI {100 * float(r[key + '_lo']):.0f}-{100 * float(r[key + '_hi']):.0f})"


def _signed_ci(m: float, lo: float, hi: float, digits: int) -> str:
    def f(v: float) -> str:
        if math.isnan(v):
            return "n/a"
        r = round(v, digits)
        return f"{0.0:.{digits}f}" if r == 0 else f"{r:+.{digits}f}"

    return f"{f(m)} ({f(lo)} to {f(hi)})"


def _schedule(spec: Mapping[str, Any]) -> Optional[str]:
    """QW / BIW from a regimen spec: selinexor doses per week in its first block that doses it."""
    for block in spec.get("blocks", []):
        sel = [d for d in block.get("doses", []) if d.get("drug") == "selinexor"]
        if not sel:
            continue
        per_week = 0.0
        for d in sel:
            if d.get("weekdays"):
                per_week += len(d["weekdays"])
            elif d.get("days"):
                days = [x for x in d["days"] if isinstance(x, (int, float))]
                cycle = float(block.get("cycle_days") or 7)
                per_week += 7.0 * len(days) / cycle if days else 0.0
        return {1.0: "QW", 2.0: "BIW"}.get(round(per_week, 6))
    return None


def _progress_bar(total: int, done: int, elapsed: float) -> Any:
    """A tqdm bar opened late (after ``elapsed`` seconds, ``done`` of ``total`` finished) whose
    rate is the average since the run started (not the first update over a few microseconds)."""
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="compare", unit="pt", smoothing=0.0)
    bar.start_t = bar.start_t - elapsed
    bar.last_print_t = bar.start_t
    bar.update(done)
    return bar


def _bands(arm: str, days: np.ndarray, traj: np.ndarray, on_days: np.ndarray) -> pd.DataFrame:
    """Platelet percentiles per observation day: over all patients, and over those still on
    treatment that day (day <= days_on_treatment)."""
    q = np.quantile(traj, [0.05, 0.5, 0.95], axis=0)
    on = days[None, :] <= on_days[:, None]
    n_on = on.sum(axis=0)
    masked = np.where(on, traj, np.nan)
    q_on = np.full((3, len(days)), np.nan)
    cols = n_on > 0
    if cols.any():
        q_on[:, cols] = np.nanquantile(masked[:, cols], [0.05, 0.5, 0.95], axis=0)
    return pd.DataFrame({"arm": arm, "DAY": days, "PLT_p05": q[0], "PLT_p50": q[1], "PLT_p95": q[2],
                         "PLT_on_p05": q_on[0], "PLT_on_p50": q_on[1], "PLT_on_p95": q_on[2],
                         "n_on_treatment": n_on.astype(np.int64), "on_treatment": n_on / max(len(on_days), 1)})


def _vpc(arm: str, lab_days: np.ndarray, counts: np.ndarray) -> pd.DataFrame:
    """Percentiles of the platelet counts read at each scheduled lab visit over the patients who
    had that visit (NaN in ``counts``: no visit; a visit nobody had gets NaN and ``n`` 0)."""
    rows = []
    for j, day in enumerate(lab_days):
        c = counts[:, j]
        c = c[~np.isnan(c)]
        q = np.quantile(c, [0.05, 0.5, 0.95]) if c.size else np.full(3, np.nan)
        rows.append({"arm": arm, "DAY": float(day), "n": int(c.size), "PLT_p05": q[0], "PLT_p50": q[1],
                     "PLT_p95": q[2]})
    return pd.DataFrame(rows)


def _time_on_treatment(tot: Any, labels: list[str]) -> dict[str, float | None]:
    """The per-arm medians of ``time_on_treatment``, checked against the arm labels."""
    if tot is None:
        return {}
    if not isinstance(tot, Mapping):
        raise error("time_on_treatment", f"must be a dict of arm label -> median days, got {type(tot).__name__}")
    out: dict[str, float | None] = {}
    for arm, median in tot.items():
        if arm not in labels:
            raise error(f"time_on_treatment.{arm}", f"unknown arm {arm!r} (arms: {labels})")
        if median is None:
            out[arm] = None
            continue
        if isinstance(median, bool) or not isinstance(median, (int, float)) or not math.isfinite(median) or median <= 0:
            raise error(f"time_on_treatment.{arm}", f"must be a median in days > 0 (or None), got {median!r}")
        out[arm] = float(median)
    return out


def _arm_rules(dose_rules: Any, label: str, labels: list[str]) -> Any:
    """The dose rules of arm ``label``: a dict keyed by every arm's label gives each arm its own
    rules (e.g. a TPO-RA rescue only in the arm that doses it, docs/supportive_care.md)."""
    if isinstance(dose_rules, Mapping) and dose_rules and set(dose_rules) == set(labels):
        return dose_rules[label]
    return dose_rules

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
    stop_at_progression: bool = False,
    lab_error: Mapping[str, float] | None = None,
    executor: Any = None,
    time_on_treatment: Mapping[str, float | None] | None = None,
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
    dose_rules : {"label", "label_qw", "label_biw", "label_dlbcl", "label_biw_tpo_rescue", "romiplostim_titration", "label_biw_tpo_consensus", "romiplostim_consensus", "stop_below_50", "transfuse_below_10", "lenalidomide_label", "pomalidomide_label", "ixazomib_label", "lenalidomide_ixazomib_label"}, dict, list or None
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
    stop_at_progression : bool
        Stop each patient's treatment at progression (as in :func:`simulate_population`: the
        population's discontinuation for other reasons then replaces its overall one).
    lab_error : dict, optional
        Observation error of the lab platelet counts, ``{"prop": cv, "add": sd}`` (sd in
        10^9/L): each scheduled lab visit reads ``max(0, PLT (1 + prop e1) + add e2)`` with
        standard normals drawn per (seed, subject) on a stream of their own, so that lab grades
        (``worst_grade_lab``) and dose rules act on noisy counts as clinicians' do; the
        continuous metrics (nadir, ``worst_grade``) keep the model's counts. None: exact counts.
    executor : dask.distributed.Client or concurrent.futures.Executor, optional
        Run the subjects on an executor's workers (in chunks of ``chunk_size`` subjects, at
        most 1,000 by default) instead of in this process: bit-identical results, since
        subject ``i`` depends only on ``(seed, i)``. See docs/scale-out.md.
    time_on_treatment : dict of arm label -> median days (or None), optional
        Time on treatment per arm, since trials differ: the exponential discontinuation of
        the named arms gets this median (None: treated to the end of ``days``); other arms keep
        the population's. Patients stay paired: subject ``i`` draws the same uniform number in
        every arm, so a longer median lengthens each patient's time on treatment in proportion.

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
    tot = _time_on_treatment(time_on_treatment, labels)
    runners = {
        label: TrialRunner(r, pop.with_discontinuation(tot[label]) if label in tot else pop, days=days, seed=seed,
                            threads=threads, dose_rules=_arm_rules(dose_rules, label, labels), observe=obs,
                            params=params, platelet_model=platelet_model, rtol=1e-6, atol=1e-9, library=library,
                            stop_at_progression=stop_at_progression, lab_error=lab_error)
        for label, r in arms.items()
    }
    first = runners[labels[0]]
    # per subject: the columns, the trajectory and (with a trajectory) the lab-visit counts
    n_labs = len(first.regimen.lab_days(first.inputs["days"])) if first.observe else 0
    kept = 0 if summary_only else pop.n * len(labels) * (SUBJECT_COLUMNS + len(first.observe) + n_labs)
    check_budget(pop.n * len(labels), first.inputs["days"], executor_threads(executor, first.threads), kept, max_hours)
    t0 = time.perf_counter()
    stream = {a: StreamingSummary() for a in labels}
    paired = {r: {a: _Paired() for a in labels} for r in labels}  # every reference, so that any is available
    parts: dict[str, list[dict[str, Any]]] = {a: [] for a in labels}
    total = pop.n * len(labels)
    bar = None
    try:
        for start, end, results in run_chunks([runners[a] for a in labels], pop.n, chunk_size, executor):
            chunk: dict[str, pd.DataFrame] = {}
            for a, cols in zip(labels, results):
                traj = cols.pop("PLT_traj", None)
                labs = cols.pop("PLT_lab", None)
                df, _ = concat([cols])
                chunk[a] = df
                stream[a].add(df)
                if not summary_only:
                    if traj is not None:
                        cols["PLT_traj"] = traj
                    if labs is not None:
                        cols["PLT_lab"] = labs
                    parts[a].append(cols)
                done = start * len(labels) + (labels.index(a) + 1) * (end - start)
                if bar is None and progress and time.perf_counter() - t0 > 1.0:
                    bar = _progress_bar(total, done, time.perf_counter() - t0)
                elif bar is not None:
                    bar.update(end - start)
            for r in labels:
                for a in labels:
                    paired[r][a].add(chunk[a], chunk[r])
    finally:
        if bar is not None:
            bar.close()
    subjects = None
    bands = None
    vpc = None
    if summary_only:
        summary = pd.DataFrame({a: stream[a].result() for a in labels}).T
    else:
        tables = []
        band_rows = []
        vpc_rows = []
        for a in labels:
            labs = pop_array(parts[a], "PLT_lab")
            df, traj = concat(parts[a])
            df.insert(0, "arm", a)
            tables.append(df)
            if traj is not None:
                band_rows.append(_bands(a, np.asarray(runners[a].observe, dtype=float), traj,
                                        df["days_on_treatment"].to_numpy(dtype=float)))
            if labs is not None:
                vpc_rows.append(_vpc(a, runners[a].regimen.lab_days(days), labs))
        subjects = pd.concat(tables, ignore_index=True)
        summary = pd.DataFrame({a: stream[a].result() for a in labels}).T
        bands = pd.concat(band_rows, ignore_index=True) if band_rows else None
        vpc = pd.concat(vpc_rows, ignore_index=True) if vpc_rows else None
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
        "observe_days": runners[labels[0]].observe, "summary_only": summary_only, "time_on_treatment": tot,
        "stop_at_progression": bool(stop_at_progression),
        "lab_error": None if lab_error is None else dict(lab_error),
    }
    pfs = {a: stream[a].pfs_arrays() for a in labels}
    return CompareResult(summary, subjects, bands, paired, inputs, time.perf_counter() - t0, pfs=pfs, vpc=vpc)


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
                   platelet_model=data.get("platelet_model", "tpo"), progress=progress,
                   time_on_treatment=data.get("time_on_treatment") or None,
                   stop_at_progression=bool(data.get("stop_at_progression", False)),
                   lab_error=data.get("lab_error"))
