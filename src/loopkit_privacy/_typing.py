"""Type aliases shared across the package."""

from __future__ import annotations

from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
WordArray: TypeAlias = npt.NDArray[np.uint64]
Bounds: TypeAlias = tuple[float, float]
MechanismName: TypeAlias = Literal["laplace", "gaussian"]
InvalidRows: TypeAlias = Literal["raise", "drop"]
