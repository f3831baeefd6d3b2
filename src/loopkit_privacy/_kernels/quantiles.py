"""Kernels of the distributional statistics: bounded histograms, moments, tree quantiles.

Bounding is the aggregations' (``bounding.bound_bucket``: the same keyed-hash
choice of a unit's ``l0`` groups and the same first ``linf`` rows of each), so
for one salt these kernels keep exactly the rows ``bound_reduce`` keeps. A
third pass over each bucket replays that decision row by row and feeds the
kept rows to an accumulator:

* ``MODE_HISTOGRAM``: ``out_a[g * n_bins + bin(v)] += 1`` on a public grid of
  ``n_bins`` equal bins over ``[lo, hi]`` (values clamped first);
* ``MODE_MOMENTS``: ``out_a[g]`` += fixed_point(v - mid) and ``out_b[g]`` +=
  fixed_point((v - mid)**2 - h**2/2) (the centred sum and centred sum of
  squares of the clamped values, exact integers in quanta ``q`` and ``q2``).

``tree_quantiles`` post-processes noisy hierarchical histograms into
quantiles and intervals (see its docstring and ``loopkit_privacy.quantiles``).
"""

from __future__ import annotations

import numpy as np

from loopkit_privacy._kernels._jit import jit
from loopkit_privacy._kernels.bounding import bound_bucket, fixed_point, pair_hash
from loopkit_privacy._kernels.selection import exponential_select

MODE_HISTOGRAM = 0
MODE_MOMENTS = 1


@jit
def bin_of(v, lo, hi, n_bins):
    """Index of the grid bin of clamp(v, lo, hi): floor((v - lo)/(hi - lo)·n_bins)."""
    if v < lo:
        v = lo
    elif v > hi:
        v = hi
    b = np.int64(np.floor((v - lo) / (hi - lo) * n_bins))
    if b >= n_bins:
        b = n_bins - 1
    elif b < 0:
        b = 0
    return b


@jit
def _accumulate(mode, g, v, lo, hi, n_bins, mid, half_sq, q, q2, out_a, out_b):
    if mode == MODE_HISTOGRAM:
        out_a[g * n_bins + bin_of(v, lo, hi, n_bins)] += 1
    else:
        out_a[g] += fixed_point(v, lo, hi, mid, q)
        if v < lo:
            v = lo
        elif v > hi:
            v = hi
        c = v - mid
        # c*c is one deterministic float per row; fixed_point clamps it to
        # [0, 2·half_sq], so a rounding above h**2 cannot raise the sensitivity.
        out_b[g] += fixed_point(c * c, 0.0, 2.0 * half_sq, half_sq, q2)


@jit
def bound_rows_buckets(
    starts, uloc, grp, vals, bits, b0, b1, l0, linf, lo, hi, salt,
    mode, n_bins, mid, half_sq, q, q2,
    out_rows, out_units, out_a, out_b,
):  # fmt: skip
    """Bound buckets b0..b1-1 (as ``bounding.bound_buckets``) and accumulate kept rows.

    ``out_rows``/``out_units`` (int64[n_groups], zeroed) get the kept rows and
    distinct units per group; ``out_a``/``out_b`` (int64, zeroed) the mode's
    totals (see the module docstring). Returns the rows dropped.
    """
    stride = 2 + 3 * l0
    users = np.int64(1) << bits
    rec = np.zeros(users * stride, dtype=np.int64)
    cnt = np.zeros(users * l0, dtype=np.int64)
    unused = np.zeros(1, dtype=np.int64)
    dropped = 0
    for b in range(b0, b1):
        a = starts[b]
        e = starts[b + 1]
        if a == e:
            continue
        for u in range(users):
            rec[u * stride] = 0
            rec[u * stride + 1] = 0
        cnt[:] = 0
        ubase = np.int64(b) << bits
        u_rows = uloc[a:e]
        g_rows = grp[a:e]
        v_rows = vals[a:e]
        # Passes 1-2: the aggregations' own bounding (rows and units per group).
        dropped += bound_bucket(
            u_rows, g_rows, v_rows, False, rec, l0, linf, lo, hi, 0.0, 1.0, salt,
            ubase, out_rows, out_units, unused,
        )  # fmt: skip
        # Pass 3: the same keep decision, row by row, in table order.
        for i in range(e - a):
            u = u_rows[i]
            g = np.int64(g_rows[i])
            base = u * stride
            slot = -1
            if pair_hash(salt, ubase + u, g) <= np.uint64(rec[base + 1]):
                for j in range(rec[base]):
                    if rec[base + 2 + j] == g:
                        slot = u * l0 + j
                        break
            if slot < 0 or cnt[slot] >= linf:
                continue
            cnt[slot] += 1
            _accumulate(
                mode, g, v_rows[i], lo, hi, n_bins, mid, half_sq, q, q2, out_a, out_b
            )
    return dropped


