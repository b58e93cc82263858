"""NONMEM-style datasets in and out: :func:`read_nonmem`, :func:`to_nonmem`, :func:`cmt_map`.

The records are checked and simulated by the core (``_core.Dataset``); this module only turns
frames and files into columns and columns into frames. See docs/nonmem.md for the columns, the
CMT numbering, the steady-state definitions and what is refused.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core
from ._errors import error
from ._library import resolve_library
from ._typing import CovariateFill, LibrarySource, LinearPk, Params, PlateletModel
from ._validate import error_models
from .patient import Patient
from .simulate import params_json

#: The dataset columns of :func:`to_nonmem`, in order (covariates and model outputs follow).
NONMEM_COLUMNS = ("ID", "TIME", "EVID", "CMT", "AMT", "RATE", "II", "ADDL", "SS", "MDV", "DV")

#: Model outputs a simulation adds to a dataset (those of the model in use).
_OUTPUT_PREFIXES = ("C_", "AUC_", "DV_")
_OUTPUTS = ("X", "E", "GRADE", "PLT", "TPO", "PROL")


def cmt_map(drugs: Sequence[str]) -> dict[int, str]:
    """The default CMT numbering of ``drugs`` (in order): ``2k+1`` drug k's depot, ``2k+2`` its
    central compartment; the platelet count (observations only) is ``2n+1``.

    Examples
    --------
    >>> import selinexor_pkpd as sp
    >>> sp.cmt_map(["selinexor", "dexamethasone"])
    {1: 'selinexor.depot', 2: 'selinexor.central', 3: 'dexamethasone.depot', 4: 'dexamethasone.central'}
    """
    pairs, _ = _core.cmt_map([str(d) for d in drugs])
    return {int(n): t for n, t in pairs}


def _is_output(name: str) -> bool:
    return name in _OUTPUTS or name.startswith(_OUTPUT_PREFIXES)


def _column(values: pd.Series) -> Any:
    """A column for the core: float64 for numeric columns, else the text of each cell ("" for a
    missing one)."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return np.ascontiguousarray(values.to_numpy(dtype=float, na_value=np.nan))
    return ["" if (not isinstance(v, str) and pd.isna(v)) else str(v) for v in values.tolist()]


class NonmemData:
    """A NONMEM-style dataset, checked: every subject's records ready to simulate as dosed.

    Build one with :func:`read_nonmem`. ``data`` holds the records as read; :meth:`simulate`
    returns them with the model outputs at every record.
    """

    def __init__(self, data: pd.DataFrame, native: Any, cmt: dict[Any, str]) -> None:
        self.data = data
        self._native = native
        self.cmt_map = cmt

    @property
    def drugs(self) -> list[str]:
        """The drugs of the CMT map, in order (the model's drugs)."""
        return list(self._native.drugs())

    @property
    def ids(self) -> list[float]:
        """The subjects' IDs, in dataset order."""
        return list(self._native.ids())

    def simulate(
        self,
        *,
        params: Params = None,
        platelet_model: PlateletModel = "tpo",
        rtol: float = 1e-6,
        atol: float = 1e-9,
        linear_pk: LinearPk = "exact",
        error: Optional[Mapping[str, Mapping[str, float]]] = None,
        seed: int = 0,
        threads: int = 1,
        library: LibrarySource | None = None,
    ) -> pd.DataFrame:
        """Simulate every subject exactly as dosed, with outputs at each record.

        Parameters
        ----------
        params : dict, optional
            Overrides of typical values, as in :func:`selinexor_pkpd.simulate`; each subject's
            covariates come from the dataset's covariate columns and act on top.
        platelet_model : {"tpo", "friberg", "friberg_linear", "friberg_emax", "none"}
        rtol, atol : float
            Solver tolerances.
        linear_pk : {"exact", "ode"}
        error : dict, optional
            Observation error per output: ``{"PLT": {"prop": 0.15, "add": 5.0},
            "C_selinexor": {"prop": 0.2}}``, ``DV = IPRED (1 + prop eps1) + add eps2`` with
            independent standard normals (additive, proportional or combined). Each adds a
            column ``DV_<output>``: the noisy value at observation records (EVID 0), NaN at the
            others.
        seed : int
            Seed of the observation error; subject ``i`` (dataset order) draws from its own
            stream of ``(seed, i)``.
        threads : int
            1 (default): subjects one after the other, interruptible with Ctrl-C; more: subjects
            in parallel on that many threads (not interruptible). The result is the same.
        library : Library, path or dict, optional

        Returns
        -------
        pandas.DataFrame
            The records as read (every column kept, in order), then the model outputs at each
            record: ``C_<drug>``, ``AUC_<drug>`` and, with a platelet model, ``X``, ``PLT``, ...
            (as :func:`selinexor_pkpd.simulate`). At a dose record they are the values before
            that dose. Output columns already in the data are replaced.
        """
        lib = resolve_library(library)
        cols = self._native.simulate(lib._native, params_json(params), platelet_model,
                                     float(rtol), float(atol), linear_pk, error_models(error), _seed(seed),
                                     _threads(threads))
        rhs = cols.pop("_rhs_evals")
        keep = [c for c in self.data.columns if not _is_output(str(c))]
        df = pd.concat([self.data[keep].reset_index(drop=True), pd.DataFrame(cols)], axis=1)
        df.attrs["cmt_map"] = dict(self.cmt_map)
        df.attrs["rhs_evals"] = rhs
        return df

    def __repr__(self) -> str:
        return f"NonmemData({len(self.ids)} subjects, {len(self.data)} records, drugs={self.drugs})"


