"""Privacy-loss value types: pure ε-DP, (ε, δ)-DP, ρ-zCDP and approximate (ρ, δ)-zCDP.

Mechanisms state their cost as one of these, and accountants consume them.
They are immutable, validated on construction, addable (basic sequential
composition within one family) and comparable (``a <= b`` means a release
costing ``a`` fits in a budget ``b``).

Examples
--------
>>> from loopkit_privacy.loss import PureDP, ApproxDP, ZCDP
>>> PureDP(0.5) + PureDP(0.25)
PureDP(epsilon=0.75)
>>> PureDP(0.5) + ApproxDP(0.5, 1e-6)
ApproxDP(epsilon=1.0, delta=1e-06)
>>> ZCDP(0.1) + ZCDP(0.2)
ZCDP(rho=0.30000000000000004)
>>> PureDP(0.5) <= ApproxDP(1.0, 1e-6)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from loopkit_privacy._validate import (
    check_delta,
    check_epsilon,
    check_positive,
    check_rho,
)
from loopkit_privacy.errors import InvalidParameterError, UnsupportedCompositionError

__all__ = [
    "ZCDP",
    "ApproxDP",
    "ApproxZCDP",
    "NoiseEvent",
    "PrivacyLoss",
    "PureDP",
    "loss_from",
    "parse_loss",
]


@dataclass(frozen=True, slots=True)
class PureDP:
    """Pure ε-differential privacy.

    Parameters
    ----------
    epsilon : float
        Finite and > 0.

    Examples
    --------
    >>> PureDP(1.0).epsilon
    1.0
    """

    epsilon: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", check_positive(self.epsilon, "epsilon"))

    @property
    def delta(self) -> float:
        """Always 0 for pure DP.

        So a :class:`PureDP` cost reads like an :class:`ApproxDP` one.

        Examples
        --------
        >>> PureDP(1.0).delta
        0.0
        >>> PureDP(0.5) + ApproxDP(0.5, 1e-6)
        ApproxDP(epsilon=1.0, delta=1e-06)
        """
        return 0.0

    def __add__(self, other: Any) -> PrivacyLoss:
        if isinstance(other, PureDP):
            return PureDP(self.epsilon + other.epsilon)
        if isinstance(other, ApproxDP):
            return ApproxDP(self.epsilon + other.epsilon, other.delta)
        return _cannot_add(self, other)

    def __le__(self, other: Any) -> bool:
        if isinstance(other, PureDP | ApproxDP):
            return self.epsilon <= other.epsilon
        return _cannot_compare(self, other)


@dataclass(frozen=True, slots=True)
class ApproxDP:
    """Approximate (ε, δ)-differential privacy.

    Parameters
    ----------
    epsilon : float
        Finite and > 0.
    delta : float
        In [0, 1).

    Examples
    --------
    >>> ApproxDP(1.0, 1e-6)
    ApproxDP(epsilon=1.0, delta=1e-06)
    """

    epsilon: float
    delta: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", check_positive(self.epsilon, "epsilon"))
        object.__setattr__(self, "delta", check_delta(self.delta, allow_zero=True))

    def __add__(self, other: Any) -> PrivacyLoss:
        if isinstance(other, PureDP):
            return ApproxDP(self.epsilon + other.epsilon, self.delta)
        if isinstance(other, ApproxDP):
            return ApproxDP(self.epsilon + other.epsilon, self.delta + other.delta)
        return _cannot_add(self, other)

    def __le__(self, other: Any) -> bool:
        if isinstance(other, ApproxDP):
            return self.epsilon <= other.epsilon and self.delta <= other.delta
        if isinstance(other, PureDP):
            return self.epsilon <= other.epsilon and self.delta == 0
        return _cannot_compare(self, other)


@dataclass(frozen=True, slots=True)
class ZCDP:
    """ρ-zero-concentrated differential privacy (Bun & Steinke 2016).

    Parameters
    ----------
    rho : float
        Finite and > 0.

    Examples
    --------
    >>> ZCDP(0.5).rho
    0.5
    """

    rho: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "rho", check_rho(self.rho))

    @property
    def delta(self) -> float:
        """Always 0 for (exact) zCDP.

        So a :class:`ZCDP` cost reads like an :class:`ApproxZCDP` one.

        Examples
        --------
        >>> ZCDP(0.5).delta
        0.0
        """
        return 0.0

    def __add__(self, other: Any) -> PrivacyLoss:
        if isinstance(other, ZCDP):
            return ZCDP(self.rho + other.rho)
        if isinstance(other, ApproxZCDP):
            return ApproxZCDP(self.rho + other.rho, other.delta)
        return _cannot_add(self, other)

    def __le__(self, other: Any) -> bool:
        if isinstance(other, ZCDP | ApproxZCDP):
            return self.rho <= other.rho
        return _cannot_compare(self, other)


@dataclass(frozen=True, slots=True)
class ApproxZCDP:
    """Approximate zCDP: δ-approximately ρ-zCDP (Bun & Steinke 2016, §8).

    For every pair of neighbouring datasets the two output distributions are,
    outside events of probability at most ``delta``, ρ-zCDP. Costs of this
    kind add up in both parts (ρ's add, δ's add), and a total (ρ, δ₀) is (ε, δ₀ + δ')-DP with ε the zCDP
    conversion of ρ at δ'. It is the measure in which a zCDP accountant
    composes releases with a δ part, such as partition selection: an
    (ε, δ)-DP release is δ-approximately (ε²/2)-zCDP.

    Parameters
    ----------
    rho : float
        Finite and > 0.
    delta : float
        In [0, 1).

    Examples
    --------
    >>> ApproxZCDP(0.1, 1e-7) + ZCDP(0.2)
    ApproxZCDP(rho=0.30000000000000004, delta=1e-07)
    >>> ZCDP(0.1) <= ApproxZCDP(0.5, 1e-6)
    True
    """

    rho: float
    delta: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "rho", check_rho(self.rho))
        object.__setattr__(self, "delta", check_delta(self.delta, allow_zero=True))

    def __add__(self, other: Any) -> PrivacyLoss:
        if isinstance(other, ZCDP):
            return ApproxZCDP(self.rho + other.rho, self.delta)
        if isinstance(other, ApproxZCDP):
            return ApproxZCDP(self.rho + other.rho, self.delta + other.delta)
        return _cannot_add(self, other)

    def __le__(self, other: Any) -> bool:
        if isinstance(other, ApproxZCDP):
            return self.rho <= other.rho and self.delta <= other.delta
        if isinstance(other, ZCDP):
            return self.rho <= other.rho and self.delta == 0
        return _cannot_compare(self, other)


PrivacyLoss: TypeAlias = PureDP | ApproxDP | ZCDP | ApproxZCDP


def _cannot_add(a: PrivacyLoss, b: Any) -> PrivacyLoss:
    raise UnsupportedCompositionError(
        f"cannot add {a!r} and {b!r} directly; use an accountant "
        "(e.g. accounting='zcdp') that converts between privacy measures"
    )


def _cannot_compare(a: PrivacyLoss, b: Any) -> bool:
    raise UnsupportedCompositionError(
        f"cannot compare {a!r} with {b!r}; convert one of them first "
        "(see loopkit_privacy.accounting)"
    )


def loss_from(
    *,
    epsilon: float | None = None,
    delta: float | None = None,
    rho: float | None = None,
) -> PureDP | ApproxDP | ZCDP:
    """Build a privacy loss from keyword arguments, allowing exactly one family.

    Parameters
    ----------
    epsilon, delta : float, optional
        ``epsilon`` alone gives :class:`PureDP`; with ``delta`` > 0 it gives
        :class:`ApproxDP`.
    rho : float, optional
        Gives :class:`ZCDP`; cannot be combined with ``epsilon``/``delta``.

    Returns
    -------
    PureDP or ApproxDP or ZCDP

    Raises
    ------
    InvalidParameterError
        When no family or two families are given, or a value is invalid.

    Examples
    --------
    >>> loss_from(epsilon=1.0)
    PureDP(epsilon=1.0)
    >>> loss_from(epsilon=1.0, delta=1e-6)
    ApproxDP(epsilon=1.0, delta=1e-06)
    >>> loss_from(rho=0.5)
    ZCDP(rho=0.5)
    """
    return parse_loss(epsilon=epsilon, delta=delta, rho=rho, warn=False)


def parse_loss(
    *,
    epsilon: Any,
    delta: Any,
    rho: Any,
    need_delta: bool = False,
    warn: bool = True,
    missing: str = "",
) -> PureDP | ApproxDP | ZCDP:
    """The one rule for ``epsilon``/``delta``/``rho`` keyword arguments.

    ``rho`` alone gives :class:`ZCDP` (a ``delta`` of 0 may accompany it);
    ``epsilon`` alone, or with ``delta`` of ``None`` or 0, gives
    :class:`PureDP`; ``epsilon`` with ``delta`` in (0, 1) gives
    :class:`ApproxDP`. Every public function that takes these arguments
    (the aggregations, the mechanisms, the accountant's budget,
    :func:`loss_from`) parses them here, so they accept and refuse the same
    combinations with the same errors, each naming the argument.

    Parameters
    ----------
    epsilon, delta, rho : float or None
        The caller's arguments.
    need_delta : bool
        Refuse a pure ε (the Gaussian mechanism needs ``delta`` > 0).
    warn : bool
        Warn (``PrivacyWarning``) on a large ``epsilon`` (a release; not for a
        budget, which is a total).
    missing : str
        Appended to the error when no parameter is given (what to pass).

    Raises
    ------
    InvalidParameterError
        Both families, none, a missing ``delta`` where it is needed, or an
        invalid value; the error names the argument.

    Examples
    --------
    >>> parse_loss(epsilon=1.0, delta=0, rho=None)
    PureDP(epsilon=1.0)
    >>> parse_loss(epsilon=None, delta=None, rho=0.25)
    ZCDP(rho=0.25)
    """
    d = None if delta is None else check_delta(delta, allow_zero=True)
    if rho is not None:
        if epsilon is not None or d:
            raise InvalidParameterError(
                "give either `rho` (zCDP) or `epsilon`/`delta`, not both; "
                f"got epsilon={epsilon!r}, delta={delta!r}, rho={rho!r}",
                parameter="rho",
                value=rho,
            )
        return ZCDP(check_rho(rho))
    if epsilon is None:
        raise InvalidParameterError(
            "a privacy parameter is required: `epsilon` is required (with "
            "`delta` for (epsilon, delta)), or `rho` for zCDP"
            + (f"; {missing}" if missing else "; pass e.g. epsilon=1.0"),
            parameter="epsilon",
            value=None,
        )
    eps = check_epsilon(epsilon) if warn else check_positive(epsilon, "epsilon")
    if not d:
        if need_delta:
            raise InvalidParameterError(
                "mechanism='gaussian' needs `delta` in (0, 1) (or `rho`); pass "
                "e.g. delta=1e-6",
                parameter="delta",
                value=delta,
            )
        return PureDP(eps)
    return ApproxDP(eps, d)


@dataclass(frozen=True, slots=True)
class NoiseEvent:
    """What a noise-adding release did, for accountants that need more than its cost.

    Rényi-DP accounting composes mechanisms by their noise, not by their
    (ε, δ). A mechanism that adds Laplace or Gaussian noise describes itself
    with one of these and passes it to the accountant together with its cost.

    Parameters
    ----------
    kind : {"laplace", "gaussian"}
        The noise distribution (discrete or granular versions included).
    noise_multiplier : float
        Noise scale divided by sensitivity: ``scale / L1`` for Laplace,
        ``sigma / L2`` for Gaussian. Finite and > 0.

    Examples
    --------
    >>> NoiseEvent("gaussian", 2.0)
    NoiseEvent(kind='gaussian', noise_multiplier=2.0)
    """

    kind: Literal["laplace", "gaussian"]
    noise_multiplier: float

    def __post_init__(self) -> None:
        if self.kind not in ("laplace", "gaussian"):
            raise InvalidParameterError(
                f"`kind` must be 'laplace' or 'gaussian', got {self.kind!r}",
                parameter="kind",
                value=self.kind,
            )
        object.__setattr__(
            self,
            "noise_multiplier",
            check_positive(self.noise_multiplier, "noise_multiplier"),
        )
