"""Confidence-interval coverage of the additive mechanisms.

For each mechanism, N releases (coordinates of one vector release, and
separately single releases) are checked against the interval
``value ± half_width`` at level 0.95:
* coverage >= level - t, with t the binomial lower quantile at ALPHA for
  n trials at probability ``level`` (valid intervals fail with prob <= ALPHA);
* the interval one unit narrower (one grid step, or 1 for integers) covers
  less than level + t', t' the upper quantile at ALPHA: the half-width is the
  smallest valid one, up to sampling error.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import loopkit_privacy as lp
from tests._rng import seeded_rng
from tests.statistical import ALPHA

pytestmark = pytest.mark.statistical

N_VECTOR = 10**5
N_SCALAR = 1500
LEVEL = 0.95


def _lower(n: int, p: float) -> float:
    return float(stats.binom.ppf(ALPHA, n, p)) / n


def _upper(n: int, p: float) -> float:
    return float(stats.binom.isf(ALPHA, n, p)) / n


MECHANISMS = [
    pytest.param(
        lambda d, s: lp.LaplaceMechanism(sensitivity=s, epsilon=1.0, dimension=d),
        False,
        id="laplace",
    ),
    pytest.param(
        lambda d, s: lp.GaussianMechanism(
            sensitivity=s, epsilon=1.0, delta=1e-6, dimension=d
        ),
        False,
        id="gaussian",
    ),
    pytest.param(
        lambda d, s: lp.GaussianMechanism(sensitivity=s, rho=0.5, dimension=d),
        False,
        id="gaussian-zcdp",
    ),
    pytest.param(
        lambda d, s: lp.GeometricMechanism(sensitivity=s, epsilon=1.0, dimension=d),
        True,
        id="geometric",
    ),
    pytest.param(
        lambda d, s: lp.DiscreteGaussianMechanism(sensitivity=s, rho=0.5, dimension=d),
        True,
        id="discrete-gaussian",
    ),
]


def _check(errors: np.ndarray, half_width: float, unit: float, label: str) -> None:
    n = errors.size
    inside = float(np.mean(errors <= half_width))
    assert inside >= _lower(n, LEVEL), (
        f"{label}: coverage {inside:.4f} < {LEVEL} (n={n}); alpha={ALPHA}"
    )
    narrower = float(np.mean(errors <= half_width - unit))
    assert narrower < _upper(n, LEVEL), (
        f"{label}: an interval one unit narrower still covers {narrower:.4f} (n={n}); "
        f"half-width not the smallest; alpha={ALPHA}"
    )


@pytest.mark.parametrize(("make", "integer"), MECHANISMS)
@pytest.mark.parametrize("sensitivity", [1, 3])
def test_vector_coverage(make, integer, sensitivity):
    mech = make(N_VECTOR, sensitivity)
    # With the sensitivity covering the whole vector, the noise per
    # coordinate is large; the truth is arbitrary (here a ramp).
    x = np.arange(N_VECTOR) - N_VECTOR // 2
    if not integer:
        x = x * 0.37
    r = mech.release(x, rng=seeded_rng(sensitivity))
    lo, hi = r.confidence_interval()
    assert r.confidence == LEVEL
    assert np.array_equal(hi - lo, np.full(N_VECTOR, 2 * r.half_width))
    unit = 1.0 if integer else mech.granularity
    _check(np.abs(r.value - x), r.half_width, unit, f"{mech.name} vector")


@pytest.mark.parametrize(("make", "integer"), MECHANISMS)
def test_scalar_coverage(make, integer):
    mech = make(1, 1)
    rng = seeded_rng(42)
    x = 17 if integer else 17.25
    values = np.array(
        [mech.release(x, rng=rng).value for _ in range(N_SCALAR)], dtype=float
    )
    unit = 1.0 if integer else mech.granularity
    _check(np.abs(values - x), mech.accuracy(LEVEL), unit, f"{mech.name} scalar")


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 3.0])
def test_geometric_small_scale_tightness(epsilon):
    # At small scales one unit matters: P(|Z| <= h) >= 0.95 > P(|Z| <= h-1)
    # differ by several percent, which 10**5 draws resolve.
    mech = lp.GeometricMechanism(sensitivity=1, epsilon=epsilon, dimension=N_VECTOR)
    r = mech.release(np.zeros(N_VECTOR, dtype=np.int64), rng=seeded_rng(9))
    _check(
        np.abs(r.value).astype(float), r.half_width, 1.0, f"geometric epsilon={epsilon}"
    )
    for confidence in (0.5, 0.99):
        hw = mech.accuracy(confidence)
        inside = float(np.mean(np.abs(r.value) <= hw))
        assert inside >= _lower(N_VECTOR, confidence), (
            f"coverage {inside:.4f} < {confidence}; alpha={ALPHA}"
        )
