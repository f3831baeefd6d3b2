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
def _cell_of(v, flo, scale, n_cells):
    """The lookup cell of a value: monotone non-decreasing in v (float rounding included)."""
    c = np.int64((np.float64(v) - flo) * scale)
    if c < 0:
        return np.int64(0)
    if c >= n_cells:
        return n_cells - 1
    return c


@jit
def bin_cells(values, valid, groups, edges, clip, out):
    """``out[i]`` = groups[i] * K + bin of values[i], or -1 (dropped).

    values : float64 or int64[n]; edges : same dtype, strictly increasing,
    length K + 1 >= 2. valid : bool[n], or length 0 when every row is valid
    (invalid rows are dropped). groups : int64[n], -1 drops the row.
    out : int64[n], written in full.
    """
    n = values.shape[0]
    k = edges.shape[0] - 1
    lo = edges[0]
    hi = edges[k]
    check_valid = valid.shape[0] > 0
    # A lookup table over [lo, hi] in T equal cells gives each row a first
    # guess, then a short scan finds the bin. The guess never overshoots:
    # the cell map is monotone in v, so an edge in an earlier cell than v's
    # is <= v; table[c] is the last such edge.
    n_cells = np.int64(min(1 << 16, max(1024, 8 * k)))
    flo = np.float64(lo)
    scale = np.float64(n_cells) / (np.float64(hi) - flo)
    table = np.zeros(n_cells, dtype=np.int64)
    j = 0
    for c in range(n_cells):
        while j + 1 < k and _cell_of(edges[j + 1], flo, scale, n_cells) < c:
            j += 1
        table[c] = j
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
        b = table[_cell_of(v, flo, scale, n_cells)]
        while b + 1 < k and edges[b + 1] <= v:
            b += 1
        out[i] = g * k + b


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
