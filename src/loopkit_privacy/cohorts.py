"""Differentially private cohort retention.

:func:`cohort_retention` turns an event table (user, event time, and
optionally each user's signup time) into a retention table: for every cohort
(the calendar period a user starts in) and every period offset 0..P-1, the
noisy number of users in the cohort, the noisy number of them active in that
period, and the retention rate with confidence intervals.

The privacy contract, user-level:

* **Cohort labels are public.** Cohorts are the calendar periods that meet
  the public time range ``[start, end)``; nothing about which cohorts exist
  comes from the data. A cohort with no users still gets a noisy row (and is
  then usually suppressed by ``min_cohort_size``).
* **Contribution bounding.** A user belongs to one cohort and counts at most
  once in the cohort's size and once per period offset; with
  ``max_active_periods=k`` at most ``k`` offsets (chosen by a keyed hash of
  the user's own offsets). One user therefore changes the released vector by
  at most L1 = 1 + k and L2 = √(1 + k), k = min(P, max_active_periods).
* **Noise and cost.** Every cell gets exact discrete Laplace noise of scale
  L1/ε (pure ε-DP), or discrete Gaussian noise for (ε, δ) or ρ-zCDP. The
  whole cost is charged before the rows are counted.
* **Post-processing only.** Cohorts whose *noisy* size is below
  ``min_cohort_size`` are suppressed; rates are noisy active / noisy size,
  clipped to [0, 1] and, with ``monotone=True``, projected onto
  non-increasing curves. None of this looks at true counts.

Examples
--------
>>> import datetime as dt, warnings, pyarrow as pa, loopkit_privacy as lp
>>> rng = lp.random.InsecureSeededRandom(0)
>>> days = [dt.date(2026, 1, 1) + dt.timedelta(days=d) for d in range(60)]
>>> events = pa.table({"user": [u for u in range(400) for _ in range(2)],
...                    "at": [days[u % 30] if k == 0 else days[u % 30 + 30 * (u % 2)]
...                           for u in range(400) for k in range(2)]})
>>> out = lp.cohort_retention(events, privacy_unit="user", time="at", start="2026-01-01",
...                           end="2026-02-01", period="month", n_periods=2,
...                           epsilon=1.0, rng=rng)
>>> out.column_names[:4]
['cohort', 'period', 'cohort_size', 'cohort_size_ci_low']
>>> out["period"].to_pylist()
[0, 1]
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.optimize import isotonic_regression

from loopkit_privacy import mechanisms as mech
from loopkit_privacy import tables
from loopkit_privacy._info import NoiseInfo, ReleaseInfo
from loopkit_privacy._kernels import cohorts as _kc
from loopkit_privacy._release import (
    SHARED_ARGUMENTS,
    Budget,
    Request,
    noise_mechanism,
    publish,
    read_with_consent,
    release_function,
)
from loopkit_privacy._typing import AnyArray, InvalidRows, MechanismName, TableLike
from loopkit_privacy._validate import (
    check_bool,
    check_finite,
    check_positive_int,
)
from loopkit_privacy.bounding import ContributionBounds, check_sizes
from loopkit_privacy.errors import (
    ColumnTypeError,
    InvalidParameterError,
    OptionalDependencyError,
    SchemaError,
)
from loopkit_privacy.loss import PrivacyLoss
from loopkit_privacy.random import RandomSource

if TYPE_CHECKING:
    from loopkit_privacy.accounting import Accountant

__all__ = ["cohort_retention", "plot_retention"]

Period = Literal["day", "week", "month", "quarter", "year"]
_KINDS = {
    "day": _kc.DAY,
    "week": _kc.WEEK,
    "month": _kc.MONTH,
    "quarter": _kc.QUARTER,
    "year": _kc.YEAR,
}
_TICKS_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000}
_TICKS_PER_DAY["ns"] = 86_400_000_000_000
_MAX_CELLS = 1 << 24


# ---------------------------------------------------------------------------
# Times
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """How a time column's values map to int64 wall-clock ticks."""

    unit: str  # numpy datetime64 unit: "D", "s", "ms", "us" or "ns"
    ticks_per_day: int
    tz: str | None


def clock_of(typ: pa.DataType, column: str) -> Clock:
    if pa.types.is_timestamp(typ):
        return Clock(typ.unit, _TICKS_PER_DAY[typ.unit], typ.tz)
    if pa.types.is_date32(typ):
        return Clock("D", 1, None)
    if pa.types.is_date64(typ):
        return Clock("ms", _TICKS_PER_DAY["ms"], None)
    raise ColumnTypeError(
        f"column {column!r} must hold dates or timestamps, got {typ}; parse it "
        "first (e.g. polars `.str.to_datetime()` or pandas `pd.to_datetime`)",
        column=column,
    )


