"""Numba kernels: plain arrays in, plain arrays out. A leaf of the package.

Nothing here imports pyarrow, polars or any other module of the package
(besides the JIT options in ``_jit``). Kernels assume validated input.
"""

from __future__ import annotations

import numpy as np

__all__ = ["warmup"]


def warmup() -> None:
    """Compile the common kernel signatures so later calls run at full speed.

    Benchmarks and the command line call this first, so compile time is never
    reported as run time. Arrays that come from Arrow are read-only, which
    numba compiles as a separate signature, so both kinds are warmed.

    Examples
    --------
    >>> from loopkit_privacy import _kernels
    >>> _kernels.warmup()
    """
    from loopkit_privacy._kernels import (
        bounding,
        cohorts,
        grouping,
        sampling,
        selection,
    )

    words = np.zeros(0, dtype=np.uint64)
    one = np.ones(1, dtype=np.int64)
    zero = np.zeros(1, dtype=np.int64)
    st = np.zeros(4, dtype=np.int64)
    out = np.empty(1, dtype=np.int64)
    sampling.discrete_laplace_fill(one, one, words, st, out, 0)
    st[:] = 0
    sampling.discrete_gaussian_fill(one, one, zero, words, st, out, 0)
    st[:] = 0
    selection.exponential_select(zero, np.int64(20), words, st)
    st[:] = 0
    selection.permute_and_flip_select(zero, np.int64(20), out, words, st)
    first = np.zeros(1, dtype=np.int64)
    for writeable in (True, False):
        codes = np.zeros(1, dtype=np.int64)
        values = np.zeros(1, dtype=np.float64)
        codes.flags.writeable = writeable
        values.flags.writeable = writeable
        grouping.factorize_int64_first(codes, out, first)
        grouping.combine_codes(codes, codes, np.int64(1), out)
        for vals in (values, values[:0]):
            totals = [np.zeros(1, dtype=np.int64) for _ in range(3)]
            bounding.bound_reduce(
                codes, codes, vals, np.int64(1), np.int64(1), np.int64(1), np.int64(1),
                0.0, 1.0, 0.0, 1.0, np.uint64(1), *totals,
            )  # fmt: skip
            bits = bounding.bucket_bits(np.int64(1))
            parts = bounding.partition_by_user(codes, codes, vals, np.int64(1), bits)
            bounding.bound_buckets(
                *parts, bits, 0, 1, np.int64(1), np.int64(1), 0.0, 1.0, 0.0, 1.0,
                np.uint64(1), *totals,
            )  # fmt: skip
            bounding.reduce_unbounded(
                codes, vals, 0.0, 1.0, 0.0, 1.0, totals[0], totals[1]
            )
    # Cohort retention: user codes are computed (writeable); times are views
    # of Arrow buffers (read-only) or computed (writeable).
    units = np.zeros(1, dtype=np.int64)
    for writeable in (True, False):
        t = np.zeros(1, dtype=np.int64)
        t.flags.writeable = writeable
        user_time = cohorts.first_times(units, t, np.int64(1))
        cohorts.cohort_times(units, t, np.int64(1))
        cohorts.rows_before(units, t, user_time)
        cohorts.periods_of(t, np.int64(1), np.int64(2))
        cohorts.retention_counts(
            units, t, units, units, np.int64(1), np.int64(1), np.int64(1),
            np.int64(1), np.int64(2), np.int64(1), np.uint64(1),
            np.int64(0), np.int64(0),
        )  # fmt: skip
    # Histograms and funnels.
    from loopkit_privacy._kernels import funnel, histogram

    histogram.warmup()
    funnel.warmup()
    # Quantiles, variance and standard deviation.
    from loopkit_privacy._kernels import quantiles

    quantiles.warmup()
