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
  :class:`~loopkit_privacy.errors.NonFiniteValueError`; nulls in a value
  column are dropped;
* nulls in the privacy-unit column raise
  :class:`~loopkit_privacy.errors.SchemaError`;
* null group keys form their own group;
* a column name that appears twice, and key columns of nested types (lists,
  structs, maps), raise a :class:`~loopkit_privacy.errors.SchemaError`
  subclass, decided from the schema alone.

Messages name columns and types, never values, counts or row numbers of the
data: whether a release fails may depend on the rows (a NaN, a null id), but
what it says does not. Services that answer untrusted queries use
:func:`drop_invalid` (the aggregations' ``invalid="drop"``), which removes
such rows instead — a per-row rule, so the release stays DP.

Examples
--------
>>> import pyarrow as pa
>>> t = pa.table({"user": [1, 2, 2], "page": ["a", "b", "a"]})
>>> arrow, family = as_arrow(t, ["page"])
>>> family, arrow.column_names
('arrow', ['page'])
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopkit_privacy._kernels import grouping as _g
from loopkit_privacy._typing import AnyArray
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
    "check_key_column",
    "columns_of",
    "drop_invalid",
    "eager",
    "family_of",
    "filter_rows",
    "flat",
    "from_arrow",
    "group_codes",
    "match_public_keys",
    "numeric_column",
    "plain",
    "read_columns",
    "restore",
    "set_column",
    "type_kind",
    "unit_codes",
]

Family: TypeAlias = Literal["arrow", "polars", "polars_lazy", "pandas"]

#: Where results carry their privacy information in pandas ``attrs`` and as
#: an attribute of polars frames (Arrow results use schema metadata).
INFO_ATTR = "loopkit_privacy"


def _family_of(table: Any, name: str = "table") -> Family:
    if isinstance(table, pa.Table):
        return "arrow"
    module = type(table).__module__.split(".")[0]
    kind = type(table).__name__
    if module == "polars" and kind == "DataFrame":
        return "polars"
    if module == "polars" and kind == "LazyFrame":
        return "polars_lazy"
    if module == "pandas" and kind == "DataFrame":
        return "pandas"
    raise ColumnTypeError(
        f"`{name}` must be a pyarrow.Table, polars DataFrame/LazyFrame or pandas "
        f"DataFrame, got an object of type {type(table).__module__}."
        f"{type(table).__name__}; convert it first, e.g. pyarrow.table(...)"
    )


def _columns_of(table: Any, family: Family) -> list[str]:
    if family == "arrow":
        return list(table.column_names)
    if family == "polars_lazy":
        return list(table.collect_schema().names())
    return [str(c) for c in table.columns]


def family_of(table: Any, name: str = "table") -> Family:
    """The table family: ``"arrow"``, ``"polars"``, ``"polars_lazy"`` or ``"pandas"``.

    Raises
    ------
    ColumnTypeError
        For anything else; the message names the caller's parameter ``name``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> family_of(pa.table({"a": [1]}))
    'arrow'
    """
    return _family_of(table, name)


def columns_of(table: Any) -> list[str]:
    """The column names of a table of any supported family.

    Examples
    --------
    >>> import pyarrow as pa
    >>> columns_of(pa.table({"a": [1], "b": [2]}))
    ['a', 'b']
    """
    return _columns_of(table, _family_of(table))


