"""Privacy profiles: every quantity against a closed form and dp_accounting, one-sided.

"One-sided" means: never less private than the exact value (ε and δ at or
above it), and within the method's own approximation of it.
"""

from __future__ import annotations

import math

import mpmath
import pytest
from dp_accounting.pld import privacy_loss_distribution as pld_lib
from dp_accounting.pld.common import DifferentialPrivacyParameters

from loopkit_privacy.accounting import (
    Accountant,
    Subsampled,
    compose,
    gaussian_delta,
    gaussian_epsilon,
    kov_delta,
    kov_epsilon,
    poisson_subsampled,
    rdp_to_approx_dp,
    zcdp_to_approx_dp,
)
from loopkit_privacy.accounting.composition import DEFAULT_ORDERS, gaussian_rdp
from loopkit_privacy.errors import (
    BudgetExceededError,
    InvalidParameterError,
    UnsupportedCompositionError,
)
from loopkit_privacy.loss import ZCDP, ApproxDP, ApproxZCDP, NoiseEvent, PureDP

mpmath.mp.dps = 60


# ------------------------------------------------------------ exact references
def exact_gaussian_delta(m, eps):
    """Balle & Wang (2018) Thm 8 in 60-digit arithmetic."""
    m, eps = mpmath.mpf(m), mpmath.mpf(eps)
    a = 1 / (2 * m)
    return mpmath.ncdf(a - eps * m) - mpmath.exp(eps) * mpmath.ncdf(-a - eps * m)


def exact_gaussian_epsilon(m, delta):
    """The root of the exact (decreasing) δ(ε), by bisection to 1e-40."""
    target = mpmath.mpf(delta)
    lo, hi = mpmath.mpf(0), mpmath.mpf(1)
    while exact_gaussian_delta(m, hi) > target:
        hi *= 2
    while hi - lo > mpmath.mpf(10) ** -40 * hi:
        mid = (lo + hi) / 2
        if exact_gaussian_delta(m, mid) > target:
            lo = mid
        else:
            hi = mid
    return hi


def exact_kov_delta(eps, k, eps_g):
    """KOV Thm 3.3: delta of k-fold eps randomised response, 60 digits."""
    eps, eps_g = mpmath.mpf(eps), mpmath.mpf(eps_g)
    total = mpmath.mpf(0)
    for i in range(k + 1):
        loss = eps * (k - 2 * i)
        if loss > eps_g:
            total += (
                mpmath.binomial(k, i)
                * mpmath.exp(eps * (k - i))
                / (1 + mpmath.exp(eps)) ** k
                * (1 - mpmath.exp(eps_g - loss))
            )
    return total


GAUSSIANS = [(0.5, 1e-5), (1.0, 1e-6), (3.0, 1e-6), (10.0, 1e-9), (40.0, 1e-3)]


# ------------------------------------------------------------------- Gaussian
@pytest.mark.parametrize(("m", "delta"), GAUSSIANS)
def test_gaussian_epsilon_is_the_exact_curve_rounded_up(m, delta):
    exact = exact_gaussian_epsilon(m, delta)
    got = gaussian_epsilon(m, delta)
    assert got >= exact
    assert got <= exact * (1 + 1e-9)
    assert gaussian_delta(m, got) <= delta


@pytest.mark.parametrize(("m", "delta"), GAUSSIANS)
def test_gaussian_delta_is_the_exact_curve_rounded_up(m, delta):
    eps = float(exact_gaussian_epsilon(m, delta))
    for e in (0.0, eps / 2, eps, 2 * eps):
        exact = exact_gaussian_delta(m, e)
        got = gaussian_delta(m, e)
        assert got >= exact
        assert got <= exact * (1 + 1e-7) + 1e-300


@pytest.mark.parametrize(("m", "delta"), GAUSSIANS)
def test_gaussian_epsilon_against_dp_accounting(m, delta):
    # dp_accounting's pessimistic PLD of one Gaussian is an upper bound of
    # the exact curve; ours is the exact curve: below it, and close.
    ref = pld_lib.from_gaussian_mechanism(
        standard_deviation=m, pessimistic_estimate=True
    ).get_epsilon_for_delta(delta)
    got = gaussian_epsilon(m, delta)
    assert got <= ref <= got * 1.001 + 1e-4


def test_gaussian_epsilon_beats_the_zcdp_conversion():
    m = 3.0
    assert gaussian_epsilon(m, 1e-6) < zcdp_to_approx_dp(1 / (2 * m * m), 1e-6).epsilon


