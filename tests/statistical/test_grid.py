"""Real-valued mechanisms release only grid points, whatever the input.

Mironov (2012): the low bits of ``x + floating-point noise`` reveal ``x``.
Here every output must be an exact multiple of the mechanism's declared
granularity g, so the set of reachable outputs is g·ℤ for every input, and
the noise law (output - input, for inputs on the grid) must not depend on
the input. Inputs 0 and 1, and 2**52 and 2**52 + 1 (from 2**52 up every
float is an integer, so outputs there must be integers too; below 2**52 the
float sum may land on a half, which is still a multiple of g when g <= 1/2).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import loopkit_privacy as lp
from tests._rng import seeded_rng
from tests.statistical import ALPHA

pytestmark = pytest.mark.statistical

N = 10**5
N_SCALAR = 500  # one release per call (dimension 1), the common case


def _laplace(sensitivity, dimension):
    return lp.LaplaceMechanism(
        sensitivity=sensitivity, epsilon=1.0, dimension=dimension
    )


def _gaussian(sensitivity, dimension):
    return lp.GaussianMechanism(
        sensitivity=sensitivity, epsilon=1.0, delta=1e-6, dimension=dimension
    )


# Sensitivities: 1 (fine grid), and large enough that g >= 1 with N coordinates
# (Laplace: g = 2**(floor(log2(Δ/N)) - 20); Gaussian: 2**(floor(log2(Δ/√N)) - 12)).
CASES = [
    pytest.param(_laplace, 1.0, id="laplace-fine"),
    pytest.param(_laplace, 2.0**37 * 1.5, id="laplace-coarse"),
    pytest.param(_gaussian, 1.0, id="gaussian-fine"),
    pytest.param(_gaussian, 2.0**21 * 1.5, id="gaussian-coarse"),
]


def _two_sample_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """Chi-square test that two samples of grid steps come from one law."""
    edges = np.unique(np.quantile(np.concatenate([a, b]), np.linspace(0, 1, 51)))
    ca = np.histogram(a, edges)[0]
    cb = np.histogram(b, edges)[0]
    keep = (ca + cb) > 0
    return float(stats.chi2_contingency(np.vstack([ca[keep], cb[keep]])).pvalue)


def _on_grid(out: np.ndarray, g: float) -> bool:
    return bool((np.fmod(out, g) == 0.0).all())


@pytest.mark.parametrize(("make", "sensitivity"), CASES)
@pytest.mark.parametrize(
    "pair", [(0.0, 1.0), (2.0**52, 2.0**52 + 1)], ids=["small", "2**52"]
)
def test_outputs_on_grid_and_input_free(make, sensitivity, pair):
    mech = make(sensitivity, N)
    g = mech.granularity
    assert math.frexp(g)[0] == 0.5, "granularity must be a power of two"
    diffs = []
    for seed, x in enumerate(pair):
        out = mech.release(np.full(N, x), rng=seeded_rng(100 + seed)).value
        assert _on_grid(out, g), f"input {x}: an output is not a multiple of g={g}"
        high = out[out >= 2.0**52]
        assert (np.floor(high) == high).all(), "outputs from 2**52 up must be integers"
        if x >= 2.0**52:
            assert high.size > N // 4
        # The input is rounded to the grid first (exactly, below 2**52·g;
        # above, every float is already a multiple of g).
        xr = x if abs(x) >= 2.0**52 * g else round(x / g) * g
        steps = (out - xr) / g
        assert (steps == np.rint(steps)).all(), (
            "output - rounded input must be whole grid steps"
        )
        diffs.append(steps)
    if pair[0] < 2.0**52 or g >= 1.0:
        # Both inputs lie on the grid: the noise law is the same for both.
        p = _two_sample_pvalue(*diffs)
        assert p >= ALPHA, (
            f"noise law differs between inputs {pair} (p={p:.3g}); alpha={ALPHA}"
        )


@pytest.mark.parametrize("make", [_laplace, _gaussian])
@pytest.mark.parametrize("sensitivity", [1.0, 2.0**20])
def test_scalar_releases_on_grid(make, sensitivity):
    mech = make(sensitivity, 1)
    g = mech.granularity
    if sensitivity == 2.0**20:
        assert g >= 1.0 or make is _gaussian
    rng = seeded_rng(7)
    for x in (0.0, 1.0, 0.1, -12.345, 2.0**52, 2.0**52 + 1):
        outs = np.array([mech.release(x, rng=rng).value for _ in range(N_SCALAR // 5)])
        assert _on_grid(outs, g), f"input {x}: output off the grid g={g}"
        high = outs[outs >= 2.0**52]
        assert (np.floor(high) == high).all()


@pytest.mark.parametrize(("make", "sensitivity"), CASES)
def test_off_grid_input_does_not_leak_its_low_bits(make, sensitivity):
    # x = 0.1 is not on the grid: outputs still lie on g·ℤ (not on 0.1 + g·ℤ),
    # and the noise around round(x) has the same law as around 0.
    mech = make(sensitivity, N)
    g = mech.granularity
    x = 0.1 if g < 0.1 else 0.1 * g
    out = mech.release(np.full(N, x), rng=seeded_rng(300)).value
    assert _on_grid(out, g)
    base = mech.release(np.zeros(N), rng=seeded_rng(301)).value
    p = _two_sample_pvalue((out - round(x / g) * g) / g, base / g)
    assert p >= ALPHA, (
        f"noise law around an off-grid input differs (p={p:.3g}); alpha={ALPHA}"
    )
