"""Type stubs of the native module ``selinexor_pkpd._core`` (Rust, PyO3; ``src/bindings.rs``).

Structured inputs arrive as JSON text (regimens, patients, parameter overrides, populations);
outputs are dicts of numpy arrays, one entry per column. Every function raises
:class:`ModelError` on invalid input or a numerical failure; the simulations (:func:`simulate`,
:func:`exposure`, :meth:`Trial.run`) release the GIL. Times are in hours unless a name says days.
"""

from typing import Any, Optional

import numpy as np
import numpy.typing as npt

from ._typing import CovariateFill, DoseRulesName, LinearPk, PlateletModel, TrialPlateletModel

class ModelError(ValueError):
    """Invalid model input (a ``ValueError``).

    Attributes
    ----------
    field : str
        The offending field, as a path (e.g. ``"regimen.blocks[0].doses[1].amount"``).
    """

    field: str

class Library:
    """The model library: drugs, platelet parameters, regimen, population and dose-rule presets.

    Immutable; :meth:`with_overrides` returns a new one. Has no constructor: start from
    :meth:`default`.
    """

    @staticmethod
    def default() -> Library:
        """The library embedded in the module (``data/*.toml``).

        Raises
        ------
        ModelError
            If the embedded files do not validate.
        """
    def with_overrides(self, text: str) -> Library:
        """A new library with ``text`` deep-merged over this one.

        Parameters
        ----------
        text : str
            TOML or JSON of a partial library (the layout of the embedded files): tables
            merge key by key, other values are replaced.

        Raises
        ------
        ModelError
            If ``text`` does not parse, is not a table, or the merged library does not validate.
        """
    def to_json(self) -> str:
        """The whole library as pretty-printed JSON (a valid override file)."""
    def drug_names(self) -> list[str]:
        """Names of the drugs, sorted."""
    def preset_names(self) -> list[str]:
        """Names of the regimen presets, sorted."""
    def regimen_json(self, name: str) -> str:
        """The regimen preset ``name`` as JSON.

        Raises
        ------
        ModelError
            If there is no such preset.
        """
    def population_names(self) -> list[str]:
        """Names of the population presets, sorted."""
    def population_json(self, name: str) -> str:
        """The population preset ``name`` as JSON.

        Raises
        ------
        ModelError
            If there is no such preset.
        """
    def dose_rules_names(self) -> list[str]:
        """Names of the dose-rule presets, sorted (without ``"label"``, which picks one of them)."""
    def dose_rules_json(self, name: DoseRulesName, regimen: str) -> str:
        """The dose-rule preset ``name``, as JSON, for a regimen given as JSON.

        ``"label"`` resolves to ``"label_biw"`` when the regimen's first selinexor dose line
        gives more than 1.5 doses a week, else to ``"label_qw"``.

        Raises
        ------
        ModelError
            If ``regimen`` does not parse or there are no such rules.
        """
    def drug_json(self, name: str) -> str:
        """The definition of drug ``name`` as JSON: parameters with units and sources, IIV,
        covariate effects, effect.

        Raises
        ------
        ModelError
            If there is no such drug.
        """

