#!/usr/bin/env python
"""Per-patient speed and accuracy of the engine against baselines (run by hand, not in CI).

The model is the same everywhere: selinexor 2-compartment oral PK (depot, central, peripheral,
AUC), XPO1 engagement X and the TPO-feedback platelet model (Prol, Tr1-Tr3, P, T), docs/model.md
sections 1-3, typical parameters read from the package's library. Regimen: selinexor 80 mg twice
weekly (days 1 and 3 of each week) for 24 weeks, no dexamethasone (it has no platelet effect).

Methods
  engine        selinexor_pkpd.simulate(..., times=[horizon]) (Dopri5, piecewise between doses),
                one patient per Python call (includes the pandas DataFrame); and the same typical
                patient simulated POP_N times in one selinexor_pkpd.simulate_population call on
                1 thread (per-subject cost when simulating many subjects, summary metrics only)
  scipy RK45    solve_ivp(method="RK45") on the same equations in numpy, restarted at each dose
                (bolus into the depot), same rtol/atol
  roadrunner    libRoadRunner (CVODE) on an Antimony model with one event per dose, same rtol/atol
  reference     solve_ivp DOP853 at rtol 1e-10, atol 1e-14, restarted at each dose

Usage:  /tmp/venv/bin/python benchmarks/baselines.py [--quick]
Needs:  scipy; libroadrunner and antimony (pip install libroadrunner antimony) for the
        RoadRunner row, which is skipped with a note when they are missing.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import time
from typing import Callable

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

import selinexor_pkpd as sp

DAYS = 168.0  # 24 weeks
HORIZON = DAYS * 24.0
RTOL, ATOL = 1e-6, 1e-9
REF_RTOL, REF_ATOL = 1e-10, 1e-14
GRID = np.arange(0.0, HORIZON + 1e-9, 12.0)  # every 12 h: daily pre-dose values and 12 h post-dose
STATES = ["A_gut", "A_c", "A_p", "AUC", "X", "Prol", "Tr1", "Tr2", "Tr3", "P", "T"]


POP_N = 500  # subjects of the population-call engine row


# --- the model, read from the package's library ---------------------------------------------
def typical_parameters() -> tuple[dict[str, float], dict[str, float]]:
    pk = {k: float(v["value"]) for k, v in sp.drug("selinexor")["params"].items()}
    pk.setdefault("tlag", 0.0)
    pl = {k: float(v["value"]) for k, v in sp.get_library().to_dict()["platelets"].items()}
    return pk, pl


def typical_population(pk: dict[str, float], pl: dict[str, float]) -> sp.Population:
    """POP_N copies of the typical patient (library P0, typical PK and PD values, no
    discontinuation), as an explicit patient table."""
    table = pd.DataFrame({
        "ID": np.arange(1, POP_N + 1), "platelets": pl["P0"], "weight": 70.0, "height": 170.0, "age": 65.0,
        "sex": "male", "disc_days": 1e4,
        "platelets.kon": pl["kon"], "platelets.Imax": pl["Imax"], "platelets.renewal": pl["renewal"],
        "selinexor.CL": pk["CL"], "selinexor.Vc": pk["Vc"], "selinexor.ka": pk["ka"],
    })
    return sp.Population.from_table(table, base="rrmm_heavily_pretreated")


def derived(pk: dict[str, float], pl: dict[str, float]) -> dict[str, float]:
    ktpo = math.log(2.0) / pl["tpo_half"]
    return {
        "ka": pk["ka"], "k10": pk["CL"] / pk["Vc"], "k12": pk["Q"] / pk["Vc"], "k21": pk["Q"] / pk["Vp"],
        "Vc": pk["Vc"], "kon": pl["kon"], "koff": pl["koff"], "Imax": pl["Imax"], "gamma": pl["gamma"],
        "ktr": 4.0 / pl["MTT"], "kcirc": 1.0 / pl["lifespan"], "ksyn": ktpo, "kel": (1.0 - pl["fP"]) * ktpo,
        "kp": pl["fP"] * ktpo / pl["P0"], "P0": pl["P0"],
        "renewal": pl["renewal"], "downstream": pl["downstream"],
        "prol0": (1.0 / pl["lifespan"]) * pl["P0"] / (4.0 / pl["MTT"]),
    }


def make_rhs(d: dict[str, float]) -> Callable[[float, np.ndarray], np.ndarray]:
    ka, k10, k12, k21, ivc = d["ka"], d["k10"], d["k12"], d["k21"], 1.0 / d["Vc"]
    kon, koff, imax, gamma = d["kon"], d["koff"], d["Imax"], d["gamma"]
    ktr, kcirc, ksyn, kel, kp = d["ktr"], d["kcirc"], d["ksyn"], d["kel"], d["kp"]
    ren, dn, prol0 = d["renewal"], d["downstream"], d["prol0"]

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        g, ac, ap, _auc, x, prol, t1, t2, t3, p, tpo = y.tolist()
        c = ac * ivc
        flow_p = k12 * ac - k21 * ap
        keep = max(1.0 - imax * x, 0.0)
        growth = max(tpo * keep ** (1.0 - dn), 0.0) ** gamma * keep ** dn
        return np.array([
            -ka * g,
            ka * g - k10 * ac - flow_p,
            flow_p,
            c,
            kon * max(c, 0.0) * (1.0 - x) - koff * x,
            ktr * prol * (growth - 1.0) * ren + ktr * (1.0 - ren) * (prol0 * growth - prol),
            ktr * (prol - t1),
            ktr * (t1 - t2),
            ktr * t2 - ktr * t3,
            ktr * t3 - kcirc * p,
            ksyn - kel * tpo - kp * p * tpo,
        ])

    return rhs


def initial_state(d: dict[str, float]) -> np.ndarray:
    base = d["kcirc"] * d["P0"] / d["ktr"]
    return np.array([0, 0, 0, 0, 0, base, base, base, base, d["P0"], 1.0], dtype=float)


def dose_schedule(regimen: sp.Regimen) -> tuple[np.ndarray, np.ndarray]:
    ev = regimen.events(days=DAYS)
    ev = ev[ev["DRUG"] == "selinexor"]
    return ev["TIME"].to_numpy(dtype=float), ev["AMT"].to_numpy(dtype=float)


# --- SciPy, restarted at each dose -----------------------------------------------------------
def solve_scipy(rhs, y0, doses, amounts, method, rtol, atol):
    """Piecewise solve (bolus into the depot at each dose); returns (final state, RHS evaluations)."""
    y = y0.copy()
    bounds = list(doses) + [HORIZON]
    nfev = 0
    for i, t0 in enumerate(bounds[:-1]):
        y[0] += amounts[i]
        sol = solve_ivp(rhs, (t0, bounds[i + 1]), y, method=method, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(sol.message)
        nfev += sol.nfev
        y = sol.y[:, -1].copy()
    return y, nfev


def solve_scipy_grid(rhs, y0, doses, amounts, method, rtol, atol):
    """The same piecewise solve with dense output on GRID (same steps as the timed run: the
    interpolant only reads them). Values at t0 < t <= t1 of each segment: pre-dose at doses."""
    y = y0.copy()
    bounds = list(doses) + [HORIZON]
    out = np.empty((len(GRID), len(y0)))
    out[GRID <= bounds[0]] = y0
    nfev = 0
    for i, t0 in enumerate(bounds[:-1]):
        t1 = bounds[i + 1]
        y[0] += amounts[i]
        sol = solve_ivp(rhs, (t0, t1), y, method=method, rtol=rtol, atol=atol, dense_output=True)
        if not sol.success:
            raise RuntimeError(sol.message)
        nfev += sol.nfev
        sel = (GRID > t0) & (GRID <= t1)
        out[sel] = sol.sol(GRID[sel]).T
        out[sel & (GRID == t1)] = sol.y[:, -1]
        y = sol.y[:, -1].copy()
    return out, nfev


# --- libRoadRunner ---------------------------------------------------------------------------
def antimony_model(d: dict[str, float], doses, amounts, y0) -> str:
    lines = ["model selinexor_tpo"]
    lines += [
        "  A_gut' = -ka*A_gut",
        "  A_c' = ka*A_gut - k10*A_c - k12*A_c + k21*A_p",
        "  A_p' = k12*A_c - k21*A_p",
        "  AUC' = C",
        "  X' = kon*C*(1 - X) - koff*X",
        "  Prol' = ktr*Prol*(G - 1)*ren + ktr*(1 - ren)*(prol0*G - Prol)",
        "  Tr1' = ktr*(Prol - Tr1)",
        "  Tr2' = ktr*(Tr1 - Tr2)",
        "  Tr3' = ktr*Tr2 - ktr*Tr3",
        "  P' = ktr*Tr3 - kcirc*P",
        "  T' = ksyn - kel*T - kp*P*T",
        "  C := A_c/Vc",
        "  K := max(1 - Imax*X, 0)",
        "  G := max(T*K^(1 - dn), 0)^gam * K^dn",
    ]
    for k in ("ka", "k10", "k12", "k21", "Vc", "kon", "koff", "Imax", "ktr", "kcirc", "ksyn", "kel", "kp",
              "prol0"):
        lines.append(f"  {k} = {d[k]!r}")
    lines.append(f"  gam = {d['gamma']!r}")
    lines.append(f"  ren = {d['renewal']!r}")
    lines.append(f"  dn = {d['downstream']!r}")
    y_start = y0.copy()
    first = doses[0] == 0.0
    if first:
        y_start[0] += amounts[0]
    for name, v in zip(STATES, y_start):
        lines.append(f"  {name} = {float(v)!r}")
    for i, (t, a) in enumerate(zip(doses, amounts)):
        if first and i == 0:
            continue
        lines.append(f"  E{i}: at (time >= {float(t)!r}): A_gut = A_gut + {float(a)!r}")
    lines.append("end")
    return "\n".join(lines)


def make_roadrunner(d, doses, amounts, y0):
    try:
        import antimony
        import roadrunner
    except ImportError as e:  # pragma: no cover - reported in the table
        return None, f"not installed ({e.name}); pip install libroadrunner antimony"
    antimony.clearPreviousLoads()
    if antimony.loadAntimonyString(antimony_model(d, doses, amounts, y0)) < 0:
        return None, "antimony: " + antimony.getLastError()
    rr = roadrunner.RoadRunner(antimony.getSBMLString(antimony.getMainModuleName()))
    rr.setIntegrator("cvode")
    rr.integrator.relative_tolerance = RTOL
    rr.integrator.absolute_tolerance = ATOL
    rr.timeCourseSelections = ["time"] + STATES
    return rr, f"libroadrunner {roadrunner.__version__} (CVODE)"


def rr_run(rr, points: int | np.ndarray):
    rr.resetAll()
    if isinstance(points, int):
        return rr.simulate(0.0, HORIZON, points)
    return rr.simulate(times=list(points))


# --- timing and errors -----------------------------------------------------------------------
def per_call(fn: Callable[[], object], min_seconds: float, min_reps: int, max_reps: int) -> tuple[float, float, int]:
    """Median wall-clock and thread-CPU seconds per call over repeated calls (after a warm-up
    call). The CPU time of this thread is what other processes on a shared machine cannot
    inflate; all the methods here run in the calling thread, except the population call (its
    worker thread is invisible to this clock: use its wall time)."""
    fn()
    wall: list[float] = []
    cpu: list[float] = []
    start = time.perf_counter()
    while len(wall) < max_reps and (len(wall) < min_reps or time.perf_counter() - start < min_seconds):
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return statistics.median(wall), statistics.median(cpu), len(wall)


def max_rel_err(x: np.ndarray, ref: np.ndarray, floor_frac: float = 0.0) -> float:
    """max |x - ref| / max(|ref|, floor_frac * max|ref|) over the grid."""
    den = np.maximum(np.abs(ref), floor_frac * np.max(np.abs(ref)))
    ok = den > 0
    return float(np.max(np.abs(x[ok] - ref[ok]) / den[ok]))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    ap.add_argument("--engine-seconds", type=float, default=5.0, help="timing budget of the engine rows")
    ap.add_argument("--baseline-seconds", type=float, default=20.0, help="timing budget of each baseline row")
    args = ap.parse_args()
    if args.quick:
        args.engine_seconds, args.baseline_seconds = 0.5, 0.1

    print(f"machine: {machine()}")
    print(f"selinexor_pkpd {sp.__version__}; model: selinexor 2-cmt oral + AUC + XPO1 X + TPO platelets (11 states)")
    pk, pl = typical_parameters()
    d = derived(pk, pl)
    if pk.get("tlag", 0.0) != 0.0 or pk.get("F", 1.0) != 1.0:
        raise SystemExit("this script assumes selinexor tlag = 0 and F = 1")
    rhs = make_rhs(d)
    y0 = initial_state(d)
    regimen = sp.Regimen.weekly("selinexor", 80, weekdays=[1, 3])
    doses, amounts = dose_schedule(regimen)
    print(f"regimen: {regimen.name}, {len(doses)} doses over {DAYS:g} days; rtol {RTOL:g}, atol {ATOL:g}; "
          f"grid every {GRID[1] - GRID[0]:g} h ({len(GRID)} points)")

    # Reference (tight), and its own accuracy
    ref, ref_nfev = solve_scipy_grid(rhs, y0, doses, amounts, "DOP853", REF_RTOL, REF_ATOL)
    ref2, _ = solve_scipy_grid(rhs, y0, doses, amounts, "DOP853", 1e-12, 1e-16)
    iC, iP = STATES.index("A_c"), STATES.index("P")
    c_ref, p_ref = ref[:, iC] / d["Vc"], ref[:, iP]
    cf = sp.closed_form(regimen, days=DAYS, times=GRID)["C_selinexor"].to_numpy()
    print(f"reference DOP853 rtol {REF_RTOL:g}: vs rtol 1e-12: PLT {max_rel_err(ref2[:, iP], p_ref):.1e}, "
          f"C {max_rel_err(ref2[:, iC] / d['Vc'], c_ref, 1e-3):.1e}; C vs the package's closed form "
          f"{max_rel_err(cf, c_ref, 1e-3):.1e}")

    # Same model? the engine at tight tolerance against the numpy reference
    def engine_grid(rtol: float, atol: float):
        df = sp.simulate(regimen, days=DAYS, times=GRID, rtol=rtol, atol=atol)
        return df["C_selinexor"].to_numpy(), df["PLT"].to_numpy(), df
    c_t, p_t, df_t = engine_grid(REF_RTOL, REF_ATOL)
    same_p, same_c = max_rel_err(p_t, p_ref), max_rel_err(c_t, c_ref, 1e-3)
    x_ref = ref[:, STATES.index("X")]
    same_x = float(np.max(np.abs(df_t["X"].to_numpy() - x_ref)))
    same_t = max_rel_err(df_t["TPO"].to_numpy(), ref[:, STATES.index("T")])
    print(f"same-model check (engine rtol {REF_RTOL:g} vs numpy reference): PLT {same_p:.1e}, C {same_c:.1e}, "
          f"TPO {same_t:.1e}, |dX| {same_x:.1e}")
    c_e, p_e, _ = engine_grid(RTOL, ATOL)
    rk, _ = solve_scipy_grid(rhs, y0, doses, amounts, "RK45", RTOL, ATOL)
    print(f"engine vs numpy RK45, both rtol {RTOL:g}: PLT {max_rel_err(p_e, rk[:, iP]):.1e}, "
          f"C {max_rel_err(c_e, rk[:, iC] / d['Vc'], 1e-3):.1e}")
    if max(same_p, same_c, same_t, same_x) > 1e-6:
        raise SystemExit("the numpy model does not match the engine: fix it before comparing speed")

    rows: list[dict[str, object]] = []

    # (a) the engine, one patient per call, output only at the horizon
    times_h = [HORIZON]
    eng_evals = sp.simulate(regimen, days=DAYS, times=times_h).attrs["rhs_evals"]
    w_eng, t_eng, n_eng = per_call(lambda: sp.simulate(regimen, days=DAYS, times=times_h), args.engine_seconds,
                                   20, 100_000)
    # The grid's outputs cut the engine's steps (12-h segments); the timed run's own steps are
    # seen at the segment ends it shares with the grid: the doses and the horizon.
    seg_ends = np.append(doses[1:], HORIZON)
    on_grid = np.isin(GRID, seg_ends)
    timed = sp.simulate(regimen, days=DAYS, times=seg_ends)
    if timed.attrs["rhs_evals"] != eng_evals or on_grid.sum() != len(seg_ends):
        raise SystemExit("outputs at the doses changed the engine's steps: fix the check")
    timed_plt = max_rel_err(timed["PLT"].to_numpy(), p_ref[on_grid])
    print(f"engine, the timed run's own steps ({eng_evals:,} evals; PLT at the {len(seg_ends)} pre-dose points "
          f"and the horizon): max rel err PLT {timed_plt:.1e} (grid run at the same points: "
          f"{max_rel_err(p_e[on_grid], p_ref[on_grid]):.1e})")
    rows.append({"method": "engine: sp.simulate (Dopri5, Rust; linear PK exact)", "wall": w_eng, "sec": t_eng,
                 "reps": n_eng, "nfev": eng_evals,
                 "plt": max_rel_err(p_e, p_ref), "c": max_rel_err(c_e, c_ref, 1e-3)})

    # (a'') the same with every state integrated (linear_pk="ode", the previous release's path)
    ode_kw = dict(days=DAYS, linear_pk="ode")
    ode_evals = sp.simulate(regimen, times=times_h, **ode_kw).attrs["rhs_evals"]
    w_ode, t_ode, n_ode = per_call(lambda: sp.simulate(regimen, times=times_h, **ode_kw), args.engine_seconds,
                                   20, 100_000)
    g_ode = sp.simulate(regimen, times=GRID, rtol=RTOL, atol=ATOL, **ode_kw)
    rows.append({"method": "engine: sp.simulate, linear_pk='ode' (every state integrated)", "wall": w_ode,
                 "sec": t_ode, "reps": n_ode, "nfev": ode_evals,
                 "plt": max_rel_err(g_ode["PLT"].to_numpy(), p_ref),
                 "c": max_rel_err(g_ode["C_selinexor"].to_numpy(), c_ref, 1e-3)})

    # (a') the same patient, POP_N times in one population call on 1 thread (no IIV, no rules)
    pop = typical_population(pk, pl)
    run_pop = lambda: sp.simulate_population(regimen, pop, days=DAYS, threads=1)  # noqa: E731
    pop_evals = float(run_pop().subjects["rhs_evals"].mean())
    w_pop, t_pop, n_pop = per_call(run_pop, args.engine_seconds, 3, 10_000)
    rows.append({"method": f"engine: sp.simulate_population, {POP_N} subjects, 1 thread (per subject)",
                 # the work runs on a rayon worker thread: this process's CPU clock does not see it,
                 # so the CPU column holds the wall time of the call (1 worker, nothing else running)
                 "wall": w_pop / POP_N, "sec": w_pop / POP_N, "reps": n_pop * POP_N, "nfev": int(pop_evals),
                 "plt": math.nan, "c": math.nan})

    # (b) SciPy RK45 (and DOP853 for information), restarted at doses
    for method in ("RK45", "DOP853"):
        _, nfev = solve_scipy(rhs, y0, doses, amounts, method, RTOL, ATOL)
        wall, sec, reps = per_call(lambda: solve_scipy(rhs, y0, doses, amounts, method, RTOL, ATOL),
                                   args.baseline_seconds, 3, 1000)
        grid, _ = solve_scipy_grid(rhs, y0, doses, amounts, method, RTOL, ATOL)
        rows.append({"method": f"SciPy solve_ivp {method} (numpy RHS)", "wall": wall, "sec": sec, "reps": reps,
                     "nfev": nfev,
                     "plt": max_rel_err(grid[:, iP], p_ref), "c": max_rel_err(grid[:, iC] / d["Vc"], c_ref, 1e-3)})

    # (c) libRoadRunner
    rr, rr_note = make_roadrunner(d, doses, amounts, y0)
    if rr is not None:
        wall, sec, reps = per_call(lambda: rr_run(rr, 2), args.baseline_seconds, 5, 100_000)
        res = rr_run(rr, GRID)
        rows.append({"method": f"RoadRunner {rr_note}", "wall": wall, "sec": sec, "reps": reps, "nfev": None,
                     "plt": max_rel_err(np.asarray(res["P"]), p_ref),
                     "c": max_rel_err(np.asarray(res["A_c"]) / d["Vc"], c_ref, 1e-3)})
    else:
        print(f"libRoadRunner: {rr_note}")

    print()
    def fmt(sec: float) -> str:
        return f"{sec * 1e3:,.2f} ms" if sec < 10 else f"{sec:,.1f} s"

    print(f"per-subject time, 24 weeks of selinexor 80 mg BIW + TPO platelet model, rtol {RTOL:g} / atol {ATOL:g}")
    print("| method | CPU time per subject | wall time per subject | reps | time / engine time (CPU) "
          "| RHS evals per subject | max rel err PLT | max rel err C |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        nfev = "n/a" if r["nfev"] is None else f"{r['nfev']:,}"
        sec = float(r["sec"])
        err = lambda v: "same solver as row 1" if math.isnan(v) else f"{v:.1e}"  # noqa: E731
        print(f"| {r['method']} | {fmt(sec)} | {fmt(float(r['wall']))} | {r['reps']} | {sec / t_eng:,.2f} | {nfev} "
              f"| {err(float(r['plt']))} | {err(float(r['c']))} |")
    print()
    rk45 = next(float(r["sec"]) for r in rows if "RK45" in str(r["method"]))
    print(f"SciPy RK45 per subject / engine per subject in a population run: {rk45 / (w_pop / POP_N):,.1f}")
    print(f"reference: DOP853 rtol {REF_RTOL:g} atol {REF_ATOL:g}, {ref_nfev:,} RHS evals; errors on the "
          f"{len(GRID)}-point grid; C errors relative to max(|C_ref|, 1e-3 max C_ref)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