def time_ticks(table: pa.Table, column: str, clock: Clock) -> AnyArray:
    """Int64 wall-clock ticks of a time column (local time for zoned columns)."""
    arr = table.column(column)
    if arr.null_count:
        raise SchemaError(
            f"time column {column!r} has nulls; drop those rows or fill them "
            "in, or pass invalid='drop' to drop them",
            column=column,
        )
    arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if clock.tz is not None:
        arr = pc.local_timestamp(arr)
    # Timestamps, date32 (as datetime64[D]) and date64 all arrive as
    # datetime64 with an int64 representation.
    values = np.asarray(arr.to_numpy(zero_copy_only=False))
    return values.view(np.int64)


def _zone(tz: str) -> _dt.tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(tz)
    except Exception:  # fixed offsets such as "+05:30"
        return _dt.datetime.strptime(tz.replace(":", ""), "%z").tzinfo  # type: ignore[return-value]


def time_boundary(value: Any, name: str, clock: Clock) -> int:
    """A public time (str, date, datetime, numpy datetime64) as ticks of ``clock``."""
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value)
        except ValueError:
            try:
                value = np.datetime64(value)
            except ValueError as err:
                raise InvalidParameterError(
                    f"`{name}` must be an ISO date or time such as '2026-01-01', "
                    f"got {value!r}",
                    parameter=name,
                    value=value,
                ) from err
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            if clock.tz is None:
                raise InvalidParameterError(
                    f"`{name}` has a time zone but the time column has none; pass "
                    "a naive time (the column's wall clock)",
                    parameter=name,
                    value=value,
                )
            value = value.astimezone(_zone(clock.tz)).replace(tzinfo=None)
        value = np.datetime64(value)
    elif isinstance(value, _dt.date):
        value = np.datetime64(value, "D")
    if not isinstance(value, np.datetime64) or np.isnat(value):
        raise InvalidParameterError(
            f"`{name}` must be a date or time (str, datetime.date, datetime.datetime "
            f"or numpy.datetime64), got {value!r}",
            parameter=name,
            value=value,
        )
    return int(value.astype(f"datetime64[{clock.unit}]").astype(np.int64))


def _period_start_days(index: AnyArray, kind: int) -> AnyArray:
    """First day (days since 1970-01-01) of each period index."""
    if kind == _kc.DAY:
        return index.astype(np.int64)
    if kind == _kc.WEEK:
        return index.astype(np.int64) * 7 - 3
    months = index.astype(np.int64) * {_kc.MONTH: 1, _kc.QUARTER: 3, _kc.YEAR: 12}[kind]
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


# ---------------------------------------------------------------------------
# The release
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """Everything a cohort release needs, fixed before the data is counted."""

    noise: mech.AdditiveMechanism
    cost: PrivacyLoss
    cap: int
    n_periods: int
    kind: int
    first_period: int
    n_cohorts: int
    start: int  # ticks: users whose cohort time is in [start, end) take part
    end: int
    until: int  # ticks; rows at or after are ignored
    observed: AnyArray  # (n_cohorts, n_periods) bool: cell starts before `until`
    labels: AnyArray  # (n_cohorts,) days since epoch of each cohort's start
    first_day: int  # days since epoch: the public range of days any cell covers
    last_day: int


@dataclass(frozen=True)
class _Data:
    units: AnyArray
    n_units: int
    times: AnyArray
    user_time: AnyArray  # each user's cohort time (NO_TIME: no rows)
    clock: Clock


