"""Exact samplers driven by a caller-supplied array of random 64-bit words.

Provenance: the algorithms are those of Canonne, Kamath & Steinke (2020),
"The Discrete Gaussian for Differential Privacy", Section 5: Algorithm 1
(Bernoulli(exp(-γ)) for rational γ), Algorithm 2 (discrete Laplace with scale
t/s) and Algorithm 3 (discrete Gaussian by rejection from a discrete Laplace).
Every decision is made with integer arithmetic on uniform integers drawn by
rejection from the words; no floating-point ``exp``/``log`` decides a sample.

Word stream contract. ``words`` is a uint64 array and ``st`` an int64 array of
length 4: ``st[0]`` is the next unread position, ``st[1]`` is set to 1 when
the stream runs out, and ``st[2:4]`` hold a reservoir of single random bits
(bits, count) so that a fair coin costs 1/63 of a word. When that happens mid-sample, the kernel rewinds
``st[0]`` to where that sample began and returns the index of the unfinished
sample; the caller appends fresh words to the unread tail and calls again.
Because a sample is a deterministic function of the words it reads, replaying
it on the same words plus more is exact: no sample is ever discarded or
conditioned on its length.

Truncation. To keep every product inside int64, the discrete Laplace rejects a
proposal with t·v > 2**61 (or v >= 2**30) and the discrete Gaussian one with
|y| >= 2**(60-k). With the parameter ranges allowed by ``noise.py`` (scale
t/2**m <= 2**40, σ <= 2**25) either event has probability below exp(-2**20):
the output is the exact distribution conditioned on an event of probability
1 - exp(-2**20), which no experiment can tell apart from the untruncated one.

All integer parameters are validated by the callers in ``noise.py`` so that no
product below can overflow int64 (see the bounds stated there).
"""

from __future__ import annotations

import numpy as np

from loopkit_privacy._kernels._jit import jit_noalloc

# Bernoulli(γ/k) with γ = n/d uses one draw on [0, d·k) while d·k <= 2**62.
_D_ONE_DRAW = np.int64(1) << np.int64(56)
# The discrete Laplace keeps u + t·v below 2**62 (t < 2**40 by the callers).
_VMAX = np.int64(1) << np.int64(30)
_TV_LIMIT = np.int64(1) << np.int64(61)


_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)


@jit_noalloc
def _next_word(words, st):
    p = st[0]
    if p >= words.shape[0]:
        st[1] = 1
        return np.uint64(0)
    st[0] = p + 1
    return words[p]


@jit_noalloc
def _mul_hi_lo(a, b):
    """Full 128-bit product of two uint64 values, as (high, low) words."""
    a_lo = a & _MASK32
    a_hi = a >> _SHIFT32
    b_lo = b & _MASK32
    b_hi = b >> _SHIFT32
    p0 = a_lo * b_lo
    p1 = a_lo * b_hi
    p2 = a_hi * b_lo
    p3 = a_hi * b_hi
    mid = (p0 >> _SHIFT32) + (p1 & _MASK32) + (p2 & _MASK32)
    lo = (mid << _SHIFT32) | (p0 & _MASK32)
    hi = p3 + (p1 >> _SHIFT32) + (p2 >> _SHIFT32) + (mid >> _SHIFT32)
    return hi, lo


@jit_noalloc
def uniform_below(d, words, st):
    """Uniform integer in [0, d) for int64 d >= 1.

    Multiply-and-reject (Lemire 2019, "Fast random integer generation in an
    interval"): the high word of w·d is uniform on [0, d) once the low words
    below 2**64 mod d are rejected, and the costly modulo is computed only
    when a low word falls below d (probability d / 2**64).
    """
    du = np.uint64(d)
    while True:
        w = _next_word(words, st)
        if st[1]:
            return np.int64(0)
        hi, lo = _mul_hi_lo(w, du)
        if lo >= du:
            return np.int64(hi)
        lim = (np.uint64(0) - du) % du  # 2**64 mod d
        if lo >= lim:
            return np.int64(hi)


@jit_noalloc
def bernoulli_ratio(n, d, words, st):
    """Bernoulli(n / d) for 0 <= n <= d, d >= 1 (no word is used if n is 0 or d)."""
    if n <= 0:
        return False
    if n >= d:
        return True
    return uniform_below(d, words, st) < n


@jit_noalloc
def random_bit(words, st):
    """One fair bit, taken from a 64-bit reservoir kept in st[2] (bits) and st[3] (count)."""
    if st[3] == 0:
        st[2] = np.int64(_next_word(words, st) >> np.uint64(1))
        st[3] = 63
    b = st[2] & 1
    st[2] >>= 1
    st[3] -= 1
    return b == 1