def as_arrow(
    table: Any,
    columns: list[str],
    *,
    typed: bool = False,
    values: Sequence[str] = (),
    times: Sequence[str] = (),
) -> tuple[pa.Table, Family]:
    """Return the needed ``columns`` of ``table`` as a pyarrow Table, and its family.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame, polars.LazyFrame or pandas.DataFrame
        The input events.
    columns : list of str
        The columns the release reads (duplicates are ignored).
    typed : bool
        Read pandas ``object`` columns, which declare no type, as strings
        (missing values stay null). Releases use this so that the Arrow type
        of every column is a function of the declared schema alone: without
        it, one row holding an ``int`` among strings would change the type,
        or make the conversion fail. A ``times`` column of dtype ``object``
        that holds only dates or datetimes (and missing values) is read as
        Arrow dates or timestamps instead, so that pandas date columns work as
        time columns (key columns stay strings whatever they hold).
        In the pandas float columns that are not ``values``, NaN (pandas'
        marker of a missing value) becomes null, as it does for
        ``None``/``pd.NA``.
    values : sequence of str
        With ``typed``: the value columns, in which NaN stays NaN (it is then
        refused, or dropped with ``invalid="drop"``, as a value).
    times : sequence of str
        With ``typed``: the time columns (see ``typed``).

    Returns
    -------
    (pyarrow.Table, str)

    Raises
    ------
    ColumnNotFoundError
        If a column is missing; the message lists the available columns.
    SchemaError
        If a needed column name appears more than once in the table.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"user": [1, 2], "page": ["a", 5]})
    >>> as_arrow(df, ["page"], typed=True)[0].column("page").to_pylist()
    ['a', '5']
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
        if available.count(name) > 1:
            raise SchemaError(
                f"column {name!r} appears {available.count(name)} times in the "
                "table; rename or drop the duplicates so that the column is "
                "unambiguous",
                column=name,
            )
    try:
        if family == "arrow":
            return table.select(wanted), family
        if family == "polars":
            return table.select(wanted).to_arrow(), family
        if family == "polars_lazy":
            return table.select(wanted).collect().to_arrow(), family
    except Exception as err:  # polars Object columns and the like
        raise ColumnTypeError(
            f"the columns {wanted!r} cannot be read as Arrow ({type(err).__name__}); "
            "cast them to numbers, strings, dates or categoricals first",
            column=wanted[0] if wanted else None,
        ) from None
    # Column by column so that NaN in a float column stays NaN (and is then
    # refused) instead of becoming a null; None/pd.NA still become nulls.
    arrays = {}
    for name in wanted:
        series = table[name]
        if typed and series.dtype == object:
            temporal = _temporal_object(series) if name in times else None
            if temporal is not None:
                arrays[name] = temporal
                continue
            series = series.astype("string")
        keep_nan = series.dtype.kind == "f" and (not typed or name in values)
        try:
            arrays[name] = pa.array(series, from_pandas=not keep_nan)
        except (pa.ArrowException, TypeError, ValueError) as err:
            raise ColumnTypeError(
                f"column {name!r} (pandas dtype {series.dtype}) cannot be read as "
                f"Arrow ({type(err).__name__}); give it one type, e.g. "
                "df[col].astype('string') or .astype(float)",
                column=name,
            ) from None
    return pa.table(arrays), family


def _temporal_object(series: Any) -> pa.Array | None:
    """A pandas ``object`` column of dates as Arrow dates/timestamps, or None.

    None when it holds anything but dates/datetimes and missing values (see
    :func:`as_arrow`).
    """
    from pandas.api.types import infer_dtype

    if infer_dtype(series, skipna=True) not in ("date", "datetime", "datetime64"):
        return None
    try:
        inferred = pa.array(series, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if pa.types.is_date(inferred.type) or pa.types.is_timestamp(inferred.type):
        return inferred
    return None


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


def numeric_column(table: pa.Table, column: str) -> tuple[AnyArray, AnyArray | None]:
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
    valid: AnyArray | None = None
    if arr.null_count:
        valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        arr = arr.fill_null(0)
    if not pa.types.is_float64(typ):
        # Unchecked: integers above 2**53 round to the nearest float (they are
        # clamped to the bounds anyway); a checked cast would fail on one row.
        arr = arr.cast(pa.float64(), safe=False)
    values = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
    if not np.isfinite(values).all():
        raise NonFiniteValueError(
            f"value column {column!r} contains NaN or infinite values; drop or "
            "impute them before the release, or pass invalid='drop' to drop such "
            "rows (in pandas, missing floats are NaN: use df.dropna(subset=[...]) "
            "or a nullable 'Float64' column, whose missing values are dropped)",
            column=column,
        )
    return values, valid


def drop_invalid(table: pa.Table, *, units: list[str], values: list[str]) -> pa.Table:
    """Drop the rows with a null in ``units`` or a NaN/±inf in ``values``.

    For services that answer untrusted queries (the releases'
    ``invalid="drop"``): instead of an error whose occurrence depends on one
    user's rows, such rows are removed. Whether a row is kept depends on that
    row alone, so a neighbouring table (one unit more or less) stays
    neighbouring and the release keeps its guarantee. The filter runs on
    every call, whether or not a row is invalid.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"u": [1, None, 3], "x": [1.0, 2.0, float("nan")]})
    >>> drop_invalid(t, units=["u"], values=["x"]).to_pylist()
    [{'u': 1, 'x': 1.0}]
    """
    keep = pa.array(np.ones(table.num_rows, dtype=bool))
    for name in units:
        keep = pc.and_(keep, pc.is_valid(table.column(name)))
    for name in values:
        col = table.column(name)
        if pa.types.is_floating(col.type):
            # Nulls are kept (they are dropped from sums later, not here).
            keep = pc.and_(keep, pc.fill_null(pc.is_finite(col), True))
    return table.filter(keep)


_NESTED = (
    pa.types.is_list,
    pa.types.is_large_list,
    pa.types.is_fixed_size_list,
    pa.types.is_struct,
    pa.types.is_map,
    pa.types.is_union,
)


def check_key_column(table: pa.Table, column: str, *, role: str = "key") -> None:
    """Refuse a key (or privacy-unit) column whose type cannot be grouped.

    Decided from the schema alone: nested types (lists, structs, maps,
    unions) and extension types raise, whatever the rows hold.

    Raises
    ------
    ColumnTypeError

    Examples
    --------
    >>> import pyarrow as pa
    >>> check_key_column(pa.table({"k": [[1], [2]]}), "k")
    Traceback (most recent call last):
    ...
    loopkit_privacy.errors.ColumnTypeError: key column 'k' has type list<item: int64>, which cannot be grouped; use numbers, strings, dates or categoricals
    """
    typ = table.schema.field(column).type
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if any(test(typ) for test in _NESTED) or isinstance(typ, pa.ExtensionType):
        raise ColumnTypeError(
            f"{role} column {column!r} has type {typ}, which cannot be grouped; "
            "use numbers, strings, dates or categoricals",
            column=column,
        )


def _factorize(arr: pa.Array, *, null_is_group: bool) -> tuple[AnyArray, pa.Array]:
    """Dense int64 codes and the distinct values (in order of first appearance)."""
    typ = arr.type
    if pa.types.is_integer(typ) and not arr.null_count:
        keys = np.asarray(arr.to_numpy(zero_copy_only=False))
        # uint64 → int64 reinterprets the bits: a bijection, so distinct ids
        # stay distinct (a value cast would overflow at 2**63).
        keys = (
            keys.view(np.int64)
            if keys.dtype == np.uint64
            else keys.astype(np.int64, copy=False)
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


def unit_codes(table: pa.Table, column: str) -> tuple[AnyArray, int]:
    """Dense int64 codes of the privacy-unit column and the number of codes.

    Codes follow the order of first appearance, for every id type: the work
    done depends on the number of rows and of distinct ids, never on the id
    values (a code ``id - min(id)`` would size the tables by one user's id).

    Raises
    ------
    SchemaError
        If the column has nulls (a row with no privacy unit cannot be
        bounded), or a type that cannot be grouped.

    Examples
    --------
    >>> import pyarrow as pa
    >>> codes, n = unit_codes(pa.table({"u": ["x", "y", "x"]}), "u")
    >>> codes.tolist(), n
    ([0, 1, 0], 2)
    """
    check_key_column(table, column, role="privacy-unit")
    arr = _flat(table.column(column))
    if arr.null_count:
        raise SchemaError(
            f"privacy-unit column {column!r} has nulls; every row must belong to "
            "a unit — drop those rows or fill in their unit, or pass "
            "invalid='drop' to drop them",
            column=column,
        )
    codes, distinct = _factorize(arr, null_is_group=False)
    return codes, len(distinct)


@dataclass(frozen=True)
class GroupCodes:
    """Group labels of each row and the distinct group keys they index."""

    codes: AnyArray
    keys: pa.Table

    @property
    def n_groups(self) -> int:
        """Number of distinct groups."""
        n: int = self.keys.num_rows
        return n


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
    for name in by:
        check_key_column(table, name)
    codes, distinct = _factorize(_flat(table.column(by[0])), null_is_group=True)
    parts = [distinct]
    first_rows: AnyArray | None = None
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


def _kind(typ: pa.DataType) -> str:
    """The family of a key type, for matching public groups against a column."""
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if pa.types.is_null(typ):
        return "null"
    if pa.types.is_boolean(typ):
        return "bool"
    if pa.types.is_integer(typ):
        return "int"
    if pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return "float"
    if (
        pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
        or pa.types.is_string_view(typ)
    ):
        return "string"
    if (
        pa.types.is_binary(typ)
        or pa.types.is_large_binary(typ)
        or pa.types.is_binary_view(typ)
        or pa.types.is_fixed_size_binary(typ)
    ):
        return "binary"
    if pa.types.is_date(typ):
        return "date"
    if pa.types.is_timestamp(typ):
        return "timestamp_tz" if typ.tz else "timestamp"
    if pa.types.is_time(typ):
        return "time"
    if pa.types.is_duration(typ):
        return "duration"
    return str(typ)


_MATCH_TYPE = {
    "bool": pa.bool_(),
    "int": pa.int64(),
    "float": pa.float64(),
    "string": pa.large_string(),
    "binary": pa.large_binary(),
}


def _match_type(data: pa.DataType, public: pa.DataType) -> pa.DataType | None:
    """The type both sides are compared in, from the two declared types only."""
    dk, pk = _kind(data), _kind(public)
    if dk == "null":
        return public
    if pk == "null":
        return data.value_type if pa.types.is_dictionary(data) else data
    if {dk, pk} <= {"int", "float"}:
        return _MATCH_TYPE["int" if dk == pk == "int" else "float"]
    if dk != pk:
        return None
    if dk in _MATCH_TYPE:
        return _MATCH_TYPE[dk]
    if dk == "timestamp_tz" and data.tz != public.tz:
        return None
    return public


def match_public_keys(table: pa.Table, by: list[str], public: pa.Table) -> AnyArray:
    """Index of each row's key in the ``public`` key table, -1 when it is not public.

    Vectorised (no Python loop per row or group): both key tables are cast to
    a common type chosen from their declared types alone, factorised
    together (public rows first), and a data row's code is its public
    index. Which types are compatible never depends on the rows, so a
    mismatch raises for an empty table as it does for a full one.

    Parameters
    ----------
    table : pyarrow.Table
        The data, with the key columns ``by``.
    by : list of str
        The key columns.
    public : pyarrow.Table
        The public groups, one column per key, without duplicates.

    Returns
    -------
    numpy.ndarray of int64

    Raises
    ------
    InvalidParameterError
        If a public key column cannot be compared with the data's column.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"page": pa.array(["b", "x", "a"], pa.large_string())})
    >>> match_public_keys(t, ["page"], pa.table({"page": ["a", "b"]})).tolist()
    [1, -1, 0]
    """
    from loopkit_privacy.errors import InvalidParameterError

    n_public = public.num_rows
    cast_data, cast_public = {}, {}
    for name in by:
        d_typ = table.schema.field(name).type
        p_typ = public.schema.field(name).type
        m = _match_type(d_typ, p_typ)
        if m is None:
            raise InvalidParameterError(
                f"`public_groups` has values of type {p_typ} for column {name!r}, "
                f"which has type {d_typ}; give public groups of the column's type",
                parameter="public_groups",
                value=None,
            )
        col = _flat(table.column(name))
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        # Data side unchecked (a per-row rule: a value that does not fit
        # becomes another value, or never matches); public side checked.
        cast_data[name] = col.cast(m, safe=False)
        try:
            cast_public[name] = _flat(public.column(name)).cast(m)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise InvalidParameterError(
                f"`public_groups` values for column {name!r} cannot be compared "
                f"with its type {d_typ}: {err}",
                parameter="public_groups",
                value=None,
            ) from None
    joint = pa.concat_tables(
        [pa.table(cast_public), pa.table(cast_data)], promote_options="none"
    )
    codes = group_codes(joint, by).codes
    if n_public and not np.array_equal(
        codes[:n_public], np.arange(n_public, dtype=np.int64)
    ):
        raise InvalidParameterError(
            "`public_groups` contains duplicates (after conversion to the "
            "columns' types); list each group once",
            parameter="public_groups",
            value=None,
        )
    out = codes[n_public:]
    return np.where(out < n_public, out, -1)


def public_key_table(public_groups: Any, by: list[str]) -> pa.Table:
    """The caller's public groups as an Arrow table with one column per key.

    Accepted: a pyarrow/polars/pandas table with the ``by`` columns, or an
    ordered sequence (list, tuple, numpy array, pyarrow array, polars or
    pandas Series) of scalars (one key column) or of tuples (several). The
    released rows follow this order and take these values' types, whatever
    the data hold. Strings, sets, mappings and scalars are refused (a string
    is not a list of one-letter groups; a set has no order). Float keys may
    not be NaN (NaN equals nothing); null keys are allowed and match the null
    group.

    Raises
    ------
    InvalidParameterError
        Naming ``public_groups``.

    Examples
    --------
    >>> public_key_table(["home", "docs"], ["page"]).column("page").to_pylist()
    ['home', 'docs']
    >>> public_key_table([("a", 1), ("b", 2)], ["page", "n"]).num_rows
    2
    """
    from loopkit_privacy.errors import InvalidParameterError

    def refuse(why: str) -> InvalidParameterError:
        return InvalidParameterError(
            f"`public_groups` {why}; pass a list of groups, e.g. "
            "public_groups=['home', 'pricing'] (or tuples for several `by` columns)",
            parameter="public_groups",
            value=None,
        )

    if not by:
        raise refuse("needs `by=` (the columns the groups are keys of)")
    module = type(public_groups).__module__.split(".")[0]
    if isinstance(public_groups, pa.Table) or (
        module in ("polars", "pandas") and hasattr(public_groups, "columns")
    ):
        try:
            groups = as_arrow(public_groups, by, typed=True)[0]
        except SchemaError as err:
            raise refuse(f"is a table without the columns {by!r} ({err})") from None
    else:
        if isinstance(public_groups, str | bytes | dict | set | frozenset) or not (
            hasattr(public_groups, "__iter__") and hasattr(public_groups, "__len__")
        ):
            raise refuse(
                f"must be an ordered collection, got {type(public_groups).__name__}"
            )
        if isinstance(public_groups, pa.ChunkedArray | pa.Array):
            items = public_groups
        elif module == "polars":
            items = public_groups.to_arrow()
        elif module == "pandas":
            items = pa.array(public_groups, from_pandas=True)
        else:
            items = list(public_groups)
        try:
            if len(by) == 1:
                cols = {by[0]: pa.array(items) if isinstance(items, list) else items}
            else:
                rows = list(items.to_pylist() if not isinstance(items, list) else items)
                for item in rows:
                    if not isinstance(item, tuple | list) or len(item) != len(by):
                        raise refuse(
                            f"must hold tuples of {len(by)} values (one per `by` "
                            "column)"
                        )
                cols = {
                    name: pa.array([item[j] for item in rows])
                    for j, name in enumerate(by)
                }
            groups = pa.table(cols)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as err:
            raise refuse(
                f"holds values of mixed or unsupported types ({err})"
            ) from None
    for name in by:
        try:
            check_key_column(groups, name, role="public group")
        except ColumnTypeError as err:
            raise refuse(str(err)) from None
        col = groups.column(name)
        if pa.types.is_floating(col.type) and pc.any(pc.is_nan(col)).as_py():
            raise refuse(f"holds NaN for column {name!r} (NaN matches no row)")
    return groups


# ---------------------------------------------------------------------------
# Row-level plumbing of the record-level tools (``kanon``, ``controls``)
# ---------------------------------------------------------------------------
#
# Those tools return the caller's table with rows dropped or a column
# rewritten, not a new Arrow result. They work on the *eager* frame (a
# LazyFrame is collected once, by :func:`eager`) and give the caller's family
# back (a LazyFrame over the collected data).


def eager(
    table: Any, columns: Sequence[str] = (), *, name: str = "table"
) -> tuple[Any, Family]:
    """``table`` with a polars LazyFrame collected, and the caller's family.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame, polars.LazyFrame or pandas.DataFrame
        The caller's table.
    columns : sequence of str
        Columns that must exist: a missing one raises before anything is
        collected.
    name : str
        The caller's parameter, named in the error for a non-table.

    Returns
    -------
    (table, str)
        The eager table (the input itself unless it was lazy) and the
        family of the input (``"polars_lazy"`` for a LazyFrame).

    Raises
    ------
    ColumnTypeError
        If ``table`` is not a table (the message names ``name``).
    ColumnNotFoundError
        If one of ``columns`` is missing.

    Examples
    --------
    >>> import polars as pl
    >>> frame, family = eager(pl.LazyFrame({"a": [1, 2]}), ["a"])
    >>> type(frame).__name__, family
    ('DataFrame', 'polars_lazy')
    """
    family = _family_of(table, name)
    if columns:
        available = _columns_of(table, family)
        if any(c not in available for c in columns):
            as_arrow(table, list(columns))  # raises, listing the available columns
    if family == "polars_lazy":
        return table.collect(), family
    return table, family


def restore(frame: Any, family: Family) -> Any:
    """Give an eager ``frame`` back in the caller's ``family`` (LazyFrame for lazy).

    Examples
    --------
    >>> import polars as pl
    >>> type(restore(pl.DataFrame({"a": [1]}), "polars_lazy")).__name__
    'LazyFrame'
    """
    return frame.lazy() if family == "polars_lazy" else frame


def read_columns(
    table: Any, columns: Sequence[str], *, nan_is_null: bool = False
) -> pa.Table:
    """Some columns of an eager table as a pyarrow Table (the others are not read).

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        The table (see :func:`eager` for a LazyFrame).
    columns : sequence of str
        The columns (duplicates are ignored).
    nan_is_null : bool, default False
        Read a pandas NaN as a missing value (null) in every column, float
        columns included. Record-level tools read ids, flags and times, for
        which pandas spells "missing" as NaN; otherwise NaN in a float column
        stays NaN, as in :func:`as_arrow`. Other families are read as they are.

    Returns
    -------
    pyarrow.Table

    Raises
    ------
    ColumnNotFoundError, SchemaError, ColumnTypeError
        As :func:`as_arrow`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"user": [1.0, float("nan")], "page": ["a", "b"]})
    >>> read_columns(df, ["user"], nan_is_null=True).column("user").to_pylist()
    [1.0, None]
    """
    data, family = as_arrow(table, list(columns))
    if not nan_is_null or family != "pandas":
        return data
    for i, field in enumerate(data.schema):
        if pa.types.is_floating(field.type):
            col = data.column(i)
            nulled = pc.if_else(pc.is_nan(col), pa.scalar(None, field.type), col)
            data = data.set_column(i, field, nulled)
    return data


def filter_rows(frame: Any, family: Family, keep: AnyArray) -> Any:
    """The rows of an eager ``frame`` where ``keep`` is true, in the caller's family.

    Rows stay in their order and other columns are untouched; a pandas index
    is kept.

    Parameters
    ----------
    frame : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        The eager table (from :func:`eager`).
    family : str
        The caller's family (``"polars_lazy"`` gives a LazyFrame back).
    keep : numpy.ndarray of bool
        One flag per row.

    Returns
    -------
    Same family as the caller's table

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> t = pa.table({"a": [1, 2, 3]})
    >>> filter_rows(t, "arrow", np.array([True, False, True]))["a"].to_pylist()
    [1, 3]
    """
    if family == "arrow":
        return frame.filter(pa.array(keep, type=pa.bool_()))
    if family == "pandas":
        return frame[keep]
    import polars as pl

    return restore(frame.filter(pl.Series(keep, dtype=pl.Boolean)), family)


def set_column(
    frame: Any,
    family: Family,
    name: str,
    values: pa.Array | pa.ChunkedArray,
    *,
    source: str | None = None,
    metadata: dict[bytes, bytes] | None = None,
) -> Any:
    """``frame`` with column ``name`` replaced (same position) or appended.

    Parameters
    ----------
    frame, family
        The eager table and the caller's family, as for :func:`filter_rows`.
    name : str
        The column to write.
    values : pyarrow.Array or pyarrow.ChunkedArray
        One value per row.
    source : str, optional
        For pandas: the column ``values`` were computed from. When the
        result has the Arrow type that column was read as, it is cast back
        to the column's pandas dtype (so a nullable ``Int64`` stays
        ``Int64``); categoricals are never cast back.
    metadata : dict of bytes to bytes, optional
        For a pyarrow Table: the new field's metadata (other families have
        none).

    Returns
    -------
    Same family as the caller's table

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"a": [1, 2], "b": ["x", "y"]})
    >>> set_column(t, "arrow", "a", pa.array([3, 4])).to_pylist()
    [{'a': 3, 'b': 'x'}, {'a': 4, 'b': 'y'}]
    """
    if family == "arrow":
        fld = pa.field(name, values.type, metadata=metadata)
        if name in frame.column_names:
            return frame.set_column(frame.column_names.index(name), fld, values)
        return frame.append_column(fld, values)
    if family in ("polars", "polars_lazy"):
        import polars as pl

        series = pl.from_arrow(values)
        assert isinstance(series, pl.Series)
        return restore(frame.with_columns(series.alias(name)), family)
    series = values.to_pandas()
    series.index = frame.index
    if source is not None:
        # Arrow -> pandas turns e.g. a nullable Int64 into float64; go back to
        # the caller's dtype when it still fits (never for categoricals, whose
        # categories may have changed).
        dtype = frame[source].dtype
        if str(dtype) != "category" and series.dtype != dtype:
            with contextlib.suppress(TypeError, ValueError):
                series = series.astype(dtype)
    out = frame.copy(deep=False)
    out[name] = series
    return out


def flat(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One contiguous Arrow array (chunks are combined only when there are several).

    Examples
    --------
    >>> import pyarrow as pa
    >>> flat(pa.chunked_array([[1], [2, 3]])).to_pylist()
    [1, 2, 3]
    """
    return _flat(col)


def plain(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """:func:`flat`, with dictionaries decoded and view types cast to large types.

    Examples
    --------
    >>> import pyarrow as pa
    >>> plain(pa.array(["a", "b", "a"]).dictionary_encode()).type
    DataType(string)
    """
    arr = _flat(col)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.large_string())
    elif pa.types.is_binary_view(arr.type):
        arr = arr.cast(pa.large_binary())
    return arr


def type_kind(typ: pa.DataType) -> str:
    """The kind of a key type: ``"int"``, ``"float"``, ``"string"``, ``"date"``, ...

    The kinds that :func:`match_public_keys` compares (a dictionary has the
    kind of its values; decimals are ``"float"``; zoned timestamps are
    ``"timestamp_tz"``); other types are their own kind (``str(typ)``).

    Examples
    --------
    >>> import pyarrow as pa
    >>> type_kind(pa.large_string()), type_kind(pa.dictionary(pa.int8(), pa.int16()))
    ('string', 'int')
    """
    return _kind(typ)
