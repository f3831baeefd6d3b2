"""A slow, obviously correct cohort-retention reference in plain Python.

Works on lists of (user, time) with ``datetime.date``/``datetime.datetime``
times, using only the standard library's calendar arithmetic, so it shares no
code with the numba kernels it checks.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict


def period_index(t: dt.date, period: str) -> int:
    """Calendar periods since 1970 (weeks start on Monday)."""
    d = t.date() if isinstance(t, dt.datetime) else t
    days = (d - dt.date(1970, 1, 1)).days
    if period == "day":
        return days
    if period == "week":
        monday = d - dt.timedelta(days=d.weekday())
        return ((monday - dt.date(1969, 12, 29)).days) // 7
    months = (d.year - 1970) * 12 + d.month - 1
    return {"month": months, "quarter": months // 3, "year": months // 12}[period]


def period_start(index: int, period: str) -> dt.date:
    if period == "day":
        return dt.date(1970, 1, 1) + dt.timedelta(days=index)
    if period == "week":
        return dt.date(1969, 12, 29) + dt.timedelta(days=7 * index)
    months = index * {"month": 1, "quarter": 3, "year": 12}[period]
    return dt.date(1970 + months // 12, months % 12 + 1, 1)


def retention_truth(
    events: list[tuple[object, dt.date]],
    *,
    start: dt.datetime,
    end: dt.datetime,
    period: str,
    n_periods: int,
    signup: dict[object, dt.date] | None = None,
) -> tuple[list[dt.date], list[list[int]]]:
    """Cohort labels and, per cohort, [size, active at offset 0, ..., P-1].

    No cap on active periods (every active offset counts).
    """

    def as_dt(x):
        return x if isinstance(x, dt.datetime) else dt.datetime(x.year, x.month, x.day)

    first: dict[object, dt.datetime] = {}
    for user, t in events:
        if user not in first or as_dt(t) < first[user]:
            first[user] = as_dt(t)
    cohort_time = {u: as_dt(signup[u]) for u in first} if signup is not None else first
    p0 = period_index(start, period)
    p1 = period_index(end - dt.timedelta(microseconds=1), period)
    labels = [period_start(p, period) for p in range(p0, p1 + 1)]
    counts = [[0] * (1 + n_periods) for _ in labels]
    active = defaultdict(set)
    for user, t in events:
        active[user].add(
            period_index(t, period) - period_index(cohort_time[user], period)
        )
    for user, ct in cohort_time.items():
        if not (start <= ct < end):
            continue
        c = period_index(ct, period) - p0
        counts[c][0] += 1
        for off in active[user]:
            if 0 <= off < n_periods:
                counts[c][1 + off] += 1
    return labels, counts
