"""Fit a TPO-receptor agonist's potency (`Smax`) to repeated dosing in chronic ITP.

One free parameter per drug (SC50, the PK and the platelet model held), fitted by least squares
on the log of the published mean (romiplostim) or median (eltrombopag) counts, with an
approximate 95% profile-likelihood interval (ASSUMPTION: SD 0.28 of a log mean count, a CV of
about 80% in arms of about 8 patients). The patient: own baseline 16 x 10^9/L (ASSUMPTION: the
placebo median of Bussel JB et al., N Engl J Med 2007;357:2237, inclusion < 30), typical
otherwise. Validation doses (not fitted) are simulated and printed next to their data; with
--write the fitted value and its source string go to data/drugs.toml (tomlkit).

    python calibration/agonist_potency.py                      # both drugs, print
    python calibration/agonist_potency.py --drug romiplostim --write
"""

from __future__ import annotations

import argparse
import datetime
import math
from pathlib import Path
from typing import Any

import tomlkit
from scipy.optimize import minimize_scalar

import selinexor_pkpd as sp

ROOT = Path(__file__).resolve().parent.parent
SD_LOG = 0.28
CHI2_95 = 3.841
BASELINE = 16.0

# (label, dose mg/kg or mg, doses, interval days, read-out, observed count, fitted?)
ROMIPLOSTIM = [
    ("6 weekly doses of 1 ug/kg, mean peak", 0.001, 6, 7, "peak", 135.0, True),
    ("6 weekly doses of 3 ug/kg, mean peak", 0.003, 6, 7, "peak", 241.0, True),
    ("2 doses of 3 ug/kg 2 weeks apart, mean peak", 0.003, 2, 14, "peak", 163.0, False),
    ("2 doses of 6 ug/kg 2 weeks apart, mean peak", 0.006, 2, 14, "peak", 309.0, False),
    ("2 doses of 10 ug/kg 2 weeks apart, mean peak", 0.010, 2, 14, "peak", 746.0, False),
]
ELTROMBOPAG = [
    ("30 mg daily, median on day 43", 30.0, 42, 1, "day43", 26.0, True),
    ("50 mg daily, median on day 43", 50.0, 42, 1, "day43", 128.0, True),
    ("75 mg daily, median on day 43", 75.0, 42, 1, "day43", 183.0, True),
]
ARMS = {
    "romiplostim": (ROMIPLOSTIM, "mg/kg", "Bussel JB et al., N Engl J Med 2006;355:1672 (phase 2: six weekly "
                    "SC doses; phase 1: two doses 2 weeks apart)"),
    "eltrombopag": (ELTROMBOPAG, "mg", "Bussel JB et al., N Engl J Med 2007;357:2237"),
}


def simulate(drug: str, smax: float, arm: tuple[Any, ...], unit: str) -> tuple[float, float]:
    """The arm's read-out (count, day) at potency `smax`."""
    _, dose, n, every, readout, _, _ = arm
    regimen = sp.Regimen.from_dict({"blocks": [{"cycle_days": every, "cycles": n, "doses": [
        {"drug": drug, "amount": dose, "unit": unit, "days": [1]}]}]})
    days = n * every + 28
    df = sp.simulate(regimen, patient={"platelets": BASELINE}, params={drug: {"Smax": smax}}, days=days, dt_h=6)
    if readout == "day43":
        row = df.iloc[(df.DAY - 42.0).abs().argmin()]
        return float(row.PLT), float(row.DAY)
    i = df.PLT.idxmax()
    return float(df.PLT[i]), float(df.DAY[i])


def chi2(drug: str, smax: float) -> float:
    arms, unit, _ = ARMS[drug]
    return sum(((math.log(simulate(drug, smax, a, unit)[0]) - math.log(a[5])) / SD_LOG) ** 2
               for a in arms if a[6])


def profile(drug: str, best: float, at_best: float, lo: float, hi: float) -> tuple[float, float]:
    """Approximate 95% interval: where chi2 rises by 3.84 (bisection on the log scale)."""
    def edge(outer: float) -> float:
        inner = best
        if chi2(drug, outer) - at_best < CHI2_95:
            return outer
        for _ in range(30):
            mid = math.sqrt(inner * outer)
            if chi2(drug, mid) - at_best < CHI2_95:
                inner = mid
            else:
                outer = mid
        return math.sqrt(inner * outer)
    return edge(lo), edge(hi)


def fit(drug: str, lo: float = 0.1, hi: float = 50.0) -> dict[str, Any]:
    res = minimize_scalar(lambda u: chi2(drug, math.exp(u)), bounds=(math.log(lo), math.log(hi)),
                          method="bounded", options={"xatol": 1e-4})
    best = math.exp(res.x)
    ci = profile(drug, best, res.fun, lo, hi)
    arms, unit, _ = ARMS[drug]
    rows = [(a[0], a[5], *simulate(drug, best, a, unit), a[6]) for a in arms]
    return {"drug": drug, "smax": best, "ci": ci, "chi2": res.fun, "rows": rows,
            "at_bound": best < lo * 1.01 or best > hi / 1.01}


def report(r: dict[str, Any]) -> str:
    lines = [f"{r['drug']}: Smax {r['smax']:.3g} (approx. 95% profile CI {r['ci'][0]:.3g}-{r['ci'][1]:.3g}), "
             f"chi2 {r['chi2']:.2f}" + (" AT ITS BOUND" if r["at_bound"] else "")]
    for label, obs, sim, day, fitted in r["rows"]:
        lines.append(f"  {'fit ' if fitted else 'val '} {label}: observed {obs:.0f}, model {sim:.0f} (day {day:.1f})")
    return "\n".join(lines)


def write(r: dict[str, Any]) -> None:
    path = ROOT / "data" / "drugs.toml"
    doc = tomlkit.parse(path.read_text())
    entry = doc["drugs"][r["drug"]]["params"]["Smax"]
    _, _, source = ARMS[r["drug"]]
    fitted = "; ".join(f"{label} {obs:.0f} vs {sim:.0f}" for label, obs, sim, _, f in r["rows"] if f)
    checks = "; ".join(f"{label} {obs:.0f} vs {sim:.0f}" for label, obs, sim, _, f in r["rows"] if not f)
    entry["value"] = float(f"{r['smax']:.3g}")
    entry["source"] = (
        f"fitted by calibration/agonist_potency.py on {datetime.date.today().isoformat()} (one parameter, "
        f"SC50 and PK held) to the published counts in chronic ITP ({source}; observed vs model: {fitted}), "
        f"baseline {BASELINE:.0f} x 10^9/L (ASSUMPTION: the placebo median of Bussel 2007, inclusion < 30); "
        f"approx. 95% profile CI {r['ci'][0]:.3g}-{r['ci'][1]:.3g} (ASSUMPTION: SD {SD_LOG} of a log count)"
        + (f"; validation, not fitted: {checks}" if checks else "") + "; docs/supportive_care.md")
    path.write_text(tomlkit.dumps(doc))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--drug", choices=sorted(ARMS), action="append")
    ap.add_argument("--write", action="store_true", help="write the fitted Smax to data/drugs.toml")
    args = ap.parse_args()
    for drug in args.drug or sorted(ARMS, reverse=True):
        r = fit(drug)
        print(report(r), flush=True)
        if args.write:
            write(r)


if __name__ == "__main__":
    main()
