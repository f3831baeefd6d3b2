"""Progress bars for long work (audits, queries over large files, benchmarks).

A bar is drawn on standard error only when it is a terminal; it is silent in
pipes, CI logs and notebooks' captured output, when the caller passes
``quiet=True``, or when ``LOOPKIT_PRIVACY_PROGRESS=0`` is set.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from tqdm import tqdm

__all__ = ["enabled", "progress"]


def enabled(quiet: bool = False) -> bool:
    """Whether progress bars should be drawn.

    Examples
    --------
    >>> enabled(quiet=True)
    False
    """
    if quiet or os.environ.get("LOOPKIT_PRIVACY_PROGRESS", "1") == "0":
        return False
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress(
    iterable: Any = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "step",
    quiet: bool = False,
) -> Any:
    """A tqdm bar (a silent one when :func:`enabled` is false).

    Examples
    --------
    >>> with progress(total=2, desc="work", quiet=True) as bar:
    ...     bar.update(2)
    >>> list(progress(range(3), quiet=True))
    [0, 1, 2]
    """
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        disable=not enabled(quiet),
        leave=False,
        file=sys.stderr,
    )