@jit_noalloc
def bernoulli_exp_le1(n, d, words, st):
    """Bernoulli(exp(-n/d)) for 0 <= n <= d (CKS 2020 Algorithm 1, γ <= 1)."""
    k = np.int64(1)
    while True:
        if k <= 64 and d <= _D_ONE_DRAW:
            a = bernoulli_ratio(n, d * k, words, st)
        else:
            # Bernoulli(γ/k) = Bernoulli(γ) AND Bernoulli(1/k), independently.
            a = bernoulli_ratio(n, d, words, st) and bernoulli_ratio(1, k, words, st)
        if st[1]:
            return False
        if not a:
            break
        k += 1
    return (k & 1) == 1


@jit_noalloc
def bernoulli_exp(n, d, words, st):
    """Bernoulli(exp(-n/d)) for n >= 0, d >= 1 (CKS 2020 Algorithm 1)."""
    q = n // d
    for _ in range(q):
        if not bernoulli_exp_le1(1, 1, words, st):
            return False
        if st[1]:
            return False
    return bernoulli_exp_le1(n - q * d, d, words, st)


@jit_noalloc
def discrete_laplace_one(t, m, words, st):
    """One draw with P(y) proportional to exp(-|y| 2**m / t) (CKS 2020 Algorithm 2).

    The scale is t / 2**m; CKS's divisor s is a power of two here, so the
    division is a shift.
    """
    while True:
        u = uniform_below(t, words, st)
        if st[1]:
            return np.int64(0)
        if not bernoulli_exp_le1(u, t, words, st):
            if st[1]:
                return np.int64(0)
            continue
        v = np.int64(0)
        while bernoulli_exp_le1(1, 1, words, st):
            v += 1
        if st[1]:
            return np.int64(0)
        # Keep u + t·v below 2**62; the division runs only for v >= 2**10,
        # an event of probability exp(-1024).
        if v >= _VMAX or (v >= 1024 and v > _TV_LIMIT // t):
            continue  # truncation; see the module docstring
        y = (u + t * v) >> m
        negative = random_bit(words, st)
        if st[1]:
            return np.int64(0)
        if negative and y == 0:
            continue  # reject the second copy of zero
        return -y if negative else y


@jit_noalloc
def discrete_gaussian_one(t, c, k, words, st):
    """One discrete Gaussian draw with σ² = t·c / 2**k (CKS 2020 Algorithm 3).

    The proposal is a discrete Laplace of scale t; it is accepted with
    probability exp(-(|y| - σ²/t)² / (2σ²)) = exp(-D² / (2**(k+1)·t·c)) where
    D = |y|·2**k - c.
    """
    den = (np.int64(2) << k) * t * c
    amax = np.int64(1) << np.int64(60 - k)
    while True:
        y = discrete_laplace_one(t, np.int64(0), words, st)
        if st[1]:
            return np.int64(0)
        a = y if y >= 0 else -y
        if a >= amax:
            continue  # truncation; see the module docstring
        dd = (a << k) - c
        if dd < 0:
            dd = -dd
        if dd < (np.int64(1) << np.int64(31)):
            ok = bernoulli_exp(dd * dd, den, words, st)
        else:
            # D² would overflow: exp(-D²/den) = exp(-D/den) ** D, i.e. D
            # independent Bernoulli(exp(-D/den)) trials that must all succeed.
            # The first failure ends the loop, after about den/D trials (rare:
            # with σ <= 2**25, |D| >= 2**31 needs |y| > 40σ).
            ok = True
            j = np.int64(0)
            while j < dd:
                if not bernoulli_exp(dd, den, words, st):
                    ok = False
                    break
                if st[1]:
                    return np.int64(0)
                j += 1
        if st[1]:
            return np.int64(0)
        if ok:
            return y


@jit_noalloc
def discrete_laplace_fill(t, m, words, st, out, start):
    """Fill ``out[start:]`` with discrete Laplace draws of scale t[i] / 2**m[i].

    ``t`` and ``m`` are int64 arrays of length 1 (broadcast) or len(out).
    Returns the index of the first unfilled element (len(out) when done).
    """
    n = out.shape[0]
    bt = t.shape[0] == 1
    bm = m.shape[0] == 1
    for i in range(start, n):
        p0 = st[0]
        r2 = st[2]
        r3 = st[3]
        y = discrete_laplace_one(t[0] if bt else t[i], m[0] if bm else m[i], words, st)
        if st[1]:
            st[0] = p0
            st[2] = r2
            st[3] = r3
            return i
        out[i] = y
    return n


@jit_noalloc
def discrete_gaussian_fill(t, c, k, words, st, out, start):
    """Fill ``out[start:]`` with discrete Gaussian draws, σ² = t[i]·c[i]/2**k[i].

    Parameter arrays have length 1 (broadcast) or len(out). Returns the index
    of the first unfilled element.
    """
    n = out.shape[0]
    bt = t.shape[0] == 1
    for i in range(start, n):
        p0 = st[0]
        r2 = st[2]
        r3 = st[3]
        if bt:
            y = discrete_gaussian_one(t[0], c[0], k[0], words, st)
        else:
            y = discrete_gaussian_one(t[i], c[i], k[i], words, st)
        if st[1]:
            st[0] = p0
            st[2] = r2
            st[3] = r3
            return i
        out[i] = y
    return n
