"""Naive references for the sampling and selection kernels and their distributions.

Two kinds of reference live here:

* Pure-Python ports of the numba kernels in ``loopkit_privacy._kernels`` that
  read the *same* stream of 64-bit words, written for clarity (Python ints,
  no overflow tricks, the paper's algorithms spelled out). Given the same
  words, an exact sampler is a deterministic function of them, so the kernel
  and its port must agree output for output and word for word.
* Exact probability mass functions and selection probabilities, computed from
  the definitions (explicit sums, ``fractions``/``mpmath``-free closed forms),
  for the statistical tests.

References: Canonne, Kamath & Steinke (2020), "The Discrete Gaussian for
Differential Privacy", Algorithms 1-3; Lemire (2019), "Fast random integer
generation in an interval"; McKenna & Sheldon (2020), "Permute-and-Flip".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

_MASK64 = (1 << 64) - 1


class Exhausted(Exception):
    """The reference stream ran out of words."""


class WordStream:
    """A stream of 64-bit words with a reservoir of single bits (as the kernels)."""

    def __init__(self, words: Sequence[int] | np.ndarray) -> None:
        self.words = [int(w) for w in np.asarray(words, dtype=np.uint64)]
        self.pos = 0
        self.bits = 0
        self.nbits = 0

    def next_word(self) -> int:
        if self.pos >= len(self.words):
            raise Exhausted
        w = self.words[self.pos]
        self.pos += 1
        return w

    def bit(self) -> bool:
        # The kernels keep 63 bits of a word (the top one is dropped so the
        # reservoir fits a signed int64) and hand them out lowest first.
        if self.nbits == 0:
            self.bits = self.next_word() >> 1
            self.nbits = 63
        b = self.bits & 1
        self.bits >>= 1
        self.nbits -= 1
        return b == 1


def uniform_below(d: int, s: WordStream) -> int:
    """Uniform on [0, d): Lemire's multiply-shift with rejection of low words."""
    threshold = (1 << 64) % d
    while True:
        prod = s.next_word() * d
        if prod & _MASK64 >= threshold:
            return prod >> 64


def bernoulli_ratio(n: int, d: int, s: WordStream) -> bool:
    if n <= 0:
        return False
    if n >= d:
        return True
    return uniform_below(d, s) < n


def bernoulli_exp_le1(n: int, d: int, s: WordStream) -> bool:
    """Bernoulli(exp(-n/d)) for 0 <= n <= d: CKS 2020 Algorithm 1 (γ <= 1)."""
    k = 1
    while True:
        if k <= 64 and d <= 1 << 56:
            a = bernoulli_ratio(n, d * k, s)
        else:
            a = bernoulli_ratio(n, d, s) and bernoulli_ratio(1, k, s)
        if not a:
            return k % 2 == 1
        k += 1


def bernoulli_exp(n: int, d: int, s: WordStream) -> bool:
    """Bernoulli(exp(-n/d)) for any n >= 0: CKS 2020 Algorithm 1."""
    q, r = divmod(n, d)
    for _ in range(q):
        if not bernoulli_exp_le1(1, 1, s):
            return False
    return bernoulli_exp_le1(r, d, s)


