"""Table adapters: pyarrow, polars (eager and lazy) and pandas in, the same family out.

Arrow is the internal format. Only the columns a release needs are taken from
the input (a polars ``LazyFrame`` is collected with just those columns), and
numeric columns are viewed as numpy arrays without copying where Arrow allows.
Validation happens here, before any privacy budget is touched:

* an unknown column raises :class:`~loopkit_privacy.errors.ColumnNotFoundError`
  listing the available ones;
* a value column that is not numeric raises
  :class:`~loopkit_privacy.errors.ColumnTypeError`;
* NaN or ±inf in a value column raises
  :class:`~loopkit_privacy.errors.NonFiniteValueError` (with the count and the
  first row); nulls in a value column are dropped;
* nulls in the privacy-unit column raise
  :class:`~loopkit_privacy.errors.SchemaError`;
* null group keys form their own group.

Examples
--------
>>> import pyarrow as pa
>>> t = pa.table({"user": [1, 2, 2], "page": ["a", "b", "a"]})
>>> arrow, family = as_arrow(t, ["page"])
>>> family, arrow.column_names
('arrow', ['page'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopkit_privacy._kernels import grouping as _g
from loopkit_privacy.errors import (
    ColumnNotFoundError,
    ColumnTypeError,
    NonFiniteValueError,
    OptionalDependencyError,
    SchemaError,
)

__all__ = [
    "INFO_ATTR",
    "Family",
    "GroupCodes",
    "as_arrow",
    "columns_of",
    "family_of",
    "from_arrow",
    "group_codes",
    "numeric_column",
    "unit_codes",
]

Family: TypeAlias = Literal["arrow", "polars", "polars_lazy", "pandas"]

#: Where results carry their privacy information in pandas ``attrs`` and as
#: an attribute of polars frames (Arrow results use schema metadata).
INFO_ATTR = "loopkit_privacy"


def _family_of(table: Any) -> Family:
    if isinstance(table, pa.Table):
        return "arrow"
    module = type(table).__module__.split(".")[0]
    name = type(table).__name__
    if module == "polars" and name == "DataFrame":
        return "polars"
    if module == "polars" and name == "LazyFrame":
        return "polars_lazy"
    if module == "pandas" and name == "DataFrame":
        return "pandas"
    raise ColumnTypeError(
        f"expected a pyarrow.Table, polars DataFrame/LazyFrame or pandas DataFrame, "
        f"got {type(table).__module__}.{name}"
    )


def _columns_of(table: Any, family: Family) -> list[str]:
    if family == "arrow":
        return list(table.column_names)
    if family == "polars_lazy":
        return list(table.collect_schema().names())
    return [str(c) for c in table.columns]


def family_of(table: Any) -> Family:
    """The table family: ``"arrow"``, ``"polars"``, ``"polars_lazy"`` or ``"pandas"``.

    Raises
    ------
    ColumnTypeError
        For anything else.

    Examples
    --------
    >>> import pyarrow as pa
    >>> family_of(pa.table({"a": [1]}))
    'arrow'
    """
    return _family_of(table)


def columns_of(table: Any) -> list[str]:
    """The column names of a table of any supported family.

    Examples
    --------
    >>> import pyarrow as pa
    >>> columns_of(pa.table({"a": [1], "b": [2]}))
    ['a', 'b']
    """
    return _columns_of(table, _family_of(table))


def as_arrow(table: Any, columns: list[str]) -> tuple[pa.Table, Family]:
    """Return the needed ``columns`` of ``table`` as a pyarrow Table, and its family.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame, polars.LazyFrame or pandas.DataFrame
        The input events.
    columns : list of str
        The columns the release reads (duplicates are ignored).

    Returns
    -------
    (pyarrow.Table, str)

    Raises
    ------
    ColumnNotFoundError
        If a column is missing; the message lists the available columns.
    """
    family = _family_of(table)
    available = _columns_of(table, family)
    wanted = list(dict.fromkeys(columns))
    for name in wanted:
        if name not in available:
            raise ColumnNotFoundError(
                f"column {name!r} is not in the table; available columns: "
                f"{', '.join(repr(c) for c in available)}",
                column=name,
            )
    if family == "arrow":
        return table.select(wanted), family
    if family == "polars":
        return table.select(wanted).to_arrow(), family
    if family == "polars_lazy":
        return table.select(wanted).collect().to_arrow(), family
    # Column by column so that NaN in a float column stays NaN (and is then
    # refused) instead of becoming a null; None/pd.NA still become nulls.
    arrays = {}
    for name in wanted:
        series = table[name]
        keep_nan = series.dtype.kind == "f"
        arrays[name] = pa.array(series, from_pandas=not keep_nan)
    return pa.table(arrays), family


def from_arrow(result: pa.Table, family: Family) -> Any:
    """Convert a result table back to the caller's table family.

    Examples
    --------
    >>> import pyarrow as pa
    >>> type(from_arrow(pa.table({"x": [1]}), "polars")).__name__
    'DataFrame'
    """
    if family == "arrow":
        return result
    if family in ("polars", "polars_lazy"):
        import polars as pl

        df = pl.from_arrow(result)
        assert isinstance(df, pl.DataFrame)
        return df.lazy() if family == "polars_lazy" else df
    try:
        import pandas  # noqa: F401
    except ImportError as err:  # pragma: no cover - pandas input implies pandas
        raise OptionalDependencyError(
            "pandas is needed to return pandas results; install loopkit_privacy[pandas]"
        ) from err
    return result.to_pandas()


def _flat(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def numeric_column(
    table: pa.Table, column: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """A value column as float64 plus its validity mask (``None`` when no nulls).

    Integers, floats and decimals are accepted; booleans, strings and others
    are refused. NaN and ±inf are refused, naming the column, the count and
    the first row.

    Examples
    --------
    >>> import pyarrow as pa
    >>> values, valid = numeric_column(pa.table({"x": [1.5, None, 3.0]}), "x")
    >>> values.tolist(), valid.tolist()
    ([1.5, 0.0, 3.0], [True, False, True])
    """
    arr = _flat(table.column(column))
    typ = arr.type
    if not (
        pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_decimal(typ)
    ):
        raise ColumnTypeError(
            f"value column {column!r} must be numeric, got Arrow type {typ}; cast it "
            "to a number first",
            column=column,
        )
    valid: np.ndarray | None = None
    if arr.null_count:
        valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        arr = arr.fill_null(0)
    if not pa.types.is_float64(typ):
        arr = arr.cast(pa.float64())
    values = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise NonFiniteValueError(
            f"value column {column!r} contains {bad.size} NaN or infinite value(s) "
            f"(first at row {int(bad[0])}); drop or impute them before the release "
            "(in pandas, missing floats are NaN: use df.dropna(subset=[...]) or a "
            "nullable 'Float64' column, whose missing values are dropped)",
            column=column,
            count=int(bad.size),
            first_index=int(bad[0]),
        )
    return values, valid


def _factorize(arr: pa.Array, *, null_is_group: bool) -> tuple[np.ndarray, pa.Array]:
    """Dense int64 codes and the distinct values (in order of first appearance)."""
    typ = arr.type
    if pa.types.is_integer(typ) and not arr.null_count:
        keys = np.asarray(arr.to_numpy(zero_copy_only=False)).astype(
            np.int64, copy=False
        )
        codes = np.empty(keys.shape[0], dtype=np.int64)
        first = np.empty(keys.shape[0], dtype=np.int64)
        k = _g.factorize_int64_first(keys, codes, first)
        return codes, arr.take(pa.array(first[:k]))
    if pa.types.is_dictionary(typ):
        arr = arr.dictionary_decode()
    if pa.types.is_string_view(typ) or pa.types.is_binary_view(typ):
        arr = arr.cast(
            pa.large_string() if pa.types.is_string_view(typ) else pa.large_binary()
        )
    encoded = pc.dictionary_encode(
        arr, null_encoding="encode" if null_is_group else "mask"
    )
    encoded = _flat(encoded)
    indices = encoded.indices
    if indices.null_count:
        codes = np.asarray(
            indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64
        )
    else:
        codes = np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, encoded.dictionary


def unit_codes(table: pa.Table, column: str) -> tuple[np.ndarray, int]:
    """Int64 codes of the privacy-unit column and the number of codes.

    Codes are dense (order of first appearance) except for integer ids in a
    compact range, where the code is ``id - min(id)`` and some codes may be
    unused.

    Raises
    ------
    SchemaError
        If the column has nulls (a row with no privacy unit cannot be bounded).

    Examples
    --------
    >>> import pyarrow as pa
    >>> codes, n = unit_codes(pa.table({"u": ["x", "y", "x"]}), "u")
    >>> codes.tolist(), n
    ([0, 1, 0], 2)
    """
    arr = _flat(table.column(column))
    if arr.null_count:
        raise SchemaError(
            f"privacy-unit column {column!r} has {arr.null_count} null(s); every row "
            "must belong to a unit — drop those rows or fill in their unit",
            column=column,
        )
    if pa.types.is_integer(arr.type) and len(arr) > 0:
        # Fast path: integer ids in a compact range need no hashing; the code
        # is the offset from the smallest id. Unused codes are harmless here
        # (a unit with no rows contributes nothing).
        ids = np.asarray(arr.to_numpy(zero_copy_only=False))
        lo, hi = int(ids.min()), int(ids.max())
        if hi - lo < max(4 * len(ids), 1 << 16):
            return ids.astype(np.int64, copy=False) - np.int64(lo), hi - lo + 1
    codes, distinct = _factorize(arr, null_is_group=False)
    return codes, len(distinct)


@dataclass(frozen=True)
class GroupCodes:
    """Group labels of each row and the distinct group keys they index."""

    codes: np.ndarray
    keys: pa.Table

    @property
    def n_groups(self) -> int:
        """Number of distinct groups."""
        return self.keys.num_rows


def group_codes(table: pa.Table, by: list[str]) -> GroupCodes:
    """Dense group codes for the key columns ``by`` (nulls are their own group).

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"a": ["x", "y", "x", None], "b": [1, 1, 1, 2]})
    >>> g = group_codes(t, ["a", "b"])
    >>> g.codes.tolist(), g.keys.to_pylist()[2]
    ([0, 1, 0, 2], {'a': None, 'b': 2})
    """
    n = table.num_rows
    if not by:
        return GroupCodes(np.zeros(n, dtype=np.int64), pa.table({}))
    codes, distinct = _factorize(_flat(table.column(by[0])), null_is_group=True)
    parts = [distinct]
    first_rows: np.ndarray | None = None
    for name in by[1:]:
        c2, d2 = _factorize(_flat(table.column(name)), null_is_group=True)
        combined = np.empty(n, dtype=np.int64)
        _g.combine_codes(codes, c2, np.int64(len(d2)), combined)
        codes = np.empty(n, dtype=np.int64)
        first = np.empty(n, dtype=np.int64)
        k = _g.factorize_int64_first(combined, codes, first)
        first_rows = first[:k]
        parts.append(d2)
    if first_rows is None:
        keys = pa.table({by[0]: distinct})
    else:
        taken = pa.array(first_rows)
        keys = pa.table({name: _flat(table.column(name)).take(taken) for name in by})
    return GroupCodes(codes, keys)
