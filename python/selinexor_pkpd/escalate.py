"""Dose-escalation trials (3+3, BOIN) simulated end to end, with DLTs on the simulated patient.

See ``docs/escalation.md`` for the designs' rules, the DLT presets and the assumptions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import _core
from ._errors import error
from ._library import resolve_library
from ._runner import native_threads
from ._typing import DesignLike, DltLike, DoseRulesLike, FilePath, LibrarySource, LinearPk, Params, TrialPlateletModel
from .regimen import Regimen, as_regimen
from .simulate import params_json

#: Patients of the reference population that estimates each level's true DLT rate.
REFERENCE_N = 2000


def _whole(name: str, v: Any, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise error(name, f"must be a whole number >= {lo}, got {v!r}")
    return int(v)


def _designs(design: Any, target: float) -> list[dict[str, Any]]:
    items = design if isinstance(design, (list, tuple)) else [design]
    if not items:
        raise error("design", "give at least one design")
    out = []
    for d in items:
        if isinstance(d, str):
            key = d.lower()
            if key not in ("3+3", "boin"):
                raise error("design", f"unknown design {d!r} (known: '3+3', 'boin')")
            d = {"design": key}
        elif isinstance(d, Mapping):
            d = dict(d)
        else:
            raise error("design", f"must be '3+3', 'boin', a dict or a list of them, got {type(d).__name__}")
        if d.get("design") == "boin":
            d.setdefault("target", target)
        out.append(d)
    return out


def _levels(levels: Any, library: Any) -> tuple[list[str], list[Regimen]]:
    if levels is None:
        raise error("levels", "give at least one dose level")
    if isinstance(levels, Mapping):
        names, regs = list(levels), list(levels.values())
    elif isinstance(levels, (str, Regimen)):
        names, regs = [levels if isinstance(levels, str) else levels.name], [levels]
    else:
        regs = list(levels)
        names = [r if isinstance(r, str) else r.name for r in regs]
    if not regs:
        raise error("levels", "give at least one dose level")
    out = []
    for i, r in enumerate(regs):
        try:
            out.append(as_regimen(r, library=library))
        except TypeError as e:
            raise error(f"levels[{i}]", str(e)) from None
    return [str(n) for n in names], out


class EscalationResult:
    """Operating characteristics of replicated dose-escalation trials.

    Attributes
    ----------
    levels : pandas.DataFrame
        One row per design and level: ``design, level, name, true_dlt_rate, p_select,
        mean_patients, mean_dlts``.
    designs : pandas.DataFrame
        One row per design: ``design, trials, mean_sample_size, mean_dlts, p_no_mtd,
        p_overdose`` (a level with true DLT rate above the target selected), ``p_target``
        (the level whose true rate is closest to the target selected), ``mean_duration_days``.
    raw : dict
        Per-trial arrays: ``n``, ``dlt`` (design, trial, level), ``mtd`` (design, trial; -1: none).
    inputs : dict
        Everything needed to reproduce the run (JSON-serialisable).
    """

    def __init__(self, levels: pd.DataFrame, designs: pd.DataFrame, raw: dict[str, Any], inputs: dict[str, Any],
                 target: float) -> None:
        self.levels = levels
        self.designs = designs
        self.raw = raw
        self.inputs = inputs
        self.target = target

    def table(self) -> pd.DataFrame:
        """Selection probability and patients per level, one column block per design."""
        t = self.levels.pivot_table(index=["level", "name", "true_dlt_rate"], columns="design",
                                    values=["p_select", "mean_patients"], sort=False)
        return t.round(3)

    def plot(self, path: FilePath | None = None) -> Any:
        """Selection probability per level (bars, one per design) next to the true DLT curve."""
        import matplotlib.pyplot as plt

        names = list(dict.fromkeys(self.levels["name"]))
        x = np.arange(len(names))
        designs = list(dict.fromkeys(self.levels["design"]))
        fig, ax = plt.subplots(figsize=(1.6 * len(names) + 3, 4))
        w = 0.8 / len(designs)
        for i, d in enumerate(designs):
            sub = self.levels[self.levels["design"] == d]
            ax.bar(x - 0.4 + w * (i + 0.5), sub["p_select"], w, label=f"P(selected as MTD), {d}")
        true = self.levels.drop_duplicates("level")["true_dlt_rate"].to_numpy()
        ax.plot(x, true, "k-o", label="true DLT rate")
        ax.axhline(self.target, color="0.4", ls="--", lw=0.9, label=f"target {self.target:g}")
        ax.set_xticks(x, names, rotation=20, ha="right")
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability")
        ax.legend(fontsize=8)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
        return ax

    def to_csv(self, out: FilePath) -> list[Path]:
        """Write ``levels.csv``, ``designs.csv`` and ``inputs.json`` to directory ``out``."""
        d = Path(out)
        d.mkdir(parents=True, exist_ok=True)
        files = [d / "levels.csv", d / "designs.csv", d / "inputs.json"]
        self.levels.to_csv(files[0], index=False)
        self.designs.to_csv(files[1], index=False)
        files[2].write_text(json.dumps(self.inputs, indent=2, default=str), encoding="utf-8")
        return files


def escalate(levels: Any = None, design: DesignLike | Sequence[DesignLike] = "3+3", *, dlt: DltLike = "g4_over_7d",
             population: Any = None, trials: int = 1000, seed: int = 20261207, target: float = 0.3,
             dlt_probs: Sequence[float] | None = None, dose_rules: DoseRulesLike = None, params: Params = None,
             window_days: float = 28.0, cohort_days: float | None = None, reference_n: int = REFERENCE_N,
             threads: int | None = None, platelet_model: TrialPlateletModel = "tpo", rtol: float = 1e-6,
             atol: float = 1e-9, linear_pk: LinearPk = "exact", library: LibrarySource | None = None) -> EscalationResult:
    """Replicated dose-escalation trials over dose levels, with DLTs on the simulated patient.

    Patient ``k`` of trial ``r`` is the same virtual patient whatever level and design it gets
    (common random numbers); results do not depend on ``threads``.

    Parameters
    ----------
    levels : list of Regimen or preset names, or dict name -> regimen
        The dose levels, lowest first (e.g. the ``trial002_*`` presets). With ``dlt_probs``
        they only name the levels and may be omitted.
    design : {"3+3", "boin"} or dict or list of them
        ``"3+3"`` (the textbook rule), ``"boin"`` (Liu & Yuan 2015), or a dict such as
        ``{"design": "boin", "target": 0.25, "cohort_size": 3, "max_n": 36}`` (also ``p_saf``,
        ``p_tox``, ``cutoff_eli``, ``n_earlystop``). A list runs every design on the same patients.
    dlt : {"g4_over_7d", "g4_lab", "g3_lab", "g4_nadir", "interruption"} or dict or callable
        The DLT rule: a preset, a dict ``{"window_days": 28, "any": [{"kind": "grade_days",
        "grade": 4, "days": 7}, {"kind": "lab_grade", "grade": 3}, {"kind": "nadir_grade",
        "grade": 4}, {"kind": "interruption"}]}``, or a callable taking the patient's subject row
        (a pandas Series of the subject table, simulated over ``window_days``) and returning a bool.
    population : Population, optional
        Default ``population("rrmm_heavily_pretreated")``; its ``n`` is not used.
    trials : int
        Replicated trials (default 1,000).
    seed : int
    target : float
        Target DLT rate in (0, 1): BOIN's target and the overdosing threshold (default 0.3).
    dlt_probs : list of float, optional
        True DLT probability per level, bypassing the PK/PD model.
    dose_rules : {"label", "label_qw", "label_biw", "label_dlbcl", "label_biw_tpo_rescue", "romiplostim_titration", "label_biw_tpo_consensus", "romiplostim_consensus", "stop_below_50", "transfuse_below_10", "lenalidomide_label", "pomalidomide_label", "ixazomib_label", "lenalidomide_ixazomib_label"} or dict, optional
        Dose rules applied during the window (needed by the ``interruption`` criterion).
    params : dict, optional
        Parameter overrides, ``{namespace: {param: value}}``.
    window_days : float
        DLT window for a callable rule (a dict or preset carries its own; default 28).
    cohort_days : float, optional
        Days between cohorts, for the trial duration (default: the DLT window).
    reference_n : int
        Patients per level of the population that estimates the true DLT rate (default 2,000).
    threads : int, optional
    platelet_model : {"tpo", "friberg", "friberg_linear", "friberg_emax"}
    rtol, atol : float
    linear_pk : {"exact", "ode"}
    library : optional

    Returns
    -------
    EscalationResult
        ``.levels``, ``.designs`` DataFrames, ``.plot()``, ``.to_csv(dir)``.
    """
    from .population import Population, population as make_population

    trials = _whole("trials", trials, 1)
    seed = _whole("seed", seed, 0)
    if threads is not None:
        threads = _whole("threads", threads, 1)
    threads = native_threads(threads)
    reference_n = _whole("reference_n", reference_n, 1)
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0.0 < float(target) < 1.0:
        raise error("target", f"must be in (0, 1), got {target!r}")
    target = float(target)
    designs = _designs(design, target)
    designs_json = json.dumps(designs)
    inputs: dict[str, Any] = {"design": designs, "trials": trials, "seed": seed, "target": target}
    simulated = 0
    if dlt_probs is not None:
        probs = [float(p) for p in np.asarray(dlt_probs, dtype=float).ravel()]
        if not probs:
            raise error("levels", "give at least one dose level (dlt_probs is empty)")
        if levels is None:
            names = [f"L{i + 1}" for i in range(len(probs))]
        else:
            names = [str(n) if isinstance(n, str) else getattr(n, "name", str(n)) for n in
                     (list(levels) if not isinstance(levels, Mapping) else list(levels))]
            if len(names) != len(probs):
                raise error("dlt_probs", f"has {len(probs)} values for {len(names)} levels")
        raw = _core.escalate_probs(designs_json, probs, trials, seed, threads)
        true = np.asarray(probs)
        window = float(window_days)
        inputs.update({"dlt_probs": probs, "levels": names})
    else:
        lib = resolve_library(library)
        names, regs = _levels(levels, lib)
        pop = population if population is not None else make_population("rrmm_heavily_pretreated", n=1, library=lib)
        if not isinstance(pop, Population):
            raise error("population", f"must be a Population, got {type(pop).__name__}")
        if pop.table is not None:
            raise error("population", "a patient table cannot be enrolled in replicated trials; use a sampled population")
        reg_json = [r.validated_json(lib) for r in regs]
        if dose_rules is None or dose_rules is False:
            rules = None
        elif isinstance(dose_rules, str):
            rules = dose_rules
        elif isinstance(dose_rules, Mapping):
            rules = json.dumps(dict(dose_rules))
        else:
            raise error("dose_rules", f"must be None, a preset name or a dict, got {type(dose_rules).__name__}")
        user_fn = dlt if callable(dlt) else None
        if user_fn is None:
            if isinstance(dlt, Mapping):
                dlt_text = json.dumps(dict(dlt))
            elif isinstance(dlt, str):
                dlt_text = dlt
            else:
                raise error("dlt", f"must be a preset name, a dict or a callable, got {type(dlt).__name__}")
            rule = json.loads(_core.dlt_rule(dlt_text))
            window = float(rule["window_days"])
            inputs["dlt"] = rule
        else:
            dlt_text = None
            window = float(window_days)
            if not np.isfinite(window) or window <= 0:
                raise error("window_days", f"must be finite and > 0, got {window_days!r}")
            inputs["dlt"] = {"callable": getattr(user_fn, "__name__", repr(user_fn)), "window_days": window}
        esc = _core.Escalation(lib._native, reg_json, json.dumps(pop.spec), rules, params_json(params), seed,
                               dlt=dlt_text, window_days=window, platelet_model=platelet_model, rtol=float(rtol),
                               atol=float(atol), linear_pk=linear_pk)
        if user_fn is None:
            raw = esc.run(designs_json, trials, threads)
            simulated = int(raw["simulated"])
            true = np.array([esc.reference_dlt(i, reference_n, threads).mean() for i in range(len(regs))])
        else:
            raw, simulated = _run_with_callable(esc, designs_json, trials, threads, len(regs), user_fn)
            true = np.array([_apply(user_fn, pd.DataFrame(esc.reference_subjects(i, reference_n, threads))).mean()
                             for i in range(len(regs))])
        inputs.update({"levels": {n: r.to_dict() for n, r in zip(names, regs)}, "population": pop.to_dict(),
                       "dose_rules": dose_rules if not isinstance(dose_rules, Mapping) else dict(dose_rules),
                       "params": json.loads(params_json(params)), "platelet_model": platelet_model,
                       "rtol": rtol, "atol": atol, "linear_pk": linear_pk, "reference_n": reference_n})
    cohort = window if cohort_days is None else float(cohort_days)
    if not np.isfinite(cohort) or cohort < 0:
        raise error("cohort_days", f"must be finite and >= 0, got {cohort_days!r}")
    inputs["cohort_days"] = cohort
    res = _summarize(raw, names, true, target, cohort)
    res.inputs = inputs
    res.raw["simulated"] = simulated
    return res


def _apply(fn: Callable[[pd.Series], bool], rows: pd.DataFrame) -> np.ndarray:
    out = np.empty(len(rows), dtype=bool)
    for i, (_, row) in enumerate(rows.iterrows()):
        v = fn(row)
        if not isinstance(v, (bool, np.bool_)):
            raise error("dlt", f"the callable must return a bool, got {type(v).__name__} for subject {row['ID']}")
        out[i] = bool(v)
    return out


def _run_with_callable(esc: Any, designs_json: str, trials: int, threads: int | None, n_levels: int,
                       fn: Callable[[pd.Series], bool]) -> tuple[dict[str, Any], int]:
    """Runs the designs, simulating and judging only the patients they enrol, cohort by cohort."""
    known = np.full((n_levels, trials, 0), -1, dtype=np.int8)
    simulated = 0
    while True:
        raw = esc.run(designs_json, trials, threads, known)
        missing = raw["missing"]
        if len(missing) == 0:
            return raw, simulated
        need = int(missing[:, 2].max()) + 1
        if need > known.shape[2]:
            grown = np.full((n_levels, trials, need), -1, dtype=np.int8)
            grown[:, :, :known.shape[2]] = known
            known = grown
        for level in np.unique(missing[:, 0]):
            m = missing[missing[:, 0] == level]
            rows = pd.DataFrame(esc.subjects(int(level), m[:, 1].tolist(), m[:, 2].tolist(), threads))
            known[level, m[:, 1], m[:, 2]] = _apply(fn, rows)
            simulated += len(m)


def _summarize(raw: dict[str, Any], names: list[str], true: np.ndarray, target: float, cohort_days: float) -> EscalationResult:
    n, dlt, mtd, cohorts = raw["n"], raw["dlt"], raw["mtd"], raw["cohorts"]
    n_levels = len(names)
    over = true > target
    closest = int(np.argmin(np.abs(true - target)))
    level_rows, design_rows = [], []
    for i, d in enumerate(raw["designs"]):
        sel = np.array([(mtd[i] == j).mean() for j in range(n_levels)])
        for j in range(n_levels):
            level_rows.append({"design": d, "level": j + 1, "name": names[j], "true_dlt_rate": float(true[j]),
                               "p_select": float(sel[j]), "mean_patients": float(n[i, :, j].mean()),
                               "mean_dlts": float(dlt[i, :, j].mean())})
        design_rows.append({"design": d, "trials": int(mtd.shape[1]), "mean_sample_size": float(n[i].sum(axis=1).mean()),
                            "mean_dlts": float(dlt[i].sum(axis=1).mean()), "p_no_mtd": float((mtd[i] < 0).mean()),
                            "p_overdose": float(sel[over].sum()), "p_target": float(sel[closest]),
                            "mean_duration_days": float(cohorts[i].mean() * cohort_days)})
    return EscalationResult(pd.DataFrame(level_rows), pd.DataFrame(design_rows), dict(raw), {}, target)


def dlt_presets() -> list[str]:
    """Names of the DLT rule presets (see ``docs/escalation.md``)."""
    return list(_core.dlt_presets())


__all__ = ["EscalationResult", "dlt_presets", "escalate"]
