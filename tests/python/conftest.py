"""Shared helpers for the selinexor_pkpd test suite."""

from __future__ import annotations

import math
import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

import selinexor_pkpd as sp  # noqa: E402


def mosteller(height_cm: float, weight_kg: float) -> float:
    """Body surface area (m2), Mosteller: sqrt(height[cm] * weight[kg] / 3600)."""
    return math.sqrt(height_cm * weight_kg / 3600.0)


def capture(fn, *args, **kwargs) -> BaseException:
    """Run ``fn`` and return what it raised; fail the test if it raised nothing.

    Catches ``BaseException`` on purpose: a pyo3 ``PanicException`` is a ``BaseException`` and must
    never escape the package.
    """
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - we want to see panics too
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return exc
    pytest.fail(f"expected selinexor_pkpd.ModelError, got a result: {result!r:.300}")


def expect_model_error(fn, *args, field: str | None = None, field_endswith: str | None = None,
                       contains=(), **kwargs) -> BaseException:
    """Assert that ``fn(*args, **kwargs)`` raises ``selinexor_pkpd.ModelError`` (a ValueError).

    ``field``: exact value of ``.field``; ``field_endswith``: suffix of ``.field``;
    ``contains``: substrings that the message must contain (case-insensitive), e.g. the name of the
    field and the bad value.
    """
    exc = capture(fn, *args, **kwargs)
    if not isinstance(exc, sp.ModelError):
        pytest.fail(f"expected selinexor_pkpd.ModelError, got {type(exc).__module__}.{type(exc).__name__}: {exc}")
    assert isinstance(exc, ValueError)
    msg = str(exc)
    if field is not None:
        assert getattr(exc, "field", None) == field, f"field {getattr(exc, 'field', None)!r} != {field!r} ({msg})"
    if field_endswith is not None:
        f = getattr(exc, "field", None) or ""
        assert f.endswith(field_endswith), f"field {f!r} does not end with {field_endswith!r} ({msg})"
    for s in contains:
        assert str(s).lower() in msg.lower(), f"message does not mention {s!r}: {msg}"
    return exc


@pytest.fixture
def patient():
    """A non-default patient, so that per-size doses differ from the defaults."""
    return sp.Patient(weight=82.0, height=176.0, age=60.0, sex="female")


@pytest.fixture
def old_patient():
    return sp.Patient(weight=64.0, height=158.0, age=80.0, sex="male")
