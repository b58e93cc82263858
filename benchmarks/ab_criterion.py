#!/usr/bin/env python
"""Same-run A/B timing of criterion benchmark binaries: runs each binary's benchmark in turn,
round after round, so that the machine's drift hits every variant alike, and prints the median
of each variant's estimates and its ratio to the first.

    python benchmarks/ab_criterion.py --rounds 3 \\
        --bench 'single_patient_cpu/biw_80mg_24w$' --bench 'population_10k/threads_2' \\
        base=target/release/deps/simulate-HASH  variant=/other/target/release/deps/simulate-HASH

Build each variant's binary with `cargo bench --features reference --bench simulate --no-run`
(from a worktree at the commit to compare, with its own CARGO_TARGET_DIR).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess

UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
TIME = re.compile(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]")


def run(binary: str, bench: str, seconds: int) -> float:
    """Criterion's point estimate (s) of one benchmark."""
    out = subprocess.run([binary, "--bench", bench, "--discard-baseline", "--measurement-time", str(seconds),
                          "--warm-up-time", "1"], capture_output=True, text=True, check=True).stdout
    m = TIME.search(out)
    if m is None:
        raise SystemExit(f"no time in the output of {binary} --bench {bench}:\n{out}")
    return float(m.group(1)) * UNITS[m.group(2)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variants", nargs="+", help="label=path of a criterion bench binary; the first is the baseline")
    ap.add_argument("--bench", action="append", required=True, help="criterion filter (repeatable)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8, help="measurement time per run")
    args = ap.parse_args()
    variants = [v.split("=", 1) for v in args.variants]
    for bench in args.bench:
        times: dict[str, list[float]] = {label: [] for label, _ in variants}
        for r in range(args.rounds):
            for label, path in variants:
                times[label].append(run(path, bench, args.seconds))
            print(f"{bench} round {r + 1}: " + ", ".join(f"{k} {v[-1] * 1e3:.4g} ms" for k, v in times.items()), flush=True)
        base = statistics.median(times[variants[0][0]])
        for label, _ in variants:
            med = statistics.median(times[label])
            print(f"{bench}: {label} median {med * 1e3:.4g} ms, {med / base:.3f} x {variants[0][0]}", flush=True)


if __name__ == "__main__":
    main()