# ----------------------------------------------------------------------- PLD
@pytest.mark.parametrize(
    ("m", "k", "delta"),
    [(5.0, 10, 1e-6), (10.0, 50, 1e-6), (20.0, 100, 1e-5), (2.0, 4, 1e-8)],
)
def test_pld_of_k_gaussians_is_within_0_2_percent_of_the_closed_form_above_it(
    m, k, delta
):
    # k Gaussians with multiplier m are one Gaussian with multiplier m / sqrt(k)
    exact = exact_gaussian_epsilon(m / math.sqrt(k), delta)
    profile = compose([NoiseEvent("gaussian", m)] * k, method="pld")
    eps = profile.epsilon(delta)
    assert exact <= eps <= exact * 1.002
    # and δ at that ε is an upper bound of the exact δ there, and close to δ
    d = profile.delta(float(exact))
    assert d >= exact_gaussian_delta(m / math.sqrt(k), exact)
    assert d <= delta * 1.01
    # RDP and zCDP are looser (never below the exact ε either)
    assert compose([NoiseEvent("gaussian", m)] * k, method="rdp").epsilon(delta) > eps
    assert compose([NoiseEvent("gaussian", m)] * k, method="zcdp").epsilon(delta) > eps


def test_pld_of_pure_releases_is_kov_and_far_below_basic():
    # 100 releases of eps = 0.1: PLD composes their dominating pair (randomised
    # response), which is exactly KOV's optimal composition
    costs = [PureDP(0.1)] * 100
    pld = compose(costs, method="pld").epsilon(1e-6)
    kov = kov_epsilon(0.1, 100, 1e-6)
    assert pld >= kov * (1 - 1e-9)
    assert pld <= kov * 1.002
    assert compose(costs, method="basic").epsilon(1e-6) == pytest.approx(10.0)
    assert pld < 5.0


def test_laplace_events_are_composed_as_their_pure_epsilon():
    # a Laplace event in PLD is (1/m)-DP randomised response, the worst case
    # for every reading (the discrete Laplace at one grid unit is exactly it)
    a = compose([NoiseEvent("laplace", 10.0)] * 30, method="pld").epsilon(1e-6)
    b = compose([PureDP(0.1)] * 30, method="pld").epsilon(1e-6)
    assert a == b
    exact = pld_lib.from_laplace_mechanism(10.0).self_compose(30)
    assert a >= exact.get_epsilon_for_delta(1e-6)


def test_pld_refuses_zcdp_costs():
    with pytest.raises(UnsupportedCompositionError, match=r"pld"):
        compose([ZCDP(0.1)], method="pld")
    with pytest.raises(UnsupportedCompositionError):
        compose([ApproxZCDP(0.1, 1e-7)], method="basic")


# ---------------------------------------------------------------- subsampling
def test_poisson_subsampled_is_the_closed_form_rounded_up():
    q, eps = 0.01, 1.0
    exact = mpmath.log(1 + q * (mpmath.e - 1))
    got = poisson_subsampled(PureDP(eps), q)
    assert isinstance(got, PureDP)
    assert exact <= got.epsilon <= exact * (1 + 1e-14)
    approx = poisson_subsampled(ApproxDP(eps, 1e-6), q)
    assert approx.delta >= 1e-8
    assert approx.delta == pytest.approx(1e-8, rel=1e-15)
    assert poisson_subsampled(PureDP(eps), 1.0) == PureDP(eps)
    with pytest.raises(InvalidParameterError, match=r"rate"):
        poisson_subsampled(PureDP(1.0), 1.5)


def test_pld_of_a_subsampled_gaussian_is_between_optimistic_and_pessimistic():
    m, q, k = 1.0, 0.01, 200
    got = compose([Subsampled(NoiseEvent("gaussian", m), q)] * k).epsilon(1e-5)
    lower = (
        pld_lib.from_gaussian_mechanism(m, pessimistic_estimate=False, sampling_prob=q)
        .self_compose(k)
        .get_epsilon_for_delta(1e-5)
    )
    # the gap is the discretisation of both (1e-4 in the privacy loss)
    assert lower <= got <= lower * 1.02
    # far below the same releases without subsampling
    assert got < compose([NoiseEvent("gaussian", m)] * k).epsilon(1e-5) / 10


def test_subsampled_gaussian_needs_pld():
    for method in ("zcdp", "rdp", "basic"):
        with pytest.raises(UnsupportedCompositionError):
            compose([Subsampled(NoiseEvent("gaussian", 1.0), 0.1)], method=method)
    basic = compose([Subsampled(PureDP(1.0), 0.1)] * 3, method="basic")
    assert basic.epsilon(0.0) == pytest.approx(3 * math.log1p(0.1 * math.expm1(1.0)))


