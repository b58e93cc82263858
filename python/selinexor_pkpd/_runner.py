"""The chunked trial runner shared by :func:`simulate_population` and :func:`compare`."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional

import numpy as np
import pandas as pd

from . import _core
from ._errors import error
from ._library import resolve_library
from ._typing import DoseRulesLike, LibrarySource, LinearPk, Observe, Params, RegimenLike, TrialPlateletModel
from ._validate import check_days
from .regimen import as_regimen
from .simulate import params_json

if TYPE_CHECKING:  # pragma: no cover
    from .population import Population


def _rules_arg(dose_rules: Any, reg_json: str, lib: Any) -> Optional[str]:
    if dose_rules is None or dose_rules is False:
        return None
    if isinstance(dose_rules, str):
        lib._native.dose_rules_json(dose_rules, reg_json)  # validates the name
        return dose_rules
    if isinstance(dose_rules, Mapping):
        return json.dumps(dose_rules)
    raise error("dose_rules", f"must be None, a preset name ('label', 'label_qw', 'label_biw') or a dict, got {type(dose_rules).__name__}")


def _observe(observe: Any, days: float) -> list[float]:
    if observe is None or observe is False:
        return []
    if observe is True:
        return [float(d) for d in np.arange(0.0, days + 1e-9, 1.0)]
    obs = [float(x) for x in np.asarray(observe, dtype=float).ravel()]
    return obs


class TrialRunner:
    """One arm prepared for chunked native runs (shared by simulate_population and compare)."""

    def __init__(self, regimen: RegimenLike, population: "Population", *, days: float, seed: int,
                 threads: int | None, dose_rules: DoseRulesLike, observe: Observe, params: Params,
                 platelet_model: TrialPlateletModel, rtol: float, atol: float, library: LibrarySource | None,
                 linear_pk: LinearPk = "exact") -> None:
        from .population import Population  # population.py imports this module

        lib = resolve_library(library)
        reg = as_regimen(regimen, library=lib)
        if not isinstance(population, Population):
            raise error("population", f"must be a Population (see selinexor_pkpd.population), got {type(population).__name__}")
        days = check_days(days)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise error("seed", f"must be a whole number >= 0, got {seed!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1):
            raise error("threads", f"must be a whole number >= 1, got {threads!r}")
        reg_json = reg.validated_json(lib)
        self.observe = _observe(observe, days)
        self.threads = None if threads is None else int(threads)
        self.regimen = reg
        self.n = population.n
        self.trial = _core.Trial(lib._native, reg_json, json.dumps(population.spec), _rules_arg(dose_rules, reg_json, lib),
                                 params_json(params), days, int(seed), self.observe, population._rows_json(), platelet_model,
                                 float(rtol), float(atol), linear_pk=linear_pk)
        self.inputs = {
            "regimen": reg.to_dict(), "regimen_name": reg.name, "population": population.to_dict(), "days": days,
            "seed": int(seed), "dose_rules": dose_rules if not isinstance(dose_rules, Mapping) else dict(dose_rules),
            "params": json.loads(params_json(params)), "platelet_model": platelet_model, "rtol": rtol, "atol": atol,
            "linear_pk": linear_pk, "observe_days": self.observe,
        }

    def run(self, start: int, end: int) -> dict[str, Any]:
        return self.trial.run(start, end, self.threads)


def chunks(n: int, chunk_size: int | None, timed: Any) -> Iterator[tuple[int, int]]:
    """Yield (start, end) chunks; adaptive (~0.25 s per chunk) when chunk_size is None."""
    start, size = 0, chunk_size or 16
    while start < n:
        end = min(n, start + size)
        c0 = time.perf_counter()
        yield start, end
        if chunk_size is None:
            dt = max(time.perf_counter() - c0, 1e-4)
            size = int(min(max(size * 0.25 / dt, 8), 50_000))
        start = end


def concat(parts: list[dict[str, Any]]) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The native chunks' columns joined into one subject table, and the trajectories if any."""
    traj = None
    if parts and "PLT_traj" in parts[0]:
        traj = np.concatenate([p.pop("PLT_traj") for p in parts], axis=0)
    cols: dict[str, Any] = {}
    for k in parts[0]:
        vals = [p[k] for p in parts]
        cols[k] = np.concatenate(vals) if isinstance(vals[0], np.ndarray) else sum((list(v) for v in vals), [])
    return pd.DataFrame(cols), traj


__all__ = ["TrialRunner", "chunks", "concat"]
