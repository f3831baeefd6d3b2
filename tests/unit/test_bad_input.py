"""Bad input to every public function: a clear library error, and nothing spent.

Each case is a valid call with one argument made bad (``tests/bad_inputs.py``).
For every case the call must raise the expected
:class:`~loopkit_privacy.PrivacyError` subclass (which may also be a
``ValueError``/``TypeError``), the error must name the caller's parameter
(the rule is :func:`tests.bad_inputs.assert_names`), a message about a table
must show none of its rows, and a call that takes an accountant must leave an
in-memory accountant and a SQLite ledger (reopened) with nothing spent and no
receipt.

The valid calls themselves are checked first (``test_valid_call``), so that a
case fails because of its one bad argument and nothing else; and a few inputs
that must be *accepted* (numpy scalars where a number is expected) are checked
at the end.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import warnings
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import loopkit_privacy as lp
from loopkit_privacy import accounting, audit, controls, kanon, loss, noise
from loopkit_privacy import random as lp_random
from loopkit_privacy.audit import strategies
from loopkit_privacy.cli import main as cli_main
from tests.bad_inputs import (
    CONSENT,
    CONSENT_DUPLICATE_USER,
    CONSENT_STRING_FLAG,
    DROP,
    EVENTS,
    EVENTS_INF,
    EVENTS_LAZY,
    EVENTS_NAN,
    EVENTS_NULL_UNIT,
    EVENTS_PANDAS,
    EVENTS_PANDAS_NAN,
    EVENTS_POLARS,
    FUNNEL_CALL,
    GROUPS,
    HISTOGRAM_CALL,
    QUANTILES_CALL,
    VARIANCE_CALL,
    Case,
    Lazy,
    assert_names,
    assert_no_data,
    assert_nothing_spent,
    case,
    duplicated,
    duplicated_pandas,
    funnel_cases,
    histogram_cases,
    make_accountant,
    names_pattern,
    quantile_cases,
    resolve,
)

IPE = lp.InvalidParameterError
CNF = lp.ColumnNotFoundError
CTE = lp.ColumnTypeError
SE = lp.SchemaError
NFE = lp.NonFiniteValueError
UPE = lp.UnknownPurposeError

NAN = math.nan
INF = math.inf
SUBNORMAL = 1e-320


# ---------------------------------------------------------------------------
# Valid calls (one per public function or method), each made bad below
# ---------------------------------------------------------------------------

COUNT = {
    "table": EVENTS,
    "by": "page",
    "privacy_unit": "user_id",
    "epsilon": 1.0,
    "delta": 1e-6,
}
COUNT_PUBLIC = {**COUNT, "public_groups": ["zq-home", "zq-docs"]}
SUM = {**COUNT, "column": "value", "bounds": (0.0, 10.0)}
TOP_N = {
    "table": EVENTS,
    "column": "page",
    "n": 2,
    "privacy_unit": "user_id",
    "epsilon": 1.0,
    "delta": 1e-6,
}
COHORT = {
    "table": EVENTS,
    "privacy_unit": "user_id",
    "time": "time",
    "start": "2026-01-01",
    "end": "2026-03-01",
    "n_periods": 2,
    "epsilon": 1.0,
}
NOISE = {"value": 1.0, "sensitivity": 1.0, "epsilon": 1.0}
LAPLACE = {"sensitivity": 1.0, "epsilon": 1.0}
GAUSSIAN = {"sensitivity": 1.0, "epsilon": 1.0, "delta": 1e-6}
EXPONENTIAL = {"sensitivity": 1.0, "epsilon": 1.0}
RELEASE = {"value": 3.0}
SELECT = {"scores": [1.0, 2.0, 3.0]}
RANDOMIZE = {"value": 3.0, "n": 4}
NOISY_MAX = {"scores": [1.0, 2.0, 3.0], "sensitivity": 1.0, "epsilon": 1.0}
ACCOUNTANT = {"epsilon": 1.0, "delta": 1e-6}
SPEND = {"cost": lp.PureDP(0.5), "label": "q"}
SAMPLE = {"scale": 2.0, "size": 3}


def _open(tmp_path, **kwargs):
    return lp.Accountant.open(tmp_path / "new.sqlite", **kwargs)


def _open_case(**kwargs):
    return functools.partial(_open, kwargs.pop("tmp_path"))(**kwargs)


OPEN = {"tmp_path": Lazy(lambda p: p), "dataset": "d", "epsilon": 1.0}


def _spend(acc, **kw):
    return acc.spend(**kw)


def _can_spend(acc, **kw):
    return acc.can_spend(**kw)


def _transaction(acc, **kw):
    with acc.transaction(**kw):
        pass


def _laplace_release(accountant=None, *, mechanism=LAPLACE, **kw):
    return lp.LaplaceMechanism(**mechanism).release(accountant=accountant, **kw)


def _gaussian_release(accountant=None, **kw):
    return lp.GaussianMechanism(**GAUSSIAN).release(accountant=accountant, **kw)


def _geometric_release(accountant=None, **kw):
    return lp.GeometricMechanism(**LAPLACE).release(accountant=accountant, **kw)


def _randomize(**kw):
    return lp.LaplaceMechanism(**LAPLACE).randomize(**kw)


def _select(accountant=None, **kw):
    return lp.ExponentialMechanism(**EXPONENTIAL).select(accountant=accountant, **kw)


def _select_eps(accountant=None, *, epsilon, **kw):
    mech = lp.ExponentialMechanism(sensitivity=1.0, epsilon=epsilon)
    return mech.select(accountant=accountant, **kw)


def _em_randomize(**kw):
    return lp.ExponentialMechanism(**EXPONENTIAL).randomize(**kw)


def _accuracy(**kw):
    return lp.LaplaceMechanism(**LAPLACE).accuracy(**kw)


def _interval(**kw):
    release = lp.LaplaceMechanism(**LAPLACE).release(3.0)
    return release.confidence_interval(**kw)


def _words(**kw):
    return lp.SecureRandom().words(**kw)


def _with_purpose(**kw):
    return controls.PrivacySettings().with_purpose(**kw)


def _kanon_k(**kw):
    return kanon.k_anonymity(**kw)


@functools.cache
def _released_counts():
    """A small noisy count (cached: built once for the display cases)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lp.PrivacyWarning)
        return lp.aggregate_count(**COUNT_PUBLIC)


@functools.cache
def _released_cohorts():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lp.PrivacyWarning)
        return lp.cohort_retention(**{**COHORT, "min_cohort_size": None})


COUNTS = Lazy(lambda _: _released_counts())
COHORTS = Lazy(lambda _: _released_cohorts())


def _ledger_file(tmp_path):
    path = tmp_path / "existing.sqlite"
    with lp.Accountant.open(path, dataset="d", epsilon=1.0):
        pass
    return path


