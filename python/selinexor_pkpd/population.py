"""Virtual populations and population simulation."""

from __future__ import annotations

import copy
import json
import time
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ._errors import error
from ._library import resolve_library
from ._runner import SUBJECT_COLUMNS, check_budget, TrialRunner, concat, executor_threads, pop_array, run_chunks
from ._typing import (Covariate, DoseRulesLike, LibrarySource, LinearPk, Observe, Params, RegimenLike,
                      TrialPlateletModel)
from .summary import summarize

_COVARIATES = ("weight", "height", "age", "sex", "crcl", "platelets")


class Population:
    """A virtual population: covariate distributions, random effects, time on treatment.

    Use :func:`population` for a named preset and the ``with_*`` methods to change it, or
    :meth:`from_table` for an explicit table of patients.

    Parameters
    ----------
    spec : dict
        The population definition (layout of ``data/populations.toml``).
    n : int
        Number of subjects to sample.
    name : str
    table : pandas.DataFrame, optional
        Explicit patients (one row each) instead of sampled covariates.
    """

    def __init__(self, spec: Mapping[str, Any], n: int | None = None, *, name: str = "population",
                 table: pd.DataFrame | None = None) -> None:
        if not isinstance(spec, Mapping):
            raise TypeError(f"population: expected a mapping (dict), got {type(spec).__name__}")
        self.spec = copy.deepcopy(dict(spec))
        self.name = name
        self.table = table
        if table is not None:
            n = len(table) if n is None else n
            if n != len(table):
                raise error("n", f"is {n} but the table has {len(table)} rows")
        if n is None:
            raise error("n", "give the number of subjects")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise error("n", f"must be a whole number >= 1, got {n!r}")
        self.n = int(n)

    # --- edits --------------------------------------------------------------------------------
    def _copy(self, **kw: Any) -> "Population":
        p = Population(self.spec, self.n, name=self.name, table=self.table)
        for k, v in kw.items():
            setattr(p, k, v)
        return p

    def with_n(self, n: int) -> "Population":
        """The same population with ``n`` subjects."""
        return Population(self.spec, n, name=self.name, table=self.table)

    def with_covariate(self, name: Covariate, **dist: Any) -> "Population":
        """Replace one covariate's distribution, e.g. ``with_covariate("platelets",
        dist="lognormal", median=120, cv=0.45, min=75)``; ``female`` takes ``p=``.

        Parameters
        ----------
        name : {"weight", "height", "age", "crcl", "platelets", "female"}
        **dist
            ``dist`` in {"fixed", "normal", "lognormal"} with its parameters: ``value``;
            ``mean``, ``sd``; ``median``, ``cv`` (fraction); optional ``min``, ``max``
            (truncation by redrawing). For ``female``: ``p``, the fraction of women.
        """
        spec = copy.deepcopy(self.spec)
        if name == "female":
            spec["covariates"]["female"] = float(dist["p"])
        elif name not in spec["covariates"]:
            raise error(f"population.covariates.{name}", f"unknown covariate (known: {sorted(spec['covariates'])})")
        else:
            spec["covariates"][name] = dict(dist)
        return self._copy(spec=spec)

    def with_platelets(self, *, median: float | None = None, cv: float | None = None,
                       min: float | None = None) -> "Population":  # noqa: A002
        """Shift the baseline-platelet distribution (marrow reserve) and its eligibility floor."""
        spec = copy.deepcopy(self.spec)
        d = spec["covariates"]["platelets"]
        for k, v in (("median", median), ("cv", cv), ("min", min)):
            if v is not None:
                d[k] = float(v)
        return self._copy(spec=spec)

    def with_iiv(self, cvs: Mapping[str, float], correlations: Sequence[tuple[str, str, float]] = ()) -> "Population":
        """Set log-normal IIV (CV as a fraction) by ``namespace.param``, with correlations."""
        spec = copy.deepcopy(self.spec)
        spec["iiv"] = {**spec.get("iiv", {}), **{k: float(v) for k, v in cvs.items()}}
        spec["correlations"] = [{"a": a, "b": b, "r": float(r)} for a, b, r in correlations]
        return self._copy(spec=spec)

    def with_typical(self, values: Mapping[str, float], source: str = "user") -> "Population":
        """Set this population's own typical values by ``namespace.param`` (e.g. ``platelets.Imax``),
        replacing the library's for its patients; a run's ``params=`` still wins.

        Parameters
        ----------
        values : mapping of str to float
            Typical value of each parameter.
        source : str
            Where the values come from (kept in the population's ``typical`` table).
        """
        spec = copy.deepcopy(self.spec)
        spec["typical"] = {**spec.get("typical", {}),
                           **{k: {"value": float(v), "source": source} for k, v in values.items()}}
        return self._copy(spec=spec)

    def with_omega(self, params: Sequence[str], matrix: Any) -> "Population":
        """Use a full covariance matrix of the random effects (log scale; logit for Imax, fP, F, Emax)."""
        spec = copy.deepcopy(self.spec)
        spec["omega"] = {"params": list(params), "matrix": np.asarray(matrix, dtype=float).tolist()}
        return self._copy(spec=spec)

    def with_discontinuation(self, median_days: float | None) -> "Population":
        """Exponential time on treatment with this median (days); None: treated to the end.

        The median given holds whether or not the run stops at progression: the preset's
        discontinuation for other reasons (``discontinuation_other``, used instead of the overall
        one when ``stop_at_progression=True``) is dropped."""
        spec = copy.deepcopy(self.spec)
        spec["discontinuation"] = {"dist": "none"} if median_days is None else {"dist": "exponential", "median_days": float(median_days)}
        spec.pop("discontinuation_other", None)
        return self._copy(spec=spec)

    def with_other_discontinuation(self, median_days: float | None) -> "Population":
        """Exponential discontinuation for reasons other than progression with this median
        (days), used instead of the overall discontinuation in runs that stop at progression
        (``stop_at_progression=True``); None: such runs use the overall one."""
        spec = copy.deepcopy(self.spec)
        if median_days is None:
            spec.pop("discontinuation_other", None)
        else:
            spec["discontinuation_other"] = {"median_days": float(median_days), "source": "user"}
        return self._copy(spec=spec)

    @classmethod
    def from_table(cls, table: pd.DataFrame, base: "Population | str" = "rrmm_heavily_pretreated", *,
                   library: LibrarySource | None = None) -> "Population":
        """Explicit patients: columns ``weight, height, age, sex, crcl, platelets`` (any subset;
        missing ones take the defaults), optional ``disc_days`` and individual parameter values
        as ``namespace.param`` columns (e.g. ``selinexor.CL``). Random effects of the other
        parameters and the discontinuation time still come from ``base``."""
        if not isinstance(table, pd.DataFrame) or len(table) == 0:
            raise error("population", "the patient table is empty")
        b = base if isinstance(base, Population) else population(base, n=1, library=library)
        p = cls(b.spec, len(table), name=f"table({len(table)})", table=table.reset_index(drop=True))
        p._rows_json()  # checks every cell now, naming its row and column
        return p

    def _rows_json(self) -> str | None:
        """The patient table as the native module's rows (column by column: a loop over rows
        in Python cost ~55 us per patient)."""
        if self.table is None:
            return None
        n = len(self.table)
        patient_cols: list[tuple[str, list[Any]]] = []
        param_cols: dict[str, list[tuple[str, list[float]]]] = {}
        disc: list[float] | list[None] = [None] * n
        for k in self.table.columns:
            col = self.table[k]
            if k == "sex":
                patient_cols.append((k, [str(v).lower() for v in col]))
            elif k in _COVARIATES:
                v = _float_column(col, k)
                bad = np.flatnonzero(~np.isfinite(v))
                if bad.size:
                    raise error(f"patients[{bad[0]}].{k}", f"must be finite, got {v[bad[0]]}")
                patient_cols.append((k, v.tolist()))
            elif k == "disc_days":
                disc = _float_column(col, k).tolist()
            elif isinstance(k, str) and "." in k:
                ns, name = k.split(".", 1)
                param_cols.setdefault(ns, []).append((name, _float_column(col, k).tolist()))
            elif k in ("ID", "id"):
                continue
            else:
                raise error(f"patients[0].{k}", "unknown column (covariates: weight, height, age, sex, crcl, platelets; disc_days; namespace.param)")
        rows = [{"patient": {k: v[i] for k, v in patient_cols},
                 "params": {ns: {name: v[i] for name, v in cols} for ns, cols in param_cols.items()},
                 "disc_days": disc[i]} for i in range(n)]
        return json.dumps(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: name, n, spec and (if any) the explicit patient table."""
        d: dict[str, Any] = {"name": self.name, "n": self.n, "spec": copy.deepcopy(self.spec)}
        if self.table is not None:
            d["table"] = {k: self.table[k].tolist() for k in self.table.columns}  # (to_dict: 9 ms at 500 rows)
        return d

    def __repr__(self) -> str:
        return f"Population({self.name!r}, n={self.n})"


def _float_column(col: pd.Series, name: str) -> np.ndarray:
    try:
        return np.asarray(col, dtype=float)
    except (TypeError, ValueError):
        pass
    for i, v in enumerate(col):
        try:
            float(v)
        except (TypeError, ValueError):
            raise error(f"patients[{i}].{name}", f"must be a number, got {v!r:.60}") from None
    raise error(f"patients.{name}", "must be numbers")


def population(name: str = "rrmm_heavily_pretreated", n: int = 1000, *, library: LibrarySource | None = None) -> Population:
    """A population preset: ``rrmm_heavily_pretreated`` (STORM-like) or ``rrmm_early_relapse``
    (BOSTON-like).

    Parameters
    ----------
    name : str
    n : int
        Number of subjects.
    """
    lib = resolve_library(library)
    return Population(json.loads(lib._native.population_json(name)), n, name=name)


def populations(*, library: LibrarySource | None = None) -> list[str]:
    """Names of the population presets."""
    return resolve_library(library)._native.population_names()


class PopulationResult:
    """The outcome of :func:`simulate_population`.

    Attributes
    ----------
    subjects : pandas.DataFrame
        One row per patient: ``ID``, covariates, sampled parameters (``namespace.param``),
        platelet metrics (``nadir``, ``t_nadir_days``, ``worst_grade``, ``worst_grade_lab``,
        ``t_onset_g1_days`` ... ``t_onset_g4_days``, ``days_g3plus``, ``days_g4``,
        ``t_recovery_days``), dosing (``dose_intensity_mg_week``: selinexor mg taken per week of
        treatment started; ``planned_mg_week``: the planned selinexor mg per week of treatment
        started, before dose modifications; ``relative_dose_intensity``: taken / planned;
        ``n_interruptions``, ``n_reductions``, ``stopped_by_rule``, ``days_on_treatment``) and
        selinexor exposure (``auc_week``, ``cmax``, ``days_x_above``, ``x_max``); efficacy
        (docs/efficacy.md): the patient's tumour parameters (``tumour_growth_rate``,
        ``tumour_resistance_rate``, ``tumour_sensitivity``), ``mprotein_baseline`` and
        ``mprotein_nadir`` (g/dL), ``best_response`` (CR, VGPR, PR, MR, SD, PD or NE, IMWG,
        confirmed), ``responder`` (PR or better), ``vgpr_or_better``, ``progressed``,
        ``t_progression_days``, ``died_without_progression``, ``pfs_days`` and ``pfs_event``
        (False: censored).
    times_days : numpy.ndarray
        Observation grid (days) of ``trajectories``.
    trajectories : numpy.ndarray or None
        Platelets (10^9/L), shape (n_subjects, len(times_days)), when ``observe`` was given.
    lab_days : numpy.ndarray or None
        The regimen's scheduled lab visits (days), when ``observe`` was given.
    lab_counts : numpy.ndarray or None
        The platelet counts read at those visits (10^9/L, with the ``lab_error`` when given:
        what grading and the dose rules read), shape (n_subjects, len(lab_days)); NaN where a
        subject had no visit (treatment over). When ``observe`` was given.
    inputs : dict
        Everything needed to reproduce the run.
    """

    def __init__(self, subjects: pd.DataFrame, times_days: np.ndarray, trajectories: np.ndarray | None,
                 inputs: dict[str, Any], seconds: float) -> None:
        self.subjects = subjects
        self.times_days = times_days
        self.trajectories = trajectories
        self.lab_days: np.ndarray | None = None
        self.lab_counts: np.ndarray | None = None
        self.inputs = inputs
        self.seconds = seconds
        self._runner: Any = None

    def summary(self) -> pd.Series:
        """Incidences with 95% Wilson intervals, nadir percentiles, times, dosing and exposure."""
        return summarize(self.subjects)

    def bands(self, q: Sequence[float] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Platelet percentiles over time (needs ``observe``)."""
        if self.trajectories is None:
            raise error("observe", "no trajectories were stored: pass observe= to simulate_population")
        qs = np.quantile(self.trajectories, q, axis=0)
        df = pd.DataFrame({"DAY": self.times_days})
        for qi, row in zip(q, qs):
            df[f"PLT_p{int(round(qi * 100)):02d}"] = row
        return df

    def __repr__(self) -> str:
        return f"PopulationResult(n={len(self.subjects)}, seconds={self.seconds:.2f})"


