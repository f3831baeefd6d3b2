"""aggregate_histogram and funnel against plain polars doing the same non-private work.

One run, the tools interleaved round by round (so load changes hit both):

* **histogram**: 10^7 events of 500 000 users, a ``seconds`` value binned by
  20 public edges, per ``page`` (5 public pages). Plain polars: ``cut`` and
  a count per (page, bin). loopkit: user-level bounding (L0 = 4 cells,
  L∞ = 2 rows per cell), exact noise for every cell, intervals.
* **funnel**: 10^7 events of 10^6 users, steps signup → activate → purchase
  (plus unrelated events), 7-day window. Plain polars: the same greedy rule
  (first signup per user; then per step the earliest event at or after the
  previous step and inside the window) as lazy filters, joins and group-bys.
  loopkit: the same levels by a numba kernel, exact noise, reach counts,
  conversion rates and intervals.

Usage::

    python benchmarks/compare_histogram_funnel.py --rows 10000000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import polars as pl

import loopkit_privacy as lp
import loopkit_privacy._kernels

EDGES = [0.0, *np.geomspace(1.0, 3600.0, 19).round(3).tolist()]
PAGES = ["home", "docs", "pricing", "blog", "app"]
STEPS = ["signup", "activate", "purchase"]
DAY_US = 86_400_000_000


@cache
def histogram_events(rows: int, seed: int = 0) -> pl.DataFrame:
    """``rows`` events of rows/20 users: user_id, page, seconds (exponential, mean 120)."""
    rng = np.random.default_rng(seed)
    users = max(1, rows // 20)
    return pl.DataFrame(
        {
            "user_id": rng.integers(0, users, rows, dtype=np.int64),
            "page": pl.Series(np.array(PAGES)[rng.integers(0, 5, rows)]),
            "seconds": rng.exponential(120.0, rows),
        }
    )


@cache
def funnel_events(rows: int, seed: int = 0) -> pl.DataFrame:
    """``rows`` events of rows/10 users: user_id, event (4 names), ts (timestamp[us]).

    Each user's events fall in 30 days; about 40% of events are signups, 30%
    activations, 10% purchases and 20% page views.
    """
    rng = np.random.default_rng(seed)
    users = max(1, rows // 10)
    names = np.array([*STEPS, "view"])
    step = names[rng.choice(4, rows, p=[0.4, 0.3, 0.1, 0.2])]
    user = rng.integers(0, users, rows, dtype=np.int64)
    start = np.datetime64("2026-01-01", "us").astype(np.int64)
    ts = start + rng.integers(0, 30 * DAY_US, rows)
    return pl.DataFrame(
        {
            "user_id": user,
            "event": pl.Series(step),
            "ts": pl.Series(ts).cast(pl.Datetime("us")),
        }
    )


def polars_histogram(df: pl.DataFrame) -> int:
    """Rows per (page, bin): ``cut`` at the inner edges (the end bins open), then a count."""
    out = (
        df.lazy()
        .with_columns(bin=pl.col("seconds").cut(EDGES[1:-1]))
        .group_by("page", "bin")
        .len()
        .collect()
    )
    return out.height


def loopkit_histogram(df: pl.DataFrame) -> int:
    out = lp.aggregate_histogram(
        df, column="seconds", bins=EDGES, by="page", public_groups=PAGES,
        privacy_unit="user_id", max_partitions_per_user=4,
        max_contributions_per_partition=2, epsilon=1.0,
    )  # fmt: skip
    return out.height


def polars_funnel(df: pl.DataFrame) -> int:
    """Users reaching each step, by the greedy rule, in one lazy query."""
    window = pl.duration(days=7)
    lf = df.lazy()
    reached = (
        lf.filter(pl.col("event") == STEPS[0])
        .group_by("user_id")
        .agg(t0=pl.col("ts").min())
        .with_columns(prev=pl.col("t0"))
    )
    sizes = [reached.select(pl.len())]
    for step in STEPS[1:]:
        reached = (
            lf.filter(pl.col("event") == step)
            .join(reached, on="user_id")
            .filter(
                (pl.col("ts") >= pl.col("prev"))
                & (pl.col("ts") < pl.col("t0") + window)
            )
            .group_by("user_id")
            .agg(t0=pl.col("t0").first(), prev=pl.col("ts").min())
        )
        sizes.append(reached.select(pl.len()))
    counts = pl.collect_all(sizes)
    return sum(int(c.item()) for c in counts)


def loopkit_funnel(df: pl.DataFrame) -> int:
    out = lp.funnel(
        df, privacy_unit="user_id", step="event", steps=STEPS, time="ts",
        within="7d", epsilon=1.0,
    )  # fmt: skip
    return out.height


TASKS: dict[
    str, tuple[Callable[[int], pl.DataFrame], Callable[..., Any], Callable[..., Any]]
] = {
    "histogram": (histogram_events, polars_histogram, loopkit_histogram),
    "funnel": (funnel_events, polars_funnel, loopkit_funnel),
}


def check(rows: int = 200_000) -> None:
    """The two tools agree on the non-private answer (reach counts) before timing."""
    df = funnel_events(rows)
    window = pl.duration(days=7)
    lf = df.lazy()
    reached = (
        lf.filter(pl.col("event") == STEPS[0]).group_by("user_id").agg(t0=pl.col("ts").min())
        .with_columns(prev=pl.col("t0"))
    )  # fmt: skip
    want = [reached.collect().height]
    for step in STEPS[1:]:
        reached = (
            lf.filter(pl.col("event") == step).join(reached, on="user_id")
            .filter((pl.col("ts") >= pl.col("prev")) & (pl.col("ts") < pl.col("t0") + window))
            .group_by("user_id").agg(t0=pl.col("t0").first(), prev=pl.col("ts").min())
        )  # fmt: skip
        want.append(reached.collect().height)
    kw = dict(privacy_unit="user_id", step="event", steps=STEPS, time="ts", within="7d",
              epsilon=1.0, rng=lp.random.InsecureSeededRandom(1))  # fmt: skip
    noisy = lp.funnel(df, **kw)["users"].to_list()
    kw["rng"] = lp.random.InsecureSeededRandom(1)
    noise = lp.funnel(df.head(0), **kw)["users"].to_list()
    got = [a - b for a, b in zip(noisy, noise, strict=True)]
    assert got == want, (got, want)
    print(f"check: reach counts at {rows} rows agree with polars: {want}")


def _time(run: Callable[[pl.DataFrame], Any], df: pl.DataFrame) -> float:
    t0 = time.perf_counter()
    run(df)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    import warnings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10**6, 10**7])
    parser.add_argument("--repeats", type=int, default=3, help="rounds; median kept")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", lp.InsecureRandomnessWarning)
    loopkit_privacy._kernels.warmup()
    check()
    print(f"{'task':>10} {'rows':>10} {'polars s':>9} {'loopkit s':>10} {'ratio':>6}")
    for name in args.tasks:
        make, run_p, run_l = TASKS[name]
        run_l(make(10_000))  # compile
        for rows in args.rows:
            df = make(rows)
            tp, tl = [], []
            for _ in range(args.repeats):
                tp.append(_time(run_p, df))
                tl.append(_time(run_l, df))
            p, lk = statistics.median(tp), statistics.median(tl)
            print(
                f"{name:>10} {rows:>10} {p:>9.3f} {lk:>10.3f} {lk / p:>6.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
