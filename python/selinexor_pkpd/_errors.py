"""The package's exception."""

from ._core import ModelError

ModelError.__module__ = "selinexor_pkpd"
ModelError.__doc__ = """Invalid model input (a ``ValueError``); ``.field`` names the offending field.

Raised for negative or NaN doses and times, unsorted times, unknown drugs, presets or parameter
names, impossible parameter values, doses outside their cycle, per-size doses without the
patient's size, and any numerical failure of the solver.
"""

__all__ = ["ModelError"]
