"""aggregate_variance / aggregate_std: bounded moments, the exact release, the interval.

The exact comparison uses a seeded source: after the salt word the release
draws the count noise, then the centred-sum noise, then the centred-squares
noise, each for every released group in order, from mechanisms calibrated
as documented (ε/4, ε/4 and ε/2). A plain-Python reference of the bounded
moments and of the variance formula must give the same numbers.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyarrow as pa
import pytest

import loopkit_privacy as lp
from loopkit_privacy import quantiles as qmod
from loopkit_privacy._grouped import add_fixed_point_noise
from loopkit_privacy._kernels import quantiles as kq
from loopkit_privacy._release import FixedSalt, request_of
from loopkit_privacy.accounting import Accountant
from loopkit_privacy.bounding import fixed_point_quantum
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.loss import ApproxDP, PureDP
from tests import reference_aggregate as ref
from tests._rng import seeded_rng
from tests.families import FAMILIES, FAMILY_TYPE, to_arrow

GEN = np.random.default_rng(21)
N_ROWS = 500
EVENTS = pa.table(
    {
        "user_id": GEN.integers(0, 80, N_ROWS),
        "page": np.array(["home", "docs", "blog"])[GEN.integers(0, 3, N_ROWS)],
        "ms": np.round(GEN.normal(40.0, 25.0, N_ROWS), 3),
    }
)
PUBLIC = ["home", "docs", "blog", "absent"]
LO, HI = 0.0, 100.0


def ref_moments(units, codes, values, *, n_groups, l0, linf, salt):
    """(rows, Σ fp(x - m), Σ fp((x - m)² - h²/2)) per group over the kept rows."""
    mid, h = (LO + HI) / 2, (HI - LO) / 2
    q = fixed_point_quantum((LO, HI), centre=mid)
    q2 = fixed_point_quantum((0.0, h * h), centre=h * h / 2)
    kept = ref.kept_rows(list(units), list(codes), l0, linf, salt)
    rows, s, sq = [0] * n_groups, [0] * n_groups, [0] * n_groups
    for i in kept:
        x = min(max(float(values[i]), LO), HI)
        g = codes[i]
        rows[g] += 1
        s[g] += ref.fixed_point(x, LO, HI, mid, q)
        sq[g] += ref.fixed_point((x - mid) ** 2, 0.0, h * h, h * h / 2, q2)
    return rows, s, sq, q, q2


def test_moments_kernel_matches_reference():
    for l0, linf, salt in itertools.product((1, 2), (1, 3), (5, 2**64 - 3)):
        req = request_of(
            lp.aggregate_variance, EVENTS, column="ms", bounds=(LO, HI), by="page",
            privacy_unit="user_id", epsilon=1.0, public_groups=PUBLIC,
            max_partitions_per_user=l0, max_contributions_per_partition=linf,
        )  # fmt: skip
        plan = req.statistic.plan(req)
        got = req.statistic.bound(plan, FixedSalt(salt))
        inp = plan.inp
        rows, s, sq, _, _ = ref_moments(
            inp.units, inp.groups, inp.values, n_groups=len(PUBLIC), l0=l0,
            linf=linf, salt=salt,
        )  # fmt: skip
        assert got.rows.tolist() == rows
        assert got.a.tolist() == s
        assert got.b.tolist() == sq


def ref_variance(n, s, sq, h, hn, hs, hq):
    """The documented formula and box, one group, in plain Python."""
    h2 = h * h
    est = h2 / 2 + sq / n - (s / n) ** 2 if n >= 1 else h2 / 2
    est = min(max(est, 0.0), h2)
    if n - hn < 1:
        return est, 0.0, h2
    # The range of v over a fine grid of the box's corners and the vertex.
    us = [1 / (n + hn), 1 / (n - hn)]
    s_lo, s_hi = s - hs, s + hs
    s_min = 0.0 if s_lo <= 0 <= s_hi else min(abs(s_lo), abs(s_hi))
    s_max = max(abs(s_lo), abs(s_hi))
    cands = list(us)
    if s_min > 0:
        cands.append(min(max((sq + hq) / (2 * s_min**2), us[0]), us[1]))
    v_max = max(h2 / 2 + (sq + hq) * u - s_min**2 * u * u for u in cands)
    v_min = min(h2 / 2 + (sq - hq) * u - s_max**2 * u * u for u in us)
    low = min(max(v_min, 0.0), h2)
    high = min(max(v_max, 0.0), h2)
    return est, min(low, est), max(high, est)


@pytest.mark.parametrize("kind", ["variance", "std"])
def test_release_equals_plain_reference(kind):
    fn = lp.aggregate_variance if kind == "variance" else lp.aggregate_std
    eps = 0.9
    out = fn(
        EVENTS, column="ms", bounds=(LO, HI), by="page", privacy_unit="user_id",
        epsilon=eps, public_groups=PUBLIC, max_partitions_per_user=2,
        max_contributions_per_partition=2, rng=seeded_rng(8),
    )  # fmt: skip
    src = seeded_rng(8)
    salt = int(src.words(1)[0])
    req = request_of(
        fn, EVENTS, column="ms", bounds=(LO, HI), by="page", privacy_unit="user_id",
        epsilon=eps, public_groups=PUBLIC, max_partitions_per_user=2,
        max_contributions_per_partition=2,
    )  # fmt: skip
    inp = req.statistic.plan(req).inp
    rows, s, sq, q, q2 = ref_moments(
        inp.units, inp.groups, inp.values, n_groups=4, l0=2, linf=2, salt=salt
    )
    h = (HI - LO) / 2
    quarter = eps / 4
    # Sensitivities from the bounds: L0·L∞, L0·L∞·(h + q), L0·L∞·(h²/2 + q2).
    # The documented split: a quarter of ε for N and for S, half for Q.
    m_n = lp.GeometricMechanism(sensitivity=4, epsilon=quarter, dimension=2)
    m_s = lp.LaplaceMechanism(sensitivity=4 * (h + q), epsilon=quarter, dimension=2)
    m_q = lp.LaplaceMechanism(
        sensitivity=4 * (h * h / 2 + q2), epsilon=eps / 2, dimension=2
    )
    noisy_n = np.array(rows) + m_n._sample(4, src)
    noisy_s = add_fixed_point_noise(m_s, np.array(s, dtype=np.int64), q, src)
    noisy_q = add_fixed_point_noise(m_q, np.array(sq, dtype=np.int64), q2, src)
    each = 1 - 0.05 / 3
    expect = []
    for g, page in enumerate(PUBLIC):
        v = ref_variance(
            int(noisy_n[g]), float(noisy_s[g]), float(noisy_q[g]), h,
            m_n.accuracy(each), m_s.accuracy(each), m_q.accuracy(each),
        )  # fmt: skip
        if kind == "std":
            v = tuple(math.sqrt(x) for x in v)
        expect.append((page, *v))
    got = [tuple(r.values()) for r in out.to_pylist()]
    assert [g[0] for g in got] == [e[0] for e in expect]
    for g, e in zip(got, expect, strict=True):
        assert g[1:] == pytest.approx(e[1:], rel=1e-12, abs=1e-12)
    info = lp.privacy_info(out)
    assert [n.scale for n in info.noise] == [m_n.scale, m_s.scale, m_q.scale]
    assert info.cost == PureDP(eps)


def test_variance_formula_interval_holds_the_true_value_in_the_box():
    # Any (N, S, Q) inside the box gives a variance inside the interval.
    gen = np.random.default_rng(0)
    h = 3.0
    for _ in range(300):
        n, hn = gen.uniform(5, 50), gen.uniform(0, 4)
        s, hs = gen.uniform(-30, 30), gen.uniform(0, 20)
        sq, hq = gen.uniform(-40, 40), gen.uniform(0, 30)
        est, low, high = qmod.variance_from_noisy(
            np.array([n]), np.array([s]), np.array([sq]),
            half_width=h, hn=hn, hs=hs, hq=hq,
        )  # fmt: skip
        assert low[0] <= est[0] <= high[0]
        for _ in range(20):
            nn = n + gen.uniform(-hn, hn)
            ss = s + gen.uniform(-hs, hs)
            qq = sq + gen.uniform(-hq, hq)
            v = min(max(h * h / 2 + qq / nn - (ss / nn) ** 2, 0.0), h * h)
            assert low[0] - 1e-9 <= v <= high[0] + 1e-9


def test_variance_stays_in_range_and_std_is_its_root():
    common = dict(
        column="ms", bounds=(LO, HI), by="page", privacy_unit="user_id",
        epsilon=0.1, public_groups=PUBLIC,
    )  # fmt: skip
    var = lp.aggregate_variance(EVENTS, rng=seeded_rng(3), **common)
    std = lp.aggregate_std(EVENTS, rng=seeded_rng(3), **common)
    h2 = ((HI - LO) / 2) ** 2
    for rv, rs in zip(var.to_pylist(), std.to_pylist(), strict=True):
        assert (
            0 <= rv["variance_ci_low"] <= rv["variance"] <= rv["variance_ci_high"] <= h2
        )
        assert rs["std"] == pytest.approx(math.sqrt(rv["variance"]), rel=1e-15)
        assert rs["std_ci_high"] == pytest.approx(
            math.sqrt(rv["variance_ci_high"]), rel=1e-15
        )


def test_large_group_is_accurate():
    gen = np.random.default_rng(4)
    n = 50_000
    x = gen.normal(50, 10, n)
    t = pa.table({"user_id": np.arange(n), "x": x})
    out = lp.aggregate_variance(
        t, column="x", bounds=(0, 100), privacy_unit="user_id", epsilon=1.0,
        rng=seeded_rng(1),
    )  # fmt: skip
    true = np.var(np.clip(x, 0, 100))
    row = out.to_pylist()[0]
    assert row["variance_ci_low"] <= true <= row["variance_ci_high"]
    assert abs(row["variance"] - true) < 0.05 * true


def test_partition_selection_costs_epsilon_delta():
    acc = Accountant(epsilon=5.0, delta=1e-3)
    out = lp.aggregate_std(
        EVENTS, column="ms", bounds=(LO, HI), by="page", privacy_unit="user_id",
        epsilon=1.0, delta=1e-6, accountant=acc, rng=seeded_rng(4),
    )  # fmt: skip
    info = lp.privacy_info(out)
    assert info.cost == ApproxDP(1.0, 1e-6) == acc.spent
    assert info.groups == "selected"
    assert info.noise[0].statistic == "selection"
    assert set(out["page"].to_pylist()) <= {"home", "docs", "blog"}


def test_empty_table_gives_noisy_answers():
    out = lp.aggregate_variance(
        EVENTS.slice(0, 0), column="ms", bounds=(LO, HI), by="page",
        privacy_unit="user_id", epsilon=1.0, public_groups=PUBLIC, rng=seeded_rng(5),
    )  # fmt: skip
    assert out.num_rows == len(PUBLIC)
    assert all(0 <= v <= 2500 for v in out["variance"].to_pylist())


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_families_in_and_out(family):
    common = dict(
        column="ms", bounds=(LO, HI), by="page", privacy_unit="user_id",
        epsilon=1.0, public_groups=PUBLIC,
    )  # fmt: skip
    out = lp.aggregate_variance(FAMILIES[family](EVENTS), rng=seeded_rng(6), **common)
    assert isinstance(out, FAMILY_TYPE[family])
    base = lp.aggregate_variance(EVENTS, rng=seeded_rng(6), **common)
    assert to_arrow(out).to_pylist() == base.to_pylist()


def test_event_level_moments():
    req = request_of(
        lp.aggregate_variance, EVENTS, column="ms", bounds=(LO, HI),
        privacy_unit=None, epsilon=1.0,
    )  # fmt: skip
    plan = req.statistic.plan(req)
    got = req.statistic.bound(plan, FixedSalt(1))
    n = EVENTS.num_rows
    rows, s, sq, _, _ = ref_moments(
        list(range(n)), [0] * n, EVENTS["ms"].to_pylist(), n_groups=1, l0=1,
        linf=1, salt=1,
    )  # fmt: skip
    assert (got.rows.tolist(), got.a.tolist(), got.b.tolist()) == (rows, s, sq)
    assert kq.MODE_MOMENTS != kq.MODE_HISTOGRAM


@pytest.mark.parametrize(
    ("kwargs", "match", "name"),
    [
        ({"bounds": (5, 5)}, r"bounds", "bounds"),
        ({"bounds": (10, 0)}, r"bounds", "bounds"),
        ({"bounds": None}, r"`bounds` is required", "bounds"),
        ({"bounds": (0, 2.0**300)}, r"\(\(hi - lo\)/2\)\*\*2", "bounds"),
        ({"column": 3}, r"`column` must be a column name", "column"),
    ],
)
def test_bad_arguments_raise_and_spend_nothing(kwargs, match, name):
    acc = Accountant(epsilon=10.0, delta=1e-3)
    base = dict(
        column="ms", bounds=(LO, HI), by="page", privacy_unit="user_id",
        epsilon=1.0, public_groups=PUBLIC, accountant=acc,
    )  # fmt: skip
    with pytest.raises(InvalidParameterError, match=match) as err:
        lp.aggregate_variance(EVENTS, **{**base, **kwargs})
    assert err.value.parameter == name
    assert acc.spent.epsilon == 0
    assert len(acc.receipts) == 0
