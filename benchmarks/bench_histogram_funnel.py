"""aggregate_histogram and funnel against plain polars doing the same non-private work.

The tasks of ``benchmarks/compare_histogram_funnel.py`` (which has the data
and both sides of each query): a 20-bin histogram per page with L0 = 4,
L∞ = 2, and a 3-step funnel with a 7-day window; epsilon = 1, secure
randomness. 10^7 rows is skipped with ASV_SKIP_SLOW=1.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import loopkit_privacy._kernels
from benchmarks import SLOW_SIZE, skip_slow
from benchmarks.compare_histogram_funnel import (
    funnel_events,
    histogram_events,
    loopkit_funnel,
    loopkit_histogram,
    polars_funnel,
    polars_histogram,
)


class Histogram:
    params: ClassVar[list[int]] = [10**5, 10**6, SLOW_SIZE]
    param_names: ClassVar[list[str]] = ["rows"]
    timeout = 600

    def setup(self, rows: int) -> None:
        if rows >= SLOW_SIZE:
            skip_slow()
        loopkit_privacy._kernels.warmup()
        self.df = histogram_events(rows)
        loopkit_histogram(histogram_events(1000))

    def time_loopkit(self, rows: int) -> None:
        loopkit_histogram(self.df)

    def time_polars_baseline(self, rows: int) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # polars `cut`
            polars_histogram(self.df)

    def peakmem_loopkit(self, rows: int) -> None:
        loopkit_histogram(self.df)


class Funnel:
    params: ClassVar[list[int]] = [10**5, 10**6, SLOW_SIZE]
    param_names: ClassVar[list[str]] = ["rows"]
    timeout = 600

    def setup(self, rows: int) -> None:
        if rows >= SLOW_SIZE:
            skip_slow()
        loopkit_privacy._kernels.warmup()
        self.df = funnel_events(rows)
        loopkit_funnel(funnel_events(1000))

    def time_loopkit(self, rows: int) -> None:
        loopkit_funnel(self.df)

    def time_polars_baseline(self, rows: int) -> None:
        polars_funnel(self.df)

    def peakmem_loopkit(self, rows: int) -> None:
        loopkit_funnel(self.df)
