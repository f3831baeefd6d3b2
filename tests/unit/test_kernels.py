"""Each sampling/selection kernel equals its pure-Python reference, word for word."""

from __future__ import annotations

import numpy as np
import pytest

from loopkit_privacy import noise
from loopkit_privacy._kernels import sampling as k
from loopkit_privacy._kernels import selection as sel
from tests import reference as ref


def _words(seed: int, n: int) -> np.ndarray:
    # Plain numpy words: the kernels do not care where words come from.
    return np.random.default_rng(seed).integers(0, 2**64, size=n, dtype=np.uint64)


def _state():
    return np.zeros(4, dtype=np.int64)


@pytest.mark.parametrize(
    "d", [1, 2, 3, 7, 1000, 2**31 - 1, 2**56, 2**62 + 12345, 2**63 - 1]
)
def test_uniform_below(d):
    words = _words(d % 1000, 300)
    st = _state()
    s = ref.WordStream(words)
    for _ in range(100):
        assert k.uniform_below(np.int64(d), words, st) == ref.uniform_below(d, s)
        assert st[0] == s.pos


def test_uniform_below_rejects_the_biased_low_words():
    # d = 3: 2**64 mod 3 = 1, so a word w with (w·3) mod 2**64 < 1, i.e. w = 0,
    # must be rejected and the next word used.
    words = np.array([0, 2**63], dtype=np.uint64)
    st = _state()
    assert k.uniform_below(np.int64(3), words, st) == 1  # from the second word
    assert st[0] == 2


@pytest.mark.parametrize(
    ("n", "d"),
    [
        (0, 1),
        (1, 1),
        (1, 3),
        (5, 7),
        (7, 7),
        (3, 2**56),
        (2**40, 2**57 + 1),
        (999, 1000),
    ],
)
def test_bernoulli_exp_le1(n, d):
    words = _words(n + d % 97, 4000)
    st = _state()
    s = ref.WordStream(words)
    for _ in range(200):
        assert k.bernoulli_exp_le1(
            np.int64(n), np.int64(d), words, st
        ) == ref.bernoulli_exp_le1(n, d, s)
        assert st[0] == s.pos


@pytest.mark.parametrize(
    ("n", "d"), [(0, 1), (3, 1), (10, 3), (2**40, 2**38), (123456789, 1000)]
)
def test_bernoulli_exp(n, d):
    words = _words(n % 1000 + d % 7, 20000)
    st = _state()
    s = ref.WordStream(words)
    for _ in range(200):
        assert k.bernoulli_exp(
            np.int64(n), np.int64(d), words, st
        ) == ref.bernoulli_exp(n, d, s)
        assert st[0] == s.pos


def test_random_bit_uses_63_bits_per_word():
    words = np.array([0b1011 << 1 | 1, 2**64 - 1], dtype=np.uint64)
    st = _state()
    bits = [bool(k.random_bit(words, st)) for _ in range(64)]
    assert bits[:4] == [True, True, False, True]
    assert not any(bits[4:63])
    assert st[0] == 2  # the 64th bit came from the second word
    assert bits[63]


@pytest.mark.parametrize(
    "scale", [noise.MIN_SCALE, 0.1, 0.5, 1.0, 1 / 3, 7.5, 1e3, 1e6, 2.0**35]
)
def test_discrete_laplace_fill(scale):
    p = noise.discrete_laplace_parameters(scale)
    t, m = np.array([p.t]), np.array([p.m])
    words = _words(int(scale * 1000) % 9973, 40000)
    st, out = _state(), np.empty(400, dtype=np.int64)
    assert k.discrete_laplace_fill(t, m, words, st, out, 0) == 400
    expected, s = ref.discrete_laplace_fill(list(t) * 400, m, words)
    assert out.tolist() == expected
    assert st[0] == s.pos
    assert (st[2], st[3]) == (s.bits, s.nbits)


