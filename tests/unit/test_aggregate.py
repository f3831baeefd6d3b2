"""aggregate_*: families, schemas, grouping, bounding, receipts, budget and errors.

Values are noisy; checks on them use a seeded source and a tolerance of many
noise scales (a false failure would need noise beyond 15 scales, p < 1e-6,
and with a fixed seed the outcome is deterministic anyway).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import loopkit_privacy as lp
from loopkit_privacy._release import EVENT_LEVEL
from loopkit_privacy.accounting import Accountant
from loopkit_privacy.errors import (
    BudgetExceededError,
    ColumnNotFoundError,
    ColumnTypeError,
    InsecureRandomnessError,
    InvalidParameterError,
    NonFiniteValueError,
    SchemaError,
    UnsupportedCompositionError,
)
from loopkit_privacy.loss import ZCDP, ApproxDP, PureDP
from tests._rng import seeded_rng
from tests.families import FAMILIES, FAMILY_TYPE, to_arrow

# ---------------------------------------------------------------------------
# Data and helpers
# ---------------------------------------------------------------------------

SMALL = pa.table(
    {
        "user_id": [1, 1, 1, 2, 2, 3, 4, 5, 5, 6],
        "page": [
            "home",
            "home",
            "docs",
            "home",
            "docs",
            None,
            "docs",
            "home",
            "home",
            "pricing",
        ],
        "country": ["de", "de", "fr", "de", "fr", "de", "fr", "fr", "fr", "de"],
        "minutes": [10.0, 20.0, 5.0, None, 7.5, 3.0, 100.0, 1.0, 2.0, 4.0],
    }
)
PUBLIC = ["pricing", "home", "blog", "docs"]  # deliberately unsorted; "blog" absent


def big_events(per_key=(("docs", 300), ("home", 400), ("pricing", 250)), seed=0):
    """Many users per key (each user one row), shuffled: every key survives selection."""
    gen = np.random.default_rng(seed)
    pages = [k for k, n in per_key for _ in range(n)]
    users = np.arange(len(pages))
    order = gen.permutation(len(pages))
    return pa.table(
        {
            "user_id": users[order],
            "page": [pages[i] for i in order],
            "country": gen.choice(["de", "fr"], size=len(pages)).tolist(),
            "minutes": gen.uniform(0, 50, size=len(pages)).round(2),
        }
    )


@pytest.fixture(params=list(FAMILIES))
def family(request):
    return request.param


def column_names(out):
    if isinstance(out, pa.Table):
        return out.column_names
    if isinstance(out, pl.LazyFrame):
        return out.collect_schema().names()
    return [str(c) for c in out.columns]


def rows_of(out, key="page"):
    t = to_arrow(out)
    return dict(zip(t.column(key).to_pylist(), t.to_pylist(), strict=True))


def parse_cost(text):
    return eval(text, {"PureDP": PureDP, "ApproxDP": ApproxDP, "ZCDP": ZCDP})


def snapshot(acc):
    return (acc.spent, len(acc.receipts))


# function name -> (callable, kwargs, value column, value dtype)
FUNCTIONS = {
    "count": (lp.aggregate_count, {"by": "page"}, "count", "int64"),
    "count_distinct": (
        lp.aggregate_count,
        {"by": "page", "distinct": True},
        "count",
        "int64",
    ),
    "sum": (
        lp.aggregate_sum,
        {"by": "page", "column": "minutes", "bounds": (0, 60)},
        "sum",
        "float64",
    ),
    "average": (
        lp.aggregate_average,
        {"by": "page", "column": "minutes", "bounds": (0, 60)},
        "average",
        "float64",
    ),
    "top_n": (lp.aggregate_top_n, {"column": "page", "n": 5}, "users", "int64"),
}


@pytest.fixture(params=list(FUNCTIONS))
def function(request):
    return request.param


def expected_columns(name):
    _, _, value, _ = FUNCTIONS[name]
    cols = ["page", value, f"{value}_ci_low", f"{value}_ci_high"]
    return [*cols, "rank"] if name == "top_n" else cols


def check_dtypes(out, fam, name):
    _, _, value, vtype = FUNCTIONS[name]
    want = {value: vtype, f"{value}_ci_low": "float64", f"{value}_ci_high": "float64"}
    if name == "top_n":
        want["rank"] = "int64"
    if fam == "arrow":
        got = {
            n: str(out.schema.field(n).type).replace("double", "float64") for n in want
        }
        assert pa.types.is_string(out.schema.field("page").type)
    elif fam in ("polars", "polars_lazy"):
        schema = out.collect_schema() if fam == "polars_lazy" else out.schema
        got = {n: str(schema[n]).lower() for n in want}
        assert schema["page"] == pl.String
    else:
        got = {n: str(out[n].dtype) for n in want}
    assert got == want


# ---------------------------------------------------------------------------
# Every function x every family: same family, documented columns and dtypes
# ---------------------------------------------------------------------------


def test_public_groups_same_family_columns_dtypes(function, family):
    f, kwargs, _, _ = FUNCTIONS[function]
    data = FAMILIES[family](SMALL)
    out = f(
        data,
        privacy_unit="user_id",
        epsilon=1.0,
        public_groups=PUBLIC,
        rng=seeded_rng(7),
        **kwargs,
    )
    assert isinstance(out, FAMILY_TYPE[family])
    cols = column_names(out)
    assert cols == expected_columns(function)
    check_dtypes(out, family, function)
    t = to_arrow(out)
    if function == "top_n":
        assert set(t.column("page").to_pylist()) <= set(PUBLIC)
        assert t.column("rank").to_pylist() == list(range(1, t.num_rows + 1))
    else:
        assert t.column("page").to_pylist() == PUBLIC  # public order, absent included
    info = lp.privacy_info(out)
    assert info.groups == "public"
    assert info.selection_threshold is None
    assert info.privacy_unit == "user_id"
    assert info.cost == PureDP(1.0)


def test_selection_same_family_columns_dtypes(function, family):
    f, kwargs, _, _ = FUNCTIONS[function]
    data = FAMILIES[family](big_events())
    out = f(
        data,
        privacy_unit="user_id",
        epsilon=1.0,
        delta=1e-6,
        rng=seeded_rng(7),
        **kwargs,
    )
    assert isinstance(out, FAMILY_TYPE[family])
    cols = column_names(out)
    assert cols == expected_columns(function)
    check_dtypes(out, family, function)
    t = to_arrow(out)
    if function == "top_n":
        assert t.column("page").to_pylist() == ["home", "docs", "pricing"]
    else:
        assert t.column("page").to_pylist() == ["docs", "home", "pricing"]  # by key
    info = lp.privacy_info(out)
    assert info.groups == "selected"
    assert isinstance(info.selection_threshold, int)
    assert info.selection_threshold > 1


def test_no_by_gives_one_total(family):
    data = FAMILIES[family](SMALL)
    out = lp.aggregate_count(
        data, privacy_unit="user_id", epsilon=1.0, rng=seeded_rng(7)
    )
    t = to_arrow(out)
    assert t.column_names == ["count", "count_ci_low", "count_ci_high"]
    assert t.num_rows == 1
    assert lp.privacy_info(out).groups == "total"
    out = lp.aggregate_average(
        data,
        column="minutes",
        bounds=(0, 60),
        privacy_unit="user_id",
        epsilon=1.0,
        rng=seeded_rng(7),
    )
    assert to_arrow(out).column_names == [
        "average",
        "average_ci_low",
        "average_ci_high",
    ]


# ---------------------------------------------------------------------------
# Values: bounding, grouping, nulls (high epsilon, wide tolerance)
# ---------------------------------------------------------------------------

EPS = 5.0  # discrete Laplace scale 0.2 per unit of sensitivity


def _truth(fn, **kwargs):
    """The exact statistic behind a seeded release, per group.

    With public groups the noise a release draws depends only on public inputs
    (the groups, the bounds, ε and the seed), so the same call on the empty
    table draws the same noise: the difference of the two releases is exactly
    the bounded statistic the release was computed from.
    """
    released = to_arrow(fn(SMALL, rng=seeded_rng(7), **kwargs))
    col = released.column_names[1]  # the statistic, after the key column
    noisy = rows_of(released)
    noise = rows_of(fn(SMALL.slice(0, 0), rng=seeded_rng(7), **kwargs))
    return {k: noisy[k][col] - noise[k][col] for k in noisy}


def test_count_is_bounded_row_count():
    # L0 = 2 covers every user's public groups, so bounding is deterministic;
    # L∞ = 1 keeps one of user 1's and one of user 5's two "home" rows.
    got = _truth(
        lp.aggregate_count, by="page", privacy_unit="user_id", epsilon=EPS,
        public_groups=PUBLIC, max_partitions_per_user=2,
        max_contributions_per_partition=1,
    )  # fmt: skip
    assert got == {"pricing": 1, "home": 3, "blog": 0, "docs": 3}


def test_count_keeps_at_most_l0_groups_per_user():
    # Users 1 and 2 visit both "home" and "docs"; with L0 = 1 each keeps one
    # of them (chosen by a keyed hash), so the distinct-user counts add up to
    # the 5 users with a public group, not to the 7 (user, group) pairs.
    common = dict(
        by="page", privacy_unit="user_id", epsilon=EPS, public_groups=PUBLIC,
        max_contributions_per_partition=5, distinct=True,
    )  # fmt: skip
    one = _truth(lp.aggregate_count, max_partitions_per_user=1, **common)
    two = _truth(lp.aggregate_count, max_partitions_per_user=2, **common)
    assert two == {"pricing": 1, "home": 3, "blog": 0, "docs": 3}
    assert sum(one.values()) == 5
    assert all(one[k] <= two[k] for k in two)
    assert (one["pricing"], one["blog"]) == (1, 0)


def test_heavy_user_is_bounded_by_linf():
    heavy = pa.table({"user_id": [9] * 10_000 + [1, 2], "page": ["a"] * 10_002})
    for linf in (1, 3):
        out = lp.aggregate_count(
            heavy, by="page", privacy_unit="user_id", epsilon=EPS, public_groups=["a"],
            max_contributions_per_partition=linf, rng=seeded_rng(7),
        )  # fmt: skip
        assert (
            abs(to_arrow(out).column("count")[0].as_py() - (linf + 2))
            <= 15 * linf / EPS
        )


def test_distinct_counts_users():
    common = dict(
        by="page", privacy_unit="user_id", epsilon=EPS, public_groups=["home", "docs"],
        max_partitions_per_user=2, max_contributions_per_partition=5,
    )  # fmt: skip
    # Users 1, 2, 5 visited "home" (5 rows); users 1, 2, 4 "docs" (3 rows).
    assert _truth(lp.aggregate_count, distinct=True, **common) == {"home": 3, "docs": 3}
    assert _truth(lp.aggregate_count, distinct=False, **common) == {
        "home": 5,
        "docs": 3,
    }


def test_sum_clamps_values():
    common = dict(
        by="page", column="minutes", privacy_unit="user_id", epsilon=EPS,
        public_groups=["docs", "home"], max_partitions_per_user=2,
        max_contributions_per_partition=2,
    )  # fmt: skip
    got = _truth(lp.aggregate_sum, bounds=(0, 15), **common)
    # 100 and 20 are clamped to 15; the null is dropped.
    assert got == {"docs": 5.0 + 7.5 + 15.0, "home": 10.0 + 15.0 + 1.0 + 2.0}
    wide = _truth(lp.aggregate_sum, bounds=(0, 150), **common)
    assert wide == {"docs": 5.0 + 7.5 + 100.0, "home": 10.0 + 20.0 + 1.0 + 2.0}


def test_null_keys_are_their_own_group():
    t = pa.table({"user_id": list(range(300)), "page": [None] * 200 + ["a"] * 100})
    out = lp.aggregate_count(
        t, by="page", privacy_unit="user_id", epsilon=EPS, delta=1e-6, rng=seeded_rng(7)
    )
    got = to_arrow(out)
    assert got.column("page").to_pylist() == ["a", None]  # sorted, nulls last
    assert abs(got.column("count")[1].as_py() - 200) <= 15 / EPS
    out = lp.aggregate_count(
        t,
        by="page",
        privacy_unit="user_id",
        epsilon=EPS,
        public_groups=[None, "a"],
        rng=seeded_rng(7),
    )
    got = to_arrow(out)
    assert got.column("page").to_pylist() == [None, "a"]
    assert abs(got.column("count")[0].as_py() - 200) <= 15 / EPS


def test_nulls_in_value_column_are_dropped_before_bounding():
    # User 1's first row has a null value; with L∞ = 1 the next row must count.
    with_null = pa.table(
        {"user_id": [2, 1, 1, 3], "page": ["a"] * 4, "minutes": [4.0, None, 8.0, 2.0]}
    )
    without = with_null.filter(pa.array([True, False, True, True]))
    kwargs = dict(
        by="page", column="minutes", bounds=(0, 10), privacy_unit="user_id",
        epsilon=1.0, public_groups=["a"],
    )  # fmt: skip
    a = lp.aggregate_sum(with_null, rng=seeded_rng(3), **kwargs)
    b = lp.aggregate_sum(without, rng=seeded_rng(3), **kwargs)
    assert to_arrow(a).to_pydict() == to_arrow(b).to_pydict()
    out = lp.aggregate_sum(with_null, rng=seeded_rng(7), **{**kwargs, "epsilon": EPS})
    assert abs(to_arrow(out).column("sum")[0].as_py() - 14.0) <= 15 * 10 / EPS


def test_group_by_two_columns_public(family):
    data = FAMILIES[family](SMALL)
    groups = [("home", "de"), ("docs", "fr"), ("blog", "de"), (None, "de")]
    out = lp.aggregate_count(
        data, by=["page", "country"], privacy_unit="user_id", epsilon=EPS,
        public_groups=groups, max_partitions_per_user=3, rng=seeded_rng(7),
    )  # fmt: skip
    t = to_arrow(out)
    assert t.column_names[:2] == ["page", "country"]
    assert (
        list(
            zip(
                t.column("page").to_pylist(),
                t.column("country").to_pylist(),
                strict=True,
            )
        )
        == groups
    )
    want = [2, 3, 0, 1]  # home/de: users 1, 2; docs/fr: 1, 2, 4; null/de: 3
    for got, w in zip(t.column("count").to_pylist(), want, strict=True):
        assert abs(got - w) <= 15 * 3 / EPS


def test_group_by_two_columns_selection_sorted():
    t = big_events()
    out = lp.aggregate_count(
        t,
        by=["page", "country"],
        privacy_unit="user_id",
        epsilon=1.0,
        delta=1e-6,
        rng=seeded_rng(7),
    )
    got = to_arrow(out)
    keys = list(
        zip(
            got.column("page").to_pylist(),
            got.column("country").to_pylist(),
            strict=True,
        )
    )
    assert keys == sorted(keys)
    assert set(keys) == {
        (p, c) for p in ("docs", "home", "pricing") for c in ("de", "fr")
    }


def test_selection_results_sorted_by_key_not_by_appearance():
    keys = [f"k{i:02d}" for i in range(20)]
    per_key = tuple((k, 200) for k in reversed(keys))
    out = lp.aggregate_count(
        big_events(per_key, seed=4),
        by="page",
        privacy_unit="user_id",
        epsilon=1.0,
        delta=1e-6,
        rng=seeded_rng(7),
    )
    assert to_arrow(out).column("page").to_pylist() == keys


def test_selection_drops_rare_groups_and_never_invents_keys():
    t = pa.concat_tables(
        [
            big_events(),
            pa.table(
                {
                    "user_id": [10_000],
                    "page": ["rare"],
                    "country": ["de"],
                    "minutes": [1.0],
                }
            ),
        ]
    )
    out = lp.aggregate_count(
        t, by="page", privacy_unit="user_id", epsilon=1.0, delta=1e-6, rng=seeded_rng(7)
    )
    assert to_arrow(out).column("page").to_pylist() == ["docs", "home", "pricing"]


def test_public_groups_release_exactly_those_groups():
    out = lp.aggregate_sum(
        big_events(), by="page", column="minutes", bounds=(0, 50), privacy_unit="user_id",
        epsilon=1.0, public_groups=["zzz", "home"], rng=seeded_rng(7),
    )  # fmt: skip
    assert to_arrow(out).column("page").to_pylist() == ["zzz", "home"]


def test_public_groups_as_arrow_table():
    groups = pa.table({"page": ["docs", "nope"]})
    out = lp.aggregate_count(
        SMALL,
        by="page",
        privacy_unit="user_id",
        epsilon=1.0,
        public_groups=groups,
        rng=seeded_rng(7),
    )
    assert to_arrow(out).column("page").to_pylist() == ["docs", "nope"]


def test_min_threshold_applies_to_noisy_values():
    t = big_events((("a", 5), ("b", 100), ("c", 300)))
    out = lp.aggregate_count(
        t, by="page", privacy_unit="user_id", epsilon=1.0, public_groups=["a", "b", "c", "d"],
        min_threshold=50, rng=seeded_rng(7),
    )  # fmt: skip
    got = to_arrow(out)
    assert got.column("page").to_pylist() == ["b", "c"]
    assert min(got.column("count").to_pylist()) >= 50


def test_average_min_threshold_uses_noisy_row_count():
    t = big_events((("a", 5), ("b", 300)))
    out = lp.aggregate_average(
        t, by="page", column="minutes", bounds=(0, 50), privacy_unit="user_id",
        epsilon=1.0, public_groups=["a", "b"], min_threshold=100, rng=seeded_rng(7),
    )  # fmt: skip
    assert to_arrow(out).column("page").to_pylist() == ["b"]


def test_average_and_interval_within_bounds():
    out = lp.aggregate_average(
        SMALL, by="page", column="minutes", bounds=(2, 12), privacy_unit="user_id",
        epsilon=0.1, public_groups=PUBLIC, rng=seeded_rng(7),
    )  # fmt: skip
    t = to_arrow(out)
    for r in t.to_pylist():
        assert 2 <= r["average_ci_low"] <= r["average"] <= r["average_ci_high"] <= 12
    # "blog" has no rows: with little noise its average sits at the midpoint or clamps
    assert (
        t.column("average_ci_low")[2].as_py()
        <= 7
        <= t.column("average_ci_high")[2].as_py()
    )


@pytest.mark.parametrize("mechanism", ["laplace", "gaussian"])
def test_interval_is_value_plus_minus_accuracy(mechanism):
    out = lp.aggregate_sum(
        SMALL, by="page", column="minutes", bounds=(0, 60), privacy_unit="user_id",
        epsilon=1.0, delta=1e-6, mechanism=mechanism, public_groups=PUBLIC, rng=seeded_rng(7),
    )  # fmt: skip
    t = to_arrow(out)
    widths = {round(r["sum_ci_high"] - r["sum_ci_low"], 9) for r in t.to_pylist()}
    assert len(widths) == 1
    for r in t.to_pylist():
        assert r["sum_ci_high"] - r["sum"] == pytest.approx(r["sum"] - r["sum_ci_low"])
    narrow = lp.aggregate_sum(
        SMALL, by="page", column="minutes", bounds=(0, 60), privacy_unit="user_id",
        epsilon=1.0, delta=1e-6, mechanism=mechanism, public_groups=PUBLIC,
        confidence=0.5, rng=seeded_rng(7),
    )  # fmt: skip
    t2 = to_arrow(narrow)
    assert (
        t2.column("sum_ci_high")[0].as_py() - t2.column("sum_ci_low")[0].as_py()
    ) < widths.pop()
    assert lp.privacy_info(narrow).confidence == 0.5


def test_top_n_ranks_by_noisy_users_and_cuts_at_n():
    t = big_events((("a", 50), ("b", 400), ("c", 200), ("d", 300)))
    out = lp.aggregate_top_n(
        t,
        column="page",
        n=2,
        privacy_unit="user_id",
        epsilon=1.0,
        delta=1e-6,
        rng=seeded_rng(7),
    )
    got = to_arrow(out)
    assert got.column("page").to_pylist() == ["b", "d"]
    assert got.column("rank").to_pylist() == [1, 2]
    users = got.column("users").to_pylist()
    assert users == sorted(users, reverse=True)


def test_top_n_min_users():
    t = big_events((("a", 50), ("b", 400), ("c", 200)))
    out = lp.aggregate_top_n(
        t, column="page", n=5, min_users=100, privacy_unit="user_id", epsilon=1.0,
        public_groups=["a", "b", "c", "d"], rng=seeded_rng(7),
    )  # fmt: skip
    assert to_arrow(out).column("page").to_pylist() == ["b", "c"]


def test_top_n_ties_do_not_depend_on_row_order():
    # Keys appear in the table in reverse order ("c" first). At epsilon=5 the
    # noise is 0 with probability 0.99, so the equal true counts tie. The tie
    # must be broken by something public (the key), not by which key happens
    # to appear first in the data: a user's rows can change that order.
    t = big_events((("c", 100), ("b", 100), ("a", 100)), seed=0)
    t = t.sort_by([("page", "descending")])
    ties = 0
    for seed in range(5):
        out = lp.aggregate_top_n(
            t,
            column="page",
            n=3,
            privacy_unit="user_id",
            epsilon=5.0,
            delta=1e-6,
            rng=seeded_rng(seed),
        )
        got = to_arrow(out).to_pylist()
        for first, second in itertools.pairwise(got):
            if first["users"] == second["users"]:
                ties += 1
                assert first["page"] < second["page"], got
    assert ties > 0


# ---------------------------------------------------------------------------
# Event level, receipts, privacy_info, accountant
# ---------------------------------------------------------------------------


def test_event_level_counts_rows_and_is_on_the_receipt():
    acc = Accountant(epsilon=2.0)
    out = lp.aggregate_count(
        SMALL, by="page", privacy_unit=None, epsilon=EPS / 5, public_groups=["home"],
        accountant=acc, rng=seeded_rng(7),
    )  # fmt: skip
    info = lp.privacy_info(out)
    assert info.privacy_unit is None
    assert info.max_partitions_per_user == 1
    assert info.max_contributions_per_partition == 1
    (receipt,) = acc.receipts
    assert receipt.privacy_unit == EVENT_LEVEL
    hot = lp.aggregate_count(
        SMALL,
        by="page",
        privacy_unit=None,
        epsilon=EPS,
        public_groups=["home"],
        rng=seeded_rng(7),
    )
    assert (
        abs(to_arrow(hot).column("count")[0].as_py() - 5) <= 15 / EPS
    )  # 5 rows, not 3 users


def test_privacy_unit_is_a_required_keyword():
    with pytest.raises(TypeError, match=r"privacy_unit"):
        lp.aggregate_count(SMALL, by="page", epsilon=1.0, public_groups=["home"])
    with pytest.raises(TypeError, match=r"positional argument"):
        lp.aggregate_count(SMALL, "page", privacy_unit="user_id", epsilon=1.0)


@pytest.mark.parametrize("selection", [False, True])
def test_accountant_charged_exactly_once_with_the_stated_cost(
    function, family, selection
):
    f, kwargs, _, _ = FUNCTIONS[function]
    acc = Accountant(epsilon=10.0, delta=1e-3)
    extra = {"delta": 1e-6} if selection else {"public_groups": PUBLIC}
    data = FAMILIES[family](big_events() if selection else SMALL)
    out = f(
        data,
        privacy_unit="user_id",
        epsilon=1.0,
        accountant=acc,
        rng=seeded_rng(7),
        label="q1",
        **extra,
        **kwargs,
    )
    info = lp.privacy_info(out)
    (receipt,) = acc.receipts
    stated = info.cost
    assert receipt.cost == stated
    assert info.receipt == receipt.id
    assert receipt.label == "q1"
    assert receipt.insecure is True
    assert receipt.privacy_unit == "user_id"
    assert acc.spent.epsilon == pytest.approx(stated.epsilon, rel=1e-12)
    assert getattr(acc.spent, "delta", 0.0) == pytest.approx(
        getattr(stated, "delta", 0.0), rel=1e-12
    )
    # never more than what was asked for
    assert stated.epsilon <= 1.0
    assert getattr(stated, "delta", 0.0) <= (1e-6 if selection else 0.0)


@pytest.mark.parametrize(
    ("call", "want"),
    [
        (dict(delta=1e-6), ApproxDP(1.0, 1e-6)),
        (dict(public_groups=["home"]), PureDP(1.0)),
        (
            dict(public_groups=["home"], delta=1e-6, mechanism="gaussian"),
            ApproxDP(1.0, 1e-6),
        ),
        (dict(delta=1e-6, mechanism="gaussian"), ApproxDP(1.0, 1e-6)),
        # Laplace needs no delta for the counts: selection gets all of it.
        (dict(delta=1e-6, max_contributions_per_partition=3), ApproxDP(1.0, 1e-6)),
    ],
)
def test_stated_costs(call, want):
    out = lp.aggregate_count(
        big_events(),
        by="page",
        privacy_unit="user_id",
        epsilon=1.0,
        rng=seeded_rng(7),
        **call,
    )
    assert lp.privacy_info(out).cost == want


def test_rho_cost_and_zcdp_accountant():
    acc = Accountant(rho=1.0, accounting="zcdp")
    out = lp.aggregate_sum(
        SMALL, by="page", column="minutes", bounds=(0, 60), privacy_unit="user_id",
        rho=0.25, mechanism="gaussian", public_groups=PUBLIC, accountant=acc, rng=seeded_rng(7),
    )  # fmt: skip
    assert lp.privacy_info(out).cost == lp.ZCDP(0.25)
    assert acc.spent == ZCDP(0.25)
    basic = Accountant(epsilon=1.0, delta=1e-6)
    with pytest.raises(
        UnsupportedCompositionError, match=r"accounting='basic' cannot compose ZCDP"
    ):
        lp.aggregate_count(
            SMALL, by="page", privacy_unit="user_id", rho=0.25, mechanism="gaussian",
            public_groups=PUBLIC, accountant=basic, rng=seeded_rng(7),
        )  # fmt: skip
    assert basic.spent.epsilon == 0.0
    assert basic.receipts == ()


def test_budget_refusal_charges_nothing():
    acc = Accountant(epsilon=1.0, delta=1e-6)
    lp.aggregate_count(
        SMALL,
        by="page",
        privacy_unit="user_id",
        epsilon=0.75,
        public_groups=PUBLIC,
        accountant=acc,
        rng=seeded_rng(7),
    )
    before = snapshot(acc)
    with pytest.raises(BudgetExceededError, match=r"nothing was spent"):
        lp.aggregate_count(
            SMALL,
            by="page",
            privacy_unit="user_id",
            epsilon=0.5,
            public_groups=PUBLIC,
            accountant=acc,
            rng=seeded_rng(7),
        )
    with pytest.raises(
        BudgetExceededError, match=r"needs ApproxDP\(epsilon=0.1, delta=1e-05\)"
    ):
        lp.aggregate_count(
            big_events(),
            by="page",
            privacy_unit="user_id",
            epsilon=0.1,
            delta=1e-5,
            accountant=acc,
            rng=seeded_rng(7),
        )
    assert snapshot(acc) == before
    assert len(acc.receipts) == 1


def test_secure_and_insecure_are_marked():
    acc = Accountant(epsilon=2.0)
    secure = lp.aggregate_count(
        SMALL,
        by="page",
        privacy_unit="user_id",
        epsilon=0.5,
        public_groups=PUBLIC,
        accountant=acc,
    )
    seeded = lp.aggregate_count(
        SMALL,
        by="page",
        privacy_unit="user_id",
        epsilon=0.5,
        public_groups=PUBLIC,
        accountant=acc,
        rng=seeded_rng(7),
    )
    assert lp.privacy_info(secure).insecure is False
    assert lp.privacy_info(seeded).insecure is True
    assert [r.insecure for r in acc.receipts] == [False, True]


def test_accountant_refusing_insecure_randomness_charges_nothing():
    acc = Accountant(epsilon=2.0, allow_insecure=False)
    with pytest.raises(InsecureRandomnessError, match=r"allow_insecure=False"):
        lp.aggregate_count(
            SMALL,
            by="page",
            privacy_unit="user_id",
            epsilon=0.5,
            public_groups=PUBLIC,
            accountant=acc,
            rng=seeded_rng(7),
        )
    assert acc.spent.epsilon == 0.0
    assert acc.receipts == ()
    lp.aggregate_count(
        SMALL,
        by="page",
        privacy_unit="user_id",
        epsilon=0.5,
        public_groups=PUBLIC,
        accountant=acc,
    )
    assert len(acc.receipts) == 1


def test_privacy_info_contents_and_refusal():
    out = lp.aggregate_sum(
        SMALL, by="page", column="minutes", bounds=(0, 60), privacy_unit="user_id",
        epsilon=1.0, public_groups=PUBLIC, max_partitions_per_user=2,
        max_contributions_per_partition=3, rng=seeded_rng(7),
    )  # fmt: skip
    info = lp.privacy_info(out)
    assert info.receipt is None
    assert info.bounds == (0.0, 60.0)
    assert info.max_partitions_per_user == 2
    assert info.max_contributions_per_partition == 3
    assert info.confidence == 0.95
    assert any(m.mechanism == "LaplaceMechanism" for m in info.noise)
    for not_result in (SMALL, pl.from_arrow(SMALL), SMALL.to_pandas()):
        with pytest.raises(
            InvalidParameterError, match=r"carries no privacy information"
        ):
            lp.privacy_info(not_result)


# ---------------------------------------------------------------------------
# Empty tables
# ---------------------------------------------------------------------------


def test_empty_table_public_groups_and_selection(function, family):
    f, kwargs, _, _ = FUNCTIONS[function]
    empty = FAMILIES[family](SMALL.slice(0, 0))
    acc = Accountant(epsilon=10.0, delta=1e-3)
    out = f(
        empty,
        privacy_unit="user_id",
        epsilon=1.0,
        public_groups=["home", "docs"],
        accountant=acc,
        rng=seeded_rng(7),
        **kwargs,
    )
    assert isinstance(out, FAMILY_TYPE[family])
    t = to_arrow(out)
    if function == "top_n":
        assert set(t.column("page").to_pylist()) <= {"home", "docs"}
    else:
        assert t.column("page").to_pylist() == ["home", "docs"]
    out = f(
        empty,
        privacy_unit="user_id",
        epsilon=1.0,
        delta=1e-6,
        accountant=acc,
        rng=seeded_rng(7),
        **kwargs,
    )
    assert isinstance(out, FAMILY_TYPE[family])
    assert to_arrow(out).num_rows == 0
    cols = column_names(out)
    assert cols == expected_columns(function)
    assert len(acc.receipts) == 2  # both charged


def test_empty_table_total():
    out = lp.aggregate_count(
        SMALL.slice(0, 0), privacy_unit="user_id", epsilon=1.0, rng=seeded_rng(7)
    )
    assert to_arrow(out).num_rows == 1


def test_empty_pandas_table_without_type_information():
    # An empty pandas frame built from lists has object columns, which Arrow
    # reads as type null. It is still a valid (empty) table.
    empty = pd.DataFrame(
        {"user_id": pd.Series([], dtype="int64"), "page": pd.Series([], dtype=object)}
    )
    out = lp.aggregate_count(
        empty,
        by="page",
        privacy_unit="user_id",
        epsilon=1.0,
        public_groups=["home", "docs"],
        rng=seeded_rng(7),
    )
    assert out["page"].tolist() == ["home", "docs"]


# ---------------------------------------------------------------------------
# Bad input: a clear error and nothing charged
# ---------------------------------------------------------------------------

NULL_UNIT = SMALL.set_column(0, "user_id", pa.array([1, None, 1, 2, 2, 3, 4, 5, 5, 6]))
TEXT_VALUE = SMALL.append_column("label", pa.array(["x"] * 10))
NAN_VALUE = SMALL.set_column(3, "minutes", pa.array([1.0, float("nan")] + [1.0] * 8))
INF_VALUE = SMALL.set_column(3, "minutes", pa.array([1.0] * 9 + [float("inf")]))

BAD_CALLS = [
    (
        "unknown by",
        lp.aggregate_count,
        SMALL,
        dict(by="nope", public_groups=["a"]),
        ColumnNotFoundError,
        r"'nope'.*available columns: 'user_id', 'page', 'country', 'minutes'",
    ),
    (
        "unknown unit",
        lp.aggregate_count,
        SMALL,
        dict(by="page", privacy_unit="uid", public_groups=["a"]),
        ColumnNotFoundError,
        r"'uid'.*available columns",
    ),
    (
        "unknown value",
        lp.aggregate_sum,
        SMALL,
        dict(column="secs", bounds=(0, 1)),
        ColumnNotFoundError,
        r"'secs'.*available columns",
    ),
    (
        "unknown top-n column",
        lp.aggregate_top_n,
        SMALL,
        dict(column="feature", public_groups=["a"]),
        ColumnNotFoundError,
        r"'feature'",
    ),
    (
        "null unit",
        lp.aggregate_count,
        NULL_UNIT,
        dict(by="page", public_groups=["a"]),
        SchemaError,
        r"privacy-unit column 'user_id' has nulls; every row",
    ),
    (
        "text values",
        lp.aggregate_sum,
        TEXT_VALUE,
        dict(column="label", bounds=(0, 1)),
        ColumnTypeError,
        r"value column 'label' must be numeric",
    ),
    (
        "text values avg",
        lp.aggregate_average,
        TEXT_VALUE,
        dict(column="label", bounds=(0, 1)),
        ColumnTypeError,
        r"must be numeric",
    ),
    (
        "nan",
        lp.aggregate_sum,
        NAN_VALUE,
        dict(column="minutes", bounds=(0, 1)),
        NonFiniteValueError,
        r"value column 'minutes' contains NaN or infinite values; drop",
    ),
    (
        "inf",
        lp.aggregate_average,
        INF_VALUE,
        dict(column="minutes", bounds=(0, 1)),
        NonFiniteValueError,
        r"value column 'minutes' contains NaN or infinite values; drop",
    ),
    (
        "lo == hi",
        lp.aggregate_sum,
        SMALL,
        dict(column="minutes", bounds=(1, 1)),
        InvalidParameterError,
        r"lo < hi",
    ),
    (
        "lo > hi",
        lp.aggregate_average,
        SMALL,
        dict(column="minutes", bounds=(5, 1)),
        InvalidParameterError,
        r"lo < hi",
    ),
    (
        "infinite bound",
        lp.aggregate_sum,
        SMALL,
        dict(column="minutes", bounds=(0, math.inf)),
        InvalidParameterError,
        r"finite",
    ),
    (
        "no bounds",
        lp.aggregate_sum,
        SMALL,
        dict(column="minutes", bounds=None),
        InvalidParameterError,
        r"`bounds` is required",
    ),
    (
        "n = 0",
        lp.aggregate_top_n,
        SMALL,
        dict(column="page", n=0, public_groups=["a"]),
        InvalidParameterError,
        r"`n` must be an integer >= 1",
    ),
    (
        "n = -3",
        lp.aggregate_top_n,
        SMALL,
        dict(column="page", n=-3, public_groups=["a"]),
        InvalidParameterError,
        r"`n` must be",
    ),
    (
        "epsilon 0",
        lp.aggregate_count,
        SMALL,
        dict(epsilon=0.0),
        InvalidParameterError,
        r"`epsilon` must be a finite number > 0",
    ),
    (
        "epsilon < 0",
        lp.aggregate_sum,
        SMALL,
        dict(epsilon=-1.0, column="minutes", bounds=(0, 1)),
        InvalidParameterError,
        r"`epsilon` must be",
    ),
    (
        "epsilon nan",
        lp.aggregate_count,
        SMALL,
        dict(epsilon=math.nan),
        InvalidParameterError,
        r"`epsilon` must be",
    ),
    (
        "epsilon missing",
        lp.aggregate_count,
        SMALL,
        dict(epsilon=None),
        InvalidParameterError,
        r"`epsilon` is required",
    ),
    (
        "selection needs delta",
        lp.aggregate_count,
        SMALL,
        dict(by="page"),
        InvalidParameterError,
        r"partition selection.*`delta`",
    ),
    (
        "selection needs delta (sum)",
        lp.aggregate_sum,
        SMALL,
        dict(by="page", column="minutes", bounds=(0, 1)),
        InvalidParameterError,
        r"costs `delta`",
    ),
    (
        "selection needs delta (top-n)",
        lp.aggregate_top_n,
        SMALL,
        dict(column="page"),
        InvalidParameterError,
        r"costs `delta`",
    ),
    (
        "selection with rho",
        lp.aggregate_count,
        SMALL,
        dict(by="page", epsilon=None, rho=0.5, mechanism="gaussian"),
        InvalidParameterError,
        r"with `rho` pass `public_groups",
    ),
    (
        "delta 1",
        lp.aggregate_count,
        SMALL,
        dict(by="page", delta=1.0),
        InvalidParameterError,
        r"delta",
    ),
    (
        "gaussian without delta",
        lp.aggregate_count,
        SMALL,
        dict(mechanism="gaussian"),
        InvalidParameterError,
        r"mechanism='gaussian' needs `delta`",
    ),
    (
        "rho with laplace",
        lp.aggregate_count,
        SMALL,
        dict(epsilon=None, rho=0.5),
        InvalidParameterError,
        r"needs mechanism='gaussian'",
    ),
    (
        "rho and epsilon",
        lp.aggregate_count,
        SMALL,
        dict(rho=0.5, mechanism="gaussian"),
        InvalidParameterError,
        r"not both",
    ),
    (
        "unknown mechanism",
        lp.aggregate_count,
        SMALL,
        dict(mechanism="exponential"),
        InvalidParameterError,
        r"`mechanism` must be",
    ),
    (
        "public without by",
        lp.aggregate_count,
        SMALL,
        dict(public_groups=["a"]),
        InvalidParameterError,
        r"`public_groups` needs `by=`",
    ),
    (
        "duplicate public",
        lp.aggregate_count,
        SMALL,
        dict(by="page", public_groups=["a", "a"]),
        InvalidParameterError,
        r"duplicates",
    ),
    (
        "public wrong type",
        lp.aggregate_count,
        SMALL,
        dict(by="user_id", privacy_unit="country", public_groups=["x"]),
        InvalidParameterError,
        r"`public_groups` has values of type string for column 'user_id'",
    ),
    (
        "public not tuples",
        lp.aggregate_count,
        SMALL,
        dict(by=["page", "country"], public_groups=["home"]),
        InvalidParameterError,
        r"must hold tuples of 2 values",
    ),
    (
        "unit is a key",
        lp.aggregate_count,
        SMALL,
        dict(by=["page", "user_id"], public_groups=[("a", 1)]),
        InvalidParameterError,
        r"cannot also be a group key",
    ),
    (
        "L0 = 0",
        lp.aggregate_count,
        SMALL,
        dict(by="page", public_groups=["a"], max_partitions_per_user=0),
        InvalidParameterError,
        r"max_partitions_per_user",
    ),
    (
        "Linf = 0",
        lp.aggregate_count,
        SMALL,
        dict(by="page", public_groups=["a"], max_contributions_per_partition=0),
        InvalidParameterError,
        r"max_contributions_per_partition",
    ),
    (
        "confidence 1",
        lp.aggregate_count,
        SMALL,
        dict(confidence=1.0),
        InvalidParameterError,
        r"confidence",
    ),
    (
        "min_threshold nan",
        lp.aggregate_count,
        SMALL,
        dict(min_threshold=math.nan),
        InvalidParameterError,
        r"min_threshold",
    ),
    (
        "rng int",
        lp.aggregate_count,
        SMALL,
        dict(rng=42),
        InsecureRandomnessError,
        r"`rng` must be",
    ),
    (
        "by not str",
        lp.aggregate_count,
        SMALL,
        dict(by=["page", 3], public_groups=[("a", 1)]),
        InvalidParameterError,
        r"`by` must name columns",
    ),
    (
        "not a table",
        lp.aggregate_count,
        {"user_id": [1]},
        dict(),
        ColumnTypeError,
        r"`table` must be a pyarrow.Table",
    ),
]


# pandas reads NaN in a numpy float column as a missing value (a null, dropped),
# so the NaN case runs for the Arrow and polars families only.
BAD_CASES = [
    pytest.param(fam, *case[1:], id=f"{fam}-{case[0]}")
    for fam in ("arrow", "polars_lazy", "pandas")
    for case in BAD_CALLS
    if not (fam == "pandas" and case[2] is NAN_VALUE)
]


@pytest.mark.parametrize(("fam", "f", "table", "kwargs", "error", "match"), BAD_CASES)
def test_bad_input_raises_and_charges_nothing(fam, f, table, kwargs, error, match):
    acc = Accountant(epsilon=10.0, delta=1e-3)
    lp.aggregate_count(
        SMALL, privacy_unit="user_id", epsilon=0.5, accountant=acc, rng=seeded_rng(7)
    )
    before = snapshot(acc)
    call = {"privacy_unit": "user_id", "epsilon": 1.0, "accountant": acc, **kwargs}
    if "rng" not in kwargs:
        call["rng"] = seeded_rng(7)
    data = FAMILIES[fam](table) if isinstance(table, pa.Table) else table
    with pytest.raises(error, match=match):
        f(data, **call)
    assert snapshot(acc) == before


def test_error_classes_subclass_builtins():
    with pytest.raises(ValueError, match=r"column 'nope' is not in the table"):
        lp.aggregate_count(
            SMALL, by="nope", privacy_unit="user_id", epsilon=1.0, public_groups=["a"]
        )
    with pytest.raises(TypeError, match=r"value column 'label' must be numeric"):
        lp.aggregate_sum(
            TEXT_VALUE,
            column="label",
            bounds=(0, 1),
            privacy_unit="user_id",
            epsilon=1.0,
        )


# ---------------------------------------------------------------------------
# Typed release information
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_return_info_gives_the_typed_info_beside_the_table(family):
    acc = Accountant(epsilon=5.0, delta=1e-5)
    out, info = lp.aggregate_sum(
        FAMILIES[family](SMALL), column="minutes", bounds=(0, 60), by="page",
        privacy_unit="user_id", epsilon=1.0, delta=1e-6, public_groups=PUBLIC,
        max_partitions_per_user=2, accountant=acc, rng=seeded_rng(7), return_info=True,
    )  # fmt: skip
    assert isinstance(info, lp.ReleaseInfo)
    assert info == lp.privacy_info(out)
    assert info.release == "aggregate_sum"
    assert info.cost == acc.receipts[0].cost
    assert info.receipt == acc.receipts[0].id
    assert info.bounds == (0.0, 60.0)
    assert info.max_partitions_per_user == 2
    (noise,) = info.noise
    assert noise.statistic == "sum"
    assert noise.scale > 0
    assert lp.ReleaseInfo.from_dict(info.to_dict()) == info


def test_polars_drops_the_info_on_a_transformation_but_return_info_keeps_it():
    out, info = lp.aggregate_count(
        pl.from_arrow(SMALL), by="page", privacy_unit="user_id", epsilon=1.0,
        public_groups=PUBLIC, rng=seeded_rng(7), return_info=True,
    )  # fmt: skip
    with pytest.raises(InvalidParameterError, match=r"`result` carries no privacy"):
        lp.privacy_info(out.filter(pl.col("count") > -1e9))
    assert info.groups == "public"


def test_cohort_info_is_the_same_type():
    _, info = lp.cohort_retention(
        pa.table({"user_id": [1, 2], "t": pa.array([0, 40], pa.date32())}),
        privacy_unit="user_id", time="t", start="1970-01-01", end="1970-03-01",
        n_periods=2, epsilon=1.0, rng=seeded_rng(7), return_info=True,
    )  # fmt: skip
    assert isinstance(info, lp.ReleaseInfo)
    assert info.release == "cohort_retention"
    assert info.parameters["max_active_periods"] == 2  # every period, by default
    assert info.parameters["l1_sensitivity"] == 3  # the size and two periods
    assert info.noise[0].statistic == "cells"


def test_return_info_must_be_a_bool_and_is_checked_before_spending():
    acc = Accountant(epsilon=1.0)
    with pytest.raises(InvalidParameterError, match=r"`return_info` must be True"):
        lp.aggregate_count(
            SMALL, privacy_unit="user_id", epsilon=1.0, accountant=acc,
            return_info="yes",
        )  # fmt: skip
    assert acc.receipts == ()
