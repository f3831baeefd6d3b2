"""The accountant's running totals: bounded size (O(1) per charge), always upper bounds.

Also the issue's case: a zCDP accountant accepts an aggregation with
partition selection (an (epsilon, delta) cost) as approximate zCDP.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pyarrow as pa
import pytest

import loopkit_privacy as lp
from loopkit_privacy.accounting import Accountant, rdp_to_approx_dp
from loopkit_privacy.accounting.composition import DEFAULT_ORDERS, gaussian_rdp
from loopkit_privacy.loss import ApproxDP, ApproxZCDP, NoiseEvent, PureDP


def _multipliers(n):
    # different mechanisms: each noise multiplier is a new 17-digit decimal
    return [10.0 * (1 + i * 1e-7) for i in range(n)]


def test_zcdp_totals_keep_a_bounded_size():
    acc = Accountant(epsilon=1e9, delta=1e-6, accounting="zcdp")
    for m in _multipliers(400):
        acc.spend(ApproxDP(0.5, 1e-6), event=NoiseEvent("gaussian", m))
    rho, delta = acc._chain.state
    # exact sums of 1/(2 m^2) would have a denominator of ~400 * 110 bits
    assert rho.denominator.bit_length() < 200
    exact = sum(Fraction(1) / (2 * Fraction(repr(m)) ** 2) for m in _multipliers(400))
    assert exact <= rho <= exact * (1 + 1e-18)
    assert delta == 0


def test_rdp_totals_are_integers_on_a_grid_and_upper_bounds():
    acc = Accountant(epsilon=1e9, delta=1e-6, accounting="rdp")
    ms = _multipliers(300)
    for m in ms:
        acc.spend(ApproxDP(1.0, 1e-3), event=NoiseEvent("gaussian", m))
    state = acc._chain.state
    assert all(isinstance(v, int) and v.bit_length() < 120 for v in state)
    for a, v in zip(DEFAULT_ORDERS, state, strict=True):
        exact = sum(Fraction(a) / (2 * Fraction(m) ** 2) for m in ms)
        assert (
            exact
            <= Fraction(v, 2**64)
            <= exact + Fraction(300, 2**64) + exact * Fraction(1, 2**49)
        )
    spent = acc.spent.epsilon
    ref = rdp_to_approx_dp(
        DEFAULT_ORDERS,
        [sum(r) for r in zip(*(gaussian_rdp(m) for m in ms), strict=True)],
        1e-6,
    ).epsilon
    assert spent == pytest.approx(ref, rel=1e-12)


def test_a_reservation_given_back_leaves_no_residue():
    for accounting in ("zcdp", "rdp"):
        acc = Accountant(epsilon=10.0, delta=1e-6, accounting=accounting)
        acc.spend(PureDP(0.3), event=NoiseEvent("laplace", 1 / 0.3))
        before = acc._chain.state
        with (
            pytest.raises(RuntimeError),
            acc.transaction(PureDP(0.1), event=NoiseEvent("laplace", 10.37)),
        ):
            raise RuntimeError
        assert acc._chain.state == before


def test_the_warning_threshold_is_crossed_once_in_every_mode():
    for kwargs in (
        {"epsilon": 1.0},
        {"epsilon": 1.0, "delta": 1e-6, "accounting": "zcdp"},
        {"epsilon": 1.0, "delta": 1e-6, "accounting": "rdp"},
    ):
        seen = []
        acc = Accountant(**kwargs, on_event=seen.append, warn_fraction=0.5)
        while acc.can_spend(PureDP(0.01)):
            acc.spend(PureDP(0.01))
        assert len(seen) == 1, kwargs
        assert 0.5 <= seen[0].used <= 1.0


def _events_table():
    users = list(range(400))
    pages = ["home"] * 300 + ["pricing"] * 90 + ["rare"] * 10
    return pa.table({"user_id": users, "page": pages})


@pytest.mark.parametrize("mechanism", ["laplace", "gaussian"])
def test_a_zcdp_accountant_accepts_partition_selection(mechanism):
    # The issue: the selection's delta had no rho and the charge raised
    # UnsupportedCompositionError; now it is approximate zCDP.
    acc = Accountant(epsilon=3.0, delta=1e-5, accounting="zcdp")
    _, info = lp.aggregate_count(
        _events_table(),
        by="page",
        privacy_unit="user_id",
        epsilon=0.5,
        delta=1e-6,
        mechanism=mechanism,
        accountant=acc,
        return_info=True,
    )
    assert isinstance(info.cost, ApproxDP)
    assert acc.spent == ApproxZCDP(info.cost.epsilon**2 / 2, info.cost.delta)
    assert acc.epsilon_at(1e-5) <= 3.0
    assert not math.isinf(acc.epsilon_at(1e-5))
