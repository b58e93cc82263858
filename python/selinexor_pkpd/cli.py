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
    from .compare import DEFAULT_ARMS, compare
    from .population import population
    from .supportive import SUPPORTIVE_ARMS, SUPPORTIVE_RULES

    rules: Any = None if args.no_rules else _rule_sets(args.rules)
    if args.scenario == "supportive":
        for flag, given in [("--arms", args.arms is not None), ("--no-rules", args.no_rules),
                            ("--rules", args.rules != "label")]:
            if given:
                raise error(flag, "--scenario supportive sets the arms and their rules; leave out " + flag)
        arms: Any = dict(SUPPORTIVE_ARMS)
        rules = dict(SUPPORTIVE_RULES)
    elif args.arms is None:
        arms = DEFAULT_ARMS
    else:
        arms, rules = _arms_and_rules(args.arms, rules)
    formats = _formats(args.format)
    out = output_dir(args.out)
    pop = population(args.population, n=args.n)
    if args.platelets_median is not None:
        pop = pop.with_platelets(median=args.platelets_median)
    client = _dask_client(args.scheduler)
    t0 = time.perf_counter()
    try:
        res = compare(arms, pop, days=args.days, seed=args.seed, dose_rules=rules,
                      threads=args.threads, progress=not args.quiet, summary_only=args.summary_only,
                      reference=args.reference, stop_at_progression=args.stop_at_progression, executor=client,
                      lab_error=_lab_error(args.lab_cv, args.lab_sd))
    finally:
        if client is not None:
            client.close()
    dt = time.perf_counter() - t0
    files = res.to_csv(out)
    fig_path = out / "compare.png"
    res.plot(fig_path, formats=formats)
    files += [fig_path] + [fig_path.with_suffix("." + f) for f in formats if f != "png"]
    br_path = out / "benefit_risk.png"
    res.plot_benefit_risk(br_path, formats=formats)
    files += [br_path] + [br_path.with_suffix("." + f) for f in formats if f != "png"]
    if not args.summary_only:
        vpc_path = out / "vpc.png"
        res.plot_vpc(vpc_path, formats=formats)
        files += [vpc_path] + [vpc_path.with_suffix("." + f) for f in formats if f != "png"]
    print()
    print(res.report())
    if args.scenario == "supportive" and res.subjects is not None:
        from .supportive import supportive_table

        print("\nSupportive care (means per patient; rescued: romiplostim started during a selinexor hold):")
        print(supportive_table(res).round(2).to_string())
    print(f"\n{sum(res.summary['n']):.0f} patient-simulations in {dt:.1f} s. Wrote: " + ", ".join(str(f) for f in files))
    return 0


def _arms_and_rules(text: str, rules: Any) -> tuple[list[str], Any]:
    """``--arms``: comma-separated presets, each optionally with its own rule sets after ``=``
    (``xd_80_biw=label+transfuse_below_10``, ``=none`` for no rules); the other arms keep
    ``rules`` (``--rules`` / ``--no-rules``)."""
    arms: list[str] = []
    own: dict[str, Any] = {}
    for item in text.split(","):
        name, sep, arm_rules = (part.strip() for part in item.partition("="))
        if not name or (sep and not arm_rules):
            raise error("--arms", f"give comma-separated preset names, each optionally with '=RULES', got {text!r}")
        if name in arms:
            raise error("--arms", f"preset {name!r} is given more than once in {text!r}")
        arms.append(name)
        if sep:
            own[name] = None if arm_rules == "none" else _rule_sets(arm_rules)
    if not own:
        return arms, rules
    return arms, {name: own.get(name, rules) for name in arms}


def _rule_sets(text: str) -> str | list[str]:
    """``--rules``: one preset, or several rule sets joined by ``+`` (``label+transfuse_below_10``)."""
    names = [n.strip() for n in text.split("+")]
    if not all(names):
        raise error("--rules", f"give preset names joined by '+', got {text!r}")
    return names[0] if len(names) == 1 else names


def _lab_error(cv: float | None, sd: float | None) -> dict[str, float] | None:
    """``--lab-cv`` / ``--lab-sd`` as compare's ``lab_error``."""
    if cv is None and sd is None:
        return None
    return {k: v for k, v in (("prop", cv), ("add", sd)) if v is not None}


def _dask_client(address: str | None) -> Any:
    """A Dask client connected to ``address`` (``--scheduler``), or None."""
    if address is None:
        return None
    try:
        from distributed import Client
    except ImportError:
        raise error("--scheduler", 'needs Dask: pip install "selinexor-pkpd[dask]"') from None
    try:
        return Client(address, timeout=15)
    except (OSError, TimeoutError, ValueError) as e:
        raise error("--scheduler", f"cannot connect to {address!r}: {e}") from None


