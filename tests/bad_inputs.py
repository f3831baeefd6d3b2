"""Building blocks of the bad-input suite (``tests/unit/test_bad_input.py``).

A :class:`Case` is a *valid* call with one argument made bad. The suite runs
each case and checks one rule for every public function:

1. the call raises the expected :class:`loopkit_privacy.PrivacyError` subclass;
2. the error names the caller's parameter (see :func:`assert_names`);
3. a message about a table does not reveal the table's data
   (:func:`assert_no_data`);
4. nothing was spent: the accountant (in memory or a SQLite ledger, reopened)
   has spent zero and holds no receipt (:func:`assert_nothing_spent`).

The tables are tiny and built from sentinel values (user ids ``7301..``,
pages ``zq-..``, values such as ``4.4375``) that a message has no reason to
contain, so a leak of a row shows up as a sentinel in the message.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

import loopkit_privacy as lp
from loopkit_privacy.accounting import SQLiteLedger

# ---------------------------------------------------------------------------
# Tiny tables of sentinel values
# ---------------------------------------------------------------------------

USERS = [7301, 7301, 7302, 7303, 7304, 7305]
PAGES = ["zq-home", "zq-docs", "zq-home", "zq-docs", "zq-home", "zq-blog"]
COUNTRIES = ["zz-de", "zz-fr", "zz-de", "zz-us", "zz-fr", "zz-de"]
VALUES = [4.4375, 3.3125, 8.8125, 1.1875, 6.6875, 2.5625]
BUCKETS = [1.5, 2.5, 1.5, 2.5, 1.5, 3.5]
TIMES = [
    dt.datetime(2026, 1, 3, tzinfo=dt.UTC),
    dt.datetime(2026, 2, 4, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 6, tzinfo=dt.UTC),
    dt.datetime(2026, 2, 7, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 8, tzinfo=dt.UTC),
]
N_ROWS = len(USERS)

#: Strings that would only be in a message that copied the data.
SENTINELS = (
    [str(u) for u in set(USERS)]
    + sorted(set(PAGES))
    + sorted(set(COUNTRIES))
    + [repr(v) for v in VALUES]
)


def _base_columns() -> dict[str, pa.Array]:
    return {
        "user_id": pa.array(USERS, pa.int64()),
        "page": pa.array(PAGES, pa.string()),
        "country": pa.array(COUNTRIES, pa.string()),
        "value": pa.array(VALUES, pa.float64()),
        "ivalue": pa.array([int(v) for v in VALUES], pa.int64()),
        "bucket": pa.array(BUCKETS, pa.float64()),
        "flag": pa.array([True, False, True, True, False, True], pa.bool_()),
        "time": pa.array(TIMES, pa.timestamp("us", tz="UTC")),
        "tags": pa.array([[p] for p in PAGES], pa.list_(pa.string())),
        "meta": pa.array(
            [{"p": p, "c": c} for p, c in zip(PAGES, COUNTRIES, strict=True)],
            pa.struct([("p", pa.string()), ("c", pa.string())]),
        ),
        "attrs": pa.array([[(p, 1)] for p in PAGES], pa.map_(pa.string(), pa.int64())),
    }


#: The events every case reads (Arrow).
EVENTS = pa.table(_base_columns())
#: The same events as polars (eager and lazy) and pandas frames (flat columns).
_FLAT = EVENTS.drop_columns(["tags", "meta", "attrs"])
EVENTS_POLARS = pl.from_arrow(_FLAT)
EVENTS_LAZY = pl.from_arrow(_FLAT).lazy()
EVENTS_PANDAS = _FLAT.to_pandas()


def _with(name: str, values: list[Any], typ: pa.DataType) -> pa.Table:
    index = EVENTS.column_names.index(name)
    return EVENTS.set_column(index, pa.field(name, typ), pa.array(values, typ))


#: ``value`` holds a NaN / an infinity; ``user_id`` holds a null.
EVENTS_NAN = _with("value", [*VALUES[:-1], math.nan], pa.float64())
EVENTS_INF = _with("value", [math.inf, *VALUES[1:]], pa.float64())
EVENTS_NULL_UNIT = _with("user_id", [*USERS[:-1], None], pa.int64())
EVENTS_PANDAS_NAN = EVENTS_NAN.drop_columns(["tags", "meta", "attrs"]).to_pandas()


def duplicated(name: str) -> pa.Table:
    """The events with a second column called ``name`` (Arrow allows this)."""
    return pa.table(
        [*EVENTS.columns, EVENTS.column(name)], names=[*EVENTS.column_names, name]
    )


def duplicated_pandas(name: str) -> pd.DataFrame:
    """The flat events as pandas with a second column called ``name``."""
    frame = EVENTS_PANDAS.copy()
    return pd.concat([frame, frame[[name]]], axis=1)


#: Consent records: one row per user, a boolean per purpose.
CONSENT = pa.table(
    {
        "user_id": pa.array(sorted(set(USERS)), pa.int64()),
        "performanceMonitoring": pa.array([True, False, True, None, True]),
    }
)
CONSENT_DUPLICATE_USER = pa.table(
    {
        "user_id": pa.array([7301, 7301, 7302], pa.int64()),
        "performanceMonitoring": pa.array([True, False, True]),
    }
)
CONSENT_STRING_FLAG = pa.table(
    {
        "user_id": pa.array([7301, 7302], pa.int64()),
        "performanceMonitoring": pa.array(["yes", "no"]),
    }
)

#: Aggregated groups, as ``filter_groups`` takes them.
GROUPS = pa.table({"page": ["zq-home", "zq-docs"], "count": [12.0, 3.0]})

#: A few data tables; a message about one of them must not show its rows.
DATA_TABLES: tuple[Any, ...] = (
    EVENTS,
    EVENTS_POLARS,
    EVENTS_LAZY,
    EVENTS_PANDAS,
    EVENTS_NAN,
    EVENTS_INF,
    EVENTS_NULL_UNIT,
    EVENTS_PANDAS_NAN,
    CONSENT,
    CONSENT_DUPLICATE_USER,
    CONSENT_STRING_FLAG,
)


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

#: Remove this argument from the valid call.
DROP = object()


@dataclass(frozen=True)
class Lazy:
    """An argument computed when the case runs (``make(tmp_path)``).

    For arguments that cost something to build (a released table) or need a
    fresh path; a broken builder then fails its own cases, not the whole module.
    """

    make: Callable[[Path], Any]


AccountantUse = Literal["none", "kwarg", "self"]


@dataclass(frozen=True)
class Case:
    """One bad call: ``fn(**kwargs)`` must raise ``error`` naming ``name``.

    ``accountant``: ``"kwarg"`` passes the accountant as ``accountant=``
    (unless the case sets it), ``"self"`` calls ``fn(accountant, **kwargs)``
    (accountant methods); both run on an in-memory and a SQLite accountant.
    ``name`` may be a tuple when either of two parameters is a fair answer
    (``sensitivity=1e300, epsilon=1e-300``: the ratio is out of range).
    ``fresh_path``: the case passes ``Lazy`` paths that must not be created.
    """

    id: str
    fn: Callable[..., Any]
    kwargs: dict[str, Any]
    error: type[Exception]
    name: str | tuple[str, ...]
    accountant: AccountantUse = "none"
    builtin: tuple[type[Exception], ...] = ()
    fresh_path: bool = False
    data: bool = field(default=False)


def case(
    id: str,
    fn: Callable[..., Any],
    base: dict[str, Any],
    change: dict[str, Any],
    error: type[Exception],
    name: str | tuple[str, ...],
    *,
    accountant: AccountantUse = "none",
    builtin: tuple[type[Exception], ...] = (),
    fresh_path: bool = False,
) -> Case:
    """The valid call ``fn(**base)`` with ``change`` applied (``DROP`` removes)."""
    kwargs = {**base, **change}
    kwargs = {k: v for k, v in kwargs.items() if v is not DROP}
    data = any(any(v is t for t in DATA_TABLES) for v in kwargs.values()) or any(
        isinstance(v, pa.Table | pd.DataFrame | pl.DataFrame) for v in kwargs.values()
    )
    return Case(id, fn, kwargs, error, name, accountant, builtin, fresh_path, data)


def resolve(kwargs: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Build the ``Lazy`` arguments of a call."""
    return {
        k: v.make(tmp_path) if isinstance(v, Lazy) else v for k, v in kwargs.items()
    }


