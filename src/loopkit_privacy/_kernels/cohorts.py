"""Cohort retention kernels: calendar periods, per-user cohorts, bounded activity.

Times are int64 ticks (``ticks_per_day`` of them per day) of a wall clock.
A period index counts calendar periods since 1970: days, Monday-based weeks,
months, quarters or years. A user's cohort is a period; each of their rows
marks the period offset (row period - cohort period) active, and each user
counts at most once per offset and at most ``cap`` offsets in all. When a
user has more active offsets than ``cap``, the ``cap`` with the smallest keyed
hash h(salt, user, offset) are kept: a rule that looks at the user's own rows
only, as user-level DP requires.
"""

from __future__ import annotations

import numpy as np

from loopkit_privacy._kernels._jit import jit
from loopkit_privacy._kernels.bounding import pair_hash

#: Sentinel "no time" (a user without rows).
NO_TIME = np.iinfo(np.int64).max

DAY, WEEK, MONTH, QUARTER, YEAR = 0, 1, 2, 3, 4


@jit
def months_since_epoch(days):
    """Calendar month index (1970-01 is 0) of a day count since 1970-01-01.

    The proleptic Gregorian civil-from-days conversion (floor division, so
    days before 1970 work too).
    """
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    return (y - 1970) * 12 + (m - 1)


@jit
def period_of(t, ticks_per_day, kind):
    """Period index of one time."""
    days = t // ticks_per_day
    if kind == DAY:
        return days
    if kind == WEEK:
        # 1970-01-01 was a Thursday; weeks start on Monday 1969-12-29.
        return (days + 3) // 7
    m = months_since_epoch(days)
    if kind == MONTH:
        return m
    if kind == QUARTER:
        return m // 3
    return m // 12


@jit
def periods_of(t, ticks_per_day, kind):
    out = np.empty(t.shape[0], dtype=np.int64)
    for i in range(t.shape[0]):
        out[i] = NO_TIME if t[i] == NO_TIME else period_of(t[i], ticks_per_day, kind)
    return out


@jit
def first_times(units, t, n_units):
    """Earliest time of each user's rows (NO_TIME for a user without rows)."""
    first = np.full(n_units, NO_TIME, dtype=np.int64)
    for i in range(units.shape[0]):
        u = units[i]
        if t[i] < first[u]:
            first[u] = t[i]
    return first


@jit
def cohort_times(units, c, n_units):
    """Each user's cohort time from a per-row column, and which users disagree.

    Returns (smallest time per user, bool per user: the user's rows hold two
    different values).
    """
    lo = np.full(n_units, NO_TIME, dtype=np.int64)
    hi = np.full(n_units, np.iinfo(np.int64).min, dtype=np.int64)
    for i in range(units.shape[0]):
        u = units[i]
        if c[i] < lo[u]:
            lo[u] = c[i]
        if c[i] > hi[u]:
            hi[u] = c[i]
    mixed = np.zeros(n_units, dtype=np.bool_)
    for u in range(n_units):
        mixed[u] = lo[u] != NO_TIME and hi[u] != lo[u]
    return lo, mixed


@jit
def rows_before(units, t, cohort_time):
    """Bool per row: the row's time is before its user's cohort time."""
    out = np.empty(units.shape[0], dtype=np.bool_)
    for i in range(units.shape[0]):
        out[i] = t[i] < cohort_time[units[i]]
    return out


@jit
def period_table(first_day, last_day, kind):
    """Period index of every day in [first_day, last_day]: a lookup table."""
    n = max(last_day - first_day + 1, 0)
    out = np.empty(n, dtype=np.int64)
    for d in range(n):
        out[d] = period_of(first_day + d, np.int64(1), kind)
    return out


@jit
def retention_counts(
    units,
    t,
    user_cohort,
    user_period,
    n_cohorts,
    n_periods,
    until,
    ticks_per_day,
    kind,
    cap,
    salt,
    d0,
    d1,
):
    """Bounded counts: column 0 the cohort size, column 1 + j the users active at offset j.

    ``user_cohort[u]`` is the cohort index of user u (-1: in no cohort) and
    ``user_period[u]`` the period index of that cohort. Rows at or after
    ``until``, and rows whose day is outside the public day range
    [d0, d1] (which covers every cell), are ignored. Returns the
    (n_cohorts, 1 + n_periods) int64 counts and the number of active
    (user, offset) pairs dropped by ``cap``.
    """
    n_units = user_cohort.shape[0]
    words = (n_periods + 63) // 64
    # One random read per row: the cohort period, or NO_TIME for users in
    # no cohort; days map to periods through a table over the days present.
    base = np.empty(n_units, dtype=np.int64)
    for u in range(n_units):
        base[u] = user_period[u] if user_cohort[u] >= 0 else NO_TIME
    # The day -> period table spans the public range only: its size (and the
    # work) never depends on how early or late any row is.
    table = period_table(d0, d1, kind)
    bits = np.zeros(n_units * words, dtype=np.uint64)
    for i in range(units.shape[0]):
        u = units[i]
        b = base[u]
        if b == NO_TIME or t[i] >= until:
            continue
        day = t[i] // ticks_per_day
        if day < d0 or day > d1:
            continue  # before every cohort or after every cell
        off = table[day - d0] - b
        if off >= 0 and off < n_periods:
            bits[u * words + (off >> 6)] |= np.uint64(1) << np.uint64(off & 63)
    counts = np.zeros((n_cohorts, 1 + n_periods), dtype=np.int64)
    active = np.empty(n_periods, dtype=np.int64)
    hashes = np.empty(n_periods, dtype=np.uint64)
    dropped = 0
    for u in range(n_units):
        c = user_cohort[u]
        if c < 0:
            continue
        counts[c, 0] += 1
        k = 0
        base = u * words
        for off in range(n_periods):
            if (bits[base + (off >> 6)] >> np.uint64(off & 63)) & np.uint64(1):
                active[k] = off
                k += 1
        if k <= cap:
            for j in range(k):
                counts[c, 1 + active[j]] += 1
        else:
            for j in range(k):
                hashes[j] = pair_hash(salt, u, active[j])
            order = np.argsort(hashes[:k])
            for j in range(cap):
                counts[c, 1 + active[order[j]]] += 1
            dropped += k - cap
    return counts, dropped
