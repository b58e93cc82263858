"""The chunked trial runner shared by :func:`simulate_population` and :func:`compare`."""

from __future__ import annotations

import json
import os
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


def _rules_record(dose_rules: Any) -> Any:
    if isinstance(dose_rules, Mapping):
        return dict(dose_rules)
    if isinstance(dose_rules, (list, tuple)):
        return [dict(r) if isinstance(r, Mapping) else r for r in dose_rules]
    return dose_rules


def _rules_arg(dose_rules: Any, reg_json: str, lib: Any) -> Optional[str]:
    if dose_rules is None or dose_rules is False:
        return None
    if isinstance(dose_rules, str):
        lib._native.dose_rules_json(dose_rules, reg_json)  # validates the name
        return dose_rules
    if isinstance(dose_rules, Mapping):
        return json.dumps(dose_rules)
    if isinstance(dose_rules, (list, tuple)):
        # Several rule sets in one run (docs/supportive_care.md): preset names or dicts.
        if not dose_rules:
            raise error("dose_rules", "an empty list of rule sets: give at least one, or None")
        items = []
        for k, item in enumerate(dose_rules):
            if isinstance(item, str):
                lib._native.dose_rules_json(item, reg_json)  # validates the name
                items.append(item)
            elif isinstance(item, Mapping):
                items.append(dict(item))
            else:
                raise error(f"dose_rules[{k}]", f"must be a preset name or a dict, got {type(item).__name__}")
        return json.dumps(items)
    raise error("dose_rules", f"must be None, a preset name ('label', 'label_qw', 'label_biw'), a dict or a list of them, got {type(dose_rules).__name__}")


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
#: Largest chunk of subjects sent to an executor in one task (about 0.1-0.5 s of work).
DASK_CHUNK = 1000


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
        avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return
    if need > 0.75 * avail:
        raise error("n", f"the results kept would need about {need / 2**30:,.1f} GiB, over 75% of this machine's "
                         f"{avail / 2**30:,.1f} GiB: use summary_only=True, fewer observation days, or fewer patients")


#: True in a process forked from one that had loaded the engine: the parent's global thread
#: pool does not exist there (fork copies one thread), so runs build their own pool.
_FORKED = False


def _after_fork() -> None:
    global _FORKED
    _FORKED = True


os.register_at_fork(after_in_child=_after_fork)


def native_threads(threads: int | None) -> int | None:
    """``threads`` for a native parallel call: an explicit count in a forked child (see
    ``_FORKED``), where the global pool cannot be used."""
    return threads if threads is not None or not _FORKED else _core.max_threads()


def executor_threads(executor: Any, threads: int | None) -> int | None:
    """Threads that will run the subjects: the executor's workers' threads when one is given
    (for the run-time estimate), else ``threads``."""
    if executor is None:
        return threads
    nthreads = getattr(executor, "nthreads", None)  # dask.distributed.Client
    if callable(nthreads):
        try:
            return max(1, sum(nthreads().values()))
        except Exception:  # pragma: no cover - a client that cannot answer: estimate locally
            return threads
    return max(1, int(getattr(executor, "_max_workers", 1) or 1))


class TrialRunner:
    """One arm prepared for chunked native runs (shared by simulate_population and compare)."""

    def __init__(self, regimen: RegimenLike, population: "Population", *, days: float, seed: int,
                 threads: int | None, dose_rules: DoseRulesLike, observe: Observe, params: Params,
                 platelet_model: TrialPlateletModel, rtol: float, atol: float, library: LibrarySource | None,
                 linear_pk: LinearPk = "exact", stop_at_progression: bool = False,
                 lab_error: Optional[Mapping[str, float]] = None) -> None:
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
        # The native trial's arguments, kept so that a runner can be sent to another process
        # (``executor=``) and rebuilt there: see ``__reduce__``.
        self._args = (reg_json, json.dumps(population.spec), _rules_arg(dose_rules, reg_json, lib), params_json(params),
                      days, int(seed), self.observe, population._rows_json(), platelet_model, float(rtol), float(atol))
        self._kwargs = {"linear_pk": linear_pk,
                        "stop_at_progression": _flag(stop_at_progression, "stop_at_progression"),
                        "lab_error": lab_error_arg(lab_error)}
        self._lib_json: str | None = None
        self.trial = _core.Trial(lib._native, *self._args, **self._kwargs)
        self._lib = lib
        self.inputs = {
            "regimen": reg.to_dict(), "regimen_name": reg.name, "population": population.to_dict(), "days": days,
            "seed": int(seed), "dose_rules": _rules_record(dose_rules),
            "params": json.loads(params_json(params)), "platelet_model": platelet_model, "rtol": rtol, "atol": atol,
            "linear_pk": linear_pk, "observe_days": self.observe, "stop_at_progression": bool(stop_at_progression),
            "lab_error": None if lab_error is None else dict(lab_error),
        }

    def run(self, start: int, end: int) -> dict[str, Any]:
        return self.trial.run(start, end, native_threads(self.threads))

    def __reduce__(self) -> tuple[Any, ...]:
        if self._lib_json is None:
            self._lib_json = self._lib._native.to_json()
        state = (self._lib_json, self._args, self._kwargs, self.threads, self.observe, self.n, self.inputs,
                 self.regimen)
        return (_rebuild_runner, state)


