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
from ._validate import check_days, whole
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
    try:
        a = np.asarray(observe, dtype=float)
    except (TypeError, ValueError):
        raise error("observe", f"must be True or a list of days, got {observe!r:.80}") from None
    if a.ndim != 1:
        raise error("observe", f"must be a 1-D list of days, got an array of shape {a.shape}")
    return [float(x) for x in a]


#: Shortest virtual trial, days: shorter runs have no lab visit after baseline.
MIN_TRIAL_DAYS = 1.0
#: Cost of one patient-day on one thread, s (24 weeks of 80 mg BIW take about 0.3 ms; this errs
#: high, so the estimate is an upper bound in practice).
SECONDS_PER_PATIENT_DAY = 2.5e-6
#: Bytes kept per subject and column of a full (not summary-only) run.
BYTES_PER_VALUE = 8
SUBJECT_COLUMNS = 63


def check_budget(n_subjects: int, days: float, threads: int | None, kept_values: int, max_hours: float | None) -> None:
    """Refuse a run whose estimated time exceeds ``max_hours`` or whose kept results exceed 75%
    of this machine's memory; the error states the estimate."""
    workers = threads or _core.max_threads()
    seconds = n_subjects * days * SECONDS_PER_PATIENT_DAY / workers
    if max_hours is not None and seconds > max_hours * 3600.0:
        raise error("n", f"{n_subjects:,} patient-simulations of {days:g} days would take about {seconds / 3600:,.1f} h "
                         f"on {workers} thread(s), over max_hours={max_hours:g}: pass a larger max_hours (or None) to run it")
    need = kept_values * BYTES_PER_VALUE
    try:
        import os

        avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return
    if need > 0.75 * avail:
        raise error("n", f"the results kept would need about {need / 2**30:,.1f} GiB, over 75% of this machine's "
                         f"{avail / 2**30:,.1f} GiB: use summary_only=True, fewer observation days, or fewer patients")


class TrialRunner:
    """One arm prepared for chunked native runs (shared by simulate_population and compare)."""

    def __init__(self, regimen: RegimenLike, population: "Population", *, days: float, seed: int,
                 threads: int | None, dose_rules: DoseRulesLike, observe: Observe, params: Params,
                 platelet_model: TrialPlateletModel, rtol: float, atol: float, library: LibrarySource | None,
                 linear_pk: LinearPk = "exact", stop_at_progression: bool = False) -> None:
        from .population import Population  # population.py imports this module

        lib = resolve_library(library)
        reg = as_regimen(regimen, library=lib)
        if not isinstance(population, Population):
            raise error("population", f"must be a Population (see selinexor_pkpd.population), got {type(population).__name__}")
        days = check_days(days)
        if days < MIN_TRIAL_DAYS:
            raise error("days", f"a virtual trial needs at least {MIN_TRIAL_DAYS:g} day, got {days!r}")
        seed = whole(seed, "seed", 0, 2**64 - 1)
        if threads is not None:
            threads = whole(threads, "threads", 1, _core.max_threads())
        reg_json = reg.validated_json(lib)
        self.observe = _observe(observe, days)
        self.threads = None if threads is None else int(threads)
        self.regimen = reg
        self.n = population.n
        self.trial = _core.Trial(lib._native, reg_json, json.dumps(population.spec), _rules_arg(dose_rules, reg_json, lib),
                                 params_json(params), days, int(seed), self.observe, population._rows_json(), platelet_model,
                                 float(rtol), float(atol), linear_pk=linear_pk,
                                 stop_at_progression=_flag(stop_at_progression, "stop_at_progression"))
        self.inputs = {
            "regimen": reg.to_dict(), "regimen_name": reg.name, "population": population.to_dict(), "days": days,
            "seed": int(seed), "dose_rules": dose_rules if not isinstance(dose_rules, Mapping) else dict(dose_rules),
            "params": json.loads(params_json(params)), "platelet_model": platelet_model, "rtol": rtol, "atol": atol,
            "linear_pk": linear_pk, "observe_days": self.observe, "stop_at_progression": bool(stop_at_progression),
        }

    def run(self, start: int, end: int) -> dict[str, Any]:
        return self.trial.run(start, end, self.threads)


def _flag(v: Any, field: str) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise error(field, f"must be True or False, got {v!r:.60}")
    return bool(v)


def chunks(n: int, chunk_size: int | None, timed: Any) -> Iterator[tuple[int, int]]:
    """Yield (start, end) chunks; adaptive (~0.25 s per chunk) when chunk_size is None."""
    if chunk_size is not None:
        chunk_size = whole(chunk_size, "chunk_size", 1)
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
