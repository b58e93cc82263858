"""Fit the partner drugs' platelet effects on the partners' own trials (no selinexor).

Reads calibration/partner_fit.toml (arms, free parameters) and the observed incidences of
calibration/partner_targets.toml; fits one parameter per drug, in file order, by maximum binomial
likelihood over the simulated arms (common random numbers, so the objective is deterministic);
reports each estimate with its profile-likelihood 95% interval (deviance <= 3.84), then the
checks (targets compared, not fitted) with the fitted values, and, with --write, writes the
values and their source strings into data/drugs.toml (tomlkit: comments and other lines
unchanged).

    python calibration/partners.py            # fit and print
    python calibration/partners.py --write    # ... and write data/drugs.toml
"""

from __future__ import annotations

import argparse
import datetime
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import tomlkit

import selinexor_pkpd as sp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHI2_95 = 3.841


def load() -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    fit = tomllib.loads((HERE / "partner_fit.toml").read_text())
    targets = tomllib.loads((HERE / "partner_targets.toml").read_text())["targets"]
    return fit, targets


def incidence(arm: dict[str, Any], metric: str, lib: sp.Library, n: int, seed: int) -> float:
    """Simulated incidence of ``metric`` in ``arm`` under library ``lib``."""
    pop = sp.population(arm["population"], n=n, library=lib).with_discontinuation(arm["discontinuation_median_days"])
    reg = arm["regimen"] if isinstance(arm["regimen"], str) else sp.Regimen(arm["regimen"], name=arm["label"])
    s = sp.simulate_population(reg, pop, days=arm["days"], seed=seed, library=lib).subjects
    if metric == "g34_lab":
        return float(np.mean(s["worst_grade_lab"] >= 3))
    raise ValueError(f"unknown metric {metric!r}")