def simulate_population(
    regimen: RegimenLike,
    population: Population,
    *,
    days: float = 168.0,
    seed: int = 20261121,
    threads: int | None = None,
    dose_rules: DoseRulesLike = None,
    observe: Observe = None,
    params: Params = None,
    platelet_model: TrialPlateletModel = "tpo",
    rtol: float = 1e-6,
    atol: float = 1e-9,
    linear_pk: LinearPk = "exact",
    progress: bool = False,
    chunk_size: int | None = None,
    library: LibrarySource | None = None,
    max_hours: float | None = 4.0,
    stop_at_progression: bool = False,
    lab_error: Mapping[str, float] | None = None,
    executor: Any = None,
) -> PopulationResult:
    """Simulate a regimen over a virtual population, in parallel.

    Subject ``i`` depends only on ``(seed, i)``: results are bit-identical for any ``threads``
    and ``chunk_size``, and every regimen sees the same patients (common random numbers).

    Parameters
    ----------
    regimen : Regimen or str
    population : Population
    days : float
        Simulated time per patient (treatment stops earlier at the patient's discontinuation).
    seed : int
    threads : int, optional
        Worker threads (rayon); all cores when omitted.
    dose_rules : {"label", "label_qw", "label_biw", "label_dlbcl", "label_biw_tpo_rescue", "romiplostim_titration", "label_biw_tpo_consensus", "romiplostim_consensus", "stop_below_50", "transfuse_below_10", "lenalidomide_label", "pomalidomide_label", "ixazomib_label", "lenalidomide_ixazomib_label"}, dict, list or None, optional
        Dose-modification rules evaluated at the regimen's lab visits; ``"label"`` picks the
        XPOVIO label ladder for the regimen's schedule. None: no modification.
    observe : True or sequence of float, optional
        Days at which to store each subject's platelets (True: daily).
    params : dict, optional
        Typical-value overrides, as in :func:`simulate`.
    platelet_model : {"tpo", "friberg", "friberg_linear", "friberg_emax"}
        As in :func:`simulate`; a trial needs a platelet model (no ``"none"``).
    rtol, atol : float
        Solver tolerances.
    linear_pk : {"exact", "ode"}
        Linear drugs solved exactly between events (default) or integrated, as in
        :func:`simulate`.
    progress : bool
        Show a tqdm progress bar.
    chunk_size : int, optional
        Subjects per native call; adaptive when omitted. Ctrl-C stops a run within a fraction
        of a second whatever the chunk size.
    library : Library, path or dict, optional
        The model library; the current one when omitted.
    max_hours : float or None
        Refuse a run estimated to take longer (the error states the estimate); None: no limit.
        Runs whose kept results would exceed 75% of the machine's memory are refused too.
    stop_at_progression : bool
        Stop each patient's treatment at the assessment that shows progression (IMWG, the
        M-protein model of docs/efficacy.md), on top of the dose rules and of the population's
        discontinuation for other reasons (``discontinuation_other`` of the preset, or
        :meth:`Population.with_other_discontinuation`; the overall discontinuation, whose median
        includes progression, when there is none); the efficacy columns are unchanged, time on
        treatment, doses and toxicity follow.
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

    Returns
    -------
    PopulationResult
    """
    runner = TrialRunner(regimen, population, days=days, seed=seed, threads=threads, dose_rules=dose_rules,
                          observe=observe, params=params, platelet_model=platelet_model, rtol=rtol, atol=atol,
                          library=library, linear_pk=linear_pk, stop_at_progression=stop_at_progression,
                          lab_error=lab_error)
    check_budget(runner.n, runner.inputs["days"], executor_threads(executor, runner.threads),
                 runner.n * (SUBJECT_COLUMNS + len(runner.observe)
                             + (len(runner.regimen.lab_days(runner.inputs["days"])) if runner.observe else 0)), max_hours)
    t0 = time.perf_counter()
    parts: list[dict[str, Any]] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=runner.n, desc=runner.regimen.name, unit="pt", leave=False)
    try:
        for start, end, (cols,) in run_chunks([runner], runner.n, chunk_size, executor):
            parts.append(cols)
            if bar is not None:
                bar.update(end - start)
    finally:
        if bar is not None:
            bar.close()
    labs = pop_array(parts, "PLT_lab")
    subjects, traj = concat(parts)
    result = PopulationResult(subjects, np.asarray(runner.observe, dtype=float), traj, runner.inputs,
                              time.perf_counter() - t0)
    if labs is not None:
        result.lab_days = runner.regimen.lab_days(runner.inputs["days"])
        result.lab_counts = labs
    result._runner = runner  # to re-run subjects (to_nonmem)
    return result
