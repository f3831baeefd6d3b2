"""Hypothesis: histogram counts and funnel reach equal plain references, bounding bounds,
every public cell is released, public-key matching agrees with the general path."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopkit_privacy as lp
from loopkit_privacy import tables
from loopkit_privacy.audit import strategies as lps
from loopkit_privacy.histogram import match_public
from tests import reference_histogram_funnel as ref
from tests._rng import seeded_rng
from tests.families import to_arrow

SLOW = settings(
    max_examples=max(10, settings.default.max_examples // 4),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
STEPS = ["signup", "activate", "buy"]
COUNTRIES = ["de", "fr", "us"]
EDGES = [-50.0, 0.0, 10.0, 100.0, 500.0]


def _difference(fn, table, key, value, **kwargs):
    """Release minus the same release on the empty table (same seed): the exact statistic."""
    a = to_arrow(fn(table, rng=seeded_rng(3), **kwargs))
    b = to_arrow(fn(table.slice(0, 0), rng=seeded_rng(3), **kwargs))
    assert a.select(key).equals(b.select(key))  # every public cell, in the same order
    rows = zip(*(a[k].to_pylist() for k in key), strict=True)
    diff = np.asarray(a[value]) - np.asarray(b[value])
    return dict(zip(rows, diff.tolist(), strict=True))


@SLOW
@given(
    table=lps.event_tables(max_users=12, max_rows_per_user=6, groups=(*STEPS, "view")),
    days=st.sampled_from([1, 7, 30, 200]),
)
def test_funnel_reach_equals_the_reference(table, days):
    got = _difference(
        lp.funnel, table, ["country", "step_index"], "users", privacy_unit="user_id",
        step="page", steps=STEPS, time="time", within=f"{days}d", by="country",
        public_groups=COUNTRIES, epsilon=1.0,
    )  # fmt: skip
    ticks = np.asarray(table["time"].cast(pa.int64()))
    rows = list(
        zip(table["user_id"].to_pylist(), table["page"].to_pylist(), ticks.tolist(),
            table["country"].to_pylist(), strict=True)
    )  # fmt: skip
    want = ref.funnel_reach(rows, STEPS, days * 86_400 * 10**6)
    for c in COUNTRIES:
        assert [got[(c, j)] for j in range(len(STEPS))] == want.get(c, [0, 0, 0])


@SLOW
@given(
    table=lps.event_tables(max_users=12, max_rows_per_user=6, groups=("a", "b")),
    outside=st.sampled_from(["clip", "drop"]),
)
def test_histogram_equals_the_reference_when_bounds_keep_every_row(table, outside):
    got = _difference(
        lp.aggregate_histogram, table, ["page", "bin"], "count", column="value",
        bins=EDGES, by="page", public_groups=["a", "b"], privacy_unit="user_id",
        max_partitions_per_user=8, max_contributions_per_partition=6,
        outside=outside, epsilon=1.0,
    )  # fmt: skip
    rows = list(
        zip(table["user_id"].to_pylist(), table["page"].to_pylist(),
            table["value"].to_pylist(), strict=True)
    )  # fmt: skip
    want = ref.histogram_counts(rows, EDGES, clip=outside == "clip")
    assert got == {k: want.get(k, 0) for k in got}


@SLOW
@given(
    table=lps.event_tables(max_users=10, max_rows_per_user=8, groups=("a", "b")),
    l0=st.integers(1, 3),
    linf=st.integers(1, 3),
)
def test_histogram_bounding_bounds_each_user(table, l0, linf):
    got = _difference(
        lp.aggregate_histogram, table, ["page", "bin"], "count", column="value",
        bins=EDGES, by="page", public_groups=["a", "b"], privacy_unit="user_id",
        max_partitions_per_user=l0, max_contributions_per_partition=linf, epsilon=1.0,
    )  # fmt: skip
    users = len(set(table["user_id"].to_pylist()))
    rows = list(
        zip(table["user_id"].to_pylist(), table["page"].to_pylist(),
            table["value"].to_pylist(), strict=True)
    )  # fmt: skip
    full = ref.histogram_counts(rows, EDGES, clip=True)
    distinct = ref.histogram_distinct_users(rows, EDGES, clip=True)
    assert sum(got.values()) <= users * l0 * linf
    for cell, count in got.items():
        assert 0 <= count <= min(full.get(cell, 0), distinct.get(cell, 0) * linf)
    # Each user with a value keeps at least one row (L0, L∞ >= 1).
    assert sum(got.values()) >= len({u for u, _, v in rows if v is not None})


_KEY_VALUES = st.sampled_from(["a", "b", "c", "", None])


@settings(deadline=None)
@given(
    values=st.lists(_KEY_VALUES, max_size=40),
    public=st.lists(_KEY_VALUES, min_size=1, max_size=4, unique=True),
    kind=st.sampled_from(["string", "large_string", "dictionary", "int"]),
)
def test_fast_public_matching_agrees_with_the_general_path(values, public, kind):
    if kind == "int":
        code = {"a": 1, "b": 2, "c": 3, "": 0, None: None}
        col = pa.array([code[v] for v in values], pa.int64())
        keys = pa.table({"k": pa.array([code[v] for v in public], pa.int64())})
    else:
        typ = pa.large_string() if kind == "large_string" else pa.string()
        col = pa.array(values, typ)
        if kind == "dictionary":
            col = col.dictionary_encode()
        keys = tables.public_key_table(public, ["k"])
    data = pa.table({"k": col})
    want = tables.match_public_keys(data, ["k"], keys)
    assert match_public(data, ["k"], keys).tolist() == want.tolist()


def _bounded(fn, table, salt=11, **kwargs):
    """The statistic's bounded vector (before noise) under a fixed bounding salt."""
    from loopkit_privacy._release import FixedSalt, request_of

    request = request_of(fn, table, **kwargs)
    plan = request.statistic.plan(request)
    out = request.statistic.bound(plan, FixedSalt(salt))
    return np.asarray(getattr(out, "counts", out), dtype=np.int64).ravel()


@SLOW
@given(
    pair=lps.neighbouring_pairs(
        max_users=10, groups=(*STEPS, "view"), heavy_rows=(50, 400)
    )
)
def test_one_user_moves_the_funnel_levels_by_at_most_one(pair):
    kw = dict(
        privacy_unit="user_id", step="page", steps=STEPS, time="time", within="30d",
        by="country", public_groups=COUNTRIES, epsilon=1.0,
    )  # fmt: skip
    d0, d1 = pair
    diff = np.abs(_bounded(lp.funnel, d0, **kw) - _bounded(lp.funnel, d1, **kw))
    assert diff.sum() <= 1  # L1 = L2 = 1: the sensitivity the noise is calibrated to


@SLOW
@given(
    pair=lps.neighbouring_pairs(max_users=10, groups=("a", "b"), heavy_rows=(50, 400)),
    l0=st.integers(1, 3),
    linf=st.integers(1, 3),
)
def test_one_user_moves_the_histogram_by_at_most_l0_linf(pair, l0, linf):
    kw = dict(
        column="value", bins=EDGES, by="page", public_groups=["a", "b"],
        privacy_unit="user_id", max_partitions_per_user=l0,
        max_contributions_per_partition=linf, epsilon=1.0,
    )  # fmt: skip
    d0, d1 = pair
    diff = np.abs(
        _bounded(lp.aggregate_histogram, d0, **kw)
        - _bounded(lp.aggregate_histogram, d1, **kw)
    )
    assert diff.sum() <= l0 * linf  # L1
    assert diff.max(initial=0) <= linf  # per cell
