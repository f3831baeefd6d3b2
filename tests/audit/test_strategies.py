"""The hypothesis strategies, and assert_dp driven by them."""

from __future__ import annotations

import collections

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopkit_privacy as lp
from loopkit_privacy import audit
from loopkit_privacy.audit import strategies as lps


def _user_rows(table):
    rows = collections.defaultdict(list)
    for r in table.to_pylist():
        rows[r["user_id"]].append((r["page"], r["country"], r["value"], r["time"]))
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lps.neighbouring_pairs())
def test_pairs_differ_in_all_rows_of_one_user(pair):
    d0, d1 = pair
    small, large = (d0, d1) if d0.num_rows < d1.num_rows else (d1, d0)
    # The small table is a prefix of the large one: other users keep order.
    assert large.slice(0, small.num_rows).equals(small)
    extra = large.slice(small.num_rows)
    users = set(extra.column("user_id").to_pylist())
    assert len(users) == 1
    assert not users & set(small.column("user_id").to_pylist())


@settings(max_examples=30, deadline=None)
@given(lps.neighbouring_pairs(heavy_rows=(2000, 2000)), st.data())
def test_heavy_users_appear(pair, data):
    d0, d1 = pair
    diff = abs(d0.num_rows - d1.num_rows)
    assert diff >= 1
    assert diff <= 4 or diff == 2000


@settings(max_examples=20, deadline=None)
@given(lps.event_tables(nulls=True))
def test_event_tables_schema(table):
    assert table.column_names == ["user_id", "page", "country", "value", "time"]
    assert pa.types.is_timestamp(table.schema.field("time").type)


@settings(max_examples=5, deadline=None)
@given(lps.event_tables(family="polars", max_users=3))
def test_event_tables_in_polars(df):
    assert df.columns[0] == "user_id"


@settings(max_examples=30, deadline=None)
@given(lps.pair_values(sensitivity=2.0))
def test_pair_values_are_within_sensitivity(pair):
    a, b = pair
    assert abs(a - b) <= 2.0


# assert_dp inside a hypothesis test: each example is one audit at
# confidence 1 - 1e-6, so this test fails wrongly with probability at most
# 5 x 1e-6.
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lps.neighbouring_pairs(max_users=15))
def test_assert_dp_on_generated_neighbours(pair):
    d0, d1 = pair
    fn = audit.aggregation_trials(
        lp.aggregate_count,
        by="page",
        privacy_unit="user_id",
        epsilon=1.0,
        delta=1e-6,
        max_partitions_per_user=2,
    )
    audit.assert_dp(fn, d0, d1, epsilon=1.0, delta=1e-6, trials=20_000)
