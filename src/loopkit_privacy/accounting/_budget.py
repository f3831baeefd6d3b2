"""Budget policies: how each accounting mode turns costs into exact charges.

A *state* is a tuple of exact numbers: ``(ε, δ)`` for ``"basic"`` and
``(ρ, δ)`` for ``"zcdp"`` (:class:`fractions.Fraction`), and one integer per
Rényi order for ``"rdp"`` (the RDP value in units of ``2**-64``). Charges are
states too, so composing is element-wise exact addition and giving back a
reservation is exact subtraction.

Every charge has a bounded size, so a charge costs the same whether it is the
first or the millionth (the accountant keeps these running totals; the ledger
stays the source of truth and is replayed into the same totals):

* ``"basic"`` and ``"zcdp"``: floats are read as decimals and sums are exact
  (see ``_exact``); a ρ computed from a noise multiplier (``1/(2m²)``, whose
  exact value has an arbitrary denominator) is rounded **up** to the nearest
  float's decimal first, so every charge is a decimal of bounded length;
* ``"rdp"``: each order's RDP value is rounded **up** to a multiple of
  ``2**-64`` (at most 5.5e-20 more per charge and order).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from loopkit_privacy._validate import check_delta
from loopkit_privacy.accounting import composition
from loopkit_privacy.accounting._exact import dec, float_down, float_up
from loopkit_privacy.errors import InvalidParameterError, UnsupportedCompositionError
from loopkit_privacy.loss import (
    ZCDP,
    ApproxDP,
    ApproxZCDP,
    NoiseEvent,
    PrivacyLoss,
    PureDP,
    parse_loss,
)

State = tuple[Any, ...]

ACCOUNTING_MODES = ("basic", "zcdp", "rdp")

#: RDP values are kept as integers in units of 2**-RDP_GRID_BITS.
RDP_GRID_BITS = 64
_GRID = float(2**RDP_GRID_BITS)
# Relative bound on the rounding error of the few float operations behind an
# RDP value (each correctly rounded: far below 2**-50).
_REL = 2.0**-50
# An RDP value too large for a float: larger than any limit.
_HUGE = 2**1100


def _grid_up(values: np.ndarray) -> tuple[int, ...]:
    """Values (already upper bounds) as integers in grid units, rounded up."""
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.ceil(values * _GRID)
    if bool(np.isfinite(scaled).all()):
        return tuple(map(int, scaled.tolist()))
    return tuple(int(v) if math.isfinite(v) else _HUGE for v in scaled.tolist())


@lru_cache(maxsize=64)
def _orders_array(orders: tuple[float, ...]) -> np.ndarray:
    a = np.asarray(orders, dtype=np.float64)
    a.setflags(write=False)
    return a


@lru_cache(maxsize=4096)
def _rdp_of_event(kind: str, m: float, orders: tuple[float, ...]) -> tuple[int, ...]:
    a = _orders_array(orders)
    if kind == "gaussian":
        with np.errstate(over="ignore", divide="ignore"):
            v = a / (2.0 * m * m) * (1.0 + _REL)
        return _grid_up(v)
    return _grid_up(composition.laplace_rdp_array(m, a))


#: The δ left for the zCDP conversion is rounded down to this many steps of δ.
_DELTA_STEPS = 2**20
#: Significant decimal digits a computed ρ charge is rounded up to.
_DIGITS = 20


def _decimal_up(value: Fraction) -> Fraction:
    """``value`` > 0 rounded up to ``_DIGITS`` significant decimal digits.

    A short decimal (such as 1/200) is kept exactly; anything else gets a
    power-of-ten denominator, so that sums of charges stay of bounded size.
    """
    e = math.floor(math.log10(value.numerator) - math.log10(value.denominator))
    k = _DIGITS - e
    if k >= 0:
        scale = 10**k
        return Fraction(-(-value.numerator * scale // value.denominator), scale)
    scale = 10**-k
    return Fraction(-(-value.numerator // (value.denominator * scale)) * scale)


def unchecked(cls: type, **values: float) -> Any:
    """Build a loss object without validation (for an exhausted budget of 0)."""
    # The loss types refuse 0 because a *cost* of 0 is meaningless; a spent or
    # remaining amount of exactly 0 is meaningful and is shown as such.
    obj: Any = object.__new__(cls)
    for name, value in values.items():
        object.__setattr__(obj, name, value)
    return obj


def add(a: State, b: State) -> State:
    """Element-wise exact sum."""
    return tuple(map(operator.add, a, b))


def sub(a: State, b: State) -> State:
    """Element-wise exact difference."""
    return tuple(map(operator.sub, a, b))


@lru_cache(maxsize=256)
def _rdp_limits(
    orders: tuple[float, ...], delta: float, epsilon: float
) -> tuple[int, ...]:
    """Per order, the largest RDP total (grid units) whose conversion is <= ε.

    The conversion of Balle et al. (2020) at order α is
    ``r + log1p(-1/α) - (log δ + log α)/(α - 1)``; it is <= ε exactly when
    ``r <= ε - log1p(-1/α) + (log δ + log α)/(α - 1)``. The right-hand side
    is lowered by twice the error bound :func:`composition.rdp_to_approx_dp`
    uses and rounded down to the grid, so an admitted total always converts
    to at most ε. ``-1`` means nothing fits at that order.
    """
    log_delta = math.log(delta)
    margin = 2.0 * composition.ULP_MARGIN
    out = []
    for a in orders:
        t2 = math.log1p(-1.0 / a)
        t3 = -(log_delta + math.log(a)) / (a - 1.0)
        mag = epsilon + abs(t2) + abs(t3) + abs(log_delta / (a - 1.0))
        lim = epsilon - t2 - t3 - margin * mag
        out.append(math.floor(lim * _GRID) if lim > 0 else -1)
    return tuple(out)


@lru_cache(maxsize=4096)
def _rest_limit(epsilon: float, delta: float) -> Fraction:
    # One step down, so that the decimal reading stays below the float.
    return dec(math.nextafter(composition.rho_limit(epsilon, delta), 0.0))


@dataclass(frozen=True)
class Policy:
    """A validated budget and its accounting mode."""

    accounting: str
    epsilon: float | None
    delta: float
    rho: float | None
    orders: tuple[float, ...] | None

    # ------------------------------------------------------------ construction
    @classmethod
    def make(
        cls,
        *,
        epsilon: Any,
        delta: Any,
        rho: Any,
        accounting: Any,
        orders: Any = None,
    ) -> Policy:
        """Validate the budget arguments of an accountant.

        ``accounting=None`` means ``"zcdp"`` for a ``rho`` budget and
        ``"basic"`` otherwise.
        """
        if accounting is None:
            accounting = "zcdp" if rho is not None else "basic"
        if not isinstance(accounting, str) or accounting not in ACCOUNTING_MODES:
            raise InvalidParameterError(
                f"`accounting` must be one of 'basic', 'zcdp', 'rdp', got "
                f"{accounting!r}; pass e.g. accounting='basic'",
                parameter="accounting",
                value=accounting,
            )
        delta_f = check_delta(0.0 if delta is None else delta, allow_zero=True)
        if orders is not None and accounting != "rdp":
            raise InvalidParameterError(
                f"`orders` is only used with accounting='rdp', got accounting="
                f"{accounting!r}",
                parameter="orders",
                value=orders,
            )
        if rho is not None and accounting != "zcdp":
            raise InvalidParameterError(
                f"a `rho` budget needs accounting='zcdp', got accounting="
                f"{accounting!r}; leave `accounting` out (a rho budget implies "
                "accounting='zcdp') or give an epsilon budget",
                parameter="rho",
                value=rho,
            )
        # The one ε/δ/ρ rule (loss.parse_loss); a budget is a total, so a
        # large ε does not warn.
        budget = parse_loss(
            epsilon=epsilon,
            delta=delta,
            rho=rho,
            warn=False,
            missing="a budget is required: pass `epsilon` (and `delta`), or `rho` "
            "for zCDP accounting; e.g. epsilon=1.0",
        )
        if isinstance(budget, ZCDP):
            return cls("zcdp", None, 0.0, budget.rho, None)
        eps_f = budget.epsilon
        if accounting in ("zcdp", "rdp") and delta_f == 0:
            raise InvalidParameterError(
                f"accounting={accounting!r} with an epsilon budget needs delta > 0 "
                "(a zCDP or RDP total converts to (epsilon, delta) only for "
                "delta > 0); pass e.g. delta=1e-6, or use accounting='basic'",
                parameter="delta",
                value=delta,
            )
        if accounting == "rdp":
            orders_t = composition.check_orders(orders)
            return cls("rdp", eps_f, delta_f, None, orders_t)
        return cls(accounting, eps_f, delta_f, None, None)

    def header_budget(self) -> dict[str, Any]:
        """The part of a ledger header that must match on re-open."""
        return {
            "accounting": self.accounting,
            "budget": {"epsilon": self.epsilon, "delta": self.delta, "rho": self.rho},
            "orders": list(self.orders) if self.orders is not None else None,
        }

    @classmethod
    def from_header(cls, header: dict[str, Any]) -> Policy:
        """Rebuild a policy from a ledger header."""
        budget = header["budget"]
        return cls.make(
            epsilon=budget["epsilon"],
            delta=budget["delta"],
            rho=budget["rho"],
            accounting=header["accounting"],
            orders=header["orders"],
        )

    # ------------------------------------------------------------------ limits
    @property
    def budget(self) -> PrivacyLoss:
        """The total budget as a loss object."""
        if self.rho is not None:
            return ZCDP(self.rho)
        assert self.epsilon is not None
        if self.delta == 0:
            return PureDP(self.epsilon)
        return ApproxDP(self.epsilon, self.delta)

    @cached_property
    def _eps_dec(self) -> Fraction:
        assert self.epsilon is not None
        return dec(self.epsilon)

    @cached_property
    def _delta_dec(self) -> Fraction:
        return dec(self.delta)

    @cached_property
    def _rho_full(self) -> Fraction:
        """The ρ limit with no δ part spent (the budget's own ρ, or CKS at δ)."""
        if self.rho is not None:
            return dec(self.rho)
        assert self.epsilon is not None
        return dec(composition.rho_for(self.epsilon, self.delta, "cks"))

    def rho_limit(self, delta_spent: Fraction) -> Fraction:
        """The largest ρ total allowed once δ parts summing to ``delta_spent`` are spent.

        The total is δ₀-approximately ρ-zCDP, hence (ε(ρ, δ - δ₀), δ)-DP
        (Bun & Steinke 2016, §8; OpenDP's approximate zCDP does the same); the
        limit is the largest ρ whose conversion at ``δ - δ₀`` is within ε,
        or -1 when no δ is left.
        """
        if not delta_spent:
            return self._rho_full
        assert self.epsilon is not None
        rest = self._delta_dec - delta_spent
        if rest <= 0:
            return Fraction(-1)
        # The δ left, rounded down to a multiple of δ / 2**20: a smaller δ
        # gives a smaller (safe) limit, and many small δ parts share one
        # computed limit instead of a new search each.
        steps = math.floor(rest * _DELTA_STEPS / self._delta_dec)
        if steps <= 0:
            return Fraction(-1)
        return _rest_limit(
            self.epsilon, float_down(self._delta_dec * steps / _DELTA_STEPS)
        )

    def zero(self) -> State:
        """The empty state."""
        if self.accounting == "rdp":
            return (0,) * len(self.orders or ())
        return (Fraction(0), Fraction(0))

    # ----------------------------------------------------------------- charges
    def charge(self, cost: PrivacyLoss, event: NoiseEvent | None) -> State:
        """The exact charge of one release, or UnsupportedCompositionError.

        Memoised per (policy, cost, event): a service repeats a few costs.
        """
        return _charge(self, cost, event)

    def compute_charge(self, cost: PrivacyLoss, event: NoiseEvent | None) -> State:
        """:meth:`charge` without the memo."""
        pure = isinstance(cost, PureDP) or (
            isinstance(cost, ApproxDP) and cost.delta == 0
        )
        if self.accounting == "basic":
            if isinstance(cost, ZCDP | ApproxZCDP):
                raise UnsupportedCompositionError(
                    f"accounting='basic' cannot compose {cost!r}; use an accountant "
                    "with accounting='zcdp' for zCDP costs"
                )
            return (dec(cost.epsilon), dec(cost.delta))
        if self.accounting == "zcdp":
            return self._zcdp_charge(cost, event, pure)
        return self._rdp_charge(cost, event, pure)

    def _zcdp_charge(
        self, cost: PrivacyLoss, event: NoiseEvent | None, pure: bool
    ) -> State:
        zero = Fraction(0)
        if isinstance(cost, ZCDP):
            return (dec(cost.rho), zero)
        if isinstance(cost, ApproxZCDP):
            if cost.delta and self.rho is not None:
                raise UnsupportedCompositionError(
                    f"a rho budget has no delta, so it cannot compose {cost!r}; "
                    "give the budget as epsilon/delta with accounting='zcdp'"
                )
            return (dec(cost.rho), dec(cost.delta))
        if pure:
            # ε-DP implies (ε²/2)-zCDP (Bun & Steinke 2016, Prop. 3.3).
            return (dec(cost.epsilon) ** 2 / 2, zero)
        if event is not None:
            # Laplace with multiplier m is (1/m)-DP, hence 1/(2m²)-zCDP; the
            # Gaussian with multiplier m is exactly 1/(2m²)-zCDP. Rounded up to
            # a decimal, so that totals keep a bounded size.
            m = dec(event.noise_multiplier)
            return (_decimal_up(Fraction(1) / (2 * m * m)), zero)
        if self.rho is not None:
            raise UnsupportedCompositionError(
                f"accounting='zcdp' with a rho budget cannot convert {cost!r} into "
                "zCDP (the budget has no delta for its delta); pass the mechanism's "
                "noise as event=NoiseEvent(...), or give the budget as "
                "epsilon/delta, which composes it as approximate zCDP"
            )
        # (ε, δ)-DP implies δ-approximate (ε²/2)-zCDP: the pair of output
        # distributions is a post-processing of (ε, δ) randomised response,
        # which outside probability δ is ε-DP randomised response.
        return (dec(cost.epsilon) ** 2 / 2, dec(cost.delta))

    def _rdp_charge(
        self, cost: PrivacyLoss, event: NoiseEvent | None, pure: bool
    ) -> State:
        orders = self.orders or ()
        if event is not None:
            return _rdp_of_event(event.kind, event.noise_multiplier, orders)
        a = _orders_array(orders)
        up = 1.0 + _REL
        if isinstance(cost, ZCDP) or (isinstance(cost, ApproxZCDP) and not cost.delta):
            return _grid_up(a * cost.rho * up)
        if pure and isinstance(cost, PureDP | ApproxDP):
            e = cost.epsilon
            return _grid_up(np.minimum(e * up, a * (e * e / 2.0) * up))
        raise UnsupportedCompositionError(
            f"accounting='rdp' cannot compose {cost!r} without knowing its noise; "
            "pass event=NoiseEvent('gaussian' or 'laplace', noise_multiplier), or "
            "use accounting='basic' (or 'zcdp', which composes a delta part)"
        )

    # ------------------------------------------------------------------ checks
    def rdp_values(self, state: State) -> list[float]:
        """The RDP totals as floats, rounded up."""
        return [math.nextafter(v / _GRID, math.inf) for v in state]

    def _rdp_epsilon(self, state: State) -> float:
        if not any(state):
            return 0.0
        return composition.rdp_epsilon(
            self.orders or (), self.rdp_values(state), self.delta
        )

    def _rdp_fits(self, state: State, epsilon: float) -> bool:
        if not any(state):
            return True
        limits = _rdp_limits(self.orders or (), self.delta, epsilon)
        return any(map(operator.le, state, limits))

    def fits(self, state: State) -> bool:
        """Whether the composed ``state`` is within the budget."""
        if self.accounting == "basic":
            return state[0] <= self._eps_dec and state[1] <= self._delta_dec
        if self.accounting == "zcdp":
            if self.rho is not None and state[1]:
                return False
            return state[0] <= self.rho_limit(state[1])
        assert self.epsilon is not None
        return self._rdp_fits(state, self.epsilon)

    def _at_least(self, state: State, fraction: float) -> bool:
        """Whether ``used_fraction(state) >= fraction`` (exactly, for basic/zcdp)."""
        # float_up(x) >= w exactly when x > (the decimal of the float below w).
        w = dec(math.nextafter(fraction, 0.0))
        if self.accounting == "basic":
            return state[0] > w * self._eps_dec or (
                self.delta > 0 and state[1] > w * self._delta_dec
            )
        if self.accounting == "zcdp":
            limit = self.rho_limit(state[1])
            return limit <= 0 or state[0] > w * limit
        assert self.epsilon is not None
        return not self._rdp_fits(state, self.epsilon * fraction)

    def crossed(self, before: State, after: State, fraction: float) -> float | None:
        """The used fraction after a charge if it took it to ``fraction`` or past."""
        if self._at_least(after, fraction) and not self._at_least(before, fraction):
            return self.used_fraction(after)
        return None

    def used_fraction(self, state: State) -> float:
        """Fraction of the budget used (the largest over ε and δ)."""
        if self.accounting == "basic":
            used = state[0] / self._eps_dec
            if self.delta > 0:
                used = max(used, state[1] / self._delta_dec)
            return float_up(used)
        if self.accounting == "zcdp":
            limit = self.rho_limit(state[1])
            if limit <= 0:
                return 1.0
            return float_up(state[0] / limit)
        assert self.epsilon is not None
        return self._rdp_epsilon(state) / self.epsilon

    def spent(self, state: State) -> PrivacyLoss:
        """What ``state`` spent, rounded up, in the accountant's terms."""
        if self.accounting == "basic":
            eps = float_up(state[0])
            if self.delta == 0:
                return PureDP(eps) if eps > 0 else unchecked(PureDP, epsilon=0.0)
            delta = float_up(state[1])
            return (
                ApproxDP(eps, delta)
                if eps > 0
                else unchecked(ApproxDP, epsilon=0.0, delta=delta)
            )
        if self.accounting == "zcdp":
            rho = float_up(state[0])
            if state[1]:
                delta = float_up(state[1])
                if rho > 0:
                    return ApproxZCDP(rho, delta)
                return unchecked(ApproxZCDP, rho=0.0, delta=delta)
            return ZCDP(rho) if rho > 0 else unchecked(ZCDP, rho=0.0)
        eps = self._rdp_epsilon(state)
        if eps > 0:
            return ApproxDP(eps, self.delta)
        return unchecked(ApproxDP, epsilon=0.0, delta=self.delta)

    def remaining(self, state: State) -> PrivacyLoss:
        """What is left of the budget, rounded down, in the accountant's terms.

        For ``"zcdp"`` this is the ρ a zCDP release may still cost (with the
        δ parts spent so far taken out of the budget's δ first). For ``"rdp"``
        this is the difference of converted ε at the budget's δ: an
        indication, not a promise (Rényi costs do not subtract in ε).
        """
        if self.accounting == "basic":
            eps = max(float_down(self._eps_dec - state[0]), 0.0)
            if self.delta == 0:
                return PureDP(eps) if eps > 0 else unchecked(PureDP, epsilon=0.0)
            delta = max(float_down(self._delta_dec - state[1]), 0.0)
            if eps > 0:
                return ApproxDP(eps, delta)
            return unchecked(ApproxDP, epsilon=0.0, delta=delta)
        if self.accounting == "zcdp":
            rho = max(float_down(self.rho_limit(state[1]) - state[0]), 0.0)
            return ZCDP(rho) if rho > 0 else unchecked(ZCDP, rho=0.0)
        assert self.epsilon is not None
        eps = max(float_down(self._eps_dec - Fraction(self._rdp_epsilon(state))), 0.0)
        if eps > 0:
            return ApproxDP(eps, self.delta)
        return unchecked(ApproxDP, epsilon=0.0, delta=self.delta)


@lru_cache(maxsize=4096)
def _charge(policy: Policy, cost: PrivacyLoss, event: NoiseEvent | None) -> State:
    return policy.compute_charge(cost, event)
