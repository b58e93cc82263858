"""Input checks done before the native core sees the data, so that errors name the field."""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

import numpy as np

from ._errors import error


def check_days(days: float) -> float:
    """``days`` as a float, or raise naming the field ``days`` unless finite and > 0."""
    try:
        d = float(days)
    except (TypeError, ValueError):
        raise error("days", f"must be a number, got {days!r}") from None
    if not (math.isfinite(d) and d > 0):
        raise error("days", f"must be finite and > 0, got {days!r}")
    return d


def whole(v: Any, field: str, lo: int, hi: int | None = None) -> int:
    """``v`` as an int, or raise naming ``field`` unless a whole number in ``[lo, hi]``."""
    ok = (not isinstance(v, bool) and isinstance(v, (int, np.integer, float, np.floating))
          and math.isfinite(float(v)) and float(v).is_integer() and v >= lo and (hi is None or v <= hi))
    if not ok:
        bound = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise error(field, f"must be a whole number {bound}, got {v!r}")
    return int(v)


#: Deepest nesting of dicts and lists accepted in user input (the native side has the same limit).
MAX_DEPTH = 64


def check_depth(obj: Any, path: str) -> None:
    """Raise naming ``path`` when dicts/lists nest deeper than :data:`MAX_DEPTH` (iteratively: no
    recursion limit to hit)."""
    stack = [(obj, 0)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, (Mapping, list, tuple)):
            if d >= MAX_DEPTH:
                raise error(path, f"nested more than {MAX_DEPTH} levels deep")
            stack.extend((v, d + 1) for v in (o.values() if isinstance(o, Mapping) else o))


def read_text_file(path: Any, field: str = "file") -> str:
    """The text of a UTF-8 file, or raise naming ``field`` and the file."""
    from pathlib import Path

    try:
        return Path(path).read_text(encoding="utf-8")
    except (TypeError, OSError) as e:
        raise error(field, f"cannot read {str(path)!r}: {e}") from None
    except UnicodeDecodeError as e:
        raise error(field, f"{str(path)!r} is not a UTF-8 text file (byte {e.start}: {e.reason})") from None


def load_json(text: str, field: str, source: str | None = None) -> Any:
    """Parsed JSON text, or raise naming ``field`` and the ``source`` file if any (invalid JSON,
    or nested too deeply)."""
    import json

    what = f"{source!r} " if source else ""
    try:
        obj = json.loads(text)
    except RecursionError:
        raise error(field, f"{what}nested more than {MAX_DEPTH} levels deep") from None
    except (TypeError, ValueError) as e:
        raise error(field, f"{what}is not valid JSON: {e}") from None
    check_depth(obj, field)
    return obj


def as_list(v: Any, field: str) -> list[Any]:
    """``v`` as a list, or raise unless it is a list, tuple or 1-D array (a bare number or a
    string is refused: ``weekdays=1`` is ``weekdays=[1]`` written wrong)."""
    if isinstance(v, (list, tuple)) or (isinstance(v, np.ndarray) and v.ndim == 1):
        return list(v)
    raise error(field, f"must be a list, got {v!r:.80}")


def check_finite_tree(obj: Any, path: str) -> None:
    """Raise on the first NaN or infinite number inside nested dicts/lists (JSON cannot carry them)."""
    check_depth(obj, path)
    where = _first_non_finite(obj)
    if where is not None:
        segments, value = where
        field = path + "".join(reversed(segments))
        raise error(field, f"must be a finite number, got {value!r}")


