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
# the suffix of a population's own value of a shared free parameter (an IIV that differs between
# populations: `cv_Imax_heavy` is the IIV of Imax in rrmm_heavily_pretreated, the others keep `cv_Imax`)
POPULATION_SUFFIX = {"rrmm_heavily_pretreated": "heavy", "rrmm_early_relapse": "early", "dlbcl_relapsed": "dlbcl"}


def population_value(x: dict[str, float], name: str, population: str) -> float | None:
    """The value of free parameter ``name`` in ``population``: its own (``<name>_<suffix>``) if the
    candidate has one, else the shared ``name``, else None. ``P0_heavy`` and ``P0_early`` are the
    baseline-platelet medians (``BASELINE_MEDIAN``), not population values of ``platelets.P0``."""
    own = f"{name}_{POPULATION_SUFFIX[population]}"
    if own in BASELINE_MEDIAN.values():
        return x.get(name)
    return x.get(own, x.get(name))


def typical_params(x: dict[str, float], population: str | None = None) -> dict[str, dict[str, float]]:
    """The candidate's typical values, as the ``params=`` argument of the simulation functions: those
    of ``population`` (its own values where the candidate has them) or the shared ones (None)."""
    values = {k: x.get(k) if population is None else population_value(x, k, population) for k in PLATELET_KEYS}
    return {
        "platelets": {k: v for k, v in values.items() if v is not None},
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
        spec["iiv"] = {**spec.get("iiv", {})}
        for param, cv in (("kon", "cv_kon"), ("Imax", "cv_Imax"), ("renewal", "cv_renewal")):
            value = population_value(x, cv, name)
            if value is not None:
                spec["iiv"][f"platelets.{param}"] = rnd(value)
        values = {k: population_value(x, k, name) for k in PLATELET_KEYS}
        own = {f"platelets.{k}": {"value": rnd(v), "source": "calibration candidate"}
               for k, v in values.items() if v != x.get(k)}
        if own:
            spec["typical"] = {**spec.get("typical", {}), **own}
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
            if rest[0] == "typical":  # a population's own typical value, the library's if it has none
                key = ".".join(rest[1:])
                own = node.get("typical", {}).get(key)
                x[p.name] = float(own["value"] if own else lib[rest[1]][rest[2]]["value"])
                continue
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
