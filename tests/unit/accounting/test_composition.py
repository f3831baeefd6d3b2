"""Composition and conversions, checked against dp_accounting and OpenDP."""

import math

import dp_accounting
import numpy as np
import opendp.prelude as dp
import pytest
from dp_accounting.pld import accountant as pld_accountant
from dp_accounting.pld import common as pld_common
from dp_accounting.rdp import RdpAccountant

from loopkit_privacy.accounting import (
    DEFAULT_ORDERS,
    Accountant,
    advanced_composition,
    advanced_composition_per_step,
    basic_composition,
    gaussian_rdp,
    laplace_rdp,
    pure_dp_rdp,
    rdp_to_approx_dp,
    zcdp_rho_for,
    zcdp_to_approx_dp,
)
from loopkit_privacy.errors import InvalidParameterError, UnsupportedCompositionError
from loopkit_privacy.loss import ZCDP, ApproxDP, NoiseEvent, PureDP

REL = 1e-6
RHOS = [1e-4, 0.01, 0.1, 0.5, 2.0, 10.0]
DELTAS = [1e-10, 1e-6, 1e-3]


def _opendp_zcdp_epsilon(rho, delta):
    dp.enable_features("contrib")
    # a Gaussian mechanism with scale s at d_in = 1 is (1 / (2 s^2))-zCDP
    scale = math.sqrt(1.0 / (2.0 * rho))
    meas = dp.m.make_gaussian(
        dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=scale
    )
    assert meas.map(1.0) == pytest.approx(rho, rel=1e-12)
    return dp.c.make_zCDP_to_approxDP(meas).map(1.0).epsilon(delta)


@pytest.mark.parametrize("rho", RHOS)
@pytest.mark.parametrize("delta", DELTAS)
def test_zcdp_conversion_matches_opendp(rho, delta):
    ours = zcdp_to_approx_dp(rho, delta).epsilon
    theirs = _opendp_zcdp_epsilon(rho, delta)
    # same formula (CKS 2020, Cor. 13), optimised over the order: agree to 1e-6
    assert ours == pytest.approx(theirs, rel=REL)


@pytest.mark.parametrize("rho", RHOS)
@pytest.mark.parametrize("delta", DELTAS)
def test_zcdp_conversion_vs_dp_accounting_grid(rho, delta):
    acc = RdpAccountant(orders=DEFAULT_ORDERS)
    acc.compose(dp_accounting.ZCDpEvent(rho))
    theirs = acc.get_epsilon(delta)
    ours = zcdp_to_approx_dp(rho, delta).epsilon
    # dp_accounting minimises over a fixed grid of orders, we over all orders:
    # ours is tighter (smaller) or equal, and close.
    assert ours <= theirs * (1 + 1e-12)
    assert ours >= theirs * (1 - 0.05)
    # and never below the exact optimum computed by OpenDP
    assert ours >= _opendp_zcdp_epsilon(rho, delta) * (1 - REL)


@pytest.mark.parametrize("rho", RHOS)
def test_bun_steinke_is_the_looser_bound(rho):
    cks = zcdp_to_approx_dp(rho, 1e-6).epsilon
    bs = zcdp_to_approx_dp(rho, 1e-6, method="bun_steinke").epsilon
    assert cks <= bs
    assert bs == pytest.approx(rho + 2 * math.sqrt(rho * math.log(1e6)), rel=1e-12)


def test_rho_for_inverts_the_conversion():
    for eps, delta in [(0.1, 1e-9), (1.0, 1e-6), (8.0, 1e-5)]:
        rho = zcdp_rho_for(eps, delta).rho
        assert zcdp_to_approx_dp(rho, delta).epsilon <= eps
        assert zcdp_to_approx_dp(rho * (1 + 1e-9), delta).epsilon > eps * (1 - 1e-8)


