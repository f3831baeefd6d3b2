"""aggregate_quantiles: bounding into histograms, the noisy tree, the exact release.

Exact comparisons use a seeded source: the release's noise is the
mechanism's own sampler on the same word stream (the salt word first, then
one draw for every node of every released group), so a plain-Python
reference of the tree, the prefix sums and the crossing rule must give the
same numbers to the last bit.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

import loopkit_privacy as lp
from loopkit_privacy import quantiles as qmod
from loopkit_privacy._kernels import quantiles as kq
from loopkit_privacy._release import FixedSalt, request_of
from loopkit_privacy.accounting import Accountant
from loopkit_privacy.bounding import ContributionBounds, bound_and_reduce
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.loss import ApproxDP, PureDP
from tests import reference_aggregate as ref
from tests._rng import seeded_rng
from tests.families import FAMILIES, FAMILY_TYPE, to_arrow

GEN = np.random.default_rng(11)
N_ROWS = 400
EVENTS = pa.table(
    {
        "user_id": GEN.integers(0, 60, N_ROWS),
        "page": np.array(["home", "docs", "blog"])[GEN.integers(0, 3, N_ROWS)],
        "ms": np.round(GEN.exponential(30.0, N_ROWS), 3),
    }
)
PUBLIC = ["home", "docs", "blog", "absent"]
EPS = 1.0


# ---------------------------------------------------------------------------
# Plain references
# ---------------------------------------------------------------------------


def ref_bin(v, lo, hi, bins):
    v = min(max(v, lo), hi)
    return min(bins - 1, max(0, math.floor((v - lo) / (hi - lo) * bins)))


def ref_histograms(units, codes, values, *, n_groups, l0, linf, lo, hi, bins, salt):
    """Per group code, the bin counts of the rows the bounding rule keeps."""
    kept = ref.kept_rows(list(units), list(codes), l0, linf, salt)
    hist = [[0] * bins for _ in range(n_groups)]
    for i in kept:
        hist[codes[i]][ref_bin(float(values[i]), lo, hi, bins)] += 1
    return hist


def ref_histograms_of(table, *, groups, l0, linf, lo, hi, bins, salt):
    """``ref_histograms`` of a table: units coded by first appearance (as the library)."""
    users = table["user_id"].to_pylist()
    first = {u: i for i, u in reversed(list(enumerate(dict.fromkeys(users))))}
    units = [first[u] for u in users]
    codes = [groups.index(p) if p in groups else -1 for p in table["page"].to_pylist()]
    return ref_histograms(
        units, codes, table["ms"].to_pylist(), n_groups=len(groups), l0=l0,
        linf=linf, lo=lo, hi=hi, bins=bins, salt=salt,
    )  # fmt: skip


def ref_tree(leaves, radices):
    """Levels top first: each node the sum of its leaves."""
    levels = []
    size = len(leaves)
    for k in range(len(radices)):
        width = math.prod(radices[: k + 1])
        span = size // width
        levels.append([sum(leaves[i * span : (i + 1) * span]) for i in range(width)])
    return levels


def ref_prefix(levels, radices, t):
    """Noisy count of the first t leaves from the canonical (aligned, left) nodes."""
    total_leaves = math.prod(radices)
    start, acc = 0, 0
    for k in range(len(radices)):
        span = total_leaves // math.prod(radices[: k + 1])
        while start + span <= t:
            acc += levels[k][start // span]
            start += span
    return acc


def ref_quantile_bins(levels, radices, q, c):
    """Estimate, low and high bins; ``c`` the margins per bin (low end: c[j],
    high end: the largest margin from j on)."""
    b = math.prod(radices)
    total = sum(levels[0])
    f = [ref_prefix(levels, radices, j + 1) - q * total for j in range(b - 1)]
    f.append(total - q * total)
    down = list(itertools.accumulate(f, max))
    up = list(itertools.accumulate(f[::-1], min))[::-1]
    mid = [(u + d) / 2 for u, d in zip(up, down, strict=True)]

    c_high = [max(c[j:]) for j in range(b)]

    def first(arr, thr):
        return next((j for j, x in enumerate(arr) if x >= thr[j]), b - 1)

    low = first(down, [-x for x in c])
    return first(mid, [0.0] * b), low, first(up, c_high)


# ---------------------------------------------------------------------------
# Grid and tree shape
# ---------------------------------------------------------------------------


def test_radices_are_the_cheapest_tree_shape():
    # Brute force over every ordered factorisation into powers of two.
    def shapes(bits):
        if bits == 0:
            yield ()
            return
        for first in range(1, bits + 1):
            for rest in shapes(bits - first):
                yield (first, *rest)

    def cost(radices):
        top, *lower = radices
        return len(radices) ** 2 * (top / 4 + sum(r - 1 for r in lower))

    for bits in range(4, 13):
        r = qmod.radices_for(1 << bits)
        assert math.prod(r) == 1 << bits
        best = min(cost(tuple(1 << p for p in s)) for s in shapes(bits))
        assert cost(r) == best
    assert qmod.radices_for(1024) == (64, 16)


def test_bin_of_matches_reference_including_edges():
    lo, hi, bins = -3.0, 5.0, 64
    for v in [-10.0, -3.0, -2.875, 0.0, 4.999, 5.0, 9.0, *GEN.uniform(-4, 6, 200)]:
        assert kq.bin_of(float(v), lo, hi, np.int64(bins)) == ref_bin(v, lo, hi, bins)


def test_tree_levels_matches_reference():
    leaves = GEN.integers(0, 9, size=(3, 256)).astype(np.int64)
    radices = (16, 16)
    out = np.empty((3, 16 + 256), dtype=np.int64)
    kq.tree_levels(leaves, np.array(radices, dtype=np.int64), out)
    for r in range(3):
        expect = [x for level in ref_tree(list(leaves[r]), radices) for x in level]
        assert out[r].tolist() == expect


# ---------------------------------------------------------------------------
# Bounding
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("l0", "linf"), [(1, 1), (2, 1), (1, 3), (3, 2)])
@pytest.mark.parametrize("salt", [1, 2**63 + 5])
def test_histogram_keeps_the_rows_of_the_bounding_rule(l0, linf, salt):
    req = request_of(
        lp.aggregate_quantiles, EVENTS, column="ms", bounds=(0.0, 100.0), by="page",
        bins=64, privacy_unit="user_id", epsilon=EPS, public_groups=PUBLIC,
        max_partitions_per_user=l0, max_contributions_per_partition=linf,
    )  # fmt: skip
    stat = req.statistic
    plan = stat.plan(req)
    got = stat.bound(plan, FixedSalt(salt))
    inp = plan.inp
    expect = ref_histograms(
        inp.units, inp.groups, inp.values, n_groups=len(PUBLIC), l0=l0, linf=linf,
        lo=0.0, hi=100.0, bins=64, salt=salt,
    )  # fmt: skip
    assert expect == ref_histograms_of(
        EVENTS, groups=PUBLIC, l0=l0, linf=linf, lo=0.0, hi=100.0, bins=64, salt=salt
    )
    assert got.a.reshape(len(PUBLIC), 64).tolist() == expect
    # Rows and distinct units are those of the aggregations' bounding.
    agg = bound_and_reduce(
        plan.inp.units, plan.inp.n_units, plan.inp.groups, len(PUBLIC), plan.bounds,
        rng=FixedSalt(salt), values=plan.inp.values,
    )  # fmt: skip
    assert got.rows.tolist() == agg.rows.tolist()
    assert got.units.tolist() == agg.units.tolist()


def test_threaded_bounding_equals_single_threaded(monkeypatch):
    gen = np.random.default_rng(3)
    n = 60_000
    t = pa.table(
        {
            "user_id": gen.integers(0, 20_000, n),
            "page": np.array(["a", "b", "c"])[gen.integers(0, 3, n)],
            "ms": gen.uniform(0, 10, n),
        }
    )
    kwargs = dict(
        column="ms", bounds=(0.0, 10.0), by="page", bins=16, privacy_unit="user_id",
        epsilon=EPS, public_groups=["a", "b", "c"], max_partitions_per_user=2,
    )  # fmt: skip
    req = request_of(lp.aggregate_quantiles, t, **kwargs)
    plan = req.statistic.plan(req)
    monkeypatch.setattr(qmod, "_PARALLEL_ROWS", 1)
    threaded = req.statistic.bound(plan, FixedSalt(9))
    monkeypatch.setattr(qmod, "_PARALLEL_ROWS", 1 << 40)
    single = req.statistic.bound(plan, FixedSalt(9))
    assert threaded.a.tolist() == single.a.tolist()
    assert threaded.units.tolist() == single.units.tolist()


# ---------------------------------------------------------------------------
# The exact release
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bins", "mechanism"), [(64, "laplace"), (256, "gaussian"), (1024, "laplace")]
)
def test_release_equals_plain_reference(bins, mechanism):
    qs = [0.1, 0.5, 0.9]
    lo, hi = 0.0, 100.0
    extra = {"delta": 1e-6} if mechanism == "gaussian" else {}
    out = lp.aggregate_quantiles(
        EVENTS, column="ms", quantiles=qs, bounds=(lo, hi), by="page", bins=bins,
        privacy_unit="user_id", epsilon=EPS, mechanism=mechanism, public_groups=PUBLIC,
        max_partitions_per_user=2, method="tree", rng=seeded_rng(7), **extra,
    )  # fmt: skip
    radices = qmod.radices_for(bins)
    levels = len(radices)
    # The documented calibration: L1 = L0·L∞·levels, L2 = √(L0·levels)·L∞.
    if mechanism == "laplace":
        tree = lp.GeometricMechanism(sensitivity=2 * levels, epsilon=EPS)
    else:
        # A vector release: L2 over 2·levels coordinates (zCDP calibration).
        tree = lp.DiscreteGaussianMechanism(
            sensitivity=math.sqrt(2 * levels), epsilon=EPS, delta=1e-6,
            dimension=2 * levels,
        )  # fmt: skip
    src = seeded_rng(7)
    salt = int(src.words(1)[0])
    hist = ref_histograms_of(
        EVENTS, groups=PUBLIC, l0=2, linf=1, lo=lo, hi=hi, bins=bins, salt=salt
    )
    n_nodes = sum(math.prod(radices[: k + 1]) for k in range(levels))
    noise = tree._sample(len(PUBLIC) * n_nodes, src).reshape(len(PUBLIC), n_nodes)
    margins = qmod.tree_margins(tree, radices, qs, 0.95)
    width = (hi - lo) / bins
    expect = []
    for g, page in enumerate(PUBLIC):
        flat = [x for level in ref_tree(hist[g], radices) for x in level]
        noisy = [int(a + z) for a, z in zip(flat, noise[g], strict=True)]
        noisy_levels, pos = [], 0
        for k in range(levels):
            w = math.prod(radices[: k + 1])
            noisy_levels.append(noisy[pos : pos + w])
            pos += w
        prev = 0
        for k, q in enumerate(qs):
            e, a, b = ref_quantile_bins(noisy_levels, radices, q, list(margins[k]))
            # Monotone across quantiles: the running maximum, interval widened.
            prev = e = max(e, prev)
            b = max(b, e)
            expect.append(
                (
                    page,
                    q,
                    min(hi, lo + (e + 0.5) * width),
                    lo + a * width,
                    min(hi, lo + (b + 1) * width),
                )
            )
    got = [tuple(r.values()) for r in out.to_pylist()]
    assert got == expect
    info = lp.privacy_info(out)
    assert info.noise[0].scale == tree.scale


def test_more_quantiles_cost_nothing_more_and_share_the_noise():
    common = dict(
        column="ms", bounds=(0.0, 100.0), by="page", privacy_unit="user_id",
        epsilon=EPS, public_groups=PUBLIC, method="tree",
    )  # fmt: skip
    one = lp.aggregate_quantiles(EVENTS, quantiles=[0.5], rng=seeded_rng(1), **common)
    many = lp.aggregate_quantiles(
        EVENTS, quantiles=[0.05, 0.25, 0.5, 0.75, 0.99], rng=seeded_rng(1), **common
    )
    assert lp.privacy_info(one).cost == lp.privacy_info(many).cost == PureDP(EPS)
    medians = many.filter(pa.compute.equal(many["quantile"], 0.5))
    assert medians["value"].to_pylist() == one["value"].to_pylist()


def test_quantiles_are_monotone_and_inside_their_intervals():
    out = lp.aggregate_quantiles(
        EVENTS, column="ms", quantiles=[0.01, 0.2, 0.5, 0.8, 0.99], bounds=(0, 100),
        by="page", privacy_unit="user_id", epsilon=0.05, public_groups=PUBLIC,
        rng=seeded_rng(2),
    )  # fmt: skip
    rows = out.to_pylist()
    for page in PUBLIC:
        mine = [r for r in rows if r["page"] == page]
        values = [r["value"] for r in mine]
        assert values == sorted(values)
        for r in mine:
            assert 0 <= r["value_ci_low"] <= r["value"] <= r["value_ci_high"] <= 100


def test_noise_scale_follows_l0_linf_and_levels():
    for l0, linf, bins in [(1, 1, 16), (3, 2, 1024), (2, 5, 4096)]:
        out, info = lp.aggregate_quantiles(
            EVENTS, column="ms", bounds=(0, 100), by="page", bins=bins,
            privacy_unit="user_id", epsilon=0.5, public_groups=PUBLIC,
            max_partitions_per_user=l0, max_contributions_per_partition=linf,
            method="tree", rng=seeded_rng(0), return_info=True,
        )  # fmt: skip
        levels = len(qmod.radices_for(bins))
        assert info.noise[0].scale == l0 * linf * levels / 0.5
        assert out.num_rows == 2 * len(PUBLIC)


def test_public_groups_cap_l0():
    _, info = lp.aggregate_quantiles(
        EVENTS, column="ms", bounds=(0, 100), by="page", bins=16,
        privacy_unit="user_id", epsilon=1.0, public_groups=["home"],
        max_partitions_per_user=5, method="tree", rng=seeded_rng(0), return_info=True,
    )  # fmt: skip
    assert info.max_partitions_per_user == 1
    assert info.noise[0].scale == 1.0


# ---------------------------------------------------------------------------
# Margins: the Chernoff bound against the exact tail
# ---------------------------------------------------------------------------


def _dlap_pmf(b, support):
    p = math.exp(-1.0 / b)
    k = np.arange(-support, support + 1)
    return (1 - p) / (1 + p) * p ** np.abs(k)


def ref_prefix_nodes(radices, t):
    """How many canonical nodes the prefix of t leaves uses (top, lower)."""
    total_leaves = math.prod(radices)
    start, top, lower = 0, 0, 0
    for k in range(len(radices)):
        span = total_leaves // math.prod(radices[: k + 1])
        while start + span <= t:
            start += span
            if k == 0:
                top += 1
            else:
                lower += 1
    return top, lower


@pytest.mark.parametrize("bins", [16, 64, 1024])
def test_margin_covers_the_exact_tail_and_is_not_loose(bins):
    # At q = 0 every node with a nonzero weight has weight 1, so the error at
    # bin j is an integer sum of discrete Laplace noises, one per canonical
    # node of the prefix, whose exact tail is a convolution of pmfs.
    m = lp.GeometricMechanism(sensitivity=2, epsilon=1.0)
    radices = qmod.radices_for(bins)
    confidence = 0.9
    c = qmod.tree_margins(m, radices, [0.0], confidence)[0]
    assert c.shape == (bins,)
    beta = (1 - confidence) / 2
    one = _dlap_pmf(m.scale, 400)
    for j in sorted({0, 1, bins // 3, bins // 2, bins - 2, bins - 1}):
        top, lower = ref_prefix_nodes(radices, j + 1)
        pmf = one
        for _ in range(top + lower - 1):
            pmf = np.convolve(pmf, one)
        k = np.arange(pmf.size) - (pmf.size - 1) // 2
        assert pmf[k > c[j]].sum() <= beta, j
        # Chernoff's bound lacks the tail's polynomial factor: about
        # sqrt(2 ln(1/β)) / z_β ≈ 1.4-1.6 times the exact margin for many
        # terms, up to about 1.8 times for one or two.
        exact = k[np.flatnonzero(np.cumsum(pmf[::-1])[::-1] <= beta)[0]]
        assert c[j] <= 1.8 * exact + 1, (j, c[j], exact)


def test_digit_counts_are_the_canonical_prefix_nodes():
    for radices in [(16,), (64, 16), (32, 16, 16)]:
        top, lower = qmod._digit_counts(radices)
        b = math.prod(radices)
        for j in sorted({0, 1, 15, 16, 17, b // 2, b - 2, b - 1} & set(range(b))):
            assert (top[j], lower[j]) == ref_prefix_nodes(radices, j + 1), (radices, j)


def test_gaussian_margin_is_subgaussian_bound():
    m = lp.DiscreteGaussianMechanism(sensitivity=1, rho=0.5)
    c = qmod.tree_margins(m, (16,), [0.5], 0.95)[0]
    # One level, q = 1/2: every bin's error has 16 terms of weight 1/2.
    assert np.ptp(c) < 1e-9 * c[0]
    c = c[0]
    sigma = m._dg.sigma
    var = sigma**2 * 16 * 0.25
    assert c == pytest.approx(math.sqrt(2 * var * math.log(2 / 0.05)), rel=1e-8)
    # At least the exact Gaussian quantile of the same variance.
    assert c >= stats.norm.ppf(1 - 0.025) * math.sqrt(var)


# ---------------------------------------------------------------------------
# Groups, budget, families, empty input
# ---------------------------------------------------------------------------


def test_partition_selection_costs_epsilon_delta_and_releases_only_data_keys():
    acc = Accountant(epsilon=5.0, delta=1e-3)
    out = lp.aggregate_quantiles(
        EVENTS, column="ms", bounds=(0, 100), by="page", privacy_unit="user_id",
        epsilon=1.0, delta=1e-6, accountant=acc, method="tree", rng=seeded_rng(4),
    )  # fmt: skip
    info = lp.privacy_info(out)
    assert info.cost == ApproxDP(1.0, 1e-6)
    assert acc.spent == ApproxDP(1.0, 1e-6)
    assert info.groups == "selected"
    assert info.selection_threshold is not None
    assert set(out["page"].to_pylist()) <= {"home", "docs", "blog"}
    # Half of ε selects the groups, the other half is the tree's.
    levels = len(qmod.radices_for(qmod.DEFAULT_BINS))
    assert info.noise[1].scale == 1 * 1 * levels / 0.5


def test_selection_needs_delta():
    with pytest.raises(InvalidParameterError, match=r"delta"):
        lp.aggregate_quantiles(
            EVENTS, column="ms", bounds=(0, 100), by="page", privacy_unit="user_id",
            epsilon=1.0,
        )  # fmt: skip


def test_empty_table_gives_noisy_answers_for_public_groups():
    out = lp.aggregate_quantiles(
        EVENTS.slice(0, 0), column="ms", bounds=(0, 100), by="page",
        privacy_unit="user_id", epsilon=1.0, public_groups=PUBLIC, rng=seeded_rng(5),
    )  # fmt: skip
    assert out.num_rows == 2 * len(PUBLIC)
    assert all(0 <= v <= 100 for v in out["value"].to_pylist())


def test_total_without_by():
    out = lp.aggregate_quantiles(
        EVENTS, column="ms", quantiles=0.5, bounds=(0, 100), privacy_unit="user_id",
        epsilon=1.0, rng=seeded_rng(5),
    )  # fmt: skip
    assert out.column_names == ["quantile", "value", "value_ci_low", "value_ci_high"]
    assert out["quantile"].to_pylist() == [0.5]
    assert lp.privacy_info(out).groups == "total"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_families_in_and_out(family):
    out = lp.aggregate_quantiles(
        FAMILIES[family](EVENTS), column="ms", bounds=(0, 100), by="page",
        privacy_unit="user_id", epsilon=1.0, public_groups=PUBLIC, rng=seeded_rng(6),
    )  # fmt: skip
    assert isinstance(out, FAMILY_TYPE[family])
    base = lp.aggregate_quantiles(
        EVENTS, column="ms", bounds=(0, 100), by="page", privacy_unit="user_id",
        epsilon=1.0, public_groups=PUBLIC, rng=seeded_rng(6),
    )  # fmt: skip
    assert to_arrow(out).to_pylist() == base.to_pylist()


def test_event_level_counts_every_row():
    req = request_of(
        lp.aggregate_quantiles, EVENTS, column="ms", bounds=(0.0, 100.0), bins=16,
        privacy_unit=None, epsilon=1.0,
    )  # fmt: skip
    plan = req.statistic.plan(req)
    got = req.statistic.bound(plan, FixedSalt(1))
    vals = EVENTS["ms"].to_pylist()
    expect = [0] * 16
    for v in vals:
        expect[ref_bin(v, 0.0, 100.0, 16)] += 1
    assert got.a.tolist() == expect


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"quantiles": [0.5, 1.5]}, r"`quantiles` must lie in \[0, 1\]"),
        ({"quantiles": [-0.1]}, r"`quantiles` must lie in \[0, 1\]"),
        ({"quantiles": [0.9, 0.5]}, r"`quantiles` must be strictly increasing"),
        ({"quantiles": [0.5, 0.5]}, r"`quantiles` must be strictly increasing"),
        ({"quantiles": []}, r"`quantiles` must hold at least one"),
        ({"quantiles": "0.5"}, r"`quantiles` must be a list"),
        ({"quantiles": [float("nan")]}, r"`quantiles` must lie in"),
        ({"bounds": (5, 5)}, r"bounds"),
        ({"bounds": (10, 0)}, r"bounds"),
        ({"bounds": None}, r"`bounds` is required"),
        ({"bins": 1000}, r"`bins` must be a power of two"),
        ({"bins": 8}, r"`bins` must be a power of two"),
        ({"bins": True}, r"`bins` must be a power of two"),
    ],
)
def test_bad_arguments_raise_and_spend_nothing(kwargs, match):
    acc = Accountant(epsilon=10.0, delta=1e-3)
    base = dict(
        column="ms", bounds=(0, 100), by="page", privacy_unit="user_id",
        epsilon=1.0, public_groups=PUBLIC, accountant=acc,
    )  # fmt: skip
    with pytest.raises(InvalidParameterError, match=match) as err:
        lp.aggregate_quantiles(EVENTS, **{**base, **kwargs})
    assert err.value.parameter in ("quantiles", "bounds", "bins")
    assert acc.spent.epsilon == 0
    assert len(acc.receipts) == 0


def test_contribution_bounds_object_is_recorded():
    _, info = lp.aggregate_quantiles(
        EVENTS, column="ms", bounds=(0, 100), by="page", privacy_unit="user_id",
        epsilon=1.0, public_groups=PUBLIC, max_contributions_per_partition=3,
        rng=seeded_rng(0), return_info=True,
    )  # fmt: skip
    assert info.bounds == (0.0, 100.0)
    assert info.max_contributions_per_partition == 3
    assert isinstance(ContributionBounds(privacy_unit="u"), ContributionBounds)


# ---------------------------------------------------------------------------
# method="exponential" (the default): estimates by the exponential mechanism
# ---------------------------------------------------------------------------


def ref_scores(hist, q):
    """-dist(q·N, [C(j-1), C(j)]) per bin, in plain Python."""
    n = sum(hist)
    out, c = [], 0
    for h in hist:
        prev, c = c, c + h
        t = q * n
        out.append(-max(prev - t, 0.0, t - c))
    return out


def test_em_scores_match_reference_and_peak_at_the_quantile_bin():
    hist = GEN.integers(0, 5, size=(3, 64))
    qs = [0.0, 0.3, 0.5, 0.95, 1.0]
    got = qmod.em_scores(hist, qs)
    for g in range(3):
        for k, q in enumerate(qs):
            assert got[g, k].tolist() == ref_scores(hist[g].tolist(), q)
            assert got[g, k].max() == 0.0


@pytest.mark.parametrize("q", [0.05, 0.5, 0.9])
def test_em_scores_move_by_at_most_their_sensitivity(q):
    # One more unit with up to L∞ values in the group moves every score by at
    # most max(q, 1 - q)·L∞ (the sensitivity the mechanism is built with).
    linf = 3
    em = qmod.em_for(1.0, ContributionBounds("u", 2, linf, (0.0, 1.0)), [q])[0]
    gen = np.random.default_rng(4)
    for _ in range(200):
        hist = gen.integers(0, 6, size=(1, 32))
        extra = np.zeros_like(hist)
        for b in gen.integers(0, 32, size=gen.integers(1, linf + 1)):
            extra[0, b] += 1
        d = np.abs(qmod.em_scores(hist + extra, [q]) - qmod.em_scores(hist, [q]))
        assert d.max() <= max(q, 1 - q) * linf + 1e-9
        assert em.sensitivity >= max(q, 1 - q) * linf


def test_em_budget_split_and_cost():
    bounds = ContributionBounds("u", 4, 2, (0.0, 1.0))
    ems = qmod.em_for(0.6, bounds, [0.25, 0.5, 0.99])
    assert [m.cost for m in ems] == [PureDP(0.6 / 12)] * 3
    assert [m.sensitivity / 2 for m in ems] == pytest.approx([0.75, 0.5, 0.99])
    _, info = lp.aggregate_quantiles(
        EVENTS, column="ms", quantiles=[0.25, 0.5], bounds=(0, 100), by="page",
        privacy_unit="user_id", epsilon=0.8, public_groups=PUBLIC,
        rng=seeded_rng(0), return_info=True,
    )  # fmt: skip
    assert info.cost == PureDP(0.8)
    # The tree (intervals) gets the quarter of ε the estimates do not.
    levels = len(qmod.radices_for(qmod.DEFAULT_BINS))
    assert info.noise[0].scale == pytest.approx(levels / (0.8 * (1 - qmod.EM_SHARE)))


def test_em_release_equals_reference():
    qs = [0.2, 0.5, 0.9]
    bins, lo, hi = 64, 0.0, 100.0
    out = lp.aggregate_quantiles(
        EVENTS, column="ms", quantiles=qs, bounds=(lo, hi), by="page", bins=bins,
        privacy_unit="user_id", epsilon=EPS, public_groups=PUBLIC, rng=seeded_rng(9),
    )  # fmt: skip
    src = seeded_rng(9)
    salt = int(src.words(1)[0])
    hist = ref_histograms_of(
        EVENTS, groups=PUBLIC, l0=1, linf=1, lo=lo, hi=hi, bins=bins, salt=salt
    )
    tree = lp.GeometricMechanism(sensitivity=1, epsilon=EPS * (1 - qmod.EM_SHARE))
    radices = qmod.radices_for(bins)
    n_nodes = sum(math.prod(radices[: k + 1]) for k in range(len(radices)))
    noise = tree._sample(len(PUBLIC) * n_nodes, src).reshape(len(PUBLIC), n_nodes)
    margins = qmod.tree_margins(tree, radices, qs, 0.95)
    # The estimates: each quantile's mechanism, its own integer weights of the
    # reference scores, drawn after the tree's noise from the same stream.
    ems = [
        lp.ExponentialMechanism(
            sensitivity=max(q, 1 - q) * (1 + 2**-40), epsilon=EPS * qmod.EM_SHARE / 3
        )
        for q in qs
    ]
    weights = np.array(
        [
            ems[k]._weights(ref_scores(hist[g], q))
            for g in range(4)
            for k, q in enumerate(qs)
        ]
    )
    est_all = qmod.select_exact(weights, ems[0]._grid_bits, src).reshape(4, 3)
    width = (hi - lo) / bins
    expect = []
    for g, page in enumerate(PUBLIC):
        flat = [x for level in ref_tree(hist[g], radices) for x in level]
        levels = [flat[:64]] if len(radices) == 1 else None
        assert levels is not None  # 64 bins: one level
        noisy = [[int(a + z) for a, z in zip(flat, noise[g], strict=True)]]
        prev = 0
        for k, q in enumerate(qs):
            _, a, b = ref_quantile_bins(noisy, radices, q, list(margins[k]))
            e = prev = max(int(est_all[g, k]), prev)
            a, b = min(a, e), max(b, e)
            expect.append(
                (page, q, lo + (e + 0.5) * width, lo + a * width, lo + (b + 1) * width)
            )
    got = [tuple(r.values()) for r in out.to_pylist()]
    assert got == expect


def test_em_is_more_accurate_than_the_tree_for_one_median():
    # A small group: the tree spreads its budget over the whole histogram.
    gen = np.random.default_rng(1)
    x = gen.lognormal(1.5, 0.7, 600)
    t = pa.table({"user_id": np.arange(600), "v": x})
    true = np.sort(np.clip(x, 0, 60))[299]
    errs = {}
    for method in ("exponential", "tree"):
        req = request_of(
            lp.aggregate_quantiles, t, column="v", quantiles=[0.5], bounds=(0, 60),
            privacy_unit="user_id", epsilon=0.2, method=method,
        )  # fmt: skip
        plan = req.statistic.plan(req)
        b = req.statistic.bound(plan, FixedSalt(1))
        noisy = req.statistic.noise(plan, b, 400, seeded_rng(3))
        errs[method] = float(np.median(np.abs(noisy.value[:, 0, 0] - true)))
    assert errs["exponential"] < 0.5 * errs["tree"], errs


def test_exponential_method_refuses_gaussian_noise_and_rho():
    with pytest.raises(InvalidParameterError, match=r"method='tree'") as err:
        lp.aggregate_quantiles(
            EVENTS, column="ms", bounds=(0, 100), privacy_unit="user_id",
            epsilon=1.0, delta=1e-6, mechanism="gaussian",
        )  # fmt: skip
    assert err.value.parameter == "mechanism"
    with pytest.raises(InvalidParameterError, match=r"`method` must be"):
        lp.aggregate_quantiles(
            EVENTS, column="ms", bounds=(0, 100), privacy_unit="user_id",
            epsilon=1.0, method="smith",
        )  # fmt: skip
    out = lp.aggregate_quantiles(
        EVENTS, column="ms", bounds=(0, 100), privacy_unit="user_id", rho=0.5,
        mechanism="gaussian", method="tree", rng=seeded_rng(1),
    )  # fmt: skip
    assert out.num_rows == 2


def test_show_and_plot_name_percentiles_and_whole_intervals():
    import matplotlib

    matplotlib.use("Agg")
    out = lp.aggregate_quantiles(
        EVENTS, column="ms", quantiles=[0.5, 0.95], bounds=(0, 100), by="page",
        privacy_unit="user_id", epsilon=1.0, public_groups=["home", "docs"],
        rng=seeded_rng(2),
    )  # fmt: skip
    text = repr(lp.show(out))
    rows = out.to_pylist()
    first = rows[0]
    assert "home, p50: value=" in text
    assert "docs, p95: value=" in text
    assert first["page"] == "home"
    assert "±" not in text.split("\n", 1)[1]
    html = lp.show(out)._repr_html_()
    assert "p95" in html
    ax = lp.plot(out)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "home, p50",
        "home, p95",
        "docs, p50",
        "docs, p95",
    ]
    var = lp.aggregate_std(
        EVENTS, column="ms", bounds=(0, 100), by="page", privacy_unit="user_id",
        epsilon=1.0, public_groups=["home"], rng=seeded_rng(2),
    )  # fmt: skip
    assert "home: std=" in repr(lp.show(var))
    assert "±" in repr(lp.show(var))
