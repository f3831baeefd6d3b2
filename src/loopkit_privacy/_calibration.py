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

import numpy as np
from scipy import optimize, special

_SQRT_2PI = math.sqrt(2.0 * math.pi)
# Below this σ, discrete Gaussian tails are summed term by term.
_EXACT_SUM_SIGMA = 4096.0


def _gauss_delta(sigma: float, sensitivity: float, epsilon: float) -> float:
    """δ(ε) of the continuous Gaussian mechanism (Balle & Wang 2018, Thm 8)."""
    a = sensitivity / (2.0 * sigma)
    b = epsilon * sigma / sensitivity
    # Φ(a - b) - e^ε Φ(-a - b), the second term in log space to avoid overflow.
    first = float(special.ndtr(a - b))
    second = math.exp(epsilon + float(special.log_ndtr(-a - b)))
    return first - second


def analytic_gaussian_sigma(sensitivity: float, epsilon: float, delta: float) -> float:
    """Smallest σ with continuous Gaussian noise (ε, δ)-DP (Balle & Wang 2018).

    Examples
    --------
    >>> round(analytic_gaussian_sigma(1.0, 1.0, 1e-5), 4)
    3.7306
    """

    def f(log_sigma: float) -> float:
        return _gauss_delta(math.exp(log_sigma), sensitivity, epsilon) - delta

    lo, hi = math.log(sensitivity) - 10.0, math.log(sensitivity) + 10.0
    while f(hi) > 0:
        hi += 10.0
    while f(lo) < 0:
        lo -= 10.0
    root = optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-14)
    sigma = math.exp(root)
    # brentq returns a point within tolerance; step up until δ(σ) <= δ.
    while _gauss_delta(sigma, sensitivity, epsilon) > delta:
        sigma *= 1.0 + 1e-12
    return sigma


def zcdp_log_delta(rho: float, epsilon: float) -> float:
    """Log δ for ρ-zCDP ⇒ (ε, δ)-DP (CKS 2020, Corollary 13); see :func:`zcdp_delta`."""
    if epsilon <= rho:
        return 0.0

    def log_delta(alpha: float) -> float:
        return (
            (alpha - 1.0) * (alpha * rho - epsilon)
            - math.log(alpha - 1.0)
            + alpha * math.log1p(-1.0 / alpha)
        )

    # Convex in α; the leading term is minimised at α* = (ε + ρ) / (2ρ).
    a_star = (epsilon + rho) / (2.0 * rho)
    res = optimize.minimize_scalar(
        log_delta,
        bounds=(1.0 + 1e-9, max(2.0, 4.0 * a_star)),
        method="bounded",
        options={"xatol": 1e-12},
    )
    # Any α gives a valid bound, so the minimiser's value is safe as it is.
    return min(0.0, float(res.fun))


def zcdp_delta(rho: float, epsilon: float) -> float:
    """δ such that ρ-zCDP implies (ε, δ)-DP (CKS 2020, Corollary 13; tight form).

    δ = inf_{α>1} exp((α-1)(αρ-ε)) / (α-1) · (1 - 1/α)^α.

    Examples
    --------
    >>> zcdp_delta(0.5, 3.0) < 1e-2
    True
    """
    return math.exp(zcdp_log_delta(rho, epsilon))


def zcdp_sigma_for(sensitivity: float, epsilon: float, delta: float) -> float:
    """Smallest σ whose zCDP guarantee ρ = Δ²/(2σ²) converts to (ε, δ).

    Examples
    --------
    >>> zcdp_sigma_for(1.0, 1.0, 1e-5) > analytic_gaussian_sigma(1.0, 1.0, 1e-5)
    True
    """

    def f(log_rho: float) -> float:
        return zcdp_log_delta(math.exp(log_rho), epsilon) - math.log(delta)

    lo, hi = math.log(epsilon) - 40.0, math.log(epsilon)
    root = optimize.brentq(f, lo, hi, xtol=1e-13)
    rho = math.exp(root)
    while zcdp_log_delta(rho, epsilon) > math.log(delta):
        rho *= 1.0 - 1e-12
    return sensitivity / math.sqrt(2.0 * rho)


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

    Examples
    --------
    >>> lo, hi = dg_tail_bounds(0.0, 1.0)
    >>> bool(lo <= hi) and abs(hi - (1 - 1 / 2.50662828804) / 2) < 1e-9
    True
    """
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

    Examples
    --------
    >>> discrete_gaussian_delta(4.0, 1, 1.0) < 1e-5
    True
    """
    m = epsilon * sigma * sigma / sensitivity
    first_hi = dg_tail_bounds(m - sensitivity / 2.0, sigma)[1]
    second_lo = dg_tail_bounds(m + sensitivity / 2.0, sigma)[0]
    return max(0.0, first_hi - math.exp(epsilon) * second_lo)


def discrete_gaussian_sigma(sensitivity: int, epsilon: float, delta: float) -> float:
    """Smallest σ (to relative 1e-9) with x + N_ℤ(0, σ²) (ε, δ)-DP, Δ an integer.

    The discrete analogue of the analytic Gaussian mechanism: bisection on the
    exact privacy curve of :func:`discrete_gaussian_delta`, started from
    Balle & Wang's continuous σ.

    Examples
    --------
    >>> s = discrete_gaussian_sigma(1, 1.0, 1e-5)
    >>> discrete_gaussian_delta(s, 1, 1.0) <= 1e-5
    True
    """
    s0 = analytic_gaussian_sigma(float(sensitivity), epsilon, delta)
    lo, hi = s0 * 0.5, s0 * 1.05
    while discrete_gaussian_delta(hi, sensitivity, epsilon) > delta:
        lo, hi = hi, hi * 1.5
    while discrete_gaussian_delta(lo, sensitivity, epsilon) <= delta and lo > 1e-6:
        lo *= 0.5
    for _ in range(200):
        if hi - lo <= 1e-9 * hi:
            break
        mid = 0.5 * (lo + hi)
        if discrete_gaussian_delta(mid, sensitivity, epsilon) > delta:
            lo = mid
        else:
            hi = mid
    return hi


def dg_half_width(sigma: float, level: float) -> int:
    """Smallest integer m with P[|Y| <= m] >= level for Y ~ N_ℤ(0, σ²) (bounds-safe).

    Examples
    --------
    >>> dg_half_width(10.0, 0.95)
    20
    """
    alpha = 1.0 - level

    def tail_hi(m: int) -> float:  # upper bound on P[|Y| > m]
        return 2.0 * dg_tail_bounds(float(m), sigma)[1]

    guess = max(0, math.ceil(sigma * special.ndtri(1.0 - alpha / 2.0)) - 2)
    m = guess
    while tail_hi(m) > alpha:
        m += max(1, m // 1000)
    while m > 0 and tail_hi(m - 1) <= alpha:
        m -= 1
    return m


def dlap_half_width(t: int, m: int, level: float) -> int:
    """Smallest k with P[|Y| <= k] >= level for Y discrete Laplace of scale t/2**m.

    P[|Y| > k] = 2 q^(k+1) / (1 + q) with q = exp(-2**m / t).

    Examples
    --------
    >>> dlap_half_width(10, 0, 0.95)
    30
    """
    alpha = 1.0 - level
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
