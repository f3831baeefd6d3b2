"""Exact selection kernels: the exponential mechanism and permute-and-flip.

Scores arrive already scaled and rounded by the caller: ``w[i]`` is an int64
such that candidate ``i`` has weight exp(w[i] / 2**g). Both kernels draw
Bernoulli(exp(-(w_max - w[i]) / 2**g)) exactly with the samplers of
``sampling`` (no floating-point ``exp``), so the selection probabilities are
exactly those of the mechanism.

Integer ranges (the caller, ``mechanisms.ExponentialMechanism``, guarantees
them): 0 <= g <= 62, so the denominator ``1 << g`` is a positive int64 (at
g = 63 it would wrap to a negative number, at 64 and above to garbage), and
|w[i]| <= 2**50, so every numerator w_max - w[i] <= 2**51 fits. With those,
``bernoulli_exp`` needs no product beyond 2**62.

Word-stream contract as in ``sampling``: on exhaustion the kernel returns -1
with ``st[0]`` rewound to where it started, and the caller appends words and
calls again (a replay, so nothing is discarded).
"""

from __future__ import annotations

import numpy as np

from loopkit_privacy._kernels._jit import jit_noalloc
from loopkit_privacy._kernels.sampling import bernoulli_exp, uniform_below


@jit_noalloc
def _max(w):
    out = w[0]
    for i in range(1, w.shape[0]):
        if w[i] > out:
            out = w[i]
    return out


@jit_noalloc
def _rewind(st, p0, r2, r3):
    # Words ran out: restore the stream state so the caller can replay.
    st[0] = p0
    st[2] = r2
    st[3] = r3
    return np.int64(-1)


@jit_noalloc
def exponential_select(w, g, words, st):
    """Index i drawn with probability exp(w[i]/2**g) / Σ_j exp(w[j]/2**g).

    Rejection from the uniform proposal: candidate i is accepted with
    probability exp(-(max(w) - w[i]) / 2**g). Returns -1 if words ran out.
    """
    p0, r2, r3 = st[0], st[2], st[3]
    m = w.shape[0]
    wmax = _max(w)
    den = np.int64(1) << g
    while True:
        i = uniform_below(np.int64(m), words, st)
        if st[1]:
            break
        ok = bernoulli_exp(wmax - w[i], den, words, st)
        if st[1]:
            break
        if ok:
            return i
    return _rewind(st, p0, r2, r3)


@jit_noalloc
def permute_and_flip_select(w, g, perm, words, st):
    """Permute-and-flip (McKenna & Sheldon 2020) over weights exp(w[i] / 2**g).

    Visit candidates in a uniformly random order and stop at the first i whose
    Bernoulli(exp(-(max(w) - w[i]) / 2**g)) succeeds. ``perm`` is scratch space
    of len(w). Returns -1 if words ran out.
    """
    p0, r2, r3 = st[0], st[2], st[3]
    m = w.shape[0]
    wmax = _max(w)
    for i in range(m):
        perm[i] = i
    den = np.int64(1) << g
    # Lazy Fisher-Yates: position j is fixed just before it is visited.
    for j in range(m):
        r = j + uniform_below(np.int64(m - j), words, st)
        if st[1]:
            break
        tmp = perm[j]
        perm[j] = perm[r]
        perm[r] = tmp
        i = perm[j]
        ok = bernoulli_exp(wmax - w[i], den, words, st)
        if st[1]:
            break
        if ok:
            return i
    return _rewind(st, p0, r2, r3)
