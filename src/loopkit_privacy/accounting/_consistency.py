"""Check that a release's cost is implied by the noise event it comes with.

A charge may carry both a cost (``PureDP``/``ApproxDP``/``ZCDP``) and a
:class:`~loopkit_privacy.loss.NoiseEvent`. Accountants charge one or the
other: ``"basic"`` the cost, ``"rdp"`` (and ``"zcdp"`` for an (ε, δ) cost) the
event. If they disagree, the same release would cost different amounts in
different accountants, so the pair is refused unless the noise the event
describes really satisfies the cost ("the event is at least as strong").

What an event implies
---------------------
* ``NoiseEvent("laplace", m)``: Laplace noise of scale ``m`` times the L1
  sensitivity is ε₀-DP with ε₀ = 1/m, hence ε₀²/2-zCDP (Bun & Steinke 2016,
  Prop. 3.3), and (ε, δ)-DP for ε < ε₀ with δ = 1 - exp((ε - ε₀)/2) (the exact
  privacy profile of the Laplace mechanism).
* ``NoiseEvent("gaussian", m)``: Gaussian noise of σ = m times the L2
  sensitivity is 1/(2m²)-zCDP, never (ε, 0)-DP, and (ε, δ)-DP when its exact
  privacy curve allows it. The event does not say whether the noise is the
  continuous Gaussian (Balle & Wang 2018, Thm 8) or a discrete Gaussian on a
  grid (the library's Gaussian mechanisms; Canonne, Kamath & Steinke 2020,
  Thm 7), whose curve depends on the sensitivity in grid units Δ, which the
  event does not record either. A cost is accepted when it holds for one of
  these readings: the continuous Gaussian, or a discrete Gaussian with
  Δ = 1, ..., 16. (The discrete curve approaches the continuous one as Δ
  grows; every discrete-Gaussian calibration of the library, for any Δ, is
  accepted by one of these readings.)

Comparisons allow a relative margin of 1e-6 (``_MARGIN``) for the floating
point in which mechanisms compute their scales (a square root, a bisection).
The check decides only which pairs are contradictory: the charge itself is
still computed exactly from the cost or from the event. A caller who passes
no event is trusted with the cost alone, as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache, partial

import numpy as np

from loopkit_privacy import _calibration as cal
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.loss import ZCDP, ApproxDP, ApproxZCDP, NoiseEvent, PrivacyLoss

_MARGIN = 1e-6
_GRID_UNITS = range(1, 17)


def _reading_ok(delta_of: Callable[[], float], delta: float) -> bool:
    # Extreme parameters may overflow or divide by zero on the way; such a
    # reading simply does not count (nor does a nan, which is never <= delta).
    try:
        with np.errstate(all="ignore"):
            return bool(delta_of() <= delta)
    except (ArithmeticError, ValueError):
        return False


def _gaussian_delta_ok(m: float, epsilon: float, delta: float) -> bool:
    """Whether some reading of Gaussian noise with multiplier ``m`` is (ε, δ)-DP."""
    eps = epsilon * (1.0 + _MARGIN)
    # Fast path, valid for every reading: all of them are 1/(2m²)-zCDP
    # (the discrete Gaussian too), hence (ρ + 2 sqrt(ρ log(1/δ)), δ)-DP.
    rho0 = 0.5 / (m * m) if m > 1e-150 else math.inf
    if rho0 + 2.0 * math.sqrt(rho0 * -math.log(delta)) <= epsilon:
        return True
    if _reading_ok(lambda: cal.gauss_delta(m, 1.0, eps), delta):
        return True
    return any(
        _reading_ok(partial(cal.discrete_gaussian_delta, m * units, units, eps), delta)
        for units in _GRID_UNITS
    )


@lru_cache(maxsize=4096)
def _why_inconsistent(
    kind: str, m: float, family: str, epsilon: float, delta: float, rho: float
) -> str | None:
    """Why the event does not imply the cost, or None if it does."""
    up = 1.0 + _MARGIN
    if kind == "laplace":
        eps0 = 1.0 / m if m > 1e-300 else math.inf
        if family == "zcdp":
            if eps0 * eps0 / 2.0 <= rho * up:
                return None
            return (
                f"Laplace noise with multiplier {m!r} is only {eps0 * eps0 / 2!r}-zCDP"
            )
        if eps0 <= epsilon * up:
            return None
        if delta > 0 and -math.expm1((epsilon - eps0) / 2.0) <= delta * up:
            return None
        return f"Laplace noise with multiplier {m!r} is only {eps0!r}-DP"
    rho0 = 1.0 / (2.0 * m * m) if m * m > 0 else math.inf
    if family == "zcdp":
        if rho0 <= rho * up:
            return None
        return f"Gaussian noise with multiplier {m!r} is only {rho0!r}-zCDP"
    if delta == 0:
        return "Gaussian noise is never (epsilon, 0)-DP"
    if _gaussian_delta_ok(m, epsilon, delta):
        return None
    return (
        f"Gaussian noise with multiplier {m!r} is not ({epsilon!r}, {delta!r})-DP "
        "(its exact privacy curve needs a larger delta)"
    )


def check_consistent(cost: PrivacyLoss, event: NoiseEvent | None) -> None:
    """Raise InvalidParameterError (``event``) if ``event`` is weaker than ``cost``.

    ``cost`` and ``event`` are already validated.
    """
    if event is None:
        return
    if isinstance(cost, ZCDP | ApproxZCDP):
        # An event implies a δ-approximate ρ-zCDP cost when it implies ρ-zCDP.
        why = _why_inconsistent(
            event.kind, event.noise_multiplier, "zcdp", 0.0, 0.0, cost.rho
        )
    else:
        delta = cost.delta if isinstance(cost, ApproxDP) else 0.0
        why = _why_inconsistent(
            event.kind, event.noise_multiplier, "dp", cost.epsilon, delta, 0.0
        )
    if why is not None:
        raise InvalidParameterError(
            f"`event` {event!r} is weaker than `cost` {cost!r}: {why}, so the "
            "release would be charged differently by different accountants; pass "
            "the mechanism's own pair (mechanism.cost, event=mechanism.event); "
            "nothing was spent",
            parameter="event",
            value=event,
        )
