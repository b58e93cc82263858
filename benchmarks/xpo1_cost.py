#!/usr/bin/env python
"""Cost of the shipped calibration's fast XPO1 engagement: the same build, the same run, the
2026-11-22 typical values (passed as ``params``) against the shipped ones (run by hand, not in CI;
benchmarks/README.md section 8).

Cases: one typical patient on 80 mg BIW for 24 weeks (``sp.simulate``, daily output; mean wall
time of ``--calls`` calls after one warm-up call, and the right-hand-side evaluations), and
``--n`` patients of the heavily pretreated population with the label dose rules for 24 weeks
(``sp.simulate_population`` on ``--threads`` threads; median of ``--rounds`` runs).

Usage:  python benchmarks/xpo1_cost.py [--calls 50] [--n 10000] [--threads 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import selinexor_pkpd as sp

#: The 2026-11-22 fit's typical values that the 2026-12-07 calibration moved (docs/calibration.md).
OLD = {"platelets": {"kon": 2.768, "koff": 0.009359, "Imax": 0.6978, "gamma": 0.2101,
                     "renewal": 1.0, "downstream": 0.0}}


def single(params: dict | None, calls: int) -> tuple[float, int]:
    """Mean seconds per call and right-hand-side evaluations of one typical patient."""
    times = np.arange(0.0, 168 * 24.0 + 1, 24.0)
    df = sp.simulate("xd_80_biw", days=168, times=times, params=params)
    t0 = time.perf_counter()
    for _ in range(calls):
        sp.simulate("xd_80_biw", days=168, times=times, params=params)
    return (time.perf_counter() - t0) / calls, int(df.attrs["rhs_evals"])


def population(params: dict | None, n: int, threads: int, rounds: int) -> float:
    """Median seconds of one population run."""
    pop = sp.population("rrmm_heavily_pretreated", n=n)
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        sp.simulate_population("xd_80_biw", pop, days=168, seed=1, threads=threads,
                               dose_rules="label", params=params)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    rows = []
    for label, params in [("2026-11-22 values", OLD), ("shipped values", None)]:
        t, rhs = single(params, a.calls)
        p = population(params, a.n, a.threads, a.rounds)
        rows.append((label, t, rhs, p))
        print(f"{label}: one patient {t * 1e3:.2f} ms, {rhs:,} right-hand sides; "
              f"{a.n:,} patients on {a.threads} threads {p:.2f} s", flush=True)
    (_, t0, _, p0), (_, t1, _, p1) = rows
    print(f"ratio shipped / 2026-11-22: one patient x{t1 / t0:.2f}, population x{p1 / p0:.2f}")


if __name__ == "__main__":
    main()
