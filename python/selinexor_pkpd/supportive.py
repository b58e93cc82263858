"""Supportive-care scenarios (docs/supportive_care.md): the same virtual patients on 80 mg BIW
without and with a TPO-receptor-agonist rescue (during selinexor holds, titrated by the Nplate
label; or as the selinexor consensus recommends), and on 100 mg QW, every arm with prophylactic
platelet transfusions below 10 x 10^9/L."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._errors import error
from ._typing import LibrarySource
from .compare import CompareResult, compare
from .population import Population

#: Arm label -> regimen preset.
SUPPORTIVE_ARMS: dict[str, str] = {
    "80 mg BIW": "xd_80_biw",
    "80 mg BIW + TPO-RA rescue": "xd_80_biw_romiplostim_rescue",
    "80 mg BIW + TPO-RA (consensus)": "xd_80_biw_romiplostim_consensus",
    "100 mg QW": "xd_100_qw",
}

#: Arm label -> rule sets: the label rules and transfusions; the rescue arm's preset adds the
#: romiplostim start during a selinexor hold to the BIW label rules, and romiplostim's label
#: titration (ending when selinexor resumes) as a set of its own; the consensus arm starts
#: romiplostim 5 ug/kg weekly below 25 and stops it at the first weekly count >= 50
#: (Gavriatopoulou M et al., Leukemia 2020;34:2430).
SUPPORTIVE_RULES: dict[str, Any] = {
    "80 mg BIW": ["label", "transfuse_below_10"],
    "80 mg BIW + TPO-RA rescue": ["label_biw_tpo_rescue", "romiplostim_titration"],
    "80 mg BIW + TPO-RA (consensus)": ["label_biw_tpo_consensus", "romiplostim_consensus"],
    "100 mg QW": ["label", "transfuse_below_10"],
}


def compare_supportive(population: Population | None = None, *, days: float = 168.0, seed: int = 20261121,
                       library: LibrarySource | None = None, **kwargs: Any) -> CompareResult:
    """Compare 80 mg BIW without and with a TPO-RA rescue, and 100 mg QW.

    The four arms of :data:`SUPPORTIVE_ARMS` under the rule sets of :data:`SUPPORTIVE_RULES`, on
    the same virtual patients (common random numbers). The subject table has the supportive-care
    columns ``n_transfusions``, ``units_transfused`` and ``t_rescue_start_days`` next to the
    delivered dose intensity and the days in grade 4.

    Parameters
    ----------
    population : Population, optional
        Default: ``population("rrmm_heavily_pretreated", n=1000)``.
    days : float
        Simulated time per patient.
    seed : int
    library : Library, optional
    **kwargs
        Passed to :func:`selinexor_pkpd.compare` (``threads``, ``progress``, ``summary_only``, ...).

    Returns
    -------
    CompareResult
        As :func:`selinexor_pkpd.compare`; the reference arm is ``"80 mg BIW"``.

    Raises
    ------
    ModelError
        For a bad input, as :func:`selinexor_pkpd.compare`.
    """
    return compare(dict(SUPPORTIVE_ARMS), population, days=days, seed=seed, dose_rules=dict(SUPPORTIVE_RULES),
                   library=library, **kwargs)


def supportive_table(result: CompareResult) -> pd.DataFrame:
    """Per-arm means of the supportive-care scenario, from the subject table.

    Parameters
    ----------
    result : CompareResult
        A comparison with its subject table (not ``summary_only``), e.g. from
        :func:`compare_supportive`.

    Returns
    -------
    pandas.DataFrame
        One row per arm: ``mg_week`` (delivered selinexor, mean), ``days_g4`` and ``days_g3plus``
        (days in grade 4 and grade >= 3, means), ``transfusions`` (per patient, mean) and
        ``rescued_pct`` (patients in whom a rule started a withheld drug, %).

    Raises
    ------
    ModelError
        When the result has no subject table.
    """
    s = result.subjects
    if s is None:
        raise error("summary_only", "the supportive table needs the subject table: run without summary_only")
    g = s.groupby("arm", sort=False)
    return pd.DataFrame({
        "mg_week": g["dose_intensity_mg_week"].mean(),
        "days_g4": g["days_g4"].mean(),
        "days_g3plus": g["days_g3plus"].mean(),
        "transfusions": g["n_transfusions"].mean(),
        "rescued_pct": 100.0 * g["t_rescue_start_days"].apply(lambda x: x.notna().mean()),
    })