def _first_non_finite(obj: Any) -> tuple[list[str], float] | None:
    """Path segments (`.key`, `[i]`; innermost first) and value of the first non-finite float, or None.

    The path is built only on failure: every call checks its regimen.
    """
    t = type(obj)
    if t is float:
        return None if math.isfinite(obj) else ([], obj)
    if t is int or t is str or t is bool or obj is None:
        return None
    if t is dict or (t is not list and t is not tuple and isinstance(obj, Mapping)):
        for k, v in obj.items():
            where = _first_non_finite(v)
            if where is not None:
                where[0].append(f".{k}")
                return where
    elif t is list or t is tuple or isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            where = _first_non_finite(v)
            if where is not None:
                where[0].append(f"[{i}]")
                return where
    elif isinstance(obj, float):
        return None if math.isfinite(obj) else ([], float(obj))
    return None


def _whole(v: Any, field: str, lo: int, hi: int | None = None) -> None:
    ok = not isinstance(v, bool) and isinstance(v, (int, float)) and float(v).is_integer() and v >= lo and (hi is None or v <= hi)
    if not ok:
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise error(field, f"must be a whole number {rng}, got {v!r}")


_DOSE_KEYS = {"drug", "amount", "unit", "route", "duration_h", "rate_mg_h", "days", "weekdays", "cycles", "hour", "adjust", "ss", "ii"}


def check_regimen_spec(spec: Mapping[str, Any]) -> None:
    """Shape and type checks of a regimen dict (the core checks the values again)."""
    check_finite_tree(spec, "regimen")
    blocks = spec.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        raise error("regimen.blocks", "a regimen needs a non-empty list of blocks")
    for b, block in enumerate(blocks):
        f = f"regimen.blocks[{b}]"
        if not isinstance(block, Mapping):
            raise error(f, f"must be a dict, got {type(block).__name__}")
        _whole(block.get("cycle_days"), f"{f}.cycle_days", 1, 3650)
        if block.get("cycles") is not None:
            _whole(block["cycles"], f"{f}.cycles", 1)
        doses = block.get("doses")
        if not isinstance(doses, list) or not doses:
            raise error(f"{f}.doses", "needs at least one dose line")
        for i, d in enumerate(doses):
            g = f"{f}.doses[{i}]"
            if not isinstance(d, Mapping):
                raise error(g, f"must be a dict, got {type(d).__name__}")
            unknown = sorted(set(d) - _DOSE_KEYS)
            if unknown:
                raise error(f"{g}.{unknown[0]}", f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_DOSE_KEYS))})")
            if not isinstance(d.get("drug"), str):
                raise error(f"{g}.drug", f"must be a drug name, got {d.get('drug')!r}")
            a = d.get("amount")
            if isinstance(a, bool) or not isinstance(a, (int, float)) or not a > 0:
                raise error(f"{g}.amount", f"must be a number > 0, got {a!r}")
            for j, day in enumerate(d.get("days", [])):
                if isinstance(day, str):
                    continue
                _whole(day, f"{g}.days[{j}]", 1)  # the core names the cycle when it is too late
            for j, w in enumerate(d.get("weekdays", [])):
                _whole(w, f"{g}.weekdays[{j}]", 1, 7)
    labs = spec.get("labs")
    if labs is not None:
        for k in ("cycle1", "later"):
            for j, day in enumerate(labs.get(k, [])):
                _whole(day, f"regimen.labs.{k}[{j}]", 1)


def error_models(models: Optional[Mapping[str, Mapping[str, float]]]) -> Optional[list[tuple[str, float, float]]]:
    """The error models as (output, add, prop) for the core."""
    if models is None:
        return None
    if not isinstance(models, Mapping):
        raise error("error", f"must be a dict of output -> {{'add': sd, 'prop': cv}}, got {type(models).__name__}")
    out = []
    for name, m in models.items():
        if not isinstance(m, Mapping) or set(m) - {"add", "prop"}:
            raise error(f"error.{name}", f"must be a dict with 'add' and/or 'prop', got {m!r:.80}")
        try:
            out.append((str(name), float(m.get("add", 0.0)), float(m.get("prop", 0.0))))
        except (TypeError, ValueError):
            raise error(f"error.{name}", f"standard deviations must be numbers, got {m!r:.80}") from None
    return out
