"""Speed of replicated dose-escalation trials: 1,000 3+3 trials over the 4 trial002 example
levels (DLT rule g4_over_7d, 28-day window) on 2 threads; prints the time and the patients
simulated per second (each enrolled patient is simulated once, whatever design enrols it).

    python benchmarks/escalation.py [--trials 1000] [--threads 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import selinexor_pkpd as sp

LEVELS = ["trial002_sel20", "trial002_sel40", "trial002_sel60", "trial002_sel80"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    best = None
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        # reference_n=1: time the trials, not the true-rate population
        res = sp.escalate(LEVELS, "3+3", dlt="g4_over_7d", trials=a.trials, threads=a.threads, reference_n=1)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    n = res.raw["simulated"]
    print(f"{a.trials} 3+3 trials, 4 levels, {a.threads} threads: {best:.3f} s (best of {a.repeat}); "
          f"{n} patients simulated (28 days each), {n / best:,.0f} patients/s")


if __name__ == "__main__":
    main()