class Trial:
    """A prepared virtual trial: one regimen over one population, with optional dose rules.

    Everything is parsed and validated once; :meth:`run` simulates any range of subjects.
    Subject ``i`` depends only on ``seed`` and ``i``.

    Parameters
    ----------
    lib : Library
    regimen : str
        The regimen as JSON.
    population : str
        The population definition as JSON (the layout of ``data/populations.toml``).
    rules : str or None
        Dose rules: a preset name (``"label"``, ``"label_qw"``, ``"label_biw"``) or their
        JSON (text starting with ``{``); or several rule sets in one run, a JSON list of preset
        names and rule sets (text starting with ``[``; the first is the primary set, errors
        name ``dose_rules[k]``; docs/supportive_care.md); None for none.
    params : str
        Typical-value overrides as JSON, ``{"namespace": {"param": value}}``.
    days : float
        Simulated time per subject, days.
    seed : int
        Seed of the population sample, >= 0.
    observe_days : list of float
        Days at which to store each subject's platelets; empty for none.
    rows : str, optional
        Explicit patients instead of sampled covariates: a JSON list of
        ``{"patient": {...}, "params": {...}, "disc_days": float or null}``.
    platelet_model : {"tpo", "friberg", "friberg_linear", "friberg_emax"}
        A trial needs a platelet model.
    rtol, atol : float
        Solver tolerances.
    x_level : float
        XPO1 engagement level (0-1) counted by ``days_x_above``.
    follow_up_days : float
        Days after discontinuation that still count for toxicity, >= 0.
    linear_pk : {"exact", "ode"}
        Linear drugs solved exactly between events, or integrated.
    efficacy : bool
        Compute the efficacy columns (M-protein, IMWG response, PFS; docs/efficacy.md). False
        leaves them NaN / False / ``"NE"`` and every other column unchanged.
    stop_at_progression : bool
        Stop treatment at the assessment that shows progression (needs ``efficacy``).
    lab_error : tuple of float, optional
        ``(add, prop)``: observation error of the lab platelet counts that lab grades and dose
        rules read, drawn per (seed, subject) on a stream of its own; None: exact counts.

    Raises
    ------
    ModelError
        If any input does not parse or validate, or ``platelet_model`` is ``"none"``.
    """

    def __init__(
        self,
        lib: Library,
        regimen: str,
        population: str,
        rules: Optional[str],
        params: str,
        days: float,
        seed: int,
        observe_days: list[float],
        rows: Optional[str] = None,
        platelet_model: TrialPlateletModel = "tpo",
        rtol: float = 1e-6,
        atol: float = 1e-9,
        x_level: float = 0.5,
        follow_up_days: float = 30.0,
        linear_pk: LinearPk = "exact",
        efficacy: bool = True,
        stop_at_progression: bool = False,
        lab_error: Optional[tuple[float, float]] = None,
    ) -> None: ...
    def param_names(self) -> list[str]:
        """Names of the parameters with IIV (``namespace.param``), the order of their columns."""
    def table_len(self) -> Optional[int]:
        """Number of explicit patients (``rows``), or None for a sampled population."""
    def run(self, start: int, end: int, threads: Optional[int] = None) -> dict[str, Any]:
        """Simulate subjects ``start`` to ``end - 1``.

        Parameters
        ----------
        start, end : int
            Subject range, ``end >= start``.
        threads : int, optional
            Worker threads (rayon); its global pool when omitted.

        Returns
        -------
        dict of str to numpy.ndarray
            One entry per column, one row per subject: ``ID`` (int64); ``weight`` (kg),
            ``height`` (cm), ``bsa`` (m2), ``age`` (years), ``sex`` (list of str), ``crcl``
            (mL/min), ``P0`` (baseline platelets, 10^9/L); one float64 column per name of
            :meth:`param_names`; ``nadir`` (10^9/L), ``t_nadir_days``, ``worst_grade`` and
            ``worst_grade_lab`` (CTCAE, int64, continuous and at lab visits),
            ``t_onset_g1_days`` ... ``t_onset_g4_days``, ``days_g3plus``, ``days_g4``,
            ``t_recovery_days`` (NaN when it does not happen), ``days_on_treatment``;
            selinexor ``dose_intensity_mg_week`` (mg taken per week of treatment started),
            ``planned_mg_week`` (the planned mg per week of treatment started, before dose
            modifications), ``relative_dose_intensity`` (taken / planned); ``n_interruptions``, ``n_reductions`` (int64),
            ``stopped_by_rule`` (bool), ``final_level`` (int64, dose level at the end);
            ``auc_week`` (mg.h/L per week), ``cmax`` (mg/L), ``days_x_above``, ``x_max``
            (XPO1 engagement); ``n_labs``, ``rhs_evals`` (int64); ``n_transfusions`` (int64,
            the regimen's and the rules'), ``units_transfused``, ``t_rescue_start_days`` (when
            a ``start`` rule first started a withheld drug, NaN if none). With ``observe_days``,
            also ``PLT_traj``: platelets (10^9/L), float64, shape (end - start,
            len(observe_days)), and ``PLT_lab``: the counts read at the regimen's scheduled lab
            visits (``Regimen.lab_days``; with the lab error when given), float64, shape
            (end - start, number of visits), NaN where a subject had no visit.

        Raises
        ------
        ModelError
            If ``end < start``, a table row is missing, or a subject's simulation fails
            (the field names the subject).
        """
    def record(self, id: int) -> dict[str, Any]:
        """Subject ``id`` as given and observed (the same subject as in :meth:`run`).

        Returns
        -------
        dict
            ``doses``: ``TIME`` (h), ``CMT`` (int64, default numbering of ``drugs``),
            ``AMT`` (mg before bioavailability; units for a transfusion), ``RATE`` (mg/h),
            ``DRUG`` (list of str): the doses applied after the dose rules, and the drugs the
            trial does not simulate as planned until the end of treatment. ``outputs``:
            ``TIME`` (h, the observation times) and the columns of :func:`simulate` there.
            ``drugs``: the regimen's drugs, in CMT order.

        Raises
        ------
        ModelError
            If the subject fails, or a dose at steady state cannot be written as rows.
        """