@pytest.mark.parametrize(
    "sigma", [noise.MIN_SCALE, 0.1, 0.5, 1.0, 2.5, 10.0, 1e3, 1e5, 2.0**25]
)
def test_discrete_gaussian_fill(sigma):
    p = noise.discrete_gaussian_parameters(sigma)
    cols = [np.array([v]) for v in (p.t, p.c, p.k)]
    words = _words(int(sigma * 1000) % 9973, 80000)
    st, out = _state(), np.empty(300, dtype=np.int64)
    assert k.discrete_gaussian_fill(*cols, words, st, out, 0) == 300
    expected, s = ref.discrete_gaussian_fill(
        cols[0], cols[1], list(cols[2]) * 300, words
    )
    assert out.tolist() == expected
    assert st[0] == s.pos


def test_gaussian_large_deviation_branch():
    # D = |y|·2**k - c >= 2**31 takes the exp(-D/den)**D branch. With
    # t = 1, c = 1, k = 40 (σ² = 2**-40) every proposal y != 0 has
    # D ≈ 2**40 and den = 2**41, so the branch runs and rejects after about
    # two trials; only y = 0 is ever accepted.
    cols = (np.array([1]), np.array([1]), np.array([40]))
    words = _words(5, 50000)
    st, out = _state(), np.empty(300, dtype=np.int64)
    assert k.discrete_gaussian_fill(*cols, words, st, out, 0) == 300
    expected, s = ref.discrete_gaussian_fill([1], [1], [40] * 300, words)
    assert out.tolist() == expected
    assert st[0] == s.pos
    assert not out.any()


def test_per_element_parameters():
    scales = [0.5, 3.0, 1e4, 0.25, 42.0] * 10
    ps = [noise.discrete_laplace_parameters(b) for b in scales]
    t = np.array([p.t for p in ps])
    m = np.array([p.m for p in ps])
    words = _words(11, 20000)
    st, out = _state(), np.empty(len(scales), dtype=np.int64)
    k.discrete_laplace_fill(t, m, words, st, out, 0)
    assert out.tolist() == ref.discrete_laplace_fill(t, m, words)[0]


def _scaled(scores, g):
    return np.rint(np.asarray(scores, dtype=float) * 2.0**g).astype(np.int64)


@pytest.mark.parametrize(
    "scores",
    [[0.0], [0.0, 0.0], [1.0, 2.0, 3.0], [-5.0, 0.5, 0.25, 4.0, 4.0], [0.0, -30.0]],
)
def test_exponential_select(scores):
    g = 20
    w = _scaled(scores, g)
    words = _words(len(scores), 20000)
    st = _state()
    s = ref.WordStream(words)
    for _ in range(200):
        assert sel.exponential_select(
            w, np.int64(g), words, st
        ) == ref.exponential_select(w, g, s)
        assert st[0] == s.pos


@pytest.mark.parametrize(
    "scores",
    [[0.0], [0.0, 0.0], [1.0, 2.0, 3.0], [-5.0, 0.5, 0.25, 4.0, 4.0], [0.0, -30.0]],
)
def test_permute_and_flip_select(scores):
    g = 20
    w = _scaled(scores, g)
    words = _words(len(scores) + 50, 20000)
    st = _state()
    perm = np.empty(w.size, dtype=np.int64)
    s = ref.WordStream(words)
    for _ in range(200):
        assert sel.permute_and_flip_select(
            w, np.int64(g), perm, words, st
        ) == ref.permute_and_flip_select(w, g, s)
        assert st[0] == s.pos


@pytest.mark.parametrize("kernel", ["exponential", "permute_and_flip"])
def test_selection_exhaustion_rewinds(kernel):
    w = _scaled([0.0, -3.0, -3.0, -3.0], 20)
    g = np.int64(20)
    perm = np.empty(w.size, dtype=np.int64)
    outcomes = []
    for seed in range(40):
        words = _words(seed, 2)
        st = _state()
        st[0], st[2], st[3] = 1, 12345, 7  # one unread word, a reservoir in use
        if kernel == "exponential":
            idx = sel.exponential_select(w, g, words, st)
        else:
            idx = sel.permute_and_flip_select(w, g, perm, words, st)
        outcomes.append(int(idx))
        if idx == -1:
            assert st[1] == 1
            assert st[0] == 1, "the read position is rewound to where the call began"
            assert (st[2], st[3]) == (12345, 7), "the bit reservoir is restored"
        else:
            assert idx == 0, (
                "only the best candidate can be chosen without a second word"
            )
    assert -1 in outcomes
