"""Funnel kernel: how far each user gets through an ordered list of steps.

Rows carry a user code, a step code (0..S-1, or -1 for an event that is not
a funnel step), a time (int64 ticks) and a group code (-1: not a released
group). A user's funnel starts at their first step-0 event (the anchor,
time t0; the earliest row, the first in table order on ties), and the
user's group is that row's group. Step k (k >= 1) is reached when the user
has a step-k event at a time t with t >= (the time at which step k-1 was
reached) and t - t0 < window. Taking for each step the earliest such event
is optimal (greedy): any later choice leaves fewer events for the next
steps, so the level found is the furthest step reachable in order.

The work is S sequential passes over the rows plus one random access per
funnel row; no sort. Everything looks at the user's own rows only.
"""

from __future__ import annotations

import numpy as np

from loopkit_privacy._kernels._jit import jit


@jit
def funnel_levels(units, steps, times, groups, n_units, n_steps, window):
    """(level, group) of each user: steps reached (0..S) and the anchor row's group.

    units : int64[n] codes in [0, n_units); steps : int64[n] in [-1, S);
    times : int64[n]; groups : int64[n] (>= -1); window : int64 > 0 (ticks).
    Returns level int64[n_units] (0: no step-0 event) and group
    int64[n_units] (-1 for a user without an anchor).
    """
    n = units.shape[0]
    level = np.zeros(n_units, dtype=np.int64)
    group = np.full(n_units, -1, dtype=np.int64)
    anchor = np.zeros(n_units, dtype=np.int64)
    for i in range(n):
        if steps[i] != 0:
            continue
        u = units[i]
        t = times[i]
        if level[u] == 0 or t < anchor[u]:
            level[u] = 1
            anchor[u] = t
            group[u] = groups[i]
    prev = anchor.copy()
    nxt = np.zeros(n_units, dtype=np.int64)
    hit = np.zeros(n_units, dtype=np.bool_)
    w = np.uint64(window)
    for k in range(1, n_steps):
        any_hit = False
        for i in range(n):
            if steps[i] != k:
                continue
            u = units[i]
            if level[u] != k:
                continue  # step k-1 not reached
            t = times[i]
            if t < prev[u]:
                continue
            # t >= prev >= t0: the difference is exact in uint64 even when
            # t - t0 would overflow int64.
            if np.uint64(t) - np.uint64(anchor[u]) >= w:
                continue
            if not hit[u] or t < nxt[u]:
                hit[u] = True
                nxt[u] = t
                any_hit = True
        if not any_hit:
            break
        for u in range(n_units):
            if hit[u]:
                level[u] = k + 1
                prev[u] = nxt[u]
                hit[u] = False
    return level, group


@jit
def level_counts(level, group, n_groups, n_steps):
    """Users per (group, exact level): int64[n_groups, S]; column k-1 is level k.

    Users with level 0 or group -1 are counted nowhere.
    """
    out = np.zeros((n_groups, n_steps), dtype=np.int64)
    for u in range(level.shape[0]):
        lv = level[u]
        g = group[u]
        if lv > 0 and g >= 0:
            out[g, lv - 1] += 1
    return out


def warmup() -> None:
    """Compile the common signatures (times computed or read-only Arrow views)."""
    units = np.zeros(1, dtype=np.int64)
    for writeable in (True, False):
        t = np.zeros(1, dtype=np.int64)
        t.flags.writeable = writeable
        level, group = funnel_levels(
            units, units, t, units, np.int64(1), np.int64(2), np.int64(1)
        )
        level_counts(level, group, np.int64(1), np.int64(2))
