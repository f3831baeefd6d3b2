"""Plain-Python references of the histogram binning and the funnel levels.

Written as directly as possible (a loop per row, a loop per user), with no
numba and nothing shared with the package's kernels, so that a test comparing
the two checks the kernels' rules, not a copy of them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def bin_of(value: float, edges: list[float], clip: bool) -> int | None:
    """Index of the bin [e_j, e_{j+1}) holding ``value`` (last bin closed), or None."""
    if value < edges[0]:
        return 0 if clip else None
    if value > edges[-1]:
        return len(edges) - 2 if clip else None
    if value == edges[-1]:
        return len(edges) - 2
    for j in range(len(edges) - 1):
        if edges[j] <= value < edges[j + 1]:
            return j
    raise AssertionError("unreachable")


def histogram_counts(
    rows: list[tuple[Any, Any, float | None]], edges: list[float], *, clip: bool
) -> dict[tuple[Any, int], int]:
    """Rows per (group, bin) of ``(user, group, value)`` rows: no bounding (None values dropped)."""
    out: dict[tuple[Any, int], int] = defaultdict(int)
    for _user, group, value in rows:
        if value is None:
            continue
        j = bin_of(value, edges, clip)
        if j is not None:
            out[(group, j)] += 1
    return dict(out)


def histogram_distinct_users(
    rows: list[tuple[Any, Any, float | None]], edges: list[float], *, clip: bool
) -> dict[tuple[Any, int], int]:
    """Distinct users per (group, bin) (the bounded count with L∞ = 1, L0 large)."""
    seen: dict[tuple[Any, int], set[Any]] = defaultdict(set)
    for user, group, value in rows:
        if value is None:
            continue
        j = bin_of(value, edges, clip)
        if j is not None:
            seen[(group, j)].add(user)
    return {k: len(v) for k, v in seen.items()}


def funnel_levels(
    rows: list[tuple[Any, Any, int, Any]], steps: list[Any], window: int
) -> dict[Any, tuple[int, Any]]:
    """(level, group) per user of ``(user, step, time, group)`` rows.

    The anchor is the user's earliest event of ``steps[0]`` (first row on a
    tie) and gives the group; then, step by step, the earliest event of the
    next step at or after the previous step's time and less than ``window``
    after the anchor.
    """
    by_user: dict[Any, list[tuple[int, int, Any, Any]]] = defaultdict(list)
    for i, (user, step, time, group) in enumerate(rows):
        by_user[user].append((time, i, step, group))
    out: dict[Any, tuple[int, Any]] = {}
    for user, events in by_user.items():
        events.sort(key=lambda e: (e[0], e[1]))
        firsts = [e for e in events if e[2] == steps[0]]
        if not firsts:
            out[user] = (0, None)
            continue
        t0, _, _, group = firsts[0]
        level, t_prev = 1, t0
        for step in steps[1:]:
            later = [
                t
                for t, _, s, _ in events
                if s == step and t >= t_prev and t - t0 < window
            ]
            if not later:
                break
            t_prev = min(later)
            level += 1
        out[user] = (level, group)
    return out


def funnel_reach(
    rows: list[tuple[Any, Any, int, Any]], steps: list[Any], window: int
) -> dict[Any, list[int]]:
    """Users reaching each step, per group."""
    out: dict[Any, list[int]] = defaultdict(lambda: [0] * len(steps))
    for level, group in funnel_levels(rows, steps, window).values():
        for j in range(level):
            out[group][j] += 1
    return dict(out)