def _prepare(
    table: Any,
    *,
    privacy_unit: str,
    time: str,
    cohort: str | None,
    purpose: str | None,
    consent: Any,
    invalid: str = "raise",
) -> tuple[_Data, tables.Family]:
    for name, val in (("privacy_unit", privacy_unit), ("time", time)):
        if not isinstance(val, str):
            raise InvalidParameterError(
                f"`{name}` must be a column name, got {val!r}",
                parameter=name,
                value=val,
            )
    if cohort is not None and not isinstance(cohort, str):
        raise InvalidParameterError(
            f"`cohort` must be a column name (each user's cohort time, e.g. their "
            f"signup date) or None (the period of the user's first event), got {cohort!r}",
            parameter="cohort",
            value=cohort,
        )
    if invalid not in ("raise", "drop"):
        raise InvalidParameterError(
            f"`invalid` must be 'raise' or 'drop', got {invalid!r}",
            parameter="invalid",
            value=invalid,
        )
    needed = [privacy_unit, time] + ([cohort] if cohort else [])
    data, family = read_with_consent(
        table,
        needed,
        privacy_unit=privacy_unit,
        purpose=purpose,
        consent=consent,
        times=[time] if cohort is None else [time, cohort],
    )
    # Types are checked from the schema, before any row is looked at.
    tables.check_key_column(data, privacy_unit, role="privacy-unit")
    clock = clock_of(data.schema.field(time).type, time)
    if cohort is not None:
        clock_of(data.schema.field(cohort).type, cohort)
    drop = invalid == "drop"
    if drop:
        # Rows without a unit, a time or a cohort time: dropped row by row.
        data = tables.drop_invalid(data, units=list(dict.fromkeys(needed)), values=[])
    units, n_units = tables.unit_codes(data, privacy_unit)
    times = time_ticks(data, time, clock)
    if cohort is None:
        user_time = _kc.first_times(units, times, np.int64(n_units))
    else:
        ctype = data.schema.field(cohort).type
        col = data.column(cohort)
        if col.null_count:
            raise SchemaError(
                f"cohort column {cohort!r} has nulls; every user needs a cohort "
                "time (or pass invalid='drop' to drop those rows)",
                column=cohort,
            )
        cast_to = data.schema.field(time).type
        if ctype != cast_to:
            # The cohort column on the time column's clock (same unit and zone).
            if clock.tz is not None and pa.types.is_timestamp(ctype) and ctype.tz:
                col = pc.cast(col, cast_to, safe=False)
            elif clock.tz is not None:
                col = pc.assume_timezone(
                    pc.cast(col, pa.timestamp(clock.unit), safe=False), clock.tz
                )
            else:
                col = pc.cast(col, cast_to, safe=False)
        ctimes = time_ticks(pa.table({cohort: col}), cohort, clock)
        user_time, mixed = _kc.cohort_times(units, ctimes, np.int64(n_units))
        if mixed.any():
            if not drop:
                raise SchemaError(
                    f"the cohort column {cohort!r} gives some users more than one "
                    "cohort: it must be constant per user; use each user's signup "
                    "time, or cohort=None for the period of their first event (or "
                    "pass invalid='drop' to leave such users out)",
                    column=cohort,
                )
            # Leaving out a user by a rule on that user's rows alone keeps the
            # release DP (a per-user transformation).
            user_time = np.where(mixed, _kc.NO_TIME, user_time)
        early = _kc.rows_before(units, times, user_time)
        if early.any():
            if not drop:
                raise SchemaError(
                    f"some events happen before their user's cohort time {cohort!r}; "
                    "drop them or fix the cohort column (or pass invalid='drop' to "
                    "drop them)",
                    column=time,
                )
            units, times = units[~early], times[~early]
    return _Data(units, n_units, times, user_time, clock), family


