"""A candidate (free parameter name -> value) as engine input, and the precision written to the files."""

from __future__ import annotations

import math
from typing import Any

import selinexor_pkpd as sp

# the free parameter holding each population's median baseline platelet count
# (dlbcl_relapsed: ASSUMPTION, the baseline distribution of rrmm_early_relapse; data/populations.toml)
BASELINE_MEDIAN = {"rrmm_heavily_pretreated": "P0_heavy", "rrmm_early_relapse": "P0_early",
                   "dlbcl_relapsed": "P0_early"}
# typical values a candidate may set: every parameter of the library's `platelets` namespace (those
# it does not hold keep the library's value)
PLATELET_KEYS = tuple(sp.Library().to_dict()["platelets"])
BORTEZOMIB_KEYS = {"Emax_btz": "Emax", "EC50_btz": "EC50"}


def typical_params(x: dict[str, float]) -> dict[str, dict[str, float]]:
    """The candidate's typical values, as the ``params=`` argument of the simulation functions."""
    return {
        "platelets": {k: x[k] for k in PLATELET_KEYS if k in x},
        "bortezomib": {v: x[k] for k, v in BORTEZOMIB_KEYS.items() if k in x},
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
        if "cv_renewal" in x:
            spec["iiv"]["platelets.renewal"] = rnd(x["cv_renewal"])
        spec["discontinuation"] = {"dist": "exponential", "median_days": disc_median[name]}
        pops[name] = spec
    return {
        "platelets": {k: {"value": rnd(x[k])} for k in PLATELET_KEYS if k in x},
        "drugs": {"bortezomib": {"params": {v: {"value": rnd(x[k])} for k, v in BORTEZOMIB_KEYS.items() if k in x}}},
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


def shipped_values(spec: Any, q_report: float) -> tuple[dict[str, float], dict[str, float]]:
    """The shipped library's value of every free parameter of ``spec`` (read at its ``writes_to``), and
    the discontinuation median of each population.

    Parameters
    ----------
    spec : Spec
        Free parameters and populations.
    q_report : float
        The shipped reporting probability (``calibration/ae_reporting.json``).
    """
    lib = sp.Library().to_dict()
    first_pop = next(iter(spec.populations))
    x = {}
    for p in spec.params.values():
        path = p.writes_to.replace("*", first_pop).split(".")
        if p.writes_to.endswith("ae_reporting.json"):
            x[p.name] = q_report
            continue
        if path[0] == "platelets":
            x[p.name] = float(lib["platelets"][path[1]]["value"])
        elif path[0] == "drugs":
            x[p.name] = float(lib["drugs"][path[1]]["params"][path[3]]["value"])
        elif path[0] == "populations":
            node: Any = lib["populations"][path[1]]
            rest = path[2:]
            if rest[0] == "iiv":
                node, rest = node["iiv"], [".".join(rest[1:])]
            for k in rest:
                node = node[k]
            x[p.name] = float(node)
        else:
            raise KeyError(f"params.{p.name}: cannot read {p.writes_to} from the library")
    disc = {name: float(lib["populations"][name]["discontinuation"]["median_days"])
            for name in spec.populations}
    return x, disc
