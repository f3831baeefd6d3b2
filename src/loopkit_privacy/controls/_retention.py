"""Retention: :func:`retention_cutoff` and :func:`apply_retention`.

A retention period (``"1-year"``, ``"6-months"``, ``"90-days"``, a
``timedelta``; by default ``PrivacySettings.data_retention``) keeps the rows
whose time is at most that old.

Examples
--------
>>> from datetime import date
>>> retention_cutoff("6-months", now=date(2024, 8, 31)).date()
datetime.date(2024, 2, 29)
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopkit_privacy import tables
from loopkit_privacy.controls._consent import (
    PrivacySettings,
    parse_period,
    resolve_settings,
)
from loopkit_privacy.errors import ColumnTypeError, InvalidParameterError

__all__ = ["apply_retention", "retention_cutoff"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc_now(now: Any) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            return now.replace(tzinfo=UTC)
        return now.astimezone(UTC)
    if isinstance(now, date):
        return datetime(now.year, now.month, now.day, tzinfo=UTC)
    raise InvalidParameterError(
        f"`now` must be a datetime, a date or None (the current UTC time), got "
        f"{type(now).__name__}",
        parameter="now",
        value=now,
    )


def _months_back(moment: datetime, months: int) -> datetime:
    """``moment`` shifted back by whole months, the day clamped to the month's end."""
    index = moment.year * 12 + (moment.month - 1) - months
    year, month0 = divmod(index, 12)
    if year < 1:
        raise OverflowError
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return moment.replace(year=year, month=month0 + 1, day=day)


def retention_cutoff(
    period: str | timedelta | None = None,
    *,
    now: datetime | date | None = None,
    settings: PrivacySettings | None = None,
) -> datetime:
    """The oldest time a retention period keeps: ``now - period`` (UTC).

    Months and years are calendar periods: the day of the month is kept and
    clamped to the month's length (one year before 2024-02-29 is
    2023-02-28; six months before 2024-08-31 is 2024-02-29). Days and weeks
    are exact multiples of 24 hours.

    Parameters
    ----------
    period : str or datetime.timedelta, optional
        ``"1-year"``, ``"2-years"``, ``"6-months"``, ``"90-days"``,
        ``"12-weeks"`` or a positive timedelta; default
        ``settings.data_retention`` (``"1-year"``).
    now : datetime or date, optional
        The reference time; default the current UTC time. A naive datetime
        is taken as UTC; a date as its midnight UTC.
    settings : PrivacySettings, optional
        Where the default period comes from.

    Returns
    -------
    datetime
        Time-zone aware, in UTC.

    Raises
    ------
    InvalidParameterError
        If ``period`` or ``now`` is invalid, or the cutoff falls before year 1.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> retention_cutoff("1-year", now=datetime(2024, 2, 29, 12, tzinfo=timezone.utc))
    datetime.datetime(2023, 2, 28, 12, 0, tzinfo=datetime.timezone.utc)
    >>> retention_cutoff("90-days", now=datetime(2024, 4, 1)).date()
    datetime.date(2024, 1, 2)
    """
    resolved = resolve_settings(settings)
    if period is None:
        period = resolved.data_retention
    parsed = parse_period(period)
    moment = _utc_now(now)
    try:
        if isinstance(parsed, timedelta):
            return moment - parsed
        unit, n = parsed
        if unit == "days":
            return moment - timedelta(days=n)
        return _months_back(moment, n)
    except OverflowError:
        raise InvalidParameterError(
            f"`period` {period!r} reaches before year 1; use a shorter period",
            parameter="period",
            value=period,
        ) from None


def _cutoff_units(cutoff: datetime, typ: pa.DataType) -> tuple[pa.DataType, int]:
    """The integer storage type of a temporal column and the smallest value kept."""
    delta = cutoff - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if pa.types.is_timestamp(typ):
        # Keep t >= cutoff: round the cutoff up to the column's unit.
        per_unit = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": None}[typ.unit]
        if per_unit is None:
            return pa.int64(), micros * 1_000
        return pa.int64(), -((-micros) // per_unit)
    # Dates: the cutoff's calendar day (UTC) is kept.
    return pa.int32(), micros // 86_400_000_000


def apply_retention(
    table: Any,
    *,
    time_column: str,
    period: str | timedelta | None = None,
    now: datetime | date | None = None,
    settings: PrivacySettings | None = None,
) -> Any:
    """Drop the rows older than a retention period (keep ``time >= now - period``).

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame, polars.LazyFrame or pandas.DataFrame
        The events.
    time_column : str
        A timestamp (with or without time zone) or date column.
    period : str or datetime.timedelta, optional
        See :func:`retention_cutoff`; default ``settings.data_retention``.
    now : datetime or date, optional
        The reference time; default the current UTC time.
    settings : PrivacySettings, optional
        Where the default period comes from (:data:`DEFAULT_PRIVACY_SETTINGS`).

    Returns
    -------
    Same family as ``table``
        The kept rows in their order (a pandas index is kept).

    Raises
    ------
    InvalidParameterError
        If ``period`` or ``now`` is invalid (the message lists the accepted
        forms).
    ColumnNotFoundError, ColumnTypeError
        If ``time_column`` is missing or not a timestamp or date.

    Notes
    -----
    Time zones: a zoned timestamp is an instant and is compared as such; a
    naive timestamp is taken to be UTC; a date column keeps the whole day
    on which the cutoff falls (its calendar date in UTC). Rows with a null
    time are dropped: their age cannot be shown to be within the period.
    Rows dated after ``now`` are kept.

    Privacy. Retention limits what is stored and queried from now on; it
    does not retract statistics already published from the dropped rows.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from datetime import date
    >>> events = pa.table({"day": [date(2023, 1, 1), date(2024, 6, 1), None]})
    >>> apply_retention(events, time_column="day", period="1-year", now=date(2025, 1, 1))["day"].to_pylist()
    [datetime.date(2024, 6, 1)]
    """
    if not isinstance(time_column, str):
        raise InvalidParameterError(
            f"`time_column` must be a column name, got {time_column!r}",
            parameter="time_column",
            value=time_column,
        )
    cutoff = retention_cutoff(period, now=now, settings=settings)
    frame, family = tables.eager(table, [time_column])
    data = tables.read_columns(frame, [time_column], nan_is_null=True)
    times = tables.plain(data.column(time_column))
    typ = times.type
    if not (pa.types.is_timestamp(typ) or pa.types.is_date(typ)):
        raise ColumnTypeError(
            f"time column {time_column!r} must be a timestamp or a date, got Arrow "
            f"type {typ}; parse it first (e.g. pl.col(...).str.to_datetime() or "
            "pd.to_datetime(...))",
            column=time_column,
        )
    if pa.types.is_date64(typ):
        times = times.cast(pa.date32())
    storage, threshold = _cutoff_units(cutoff, times.type)
    info = np.iinfo(np.int64 if storage == pa.int64() else np.int32)
    ints = times.cast(storage)
    if threshold <= info.min:
        keep = ints.is_valid()
    elif threshold > info.max:
        keep = pa.array(np.zeros(len(ints), dtype=bool))
    else:
        keep = pc.greater_equal(ints, pa.scalar(threshold, type=storage))
    mask = np.asarray(keep.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    return tables.filter_rows(frame, family, mask)