# ------------------------------------------------------------------------ KOV
@pytest.mark.parametrize(
    ("eps", "k", "eps_g"),
    [(0.1, 100, 2.0), (0.5, 20, 3.0), (1.0, 5, 0.5), (0.01, 1000, 0.5)],
)
def test_kov_delta_is_exact_rounded_up(eps, k, eps_g):
    exact = exact_kov_delta(eps, k, eps_g)
    got = kov_delta(eps, k, eps_g)
    assert got >= exact
    assert got <= exact * (1 + 1e-8)
    # dp_accounting's PLD of randomised response composed k times is the same
    ref = (
        pld_lib.from_privacy_parameters(DifferentialPrivacyParameters(eps, 0.0))
        .self_compose(k)
        .get_delta_for_epsilon(eps_g)
    )
    assert ref == pytest.approx(float(exact), rel=1e-6)


def test_kov_epsilon_is_the_smallest_epsilon_within_delta():
    eps = kov_epsilon(0.1, 100, 1e-6)
    assert exact_kov_delta(0.1, 100, eps) <= 1e-6
    assert exact_kov_delta(0.1, 100, eps * (1 - 1e-9)) > 1e-6 * (1 - 1e-6)


def test_kov_with_a_delta_per_mechanism():
    d = kov_delta(0.1, 10, 0.5, delta=1e-7)
    exact = 1 - (1 - mpmath.mpf(1e-7)) ** 10 * (1 - exact_kov_delta(0.1, 10, 0.5))
    assert exact <= d <= exact * (1 + 1e-9)
    with pytest.raises(InvalidParameterError, match=r"delta_total"):
        kov_epsilon(0.1, 10, 1e-7, delta=1e-7)


# ------------------------------------------------------------- other methods
def test_rdp_and_zcdp_profiles_match_the_conversions():
    events = [NoiseEvent("gaussian", 4.0)] * 7
    rdp = compose(events, method="rdp").epsilon(1e-6)
    ref = rdp_to_approx_dp(
        DEFAULT_ORDERS, [7 * r for r in gaussian_rdp(4.0)], 1e-6
    ).epsilon
    assert rdp == pytest.approx(ref, rel=1e-12)
    exact = min(
        7 * mpmath.mpf(a) / 32
        + mpmath.log1p(-1 / mpmath.mpf(a))
        - (mpmath.log(mpmath.mpf(1e-6)) + mpmath.log(a)) / (mpmath.mpf(a) - 1)
        for a in DEFAULT_ORDERS
    )
    assert rdp >= exact
    z = compose(events, method="zcdp").epsilon(1e-6)
    assert z == zcdp_to_approx_dp(7 / 32, 1e-6).epsilon


def test_profile_delta_and_epsilon_are_inverse_and_one_sided():
    for method in ("pld", "rdp", "zcdp"):
        p = compose([NoiseEvent("gaussian", 3.0)] * 3, method=method)
        eps = p.epsilon(1e-6)
        assert p.delta(eps) <= 1e-6 * 1.01
        # never below the exact curve of the composition (one Gaussian, m/sqrt 3)
        assert p.delta(eps) >= exact_gaussian_delta(3.0 / math.sqrt(3), eps)


def test_approximate_zcdp_profile_spends_its_delta_first():
    p = compose([ApproxDP(0.1, 4e-6), ZCDP(0.01)], method="zcdp")
    assert p.epsilon(4e-6) == math.inf
    assert p.epsilon(1e-5) == zcdp_to_approx_dp(0.015, 6e-6).epsilon
    assert p.delta(10.0) >= 4e-6


def test_compose_refuses_bad_input():
    with pytest.raises(InvalidParameterError, match=r"method"):
        compose([PureDP(1.0)], method="fancy")
    with pytest.raises(InvalidParameterError, match=r"events"):
        compose(["nonsense"])
    with pytest.raises(InvalidParameterError, match=r"`event`"):
        compose([(PureDP(0.1), NoiseEvent("laplace", 1.0))])  # weaker event