def _threads(threads: Any) -> int:
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise error("threads", f"must be an integer >= 1, got {threads!r}")
    return int(threads)


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**64:
        raise error("seed", f"must be an integer in [0, 2^64), got {seed!r}")
    return int(seed)


def _read_file(path: Union[str, Path]) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise error("data", f"no such file: {str(p)!r}")
    try:
        # Text, as written: the core reads the numbers (and "." as missing) and names bad cells.
        return pd.read_csv(p, sep=None, engine="python", dtype=str, keep_default_na=False,
                           skipinitialspace=True)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise error("data", f"cannot read {str(p)!r} as a delimited table: {e}") from None


def read_nonmem(
    data: Union[str, Path, pd.DataFrame],
    cmt_map: Optional[Mapping[Any, str]] = None,
    *,
    drugs: Optional[Sequence[str]] = None,
    covariates: CovariateFill = "locf",
    library: LibrarySource | None = None,
) -> NonmemData:
    """Read a NONMEM-style dataset (a file or a DataFrame) for simulation.

    Parameters
    ----------
    data : path or pandas.DataFrame
        Long format with a header, one row per record (CSV or whitespace-delimited): ``ID``,
        ``TIME`` (h) required; ``EVID`` (0 observation, 1 dose, 2 other, 3 reset, 4 reset and
        dose; without it a row with ``AMT`` is a dose), ``AMT`` (mg), ``CMT``, ``RATE`` (mg/h;
        -1/-2 are refused: no modelled rate or duration), ``II`` (h), ``ADDL``, ``SS`` (1 or
        2), ``MDV``, ``DV``, and the covariates ``WT``, ``HT``, ``AGE``, ``FEMALE`` (1/0),
        ``CRCL``, ``PLT0`` (baseline platelets, constant per subject). Other columns are kept.
        Names are case-insensitive; ``.`` or an empty cell is missing (0 for AMT, RATE, II,
        ADDL, SS; for a covariate, the value of the record before, or after before the first).
    cmt_map : dict, optional
        CMT value (number or name) of each dose -> ``"drug"`` (its depot if it has one, else its
        central compartment), ``"drug.depot"`` or ``"drug.central"``. Defaults to the frame's
        ``attrs["cmt_map"]`` (set by :meth:`NonmemData.simulate` and :func:`to_nonmem`), or the
        default numbering of ``drugs`` (:func:`cmt_map`).
    drugs : sequence of str, optional
        The drugs of the default numbering, when no map is given.
    covariates : {"locf", "nocb"}
        How a covariate that changes within a subject holds between records: ``"locf"`` (last
        observation carried forward: a record's value from its time on) or ``"nocb"`` (next
        observation carried backward: from just after the previous record's time). The new
        value acts on the parameters it scales (e.g. weight on selinexor's CL and Vc) from
        then on; the amounts carry over.
    library : Library, path or dict, optional

    Returns
    -------
    NonmemData

    Raises
    ------
    ModelError
        On a malformed record, naming the row (data rows counted from 1) and the column, e.g.
        ``row 3.AMT``.
    """
    lib = resolve_library(library)
    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, (str, Path)):
        frame = _read_file(data)
    else:
        raise error("data", f"must be a path or a pandas DataFrame, got {type(data).__name__}")
    if cmt_map is None and drugs is None:
        cmt_map = frame.attrs.get("cmt_map")
    pairs = None
    if cmt_map is not None:
        if not isinstance(cmt_map, Mapping):
            raise error("cmt_map", f"must be a dict of CMT value -> drug, got {type(cmt_map).__name__}")
        pairs = [(_key_text(k), str(v)) for k, v in cmt_map.items()]
    names = [str(c) for c in frame.columns]
    columns = [_column(frame.iloc[:, i]) for i in range(frame.shape[1])]
    native = _core.Dataset(lib._native, names, columns, pairs, None if drugs is None else [str(d) for d in drugs],
                           covariates)
    used = dict(cmt_map) if cmt_map is not None else _default_map(list(native.drugs()))
    return NonmemData(frame.reset_index(drop=True), native, used)


