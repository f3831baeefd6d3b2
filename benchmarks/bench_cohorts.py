"""cohort_retention against plain polars doing the same non-private work.

The task of the cohort issue (``benchmarks/compare_cohorts.py`` has the
data and both queries): events of rows/20 users, 12 monthly cohorts in 2025,
12 monthly offsets, epsilon = 1, secure randomness. 10^7 rows (500 000
users) is skipped with ASV_SKIP_SLOW=1.
"""

from __future__ import annotations

from typing import ClassVar

import loopkit_privacy._kernels
from benchmarks import SLOW_SIZE, skip_slow
from benchmarks.compare_cohorts import cohort_events, run_loopkit, run_polars


class CohortRetention:
    params: ClassVar[list[int]] = [10**5, 10**6, SLOW_SIZE]
    param_names: ClassVar[list[str]] = ["rows"]
    timeout = 600

    def setup(self, rows: int) -> None:
        if rows >= SLOW_SIZE:
            skip_slow()
        loopkit_privacy._kernels.warmup()
        self.df = cohort_events(rows)
        run_loopkit(cohort_events(1000))  # compile the cohort kernels

    def time_loopkit(self, rows: int) -> None:
        run_loopkit(self.df)

    def time_polars_baseline(self, rows: int) -> None:
        run_polars(self.df)

    def peakmem_loopkit(self, rows: int) -> None:
        run_loopkit(self.df)