def _plan(
    *,
    clock: Clock,
    start: Any,
    end: Any,
    observed_until: Any,
    period: str,
    n_periods: int,
    max_active_periods: int | None,
    budget: Budget,
) -> _Plan:
    if period not in _KINDS:
        raise InvalidParameterError(
            f"`period` must be one of {sorted(_KINDS)}, got {period!r}",
            parameter="period",
            value=period,
        )
    kind = _KINDS[period]
    n_periods = check_positive_int(n_periods, "n_periods", example="12")
    cap = n_periods
    if max_active_periods is not None:
        cap = min(
            n_periods,
            check_positive_int(max_active_periods, "max_active_periods", example="4"),
        )
    t0 = time_boundary(start, "start", clock)
    t1 = time_boundary(end, "end", clock)
    if t1 <= t0:
        raise InvalidParameterError(
            f"`end` must be after `start`, got start={start!r}, end={end!r}",
            parameter="end",
            value=end,
        )
    until = _kc.NO_TIME
    if observed_until is not None:
        until = time_boundary(observed_until, "observed_until", clock)
        if until < t1:
            raise InvalidParameterError(
                "`observed_until` must not be before `end` (the last cohort would "
                f"have no observed period), got {observed_until!r}",
                parameter="observed_until",
                value=observed_until,
            )
    tpd = clock.ticks_per_day
    p0 = int(_kc.period_of(np.int64(t0), np.int64(tpd), kind))
    p1 = int(_kc.period_of(np.int64(t1 - 1), np.int64(tpd), kind))
    n_cohorts = p1 - p0 + 1
    if n_cohorts * (1 + n_periods) > _MAX_CELLS:
        raise InvalidParameterError(
            f"`n_periods`={n_periods} with {n_cohorts} cohorts (from `start` and "
            f"`end`) is too many cells for one release (at most {_MAX_CELLS}); "
            "use fewer periods, a coarser `period` or a shorter range",
            parameter="n_periods",
            value=n_periods,
        )
    labels = _period_start_days(np.arange(p0, p1 + 1), kind)
    # Days any cell covers: from the first cohort's start to the day before
    # the period after the last cohort's last offset. Rows outside add
    # nothing, and the kernel's tables are sized from this public range.
    end_day = int(_period_start_days(np.array([p1 + n_periods]), kind)[0])
    cells = np.arange(p0, p1 + 1)[:, None] + np.arange(n_periods)[None, :]
    cell_start_days = _period_start_days(cells.ravel(), kind).reshape(cells.shape)
    if until == _kc.NO_TIME:
        observed = np.ones(cells.shape, dtype=bool)
    else:
        # A cell is observed when its period starts before `until`.
        observed = cell_start_days * tpd < until
    l1 = 1 + cap
    noise = noise_mechanism(
        budget, l1=float(l1), l2=math.sqrt(l1), dimension=l1, integer=True
    )
    return _Plan(
        noise=noise,
        cost=noise.cost,
        cap=cap,
        n_periods=n_periods,
        kind=kind,
        first_period=p0,
        n_cohorts=n_cohorts,
        start=t0,
        end=t1,
        until=until,
        observed=observed,
        labels=labels,
        first_day=int(labels[0]),
        last_day=end_day - 1,
    )


def _user_cohorts(plan: _Plan, data: _Data) -> tuple[AnyArray, AnyArray]:
    """Cohort index (-1: none) and cohort period of each user."""
    tpd = np.int64(data.clock.ticks_per_day)
    user_period = _kc.periods_of(data.user_time, tpd, plan.kind)
    in_range = (data.user_time >= plan.start) & (data.user_time < plan.end)
    user_cohort = np.where(in_range, user_period - plan.first_period, -1)
    return user_cohort.astype(np.int64), user_period


def _true_counts(
    plan: _Plan,
    data: _Data,
    source: RandomSource,
    salt: int | None = None,
) -> AnyArray:
    """Bounded (n_cohorts, 1 + n_periods) counts: size, then active per offset.

    ``salt`` keys the hash that picks a capped user's offsets (fresh from
    ``source`` unless given, e.g. fixed across an audit's neighbours).
    """
    user_cohort, user_period = _user_cohorts(plan, data)
    key = source.words(1)[0] if salt is None else np.uint64(salt)
    counts, _ = _kc.retention_counts(
        data.units,
        data.times,
        user_cohort,
        user_period,
        np.int64(plan.n_cohorts),
        np.int64(plan.n_periods),
        np.int64(plan.until),
        np.int64(data.clock.ticks_per_day),
        np.int64(plan.kind),
        np.int64(plan.cap),
        key,
        np.int64(plan.first_day),
        np.int64(plan.last_day),
    )
    out: AnyArray = counts
    return out


def _noisy(plan: _Plan, true: AnyArray, n: int, source: RandomSource) -> AnyArray:
    """``n`` independent noisy copies of the count matrix: shape (n, cohorts, 1 + P).

    Unobserved cells (starting at or after ``observed_until``) get no noise;
    they are not released.
    """
    mask = np.concatenate(
        [np.ones((plan.n_cohorts, 1), dtype=bool), plan.observed], axis=1
    )
    k = int(mask.sum())
    out = np.zeros((n, *true.shape), dtype=np.int64)
    out[:, mask] = true[mask][None, :] + plan.noise._sample(n * k, source).reshape(n, k)
    return out