FIGURE_FORMATS = ("png", "svg", "pdf")


def _formats(text: str) -> list[str]:
    fmts = [f.strip().lower().lstrip(".") for f in text.split(",") if f.strip()]
    bad = [f for f in fmts if f not in FIGURE_FORMATS]
    if bad or not fmts:
        raise error("--format", f"give comma-separated figure formats among {', '.join(FIGURE_FORMATS)}, got {text!r}")
    return list(dict.fromkeys(fmts))


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

    lib = get_library().to_dict()

    def section(title: str, items: dict[str, str]) -> None:
        print(f"{title}:")
        width = max((len(k) for k in items), default=0)
        for name, desc in items.items():
            print(f"  {name:<{width}}  {_one_line(desc)}")
        print()

    section("regimens (docs/regimens.md)", {k: v.get("description", "") for k, v in lib["regimens"].items()})
    section("populations", {k: v.get("description", "") for k, v in lib["populations"].items()})
    section("dose rules", {"label": "XPOVIO label rules, the ladder chosen by the regimen's selinexor schedule "
                                    "(label_biw for twice weekly, label_qw otherwise)",
                           **{k: v.get("description", "") for k, v in lib["dose_rules"].items()}})
    section("drugs", {k: v.get("description", "") for k, v in lib["drugs"].items()})
    return 0


def _one_line(text: str, width: int = 110) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


#: Columns of ``selinexor-pkpd simulate`` with their units (shown in its --help).
SIMULATE_COLUMNS = {
    "TIME": ("h", "time since the first dose"),
    "DAY": ("d", "TIME / 24"),
    "C_<drug>": ("mg/L", "plasma concentration of each drug of the regimen (1 mg/L = 1000 ng/mL)"),
    "AUC_<drug>": ("mg.h/L", "cumulative AUC of each drug since time 0"),
    "X": ("0-1", "XPO1 engagement: fraction of XPO1 bound by selinexor"),
    "E": ("0-1", "effect compartment of X (only when platelets.ke0 > 0)"),
    "GRADE": ("CTCAE", "thrombocytopenia grade v4.03 of PLT (0-4)"),
    "PLT": ("10^9/L", "circulating platelets"),
    "TPO": ("ratio", "thrombopoietin relative to baseline (1 = baseline)"),
    "PROL": ("10^9/L", "proliferating megakaryocyte progenitors (model state, in platelet-equivalent units; "
                       "baseline P0 x MTT / (4 x lifespan))"),
}


def _simulate(args: argparse.Namespace) -> int:
    import pandas as pd

    from .simulate import simulate

    if not (args.every > 0):
        raise error("--every", f"give a positive number of hours, got {args.every!r}")
    out = None
    if args.out:
        out = Path(args.out)
        if out.is_dir():
            raise error("--out", f"{args.out!r} is a directory; give a CSV file name")
        if not out.parent.is_dir():
            raise error("--out", f"the directory of {args.out!r} does not exist")
    df = simulate(args.regimen, days=args.days, dt_h=args.every)
    units = {c: next((u for k, (u, _) in SIMULATE_COLUMNS.items()
                      if k == c or (k.endswith("<drug>") and c.startswith(k[: -len("<drug>")]))), "")
             for c in df.columns}
    df.columns = [f"{c} ({units[c]})" if units[c] else c for c in df.columns]
    if out is not None:
        try:
            df.to_csv(out, index=False)
        except OSError as e:
            raise error("--out", f"cannot write {args.out!r}: {e}") from None
        print(f"{len(df)} rows every {args.every:g} h over {args.days:g} days of {args.regimen}: wrote {out}")
        return 0
    with pd.option_context("display.width", 250, "display.max_rows", None, "display.max_columns", 50):
        print(df.round(4).to_string(index=False))
    return 0