def override(fit: dict[str, Any], value: float, done: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The library override for ``value`` of this fit, on top of the fits already done."""
    drugs: dict[str, Any] = {d: dict(v) for d, v in done.items()}
    entry = drugs.setdefault(fit["drug"], {"params": {}})
    entry.setdefault("params", {})
    if "effect" in fit:
        entry["effect"] = fit["effect"]
    for k, v in fit.get("fixed", {}).items():
        entry["params"][k] = {"value": v}
    entry["params"][fit["param"]] = {"value": value}
    return {"drugs": drugs}


def loglik(fit: dict[str, Any], value: float, ctx: dict[str, Any]) -> tuple[float, list[float]]:
    """Binomial log-likelihood of ``fit``'s targets at ``value``, over ``ctx["base"]`` (a library;
    the shipped one when absent) with the fits already done; and the simulated incidences."""
    lib = ctx.get("base", sp.Library()).override(override(fit, value, ctx["done"]))
    ll, sims = 0.0, []
    for t in fit["targets"]:
        p_obs = ctx["targets"][t["key"]]["pct"] / 100.0
        k = p_obs * t["n"]
        p = incidence(ctx["arms"][t["arm"]], t["metric"], lib, ctx["n_sim"], ctx["seed"])
        sims.append(p)
        p = min(max(p, 0.5 / ctx["n_sim"]), 1 - 0.5 / ctx["n_sim"])
        ll += k * math.log(p) + (t["n"] - k) * math.log(1 - p)
    return ll, sims


def fit_one(fit: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    lo, hi = (math.log(b) for b in fit["bounds"])
    cache: dict[float, tuple[float, list[float]]] = {}

    def f(u: float) -> float:
        if u not in cache:
            cache[u] = loglik(fit, math.exp(u), ctx)
        return cache[u][0]

    grid = np.linspace(lo, hi, 13)
    vals = [f(u) for u in grid]
    i = int(np.argmax(vals))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    for _ in range(18):  # golden section to a relative step of ~1e-4 on the parameter
        if f(c) >= f(d):
            b, d = d, c
            c = b - g * (b - a)
        else:
            a, c = c, d
            d = a + g * (b - a)
    u_hat = c if f(c) >= f(d) else d
    ll_hat = f(u_hat)

    def edge(direction: float) -> float | None:
        """Profile-likelihood 95% limit on one side (None: beyond the bound)."""
        inner, step = u_hat, 0.05 * direction
        outer = u_hat + step
        while 2 * (ll_hat - f(outer)) < CHI2_95:
            inner, outer = outer, outer + step
            step *= 1.5
            if not lo - 1e-12 <= outer <= hi + 1e-12:
                return None
        for _ in range(20):
            mid = 0.5 * (inner + outer)
            if 2 * (ll_hat - f(mid)) < CHI2_95:
                inner = mid
            else:
                outer = mid
        return math.exp(0.5 * (inner + outer))

    at_bound = min(u_hat - lo, hi - u_hat) < 0.02 * (hi - lo)
    return {"value": math.exp(u_hat), "ci": (edge(-1.0), edge(1.0)), "sims": cache[u_hat][1], "ll": ll_hat,
            "at_bound": at_bound}


def rnd(v: float, sig: int = 4) -> float:
    return float(f"{v:.{sig}g}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="write the fitted values into data/drugs.toml")
    args = ap.parse_args(argv)
    cfg, targets = load()
    ctx = {"arms": cfg["arms"], "targets": targets, "n_sim": cfg["n_sim"], "seed": cfg["seed"], "done": {}}
    results = []
    for fit in cfg["fit"]:
        r = fit_one(fit, ctx)
        value = rnd(r["value"])
        ctx["done"] = override(fit, value, ctx["done"])["drugs"]
        _, sims = loglik(fit, value, ctx)
        ci = ", ".join("beyond bound" if c is None else f"{rnd(c, 3):g}" for c in r["ci"])
        print(f"{fit['drug']}.{fit['param']} = {value:g} {fit['unit']} (95% profile CI {ci})"
              + ("  AT A BOUND: the structure does not fit these targets" if r["at_bound"] else ""))
        for t, p in zip(fit["targets"], sims):
            obs = targets[t["key"]]["pct"]
            print(f"    {t['key']}: observed {obs:g}% (n={t['n']}), simulated {100 * p:.1f}%")
        results.append((fit, value, r, sims))
    lib = sp.Library().override({"drugs": ctx["done"]})
    for c in cfg.get("check", []):
        p = incidence(cfg["arms"][c["arm"]], c["metric"], lib, cfg["n_sim"], cfg["seed"])
        print(f"check {c['key']}: observed {targets[c['key']]['pct']:g}% (n={c['n']}), simulated {100 * p:.1f}%"
              f" ({c['checks']})")
    if args.write:
        write(results, targets)
    return 1 if any(r["at_bound"] for _, _, r, _ in results) else 0


def write(results: list[tuple[dict[str, Any], float, dict[str, Any], list[float]]], targets: dict[str, Any]) -> None:
    path = ROOT / "data" / "drugs.toml"
    doc = tomlkit.parse(path.read_text())
    today = datetime.date.today().isoformat()
    for fit, value, r, sims in results:
        drug = doc["drugs"][fit["drug"]]
        lo, hi = r["ci"]
        names = ", ".join(f"{t['key']} ({targets[t['key']]['trial']}, {targets[t['key']]['pct']:g}%)"
                          for t in fit["targets"])
        src = (f"fitted by calibration/partners.py on {today} to {names}: partner-drug trials without selinexor "
               f"(calibration/partner_targets.toml, docs/partners.md); 95% profile CI "
               f"{'-' if lo is None else f'{rnd(lo, 3):g}'} to {'-' if hi is None else f'{rnd(hi, 3):g}'}")
        if "effect" in fit:
            drug["effect"] = fit["effect"]
            drug["effect_source"] = fit["fixed_source"]
        params = drug["params"]
        for k, v in fit.get("fixed", {}).items():
            params[k] = tomlkit.inline_table()
            params[k].update({"value": v, "unit": "", "source": fit["fixed_source"]})
        entry = tomlkit.inline_table()
        entry.update({"value": value, "unit": fit["unit"], "source": src})
        params[fit["param"]] = entry
    # The library's style for inline tables: "{ value = ... }".
    text = re.sub(r"^(\w+ = )\{(value = .*)\}$", r"\1{ \2 }", tomlkit.dumps(doc), flags=re.M)
    path.write_text(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