def _rates(
    size: AnyArray,
    active: AnyArray,
    observed: AnyArray,
    hw_each: float,
    monotone: bool,
) -> tuple[AnyArray, AnyArray, AnyArray]:
    """Retention rate and a conservative interval, per cell (post-processing).

    rate = clip(active / size, 0, 1) (NaN where size <= 0 or unobserved). The
    interval takes size and active each at the split level and the extreme
    ratios over that box, clipped to [0, 1].
    """
    s = size.astype(np.float64)[:, None]
    a = active.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(s > 0, np.clip(a / s, 0.0, 1.0), np.nan)
        s_lo = s - hw_each
        s_hi = s + hw_each
        low = np.where(s_lo > 0, np.clip((a - hw_each) / s_hi, 0.0, 1.0), 0.0)
        high = np.where(s_lo > 0, np.clip((a + hw_each) / s_lo, 0.0, 1.0), 1.0)
    if monotone:
        for c in range(rate.shape[0]):
            keep = observed[c] & ~np.isnan(rate[c])
            if keep.any():
                rate[c, keep] = isotonic_regression(rate[c, keep], increasing=False).x
    rate = np.where(observed, rate, np.nan)
    low = np.where(observed, low, np.nan)
    high = np.where(observed, high, np.nan)
    return rate, low, high


@release_function
def cohort_retention(
    table: TableLike,
    *,
    privacy_unit: str,
    time: str,
    start: Any,
    end: Any,
    period: Period = "month",
    n_periods: int = 12,
    cohort: str | None = None,
    epsilon: float | None = None,
    delta: float | None = None,
    rho: float | None = None,
    mechanism: MechanismName = "laplace",
    max_active_periods: int | None = None,
    min_cohort_size: float | None = 10,
    observed_until: Any = None,
    monotone: bool = False,
    confidence: float = 0.95,
    accountant: Accountant | None = None,
    rng: RandomSource | None = None,
    label: str | None = None,
    purpose: str | None = None,
    consent: Any = None,
    invalid: InvalidRows = "raise",
    return_info: bool = False,
) -> Any:
    """Retention curves per cohort with user-level differential privacy.

    Each user belongs to one cohort: the calendar ``period`` of their cohort
    time (their first event, or the ``cohort`` column such as a signup date).
    For each cohort in the public range ``[start, end)`` and each offset
    0..``n_periods``-1 it releases the noisy cohort size, the noisy number of
    the cohort's users with an event in that period, and the retention rate.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The events: one row per event.
    privacy_unit : str
        The user column (the unit protected).
    time : str
        Event time column (date or timestamp; zoned timestamps are read in
        their own time zone).
    start, end : str, datetime.date, datetime.datetime or numpy.datetime64
        The public cohort range: cohorts are the periods that meet
        ``[start, end)``; users whose cohort time is outside it are left out.
    period : {"day", "week", "month", "quarter", "year"}
        Calendar period of cohorts and offsets (weeks start on Monday).
    n_periods : int
        Offsets 0..n_periods-1 released per cohort.
    cohort : str, optional
        Column with each user's cohort time (constant per user, e.g. the
        signup date). ``None``: the time of the user's first event.
    epsilon, delta, rho, mechanism
        Laplace needs ``epsilon`` (pure DP); Gaussian ``epsilon`` and
        ``delta``, or ``rho``.
    max_active_periods : int, optional
        Count each user in at most this many offsets (chosen by a keyed
        hash of their own offsets); the noise scale shrinks to
        (1 + max_active_periods)/ε, at the price of undercounting users
        active in more periods than that.
    min_cohort_size : float or None
        Suppress cohorts whose *noisy* size is below this (default 10, the
        seed's "cohorts of at least 10 users"); ``None`` keeps all.
    observed_until : optional
        Public end of observation: rows at or after it are ignored and cells
        whose period starts at or after it are null (not released).
    monotone : bool
        Project each cohort's observed rates onto non-increasing curves
        (least squares, pool-adjacent-violators). Only sensible for
        "still active at or after offset j" style retention.
    confidence : float
        Level of the ``*_ci_low`` / ``*_ci_high`` intervals.
    accountant : Accountant, optional
        Charged the whole cost before any noise is drawn; a refused charge
        raises ``BudgetExceededError`` and nothing is spent.
    rng : SecureRandom or InsecureSeededRandom, optional
        Entropy source; secure by default.
    label : str, optional
        Name of the release on the receipt.
    purpose, consent
        Consent filter as in :func:`loopkit_privacy.aggregate_count`.
    invalid : {"raise", "drop"}
        Rows with a null unit, time or cohort time, users whose ``cohort``
        column is not constant, and events before their user's cohort time:
        ``"raise"`` (trusted callers) raises a ``SchemaError`` naming the
        column, nothing spent; ``"drop"`` (services answering untrusted
        queries) drops those rows (or users) before counting, by a rule on
        each user's own rows, so the release stays DP.
    return_info : bool
        Also return the release's :class:`~loopkit_privacy.ReleaseInfo`, as
        ``(table, info)`` (see :func:`~loopkit_privacy.privacy_info`).

    Returns
    -------
    Same family as ``table``
        One row per released cohort and offset, sorted by cohort then period:
        ``cohort`` (date: the period's first day), ``period`` (offset),
        ``cohort_size`` and its CI, ``active`` and its CI, ``retention``
        (in [0, 1]) and its CI. Unobserved cells have nulls.

    Raises
    ------
    InvalidParameterError, SchemaError
        Bad parameters or columns, a cohort column that gives a user two
        cohorts, events before their user's cohort time. Nothing is charged.
    BudgetExceededError
        When the accountant cannot afford the release.

    Notes
    -----
    Privacy. Per user: +1 to one cohort size and +1 to at most
    k = min(n_periods, max_active_periods) active cells of that cohort, so
    L1 = 1 + k, L2 = √(1 + k); every cell (empty cohorts included) gets
    noise for that sensitivity. Suppression, rates, clipping and the
    monotone projection use noisy values only. The rate interval combines
    the size and active intervals each at level (1 + confidence)/2, so it
    covers the true bounded rate with probability at least ``confidence``;
    it does not account for ``monotone``.

    Examples
    --------
    >>> import datetime as dt, warnings, polars as pl, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(1)
    >>> users = list(range(2000))
    >>> events = pl.DataFrame({
    ...     "user_id": users + users[::2],
    ...     "ts": [dt.datetime(2026, 1 + u % 3, 5) for u in users]
    ...           + [dt.datetime(2026, 2 + u % 3, 9) for u in users[::2]],
    ... })
    >>> out = lp.cohort_retention(events, privacy_unit="user_id", time="ts",
    ...                           start="2026-01-01", end="2026-04-01", n_periods=2,
    ...                           epsilon=1.0, rng=rng)
    >>> out.select("cohort", "period").rows()[:2]
    [(datetime.date(2026, 1, 1), 0), (datetime.date(2026, 1, 1), 1)]
    >>> 0.4 < out.filter(pl.col("period") == 1)["retention"][0] < 0.6
    True
    """
    args = dict(locals())
    options = {
        "min_size": _check_min_size(min_cohort_size),
        "monotone": check_bool(monotone, "monotone"),
    }
    setup = {k: v for k, v in args.items() if k not in SHARED_ARGUMENTS}
    for name in ("table", "min_cohort_size", "monotone"):
        setup.pop(name)
    return Request.of_arguments(_RETENTION, args, {**options, "setup": setup})


