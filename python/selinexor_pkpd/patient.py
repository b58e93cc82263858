"""Patient covariates."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Optional

from ._errors import ModelError
from ._typing import PatientLike, Sex


@dataclass
class Patient:
    """Covariates of one patient.

    Parameters
    ----------
    weight : float
        kg (default 70).
    height : float
        cm (default 170); with the weight gives BSA by Mosteller.
    age : float
        years (default 65); dexamethasone 20 mg instead of 40 mg at >= 75 in the 000 protocol.
    sex : {"male", "female"}
    crcl : float
        Creatinine clearance, mL/min (default 90).
    platelets : float, optional
        Baseline platelets, 10^9/L; the platelet model's ``P0`` (170) when omitted.
    """

    weight: float = 70.0
    height: float = 170.0
    age: float = 65.0
    sex: Sex = "male"
    crcl: float = 90.0
    platelets: Optional[float] = None

    @property
    def bsa(self) -> float:
        """Body surface area (Mosteller), m2."""
        return math.sqrt(self.height * self.weight / 3600.0)

_FIELDS = {"weight", "height", "age", "sex", "crcl", "platelets"}


def patient_dict(p: PatientLike) -> dict[str, Any]:
    if p is None:
        return {}
    if not isinstance(p, (Patient, Mapping)):
        err = ModelError(f"patient: must be a Patient or a dict of covariates, got {p!r:.80}")
        err.field = "patient"
        raise err
    d = asdict(p) if isinstance(p, Patient) else dict(p)
    unknown = set(d) - _FIELDS
    if unknown:
        err = ModelError(f"patient: unknown field(s) {sorted(unknown)} (known: {sorted(_FIELDS)})")
        err.field = "patient." + sorted(unknown)[0]
        raise err
    if isinstance(p, Mapping) and ("weight" in d) != ("height" in d):
        # A patient described by one size measure only: the other is missing, not the typical
        # value (a BSA from a given weight and an assumed 170 cm would be silently wrong).
        d.setdefault("weight", None)
        d.setdefault("height", None)
    out: dict[str, Any] = {}
    for k, v in d.items():
        if v is None:
            if k in ("weight", "height"):
                out[k] = None  # missing: the core rejects it where a size is needed
            continue
        if k == "sex":
            out[k] = str(v).lower()
        else:
            try:
                out[k] = float(v)
            except (TypeError, ValueError):
                err = ModelError(f"patient.{k}: must be a number, got {v!r}")
                err.field = f"patient.{k}"
                raise err from None
            if not math.isfinite(out[k]):
                err = ModelError(f"patient.{k}: must be finite, got {v!r}")
                err.field = f"patient.{k}"
                raise err
    return out


def patient_json(p: PatientLike) -> str:
    return json.dumps(patient_dict(p))
