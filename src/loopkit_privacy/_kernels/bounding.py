"""Contribution bounding fused with the per-group reductions.

One privacy unit (user) keeps at most ``l0`` partitions (groups) and at most
``linf`` rows in each kept partition; values are clamped to ``[lo, hi]`` and
turned into fixed-point integers of ``q`` (a power of two) so that sums are
exact and order-independent (Casacuberta et al., CCS 2022).

Which partitions a user keeps: the ``l0`` whose keyed hash h(salt, user,
group) is smallest among the user's distinct partitions. Which rows: the
first ``linf`` of the user's rows in that partition, in table order. Both
rules look only at the user's own rows, as user-level DP requires.

Rows are partitioned by user into cache-sized buckets (a stable scatter, not
a sort); in each bucket a first pass keeps, per user, the ``l0``
smallest-hash distinct groups, and a second keeps a row when its group is
among them and fewer than ``linf`` of the user's rows in that group were kept.
"""

from __future__ import annotations

import numpy as np

from loopkit_privacy._kernels._jit import jit
from loopkit_privacy._kernels.grouping import mix64


@jit
def fixed_point(v, lo, hi, centre, q):
    """round((clamp(v, lo, hi) - centre) / q) as int64: one row's exact share of a sum."""
    if v < lo:
        v = lo
    elif v > hi:
        v = hi
    return np.int64(np.rint((v - centre) / q))


@jit
def pair_hash(salt, user, group):
    return mix64(mix64(np.uint64(user) ^ salt) ^ np.uint64(group))


# Users per bucket: a bucket's records (2 + 3·l0 int64 each) stay in L2 cache.
_BUCKET_BITS = 11
# A bucket's records never exceed this many int64 (16 MiB), whatever l0 is:
# large l0 gets fewer users per bucket (see bucket_bits).
_MAX_RECORD_WORDS = 1 << 21


@jit
def bucket_bits(l0):
    """log2 of the users per bucket for ``l0``: 11, fewer when records grow large."""
    stride = 2 + 3 * l0
    bits = 0
    while bits < _BUCKET_BITS and (np.int64(2) << bits) * stride <= _MAX_RECORD_WORDS:
        bits += 1
    return np.int64(bits)


@jit
def bound_bucket(
    uloc,
    grp,
    vals,
    with_values,
    rec,
    l0,
    linf,
    lo,
    hi,
    centre,
    q,
    salt,
    ubase,
    out_rows,
    out_units,
    out_sum,
):
    """Bound one bucket's rows (in table order) with its users' records ``rec``."""
    stride = 2 + 3 * l0
    m = uloc.shape[0]
    # Pass 1: per user, the l0 distinct groups of smallest (hash, group).
    for i in range(m):
        u = uloc[i]
        g = np.int64(grp[i])
        base = u * stride
        f = rec[base]
        h = pair_hash(salt, ubase + u, g)
        if f == l0 and h > np.uint64(rec[base + 1]):
            continue  # cannot be among the l0 smallest
        seen = False
        for j in range(f):
            if rec[base + 2 + j] == g:
                seen = True
                break
        if seen:
            continue
        if f < l0:
            rec[base + 2 + f] = g
            rec[base + 2 + l0 + f] = np.int64(h)
            rec[base + 2 + 2 * l0 + f] = 0
            rec[base] = f + 1
            if f == 0 or h > np.uint64(rec[base + 1]):
                rec[base + 1] = np.int64(h)
            continue
        # Full and (h, g) may beat the largest kept pair: find that pair.
        worst = 0
        hw = np.uint64(rec[base + 2 + l0])
        for j in range(1, l0):
            hj = np.uint64(rec[base + 2 + l0 + j])
            if hj > hw or (hj == hw and rec[base + 2 + j] > rec[base + 2 + worst]):
                worst = j
                hw = hj
        if h < hw or (h == hw and g < rec[base + 2 + worst]):
            rec[base + 2 + worst] = g
            rec[base + 2 + l0 + worst] = np.int64(h)
            rec[base + 2 + 2 * l0 + worst] = 0
            new_max = np.uint64(rec[base + 2 + l0])
            for j in range(1, l0):
                hj = np.uint64(rec[base + 2 + l0 + j])
                if hj > new_max:
                    new_max = hj
            rec[base + 1] = np.int64(new_max)
    # Pass 2: keep the first linf rows of each kept (user, group).
    dropped = 0
    for i in range(m):
        u = uloc[i]
        g = np.int64(grp[i])
        base = u * stride
        slot = -1
        if pair_hash(salt, ubase + u, g) <= np.uint64(rec[base + 1]):
            for j in range(rec[base]):
                if rec[base + 2 + j] == g:
                    slot = base + 2 + 2 * l0 + j
                    break
        if slot < 0 or rec[slot] >= linf:
            dropped += 1
            continue
        if rec[slot] == 0:
            out_units[g] += 1
        rec[slot] += 1
        out_rows[g] += 1
        if with_values:
            out_sum[g] += fixed_point(vals[i], lo, hi, centre, q)
    return dropped


