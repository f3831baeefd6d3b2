"""Noise calibration and exact tail probabilities (pure numerics, no sampling).

* Analytic Gaussian mechanism (Balle & Wang 2018, Theorem 8): the smallest σ
  for which continuous Gaussian noise gives (ε, δ)-DP.
* The discrete Gaussian's exact privacy curve for one integer-valued query
  (Canonne, Kamath & Steinke 2020, Theorem 7), evaluated with rigorous bounds
  on the discrete Gaussian's tails so that the δ we report is never smaller
  than the true one.
* zCDP to (ε, δ) conversion (Canonne, Kamath & Steinke 2020, Corollary 13).
* Tail probabilities of the discrete Laplace and discrete Gaussian, used for
  confidence intervals.

Every function here errs on the safe side: σ and half-widths are rounded up,
δ is an upper bound.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, special

from loopkit_privacy.errors import InvalidParameterError

_SQRT_2PI = math.sqrt(2.0 * math.pi)
# Below this σ, discrete Gaussian tails are summed term by term.
_EXACT_SUM_SIGMA = 4096.0


# Gauss-Legendre rule for the short integrals in _bw_log_delta.
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
_SQRT_HALF_PI = math.sqrt(math.pi / 2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: Relative safety margin added to the analytic Gaussian σ (far above the
#: relative error of the root, about 1e-13; see analytic_gaussian_sigma).
_SIGMA_MARGIN = 1e-10
#: Smallest ε the analytic calibration accepts (below it 2ε/(x + y) is subnormal).
MIN_CALIBRATION_EPSILON = 2.0**-1000


def _mills(t: Any) -> Any:
    """Mills ratio m(t) = Φ(-t)/φ(t), accurate for all t >= 0 (via erfcx)."""
    return _SQRT_HALF_PI * special.erfcx(
        np.asarray(t, dtype=np.float64) / math.sqrt(2.0)
    )


def _bw_y(x: float, epsilon: float) -> float:
    # y = sqrt(x² + 2ε) without overflowing 2ε.
    return math.hypot(x, math.sqrt(2.0) * math.sqrt(epsilon))


def _bw_log_delta(x: float, epsilon: float) -> float:
    """Log δ of the continuous Gaussian mechanism at the curve parameter x.

    Balle & Wang (2018, Thm 8) with a = Δ/(2σ), b = εσ/Δ:
    δ = Φ(a - b) - e^ε Φ(-a - b). In the variables x = b - a and
    y = a + b = sqrt(x² + 2ε) (since 4ab = 2ε), with the Mills ratio m,
    e^ε Φ(-y) = φ(x) m(y), so

    * x >= 0: δ = φ(x) (m(x) - m(y)) and m(x) - m(y) = ∫_x^y (1 - t m(t)) dt
      (m' = t m - 1); a short interval is integrated by Gauss-Legendre, so
      no two close numbers are subtracted;
    * x < 0: δ = (Φ(y) - Φ(x)) - (e^ε - 1) Φ(-y) with Φ(y) - Φ(x) a sum of
      two erf of positive arguments (ε <= 1), or Φ(-x) - φ(x) m(y) (ε > 1,
      where δ > 0.12).

    Every branch has a relative error of a few 1e-14 at most.
    """
    y = _bw_y(x, epsilon)
    if x >= 0.0:
        h = epsilon / (0.5 * (x + y))  # y - x, without cancellation
        if h <= 0.5 * max(1.0, x):
            t = x + 0.5 * h * (1.0 + _GL_NODES)
            d = 0.5 * h * float(np.dot(_GL_WEIGHTS, 1.0 - t * _mills(t)))
        else:
            d = float(_mills(x) - _mills(y))
        if d <= 0.0:
            return -math.inf
        return -0.5 * x * x - _LOG_SQRT_2PI + math.log(d)
    if epsilon <= 1.0:
        r2 = math.sqrt(2.0)
        delta = 0.5 * (math.erf(y / r2) + math.erf(-x / r2)) - math.expm1(
            epsilon
        ) * float(special.ndtr(-y))
    else:
        delta = float(special.ndtr(-x)) - math.exp(
            -0.5 * x * x - _LOG_SQRT_2PI
        ) * float(_mills(y))
    return math.log(delta) if delta > 0.0 else -math.inf


def _bw_log_complement(x: float, epsilon: float) -> float:
    """log(1 - δ) at the curve parameter x (accurate where δ is close to 1).

    For x < 0: 1 - δ = Φ(x) + φ(x) m(y) = φ(x) (m(-x) + m(y)).
    """
    if x >= 0.0:
        return math.log1p(-math.exp(_bw_log_delta(x, epsilon)))
    y = _bw_y(x, epsilon)
    return -0.5 * x * x - _LOG_SQRT_2PI + math.log(float(_mills(-x) + _mills(y)))


def _bw_sigma_ratio(x: float, epsilon: float) -> float:
    """σ/Δ for the curve parameter x: the positive root of 2εs² - 2xs - 1 = 0."""
    y = _bw_y(x, epsilon)
    if x >= 0.0:
        return 0.5 * (x + y) / epsilon
    return 1.0 / (y - x)  # y - x = y + |x|: no cancellation


def gauss_delta(sigma: float, sensitivity: float, epsilon: float) -> float:
    """δ(ε) of the continuous Gaussian mechanism (Balle & Wang 2018, Thm 8)."""
    s = sigma / sensitivity
    x = epsilon * s - 0.5 / s
    return math.exp(_bw_log_delta(x, epsilon))


def gaussian_log_delta(noise_multiplier: float, epsilon: float) -> float:
    """Log δ(ε) of continuous Gaussian noise with σ = ``noise_multiplier`` · Δ.

    The exact privacy curve of Balle & Wang (2018, Thm 8), evaluated as in
    :func:`analytic_gaussian_sigma` (relative error a few 1e-14; callers
    that need an upper bound add their margin). Used by
    ``loopkit_privacy.accounting`` for the exact ε(σ, δ) and δ(ε).

    Examples
    --------
    >>> s = analytic_gaussian_sigma(1.0, 1.0, 1e-5)
    >>> abs(math.exp(gaussian_log_delta(s, 1.0)) / 1e-5 - 1) < 1e-8
    True
    """
    s = noise_multiplier
    return _bw_log_delta(epsilon * s - 0.5 / s, epsilon)


def analytic_gaussian_sigma(sensitivity: float, epsilon: float, delta: float) -> float:
    """Smallest σ with continuous Gaussian noise (ε, δ)-DP (Balle & Wang 2018), rounded up.

    δ depends on σ only through s = σ/Δ; it is solved for the curve
    parameter x = εs - 1/(2s) (see :func:`_bw_log_delta`), which is
    monotone in s and keeps every evaluation well conditioned, from
    ε = 2**-1000 to the largest float and for any δ in (0, 1) (δ above 1/2
    through log(1 - δ)). The root x* is found to a relative 1e-15; with the
    evaluation error of about 1e-13 in log δ, s(x*) is within about 1e-13 of
    the exact ratio (d ln s/dx = 1/y and |d ln δ/dx| >= 1/y on the small-δ
    side). The result is then raised by a relative 1e-10 and rounded up,
    so it is never below the exact σ and at most about 1e-10 above it.

    Raises
    ------
    InvalidParameterError
        When ε < 2**-1000 (``epsilon``) or σ is not a finite normal float
        (``sensitivity``: σ overflows or underflows).

    Examples
    --------
    >>> round(analytic_gaussian_sigma(1.0, 1.0, 1e-5), 4)
    3.7306
    """
    if epsilon < MIN_CALIBRATION_EPSILON:
        raise InvalidParameterError(
            f"`epsilon` must be at least 2**-1000 for Gaussian calibration, got "
            f"{epsilon!r}",
            parameter="epsilon",
            value=epsilon,
        )
    if delta <= 0.5:
        log_t = math.log(delta)

        def h(x: float) -> float:
            return _bw_log_delta(x, epsilon) - log_t
    else:
        log_c = math.log1p(-delta)

        def h(x: float) -> float:
            return log_c - _bw_log_complement(x, epsilon)

    # δ(-40) rounds to 1 and δ(40) < 1e-340: the root lies between.
    lo, hi = -40.0, 40.0
    x = float(optimize.brentq(h, lo, hi, xtol=1e-300, rtol=8.9e-16, maxiter=500))
    # On the safe side of the root: δ(x) <= δ as evaluated.
    for _ in range(64):
        if h(x) <= 0.0:
            break
        x = math.nextafter(x, math.inf) if x != 0.0 else 5e-324
    s = _bw_sigma_ratio(x, epsilon) * (1.0 + _SIGMA_MARGIN)
    sigma = math.nextafter(sensitivity * s, math.inf)
    if not (math.isfinite(sigma) and sigma >= 2.0**-1022):
        raise InvalidParameterError(
            f"the analytic Gaussian σ for `sensitivity`={sensitivity!r}, "
            f"epsilon={epsilon!r}, delta={delta!r} is σ/sensitivity = {s:.6g}, "
            "which does not fit a float; rescale the query (a smaller or larger "
            "sensitivity) or pass a larger epsilon or delta",
            parameter="sensitivity",
            value=sensitivity,
        )
    return sigma


def zcdp_log_delta(rho: float, epsilon: float) -> float:
    """Log δ for ρ-zCDP ⇒ (ε, δ)-DP (CKS 2020, Corollary 13; tight form).

    δ = inf_{α>1} exp((α-1)(αρ-ε)) / (α-1) · (1 - 1/α)^α.
    """
    if epsilon <= rho:
        return 0.0
    if rho <= 0.0:
        return -math.inf  # 0-zCDP: perfect privacy

    def log_delta(alpha: float) -> float:
        return (
            (alpha - 1.0) * (alpha * rho - epsilon)
            - math.log(alpha - 1.0)
            + alpha * math.log1p(-1.0 / alpha)
        )

    # Convex in α; the leading term is minimised at α* = (ε + ρ) / (2ρ).
    a_star = (epsilon + rho) / (2.0 * rho)
    if not a_star < 1e300:
        # ε/ρ beyond 1e300: at α = 1e300 the bound is below exp(-1e299).
        return -math.inf
    at_star = log_delta(max(a_star, 1.0 + 1e-9))
    if at_star < -800.0:
        # Already below any float δ (log 5e-324 = -744); α* is a valid choice.
        return at_star
    with np.errstate(over="ignore", invalid="ignore"):
        res = optimize.minimize_scalar(
            log_delta,
            bounds=(1.0 + 1e-9, max(2.0, 4.0 * a_star)),
            method="bounded",
            options={"xatol": 1e-12},
        )
    # Any α gives a valid bound, so the minimiser's value is safe as it is.
    fun = float(res.fun)
    return min(0.0, fun if math.isfinite(fun) else 0.0, at_star)


def zcdp_rho_for(epsilon: float, delta: float) -> float:
    """Largest ρ (rounded down) whose zCDP guarantee converts to (ε, δ) (CKS 2020, Cor 13).

    The bracket starts at the simple conversion ρ + 2√(ρ log(1/δ)) = ε,
    ρ₀ = ε² / (√(L + ε) + √L)², L = log(1/δ), which is valid and below the
    tight one; the root is then taken with a margin of 1e-9·(1 + L) in
    log δ, far above the rounding error of the evaluation (about 1e-15·L),
    so the returned ρ satisfies the bound. Returns 0.0 when ρ₀ underflows.

    Examples
    --------
    >>> 0.0 < zcdp_rho_for(1.0, 1e-5) < 1.0
    True
    """
    big_l = -math.log(delta)
    r = epsilon / (math.sqrt(big_l + epsilon) + math.sqrt(big_l))
    rho_ok = r * r * (1.0 - 1e-12)
    if not rho_ok > 0.0:
        return 0.0
    target = math.log(delta) - 1e-9 * (1.0 + big_l)

    def f(log_rho: float) -> float:
        return zcdp_log_delta(math.exp(log_rho), epsilon) - target

    lo, hi = math.log(rho_ok), math.log(epsilon)
    for _ in range(8):
        if f(lo) <= 0.0:
            break
        lo -= 1.0
    else:
        return rho_ok
    if f(hi) <= 0.0:  # cannot happen (ρ = ε gives δ = 1); be safe
        return rho_ok
    rho = math.exp(optimize.brentq(f, lo, hi, xtol=1e-13))
    for _ in range(100):
        if f(math.log(rho)) <= 0.0:
            return max(rho, rho_ok)
        rho *= 1.0 - 1e-12
    return rho_ok


def zcdp_sigma(sensitivity: float, rho: float) -> float:
    """σ = Δ/√(2ρ) rounded up exactly: 2ρσ² >= Δ² holds for the float returned.

    ``inf`` when it overflows, 0.0 when it underflows (the callers raise σ
    to a positive minimum, which is then more than enough).

    Examples
    --------
    >>> zcdp_sigma(1.0, 0.5)
    1.0
    """
    from fractions import Fraction

    sigma = sensitivity / (math.sqrt(2.0) * math.sqrt(rho))  # 2ρ may overflow
    if not math.isfinite(sigma):
        return math.inf
    if sigma == 0.0:  # underflow: any σ > 0 that callers use is larger
        return 0.0
    need = Fraction(sensitivity) ** 2
    for _ in range(8):
        if 2 * Fraction(rho) * Fraction(sigma) ** 2 >= need:
            return sigma
        sigma = math.nextafter(sigma, math.inf)
    raise AssertionError("zcdp_sigma: rounding did not converge")


# ---------------------------------------------------------------------------
# Discrete Gaussian tails
# ---------------------------------------------------------------------------


def _dg_normaliser_bounds(sigma: float) -> tuple[float, float]:
    """Bounds on N = Σ_z exp(-z²/(2σ²)) over all integers z."""
    if sigma < _EXACT_SUM_SIGMA:
        z_max = math.ceil(40.0 * sigma) + 40
        z = np.arange(-z_max, z_max + 1, dtype=np.float64)
        total = float(np.sum(np.exp(-(z * z) / (2.0 * sigma * sigma))))
        # Beyond |z| > z_max each side adds at most ∫ exp(-u²/2σ²) ≤ σ√(2π)Φc(z_max/σ) + f(z_max).
        rest = 2.0 * (
            sigma * _SQRT_2PI * special.ndtr(-z_max / sigma)
            + math.exp(-(z_max**2) / (2 * sigma**2))
        )
        return total * (1 - 1e-15), total * (1 + 1e-15) + rest
    # Poisson summation: N = σ√(2π) Σ_k exp(-2π²σ²k²) >= σ√(2π), and the
    # k ≠ 0 terms are below exp(-2π²·4096²), far under one ulp.
    base = sigma * _SQRT_2PI
    return base * (1 - 1e-15), base * (1 + 1e-15)


def _dg_upper_sum_bounds(y0: int, sigma: float) -> tuple[float, float]:
    """Bounds on S(y0) = Σ_{y >= y0} exp(-y²/(2σ²)) for y0 >= 0."""
    f0 = math.exp(-(y0 * y0) / (2.0 * sigma * sigma))
    integral = sigma * _SQRT_2PI * special.ndtr(-y0 / sigma)
    if sigma < _EXACT_SUM_SIGMA:
        y_end = y0 + math.ceil(40.0 * sigma) + 40
        y = np.arange(y0, y_end + 1, dtype=np.float64)
        part = float(np.sum(np.exp(-(y * y) / (2.0 * sigma * sigma))))
        rest = sigma * _SQRT_2PI * special.ndtr(-y_end / sigma)
        return part * (1 - 1e-15), (part + rest) * (1 + 1e-15)
    # f is decreasing on [y0, ∞): ∫_{y0}^∞ f <= S(y0) <= f(y0) + ∫_{y0}^∞ f.
    return integral * (1 - 1e-15), (integral + f0) * (1 + 1e-15)


def dg_tail_bounds(a: float, sigma: float) -> tuple[float, float]:
    """Lower and upper bounds on P[Y > a] for Y discrete Gaussian with parameter σ.

    Any ``a`` (±inf included): beyond ±(64σ + 64) the tail is below
    exp(-2048), so ``a`` is clamped there (the clamped bound stays on its
    side: an upper bound at a smaller ``a`` is still an upper bound).

    Examples
    --------
    >>> lo, hi = dg_tail_bounds(0.0, 1.0)
    >>> bool(lo <= hi) and abs(hi - (1 - 1 / 2.50662828804) / 2) < 1e-9
    True
    >>> dg_tail_bounds(float("inf"), 1.0)[0], dg_tail_bounds(-1e300, 1.0)[1]
    (0.0, 1.0)
    """
    cap = 64.0 * sigma + 64.0
    if a > cap:
        return 0.0, dg_tail_bounds(cap, sigma)[1]
    if a < -cap:
        return dg_tail_bounds(-cap, sigma)[0], 1.0
    n_lo, n_hi = _dg_normaliser_bounds(sigma)
    y0 = math.floor(a) + 1  # smallest integer > a
    if y0 >= 0:
        s_lo, s_hi = _dg_upper_sum_bounds(y0, sigma)
        return max(0.0, float(s_lo / n_hi)), min(1.0, float(s_hi / n_lo))
    # P[Y > a] = 1 - P[Y <= y0 - 1] = 1 - P[Y >= 1 - y0] by symmetry.
    s_lo, s_hi = _dg_upper_sum_bounds(1 - y0, sigma)
    return max(0.0, float(1.0 - s_hi / n_lo)), min(1.0, float(1.0 - s_lo / n_hi))


def discrete_gaussian_delta(sigma: float, sensitivity: int, epsilon: float) -> float:
    """Upper bound on δ(ε) of x + N_ℤ(0, σ²) for an integer query of sensitivity Δ.

    CKS 2020, Theorem 7: δ = P[Y > εσ²/Δ - Δ/2] - e^ε P[Y > εσ²/Δ + Δ/2].
    The first tail is bounded above, the second below; e^ε times it is
    formed in logs, so no ε overflows (ε = 800 or 1e300 is fine).

    Examples
    --------
    >>> discrete_gaussian_delta(4.0, 1, 1.0) < 1e-5
    True
    >>> discrete_gaussian_delta(1.0, 1, 1e300)
    0.0
    """
    m = epsilon * sigma * sigma / sensitivity
    first_hi = dg_tail_bounds(m - sensitivity / 2.0, sigma)[1]
    second_lo = dg_tail_bounds(m + sensitivity / 2.0, sigma)[0]
    if second_lo <= 0.0:
        return first_hi
    log_second = epsilon + math.log(second_lo)
    if log_second >= 1.0:  # e^ε P2 > 1 >= P1 bound: δ <= 0
        return 0.0
    return max(0.0, first_hi - math.exp(log_second))


def discrete_gaussian_sigma(
    sensitivity: int,
    epsilon: float,
    delta: float,
    sigma_max: float = 2.0**25,
    sigma_min: float = 2.0**-21,
) -> float:
    """Smallest σ in [``sigma_min``, ``sigma_max``] (to relative 1e-9) with x + N_ℤ(0, σ²) (ε, δ)-DP.

    The discrete analogue of the analytic Gaussian mechanism: bisection on the
    exact privacy curve of :func:`discrete_gaussian_delta`, started from
    Balle & Wang's continuous σ. Returns ``inf`` when even ``sigma_max`` is
    not enough and ``sigma_min`` when it already suffices (one evaluation of
    the curve decides each), so the time is bounded for any ε and δ: at
    most about 100 evaluations, all at σ >= ``sigma_min`` (no underflow).

    Examples
    --------
    >>> s = discrete_gaussian_sigma(1, 1.0, 1e-5)
    >>> discrete_gaussian_delta(s, 1, 1.0) <= 1e-5
    True
    >>> discrete_gaussian_sigma(1, 1e-13, 1e-300)
    inf
    """
    if discrete_gaussian_delta(sigma_max, sensitivity, epsilon) > delta:
        return math.inf
    if discrete_gaussian_delta(sigma_min, sensitivity, epsilon) <= delta:
        return sigma_min
    try:
        s0 = min(analytic_gaussian_sigma(float(sensitivity), epsilon, delta), sigma_max)
    except (InvalidParameterError, ArithmeticError, ValueError):
        s0 = sigma_max
    s0 = max(s0, sigma_min)
    lo, hi = s0 * 0.5, min(s0 * 1.05, sigma_max)
    for _ in range(2100):
        if (
            hi >= sigma_max
            or discrete_gaussian_delta(hi, sensitivity, epsilon) <= delta
        ):
            break
        lo, hi = hi, min(hi * 1.5, sigma_max)
    lo = max(lo, sigma_min)
    for _ in range(64):
        if lo <= sigma_min or discrete_gaussian_delta(lo, sensitivity, epsilon) > delta:
            break
        lo = max(lo * 0.5, sigma_min)
    for _ in range(200):
        if hi - lo <= 1e-9 * hi:
            break
        mid = 0.5 * (lo + hi)
        if discrete_gaussian_delta(mid, sensitivity, epsilon) > delta:
            lo = mid
        else:
            hi = mid
    return hi


def dg_half_width(sigma: float, confidence: float) -> int:
    """Smallest integer m with P[|Y| <= m] >= confidence for Y ~ N_ℤ(0, σ²) (bounds-safe).

    Examples
    --------
    >>> dg_half_width(10.0, 0.95)
    20
    """
    alpha = 1.0 - confidence

    def tail_hi(m: int) -> float:  # upper bound on P[|Y| > m]
        return 2.0 * dg_tail_bounds(float(m), sigma)[1]

    guess = max(0, math.ceil(sigma * special.ndtri(1.0 - alpha / 2.0)) - 2)
    m = guess
    while tail_hi(m) > alpha:
        m += max(1, m // 1000)
    while m > 0 and tail_hi(m - 1) <= alpha:
        m -= 1
    return m


def dlap_half_width(t: int, m: int, confidence: float) -> int:
    """Smallest k with P[|Y| <= k] >= confidence for Y discrete Laplace of scale t/2**m.

    P[|Y| > k] = 2 q^(k+1) / (1 + q) with q = exp(-2**m / t).

    Examples
    --------
    >>> dlap_half_width(10, 0, 0.95)
    30
    """
    alpha = 1.0 - confidence
    log_q = -math.ldexp(1.0, m) / t
    q = math.exp(log_q)

    def tail(k: int) -> float:
        return 2.0 * math.exp((k + 1) * log_q) / (1.0 + q)

    k = max(0, math.ceil(math.log(alpha * (1.0 + q) / 2.0) / log_q) - 1)
    # Guard against rounding in the closed form: check and adjust, erring wide.
    while tail(k) > alpha * (1.0 - 1e-12):
        k += 1
    while k > 0 and tail(k - 1) <= alpha * (1.0 - 1e-12):
        k -= 1
    return k
