"""Contribution bounding fused with the per-group reductions.

One privacy unit (user) keeps at most ``l0`` partitions (groups) and at most
``linf`` rows in each kept partition; values are clamped to ``[lo, hi]`` and
turned into fixed-point integers of ``q`` (a power of two) so that sums are
exact and order-independent (Casacuberta et al., CCS 2022).

Which partitions a user keeps: the ``l0`` whose keyed hash h(salt, user,
group) is smallest among the user's distinct partitions. Which rows: the
first ``linf`` of the user's rows in that partition, in table order. Both
rules look only at the user's own rows, as user-level DP requires.

Two passes over the rows, no sort: the first keeps, per user, the ``l0``
smallest-hash distinct groups in a small table of ``n_users × l0`` slots; the
second keeps a row when its group is in its user's slots and that slot has
taken fewer than ``linf`` rows.
"""

from __future__ import annotations

import numpy as np

from loopkit_privacy._kernels._jit import jit
from loopkit_privacy._kernels.grouping import _mix


@jit
def _pair_hash(salt, user, group):
    return _mix(_mix(np.uint64(user) ^ salt) ^ np.uint64(group))


@jit
def bound_reduce(
    user,
    group,
    values,
    n_users,
    n_groups,
    l0,
    linf,
    lo,
    hi,
    centre,
    q,
    salt,
    out_rows,
    out_units,
    out_sum,
):
    """Bound contributions and reduce per group.

    Parameters (all validated by the caller):
    user, group : int64[n] codes; -1 drops the row.
    values : float64[n] (already free of NaN/inf), or length 0 when no sum is needed.
    l0, linf : int64 >= 1; lo < hi floats; q > 0 a power of two; salt uint64.
    out_rows : int64[n_groups], zeroed — rows kept per group.
    out_units : int64[n_groups], zeroed — distinct users kept per group.
    out_sum : int64[n_groups], zeroed — Σ round((clamp(v, lo, hi) - centre) / q)
        over kept rows.

    Returns the number of rows dropped by bounding.
    """
    n = user.shape[0]
    # One record per user, contiguous so a row touches one or two cache lines:
    # [filled, group_0..group_{l0-1}, hash_0.., taken_0..]. Hashes are kept as
    # int64 bit patterns and compared as uint64.
    stride = 1 + 3 * l0
    rec = np.zeros(n_users * stride, dtype=np.int64)
    # Pass 1: per user, the l0 distinct groups of smallest hash (ties broken
    # by group code, so the order is strict).
    for i in range(n):
        u = user[i]
        g = group[i]
        if u < 0 or g < 0:
            continue
        base = u * stride
        f = rec[base]
        seen = False
        for j in range(f):
            if rec[base + 1 + j] == g:
                seen = True
                break
        if seen:
            continue
        h = _pair_hash(salt, u, g)
        if f < l0:
            rec[base + 1 + f] = g
            rec[base + 1 + l0 + f] = np.int64(h)
            rec[base] = f + 1
            continue
        # Full: replace the largest (hash, group) if this pair is smaller.
        worst = 0
        hw = np.uint64(rec[base + 1 + l0])
        for j in range(1, l0):
            hj = np.uint64(rec[base + 1 + l0 + j])
            if hj > hw or (hj == hw and rec[base + 1 + j] > rec[base + 1 + worst]):
                worst = j
                hw = hj
        if h < hw or (h == hw and g < rec[base + 1 + worst]):
            rec[base + 1 + worst] = g
            rec[base + 1 + l0 + worst] = np.int64(h)
    # Pass 2: keep the first linf rows of each kept (user, group).
    with_values = values.shape[0] > 0
    dropped = 0
    for i in range(n):
        u = user[i]
        g = group[i]
        if u < 0 or g < 0:
            continue
        base = u * stride
        slot = -1
        for j in range(rec[base]):
            if rec[base + 1 + j] == g:
                slot = base + 1 + 2 * l0 + j
                break
        if slot < 0 or rec[slot] >= linf:
            dropped += 1
            continue
        if rec[slot] == 0:
            out_units[g] += 1
        rec[slot] += 1
        out_rows[g] += 1
        if with_values:
            v = values[i]
            if v < lo:
                v = lo
            elif v > hi:
                v = hi
            out_sum[g] += np.int64(np.rint((v - centre) / q))
    return dropped


@jit
def reduce_unbounded(group, values, lo, hi, centre, q, out_rows, out_sum):
    """Event-level reduction: each row is its own unit; -1 groups are skipped.

    Counts rows and sums round((clamp(v, lo, hi) - centre) / q) per group.
    """
    with_values = values.shape[0] > 0
    for i in range(group.shape[0]):
        g = group[i]
        if g < 0:
            continue
        out_rows[g] += 1
        if with_values:
            v = values[i]
            if v < lo:
                v = lo
            elif v > hi:
                v = hi
            out_sum[g] += np.int64(np.rint((v - centre) / q))
