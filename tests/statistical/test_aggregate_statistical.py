"""Statistical checks of the aggregations, each failing falsely with probability <= ALPHA.

1. Unbiasedness and interval coverage: repeated releases over a fixed small
   table with public groups; the mean must match the *bounded* truth (worked
   out by hand from the table and the bounds), and the 95 % intervals must
   cover at the exact rate of the noise distribution (so at least 95 %).
   Power checks: the same mean test rejects the unbounded truth, and the
   coverage test rejects intervals computed for a scale 30 % too small.
2. An empirical privacy audit of user-level neighbours: a heavy user with
   10**4 events added. The lower confidence bound on ε from threshold events
   must not exceed the claimed ε, while it must expose a mis-declared
   privacy unit (event-level release of the same tables).
3. Partition selection: a group with a single user is released at exactly
   the discrete Laplace (or Gaussian) tail at the threshold in
   ``privacy_info``, which is at most δ / (e^ε + δ) / L0.

Trials are drawn with the secure default source (no seed): the bounds below
are what make these tests reliable, not a fixed seed.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

import loopkit_privacy as lp
from loopkit_privacy import _release as release
from loopkit_privacy.bounding import ContributionBounds, fixed_point_quantum
from tests import reference
from tests import reference_aggregate as ref

try:
    from tests.statistical import ALPHA
except ImportError:  # the shared constants module may not exist yet
    ALPHA = 1e-6

pytestmark = pytest.mark.statistical

# ---------------------------------------------------------------------------
# 1. Unbiasedness and coverage
# ---------------------------------------------------------------------------

# user, page, value. Users 1 and 3 exceed L∞ = 2 in a group; values outside
# [0, 10] get clamped; page "d" is not public; u6/u7 have null values (they
# count as rows for aggregate_count, and are dropped by aggregate_sum). No
# user has more than L0 = 2 public groups, so bounding is deterministic.
ROWS = [
    (1, "a", 3.0), (1, "a", 12.0), (1, "a", 5.0), (1, "a", 5.0), (1, "a", 5.0), (1, "a", 5.0),
    (2, "a", -4.0), (2, "b", 7.0),
    (3, "b", 20.0), (3, "b", 1.0), (3, "b", 9.0), (3, "b", 9.0), (3, "b", 9.0), (3, "b", 9.0),
    (4, "a", 2.0),
    (5, "d", 100.0),
    (6, "b", 4.5), (6, "b", None),
    (7, "b", None), (7, "a", 6.0),
]  # fmt: skip
TABLE = pa.table(
    {
        "user_id": [r[0] for r in ROWS],
        "page": [r[1] for r in ROWS],
        "v": pa.array([r[2] for r in ROWS], pa.float64()),
    }
)
DICTS = [{"user_id": u, "page": p, "v": v} for u, p, v in ROWS]
PUBLIC = ["a", "b", "c"]
L0, LINF, BOUNDS = 2, 2, (0.0, 10.0)
EPSILON, DELTA = 2.0, 1e-6
RELEASES = 1000  # × 3 groups: 3000 samples per case


def _truth(kind, linf):
    column = "v" if kind == "sum" else None
    t = ref.bounded_truth(
        DICTS,
        unit="user_id",
        by="page",
        column=column,
        groups=PUBLIC,
        linf=linf,
        bounds=BOUNDS if column else None,
    )
    key = "sum" if kind == "sum" else "rows"
    return np.array([t[g][key] for g in PUBLIC])


def test_bounded_truth_worked_by_hand():
    # Hand computation from ROWS (documents what the reference returns).
    assert _truth("count", LINF).tolist() == [
        5,
        6,
        0,
    ]  # a: u1×2,u2,u4,u7; b: u2,u3×2,u6×2,u7
    assert _truth("sum", LINF).tolist() == [
        21.0,
        22.5,
        0.0,
    ]  # a: 3+10+0+2+6; b: 7+10+1+4.5


def _unbounded(kind):
    # Users 1 and 3 each add 4 rows beyond L∞: far enough from the bounded
    # truth that the mean test separates them (the miss rate is computed in
    # test_release_is_unbiased_for_the_bounded_truth and held below ALPHA).
    if kind == "count":
        return np.array([9, 10, 0])
    return np.array([39.0, 68.5, 0.0])  # a: 3+12+4·5-4+2+6; b: 7+20+1+4·9+4.5


def _mechanism(kind, mechanism):
    bounds = ContributionBounds("user_id", L0, LINF, BOUNDS)
    budget = release.Budget.of(
        mechanism, EPSILON, DELTA if mechanism == "gaussian" else None, None
    )
    if kind == "count":
        _, l1, l2 = bounds.count_sensitivity()
        return release.noise_mechanism(budget, l1=l1, l2=l2, dimension=L0, integer=True)
    _, l1, l2 = bounds.sum_sensitivity(quantum=fixed_point_quantum(BOUNDS))
    return release.noise_mechanism(budget, l1=l1, l2=l2, dimension=L0, integer=False)


def _noise_units(m):
    """(variance, coverage(k)) of the noise in grid units."""
    if m._lap is not None:
        q = ref.dlap_q(m._lap.t, m._lap.m)
        return ref.dlap_variance(q), lambda k: ref.dlap_coverage(k, q)
    var = m._dg.variance  # σ²: an upper bound on the discrete Gaussian's variance
    return var, lambda k: ref.dgauss_coverage(k, var)


_SAMPLES: dict = {}


def _releases(kind, mechanism):
    """RELEASES noisy releases (values, lows, highs as arrays [RELEASES, 3]), cached."""
    if (kind, mechanism) not in _SAMPLES:
        f = lp.aggregate_count if kind == "count" else lp.aggregate_sum
        extra = {} if kind == "count" else {"column": "v", "bounds": BOUNDS}
        name = kind
        vals, lows, highs, infos = [], [], [], []
        for _ in range(RELEASES):
            out = f(
                TABLE, by="page", privacy_unit="user_id", epsilon=EPSILON,
                delta=DELTA if mechanism == "gaussian" else None, mechanism=mechanism,
                public_groups=PUBLIC, max_partitions_per_user=L0,
                max_contributions_per_partition=LINF, **extra,
            )  # fmt: skip
            vals.append(out.column(name).to_numpy())
            lows.append(out.column(f"{name}_ci_low").to_numpy())
            highs.append(out.column(f"{name}_ci_high").to_numpy())
            infos.append(out)
        _SAMPLES[kind, mechanism] = (
            np.array(vals, dtype=np.float64),
            np.array(lows),
            np.array(highs),
            lp.privacy_info(infos[0]),
        )
    return _SAMPLES[kind, mechanism]


CASES = [(k, m) for k in ("count", "sum") for m in ("laplace", "gaussian")]


@pytest.mark.parametrize(("kind", "mechanism"), CASES)
def test_release_is_unbiased_for_the_bounded_truth(kind, mechanism):
    vals, _, _, info = _releases(kind, mechanism)
    m = _mechanism(kind, mechanism)
    # the mechanism rebuilt here is the one the release used
    assert (info.noise[0].mechanism, info.noise[0].scale) == (m.name, m.scale)
    assert info.insecure is False
    g = m.granularity or 1.0
    var_units, _ = _noise_units(m)
    se = math.sqrt(var_units) * g / math.sqrt(RELEASES)
    # Bonferroni over the 3 groups, two-sided
    z_crit = stats.norm.isf(ALPHA / 6)
    truth = _truth(kind, LINF)
    z = (vals.mean(axis=0) - truth) / se
    assert np.all(np.abs(z) <= z_crit), (
        f"mean {vals.mean(axis=0)} vs bounded truth {truth}: z={z} beyond {z_crit:.2f} "
        f"(false-failure rate alpha={ALPHA})"
    )
    # power: the same test tells the bounded truth from the unbounded one. With
    # the largest shift |unbounded - truth| / se, the group's |z_unbounded|
    # stays <= z_crit with probability norm.cdf(z_crit - shift) -
    # norm.cdf(-z_crit - shift) (normal law of the mean); that miss rate is
    # computed and held below ALPHA here, so the check is not a guess.
    shift = float(np.max(np.abs(_unbounded(kind) - truth)) / se)
    miss = stats.norm.cdf(z_crit - shift) - stats.norm.cdf(-z_crit - shift)
    assert miss < ALPHA, f"power check misses with probability {miss:.3g}"
    z_unbounded = (vals.mean(axis=0) - _unbounded(kind)) / se
    assert np.max(np.abs(z_unbounded)) > z_crit, (
        f"cannot distinguish the unbounded truth: z={z_unbounded} "
        f"(misses with probability {miss:.3g} < alpha={ALPHA})"
    )


@pytest.mark.parametrize(("kind", "mechanism"), CASES)
def test_interval_coverage(kind, mechanism):
    vals, lows, highs, info = _releases(kind, mechanism)
    assert info.confidence == 0.95
    m = _mechanism(kind, mechanism)
    g = m.granularity or 1.0
    hw = m.accuracy(0.95)
    assert np.allclose(highs - vals, hw)
    assert np.allclose(vals - lows, hw)
    # value = truth + g·Z with truth on the grid, so "covered" is |Z| <= k
    k = round((hw - (g / 2 if m.granularity else 0.0)) / g)
    _, coverage = _noise_units(m)
    p_exact = coverage(k)
    assert p_exact >= 0.95
    truth = _truth(kind, LINF)
    covered = (lows <= truth) & (truth <= highs)
    n, s = covered.size, int(covered.sum())
    # one-sided: at least 95 %
    assert stats.binom.cdf(s, n, 0.95) > ALPHA, (
        f"coverage {s}/{n} = {s / n:.4f} is below 0.95 beyond binomial tolerance "
        f"(alpha={ALPHA})"
    )
    # two-sided against the exact rate (Bonferroni: alpha/2 each side)
    message = f"coverage {s}/{n} = {s / n:.4f} vs exact {p_exact:.4f} (alpha={ALPHA})"
    assert stats.binom.cdf(s, n, p_exact) > ALPHA / 2, message
    assert stats.binom.sf(s - 1, n, p_exact) > ALPHA / 2, message
    # power: an interval made for a scale 30 % too small is rejected
    small = m.scale * 0.7 / g
    if m._lap is not None:
        k_small = ref.dlap_half_width(math.exp(-1.0 / small), 0.95)
    else:
        k_small = ref.dgauss_half_width(small**2, 0.95)
    assert k_small < k
    z_units = np.abs(vals - truth) / g
    s_small = int((z_units <= k_small + 1e-9).sum())
    assert stats.binom.cdf(s_small, n, 0.95) < ALPHA, (
        f"a 30 %-too-narrow interval covers {s_small}/{n}: not rejected (alpha={ALPHA})"
    )


# ---------------------------------------------------------------------------
# 2. Empirical privacy audit on user-level neighbours
# ---------------------------------------------------------------------------

# Each trial is one group of a release with public groups: every group holds
# two base users (one event each); the neighbour adds to every group its own
# heavy user with 10**4 events. With L0 = L∞ = 1 each group's noisy count is
# distributed exactly as a by=None release over (base, base + heavy user)
# (same sensitivity 1, same ε, independent noise per group), so one call gives
# GROUPS trials through the real pipeline (tables, bounding, calibration,
# sampling) instead of GROUPS calls of ~1 ms each.
GROUPS, HEAVY_EVENTS, CALLS = 1000, 10_000, 12
AUDIT_EPSILON = 1.0


def _audit_tables():
    base_users = np.arange(2 * GROUPS)
    base_groups = np.repeat(np.arange(GROUPS), 2)
    heavy_users = np.repeat(np.arange(2 * GROUPS, 3 * GROUPS), HEAVY_EVENTS)
    heavy_groups = np.repeat(np.arange(GROUPS), HEAVY_EVENTS)
    d0 = pa.table({"user_id": base_users, "g": base_groups})
    d1 = pa.table(
        {
            "user_id": np.concatenate([base_users, heavy_users]),
            "g": np.concatenate([base_groups, heavy_groups]),
        }
    )
    return d0, d1


def _counts(table, calls, **kwargs):
    out = []
    for _ in range(calls):
        res = lp.aggregate_count(
            table,
            by="g",
            epsilon=AUDIT_EPSILON,
            public_groups=list(range(GROUPS)),
            **kwargs,
        )
        out.append(res.column("count").to_numpy())
    return np.concatenate(out)


def epsilon_lower_bound(x0, x1, thresholds, alpha):
    """Largest ε lower bound over events {X >= t} and {X < t}, both directions.

    For each event S, with Clopper-Pearson bounds at level 1 - alpha/m (m the
    number of events), ε >= log(P_lo(S | one) / P_hi(S | other)). The max over
    all events is a valid lower bound with probability >= 1 - alpha.
    """
    events = [(t, above) for t in thresholds for above in (True, False)]
    m = 2 * len(events)  # each event in both directions
    best = -math.inf
    for t, above in events:
        s0 = int((x0 >= t).sum() if above else (x0 < t).sum())
        s1 = int((x1 >= t).sum() if above else (x1 < t).sum())
        lo0, hi0 = ref.clopper_pearson(s0, x0.size, alpha / m)
        lo1, hi1 = ref.clopper_pearson(s1, x1.size, alpha / m)
        for num, den in ((lo1, hi0), (lo0, hi1)):
            if num > 0 and den > 0:
                best = max(best, math.log(num / den))
    return best


def test_privacy_audit_heavy_user():
    d0, d1 = _audit_tables()
    common = dict(
        privacy_unit="user_id",
        max_partitions_per_user=1,
        max_contributions_per_partition=1,
    )
    x0 = _counts(d0, CALLS, **common)
    x1 = _counts(d1, CALLS, **common)
    assert x0.size == x1.size == GROUPS * CALLS
    thresholds = [0, 1, 2, 3, 4, 5, 10, HEAVY_EVENTS + 2]
    eps_lb = epsilon_lower_bound(x0, x1, thresholds, ALPHA)
    assert eps_lb <= AUDIT_EPSILON, (
        f"empirical epsilon lower bound {eps_lb:.3f} exceeds the claimed {AUDIT_EPSILON} "
        f"(false-failure rate alpha={ALPHA})"
    )
    # power: the audit gets close to the true loss (ε is attained by {X >= 3}:
    # P1 = 1 / (1 + q) = 0.731, P0 = q / (1 + q) = 0.269, q = exp(-1), over
    # 12,000 trials with Clopper-Pearson at ALPHA / 64 per side). Summing the
    # two binomial laws over the region where that event's bound is <= 0.8
    # gives a miss rate of 3.6e-9 (scipy.stats.binom, beta).
    assert eps_lb > 0.8 * AUDIT_EPSILON, (
        f"audit too weak to detect a 20 % overspend: lower bound {eps_lb:.3f} "
        f"(misses with probability 3.6e-9)"
    )


def test_privacy_audit_detects_a_wrong_privacy_unit():
    # The same neighbouring tables released at event level: ε = 1 per event,
    # but the heavy user changes each count by 10**4. The audit must see it.
    d0, d1 = _audit_tables()
    x0 = _counts(d0, 1, privacy_unit=None)
    x1 = _counts(d1, 1, privacy_unit=None)
    eps_lb = epsilon_lower_bound(x0, x1, [3, HEAVY_EVENTS + 2], ALPHA)
    # {X >= 10**4 + 2}: P1 = 1 / (1 + e**-1) = 0.731 over 1,000 trials, P0 about
    # e**-10000; with Clopper-Pearson at ALPHA / 16 per side the bound is <= 3
    # with probability 1.6e-100 (scipy.stats.binom, beta).
    assert eps_lb > 3 * AUDIT_EPSILON, (
        f"a user-level violation went unnoticed: lower bound {eps_lb:.3f} "
        f"(misses with probability 1.6e-100)"
    )


# ---------------------------------------------------------------------------
# 3. Partition selection: single-user groups
# ---------------------------------------------------------------------------

SELECTION_GROUPS = 20_000


def _single_user_groups(l0):
    """SELECTION_GROUPS groups of one user each; each user in l0 of them."""
    n_users = SELECTION_GROUPS // l0
    return pa.table(
        {
            "user_id": np.repeat(np.arange(n_users), l0),
            "g": np.arange(n_users * l0),
        }
    )


@pytest.mark.parametrize(
    ("mechanism", "epsilon", "delta", "l0"),
    [
        ("laplace", 0.1, 0.1, 1),
        ("laplace", 0.2, 0.2, 2),
        ("gaussian", 0.5, 0.3, 1),
    ],
)
def test_selection_releases_single_user_groups_at_the_exact_tail(
    mechanism, epsilon, delta, l0
):
    table = _single_user_groups(l0)
    out = lp.aggregate_count(
        table, by="g", privacy_unit="user_id", epsilon=epsilon, delta=delta,
        mechanism=mechanism, max_partitions_per_user=l0,
    )  # fmt: skip
    info = lp.privacy_info(out)
    tau = info.selection_threshold
    assert info.noise[0].statistic == "selection"
    if mechanism == "laplace":
        # The optimal truncated noise on distinct-user counts (selection
        # module): a single-user group is kept with probability P(Z = k), at
        # most δ/L0 per group (each group gets ε/L0 and δ/L0).
        sel = lp.partition_selection(
            epsilon=epsilon, delta=delta, max_partitions_per_user=l0, noisy_counts=True
        )
        assert info.noise[0].mechanism == sel.name == "truncated_discrete_laplace"
        assert info.noise[0].scale == sel.scale
        assert tau == sel.threshold
        target = delta / l0
        p = reference.truncated_edge(sel)
        assert p <= target, f"P(release) = {p:.3e} exceeds δ/L0 = {target:.3e}"
        assert p == pytest.approx(sel.keep_probability(1), rel=1e-9)
    else:
        # Rebuild the selection noise: sensitivity √L0 distinct-user counts
        # with ε and half of δ (the other half for τ).
        noise = lp.DiscreteGaussianMechanism(
            sensitivity=math.sqrt(l0), epsilon=epsilon, delta=delta / 2, dimension=l0
        )
        sel_delta = delta / 2
        var = noise._dg.variance

        def tail(k):  # P(Z >= k) = P(|Z| >= k) / 2 for k >= 1, by symmetry
            if k >= 1:
                return (1.0 - ref.dgauss_coverage(k - 1, var)) / 2.0
            return 1.0 - tail(1 - k)

        assert info.noise[0].mechanism == noise.name
        assert info.noise[0].scale == noise.scale
        target = sel_delta / (math.exp(epsilon) + sel_delta) / l0
        p = tail(tau - 1)  # a single-user group is released when 1 + Z >= τ
        assert p <= target, f"P(release) = {p:.3e} exceeds δ/(e^ε+δ)/L0 = {target:.3e}"
        assert tail(tau - 2) > target * (1 - 1e-9), (
            "τ is not the smallest valid threshold"
        )
    # every released group is a real one and carries a count >= τ
    released = out.num_rows
    assert np.all(out.column("count").to_numpy() >= tau)
    assert set(out.column("g").to_pylist()) <= set(table.column("g").to_pylist())
    n = SELECTION_GROUPS
    message = f"released {released}/{n} single-user groups, expected rate {p:.4f} (alpha={ALPHA})"
    assert stats.binom.cdf(released, n, p) > ALPHA / 2, message
    assert stats.binom.sf(released - 1, n, p) > ALPHA / 2, message
    lo, _ = ref.clopper_pearson(released, n, 2 * ALPHA)  # one-sided at ALPHA
    assert lo <= target, (
        f"single-user groups released at rate >= {lo:.4f} > bound {target:.4f} (alpha={ALPHA})"
    )
