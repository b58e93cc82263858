"""Split each population's discontinuation into progression (from the efficacy model) and other
reasons, so that runs that stop at progression keep the observed median time on treatment.

Usage: ``python calibration/discontinuation_split.py [--subjects N] [--write]``.

A population's ``discontinuation`` median (data/populations.toml) is the observed median time on
treatment, progression included. For each population with a calibration arm (below: the arms of
calibration/efficacy_targets.toml that use it), the median of ``discontinuation_other`` is found
by bisection on the log scale such that, with ``stop_at_progression=True`` (treatment ending at
the first of progression, discontinuation for other reasons and the dose rules), the simulated
median days on treatment over the population's arms equals the observed one. Each subject's
other-reason time uses the same uniform draw as its overall time, so the simulated median grows
with the other-reason median and the root is unique. Where even no other-reason discontinuation
gives a median below the observed one (progression alone ends treatment earlier), the observed
median cannot be kept; the population then gets the ASSUMPTION ``FALLBACK_DAYS`` (the other-reason
median assumed for the partner trials with 1-3 prior lines, calibration/efficacy_partner_targets.toml),
with the simulated median written into its source.

With ``--write`` the medians go into data/populations.toml as ``discontinuation_other`` with
their source strings (tomlkit keeps comments and layout). Rerun after a change of a population's
discontinuation median or of the efficacy model.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
POPULATIONS = ROOT / "data" / "populations.toml"
sys.path.insert(0, str(ROOT / "calibration"))

import efficacy_fit  # noqa: E402

SEED = 20261210
#: Largest other-reason median tried, in multiples of the observed median.
MAX_FACTOR = 200.0
#: Other-reason median (days) where the observed median time on treatment cannot be kept.
FALLBACK_DAYS = 700.0
FALLBACK_SOURCE = ("ASSUMPTION: median of discontinuation for reasons other than progression, from ENDEAVOR's "
                   "adverse-event discontinuation (14.0% Kd, 15.7% Vd at median exposures of 39.9 and 26.8 weeks; "
                   "Dimopoulos MA et al., ASCO 2015 abstract) doubled for other reasons, as for the partner trials "
                   "(calibration/efficacy_partner_targets.toml)")


def arms_of(population: str) -> dict[str, dict[str, Any]]:
    """The efficacy training arms that simulate ``population``."""
    cfg = efficacy_fit.load_targets()
    return {k: a for k, a in cfg["arms"].items() if a["population"] == population}


def median_on_treatment(population: str, other_days: float | None, *, n: int, seed: int = SEED,
                        library: Any = None) -> float:
    """Median days on treatment over the population's arms, stopping at progression, with this
    other-reason median (None: the population's overall discontinuation)."""
    import selinexor_pkpd as sp

    pop = sp.population(population, n=n, library=library)
    pop = pop.with_other_discontinuation(other_days)
    days = []
    for arm in arms_of(population).values():
        s = sp.simulate_population(arm["regimen"], pop, days=float(arm["days"]), seed=seed,
                                   dose_rules=arm.get("dose_rules"), library=library, threads=2, max_hours=None,
                                   stop_at_progression=True).subjects
        days.append(s["days_on_treatment"].to_numpy())
    return float(np.median(np.concatenate(days)))


def observed_median(population: str, library: Any = None) -> float:
    import selinexor_pkpd as sp

    d = sp.population(population, n=1, library=library).spec["discontinuation"]
    return float(d["median_days"]) if d.get("dist") == "exponential" else math.inf


def split(population: str, *, n: int) -> dict[str, Any]:
    target = observed_median(population)
    lo, hi = math.log(target), math.log(MAX_FACTOR * target)
    at_hi = median_on_treatment(population, math.exp(hi), n=n)
    if at_hi < target:
        return {"population": population, "target": target, "value": None, "achieved": at_hi,
                "fallback": median_on_treatment(population, FALLBACK_DAYS, n=n),
                "without_split": median_on_treatment(population, None, n=n)}
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if median_on_treatment(population, math.exp(mid), n=n) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 0.002:
            break
    value = math.exp(hi)
    return {"population": population, "target": target, "value": value,
            "achieved": median_on_treatment(population, value, n=n),
            "without_split": median_on_treatment(population, None, n=n)}


def write(results: list[dict[str, Any]], n: int) -> None:
    import tomlkit

    doc = tomlkit.parse(POPULATIONS.read_text(encoding="utf-8"))
    today = _dt.date.today().isoformat()
    for r in results:
        node = doc["populations"][r["population"]]
        arms = ", ".join(arms_of(r["population"]))
        t = tomlkit.inline_table()
        if r["value"] is None:
            t["median_days"] = FALLBACK_DAYS
            t["source"] = (f"{FALLBACK_SOURCE}; the population's median time on treatment ({r['target']:g} days) cannot "
                           f"be kept by runs stopping at progression: with no other-reason discontinuation they give "
                           f"{r['achieved']:.1f} days, with this one {r['fallback']:.1f} (arms {arms} of "
                           f"calibration/efficacy_targets.toml, calibration/discontinuation_split.py on {today}, {n} "
                           f"subjects per arm)")
            node["discontinuation_other"] = t
            continue
        t["median_days"] = float(f"{r['value']:.4g}")
        t["source"] = (f"derived: median of discontinuation for reasons other than progression, chosen by "
                       f"calibration/discontinuation_split.py on {today} ({n} subjects per arm, arms {arms} of "
                       f"calibration/efficacy_targets.toml) so that runs stopping at progression keep this "
                       f"population's median time on treatment ({r['target']:g} days, its discontinuation median); "
                       f"simulated {r['achieved']:.1f} days (with the overall discontinuation instead: "
                       f"{r['without_split']:.1f} days)")
        node["discontinuation_other"] = t
    # the library's inline-table style: spaces inside the braces
    text = re.sub(r"^(discontinuation_other = )\{(.*)\}$", r"\1{ \2 }", tomlkit.dumps(doc), flags=re.M)
    POPULATIONS.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=1000)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args(argv)
    results = []
    for pop in ("rrmm_heavily_pretreated", "rrmm_early_relapse"):
        r = split(pop, n=a.subjects)
        results.append(r)
        if r["value"] is None:
            print(f"{pop}: observed median {r['target']:g} days not attainable: stopping at progression alone gives "
                  f"{r['achieved']:.1f} days; ASSUMPTION {FALLBACK_DAYS:g} days gives {r['fallback']:.1f} "
                  f"(overall discontinuation instead: {r['without_split']:.1f})")
        else:
            print(f"{pop}: discontinuation_other median {r['value']:.4g} days -> median on treatment "
                  f"{r['achieved']:.1f} (observed {r['target']:g}; with the overall discontinuation "
                  f"{r['without_split']:.1f})")
    if a.write:
        write(results, a.subjects)
    return 0


if __name__ == "__main__":
    sys.exit(main())
