"""Deterministic synthetic events for the aggregation benchmarks, memoised per process.

The events come from :func:`loopkit_privacy.cli.synthetic_events` (the demo's
generator): ``user_id`` (int64), ``page`` (1000 Zipf-distributed paths),
``feature``, ``time_spent`` (log-normal minutes) and ``platform``.

Users scale with rows: one user per 20 events, i.e. 5 000 users at 10^5
rows, 50 000 at 10^6 and 500 000 at 10^7 (the generator's default). With the
L0 = 4 bound of the benchmarks most users therefore lose rows to bounding,
which is the case that costs time. The seed is fixed, so every process (asv,
the side-by-side script, its per-tool subprocesses) sees the same table.
"""

from __future__ import annotations

from functools import cache
from typing import Any

__all__ = ["EVENTS_PER_USER", "SEED", "events", "n_users"]

#: Events per user: the generator's default ratio.
EVENTS_PER_USER = 20
#: Seed of the generator.
SEED = 0


def n_users(rows: int) -> int:
    """Number of distinct users in a table of ``rows`` events."""
    return max(1, rows // EVENTS_PER_USER)


@cache
def events(rows: int) -> Any:
    """The synthetic events (a polars DataFrame) with ``rows`` rows.

    Built once per process and size; callers must not mutate it (polars
    frames are immutable, so sharing is safe).
    """
    from loopkit_privacy.cli import synthetic_events

    return synthetic_events(rows, n_users=n_users(rows), seed=SEED)