def _rebuild_runner(lib_json: str, args: tuple[Any, ...], kwargs: dict[str, Any], threads: int | None,
                    observe: list[float], n: int, inputs: dict[str, Any], regimen: Any) -> TrialRunner:
    """A :class:`TrialRunner` rebuilt in another process from what ``__reduce__`` sent."""
    from ._library import Library

    native = _core.Library.default().with_overrides(lib_json)
    if native.to_json() != lib_json:  # pragma: no cover - a guard on the library's round trip
        raise RuntimeError("the model library did not survive the trip to a worker unchanged")
    runner = TrialRunner.__new__(TrialRunner)
    runner._lib, runner._lib_json, runner._args, runner._kwargs = Library(native), lib_json, args, kwargs
    runner.threads = threads if threads is None else min(threads, _core.max_threads())
    runner.observe, runner.n, runner.inputs, runner.regimen = observe, n, inputs, regimen
    runner.trial = _core.Trial(native, *args, **kwargs)
    return runner


def _run_chunk(runners: list[TrialRunner], start: int, end: int) -> list[dict[str, Any]]:
    """Subjects ``[start, end)`` of every runner (what one executor task computes)."""
    return [r.run(start, end) for r in runners]


def run_chunks(runners: list[TrialRunner], n: int, chunk_size: int | None,
               executor: Any = None) -> Iterator[tuple[int, int, list[dict[str, Any]]]]:
    """Subjects ``[0, n)`` of every runner, as ``(start, end, columns per runner)`` in index order.

    In this process when ``executor`` is None; otherwise each chunk is a task submitted to
    ``executor`` (a ``dask.distributed.Client`` or any ``concurrent.futures.Executor``) and the
    results are taken back in index order. Subject ``i`` depends only on ``(seed, i)``, so the
    result is bit-identical to the in-process run whatever the workers, chunks and threads.
    """
    if executor is None:
        for start, end in chunks(n, chunk_size, None):
            yield start, end, _run_chunk(runners, start, end)
        return
    if not callable(getattr(executor, "submit", None)):
        raise error("executor", f"must be a dask.distributed.Client or a concurrent.futures.Executor "
                                f"(something with .submit), got {type(executor).__name__}")
    size = whole(chunk_size, "chunk_size", 1) if chunk_size is not None else max(1, min(DASK_CHUNK, -(-n // 8)))
    ranges = [(s, min(n, s + size)) for s in range(0, n, size)]
    payload: Any = runners
    scatter = getattr(executor, "scatter", None)
    if callable(scatter):  # dask: send the runners once, not with every task
        payload = scatter(runners, broadcast=True)
    futures = [executor.submit(_run_chunk, payload, s, e) for s, e in ranges]
    try:
        for (s, e), f in zip(ranges, futures):
            yield s, e, f.result()
    finally:
        for f in futures:
            f.cancel()


def lab_error_arg(v: Any) -> Optional[tuple[float, float]]:
    """``lab_error`` (``{"prop": cv, "add": sd}``) as the core's (add, prop)."""
    if v is None:
        return None
    if not isinstance(v, Mapping) or not v or set(v) - {"add", "prop"}:
        raise error("lab_error", f"must be a dict with 'prop' (a CV) and/or 'add' (10^9/L), got {v!r:.80}")
    vals = []
    for k in ("add", "prop"):
        x = v.get(k, 0.0)
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
            raise error(f"lab_error.{k}", f"must be a number, got {x!r:.80}")
        vals.append(float(x))
    return vals[0], vals[1]


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


def pop_array(parts: list[dict[str, Any]], key: str) -> np.ndarray | None:
    """The 2-D per-subject array ``key`` of the native chunks (``PLT_traj``, ``PLT_lab``), joined
    and removed from them; None when the chunks have none."""
    if not parts or key not in parts[0]:
        return None
    return np.concatenate([p.pop(key) for p in parts], axis=0)


def concat(parts: list[dict[str, Any]]) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The native chunks' columns joined into one subject table, and the trajectories if any
    (the lab-visit counts ``PLT_lab``, if not taken before with :func:`pop_array`, are dropped)."""
    traj = pop_array(parts, "PLT_traj")
    pop_array(parts, "PLT_lab")
    cols: dict[str, Any] = {}
    for k in parts[0]:
        vals = [p[k] for p in parts]
        cols[k] = np.concatenate(vals) if isinstance(vals[0], np.ndarray) else sum((list(v) for v in vals), [])
    return pd.DataFrame(cols), traj


__all__ = ["TrialRunner", "chunks", "concat", "executor_threads", "native_threads", "pop_array", "run_chunks"]