@pytest.mark.parametrize("noise_multiplier", [0.5, 1.0, 3.0, 20.0])
@pytest.mark.parametrize("count", [1, 10, 500])
def test_gaussian_rdp_composition_matches_dp_accounting(noise_multiplier, count):
    ref = RdpAccountant(orders=DEFAULT_ORDERS)
    ref.compose(dp_accounting.GaussianDpEvent(noise_multiplier), count)
    per = gaussian_rdp(noise_multiplier)
    ours = rdp_to_approx_dp(DEFAULT_ORDERS, [count * r for r in per], 1e-6).epsilon
    assert ours == pytest.approx(ref.get_epsilon(1e-6), rel=REL)
    assert ours >= ref.get_epsilon(1e-6)  # rounded up, never below


@pytest.mark.parametrize("noise_multiplier", [0.5, 1.0, 10.0, 1000.0])
@pytest.mark.parametrize("count", [1, 10, 500])
def test_laplace_rdp_composition_matches_dp_accounting(noise_multiplier, count):
    ref = RdpAccountant(orders=DEFAULT_ORDERS)
    ref.compose(dp_accounting.LaplaceDpEvent(noise_multiplier), count)
    per = laplace_rdp(noise_multiplier)
    ours = rdp_to_approx_dp(DEFAULT_ORDERS, [count * r for r in per], 1e-6).epsilon
    assert ours == pytest.approx(ref.get_epsilon(1e-6), rel=REL)


def test_laplace_rdp_per_order_matches_mironov():
    from dp_accounting.rdp.rdp_privacy_accountant import _laplace_rdp

    for b in (0.1, 1.0, 10.0, 1e4):
        ours = laplace_rdp(b)
        theirs = [_laplace_rdp(1.0 / b, a) for a in DEFAULT_ORDERS]
        # same formula; where we cap by min(eps, a eps^2 / 2) ours is smaller,
        # which is still an upper bound of the true divergence
        np.testing.assert_allclose(ours, theirs, rtol=REL)
        assert all(o <= 1.0 / b * (1 + 1e-12) for o in ours)


def test_rdp_accountant_matches_dp_accounting_for_mixed_releases():
    ref = RdpAccountant(orders=DEFAULT_ORDERS)
    acc = Accountant(epsilon=50.0, delta=1e-6, accounting="rdp")
    for i in range(30):
        if i % 3:
            ref.compose(dp_accounting.GaussianDpEvent(4.0))
            # sigma = 4 sensitivities is (1, 1e-5)-DP (analytic Gaussian)
            acc.spend(ApproxDP(1.0, 1e-5), event=NoiseEvent("gaussian", 4.0))
        else:
            ref.compose(dp_accounting.LaplaceDpEvent(8.0))
            acc.spend(PureDP(0.125), event=NoiseEvent("laplace", 8.0))
    assert acc.spent.epsilon == pytest.approx(ref.get_epsilon(1e-6), rel=REL)
    assert acc.spent.epsilon >= ref.get_epsilon(1e-6) * (1 - 1e-12)


def test_zcdp_accountant_matches_opendp_conversion():
    acc = Accountant(epsilon=2.0, delta=1e-6, accounting="zcdp")
    n = 0
    while acc.can_spend(ZCDP(0.005)):
        acc.spend(ZCDP(0.005))
        n += 1
    # exactly the largest n whose total converts (by OpenDP) within epsilon = 2
    assert _opendp_zcdp_epsilon(n * 0.005, 1e-6) <= 2.0
    assert _opendp_zcdp_epsilon((n + 1) * 0.005, 1e-6) > 2.0


