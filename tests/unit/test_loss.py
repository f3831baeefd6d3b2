"""Privacy-loss value types: validation, addition, comparison, loss_from."""

from __future__ import annotations

import dataclasses
import math

import pytest

import loopkit_privacy as lp
from loopkit_privacy.loss import ZCDP, ApproxDP, NoiseEvent, PureDP, loss_from


class TestConstruction:
    @pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, True, "1"])
    def test_pure_rejects(self, bad):
        with pytest.raises(
            lp.InvalidParameterError, match=r"`epsilon` must be"
        ) as info:
            PureDP(bad)
        assert info.value.parameter == "epsilon"

    @pytest.mark.parametrize("bad", [-1e-9, 1.0, 2.0, math.nan, math.inf])
    def test_approx_rejects_delta(self, bad):
        with pytest.raises(
            lp.InvalidParameterError,
            match=r"`delta` must be a finite number in \[0, 1\)",
        ) as info:
            ApproxDP(1.0, bad)
        assert info.value.parameter == "delta"

    def test_approx_allows_zero_delta(self):
        assert ApproxDP(1.0, 0.0).delta == 0.0

    @pytest.mark.parametrize("bad", [0.0, -0.5, math.nan, math.inf, False])
    def test_zcdp_rejects(self, bad):
        with pytest.raises(lp.InvalidParameterError, match=r"`rho` must be") as info:
            ZCDP(bad)
        assert info.value.parameter == "rho"

    def test_values_normalised_to_float(self):
        assert type(PureDP(1).epsilon) is float
        assert type(ApproxDP(1, 0).delta) is float
        assert type(ZCDP(2).rho) is float

    def test_frozen(self):
        with pytest.raises(
            dataclasses.FrozenInstanceError, match=r"cannot assign to field 'epsilon'"
        ):
            PureDP(1.0).epsilon = 2.0  # type: ignore[misc]

    def test_repr_reads_like_the_api(self):
        assert repr(PureDP(0.5)) == "PureDP(epsilon=0.5)"
        assert repr(ApproxDP(1.0, 1e-6)) == "ApproxDP(epsilon=1.0, delta=1e-06)"
        assert repr(ZCDP(0.25)) == "ZCDP(rho=0.25)"

    def test_equality_and_hash(self):
        assert PureDP(1.0) == PureDP(1)
        assert hash(PureDP(1.0)) == hash(PureDP(1))
        assert PureDP(1.0) != ApproxDP(1.0, 0.0)
        assert PureDP(1.0).delta == 0.0


class TestAdd:
    def test_pure_plus_pure(self):
        assert PureDP(0.5) + PureDP(0.25) == PureDP(0.75)

    def test_pure_and_approx_mix_both_ways(self):
        assert PureDP(0.5) + ApproxDP(0.5, 1e-6) == ApproxDP(1.0, 1e-6)
        assert ApproxDP(0.5, 1e-6) + PureDP(0.5) == ApproxDP(1.0, 1e-6)

    def test_approx_plus_approx_adds_deltas(self):
        total = ApproxDP(0.5, 1e-6) + ApproxDP(0.25, 2e-6)
        assert total.epsilon == 0.75
        assert total.delta == pytest.approx(3e-6, rel=1e-15)

    def test_zcdp_plus_zcdp(self):
        assert ZCDP(0.125) + ZCDP(0.25) == ZCDP(0.375)

    @pytest.mark.parametrize(
        ("a", "b"),
        [
            (PureDP(1.0), ZCDP(1.0)),
            (ZCDP(1.0), PureDP(1.0)),
            (ApproxDP(1.0, 1e-6), ZCDP(1.0)),
            (ZCDP(1.0), ApproxDP(1.0, 0.0)),
        ],
    )
    def test_cross_family_refused(self, a, b):
        with pytest.raises(
            lp.UnsupportedCompositionError, match=r"cannot add .* use an accountant"
        ):
            a + b

    @pytest.mark.parametrize("other", [1.0, None, "x"])
    def test_non_loss_refused(self, other):
        with pytest.raises(lp.UnsupportedCompositionError, match=r"cannot add"):
            PureDP(1.0) + other

    def test_sum_of_many(self):
        total = PureDP(0.5)
        for _ in range(9):
            total = total + PureDP(0.5)
        assert total.epsilon == pytest.approx(5.0)


