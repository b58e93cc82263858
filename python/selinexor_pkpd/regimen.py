"""Regimens: cycles, dose days, weekly patterns and per-size doses, as plain data."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import _core
from ._errors import error
from ._library import Library, resolve_library
from ._typing import DaySpec, DoseUnit, FilePath, LibrarySource, PatientLike, RegimenLike, Route
from ._validate import as_list, check_days, check_regimen_spec, load_json, read_text_file, whole
from .patient import patient_json


def dose(
    drug: str,
    amount: float,
    *,
    unit: DoseUnit = "mg",
    days: Sequence[DaySpec] = (),
    weekdays: Sequence[int] = (),
    route: Route | None = None,
    duration_h: float | None = None,
    rate_mg_h: float | None = None,
    cycles: str | int | None = None,
    hour: float = 0.0,
    adjust: Sequence[Mapping[str, float]] = (),
    ss: int | None = None,
    ii: float | None = None,
) -> dict[str, Any]:
    """One dosing line of a cycle.

    Parameters
    ----------
    drug : str
        A drug of the library.
    amount : float
        Dose per administration, in ``unit``.
    unit : {"mg", "mg/m2", "mg/kg"}
        ``mg/m2`` uses the patient's BSA (Mosteller), ``mg/kg`` the weight.
    days : sequence of int or str
        Days of the cycle (1-based); ranges as ``"1-21"``.
    weekdays : sequence of int
        Days of each week of the cycle: ``[1]`` once weekly, ``[1, 3]`` twice weekly.
    route : {"oral", "sc", "iv"}, optional
        Defaults to the drug's route.
    duration_h, rate_mg_h : float, optional
        IV infusion duration (h) or rate (mg/h); an IV dose without either is a bolus.
    cycles : str or int, optional
        Cycles this line applies to: ``"1-2"``, ``"3-6"``, ``"7-"``; all when omitted.
    hour : float
        Clock time of the dose within the day, h.
    adjust : sequence of dict
        Patient rules, e.g. ``[{"min_age": 75, "amount": 20}]``.
    ss : {1, 2}, optional
        NONMEM's steady state, for the line's first administration: the drug is at the steady
        state of this dose given every ``ii`` hours (with its lag and bioavailability, bolus,
        oral or infusion). ``1`` resets the drug's compartments to that steady state, ``2``
        adds it to the current state (superposition). Exact, in closed form, for drugs with
        linear elimination; the platelet states are not put at steady state (they continue
        from their current state, see docs/nonmem.md).
    ii : float, optional
        The dosing interval (h) of the steady state; required with ``ss``.
    """
    d: dict[str, Any] = {"drug": drug, "amount": amount, "unit": unit, "hour": hour}
    if days:
        d["days"] = as_list(days, "days")
    if weekdays:
        d["weekdays"] = as_list(weekdays, "weekdays")
    if route is not None:
        d["route"] = route
    if duration_h is not None:
        d["duration_h"] = duration_h
    if rate_mg_h is not None:
        d["rate_mg_h"] = rate_mg_h
    if cycles is not None:
        d["cycles"] = str(cycles)
    if adjust:
        d["adjust"] = [dict(a) for a in adjust]
    if ss is not None:
        d["ss"] = ss
    if ii is not None:
        d["ii"] = ii
    return d


class Regimen:
    """A treatment regimen: blocks of cycles with their doses, and a lab-visit schedule.

    Build one with the constructors (:meth:`single_dose`, :meth:`cycle`, :meth:`weekly`), a preset
    (:func:`selinexor_pkpd.regimen`), a file (:meth:`from_file`) or a dict in the file layout.

    Parameters
    ----------
    spec : dict
        ``{"description": str, "blocks": [{"cycle_days": int, "cycles": int | None,
        "doses": [dose(...), ...]}, ...], "labs": {"cycle1": [...], "later": [...]}}``.
    name : str, optional
        A label (the preset name for presets).

    Examples
    --------
    >>> import selinexor_pkpd as sp
    >>> r = sp.Regimen.weekly("selinexor", 80, weekdays=[1, 3]).add(sp.dose("dexamethasone", 20, weekdays=[1, 3]))
    >>> r.events(days=7)[["TIME", "DRUG", "AMT"]].values.tolist()
    [[0.0, 'selinexor', 80.0], [0.0, 'dexamethasone', 20.0], [48.0, 'selinexor', 80.0], [48.0, 'dexamethasone', 20.0]]
    """

    def __init__(self, spec: Mapping[str, Any], name: str | None = None) -> None:
        if not isinstance(spec, Mapping):
            raise TypeError(f"regimen: expected a mapping (dict), got {type(spec).__name__}")
        self._spec = copy.deepcopy(dict(spec))
        self.name = name or self._spec.get("description", "") or "regimen"

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def single_dose(cls, drug: str, amount_mg: float, *, route: Route | None = None,
                    duration_h: float | None = None, unit: DoseUnit = "mg", hour: float = 0.0) -> "Regimen":
        """One dose at time ``hour`` (h) on day 1.

        Parameters
        ----------
        drug : str
        amount_mg : float
            The dose, in ``unit``.
        route : {"oral", "sc", "iv"}, optional
            Defaults to the drug's route.
        duration_h : float, optional
            IV infusion duration, h; a bolus when omitted.
        unit : {"mg", "mg/m2", "mg/kg"}
        hour : float
        """
        d = dose(drug, amount_mg, unit=unit, days=[1], route=route, duration_h=duration_h, hour=hour)
        return cls({"description": f"{drug} {amount_mg} {unit} single dose",
                    "blocks": [{"cycle_days": 1, "cycles": 1, "doses": [d]}]},
                   name=f"{drug}_{amount_mg:g}_single")

    @classmethod
    def cycle(cls, cycle_days: int, doses: Iterable[Mapping[str, Any]], *, cycles: int | None = None,
              description: str = "") -> "Regimen":
        """Repeating cycles of ``cycle_days`` (open-ended unless ``cycles`` is given)."""
        block: dict[str, Any] = {"cycle_days": cycle_days, "doses": [dict(d) for d in doses]}
        if cycles is not None:
            block["cycles"] = cycles
        return cls({"description": description, "blocks": [block]})

    @classmethod
    def weekly(cls, drug: str, amount: float, *, weekdays: Sequence[int] = (1,), unit: DoseUnit = "mg",
               cycle_days: int = 28, cycles: int | None = None) -> "Regimen":
        """``drug`` on the given days of every week (``[1]`` QW, ``[1, 3]`` BIW).

        Parameters
        ----------
        drug : str
        amount : float
            Dose per administration, in ``unit``.
        weekdays : sequence of int
        unit : {"mg", "mg/m2", "mg/kg"}
        cycle_days : int
        cycles : int, optional
            Number of cycles; open-ended when omitted.
        """
        return cls.cycle(cycle_days, [dose(drug, amount, unit=unit, weekdays=weekdays)], cycles=cycles,
                         description=f"{drug} {amount:g} {unit} weekdays {list(weekdays)}")

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], name: str | None = None) -> "Regimen":
        return cls(spec, name)

    @classmethod
    def from_json(cls, text: str, name: str | None = None) -> "Regimen":
        """A regimen from JSON text (the layout of ``to_json``)."""
        return cls(load_json(text, "regimen"), name)

    @classmethod
    def from_file(cls, path: FilePath) -> "Regimen":
        """Read a regimen from a ``.json`` or ``.toml`` file (the layout of ``data/regimens.toml``)."""
        p = Path(path)
        text = read_text_file(p)
        if p.suffix.lower() != ".toml":
            return cls(load_json(text, "file", str(p)), name=p.stem)
        try:
            import tomllib  # type: ignore[import-not-found]
        except ModuleNotFoundError:  # Python < 3.11
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            spec = tomllib.loads(text)
        except (ValueError, RecursionError) as e:  # TOMLDecodeError is a ValueError
            raise error("file", f"{str(p)!r} is not valid TOML: {e}") from None
        return cls(spec, name=p.stem)

    @classmethod
    def preset(cls, name: str, *, library: LibrarySource | None = None) -> "Regimen":
        """A named preset of the library (see :func:`selinexor_pkpd.presets`)."""
        lib = resolve_library(library)
        return cls(json.loads(lib._native.regimen_json(name)), name=name)

    # --- editing ------------------------------------------------------------------------------
    def add(self, *doses: Mapping[str, Any], block: int = 0) -> "Regimen":
        """A copy with more dosing lines in block ``block``."""
        spec = copy.deepcopy(self._spec)
        spec["blocks"][block]["doses"].extend(dict(d) for d in doses)
        return Regimen(spec, self.name)

    def then(self, other: "Regimen") -> "Regimen":
        """A copy followed by ``other``'s blocks (every block but the last needs ``cycles``)."""
        spec = copy.deepcopy(self._spec)
        spec["blocks"].extend(copy.deepcopy(other._spec["blocks"]))
        return Regimen(spec, self.name)

    def with_labs(self, cycle1: Sequence[int], later: Sequence[int]) -> "Regimen":
        """A copy with another lab-visit schedule (days of cycle 1 and of later cycles)."""
        spec = copy.deepcopy(self._spec)
        spec["labs"] = {name: [whole(d, f"labs.{name}[{i}]", 1) for i, d in enumerate(as_list(v, f"labs.{name}"))]
                        for name, v in (("cycle1", cycle1), ("later", later))}
        return Regimen(spec, self.name)

    # --- views --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._spec)

    def to_json(self) -> str:
        return json.dumps(self._spec, indent=2)

    def to_file(self, path: FilePath) -> None:
        """Write as JSON (``.json``) or TOML (``.toml``); either reads back with :meth:`from_file`."""
        p = Path(path)
        if p.suffix.lower() == ".toml":
            p.write_text(_to_toml(self._spec), encoding="utf-8")
        else:
            p.write_text(self.to_json(), encoding="utf-8")

    @property
    def drugs(self) -> list[str]:
        out: list[str] = []
        for b in self._spec.get("blocks", []):
            for d in b.get("doses", []):
                if d["drug"] not in out:
                    out.append(d["drug"])
        return out

    def _json(self) -> str:
        """The regimen as JSON for the core, after the shape checks that name the field."""
        check_regimen_spec(self._spec)
        return json.dumps(self._spec)

    def validated_json(self, library: Library) -> str:
        """The regimen as JSON after validation against ``library`` (raises ModelError)."""
        return _core.check_regimen(library._native, self._json())

    def events(self, patient: PatientLike = None, *, days: float = 28.0,
               library: LibrarySource | None = None) -> pd.DataFrame:
        """The dose-event table, NONMEM-style, for one patient over ``days``.

        Returns
        -------
        pandas.DataFrame
            ``ID, TIME`` (h), ``DAY`` (study day, 1-based), ``CYCLE``, ``CYCLE_DAY``, ``DRUG``,
            ``AMT`` (mg), ``ROUTE``, ``CMT`` (depot/central), ``RATE`` (mg/h, 0 unless
            infusion), ``DUR`` (h), ``EVID`` (1).
        """
        lib = resolve_library(library)
        days = check_days(days)
        cols = _core.expand_regimen(lib._native, self._json(), patient_json(patient), days)
        df = pd.DataFrame(cols)
        df.insert(0, "ID", 1)
        df.insert(2, "DAY", (df["TIME"] // 24 + 1).astype(int))
        df["EVID"] = 1
        return df[["ID", "TIME", "DAY", "CYCLE", "CYCLE_DAY", "DRUG", "AMT", "ROUTE", "CMT", "RATE", "DUR", "EVID"]]

    def lab_days(self, days: float) -> np.ndarray:
        """Lab-visit days within ``days`` (days after the first dose), as the engine schedules them.

        Cycle 1 and later cycles follow the regimen's ``labs`` (default: days 1, 8, 15 and 22 of
        cycle 1, then days 1 and 15 of each cycle); the dose rules act at these visits.

        Returns
        -------
        numpy.ndarray
            Sorted visit times in days (day 1 of cycle 1 is 0.0).
        """
        return _core.lab_days(self._json(), float(days))

    def weekly_dose(self, drug: str = "selinexor") -> float:
        """Planned weekly dose of ``drug`` in the unit of its first dose line (NaN if not dosed).

        Amount times doses per week of the first line that doses the drug (dose days x 7 / cycle
        length): 80 mg on days 1 and 3 of each week is 160, 100 mg on days 1, 8, 15 of a
        21-day cycle is 100.
        """
        w = _core.weekly_dose(self._json(), drug)
        return math.nan if w is None else w

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Regimen) and self._spec == other._spec

    def __repr__(self) -> str:
        return f"Regimen({self.name!r}, drugs={self.drugs})"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items() if x is not None) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _to_toml(spec: Mapping[str, Any]) -> str:
    lines = []
    for k, v in spec.items():
        if k != "blocks" and v is not None:
            lines.append(f"{k} = {_toml_value(v)}")
    for b in spec.get("blocks", []):
        lines.append("\n[[blocks]]")
        for k, v in b.items():
            if k != "doses" and v is not None:
                lines.append(f"{k} = {_toml_value(v)}")
        lines.append("doses = [")
        lines.extend(f"  {_toml_value(d)}," for d in b.get("doses", []))
        lines.append("]")
    return "\n".join(lines) + "\n"


def as_regimen(r: RegimenLike, library: LibrarySource | None = None) -> Regimen:
    """A Regimen from a Regimen or a preset name."""
    if isinstance(r, Regimen):
        return r
    if isinstance(r, str):
        return Regimen.preset(r, library=library)
    raise TypeError(f"regimen must be a Regimen or a preset name, got {type(r).__name__}")