_default_map = cmt_map  # (read_nonmem's argument `cmt_map` hides the function)


def _key_text(k: Any) -> str:
    if isinstance(k, (bool, np.bool_)):
        raise error("cmt_map", f"a CMT value must be a number or a name, got {k!r}")
    if isinstance(k, (int, np.integer)):
        return str(int(k))
    if isinstance(k, (float, np.floating)):
        return repr(float(k))
    return str(k)


def _patient_columns(patient: Mapping[str, Any]) -> dict[str, float]:
    """The covariate columns of a patient (``_core.nonmem_covariates``)."""
    out: dict[str, float] = {}
    patient = {**asdict(Patient()), **patient}
    for col, field in _core.nonmem_covariates():
        v = patient.get(field)
        if v is None:
            continue
        out[col] = (1.0 if v == "female" else 0.0) if field == "sex" else float(v)
    return out


def _population_to_nonmem(res: Any, ids: Optional[Sequence[int]], dv: Optional[str]) -> pd.DataFrame:
    """A population result's subjects as one dataset (see :func:`to_nonmem`)."""
    runner = getattr(res, "_runner", None)
    if runner is None:
        raise error("sim", "this population result cannot be re-run (it was not made by simulate_population)")
    if not runner.observe:
        raise error("sim", "the population was simulated without observation times: pass observe= to "
                           "simulate_population")
    subjects = res.subjects
    chosen = list(range(len(subjects))) if ids is None else [int(i) for i in ids]
    for i in chosen:
        if not 0 <= i < len(subjects):
            raise error("ids", f"subject {i} is not in this result (0..{len(subjects) - 1})")
    params = [c for c in subjects.columns if "." in str(c)]
    frames = []
    for i in chosen:
        rec = runner.trial.record(i)
        drugs = list(rec["drugs"])
        out = rec["outputs"]
        name = dv or ("PLT" if "PLT" in out else f"C_{drugs[0]}")
        if name == "PLT":
            obs_cmt = 2 * len(drugs) + 1
        elif name.startswith("C_") and name[2:] in drugs and name in out:
            obs_cmt = 2 * drugs.index(name[2:]) + 2
        else:
            raise error("dv", f"must be 'PLT' or 'C_<drug>' of the simulated drugs, got {name!r}")
        outputs = {k: np.asarray(v) for k, v in out.items() if k != "TIME"}
        n_obs = len(out["TIME"])
        obs = pd.DataFrame({"TIME": np.asarray(out["TIME"], dtype=float), "EVID": 0, "CMT": obs_cmt, "AMT": 0.0,
                            "RATE": 0.0, "II": 0.0, "ADDL": 0, "SS": 0, "MDV": 0, "DV": outputs[name], "DRUG": ""})
        for k, v in outputs.items():
            obs[k] = v
        d = rec["doses"]
        dose = pd.DataFrame({"TIME": np.asarray(d["TIME"], dtype=float), "EVID": 1, "CMT": np.asarray(d["CMT"]),
                             "AMT": np.asarray(d["AMT"]), "RATE": np.asarray(d["RATE"]), "II": 0.0, "ADDL": 0,
                             "SS": 0, "MDV": 1, "DV": 0.0, "DRUG": list(d["DRUG"])})
        df = pd.concat([obs, dose], ignore_index=True)
        df = df.sort_values(["TIME", "EVID"], kind="mergesort").reset_index(drop=True)
        row = subjects.iloc[i]
        df.insert(0, "ID", int(row["ID"]) + 1)
        patient = {k: row[k] for k in ("weight", "height", "age", "sex", "crcl") if k in subjects.columns}
        patient["platelets"] = float(row["P0"]) if "P0" in subjects.columns else None
        for col, v in _patient_columns(patient).items():
            df[col] = v
        for c in params:
            df[c] = float(row[c])
        frames.append(df if n_obs or len(dose) else df.iloc[:0])
    data = pd.concat(frames, ignore_index=True)
    for c in ("EVID", "CMT", "ADDL", "SS", "MDV"):
        data[c] = data[c].astype(np.int64)
    data.attrs["cmt_map"] = cmt_map(list(runner.regimen.drugs))
    return _order(data)


