"""Contribution bounding and grouping kernels against the naive references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loopkit_privacy import bounding
from loopkit_privacy._kernels import bounding as kb
from loopkit_privacy._kernels import grouping as kg
from loopkit_privacy.bounding import ContributionBounds, bound_and_reduce
from loopkit_privacy.errors import InvalidParameterError
from tests import reference_aggregate as ref
from tests._rng import seeded_rng

SEEDS = range(12)


def _random_codes(gen, n, n_users, n_groups, p_drop=0.1):
    users = gen.integers(0, n_users, size=n).astype(np.int64)
    groups = gen.integers(0, n_groups, size=n).astype(np.int64)
    users[gen.random(n) < p_drop] = -1
    groups[gen.random(n) < p_drop] = -1
    return users, groups


def _kernel_bound(
    users, groups, values, n_users, n_groups, l0, linf, lo, hi, centre, q, salt
):
    rows = np.zeros(n_groups, dtype=np.int64)
    units = np.zeros(n_groups, dtype=np.int64)
    sums = np.zeros(n_groups, dtype=np.int64)
    vals = values if values is not None else np.empty(0, dtype=np.float64)
    dropped = kb.bound_reduce(
        users, groups, vals, np.int64(n_users), np.int64(n_groups), np.int64(l0),
        np.int64(linf), float(lo), float(hi), float(centre), float(q), np.uint64(salt),
        rows, units, sums,
    )  # fmt: skip
    return rows.tolist(), units.tolist(), sums.tolist(), int(dropped)


# ---------------------------------------------------------------------------
# The keyed hash
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_pair_hash_matches_python(seed):
    gen = np.random.default_rng(seed)
    salt = int(gen.integers(0, 2**63)) * 2 + 1
    for user, group in zip(
        gen.integers(0, 2**31, 50), gen.integers(0, 2**31, 50), strict=True
    ):
        got = int(kb.pair_hash(np.uint64(salt), np.int64(user), np.int64(group)))
        assert got == ref.pair_hash(salt, int(user), int(group))


def test_mix_matches_python():
    for x in [0, 1, 2**63 - 1, 12345678901234, 7]:
        assert int(kg.mix64(np.uint64(x))) == ref.mix(x)


# ---------------------------------------------------------------------------
# bound_reduce == reference
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("l0", "linf"), [(1, 1), (1, 3), (2, 1), (3, 2), (5, 4)])
def test_bound_reduce_matches_reference(seed, l0, linf):
    gen = np.random.default_rng(1000 * seed + 10 * l0 + linf)
    n = int(gen.integers(0, 300))
    n_users = int(gen.integers(1, 15))
    n_groups = int(gen.integers(1, 9))
    users, groups = _random_codes(gen, n, n_users, n_groups)
    values = gen.normal(5.0, 20.0, size=n).round(3)
    lo, hi = -3.5, 17.25
    centre = 0.0 if seed % 2 else (lo + hi) / 2
    q = bounding.fixed_point_quantum((lo, hi), centre=centre)
    salt = int(gen.integers(0, 2**63)) * 2 + int(gen.integers(0, 2))
    got = _kernel_bound(
        users, groups, values, n_users, n_groups, l0, linf, lo, hi, centre, q, salt
    )
    want = ref.bound_reduce(
        users, groups, values, n_groups, l0, linf, lo, hi, centre, q, salt
    )
    assert got == tuple(want)


@pytest.mark.parametrize("seed", range(3))
def test_bound_reduce_matches_reference_across_user_buckets(seed):
    # More than 2**11 users: several buckets, user codes far from 0.
    gen = np.random.default_rng(seed)
    n, n_users, n_groups = 20_000, 5_000, 40
    users, groups = _random_codes(gen, n, n_users, n_groups, p_drop=0.05)
    values = gen.uniform(-10, 110, size=n)
    salt = int(gen.integers(0, 2**64, dtype=np.uint64))
    q = bounding.fixed_point_quantum((0.0, 100.0))
    got = _kernel_bound(
        users, groups, values, n_users, n_groups, 3, 2, 0.0, 100.0, 0.0, q, salt
    )
    want = ref.bound_reduce(
        users, groups, values, n_groups, 3, 2, 0.0, 100.0, 0.0, q, salt
    )
    assert got == tuple(want)


def test_bound_reduce_without_values_leaves_sums_zero():
    gen = np.random.default_rng(5)
    users, groups = _random_codes(gen, 200, 10, 6)
    got = _kernel_bound(users, groups, None, 10, 6, 2, 2, 0.0, 0.0, 0.0, 1.0, 99)
    want = ref.bound_reduce(users, groups, None, 6, 2, 2, 0.0, 0.0, 0.0, 1.0, 99)
    assert got == tuple(want)
    assert got[2] == [0] * 6


def test_bound_reduce_empty_and_all_dropped():
    empty = np.empty(0, dtype=np.int64)
    assert _kernel_bound(empty, empty, None, 0, 3, 1, 1, 0, 1, 0, 1, 7) == (
        [0, 0, 0], [0, 0, 0], [0, 0, 0], 0,
    )  # fmt: skip
    minus = np.full(5, -1, dtype=np.int64)
    assert (
        _kernel_bound(minus, np.arange(5) % 3, None, 1, 3, 1, 1, 0, 1, 0, 1, 7)[3] == 0
    )


def test_bound_reduce_single_user_keeps_l0_groups_and_linf_rows():
    # One user in 10 groups, 7 rows each: exactly l0 groups of linf rows remain.
    groups = np.repeat(np.arange(10, dtype=np.int64), 7)
    users = np.zeros(groups.size, dtype=np.int64)
    for salt in range(20):
        rows, units, _, dropped = _kernel_bound(
            users, groups, None, 1, 10, 3, 2, 0, 1, 0, 1, salt
        )
        assert sorted(rows, reverse=True)[:4] == [2, 2, 2, 0]
        assert sum(units) == 3
        assert dropped == 70 - 6


def test_bound_reduce_keeps_first_rows_in_table_order():
    users = np.zeros(5, dtype=np.int64)
    groups = np.zeros(5, dtype=np.int64)
    values = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    _, _, sums, dropped = _kernel_bound(
        users, groups, values, 1, 1, 1, 2, 0.0, 100.0, 0.0, 1.0, 3
    )
    assert sums == [3]
    assert dropped == 3


def test_bound_reduce_choice_depends_only_on_the_users_rows():
    # Adding another user's rows never changes what user 0 keeps.
    gen = np.random.default_rng(11)
    groups0 = gen.integers(0, 20, 60)
    salt = 12345
    alone = ref.kept_rows(np.zeros(60, dtype=np.int64), groups0, 2, 1, salt)
    users = np.concatenate([np.zeros(60, dtype=np.int64), np.ones(40, dtype=np.int64)])
    groups = np.concatenate([groups0, gen.integers(0, 20, 40)]).astype(np.int64)
    mixed = [i for i in ref.kept_rows(users, groups, 2, 1, salt) if i < 60]
    assert alone == mixed
    rows, *_ = _kernel_bound(
        users[:60], groups[:60], None, 1, 20, 2, 1, 0, 1, 0, 1, salt
    )
    assert sum(rows) == len(alone)


def test_bound_reduce_clamps_and_rounds_ties_to_even():
    users = np.arange(6, dtype=np.int64)
    groups = np.zeros(6, dtype=np.int64)
    # q = 1: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2; -7 -> clamp -2; 9 -> clamp 3
    values = np.array([0.5, 1.5, 2.5, -7.0, 9.0, -0.5])
    _, _, sums, _ = _kernel_bound(
        users, groups, values, 6, 1, 1, 1, -2.0, 3.0, 0.0, 1.0, 1
    )
    assert sums == [0 + 2 + 2 - 2 + 3 + 0]


# ---------------------------------------------------------------------------
# reduce_unbounded and the grouping kernels
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_reduce_unbounded_matches_reference(seed):
    gen = np.random.default_rng(seed)
    n, n_groups = int(gen.integers(0, 500)), int(gen.integers(1, 12))
    groups = gen.integers(-1, n_groups, size=n).astype(np.int64)
    values = gen.normal(0, 50, size=n)
    lo, hi = -20.0, 30.0
    centre = 5.0 if seed % 2 else 0.0
    q = bounding.fixed_point_quantum((lo, hi), centre=centre)
    rows = np.zeros(n_groups, dtype=np.int64)
    sums = np.zeros(n_groups, dtype=np.int64)
    kb.reduce_unbounded(groups, values, lo, hi, centre, q, rows, sums)
    want_rows, want_sums = ref.reduce_unbounded(
        groups, values, n_groups, lo, hi, centre, q
    )
    assert rows.tolist() == want_rows
    assert sums.tolist() == want_sums
    assert (
        rows.tolist() == np.bincount(groups[groups >= 0], minlength=n_groups).tolist()
    )


def test_reduce_unbounded_without_values():
    groups = np.array([0, 2, -1, 2], dtype=np.int64)
    rows = np.zeros(3, dtype=np.int64)
    sums = np.zeros(3, dtype=np.int64)
    kb.reduce_unbounded(groups, np.empty(0), 0.0, 1.0, 0.0, 1.0, rows, sums)
    assert rows.tolist() == [1, 0, 2]
    assert sums.tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    "keys",
    [
        np.array([], dtype=np.int64),
        np.array([5, 5, 5], dtype=np.int64),
        np.array([-1, 0, -1, 2**63 - 1, -(2**63), 0], dtype=np.int64),
        np.random.default_rng(0).integers(-50, 50, 1000),
        # > 512 distinct keys: the hash table grows several times
        np.random.default_rng(1).integers(-(2**62), 2**62, 5000),
        np.random.default_rng(2).permutation(3000).repeat(2),
    ],
    ids=["empty", "constant", "extremes", "small-range", "growth", "pairs"],
)
def test_factorize_int64_first_matches_numpy(keys):
    keys = np.ascontiguousarray(keys, dtype=np.int64)
    codes = np.empty(keys.size, dtype=np.int64)
    first = np.empty(keys.size, dtype=np.int64)
    k = int(kg.factorize_int64_first(keys, codes, first))
    want_codes, want_first = ref.factorize_first(keys)
    assert codes.tolist() == want_codes
    assert first[:k].tolist() == want_first
    # numpy twin: np.unique's first indices, re-ranked by first appearance
    uniq, idx, inv = np.unique(keys, return_index=True, return_inverse=True)
    assert k == uniq.size
    rank = np.empty(uniq.size, dtype=np.int64)
    rank[np.argsort(idx, kind="stable")] = np.arange(uniq.size)
    assert np.array_equal(codes, rank[inv.ravel()])
    assert np.array_equal(np.sort(first[:k]), np.sort(idx))


@pytest.mark.parametrize("seed", range(5))
def test_counting_sort_matches_stable_argsort(seed):
    gen = np.random.default_rng(seed)
    n_codes = int(gen.integers(1, 20))
    codes = gen.integers(-1, n_codes, size=int(gen.integers(0, 400))).astype(np.int64)
    order = np.empty(codes.size, dtype=np.int64)
    starts = np.empty(n_codes + 1, dtype=np.int64)
    placed = int(kg.counting_sort(codes, np.int64(n_codes), order, starts))
    kept = np.flatnonzero(codes >= 0)
    want = kept[np.argsort(codes[kept], kind="stable")]
    assert placed == kept.size
    assert order[:placed].tolist() == want.tolist()
    assert starts.tolist() == [
        0,
        *np.cumsum(np.bincount(codes[kept], minlength=n_codes)).tolist(),
    ]
    assert (order[:placed].tolist(), starts.tolist()) == ref.counting_sort(
        codes, n_codes
    )


@pytest.mark.parametrize("seed", range(5))
def test_combine_codes_matches_numpy(seed):
    gen = np.random.default_rng(seed)
    n, na, nb = 300, 7, 11
    a = gen.integers(-1, na, n).astype(np.int64)
    b = gen.integers(-1, nb, n).astype(np.int64)
    out = np.empty(n, dtype=np.int64)
    kg.combine_codes(a, b, np.int64(nb), out)
    want = np.where((a < 0) | (b < 0), -1, a * nb + b)
    assert np.array_equal(out, want)
    assert out.tolist() == ref.combine_codes(a, b, nb)


# ---------------------------------------------------------------------------
# bounding.py: the glue
# ---------------------------------------------------------------------------


def test_contribution_bounds_sensitivities():
    b = ContributionBounds("u", 4, 2, (-3.0, 10.0))
    assert b.count_sensitivity() == (2, 8, 4.0)
    assert b.units_sensitivity() == (1, 4, 2.0)
    assert b.magnitude == 10.0
    assert b.sum_sensitivity() == (20.0, 80.0, 40.0)
    # centred on the midpoint 3.5: max deviation 6.5, plus one quantum
    per, l1, l2 = b.sum_sensitivity(centre=3.5, quantum=0.25)
    assert (per, l1, l2) == (13.5, 54.0, 27.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"privacy_unit": "u", "max_partitions_per_user": 0},
            r"max_partitions_per_user",
        ),
        (
            {"privacy_unit": "u", "max_contributions_per_partition": 0},
            r"max_contributions_per_partition",
        ),
        (
            {"privacy_unit": "u", "max_contributions_per_partition": 2**31 + 1},
            r"2\*\*31",
        ),
        ({"privacy_unit": "u", "max_partitions_per_user": 1.5}, r"integer"),
        ({"privacy_unit": None, "max_partitions_per_user": 2}, r"event-level"),
        ({"privacy_unit": "u", "bounds": (1.0, 1.0)}, r"lo < hi"),
        ({"privacy_unit": "u", "bounds": (2.0, 1.0)}, r"lo < hi"),
        ({"privacy_unit": "u", "bounds": (0.0, math.inf)}, r"finite"),
    ],
)
def test_contribution_bounds_validation(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        ContributionBounds(**kwargs)


def test_sum_sensitivity_needs_bounds():
    with pytest.raises(InvalidParameterError, match=r"bounds=\(lo, hi\)"):
        ContributionBounds("u").sum_sensitivity()
    with pytest.raises(InvalidParameterError, match=r"bounds=\(lo, hi\)"):
        _ = ContributionBounds("u").magnitude


@pytest.mark.parametrize(
    ("bounds", "centre", "want"),
    [
        ((0.0, 100.0), 0.0, 2.0**-23),
        ((0.0, 100.0), 50.0, 2.0**-24),
        ((-1.0, 1.0), 0.0, 2.0**-29),
        ((0.0, 1.0), 0.5, 2.0**-30),
        ((3.0, 3.5), 0.0, 2.0**-28),
        (None, 0.0, 1.0),
    ],
)
def test_fixed_point_quantum(bounds, centre, want):
    q = bounding.fixed_point_quantum(bounds, centre=centre)
    assert q == want
    if bounds is not None:
        m = max(abs(bounds[0] - centre), abs(bounds[1] - centre))
        # a clamped value is at most 2**30 quanta
        assert m / q <= 2**30
        assert m / q >= 2**29


def test_bound_and_reduce_matches_reference_with_the_rngs_salt():
    gen = np.random.default_rng(3)
    users, groups = _random_codes(gen, 400, 30, 8)
    values = gen.uniform(-5, 15, 400)
    b = ContributionBounds("u", 2, 3, (0.0, 10.0))
    agg = bound_and_reduce(users, 30, groups, 8, b, rng=seeded_rng(9), values=values)
    salt = int(seeded_rng(9).words(1)[0])  # the salt is the source's first word
    rows, units, sums, dropped = ref.bound_reduce(
        users, groups, values, 8, 2, 3, 0.0, 10.0, 0.0, agg.quantum, salt
    )
    assert agg.rows.tolist() == rows
    assert agg.units.tolist() == units
    assert agg.sum_units.tolist() == sums
    assert agg.dropped_rows == dropped
    assert agg.quantum == bounding.fixed_point_quantum((0.0, 10.0))


def test_bound_and_reduce_event_level():
    groups = np.array([0, 1, 1, -1, 0, 0], dtype=np.int64)
    values = np.array([1.0, 2.0, 50.0, 3.0, -4.0, 0.25])
    b = ContributionBounds(None, bounds=(0.0, 10.0))
    agg = bound_and_reduce(None, 0, groups, 2, b, rng=seeded_rng(1), values=values)
    assert agg.rows.tolist() == [3, 2]
    assert agg.units.tolist() == [3, 2]
    assert (agg.sum_units * agg.quantum).tolist() == [1.25, 12.0]
    assert agg.dropped_rows == 0


def test_bound_and_reduce_salt_changes_choice_not_totals():
    # One user in 6 groups, L0 = 2: which 2 depends on the salt, how many does not.
    users = np.zeros(6, dtype=np.int64)
    groups = np.arange(6, dtype=np.int64)
    b = ContributionBounds("u", 2, 1)
    chosen = set()
    for seed in range(30):
        agg = bound_and_reduce(users, 1, groups, 6, b, rng=seeded_rng(seed))
        assert agg.rows.sum() == 2
        assert agg.dropped_rows == 4
        chosen.add(tuple(np.flatnonzero(agg.rows)))
    assert len(chosen) > 5


def test_threaded_bounding_equals_the_single_threaded_kernel():
    # Above bounding._PARALLEL_ROWS the buckets are bounded on worker threads
    # into separate totals; the sums must equal one pass of bound_reduce.
    glue = bounding
    n = glue._PARALLEL_ROWS + 12_345
    gen = np.random.default_rng(3)
    users = gen.integers(0, 40_000, n)
    groups = gen.integers(-1, 300, n)
    values = gen.normal(0.0, 10.0, n)
    limits = glue.ContributionBounds("u", 3, 2, (-5.0, 7.0))
    rng_a, rng_b = seeded_rng(11), seeded_rng(11)
    got = glue.bound_and_reduce(
        users, 40_000, groups, 300, limits, rng=rng_a, values=values
    )
    want = [np.zeros(300, dtype=np.int64) for _ in range(3)]
    q = glue.fixed_point_quantum(limits.bounds)
    dropped = kb.bound_reduce(
        users, groups, values, np.int64(40_000), np.int64(300), np.int64(3), np.int64(2),
        -5.0, 7.0, 0.0, q, rng_b.words(1)[0], *want,
    )  # fmt: skip
    assert (got.rows == want[0]).all()
    assert (got.units == want[1]).all()
    assert (got.sum_units == want[2]).all()
    assert got.dropped_rows == dropped
    assert got.rows.sum() > 0


def test_check_sizes_refuses_what_the_kernels_cannot_hold():
    bounding.check_sizes(bounding.MAX_ROWS - 1, bounding.MAX_GROUPS - 1)
    with pytest.raises(InvalidParameterError, match=r"fewer than 2\*\*32 rows"):
        bounding.check_sizes(bounding.MAX_ROWS, 1)
    with pytest.raises(InvalidParameterError, match=r"fewer than 2\*\*31 groups"):
        bounding.check_sizes(1, bounding.MAX_GROUPS)
