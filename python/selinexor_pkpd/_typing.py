"""Type aliases of the public API: option strings as ``Literal`` types, and the shared unions.

Each ``Literal`` lists exactly the values the engine accepts with the default library
(``tests/python/test_typing.py`` checks them against it); the comment names what parses them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Optional, Sequence, Tuple, Union

if TYPE_CHECKING:  # pragma: no cover
    from ._library import Library
    from .patient import Patient
    from .regimen import Regimen

# Option strings parsed by the Rust core
PlateletModel = Literal["tpo", "friberg", "friberg_linear", "friberg_emax", "none"]  # platelets::PlateletModel::parse
TrialPlateletModel = Literal["tpo", "friberg", "friberg_linear", "friberg_emax"]  # the same, without "none" (trial::TrialSetup)
LinearPk = Literal["exact", "ode"]  # solver::LinearPk (bindings::parse_linear_pk)
CovariateFill = Literal["locf", "nocb"]  # dataset::CovariateFill::parse
DoseUnit = Literal["mg", "mg/m2", "mg/kg"]  # regimen::DoseUnit
Route = Literal["oral", "sc", "iv"]  # drug::Route
Sex = Literal["male", "female"]  # patient::Sex (the Python side lowercases it)
DoseRulesName = Literal["label", "label_qw", "label_biw", "label_dlbcl", "label_biw_tpo_rescue", "romiplostim_titration", "label_biw_tpo_consensus", "romiplostim_consensus", "stop_below_50", "transfuse_below_10", "lenalidomide_label", "pomalidomide_label", "ixazomib_label", "lenalidomide_ixazomib_label"]  # library::Library::dose_rules_for, data/dose_rules.toml
Covariate = Literal["weight", "height", "age", "crcl", "platelets", "female"]  # population::Covariates
CovariateDist = Literal["fixed", "normal", "lognormal"]  # population::Dist

DltPreset = Literal["g4_over_7d", "g4_lab", "g3_lab", "g4_nadir", "interruption"]  # escalation::dlt::PRESETS

# Option strings parsed on the Python side
ExposureInterval = Literal["dose", "week"]  # simulate.exposure
DesignName = Literal["3+3", "boin"]  # escalate._designs (then escalation::DesignSpec)

# Shared unions
FilePath = Union[str, "os.PathLike[str]"]
LibrarySource = Union[str, "os.PathLike[str]", Mapping[str, Any], "Library"]
RegimenLike = Union["Regimen", str]
PatientLike = Union["Patient", Mapping[str, Any], None]
Params = Optional[Mapping[str, Mapping[str, float]]]
DaySpec = Union[int, str]
DoseRulesLike = Union[DoseRulesName, Mapping[str, Any], Sequence[Union[DoseRulesName, Mapping[str, Any]]], None]
Observe = Union[bool, Sequence[float], None]
Windows = Sequence[Tuple[float, float]]
DesignLike = Union[DesignName, Mapping[str, Any]]
DltLike = Union[DltPreset, Mapping[str, Any], Callable[[Any], bool]]

__all__ = [
    "Covariate",
    "CovariateDist",
    "CovariateFill",
    "DaySpec",
    "DesignLike",
    "DesignName",
    "DltLike",
    "DltPreset",
    "DoseRulesLike",
    "DoseRulesName",
    "DoseUnit",
    "ExposureInterval",
    "FilePath",
    "LibrarySource",
    "LinearPk",
    "Observe",
    "Params",
    "PatientLike",
    "PlateletModel",
    "RegimenLike",
    "Route",
    "Sex",
    "TrialPlateletModel",
    "Windows",
]
