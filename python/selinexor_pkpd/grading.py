"""CTCAE v4.03 grading of "platelet count decreased", as the engine grades (one definition, in Rust)."""

from __future__ import annotations

from typing import Union, overload

import numpy as np
import numpy.typing as npt

from . import _core

#: Upper bounds of grades 1-4 (10^9/L): grade g means a count below ``GRADE_THRESHOLDS[g - 1]``.
GRADE_THRESHOLDS: tuple[float, ...] = tuple(_core.grade_thresholds())


@overload
def ctcae_grade(platelets: float) -> int: ...
@overload
def ctcae_grade(platelets: npt.ArrayLike) -> np.ndarray: ...


def ctcae_grade(platelets: Union[float, npt.ArrayLike]) -> Union[int, np.ndarray]:
    """CTCAE v4.03 grade (0-4) of platelet counts in 10^9/L.

    Below 150 is grade 1, below 75 grade 2, below 50 grade 3, below 25 grade 4; NaN grades 0.

    Parameters
    ----------
    platelets : float or array_like
        Counts, 10^9/L.

    Returns
    -------
    int or numpy.ndarray
        An int for a scalar, else an int64 array of the input's shape.
    """
    a = np.asarray(platelets, dtype=float)
    g = _core.ctcae_grade(np.ascontiguousarray(a.ravel())).reshape(a.shape)
    return int(g) if a.ndim == 0 else g


__all__ = ["GRADE_THRESHOLDS", "ctcae_grade"]
