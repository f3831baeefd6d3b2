"""User-level aggregations against the plain (non-private) polars query.

Every class runs ``time_loopkit`` and ``time_polars_baseline`` on the SAME
events (``benchmarks._data``), so the ratio comes from one asv run. The
task is the one of the aggregation issue: group by ``page`` (1000
Zipf-distributed values), privacy unit ``user_id``, L0 = 4 partitions per
user, L∞ = 1 row per partition (sum/average), groups taken from the data
through partition selection, epsilon = 1, delta = 1e-6, secure randomness
(``rng=None``).

``peakmem_loopkit`` is the peak RSS of the whole benchmark process, so it
includes the input table (``_data.events(rows).estimated_size()`` is about
38 MB at 10^6 rows, 380 MB at 10^7). ``track_groups_released`` uses a seeded
source so the number is reproducible across runs.

The side-by-side comparison with OpenDP and PipelineDP lives in
``benchmarks/compare_aggregate.py`` (a separate environment; see
docs/performance.md).
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import polars as pl

import loopkit_privacy._kernels
from benchmarks import SLOW_SIZE, _data, skip_slow
from loopkit_privacy import aggregate
from loopkit_privacy.errors import InsecureRandomnessWarning
from loopkit_privacy.random import InsecureSeededRandom

#: Rows of the aggregation benchmarks; SLOW_SIZE (10^7) is skipped with ASV_SKIP_SLOW=1.
AGGREGATE_ROWS = [10**5, 10**6, SLOW_SIZE]
#: Privacy parameters shared by every aggregation benchmark.
PRIVACY: dict[str, Any] = {
    "privacy_unit": "user_id",
    "epsilon": 1.0,
    "delta": 1e-6,
    "max_partitions_per_user": 4,
}
#: Clamping bounds of ``time_spent`` (minutes) for the sum and the average.
TIME_BOUNDS = (0.0, 60.0)
#: How many pages the top-n benchmark returns.
TOP_N = 10


def _seeded() -> InsecureSeededRandom:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureRandomnessWarning)
        return InsecureSeededRandom(0)


def _n_released(result: Any) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureRandomnessWarning)
        return int(result.height)


class _Setup:
    """Shared setup; the benchmark methods are spelled out in each class (asv
    and tests/unit/test_asv_smoke.py look for them in the class itself)."""

    params: ClassVar[list] = [AGGREGATE_ROWS]
    param_names: ClassVar[list[str]] = ["rows"]
    # Building 10^7 rows and the untimed JIT call take tens of seconds.
    timeout = 600
    number = 1
    repeat = (1, 5, 30.0)
    warmup_time = 0.0

    def setup(self, rows):
        if rows >= SLOW_SIZE:
            skip_slow()
        loopkit_privacy._kernels.warmup()
        self.df = _data.events(rows)
        self.loopkit(None)  # untimed: compiles the bounding kernels (numba)

    def loopkit(self, rng: Any) -> Any:
        raise NotImplementedError

    def polars_baseline(self) -> Any:
        raise NotImplementedError


class AggregateCount(_Setup):
    def loopkit(self, rng):
        return aggregate.aggregate_count(
            self.df,
            by="page",
            max_contributions_per_partition=1,
            rng=rng,
            **PRIVACY,
        )

    def polars_baseline(self):
        return self.df.group_by("page").len()

    def time_loopkit(self, rows):
        self.loopkit(None)

    def time_polars_baseline(self, rows):
        self.polars_baseline()

    def peakmem_loopkit(self, rows):
        self.loopkit(None)

    def track_groups_released(self, rows):
        return _n_released(self.loopkit(_seeded()))

    track_groups_released.unit = "groups"


class AggregateSum(_Setup):
    def loopkit(self, rng):
        return aggregate.aggregate_sum(
            self.df,
            column="time_spent",
            bounds=TIME_BOUNDS,
            by="page",
            max_contributions_per_partition=1,
            rng=rng,
            **PRIVACY,
        )

    def polars_baseline(self):
        return self.df.group_by("page").agg(
            pl.col("time_spent").clip(*TIME_BOUNDS).sum()
        )

    def time_loopkit(self, rows):
        self.loopkit(None)

    def time_polars_baseline(self, rows):
        self.polars_baseline()

    def peakmem_loopkit(self, rows):
        self.loopkit(None)

    def track_groups_released(self, rows):
        return _n_released(self.loopkit(_seeded()))

    track_groups_released.unit = "groups"


class AggregateAverage(_Setup):
    def loopkit(self, rng):
        return aggregate.aggregate_average(
            self.df,
            column="time_spent",
            bounds=TIME_BOUNDS,
            by="page",
            max_contributions_per_partition=1,
            rng=rng,
            **PRIVACY,
        )

    def polars_baseline(self):
        return self.df.group_by("page").agg(
            pl.col("time_spent").clip(*TIME_BOUNDS).mean()
        )

    def time_loopkit(self, rows):
        self.loopkit(None)

    def time_polars_baseline(self, rows):
        self.polars_baseline()

    def peakmem_loopkit(self, rows):
        self.loopkit(None)

    def track_groups_released(self, rows):
        return _n_released(self.loopkit(_seeded()))

    track_groups_released.unit = "groups"


class AggregateTopN(_Setup):
    def loopkit(self, rng):
        return aggregate.aggregate_top_n(
            self.df, column="page", n=TOP_N, rng=rng, **PRIVACY
        )

    def polars_baseline(self):
        return (
            self.df.group_by("page")
            .agg(pl.col("user_id").n_unique().alias("users"))
            .top_k(TOP_N, by="users")
        )

    def time_loopkit(self, rows):
        self.loopkit(None)

    def time_polars_baseline(self, rows):
        self.polars_baseline()

    def peakmem_loopkit(self, rows):
        self.loopkit(None)

    def track_groups_released(self, rows):
        return _n_released(self.loopkit(_seeded()))

    track_groups_released.unit = "groups"