@jit
def rows_unbounded(
    group, values, lo, hi, mode, n_bins, mid, half_sq, q, q2, out_rows, out_a, out_b
):
    """Event-level accumulation: every row with a group (>= 0) is kept."""
    for i in range(group.shape[0]):
        g = group[i]
        if g < 0:
            continue
        out_rows[g] += 1
        _accumulate(
            mode, g, values[i], lo, hi, n_bins, mid, half_sq, q, q2, out_a, out_b
        )


@jit
def tree_levels(leaves, radices, out):
    """Node counts of every level of a tree over each row of ``leaves``.

    ``leaves`` int64[R, B]; ``radices`` int64[L] the branching of each level
    from the top (their product is B); ``out`` int64[R, S] with S the total
    nodes, levels stored top first (level 1: radices[0] nodes, ..., level L:
    the B leaves themselves).
    """
    n_levels = radices.shape[0]
    b = leaves.shape[1]
    for r in range(leaves.shape[0]):
        # Leaves go last; each level above sums blocks of the one below.
        pos = out.shape[1] - b
        for j in range(b):
            out[r, pos + j] = leaves[r, j]
        size = b
        for k in range(n_levels - 1, 0, -1):
            rad = radices[k]
            parent = size // rad
            ppos = pos - parent
            for p in range(parent):
                s = np.int64(0)
                for c in range(rad):
                    s += out[r, pos + p * rad + c]
                out[r, ppos + p] = s
            pos = ppos
            size = parent


@jit
def _first_at_least(arr, n, thr):
    # arr[0:n] is non-decreasing: smallest j with arr[j] >= thr, else n - 1.
    lo_i = 0
    hi_i = n
    while lo_i < hi_i:
        mid = (lo_i + hi_i) // 2
        if arr[mid] >= thr:
            hi_i = mid
        else:
            lo_i = mid + 1
    return lo_i if lo_i < n else n - 1