def to_nonmem(sim: Any, *, dv: Optional[str] = None, id: int = 1,
              ids: Optional[Sequence[int]] = None) -> pd.DataFrame:
    """A simulation as a NONMEM-style dataset: one row per dose and per output time.

    Parameters
    ----------
    sim : pandas.DataFrame
        A result of :func:`selinexor_pkpd.simulate` (which records its regimen, patient and
        days in ``attrs``), or of :meth:`NonmemData.simulate`.
    dv : str, optional
        The output written to ``DV`` at the observation rows: ``"PLT"`` (default when the
        model has platelets) or ``"C_<drug>"`` (default otherwise: the first drug).
    id : int
        The ``ID`` of a :func:`selinexor_pkpd.simulate` result.
    ids : sequence of int, optional
        For a :class:`PopulationResult` (of a run with ``observe=``): the subjects to write
        (row indices; all by default). Each subject is re-run (the same result, from
        ``(seed, i)``) to record the doses actually given after the dose rules (the drugs the
        trial does not simulate: as planned until the end of treatment) and the outputs at the
        observation times; ``ID`` is the subject index + 1, with its covariates and individual
        parameter values (``namespace.param``) as columns.

    Returns
    -------
    pandas.DataFrame
        ``ID TIME EVID CMT AMT RATE II ADDL SS MDV DV``, the covariates (``WT HT AGE FEMALE
        CRCL``, ``PLT0`` when given), ``DRUG`` (text, the dosed drug, for reading; drop it for
        NONMEM), then the model outputs. Observation rows (``EVID 0, MDV 0``) carry the outputs
        at the simulation's times; dose rows (``EVID 1, MDV 1, DV 0``) carry the outputs at the
        dose time (before the dose) when that time is an output time, else NaN. Rows are sorted
        by time, observations before doses at one time. CMT follows :func:`cmt_map` of the
        regimen's drugs (``attrs["cmt_map"]``); the platelet count is ``2n+1``, a drug's
        concentration its central compartment. Doses are written one per row (``ADDL`` 0).
    """
    from .population import PopulationResult

    if isinstance(sim, PopulationResult):
        return _population_to_nonmem(sim, ids, dv)
    if not isinstance(sim, pd.DataFrame):
        raise error("sim", f"must be a DataFrame from sp.simulate or a PopulationResult, got {type(sim).__name__}")
    source = sim.attrs.get("nonmem_source")
    if source is None:
        if "EVID" in sim.columns and "cmt_map" in sim.attrs:
            return _order(sim.copy())
        raise error("sim", "has no record of its regimen: pass a result of sp.simulate or NonmemData.simulate")
    if source.get("covariates"):
        raise error("sim", "to_nonmem of a simulation with time-varying covariates is not supported: build the "
                           "dataset with WT/HT/AGE/CRCL columns and sp.read_nonmem instead (docs/nonmem.md)")
    lib = source["library"]
    drugs = list(source["drugs"])
    doses = pd.DataFrame(_core.nonmem_doses(lib._native, source["regimen"], source["patient"], source["days"]))
    outputs = [c for c in sim.columns if _is_output(str(c))]
    if dv is None:
        dv = "PLT" if "PLT" in sim.columns else f"C_{drugs[0]}"
    if dv == "PLT":
        obs_cmt = 2 * len(drugs) + 1
    elif dv.startswith("C_") and dv[2:] in drugs:
        obs_cmt = 2 * drugs.index(dv[2:]) + 2
    else:
        raise error("dv", f"must be 'PLT' or 'C_<drug>' of {drugs}, got {dv!r}")
    if dv not in sim.columns:
        raise error("dv", f"{dv!r} is not an output of this simulation")
    n_obs = len(sim)
    obs = pd.DataFrame({
        "TIME": sim["TIME"].to_numpy(dtype=float), "EVID": 0, "CMT": float(obs_cmt), "AMT": 0.0, "RATE": 0.0,
        "II": 0.0, "ADDL": 0.0, "SS": 0.0, "MDV": 0, "DV": sim[dv].to_numpy(dtype=float), "DRUG": "",
    })
    for c in outputs:
        obs[c] = sim[c].to_numpy()
    first_at = pd.Series(np.arange(n_obs), index=sim["TIME"].to_numpy(dtype=float))
    first_at = first_at[~first_at.index.duplicated()]
    dose = pd.DataFrame({
        "TIME": doses["TIME"], "EVID": 1, "CMT": doses["CMT"], "AMT": doses["AMT"], "RATE": doses["RATE"],
        "II": doses["II"], "ADDL": 0.0, "SS": doses["SS"], "MDV": 1, "DV": 0.0, "DRUG": doses["DRUG"],
    })
    at = first_at.reindex(dose["TIME"].to_numpy()).to_numpy()
    for c in outputs:
        vals = sim[c].to_numpy(dtype=float)
        dose[c] = np.where(np.isnan(at), np.nan, vals[np.nan_to_num(at).astype(int)]) if len(vals) else np.nan
    df = pd.concat([obs, dose], ignore_index=True)
    df = df.sort_values(["TIME", "EVID"], kind="mergesort").reset_index(drop=True)
    for c in ("EVID", "CMT", "ADDL", "SS", "MDV"):
        df[c] = df[c].astype(np.int64)
    df.insert(0, "ID", id)
    for col, v in _patient_columns(json.loads(source["patient"])).items():
        df[col] = v
    df.attrs["cmt_map"] = cmt_map(drugs)
    return _order(df)


def _order(df: pd.DataFrame) -> pd.DataFrame:
    """The standard columns first, then covariates and other columns, then the outputs."""
    std = [c for c in NONMEM_COLUMNS if c in df.columns]
    outs = [c for c in df.columns if _is_output(str(c))]
    rest = [c for c in df.columns if c not in std and c not in outs]
    out = df[std + rest + outs]
    out.attrs = dict(df.attrs)
    return out
