"""Type aliases shared across the package."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
WordArray: TypeAlias = npt.NDArray[np.uint64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
#: An array whose dtype depends on the data (e.g. group key codes or values).
AnyArray: TypeAlias = npt.NDArray[Any]
Bounds: TypeAlias = tuple[float, float]
MechanismName: TypeAlias = Literal["laplace", "gaussian"]
InvalidRows: TypeAlias = Literal["raise", "drop"]

if TYPE_CHECKING:
    import pandas
    import polars
    import pyarrow

    #: What a statistic reads: an Arrow table, a polars frame (eager or lazy)
    #: or a pandas frame; the result comes back in the same family.
    TableLike: TypeAlias = (
        pyarrow.Table | polars.DataFrame | polars.LazyFrame | pandas.DataFrame
    )
else:
    TableLike = Any
