"""Histogram kernel: each row's cell (group, bin) from public bin edges.

Bins are the half-open intervals [e_j, e_{j+1}) over the sorted public edges
e_0 < ... < e_K, the last one closed, [e_{K-1}, e_K] (numpy's convention).
A value outside [e_0, e_K] is clipped into the first or last bin
(``clip=True``) or dropped (label -1).
"""

from __future__ import annotations

import numpy as np

from loopkit_privacy._kernels._jit import jit


@jit
def bin_cells(values, valid, groups, edges, clip, out):
    """``out[i]`` = groups[i] * K + bin of values[i], or -1 (dropped).

    values : float64 or int64[n]; edges : same dtype, strictly increasing,
    length K + 1 >= 2. valid : bool[n], or length 0 when every row is valid
    (invalid rows are dropped). groups : int64[n], -1 drops the row.
    out : int64[n], written in full. Binary search per row: O(n log K).
    """
    n = values.shape[0]
    k = edges.shape[0] - 1
    lo = edges[0]
    hi = edges[k]
    check_valid = valid.shape[0] > 0
    for i in range(n):
        g = groups[i]
        if g < 0 or (check_valid and not valid[i]):
            out[i] = -1
            continue
        v = values[i]
        if v < lo:
            if clip:
                out[i] = g * k
            else:
                out[i] = -1
            continue
        if v >= hi:
            if v == hi or clip:
                out[i] = g * k + k - 1
            else:
                out[i] = -1
            continue
        # Largest j with edges[j] <= v (j in [0, k - 1]).
        a = 0
        b = k
        while b - a > 1:
            m = (a + b) >> 1
            if edges[m] <= v:
                a = m
            else:
                b = m
        out[i] = g * k + a


def warmup() -> None:
    """Compile the common signatures (float and integer values, read-only or not)."""
    out = np.empty(1, dtype=np.int64)
    groups = np.zeros(1, dtype=np.int64)
    valid = np.zeros(0, dtype=np.bool_)
    for dtype in (np.float64, np.int64):
        edges = np.array([0, 1], dtype=dtype)
        for writeable in (True, False):
            values = np.zeros(1, dtype=dtype)
            values.flags.writeable = writeable
            bin_cells(values, valid, groups, edges, True, out)
