"""Hypothesis strategies for event tables and neighbouring pairs.

Needs ``hypothesis`` (a test dependency): ``pip install hypothesis``.

* :func:`event_tables`: event tables with a user column, one or two group
  columns, a numeric value column (optionally with nulls), timestamps, and
  skew (a few popular groups, a few very active users);
* :func:`neighbouring_pairs`: ``(d0, d1)`` where one table is the other plus
  **all** rows of one user (added or removed), including a heavy user with
  thousands of rows;
* :func:`pair_values`: two values of a query that differ by at most its
  sensitivity (inputs of a mechanism).

Added users are appended at the end with a new id above every other, so
every other user keeps its rows, its order and its codes (what
:func:`loopkit_privacy.audit.aggregation_trials` needs to bound once).

Examples
--------
>>> from hypothesis import given, settings
>>> from loopkit_privacy.audit import strategies as lps
>>> @settings(max_examples=5, deadline=None)
... @given(lps.neighbouring_pairs())
... def test_one_user_apart(pair):
...     d0, d1 = pair
...     assert abs(d0.num_rows - d1.num_rows) >= 1
>>> test_one_user_apart()
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from loopkit_privacy._validate import check_finite, check_positive, check_positive_int
from loopkit_privacy.audit._args import (
    check_bool,
    check_choice,
    check_names,
    check_nonnegative,
    check_nonnegative_int,
    fail,
)
from loopkit_privacy.errors import InvalidParameterError, OptionalDependencyError

try:
    from hypothesis import strategies as st
except ImportError as err:  # pragma: no cover - hypothesis is a test dependency
    raise OptionalDependencyError(
        "loopkit_privacy.audit.strategies needs hypothesis: pip install hypothesis "
        "(or pip install 'loopkit_privacy[test]')"
    ) from err

__all__ = [
    "GROUPS",
    "event_tables",
    "neighbouring_pairs",
    "pair_values",
]

#: Group labels drawn for the ``page`` column (the first ones are the popular ones).
GROUPS = ("home", "pricing", "docs", "signup", "settings", "blog", "api", "jobs")
_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


_FAMILIES = {
    "arrow": "arrow",
    "pyarrow": "arrow",
    "polars": "polars",
    "pandas": "pandas",
}


def _check_family(family: Any) -> str:
    return _FAMILIES[check_choice(family, "family", _FAMILIES)]


def _check_groups(groups: Any) -> tuple[str, ...]:
    return tuple(
        check_names(groups, "groups", single=False, example='("home", "docs")')
    )


def _check_size(max_users: Any, max_rows_per_user: Any) -> tuple[int, int]:
    return (
        check_nonnegative_int(max_users, "max_users", example="30"),
        check_positive_int(max_rows_per_user, "max_rows_per_user", example="5"),
    )


def _check_pair(value: Any, name: str, example: str) -> tuple[Any, Any]:
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise fail(name, "must be a pair (low, high)", value, example) from None
    return lo, hi


def _check_ordered_pair(
    value: Any, name: str, example: str, check: Any
) -> tuple[Any, Any]:
    """``(low, high)`` with each end passing ``check`` and low <= high."""
    lo, hi = _check_pair(value, name, example)
    lo_v = check(lo, name, example=example)
    hi_v = check(hi, name, example=example)
    if lo_v > hi_v:
        raise InvalidParameterError(
            f"`{name}` must be (low, high) with low <= high, got {value!r}; "
            f"pass e.g. {name}={example}",
            parameter=name,
            value=value,
        )
    return lo_v, hi_v


def _check_value_range(value_range: Any) -> tuple[float, float]:
    return _check_ordered_pair(
        value_range, "value_range", "(-100.0, 1000.0)", check_finite
    )


def _check_heavy_rows(heavy_rows: Any) -> tuple[int, int]:
    return _check_ordered_pair(
        heavy_rows, "heavy_rows", "(1000, 5000)", check_positive_int
    )


def _to_family(columns: dict[str, Any], family: str) -> Any:
    import pyarrow as pa

    from loopkit_privacy import tables

    table = pa.table(columns)
    return tables.from_arrow(table, _check_family(family))  # type: ignore[arg-type]


@st.composite
def _rows(
    draw: st.DrawFn,
    *,
    max_users: int,
    max_rows_per_user: int,
    groups: tuple[str, ...],
    nulls: bool,
    skew: bool,
    value_range: tuple[float, float],
) -> dict[str, list[Any]]:
    n_users = draw(st.integers(0, max_users))
    group_st = (
        st.sampled_from(groups[:2]) | st.sampled_from(groups)
        if skew
        else st.sampled_from(groups)
    )
    lo, hi = value_range
    value_st: st.SearchStrategy[float | None] = st.floats(
        lo, hi, allow_nan=False, allow_infinity=False
    )
    if nulls:
        value_st = st.none() | value_st
    cols: dict[str, list[Any]] = {
        "user_id": [],
        "page": [],
        "country": [],
        "value": [],
        "time": [],
    }
    for user in range(n_users):
        k = draw(st.integers(1, max_rows_per_user))
        for _ in range(k):
            cols["user_id"].append(user)
            cols["page"].append(draw(group_st))
            cols["country"].append(draw(st.sampled_from(["de", "fr", "us"])))
            cols["value"].append(draw(value_st))
            seconds = draw(st.integers(0, 180 * 86400))
            cols["time"].append(_EPOCH + dt.timedelta(seconds=seconds))
    return cols


def _arrow_columns(cols: dict[str, list[Any]]) -> dict[str, Any]:
    import pyarrow as pa

    return {
        "user_id": pa.array(cols["user_id"], pa.int64()),
        "page": pa.array(cols["page"], pa.string()),
        "country": pa.array(cols["country"], pa.string()),
        "value": pa.array(cols["value"], pa.float64()),
        "time": pa.array(cols["time"], pa.timestamp("us", tz="UTC")),
    }


def event_tables(
    *,
    max_users: int = 30,
    max_rows_per_user: int = 5,
    groups: tuple[str, ...] = GROUPS,
    nulls: bool = True,
    skew: bool = True,
    value_range: tuple[float, float] = (-100.0, 1000.0),
    family: str = "arrow",
) -> st.SearchStrategy[Any]:
    """Event tables: ``user_id``, ``page``, ``country``, ``value``, ``time``.

    Parameters
    ----------
    max_users, max_rows_per_user : int
        Size limits (0..max_users users, each with 1..max_rows_per_user rows).
    groups : tuple of str
        Labels of ``page`` (at least one).
    nulls : bool
        Allow nulls in ``value``.
    skew : bool
        Draw the first two groups about half the time.
    value_range : (float, float)
        Range of ``value`` (wider than typical clamping bounds, on purpose);
        finite, low <= high.
    family : {"arrow", "polars", "pandas"}
        The table type generated.

    Raises
    ------
    InvalidParameterError
        When an argument is invalid (checked when the strategy is built).

    Returns
    -------
    hypothesis.strategies.SearchStrategy

    Examples
    --------
    >>> from hypothesis import find
    >>> table = find(event_tables(max_users=3), lambda t: t.num_rows > 2)
    >>> table.column_names
    ['user_id', 'page', 'country', 'value', 'time']
    """
    users, rows = _check_size(max_users, max_rows_per_user)
    labels = _check_groups(groups)
    with_nulls = check_bool(nulls, "nulls")
    skewed = check_bool(skew, "skew")
    values = _check_value_range(value_range)
    fam = _check_family(family)
    return _rows(
        max_users=users,
        max_rows_per_user=rows,
        groups=labels,
        nulls=with_nulls,
        skew=skewed,
        value_range=values,
    ).map(lambda cols: _to_family(_arrow_columns(cols), fam))


@st.composite
def _pairs(
    draw: st.DrawFn,
    *,
    max_users: int,
    max_rows_per_user: int,
    groups: tuple[str, ...],
    nulls: bool,
    heavy_rows: tuple[int, int],
    family: str,
) -> tuple[Any, Any]:
    cols = draw(
        _rows(
            max_users=max_users,
            max_rows_per_user=max_rows_per_user,
            groups=groups,
            nulls=nulls,
            skew=True,
            value_range=(-100.0, 1000.0),
        )
    )
    base = _arrow_columns(cols)
    new_id = (max(cols["user_id"]) + 1) if cols["user_id"] else 0
    heavy = draw(st.booleans())
    if heavy:
        k = draw(st.integers(*heavy_rows))
    else:
        k = draw(st.integers(1, max_rows_per_user))
    # The user's rows come from a drawn seed: thousands of rows stay cheap to
    # generate (numpy's PRNG is fine for test data, never for noise).
    seed = draw(st.integers(0, 2**32 - 1))
    gen = np.random.default_rng(seed)
    extra_groups = (*groups, "only-this-user") if draw(st.booleans()) else groups
    pages = [extra_groups[i] for i in gen.integers(0, len(extra_groups), size=k)]
    values: list[float | None] = [float(v) for v in gen.uniform(-1e4, 1e4, size=k)]
    seconds = gen.integers(0, 180 * 86400, size=k)
    user_cols: dict[str, list[Any]] = {
        "user_id": [new_id] * k,
        "page": pages,
        "country": [str(gen.choice(["de", "fr", "us"]))] * k,
        "value": values,
        "time": [_EPOCH + dt.timedelta(seconds=int(s)) for s in seconds],
    }
    extended = {name: cols[name] + user_cols[name] for name in cols}
    small = _to_family(base, family)
    large = _to_family(_arrow_columns(extended), family)
    return (small, large) if draw(st.booleans()) else (large, small)


def neighbouring_pairs(
    *,
    max_users: int = 20,
    max_rows_per_user: int = 4,
    groups: tuple[str, ...] = GROUPS,
    nulls: bool = True,
    heavy_rows: tuple[int, int] = (1000, 5000),
    family: str = "arrow",
) -> st.SearchStrategy[tuple[Any, Any]]:
    """Pairs ``(d0, d1)`` of tables that differ in all rows of one user.

    One table is an :func:`event_tables` table, the other the same table with
    one more user appended (in either order, so the user is added or
    removed). Half of the time that user is heavy: ``heavy_rows`` rows (1,000
    to 5,000 by default), values far outside typical bounds, and sometimes a
    page no other user visits.

    Parameters
    ----------
    max_users, max_rows_per_user, groups, nulls, family
        As for :func:`event_tables`.
    heavy_rows : (int, int)
        Range of the heavy user's row count (integers >= 1, low <= high).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of (table, table)

    Examples
    --------
    >>> from hypothesis import find
    >>> d0, d1 = find(neighbouring_pairs(max_users=3), lambda p: p[1].num_rows >= 1000)
    >>> d1.num_rows - d0.num_rows >= 1000
    True
    """
    users, rows = _check_size(max_users, max_rows_per_user)
    return _pairs(
        max_users=users,
        max_rows_per_user=rows,
        groups=_check_groups(groups),
        nulls=check_bool(nulls, "nulls"),
        heavy_rows=_check_heavy_rows(heavy_rows),
        family=_check_family(family),
    )


def pair_values(
    *, sensitivity: float = 1.0, integer: bool = False, magnitude: float = 1e6
) -> st.SearchStrategy[tuple[Any, Any]]:
    """Two query values at most ``sensitivity`` apart (inputs of a mechanism).

    Parameters
    ----------
    sensitivity : float
        Finite and > 0; a whole number when ``integer``.
    integer : bool
        Draw integers instead of floats.
    magnitude : float
        Finite and >= 0: the first value is in ``[-magnitude, magnitude]``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of (value, value)

    Examples
    --------
    >>> from hypothesis import find
    >>> a, b = find(pair_values(integer=True), lambda p: p[0] != p[1])
    >>> abs(a - b)
    1
    """
    sens = check_positive(sensitivity, "sensitivity", example="1.0")
    whole = check_bool(integer, "integer")
    magnitude = check_nonnegative(magnitude, "magnitude", example="1e6")
    if whole and not sens.is_integer():
        raise InvalidParameterError(
            f"`sensitivity` must be a whole number when integer=True, got "
            f"{sensitivity!r}; pass e.g. sensitivity=1",
            parameter="sensitivity",
            value=sensitivity,
        )
    sensitivity = sens
    if whole:
        step = int(sensitivity)
        return st.tuples(
            st.integers(-int(magnitude), int(magnitude)), st.integers(-step, step)
        ).map(lambda t: (t[0], t[0] + t[1]))
    return st.tuples(
        st.floats(-magnitude, magnitude, allow_nan=False),
        st.floats(-sensitivity, sensitivity, allow_nan=False),
    ).map(lambda t: (t[0], t[0] + t[1]))
