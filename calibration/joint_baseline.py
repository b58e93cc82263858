"""Profile the heavily pretreated population's baseline platelets over the selinexor and the
lenalidomide trials together.

The `rrmm_heavily_pretreated` preset serves two kinds of training arms: the selinexor arms of
calibration/targets.toml (STORM part 2 and the recovery experiment) and the lenalidomide 30 mg
monotherapy arm of calibration/partner_fit.toml. Its baseline median (`P0_heavy`) is shared, but
calibrate.py fits it on the selinexor arms alone and partners.py then fits the lenalidomide slope
with it held. This script profiles `P0_heavy` over both: at each grid value it refits the
population's typical Imax (`Imax_heavy`, the other heavily pretreated parameter) on the selinexor
objective and the lenalidomide slope on its two trials (partners.py, both targets), holding every
other value at the shipped one, and sums

    selinexor objective (calib.objective, the shipped targets, priors and penalties)
    + lenalidomide deviance (-2 x binomial log-likelihood, relative to the saturated model)

(both on the scale of -2 log-likelihood). The minimum over the grid, refined by a parabola through
its three lowest points, is the joint estimate; its 95% interval is where the profile is within
3.84 of the minimum. To ship it, hold `P0_heavy` and `Imax_heavy` at the printed values in
calibration/targets.toml (their start values, out of every stage's free list), then rerun
calibration/calibrate.py --write (which refits the other parameters), calibration/partners.py
--write and the rest of the cascade (docs/calibration.md).

    python calibration/joint_baseline.py [--grid 105 115 125 137 150] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

import selinexor_pkpd as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "calibration"))

import partners  # noqa: E402
from calib import fit, objective, targets, writers  # noqa: E402
from calib.library import library_override, rnd, shipped_values  # noqa: E402

CHI2_95 = 3.841


def lenalidomide(base: sp.Library) -> dict[str, Any]:
    """The lenalidomide slope refitted on its trials under ``base``; its deviance and simulations."""
    cfg, tg = partners.load()
    spec = next(f for f in cfg["fit"] if f["drug"] == "lenalidomide")
    ctx = {"arms": cfg["arms"], "targets": tg, "n_sim": cfg["n_sim"], "seed": cfg["seed"], "done": {},
           "base": base}
    r = partners.fit_one(spec, ctx)
    saturated = 0.0
    for t in spec["targets"]:
        p = tg[t["key"]]["pct"] / 100.0
        k = p * t["n"]
        saturated += k * math.log(p) + (t["n"] - k) * math.log(1 - p)
    sims = {t["key"]: s for t, s in zip(spec["targets"], r["sims"])}
    return {"slope": r["value"], "deviance": 2.0 * (saturated - r["ll"]), "sims": sims}


def selinexor(ev: objective.Evaluator, x: dict[str, float]) -> dict[str, Any]:
    """Imax_heavy refitted at ``x``'s P0_heavy on the selinexor objective (every arm, every term)."""
    spec = ev.spec
    lo, hi = spec.params["Imax_heavy"].lo, spec.params["Imax_heavy"].hi
    arms, everything = list(spec.arms), list(spec.params)
    fit.solve_discontinuation(ev, x, lambda m: None)

    def f(v: float) -> float:
        return ev.objective({**x, "Imax_heavy": v}, arms, everything)[0]

    r = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 2e-4})
    xi = {**x, "Imax_heavy": float(r.x)}
    fit.solve_discontinuation(ev, xi, lambda m: None)
    value, _ = ev.objective(xi, arms, everything)
    return {"Imax_heavy": float(r.x), "objective": value, "disc": dict(ev.disc_median)}


def point(ev: objective.Evaluator, x0: dict[str, float], p0: float) -> dict[str, Any]:
    """The profile at ``P0_heavy = p0``: Imax_heavy and the lenalidomide slope refitted, the two
    parts of the objective and their sum, and the simulated lenalidomide incidences."""
    x = {**x0, "P0_heavy": p0}
    s = selinexor(ev, x)
    le = lenalidomide(sp.Library().override(library_override({**x, "Imax_heavy": s["Imax_heavy"]}, s["disc"])))
    return {"P0_heavy": p0, "Imax_heavy": s["Imax_heavy"], "selinexor": s["objective"],
            "lenalidomide": le["deviance"], "total": s["objective"] + le["deviance"], "slope": le["slope"],
            **{f"sim.{k}": v for k, v in le["sims"].items()}}


def show(row: dict[str, Any]) -> str:
    return (f"P0_heavy {row['P0_heavy']:6.1f}: Imax_heavy {row['Imax_heavy']:.4f}  selinexor {row['selinexor']:.2f}  "
            f"lenalidomide {row['lenalidomide']:.2f} (slope {row['slope']:.4g}; "
            + ", ".join(f"{k[4:]} {100 * v:.1f}%" for k, v in row.items() if k.startswith("sim."))
            + f")  total {row['total']:.2f}")


def minimum(rows: list[dict[str, Any]]) -> tuple[float, tuple[float | None, float | None]]:
    """The parabola's minimum through the three lowest grid points, and the 95% profile interval
    (linear interpolation of the grid; None where the grid does not reach it)."""
    p = np.array([r["P0_heavy"] for r in rows])
    t = np.array([r["total"] for r in rows])
    i = int(np.argmin(t))
    if i in (0, len(p) - 1):
        raise SystemExit(f"the profile's minimum is at the grid's edge ({p[i]:g}): widen the grid")
    a, b, c = np.polyfit(p[i - 1:i + 2], t[i - 1:i + 2], 2)
    best = float(-b / (2 * a))
    tmin = float(np.polyval([a, b, c], best))

    def cross(side: range) -> float | None:
        for j in side:
            k = j + (1 if side.step < 0 else -1)
            if t[j] - tmin >= CHI2_95:
                return float(np.interp(tmin + CHI2_95, [t[k], t[j]], [p[k], p[j]])) if t[j] != t[k] else float(p[j])
        return None

    return best, (cross(range(i - 1, -1, -1)), cross(range(i + 1, len(p))))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grid", type=float, nargs="+", default=[105.0, 115.0, 125.0, 137.0, 150.0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--n-boston", type=int, default=500)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    spec = targets.load()
    x0, disc0 = shipped_values(spec, writers.load_q_report())
    ev = objective.Evaluator(spec, args.n, args.seed, args.n_boston, threads=args.threads)
    ev.disc_median.update(disc0)
    rows = []
    for p0 in sorted(args.grid):
        rows.append(point(ev, x0, p0))
        print(f"{show(rows[-1])}  [{time.perf_counter() - t0:.0f} s]", flush=True)
    best, interval = minimum(rows)
    lo, hi = ("beyond the grid" if v is None else f"{v:.1f}" for v in interval)
    print(f"joint minimum: P0_heavy {best:.1f} (95% profile interval {lo} to {hi})")
    at = point(ev, x0, rnd(best))
    print(f"at the minimum: {show(at)}")
    print(f"to hold in calibration/targets.toml: P0_heavy start = {rnd(best):g}, Imax_heavy start = {rnd(at['Imax_heavy']):g}")
    print(f"wall time {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
