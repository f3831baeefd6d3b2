"""Composition theorems and conversions between privacy measures.

Every function here returns a guarantee that is **never less private than the
exact mathematical value**: floating-point results are rounded up by an
explicit error bound (a few units in the last place of the largest term that
entered the computation), and minimisations over Rényi orders only ever report
the value at an order they actually evaluated.

* :func:`basic_composition` -- sequential composition (sums of ε and δ).
* :func:`zcdp_to_approx_dp` -- ρ-zCDP to (ε, δ)-DP, with the tight conversion of
  Canonne, Kamath & Steinke (2020) or the simpler bound of Bun & Steinke (2016).
* :func:`zcdp_rho_for` -- the largest ρ whose conversion fits an (ε, δ) budget.
* :func:`gaussian_rdp`, :func:`laplace_rdp` -- Rényi DP curves of the two noise
  mechanisms; :func:`rdp_to_approx_dp` -- RDP to (ε, δ)-DP with the improved
  conversion of Balle et al. (2020) / Canonne et al. (2020).
* :func:`advanced_composition`, :func:`advanced_composition_per_step` -- the
  advanced composition theorem of Dwork, Rothblum & Vadhan (2010) for k-fold
  homogeneous composition planned in advance (it is **not** a valid privacy
  filter; see ``docs/accounting.md``).

Examples
--------
>>> from loopkit_privacy.accounting import zcdp_to_approx_dp
>>> zcdp_to_approx_dp(0.5, 1e-6)
ApproxDP(epsilon=5.221534444..., delta=1e-06)

References
----------
.. [1] Bun, M. & Steinke, T. (2016). Concentrated differential privacy:
   simplifications, extensions, and lower bounds. TCC 2016.
.. [2] Canonne, C., Kamath, G. & Steinke, T. (2020). The discrete Gaussian for
   differential privacy. NeurIPS 2020, Proposition 12 / Corollary 13.
.. [3] Balle, B., Barthe, G., Gaboardi, M., Hsu, J. & Sato, T. (2020).
   Hypothesis testing interpretations and Rényi differential privacy.
   AISTATS 2020, Theorem 21.
.. [4] Mironov, I. (2017). Rényi differential privacy. CSF 2017, Proposition 6
   (Laplace) and Proposition 7 (Gaussian).
.. [5] Dwork, C., Rothblum, G. & Vadhan, S. (2010). Boosting and differential
   privacy. FOCS 2010, Theorem III.3.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy.optimize import minimize_scalar

from loopkit_privacy._validate import check_delta, check_positive, check_positive_int
from loopkit_privacy.accounting import _exact
from loopkit_privacy.errors import InvalidParameterError, UnsupportedCompositionError
from loopkit_privacy.loss import ZCDP, ApproxDP, PrivacyLoss, PureDP

__all__ = [
    "DEFAULT_ORDERS",
    "advanced_composition",
    "advanced_composition_per_step",
    "basic_composition",
    "gaussian_rdp",
    "laplace_rdp",
    "pure_dp_rdp",
    "rdp_to_approx_dp",
    "zcdp_rho_for",
    "zcdp_to_approx_dp",
]

#: The default grid of Rényi orders: the same grid as Google's ``dp_accounting``
#: (``RdpAccountant``), so that results can be compared order by order.
DEFAULT_ORDERS: tuple[float, ...] = tuple(
    [1 + x / 10.0 for x in range(1, 100)]
    + [float(a) for a in range(11, 64)]
    + [128.0, 256.0, 512.0, 1024.0]
)

# Relative error allowance per elementary operation. 16 ulps of the largest
# term is far more than the handful of correctly rounded operations below can
# lose, and far less than anything a test or a user could notice.
_ULP_MARGIN = 16 * 2.0**-52


def _round_up(value: float, magnitude: float) -> float:
    """Return ``value`` pushed up by the rounding-error bound of its terms."""
    bumped = value + _ULP_MARGIN * abs(magnitude)
    return math.nextafter(bumped, math.inf)


def _float_up(value: Fraction) -> float:
    """The smallest float >= ``value``."""
    f = float(value)
    return math.nextafter(f, math.inf) if Fraction(f) < value else f


def _largest_within(
    f: Callable[[float], float], bound: float, lo: float, hi: float
) -> float:
    """Largest x in [lo, hi) found with ``f(x) <= bound``, by bisection.

    ``f`` must be increasing, with ``f(lo) <= bound < f(hi)`` (or ``lo`` is
    returned). The answer is always a point at which ``f`` was (or, for
    ``lo``, is assumed to be) within the bound; 200 halvings reach adjacent
    floats for any bracket.
    """
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if f(mid) <= bound:
            lo = mid
        else:
            hi = mid
    return lo


def basic_composition(*costs: PrivacyLoss) -> PrivacyLoss:
    """Compose privacy losses sequentially (sums of ε and δ, or of ρ).

    Parameters
    ----------
    *costs : PureDP or ApproxDP or ZCDP
        At least one cost; pure and approximate DP may be mixed, zCDP only
        with zCDP.

    Returns
    -------
    PureDP or ApproxDP or ZCDP
        The exact sum, rounded **up** to a float. Floats are read as the
        decimals they print as, exactly as an
        :class:`~loopkit_privacy.accounting.Accountant` reads them, so the
        result equals the ``spent`` of an accountant charged the same costs.

    Raises
    ------
    InvalidParameterError
        When no cost is given, an argument is not a privacy loss, or the sum
        is not a valid loss (δ reaching 1, ε or ρ beyond the largest float);
        ``parameter`` is ``"costs"``.
    UnsupportedCompositionError
        When zCDP is mixed with (ε, δ)-DP.

    Notes
    -----
    Privacy. Sequential composition holds for adaptively chosen mechanisms,
    for pure/approximate DP and for zCDP alike (Dwork & Roth 2014, Thm. 3.16;
    Bun & Steinke 2016, Lemma 2.3). The sum is exact
    (:class:`fractions.Fraction`): the float sum of ten ``0.1`` is
    ``0.9999999999999999``, which would understate the total.

    Examples
    --------
    >>> basic_composition(PureDP(0.5), ApproxDP(0.25, 1e-6))
    ApproxDP(epsilon=0.75, delta=1e-06)
    >>> basic_composition(ZCDP(0.125), ZCDP(0.125))
    ZCDP(rho=0.25)
    >>> basic_composition(*[PureDP(0.1)] * 10)  # exact: not 0.9999999999999999
    PureDP(epsilon=1.0)
    """
    if not costs:
        raise InvalidParameterError(
            "`costs` must hold at least one cost, got none; pass e.g. "
            "basic_composition(PureDP(0.5), PureDP(0.5))",
            parameter="costs",
            value=costs,
        )
    for i, cost in enumerate(costs):
        if not isinstance(cost, PureDP | ApproxDP | ZCDP):
            raise InvalidParameterError(
                f"`costs` must be PureDP, ApproxDP or ZCDP values, got {cost!r} "
                f"at position {i}; build one with loopkit_privacy.loss.loss_from"
                "(epsilon=...)",
                parameter="costs",
                value=None,
            )
    zcdp = [isinstance(c, ZCDP) for c in costs]
    if any(zcdp) and not all(zcdp):
        a = costs[zcdp.index(True)]
        b = costs[zcdp.index(False)]
        raise UnsupportedCompositionError(
            f"cannot add {a!r} and {b!r} directly; use an accountant "
            "(e.g. accounting='zcdp') that converts between privacy measures"
        )
    try:
        if all(zcdp):
            rho = sum(
                (_exact.dec(c.rho) for c in costs if isinstance(c, ZCDP)), Fraction(0)
            )
            return ZCDP(_exact.float_up(rho))
        dp = [c for c in costs if isinstance(c, PureDP | ApproxDP)]
        eps = sum((_exact.dec(c.epsilon) for c in dp), Fraction(0))
        delta = sum((_exact.dec(c.delta) for c in dp), Fraction(0))
        if all(isinstance(c, PureDP) for c in costs):
            return PureDP(_exact.float_up(eps))
        return ApproxDP(_exact.float_up(eps), _exact.float_up(delta))
    except InvalidParameterError as err:
        raise InvalidParameterError(
            f"`costs` do not compose to a valid privacy loss: {err}",
            parameter="costs",
            value=None,
        ) from err


# --------------------------------------------------------------------- zCDP


def _cks_epsilon(alpha: float, rho: float, log_inv_delta: float) -> tuple[float, float]:
    """ε at order ``alpha`` of the CKS conversion, and the magnitude of its terms."""
    am1 = alpha - 1.0
    t1 = alpha * rho
    t2 = math.log1p(-1.0 / alpha)  # (α-1) log(1-1/α) / (α-1)
    t3 = (log_inv_delta - math.log(alpha)) / am1
    return t1 + t2 + t3, abs(t1) + abs(t2) + abs(t3) + abs(log_inv_delta / am1)


def zcdp_to_approx_dp(
    rho: float,
    delta: float,
    *,
    method: Literal["cks", "bun_steinke"] = "cks",
) -> ApproxDP:
    r"""Convert a ρ-zCDP guarantee into (ε, δ)-DP.

    Parameters
    ----------
    rho : float
        Finite and > 0.
    delta : float
        In (0, 1).
    method : {"cks", "bun_steinke"}
        ``"cks"`` (default) is the tight conversion of Canonne, Kamath &
        Steinke (2020); ``"bun_steinke"`` is the simpler closed form
        :math:`\varepsilon = \rho + 2\sqrt{\rho \log(1/\delta)}`, which is
        always at least as large.

    Returns
    -------
    ApproxDP
        ``ApproxDP(epsilon, delta)``. When the bound is ≤ 0 the smallest
        positive float is returned as ε ((0, δ)-DP implies (ε, δ)-DP for
        every ε > 0).

    Raises
    ------
    InvalidParameterError
        For an invalid ``rho``, ``delta`` or ``method``.

    Notes
    -----
    Privacy. CKS Corollary 13 states, for every order :math:`\alpha > 1`,

    .. math::

        \varepsilon = \alpha\rho + \frac{\log(1/\delta) + (\alpha-1)\log(1-1/\alpha)
        - \log\alpha}{\alpha - 1}.

    Any α gives a valid ε; a bounded Brent search finds a near-optimal one and
    the ε evaluated there is rounded up by its floating-point error bound.
    The result is the minimum of that and the Bun & Steinke bound.

    Examples
    --------
    >>> zcdp_to_approx_dp(0.5, 1e-6).epsilon
    5.221534444...
    >>> zcdp_to_approx_dp(0.5, 1e-6, method="bun_steinke").epsilon
    5.756...
    """
    rho = check_positive(rho, "rho", example="0.5")
    delta = check_delta(delta)
    return ApproxDP(_zcdp_epsilon(rho, delta, _check_method(method)), delta)


@lru_cache(maxsize=4096)
def _zcdp_epsilon(rho: float, delta: float, method: str) -> float:
    log_inv_delta = -math.log(delta)
    bs = rho + 2.0 * math.sqrt(rho * log_inv_delta)
    bs = _round_up(bs, bs)
    if method == "bun_steinke":
        return max(bs, math.ulp(0.0))
    if method != "cks":
        raise InvalidParameterError(
            f"`method` must be 'cks' or 'bun_steinke', got {method!r}",
            parameter="method",
            value=method,
        )

    # Search over t = log(α - 1); the optimum is near α = 1 + sqrt(log(1/δ)/ρ).
    def objective(t: float) -> float:
        return _cks_epsilon(1.0 + math.exp(t), rho, log_inv_delta)[0]

    t0 = 0.5 * math.log(max(log_inv_delta, 1e-300) / rho)
    lo, hi = max(t0 - 12.0, -40.0), min(t0 + 12.0, 40.0)
    res = minimize_scalar(
        objective,
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-12, "maxiter": 500},
    )
    best = math.inf
    for t in (float(res.x), t0):
        alpha = 1.0 + math.exp(t)
        value, mag = _cks_epsilon(alpha, rho, log_inv_delta)
        if math.isfinite(value):
            best = min(best, _round_up(value, mag))
    return max(min(best, bs), math.ulp(0.0))


@lru_cache(maxsize=1024)
def rho_for(epsilon: float, delta: float, method: str) -> float:
    # Bisection on the (monotone) conversion; the answer is checked, so
    # ``_zcdp_epsilon(answer) <= epsilon`` holds exactly as computed.
    hi = max(epsilon, 1.0)
    while _zcdp_epsilon(hi, delta, method) <= epsilon:
        hi *= 2.0
    lo = _largest_within(lambda r: _zcdp_epsilon(r, delta, method), epsilon, 0.0, hi)
    # One step down, so that even the decimal reading of the result (which the
    # accountant uses, and which is within half an ulp) stays below ``lo``.
    return math.nextafter(lo, 0.0)


@lru_cache(maxsize=4096)
def rho_limit(epsilon: float, delta: float) -> float:
    r"""A ρ whose CKS conversion at ``delta`` is within ``epsilon``, in one search.

    The accountant's zCDP filter with δ parts already spent needs the largest
    ρ that fits (ε, δ_rest) for a new δ_rest after each such charge. Instead
    of bisecting :func:`zcdp_to_approx_dp`, this maximises the inverse of CKS
    Corollary 13 directly: ``αρ + g(α) <= ε`` holds exactly when
    ``ρ <= (ε - g(α)) / α``, so every α gives a valid ρ and a bounded Brent
    search over α finds a near-largest one. The Bun & Steinke closed form
    ``(sqrt(log(1/δ) + ε) - sqrt(log(1/δ)))²`` is also valid; the larger of
    the two is returned, rounded **down** by its floating-point error bound
    (0.0 when nothing fits).

    Examples
    --------
    >>> r = rho_limit(1.0, 1e-6)
    >>> zcdp_to_approx_dp(r, 1e-6).epsilon <= 1.0
    True
    >>> abs(r / zcdp_rho_for(1.0, 1e-6).rho - 1) < 1e-6
    True
    """
    log_inv_delta = -math.log(delta)

    def at(alpha: float) -> float:
        # (ε - g(α)) / α rounded down, g as in _cks_epsilon.
        am1 = alpha - 1.0
        t2 = math.log1p(-1.0 / alpha)
        t3 = (log_inv_delta - math.log(alpha)) / am1
        num = epsilon - t2 - t3
        mag = epsilon + abs(t2) + abs(t3) + abs(log_inv_delta / am1)
        num -= _ULP_MARGIN * mag
        return math.nextafter(num / alpha, 0.0) if num > 0 else 0.0

    def objective(t: float) -> float:
        return -at(1.0 + math.exp(t))

    # The optimum is near α = 1 + sqrt(log(1/δ)/ρ) with ρ ~ ε² / (4 log(1/δ)).
    t0 = math.log(max(2.0 * log_inv_delta / epsilon, 1e-300))
    lo, hi = max(t0 - 12.0, -40.0), min(t0 + 12.0, 40.0)
    res = minimize_scalar(
        objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
    )
    best = max(at(1.0 + math.exp(float(res.x))), at(1.0 + math.exp(t0)))
    root = math.sqrt(log_inv_delta + epsilon) - math.sqrt(log_inv_delta)
    bs = root * root
    bs = bs - _ULP_MARGIN * (log_inv_delta + epsilon) - _ULP_MARGIN * bs
    return max(best, bs, 0.0)


def zcdp_rho_for(
    epsilon: float, delta: float, *, method: Literal["cks", "bun_steinke"] = "cks"
) -> ZCDP:
    """Return the largest ρ whose (ε, δ) conversion fits the given budget.

    Parameters
    ----------
    epsilon : float
        Finite and > 0.
    delta : float
        In (0, 1).
    method : {"cks", "bun_steinke"}
        The conversion, as in :func:`zcdp_to_approx_dp`.

    Returns
    -------
    ZCDP
        ``ZCDP(rho)`` with ``zcdp_to_approx_dp(rho, delta).epsilon <= epsilon``
        (checked on the floats this library computes), and ρ within a few
        ulps of the largest such value.

    Raises
    ------
    InvalidParameterError
        For an invalid ``epsilon`` or ``delta``, or when no ρ > 0 fits.

    Notes
    -----
    Privacy. The zCDP accountant with an (ε, δ) budget admits releases while
    the exact sum of ρ stays ≤ this value; by monotonicity of the conversion
    in ρ, the total is then (ε, δ)-DP.

    Examples
    --------
    >>> rho = zcdp_rho_for(1.0, 1e-6).rho
    >>> round(rho, 6)
    0.024356
    >>> zcdp_to_approx_dp(rho, 1e-6).epsilon <= 1.0
    True
    """
    epsilon = check_positive(epsilon, "epsilon")
    delta = check_delta(delta)
    rho = rho_for(epsilon, delta, _check_method(method))
    if rho <= 0:
        raise InvalidParameterError(
            f"no zCDP budget rho > 0 fits epsilon={epsilon!r}, delta={delta!r}",
            parameter="epsilon",
            value=epsilon,
        )
    return ZCDP(rho)


# ---------------------------------------------------------------------- RDP


def _orders_error(orders: object) -> InvalidParameterError:
    return InvalidParameterError(
        f"`orders` must be a non-empty sequence of finite numbers > 1, got "
        f"{orders!r}; pass e.g. orders=[1.5, 2, 4, 8, 16, 32, 64]",
        parameter="orders",
        value=orders,
    )


def check_orders(orders: Iterable[float] | None) -> tuple[float, ...]:
    if orders is None:
        return DEFAULT_ORDERS
    if isinstance(orders, str | bytes) or not isinstance(orders, Iterable):
        raise _orders_error(orders)
    out: list[float] = []
    for a in orders:
        if isinstance(a, bool) or not isinstance(a, numbers.Real):
            raise _orders_error(orders)
        out.append(float(a))
    if not out or not all(math.isfinite(a) and a > 1 for a in out):
        raise _orders_error(orders)
    return tuple(out)


def _check_method(method: object) -> str:
    if not isinstance(method, str) or method not in ("cks", "bun_steinke"):
        raise InvalidParameterError(
            f"`method` must be 'cks' or 'bun_steinke', got {method!r}",
            parameter="method",
            value=method,
        )
    return method


def gaussian_rdp(
    noise_multiplier: float, orders: Sequence[float] | None = None
) -> tuple[float, ...]:
    r"""Rényi DP of the Gaussian mechanism at each order.

    Parameters
    ----------
    noise_multiplier : float
        σ divided by the L2 sensitivity; finite and > 0.
    orders : sequence of float, optional
        Rényi orders α > 1; defaults to :data:`DEFAULT_ORDERS`.

    Returns
    -------
    tuple of float
        :math:`\alpha / (2 m^2)` for each order, rounded up.

    Notes
    -----
    Privacy. Mironov (2017), Proposition 7. The discrete Gaussian has the
    same (or smaller) Rényi divergence (Canonne et al. 2020, Prop. 5).

    Examples
    --------
    >>> gaussian_rdp(2.0, orders=[2.0, 4.0])  # 0.25 and 0.5, rounded up
    (0.25000000000000094, 0.5000000000000019)
    """
    m = check_positive(noise_multiplier, "noise_multiplier")
    out = []
    for a in check_orders(orders):
        value = a / (2.0 * m * m)
        out.append(_round_up(value, value))
    return tuple(out)


def _laplace_rdp_one(b: float, alpha: float) -> float:
    eps = 1.0 / b
    # Mironov (2017), Prop. 6, written as in dp_accounting:
    #   eps + log1p((α-1) expm1((1-2α) eps) / (2α-1)) / (α-1).
    # For small eps the two terms cancel, so the error bound is taken from the
    # magnitude of the terms, and the result is also capped by the pure-DP
    # bounds min(eps, α eps²/2) (Bun & Steinke 2016, Prop. 3.3).
    am1 = alpha - 1.0
    inner = am1 * math.expm1((1.0 - 2.0 * alpha) * eps) / (2.0 * alpha - 1.0)
    second = math.log1p(inner) / am1
    exact = _round_up(eps + second, eps + abs(second))
    quad = alpha * eps * eps / 2.0
    quad = _round_up(quad, quad)
    return min(exact, quad, _round_up(eps, eps))


def laplace_rdp_array(noise_multiplier: float, orders: np.ndarray) -> np.ndarray:
    """:func:`laplace_rdp` at an array of orders (checked), vectorised.

    The same formula and the same error bounds, element by element (NumPy's
    ``expm1``/``log1p`` are as accurate as :mod:`math`'s); used by the RDP
    accountant, which needs all orders of a new Laplace event at once.

    Examples
    --------
    >>> a = np.array([2.0, 32.0])
    >>> laplace_rdp_array(1.0, a).tolist() == list(laplace_rdp(1.0, [2.0, 32.0]))
    True
    """
    eps = 1.0 / noise_multiplier
    a = np.asarray(orders, dtype=np.float64)
    am1 = a - 1.0
    inner = am1 * np.expm1((1.0 - 2.0 * a) * eps) / (2.0 * a - 1.0)
    second = np.log1p(inner) / am1
    mag = eps + np.abs(second)
    exact = np.nextafter(eps + second + _ULP_MARGIN * mag, np.inf)
    quad = a * eps * eps / 2.0
    quad = np.nextafter(quad + _ULP_MARGIN * quad, np.inf)
    lin = math.nextafter(eps + _ULP_MARGIN * eps, math.inf)
    out: np.ndarray = np.minimum(np.minimum(exact, quad), lin)
    return out


def laplace_rdp(
    noise_multiplier: float, orders: Sequence[float] | None = None
) -> tuple[float, ...]:
    r"""Rényi DP of the Laplace mechanism at each order.

    Parameters
    ----------
    noise_multiplier : float
        Laplace scale divided by the L1 sensitivity; finite and > 0. The
        mechanism is then ε-DP with ε = 1 / ``noise_multiplier``.
    orders : sequence of float, optional
        Rényi orders α > 1; defaults to :data:`DEFAULT_ORDERS`.

    Returns
    -------
    tuple of float
        The RDP value at each order, rounded up.

    Notes
    -----
    Privacy. Mironov (2017), Proposition 6 (exact for the Laplace
    mechanism):

    .. math::

        \frac{1}{\alpha-1}\log\left(\frac{\alpha}{2\alpha-1}e^{(\alpha-1)/b}
        + \frac{\alpha-1}{2\alpha-1}e^{-\alpha/b}\right).

    The discrete Laplace mechanism has the same divergences at the same ε.

    Examples
    --------
    >>> [round(v, 6) for v in laplace_rdp(1.0, orders=[2.0, 32.0])]
    [0.619124, 0.978148]
    """
    b = check_positive(noise_multiplier, "noise_multiplier")
    return tuple(_laplace_rdp_one(b, a) for a in check_orders(orders))


def rdp_epsilon(orders: Sequence[float], rdp: Sequence[float], delta: float) -> float:
    log_delta = math.log(delta)
    best = math.inf
    for a, r in zip(orders, rdp, strict=True):
        if not math.isfinite(r):
            continue
        # Balle et al. (2020) Thm 21 / CKS Prop 12:
        #   eps = r + log1p(-1/α) - (log δ + log α) / (α - 1).
        t2 = math.log1p(-1.0 / a)
        t3 = -(log_delta + math.log(a)) / (a - 1.0)
        value = r + t2 + t3
        mag = abs(r) + abs(t2) + abs(t3) + abs(log_delta / (a - 1.0))
        best = min(best, _round_up(value, mag))
    return best


def rdp_to_approx_dp(
    orders: Sequence[float], rdp: Sequence[float], delta: float
) -> ApproxDP:
    r"""Convert a Rényi DP curve into (ε, δ)-DP.

    Parameters
    ----------
    orders : sequence of float
        Rényi orders α > 1.
    rdp : sequence of float
        The RDP guarantee at each order (same length; non-negative).
    delta : float
        In (0, 1).

    Returns
    -------
    ApproxDP
        The smallest ε over the orders (rounded up), at ``delta``. When the
        bound is ≤ 0 the smallest positive float is returned.

    Raises
    ------
    InvalidParameterError
        For bad orders, mismatched lengths, negative or NaN RDP values, or a
        bad ``delta``.

    Notes
    -----
    Privacy. The improved conversion of Balle et al. (2020, Thm. 21) and
    Canonne, Kamath & Steinke (2020, Prop. 12):

    .. math::

        \varepsilon = \min_\alpha\; \mathrm{RDP}(\alpha) + \log(1 - 1/\alpha)
        - \frac{\log\delta + \log\alpha}{\alpha - 1}.

    It is never larger than Mironov's original
    :math:`\mathrm{RDP}(\alpha) + \log(1/\delta)/(\alpha - 1)`.

    Examples
    --------
    >>> orders = [2.0, 4.0, 8.0, 16.0, 32.0]
    >>> rdp_to_approx_dp(orders, gaussian_rdp(1.0, orders), 1e-5).epsilon
    5.0878616288...
    """
    if orders is None:
        raise _orders_error(orders)
    orders_t = check_orders(orders)
    bad_rdp = InvalidParameterError(
        f"`rdp` must be a sequence of one non-negative number per order "
        f"({len(orders_t)}), got {rdp!r}",
        parameter="rdp",
        value=rdp,
    )
    if isinstance(rdp, str | bytes) or not isinstance(rdp, Iterable):
        raise bad_rdp
    rdp_t: list[float] = []
    for r in rdp:
        if isinstance(r, bool) or not isinstance(r, numbers.Real):
            raise bad_rdp
        rdp_t.append(float(r))
    if len(rdp_t) != len(orders_t) or not all(r >= 0 for r in rdp_t):
        raise bad_rdp
    delta = check_delta(delta)
    eps = rdp_epsilon(orders_t, rdp_t, delta)
    if not math.isfinite(eps):
        raise UnsupportedCompositionError(
            "the RDP curve is infinite at every order; no (epsilon, delta) "
            "guarantee follows"
        )
    return ApproxDP(max(eps, math.ulp(0.0)), delta)


# --------------------------------------------------------- advanced composition


def _advanced_epsilon(epsilon: float, k: int, delta_prime: float) -> float:
    t1 = math.sqrt(2.0 * k * -math.log(delta_prime)) * epsilon
    t2 = k * epsilon * math.expm1(epsilon)
    return _round_up(t1 + t2, t1 + t2)


def advanced_composition(
    epsilon: float, delta: float = 0.0, *, k: int, delta_prime: float
) -> ApproxDP:
    r"""The advanced composition theorem for k-fold homogeneous composition.

    Parameters
    ----------
    epsilon : float
        ε of each of the ``k`` mechanisms; finite and > 0.
    delta : float
        δ of each mechanism, in [0, 1).
    k : int
        Number of mechanisms, >= 1.
    delta_prime : float
        The extra δ' of the theorem, in (0, 1).

    Returns
    -------
    ApproxDP
        :math:`(\sqrt{2k\log(1/\delta')}\,\varepsilon + k\varepsilon(e^\varepsilon
        - 1),\; k\delta + \delta')`, ε rounded up.

    Raises
    ------
    InvalidParameterError
        For invalid parameters, or when ``k * delta + delta_prime >= 1``.

    Notes
    -----
    Privacy. Dwork, Rothblum & Vadhan (2010), Theorem III.3; it holds for
    adaptively *chosen* mechanisms whose number ``k`` and parameters are fixed
    in advance. It is **not** valid as a privacy filter (stopping or choosing
    ε based on past outputs) without the modifications of Rogers, Roth, Ullman
    & Vadhan (2016) or Whitehouse et al. (2023); the accountant therefore
    does not use it. The optimal theorem (Kairouz, Oh & Viswanath 2015) can
    be tighter; this one is never less private than it.

    Examples
    --------
    >>> advanced_composition(0.1, k=100, delta_prime=1e-6)
    ApproxDP(epsilon=6.308..., delta=1e-06)
    """
    epsilon = check_positive(epsilon, "epsilon")
    delta = check_delta(delta, allow_zero=True)
    k = check_positive_int(k, "k", example="10")
    delta_prime = check_delta(delta_prime, "delta_prime")
    total_delta = k * delta + delta_prime
    if not total_delta < 1:
        raise InvalidParameterError(
            f"`k * delta + delta_prime` must be < 1, got {total_delta!r}; use a "
            "smaller delta or delta_prime",
            parameter="delta_prime",
            value=delta_prime,
        )
    # k*delta + delta' summed exactly, then rounded up to a float.
    exact = k * Fraction(delta) + Fraction(delta_prime)
    return ApproxDP(_advanced_epsilon(epsilon, k, delta_prime), _float_up(exact))


def advanced_composition_per_step(
    epsilon: float, delta: float, *, k: int, delta_prime: float
) -> ApproxDP:
    """The per-step budget that k-fold advanced composition keeps within a total.

    Parameters
    ----------
    epsilon, delta : float
        The total (ε, δ) budget for all ``k`` steps; ``delta`` must exceed
        ``delta_prime``.
    k : int
        Number of steps, >= 1.
    delta_prime : float
        The δ' of the theorem, in (0, ``delta``].

    Returns
    -------
    ApproxDP
        ``(epsilon_step, (delta - delta_prime) / k)`` with
        ``advanced_composition(epsilon_step, delta_step, k=k,
        delta_prime=delta_prime)`` within the total (checked).

    Raises
    ------
    InvalidParameterError
        For invalid parameters or ``delta_prime > delta``.

    Notes
    -----
    Privacy. Inverse of :func:`advanced_composition` by bisection on its
    (monotone) ε; the answer is rounded down. Valid only for ``k`` planned in
    advance.

    Examples
    --------
    >>> step = advanced_composition_per_step(1.0, 1e-5, k=100, delta_prime=1e-6)
    >>> round(step.epsilon, 6), step.delta
    (0.018..., 9e-08)
    >>> advanced_composition(step.epsilon, step.delta, k=100, delta_prime=1e-6).epsilon <= 1.0
    True
    """
    epsilon = check_positive(epsilon, "epsilon")
    delta = check_delta(delta)
    k = check_positive_int(k, "k", example="10")
    delta_prime = check_delta(delta_prime, "delta_prime")
    if delta_prime > delta:
        raise InvalidParameterError(
            f"`delta_prime` must be <= delta, got delta_prime={delta_prime!r} and "
            f"delta={delta!r}",
            parameter="delta_prime",
            value=delta_prime,
        )
    delta_step = (delta - delta_prime) / k
    # Round the per-step delta down so that k steps plus delta' fit exactly.
    while delta_step > 0 and k * Fraction(delta_step) + Fraction(
        delta_prime
    ) > Fraction(delta):
        delta_step = math.nextafter(delta_step, 0.0)
    lo = _largest_within(
        lambda e: _advanced_epsilon(e, k, delta_prime), epsilon, 0.0, epsilon
    )
    if lo <= 0:
        raise InvalidParameterError(
            f"no per-step epsilon > 0 fits epsilon={epsilon!r} over k={k}",
            parameter="epsilon",
            value=epsilon,
        )
    return ApproxDP(lo, delta_step)


def pure_dp_rdp(epsilon: float, orders: Sequence[float]) -> tuple[float, ...]:
    """RDP bound of an ε-DP mechanism: ``min(ε, α ε² / 2)`` at each order.

    Parameters
    ----------
    epsilon : float
        Finite and > 0.
    orders : sequence of float
        Rényi orders α > 1.

    Returns
    -------
    tuple of float

    Notes
    -----
    Privacy. ε-DP implies (ε²/2)-zCDP (Bun & Steinke 2016, Prop. 3.3) and
    ∞-Rényi divergence ε.

    Examples
    --------
    >>> [round(v, 12) for v in pure_dp_rdp(0.5, [2.0, 16.0])]
    [0.25, 0.5]
    """
    eps = check_positive(epsilon, "epsilon")
    out = []
    for a in check_orders(orders):
        quad = a * eps * eps / 2.0
        out.append(min(_round_up(quad, quad), _round_up(eps, eps)))
    return tuple(out)


# Public names for the other modules of ``accounting`` (the layer rule forbids
# importing a name with a leading underscore from another module).
ULP_MARGIN = _ULP_MARGIN
check_orders = check_orders
rho_for = rho_for
rdp_epsilon = rdp_epsilon
zcdp_epsilon = _zcdp_epsilon
