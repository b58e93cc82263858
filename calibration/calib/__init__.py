"""Calibration of the default platelet model against the training targets of calibration/targets.toml.

Modules
-------
targets
    The arms, targets and free parameters of ``calibration/targets.toml``.
metrics
    Lab-visit grading, the observation model of adverse-event reporting, per-arm metrics.
library
    A candidate as engine input: typical values, library override, rounding.
cohort
    Fixed virtual patients (common random numbers).
physiology
    Typical-patient checks and their penalties.
objective
    Simulation of the arms and the objective.
fit
    The staged Nelder-Mead search and the discontinuation medians.
uncertainty
    Approximate intervals of the fitted values (Gauss-Newton).
check
    The final check with the engine's sampler, and its report table.
writers
    The calibrated library files (tomlkit), ``ae_reporting.json``, ``report.csv``, ``history.csv``.
doc
    ``docs/calibration.md``.
"""

from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
Log = Callable[[str], None]  # receives progress lines