@dataclass(frozen=True)
class _RetentionPlan:
    """The plan of one cohort release: the cells, the data and the receipt."""

    plan: _Plan
    data: _Data
    family: tables.Family
    bounds: ContributionBounds
    parameters: dict[str, Any]
    info: ReleaseInfo
    level: float
    min_size: float | None
    monotone: bool

    @property
    def cost(self) -> PrivacyLoss:
        return self.plan.cost


class _Retention:
    """The steps of ``cohort_retention`` (a :class:`~loopkit_privacy._release.Statistic`)."""

    name = "cohort_retention"

    def plan(self, request: Request) -> _RetentionPlan:
        setup = dict(request.options["setup"])
        privacy_unit = request.privacy_unit
        plan, data, family = _setup(
            request.table,
            privacy_unit=privacy_unit,  # type: ignore[arg-type]
            budget=request.budget,
            purpose=request.purpose,
            consent=request.consent,
            invalid=request.invalid,
            **setup,
        )
        bounds = ContributionBounds(privacy_unit, 1 + plan.cap, 1, None)
        mech_name = (
            f"{plan.noise.name}(scale={plan.noise.scale:.6g}, L1={1 + plan.cap})"
        )
        min_size = request.options["min_size"]
        monotone = request.options["monotone"]
        parameters = {
            "kind": "cohort_retention",
            "period": setup["period"],
            "n_periods": plan.n_periods,
            "cohorts": plan.n_cohorts,
            "max_active_periods": plan.cap,
            "cohort_rule": setup["cohort"] or "first event",
            "mechanisms": [mech_name],
        }
        info = ReleaseInfo(
            release=self.name,
            cost=plan.cost,
            receipt=None,
            insecure=bool(request.source.insecure),
            confidence=request.confidence,
            privacy_unit=privacy_unit,
            max_partitions_per_user=bounds.max_partitions_per_user,
            max_contributions_per_partition=1,
            bounds=None,
            noise=(
                NoiseInfo(
                    "cells", plan.noise.name, plan.noise.scale, plan.noise.granularity
                ),
            ),
            groups="public",
            parameters={
                "period": setup["period"],
                "n_periods": plan.n_periods,
                "max_active_periods": plan.cap,
                "l1_sensitivity": 1 + plan.cap,
                "min_cohort_size": min_size,
                "monotone": monotone,
            },
        )
        return _RetentionPlan(
            plan,
            data,
            family,
            bounds,
            parameters,
            info,
            request.confidence,
            min_size,
            monotone,
        )

    def bound(self, plan: _RetentionPlan, source: RandomSource) -> AnyArray:
        return _true_counts(plan.plan, plan.data, source)

    def noise(
        self, plan: _RetentionPlan, bounded: AnyArray, n: int, source: RandomSource
    ) -> AnyArray:
        return _noisy(plan.plan, bounded, n, source)

    def publish(self, plan: _RetentionPlan, noisy: AnyArray, receipt: Any) -> Any:
        return _table(
            plan.plan,
            noisy[0],
            level=plan.level,
            min_size=plan.min_size,
            monotone=plan.monotone,
            family=plan.family,
            info=plan.info.replace(
                receipt=None if receipt is None else str(getattr(receipt, "id", ""))
            ),
        )

    def trials(self, plan: _RetentionPlan, noisy: AnyArray) -> AnyArray:
        """The noisy count matrices (n, cohorts, 1 + P), before post-processing."""
        return noisy


