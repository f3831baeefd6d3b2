"""noise.py: parameter rounding, shapes, validation, and the streamed word buffer."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import loopkit_privacy as lp
from loopkit_privacy import noise
from loopkit_privacy._kernels import sampling as k
from tests import reference as ref
from tests._rng import seeded_rng

SEED = 2024


def _laplace_cols(scales):
    ps = [noise.discrete_laplace_parameters(float(b)) for b in scales]
    return (
        np.array([p.t for p in ps], dtype=np.int64),
        np.array([p.m for p in ps], dtype=np.int64),
    )


def _gaussian_cols(sigmas):
    ps = [noise.discrete_gaussian_parameters(float(s)) for s in sigmas]
    return tuple(
        np.array([getattr(p, f) for p in ps], dtype=np.int64) for f in ("t", "c", "k")
    )


# ---------------------------------------------------------------------------
# Parameter rounding: always up, and tight
# ---------------------------------------------------------------------------

LAPLACE_SCALES = [
    noise.MIN_SCALE,
    1e-3,
    1 / 3,
    0.5,
    0.7,
    1.0,
    math.pi,
    10.0,
    12345.678,
    1e4,
    2.0**31 - 0.5,
    2.0**31 + 0.5,
    1e11,
    noise.MAX_LAPLACE_SCALE,
]


@pytest.mark.parametrize("b", LAPLACE_SCALES)
def test_laplace_scale_rounded_up_and_tight(b):
    p = noise.discrete_laplace_parameters(b)
    exact = Fraction(p.t, 2**p.m)
    assert exact >= Fraction(b), (
        "the effective scale must never be below the requested one"
    )
    assert exact / Fraction(b) - 1 < Fraction(1, 2**29)
    assert p.scale == float(exact)  # the float property is exact
    assert p.scale >= b


@pytest.mark.parametrize("b", [1.0, 2.0, 10.0, 1e4, 3.0 * 2**30, 0.75, 2.0**-10])
def test_laplace_scale_exact_for_dyadic_scales(b):
    assert Fraction(
        noise.discrete_laplace_parameters(b).t,
        2 ** noise.discrete_laplace_parameters(b).m,
    ) == Fraction(b)


def test_laplace_parameters_keep_t_in_range():
    for b in [noise.MIN_SCALE, 0.3, 1.0, 77.7, 2.0**30]:
        p = noise.discrete_laplace_parameters(b)
        assert 2**30 <= p.t < 2**31 or p.m == 0
        assert p.m >= 0


GAUSSIAN_SIGMAS_AT_LEAST_ONE = [
    1.0,
    1.0001,
    1.5,
    1.999,
    2.0,
    math.e,
    3.2,
    10.0,
    123.456,
    4096.0,
    1e6,
    2.0**24 + 0.3,
    2.0**25,
]


@pytest.mark.parametrize("sigma", GAUSSIAN_SIGMAS_AT_LEAST_ONE)
def test_gaussian_variance_rounded_up_and_tight(sigma):
    p = noise.discrete_gaussian_parameters(sigma)
    exact = Fraction(p.t * p.c, 2**p.k)
    target = Fraction(sigma) ** 2
    assert exact >= target
    assert exact / target - 1 < Fraction(1, 2**24)
    assert p.variance >= sigma**2
    assert Fraction(p.variance) >= exact  # the float is rounded up too
    assert p.sigma >= sigma
    assert p.sigma**2 >= p.variance
    assert p.t == math.floor(sigma) + 1


@pytest.mark.parametrize("sigma", [noise.MIN_SCALE, 1e-3, 0.05, 0.1, 0.2, 0.5, 0.9999])
def test_gaussian_variance_rounded_up_below_one(sigma):
    p = noise.discrete_gaussian_parameters(sigma)
    assert Fraction(p.t * p.c, 2**p.k) >= Fraction(sigma) ** 2
    assert p.variance >= sigma**2


@pytest.mark.parametrize("sigma", [0.05, 0.0501, 0.1, 0.2, 0.7, 0.9999])
def test_gaussian_variance_tight_below_one(sigma):
    # Documented: relative error at most 1/c, below 2**-20 for σ >= 0.05.
    p = noise.discrete_gaussian_parameters(sigma)
    rel = Fraction(p.t * p.c, 2**p.k) / Fraction(sigma) ** 2 - 1
    assert rel <= Fraction(1, p.c)
    assert rel < Fraction(1, 2**20), (
        f"relative error {float(rel):.3g} >= 2**-20 for sigma={sigma}"
    )


@pytest.mark.parametrize("sigma", [noise.MIN_SCALE, 1e-3, 0.01, 0.049])
def test_gaussian_variance_error_bounded_below_005(sigma):
    # c = ceil(x) with x = σ²·2**k / t, so the relative error is below 1/x
    # (which is 1/c up to rounding only while x >= 1; at σ = 2**-20, x < 1).
    p = noise.discrete_gaussian_parameters(sigma)
    x = Fraction(sigma) ** 2 * 2**p.k / p.t
    assert 0 <= Fraction(p.t * p.c, 2**p.k) / Fraction(sigma) ** 2 - 1 < 1 / x


def test_gaussian_parameters_keep_products_in_int64():
    for sigma in [noise.MIN_SCALE, 0.5, 1.0, 10.0, 1e3, 1e6, noise.MAX_GAUSSIAN_SIGMA]:
        p = noise.discrete_gaussian_parameters(sigma)
        assert (2 << p.k) * p.t * p.c < 2**56 or p.k == 0
        assert (2 << p.k) * p.t * p.c < 2**63
        assert 0 <= p.k <= 40


# ---------------------------------------------------------------------------
# Shapes, types, validation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sampler", [noise.sample_discrete_laplace, noise.sample_discrete_gaussian]
)
class TestShapes:
    def test_size_none_returns_int(self, sampler):
        x = sampler(3.0, rng=seeded_rng(SEED))
        assert type(x) is int

    @pytest.mark.parametrize("size", [0, 1, 5, (2, 3), (0, 4), (1, 1, 2), np.int64(4)])
    def test_size(self, sampler, size):
        x = sampler(3.0, size=size, rng=seeded_rng(SEED))
        assert isinstance(x, np.ndarray)
        assert x.dtype == np.int64
        expected = (int(size),) if np.ndim(size) == 0 else tuple(size)
        assert x.shape == expected

    def test_negative_size(self, sampler):
        with pytest.raises(
            lp.InvalidParameterError,
            match=r"`size` must be non-negative, got \(2, -1\)",
        ) as info:
            sampler(1.0, size=(2, -1), rng=seeded_rng(SEED))
        assert info.value.parameter == "size"

    def test_parameter_array_must_broadcast(self, sampler):
        with pytest.raises(
            lp.InvalidParameterError,
            match=r"of shape \(3,\) does not broadcast to size \(2,\)",
        ):
            sampler([1.0, 2.0, 3.0], size=2, rng=seeded_rng(SEED))

    def test_parameter_array_broadcasts(self, sampler):
        x = sampler([1.0, 2.0, 3.0], size=(4, 3), rng=seeded_rng(SEED))
        assert x.shape == (4, 3)

    def test_default_source_is_secure(self, sampler):
        x = sampler(2.0, size=3)
        assert x.shape == (3,)


@pytest.mark.parametrize(
    ("sampler", "name", "maximum"),
    [
        (noise.sample_discrete_laplace, "scale", noise.MAX_LAPLACE_SCALE),
        (noise.sample_discrete_gaussian, "sigma", noise.MAX_GAUSSIAN_SIGMA),
    ],
)
class TestParameterValidation:
    @pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, -math.inf, None])
    def test_scalar(self, sampler, name, maximum, bad):
        with pytest.raises(
            lp.InvalidParameterError, match=rf"`{name}` must be"
        ) as info:
            sampler(bad, size=3, rng=seeded_rng(SEED))
        assert info.value.parameter == name

    @pytest.mark.parametrize("bad", [True, "1.0", [1.0, "2.0"], np.array([True, True])])
    def test_non_numbers_refused(self, sampler, name, maximum, bad):
        # Bools and strings are refused like everywhere else in the package
        # (check_positive), not silently converted to 1.0 by np.asarray.
        with pytest.raises(
            lp.InvalidParameterError, match=rf"`{name}` must be"
        ) as info:
            sampler(bad, size=np.shape(bad) or 2, rng=seeded_rng(SEED))
        assert info.value.parameter == name

    def test_nan_inside_array(self, sampler, name, maximum):
        with pytest.raises(
            lp.InvalidParameterError,
            match=rf"`{name}` must be a finite number > 0, got nan",
        ) as info:
            sampler([1.0, math.nan, 2.0], size=3, rng=seeded_rng(SEED))
        assert info.value.parameter == name

    def test_out_of_range(self, sampler, name, maximum):
        with pytest.raises(
            lp.InvalidParameterError,
            match=rf"`{name}` must be in \[.*\] for exact sampling",
        ):
            sampler(noise.MIN_SCALE / 2, size=1, rng=seeded_rng(SEED))
        with pytest.raises(lp.InvalidParameterError, match=rf"`{name}` must be in"):
            sampler(maximum * 2, size=1, rng=seeded_rng(SEED))
        # The limits themselves are accepted.
        assert sampler(noise.MIN_SCALE, size=2, rng=seeded_rng(SEED)).shape == (2,)
        params = (
            noise.discrete_laplace_parameters
            if name == "scale"
            else noise.discrete_gaussian_parameters
        )
        params(maximum)


def test_largest_laplace_scale_samples():
    x = noise.sample_discrete_laplace(
        noise.MAX_LAPLACE_SCALE, size=200, rng=seeded_rng(SEED)
    )
    assert 0.5 < np.abs(x).mean() / noise.MAX_LAPLACE_SCALE < 2.0


@pytest.mark.parametrize("sigma", [2.0**20, 2.0**24, noise.MAX_GAUSSIAN_SIGMA])
def test_large_sigma_samples_use_few_words(sigma):
    # An exact discrete Gaussian sample needs a handful of words on average
    # (CKS 2020: O(1) expected proposals). Here 2000 samples get 2**20
    # words; the kernel returns early (i < 2000) if one sample eats them all.
    # Above about 2**28, |y|·2**k - c would exceed 2**31 on a few percent of
    # proposals and take the slow exp(-D/den)**D branch (~den/D trials);
    # MAX_GAUSSIAN_SIGMA = 2**25 keeps that branch below probability exp(-39).
    p = noise.discrete_gaussian_parameters(sigma)
    words = seeded_rng(1).words(1 << 20)
    st = np.zeros(4, dtype=np.int64)
    out = np.empty(2000, dtype=np.int64)
    cols = (np.array([p.t]), np.array([p.c]), np.array([p.k]))
    filled = k.discrete_gaussian_fill(*cols, words, st, out, 0)
    assert filled == 2000, (
        f"a sample at sigma={sigma} needed more than {words.size - st[0]} words"
    )
    assert st[0] < 100_000


def test_min_scale_gives_zeros():
    # P(y != 0) = 2q/(1+q) with q = exp(-2**20): never observed.
    assert not noise.sample_discrete_laplace(
        noise.MIN_SCALE, size=1000, rng=seeded_rng(SEED)
    ).any()
    assert not noise.sample_discrete_gaussian(
        noise.MIN_SCALE, size=1000, rng=seeded_rng(SEED)
    ).any()


# ---------------------------------------------------------------------------
# Exactness: the samplers equal the reference on the same words
# ---------------------------------------------------------------------------


def test_laplace_sampler_equals_reference_on_same_words():
    n = 300
    got = noise.sample_discrete_laplace(2.5, size=n, rng=seeded_rng(SEED))
    t, m = _laplace_cols([2.5])
    expected, _ = ref.discrete_laplace_fill(
        list(t) * n, m, seeded_rng(SEED).words(noise._CHUNK_WORDS)
    )
    assert got.tolist() == expected


def test_per_element_scales_equal_reference():
    scales = np.array([0.5, 1000.0, 3.0, 0.5, 1e6, 7.25] * 20)
    got = noise.sample_discrete_laplace(scales, size=scales.size, rng=seeded_rng(SEED))
    t, m = _laplace_cols(scales)
    expected, _ = ref.discrete_laplace_fill(
        t, m, seeded_rng(SEED).words(noise._CHUNK_WORDS)
    )
    assert got.tolist() == expected


def test_per_element_sigmas_equal_reference():
    sigmas = np.array([0.5, 1000.0, 3.0, 1.0, 1e5, 7.25] * 20)
    got = noise.sample_discrete_gaussian(sigmas, size=sigmas.size, rng=seeded_rng(SEED))
    expected, _ = ref.discrete_gaussian_fill(
        *_gaussian_cols(sigmas), seeded_rng(SEED).words(noise._CHUNK_WORDS)
    )
    assert got.tolist() == expected


def test_per_element_scales_are_used_per_element():
    n = 4000
    scales = np.tile([1.0, 1e4], n // 2)
    x = noise.sample_discrete_laplace(scales, size=n, rng=seeded_rng(SEED)).astype(
        float
    )
    small, large = x[0::2], x[1::2]
    # E|Y| ≈ scale; the two halves differ by four orders of magnitude.
    assert np.abs(small).mean() < 3.0
    assert np.abs(large).mean() > 3000.0
    y = noise.sample_discrete_gaussian(
        np.tile([1.0, 1e4], (n // 2, 1)), size=(n // 2, 2), rng=seeded_rng(SEED)
    )
    assert y[:, 0].std() < 3.0
    assert y[:, 1].std() > 3000.0


# ---------------------------------------------------------------------------
# Replay on exhaustion
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 2, 7, 64])
@pytest.mark.parametrize(
    ("sampler", "param"),
    [
        (noise.sample_discrete_laplace, 0.4),
        (noise.sample_discrete_laplace, 37.5),
        (noise.sample_discrete_laplace, [0.5, 2.0, 1e5]),
        (noise.sample_discrete_gaussian, 0.6),
        (noise.sample_discrete_gaussian, 25.0),
        (noise.sample_discrete_gaussian, [0.5, 2.0, 1e5]),
    ],
)
def test_tiny_word_buffer_replays_exactly(monkeypatch, chunk, sampler, param):
    n = 600
    shape = (n // 3, 3)
    big = sampler(param, size=shape, rng=seeded_rng(7))
    monkeypatch.setattr(noise, "_CHUNK_WORDS", chunk)
    small = sampler(param, size=shape, rng=seeded_rng(7))
    np.testing.assert_array_equal(small, big)


def test_fill_range_counts_words_exactly(monkeypatch):
    t, m = _laplace_cols([3.0])
    out_big = np.empty(500, dtype=np.int64)
    used_big = noise._fill_range(
        k.discrete_laplace_fill, (t, m), out_big, seeded_rng(3)
    )
    monkeypatch.setattr(noise, "_CHUNK_WORDS", 7)
    out_small = np.empty(500, dtype=np.int64)
    used_small = noise._fill_range(
        k.discrete_laplace_fill, (t, m), out_small, seeded_rng(3)
    )
    np.testing.assert_array_equal(out_small, out_big)
    assert used_small == used_big
    expected, stream = ref.discrete_laplace_fill(
        list(t) * 500, m, seeded_rng(3).words(used_big + 10)
    )
    assert out_big.tolist() == expected
    assert used_big == stream.pos


def test_draw_reports_words_used():
    params = _gaussian_cols([4.0])
    out, used = noise.draw("gaussian", params, 200, seeded_rng(5))
    t, c, kk = params
    expected, stream = ref.discrete_gaussian_fill(
        t, c, list(kk) * 200, seeded_rng(5).words(noise._CHUNK_WORDS)
    )
    assert out.tolist() == expected[:200]
    assert used == stream.pos


def test_fill_kernel_rewinds_unfinished_sample():
    # Exhaust the words mid-sample: the kernel returns the unfinished index,
    # rewinds the read position to where that sample began and restores the
    # bit reservoir, so a call on the unread words plus fresh ones continues
    # the very same stream.
    t, m = _laplace_cols([5.0])
    words = seeded_rng(9).words(400)
    full, _ = ref.discrete_laplace_fill(list(t) * 40, m, words)
    cut = 37
    st = np.zeros(4, dtype=np.int64)
    out = np.empty(40, dtype=np.int64)
    i = k.discrete_laplace_fill(t, m, words[:cut], st, out, 0)
    assert 0 < i < 40
    assert st[1] == 1
    assert st[0] <= cut
    assert out[:i].tolist() == full[:i]
    # The position it stopped at is the one the reference reached after i samples.
    _, pstream = ref.discrete_laplace_fill(list(t) * i, m, words)
    assert st[0] == pstream.pos
    assert (st[2], st[3]) == (pstream.bits, pstream.nbits)
    rest = np.concatenate([words[st[0] : cut], words[cut:]])
    st[0] = 0
    st[1] = 0
    j = k.discrete_laplace_fill(t, m, rest, st, out, i)
    assert j == 40
    assert out.tolist() == full


# ---------------------------------------------------------------------------
# Large requests (split over threads)
# ---------------------------------------------------------------------------


def test_large_request_shape_and_fresh_words():
    n = noise._PARALLEL_MIN * 2 + 5
    x = noise.sample_discrete_laplace(50.0, size=n)
    assert x.shape == (n,)
    # Each thread's range draws its own words: the halves are not copies.
    half = n // 2
    assert not np.array_equal(x[:1000], x[half : half + 1000])
    assert abs(float(np.mean(np.abs(x))) - 50.0) < 2.0


def test_large_requests_are_reproducible_with_a_seeded_source():
    # InsecureSeededRandom promises reproducibility. Requests of
    # _PARALLEL_MIN samples or more are split over threads that race for
    # words from the shared source, so the same seed gives different noise.
    n = noise._PARALLEL_MIN * 4
    a = noise.sample_discrete_laplace(3.0, size=n, rng=seeded_rng(5))
    b = noise.sample_discrete_laplace(3.0, size=n, rng=seeded_rng(5))
    c = noise.sample_discrete_laplace(3.0, size=n, rng=seeded_rng(5))
    assert np.array_equal(a, b)
    assert np.array_equal(a, c)


def test_sigma_above_the_maximum_is_refused():
    with pytest.raises(lp.InvalidParameterError, match=r"sigma"):
        noise.discrete_gaussian_parameters(noise.MAX_GAUSSIAN_SIGMA * 2)
