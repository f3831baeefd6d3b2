"""k-anonymity against the plain polars query doing the same (non-private) work.

Every class runs ``time_loopkit`` and ``time_polars_baseline`` on the SAME
records (:func:`records`), so the ratio comes from one asv run. The task:
three quasi-identifiers with realistic cardinalities — ``age_band`` (7 bands),
``region`` (1000 regions, Zipf-distributed, so the tail regions make small
classes) and ``plan`` (4 tiers, skewed) — and k = 5, the seed's default.

* ``EnsureKAnonymity``: suppress the classes smaller than k
  (``ensure_k_anonymity``, which also builds the report and the table of
  suppressed classes) against ``df.filter(pl.len().over(qis) >= k)``.
* ``KAnonymity``: the k a table achieves (``k_anonymity``) against
  ``df.group_by(qis).len()["len"].min()``.

``benchmarks/compare_kanon.py`` times the same tasks side by side in one
process (with a second polars formulation) and prints the ratios.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

import numpy as np
import polars as pl

import loopkit_privacy._kernels
from benchmarks import SLOW_SIZE, skip_slow
from loopkit_privacy.kanon import ensure_k_anonymity, k_anonymity

#: Rows of the k-anonymity benchmarks; SLOW_SIZE (10^7) is skipped with ASV_SKIP_SLOW=1.
KANON_ROWS = [10**5, 10**6, SLOW_SIZE]
#: The quasi-identifiers of the benchmark records.
QUASI_IDENTIFIERS = ["age_band", "region", "plan"]
#: The k of the benchmarks (the seed's default).
K = 5
#: Seed of the record generator.
SEED = 0

AGE_BANDS = ["<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
AGE_SHARES = [0.04, 0.18, 0.30, 0.22, 0.13, 0.08, 0.05]
PLANS = ["free", "basic", "pro", "enterprise"]
PLAN_SHARES = [0.60, 0.25, 0.12, 0.03]
N_REGIONS = 1000
#: Zipf exponent of the region sizes.
REGION_EXPONENT = 1.1


@cache
def records(rows: int) -> pl.DataFrame:
    """Synthetic user records (a polars DataFrame) with ``rows`` rows.

    Columns: ``user_id`` (int64), ``age_band``, ``region``, ``plan`` (strings)
    and ``sessions`` (int64). Built once per process and size with a fixed
    seed; callers must not mutate it.
    """
    rng = np.random.default_rng(SEED)
    weights = 1.0 / np.arange(1, N_REGIONS + 1) ** REGION_EXPONENT
    regions = pl.Series([f"region-{i:04d}" for i in range(N_REGIONS)])
    return pl.DataFrame(
        {
            "user_id": np.arange(rows, dtype=np.int64),
            "age_band": pl.Series(AGE_BANDS).gather(
                rng.choice(len(AGE_BANDS), rows, p=AGE_SHARES)
            ),
            "region": regions.gather(
                rng.choice(N_REGIONS, rows, p=weights / weights.sum())
            ),
            "plan": pl.Series(PLANS).gather(
                rng.choice(len(PLANS), rows, p=PLAN_SHARES)
            ),
            "sessions": rng.poisson(12.0, rows).astype(np.int64),
        }
    )


def loopkit_suppress(df: Any) -> Any:
    """loopkit's suppression: the k-anonymous table (the report is built too)."""
    return ensure_k_anonymity(df, quasi_identifiers=QUASI_IDENTIFIERS, k=K).table


def polars_suppress_over(df: pl.DataFrame) -> pl.DataFrame:
    """Plain polars: keep the rows whose class has at least K rows (a window count)."""
    return df.filter(pl.len().over(QUASI_IDENTIFIERS) >= K)


def polars_suppress_join(df: pl.DataFrame) -> pl.DataFrame:
    """Plain polars, second formulation: count classes, semi-join the large ones."""
    large = df.group_by(QUASI_IDENTIFIERS).len().filter(pl.col("len") >= K)
    return df.join(
        large.select(QUASI_IDENTIFIERS),
        on=QUASI_IDENTIFIERS,
        how="semi",
        nulls_equal=True,
        maintain_order="left",
    )


def polars_k(df: pl.DataFrame) -> int:
    """Plain polars: the size of the smallest class."""
    return int(df.group_by(QUASI_IDENTIFIERS).len()["len"].min())  # type: ignore[arg-type]


class _Setup:
    """Shared setup; the benchmark methods are spelled out in each class (asv
    and tests/unit/test_asv_smoke.py look for them in the class itself)."""

    params: ClassVar[list] = [KANON_ROWS]
    param_names: ClassVar[list[str]] = ["rows"]
    timeout = 600
    number = 1
    repeat = (1, 5, 30.0)
    warmup_time = 0.0

    def setup(self, rows):
        if rows >= SLOW_SIZE:
            skip_slow()
        loopkit_privacy._kernels.warmup()
        self.df = records(rows)
        loopkit_suppress(self.df.head(1000))  # untimed: compiles the grouping kernels


class EnsureKAnonymity(_Setup):
    def time_loopkit(self, rows):
        loopkit_suppress(self.df)

    def time_polars_baseline(self, rows):
        polars_suppress_over(self.df)

    def peakmem_loopkit(self, rows):
        loopkit_suppress(self.df)

    def track_rows_suppressed(self, rows):
        result = ensure_k_anonymity(self.df, quasi_identifiers=QUASI_IDENTIFIERS, k=K)
        return result.report.rows_suppressed

    track_rows_suppressed.unit = "rows"


class KAnonymity(_Setup):
    def time_loopkit(self, rows):
        k_anonymity(self.df, quasi_identifiers=QUASI_IDENTIFIERS)

    def time_polars_baseline(self, rows):
        polars_k(self.df)

    def track_classes(self, rows):
        return int(self.df.select(QUASI_IDENTIFIERS).n_unique())

    track_classes.unit = "classes"