@pytest.mark.parametrize(
    ("epsilon", "delta", "k"),
    [(0.01, 0.0, 100), (0.1, 0.0, 50), (0.1, 1e-8, 100), (0.5, 1e-9, 20)],
)
def test_advanced_composition_vs_dp_accounting(epsilon, delta, k):
    delta_prime = 1e-6
    ours = advanced_composition(epsilon, delta, k=k, delta_prime=delta_prime)
    drv = math.sqrt(2 * k * math.log(1 / delta_prime)) * epsilon + k * epsilon * (
        math.exp(epsilon) - 1
    )
    assert ours.epsilon == pytest.approx(drv, rel=1e-12)
    assert ours.epsilon >= drv
    assert ours.delta == pytest.approx(k * delta + delta_prime, rel=1e-12)
    # dp_accounting implements the *optimal* theorem (Kairouz et al. 2015) at
    # the same total delta: ours (Dwork et al. 2010) is looser, never tighter.
    optimal = pld_accountant.advanced_composition(
        pld_common.DifferentialPrivacyParameters(epsilon, delta), k, ours.delta
    )
    assert optimal is not None
    assert optimal <= ours.epsilon


def test_advanced_composition_beats_basic_for_many_small_steps():
    ours = advanced_composition(0.01, k=1000, delta_prime=1e-6)
    assert ours.epsilon < 0.5 * 1000 * 0.01


def test_advanced_composition_per_step_inverts():
    step = advanced_composition_per_step(1.0, 1e-5, k=100, delta_prime=1e-6)
    total = advanced_composition(step.epsilon, step.delta, k=100, delta_prime=1e-6)
    assert total.epsilon <= 1.0
    assert total.delta <= 1e-5
    assert total.epsilon > 0.999
    with pytest.raises(InvalidParameterError, match=r"delta_prime"):
        advanced_composition_per_step(1.0, 1e-7, k=10, delta_prime=1e-6)


def test_pure_dp_rdp_is_the_minimum_of_the_two_bounds():
    values = pure_dp_rdp(1.0, [1.5, 2.0, 4.0])
    assert values[0] == pytest.approx(0.75)
    assert values[1] == pytest.approx(1.0)
    assert values[2] == pytest.approx(1.0)


