"""Exact sums of privacy parameters: floats read as decimals, rounded back safely.

Costs and budgets given as floats are read as the shortest decimal that rounds
to the float (``Fraction(repr(x))``), i.e. the number the caller wrote: ten
spends of ``0.1`` sum to exactly 1. The decimal differs from the binary float
by less than half an ulp (relative 1.1e-16), far below the margin by which
mechanisms round their noise scales up. Results go back to floats rounded in
the safe direction, judged on their decimal reading too, so that ``0.3`` is
shown as ``0.3`` and a reported remainder can always be spent.

Both the accountant (``_budget``) and :func:`basic_composition
<loopkit_privacy.accounting.basic_composition>` use these helpers, so they
always agree.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

_MAX = Fraction(repr(1.7976931348623157e308))  # the largest float, as read


@lru_cache(maxsize=65536)
def _dec(x: float) -> Fraction:
    return Fraction(repr(x))


def dec(x: float) -> Fraction:
    """The shortest decimal that rounds to ``x``, as an exact fraction."""
    return _dec(float(x))


def float_up(value: Fraction) -> float:
    """A float whose decimal reading is >= ``value`` (the nearest such one).

    ``inf`` when ``value`` is beyond the largest float.
    """
    if value > _MAX:
        return math.inf
    f = float(value)
    while dec(f) < value:
        f = math.nextafter(f, math.inf)
    return f


def float_down(value: Fraction) -> float:
    """A float whose decimal reading is <= ``value`` (the nearest such one)."""
    f = float(value)
    while dec(f) > value:
        f = math.nextafter(f, -math.inf)
    return f
