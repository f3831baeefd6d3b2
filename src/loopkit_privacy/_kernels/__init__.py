"""Numba kernels: plain arrays in, plain arrays out. A leaf of the package.

Nothing here imports pyarrow, polars or any other module of the package
(besides the JIT options in ``_jit``). Kernels assume validated input.
"""

from __future__ import annotations

import numpy as np

__all__ = ["warmup"]


def warmup() -> None:
    """Compile the common kernel signatures so later calls run at full speed.

    Examples
    --------
    >>> from loopkit_privacy import _kernels
    >>> _kernels.warmup()
    """
    from loopkit_privacy._kernels import sampling

    words = np.zeros(0, dtype=np.uint64)
    one = np.ones(1, dtype=np.int64)
    st = np.zeros(4, dtype=np.int64)
    out = np.empty(1, dtype=np.int64)
    sampling.discrete_laplace_fill(one, one, words, st, out, 0)
    st[:] = 0
    sampling.discrete_gaussian_fill(
        one, one, np.zeros(1, dtype=np.int64), words, st, out, 0
    )
