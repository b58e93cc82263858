"""Command line: ``selinexor-pkpd compare`` (the main job) and a few helpers."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from ._errors import error


def _compare(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from .compare import DEFAULT_ARMS, compare
    from .population import population

    if args.arms is None:
        arms: Any = DEFAULT_ARMS
    else:
        arms = [a.strip() for a in args.arms.split(",")]
        if not all(arms):
            raise error("--arms", f"give comma-separated preset names, got {args.arms!r}")
    out = output_dir(args.out)
    pop = population(args.population, n=args.n)
    if args.platelets_median is not None:
        pop = pop.with_platelets(median=args.platelets_median)
    t0 = time.perf_counter()
    res = compare(arms, pop, days=args.days, seed=args.seed, dose_rules=None if args.no_rules else args.rules,
                  threads=args.threads, progress=not args.quiet, summary_only=args.summary_only,
                  reference=args.reference)
    dt = time.perf_counter() - t0
    files = res.to_csv(out)
    fig_path = out / "compare.png"
    res.plot(fig_path)
    files.append(fig_path)
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        print(f"\nselinexor QW vs BIW: {pop.n} patients ({pop.name}), {args.days:g} days, seed {args.seed}, "
              f"dose rules: {'none' if args.no_rules else args.rules}\n")
        print(res.table().to_string())
        print("\nGrades from lab visits (CTCAE v4.03); percent (95% Wilson CI). mg/wk: delivered selinexor dose "
              "intensity; AUC/wk in mg.h/L; Cmax in mg/L; X>0.5 d: days with XPO1 engagement above 0.5.")
    print(f"\n{sum(res.summary['n']):.0f} patient-simulations in {dt:.1f} s. Wrote: " + ", ".join(str(f) for f in files))
    return 0


def output_dir(path: str) -> Path:
    """The output directory, created and checked writable before any computation (so that no
    run is lost to a late error)."""
    if not path or not path.strip():
        raise error("--out", "give a directory name")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise error("--out", f"{path!r} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write_test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise error("--out", f"cannot write to {path!r}: {e}") from None
    return out


def _presets(args: argparse.Namespace) -> int:
    from ._library import get_library

    lib = get_library()
    print("regimens:   " + ", ".join(lib.presets))
    print("drugs:      " + ", ".join(lib.drugs))
    print("populations: " + ", ".join(lib._native.population_names()))
    print("dose rules: label, " + ", ".join(lib._native.dose_rules_names()))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    import pandas as pd

    from .simulate import simulate

    df = simulate(args.regimen, days=args.days, dt_h=24.0)
    with pd.option_context("display.width", 200, "display.max_rows", 400):
        print(df.round(4).to_string(index=False))
    return 0


def _escalate(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from .escalate import escalate
    from .population import population

    levels = [a for a in args.levels.split(",") if a] if args.levels else None
    try:
        probs = [float(x) for x in args.dlt_probs.split(",")] if args.dlt_probs else None
    except ValueError:
        raise error("--dlt-probs", f"give comma-separated probabilities, got {args.dlt_probs!r}") from None
    designs = [d for d in args.design.split(",") if d]
    out = output_dir(args.out)
    t0 = time.perf_counter()
    res = escalate(levels, designs, dlt=args.dlt, dlt_probs=probs, trials=args.trials, seed=args.seed,
                   target=args.target, threads=args.threads, dose_rules=args.rules,
                   population=None if probs else population(args.population, n=1))
    dt = time.perf_counter() - t0
    files = res.to_csv(out)
    fig_path = out / "escalation.png"
    res.plot(fig_path)
    files.append(fig_path)
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        print(res.levels.round(3).to_string(index=False))
        print()
        print(res.designs.round(3).to_string(index=False))
    print(f"\n{args.trials} trials in {dt:.1f} s. Wrote: " + ", ".join(str(f) for f in files))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="selinexor-pkpd", description="Selinexor PK/PD engine: simulate and compare dosing regimens.")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare", help="once-weekly vs twice-weekly selinexor in one virtual population (the main job)")
    c.add_argument("--arms", help="comma-separated preset names (default: the six xd_* arms: 100/80/60 mg QW, 80/60/40 mg BIW)")
    c.add_argument("--n", type=int, default=1000, help="patients per arm (default 1000)")
    c.add_argument("--population", default="rrmm_heavily_pretreated", help="population preset (default rrmm_heavily_pretreated)")
    c.add_argument("--platelets-median", type=float, help="shift the baseline-platelet median (10^9/L)")
    c.add_argument("--seed", type=int, default=20261121)
    c.add_argument("--days", type=float, default=168.0, help="simulated days (default 168 = 24 weeks)")
    c.add_argument("--threads", type=int, help="worker threads (default: all cores)")
    rules = c.add_mutually_exclusive_group()
    rules.add_argument("--rules", default="label", help="dose rules preset (default label)")
    rules.add_argument("--no-rules", action="store_true", help="no dose modification")
    c.add_argument("--reference", help="reference arm of the paired differences (default: the first arm)")
    c.add_argument("--summary-only", action="store_true", help="stream: bounded memory, no subject table or bands")
    c.add_argument("--out", default="compare_out", help="output directory (default compare_out)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=_compare)
    s = sub.add_parser("simulate", help="one typical patient on a preset, daily")
    s.add_argument("regimen")
    s.add_argument("--days", type=float, default=28.0)
    s.set_defaults(func=_simulate)
    e = sub.add_parser("escalate", help="replicated dose-escalation trials (3+3, BOIN) with DLTs on simulated patients")
    e.add_argument("--levels", help="comma-separated regimen presets, lowest first (e.g. trial002_sel20,trial002_sel40)")
    e.add_argument("--dlt-probs", help="comma-separated true DLT probabilities per level instead of the PK/PD model")
    e.add_argument("--design", default="3+3", help="3+3, boin, or both comma-separated (default 3+3)")
    e.add_argument("--dlt", default="g4_over_7d", help="DLT preset (default g4_over_7d)")
    e.add_argument("--trials", type=int, default=1000, help="replicated trials (default 1000)")
    e.add_argument("--target", type=float, default=0.3, help="target DLT rate (default 0.3)")
    e.add_argument("--population", default="rrmm_heavily_pretreated", help="population preset")
    e.add_argument("--rules", help="dose rules preset applied in the DLT window (default none)")
    e.add_argument("--seed", type=int, default=20261207)
    e.add_argument("--threads", type=int, help="worker threads (default: all cores)")
    e.add_argument("--out", default="escalation_out", help="output directory (default escalation_out)")
    e.set_defaults(func=_escalate)
    pr = sub.add_parser("presets", help="list presets, drugs, populations, dose rules")
    pr.set_defaults(func=_presets)
    args = p.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
