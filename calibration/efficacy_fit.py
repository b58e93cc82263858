"""Fit the myeloma efficacy model to its training targets (calibration/efficacy_targets.toml).

Usage: ``python calibration/efficacy_fit.py [--subjects N] [--write]``.

The free parameters (four: selinexor's kill at full engagement, the bortezomib log-kill per dose,
the resistance rate, and the drug sensitivity of the heavily pretreated (STORM) population
relative to the early-relapse (BOSTON) one) are fitted on the log scale by Nelder-Mead to six targets
(STORM part 2 and BOSTON SVd / Vd ORR and median PFS): the objective is the negative
log-likelihood of the published results given the simulated ones (binomial for ORR with the
published n; normal on the log scale for median PFS, with the SE of its published interval). The
median PFS of the objective is the Kaplan-Meier curve interpolated between its event times (the
simulated progressions sit on the 28-day assessment grid, so the step median is piecewise
constant in the parameters). Every arm sees the same virtual patients at every evaluation
(common random numbers). The standard errors come from the inverse of a finite-difference Hessian
of the objective at the optimum (log scale; simulation noise not included).

With ``--write`` the fitted values, with their 95% intervals and the date, are written into
data/efficacy.toml (tomlkit keeps its comments and layout) and the target table into
calibration/efficacy_report.csv.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "calibration" / "efficacy_targets.toml"
DATA = ROOT / "data" / "efficacy.toml"
POPULATIONS = ROOT / "data" / "populations.toml"
REPORT = ROOT / "calibration" / "efficacy_report.csv"

FIT_SEED = 20261121
HESSIAN_STEP = 0.25


def load_targets(path: Path = TARGETS) -> dict[str, Any]:
    import tomlkit

    return tomlkit.parse(path.read_text(encoding="utf-8")).unwrap()


def simulate_arms(cfg: dict[str, Any], *, n: int, seed: int, library: Any = None,
                  threads: int | None = None) -> dict[str, Any]:
    """Each training arm's subject table (shipped defaults, or ``library``)."""
    import selinexor_pkpd as sp

    out = {}
    for key, arm in cfg["arms"].items():
        pop = sp.population(arm["population"], n=n, library=library)
        r = sp.simulate_population(arm["regimen"], pop, days=float(arm["days"]), seed=seed,
                                   dose_rules=arm.get("dose_rules"), library=library, threads=threads,
                                   max_hours=None)
        out[key] = r.subjects
    return out


def arm_metrics(subjects: Any, *, interpolated: bool) -> dict[str, float]:
    """ORR and median PFS (months) of one simulated arm."""
    from selinexor_pkpd.efficacy import DAYS_PER_MONTH, km_median, km_median_interpolated

    t, e = subjects["pfs_days"].to_numpy(), subjects["pfs_event"].to_numpy()
    med = km_median_interpolated(t, e) if interpolated else km_median(t, e)[0]
    return {"orr": float(subjects["responder"].mean()), "pfs_median_months": med / DAYS_PER_MONTH}


def nll(cfg: dict[str, Any], metrics: dict[str, dict[str, float]]) -> float:
    """Negative log-likelihood of the published targets given the simulated arms."""
    total = 0.0
    for t in cfg["targets"]:
        sim = metrics[t["arm"]][t["metric"]]
        if t["metric"] == "orr":
            p = min(max(sim, 1e-6), 1 - 1e-6)
            k, n = t["k"], t["n"]
            # binomial deviance / 2 (0 when the simulated rate equals k/n)
            q = k / n
            total += k * math.log(q / p) + (n - k) * math.log((1 - q) / (1 - p))
        else:
            if not math.isfinite(sim):
                return 1e6
            total += 0.5 * ((math.log(sim) - math.log(t["value"])) / t["se_log"]) ** 2
    return total


def library_with(values: dict[str, float], cfg: dict[str, Any]) -> Any:
    """The library with the efficacy model and population sensitivities of the data files on disk
    (not those embedded when the package was built) and ``values`` of the free parameters."""
    import selinexor_pkpd as sp
    import tomlkit

    over: dict[str, Any] = {"efficacy": tomlkit.parse(DATA.read_text(encoding="utf-8")).unwrap()["efficacy"]}
    pops = tomlkit.parse(POPULATIONS.read_text(encoding="utf-8")).unwrap()["populations"]
    over["populations"] = {k: {"tumour_sensitivity": v["tumour_sensitivity"]} for k, v in pops.items()
                           if "tumour_sensitivity" in v}
    for name, v in values.items():
        p = cfg["params"][name]
        node = over if p.get("file") == "populations" else over.setdefault("efficacy", {})
        path = p["path"]
        for k in path[:-1]:
            node = node.setdefault(k, {})
        node[path[-1]] = float(v)
    return sp.Library().override(over)


