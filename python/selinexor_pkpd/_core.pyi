"""Type stubs of the native module (Rust, PyO3). Inputs are JSON text; outputs dicts of numpy arrays."""

from typing import Optional

import numpy as np
import numpy.typing as npt

class ModelError(ValueError):
    """Invalid model input; ``.field`` names the offending field."""

    field: str

class Library:
    """The model library (immutable)."""

    @staticmethod
    def default() -> "Library": ...
    def with_overrides(self, text: str) -> "Library": ...
    def to_json(self) -> str: ...
    def drug_names(self) -> list[str]: ...
    def preset_names(self) -> list[str]: ...
    def regimen_json(self, name: str) -> str: ...
    def population_names(self) -> list[str]: ...
    def population_json(self, name: str) -> str: ...
    def dose_rules_names(self) -> list[str]: ...
    def dose_rules_json(self, name: str, regimen: str) -> str: ...
    def drug_json(self, name: str) -> str: ...

class Trial:
    """A prepared virtual trial: one regimen over one population, optional dose rules."""

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
        platelet_model: str = "tpo",
        rtol: float = 1e-6,
        atol: float = 1e-9,
        x_level: float = 0.5,
        follow_up_days: float = 30.0,
        linear_pk: str = "exact",
    ) -> None: ...
    def param_names(self) -> list[str]: ...
    def table_len(self) -> Optional[int]: ...
    def run(self, start: int, end: int, threads: Optional[int] = None) -> dict[str, object]: ...

def default_files() -> list[tuple[str, str]]: ...
def check_regimen(lib: Library, regimen: str) -> str: ...
def expand_regimen(lib: Library, regimen: str, patient: str, days: float) -> dict[str, object]: ...
def simulate(
    lib: Library,
    regimen: str,
    patient: str,
    params: str,
    days: float,
    times: npt.NDArray[np.float64],
    platelet_model: str = "tpo",
    rtol: float = 1e-6,
    atol: float = 1e-9,
    linear_pk: str = "exact",
) -> dict[str, object]: ...
def closed_form(
    lib: Library, regimen: str, patient: str, params: str, days: float, times: npt.NDArray[np.float64]
) -> dict[str, npt.NDArray[np.float64]]: ...
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
) -> dict[str, npt.NDArray[np.float64]]: ...
def lab_days(regimen: str, days: float) -> npt.NDArray[np.float64]: ...
def weekly_dose(regimen: str, drug: str) -> Optional[float]: ...
def ctcae_grade(platelets: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]: ...
def grade_thresholds() -> list[float]: ...
