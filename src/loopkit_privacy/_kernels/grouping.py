"""Factorisation and counting sort: integer labels for keys and privacy units.

Labels are dense int64 codes ``0..k-1``; ``-1`` means "row dropped / no group"
everywhere in the package.
"""

from __future__ import annotations

import numpy as np

from loopkit_privacy._kernels._jit import jit

_EMPTY = np.int64(-1)


@jit
def mix64(x):
    # splitmix64 finaliser: a bijection on 64-bit words that spreads keys
    # over the table (the table size is a power of two).
    z = np.uint64(x)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit
def _insert_slot(slot_key, slot_code, mask, key, code):
    h = mix64(key) & mask
    while slot_code[h] != _EMPTY:
        h = (h + np.uint64(1)) & mask
    slot_key[h] = key
    slot_code[h] = code


@jit
def factorize_int64_first(keys, out, first):
    """Dense codes in order of first appearance for int64 ``keys``.

    Writes codes to ``out``, the row of each code's first appearance to
    ``first[:k]``, and returns k, the number of distinct keys. Open
    addressing with linear probing; the table doubles when half full, so its
    size follows the number of distinct keys, not the number of rows.
    """
    n = keys.shape[0]
    size = 1024
    mask = np.uint64(size - 1)
    slot_key = np.empty(size, dtype=np.int64)
    slot_code = np.full(size, _EMPTY, dtype=np.int64)
    distinct_keys = np.empty(size // 2, dtype=np.int64)
    k = np.int64(0)
    for i in range(n):
        key = keys[i]
        h = mix64(key) & mask
        while True:
            c = slot_code[h]
            if c == _EMPTY:
                slot_key[h] = key
                slot_code[h] = k
                out[i] = k
                first[k] = i
                distinct_keys[k] = key
                k += 1
                if 2 * k >= size:
                    size *= 2
                    mask = np.uint64(size - 1)
                    slot_key = np.empty(size, dtype=np.int64)
                    slot_code = np.full(size, _EMPTY, dtype=np.int64)
                    grown = np.empty(size // 2, dtype=np.int64)
                    grown[:k] = distinct_keys[:k]
                    distinct_keys = grown
                    for j in range(k):
                        _insert_slot(
                            slot_key, slot_code, mask, distinct_keys[j], np.int64(j)
                        )
                break
            if slot_key[h] == key:
                out[i] = c
                break
            h = (h + np.uint64(1)) & mask
    return k


@jit
def counting_sort(codes, n_codes, order, starts):
    """Stable counting sort of rows by ``codes`` (rows with code -1 are left out).

    Writes into ``order`` the row indices grouped by code and into ``starts``
    (length n_codes + 1) the offsets of each code's rows. Returns the number of
    rows placed.
    """
    counts = np.zeros(n_codes + 1, dtype=np.int64)
    for i in range(codes.shape[0]):
        c = codes[i]
        if c >= 0:
            counts[c + 1] += 1
    for c in range(n_codes):
        counts[c + 1] += counts[c]
    for c in range(n_codes + 1):
        starts[c] = counts[c]
    for i in range(codes.shape[0]):
        c = codes[i]
        if c >= 0:
            order[counts[c]] = i
            counts[c] += 1
    return starts[n_codes]


@jit
def combine_codes(a, b, n_b, out):
    """Codes of the pair (a, b) as a·n_b + b; -1 if either is -1."""
    for i in range(a.shape[0]):
        if a[i] < 0 or b[i] < 0:
            out[i] = -1
        else:
            out[i] = a[i] * n_b + b[i]
