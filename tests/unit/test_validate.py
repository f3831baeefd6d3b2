"""Validation helpers: one rule each, named parameter, value in the message."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import loopkit_privacy as lp
from loopkit_privacy import _validate as v

NOT_POSITIVE = [0, 0.0, -0.0, -1, -1e-300, math.nan, math.inf, -math.inf]
NOT_REAL = [True, False, "1.0", None, 1 + 0j, [1.0], b"1"]


@pytest.mark.parametrize("bad", NOT_POSITIVE)
def test_check_positive_rejects(bad):
    with pytest.raises(
        lp.InvalidParameterError, match=r"`sensitivity` must be a finite number > 0"
    ) as info:
        v.check_positive(bad, "sensitivity")
    assert info.value.parameter == "sensitivity"
    assert info.value.value is bad or (isinstance(bad, float) and math.isnan(bad))


@pytest.mark.parametrize("bad", NOT_REAL)
def test_check_positive_rejects_non_reals(bad):
    with pytest.raises(
        lp.InvalidParameterError, match=r"`scale` must be a real number, got"
    ) as info:
        v.check_positive(bad, "scale")
    assert info.value.parameter == "scale"


@pytest.mark.parametrize(
    "good", [1, 0.5, 1e-300, np.float32(2.0), np.int64(3), Fraction(1, 3)]
)
def test_check_positive_accepts_real_numbers(good):
    out = v.check_positive(good, "x")
    assert isinstance(out, float)
    assert out == float(good)


def test_check_epsilon_warns_above_five():
    assert (
        v.check_epsilon(5.0) == 5.0
    )  # at the limit: no warning (filterwarnings=error)
    with pytest.warns(lp.PrivacyWarning, match=r"`epsilon`=6\.0 is larger than 5\.0"):
        assert v.check_epsilon(6.0) == 6.0


@pytest.mark.parametrize("bad", [*NOT_POSITIVE, *NOT_REAL])
def test_check_epsilon_rejects(bad):
    with pytest.raises(lp.InvalidParameterError, match=r"`epsilon` must be") as info:
        v.check_epsilon(bad)
    assert info.value.parameter == "epsilon"


@pytest.mark.parametrize("bad", [0.0, -1e-9, 1.0, 1.5, math.nan, math.inf, -math.inf])
def test_check_delta_rejects(bad):
    with pytest.raises(
        lp.InvalidParameterError, match=r"`delta` must be a finite number in \(0, 1\)"
    ) as info:
        v.check_delta(bad)
    assert info.value.parameter == "delta"


@pytest.mark.parametrize("bad", [True, "1e-6", None])
def test_check_delta_rejects_non_reals(bad):
    with pytest.raises(
        lp.InvalidParameterError, match=r"`delta` must be a real number"
    ):
        v.check_delta(bad)


def test_check_delta_allow_zero():
    assert v.check_delta(0.0, allow_zero=True) == 0.0
    assert v.check_delta(1e-9) == 1e-9
    with pytest.raises(lp.InvalidParameterError, match=r"in \[0, 1\)"):
        v.check_delta(1.0, allow_zero=True)
    with pytest.raises(lp.InvalidParameterError, match=r"in \[0, 1\)"):
        v.check_delta(-1e-300, allow_zero=True)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 1.5, math.nan, math.inf, True, "0.95"])
def test_check_level_rejects(bad):
    with pytest.raises(lp.InvalidParameterError, match=r"`level` must be") as info:
        v.check_level(bad)
    assert info.value.parameter == "level"


def test_check_rho():
    assert v.check_rho(0.5) == 0.5
    with pytest.raises(
        lp.InvalidParameterError, match=r"`rho` must be a finite number > 0, got 0"
    ):
        v.check_rho(0)


@pytest.mark.parametrize("bad", [0, -3, 1.0, 2.5, True, "3", None])
def test_check_positive_int_rejects(bad):
    with pytest.raises(
        lp.InvalidParameterError, match=r"`dimension` must be an integer >= 1"
    ):
        v.check_positive_int(bad, "dimension")


def test_check_positive_int_accepts_numpy_integers():
    assert v.check_positive_int(np.int32(4), "n") == 4
    assert type(v.check_positive_int(np.int64(4), "n")) is int


@pytest.mark.parametrize(
    "bad",
    [
        (1.0, 1.0),
        (2.0, 1.0),
        (0.0, math.inf),
        (math.nan, 1.0),
        (0.0,),
        5.0,
        (0, 1, 2),
        ("a", "b"),
    ],
)
def test_check_bounds_rejects(bad):
    with pytest.raises(lp.InvalidParameterError, match=r"`bounds` must be") as info:
        v.check_bounds(bad)
    assert info.value.parameter == "bounds"


def test_check_bounds_accepts():
    assert v.check_bounds((0, 10)) == (0.0, 10.0)
    assert v.check_bounds([-1.5, 2]) == (-1.5, 2.0)


class TestCheckNumericArray:
    def test_integers_become_int64(self):
        for dtype in (np.int8, np.int32, np.uint16, np.uint64):
            out = v.check_numeric_array(np.array([1, 2], dtype=dtype))
            assert out.dtype == np.int64
            assert out.tolist() == [1, 2]

    def test_floats_become_float64(self):
        out = v.check_numeric_array(np.array([1.5], dtype=np.float32))
        assert out.dtype == np.float64
        assert v.check_numeric_array(2.5).shape == ()

    def test_large_unsigned_refused(self):
        with pytest.raises(
            lp.InvalidParameterError, match=r"unsigned values above 2\*\*63 - 1"
        ):
            v.check_numeric_array(np.array([2**63], dtype=np.uint64))

    @pytest.mark.parametrize(
        "bad",
        [
            np.array([True, False]),
            np.array(["a"]),
            np.array([1 + 1j]),
            np.array([None, 1], dtype=object),
            "12",
            [1, "a"],
            2**70,
        ],
    )
    def test_non_numeric_refused(self, bad):
        with pytest.raises(
            lp.InvalidParameterError, match=r"`value` must be numeric"
        ) as info:
            v.check_numeric_array(bad)
        assert info.value.parameter == "value"
        assert not isinstance(info.value, lp.NonFiniteValueError)

    @pytest.mark.parametrize("bad_value", [math.nan, math.inf, -math.inf])
    def test_non_finite_refused_with_position(self, bad_value):
        arr = np.array([[1.0, 2.0], [bad_value, 4.0]])
        with pytest.raises(
            lp.NonFiniteValueError,
            match=r"`scores` contains 1 NaN or infinite value\(s\) \(first at flat index 2\)",
        ) as info:
            v.check_numeric_array(arr, "scores")
        assert info.value.count == 1
        assert info.value.first_index == 2
        assert info.value.parameter == "scores"
        assert isinstance(info.value, lp.InvalidParameterError)

    def test_counts_all_non_finite(self):
        with pytest.raises(
            lp.NonFiniteValueError,
            match=r"`value` contains 3 NaN or infinite value\(s\) \(first at flat index 1\)",
        ) as info:
            v.check_numeric_array([1.0, math.nan, math.inf, 0.0, -math.inf])
        assert info.value.count == 3
        assert info.value.first_index == 1