_RETENTION = _Retention()


def _check_min_size(min_cohort_size: Any) -> float | None:
    if min_cohort_size is None:
        return None
    return check_finite(min_cohort_size, "min_cohort_size", example="10")


def _setup(
    table: TableLike,
    *,
    privacy_unit: str,
    time: str,
    start: Any,
    end: Any,
    period: str,
    n_periods: int,
    cohort: str | None,
    budget: Budget,
    max_active_periods: int | None,
    observed_until: Any,
    purpose: str | None,
    consent: Any,
    invalid: str = "raise",
) -> tuple[_Plan, _Data, tables.Family]:
    """Validate everything and fix the mechanism: nothing is charged or drawn."""
    data, family = _prepare(
        table,
        privacy_unit=privacy_unit,
        time=time,
        cohort=cohort,
        purpose=purpose,
        consent=consent,
        invalid=invalid,
    )
    check_sizes(data.times.shape[0], 1)
    plan = _plan(
        clock=data.clock,
        start=start,
        end=end,
        observed_until=observed_until,
        period=period,
        n_periods=n_periods,
        max_active_periods=max_active_periods,
        budget=budget,
    )
    return plan, data, family


def _table(
    plan: _Plan,
    noisy: AnyArray,
    *,
    level: float,
    min_size: float | None,
    monotone: bool,
    family: tables.Family,
    info: ReleaseInfo,
) -> Any:
    size = noisy[:, 0]
    active = noisy[:, 1:]
    hw = plan.noise.accuracy(level)
    hw_each = plan.noise.accuracy((1.0 + level) / 2.0)
    rate, r_low, r_high = _rates(size, active, plan.observed, hw_each, monotone)
    keep = np.ones(plan.n_cohorts, dtype=bool) if min_size is None else size >= min_size
    idx = np.flatnonzero(keep)
    p = plan.n_periods
    rows = idx.shape[0] * p
    obs = plan.observed[idx].ravel()
    sizes = np.repeat(size[idx], p)
    act = active[idx].ravel()
    cohort_days = np.repeat(plan.labels[idx], p).astype(np.int32)
    out = pa.table(
        {
            "cohort": pa.array(cohort_days, type=pa.int32()).cast(pa.date32()),
            "period": pa.array(np.tile(np.arange(p, dtype=np.int64), idx.shape[0])),
            "cohort_size": pa.array(sizes),
            "cohort_size_ci_low": pa.array(sizes - hw),
            "cohort_size_ci_high": pa.array(sizes + hw),
            "active": pa.array(act, mask=~obs),
            "active_ci_low": pa.array(act - hw, mask=~obs),
            "active_ci_high": pa.array(act + hw, mask=~obs),
            "retention": pa.array(rate[idx].ravel(), mask=~obs),
            "retention_ci_low": pa.array(r_low[idx].ravel(), mask=~obs),
            "retention_ci_high": pa.array(r_high[idx].ravel(), mask=~obs),
        }
    )
    assert out.num_rows == rows
    info = info.replace(parameters={"suppressed_cohorts": int((~keep).sum())})
    return publish(out, family, info)


