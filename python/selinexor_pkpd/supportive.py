"""Supportive-care scenarios (docs/supportive_care.md): the same virtual patients on 80 mg BIW
with and without a TPO-receptor-agonist rescue during selinexor holds, and on 100 mg QW, every arm
with prophylactic platelet transfusions below 10 x 10^9/L."""

from __future__ import annotations

from typing import Any

from ._typing import LibrarySource
from .compare import CompareResult, compare
from .population import Population

#: Arm label -> regimen preset.
SUPPORTIVE_ARMS: dict[str, str] = {
    "80 mg BIW": "xd_80_biw",
    "80 mg BIW + TPO-RA rescue": "xd_80_biw_romiplostim_rescue",
    "100 mg QW": "xd_100_qw",
}

#: Arm label -> rule sets: the label rules and transfusions; the rescue arm's preset adds the
#: romiplostim start during a selinexor hold (and its stop at >= 400) to the BIW label rules.
SUPPORTIVE_RULES: dict[str, Any] = {
    "80 mg BIW": ["label", "transfuse_below_10"],
    "80 mg BIW + TPO-RA rescue": ["label_biw_tpo_rescue"],
    "100 mg QW": ["label", "transfuse_below_10"],
}


def compare_supportive(population: Population | None = None, *, days: float = 168.0, seed: int = 20261121,
                       library: LibrarySource | None = None, **kwargs: Any) -> CompareResult:
    """Compare 80 mg BIW with and without TPO-RA rescue during holds, and 100 mg QW.

    The three arms of :data:`SUPPORTIVE_ARMS` under the rule sets of :data:`SUPPORTIVE_RULES`, on
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
