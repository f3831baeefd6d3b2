"""Budget policies: how each accounting mode turns costs into exact charges.

A *state* is a tuple of :class:`fractions.Fraction`: ``(ε, δ)`` for ``"basic"``,
``(ρ,)`` for ``"zcdp"`` and one RDP value per order for ``"rdp"``. Charges are
states too, so composing is element-wise exact addition and giving back a
reservation is exact subtraction.

Floats are read as decimals and sums are exact (see ``_exact``).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from loopkit_privacy._validate import check_delta
from loopkit_privacy.accounting import composition
from loopkit_privacy.accounting._exact import dec, float_down, float_up
from loopkit_privacy.errors import InvalidParameterError, UnsupportedCompositionError
from loopkit_privacy.loss import (
    ZCDP,
    ApproxDP,
    NoiseEvent,
    PrivacyLoss,
    PureDP,
    parse_loss,
)

State = tuple[Fraction, ...]

ACCOUNTING_MODES = ("basic", "zcdp", "rdp")


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
    return tuple(x + y for x, y in zip(a, b, strict=True))


def sub(a: State, b: State) -> State:
    """Element-wise exact difference."""
    return tuple(x - y for x, y in zip(a, b, strict=True))


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
            orders_t = composition._check_orders(orders)
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

    def _rho_limit(self) -> Fraction:
        if self.rho is not None:
            return dec(self.rho)
        assert self.epsilon is not None
        return dec(composition._rho_for(self.epsilon, self.delta, "cks"))

    def zero(self) -> State:
        """The empty state."""
        n = {"basic": 2, "zcdp": 1}.get(self.accounting)
        return (Fraction(0),) * (n if n is not None else len(self.orders or ()))

    # ----------------------------------------------------------------- charges
    def charge(self, cost: PrivacyLoss, event: NoiseEvent | None) -> State:
        """The exact charge of one release, or UnsupportedCompositionError."""
        pure = isinstance(cost, PureDP) or (
            isinstance(cost, ApproxDP) and cost.delta == 0
        )
        if self.accounting == "basic":
            if isinstance(cost, ZCDP):
                raise UnsupportedCompositionError(
                    f"accounting='basic' cannot compose {cost!r}; use an accountant "
                    "with accounting='zcdp' for zCDP costs"
                )
            return (dec(cost.epsilon), dec(cost.delta))
        if self.accounting == "zcdp":
            if isinstance(cost, ZCDP):
                return (dec(cost.rho),)
            if pure:
                # ε-DP implies (ε²/2)-zCDP (Bun & Steinke 2016, Prop. 3.3).
                return (dec(cost.epsilon) ** 2 / 2,)
            if event is not None:
                # Laplace with multiplier m is (1/m)-DP, hence 1/(2m²)-zCDP; the
                # Gaussian with multiplier m is exactly 1/(2m²)-zCDP.
                return (Fraction(1) / (2 * dec(event.noise_multiplier) ** 2),)
            raise UnsupportedCompositionError(
                f"accounting='zcdp' cannot convert {cost!r} into zCDP; pass the "
                "mechanism's noise as event=NoiseEvent(...), or use accounting='basic'"
            )
        orders = self.orders or ()
        if event is not None:
            m = dec(event.noise_multiplier)
            if event.kind == "gaussian":
                return tuple(Fraction(a) / (2 * m * m) for a in orders)
            values = composition.laplace_rdp(event.noise_multiplier, orders)
            return tuple(Fraction(v) for v in values)
        if isinstance(cost, ZCDP):
            r = dec(cost.rho)
            return tuple(Fraction(a) * r for a in orders)
        if pure:
            e = dec(cost.epsilon)
            return tuple(min(e, Fraction(a) * e * e / 2) for a in orders)
        raise UnsupportedCompositionError(
            f"accounting='rdp' cannot compose {cost!r} without knowing its noise; "
            "pass event=NoiseEvent('gaussian' or 'laplace', noise_multiplier), or "
            "use accounting='basic'"
        )

    # ------------------------------------------------------------------ checks
    def _rdp_epsilon(self, state: State) -> float:
        if not any(state):
            return 0.0
        return composition._rdp_epsilon(
            self.orders or (), [float_up(v) for v in state], self.delta
        )

    def fits(self, state: State) -> bool:
        """Whether the composed ``state`` is within the budget."""
        if self.accounting == "basic":
            assert self.epsilon is not None
            return state[0] <= dec(self.epsilon) and state[1] <= dec(self.delta)
        if self.accounting == "zcdp":
            return state[0] <= self._rho_limit()
        assert self.epsilon is not None
        return self._rdp_epsilon(state) <= self.epsilon

    def used_fraction(self, state: State) -> float:
        """Fraction of the budget used (the largest over ε and δ)."""
        if self.accounting == "basic":
            assert self.epsilon is not None
            used = state[0] / dec(self.epsilon)
            if self.delta > 0:
                used = max(used, state[1] / dec(self.delta))
            return float_up(used)
        if self.accounting == "zcdp":
            return float_up(state[0] / self._rho_limit())
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
            return ZCDP(rho) if rho > 0 else unchecked(ZCDP, rho=0.0)
        eps = self._rdp_epsilon(state)
        if eps > 0:
            return ApproxDP(eps, self.delta)
        return unchecked(ApproxDP, epsilon=0.0, delta=self.delta)

    def remaining(self, state: State) -> PrivacyLoss:
        """What is left of the budget, rounded down, in the accountant's terms.

        For ``"rdp"`` this is the difference of converted ε at the budget's δ:
        an indication, not a promise (Rényi costs do not subtract in ε).
        """
        if self.accounting == "basic":
            assert self.epsilon is not None
            eps = max(float_down(dec(self.epsilon) - state[0]), 0.0)
            if self.delta == 0:
                return PureDP(eps) if eps > 0 else unchecked(PureDP, epsilon=0.0)
            delta = max(float_down(dec(self.delta) - state[1]), 0.0)
            if eps > 0:
                return ApproxDP(eps, delta)
            return unchecked(ApproxDP, epsilon=0.0, delta=delta)
        if self.accounting == "zcdp":
            rho = max(float_down(self._rho_limit() - state[0]), 0.0)
            return ZCDP(rho) if rho > 0 else unchecked(ZCDP, rho=0.0)
        assert self.epsilon is not None
        eps = max(
            float_down(dec(self.epsilon) - Fraction(self._rdp_epsilon(state))), 0.0
        )
        if eps > 0:
            return ApproxDP(eps, self.delta)
        return unchecked(ApproxDP, epsilon=0.0, delta=self.delta)
