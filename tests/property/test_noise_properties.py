"""Hypothesis: sampler invariants (rounding, shapes, exact replay, kernel == reference)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopkit_privacy import noise
from loopkit_privacy._kernels import sampling as k
from tests import reference as ref
from tests._rng import seeded_rng

laplace_scales = st.floats(
    min_value=noise.MIN_SCALE, max_value=noise.MAX_LAPLACE_SCALE, allow_nan=False
)
gaussian_sigmas = st.floats(
    min_value=noise.MIN_SCALE, max_value=noise.MAX_GAUSSIAN_SIGMA, allow_nan=False
)
moderate = st.floats(min_value=0.05, max_value=1e5, allow_nan=False)
shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)
seeds = st.integers(0, 2**32)


@given(laplace_scales)
def test_laplace_scale_rounds_up_tightly(b):
    p = noise.discrete_laplace_parameters(b)
    exact = Fraction(p.t, 2**p.m)
    assert exact >= Fraction(b)
    assert exact / Fraction(b) - 1 < Fraction(1, 2**29)
    assert p.scale == float(exact)


@given(gaussian_sigmas)
def test_gaussian_variance_rounds_up(sigma):
    p = noise.discrete_gaussian_parameters(sigma)
    assert Fraction(p.t * p.c, 2**p.k) >= Fraction(sigma) ** 2
    assert p.variance >= sigma**2
    assert p.sigma >= sigma


@given(st.floats(min_value=1.0, max_value=noise.MAX_GAUSSIAN_SIGMA, allow_nan=False))
def test_gaussian_variance_tight_from_one(sigma):
    p = noise.discrete_gaussian_parameters(sigma)
    assert Fraction(p.t * p.c, 2**p.k) / Fraction(sigma) ** 2 - 1 < Fraction(1, 2**24)


@given(moderate, shapes, seeds)
@settings(max_examples=50)
def test_shapes_and_dtypes(scale, shape, seed):
    for sampler in (noise.sample_discrete_laplace, noise.sample_discrete_gaussian):
        x = sampler(scale, size=shape, rng=seeded_rng(seed))
        assert x.shape == shape
        assert x.dtype == np.int64
    assert type(noise.sample_discrete_laplace(scale, rng=seeded_rng(seed))) is int


@given(
    st.sampled_from(["laplace", "gaussian"]),
    moderate,
    st.integers(1, 40),
    seeds,
    st.integers(1, 80),
)
@settings(max_examples=40)
def test_replay_with_any_buffer_size_is_exact(kind, scale, chunk, seed, n):
    sampler = (
        noise.sample_discrete_laplace
        if kind == "laplace"
        else noise.sample_discrete_gaussian
    )
    big = sampler(scale, size=n, rng=seeded_rng(seed))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(noise, "_CHUNK_WORDS", chunk)
        small = sampler(scale, size=n, rng=seeded_rng(seed))
    np.testing.assert_array_equal(small, big)


@given(st.floats(min_value=noise.MIN_SCALE, max_value=2.0**35), seeds)
@settings(max_examples=40)
def test_laplace_kernel_equals_reference(scale, seed):
    p = noise.discrete_laplace_parameters(scale)
    words = seeded_rng(seed).words(4000)
    st_, out = np.zeros(4, dtype=np.int64), np.empty(30, dtype=np.int64)
    filled = k.discrete_laplace_fill(
        np.array([p.t]), np.array([p.m]), words, st_, out, 0
    )
    try:
        expected, stream = ref.discrete_laplace_fill([p.t] * 30, [p.m], words)
    except ref.Exhausted:
        assert filled < 30
        return
    assert filled == 30
    assert out.tolist() == expected
    assert st_[0] == stream.pos


@given(st.floats(min_value=noise.MIN_SCALE, max_value=2.0**25), seeds)
@settings(max_examples=40)
def test_gaussian_kernel_equals_reference(sigma, seed):
    p = noise.discrete_gaussian_parameters(sigma)
    words = seeded_rng(seed).words(8000)
    st_, out = np.zeros(4, dtype=np.int64), np.empty(30, dtype=np.int64)
    cols = (np.array([p.t]), np.array([p.c]), np.array([p.k]))
    filled = k.discrete_gaussian_fill(*cols, words, st_, out, 0)
    try:
        expected, stream = ref.discrete_gaussian_fill([p.t], [p.c], [p.k] * 30, words)
    except ref.Exhausted:
        assert filled < 30
        return
    assert filled == 30
    assert out.tolist() == expected
    assert st_[0] == stream.pos
