"""The aggregations' partition selection: the mechanism in use and its pre-threshold."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import loopkit_privacy as lp
from tests._rng import seeded_rng


def _pages(sizes):
    """One page per size, with that many users (each user on one page)."""
    users = np.arange(sum(sizes))
    pages = np.repeat([f"p{i:03d}" for i in range(len(sizes))], sizes)
    return pa.table({"user_id": users, "page": pages, "v": np.ones(users.size)})


@pytest.mark.parametrize(
    ("func", "kwargs", "name"),
    [
        (lp.aggregate_count, {"distinct": True}, "truncated_discrete_laplace"),
        (
            lp.aggregate_count,
            {"max_contributions_per_partition": 2},
            "optimal_selection",
        ),
        (lp.aggregate_sum, {"column": "v", "bounds": (0, 1)}, "optimal_selection"),
        (lp.aggregate_average, {"column": "v", "bounds": (0, 1)}, "optimal_selection"),
    ],
)
def test_each_aggregation_uses_the_selection_that_fits_it(func, kwargs, name):
    out = func(_pages([5, 50]), by="page", privacy_unit="user_id", epsilon=1.0,
               delta=1e-6, rng=seeded_rng(1), **kwargs)  # fmt: skip
    info = lp.privacy_info(out)
    assert info.noise[0].statistic == "selection"
    assert info.noise[0].mechanism == name
    # The threshold on the receipt is the selection object's.
    eps = 1.0 if name == "truncated_discrete_laplace" else 0.5
    sel = lp.partition_selection(
        epsilon=eps, delta=1e-6, noisy_counts=name == "truncated_discrete_laplace"
    )
    assert info.selection_threshold == sel.threshold


@pytest.mark.parametrize(
    ("func", "kwargs"),
    [
        (lp.aggregate_count, {}),
        (lp.aggregate_count, {"distinct": True, "mechanism": "gaussian"}),
        (lp.aggregate_sum, {"column": "v", "bounds": (0, 1)}),
        (lp.aggregate_top_n, {"n": 100}),
    ],
)
def test_pre_threshold_never_releases_smaller_groups(func, kwargs):
    # δ = 0.4 would release most small groups; with min_users = 8 no group of
    # fewer than 8 users may appear, and large ones still do.
    sizes = [1, 2, 3, 5, 7] * 20 + [400] * 5
    table = _pages(sizes)
    by = {"column": "page"} if func is lp.aggregate_top_n else {"by": "page"}
    released = set()
    for seed in range(5):
        out = func(table, privacy_unit="user_id", epsilon=1.0, delta=0.4,
                   min_users=8, rng=seeded_rng(seed), **by, **kwargs)  # fmt: skip
        released |= set(out.column("page").to_pylist())
    small = {f"p{i:03d}" for i, n in enumerate(sizes) if n < 8}
    big = {f"p{i:03d}" for i, n in enumerate(sizes) if n >= 400}
    assert not released & small
    assert big <= released


def test_without_a_pre_threshold_small_groups_do_appear_at_large_delta():
    # The counterpart: the same call without min_users releases small groups,
    # so the test above fails if the pre-threshold is not applied.
    table = _pages([1, 2, 3, 5, 7] * 20)
    out = lp.aggregate_count(table, by="page", privacy_unit="user_id",
                             epsilon=1.0, delta=0.4, rng=seeded_rng(0))  # fmt: skip
    assert out.num_rows > 0


@pytest.mark.parametrize("extra", [{"public_groups": ["p000"]}, {"by": None}])
def test_pre_threshold_needs_a_selection(extra):
    kwargs = {"by": "page", **extra}
    with pytest.raises(
        lp.InvalidParameterError, match="`min_users` is the pre-threshold"
    ) as info:
        lp.aggregate_count(_pages([3]), privacy_unit="user_id", epsilon=1.0,
                           delta=1e-6, min_users=5, **kwargs)  # fmt: skip
    assert info.value.parameter == "min_users"


@pytest.mark.parametrize(
    ("func", "kwargs"),
    [
        (lp.aggregate_top_n, {"column": "page", "min_users": 1e300}),
        (lp.aggregate_count, {"by": "page", "min_users": 10**30}),
        (
            lp.aggregate_count,
            {
                "by": "page",
                "min_users": 10**30,
                "distinct": True,
                "mechanism": "gaussian",
            },
        ),
    ],
)
def test_a_huge_pre_threshold_releases_nothing_instead_of_crashing(func, kwargs):
    out = func(_pages([50, 400]), privacy_unit="user_id", epsilon=1.0, delta=1e-6,
               rng=seeded_rng(2), **kwargs)  # fmt: skip
    assert out.num_rows == 0