@jit
def partition_by_user(user, group, values, n_users, bits):
    """Stable scatter of the kept rows into buckets of 2**bits consecutive users.

    Returns (starts, uloc, grp, vals): bucket b holds rows starts[b]:starts[b+1]
    of uloc (user code within the bucket, int32), grp (int32) and vals
    (float64, empty when ``values`` is). Rows with a -1 code are left out;
    table order is kept within each bucket.
    """
    n = user.shape[0]
    with_values = values.shape[0] > 0
    n_buckets = (n_users >> bits) + 1
    starts = np.zeros(n_buckets + 1, dtype=np.int64)
    for i in range(n):
        if user[i] >= 0 and group[i] >= 0:
            starts[(user[i] >> bits) + 1] += 1
    for b in range(n_buckets):
        starts[b + 1] += starts[b]
    kept = starts[n_buckets]
    uloc = np.empty(kept, dtype=np.int32)
    grp = np.empty(kept, dtype=np.int32)
    vals = np.empty(kept if with_values else 0, dtype=np.float64)
    pos = starts[:n_buckets].copy()
    mask = (np.int64(1) << bits) - 1
    for i in range(n):
        u = user[i]
        g = group[i]
        if u < 0 or g < 0:
            continue
        b = u >> bits
        p = pos[b]
        uloc[p] = np.int32(u & mask)
        grp[p] = np.int32(g)
        if with_values:
            vals[p] = values[i]
        pos[b] = p + 1
    return starts, uloc, grp, vals


@jit
def bound_buckets(
    starts,
    uloc,
    grp,
    vals,
    bits,
    b0,
    b1,
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
    """Bound buckets b0..b1-1 of a partition into the (zeroed) per-group totals.

    ``bits`` is the partition's ``bucket_bits(l0)``. Buckets hold disjoint
    users, so disjoint bucket ranges may run on separate threads with
    separate output arrays. Returns the rows dropped.
    """
    with_values = vals.shape[0] > 0
    stride = 2 + 3 * l0
    users = np.int64(1) << bits
    # Memory and the work per bucket depend on l0 and bits only (public).
    rec = np.zeros(users * stride, dtype=np.int64)
    dropped = 0
    for b in range(b0, b1):
        a = starts[b]
        e = starts[b + 1]
        if a == e:
            continue
        # Only the two header words of each user need resetting: a slot's
        # row counter is zeroed when a group enters the slot.
        for u in range(users):
            rec[u * stride] = 0
            rec[u * stride + 1] = 0
        dropped += bound_bucket(
            uloc[a:e], grp[a:e], vals[a:e] if with_values else vals, with_values,
            rec, l0, linf, lo, hi, centre, q, salt, np.int64(b) << bits,
            out_rows, out_units, out_sum,
        )  # fmt: skip
    return dropped


@jit
def bound_reduce(
    user, group, values, n_users, n_groups, l0, linf, lo, hi, centre, q, salt,
    out_rows, out_units, out_sum,
):  # fmt: skip
    """Bound contributions and reduce per group (single-threaded).

    Parameters (all validated by the caller):
    user, group : int64[n] codes; -1 drops the row. n_groups < 2**31.
    values : float64[n] (already free of NaN/inf), or length 0 when no sum is needed.
    l0, linf : int64 >= 1; lo < hi floats; q > 0 a power of two; salt uint64.
    out_rows : int64[n_groups], zeroed — rows kept per group.
    out_units : int64[n_groups], zeroed — distinct users kept per group.
    out_sum : int64[n_groups], zeroed — Σ round((clamp(v, lo, hi) - centre) / q)
        over kept rows.

    Returns the number of rows dropped by bounding.

    Rows are first partitioned (stably, so table order is kept within a user)
    into buckets of 2**11 consecutive user codes; each bucket is then bounded
    with its users' records in cache. This turns two random memory accesses
    per row into sequential work.
    """
    bits = bucket_bits(l0)
    starts, uloc, grp, vals = partition_by_user(user, group, values, n_users, bits)
    n_buckets = starts.shape[0] - 1
    return bound_buckets(
        starts, uloc, grp, vals, bits, 0, n_buckets, l0, linf, lo, hi, centre, q, salt,
        out_rows, out_units, out_sum,
    )  # fmt: skip


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
            out_sum[g] += fixed_point(values[i], lo, hi, centre, q)
