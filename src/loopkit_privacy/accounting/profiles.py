"""Privacy profiles: exact Gaussian curves, tight composition, subsampling, KOV.

A *privacy profile* answers both questions one asks of a guarantee: the ε at
a given δ, and the δ at a given ε. Every answer here is **one-sided**: never
less private than the exact value (ε and δ are rounded up, and each method's
own approximations are pessimistic).

* :func:`gaussian_epsilon`, :func:`gaussian_delta` -- the exact privacy
  curve of the (continuous) Gaussian mechanism (Balle & Wang 2018, Thm 8).
* :func:`compose` -- compose releases with ``method="pld"`` (privacy loss
  distributions, via Google's ``dp-accounting``: ``loopkit_privacy[pld]``),
  ``"rdp"``, ``"zcdp"`` (approximate zCDP) or ``"basic"``, returning a
  :class:`PrivacyProfile`.
* :func:`poisson_subsampled` and :class:`Subsampled` -- amplification by
  Poisson subsampling.
* :func:`kov_epsilon`, :func:`kov_delta` -- the optimal composition of k
  (ε, δ)-DP mechanisms (Kairouz, Oh & Viswanath 2015), exact.

Adaptivity: :func:`compose` is the composition of a sequence of releases
fixed in advance (each may be computed on earlier outputs, but *which*
releases with *which* parameters is decided before the first). A privacy
*filter* that lets those choices depend on earlier outputs is sound for the
zCDP and RDP sums (and the basic sums) that
:class:`~loopkit_privacy.accounting.Accountant` checks, not for PLD in
general; see ``docs/accounting.md``.

Examples
--------
>>> from loopkit_privacy.accounting import compose, gaussian_epsilon
>>> from loopkit_privacy.loss import NoiseEvent, PureDP
>>> round(gaussian_epsilon(3.0, 1e-6), 4)
1.448
>>> profile = compose([PureDP(0.1)] * 50, method="basic")
>>> profile.epsilon(0.0)
5.0
>>> compose([PureDP(0.1)] * 50, method="zcdp").epsilon(1e-6) < 5.0
True
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, TypeAlias

import numpy as np
from scipy import optimize, special

from loopkit_privacy import _calibration as cal
from loopkit_privacy._validate import check_delta, check_positive, check_positive_int
from loopkit_privacy.accounting import composition
from loopkit_privacy.accounting._budget import Policy, add
from loopkit_privacy.accounting._consistency import check_consistent
from loopkit_privacy.accounting._exact import float_down, float_up
from loopkit_privacy.errors import (
    InvalidParameterError,
    OptionalDependencyError,
    UnsupportedCompositionError,
)
from loopkit_privacy.loss import (
    ZCDP,
    ApproxDP,
    ApproxZCDP,
    NoiseEvent,
    PrivacyLoss,
    PureDP,
)

__all__ = [
    "PrivacyProfile",
    "Subsampled",
    "compose",
    "gaussian_delta",
    "gaussian_epsilon",
    "kov_delta",
    "kov_epsilon",
    "poisson_subsampled",
]

Method = Literal["pld", "rdp", "zcdp", "basic"]
METHODS = ("pld", "rdp", "zcdp", "basic")

#: Relative margin on δ values computed in floating point (the analytic
#: Gaussian curve is accurate to a few 1e-14; PLD sums to about 1e-12).
DELTA_MARGIN = 1e-9
#: Relative margin on δ for PLD queries (FFT convolutions lose ~1e-12 of the
#: total mass; a query at δ asks dp-accounting at δ(1 - PLD_MARGIN)).
PLD_MARGIN = 1e-6
#: Default grid of the privacy-loss values of a PLD (dp-accounting's default;
#: the composed ε is then within about 1e-5 (relative) of the exact value for
#: the k-fold Gaussians of the tests).
PLD_INTERVAL = 1e-4
#: Largest k for :func:`kov_delta` (its float error bound is stated up to it).
KOV_MAX_K = 10**6


def _check_epsilon0(value: Any, name: str = "epsilon") -> float:
    """An ε >= 0 (queries may ask about ε = 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise InvalidParameterError(
            f"`{name}` must be a finite number >= 0, got {value!r}",
            parameter=name,
            value=value,
        )
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise InvalidParameterError(
            f"`{name}` must be a finite number >= 0, got {value!r}",
            parameter=name,
            value=value,
        )
    return v


def _check_query_delta(value: Any) -> float:
    """A δ in [0, 1] (queries may ask about δ = 0)."""
    if value == 1 and not isinstance(value, bool):
        return 1.0
    return check_delta(value, allow_zero=True)


# ------------------------------------------------------------------ Gaussian


def gaussian_delta(noise_multiplier: float, epsilon: float) -> float:
    r"""The exact δ(ε) of the Gaussian mechanism, rounded up.

    Parameters
    ----------
    noise_multiplier : float
        σ divided by the L2 sensitivity; finite and > 0.
    epsilon : float
        Finite and >= 0.

    Returns
    -------
    float
        :math:`\Phi(\tfrac{1}{2m} - \varepsilon m) - e^\varepsilon
        \Phi(-\tfrac{1}{2m} - \varepsilon m)` (Balle & Wang 2018, Thm 8),
        raised by a relative ``DELTA_MARGIN`` above its evaluation error.

    Notes
    -----
    Privacy. This is the curve of continuous Gaussian noise. The library's
    Gaussian mechanisms add *discrete* Gaussian noise on a grid, whose curve
    depends on the sensitivity in grid units; their own calibration accounts
    for it. k Gaussian releases with multipliers :math:`m_i` compose to one
    with :math:`m = (\sum m_i^{-2})^{-1/2}`.

    Examples
    --------
    >>> from loopkit_privacy.mechanisms import analytic_gaussian_sigma
    >>> sigma = analytic_gaussian_sigma(1.0, epsilon=1.0, delta=1e-5)
    >>> gaussian_delta(sigma, 1.0) <= 1e-5 < gaussian_delta(sigma * 0.999, 1.0)
    True
    """
    m = check_positive(noise_multiplier, "noise_multiplier")
    eps = _check_epsilon0(epsilon)
    log_d = cal.gaussian_log_delta(m, eps)
    if log_d == -math.inf:
        return 0.0
    return min(1.0, math.nextafter(math.exp(log_d) * (1.0 + DELTA_MARGIN), 1.0))


def gaussian_epsilon(noise_multiplier: float, delta: float) -> float:
    """The exact ε(δ) of the Gaussian mechanism: the smallest ε with δ(ε) <= δ.

    Parameters
    ----------
    noise_multiplier : float
        σ divided by the L2 sensitivity; finite and > 0.
    delta : float
        In (0, 1).

    Returns
    -------
    float
        The root of :func:`gaussian_delta` (whose values are upper bounds),
        found to a relative 1e-14 and then rounded up, so that
        ``gaussian_delta(m, gaussian_epsilon(m, delta)) <= delta``.

    Notes
    -----
    Privacy. The inverse of the Balle & Wang curve; it reuses the analytic
    calibration's evaluation of δ (``_calibration``).
    :func:`~loopkit_privacy.accounting.zcdp_to_approx_dp` of the Gaussian's
    ρ = 1/(2m²) is always larger.

    Examples
    --------
    >>> eps = gaussian_epsilon(4.0, 1e-5)
    >>> round(eps, 6)
    0.926342
    >>> gaussian_delta(4.0, eps) <= 1e-5
    True
    """
    m = check_positive(noise_multiplier, "noise_multiplier")
    delta = check_delta(delta)
    if gaussian_delta(m, 0.0) <= delta:
        return 0.0
    log_t = math.log(delta)

    def h(e: float) -> float:
        ld = cal.gaussian_log_delta(m, e)
        return ld + math.log1p(DELTA_MARGIN) - log_t

    hi = 1.0
    while h(hi) > 0:
        hi *= 2.0
        if hi > 1e300:  # pragma: no cover - δ below any float
            return math.inf
    root = float(optimize.brentq(h, 0.0, hi, xtol=1e-300, rtol=1e-15, maxiter=500))
    eps = root * (1.0 + 1e-14)
    for _ in range(200):
        if gaussian_delta(m, eps) <= delta:
            return eps
        eps = math.nextafter(eps * (1.0 + 1e-14), math.inf)
    return hi  # pragma: no cover - the loop always finds a point


# ---------------------------------------------------------------- subsampling


@dataclass(frozen=True, slots=True)
class Subsampled:
    """A release run on a Poisson subsample: each unit kept with probability ``rate``.

    Parameters
    ----------
    item : PureDP or ApproxDP or NoiseEvent
        What the release costs (or the noise it adds) on the subsample.
    rate : float
        The sampling probability, in (0, 1].

    Examples
    --------
    >>> Subsampled(NoiseEvent("gaussian", 1.0), 0.01)
    Subsampled(item=NoiseEvent(kind='gaussian', noise_multiplier=1.0), rate=0.01)
    """

    item: PureDP | ApproxDP | NoiseEvent
    rate: float

    def __post_init__(self) -> None:
        if not isinstance(self.item, PureDP | ApproxDP | NoiseEvent):
            raise InvalidParameterError(
                f"`item` must be a PureDP, ApproxDP or NoiseEvent, got {self.item!r}",
                parameter="item",
                value=self.item,
            )
        rate = check_positive(self.rate, "rate")
        if rate > 1:
            raise InvalidParameterError(
                f"`rate` must be in (0, 1], got {self.rate!r}",
                parameter="rate",
                value=self.rate,
            )
        object.__setattr__(self, "rate", rate)


def poisson_subsampled(cost: PureDP | ApproxDP, rate: float) -> PureDP | ApproxDP:
    r"""Amplification by Poisson subsampling of an (ε, δ)-DP release.

    Parameters
    ----------
    cost : PureDP or ApproxDP
        The release's guarantee on the subsample.
    rate : float
        Probability q in (0, 1] with which each privacy unit is kept.

    Returns
    -------
    PureDP or ApproxDP
        :math:`(\log(1 + q(e^\varepsilon - 1)),\; q\delta)`, rounded up.

    Notes
    -----
    Privacy. Li, Qardaji & Su (2012); Balle, Barthe & Gaboardi (2018,
    Thm 8: tight for Poisson subsampling under add/remove neighbours). The
    subsample must be drawn with fresh randomness, independently per unit,
    and kept secret.

    Examples
    --------
    >>> poisson_subsampled(PureDP(1.0), 0.01)
    PureDP(epsilon=0.0170...)
    >>> poisson_subsampled(ApproxDP(1.0, 1e-6), 0.5).delta
    5e-07
    """
    item = Subsampled(cost, rate)
    assert isinstance(item.item, PureDP | ApproxDP)
    return _amplified(item.item, item.rate)


def _amplified(cost: PureDP | ApproxDP, q: float) -> PureDP | ApproxDP:
    if q == 1.0:
        return cost
    value = math.log1p(q * math.expm1(cost.epsilon))
    eps = math.nextafter(value * (1.0 + 8 * 2.0**-52), math.inf)
    if cost.delta == 0:
        return PureDP(eps)
    return ApproxDP(eps, float_up(Fraction(q) * Fraction(cost.delta)))


# ------------------------------------------------------------------------ KOV


def _kov_delta(epsilon: float, k: int, epsilon_total: float) -> float:
    """δ of k-fold ε-DP randomised response at ε_total, rounded up."""
    if epsilon_total >= k * epsilon:
        return 0.0
    i = np.arange(k + 1, dtype=np.float64)
    loss = epsilon * (k - 2.0 * i)
    keep = loss > epsilon_total
    i, loss = i[keep], loss[keep]
    log_q = -np.log1p(np.exp(-epsilon))  # log P[keep the true answer]
    log_p = -epsilon + log_q  # log P[flip]
    log_binom = special.gammaln(k + 1.0) - special.gammaln(i + 1.0)
    log_binom -= special.gammaln(k - i + 1.0)
    terms = (
        log_binom
        + (k - i) * log_q
        + i * log_p
        + np.log(-np.expm1(epsilon_total - loss))
    )
    log_d = float(special.logsumexp(terms))
    # gammaln and the sums lose about 1e-15 of magnitudes up to k log k.
    err = 1e-13 * (k * (epsilon + math.log(k + 1.0)) + 10.0)
    return min(1.0, math.exp(log_d + err))


def kov_delta(
    epsilon: float, k: int, epsilon_total: float, *, delta: float = 0.0
) -> float:
    r"""δ of the optimal composition of k (ε, δ)-DP mechanisms at ``epsilon_total``.

    Parameters
    ----------
    epsilon : float
        ε of each mechanism; finite and > 0.
    k : int
        Number of mechanisms, 1 to ``KOV_MAX_K``.
    epsilon_total : float
        The ε asked about; finite and >= 0.
    delta : float
        δ of each mechanism, in [0, 1).

    Returns
    -------
    float
        :math:`1 - (1-\delta)^k (1 - \delta_k)` with
        :math:`\delta_k = \sum_{i} \binom{k}{i} \frac{e^{\varepsilon(k-i)}}{(1+e^\varepsilon)^k}
        (1 - e^{\varepsilon_g - \varepsilon(k-2i)})_+`, rounded up.

    Notes
    -----
    Privacy. Kairouz, Oh & Viswanath (2015), Theorem 3.3: k-fold
    composition of (ε, δ) randomised response is the worst case among all
    (ε, δ)-DP mechanisms, adaptively composed, so this δ is exact (the
    smallest δ that holds for every such composition). It is the
    privacy-loss distribution of randomised response composed k times,
    summed in closed form.

    Examples
    --------
    >>> round(kov_delta(0.1, 100, 3.0), 8)  # basic composition: δ = 0 at 10.0
    0.0013614
    >>> kov_delta(0.1, 100, 10.0)  # the basic bound k ε holds with δ = 0
    0.0
    """
    eps = check_positive(epsilon, "epsilon")
    k = check_positive_int(k, "k", example="10")
    if k > KOV_MAX_K:
        raise InvalidParameterError(
            f"`k` must be at most {KOV_MAX_K}, got {k!r}", parameter="k", value=k
        )
    eg = _check_epsilon0(epsilon_total, "epsilon_total")
    d = check_delta(delta, allow_zero=True)
    dk = _kov_delta(eps, k, eg)
    if d == 0:
        return dk
    # 1 - (1-δ)^k (1-δ_k), with 1-(1-δ)^k = -expm1(k log1p(-δ)).
    tail = -math.expm1(k * math.log1p(-d))
    total = dk + tail * (1.0 - dk)
    return min(1.0, math.nextafter(total * (1.0 + 1e-12), 1.0))


def kov_epsilon(
    epsilon: float, k: int, delta_total: float, *, delta: float = 0.0
) -> float:
    """The smallest ε_total with :func:`kov_delta` <= ``delta_total``.

    Parameters
    ----------
    epsilon : float
        ε of each mechanism; finite and > 0.
    k : int
        Number of mechanisms, 1 to ``KOV_MAX_K``.
    delta_total : float
        In [0, 1); must exceed ``1 - (1 - delta)**k``.
    delta : float
        δ of each mechanism, in [0, 1).

    Returns
    -------
    float
        Found by bisection on the (decreasing) exact δ; the answer is a point
        at which ``kov_delta`` was evaluated within ``delta_total``, so it is
        never below the optimal ε. Never above ``k * epsilon``.

    Raises
    ------
    InvalidParameterError
        When no ε fits (``delta_total`` at most the δ the k mechanisms add).

    Examples
    --------
    >>> e = kov_epsilon(0.1, 100, 1e-6)
    >>> 2.0 < e < 10.0  # basic composition: 10.0
    True
    >>> kov_delta(0.1, 100, e) <= 1e-6
    True
    """
    eps = check_positive(epsilon, "epsilon")
    k = check_positive_int(k, "k", example="10")
    d_total = check_delta(delta_total, "delta_total", allow_zero=True)
    d = check_delta(delta, allow_zero=True)
    if kov_delta(eps, k, k * eps, delta=d) > d_total:
        raise InvalidParameterError(
            f"`delta_total`={delta_total!r} is not more than the delta the {k} "
            f"mechanisms add themselves (1 - (1 - delta)**k); pass a larger one",
            parameter="delta_total",
            value=delta_total,
        )
    lo, hi = 0.0, k * eps
    if kov_delta(eps, k, 0.0, delta=d) <= d_total:
        return 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if kov_delta(eps, k, mid, delta=d) <= d_total:
            hi = mid
        else:
            lo = mid
    return hi


# ------------------------------------------------------------------ profiles


@dataclass(frozen=True)
class PrivacyProfile:
    """The guarantee of a composition: ε at any δ, and δ at any ε.

    Built by :func:`compose` (or an accountant's
    :meth:`~loopkit_privacy.accounting.Accountant.profile`); both queries
    are one-sided (never less private than the exact value for the method).

    Attributes
    ----------
    method : str
        ``"pld"``, ``"rdp"``, ``"zcdp"`` or ``"basic"``.
    releases : int
        How many releases it composes.

    Examples
    --------
    >>> p = compose([NoiseEvent("gaussian", 10.0)] * 4, method="zcdp")
    >>> p
    PrivacyProfile(method='zcdp', releases=4)
    >>> p.delta(p.epsilon(1e-6)) <= 1e-6 * 1.01
    True
    """

    method: str
    releases: int
    epsilon_of: Callable[[float], float]
    delta_of: Callable[[float], float]

    def epsilon(self, delta: float) -> float:
        """The smallest ε (rounded up) this method proves at ``delta`` (``inf`` if none).

        Examples
        --------
        >>> compose([PureDP(0.5), ApproxDP(0.5, 1e-7)], method="basic").epsilon(1e-6)
        1.0
        """
        return self.epsilon_of(_check_query_delta(delta))

    def delta(self, epsilon: float) -> float:
        """The δ (rounded up) this method proves at ``epsilon`` (at most 1).

        Examples
        --------
        >>> compose([PureDP(0.5)] * 2, method="basic").delta(1.0)
        0.0
        """
        return self.delta_of(_check_epsilon0(epsilon))

    def approx_dp(self, delta: float) -> ApproxDP | PureDP:
        """The guarantee at ``delta`` as a loss object.

        Raises
        ------
        InvalidParameterError
            When no finite ε holds at ``delta``.

        Examples
        --------
        >>> compose([PureDP(0.25)] * 2, method="basic").approx_dp(0.0)
        PureDP(epsilon=0.5)
        """
        d = _check_query_delta(delta)
        eps = self.epsilon_of(d)
        if not math.isfinite(eps) or d >= 1:
            raise InvalidParameterError(
                f"no finite epsilon holds at delta={delta!r} for this composition; "
                "pass a larger delta",
                parameter="delta",
                value=delta,
            )
        eps = max(eps, math.ulp(0.0))
        return PureDP(eps) if d == 0 else ApproxDP(eps, d)

    def __repr__(self) -> str:
        return f"PrivacyProfile(method={self.method!r}, releases={self.releases})"


Item: TypeAlias = (
    PrivacyLoss | NoiseEvent | Subsampled | tuple[PrivacyLoss, NoiseEvent | None]
)


def _normalise(
    item: Any, position: int
) -> tuple[PrivacyLoss | None, NoiseEvent | None, float]:
    """(cost, event, rate) of one item (rate 1 unless subsampled)."""
    if isinstance(item, Subsampled):
        inner = item.item
        if isinstance(inner, NoiseEvent):
            return None, inner, item.rate
        return inner, None, item.rate
    if isinstance(item, NoiseEvent):
        return None, item, 1.0
    if isinstance(item, PureDP | ApproxDP | ZCDP | ApproxZCDP):
        return item, None, 1.0
    if (
        isinstance(item, tuple)
        and len(item) == 2
        and isinstance(item[0], PureDP | ApproxDP | ZCDP | ApproxZCDP)
        and (item[1] is None or isinstance(item[1], NoiseEvent))
    ):
        check_consistent(item[0], item[1])
        return item[0], item[1], 1.0
    raise InvalidParameterError(
        f"`events` must hold privacy losses (PureDP, ApproxDP, ZCDP, ApproxZCDP), "
        f"NoiseEvents, Subsampled(...) or (cost, event) pairs; got {item!r} at "
        f"position {position}",
        parameter="events",
        value=None,
    )


def _as_dp(
    cost: PrivacyLoss | None, event: NoiseEvent | None, rate: float, method: str
) -> PureDP | ApproxDP:
    """The (ε, δ) guarantee of one release, for the basic and PLD methods."""
    dp: PureDP | ApproxDP
    if event is not None and event.kind == "laplace":
        dp = PureDP(1.0 / event.noise_multiplier)
    elif isinstance(cost, PureDP | ApproxDP):
        dp = cost
    else:
        raise UnsupportedCompositionError(
            f"method={method!r} cannot compose "
            f"{cost if cost is not None else event!r}: it needs an (epsilon, delta) "
            "guarantee"
            + (
                " (a bare NoiseEvent('gaussian') is composed exactly by method='pld')"
                if method == "basic"
                else ""
            )
            + "; use method='zcdp' or 'rdp' for zCDP costs"
        )
    return _amplified(dp, rate) if rate < 1 else dp


def _basic_profile(items: list[tuple[Any, Any, float]]) -> PrivacyProfile:
    costs = [_as_dp(c, e, q, "basic") for c, e, q in items]
    total = composition.basic_composition(*costs) if costs else None
    eps = total.epsilon if isinstance(total, PureDP | ApproxDP) else 0.0
    dlt = total.delta if isinstance(total, PureDP | ApproxDP) else 0.0

    def epsilon_of(d: float) -> float:
        return eps if d >= dlt else math.inf

    def delta_of(e: float) -> float:
        return dlt if e >= eps else 1.0

    return PrivacyProfile("basic", len(items), epsilon_of, delta_of)


def _zcdp_profile(items: list[tuple[Any, Any, float]]) -> PrivacyProfile:
    policy = Policy("zcdp", 1.0, 0.5, None, None)
    state = policy.zero()
    for cost, event, rate in items:
        if rate < 1:
            if event is not None and event.kind == "gaussian":
                raise UnsupportedCompositionError(
                    "method='zcdp' has no bound for a subsampled Gaussian; use "
                    "method='pld'"
                )
            cost, event = _as_dp(cost, event, rate, "zcdp"), None
        state = add(state, policy.charge(cost, event))
    rho, d0 = float_up(state[0]), float_up(state[1])

    def epsilon_of(d: float) -> float:
        if d >= 1:
            return 0.0
        rest = float_down(Fraction(d) - state[1])
        if rest <= 0:
            return math.inf
        if rho == 0:
            return 0.0
        return composition.zcdp_epsilon(rho, rest, "cks")

    def delta_of(e: float) -> float:
        if rho == 0:
            return min(1.0, d0)
        log_d = cal.zcdp_log_delta(rho, e)
        extra = math.exp(log_d) * (1.0 + DELTA_MARGIN) if log_d > -math.inf else 0.0
        return min(1.0, float_up(Fraction(d0) + Fraction(extra)))

    return PrivacyProfile("zcdp", len(items), epsilon_of, delta_of)


def _rdp_profile(
    items: list[tuple[Any, Any, float]], orders: Sequence[float] | None
) -> PrivacyProfile:
    policy = Policy("rdp", 1.0, 0.5, None, composition.check_orders(orders))
    orders_t = policy.orders or ()
    state = policy.zero()
    for cost, event, rate in items:
        if rate < 1:
            if event is not None and event.kind == "gaussian":
                raise UnsupportedCompositionError(
                    "method='rdp' has no bound here for a subsampled Gaussian; use "
                    "method='pld'"
                )
            cost, event = _as_dp(cost, event, rate, "rdp"), None
            if isinstance(cost, ApproxDP) and cost.delta > 0:
                raise UnsupportedCompositionError(
                    f"method='rdp' cannot compose {cost!r} (RDP has no delta)"
                )
        state = add(state, policy.charge(cost, event))
    values = policy.rdp_values(state)
    empty = not any(state)

    def epsilon_of(d: float) -> float:
        if empty or d >= 1:
            return 0.0
        if d == 0:
            return math.inf
        return composition.rdp_epsilon(orders_t, values, d)

    def delta_of(e: float) -> float:
        if empty:
            return 0.0
        best = 0.0  # log δ; log 1 = 0
        for a, r in zip(orders_t, values, strict=True):
            # δ = exp((α-1)(r - ε)) (1 - 1/α)^(α-1) / α  (the same conversion).
            t = (a - 1.0) * (r - e) + (a - 1.0) * math.log1p(-1.0 / a) - math.log(a)
            mag = (a - 1.0) * (abs(r) + e) + math.log(a) + 1.0
            best = min(best, t + composition.ULP_MARGIN * mag)
        return min(1.0, math.exp(best) * (1.0 + DELTA_MARGIN))

    return PrivacyProfile("rdp", len(items), epsilon_of, delta_of)


def _dp_accounting() -> Any:
    try:
        from dp_accounting.pld import privacy_loss_distribution as pld
    except ImportError as err:
        raise OptionalDependencyError(
            "method='pld' needs Google's dp-accounting: install loopkit_privacy[pld] "
            "(pip install 'loopkit_privacy[pld]')"
        ) from err
    return pld


def _pld_profile(
    items: list[tuple[Any, Any, float]], interval: float
) -> PrivacyProfile:
    pld = _dp_accounting()
    from dp_accounting.pld.common import DifferentialPrivacyParameters

    keys: Counter[tuple[Any, ...]] = Counter()
    for cost, event, rate in items:
        if event is not None and event.kind == "gaussian" and cost is None:
            keys[("gaussian", event.noise_multiplier, rate)] += 1
        else:
            dp = _as_dp(cost, event, rate, "pld")
            keys[("dp", dp.epsilon, dp.delta)] += 1
    total = None
    for key, count in keys.items():
        if key[0] == "gaussian":
            one = pld.from_gaussian_mechanism(
                standard_deviation=key[1],
                sensitivity=1.0,
                pessimistic_estimate=True,
                value_discretization_interval=interval,
                sampling_prob=key[2],
            )
        else:
            one = pld.from_privacy_parameters(
                DifferentialPrivacyParameters(key[1], key[2]),
                value_discretization_interval=interval,
            )
        part = one.self_compose(count) if count > 1 else one
        total = part if total is None else total.compose(part)

    def epsilon_of(d: float) -> float:
        if total is None or d >= 1:
            return 0.0
        eps = float(total.get_epsilon_for_delta(d * (1.0 - PLD_MARGIN)))
        return math.nextafter(max(eps, 0.0), math.inf) if math.isfinite(eps) else eps

    def delta_of(e: float) -> float:
        if total is None:
            return 0.0
        d = float(total.get_delta_for_epsilon(e))
        return min(1.0, d * (1.0 + PLD_MARGIN))

    return PrivacyProfile("pld", len(items), epsilon_of, delta_of)


def compose(
    events: Iterable[Item],
    *,
    method: Method = "pld",
    orders: Sequence[float] | None = None,
    value_discretization_interval: float = PLD_INTERVAL,
) -> PrivacyProfile:
    """Compose releases fixed in advance into one privacy profile.

    Parameters
    ----------
    events : iterable
        One entry per release, each one of

        * a privacy loss (``PureDP``, ``ApproxDP``, ``ZCDP``, ``ApproxZCDP``):
          the release's guarantee, composed as the worst mechanism with that
          guarantee (for ``"pld"``: the (ε, δ) randomised response of
          Kairouz, Oh & Viswanath);
        * a :class:`~loopkit_privacy.loss.NoiseEvent`: Laplace noise with
          multiplier m is composed as (1/m)-DP (exact for the discrete
          Laplace at one grid unit, and never below the continuous one);
          Gaussian noise as the **continuous** Gaussian mechanism (exact in
          ``"pld"``, 1/(2m²)-zCDP in ``"zcdp"``/``"rdp"``);
        * ``(cost, event)``: a receipt's pair (checked for consistency);
          ``"zcdp"``/``"rdp"`` charge it as the accountant does, ``"pld"`` and
          ``"basic"`` compose the cost (a Laplace event: its ε);
        * :class:`Subsampled` (Poisson subsampling of one of the above).
    method : {"pld", "rdp", "zcdp", "basic"}
        ``"pld"`` (default) composes privacy loss distributions with Google's
        ``dp-accounting`` (pessimistic discretisation; needs
        ``loopkit_privacy[pld]``); ``"rdp"`` sums Rényi curves over
        ``orders``; ``"zcdp"`` sums ρ and δ parts (approximate zCDP);
        ``"basic"`` sums ε and δ.
    orders : sequence of float, optional
        Rényi orders for ``"rdp"`` (default ``DEFAULT_ORDERS``).
    value_discretization_interval : float
        The PLD's grid of privacy-loss values (finer: tighter, slower).

    Returns
    -------
    PrivacyProfile

    Raises
    ------
    InvalidParameterError
        For a malformed entry or argument.
    UnsupportedCompositionError
        When the method cannot compose an entry (e.g. ZCDP in ``"pld"`` or
        ``"basic"``, an (ε, δ) cost in ``"rdp"``, a subsampled Gaussian in
        ``"zcdp"``/``"rdp"``).
    OptionalDependencyError
        For ``"pld"`` without ``dp-accounting``.

    Notes
    -----
    Privacy. Every method's composition holds for releases fixed in
    advance (adaptively *computed*, non-adaptively *chosen*). The zCDP, RDP
    and basic sums are also valid for fully adaptive choices as privacy
    filters (the :class:`~loopkit_privacy.accounting.Accountant`), PLD in
    general is not; :meth:`Accountant.batch
    <loopkit_privacy.accounting.Accountant.batch>` uses PLD for a batch
    declared as a whole.

    Examples
    --------
    >>> g = [NoiseEvent("gaussian", 20.0)] * 100
    >>> pld = compose(g, method="pld").epsilon(1e-6)
    >>> exact = gaussian_epsilon(20.0 / 100**0.5, 1e-6)  # k Gaussians are one
    >>> exact <= pld <= exact * 1.002
    True
    >>> compose(g, method="rdp").epsilon(1e-6) > pld
    True
    """
    if not isinstance(method, str) or method not in METHODS:
        raise InvalidParameterError(
            f"`method` must be one of 'pld', 'rdp', 'zcdp', 'basic', got {method!r}",
            parameter="method",
            value=method,
        )
    if isinstance(events, str | bytes) or not isinstance(events, Iterable):
        raise InvalidParameterError(
            f"`events` must be an iterable of releases, got {events!r}",
            parameter="events",
            value=None,
        )
    interval = check_positive(
        value_discretization_interval, "value_discretization_interval"
    )
    items = [_normalise(item, i) for i, item in enumerate(events)]
    if method == "basic":
        return _basic_profile(items)
    if method == "zcdp":
        return _zcdp_profile(items)
    if method == "rdp":
        return _rdp_profile(items, orders)
    return _pld_profile(items, interval)