def test_basic_composition():
    assert basic_composition(PureDP(0.5), PureDP(0.25)) == PureDP(0.75)
    with pytest.raises(
        UnsupportedCompositionError, match=r"cannot add ZCDP\(rho=0.1\) and PureDP"
    ):
        basic_composition(PureDP(0.5), ZCDP(0.1))
    with pytest.raises(InvalidParameterError, match=r"at least one"):
        basic_composition()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: zcdp_to_approx_dp(-1.0, 1e-6), r"rho"),
        (lambda: zcdp_to_approx_dp(0.5, 0.0), r"delta"),
        (lambda: zcdp_to_approx_dp(0.5, 1e-6, method="magic"), r"method"),
        (lambda: rdp_to_approx_dp([0.5], [1.0], 1e-6), r"orders"),
        (lambda: rdp_to_approx_dp([2.0], [1.0, 2.0], 1e-6), r"rdp"),
        (lambda: rdp_to_approx_dp([2.0], [-1.0], 1e-6), r"rdp"),
        (lambda: gaussian_rdp(0.0), r"noise_multiplier"),
        (lambda: laplace_rdp(float("nan")), r"noise_multiplier"),
        (lambda: advanced_composition(0.1, k=0, delta_prime=1e-6), r"k"),
        (lambda: advanced_composition(0.1, 0.1, k=10, delta_prime=0.5), r"< 1"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call()


def test_basic_composition_sums_exactly_like_the_accountant():
    # the float sum of ten 0.1 is 0.9999999999999999; the exact sum is 1
    assert basic_composition(*[PureDP(0.1)] * 10) == PureDP(1.0)
    assert basic_composition(PureDP(0.1), PureDP(0.2)) == PureDP(0.3)
    assert basic_composition(ZCDP(0.1), ZCDP(0.2)) == ZCDP(0.3)
    assert basic_composition(ApproxDP(0.1, 1e-7), ApproxDP(0.2, 2e-7)) == ApproxDP(
        0.3, 3e-7
    )
    costs = [PureDP(0.001)] * 7 + [
        ApproxDP(0.3, 1e-9),
        PureDP(0.1),
        ApproxDP(0.07, 3e-9),
    ]
    acc = Accountant(epsilon=10.0, delta=1e-6)
    for cost in costs:
        acc.spend(cost)
    assert basic_composition(*costs) == acc.spent
    z = Accountant(rho=10.0)
    zs = [ZCDP(0.1)] * 3 + [ZCDP(1e-3)] * 11
    for cost in zs:
        z.spend(cost)
    assert basic_composition(*zs) == z.spent


def test_basic_composition_rounds_up():
    # 1 + 1e-20 has no float; the float sum rounds it down to 1.0 (too little)
    total = basic_composition(PureDP(1.0), PureDP(1e-20))
    assert total == PureDP(math.nextafter(1.0, math.inf))
    acc = Accountant(epsilon=2.0)
    acc.spend(PureDP(1.0))
    acc.spend(PureDP(1e-20))
    assert acc.spent == total


@pytest.mark.parametrize(
    ("costs", "match"),
    [
        (("nonsense",), r"`costs`"),
        ((PureDP(0.5), None), r"`costs`"),
        ((0.5, 0.5), r"`costs`"),
        ((PureDP(0.5), "PureDP(0.5)"), r"`costs`"),
        ((ApproxDP(0.5, 0.6), ApproxDP(0.5, 0.6)), r"`costs`"),
        ((PureDP(1e308), PureDP(1e308)), r"`costs`"),
    ],
    ids=repr,
)
def test_basic_composition_refuses_what_is_not_a_cost(costs, match):
    with pytest.raises(InvalidParameterError, match=match) as info:
        basic_composition(*costs)
    assert info.value.parameter == "costs"


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: gaussian_rdp(1.0, orders="abc"), "orders"),
        (lambda: gaussian_rdp(1.0, orders=5), "orders"),
        (lambda: laplace_rdp(1.0, orders=[2.0, None]), "orders"),
        (lambda: pure_dp_rdp(1.0, ["x"]), "orders"),
        (lambda: pure_dp_rdp(1.0, [2.0, True]), "orders"),
        (lambda: rdp_to_approx_dp([2.0], "x", 1e-6), "rdp"),
        (lambda: rdp_to_approx_dp([2.0], None, 1e-6), "rdp"),
        (lambda: rdp_to_approx_dp([2.0], [float("nan")], 1e-6), "rdp"),
        (lambda: rdp_to_approx_dp(None, [1.0], 1e-6), "orders"),
        (lambda: rdp_to_approx_dp([2.0], [1.0], "1e-6"), "delta"),
        (lambda: zcdp_to_approx_dp(0.5, 1e-6, method=["cks"]), "method"),
        (lambda: zcdp_to_approx_dp(0.5, 1e-6, method=None), "method"),
        (lambda: zcdp_rho_for(1.0, 1e-6, method=["cks"]), "method"),
        (lambda: zcdp_rho_for(1.0, 1e-6, method="magic"), "method"),
        (lambda: zcdp_rho_for("1.0", 1e-6), "epsilon"),
        (lambda: advanced_composition("0.1", k=10, delta_prime=1e-6), "epsilon"),
        (lambda: advanced_composition(0.1, k=True, delta_prime=1e-6), "k"),
        (lambda: advanced_composition(0.1, k=10, delta_prime=None), "delta_prime"),
        (
            lambda: advanced_composition_per_step(1.0, None, k=10, delta_prime=1e-7),
            "delta",
        ),
        (
            lambda: advanced_composition_per_step(1.0, 1e-6, k=2.5, delta_prime=1e-7),
            "k",
        ),
    ],
)
def test_wrong_arguments_raise_a_privacy_error_naming_the_parameter(call, parameter):
    with pytest.raises(InvalidParameterError, match=f"`{parameter}`") as info:
        call()
    assert info.value.parameter == parameter