def fit(n: int, seed: int = FIT_SEED, maxiter: int = 200) -> dict[str, Any]:
    from scipy.optimize import minimize

    cfg = load_targets()
    names = list(cfg["params"])
    lo = np.log([cfg["params"][k]["lower"] for k in names])
    hi = np.log([cfg["params"][k]["upper"] for k in names])
    x0 = np.log([cfg["params"][k]["start"] for k in names])
    cache: dict[tuple[float, ...], tuple[float, dict]] = {}

    def evaluate(x: np.ndarray) -> tuple[float, dict]:
        key = tuple(np.round(x, 12))
        if key not in cache:
            if np.any(x < lo) or np.any(x > hi):
                cache[key] = (1e6, {})
            else:
                lib = library_with(dict(zip(names, np.exp(x))), cfg)
                arms = simulate_arms(cfg, n=n, seed=seed, library=lib)
                m = {a: arm_metrics(s, interpolated=True) for a, s in arms.items()}
                cache[key] = (nll(cfg, m), m)
        return cache[key]

    res = minimize(lambda x: evaluate(x)[0], x0, method="Nelder-Mead",
                   options={"maxiter": maxiter, "xatol": 0.01, "fatol": 0.01, "initial_simplex": None})
    x = res.x
    # A step of 25% on the log scale: the simulated ORR moves in steps of 1/n and the PFS median
    # along the assessment grid, so smaller steps would measure that noise, not the curvature.
    hess = hessian(lambda z: evaluate(z)[0], x, step=HESSIAN_STEP)
    positive_definite = bool(np.all(np.linalg.eigvalsh(hess) > 0))
    try:
        cov = np.linalg.inv(hess)
        d = np.diag(cov)
        se = np.where(d > 0, np.sqrt(np.abs(d)), math.nan)
    except np.linalg.LinAlgError:
        cov, se = None, np.full(len(x), math.nan)
    at_bound = [k for k, v, a, b in zip(names, x, lo, hi) if v - a < 0.05 or b - v < 0.05]
    return {"names": names, "x": x, "se_log": se, "cov": cov, "nll": res.fun, "metrics": evaluate(x)[1],
            "evaluations": len(cache), "at_bound": at_bound, "message": res.message,
            "positive_definite": positive_definite, "hessian": hess}


def hessian(f: Any, x: np.ndarray, step: float) -> np.ndarray:
    """Central finite-difference Hessian of ``f`` at ``x`` (same step on every axis)."""
    k = len(x)
    h = np.zeros((k, k))
    f0 = f(x)
    e = np.eye(k) * step
    for i in range(k):
        h[i, i] = (f(x + e[i]) - 2 * f0 + f(x - e[i])) / step**2
        for j in range(i + 1, k):
            h[i, j] = h[j, i] = (f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j])
                                 + f(x - e[i] - e[j])) / (4 * step**2)
    return h


def write(result: dict[str, Any], n: int) -> None:
    import tomlkit

    cfg = load_targets()
    docs = {"efficacy": tomlkit.parse(DATA.read_text(encoding="utf-8")),
            "populations": tomlkit.parse(POPULATIONS.read_text(encoding="utf-8"))}
    today = _dt.date.today().isoformat()
    for name, x, se in zip(result["names"], result["x"], result["se_log"]):
        path = cfg["params"][name]["path"]
        file = cfg["params"][name].get("file", "efficacy")
        node = docs[file] if file == "populations" else docs["efficacy"]["efficacy"]
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = float(f"{math.exp(x):.4g}")
        ci = (math.exp(x - 1.96 * se), math.exp(x + 1.96 * se))
        node["source"] = (f"calibrated: {cfg['params'][name]['meaning']}; fitted by calibration/efficacy_fit.py on {today} "
                          f"({n} subjects per arm) to the six targets of calibration/efficacy_targets.toml (STORM part 2, "
                          f"BOSTON SVd and Vd ORR and median PFS); 95% CI {ci[0]:.3g}-{ci[1]:.3g} (SE of log {se:.2f})")
    DATA.write_text(tomlkit.dumps(docs["efficacy"]), encoding="utf-8")
    POPULATIONS.write_text(tomlkit.dumps(docs["populations"]), encoding="utf-8")
    rows = ["key,arm,metric,observed,simulated"]
    for t in cfg["targets"]:
        obs = t["k"] / t["n"] if t["metric"] == "orr" else t["value"]
        rows.append(f"{t['key']},{t['arm']},{t['metric']},{obs:.4f},{result['metrics'][t['arm']][t['metric']]:.4f}")
    REPORT.write_text("\n".join(rows) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=1000)
    ap.add_argument("--maxiter", type=int, default=200)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args(argv)
    r = fit(a.subjects, maxiter=a.maxiter)
    print(f"NLL {r['nll']:.3f} after {r['evaluations']} evaluations ({r['message']})")
    for name, x, se in zip(r["names"], r["x"], r["se_log"]):
        print(f"  {name:20s} {math.exp(x):.4g}  95% CI {math.exp(x - 1.96 * se):.3g}-{math.exp(x + 1.96 * se):.3g}  (SE log {se:.3f})")
    for arm, m in r["metrics"].items():
        print(f"  {arm:6s} ORR {m['orr']:.3f}  median PFS {m['pfs_median_months']:.2f} months")
    if r["at_bound"]:
        print(f"  AT A BOUND: {r['at_bound']}")
    if not r["positive_definite"]:
        print("  the Hessian is not positive definite: standard errors are not reliable")
    if r["cov"] is not None:
        sd = np.sqrt(np.abs(np.diag(r["cov"])))
        corr = r["cov"] / np.outer(sd, sd)
        print("  correlation of the log estimates:")
        for name, row in zip(r["names"], corr):
            print(f"    {name:28s} " + " ".join(f"{v:+.2f}" for v in row))
    if a.write:
        write(r, a.subjects)
    return 0


if __name__ == "__main__":
    sys.exit(main())
