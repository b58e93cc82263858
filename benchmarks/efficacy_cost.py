"""Cost of the efficacy model per patient: a same-run A/B of virtual trials with and without it.

    python benchmarks/efficacy_cost.py [--n 2000] [--rounds 7] [--threads 1]

The two arms of each case are the same native trial (same patients, same regimen, same rules)
built with ``efficacy=True`` and ``efficacy=False``, timed in alternation (ABAB...) so that drift of
the machine's speed hits both; the ratio is the median of the per-round ratios. Efficacy adds no
right-hand-side evaluation (M-protein is solved in closed form after the ODE run, with the
engagement integral accumulated from the solver's steps; docs/efficacy.md), so the ratio measures
the observer's quadrature, the partner-dose sums and the response assessment.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import selinexor_pkpd as sp
from selinexor_pkpd import _core
from selinexor_pkpd.simulate import params_json

CASES = [
    ("xd_80_biw", "rrmm_heavily_pretreated", "label", 168.0),
    ("svd_100_qw", "rrmm_early_relapse", "label", 730.0),
]


def trial(regimen: str, population: str, rules: str, days: float, efficacy: bool) -> _core.Trial:
    lib = sp.Library()
    reg_json = sp.Regimen.preset(regimen, library=lib).validated_json(lib)
    pop = sp.population(population, n=1)
    return _core.Trial(lib._native, reg_json, json.dumps(pop.spec), rules, params_json(None), days, 20261121, [],
                       efficacy=efficacy)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    for regimen, population, rules, days in CASES:
        on, off = (trial(regimen, population, rules, days, e) for e in (True, False))
        on.run(0, 50, a.threads), off.run(0, 50, a.threads)  # warm-up
        ratios, t_on, t_off = [], [], []
        for _ in range(a.rounds):
            t0 = time.perf_counter()
            off.run(0, a.n, a.threads)
            t1 = time.perf_counter()
            on.run(0, a.n, a.threads)
            t2 = time.perf_counter()
            t_off.append(t1 - t0)
            t_on.append(t2 - t1)
            ratios.append((t2 - t1) / (t1 - t0))
        print(f"{regimen} ({population}, {rules} rules, {days:g} days, {a.n} patients, {a.threads} thread(s)): "
              f"without efficacy {1e3 * statistics.median(t_off) / a.n:.3f} ms/patient, with "
              f"{1e3 * statistics.median(t_on) / a.n:.3f} ms/patient; ratio {statistics.median(ratios):.3f} "
              f"(rounds {min(ratios):.3f}-{max(ratios):.3f})")


if __name__ == "__main__":
    main()
