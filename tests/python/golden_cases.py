"""The golden cases: fixed inputs whose outputs must not change when the code is restructured.

Each case's output columns are stored as SHA-256 digests of their exact bytes in
``golden/outputs.json``; ``python tools/golden.py`` rewrites that file (only when a change of
results is intended, and said so in the commit).
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

import numpy as np
import pandas as pd

import selinexor_pkpd as sp

SEED = 20261207
N = 40
DAYS = 168.0
OBSERVE = [float(d) for d in range(0, 169, 7)]
PRESETS = ("xd_80_biw", "xd_100_qw", "svd_100_qw", "trial000_arm2")


def _population_case(preset: str, rules: str | None) -> Callable[[], dict[str, np.ndarray]]:
    def run() -> dict[str, np.ndarray]:
        pop = sp.population("rrmm_heavily_pretreated", n=N)
        res = sp.simulate_population(preset, pop, days=DAYS, seed=SEED, threads=2, dose_rules=rules,
                                     observe=OBSERVE)
        cols = {k: res.subjects[k].to_numpy() for k in res.subjects.columns}
        cols["PLT_traj"] = res.trajectories
        return cols

    return run


def _simulate_case(preset: str, **kw: Any) -> Callable[[], dict[str, np.ndarray]]:
    def run() -> dict[str, np.ndarray]:
        df = sp.simulate(preset, days=84.0, **kw)
        return {k: df[k].to_numpy() for k in df.columns}

    return run


CASES: dict[str, Callable[[], dict[str, np.ndarray]]] = {}
for _p in PRESETS:
    CASES[f"population/{_p}/no_rules"] = _population_case(_p, None)
    CASES[f"population/{_p}/label"] = _population_case(_p, "label")
CASES["simulate/xd_80_biw"] = _simulate_case("xd_80_biw")
CASES["simulate/svd_100_qw/ode"] = _simulate_case("svd_100_qw", linear_pk="ode")
CASES["simulate/xd_100_qw/friberg_emax"] = _simulate_case("xd_100_qw", platelet_model="friberg_emax")


def digest(values: Any) -> str:
    """SHA-256 of a column's exact content (float bits, integers, or strings)."""
    a = np.asarray(values)
    if a.dtype == object or a.dtype.kind in "US":
        data = "\x1f".join(map(str, a.ravel().tolist())).encode()
    elif a.dtype.kind == "b":
        data = a.astype(np.uint8).tobytes()
    elif a.dtype.kind in "iu":
        data = a.astype("<i8").tobytes()
    else:
        data = np.ascontiguousarray(a, dtype="<f8").tobytes()
    return hashlib.sha256(repr(a.shape).encode() + data).hexdigest()


def digests(case: str) -> dict[str, str]:
    return {k: digest(v) for k, v in CASES[case]().items()}


__all__ = ["CASES", "digest", "digests", "pd"]
