"""Erasure and export: :func:`erase_users` and :func:`export_user_data`.

Every row of some users is removed (right to erasure), or every row of one
user is written out as JSON, CSV or Parquet (right of access and
portability).

Examples
--------
>>> import pyarrow as pa
>>> events = pa.table({"user_id": [1, 2, 1], "page": ["a", "b", "c"]})
>>> erase_users(events, user_ids=[1], privacy_unit="user_id")["page"].to_pylist()
['b']
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from loopkit_privacy import tables
from loopkit_privacy._consent_filter import (
    aligned_ids,
    as_id_array,
    check_privacy_unit,
    matches_ids,
    one_id,
    unit_column,
)
from loopkit_privacy.errors import ColumnTypeError, InvalidParameterError

__all__ = ["erase_users", "export_user_data"]


def erase_users(table: Any, *, user_ids: Any, privacy_unit: str) -> Any:
    """Remove every row of some users.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame, polars.LazyFrame or pandas.DataFrame
        The events.
    user_ids : id, collection of ids or array
        A single id, a list/tuple/set, a numpy/pyarrow/polars/pandas array.
        Nulls are ignored; ids that do not occur are harmless.
    privacy_unit : str
        The user column (required, e.g. ``"user_id"``).

    Returns
    -------
    Same family as ``table``
        The other rows, in their order (a pandas index is kept). Rows with a
        null user are kept.

    Raises
    ------
    ColumnNotFoundError
        If ``privacy_unit`` is missing.
    ColumnTypeError
        If the ids are of another type than the column (e.g. strings for an
        integer column).
    InvalidParameterError
        If the ids mix types, or are numbers that are not whole for an
        integer column.

    Notes
    -----
    Privacy. Erasure removes the rows from this table only: copies elsewhere
    (files, backups, caches) must be erased too, and statistics already
    published from the rows are not retracted (under differential privacy
    their influence on any one user was already bounded).

    Examples
    --------
    >>> import pyarrow as pa
    >>> events = pa.table({"user_id": ["a", "b", "a", "c"], "n": [1, 2, 3, 4]})
    >>> erase_users(events, user_ids={"a", "z"}, privacy_unit="user_id")["n"].to_pylist()
    [2, 4]
    """
    check_privacy_unit(privacy_unit, allow_none=False)
    ids = as_id_array(user_ids, "user_ids")
    frame, family = tables.eager(table, [privacy_unit])
    data = tables.read_columns(frame, [privacy_unit], nan_is_null=True)
    units = tables.plain(data.column(privacy_unit))
    aligned = aligned_ids(ids, units.type, parameter="user_ids", column=privacy_unit)
    mask = ~matches_ids(units, aligned)
    return tables.filter_rows(frame, family, mask)


_FORMATS = ("json", "csv", "parquet")
_COMPRESSIONS = ("gzip", None)


def _jsonable(value: Any) -> Any:
    """A Python value from Arrow as JSON: times in ISO 8601, bytes in base64."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        # NaN and infinities are not JSON; they become null.
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _iso_columns(data: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text (zoned ones in UTC with ``Z``), dates as text."""
    out = {}
    for name in data.column_names:
        col = tables.plain(data.column(name))
        typ = col.type
        if pa.types.is_timestamp(typ):
            if typ.tz is not None:
                col = col.cast(pa.timestamp(typ.unit, "UTC"))
            text = col.cast(pa.string())
            col = pc.replace_substring(text, " ", "T", max_replacements=1)
        elif pa.types.is_date(typ) or pa.types.is_time(typ):
            col = col.cast(pa.string())
        out[name] = col
    return pa.table(out)


def export_user_data(
    table: Any,
    *,
    user_id: Any,
    privacy_unit: str,
    format: Literal["json", "csv", "parquet"] = "json",
    compression: Literal["gzip"] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> bytes | Path:
    r"""Every row of one user, as a portable file (right of access / portability).

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame, polars.LazyFrame or pandas.DataFrame
        The events.
    user_id : scalar
        The user, of the privacy-unit column's type.
    privacy_unit : str
        The user column (required, e.g. ``"user_id"``).
    format : {"json", "csv", "parquet"}, default "json"
        JSON: one document ``{"privacy_unit", "user_id", "row_count",
        "columns", "records"}`` with timestamps in ISO 8601 (zoned ones in
        UTC), dates as ``YYYY-MM-DD``, bytes in base64, NaN as null. CSV:
        a header line then one line per row. Parquet: a Parquet file.
    compression : {"gzip", None}, default None
        Gzip the whole output (reproducibly: no time stamp in the header).
    path : str or os.PathLike, optional
        Write the output there (created readable by its owner only) and
        return the path instead of the bytes.

    Returns
    -------
    bytes or pathlib.Path
        The file's bytes, or ``path`` when given. A user with no rows gets a
        valid empty export, not an error.

    Raises
    ------
    InvalidParameterError
        If ``format`` or ``compression`` is unknown, ``path`` is not a path,
        or ``user_id`` is not one non-null id.
    ColumnNotFoundError, ColumnTypeError
        If ``privacy_unit`` is missing, the id is of the wrong type, or a
        column cannot be written as CSV (nested types: use JSON or Parquet).

    Examples
    --------
    >>> import json, pyarrow as pa
    >>> events = pa.table({"user_id": [1, 2, 1], "page": ["a", "b", "c"]})
    >>> doc = json.loads(export_user_data(events, user_id=1, privacy_unit="user_id"))
    >>> doc["row_count"], [r["page"] for r in doc["records"]]
    (2, ['a', 'c'])
    >>> export_user_data(events, user_id=1, privacy_unit="user_id", format="csv")
    b'"user_id","page"\n1,"a"\n1,"c"\n'
    """
    check_privacy_unit(privacy_unit, allow_none=False)
    if format not in _FORMATS:
        raise InvalidParameterError(
            f"`format` must be one of {_FORMATS}, got {format!r}",
            parameter="format",
            value=format,
        )
    if compression not in _COMPRESSIONS:
        raise InvalidParameterError(
            f"`compression` must be 'gzip' or None, got {compression!r}",
            parameter="compression",
            value=compression,
        )
    if path is not None and not isinstance(path, str | os.PathLike):
        raise InvalidParameterError(
            "`path` must be a file path (a str or os.PathLike) or None to get the "
            f"bytes back, got an object of type {type(path).__name__}; pass e.g. "
            "path='export.json'",
            parameter="path",
            value=None,
        )
    ids = one_id(user_id, "user_id")
    frame, _ = tables.eager(table)
    data = tables.read_columns(frame, tables.columns_of(frame), nan_is_null=True)
    units = unit_column(data, privacy_unit, "table")
    aligned = aligned_ids(ids, units.type, parameter="user_id", column=privacy_unit)
    rows = data.filter(pa.array(matches_ids(units, aligned), type=pa.bool_()))
    if format == "json":
        records = [
            {k: _jsonable(v) for k, v in r.items()}
            for r in _iso_columns(rows).to_pylist()
        ]
        document = {
            "privacy_unit": privacy_unit,
            "user_id": _jsonable(ids[0].as_py()),
            "row_count": rows.num_rows,
            "columns": [{"name": f.name, "type": str(f.type)} for f in data.schema],
            "records": records,
        }
        payload = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    elif format == "csv":
        import pyarrow.csv as pacsv

        buf = io.BytesIO()
        try:
            pacsv.write_csv(_iso_columns(rows), buf)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
            raise ColumnTypeError(
                f"this table cannot be written as CSV ({err}); use format='json' "
                "or format='parquet'",
                column=None,
            ) from None
        payload = buf.getvalue()
    else:
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(rows, buf)
        payload = buf.getvalue()
    if compression == "gzip":
        payload = gzip.compress(payload, mtime=0)
    if path is None:
        return payload
    out = Path(path)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(payload)
    return out
