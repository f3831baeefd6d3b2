"""The four table families the library accepts, for tests that run on each.

``FAMILIES`` converts an Arrow table into each family (pandas with nullable
dtypes, so nulls stay ``pd.NA``: a NaN in a float value column is refused by
design); ``to_arrow`` converts any result back for comparisons.
"""

from __future__ import annotations

import pandas as pd
import polars as pl
import pyarrow as pa

PANDAS_NULLABLE = {
    pa.float64(): pd.Float64Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}

FAMILIES = {
    "arrow": lambda t: t,
    "polars": pl.from_arrow,
    "polars_lazy": lambda t: pl.from_arrow(t).lazy(),
    "pandas": lambda t: t.to_pandas(types_mapper=PANDAS_NULLABLE.get),
}

FAMILY_TYPE = {
    "arrow": pa.Table,
    "polars": pl.DataFrame,
    "polars_lazy": pl.LazyFrame,
    "pandas": pd.DataFrame,
}


def to_arrow(out) -> pa.Table:
    """Any supported table as a pyarrow Table (pandas index dropped)."""
    if isinstance(out, pa.Table):
        return out
    if isinstance(out, pl.LazyFrame):
        return out.collect().to_arrow()
    if isinstance(out, pl.DataFrame):
        return out.to_arrow()
    return pa.Table.from_pandas(out, preserve_index=False)