def discrete_laplace_one(t: int, m: int, s: WordStream) -> int:
    """P(y) ∝ exp(-|y| · 2**m / t): CKS 2020 Algorithm 2 with s = 2**m."""
    while True:
        u = uniform_below(t, s)
        if not bernoulli_exp_le1(u, t, s):
            continue
        v = 0
        while bernoulli_exp_le1(1, 1, s):
            v += 1
        if v >= 1 << 30 or (v >= 1024 and v > (1 << 61) // t):
            continue  # truncation (probability below exp(-1024))
        y = (u + t * v) // (1 << m)
        negative = s.bit()
        if negative and y == 0:
            continue
        return -y if negative else y


def discrete_gaussian_one(t: int, c: int, k: int, s: WordStream) -> int:
    """σ² = t·c / 2**k: CKS 2020 Algorithm 3 (rejection from discrete Laplace of scale t)."""
    den = (2 << k) * t * c
    while True:
        y = discrete_laplace_one(t, 0, s)
        if abs(y) >= 1 << (60 - k):
            continue
        dd = abs((abs(y) << k) - c)
        if dd < 1 << 31:
            ok = bernoulli_exp(dd * dd, den, s)
        else:
            ok = all(bernoulli_exp(dd, den, s) for _ in range(dd))
        if ok:
            return y


def discrete_laplace_fill(t, m, words) -> tuple[list[int], WordStream]:
    """Draw ``len(t)`` samples (broadcast ``m``) from one stream; return them and it."""
    s = WordStream(words)
    n = max(len(t), len(m))
    out = [
        discrete_laplace_one(
            int(t[0 if len(t) == 1 else i]), int(m[0 if len(m) == 1 else i]), s
        )
        for i in range(n)
    ]
    return out, s


def discrete_gaussian_fill(t, c, k, words) -> tuple[list[int], WordStream]:
    s = WordStream(words)
    n = max(len(t), len(c), len(k))

    def at(a, i):
        return int(a[0 if len(a) == 1 else i])

    out = [discrete_gaussian_one(at(t, i), at(c, i), at(k, i), s) for i in range(n)]
    return out, s


def exponential_select(w: Sequence[int], g: int, s: WordStream) -> int:
    wmax = max(int(x) for x in w)
    while True:
        i = uniform_below(len(w), s)
        if bernoulli_exp(wmax - int(w[i]), 1 << g, s):
            return i


def permute_and_flip_select(w: Sequence[int], g: int, s: WordStream) -> int:
    wmax = max(int(x) for x in w)
    perm = list(range(len(w)))
    for j in range(len(w)):
        r = j + uniform_below(len(w) - j, s)
        perm[j], perm[r] = perm[r], perm[j]
        i = perm[j]
        if bernoulli_exp(wmax - int(w[i]), 1 << g, s):
            return i
    raise AssertionError("the maximum is always accepted")


# ---------------------------------------------------------------------------
# Exact distributions
# ---------------------------------------------------------------------------


def discrete_laplace_pmf(y: np.ndarray, scale: float) -> np.ndarray:
    """P(y) = (1 - q) / (1 + q) · q**|y| with q = exp(-1/scale)."""
    q = math.exp(-1.0 / scale)
    return (
        (1.0 - q) / (1.0 + q) * np.exp(-np.abs(np.asarray(y, dtype=np.float64)) / scale)
    )


def discrete_laplace_cdf(y: np.ndarray, scale: float) -> np.ndarray:
    """P(Y <= y) in closed form (summing the geometric series)."""
    q = math.exp(-1.0 / scale)
    y = np.asarray(y, dtype=np.float64)
    neg = q ** (-y) / (1.0 + q)  # y < 0: Σ_{z<=y} P(z) = q**|y| / (1 + q)
    pos = 1.0 - q ** (y + 1.0) / (1.0 + q)
    return np.where(y < 0, neg, pos)


def discrete_gaussian_support(sigma: float) -> np.ndarray:
    """Integers carrying all but a negligible (< 1e-300) part of the mass."""
    z = math.ceil(40.0 * sigma) + 40
    return np.arange(-z, z + 1, dtype=np.int64)


@functools.lru_cache(maxsize=64)
def discrete_gaussian_normaliser(variance: float) -> float:
    """Σ_z exp(-z² / (2σ²)) over the integers, summed explicitly."""
    z = discrete_gaussian_support(math.sqrt(variance)).astype(np.float64)
    # Pairwise summation of the ascending terms: relative error ~1e-15.
    return float(np.sort(np.exp(-(z * z) / (2.0 * variance))).sum())


def discrete_gaussian_pmf(y: np.ndarray, variance: float) -> np.ndarray:
    """P(y) ∝ exp(-y² / (2σ²)), normalised by an explicit sum over the support."""
    y = np.asarray(y, dtype=np.float64)
    return np.exp(-(y * y) / (2.0 * variance)) / discrete_gaussian_normaliser(variance)


def exponential_probabilities(w: Sequence[int], g: int) -> np.ndarray:
    """P(i) = exp(w_i / 2**g) / Σ_j exp(w_j / 2**g) for the rounded integer weights."""
    x = (np.asarray(w, dtype=np.float64) - float(max(w))) / 2.0**g
    p = np.exp(x)
    return p / p.sum()


def permute_and_flip_probabilities(w: Sequence[int], g: int) -> np.ndarray:
    """Exact permute-and-flip selection probabilities.

    Give each candidate an independent uniform arrival time; i is chosen when
    it flips heads and everyone arriving before it flipped tails, so
    P(i) = p_i ∫_0^1 Π_{j≠i} (1 - u·p_j) du with p_j = exp(-(max w - w_j) / 2**g).
    The integrand is a polynomial, integrated exactly.
    """
    p = np.exp((np.asarray(w, dtype=np.float64) - float(max(w))) / 2.0**g)
    out = np.empty(p.size)
    for i in range(p.size):
        poly = np.polynomial.Polynomial([1.0])
        for j in range(p.size):
            if j != i:
                poly = poly * np.polynomial.Polynomial([1.0, -p[j]])
        integral = poly.integ()
        out[i] = p[i] * (integral(1.0) - integral(0.0))
    return out


def smallest_half_width(pmf_at, level: float, start: int = 0) -> int:
    """Smallest k >= start with Σ_{|y| <= k} pmf(y) >= level, by direct summation."""
    k = start
    mass = float(np.sum(pmf_at(np.arange(-k, k + 1))))
    while mass < level:
        k += 1
        mass += float(pmf_at(np.array([k]))[0]) * 2.0
    return k


def truncated_selection_pmf(sel) -> dict[int, object]:
    """Exact pmf of a noisy-count selection's truncated noise (mpmath, 60 digits).

    Rebuilt from the sampler's exact parameters: q = exp(-2**m / t) of its
    discrete Laplace, the support k and P(Z = 0) = zero / 2**128 (the two
    random words it compares), with P(Z = ±j) = (1 - P(0))/2 · (1 - q)
    q^(j-1) / (1 - q^k): the law of sign · (1 + G), G geometric truncated to
    [0, k - 1].
    """
    import mpmath

    mpmath.mp.dps = 60
    q = mpmath.exp(-(mpmath.mpf(2) ** sel._lap.m) / sel._lap.t)
    k = sel.support
    p0 = mpmath.mpf(sel._zero) / mpmath.mpf(2) ** 128
    u = 1 - p0
    pmf = {0: p0}
    for j in range(1, k + 1):
        pmf[j] = pmf[-j] = u / 2 * (1 - q) * q ** (j - 1) / (1 - q**k)
    return pmf


def truncated_edge(sel) -> float:
    """P(Z = k) of a noisy-count selection (the release rate of a one-user group)."""
    pmf = truncated_selection_pmf(sel)
    return float(pmf[sel.support])