@jit
def tree_quantiles(nodes, radices, qs, c_low, c_high, out_est, out_low, out_high):
    """Quantile bins and interval bins from noisy trees (post-processing only).

    ``nodes`` int64[R, S]: one noisy tree per row, laid out as ``tree_levels``
    writes it. ``qs`` float64[K]: the quantiles; ``c_low``/``c_high``
    float64[K, B]: their noise margins per bin (``c_high`` non-increasing in
    the bin). Writes int64[R, K] bin indices.

    For each row, F(j) is the noisy count of values in bins 0..j, summed from
    the canonical nodes of the prefix (the left siblings at every level), and
    N the sum of the top level. With G(j) = F(j) - q·N, ``up(j)`` = min over
    k >= j of G(k) and ``down(j)`` = max over k <= j (both non-decreasing):
    the estimate is the first j with (up + down)/2 >= 0, the interval's low
    end the first j with down(j) >= -c_low(j), its high end the first j with
    up(j) >= c_high(j) (B - 1 when there is none).
    """
    n_levels = radices.shape[0]
    b = np.int64(1)
    for k in range(n_levels):
        b *= radices[k]
    # strides[k]: leaves under one node of level k + 1; offsets: where the level starts.
    strides = np.empty(n_levels, dtype=np.int64)
    offsets = np.empty(n_levels, dtype=np.int64)
    s = b
    off = np.int64(0)
    width = np.int64(1)
    for k in range(n_levels):
        s //= radices[k]
        strides[k] = s
        offsets[k] = off
        width *= radices[k]
        off += width
    f = np.empty(b, dtype=np.float64)
    up = np.empty(b, dtype=np.float64)
    down = np.empty(b, dtype=np.float64)
    mid = np.empty(b, dtype=np.float64)
    sibling = np.empty(b, dtype=np.int64)
    # left[offsets[k] + i]: the sum of node i's left siblings in its block.
    left = np.empty(nodes.shape[1], dtype=np.int64)
    for r in range(nodes.shape[0]):
        total = np.int64(0)
        for c in range(radices[0]):
            total += nodes[r, c]
        width = np.int64(1)
        for k in range(n_levels):
            width *= radices[k]
            acc = np.int64(0)
            for i in range(width):
                if i % radices[k] == 0:
                    acc = np.int64(0)
                left[offsets[k] + i] = acc
                acc += nodes[r, offsets[k] + i]
        # Prefix sums of t = j + 1 leaves, t < B: at level k the node holding
        # leaf t is t // stride; its left siblings are the prefix's nodes there.
        for j in range(b - 1):
            t = j + 1
            acc = np.int64(0)
            for k in range(n_levels):
                acc += left[offsets[k] + t // strides[k]]
            sibling[j] = acc
        sibling[b - 1] = total
        for kq in range(qs.shape[0]):
            q = qs[kq]
            shift = q * np.float64(total)
            for j in range(b):
                f[j] = np.float64(sibling[j]) - shift
            run = f[0]
            for j in range(b):
                if f[j] > run:
                    run = f[j]
                down[j] = run
            run = f[b - 1]
            for j in range(b - 1, -1, -1):
                if f[j] < run:
                    run = f[j]
                up[j] = run
            for j in range(b):
                mid[j] = 0.5 * (up[j] + down[j])
            out_est[r, kq] = _first_at_least(mid, b, 0.0)
            lo_j = b - 1
            for j in range(b):
                if down[j] >= -c_low[kq, j]:
                    lo_j = j
                    break
            hi_j = b - 1
            for j in range(b):
                if up[j] >= c_high[kq, j]:
                    hi_j = j
                    break
            out_low[r, kq] = lo_j
            out_high[r, kq] = hi_j


@jit
def select_rows(w, g, words, st, out, start):
    """``out[r]`` = an exact exponential-mechanism draw over row r of ``w``, for r >= start.

    ``w`` int64[R, m]: integer weights as ``selection.exponential_select``
    takes them (candidate i has weight exp(w[r, i] / 2**g)). Returns the
    first row not drawn: R when all are done, else the row at which the
    words ran out (``st`` rewound for a replay, as the selection kernels do).
    """
    for r in range(start, w.shape[0]):
        idx = exponential_select(w[r], g, words, st)
        if idx < 0:
            return r
        out[r] = idx
    return w.shape[0]


def warmup() -> None:
    """Compile this module's kernels for the signatures the releases use."""
    from loopkit_privacy._kernels import bounding

    one = np.ones(1, dtype=np.int64)
    z = np.zeros(1, dtype=np.int64)
    for writeable in (True, False):
        codes = np.zeros(1, dtype=np.int64)
        values = np.zeros(1, dtype=np.float64)
        codes.flags.writeable = writeable
        values.flags.writeable = writeable
        for mode in (MODE_HISTOGRAM, MODE_MOMENTS):
            tail = (np.int64(mode), np.int64(16), 0.5, 0.125, 1.0, 1.0)
            out_a = np.zeros(16, dtype=np.int64)
            rows_unbounded(codes, values, 0.0, 1.0, *tail, z.copy(), out_a, z.copy())
            bits = bounding.bucket_bits(np.int64(1))
            parts = bounding.partition_by_user(codes, codes, values, np.int64(1), bits)
            bound_rows_buckets(
                *parts, bits, 0, 1, np.int64(1), np.int64(1), 0.0, 1.0,
                np.uint64(1), *tail, z.copy(), z.copy(), out_a, z.copy(),
            )  # fmt: skip
    leaves = np.zeros((1, 16), dtype=np.int64)
    radices = np.array([16], dtype=np.int64)
    nodes = np.zeros((1, 16), dtype=np.int64)
    tree_levels(leaves, radices, nodes)
    qs = np.array([0.5])
    cs = np.zeros((1, 16))
    outs = [np.zeros((1, 1), dtype=np.int64) for _ in range(3)]
    tree_quantiles(nodes, radices, qs, cs, cs, *outs)
    st = np.zeros(4, dtype=np.int64)
    words = np.zeros(0, dtype=np.uint64)
    select_rows(leaves, np.int64(1), words, st, one.copy(), np.int64(0))
