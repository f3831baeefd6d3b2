"""asv benchmarks for loopkit_privacy.

Run them with ``asv run --python=same --quick`` (see docs/performance.md).
Every benchmark's ``setup`` calls ``loopkit_privacy._kernels.warmup()`` so that
numba compile time is never reported as run time. Set ``ASV_SKIP_SLOW=1`` to
skip the largest sizes.
"""

from __future__ import annotations

import os

__all__ = [
    "MECHANISM_SIZE",
    "NOISE_SCALE",
    "NOISE_SIZES",
    "SELECTION_CANDIDATES",
    "SLOW_SIZE",
    "skip_slow",
]

#: Sample counts of the noise benchmarks; SLOW_SIZE and above are "slow".
NOISE_SIZES = [10**5, 10**6, 10**7]
SLOW_SIZE = 10**7
#: Scale of the Laplace noise and sigma of the Gaussian noise (the issue's target).
NOISE_SCALE = 10.0
#: Length of the array a mechanism releases in one call.
MECHANISM_SIZE = 10**6
#: Number of candidates of the selection benchmarks.
SELECTION_CANDIDATES = 1000


def skip_slow() -> None:
    """Skip the calling benchmark (asv treats NotImplementedError in setup as a skip)
    when ``ASV_SKIP_SLOW=1`` is set in the environment."""
    if os.environ.get("ASV_SKIP_SLOW", "0") == "1":
        raise NotImplementedError("slow benchmark skipped (ASV_SKIP_SLOW=1)")