class Escalation:
    """Dose levels prepared for escalation trials: one virtual trial per level over the DLT
    window; patient ``k`` of trial ``r`` is the same virtual patient at every level."""

    def __init__(
        self,
        lib: Library,
        levels: list[str],
        population: str,
        rules: Optional[str],
        params: str,
        seed: int,
        dlt: Optional[str] = None,
        window_days: float = 28.0,
        platelet_model: TrialPlateletModel = "tpo",
        rtol: float = 1e-6,
        atol: float = 1e-9,
        linear_pk: LinearPk = "exact",
    ) -> None: ...
    def n_levels(self) -> int:
        """Number of dose levels."""
    def run(self, designs: str, trials: int, threads: Optional[int] = None,
            known: Optional[npt.NDArray[np.int8]] = None) -> dict[str, Any]:
        """Replicated trials of the designs (JSON list; GIL released).

        Without a native DLT rule, ``known`` (levels, trials, slots) int8 gives the outcomes
        (-1 unknown); the missing (level, trial, slot) come back in ``missing``. Returns
        ``designs`` (names), ``n``, ``dlt`` (design, trial, level), ``mtd`` (design, trial;
        -1 none, -2 missing outcomes), ``cohorts``, ``missing`` (m, 3), ``simulated``.
        """
    def reference_dlt(self, level: int, n: int, threads: Optional[int] = None) -> npt.NDArray[np.bool_]:
        """DLT outcomes (native rule) of the reference population's first ``n`` subjects."""
    def reference_subjects(self, level: int, n: int, threads: Optional[int] = None) -> dict[str, Any]:
        """The subject table of the reference population's first ``n`` subjects at ``level``."""
    def subjects(self, level: int, trials: list[int], slots: list[int],
                 threads: Optional[int] = None) -> dict[str, Any]:
        """The subject table of the patients in (trial, slot) pairs at ``level``."""

def escalate_probs(designs: str, dlt_probs: list[float], trials: int, seed: int,
                   threads: Optional[int] = None) -> dict[str, Any]:
    """Replicated trials with a true DLT probability per level (no PK/PD model); the same
    output as :meth:`Escalation.run`."""

def dlt_rule(text: str) -> str:
    """A DLT rule (preset name or JSON) validated, as JSON.

    Raises
    ------
    ModelError
        For an unknown preset or an invalid rule (``.field`` starts with ``dlt``).
    """

def dlt_presets() -> list[str]:
    """Names of the DLT rule presets."""

def default_files() -> list[tuple[str, str]]:
    """The embedded default library files, as (file name, TOML text) pairs."""

def check_regimen(lib: Library, regimen: str) -> str:
    """Validate a regimen against a library.

    Parameters
    ----------
    lib : Library
    regimen : str
        The regimen as JSON.

    Returns
    -------
    str
        The regimen as normalised JSON.

    Raises
    ------
    ModelError
        If it does not parse or validate, or names a drug the library lacks.
    """

def expand_regimen(lib: Library, regimen: str, patient: str, days: float) -> dict[str, Any]:
    """The dose-event table of a regimen for one patient.

    Parameters
    ----------
    lib : Library
    regimen : str
        The regimen as JSON.
    patient : str
        The patient's covariates as JSON (``{}`` for the typical patient).
    days : float
        Horizon, days.

    Returns
    -------
    dict
        ``TIME`` (h), ``AMT`` (mg, after per-size units and patient rules), ``RATE``
        (mg/h, 0 unless an infusion), ``DUR`` (h) as float64 arrays; ``CYCLE`` and
        ``CYCLE_DAY`` (1-based) as int64 arrays; ``DRUG``, ``ROUTE`` and ``CMT``
        (``"depot"`` or ``"central"``) as lists of str. Sorted by time.

    Raises
    ------
    ModelError
        If the regimen or patient does not parse or validate, or a per-size dose lacks
        the patient's size.
    """

