"""Exact samplers against their exact pmfs (chi-square), with a power check.

Each case draws SAMPLE_SIZE = 10**6 samples and
* accepts the exact pmf of the *effective* (rounded-up) parameter: fails only
  at p < ALPHA = 1e-6;
* rejects (p < ALPHA) the pmf with the scale multiplied by 0.95 and by 1.05.
  At 10**6 draws the non-centrality of the 5% alternatives is above 2000 in
  every case (computed from the exact pmfs), so the rejection fails with
  probability far below 1e-100: deterministic in practice.
Bins are equal-probability unions of integers (at most 400), with tail bins
merged until every expected count is at least 5.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from loopkit_privacy import noise
from tests import reference as ref
from tests._rng import seeded_rng
from tests.statistical import ALPHA, SAMPLE_SIZE, SCALE_PERTURBATION
from tests.statistical._chisq import chisquare_pvalue

pytestmark = pytest.mark.statistical

SCALES = [0.5, 1.0, 10.0, 10.0**4]


def _check(sample, support, pmf_for, true_param, label):
    p_true, dof = chisquare_pvalue(sample, support, pmf_for(true_param))
    assert p_true >= ALPHA, (
        f"{label}: rejected the exact pmf (p={p_true:.3g}, dof={dof}); false-failure rate alpha={ALPHA}"
    )
    for factor in (1 - SCALE_PERTURBATION, 1 + SCALE_PERTURBATION):
        p_alt, dof_alt = chisquare_pvalue(sample, support, pmf_for(true_param * factor))
        assert p_alt < ALPHA, (
            f"{label}: could not tell the scale x{factor} apart (p={p_alt:.3g}, dof={dof_alt}); "
            f"power check at alpha={ALPHA}"
        )


@pytest.mark.parametrize("scale", SCALES)
def test_discrete_laplace(scale):
    sample = noise.sample_discrete_laplace(
        scale, size=SAMPLE_SIZE, rng=seeded_rng(int(scale * 10) + 1)
    )
    b = noise.discrete_laplace_parameters(scale).scale  # the effective scale
    reach = int(60 * b) + 60  # P(|Y| > reach) < exp(-60)
    support = np.arange(-reach, reach + 1)
    _check(
        sample,
        support,
        lambda s: ref.discrete_laplace_pmf(support, s),
        b,
        f"discrete Laplace scale={scale}",
    )


@pytest.mark.parametrize("sigma", SCALES)
def test_discrete_gaussian(sigma):
    sample = noise.sample_discrete_gaussian(
        sigma, size=SAMPLE_SIZE, rng=seeded_rng(int(sigma * 10) + 2)
    )
    var = noise.discrete_gaussian_parameters(sigma).variance  # the effective σ²
    support = ref.discrete_gaussian_support(math.sqrt(var) * (1 + SCALE_PERTURBATION))
    _check(
        sample,
        support,
        lambda s: ref.discrete_gaussian_pmf(support, s * s),
        math.sqrt(var),
        f"discrete Gaussian sigma={sigma}",
    )


def test_per_element_scales_mix():
    # Two scales interleaved in one request: each half has its own law.
    n = SAMPLE_SIZE // 2
    scales = np.tile([1.0, 10.0], n // 2)
    sample = noise.sample_discrete_laplace(scales, size=n, rng=seeded_rng(77))
    for offset, scale in ((0, 1.0), (1, 10.0)):
        part = sample[offset::2]
        reach = int(60 * scale) + 60
        support = np.arange(-reach, reach + 1)
        _check(
            part,
            support,
            lambda s, sup=support: ref.discrete_laplace_pmf(sup, s),
            scale,
            f"per-element scale={scale}",
        )


def test_secure_source_laplace():
    # The default (secure) source feeds the same exact sampler.
    sample = noise.sample_discrete_laplace(3.0, size=SAMPLE_SIZE // 2)
    support = np.arange(-240, 241)
    p, dof = chisquare_pvalue(sample, support, ref.discrete_laplace_pmf(support, 3.0))
    assert p >= ALPHA, (
        f"secure source: rejected the exact pmf (p={p:.3g}, dof={dof}); alpha={ALPHA}"
    )


def test_discrete_laplace_is_symmetric_and_centred():
    sample = noise.sample_discrete_laplace(2.0, size=SAMPLE_SIZE, rng=seeded_rng(5))
    # Var = 2q/(1-q)² for q = exp(-1/2); the mean's z-score is below 5.33
    # (two-sided p = 1e-7 < ALPHA) unless the sampler is biased.
    q = math.exp(-0.5)
    sd = math.sqrt(2 * q / (1 - q) ** 2)
    z = sample.mean() / (sd / math.sqrt(sample.size))
    assert abs(z) < 5.33, f"mean z-score {z:.2f}; alpha={ALPHA}"
