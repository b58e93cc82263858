"""The package's exception, and the constructor that names the offending field."""

from ._core import ModelError

ModelError.__module__ = "selinexor_pkpd"
ModelError.__doc__ = """Invalid model input (a ``ValueError``); ``.field`` names the offending field.

Raised for negative or NaN doses and times, unsorted times, unknown drugs, presets or parameter
names, impossible parameter values, doses outside their cycle, per-size doses without the
patient's size, and any numerical failure of the solver.
"""


def error(field: str, message: str) -> ModelError:
    """A :class:`ModelError` with message ``"<field>: <message>"`` and ``.field`` set."""
    err = ModelError(f"{field}: {message}")
    err.field = field
    return err


__all__ = ["ModelError", "error"]
