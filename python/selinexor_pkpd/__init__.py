"""selinexor-pkpd: a fast PK/PD engine for selinexor and its partner drugs.

Compartment PK (closed form and ODE), XPO1 engagement, a TPO-feedback platelet model with
TPO-signalling inhibition, virtual populations and the once- vs twice-weekly comparison, with a
Rust core behind a pandas/numpy API.
"""

from __future__ import annotations

from typing import Any

from ._errors import ModelError
from ._library import Library, default_files, get_library, set_library
from ._typing import LibrarySource
from .compare import DEFAULT_ARMS, CompareResult, compare, from_inputs
from .nonmem import NonmemData, cmt_map, read_nonmem, to_nonmem
from .escalate import EscalationResult, dlt_presets, escalate
from .grading import GRADE_THRESHOLDS, ctcae_grade
from .patient import Patient
from .population import Population, PopulationResult, population, populations, simulate_population
from .regimen import Regimen, dose
from .simon import simon, simon_design, simon_oc, simon_simulate
from .simulate import closed_form, exposure, simulate
from .supportive import SUPPORTIVE_ARMS, SUPPORTIVE_RULES, compare_supportive, supportive_table
from .validation import ValidationResult, validate

__version__ = "0.1.0"


def drug(name: str, *, library: LibrarySource | None = None) -> dict[str, Any]:
    """The definition of a drug: parameters with units and sources, IIV, covariates, effect."""
    from ._library import resolve_library

    return resolve_library(library).drug(name)


def drugs(*, library: LibrarySource | None = None) -> list[str]:
    """Names of the available drugs."""
    from ._library import resolve_library

    return resolve_library(library).drugs


def presets(*, library: LibrarySource | None = None) -> list[str]:
    """Names of the regimen presets (data/regimens.toml)."""
    from ._library import resolve_library

    return resolve_library(library).presets


def regimen(name: str, *, library: LibrarySource | None = None) -> Regimen:
    """A regimen preset by name, e.g. ``regimen("xd_80_biw")``."""
    return Regimen.preset(name, library=library)


__all__ = [
    "CompareResult",
    "NonmemData",
    "cmt_map",
    "read_nonmem",
    "to_nonmem",
    "GRADE_THRESHOLDS",
    "DEFAULT_ARMS",
    "compare",
    "from_inputs",
    "Library",
    "ModelError",
    "Patient",
    "Population",
    "PopulationResult",
    "Regimen",
    "closed_form",
    "ctcae_grade",
    "default_files",
    "dose",
    "drug",
    "drugs",
    "dlt_presets",
    "escalate",
    "EscalationResult",
    "exposure",
    "get_library",
    "population",
    "populations",
    "presets",
    "regimen",
    "set_library",
    "simon",
    "simon_design",
    "simon_oc",
    "simon_simulate",
    "simulate",
    "simulate_population",
    "SUPPORTIVE_ARMS",
    "SUPPORTIVE_RULES",
    "compare_supportive",
    "ValidationResult",
    "validate",
    "supportive_table",
]
