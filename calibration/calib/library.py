"""A candidate (free parameter name -> value) as engine input, and the precision written to the files."""

from __future__ import annotations

import math
from typing import Any

import selinexor_pkpd as sp

# the free parameter holding each population's median baseline platelet count
BASELINE_MEDIAN = {"rrmm_heavily_pretreated": "P0_heavy", "rrmm_early_relapse": "P0_early"}


def typical_params(x: dict[str, float]) -> dict[str, dict[str, float]]:
    """The candidate's typical values, as the ``params=`` argument of the simulation functions."""
    return {
        "platelets": {k: x[k] for k in ("Imax", "kon", "koff", "gamma", "tpo_half", "fP")},
        "bortezomib": {"Emax": x["Emax_btz"], "EC50": x["EC50_btz"]},
    }


def library_override(x: dict[str, float], disc_median: dict[str, float]) -> dict[str, Any]:
    """The calibrated values as a library override (the same values that ``--write`` puts in data/).

    Parameters
    ----------
    x : dict
        The free parameters.
    disc_median : dict
        Discontinuation median (days) of each population preset.
    """
    pops = {}
    for name, param in BASELINE_MEDIAN.items():
        spec = sp.population(name, 1).spec
        spec["covariates"]["platelets"] = {**spec["covariates"]["platelets"], "median": rnd(x[param]), "cv": rnd(x["P0_cv"])}
        spec["iiv"] = {**spec.get("iiv", {}), "platelets.kon": rnd(x["cv_kon"]), "platelets.Imax": rnd(x["cv_Imax"])}
        spec["discontinuation"] = {"dist": "exponential", "median_days": disc_median[name]}
        pops[name] = spec
    return {
        "platelets": {k: {"value": rnd(x[k])} for k in ("Imax", "kon", "koff", "gamma", "tpo_half", "fP")},
        "drugs": {"bortezomib": {"params": {"Emax": {"value": rnd(x["Emax_btz"])}, "EC50": {"value": rnd(x["EC50_btz"])}}}},
        "populations": pops,
    }


def rnd(v: float, sig: int = 4) -> float:
    """Round to 4 significant digits (the precision written to the files)."""
    if v == 0 or not math.isfinite(v):
        return v
    return float(f"{v:.{sig}g}")


def rounded(x: dict[str, float]) -> dict[str, float]:
    """Every value of ``x`` rounded by ``rnd``."""
    return {k: rnd(v) for k, v in x.items()}


def fmt(v: float) -> str:
    """``v`` to 4 significant digits as a TOML float (``5.0e-5``, ``62.0``)."""
    s = f"{v:.4g}"
    if "e" in s:
        m, e = s.split("e")
        s = f"{float(m)}e{int(e)}"
    elif "." not in s:
        s += ".0"
    return s