class TestCompare:
    def test_pure(self):
        assert PureDP(0.5) <= PureDP(0.5)
        assert PureDP(0.5) <= PureDP(1.0)
        assert not PureDP(1.0) <= PureDP(0.5)

    def test_pure_fits_approx_budget(self):
        assert PureDP(0.5) <= ApproxDP(1.0, 1e-6)
        assert not PureDP(2.0) <= ApproxDP(1.0, 1e-6)

    def test_approx_fits_pure_only_without_delta(self):
        assert ApproxDP(0.5, 0.0) <= PureDP(1.0)
        assert not ApproxDP(0.5, 1e-9) <= PureDP(1.0)

    def test_approx_needs_both_components(self):
        assert ApproxDP(0.5, 1e-7) <= ApproxDP(1.0, 1e-6)
        assert not ApproxDP(0.5, 1e-5) <= ApproxDP(1.0, 1e-6)
        assert not ApproxDP(2.0, 1e-7) <= ApproxDP(1.0, 1e-6)

    def test_zcdp(self):
        assert ZCDP(0.1) <= ZCDP(0.2)
        assert not ZCDP(0.3) <= ZCDP(0.2)

    @pytest.mark.parametrize(
        ("a", "b"),
        [
            (ZCDP(0.1), PureDP(1.0)),
            (PureDP(1.0), ZCDP(1.0)),
            (ApproxDP(1.0, 1e-6), ZCDP(5.0)),
        ],
    )
    def test_cross_family_refused(self, a, b):
        with pytest.raises(lp.UnsupportedCompositionError, match=r"cannot compare"):
            a <= b  # noqa: B015


class TestLossFrom:
    def test_epsilon_alone_is_pure(self):
        assert loss_from(epsilon=1.0) == PureDP(1.0)

    @pytest.mark.parametrize("zero", [0, 0.0])
    def test_zero_delta_is_pure(self, zero):
        assert loss_from(epsilon=1.0, delta=zero) == PureDP(1.0)

    def test_epsilon_and_delta_is_approx(self):
        assert loss_from(epsilon=1.0, delta=1e-6) == ApproxDP(1.0, 1e-6)

    def test_rho_is_zcdp(self):
        assert loss_from(rho=0.5) == ZCDP(0.5)

    def test_both_families_refused(self):
        with pytest.raises(
            lp.InvalidParameterError,
            match=r"give either `rho` \(zCDP\) or `epsilon`/`delta`, not both",
        ) as info:
            loss_from(epsilon=1.0, rho=0.5)
        assert info.value.parameter == "rho"
        with pytest.raises(lp.InvalidParameterError, match=r"not both"):
            loss_from(delta=1e-6, rho=0.5)

    def test_nothing_refused(self):
        with pytest.raises(
            lp.InvalidParameterError, match=r"a privacy parameter is required"
        ) as info:
            loss_from()
        assert info.value.parameter == "epsilon"

    def test_delta_without_epsilon_refused(self):
        with pytest.raises(
            lp.InvalidParameterError, match=r"a privacy parameter is required"
        ):
            loss_from(delta=1e-6)

    @pytest.mark.parametrize(
        ("kwargs", "param"),
        [
            ({"epsilon": -1.0}, "epsilon"),
            ({"epsilon": 1.0, "delta": 1.0}, "delta"),
            ({"epsilon": 1.0, "delta": math.nan}, "delta"),
            ({"rho": math.inf}, "rho"),
            ({"epsilon": True}, "epsilon"),
        ],
    )
    def test_invalid_values(self, kwargs, param):
        with pytest.raises(
            lp.InvalidParameterError, match=f"`{param}` must be"
        ) as info:
            loss_from(**kwargs)
        assert info.value.parameter == param


class TestNoiseEvent:
    def test_valid(self):
        assert NoiseEvent("laplace", 2.0).noise_multiplier == 2.0

    def test_invalid_kind(self):
        with pytest.raises(
            lp.InvalidParameterError, match=r"`kind` must be 'laplace' or 'gaussian'"
        ):
            NoiseEvent("cauchy", 1.0)  # type: ignore[arg-type]

    @pytest.mark.parametrize("bad", [0.0, -1.0, math.nan])
    def test_invalid_multiplier(self, bad):
        with pytest.raises(
            lp.InvalidParameterError, match=r"`noise_multiplier` must be"
        ):
            NoiseEvent("gaussian", bad)