def _not_a_ledger(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("not a ledger")
    return path


def _d0d1(_):
    return (0, 1)


def _noise_trials(x, n):
    return x + np.zeros(n)


def _trials_of(func, **kw):
    """aggregation_trials built and called once on the events."""
    fn = audit.aggregation_trials(func, **kw)
    return fn(EVENTS, 10)


# ---------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------


def _privacy_cases(prefix, fn, base, *, acc="kwarg", family=True):
    """The privacy-parameter cases every release shares."""
    c = functools.partial(case, fn=fn, base=base, accountant=acc)
    out = [
        c(
            f"{prefix}-epsilon-negative",
            change={"epsilon": -1.0},
            error=IPE,
            name="epsilon",
        ),
        c(f"{prefix}-epsilon-zero", change={"epsilon": 0.0}, error=IPE, name="epsilon"),
        c(f"{prefix}-epsilon-nan", change={"epsilon": NAN}, error=IPE, name="epsilon"),
        c(f"{prefix}-epsilon-inf", change={"epsilon": INF}, error=IPE, name="epsilon"),
        c(f"{prefix}-epsilon-str", change={"epsilon": "1"}, error=IPE, name="epsilon"),
        c(
            f"{prefix}-epsilon-bool",
            change={"epsilon": True},
            error=IPE,
            name="epsilon",
        ),
        c(
            f"{prefix}-epsilon-list",
            change={"epsilon": [1.0]},
            error=IPE,
            name="epsilon",
        ),
        c(
            f"{prefix}-epsilon-subnormal",
            change={"epsilon": SUBNORMAL},
            error=IPE,
            name="epsilon",
        ),
    ]
    if family:
        out += [
            c(
                f"{prefix}-no-epsilon-no-rho",
                change={"epsilon": DROP},
                error=IPE,
                name="epsilon",
            ),
            c(f"{prefix}-epsilon-and-rho", change={"rho": 0.5}, error=IPE, name="rho"),
            c(
                f"{prefix}-delta-negative",
                change={"delta": -1e-6},
                error=IPE,
                name="delta",
            ),
            c(f"{prefix}-delta-one", change={"delta": 1.0}, error=IPE, name="delta"),
            c(f"{prefix}-delta-nan", change={"delta": NAN}, error=IPE, name="delta"),
            c(f"{prefix}-delta-str", change={"delta": "1e-6"}, error=IPE, name="delta"),
            c(
                f"{prefix}-rho-negative",
                change={"epsilon": DROP, "rho": -0.5},
                error=IPE,
                name="rho",
            ),
            c(
                f"{prefix}-rho-nan",
                change={"epsilon": DROP, "rho": NAN},
                error=IPE,
                name="rho",
            ),
            c(
                f"{prefix}-mechanism-unknown",
                change={"mechanism": "cauchy"},
                error=IPE,
                name="mechanism",
            ),
            c(
                f"{prefix}-mechanism-int",
                change={"mechanism": 1},
                error=IPE,
                name="mechanism",
            ),
            c(
                f"{prefix}-gaussian-without-delta",
                change={"mechanism": "gaussian", "delta": DROP},
                error=IPE,
                name="delta",
            ),
        ]
    if acc == "kwarg":
        out += [
            c(
                f"{prefix}-accountant-str",
                change={"accountant": "acc"},
                error=IPE,
                name="accountant",
            ),
            c(
                f"{prefix}-accountant-int",
                change={"accountant": 5},
                error=IPE,
                name="accountant",
            ),
            c(f"{prefix}-rng-str", change={"rng": "secure"}, error=IPE, name="rng"),
            c(f"{prefix}-rng-int-seed", change={"rng": 42}, error=IPE, name="rng"),
            c(
                f"{prefix}-rng-numpy",
                change={"rng": np.random.default_rng(0)},
                error=IPE,
                name="rng",
            ),
            c(f"{prefix}-label-int", change={"label": 5}, error=IPE, name="label"),
            c(f"{prefix}-label-list", change={"label": ["q"]}, error=IPE, name="label"),
        ]
    return out


def _table_cases(prefix, fn, base, *, columns=("by",)):
    """Table, column and schema cases of the aggregations."""
    c = functools.partial(case, fn=fn, base=base, accountant="kwarg")
    out = [
        c(
            f"{prefix}-table-none",
            change={"table": None},
            error=lp.PrivacyError,
            name="table",
        ),
        c(
            f"{prefix}-table-dict",
            change={"table": {"user_id": [1]}},
            error=lp.PrivacyError,
            name="table",
        ),
        c(
            f"{prefix}-privacy-unit-int",
            change={"privacy_unit": 5},
            error=IPE,
            name="privacy_unit",
        ),
        c(
            f"{prefix}-privacy-unit-list",
            change={"privacy_unit": ["user_id"]},
            error=IPE,
            name="privacy_unit",
        ),
        c(
            f"{prefix}-privacy-unit-unknown",
            change={"privacy_unit": "nope"},
            error=CNF,
            name="nope",
        ),
        c(
            f"{prefix}-privacy-unit-null",
            change={"table": EVENTS_NULL_UNIT},
            error=SE,
            name="user_id",
        ),
        c(
            f"{prefix}-privacy-unit-list-type",
            change={"privacy_unit": "tags"},
            error=CTE,
            name="tags",
        ),
        c(
            f"{prefix}-privacy-unit-duplicate-arrow",
            change={"table": duplicated("user_id")},
            error=SE,
            name="user_id",
        ),
        c(
            f"{prefix}-privacy-unit-duplicate-pandas",
            change={"table": duplicated_pandas("user_id")},
            error=SE,
            name="user_id",
        ),
        c(
            f"{prefix}-purpose-unknown",
            change={"purpose": "nope"},
            error=UPE,
            name="purpose",
        ),
        c(f"{prefix}-purpose-int", change={"purpose": 5}, error=IPE, name="purpose"),
        c(
            f"{prefix}-consent-not-table",
            change={"purpose": "performanceMonitoring", "consent": "all"},
            error=IPE,
            name="consent",
        ),
        c(
            f"{prefix}-consent-without-purpose",
            change={"consent": CONSENT},
            error=IPE,
            name="purpose",
        ),
        c(
            f"{prefix}-consent-duplicate-user",
            change={
                "purpose": "performanceMonitoring",
                "consent": CONSENT_DUPLICATE_USER,
            },
            error=SE,
            name="user_id",
        ),
        c(
            f"{prefix}-confidence-zero",
            change={"confidence": 0.0},
            error=IPE,
            name="confidence",
        ),
        c(
            f"{prefix}-confidence-one",
            change={"confidence": 1.0},
            error=IPE,
            name="confidence",
        ),
        c(
            f"{prefix}-confidence-nan",
            change={"confidence": NAN},
            error=IPE,
            name="confidence",
        ),
        c(
            f"{prefix}-confidence-str",
            change={"confidence": "0.95"},
            error=IPE,
            name="confidence",
        ),
        c(
            f"{prefix}-confidence-bool",
            change={"confidence": True},
            error=IPE,
            name="confidence",
        ),
        c(
            f"{prefix}-max-partitions-zero",
            change={"max_partitions_per_user": 0},
            error=IPE,
            name="max_partitions_per_user",
        ),
        c(
            f"{prefix}-max-partitions-float",
            change={"max_partitions_per_user": 1.5},
            error=IPE,
            name="max_partitions_per_user",
        ),
        c(
            f"{prefix}-max-partitions-bool",
            change={"max_partitions_per_user": True},
            error=IPE,
            name="max_partitions_per_user",
        ),
        c(
            f"{prefix}-max-partitions-str",
            change={"max_partitions_per_user": "2"},
            error=IPE,
            name="max_partitions_per_user",
        ),
        c(
            f"{prefix}-max-partitions-huge",
            change={"max_partitions_per_user": 10**7},
            error=IPE,
            name="max_partitions_per_user",
        ),
        c(
            f"{prefix}-public-groups-int",
            change={"public_groups": 5},
            error=IPE,
            name="public_groups",
        ),
        c(
            f"{prefix}-public-groups-str",
            change={"public_groups": "home"},
            error=IPE,
            name="public_groups",
        ),
        c(
            f"{prefix}-public-groups-set",
            change={"public_groups": {"aa", "bb"}},
            error=IPE,
            name="public_groups",
        ),
        c(
            f"{prefix}-public-groups-duplicates",
            change={"public_groups": ["aa", "aa"]},
            error=IPE,
            name="public_groups",
        ),
        c(
            f"{prefix}-public-groups-wrong-type",
            change={"public_groups": [1, 2]},
            error=IPE,
            name="public_groups",
        ),
    ]
    if "by" in columns:
        out += [
            c(f"{prefix}-by-int", change={"by": 123}, error=IPE, name="by"),
            c(
                f"{prefix}-by-list-with-int",
                change={"by": ["page", 5]},
                error=IPE,
                name="by",
            ),
            c(
                f"{prefix}-by-twice",
                change={"by": ["page", "page"]},
                error=IPE,
                name="by",
            ),
            c(f"{prefix}-by-dict", change={"by": {"page": 1}}, error=IPE, name="by"),
            c(f"{prefix}-by-unknown", change={"by": "nope"}, error=CNF, name="nope"),
            c(
                f"{prefix}-by-list-column",
                change={"by": "tags"},
                error=CTE,
                name="tags",
            ),
            c(
                f"{prefix}-by-struct-column",
                change={"by": "meta"},
                error=CTE,
                name="meta",
            ),
            c(
                f"{prefix}-by-map-column",
                change={"by": "attrs"},
                error=CTE,
                name="attrs",
            ),
            c(
                f"{prefix}-by-duplicate-arrow",
                change={"table": duplicated("page")},
                error=SE,
                name="page",
            ),
            c(
                f"{prefix}-by-duplicate-pandas",
                change={"table": duplicated_pandas("page")},
                error=SE,
                name="page",
            ),
            c(
                f"{prefix}-by-unknown-polars",
                change={"table": EVENTS_POLARS, "by": "nope"},
                error=CNF,
                name="nope",
            ),
            c(
                f"{prefix}-by-unknown-lazy",
                change={"table": EVENTS_LAZY, "by": "nope"},
                error=CNF,
                name="nope",
            ),
            c(
                f"{prefix}-by-unknown-pandas",
                change={"table": EVENTS_PANDAS, "by": "nope"},
                error=CNF,
                name="nope",
            ),
            c(
                f"{prefix}-public-groups-nan",
                change={"by": "bucket", "public_groups": [1.5, NAN]},
                error=IPE,
                name="public_groups",
            ),
            c(
                f"{prefix}-public-groups-short-tuple",
                change={"by": ["page", "country"], "public_groups": [("aa",)]},
                error=IPE,
                name="public_groups",
            ),
            c(
                f"{prefix}-public-groups-long-tuple",
                change={
                    "by": ["page", "country"],
                    "public_groups": [("aa", "bb", "cc")],
                },
                error=IPE,
                name="public_groups",
            ),
            c(
                f"{prefix}-public-groups-not-tuples",
                change={"by": ["page", "country"], "public_groups": ["aa", "bb"]},
                error=IPE,
                name="public_groups",
            ),
            c(
                f"{prefix}-public-groups-without-by",
                change={"by": DROP, "public_groups": ["aa"]},
                error=IPE,
                name="public_groups",
            ),
            c(
                f"{prefix}-public-groups-table-without-column",
                change={"public_groups": pa.table({"other": ["aa"]})},
                error=IPE,
                name="public_groups",
            ),
            c(
                f"{prefix}-min-threshold-bool",
                change={"min_threshold": True},
                error=IPE,
                name="min_threshold",
            ),
            c(
                f"{prefix}-min-threshold-str",
                change={"min_threshold": "10"},
                error=IPE,
                name="min_threshold",
            ),
            c(
                f"{prefix}-min-threshold-nan",
                change={"min_threshold": NAN},
                error=IPE,
                name="min_threshold",
            ),
            c(
                f"{prefix}-min-threshold-list",
                change={"min_threshold": [10]},
                error=IPE,
                name="min_threshold",
            ),
            c(
                f"{prefix}-max-contributions-zero",
                change={"max_contributions_per_partition": 0},
                error=IPE,
                name="max_contributions_per_partition",
            ),
            c(
                f"{prefix}-max-contributions-bool",
                change={"max_contributions_per_partition": True},
                error=IPE,
                name="max_contributions_per_partition",
            ),
        ]
    return out


def _value_cases(prefix, fn, base):
    """The value column and bounds of sum and average."""
    c = functools.partial(case, fn=fn, base=base, accountant="kwarg")
    return [
        c(f"{prefix}-column-int", change={"column": 5}, error=IPE, name="column"),
        c(f"{prefix}-column-none", change={"column": None}, error=IPE, name="column"),
        c(
            f"{prefix}-column-unknown",
            change={"column": "nope"},
            error=CNF,
            name="nope",
        ),
        c(f"{prefix}-column-string", change={"column": "page"}, error=CTE, name="page"),
        c(f"{prefix}-column-bool", change={"column": "flag"}, error=CTE, name="flag"),
        c(f"{prefix}-column-list", change={"column": "tags"}, error=CTE, name="tags"),
        c(
            f"{prefix}-column-timestamp",
            change={"column": "time"},
            error=CTE,
            name="time",
        ),
        c(
            f"{prefix}-column-nan",
            change={"table": EVENTS_NAN},
            error=NFE,
            name="value",
        ),
        c(
            f"{prefix}-column-inf",
            change={"table": EVENTS_INF},
            error=NFE,
            name="value",
        ),
        c(
            f"{prefix}-column-nan-pandas",
            change={"table": EVENTS_PANDAS_NAN},
            error=NFE,
            name="value",
        ),
        c(
            f"{prefix}-column-duplicate-arrow",
            change={"table": duplicated("value")},
            error=SE,
            name="value",
        ),
        c(
            f"{prefix}-column-duplicate-pandas",
            change={"table": duplicated_pandas("value")},
            error=SE,
            name="value",
        ),
        c(
            f"{prefix}-column-string-polars",
            change={"table": EVENTS_POLARS, "column": "page"},
            error=CTE,
            name="page",
        ),
        c(
            f"{prefix}-bounds-equal",
            change={"bounds": (5.0, 5.0)},
            error=IPE,
            name="bounds",
        ),
        c(
            f"{prefix}-bounds-reversed",
            change={"bounds": (10.0, 0.0)},
            error=IPE,
            name="bounds",
        ),
        c(
            f"{prefix}-bounds-nan",
            change={"bounds": (NAN, 1.0)},
            error=IPE,
            name="bounds",
        ),
        c(
            f"{prefix}-bounds-inf",
            change={"bounds": (0.0, INF)},
            error=IPE,
            name="bounds",
        ),
        c(f"{prefix}-bounds-str", change={"bounds": "0,10"}, error=IPE, name="bounds"),
        c(f"{prefix}-bounds-one", change={"bounds": (0.0,)}, error=IPE, name="bounds"),
        c(
            f"{prefix}-bounds-three",
            change={"bounds": (0.0, 1.0, 2.0)},
            error=IPE,
            name="bounds",
        ),
        c(f"{prefix}-bounds-none", change={"bounds": None}, error=IPE, name="bounds"),
        c(
            f"{prefix}-bounds-strings",
            change={"bounds": ("a", "b")},
            error=IPE,
            name="bounds",
        ),
        c(
            f"{prefix}-bounds-bool",
            change={"bounds": (False, True)},
            error=IPE,
            name="bounds",
        ),
        c(
            f"{prefix}-bounds-subnormal",
            change={"bounds": (0.0, 1e-318)},
            error=IPE,
            name="bounds",
        ),
        c(
            f"{prefix}-bounds-huge",
            change={"bounds": (0.0, 1e308), "epsilon": 0.01},
            error=IPE,
            name="bounds",
        ),
        c(
            f"{prefix}-bounds-huge-negative",
            change={"bounds": (-1e308, 1e308)},
            error=IPE,
            name="bounds",
        ),
    ]


def _aggregation_cases():
    out = []
    out += _privacy_cases("count", lp.aggregate_count, COUNT)
    out += _table_cases("count", lp.aggregate_count, COUNT)
    out += [
        case(
            "count-distinct-str",
            lp.aggregate_count,
            COUNT,
            {"distinct": "yes"},
            IPE,
            "distinct",
            accountant="kwarg",
        ),
    ]
    out += _privacy_cases("sum", lp.aggregate_sum, SUM, family=False)
    out += _table_cases("sum", lp.aggregate_sum, SUM)
    out += _value_cases("sum", lp.aggregate_sum, SUM)
    out += _privacy_cases("average", lp.aggregate_average, SUM, family=False)
    out += _value_cases("average", lp.aggregate_average, SUM)
    out += [
        case(
            "average-by-int",
            lp.aggregate_average,
            SUM,
            {"by": 123},
            IPE,
            "by",
            accountant="kwarg",
        ),
        case(
            "average-public-groups-str",
            lp.aggregate_average,
            SUM,
            {"public_groups": "home"},
            IPE,
            "public_groups",
            accountant="kwarg",
        ),
        case(
            "average-gaussian-rho-and-epsilon",
            lp.aggregate_average,
            SUM,
            {"mechanism": "gaussian", "rho": 0.1},
            IPE,
            "rho",
            accountant="kwarg",
        ),
    ]
    top = functools.partial(case, fn=lp.aggregate_top_n, base=TOP_N, accountant="kwarg")
    out += _privacy_cases("top-n", lp.aggregate_top_n, TOP_N, family=False)
    out += _table_cases("top-n", lp.aggregate_top_n, TOP_N, columns=())
    out += [
        top("top-n-n-zero", change={"n": 0}, error=IPE, name="n"),
        top("top-n-n-negative", change={"n": -1}, error=IPE, name="n"),
        top("top-n-n-float", change={"n": 1.5}, error=IPE, name="n"),
        top("top-n-n-bool", change={"n": True}, error=IPE, name="n"),
        top("top-n-n-str", change={"n": "2"}, error=IPE, name="n"),
        top(
            "top-n-min-users-bool",
            change={"min_users": True},
            error=IPE,
            name="min_users",
        ),
        top(
            "top-n-min-users-nan",
            change={"min_users": NAN},
            error=IPE,
            name="min_users",
        ),
        top(
            "top-n-min-users-str",
            change={"min_users": "5"},
            error=IPE,
            name="min_users",
        ),
        top("top-n-column-int", change={"column": 123}, error=IPE, name="column"),
        top("top-n-column-unknown", change={"column": "nope"}, error=CNF, name="nope"),
        top("top-n-column-list", change={"column": "tags"}, error=CTE, name="tags"),
        top("top-n-column-struct", change={"column": "meta"}, error=CTE, name="meta"),
        top("top-n-column-map", change={"column": "attrs"}, error=CTE, name="attrs"),
        top(
            "top-n-column-duplicate-arrow",
            change={"table": duplicated("page")},
            error=SE,
            name="page",
        ),
        top(
            "top-n-column-duplicate-pandas",
            change={"table": duplicated_pandas("page")},
            error=SE,
            name="page",
        ),
        top(
            "top-n-gaussian-no-delta",
            change={"mechanism": "gaussian", "delta": DROP},
            error=IPE,
            name="delta",
        ),
        top(
            "top-n-mechanism-unknown",
            change={"mechanism": "cauchy"},
            error=IPE,
            name="mechanism",
        ),
        top("top-n-epsilon-and-rho", change={"rho": 0.5}, error=IPE, name="rho"),
    ]
    return out


def _quantile_variance_cases():
    """aggregate_quantiles / aggregate_variance / aggregate_std: the shared
    privacy, table and value cases (without ``min_threshold``, which they do
    not take) and their own (``tests/bad_inputs.quantile_cases``)."""
    out = []
    for prefix, fn, base in (
        ("quantiles", lp.aggregate_quantiles, QUANTILES_CALL),
        ("variance", lp.aggregate_variance, VARIANCE_CALL),
        ("std", lp.aggregate_std, VARIANCE_CALL),
    ):
        out += _privacy_cases(prefix, fn, base, family=False)
        out += [
            c
            for c in _table_cases(prefix, fn, base) + _value_cases(prefix, fn, base)
            if "min_threshold" not in c.kwargs
        ]
    return out + quantile_cases(IPE)


def _histogram_funnel_cases():
    """aggregate_histogram and funnel: the shared privacy cases, the histogram's
    table and value cases (its value column may also hold times, and it takes
    no ``bounds`` or ``min_threshold``), and their own (``tests/bad_inputs``)."""
    out = _privacy_cases("histogram", lp.aggregate_histogram, HISTOGRAM_CALL)
    out += [
        c
        for c in _table_cases("histogram", lp.aggregate_histogram, HISTOGRAM_CALL)
        + _value_cases("histogram", lp.aggregate_histogram, HISTOGRAM_CALL)
        if not ({"bounds", "min_threshold"} & c.kwargs.keys())
        and c.kwargs.get("column") != "time"
        and "by-duplicate" not in c.id  # about `page`; the histogram's by is `country`
    ]
    out += _privacy_cases("funnel", lp.funnel, FUNNEL_CALL)
    return out + histogram_cases(IPE) + funnel_cases(IPE)


def _cohort_cases():
    c = functools.partial(case, fn=lp.cohort_retention, base=COHORT, accountant="kwarg")
    out = _privacy_cases("cohort", lp.cohort_retention, COHORT)
    out += [
        c("cohort-time-int", change={"time": 5}, error=IPE, name="time"),
        c("cohort-time-unknown", change={"time": "nope"}, error=CNF, name="nope"),
        c("cohort-time-string", change={"time": "page"}, error=CTE, name="page"),
        c("cohort-time-list", change={"time": "tags"}, error=CTE, name="tags"),
        c(
            "cohort-privacy-unit-int",
            change={"privacy_unit": 5},
            error=IPE,
            name="privacy_unit",
        ),
        c(
            "cohort-privacy-unit-unknown",
            change={"privacy_unit": "nope"},
            error=CNF,
            name="nope",
        ),
        c(
            "cohort-privacy-unit-null",
            change={"table": EVENTS_NULL_UNIT},
            error=SE,
            name="user_id",
        ),
        c(
            "cohort-privacy-unit-duplicate-arrow",
            change={"table": duplicated("user_id")},
            error=SE,
            name="user_id",
        ),
        c(
            "cohort-time-duplicate-pandas",
            change={"table": duplicated_pandas("time")},
            error=SE,
            name="time",
        ),
        c("cohort-start-garbage", change={"start": "soon"}, error=IPE, name="start"),
        c("cohort-start-list", change={"start": [2026, 1, 1]}, error=IPE, name="start"),
        c(
            "cohort-end-before-start",
            change={"end": "2025-01-01"},
            error=IPE,
            name="end",
        ),
        c("cohort-end-none", change={"end": None}, error=IPE, name="end"),
        c(
            "cohort-period-unknown",
            change={"period": "fortnight"},
            error=IPE,
            name="period",
        ),
        c("cohort-period-int", change={"period": 7}, error=IPE, name="period"),
        c(
            "cohort-n-periods-zero",
            change={"n_periods": 0},
            error=IPE,
            name="n_periods",
        ),
        c(
            "cohort-n-periods-bool",
            change={"n_periods": True},
            error=IPE,
            name="n_periods",
        ),
        c(
            "cohort-n-periods-str",
            change={"n_periods": "2"},
            error=IPE,
            name="n_periods",
        ),
        c(
            "cohort-n-periods-huge",
            change={"n_periods": 10**9},
            error=IPE,
            name="n_periods",
        ),
        c(
            "cohort-max-active-periods-zero",
            change={"max_active_periods": 0},
            error=IPE,
            name="max_active_periods",
        ),
        c(
            "cohort-max-active-periods-bool",
            change={"max_active_periods": True},
            error=IPE,
            name="max_active_periods",
        ),
        c(
            "cohort-min-cohort-size-bool",
            change={"min_cohort_size": True},
            error=IPE,
            name="min_cohort_size",
        ),
        c(
            "cohort-min-cohort-size-nan",
            change={"min_cohort_size": NAN},
            error=IPE,
            name="min_cohort_size",
        ),
        c(
            "cohort-min-cohort-size-str",
            change={"min_cohort_size": "10"},
            error=IPE,
            name="min_cohort_size",
        ),
        c(
            "cohort-monotone-str",
            change={"monotone": "yes"},
            error=IPE,
            name="monotone",
        ),
        c(
            "cohort-observed-until-garbage",
            change={"observed_until": "later"},
            error=IPE,
            name="observed_until",
        ),
        c("cohort-column-unknown", change={"cohort": "nope"}, error=CNF, name="nope"),
        c("cohort-column-int", change={"cohort": 5}, error=IPE, name="cohort"),
        c("cohort-column-list-type", change={"cohort": "tags"}, error=CTE, name="tags"),
        c(
            "cohort-confidence-two",
            change={"confidence": 2.0},
            error=IPE,
            name="confidence",
        ),
        c(
            "cohort-purpose-unknown",
            change={"purpose": "nope"},
            error=UPE,
            name="purpose",
        ),
        c(
            "cohort-table-none",
            change={"table": None},
            error=lp.PrivacyError,
            name="table",
        ),
    ]
    return out


def _mechanism_cases():
    out = _privacy_cases("add-noise", lp.add_noise, NOISE)
    n = functools.partial(case, fn=lp.add_noise, base=NOISE, accountant="kwarg")
    out += [
        n(
            "add-noise-sensitivity-subnormal",
            change={"sensitivity": SUBNORMAL},
            error=IPE,
            name="sensitivity",
        ),
        n(
            "add-noise-sensitivity-zero",
            change={"sensitivity": 0.0},
            error=IPE,
            name="sensitivity",
        ),
        n(
            "add-noise-sensitivity-negative",
            change={"sensitivity": -1.0},
            error=IPE,
            name="sensitivity",
        ),
        n(
            "add-noise-sensitivity-nan",
            change={"sensitivity": NAN},
            error=IPE,
            name="sensitivity",
        ),
        n(
            "add-noise-sensitivity-inf",
            change={"sensitivity": INF},
            error=IPE,
            name="sensitivity",
        ),
        n(
            "add-noise-sensitivity-str",
            change={"sensitivity": "1"},
            error=IPE,
            name="sensitivity",
        ),
        n(
            "add-noise-sensitivity-bool",
            change={"sensitivity": True},
            error=IPE,
            name="sensitivity",
        ),
        n(
            "add-noise-sensitivity-none",
            change={"sensitivity": None},
            error=IPE,
            name="sensitivity",
        ),
        n(
            "add-noise-sensitivity-over-epsilon-overflow",
            change={"sensitivity": 1e300, "epsilon": 1e-10},
            error=IPE,
            name=("sensitivity", "epsilon"),
        ),
        n(
            "add-noise-gaussian-sigma-overflow",
            change={
                "sensitivity": 1e300,
                "epsilon": 1e-10,
                "delta": 1e-10,
                "mechanism": "gaussian",
            },
            error=IPE,
            name=("sensitivity", "epsilon", "delta"),
        ),
        n("add-noise-value-str", change={"value": "x"}, error=IPE, name="value"),
        n("add-noise-value-none", change={"value": None}, error=IPE, name="value"),
        n("add-noise-value-bool", change={"value": True}, error=IPE, name="value"),
        n("add-noise-value-complex", change={"value": 1 + 2j}, error=IPE, name="value"),
        n("add-noise-value-nan", change={"value": [1.0, NAN]}, error=NFE, name="value"),
        n("add-noise-value-inf", change={"value": INF}, error=NFE, name="value"),
        n(
            "add-noise-value-strings",
            change={"value": ["a", "b"]},
            error=IPE,
            name="value",
        ),
        n(
            "add-noise-value-huge",
            change={"value": 1e308, "sensitivity": 1e300},
            error=IPE,
            name=("value", "sensitivity"),
        ),
    ]
    lap = functools.partial(case, fn=lp.LaplaceMechanism, base=LAPLACE)
    out += [
        lap(
            "laplace-sensitivity-zero",
            change={"sensitivity": 0.0},
            error=IPE,
            name="sensitivity",
        ),
        lap(
            "laplace-sensitivity-negative",
            change={"sensitivity": -1.0},
            error=IPE,
            name="sensitivity",
        ),
        lap(
            "laplace-sensitivity-nan",
            change={"sensitivity": NAN},
            error=IPE,
            name="sensitivity",
        ),
        lap(
            "laplace-sensitivity-subnormal",
            change={"sensitivity": SUBNORMAL},
            error=IPE,
            name="sensitivity",
        ),
        lap(
            "laplace-sensitivity-str",
            change={"sensitivity": "1"},
            error=IPE,
            name="sensitivity",
        ),
        lap(
            "laplace-epsilon-negative",
            change={"epsilon": -1.0},
            error=IPE,
            name="epsilon",
        ),
        lap(
            "laplace-epsilon-subnormal",
            change={"epsilon": SUBNORMAL},
            error=IPE,
            name="epsilon",
        ),
        lap(
            "laplace-epsilon-none", change={"epsilon": None}, error=IPE, name="epsilon"
        ),
        lap(
            "laplace-scale-overflow",
            change={"sensitivity": 1e300, "epsilon": 1e-10},
            error=IPE,
            name=("sensitivity", "epsilon"),
        ),
        lap(
            "laplace-dimension-zero",
            change={"dimension": 0},
            error=IPE,
            name="dimension",
        ),
        lap(
            "laplace-dimension-float",
            change={"dimension": 1.5},
            error=IPE,
            name="dimension",
        ),
        lap(
            "laplace-dimension-bool",
            change={"dimension": True},
            error=IPE,
            name="dimension",
        ),
    ]
    gau = functools.partial(case, fn=lp.GaussianMechanism, base=GAUSSIAN)
    out += [
        gau("gaussian-delta-zero", change={"delta": 0.0}, error=IPE, name="delta"),
        gau("gaussian-delta-one", change={"delta": 1.0}, error=IPE, name="delta"),
        gau("gaussian-delta-missing", change={"delta": DROP}, error=IPE, name="delta"),
        gau("gaussian-delta-nan", change={"delta": NAN}, error=IPE, name="delta"),
        gau("gaussian-epsilon-and-rho", change={"rho": 0.5}, error=IPE, name="rho"),
        gau(
            "gaussian-no-epsilon-no-rho",
            change={"epsilon": DROP, "delta": DROP},
            error=IPE,
            name="epsilon",
        ),
        gau(
            "gaussian-rho-negative",
            change={"epsilon": DROP, "delta": DROP, "rho": -1.0},
            error=IPE,
            name="rho",
        ),
        gau(
            "gaussian-sensitivity-subnormal",
            change={"sensitivity": SUBNORMAL},
            error=IPE,
            name="sensitivity",
        ),
        gau(
            "gaussian-sigma-overflow",
            change={"sensitivity": 1e300, "epsilon": 1e-10, "delta": 1e-10},
            error=IPE,
            name=("sensitivity", "epsilon", "delta"),
        ),
        gau(
            "gaussian-dimension-zero",
            change={"dimension": 0},
            error=IPE,
            name="dimension",
        ),
    ]
    out += [
        case(
            "geometric-sensitivity-zero",
            lp.GeometricMechanism,
            LAPLACE,
            {"sensitivity": 0},
            IPE,
            "sensitivity",
        ),
        case(
            "geometric-epsilon-nan",
            lp.GeometricMechanism,
            LAPLACE,
            {"epsilon": NAN},
            IPE,
            "epsilon",
        ),
        case(
            "geometric-dimension-str",
            lp.GeometricMechanism,
            LAPLACE,
            {"dimension": "1"},
            IPE,
            "dimension",
        ),
        case(
            "discrete-gaussian-rho-nan",
            lp.DiscreteGaussianMechanism,
            {"sensitivity": 1.0, "rho": 0.5},
            {"rho": NAN},
            IPE,
            "rho",
        ),
        case(
            "discrete-gaussian-delta-missing",
            lp.DiscreteGaussianMechanism,
            {"sensitivity": 1.0, "epsilon": 1.0},
            {},
            IPE,
            "delta",
        ),
    ]
    em = functools.partial(case, fn=lp.ExponentialMechanism, base=EXPONENTIAL)
    out += [
        em(
            "exponential-sensitivity-zero",
            change={"sensitivity": 0.0},
            error=IPE,
            name="sensitivity",
        ),
        em(
            "exponential-sensitivity-nan",
            change={"sensitivity": NAN},
            error=IPE,
            name="sensitivity",
        ),
        em(
            "exponential-epsilon-negative",
            change={"epsilon": -1.0},
            error=IPE,
            name="epsilon",
        ),
        em(
            "exponential-epsilon-str",
            change={"epsilon": "1"},
            error=IPE,
            name="epsilon",
        ),
        em(
            "exponential-method-unknown",
            change={"method": "gumbel"},
            error=IPE,
            name="method",
        ),
        em(
            "exponential-monotonic-str",
            change={"monotonic": "yes"},
            error=IPE,
            name="monotonic",
        ),
    ]
    rel = functools.partial(case, fn=_laplace_release, base=RELEASE, accountant="kwarg")
    out += [
        rel("release-value-str", change={"value": "x"}, error=IPE, name="value"),
        rel("release-value-nan", change={"value": [1.0, NAN]}, error=NFE, name="value"),
        rel("release-value-none", change={"value": None}, error=IPE, name="value"),
        rel(
            "release-value-wrong-dimension",
            change={"value": [1.0, 2.0]},
            error=IPE,
            name="value",
        ),
        rel("release-rng-str", change={"rng": "os"}, error=IPE, name="rng"),
        rel(
            "release-accountant-str",
            change={"accountant": "acc"},
            error=IPE,
            name="accountant",
        ),
        rel("release-label-int", change={"label": 5}, error=IPE, name="label"),
        rel(
            "release-confidence-one",
            change={"confidence": 1.0},
            error=IPE,
            name="confidence",
        ),
        rel(
            "release-confidence-str",
            change={"confidence": "0.95"},
            error=IPE,
            name="confidence",
        ),
        case(
            "gaussian-release-value-str",
            _gaussian_release,
            RELEASE,
            {"value": "x"},
            IPE,
            "value",
            accountant="kwarg",
        ),
        case(
            "gaussian-release-label-list",
            _gaussian_release,
            RELEASE,
            {"label": ["a"]},
            IPE,
            "label",
            accountant="kwarg",
        ),
        case(
            "geometric-release-value-float",
            _geometric_release,
            RELEASE,
            {"value": 1.5},
            IPE,
            "value",
            accountant="kwarg",
        ),
        case(
            "geometric-release-value-nan",
            _geometric_release,
            RELEASE,
            {"value": NAN},
            IPE,
            "value",
            accountant="kwarg",
        ),
    ]
    rnd = functools.partial(case, fn=_randomize, base=RANDOMIZE)
    out += [
        rnd("randomize-n-zero", change={"n": 0}, error=IPE, name="n"),
        rnd("randomize-n-negative", change={"n": -3}, error=IPE, name="n"),
        rnd("randomize-n-float", change={"n": 2.5}, error=IPE, name="n"),
        rnd("randomize-n-bool", change={"n": True}, error=IPE, name="n"),
        rnd("randomize-value-str", change={"value": "x"}, error=IPE, name="value"),
        rnd("randomize-rng-str", change={"rng": "x"}, error=IPE, name="rng"),
    ]
    sel = functools.partial(case, fn=_select, base=SELECT, accountant="kwarg")
    out += [
        sel("select-scores-empty", change={"scores": []}, error=IPE, name="scores"),
        sel(
            "select-scores-nan", change={"scores": [1.0, NAN]}, error=IPE, name="scores"
        ),
        sel(
            "select-scores-inf", change={"scores": [1.0, INF]}, error=IPE, name="scores"
        ),
        sel("select-scores-str", change={"scores": "abc"}, error=IPE, name="scores"),
        sel(
            "select-scores-2d",
            change={"scores": [[1.0, 2.0], [3.0, 4.0]]},
            error=IPE,
            name="scores",
        ),
        sel("select-scores-none", change={"scores": None}, error=IPE, name="scores"),
        sel(
            "select-accountant-str",
            change={"accountant": "acc"},
            error=IPE,
            name="accountant",
        ),
        sel("select-rng-int", change={"rng": 7}, error=IPE, name="rng"),
        sel("select-label-int", change={"label": 5}, error=IPE, name="label"),
        case(
            "select-epsilon-800",
            _select_eps,
            {**SELECT, "epsilon": 800.0},
            {"scores": [0.0, 1.0, 2.0]},
            IPE,
            "epsilon",
            accountant="kwarg",
        ),
        case(
            "em-randomize-n-zero", _em_randomize, {**SELECT, "n": 3}, {"n": 0}, IPE, "n"
        ),
        case(
            "em-randomize-scores-nan",
            _em_randomize,
            {**SELECT, "n": 3},
            {"scores": [NAN]},
            IPE,
            "scores",
        ),
    ]
    rnm = functools.partial(
        case, fn=lp.report_noisy_max, base=NOISY_MAX, accountant="kwarg"
    )
    out += [
        rnm("noisy-max-scores-empty", change={"scores": []}, error=IPE, name="scores"),
        rnm(
            "noisy-max-scores-nan",
            change={"scores": [NAN, 1.0]},
            error=IPE,
            name="scores",
        ),
        rnm(
            "noisy-max-scores-dict",
            change={"scores": {"a": 1.0}},
            error=IPE,
            name="scores",
        ),
        rnm(
            "noisy-max-sensitivity-zero",
            change={"sensitivity": 0.0},
            error=IPE,
            name="sensitivity",
        ),
        rnm(
            "noisy-max-sensitivity-subnormal",
            change={"sensitivity": SUBNORMAL},
            error=IPE,
            name="sensitivity",
        ),
        rnm(
            "noisy-max-epsilon-negative",
            change={"epsilon": -1.0},
            error=IPE,
            name="epsilon",
        ),
        rnm(
            "noisy-max-epsilon-800",
            change={"epsilon": 800.0},
            error=IPE,
            name="epsilon",
        ),
        rnm(
            "noisy-max-monotonic-str",
            change={"monotonic": "yes"},
            error=IPE,
            name="monotonic",
        ),
        rnm(
            "noisy-max-accountant-str",
            change={"accountant": "acc"},
            error=IPE,
            name="accountant",
        ),
        rnm("noisy-max-label-int", change={"label": 1}, error=IPE, name="label"),
    ]
    out += [
        case(
            "accuracy-confidence-zero",
            _accuracy,
            {"confidence": 0.95},
            {"confidence": 0.0},
            IPE,
            "confidence",
        ),
        case(
            "accuracy-confidence-bool",
            _accuracy,
            {"confidence": 0.95},
            {"confidence": True},
            IPE,
            "confidence",
        ),
        case(
            "interval-confidence-two",
            _interval,
            {"confidence": 0.9},
            {"confidence": 2.0},
            IPE,
            "confidence",
        ),
        case(
            "interval-confidence-nan",
            _interval,
            {"confidence": 0.9},
            {"confidence": NAN},
            IPE,
            "confidence",
        ),
    ]
    # Scale calculators.
    out += [
        case(
            "laplace-scale-sensitivity-negative",
            lp.laplace_scale,
            LAPLACE,
            {"sensitivity": -1.0},
            IPE,
            "sensitivity",
        ),
        case(
            "laplace-scale-sensitivity-str",
            lp.laplace_scale,
            LAPLACE,
            {"sensitivity": "1"},
            IPE,
            "sensitivity",
        ),
        case(
            "laplace-scale-epsilon-zero",
            lp.laplace_scale,
            LAPLACE,
            {"epsilon": 0.0},
            IPE,
            "epsilon",
        ),
        case(
            "laplace-scale-epsilon-subnormal",
            lp.laplace_scale,
            LAPLACE,
            {"epsilon": SUBNORMAL},
            IPE,
            "epsilon",
        ),
        case(
            "laplace-scale-fn-overflow",
            lp.laplace_scale,
            LAPLACE,
            {"sensitivity": 1e300, "epsilon": 1e-10},
            IPE,
            ("sensitivity", "epsilon"),
        ),
        case(
            "gaussian-sigma-delta-zero",
            lp.gaussian_sigma,
            GAUSSIAN,
            {"delta": 0.0},
            IPE,
            "delta",
        ),
        case(
            "gaussian-sigma-delta-missing",
            lp.gaussian_sigma,
            GAUSSIAN,
            {"delta": DROP},
            IPE,
            "delta",
        ),
        case(
            "gaussian-sigma-epsilon-and-rho",
            lp.gaussian_sigma,
            GAUSSIAN,
            {"rho": 0.5},
            IPE,
            "rho",
        ),
        case(
            "gaussian-sigma-sensitivity-nan",
            lp.gaussian_sigma,
            GAUSSIAN,
            {"sensitivity": NAN},
            IPE,
            "sensitivity",
        ),
        case(
            "gaussian-sigma-rho-str",
            lp.gaussian_sigma,
            {"sensitivity": 1.0},
            {"rho": "0.5"},
            IPE,
            "rho",
        ),
        case(
            "analytic-sigma-delta-one",
            lp.analytic_gaussian_sigma,
            GAUSSIAN,
            {"delta": 1.0},
            IPE,
            "delta",
        ),
        case(
            "analytic-sigma-epsilon-inf",
            lp.analytic_gaussian_sigma,
            GAUSSIAN,
            {"epsilon": INF},
            IPE,
            "epsilon",
        ),
        case(
            "analytic-sigma-sensitivity-zero",
            lp.analytic_gaussian_sigma,
            GAUSSIAN,
            {"sensitivity": 0.0},
            IPE,
            "sensitivity",
        ),
        case(
            "analytic-sigma-overflow",
            lp.analytic_gaussian_sigma,
            GAUSSIAN,
            {"sensitivity": 1e300, "epsilon": 1e-10, "delta": 1e-10},
            IPE,
            ("sensitivity", "epsilon", "delta"),
        ),
    ]
    return out


def _accountant_cases():
    a = functools.partial(case, fn=lp.Accountant, base=ACCOUNTANT)
    out = [
        a(
            "accountant-epsilon-negative",
            change={"epsilon": -1.0},
            error=IPE,
            name="epsilon",
        ),
        a("accountant-epsilon-nan", change={"epsilon": NAN}, error=IPE, name="epsilon"),
        a("accountant-epsilon-str", change={"epsilon": "1"}, error=IPE, name="epsilon"),
        a(
            "accountant-epsilon-bool",
            change={"epsilon": True},
            error=IPE,
            name="epsilon",
        ),
        a("accountant-no-budget", change={"epsilon": DROP}, error=IPE, name="epsilon"),
        a("accountant-epsilon-and-rho", change={"rho": 0.5}, error=IPE, name="rho"),
        a("accountant-delta-negative", change={"delta": -0.1}, error=IPE, name="delta"),
        a("accountant-delta-one", change={"delta": 1.0}, error=IPE, name="delta"),
        a("accountant-delta-str", change={"delta": "0"}, error=IPE, name="delta"),
        a(
            "accountant-rho-negative",
            change={"epsilon": DROP, "rho": -1.0},
            error=IPE,
            name="rho",
        ),
        a(
            "accountant-accounting-unknown",
            change={"accounting": "fancy"},
            error=IPE,
            name="accounting",
        ),
        a(
            "accountant-accounting-int",
            change={"accounting": 1},
            error=IPE,
            name="accounting",
        ),
        a(
            "accountant-orders-str",
            change={"accounting": "rdp", "orders": "many"},
            error=IPE,
            name="orders",
        ),
        a(
            "accountant-orders-below-one",
            change={"accounting": "rdp", "orders": [0.5, 2.0]},
            error=IPE,
            name="orders",
        ),
        a(
            "accountant-allow-insecure-str",
            change={"allow_insecure": "no"},
            error=IPE,
            name="allow_insecure",
        ),
        a(
            "accountant-on-event-int",
            change={"on_event": 5},
            error=IPE,
            name="on_event",
        ),
        a(
            "accountant-warn-fraction-big",
            change={"warn_fraction": 1.5},
            error=IPE,
            name="warn_fraction",
        ),
        a(
            "accountant-warn-fraction-nan",
            change={"warn_fraction": NAN},
            error=IPE,
            name="warn_fraction",
        ),
        a(
            "accountant-dataset-empty",
            change={"dataset": ""},
            error=IPE,
            name="dataset",
        ),
        a("accountant-dataset-int", change={"dataset": 5}, error=IPE, name="dataset"),
    ]
    o = functools.partial(case, fn=_open_case, base=OPEN, fresh_path=True)
    out += [
        o("open-epsilon-negative", change={"epsilon": -1.0}, error=IPE, name="epsilon"),
        o("open-dataset-int", change={"dataset": 5}, error=IPE, name="dataset"),
        o("open-dataset-empty", change={"dataset": ""}, error=IPE, name="dataset"),
        o(
            "open-no-budget-new-file",
            change={"epsilon": DROP},
            error=IPE,
            name="epsilon",
        ),
        o("open-create-str", change={"create": "yes"}, error=IPE, name="create"),
        o("open-timeout-negative", change={"timeout": -1.0}, error=IPE, name="timeout"),
        o("open-timeout-nan", change={"timeout": NAN}, error=IPE, name="timeout"),
        o(
            "open-synchronous-unknown",
            change={"synchronous": "off"},
            error=IPE,
            name="synchronous",
        ),
        o(
            "open-accounting-unknown",
            change={"accounting": "fancy"},
            error=IPE,
            name="accounting",
        ),
        o(
            "open-warn-fraction-negative",
            change={"warn_fraction": -0.5},
            error=IPE,
            name="warn_fraction",
        ),
        case(
            "open-path-int",
            lp.Accountant.open,
            {"path": 5, "dataset": "d", "epsilon": 1.0},
            {},
            IPE,
            "path",
        ),
        case(
            "open-path-not-a-ledger",
            lp.Accountant.open,
            {"path": Lazy(_not_a_ledger), "dataset": "d", "epsilon": 1.0},
            {},
            lp.LedgerError,
            "path",
        ),
        case(
            "open-budget-differs",
            lp.Accountant.open,
            {"path": Lazy(_ledger_file), "dataset": "d", "epsilon": 2.0},
            {},
            lp.LedgerError,
            "epsilon",
        ),
    ]
    s = functools.partial(case, fn=_spend, base=SPEND, accountant="self")
    out += [
        s("spend-cost-str", change={"cost": "0.5"}, error=IPE, name="cost"),
        s("spend-cost-float", change={"cost": 0.5}, error=IPE, name="cost"),
        s("spend-cost-none", change={"cost": None}, error=IPE, name="cost"),
        s("spend-cost-dict", change={"cost": {"epsilon": 0.5}}, error=IPE, name="cost"),
        s("spend-label-int", change={"label": 5}, error=IPE, name="label"),
        s("spend-mechanism-int", change={"mechanism": 5}, error=IPE, name="mechanism"),
        s(
            "spend-parameters-str",
            change={"parameters": "scale=1"},
            error=IPE,
            name="parameters",
        ),
        s(
            "spend-parameters-not-json",
            change={"parameters": {"x": object()}},
            error=IPE,
            name="parameters",
        ),
        s(
            "spend-privacy-unit-int",
            change={"privacy_unit": 5},
            error=IPE,
            name="privacy_unit",
        ),
        s("spend-insecure-str", change={"insecure": "no"}, error=IPE, name="insecure"),
        s(
            "spend-request-id-int",
            change={"request_id": 5},
            error=IPE,
            name="request_id",
        ),
        s("spend-event-str", change={"event": "laplace"}, error=IPE, name="event"),
    ]
    out += [
        case(
            "can-spend-cost-str",
            _can_spend,
            {"cost": lp.PureDP(0.5)},
            {"cost": "x"},
            IPE,
            "cost",
            accountant="self",
        ),
        case(
            "can-spend-cost-float",
            _can_spend,
            {"cost": lp.PureDP(0.5)},
            {"cost": 0.5},
            IPE,
            "cost",
            accountant="self",
        ),
        case(
            "can-spend-event-int",
            _can_spend,
            {"cost": lp.PureDP(0.5)},
            {"event": 1},
            IPE,
            "event",
            accountant="self",
        ),
        case(
            "transaction-cost-str",
            _transaction,
            SPEND,
            {"cost": "x"},
            IPE,
            "cost",
            accountant="self",
        ),
        case(
            "transaction-cost-none",
            _transaction,
            SPEND,
            {"cost": None},
            IPE,
            "cost",
            accountant="self",
        ),
        case(
            "transaction-label-int",
            _transaction,
            SPEND,
            {"label": 5},
            IPE,
            "label",
            accountant="self",
        ),
        case(
            "transaction-parameters-list",
            _transaction,
            SPEND,
            {"parameters": [1]},
            IPE,
            "parameters",
            accountant="self",
        ),
    ]
    return out


def _loss_noise_random_cases():
    return [
        case(
            "pure-dp-negative",
            lp.PureDP,
            {"epsilon": 1.0},
            {"epsilon": -1.0},
            IPE,
            "epsilon",
        ),
        case(
            "pure-dp-nan", lp.PureDP, {"epsilon": 1.0}, {"epsilon": NAN}, IPE, "epsilon"
        ),
        case(
            "pure-dp-str", lp.PureDP, {"epsilon": 1.0}, {"epsilon": "1"}, IPE, "epsilon"
        ),
        case(
            "pure-dp-bool",
            lp.PureDP,
            {"epsilon": 1.0},
            {"epsilon": True},
            IPE,
            "epsilon",
        ),
        case(
            "approx-dp-delta-one",
            lp.ApproxDP,
            {"epsilon": 1.0, "delta": 1e-6},
            {"delta": 1.0},
            IPE,
            "delta",
        ),
        case(
            "approx-dp-delta-negative",
            lp.ApproxDP,
            {"epsilon": 1.0, "delta": 1e-6},
            {"delta": -1e-9},
            IPE,
            "delta",
        ),
        case(
            "approx-dp-epsilon-inf",
            lp.ApproxDP,
            {"epsilon": 1.0, "delta": 1e-6},
            {"epsilon": INF},
            IPE,
            "epsilon",
        ),
        case("zcdp-negative", lp.ZCDP, {"rho": 0.5}, {"rho": -0.5}, IPE, "rho"),
        case("zcdp-inf", lp.ZCDP, {"rho": 0.5}, {"rho": INF}, IPE, "rho"),
        case("zcdp-list", lp.ZCDP, {"rho": 0.5}, {"rho": [0.5]}, IPE, "rho"),
        case(
            "loss-from-nothing",
            loss.loss_from,
            {"epsilon": 1.0},
            {"epsilon": DROP},
            IPE,
            "epsilon",
        ),
        case(
            "loss-from-both", loss.loss_from, {"epsilon": 1.0}, {"rho": 0.5}, IPE, "rho"
        ),
        case(
            "loss-from-delta-alone",
            loss.loss_from,
            {"epsilon": 1.0},
            {"epsilon": DROP, "delta": 1e-6},
            IPE,
            "epsilon",
        ),
        case(
            "noise-event-kind-unknown",
            loss.NoiseEvent,
            {"kind": "laplace", "noise_multiplier": 1.0},
            {"kind": "cauchy"},
            IPE,
            "kind",
        ),
        case(
            "noise-event-multiplier-negative",
            loss.NoiseEvent,
            {"kind": "laplace", "noise_multiplier": 1.0},
            {"noise_multiplier": -1.0},
            IPE,
            "noise_multiplier",
        ),
        case(
            "sample-laplace-scale-negative",
            noise.sample_discrete_laplace,
            SAMPLE,
            {"scale": -1.0},
            IPE,
            "scale",
        ),
        case(
            "sample-laplace-scale-nan",
            noise.sample_discrete_laplace,
            SAMPLE,
            {"scale": NAN},
            IPE,
            "scale",
        ),
        case(
            "sample-laplace-scale-str",
            noise.sample_discrete_laplace,
            SAMPLE,
            {"scale": "2"},
            IPE,
            "scale",
        ),
        case(
            "sample-laplace-scale-huge",
            noise.sample_discrete_laplace,
            SAMPLE,
            {"scale": 1e300},
            IPE,
            "scale",
        ),
        case(
            "sample-laplace-size-negative",
            noise.sample_discrete_laplace,
            SAMPLE,
            {"size": -1},
            IPE,
            "size",
        ),
        case(
            "sample-laplace-size-float",
            noise.sample_discrete_laplace,
            SAMPLE,
            {"size": 1.5},
            IPE,
            "size",
        ),
        case(
            "sample-laplace-size-str",
            noise.sample_discrete_laplace,
            SAMPLE,
            {"size": "3"},
            IPE,
            "size",
        ),
        case(
            "sample-laplace-rng-str",
            noise.sample_discrete_laplace,
            SAMPLE,
            {"rng": "os"},
            IPE,
            "rng",
        ),
        case(
            "sample-gaussian-sigma-zero",
            noise.sample_discrete_gaussian,
            {"sigma": 2.0, "size": 3},
            {"sigma": 0.0},
            IPE,
            "sigma",
        ),
        case(
            "sample-gaussian-sigma-bool",
            noise.sample_discrete_gaussian,
            {"sigma": 2.0, "size": 3},
            {"sigma": True},
            IPE,
            "sigma",
        ),
        case(
            "laplace-parameters-negative",
            noise.discrete_laplace_parameters,
            {"scale": 1.0},
            {"scale": -1.0},
            IPE,
            "scale",
        ),
        case(
            "gaussian-parameters-nan",
            noise.discrete_gaussian_parameters,
            {"sigma": 1.0},
            {"sigma": NAN},
            IPE,
            "sigma",
        ),
        case(
            "insecure-seed-str",
            lp_random.insecure,
            {"seed": 1},
            {"seed": "x"},
            IPE,
            "seed",
        ),
        case(
            "insecure-seed-float",
            lp_random.insecure,
            {"seed": 1},
            {"seed": 1.5},
            IPE,
            "seed",
        ),
        case(
            "insecure-seed-bool",
            lp_random.insecure,
            {"seed": 1},
            {"seed": True},
            IPE,
            "seed",
        ),
        case(
            "insecure-seed-negative",
            lp.InsecureSeededRandom,
            {"seed": 1},
            {"seed": -1},
            IPE,
            "seed",
        ),
        case(
            "resolve-rng-str",
            lp_random.resolve_rng,
            {"rng": None},
            {"rng": "os"},
            IPE,
            "rng",
        ),
        case(
            "resolve-rng-int",
            lp_random.resolve_rng,
            {"rng": None},
            {"rng": 7},
            IPE,
            "rng",
        ),
        case("words-negative", _words, {"n": 3}, {"n": -1}, IPE, "n"),
        case("words-float", _words, {"n": 3}, {"n": 1.5}, IPE, "n"),
        case(
            "contribution-bounds-unit-int",
            lp.ContributionBounds,
            {"privacy_unit": "user_id"},
            {"privacy_unit": 5},
            IPE,
            "privacy_unit",
        ),
        case(
            "contribution-bounds-l0-zero",
            lp.ContributionBounds,
            {"privacy_unit": "user_id"},
            {"max_partitions_per_user": 0},
            IPE,
            "max_partitions_per_user",
        ),
        case(
            "contribution-bounds-linf-bool",
            lp.ContributionBounds,
            {"privacy_unit": "user_id"},
            {"max_contributions_per_partition": True},
            IPE,
            "max_contributions_per_partition",
        ),
        case(
            "contribution-bounds-bounds-reversed",
            lp.ContributionBounds,
            {"privacy_unit": "user_id"},
            {"bounds": (1.0, 0.0)},
            IPE,
            "bounds",
        ),
        case(
            "privacy-info-str",
            lp.privacy_info,
            {"result": COUNTS},
            {"result": "x"},
            IPE,
            "result",
        ),
        case(
            "privacy-info-plain-table",
            lp.privacy_info,
            {"result": COUNTS},
            {"result": pa.table({"a": [1]})},
            IPE,
            "result",
        ),
    ]


def _composition_cases():
    adv = {"epsilon": 0.1, "delta": 0.0, "k": 10, "delta_prime": 1e-6}
    z = {"epsilon": 1.0, "delta": 1e-6}
    return [
        case(
            "advanced-epsilon-negative",
            accounting.advanced_composition,
            adv,
            {"epsilon": -0.1},
            IPE,
            "epsilon",
        ),
        case(
            "advanced-k-zero", accounting.advanced_composition, adv, {"k": 0}, IPE, "k"
        ),
        case(
            "advanced-k-float",
            accounting.advanced_composition,
            adv,
            {"k": 2.5},
            IPE,
            "k",
        ),
        case(
            "advanced-delta-prime-zero",
            accounting.advanced_composition,
            adv,
            {"delta_prime": 0.0},
            IPE,
            "delta_prime",
        ),
        case(
            "advanced-delta-prime-one",
            accounting.advanced_composition,
            adv,
            {"delta_prime": 1.0},
            IPE,
            "delta_prime",
        ),
        case(
            "advanced-per-step-k-bool",
            accounting.advanced_composition_per_step,
            {**adv, "epsilon": 1.0, "delta": 1e-5},
            {"k": True},
            IPE,
            "k",
        ),
        case(
            "basic-composition-str",
            lambda **kw: accounting.basic_composition(*kw["costs"]),
            {"costs": [lp.PureDP(1.0)]},
            {"costs": ["x"]},
            IPE,
            "costs",
        ),
        case(
            "basic-composition-empty",
            lambda **kw: accounting.basic_composition(*kw["costs"]),
            {"costs": [lp.PureDP(1.0)]},
            {"costs": []},
            IPE,
            "costs",
        ),
        case(
            "gaussian-rdp-multiplier-zero",
            accounting.gaussian_rdp,
            {"noise_multiplier": 1.0},
            {"noise_multiplier": 0.0},
            IPE,
            "noise_multiplier",
        ),
        case(
            "gaussian-rdp-orders-below-one",
            accounting.gaussian_rdp,
            {"noise_multiplier": 1.0},
            {"orders": [0.5]},
            IPE,
            "orders",
        ),
        case(
            "laplace-rdp-multiplier-nan",
            accounting.laplace_rdp,
            {"noise_multiplier": 1.0},
            {"noise_multiplier": NAN},
            IPE,
            "noise_multiplier",
        ),
        case(
            "pure-rdp-epsilon-negative",
            accounting.pure_dp_rdp,
            {"epsilon": 1.0, "orders": [2.0]},
            {"epsilon": -1.0},
            IPE,
            "epsilon",
        ),
        case(
            "pure-rdp-orders-str",
            accounting.pure_dp_rdp,
            {"epsilon": 1.0, "orders": [2.0]},
            {"orders": "2"},
            IPE,
            "orders",
        ),
        case(
            "rdp-to-dp-length-mismatch",
            accounting.rdp_to_approx_dp,
            {"orders": [2.0, 3.0], "rdp": [0.1, 0.2], "delta": 1e-6},
            {"rdp": [0.1]},
            IPE,
            "rdp",
        ),
        case(
            "rdp-to-dp-delta-zero",
            accounting.rdp_to_approx_dp,
            {"orders": [2.0, 3.0], "rdp": [0.1, 0.2], "delta": 1e-6},
            {"delta": 0.0},
            IPE,
            "delta",
        ),
        case(
            "rdp-to-dp-rdp-nan",
            accounting.rdp_to_approx_dp,
            {"orders": [2.0, 3.0], "rdp": [0.1, 0.2], "delta": 1e-6},
            {"rdp": [0.1, NAN]},
            IPE,
            "rdp",
        ),
        case(
            "zcdp-rho-for-delta-zero",
            accounting.zcdp_rho_for,
            z,
            {"delta": 0.0},
            IPE,
            "delta",
        ),
        case(
            "zcdp-rho-for-epsilon-str",
            accounting.zcdp_rho_for,
            z,
            {"epsilon": "1"},
            IPE,
            "epsilon",
        ),
        case(
            "zcdp-rho-for-method-unknown",
            accounting.zcdp_rho_for,
            z,
            {"method": "fast"},
            IPE,
            "method",
        ),
        case(
            "zcdp-to-dp-rho-negative",
            accounting.zcdp_to_approx_dp,
            {"rho": 0.5, "delta": 1e-6},
            {"rho": -0.5},
            IPE,
            "rho",
        ),
        case(
            "zcdp-to-dp-method-int",
            accounting.zcdp_to_approx_dp,
            {"rho": 0.5, "delta": 1e-6},
            {"method": 1},
            IPE,
            "method",
        ),
        case(
            "verify-ledger-path-int",
            lp.verify_ledger,
            {"path": Lazy(_ledger_file)},
            {"path": 5},
            IPE,
            "path",
        ),
        case(
            "verify-ledger-missing-file",
            lp.verify_ledger,
            {"path": Lazy(_ledger_file)},
            {"path": Lazy(lambda p: p / "missing.sqlite")},
            lp.LedgerError,
            "path",
            fresh_path=True,
        ),
        case(
            "verify-ledger-on-event-int",
            lp.verify_ledger,
            {"path": Lazy(_ledger_file)},
            {"on_event": 5},
            IPE,
            "on_event",
        ),
    ]


def _kanon_cases():
    ka = {"table": EVENTS, "quasi_identifiers": ["page", "country"]}
    ek = {**ka, "k": 2}
    ld = {**ka, "sensitive": "value"}
    fg = {"groups": GROUPS, "count": "count", "k": 5}
    gd = {"table": EVENTS, "column": "time", "to": "month"}
    gn = {"table": EVENTS, "column": "value", "width": 2.0}
    tc = {"table": EVENTS, "column": "value", "upper": 5.0}
    gr = {"table": EVENTS, "column": "page", "min_count": 2}
    return [
        case(
            "k-anonymity-qi-empty",
            kanon.k_anonymity,
            ka,
            {"quasi_identifiers": []},
            IPE,
            "quasi_identifiers",
        ),
        case(
            "k-anonymity-qi-int",
            kanon.k_anonymity,
            ka,
            {"quasi_identifiers": 5},
            IPE,
            "quasi_identifiers",
        ),
        case(
            "k-anonymity-qi-list-int",
            kanon.k_anonymity,
            ka,
            {"quasi_identifiers": ["page", 5]},
            IPE,
            "quasi_identifiers",
        ),
        case(
            "k-anonymity-qi-unknown",
            kanon.k_anonymity,
            ka,
            {"quasi_identifiers": ["nope"]},
            CNF,
            "nope",
        ),
        case(
            "k-anonymity-qi-list-column",
            kanon.k_anonymity,
            ka,
            {"quasi_identifiers": ["tags"]},
            CTE,
            "tags",
        ),
        case(
            "k-anonymity-qi-struct-column",
            kanon.k_anonymity,
            ka,
            {"quasi_identifiers": ["meta"]},
            CTE,
            "meta",
        ),
        case(
            "k-anonymity-qi-map-column",
            kanon.k_anonymity,
            ka,
            {"quasi_identifiers": ["attrs"]},
            CTE,
            "attrs",
        ),
        case(
            "k-anonymity-duplicate-arrow",
            kanon.k_anonymity,
            ka,
            {"table": duplicated("page")},
            SE,
            "page",
        ),
        case(
            "k-anonymity-duplicate-pandas",
            kanon.k_anonymity,
            ka,
            {"table": duplicated_pandas("page")},
            SE,
            "page",
        ),
        case(
            "k-anonymity-table-none",
            kanon.k_anonymity,
            ka,
            {"table": None},
            lp.PrivacyError,
            "table",
        ),
        case(
            "k-anonymity-unknown-lazy",
            kanon.k_anonymity,
            ka,
            {"table": EVENTS_LAZY, "quasi_identifiers": "nope"},
            CNF,
            "nope",
        ),
        case("ensure-k-zero", kanon.ensure_k_anonymity, ek, {"k": 0}, IPE, "k"),
        case("ensure-k-bool", kanon.ensure_k_anonymity, ek, {"k": True}, IPE, "k"),
        case("ensure-k-float", kanon.ensure_k_anonymity, ek, {"k": 2.5}, IPE, "k"),
        case("ensure-k-str", kanon.ensure_k_anonymity, ek, {"k": "5"}, IPE, "k"),
        case("ensure-k-none", kanon.ensure_k_anonymity, ek, {"k": None}, IPE, "k"),
        case(
            "ensure-qi-none",
            kanon.ensure_k_anonymity,
            ek,
            {"quasi_identifiers": None},
            IPE,
            "quasi_identifiers",
        ),
        case(
            "ensure-qi-unknown-pandas",
            kanon.ensure_k_anonymity,
            ek,
            {"table": EVENTS_PANDAS, "quasi_identifiers": "nope"},
            CNF,
            "nope",
        ),
        case(
            "ensure-qi-list-column",
            kanon.ensure_k_anonymity,
            ek,
            {"quasi_identifiers": "tags"},
            CTE,
            "tags",
        ),
        case(
            "ensure-duplicate-arrow",
            kanon.ensure_k_anonymity,
            ek,
            {"table": duplicated("country")},
            SE,
            "country",
        ),
        case(
            "l-diversity-sensitive-empty",
            kanon.l_diversity,
            ld,
            {"sensitive": []},
            IPE,
            "sensitive",
        ),
        case(
            "l-diversity-sensitive-int",
            kanon.l_diversity,
            ld,
            {"sensitive": 5},
            IPE,
            "sensitive",
        ),
        case(
            "l-diversity-sensitive-unknown",
            kanon.l_diversity,
            ld,
            {"sensitive": "nope"},
            CNF,
            "nope",
        ),
        case(
            "l-diversity-sensitive-is-qi",
            kanon.l_diversity,
            ld,
            {"sensitive": "page"},
            IPE,
            "sensitive",
        ),
        case(
            "l-diversity-sensitive-list-column",
            kanon.l_diversity,
            ld,
            {"sensitive": "tags"},
            CTE,
            "tags",
        ),
        case(
            "l-diversity-entropy-str",
            kanon.l_diversity,
            ld,
            {"entropy": "yes"},
            IPE,
            "entropy",
        ),
        case(
            "l-diversity-qi-empty",
            kanon.l_diversity,
            ld,
            {"quasi_identifiers": []},
            IPE,
            "quasi_identifiers",
        ),
        case(
            "filter-groups-count-int",
            kanon.filter_groups,
            fg,
            {"count": 5},
            IPE,
            "count",
        ),
        case(
            "filter-groups-count-unknown",
            kanon.filter_groups,
            fg,
            {"count": "nope"},
            CNF,
            "nope",
        ),
        case(
            "filter-groups-count-string",
            kanon.filter_groups,
            fg,
            {"count": "page"},
            CTE,
            "page",
        ),
        case("filter-groups-k-zero", kanon.filter_groups, fg, {"k": 0}, IPE, "k"),
        case("filter-groups-k-bool", kanon.filter_groups, fg, {"k": True}, IPE, "k"),
        case(
            "filter-groups-groups-none",
            kanon.filter_groups,
            fg,
            {"groups": None},
            lp.PrivacyError,
            "groups",
        ),
        case(
            "filter-groups-groups-list",
            kanon.filter_groups,
            fg,
            {"groups": [1, 2]},
            lp.PrivacyError,
            "groups",
        ),
        case(
            "generalize-dates-column-int",
            kanon.generalize_dates,
            gd,
            {"column": 5},
            IPE,
            "column",
        ),
        case(
            "generalize-dates-column-unknown",
            kanon.generalize_dates,
            gd,
            {"column": "nope"},
            CNF,
            "nope",
        ),
        case(
            "generalize-dates-column-float",
            kanon.generalize_dates,
            gd,
            {"column": "value"},
            CTE,
            "value",
        ),
        case(
            "generalize-dates-to-unknown",
            kanon.generalize_dates,
            gd,
            {"to": "decade"},
            IPE,
            "to",
        ),
        case(
            "generalize-dates-to-int", kanon.generalize_dates, gd, {"to": 7}, IPE, "to"
        ),
        case(
            "generalize-dates-output-int",
            kanon.generalize_dates,
            gd,
            {"output": 5},
            IPE,
            "output",
        ),
        case(
            "generalize-numbers-width-zero",
            kanon.generalize_numbers,
            gn,
            {"width": 0.0},
            IPE,
            "width",
        ),
        case(
            "generalize-numbers-width-nan",
            kanon.generalize_numbers,
            gn,
            {"width": NAN},
            IPE,
            "width",
        ),
        case(
            "generalize-numbers-width-str",
            kanon.generalize_numbers,
            gn,
            {"width": "2"},
            IPE,
            "width",
        ),
        case(
            "generalize-numbers-width-bool",
            kanon.generalize_numbers,
            gn,
            {"width": True},
            IPE,
            "width",
        ),
        case(
            "generalize-numbers-width-subnormal",
            kanon.generalize_numbers,
            gn,
            {"width": SUBNORMAL},
            IPE,
            "width",
        ),
        case(
            "generalize-numbers-width-and-edges",
            kanon.generalize_numbers,
            gn,
            {"edges": [1.0, 2.0]},
            IPE,
            ("width", "edges"),
        ),
        case(
            "generalize-numbers-neither",
            kanon.generalize_numbers,
            gn,
            {"width": DROP},
            IPE,
            ("width", "edges"),
        ),
        case(
            "generalize-numbers-edges-empty",
            kanon.generalize_numbers,
            gn,
            {"width": DROP, "edges": []},
            IPE,
            "edges",
        ),
        case(
            "generalize-numbers-edges-decreasing",
            kanon.generalize_numbers,
            gn,
            {"width": DROP, "edges": [3.0, 1.0]},
            IPE,
            "edges",
        ),
        case(
            "generalize-numbers-edges-nan",
            kanon.generalize_numbers,
            gn,
            {"width": DROP, "edges": [1.0, NAN]},
            IPE,
            "edges",
        ),
        case(
            "generalize-numbers-edges-str",
            kanon.generalize_numbers,
            gn,
            {"width": DROP, "edges": "1,2"},
            IPE,
            "edges",
        ),
        case(
            "generalize-numbers-origin-nan",
            kanon.generalize_numbers,
            gn,
            {"origin": NAN},
            IPE,
            "origin",
        ),
        case(
            "generalize-numbers-origin-str",
            kanon.generalize_numbers,
            gn,
            {"origin": "0"},
            IPE,
            "origin",
        ),
        case(
            "generalize-numbers-label-unknown",
            kanon.generalize_numbers,
            gn,
            {"label": "mid"},
            IPE,
            "label",
        ),
        case(
            "generalize-numbers-column-string",
            kanon.generalize_numbers,
            gn,
            {"column": "page"},
            CTE,
            "page",
        ),
        case(
            "generalize-numbers-column-nan",
            kanon.generalize_numbers,
            gn,
            {"table": EVENTS_NAN},
            NFE,
            "value",
        ),
        case(
            "generalize-numbers-output-list",
            kanon.generalize_numbers,
            gn,
            {"output": ["x"]},
            IPE,
            "output",
        ),
        case(
            "top-code-neither",
            kanon.top_code,
            tc,
            {"upper": DROP},
            IPE,
            ("upper", "lower"),
        ),
        case("top-code-upper-nan", kanon.top_code, tc, {"upper": NAN}, IPE, "upper"),
        case("top-code-upper-str", kanon.top_code, tc, {"upper": "5"}, IPE, "upper"),
        case("top-code-upper-bool", kanon.top_code, tc, {"upper": True}, IPE, "upper"),
        case(
            "top-code-lower-above-upper",
            kanon.top_code,
            tc,
            {"lower": 9.0},
            IPE,
            ("lower", "upper"),
        ),
        case(
            "top-code-column-string",
            kanon.top_code,
            tc,
            {"column": "page"},
            CTE,
            "page",
        ),
        case(
            "top-code-column-unknown",
            kanon.top_code,
            tc,
            {"column": "nope"},
            CNF,
            "nope",
        ),
        case(
            "top-code-int-column-fractional",
            kanon.top_code,
            tc,
            {"column": "ivalue", "upper": 2.5},
            IPE,
            "upper",
        ),
        case(
            "top-code-int-column-huge",
            kanon.top_code,
            tc,
            {"column": "ivalue", "upper": 1e300},
            IPE,
            "upper",
        ),
        case(
            "generalize-rare-min-count-zero",
            kanon.generalize_rare,
            gr,
            {"min_count": 0},
            IPE,
            "min_count",
        ),
        case(
            "generalize-rare-min-count-bool",
            kanon.generalize_rare,
            gr,
            {"min_count": True},
            IPE,
            "min_count",
        ),
        case(
            "generalize-rare-min-count-str",
            kanon.generalize_rare,
            gr,
            {"min_count": "2"},
            IPE,
            "min_count",
        ),
        case(
            "generalize-rare-other-list",
            kanon.generalize_rare,
            gr,
            {"other": ["x"]},
            IPE,
            "other",
        ),
        case(
            "generalize-rare-other-wrong-type",
            kanon.generalize_rare,
            gr,
            {"column": "ivalue", "other": "rare"},
            IPE,
            "other",
        ),
        case(
            "generalize-rare-column-list",
            kanon.generalize_rare,
            gr,
            {"column": "tags"},
            CTE,
            "tags",
        ),
        case(
            "generalize-rare-column-struct",
            kanon.generalize_rare,
            gr,
            {"column": "meta"},
            CTE,
            "meta",
        ),
        case(
            "generalize-rare-column-int",
            kanon.generalize_rare,
            gr,
            {"column": 5},
            IPE,
            "column",
        ),
        case(
            "generalize-rare-duplicate-pandas",
            kanon.generalize_rare,
            gr,
            {"table": duplicated_pandas("page")},
            SE,
            "page",
        ),
    ]


def _controls_cases():
    ps = {}
    key = Lazy(lambda _: controls.make_key())
    pz = {"table": EVENTS, "column": "user_id", "key": key}
    ac = {
        "table": EVENTS,
        "purpose": "performanceMonitoring",
        "privacy_unit": "user_id",
        "consent": CONSENT,
    }
    ar = {
        "table": EVENTS,
        "time_column": "time",
        "period": "1-year",
        "now": dt.date(2026, 6, 1),
    }
    unit = {"privacy_unit": "user_id"}
    cs = {"consent": CONSENT, "user_id": 7301, **unit}
    uc = {
        "consent": CONSENT,
        "user_id": 7301,
        "purpose": "performanceMonitoring",
        "granted": True,
        **unit,
    }
    wc = {"consent": CONSENT, "user_ids": [7301], **unit}
    eu = {"table": EVENTS, "user_ids": [7301], **unit}
    ex = {
        "table": EVENTS.drop_columns(["tags", "meta", "attrs"]),
        "user_id": 7301,
        **unit,
    }
    out = [
        case(
            "settings-retention-garbage",
            controls.PrivacySettings,
            ps,
            {"data_retention": "3-eons"},
            IPE,
            "data_retention",
        ),
        case(
            "settings-retention-negative",
            controls.PrivacySettings,
            ps,
            {"data_retention": dt.timedelta(days=-1)},
            IPE,
            "data_retention",
        ),
        case(
            "settings-consent-defaults-unknown",
            controls.PrivacySettings,
            ps,
            {"consent_defaults": {"nope": True}},
            UPE,
            "consent_defaults",
        ),
        case(
            "settings-consent-defaults-str",
            controls.PrivacySettings,
            ps,
            {"consent_defaults": "all"},
            IPE,
            "consent_defaults",
        ),
        case(
            "settings-consent-defaults-not-bool",
            controls.PrivacySettings,
            ps,
            {"consent_defaults": {"performanceMonitoring": "yes"}},
            IPE,
            "consent_defaults",
        ),
        case(
            "settings-custom-purposes-int",
            controls.PrivacySettings,
            ps,
            {"custom_purposes": 5},
            IPE,
            "custom_purposes",
        ),
        case(
            "settings-required-unknown",
            controls.PrivacySettings,
            ps,
            {"required_purposes": frozenset({"nope"})},
            UPE,
            "required_purposes",
        ),
        case(
            "with-purpose-name-int",
            _with_purpose,
            {"name": "beta"},
            {"name": 5},
            IPE,
            "name",
        ),
        case(
            "with-purpose-name-empty",
            _with_purpose,
            {"name": "beta"},
            {"name": ""},
            IPE,
            "name",
        ),
        case(
            "with-purpose-default-str",
            _with_purpose,
            {"name": "beta"},
            {"default": "yes"},
            IPE,
            "default",
        ),
        case(
            "with-purpose-required-int",
            _with_purpose,
            {"name": "beta"},
            {"required": 1},
            IPE,
            "required",
        ),
        case(
            "settings-from-dict-not-a-setting",
            controls.PrivacySettings.from_dict,
            {"mapping": {}},
            {"mapping": {"dataCollection": "minimal"}},
            IPE,
            "dataCollection",
        ),
        case(
            "settings-from-dict-unknown-key",
            controls.PrivacySettings.from_dict,
            {"mapping": {}},
            {"mapping": {"nope": 1}},
            IPE,
            "nope",
        ),
        case(
            "settings-from-dict-str",
            controls.PrivacySettings.from_dict,
            {"mapping": {}},
            {"mapping": "x"},
            IPE,
            "mapping",
        ),
        case(
            "key-short",
            controls.PseudonymKey,
            {"key": bytes(32)},
            {"key": b"short"},
            IPE,
            "key",
        ),
        case(
            "key-str",
            controls.PseudonymKey,
            {"key": bytes(32)},
            {"key": "secret-secret-secret-secret-1234"},
            IPE,
            "key",
        ),
        case(
            "key-int", controls.PseudonymKey, {"key": bytes(32)}, {"key": 5}, IPE, "key"
        ),
        case(
            "key-from-hex-garbage",
            controls.PseudonymKey.from_hex,
            {"text": "00" * 32},
            {"text": "zz"},
            IPE,
            "text",
        ),
        case(
            "key-from-hex-int",
            controls.PseudonymKey.from_hex,
            {"text": "00" * 32},
            {"text": 5},
            IPE,
            "text",
        ),
        case(
            "pseudonymize-key-none",
            controls.pseudonymize,
            pz,
            {"key": None},
            lp.MissingKeyError,
            "key",
        ),
        case(
            "pseudonymize-key-str",
            controls.pseudonymize,
            pz,
            {"key": "hunter2"},
            IPE,
            "key",
        ),
        case("pseudonymize-key-int", controls.pseudonymize, pz, {"key": 5}, IPE, "key"),
        case(
            "pseudonymize-column-int",
            controls.pseudonymize,
            pz,
            {"column": 5},
            IPE,
            "column",
        ),
        case(
            "pseudonymize-column-unknown",
            controls.pseudonymize,
            pz,
            {"column": "nope"},
            CNF,
            "nope",
        ),
        case(
            "pseudonymize-column-map",
            controls.pseudonymize,
            pz,
            {"column": "attrs"},
            CTE,
            "attrs",
        ),
        case(
            "pseudonymize-digest-zero",
            controls.pseudonymize,
            pz,
            {"digest_bytes": 0},
            IPE,
            "digest_bytes",
        ),
        case(
            "pseudonymize-digest-huge",
            controls.pseudonymize,
            pz,
            {"digest_bytes": 100},
            IPE,
            "digest_bytes",
        ),
        case(
            "pseudonymize-digest-bool",
            controls.pseudonymize,
            pz,
            {"digest_bytes": True},
            IPE,
            "digest_bytes",
        ),
        case(
            "pseudonymize-output-int",
            controls.pseudonymize,
            pz,
            {"output": 5},
            IPE,
            "output",
        ),
        case(
            "pseudonymize-duplicate-arrow",
            controls.pseudonymize,
            pz,
            {"table": duplicated("user_id")},
            SE,
            "user_id",
        ),
        case(
            "apply-consent-purpose-unknown",
            controls.apply_consent,
            ac,
            {"purpose": "nope"},
            UPE,
            "purpose",
        ),
        case(
            "apply-consent-purpose-int",
            controls.apply_consent,
            ac,
            {"purpose": 5},
            IPE,
            "purpose",
        ),
        case(
            "apply-consent-unit-int",
            controls.apply_consent,
            ac,
            {"privacy_unit": 5},
            IPE,
            "privacy_unit",
        ),
        case(
            "apply-consent-unit-unknown",
            controls.apply_consent,
            ac,
            {"privacy_unit": "nope"},
            CNF,
            "nope",
        ),
        case(
            "apply-consent-consent-str",
            controls.apply_consent,
            ac,
            {"consent": "all"},
            IPE,
            "consent",
        ),
        case(
            "apply-consent-duplicate-user",
            controls.apply_consent,
            ac,
            {"consent": CONSENT_DUPLICATE_USER},
            lp.DuplicateUnitError,
            "user_id",
        ),
        case(
            "apply-consent-flag-str",
            controls.apply_consent,
            ac,
            {"consent": CONSENT_STRING_FLAG},
            CTE,
            "performanceMonitoring",
        ),
        case(
            "apply-consent-settings-str",
            controls.apply_consent,
            ac,
            {"settings": "strict"},
            IPE,
            "settings",
        ),
        case(
            "apply-consent-unit-list-type",
            controls.apply_consent,
            ac,
            {"privacy_unit": "tags", "consent": None},
            CTE,
            "tags",
        ),
        case(
            "apply-consent-duplicate-pandas",
            controls.apply_consent,
            ac,
            {"table": duplicated_pandas("user_id")},
            SE,
            "user_id",
        ),
        case(
            "apply-retention-column-int",
            controls.apply_retention,
            ar,
            {"time_column": 5},
            IPE,
            "time_column",
        ),
        case(
            "apply-retention-column-unknown",
            controls.apply_retention,
            ar,
            {"time_column": "nope"},
            CNF,
            "nope",
        ),
        case(
            "apply-retention-column-string",
            controls.apply_retention,
            ar,
            {"time_column": "page"},
            CTE,
            "page",
        ),
        case(
            "apply-retention-period-garbage",
            controls.apply_retention,
            ar,
            {"period": "forever-ish"},
            IPE,
            "period",
        ),
        case(
            "apply-retention-period-negative",
            controls.apply_retention,
            ar,
            {"period": dt.timedelta(days=-1)},
            IPE,
            "period",
        ),
        case(
            "apply-retention-period-int",
            controls.apply_retention,
            ar,
            {"period": 5},
            IPE,
            "period",
        ),
        case(
            "apply-retention-now-str",
            controls.apply_retention,
            ar,
            {"now": "yesterday"},
            IPE,
            "now",
        ),
        case(
            "apply-retention-settings-int",
            controls.apply_retention,
            ar,
            {"period": None, "settings": 5},
            IPE,
            "settings",
        ),
        case(
            "apply-retention-duplicate-arrow",
            controls.apply_retention,
            ar,
            {"table": duplicated("time")},
            SE,
            "time",
        ),
        case(
            "retention-cutoff-period-garbage",
            controls.retention_cutoff,
            {"period": "1-year"},
            {"period": "x"},
            IPE,
            "period",
        ),
        case(
            "retention-cutoff-now-int",
            controls.retention_cutoff,
            {"period": "1-year"},
            {"now": 5},
            IPE,
            "now",
        ),
        case(
            "consent-status-user-list",
            controls.consent_status,
            cs,
            {"user_id": [7301, 7302]},
            IPE,
            "user_id",
        ),
        case(
            "consent-status-unit-int",
            controls.consent_status,
            cs,
            {"privacy_unit": 5},
            IPE,
            "privacy_unit",
        ),
        case(
            "consent-status-unit-unknown",
            controls.consent_status,
            cs,
            {"privacy_unit": "nope"},
            CNF,
            "nope",
        ),
        case(
            "consent-status-consent-str",
            controls.consent_status,
            cs,
            {"consent": "x"},
            IPE,
            "consent",
        ),
        case(
            "update-consent-purpose-unknown",
            controls.update_consent,
            uc,
            {"purpose": "nope"},
            UPE,
            "purpose",
        ),
        case(
            "update-consent-granted-str",
            controls.update_consent,
            uc,
            {"granted": "yes"},
            IPE,
            "granted",
        ),
        case(
            "update-consent-granted-none",
            controls.update_consent,
            uc,
            {"granted": None},
            IPE,
            "granted",
        ),
        case(
            "update-consent-user-wrong-type",
            controls.update_consent,
            uc,
            {"user_id": "abc"},
            lp.PrivacyError,
            ("user_id", "user_id"),
        ),
        case(
            "update-consent-required",
            controls.update_consent,
            uc,
            {"purpose": "essentialAnalytics", "granted": False},
            IPE,
            ("purpose", "granted"),
        ),
        case(
            "withdraw-purposes-unknown",
            controls.withdraw_consent,
            wc,
            {"purposes": ["nope"]},
            UPE,
            "purposes",
        ),
        case(
            "withdraw-purposes-required",
            controls.withdraw_consent,
            wc,
            {"purposes": ["essentialAnalytics"]},
            IPE,
            "purposes",
        ),
        case(
            "withdraw-purposes-int",
            controls.withdraw_consent,
            wc,
            {"purposes": 5},
            IPE,
            "purposes",
        ),
        case(
            "withdraw-consent-str",
            controls.withdraw_consent,
            wc,
            {"consent": "x"},
            IPE,
            "consent",
        ),
        case(
            "withdraw-user-ids-dict",
            controls.withdraw_consent,
            wc,
            {"user_ids": {"a": 1}},
            IPE,
            "user_ids",
        ),
        case(
            "withdraw-unit-int",
            controls.withdraw_consent,
            wc,
            {"privacy_unit": 5},
            IPE,
            "privacy_unit",
        ),
        case(
            "erase-unit-unknown",
            controls.erase_users,
            eu,
            {"privacy_unit": "nope"},
            CNF,
            "nope",
        ),
        case(
            "erase-unit-int",
            controls.erase_users,
            eu,
            {"privacy_unit": 5},
            IPE,
            "privacy_unit",
        ),
        case(
            "erase-ids-fractional",
            controls.erase_users,
            eu,
            {"user_ids": [1.5]},
            lp.PrivacyError,
            ("user_ids", "user_id"),
        ),
        case(
            "erase-ids-object",
            controls.erase_users,
            eu,
            {"user_ids": object()},
            IPE,
            "user_ids",
        ),
        case(
            "erase-unit-list-type",
            controls.erase_users,
            eu,
            {"privacy_unit": "tags"},
            CTE,
            "tags",
        ),
        case(
            "erase-duplicate-arrow",
            controls.erase_users,
            eu,
            {"table": duplicated("user_id")},
            SE,
            "user_id",
        ),
        case(
            "export-format-unknown",
            controls.export_user_data,
            ex,
            {"format": "xml"},
            IPE,
            "format",
        ),
        case(
            "export-format-int",
            controls.export_user_data,
            ex,
            {"format": 1},
            IPE,
            "format",
        ),
        case(
            "export-compression-unknown",
            controls.export_user_data,
            ex,
            {"compression": "zip"},
            IPE,
            "compression",
        ),
        case(
            "export-path-int", controls.export_user_data, ex, {"path": 5}, IPE, "path"
        ),
        case(
            "export-unit-unknown",
            controls.export_user_data,
            ex,
            {"privacy_unit": "nope"},
            CNF,
            "nope",
        ),
        case(
            "export-user-list",
            controls.export_user_data,
            ex,
            {"user_id": [7301, 7302]},
            IPE,
            "user_id",
        ),
        case(
            "export-user-none",
            controls.export_user_data,
            ex,
            {"user_id": None},
            IPE,
            "user_id",
        ),
        case(
            "consent-columns-purpose-int",
            controls.consent_columns,
            {"purpose": "performanceMonitoring", "available": []},
            {"purpose": 5},
            IPE,
            "purpose",
        ),
        case(
            "consent-columns-available-str",
            controls.consent_columns,
            {"purpose": "performanceMonitoring", "available": []},
            {"available": "user_id"},
            IPE,
            "available",
        ),
        case(
            "consent-filter-data-str",
            controls.consent_filter_arrow,
            {
                "data": EVENTS,
                "purpose": "performanceMonitoring",
                "privacy_unit": "user_id",
                "consent": CONSENT,
            },
            {"data": "x"},
            IPE,
            "data",
        ),
    ]
    return out


def _display_cases():
    sh = {"result": COUNTS}
    pl_ = {"result": COUNTS}
    pr = {"result": COHORTS}
    return [
        case("show-result-str", lp.show, sh, {"result": "x"}, IPE, "result"),
        case("show-result-none", lp.show, sh, {"result": None}, IPE, "result"),
        case("show-max-rows-zero", lp.show, sh, {"max_rows": 0}, IPE, "max_rows"),
        case("show-max-rows-bool", lp.show, sh, {"max_rows": True}, IPE, "max_rows"),
        case("show-max-rows-str", lp.show, sh, {"max_rows": "5"}, IPE, "max_rows"),
        case("result-view-int", lp.ResultView, sh, {"result": 5}, IPE, "result"),
        case(
            "result-view-max-rows-float",
            lp.ResultView,
            sh,
            {"max_rows": 2.5},
            IPE,
            "max_rows",
        ),
        case("plot-result-str", lp.plot, pl_, {"result": "x"}, IPE, "result"),
        case("plot-value-unknown", lp.plot, pl_, {"value": "nope"}, IPE, "value"),
        case("plot-value-int", lp.plot, pl_, {"value": 5}, IPE, "value"),
        case(
            "plot-max-groups-zero", lp.plot, pl_, {"max_groups": 0}, IPE, "max_groups"
        ),
        case(
            "plot-max-groups-bool",
            lp.plot,
            pl_,
            {"max_groups": True},
            IPE,
            "max_groups",
        ),
        case("plot-truth-str", lp.plot, pl_, {"truth": "x"}, IPE, "truth"),
        case(
            "plot-truth-value-str", lp.plot, pl_, {"truth": {"a": "many"}}, IPE, "truth"
        ),
        case("plot-ax-str", lp.plot, pl_, {"ax": "left"}, IPE, "ax"),
        case(
            "plot-retention-result-str",
            lp.plot_retention,
            pr,
            {"result": "x"},
            IPE,
            "result",
        ),
        case(
            "plot-retention-result-counts",
            lp.plot_retention,
            pr,
            {"result": COUNTS},
            IPE,
            "result",
        ),
        case(
            "plot-retention-value-unknown",
            lp.plot_retention,
            pr,
            {"value": "churn"},
            IPE,
            "value",
        ),
        case(
            "plot-retention-cmap-int", lp.plot_retention, pr, {"cmap": 5}, IPE, "cmap"
        ),
        case(
            "plot-retention-annotate-str",
            lp.plot_retention,
            pr,
            {"annotate": "yes"},
            IPE,
            "annotate",
        ),
    ]


def _audit_cases():
    ee = {"fn": _noise_trials, "d0": 0, "d1": 1, "trials": 100}
    cp = {"successes": 3, "trials": 10, "alpha": 0.01}
    csam = {
        "sample": np.zeros(100, dtype=np.int64),
        "distribution": "laplace",
        "scale": 2.0,
    }
    chi = {
        "sample": np.zeros(50, dtype=np.int64),
        "support": np.arange(-2, 3),
        "pmf": np.full(5, 0.2),
    }
    at = {
        "func": lp.aggregate_count,
        "by": "page",
        "privacy_unit": "user_id",
        "epsilon": 1.0,
        "public_groups": ["zq-home"],
    }
    ct = {k: v for k, v in COHORT.items() if k != "table"}
    ac = {"name": "c", "fn": _noise_trials, "d0": 0, "d1": 1, "epsilon": 1.0}
    return [
        case(
            "estimate-trials-small",
            audit.estimate_epsilon,
            ee,
            {"trials": 2},
            IPE,
            "trials",
        ),
        case(
            "estimate-trials-str",
            audit.estimate_epsilon,
            ee,
            {"trials": "100"},
            IPE,
            "trials",
        ),
        case(
            "estimate-trials-bool",
            audit.estimate_epsilon,
            ee,
            {"trials": True},
            IPE,
            "trials",
        ),
        case(
            "estimate-delta-negative",
            audit.estimate_epsilon,
            ee,
            {"delta": -0.1},
            IPE,
            "delta",
        ),
        case(
            "estimate-confidence-one",
            audit.estimate_epsilon,
            ee,
            {"confidence": 1.0},
            IPE,
            "confidence",
        ),
        case(
            "estimate-events-zero",
            audit.estimate_epsilon,
            ee,
            {"events": 0},
            IPE,
            "events",
        ),
        case("estimate-fn-int", audit.estimate_epsilon, ee, {"fn": 5}, IPE, "fn"),
        case(
            "estimate-claimed-negative",
            audit.estimate_epsilon,
            ee,
            {"claimed_epsilon": -1.0},
            IPE,
            "claimed_epsilon",
        ),
        case(
            "estimate-vectorized-str",
            audit.estimate_epsilon,
            ee,
            {"vectorized": "yes"},
            IPE,
            "vectorized",
        ),
        case(
            "estimate-progress-int",
            audit.estimate_epsilon,
            ee,
            {"progress": 5},
            IPE,
            "progress",
        ),
        case("estimate-name-int", audit.estimate_epsilon, ee, {"name": 5}, IPE, "name"),
        case(
            "assert-dp-epsilon-negative",
            audit.assert_dp,
            {**ee, "epsilon": 1.0},
            {"epsilon": -1.0},
            IPE,
            "epsilon",
        ),
        case(
            "assert-dp-epsilon-str",
            audit.assert_dp,
            {**ee, "epsilon": 1.0},
            {"epsilon": "1"},
            IPE,
            "epsilon",
        ),
        case(
            "assert-dp-trials-zero",
            audit.assert_dp,
            {**ee, "epsilon": 1.0},
            {"trials": 0},
            IPE,
            "trials",
        ),
        case(
            "sampler-distribution-unknown",
            audit.check_sampler,
            csam,
            {"distribution": "cauchy"},
            IPE,
            "distribution",
        ),
        case(
            "sampler-scale-negative",
            audit.check_sampler,
            csam,
            {"scale": -1.0},
            IPE,
            "scale",
        ),
        case(
            "sampler-scale-str", audit.check_sampler, csam, {"scale": "2"}, IPE, "scale"
        ),
        case(
            "sampler-alpha-zero",
            audit.check_sampler,
            csam,
            {"alpha": 0.0},
            IPE,
            "alpha",
        ),
        case(
            "sampler-alpha-big", audit.check_sampler, csam, {"alpha": 1.5}, IPE, "alpha"
        ),
        case(
            "sampler-bins-zero", audit.check_sampler, csam, {"n_bins": 0}, IPE, "n_bins"
        ),
        case(
            "sampler-sample-str",
            audit.check_sampler,
            csam,
            {"sample": "x"},
            IPE,
            "sample",
        ),
        case(
            "sampler-sample-empty",
            audit.check_sampler,
            csam,
            {"sample": []},
            IPE,
            "sample",
        ),
        case(
            "sampler-sample-float",
            audit.check_sampler,
            csam,
            {"sample": [0.5, 1.5]},
            IPE,
            "sample",
        ),
        case(
            "chisquare-pmf-length",
            audit.chisquare_pvalue,
            chi,
            {"pmf": np.full(4, 0.25)},
            IPE,
            "pmf",
        ),
        case(
            "chisquare-pmf-negative",
            audit.chisquare_pvalue,
            chi,
            {"pmf": np.array([-0.2, 0.4, 0.4, 0.2, 0.2])},
            IPE,
            "pmf",
        ),
        case(
            "chisquare-bins-zero",
            audit.chisquare_pvalue,
            chi,
            {"n_bins": 0},
            IPE,
            "n_bins",
        ),
        case(
            "chisquare-min-expected-negative",
            audit.chisquare_pvalue,
            chi,
            {"min_expected": -1.0},
            IPE,
            "min_expected",
        ),
        case(
            "clopper-successes-above-trials",
            audit.clopper_pearson,
            cp,
            {"successes": 11},
            IPE,
            "successes",
        ),
        case(
            "clopper-successes-negative",
            audit.clopper_pearson,
            cp,
            {"successes": -1},
            IPE,
            "successes",
        ),
        case(
            "clopper-trials-zero",
            audit.clopper_pearson,
            cp,
            {"trials": 0},
            IPE,
            "trials",
        ),
        case(
            "clopper-alpha-zero",
            audit.clopper_pearson,
            cp,
            {"alpha": 0.0},
            IPE,
            "alpha",
        ),
        case(
            "clopper-alpha-nan", audit.clopper_pearson, cp, {"alpha": NAN}, IPE, "alpha"
        ),
        case(
            "laplace-pmf-scale-negative",
            audit.discrete_laplace_pmf,
            {"y": [0, 1], "scale": 1.0},
            {"scale": -1.0},
            IPE,
            "scale",
        ),
        case(
            "laplace-pmf-scale-nan",
            audit.discrete_laplace_pmf,
            {"y": [0, 1], "scale": 1.0},
            {"scale": NAN},
            IPE,
            "scale",
        ),
        case(
            "laplace-pmf-y-str",
            audit.discrete_laplace_pmf,
            {"y": [0, 1], "scale": 1.0},
            {"y": "ab"},
            IPE,
            "y",
        ),
        case(
            "gaussian-pmf-sigma-zero",
            audit.discrete_gaussian_pmf,
            {"y": [0, 1], "sigma": 1.0},
            {"sigma": 0.0},
            IPE,
            "sigma",
        ),
        case(
            "neighbouring-heavy-rows-negative",
            audit.neighbouring_tables,
            {},
            {"heavy_rows": -1},
            IPE,
            "heavy_rows",
        ),
        case(
            "neighbouring-heavy-rows-str",
            audit.neighbouring_tables,
            {},
            {"heavy_rows": "10"},
            IPE,
            "heavy_rows",
        ),
        case(
            "neighbouring-new-page-str",
            audit.neighbouring_tables,
            {},
            {"new_page": "yes"},
            IPE,
            "new_page",
        ),
        case(
            "run-audit-trials-zero",
            audit.run_audit,
            {"cases": []},
            {"trials": 0},
            IPE,
            "trials",
        ),
        case(
            "run-audit-confidence-two",
            audit.run_audit,
            {"cases": []},
            {"confidence": 2.0},
            IPE,
            "confidence",
        ),
        case(
            "run-audit-cases-str",
            audit.run_audit,
            {"cases": []},
            {"cases": "all"},
            IPE,
            "cases",
        ),
        case(
            "run-audit-cases-ints",
            audit.run_audit,
            {"cases": []},
            {"cases": [1, 2]},
            IPE,
            "cases",
        ),
        case(
            "run-audit-progress-int",
            audit.run_audit,
            {"cases": []},
            {"progress": 5},
            IPE,
            "progress",
        ),
        case("trials-func-int", _trials_of, at, {"func": 5}, IPE, "func"),
        case(
            "trials-func-add-noise", _trials_of, at, {"func": lp.add_noise}, IPE, "func"
        ),
        case("trials-salt-str", _trials_of, at, {"salt": "x"}, IPE, "salt"),
        case("trials-salt-negative", _trials_of, at, {"salt": -1}, IPE, "salt"),
        case(
            "trials-accountant-given",
            _trials_of,
            at,
            {"accountant": "acc"},
            IPE,
            "accountant",
        ),
        case("trials-bad-epsilon", _trials_of, at, {"epsilon": -1.0}, IPE, "epsilon"),
        case(
            "cohort-trials-salt-str",
            audit.cohort_trials,
            ct,
            {"salt": "x"},
            IPE,
            "salt",
        ),
        case(
            "cohort-trials-rng-given", audit.cohort_trials, ct, {"rng": "x"}, IPE, "rng"
        ),
        case(
            "is-vectorized-int",
            audit.is_vectorized,
            {"fn": _noise_trials},
            {"fn": 5},
            IPE,
            "fn",
        ),
        case(
            "audit-case-epsilon-negative",
            audit.AuditCase,
            ac,
            {"epsilon": -1.0},
            IPE,
            "epsilon",
        ),
        case("audit-case-fn-int", audit.AuditCase, ac, {"fn": 5}, IPE, "fn"),
        case("audit-case-name-int", audit.AuditCase, ac, {"name": 5}, IPE, "name"),
        case("audit-case-delta-one", audit.AuditCase, ac, {"delta": 1.0}, IPE, "delta"),
        case(
            "keyed-outputs-shape",
            audit.KeyedOutputs,
            {
                "keys": ("a",),
                "present": np.ones((3, 1), bool),
                "values": np.zeros((3, 1)),
            },
            {"values": np.zeros((3, 2))},
            IPE,
            "values",
        ),
        case(
            "check-keys-allowed-int",
            audit.check_keys,
            {"result": COUNTS, "allowed": ["zq-home", "zq-docs"]},
            {"allowed": 5},
            IPE,
            "allowed",
        ),
        case(
            "check-keys-result-str",
            audit.check_keys,
            {"result": COUNTS, "allowed": ["zq-home", "zq-docs"]},
            {"result": "x"},
            IPE,
            "result",
        ),
        case(
            "check-keys-by-unknown",
            audit.check_keys,
            {"result": COUNTS, "allowed": ["zq-home", "zq-docs"]},
            {"by": "nope"},
            CNF,
            "nope",
        ),
        case(
            "strategy-family-unknown",
            strategies.event_tables,
            {},
            {"family": "excel"},
            IPE,
            "family",
        ),
        case(
            "strategy-max-users-negative",
            strategies.event_tables,
            {},
            {"max_users": -1},
            IPE,
            "max_users",
        ),
        case(
            "strategy-rows-per-user-zero",
            strategies.event_tables,
            {},
            {"max_rows_per_user": 0},
            IPE,
            "max_rows_per_user",
        ),
        case(
            "strategy-value-range-reversed",
            strategies.event_tables,
            {},
            {"value_range": (5.0, 1.0)},
            IPE,
            "value_range",
        ),
        case(
            "strategy-groups-empty",
            strategies.event_tables,
            {},
            {"groups": ()},
            IPE,
            "groups",
        ),
        case(
            "strategy-groups-str",
            strategies.event_tables,
            {},
            {"groups": "home"},
            IPE,
            "groups",
        ),
        case(
            "pairs-family-unknown",
            strategies.neighbouring_pairs,
            {},
            {"family": "csv"},
            IPE,
            "family",
        ),
        case(
            "pairs-heavy-rows-reversed",
            strategies.neighbouring_pairs,
            {},
            {"heavy_rows": (5, 1)},
            IPE,
            "heavy_rows",
        ),
        case(
            "pairs-max-users-str",
            strategies.neighbouring_pairs,
            {},
            {"max_users": "3"},
            IPE,
            "max_users",
        ),
        case(
            "pair-values-sensitivity-negative",
            strategies.pair_values,
            {},
            {"sensitivity": -1.0},
            IPE,
            "sensitivity",
        ),
        case(
            "pair-values-magnitude-nan",
            strategies.pair_values,
            {},
            {"magnitude": NAN},
            IPE,
            "magnitude",
        ),
        case(
            "pair-values-integer-fractional",
            strategies.pair_values,
            {},
            {"integer": True, "sensitivity": 0.5},
            IPE,
            "sensitivity",
        ),
    ]


CASES: list[Case] = [
    *_aggregation_cases(),
    *_quantile_variance_cases(),
    *_histogram_funnel_cases(),
    *_cohort_cases(),
    *_mechanism_cases(),
    *_accountant_cases(),
    *_loss_noise_random_cases(),
    *_composition_cases(),
    *_kanon_cases(),
    *_controls_cases(),
    *_display_cases(),
    *_audit_cases(),
]


def test_cases_are_many_and_distinct():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert len(ids) >= 150


def _params():
    out = []
    for c in CASES:
        backends = ["memory", "sqlite"] if c.accountant != "none" else [None]
        for backend in backends:
            ident = c.id if backend is None else f"{c.id}[{backend}]"
            out.append(pytest.param(c, backend, id=ident))
    return out


def _call(c: Case, kwargs: dict[str, Any], acc: Any) -> Any:
    with warnings.catch_warnings():
        # An unusual but valid value (epsilon > 5, a seeded source) may warn
        # before it is refused; any other warning is an error (pyproject).
        warnings.simplefilter("ignore", lp.PrivacyWarning)
        if c.accountant == "self":
            return c.fn(acc, **kwargs)
        if c.accountant == "kwarg" and "accountant" not in kwargs:
            kwargs = {**kwargs, "accountant": acc}
        return c.fn(**kwargs)


@pytest.mark.parametrize(("c", "backend"), _params())
def test_bad_input(c: Case, backend: str | None, tmp_path):
    acc = make_accountant(backend, tmp_path) if backend else None
    kwargs = resolve(c.kwargs, tmp_path)
    before = set(tmp_path.iterdir())
    with pytest.raises(Exception, match=names_pattern(c.name)) as info:
        _call(c, kwargs, acc)
    err = info.value
    assert isinstance(err, lp.PrivacyError), (
        f"{type(err).__module__}.{type(err).__name__} is not a library error: {err}"
    )
    assert isinstance(err, c.error), (
        f"expected {c.error.__name__}, got {type(err).__name__}: {err}"
    )
    assert_names(err, c.name)
    if c.data:
        assert_no_data(err)
    if c.fresh_path:
        assert set(tmp_path.iterdir()) == before, "a refused call created a file"
    if acc is not None:
        assert_nothing_spent(acc, backend, tmp_path)


# ---------------------------------------------------------------------------
# The valid calls are valid (so each case fails for its one bad argument)
# ---------------------------------------------------------------------------

VALID = {
    "aggregate_count": (lp.aggregate_count, COUNT, "kwarg"),
    "aggregate_count_public": (lp.aggregate_count, COUNT_PUBLIC, "kwarg"),
    "aggregate_sum": (lp.aggregate_sum, SUM, "kwarg"),
    "aggregate_average": (lp.aggregate_average, SUM, "kwarg"),
    "aggregate_top_n": (lp.aggregate_top_n, TOP_N, "kwarg"),
    "aggregate_quantiles": (lp.aggregate_quantiles, QUANTILES_CALL, "kwarg"),
    "aggregate_variance": (lp.aggregate_variance, VARIANCE_CALL, "kwarg"),
    "aggregate_std": (lp.aggregate_std, VARIANCE_CALL, "kwarg"),
    "cohort_retention": (lp.cohort_retention, COHORT, "kwarg"),
    "aggregate_histogram": (lp.aggregate_histogram, HISTOGRAM_CALL, "kwarg"),
    "funnel": (lp.funnel, FUNNEL_CALL, "kwarg"),
    "add_noise": (lp.add_noise, NOISE, "kwarg"),
    "release": (_laplace_release, RELEASE, "kwarg"),
    "select": (_select, SELECT, "kwarg"),
    "report_noisy_max": (lp.report_noisy_max, NOISY_MAX, "kwarg"),
    "spend": (_spend, SPEND, "self"),
    "transaction": (_transaction, SPEND, "self"),
    "open": (_open_case, OPEN, "none"),
    "accountant": (lp.Accountant, ACCOUNTANT, "none"),
    "trials": (
        _trials_of,
        {
            "func": lp.aggregate_count,
            "by": "page",
            "privacy_unit": "user_id",
            "epsilon": 1.0,
            "public_groups": ["zq-home"],
        },
        "none",
    ),
    "k_anonymity": (
        kanon.k_anonymity,
        {"table": EVENTS, "quasi_identifiers": ["page", "country"]},
        "none",
    ),
    "generalize_rare": (
        kanon.generalize_rare,
        {"table": EVENTS, "column": "page", "min_count": 2},
        "none",
    ),
    "pseudonymize": (
        controls.pseudonymize,
        {
            "table": EVENTS,
            "column": "user_id",
            "key": Lazy(lambda _: controls.make_key()),
        },
        "none",
    ),
    "apply_consent": (
        controls.apply_consent,
        {
            "table": EVENTS,
            "purpose": "performanceMonitoring",
            "privacy_unit": "user_id",
            "consent": CONSENT,
        },
        "none",
    ),
    "show": (lp.show, {"result": COUNTS}, "none"),
    "plot_retention": (lp.plot_retention, {"result": COHORTS}, "none"),
    "estimate_epsilon": (
        audit.estimate_epsilon,
        {"fn": _noise_trials, "d0": 0, "d1": 1, "trials": 100},
        "none",
    ),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_call(name, tmp_path):
    fn, kwargs, use = VALID[name]
    acc = make_accountant("memory", tmp_path) if use != "none" else None
    c = Case(name, fn, kwargs, Exception, name, use)
    _call(c, resolve(kwargs, tmp_path), acc)
    if acc is not None:
        assert acc.spent.epsilon > 0
        assert len(acc.receipts) == 1


# ---------------------------------------------------------------------------
# Numbers of numpy types are numbers (only bool is refused)
# ---------------------------------------------------------------------------

ACCEPTED = [
    (
        "count-min-threshold-int64",
        lp.aggregate_count,
        {**COUNT, "min_threshold": np.int64(5)},
    ),
    (
        "count-min-threshold-float64",
        lp.aggregate_count,
        {**COUNT, "min_threshold": np.float64(5.0)},
    ),
    (
        "count-min-threshold-float32",
        lp.aggregate_count,
        {**COUNT, "min_threshold": np.float32(5.0)},
    ),
    (
        "count-max-partitions-int64",
        lp.aggregate_count,
        {**COUNT, "max_partitions_per_user": np.int64(2)},
    ),
    (
        "count-max-contributions-int32",
        lp.aggregate_count,
        {**COUNT, "max_contributions_per_partition": np.int32(2)},
    ),
    (
        "count-epsilon-float32",
        lp.aggregate_count,
        {**COUNT, "epsilon": np.float32(1.0)},
    ),
    (
        "count-confidence-float64",
        lp.aggregate_count,
        {**COUNT, "confidence": np.float64(0.9)},
    ),
    (
        "count-public-groups-tuple",
        lp.aggregate_count,
        {**COUNT, "public_groups": ("zq-home", "zq-docs")},
    ),
    (
        "sum-bounds-numpy",
        lp.aggregate_sum,
        {**SUM, "bounds": (np.int64(0), np.float64(10.0))},
    ),
    ("sum-bounds-list", lp.aggregate_sum, {**SUM, "bounds": [0, 10]}),
    ("top-n-n-int64", lp.aggregate_top_n, {**TOP_N, "n": np.int64(2)}),
    ("top-n-min-users-int64", lp.aggregate_top_n, {**TOP_N, "min_users": np.int64(1)}),
    (
        "cohort-n-periods-int64",
        lp.cohort_retention,
        {**COHORT, "n_periods": np.int64(2)},
    ),
    (
        "cohort-min-cohort-size-int64",
        lp.cohort_retention,
        {**COHORT, "min_cohort_size": np.int64(1)},
    ),
    (
        "add-noise-sensitivity-int64",
        lp.add_noise,
        {**NOISE, "sensitivity": np.int64(1)},
    ),
]


@pytest.mark.parametrize(
    ("fn", "kwargs"), [pytest.param(f, k, id=i) for i, f, k in ACCEPTED]
)
def test_numpy_numbers_are_accepted(fn, kwargs, tmp_path):
    acc = make_accountant("memory", tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lp.PrivacyWarning)
        fn(**kwargs, accountant=acc)
    assert acc.spent.epsilon == pytest.approx(float(kwargs["epsilon"]))


ACCEPTED_PLAIN = [
    (
        "ensure-k-int64",
        kanon.ensure_k_anonymity,
        {"table": EVENTS, "quasi_identifiers": "page", "k": np.int64(2)},
    ),
    (
        "filter-groups-k-int32",
        kanon.filter_groups,
        {"groups": GROUPS, "k": np.int32(5)},
    ),
    (
        "generalize-numbers-width-float32",
        kanon.generalize_numbers,
        {"table": EVENTS, "column": "value", "width": np.float32(2.0)},
    ),
    (
        "top-code-upper-int64",
        kanon.top_code,
        {"table": EVENTS, "column": "ivalue", "upper": np.int64(3)},
    ),
    (
        "generalize-rare-min-count-int64",
        kanon.generalize_rare,
        {"table": EVENTS, "column": "page", "min_count": np.int64(2)},
    ),
    (
        "laplace-epsilon-float32",
        lp.LaplaceMechanism,
        {"sensitivity": np.int64(1), "epsilon": np.float32(0.5)},
    ),
    ("accountant-epsilon-float64", lp.Accountant, {"epsilon": np.float64(1.0)}),
    ("show-max-rows-int64", lp.show, {"result": COUNTS, "max_rows": np.int64(5)}),
]


@pytest.mark.parametrize(
    ("fn", "kwargs"), [pytest.param(f, k, id=i) for i, f, k in ACCEPTED_PLAIN]
)
def test_numpy_numbers_are_accepted_without_budget(fn, kwargs, tmp_path):
    fn(**resolve(kwargs, tmp_path))


# ---------------------------------------------------------------------------
# The command line: bad input exits with 2, names the option, charges nothing
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def events_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "events.parquet"
    import pyarrow.parquet as pq

    pq.write_table(EVENTS.drop_columns(["tags", "meta", "attrs"]), path)
    return path


CLI_BASE = ["--privacy-unit", "user_id", "--epsilon", "1", "--quiet"]
CLI_CASES = [
    (
        "cli-epsilon-negative",
        ["--count", "--privacy-unit", "user_id", "--epsilon", "-1"],
        "epsilon",
    ),
    (
        "cli-epsilon-nan",
        ["--count", "--privacy-unit", "user_id", "--epsilon", "nan"],
        "epsilon",
    ),
    ("cli-delta-one", ["--count", *CLI_BASE, "--delta", "1"], "delta"),
    ("cli-by-unknown", ["--count", *CLI_BASE, "--by", "nope"], "nope"),
    (
        "cli-unit-unknown",
        ["--count", "--privacy-unit", "nope", "--epsilon", "1"],
        "nope",
    ),
    ("cli-sum-without-bounds", ["--sum", "value", *CLI_BASE], "bounds"),
    (
        "cli-bounds-reversed",
        ["--sum", "value", *CLI_BASE, "--bounds", "5", "1"],
        "bounds",
    ),
    (
        "cli-sum-string-column",
        ["--sum", "page", *CLI_BASE, "--bounds", "0", "1"],
        "page",
    ),
    ("cli-two-queries", ["--count", "--sum", "value", *CLI_BASE], "query"),
    ("cli-no-query", [*CLI_BASE], "query"),
    (
        "cli-max-partitions-zero",
        ["--count", *CLI_BASE, "--max-partitions", "0"],
        "max_partitions_per_user",
    ),
    ("cli-confidence-two", ["--count", *CLI_BASE, "--confidence", "2"], "confidence"),
    ("cli-top-n-zero", ["--top-n", "page", *CLI_BASE, "--n", "0"], "n"),
    (
        "cli-min-threshold-nan",
        ["--count", *CLI_BASE, "--min-threshold", "nan"],
        "min_threshold",
    ),
    ("cli-rows-zero", ["--count", *CLI_BASE, "--rows", "0"], "rows"),
    ("cli-no-privacy-unit", ["--count", "--epsilon", "1"], "privacy_unit"),
    (
        "cli-unit-and-event-level",
        ["--count", *CLI_BASE, "--event-level"],
        "privacy_unit",
    ),
    (
        "cli-budget-epsilon-negative",
        ["--count", *CLI_BASE, "--budget-epsilon", "-1"],
        "budget_epsilon",
    ),
    (
        "cli-budget-delta-one",
        ["--count", *CLI_BASE, "--budget-delta", "1"],
        "budget_delta",
    ),
]


@pytest.mark.parametrize(
    ("argv", "name"), [pytest.param(a, n, id=i) for i, a, n in CLI_CASES]
)
def test_cli_query_bad_input(argv, name, events_file, tmp_path, capsys):
    ledger = tmp_path / "cli.sqlite"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lp.PrivacyWarning)
        code = cli_main(["query", str(events_file), *argv, "--ledger", str(ledger)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: "), err
    assert f"`{name}`" in err or f"'{name}'" in err, err
    assert "Traceback" not in err
    if ledger.exists():
        with lp.Accountant.open(ledger, dataset="default") as acc:
            assert acc.receipts == ()
            assert acc.spent.epsilon == 0


def test_cli_query_bad_suffix(events_file, tmp_path, capsys):
    other = tmp_path / "events.txt"
    other.write_bytes(events_file.read_bytes())
    code = cli_main(["query", str(other), "--count", *CLI_BASE])
    err = capsys.readouterr().err
    assert code == 2
    assert "`file`" in err, err
