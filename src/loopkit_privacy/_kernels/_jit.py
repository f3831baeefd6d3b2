"""The only place where numba compile options are set.

``fastmath`` is always off: sampling and sums that feed a release must follow
IEEE semantics exactly. On-disk caching of compiled kernels is opt-in with
``LOOPKIT_NUMBA_CACHE=1``; numba's cache is safe for several processes reading
it, but a cache directory shared between machines with different CPUs can make
numba recompile, so it is off by default.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numba

CACHE = os.environ.get("LOOPKIT_NUMBA_CACHE", "0") == "1"
FASTMATH = False  # fixed; see the module docstring


def jit(*args: Any, **kwargs: Any) -> Callable[..., Any]:
    """``numba.njit`` with the package's fixed options (nogil, no fastmath)."""
    kwargs.setdefault("cache", CACHE)
    kwargs.setdefault("nogil", True)
    kwargs["fastmath"] = FASTMATH
    return numba.njit(*args, **kwargs)  # type: ignore[no-any-return]


def jit_noalloc(func: Callable[..., Any]) -> Callable[..., Any]:
    """``jit`` for kernels that never allocate: compiled without numba's NRT.

    Without the runtime, array arguments passed between kernels are not
    reference-counted; in the samplers' inner loops that removes two atomic
    operations per helper call (about 10 ns, ten times the work itself).
    Such a kernel must not create arrays.
    """
    return jit(_nrt=False, error_model="numpy")(func)