# ---------------------------------------------------------------------------
# Plot
# ---------------------------------------------------------------------------


def plot_retention(
    result: Any,
    *,
    value: Literal["retention", "active"] = "retention",
    ax: Any = None,
    cmap: str = "viridis",
    annotate: bool = True,
) -> Any:
    """A retention heat map (cohorts × periods) of a :func:`cohort_retention` result.

    Needs matplotlib (``pip install loopkit_privacy[plot]``), imported only
    when this is called.

    Parameters
    ----------
    result : table
        The output of :func:`cohort_retention` (any table family).
    value : {"retention", "active"}
        What to colour by.
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    cmap : str
        Matplotlib colour map.
    annotate : bool
        Write each cell's value (with the CI half-width for rates).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import datetime as dt, warnings, pyarrow as pa, loopkit_privacy as lp
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> rng = lp.random.InsecureSeededRandom(2)
    >>> t = pa.table({"u": list(range(300)), "t": [dt.date(2026, 1, 3)] * 300})
    >>> out = lp.cohort_retention(t, privacy_unit="u", time="t", start="2026-01-01",
    ...                           end="2026-02-01", n_periods=3, epsilon=1.0, rng=rng)
    >>> ax = lp.plot_retention(out)
    >>> ax.get_xlabel()
    'period'
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise OptionalDependencyError(
            "plot_retention needs matplotlib: pip install 'loopkit_privacy[plot]'"
        ) from err
    if value not in ("retention", "active"):
        raise InvalidParameterError(
            f"`value` must be 'retention' or 'active', got {value!r}",
            parameter="value",
            value=value,
        )
    annotate = check_bool(annotate, "annotate")
    if not isinstance(cmap, str) and not callable(cmap):
        raise InvalidParameterError(
            f"`cmap` must be a matplotlib colormap or its name, got {cmap!r}; "
            "pass e.g. cmap='viridis'",
            parameter="cmap",
            value=cmap,
        )
    if ax is not None and not callable(getattr(ax, "imshow", None)):
        raise InvalidParameterError(
            "`ax` must be a matplotlib Axes (or None), got an object of type "
            f"{type(ax).__name__}; pass e.g. ax=plt.subplots()[1]",
            parameter="ax",
            value=None,
        )
    wanted = ["cohort", "period", value, f"{value}_ci_high"]
    try:
        missing = [c for c in wanted if c not in tables.columns_of(result)]
    except ColumnTypeError:
        missing = wanted
    if missing:
        raise InvalidParameterError(
            "`result` must be the table cohort_retention returned (with columns "
            f"{', '.join(wanted)}); got an object of type {type(result).__name__} "
            "without them",
            parameter="result",
            value=None,
        )
    data, _ = tables.as_arrow(result, wanted)
    cohorts = data.column("cohort").to_pylist()
    periods = np.asarray(data.column("period").to_numpy(zero_copy_only=False))
    labels = sorted(set(cohorts))
    row = {c: i for i, c in enumerate(labels)}
    n_p = int(periods.max()) + 1 if periods.size else 0
    grid = np.full((len(labels), n_p), np.nan)
    half = np.full((len(labels), n_p), np.nan)
    vals = data.column(value).to_pylist()
    highs = data.column(f"{value}_ci_high").to_pylist()
    for c, p, v, h in zip(cohorts, periods.tolist(), vals, highs, strict=True):
        if v is not None:
            grid[row[c], p] = v
            half[row[c], p] = h - v
    if ax is None:
        _, ax = plt.subplots(
            figsize=(1.0 + 0.8 * max(n_p, 1), 1.0 + 0.45 * max(len(labels), 1))
        )
    image = ax.imshow(
        np.ma.masked_invalid(grid),  # type: ignore[no-untyped-call]
        cmap=cmap,
        aspect="auto",
        vmin=0.0,
        vmax=1.0 if value == "retention" else None,
    )
    ax.set_xticks(range(n_p))
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels([str(c) for c in labels])
    ax.set_xlabel("period")
    ax.set_ylabel("cohort")
    ax.set_title(
        "retention (noisy)" if value == "retention" else "active users (noisy)"
    )
    ax.figure.colorbar(image, ax=ax)
    if annotate:
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                if not np.isnan(grid[i, j]):
                    text = (
                        f"{grid[i, j]:.2f}"
                        if value == "retention"
                        else f"{grid[i, j]:.0f}"
                    )
                    ax.text(j, i, text, ha="center", va="center", fontsize=7, color="w")
    return ax
