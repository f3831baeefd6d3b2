"""Quantiles and variance against the plain (non-private) polars query.

Each class runs ``time_loopkit`` and ``time_polars_baseline`` on the SAME
events (``benchmarks._data``), so the ratio comes from one asv run: per
``page`` (1000 Zipf-distributed values), privacy unit ``user_id``, L0 = 4
pages per user, L∞ = 1 value per page, pages from the data (partition
selection), epsilon = 1, delta = 1e-6, ``time_spent`` clamped to (0, 60)
minutes, secure randomness. The side-by-side script with OpenDP's median is
``benchmarks/compare_quantiles.py`` (see docs/performance.md).
"""

from __future__ import annotations

from typing import Any, ClassVar

import polars as pl

import loopkit_privacy._kernels
from benchmarks import SLOW_SIZE, _data, skip_slow
from loopkit_privacy import quantiles

#: Rows of the benchmarks; SLOW_SIZE (10^7) is skipped with ASV_SKIP_SLOW=1.
QUANTILE_ROWS = [10**5, 10**6, SLOW_SIZE]
PRIVACY: dict[str, Any] = {
    "column": "time_spent",
    "bounds": (0.0, 60.0),
    "by": "page",
    "privacy_unit": "user_id",
    "epsilon": 1.0,
    "delta": 1e-6,
    "max_partitions_per_user": 4,
}


class _Setup:
    """Shared setup; the benchmark methods are spelled out in each class."""

    params: ClassVar[list] = [QUANTILE_ROWS]
    param_names: ClassVar[list[str]] = ["rows"]
    timeout = 600
    number = 1
    repeat = (1, 5, 30.0)
    warmup_time = 0.0

    def setup(self, rows):
        if rows >= SLOW_SIZE:
            skip_slow()
        loopkit_privacy._kernels.warmup()
        self.df = _data.events(rows)
        self.loopkit()  # untimed: compiles the kernels (numba)

    def loopkit(self) -> Any:
        raise NotImplementedError


class Quantiles(_Setup):
    def loopkit(self):
        return quantiles.aggregate_quantiles(self.df, quantiles=[0.5, 0.95], **PRIVACY)

    def time_loopkit(self, rows):
        self.loopkit()

    def time_polars_baseline(self, rows):
        self.df.group_by("page").agg(
            pl.col("time_spent").quantile(0.5).alias("p50"),
            pl.col("time_spent").quantile(0.95).alias("p95"),
        )

    def peakmem_loopkit(self, rows):
        self.loopkit()


class Variance(_Setup):
    def loopkit(self):
        return quantiles.aggregate_variance(self.df, **PRIVACY)

    def time_loopkit(self, rows):
        self.loopkit()

    def time_polars_baseline(self, rows):
        self.df.group_by("page").agg(pl.col("time_spent").var())

    def peakmem_loopkit(self, rows):
        self.loopkit()
