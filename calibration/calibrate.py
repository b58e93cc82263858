#!/usr/bin/env python
"""Calibrate the free platelet-model parameters against the training targets of calibration/targets.toml.

Every training arm is simulated as its protocol ran it (regimen preset, label dose rules, lab-visit
schedule, time on treatment) and graded on the lab visits, as trials grade:

    STORM part 2 / XPOVIO label pool  xd_80_biw,  dose_rules="label_biw", rrmm_heavily_pretreated
    BOSTON SVd                        svd_100_qw, dose_rules="label_qw",  rrmm_early_relapse
    BOSTON Vd                         vd_boston,  no dose rules,          rrmm_early_relapse
    XPOVIO label DLBCL pool           s_60_biw,   dose_rules="label_dlbcl", dlbcl_relapsed
    recovery experiment               xd_80_biw,  dose_rules="stop_below_50", rrmm_heavily_pretreated

The label pool's any-grade incidence and median time to onset count adverse-event reports: they are
compared with an observation model of reporting (an ASSUMPTION with one fitted parameter, q_report,
written to calibration/ae_reporting.json); grade 3, grade 4 and grade 3-4 are lab-based.

The objective is the sum over targets of ((simulated - observed) / SE_observed)^2, plus weak priors
that keep poorly identified parameters near their (sourced or assumed) starting values, plus penalties
for the physiological constraints of docs/model.md (typical patient on continuous 80 mg BIW and
100 mg QW: nadir in weeks 3-6 and no overshoot above 1.2 x baseline within 12 weeks; bounded rebound and
recovery after 4 weeks of 80 mg BIW, a rebound within the normal range allowed (ASSUMPTION); bortezomib rebound;
XPO1 occupancy after single doses). Candidates are passed
through the API (typical values as ``params=``, per-subject values and baselines as a patient table)
without rebuilding; the patients are common random numbers (fixed seed), so the objective is a smooth,
deterministic function of the parameters. Nelder-Mead runs on a bounded, transformed scale in stages
(physiology only; bortezomib on Vd; selinexor/platelet system; all parameters jointly on all arms).
Approximate 95% intervals of the fitted values come from the Gauss-Newton approximation of the
objective (calib.uncertainty).

    python calibration/calibrate.py                 # fit and print the report
    python calibration/calibrate.py --write         # ... and write data/*.toml, docs/calibration.md,
                                                    #     calibration/report.csv
    python calibration/calibrate.py --verify        # check the shipped defaults (no overrides)
    python calibration/calibrate.py --targets F --check-point '{"kon": 20}'   # check given values

Options: --n (subjects per arm in the search), --seed, --maxiter (evaluations per stage, scaled),
--check-n and --check-seed (final check), --quick (small smoke run).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import selinexor_pkpd as sp

from calib import ROOT, check, doc, fit, objective, targets, uncertainty, writers
from calib.library import library_override, shipped_values
from calib.physiology import typical_checks


def log(msg: str) -> None:
    """Print a progress line at once."""
    print(msg, flush=True)


def parser() -> argparse.ArgumentParser:
    """The command line."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=400, help="subjects per arm in the search (STORM)")
    ap.add_argument("--n-boston", type=int, default=200, help="subjects per BOSTON arm in the search")
    ap.add_argument("--seed", type=int, default=20261121, help="seed of the virtual patients in the search")
    ap.add_argument("--maxiter", type=int, default=100, help="evaluation budget in percent of the default per stage")
    ap.add_argument("--check-n", type=int, default=1000, help="subjects per arm in the final check")
    ap.add_argument("--check-seed", type=int, default=777, help="seed of the final check (not the fit seed)")
    ap.add_argument("--threads", type=int, default=None, help="worker threads (all cores when omitted)")
    ap.add_argument("--write", action="store_true", help="write data/*.toml, docs/calibration.md, calibration/report.csv")
    ap.add_argument("--verify", action="store_true", help="only check the shipped defaults (no overrides)")
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny n and budget, no writing")
    ap.add_argument("--targets", default=None,
                    help="targets file (default calibration/targets.toml; e.g. a structure experiment in calibration/experiments/)")
    ap.add_argument("--intervals", action="store_true",
                    help="only the approximate 95%% intervals of the shipped values (Gauss-Newton, search cohort)")
    ap.add_argument("--check-point", default=None, metavar="JSON",
                    help="only check these values (JSON object; the targets file's start values for the others): "
                         "discontinuation medians solved on the search cohort, then the final check at --check-seed")
    ap.add_argument("--init", default=None,
                    help='JSON object of initial values for the search, e.g. \'{"kon": 1.2}\' (priors stay centred on the starting values)')
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run the calibration (or, with --verify, the check of the shipped defaults); 0 on success."""
    ap = parser()
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    spec = targets.load(Path(args.targets)) if args.targets else targets.load()
    if args.targets and args.write:
        ap.error("--write needs the shipped targets file (an experiment's fit is not written)")
    if args.check_point and args.write:
        ap.error("--check-point checks values; it writes nothing")

    if args.verify:
        ok = check.verify(spec, args.check_n, args.check_seed, args.threads, log)
        log(f"wall time {time.perf_counter() - t_start:.0f} s")
        return 0 if ok else 1

    if args.intervals:
        x, disc = shipped_values(spec, writers.load_q_report())
        ev = objective.Evaluator(spec, args.n, args.seed, args.n_boston, threads=args.threads)
        ev.disc_median.update(disc)
        log(f"Approximate 95% intervals of the shipped values (n={args.n}/{args.n_boston}, seed {args.seed}):")
        res = uncertainty.fisher_intervals(ev, x, list(spec.params), log)
        for k, v in res.items():
            log(f"  {k}: {x[k]:.4g} [{v['lo']:.4g}, {v['hi']:.4g}]  largest correlation {v['corr'][0]:+.2f} with {v['corr'][1]}")
        log(f"wall time {time.perf_counter() - t_start:.0f} s")
        return 0

    if args.quick:
        args.n, args.n_boston, args.maxiter, args.check_n = 120, 80, 8, 200
        args.write = False

    x = spec.start
    for flag, given in (("--init", args.init), ("--check-point", args.check_point)):
        if given:
            values = json.loads(given)
            unknown = sorted(set(values) - set(x))
            if unknown:
                ap.error(f"{flag}: unknown parameters {unknown}")
            x.update({k: float(v) for k, v in values.items()})
    ev = objective.Evaluator(spec, args.n, args.seed, args.n_boston, threads=args.threads)
    if args.check_point:
        log(f"Check of the given values: discontinuation medians on n={args.n}/{args.n_boston}, seed {args.seed}")
        fit.solve_discontinuation(ev, x, log)
    else:
        log(f"Calibration: n={args.n} (STORM), {args.n_boston} (BOSTON), seed {args.seed}, budget {args.maxiter}%")
        x = fit.fit(ev, x, args.maxiter, log)
        log(f"search done after {ev.n_evals} evaluations, {time.perf_counter() - t_start:.0f} s")
    intervals = None
    if not args.quick and not args.check_point:
        log("Approximate 95% intervals (Gauss-Newton):")
        intervals = uncertainty.fisher_intervals(ev, x, [k for k in spec.params if k in fit.fitted(spec)], log)
        for k, v in intervals.items():
            log(f"  {k}: {x[k]:.4g} [{v['lo']:.4g}, {v['hi']:.4g}]  largest correlation {v['corr'][0]:+.2f} with {v['corr'][1]}")

    lib = sp.Library().override(library_override(x, ev.disc_median))
    log(f"Final check with the engine's sampler: n={args.check_n} per arm, seed {args.check_seed}")
    sims = check.check(spec, lib, args.check_n, args.check_seed, x["q_report"], threads=args.threads)
    rows = check.report_rows(spec, sims)
    check.print_table(rows, log)
    horizon = None if args.quick else check.check_horizon(spec, lib, args.check_n, args.check_seed, x["q_report"],
                                                          args.threads, log)
    typical = typical_checks(None, lib)
    check.outside(rows, typical, log)
    wall = time.perf_counter() - t_start
    log(f"wall time {wall / 60:.1f} min")

    if args.write:
        writers.write_library(ROOT / "data", spec, x, ev.disc_median, fit.fitted(spec), log)
        writers.write_ae_reporting(x["q_report"], log)
        writers.write_tables(ROOT / "calibration", spec, rows, x, ev.history, log)
        run = {"wall_s": wall, "command": "python " + shlex.join(["calibration/calibrate.py"] + (argv if argv is not None else sys.argv[1:])),
               "n": args.n, "n_boston": args.n_boston, "seed": args.seed, "maxiter": args.maxiter,
               "n_evals": ev.n_evals, "check_n": args.check_n, "check_seed": args.check_seed, "check": sims,
               "typical": typical, "horizon": horizon, "intervals": intervals}
        doc.write_doc(spec, x, ev.disc_median, rows, run, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
