"""Two threads against one, interleaved (run by hand, not in CI).

The same population call (2,000 patients of ``rrmm_heavily_pretreated``, ``xd_80_biw`` with the
label dose rules, 24 weeks) on 1 and on 2 threads, alternating, so that both see the same phases
of a noisy VM: criterion measures its two groups minutes apart, and a drift between them moves
their ratio by 10% or more. Prints every time, the pairwise ratios and their median.

    python benchmarks/threads.py [--rounds 6] [--n 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import selinexor_pkpd as sp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=6, help="alternating pairs of runs")
    ap.add_argument("--n", type=int, default=2000, help="patients per run")
    args = ap.parse_args()

    pop = sp.population("rrmm_heavily_pretreated", n=args.n)

    def run(threads: int) -> float:
        t0 = time.perf_counter()
        sp.simulate_population("xd_80_biw", pop, days=168, dose_rules="label", threads=threads)
        return time.perf_counter() - t0

    run(2)  # warm-up: library, caches
    times: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.rounds):
        for threads in (1, 2):
            times[threads].append(run(threads))
    ratios = [a / b for a, b in zip(times[1], times[2])]
    for threads in (1, 2):
        print(f"{threads} thread(s), s per run: " + " ".join(f"{t:.3f}" for t in times[threads]))
    print("pairwise ratios 1 / 2 threads: " + " ".join(f"{r:.2f}" for r in ratios))
    print(f"median ratio {statistics.median(ratios):.2f}; ratio of medians "
          f"{statistics.median(times[1]) / statistics.median(times[2]):.2f}; ratio of minima "
          f"{min(times[1]) / min(times[2]):.2f}")


if __name__ == "__main__":
    main()