def simulate(
    lib: Library,
    regimen: str,
    patient: str,
    params: str,
    days: float,
    times: npt.NDArray[np.float64],
    platelet_model: PlateletModel = "tpo",
    rtol: float = 1e-6,
    atol: float = 1e-9,
    linear_pk: LinearPk = "exact",
    covariates: Optional[str] = None,
    covariate_fill: CovariateFill = "locf",
    errors: Optional[list[tuple[str, float, float]]] = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Simulate one patient.

    Parameters
    ----------
    lib : Library
    regimen, patient, params : str
        JSON of the regimen, the patient's covariates and the typical-value overrides.
    days : float
        Dosing horizon, days.
    times : numpy.ndarray of float64
        Output times, h, ascending.
    platelet_model : {"tpo", "friberg", "friberg_linear", "friberg_emax", "none"}
    rtol, atol : float
        Solver tolerances.
    linear_pk : {"exact", "ode"}
    covariates : str, optional
        JSON ``{"weight": [[day, value], ...], ...}``: covariates changing over time
        (weight, height, age, crcl), each dose and each interval with the values in effect.
    covariate_fill : {"locf", "nocb"}
        How a step's value holds between steps.
    errors : list of (output, add, prop), optional
        Observation error models: a ``DV_<output>`` column each.
    seed : int
        Seed of the observation error (subject 0's stream).

    Returns
    -------
    dict
        float64 arrays over ``times``: ``TIME`` (h), ``C_<drug>`` (mg/L), ``AUC_<drug>``
        (mg.h/L) per drug; with a platelet model also ``X`` (XPO1 engagement), ``E`` (its
        effect compartment, when ``ke0 > 0``), ``PLT`` (10^9/L: the patient's own plus
        transfused platelets), ``GRADE`` (CTCAE, int64), ``TPO`` (TPO model only) and
        ``PROL``; ``PLT_TX`` (transfused platelets, 10^9/L) when the regimen transfuses. ``_rhs_evals`` and ``_steps`` (int) count the
        solver's work.

    Raises
    ------
    ModelError
        On invalid input or a solver failure.
    """

def closed_form(
    lib: Library, regimen: str, patient: str, params: str, days: float, times: npt.NDArray[np.float64]
) -> dict[str, npt.NDArray[np.float64]]:
    """Closed-form (superposition) concentrations of every drug of a regimen.

    Parameters
    ----------
    lib : Library
    regimen, patient, params : str
        JSON, as in :func:`simulate`.
    days : float
        Dosing horizon, days.
    times : numpy.ndarray of float64
        Output times, h, ascending.

    Returns
    -------
    dict
        ``TIME`` (h) and ``C_<drug>`` (mg/L) per drug.

    Raises
    ------
    ModelError
        On invalid input, or a drug with Michaelis-Menten elimination.
    """

def exposure(
    lib: Library,
    regimen: str,
    patient: str,
    params: str,
    days: float,
    drug: str,
    starts: list[float],
    ends: list[float],
    dt_h: float = 0.05,
    rtol: float = 1e-8,
    atol: float = 1e-12,
) -> dict[str, npt.NDArray[np.float64]]:
    """Exposure metrics of one drug over time windows.

    Every compartment is integrated (the ``"ode"`` path); no platelet model.

    Parameters
    ----------
    lib : Library
    regimen, patient, params : str
        JSON, as in :func:`simulate`.
    days : float
        Dosing horizon, days; windows may run past it (washout).
    drug : str
        The drug summarised.
    starts, ends : list of float
        Window bounds, h, ``0 <= start < end``, of equal length.
    dt_h : float
        Grid spacing, h, > 0.
    rtol, atol : float
        Solver tolerances.

    Returns
    -------
    dict
        One row per window: ``start_h``, ``end_h``, ``Cmax`` (mg/L), ``Tmax`` (h, absolute),
        ``Cmin`` (mg/L), ``AUC_trapz`` (trapezoid on the grid, mg.h/L), ``AUC_ode`` (the
        integrated AUC state) and ``AUC_exact`` (closed form; NaN for nonlinear drugs).

    Raises
    ------
    ModelError
        On invalid input, mismatched or invalid windows, or a solver failure.
    """

def lab_days(regimen: str, days: float) -> npt.NDArray[np.float64]:
    """Lab-visit days of a regimen (JSON) within ``days``: days after the first dose, sorted.

    Raises
    ------
    ModelError
        On an invalid regimen or ``days <= 0``.
    """

def weekly_dose(regimen: str, drug: str) -> Optional[float]:
    """Planned weekly dose of ``drug``: amount x doses per week of its first dose line, in the
    line's unit; None when the regimen (JSON) does not dose it."""

def benefit_risk(orr_diff: tuple[float, float], g3_diff: tuple[float, float], pfs_arm: tuple[float, float],
                 pfs_ref: tuple[float, float]) -> tuple[int, int, int, str]:
    """Directions (-1 lower, 0 not distinguishable, 1 higher; arm minus reference) of ORR (paired
    95% interval excludes 0), median PFS (the arms' 95% intervals do not overlap; NaN upper end:
    not reached) and grade 3+ thrombocytopenia, and the verdict: ``favours``, ``disfavours``,
    ``trade_off_more_benefit``, ``trade_off_less_toxicity``, ``mixed`` or ``not_distinguishable``."""

def ctcae_grade(platelets: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """CTCAE v4.03 grade (0-4) of each platelet count (10^9/L, 1-D, contiguous; NaN grades 0)."""

def grade_thresholds() -> list[float]:
    """Upper bounds of grades 1-4, 10^9/L: ``[150, 75, 50, 25]``."""

def max_threads() -> int:
    """The most worker threads a run may use: this machine's available parallelism."""

def simon_oc(r1: int, n1: int, r: int, n: int, p: float) -> tuple[float, float, float]:
    """Exact ``(pet, p_active, en)`` of Simon's two-stage design ``r1/n1, r/n`` at response rate
    ``p``: probability of early termination, of declaring the regimen active, expected size.

    Raises
    ------
    ModelError
        On an impossible design or ``p`` outside [0, 1].
    """

def simon_simulate(r1: int, n1: int, r: int, n: int, p: float, trials: int, seed: int) -> tuple[float, float, float]:
    """Monte-Carlo ``(pet, p_active, en)`` of the design over ``trials`` trials at rate ``p``."""

def simon_trials(r1: int, n1: int, r: int, n: int, responses: list[bool]) -> tuple[float, float, float]:
    """``(pet, p_active, en)`` of the design's trials run on given responses: trial ``i`` enrols
    patients ``i n .. (i + 1) n`` in order (stage 1: its first ``n1``).

    Raises
    ------
    ModelError
        On an impossible design, or a number of responses that is not a positive multiple of ``n``.
    """

def simon_search(
    p0: float, p1: float, alpha: float, beta: float, n_max: int
) -> tuple[Optional[tuple[int, int, int, int]], Optional[tuple[int, int, int, int]]]:
    """The optimal and minimax designs ``(r1, n1, r, n)`` (None when none up to ``n_max``).

    Raises
    ------
    ModelError
        On ``p1 <= p0``, rates outside [0, 1], ``alpha``/``beta`` outside (0, 0.5), or ``n_max``
        outside 2..150.
    """

def cmt_map(drugs: list[str]) -> tuple[list[tuple[int, str]], int]:
    """The default CMT numbering of ``drugs`` (in order): ``(number, "drug.depot" |
    "drug.central")`` pairs (``2k+1`` depot, ``2k+2`` central of drug ``k``) and the platelet
    count's number (``2n+1``, observations only)."""

def nonmem_covariates() -> list[tuple[str, str]]:
    """The covariate columns of datasets and the patient field each sets, e.g.
    ``("WT", "weight")``."""

def nonmem_doses(lib: Library, regimen: str, patient: str, days: float) -> dict[str, Any]:
    """A regimen's doses over ``days`` as dataset rows, numbered by :func:`cmt_map` of the
    regimen's drugs.

    Returns
    -------
    dict
        float64 arrays ``TIME`` (h), ``CMT``, ``AMT`` (mg), ``RATE`` (mg/h, 0 unless an
        infusion), ``II`` (h), ``SS`` (0, 1, 2); ``DRUG`` as a list of str. Sorted by time.

    Raises
    ------
    ModelError
        If the regimen or patient does not parse or validate.
    """

class Dataset:
    """A NONMEM-style dataset, checked record by record into subjects.

    Parameters
    ----------
    lib : Library
    names : list of str
        The column names, as written (matched case-insensitively).
    columns : list
        One per name: a float64 array (NaN missing) or a list of str (``""`` and ``"."``
        missing; other text must read as a number).
    cmt_map : list of (str, str), optional
        (CMT value as text, ``"drug"`` | ``"drug.depot"`` | ``"drug.central"``) pairs.
    drugs : list of str, optional
        The drugs of the default numbering (:func:`cmt_map`) when no map is given.
    covariates : {"locf", "nocb"}
        How covariates that change within a subject hold between records.

    Raises
    ------
    ModelError
        On a malformed record: ``.field`` is ``"row <r>.<COLUMN>"`` (data rows from 1).
    """

    def __init__(
        self,
        lib: Library,
        names: list[str],
        columns: list[Any],
        cmt_map: Optional[list[tuple[str, str]]] = None,
        drugs: Optional[list[str]] = None,
        covariates: CovariateFill = "locf",
    ) -> None: ...
    def drugs(self) -> list[str]:
        """The drugs of the CMT map, in order (the model's drugs)."""
    def ids(self) -> list[float]:
        """The subjects' IDs, in dataset order."""
    def simulate(
        self,
        lib: Library,
        params: str,
        platelet_model: PlateletModel = "tpo",
        rtol: float = 1e-6,
        atol: float = 1e-9,
        linear_pk: LinearPk = "exact",
        errors: Optional[list[tuple[str, float, float]]] = None,
        seed: int = 0,
        threads: int = 1,
    ) -> dict[str, Any]:
        """Simulate every subject as dosed; one value per record (dataset order) of each
        output (the columns of :func:`simulate` without ``TIME``); ``_rhs_evals`` (int).

        ``errors``: (output, additive SD, proportional SD) per output with observation error,
        each adding ``DV_<output>`` (the noisy output at EVID 0 records, NaN elsewhere; subject
        ``i`` draws from the stream of ``(seed, i)``). ``threads`` > 1 simulates the subjects
        in parallel (the same result; Ctrl-C is checked only with 1).

        Raises
        ------
        ModelError
            On invalid parameters or a solver failure (naming the subject).
        """

def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson exact two-sided interval ``(lo, hi)`` of ``k`` events in ``n`` at
    confidence ``level`` (the beta quantiles ``Beta(a/2; k, n-k+1)``, ``Beta(1-a/2; k+1, n-k)``).

    Raises
    ------
    ModelError
        On ``n`` outside 1..100000, ``k`` outside 0..n (field ``events``), ``level`` outside [0.5, 0.999999].
    """

def binomial_quantile(n: int, p: float, q: float) -> int:
    """The ``q``-quantile of ``Binomial(n, p)``: the smallest ``k`` with ``P(X <= k) >= q``.

    Raises
    ------
    ModelError
        On ``n`` outside 1..100000, or ``p`` or ``q`` outside [0, 1].
    """

def validation_endpoints() -> list[str]:
    """The endpoint names of a validation table: ``g3plus``, ``g4``, ``any_grade`` (worst CTCAE
    grade at the lab visits), ``orr`` (PR or better), ``vgpr_plus``."""

def check_arm(
    endpoint: str,
    n: int,
    events: int,
    worst_grade_lab: npt.NDArray[np.int64],
    responder: npt.NDArray[np.bool_],
    vgpr_or_better: npt.NDArray[np.bool_],
    level: float = 0.95,
) -> dict[str, Any]:
    """A published arm (``events`` of ``n`` patients with ``endpoint``) against simulated subjects
    (one value per subject in each array): ``observed``, ``observed_lo``, ``observed_hi``
    (Clopper-Pearson), ``simulated``, ``sim_events``, ``sim_n``, ``predicted_lo``,
    ``predicted_hi`` (the ``(1 -+ level)/2`` quantiles of ``Binomial(n, simulated) / n``),
    ``covers`` (observed inside the prediction interval), ``ci_contains_simulated``.

    Raises
    ------
    ModelError
        On an unknown endpoint, counts out of range, arrays of different lengths or no subjects
        (field ``n_sim``).
    """