# ---------------------------------------------------------- accountant queries
def test_accountant_queries_use_its_own_mode_by_default():
    basic = Accountant(epsilon=10.0)
    z = Accountant(epsilon=10.0, delta=1e-5, accounting="zcdp")
    r = Accountant(epsilon=10.0, delta=1e-5, accounting="rdp")
    for acc in (basic, z, r):
        for _ in range(40):
            acc.spend(PureDP(0.05), event=NoiseEvent("laplace", 20.0))
    assert basic.epsilon_at(1e-6) == pytest.approx(2.0)
    assert basic.epsilon_at(1e-6) == basic.spent.epsilon
    assert z.epsilon_at(1e-5) == zcdp_to_approx_dp(z.spent.rho, 1e-5).epsilon
    assert r.epsilon_at(1e-5) == pytest.approx(r.spent.epsilon, rel=1e-12)
    # PLD of the same receipts is tighter than all three
    tight = basic.epsilon_at(1e-5, method="pld")
    assert tight < min(z.epsilon_at(1e-5), r.epsilon_at(1e-5), 2.0)
    assert tight >= kov_epsilon(0.05, 40, 1e-5) * (1 - 1e-9)
    assert basic.delta_at(2.0) == 0.0
    assert basic.delta_at(1.0, method="pld") <= 1e-3


def test_accountant_pld_uses_the_cost_of_gaussian_receipts():
    # A receipt's Gaussian event does not say which (discrete) reading it
    # is, so PLD composes its (eps, delta) cost, never the continuous curve.
    acc = Accountant(epsilon=100.0, delta=1e-3)
    cost = ApproxDP(1.0, 1e-6)
    for _ in range(5):
        acc.spend(cost, event=NoiseEvent("gaussian", 5.0))
    assert acc.epsilon_at(1e-3, method="pld") == compose([cost] * 5).epsilon(1e-3)


# ---------------------------------------------------------------------- batch
def test_batch_charges_one_pld_cost():
    acc = Accountant(epsilon=4.0, delta=1e-6)
    dashboard = [PureDP(0.1)] * 50
    with acc.batch(dashboard, delta=1e-7, label="refresh") as receipt:
        pass
    expected = compose(dashboard).epsilon(1e-7)
    assert receipt.cost == ApproxDP(expected, 1e-7)
    assert expected < 5.0  # basic composition of the same batch does not fit
    assert receipt.parameters["batch"] == {
        "method": "pld",
        "releases": 50,
        "delta": 1e-7,
    }
    assert acc.spent == ApproxDP(expected, 1e-7)
    assert [r.label for r in acc.receipts] == ["refresh"]


def test_a_failed_batch_spends_nothing_and_a_refused_one_does_not_run():
    acc = Accountant(epsilon=1.0, delta=1e-6)
    with pytest.raises(RuntimeError), acc.batch([PureDP(0.1)] * 5, delta=1e-7):
        raise RuntimeError("a statistic failed")
    assert acc.spent.epsilon == 0.0
    ran = []
    with pytest.raises(BudgetExceededError), acc.batch([PureDP(0.5)] * 5, delta=1e-7):
        ran.append(1)
    assert ran == []
    assert acc.receipts == ()


def test_batch_in_a_zcdp_accountant_is_approximate_zcdp():
    acc = Accountant(epsilon=8.0, delta=1e-5, accounting="zcdp")
    with acc.batch([PureDP(0.05)] * 20, delta=1e-7) as receipt:
        pass
    e = receipt.cost.epsilon
    assert isinstance(acc.spent, ApproxZCDP)
    assert acc.spent.rho == pytest.approx(e * e / 2, rel=1e-15)
    assert acc.spent.rho >= e * e / 2
    assert acc.spent.delta == 1e-7


def test_batch_refuses_bad_input():
    acc = Accountant(epsilon=1.0, delta=1e-6)
    with pytest.raises(InvalidParameterError, match=r"releases"):
        acc.batch([], delta=1e-7)
    with pytest.raises(InvalidParameterError, match=r"delta"):
        acc.batch([ApproxDP(0.1, 1e-7)] * 3, delta=0.0)  # no finite eps at 0
    rdp = Accountant(epsilon=1.0, delta=1e-6, accounting="rdp")
    with pytest.raises(UnsupportedCompositionError):
        rdp.batch([PureDP(0.1)] * 3, delta=1e-7).__enter__()
    assert rdp.receipts == ()


def test_pld_without_dp_accounting_names_the_extra(monkeypatch):
    import sys

    from loopkit_privacy.errors import OptionalDependencyError

    monkeypatch.setitem(sys.modules, "dp_accounting.pld", None)
    with pytest.raises(OptionalDependencyError, match=r"loopkit_privacy\[pld\]"):
        compose([PureDP(0.1)], method="pld")
    # the other methods need nothing
    assert compose([PureDP(0.1)], method="zcdp").epsilon(1e-6) > 0