# ---------------------------------------------------------------------------
# Accountants
# ---------------------------------------------------------------------------

BUDGET = {"epsilon": 10.0, "delta": 1e-3}
LEDGER_NAME = "l.sqlite"
DATASET = "d"


def make_accountant(backend: str, tmp_path: Path) -> lp.Accountant:
    """A fresh accountant with ε = 10, δ = 1e-3, in memory or on a SQLite ledger."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lp.PrivacyWarning)  # epsilon > 5
        if backend == "memory":
            return lp.Accountant(**BUDGET)
        return lp.Accountant.open(tmp_path / LEDGER_NAME, dataset=DATASET, **BUDGET)


def _assert_zero(acc: lp.Accountant, where: str) -> None:
    spent = acc.spent
    assert getattr(spent, "epsilon", 0.0) == 0.0, f"{where}: spent {spent!r}"
    assert getattr(spent, "delta", 0.0) == 0.0, f"{where}: spent {spent!r}"
    assert getattr(spent, "rho", 0.0) == 0.0, f"{where}: spent {spent!r}"
    assert acc.used_fraction == 0.0, f"{where}: used {acc.used_fraction}"
    assert acc.receipts == (), f"{where}: receipts {acc.receipts!r}"


def assert_nothing_spent(acc: lp.Accountant, backend: str, tmp_path: Path) -> None:
    """Zero spent and no receipt; for SQLite also no ledger row, after reopening."""
    _assert_zero(acc, backend)
    if backend != "sqlite":
        return
    acc.close()
    path = tmp_path / LEDGER_NAME
    ledger = SQLiteLedger(path, create=False)
    try:
        rows = ledger.rows(DATASET)
    finally:
        ledger.close()
    # Not even a reservation that was given back: bad input is refused
    # before the accountant is asked for anything.
    assert rows == [], f"ledger rows after a refused call: {[r[2] for r in rows]}"
    with lp.Accountant.open(path, dataset=DATASET) as again:
        _assert_zero(again, "sqlite, reopened")


# ---------------------------------------------------------------------------
# The rule for naming the parameter
# ---------------------------------------------------------------------------


def names_pattern(name: str | tuple[str, ...]) -> str:
    """A ``pytest.raises(match=...)`` pattern for a message naming ``name``.

    It accepts exactly the spellings :func:`assert_names` accepts: ```name```
    for a parameter, or the column's ``repr`` for a schema error.
    """
    names = (name,) if isinstance(name, str) else name
    return "|".join(re.escape(s) for n in names for s in (f"`{n}`", repr(n)))


def assert_names(err: BaseException, name: str | tuple[str, ...]) -> None:
    """The error names the caller's parameter (or column) ``name``.

    One rule, by the kind of error:

    * a schema error (:class:`~loopkit_privacy.SchemaError`) about a column:
      ``err.column == name`` and the message quotes the column
      (```name``` or ``'name'``: a column name is a value the caller gave);
    * a parameter error (:class:`~loopkit_privacy.InvalidParameterError`):
      ``err.parameter == name`` and the message shows ```name```;
    * any other library error: the message shows ```name```.
    """
    names = (name,) if isinstance(name, str) else name
    msg = str(err)
    if isinstance(err, lp.SchemaError) and getattr(err, "column", None) is not None:
        assert err.column in names, f"err.column={err.column!r}, expected {names}"
        assert f"`{err.column}`" in msg or repr(err.column) in msg, msg
        return
    if isinstance(err, lp.InvalidParameterError):
        assert err.parameter in names, (
            f"err.parameter={err.parameter!r}, expected {names}: {msg}"
        )
        assert f"`{err.parameter}`" in msg, (
            f"message does not show `{err.parameter}`: {msg}"
        )
        return
    assert any(f"`{n}`" in msg for n in names), f"message names none of {names}: {msg}"


_COUNTS = re.compile(
    r"\b\d+\s+(?:rows?|records?|users?|units?|nulls?|NaNs?|events?)\b"
    r"|\b(?:row|rows|index|position)\s+\d+",
    re.IGNORECASE,
)


def assert_no_data(err: BaseException) -> None:
    """A message about a table shows no row of it, and no count of its rows."""
    msg = str(err)
    leaked = [s for s in SENTINELS if s in msg]
    assert not leaked, f"message shows data values {leaked}: {msg}"
    found = _COUNTS.search(msg)
    assert found is None, (
        f"message shows a count or position ({found.group()!r}): {msg}"
    )


# ---------------------------------------------------------------------------
# Quantiles and variance (loopkit_privacy.quantiles)
# ---------------------------------------------------------------------------

#: The valid calls the quantile and variance cases make bad.
QUANTILES_CALL: dict[str, Any] = {
    "table": EVENTS,
    "by": "page",
    "privacy_unit": "user_id",
    "epsilon": 1.0,
    "delta": 1e-6,
    "column": "value",
    "bounds": (0.0, 10.0),
    "quantiles": [0.5, 0.95],
}
VARIANCE_CALL: dict[str, Any] = {
    k: v for k, v in QUANTILES_CALL.items() if k != "quantiles"
}


def quantile_cases(ipe: type[Exception]) -> list[Case]:
    """The arguments only ``aggregate_quantiles`` / ``aggregate_variance`` take."""
    q = lp.aggregate_quantiles

    def bad(id_: str, change: dict[str, Any], name: str, fn: Any = q) -> Case:
        base = QUANTILES_CALL if fn is q else VARIANCE_CALL
        return case(id_, fn, base, change, ipe, name, accountant="kwarg")

    nan = math.nan
    return [
        bad("quantiles-above-one", {"quantiles": [0.5, 1.5]}, "quantiles"),
        bad("quantiles-negative", {"quantiles": [-0.1, 0.5]}, "quantiles"),
        bad("quantiles-unsorted", {"quantiles": [0.95, 0.5]}, "quantiles"),
        bad("quantiles-duplicate", {"quantiles": [0.5, 0.5]}, "quantiles"),
        bad("quantiles-empty", {"quantiles": []}, "quantiles"),
        bad("quantiles-nan", {"quantiles": [nan]}, "quantiles"),
        bad("quantiles-str", {"quantiles": "0.5"}, "quantiles"),
        bad("quantiles-bool", {"quantiles": [True]}, "quantiles"),
        bad("quantiles-none", {"quantiles": None}, "quantiles"),
        bad("quantiles-bins-not-power", {"bins": 1000}, "bins"),
        bad("quantiles-bins-small", {"bins": 8}, "bins"),
        bad("quantiles-bins-huge", {"bins": 1 << 20}, "bins"),
        bad("quantiles-bins-float", {"bins": 64.0}, "bins"),
        bad(
            "variance-bounds-square-huge",
            {"bounds": (0.0, 2.0**300)},
            "bounds",
            lp.aggregate_variance,
        ),
        bad(
            "std-bounds-square-tiny",
            {"bounds": (0.0, 2.0**-300)},
            "bounds",
            lp.aggregate_std,
        ),
    ]


# ---------------------------------------------------------------------------
# aggregate_histogram and funnel (their own cases; the shared privacy, table
# and value cases are added in tests/unit/test_bad_input.py)
# ---------------------------------------------------------------------------

HISTOGRAM_CALL: dict[str, Any] = {
    "table": EVENTS,
    "by": "country",
    "privacy_unit": "user_id",
    "epsilon": 1.0,
    "delta": 1e-6,
    "column": "value",
    "bins": [0.0, 5.0, 10.0],
}
FUNNEL_CALL: dict[str, Any] = {
    "table": EVENTS,
    "privacy_unit": "user_id",
    "step": "page",
    "steps": ["zq-home", "zq-docs"],
    "time": "time",
    "within": "7d",
    "epsilon": 1.0,
}


def histogram_cases(ipe: type[Exception]) -> list[Case]:
    """Bins not increasing, of the wrong kind or count, a bad ``outside``, bad bounds."""

    def bad(
        id_: str, change: dict[str, Any], name: str, error: type[Exception] = ipe
    ) -> Case:
        return case(
            f"histogram-{id_}", lp.aggregate_histogram, HISTOGRAM_CALL, change, error,
            name, accountant="kwarg",
        )  # fmt: skip

    return [
        bad("bins-not-increasing", {"bins": [0.0, 10.0, 5.0]}, "bins"),
        bad("bins-duplicate-edge", {"bins": [0.0, 5.0, 5.0, 10.0]}, "bins"),
        bad("bins-one-edge", {"bins": [0.0]}, "bins"),
        bad("bins-empty", {"bins": []}, "bins"),
        bad("bins-str", {"bins": "0,5,10"}, "bins"),
        bad("bins-int", {"bins": 10}, "bins"),
        bad("bins-none", {"bins": None}, "bins"),
        bad("bins-nan", {"bins": [0.0, math.nan]}, "bins"),
        bad("bins-inf", {"bins": [0.0, math.inf]}, "bins"),
        bad("bins-bool", {"bins": [False, True]}, "bins"),
        bad("bins-dates-for-numbers", {"bins": ["2026-01-01", "2026-02-01"]}, "bins"),
        bad("bins-numbers-for-times", {"column": "time", "bins": [0, 1]}, "bins"),
        bad(
            "bins-times-decreasing",
            {"column": "time", "bins": ["2026-02-01", "2026-01-01"]},
            "bins",
        ),
        bad("bins-time-garbage", {"column": "time", "bins": ["soon", "later"]}, "bins"),
        bad("outside-unknown", {"outside": "wrap"}, "outside"),
        bad("outside-bool", {"outside": True}, "outside"),
        bad(
            "max-contributions-negative",
            {"max_contributions_per_partition": -1},
            "max_contributions_per_partition",
        ),
        bad("column-is-key", {"column": "value", "by": "value"}, "column"),
        bad("column-is-unit", {"column": "user_id"}, "column"),
        bad("selection-without-delta", {"delta": DROP}, "delta"),
        bad("by-is-unit", {"by": "user_id"}, "by"),
        bad(
            "by-duplicate-arrow",
            {"table": duplicated("country")},
            "country",
            lp.SchemaError,
        ),
        bad(
            "by-duplicate-pandas",
            {"table": duplicated_pandas("country")},
            "country",
            lp.SchemaError,
        ),
    ]


def funnel_cases(ipe: type[Exception]) -> list[Case]:
    """Steps (fewer than two, repeated, of the wrong type), windows, columns."""
    cnf, cte, se = lp.ColumnNotFoundError, lp.ColumnTypeError, lp.SchemaError

    def bad(
        id_: str, change: dict[str, Any], name: str, error: type[Exception] = ipe
    ) -> Case:
        return case(
            f"funnel-{id_}", lp.funnel, FUNNEL_CALL, change, error, name,
            accountant="kwarg",
        )  # fmt: skip

    return [
        bad("steps-one", {"steps": ["zq-home"]}, "steps"),
        bad("steps-empty", {"steps": []}, "steps"),
        bad("steps-duplicate", {"steps": ["zq-home", "zq-docs", "zq-home"]}, "steps"),
        bad("steps-str", {"steps": "zq-home"}, "steps"),
        bad("steps-none", {"steps": None}, "steps"),
        bad("steps-set", {"steps": {"zq-home", "zq-docs"}}, "steps"),
        bad("steps-mixed-types", {"steps": ["zq-home", 1]}, "steps"),
        bad("steps-wrong-type", {"steps": [1, 2]}, "steps"),
        bad("steps-null", {"steps": [None, "zq-home"]}, "steps"),
        bad("steps-float", {"steps": [1.5, 2.5]}, "steps"),
        bad("within-zero", {"within": "0d"}, "within"),
        bad("within-negative-timedelta", {"within": dt.timedelta(days=-1)}, "within"),
        bad("within-zero-timedelta", {"within": dt.timedelta(0)}, "within"),
        bad("within-months", {"within": "1mo"}, "within"),
        bad("within-garbage", {"within": "a week"}, "within"),
        bad("within-int", {"within": 7}, "within"),
        bad("within-none", {"within": None}, "within"),
        bad("within-nat", {"within": np.timedelta64("NaT")}, "within"),
        bad("within-below-one-ns", {"within": "0.5ns"}, "within"),
        bad("step-int", {"step": 5}, "step"),
        bad("step-unknown", {"step": "nope"}, "nope", cnf),
        bad("step-list-type", {"step": "tags"}, "tags", cte),
        bad("step-is-unit", {"step": "user_id"}, "step"),
        bad("time-int", {"time": 5}, "time"),
        bad("time-unknown", {"time": "nope"}, "nope", cnf),
        bad("time-string", {"time": "country"}, "country", cte),
        bad("time-is-step", {"time": "page", "step": "page"}, "step"),
        bad("privacy-unit-none", {"privacy_unit": None}, "privacy_unit"),
        bad("privacy-unit-int", {"privacy_unit": 5}, "privacy_unit"),
        bad("privacy-unit-unknown", {"privacy_unit": "nope"}, "nope", cnf),
        bad("privacy-unit-null", {"table": EVENTS_NULL_UNIT}, "user_id", se),
        bad("by-is-unit", {"by": "user_id"}, "by"),
        bad("by-int", {"by": 5}, "by"),
        bad("by-unknown", {"by": "nope", "delta": 1e-6}, "nope", cnf),
        bad("by-without-delta", {"by": "country"}, "delta"),
        bad(
            "public-groups-str",
            {"by": "country", "public_groups": "zz-de"},
            "public_groups",
        ),
        bad("public-groups-without-by", {"public_groups": ["zz-de"]}, "public_groups"),
        bad("invalid-unknown", {"invalid": "skip"}, "invalid"),
        bad(
            "purpose-unknown", {"purpose": "spying"}, "purpose", lp.UnknownPurposeError
        ),
    ]