def _simon(args: argparse.Namespace) -> int:
    from .simon import simon, simon_oc, simon_simulate

    design = dict(r1=args.r1, n1=args.stage1, r=args.r, n=args.total)
    head = (f"Simon two-stage: stage 1 = {args.stage1} patients, stop with <= {args.r1} responders; "
            f"{args.total} in all, active with > {args.r} responders")
    if args.rate is not None:
        exact = simon_oc(p=args.rate, **design)
        sim = simon_simulate(p=args.rate, trials=args.trials, seed=args.seed, **design)
        print(head + f"; fixed response rate {args.rate:g}, {args.trials} simulated trials")
        rows = [("probability of early stopping", "pet"), ("probability of declaring active", "p_active"),
                ("expected sample size", "en")]
        for label, k in rows:
            print(f"  {label:34s} exact {exact[k]:.4f}   simulated {sim[k]:.4f}")
        return 0
    res = simon(args.arm, stage1=args.stage1, r1=args.r1, total=args.total, r=args.r, trials=args.trials,
                seed=args.seed, population=args.population, days=args.days,
                dose_rules=None if args.no_rules else args.rules, threads=args.threads)
    print(head + f"; arm {args.arm}, {args.trials} trials of engine-simulated patients ({args.population}, "
                 f"{args.days:g} days)")
    print(f"  simulated ORR (PR or better, IMWG) over {args.trials * args.total} patients: {res['orr']:.3f}")
    rows = [("probability of early stopping", "pet"), ("probability of declaring active", "p_active"),
            ("expected sample size", "en")]
    for label, k in rows:
        print(f"  {label:34s} simulated {res[k]:.4f}   exact at that ORR {res[k + '_exact']:.4f}")
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


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after every option's help (options without a default say what happens in
    their help); the epilog keeps its lines."""

    def _get_help_string(self, action: argparse.Action) -> Optional[str]:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:  # an epilog laid out by hand
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="selinexor-pkpd", formatter_class=_Help,
                                description="Selinexor PK/PD engine: simulate and compare dosing regimens.")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="{compare,simulate,escalate,simon,presets}")
    c = sub.add_parser(
        "compare", formatter_class=_Help,
        help="once-weekly vs twice-weekly selinexor in one virtual population (the main job)",
        description="Compare selinexor arms on the same virtual patients (common random numbers): prints the "
                    "table (incidences with 95% CIs, a legend), the paired differences against the reference arm "
                    "and a closing finding; writes summary.csv, differences.csv, subjects.csv, bands.csv, "
                    "vpc.csv, inputs.json and the figures compare.png, benefit_risk.png (ORR against grade 3+ "
                    "thrombocytopenia, Kaplan-Meier PFS per arm) and vpc.png (visual predictive check: median "
                    "and 5-95% of the simulated platelets at the lab visits per arm; not with --summary-only) "
                    "to --out.")
    c.add_argument("--arms", metavar="PRESET[=RULES],...",
                   help="comma-separated regimen presets (see `selinexor-pkpd presets`), each optionally with its own "
                        "dose rules after '=' (xd_100_qw=label+transfuse_below_10; =none: no rules; the others "
                        "follow --rules); default: the six xd_* arms 100/80/60 mg QW and 80/60/40 mg BIW, each with "
                        "dexamethasone 20 mg per selinexor dose")
    c.add_argument("--n", type=int, default=1000, help="patients per arm (the same patients in every arm)")
    c.add_argument("--population", default="rrmm_heavily_pretreated", help="population preset")
    c.add_argument("--platelets-median", type=float, metavar="PLT",
                   help="shift the median baseline platelets (10^9/L) of the population; default: the preset's")
    c.add_argument("--seed", type=int, default=20261121,
                   help="random seed: patient i depends only on (seed, i), so a run is reproducible")
    c.add_argument("--days", type=float, default=168.0, help="simulated days per patient (168 = 24 weeks)")
    c.add_argument("--threads", type=int, help="worker threads; default: all cores")
    rules = c.add_mutually_exclusive_group()
    rules.add_argument("--rules", default="label",
                       help="dose-rules preset (label, label_qw, label_biw, ...), or several rule sets in one run "
                            "joined by '+' (label+transfuse_below_10); see `selinexor-pkpd presets`")
    rules.add_argument("--no-rules", action="store_true", help="no dose modification")
    c.add_argument("--scenario", choices=["supportive"],
                   help="supportive: 80 mg BIW without and with a romiplostim rescue (during selinexor holds with "
                        "the label titration; or 5 ug/kg below 25 until >= 50, as the selinexor consensus "
                        "recommends), and 100 mg QW, each arm with its own rule sets and transfusions below 10 "
                        "(docs/supportive_care.md); replaces --arms and --rules")
    c.add_argument("--reference", help="reference arm of the paired differences; default: the first arm")
    c.add_argument("--summary-only", action="store_true",
                   help="stream: bounded memory, no subject table nor platelet bands (the figure's platelet panels "
                        "are empty)")
    c.add_argument("--lab-cv", type=float, metavar="CV",
                   help="proportional error of the lab platelet counts that grades and dose rules read (e.g. 0.1); "
                        "default: exact counts")
    c.add_argument("--lab-sd", type=float, metavar="SD",
                   help="additive error (10^9/L) of the lab platelet counts; default: none")
    c.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the patients on a Dask cluster, e.g. tcp://host:8786 (same results; needs the [dask] "
                        "extra; docs/scale-out.md); default: this machine")
    c.add_argument("--out", default="compare_out", help="output directory")
    c.add_argument("--format", default="png", metavar="FMT,...",
                   help="figure formats, comma-separated among png, svg, pdf (compare.png, compare.svg, ...)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.add_argument("--stop-at-progression", action="store_true",
                   help="stop each patient's treatment at progression (IMWG, M-protein model)")
    c.set_defaults(func=_compare)
    cols = "\n".join(f"  {k:<11} {u:<7} {d}" for k, (u, d) in SIMULATE_COLUMNS.items())
    s = sub.add_parser(
        "simulate", formatter_class=_Help,
        help="one typical patient on a preset, without dose modification",
        description="Simulate the typical patient (no inter-individual variability, no dose rules) on a regimen "
                    "preset and print the time course (or write it as CSV with --out). Values at a dose time are "
                    "pre-dose, so --every 24 shows troughs only.",
        epilog="columns (unit in the header):\n" + cols)
    s.add_argument("regimen", help="regimen preset name (see `selinexor-pkpd presets`)")
    s.add_argument("--days", type=float, default=28.0, help="simulated days")
    s.add_argument("--every", type=float, default=1.0, metavar="HOURS", help="output interval in hours")
    s.add_argument("--out", metavar="FILE.csv", help="write the table as CSV instead of printing it")
    s.set_defaults(func=_simulate)
    e = sub.add_parser("escalate", formatter_class=_Help,
                       help="replicated dose-escalation trials (3+3, BOIN) with DLTs on simulated patients",
                       description="Replicate dose-escalation trials (3+3, BOIN) whose DLTs come from simulated "
                                   "patients (or from given DLT probabilities); writes levels, designs and "
                                   "escalation.png to --out.")
    e.add_argument("--levels", metavar="PRESET,...",
                   help="comma-separated regimen presets, lowest first (e.g. trial002_sel20,trial002_sel40); "
                        "required unless --dlt-probs is given (then the levels are named L1, L2, ...)")
    e.add_argument("--dlt-probs", metavar="P,...", help="comma-separated true DLT probabilities per level instead of the PK/PD model")
    e.add_argument("--design", default="3+3", help="3+3, boin, or both comma-separated")
    e.add_argument("--dlt", default="g4_over_7d", help="DLT definition preset")
    e.add_argument("--trials", type=int, default=1000, help="replicated trials")
    e.add_argument("--target", type=float, default=0.3, help="target DLT rate")
    e.add_argument("--population", default="rrmm_heavily_pretreated", help="population preset")
    e.add_argument("--rules", help="dose-rules preset applied in the DLT window; default: none")
    e.add_argument("--seed", type=int, default=20261207, help="random seed")
    e.add_argument("--threads", type=int, help="worker threads; default: all cores")
    e.add_argument("--out", default="escalation_out", help="output directory")
    e.set_defaults(func=_escalate)
    sm = sub.add_parser("simon", formatter_class=_Help,
                        help="Simon two-stage trials of an arm with the engine's simulated responses",
                        description="Simulate Simon two-stage phase II trials of a regimen: each trial enrols its own "
                                    "virtual patients, whose IMWG responses come from the M-protein model; prints the "
                                    "probability of stopping early, of declaring the regimen active and the expected "
                                    "sample size, next to the exact figures at the simulated response rate. With "
                                    "--rate, the exact and simulated figures at that fixed rate instead.")
    sm.add_argument("arm", nargs="?", default="trial000_arm1", help="regimen preset")
    sm.add_argument("--stage1", type=int, default=13, help="patients in stage 1")
    sm.add_argument("--r1", type=int, default=3, help="stop after stage 1 with this many responders or fewer")
    sm.add_argument("--total", type=int, default=43, help="patients in both stages")
    sm.add_argument("--r", type=int, required=True, help="declare active with more than this many responders")
    sm.add_argument("--trials", type=int, default=200, help="simulated trials")
    sm.add_argument("--rate", type=float, help="a fixed response rate instead of the engine's")
    sm.add_argument("--population", default="rrmm_heavily_pretreated", help="population preset")
    sm.add_argument("--days", type=float, default=168.0, help="simulated days per patient (window of the best response)")
    sm.add_argument("--seed", type=int, default=20261207, help="random seed")
    sm.add_argument("--threads", type=int, help="worker threads; default: all cores")
    srules = sm.add_mutually_exclusive_group()
    srules.add_argument("--rules", default="label", help="dose-rules preset: label, label_qw or label_biw")
    srules.add_argument("--no-rules", action="store_true", help="no dose modification")
    sm.set_defaults(func=_simon)
    pr = sub.add_parser("presets", formatter_class=_Help,
                        help="list regimen, population, dose-rule presets and drugs, with one-line descriptions",
                        description="List the presets of the library with their one-line descriptions.")
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
