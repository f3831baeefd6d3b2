"""Differentially private mechanisms: Laplace, Gaussian, geometric, exponential.

Every mechanism here

* states its privacy cost exactly (``.cost``: :class:`~loopkit_privacy.loss.PureDP`,
  :class:`~loopkit_privacy.loss.ApproxDP` or :class:`~loopkit_privacy.loss.ZCDP`),
* draws **exact** discrete noise from a secure source (see :mod:`loopkit_privacy.noise`),
* shows its accuracy (``.accuracy(confidence)``, the half-width of a
  confidence interval computed from the exact noise distribution), and
* charges an accountant, when given one, before any noise is drawn.

Real-valued mechanisms never add floating-point Laplace/Gaussian noise
(Mironov 2012). The input is rounded to a power-of-two grid ``granularity``
that depends only on the public parameters, and an integer multiple of the
grid is added. The result lies on the grid whatever the input, so the set of
possible outputs does not depend on the data. Rounding can move two
neighbouring inputs apart by up to one grid step per coordinate; this is paid
for by computing the noise for the sensitivity ``Δ + dimension·granularity``
(L1) or ``Δ + √dimension·granularity`` (L2), in grid units.

Examples
--------
>>> import loopkit_privacy as lp
>>> rng = lp.random.InsecureSeededRandom(5)
>>> mech = lp.LaplaceMechanism(sensitivity=1.0, epsilon=0.5)
>>> mech.cost
PureDP(epsilon=0.5)
>>> release = mech.release(42.0, rng=rng)
>>> release.insecure, type(release.value).__name__
(True, 'float')
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from loopkit_privacy import _calibration as cal
from loopkit_privacy import _html, noise
from loopkit_privacy._kernels import selection as _sel
from loopkit_privacy._validate import (
    check_accountant,
    check_delta,
    check_epsilon,
    check_level,
    check_numeric_array,
    check_positive,
    check_positive_int,
)
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.loss import (
    ZCDP,
    ApproxDP,
    NoiseEvent,
    PrivacyLoss,
    PureDP,
    parse_loss,
)
from loopkit_privacy.random import RandomSource, resolve_rng

__all__ = [
    "DiscreteGaussianMechanism",
    "ExponentialMechanism",
    "GaussianMechanism",
    "GeometricMechanism",
    "LaplaceMechanism",
    "Release",
    "Selection",
    "add_noise",
    "analytic_gaussian_sigma",
    "gaussian_sigma",
    "laplace_scale",
    "report_noisy_max",
]

#: Grid resolution of real-valued noise, in bits below the sensitivity per coordinate.
_LAPLACE_GRID_BITS = 20
_GAUSSIAN_GRID_BITS = 12
# Keep the sampler's integer parameters inside their exact ranges.
_MAX_LAPLACE_UNITS = 2.0**39
_MAX_GAUSSIAN_UNITS = 2.0**25
# Inputs are clamped to ±2**1000 (1-Lipschitz, so sensitivity is unchanged)
# so that adding noise can never overflow to infinity.
_CLAMP = 2.0**1000
#: Supported sensitivities (every mechanism). Below 2**-1000 the grids and
#: scaled scores would be subnormal; above 2**900 a grid step times the
#: largest noise sample (< 2**62 steps) could overflow a float.
MIN_SENSITIVITY = 2.0**-1000
MAX_SENSITIVITY = 2.0**900
#: Largest epsilon of the selection mechanisms (exponential mechanism,
#: permute-and-flip, report_noisy_max). Above it e^ε is beyond 10**222 and
#: the selection is an argmax in all but name; a larger value is almost
#: certainly a unit mistake.
MAX_SELECTION_EPSILON = 512.0
# Grids are powers of two 2**j with j >= _MIN_GRID_EXP (normal floats).
_MIN_GRID_EXP = -1022
# Selection grid 2**-G: G <= 62 keeps 1 << G inside int64.
_MAX_SELECTION_GRID_BITS = 62


def _check_sensitivity(value: Any, name: str = "sensitivity") -> float:
    """A sensitivity: finite, > 0 and within [2**-1000, 2**900]."""
    x = check_positive(value, name)
    if not (MIN_SENSITIVITY <= x <= MAX_SENSITIVITY):
        raise InvalidParameterError(
            f"`{name}` must be between 2**-1000 and 2**900 (about 9.3e-302 to "
            f"8.5e270), got {value!r}; rescale the query (e.g. to other units)",
            parameter=name,
            value=value,
        )
    return x


#: Largest ``dimension`` of the additive mechanisms (no array is larger).
MAX_DIMENSION = 2**48


def _check_dimension(value: Any) -> int:
    d = check_positive_int(value, "dimension")
    if d > MAX_DIMENSION:
        raise InvalidParameterError(
            f"`dimension` must be at most 2**48, got {value!r}",
            parameter="dimension",
            value=value,
        )
    return d


def _div_up(num: float, den: float) -> float:
    """``num / den`` rounded towards +inf (exact comparison with fractions)."""
    q = num / den
    if not math.isfinite(q):
        return math.inf
    exact = Fraction(num) / Fraction(den)
    for _ in range(4):
        if Fraction(q) >= exact:
            return q
        q = math.nextafter(q, math.inf)
    raise AssertionError("_div_up did not converge")


def _sqrt_up(n: int) -> float:
    """√n rounded up: the float r returned has r² >= n exactly."""
    r = math.sqrt(n)
    while Fraction(r) ** 2 < n:
        r = math.nextafter(r, math.inf)
    return r


def _add_up(a: float, b: float) -> float:
    """``a + b`` rounded towards +inf."""
    s = a + b
    if Fraction(s) < Fraction(a) + Fraction(b):
        s = math.nextafter(s, math.inf)
    return s


def _finest_grid(j0: int, j_max: int, ok: Any) -> int | None:
    """Smallest grid exponent j in [j0, j_max] with ``ok(j)``, or ``None``.

    ``ok`` is monotone in j in practice (a coarser grid means fewer
    sensitivity units and less noise in grid units); the search needs only
    that ``ok(j_max)`` holds when any j does, and always returns a j for
    which ``ok`` was checked true. Bisection: at most about 12 calls.
    """
    if ok(j0):
        return j0
    if j_max <= j0 or not ok(j_max):
        return None
    lo, hi = j0, j_max  # ok(lo) false, ok(hi) true
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _confidence(
    confidence: float | None, level: float | None, *, default: float | None = 0.95
) -> float | None:
    """The validated confidence, from ``confidence`` or its deprecated alias ``level``.

    ``level=`` was the mechanisms' name for what the aggregations call
    ``confidence=``: it is still accepted (keyword only) with a
    :class:`DeprecationWarning`; both at once are refused. ``None`` for
    both gives ``default`` (``None`` stays ``None``).
    """
    if level is not None:
        if confidence is not None:
            raise InvalidParameterError(
                f"give `confidence` or its deprecated alias `level`, not both; got "
                f"confidence={confidence!r}, level={level!r}; pass only "
                f"confidence={confidence!r}",
                parameter="level",
                value=level,
            )
        warnings.warn(
            "`level=` is deprecated, pass `confidence=` instead (the same "
            "confidence level in (0, 1), as in the aggregations)",
            DeprecationWarning,
            stacklevel=3,
        )
        return check_level(level, "level")
    if confidence is None:
        return default
    return check_level(confidence, "confidence")


def laplace_scale(sensitivity: float, *, epsilon: float) -> float:
    """Scale ``Δ / ε`` of the Laplace mechanism with L1 sensitivity Δ.

    Examples
    --------
    >>> laplace_scale(2.0, epsilon=0.5)
    4.0
    """
    sens = check_positive(sensitivity, "sensitivity")
    eps = check_epsilon(epsilon)
    scale = sens / eps
    if not (math.isfinite(scale) and scale >= 2.0**-1022):
        raise InvalidParameterError(
            f"the Laplace scale sensitivity/`epsilon` = {sens!r}/{eps!r} is not a "
            "finite normal float; pass an epsilon closer to 1 or rescale the query",
            parameter="epsilon",
            value=epsilon,
        )
    return scale


def analytic_gaussian_sigma(
    sensitivity: float, *, epsilon: float, delta: float
) -> float:
    """σ of the analytic Gaussian mechanism (Balle & Wang 2018) for (ε, δ)-DP.

    The smallest σ for which continuous Gaussian noise gives (ε, δ)-DP for a
    query of L2 sensitivity Δ (their Theorem 8, solved numerically and rounded
    up). :class:`GaussianMechanism` uses its discrete analogue.

    One-sided: the result is never below the exact σ and exceeds it by a
    relative 1e-10 or so (a deliberate margin over the solver's error, see
    :func:`loopkit_privacy._calibration.analytic_gaussian_sigma`), for any
    ε >= 2**-1000 and δ in (0, 1).

    Raises
    ------
    InvalidParameterError
        For invalid parameters, ``epsilon`` below 2**-1000, or a σ that
        overflows or underflows a float (named ``sensitivity``).

    Examples
    --------
    >>> round(analytic_gaussian_sigma(1.0, epsilon=1.0, delta=1e-5), 3)
    3.731
    """
    return cal.analytic_gaussian_sigma(
        check_positive(sensitivity, "sensitivity"),
        check_epsilon(epsilon),
        check_delta(delta),
    )


def gaussian_sigma(
    sensitivity: float,
    *,
    epsilon: float | None = None,
    delta: float | None = None,
    rho: float | None = None,
) -> float:
    """σ of continuous Gaussian noise for (ε, δ)-DP (analytic) or ρ-zCDP (Δ/√(2ρ)).

    Examples
    --------
    >>> gaussian_sigma(1.0, rho=0.5)
    1.0
    """
    sens = check_positive(sensitivity, "sensitivity")
    cost = _gaussian_cost(epsilon, delta, rho)
    if isinstance(cost, ZCDP):
        sigma = cal.zcdp_sigma(sens, cost.rho)
        if not (math.isfinite(sigma) and sigma >= 2.0**-1022):
            raise InvalidParameterError(
                f"σ = sensitivity/√(2·`rho`) for sensitivity={sens!r}, rho={rho!r} "
                "is not a finite normal float; pass a rho closer to 1 or rescale "
                "the query",
                parameter="rho",
                value=rho,
            )
        return sigma
    assert isinstance(cost, ApproxDP)
    return cal.analytic_gaussian_sigma(sens, cost.epsilon, cost.delta)


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """A noisy value with what it cost and how accurate it is.

    Attributes
    ----------
    value : int, float or numpy.ndarray
        The noisy value, of the same kind as the input.
    mechanism : str
        The mechanism's name.
    cost : PureDP or ApproxDP or ZCDP
        The privacy loss charged.
    scale : float
        The noise scale in value units (Laplace scale or Gaussian σ).
    granularity : float or None
        The output grid for real values; ``None`` for integer mechanisms.
    half_width : float
        Half-width of the ``confidence`` interval around ``value``.
    confidence : float
        The confidence level of ``half_width`` (0.95 by default). The old
        name ``level`` still reads it, with a :class:`DeprecationWarning`.
    insecure : bool
        True when the noise came from an insecure seeded source.
    receipt : Receipt or None
        The accountant's receipt, when an accountant was charged.

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(1)
    >>> r = lp.GeometricMechanism(sensitivity=1, epsilon=1.0).release(10, rng=rng)
    >>> low, high = r.confidence_interval()
    >>> bool(low <= r.value <= high), r.half_width
    (True, 3.0)
    """

    value: Any
    mechanism: str
    cost: PrivacyLoss
    scale: float
    granularity: float | None
    half_width: float
    confidence: float
    insecure: bool
    receipt: Any = None
    _accuracy: Any = field(default=None, repr=False, compare=False)

    @property
    def level(self) -> float:
        """Deprecated alias of :attr:`confidence`.

        Examples
        --------
        >>> import warnings, loopkit_privacy as lp
        >>> rng = lp.random.InsecureSeededRandom(1)
        >>> r = lp.GeometricMechanism(sensitivity=1, epsilon=1.0).release(10, rng=rng)
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", DeprecationWarning)
        ...     r.level == r.confidence
        True
        """
        warnings.warn(
            "`Release.level` is deprecated, read `Release.confidence` instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.confidence

    def confidence_interval(
        self, confidence: float | None = None, *, level: float | None = None
    ) -> tuple[Any, Any]:
        """Return ``(low, high)``, covering the true value with probability >= ``confidence``.

        For arrays the guarantee holds per coordinate.

        Parameters
        ----------
        confidence : float, optional
            Defaults to the release's ``confidence``.
        level : float, optional
            Deprecated alias of ``confidence`` (keyword only).

        Returns
        -------
        (low, high)
            Of the same kind as ``value`` (numbers, or arrays for arrays).

        Examples
        --------
        >>> import loopkit_privacy as lp
        >>> rng = lp.random.InsecureSeededRandom(1)
        >>> m = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
        >>> r = m.release(10, rng=rng)
        >>> r.value, r.confidence_interval()
        (10, (7.0, 13.0))
        >>> r.confidence_interval(0.99)  # wider for a higher confidence
        (6.0, 14.0)
        """
        conf = _confidence(confidence, level, default=None)
        hw = self.half_width if conf is None else self._accuracy(conf)
        return self.value - hw, self.value + hw

    def _repr_html_(self) -> str:
        """Value ± half-width, the interval, cost and mechanism (for notebooks).

        Examples
        --------
        >>> import loopkit_privacy as lp
        >>> rng = lp.random.InsecureSeededRandom(1)
        >>> r = lp.GeometricMechanism(sensitivity=1, epsilon=1.0).release(10, rng=rng)
        >>> "± 3" in r._repr_html_()
        True
        """
        values = np.atleast_1d(np.asarray(self.value))
        low, high = self.confidence_interval()
        lows = np.atleast_1d(np.asarray(low))
        highs = np.atleast_1d(np.asarray(high))
        shown = min(values.size, 20)
        rows = [
            (
                _html.plus_minus(values[i].item(), self.half_width),
                f"[{_html.fmt(lows[i].item(), 4)}, {_html.fmt(highs[i].item(), 4)}]",
            )
            for i in range(shown)
        ]
        note = f"{self.mechanism}, cost {self.cost!r}, noise scale {_html.fmt(self.scale, 4)}"
        out = _html.title("Release", note)
        out += _html.table(
            ["value", f"{100 * self.confidence:g}% interval"], rows, raw=True
        )
        if values.size > shown:
            out += f"<div>… {values.size - shown} more</div>"
        if self.insecure:
            out += (
                "<div><b>INSECURE randomness (seeded): not a private release.</b></div>"
            )
        return out


@dataclass(frozen=True)
class Selection:
    """The index chosen by a selection mechanism, with its cost and receipt.

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(2)
    >>> s = lp.ExponentialMechanism(sensitivity=1.0, epsilon=1.0).select([0.0, 50.0], rng=rng)
    >>> s.index, s.cost
    (1, PureDP(epsilon=1.0))
    """

    index: int
    mechanism: str
    cost: PrivacyLoss
    insecure: bool
    receipt: Any = None


def _charge(
    accountant: Any,
    cost: PrivacyLoss,
    *,
    label: str | None,
    mechanism: str,
    parameters: dict[str, Any],
    rng: RandomSource,
    event: NoiseEvent | None,
) -> contextlib.AbstractContextManager[Any]:
    """The accountant's transaction for one release, or a no-op without one."""
    if accountant is None:
        return contextlib.nullcontext(None)
    return accountant.transaction(  # type: ignore[no-any-return]
        cost,
        label=label,
        mechanism=mechanism,
        parameters=parameters,
        insecure=bool(rng.insecure),
        event=event,
    )


# ---------------------------------------------------------------------------
# Additive noise mechanisms
# ---------------------------------------------------------------------------


class AdditiveMechanism:
    """Shared machinery: validation, charging, sampling and accuracy."""

    name: str
    kind: Literal["laplace", "gaussian"]
    integer: bool
    sensitivity: float
    dimension: int
    cost: PrivacyLoss
    granularity: float | None
    scale: float
    _units_sensitivity: float
    _lap: noise.DiscreteLaplaceParameters | None = None
    _dg: noise.DiscreteGaussianParameters | None = None

    @property
    def event(self) -> NoiseEvent:
        """The noise description an RDP accountant composes.

        Its ``noise_multiplier`` is the noise scale divided by the
        sensitivity, both in grid units.

        Examples
        --------
        >>> import loopkit_privacy as lp
        >>> lp.GeometricMechanism(sensitivity=2, epsilon=0.5).event
        NoiseEvent(kind='laplace', noise_multiplier=2.0)
        >>> lp.DiscreteGaussianMechanism(sensitivity=1, rho=0.5).event
        NoiseEvent(kind='gaussian', noise_multiplier=1.0)
        """
        units_scale = self.scale / (self.granularity or 1.0)
        return NoiseEvent(self.kind, units_scale / self._units_sensitivity)

    def parameters(self) -> dict[str, Any]:
        """The mechanism's parameters, as recorded on receipts.

        Returns
        -------
        dict
            ``sensitivity``, ``scale``, ``granularity`` (``None`` for integer
            mechanisms), ``dimension`` and ``units_sensitivity`` (the
            sensitivity in grid units).

        Examples
        --------
        >>> import loopkit_privacy as lp
        >>> p = lp.GeometricMechanism(sensitivity=1, epsilon=1.0).parameters()
        >>> p["sensitivity"], p["scale"], p["granularity"], p["dimension"]
        (1.0, 1.0, None, 1)
        """
        return {
            "sensitivity": self.sensitivity,
            "scale": self.scale,
            "granularity": self.granularity,
            "dimension": self.dimension,
            "units_sensitivity": self._units_sensitivity,
        }

    def accuracy(
        self, confidence: float | None = None, *, level: float | None = None
    ) -> float:
        """Half-width ``h`` with P(|noisy - true| <= h) >= ``confidence``, per coordinate.

        Computed from the exact noise distribution (closed form for the
        discrete Laplace, bounded sums for the discrete Gaussian), plus half a
        grid step for the rounding of real-valued inputs.

        Parameters
        ----------
        confidence : float, default 0.95
            Confidence level in (0, 1).
        level : float, optional
            Deprecated alias of ``confidence`` (keyword only).

        Returns
        -------
        float

        Examples
        --------
        >>> import loopkit_privacy as lp
        >>> m = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
        >>> m.accuracy(), m.accuracy(0.99)
        (3.0, 4.0)
        """
        conf = _confidence(confidence, level)
        assert conf is not None
        cache = self.__dict__.setdefault("_accuracy_cache", {})
        if conf not in cache:
            cache[conf] = self._half_width(conf)
        return float(cache[conf])

    def _half_width(self, confidence: float) -> float:
        if self._lap is not None:
            k = cal.dlap_half_width(self._lap.t, self._lap.m, confidence)
        else:
            assert self._dg is not None
            k = cal.dg_half_width(self._dg.sigma, confidence)
        if self.granularity is None:
            return float(k)
        return k * self.granularity + self.granularity / 2.0

    def _sample(self, n: int, rng: RandomSource) -> np.ndarray:
        params = self._lap if self._lap is not None else self._dg
        assert params is not None
        return noise.draw_parameters(params, n, rng)

    def _prepare(self, value: Any) -> tuple[np.ndarray, bool]:
        scalar = np.ndim(value) == 0
        arr = check_numeric_array(value, "value")
        if self.integer and arr.dtype.kind != "i":
            raise InvalidParameterError(
                f"{self.name} adds integer noise and needs integer values, got "
                f"dtype {arr.dtype} for `value`; use LaplaceMechanism/"
                "GaussianMechanism for real values",
                parameter="value",
                value=None,
            )
        if arr.size > self.dimension:
            raise InvalidParameterError(
                f"{self.name} was calibrated for `dimension`={self.dimension} "
                f"coordinates but got {arr.size} values in `value`; construct it "
                f"with dimension={arr.size} (the sensitivity covers the whole array)",
                parameter="value",
                value=None,
            )
        return arr, scalar

    def _noisy(self, arr: np.ndarray, n: int, source: RandomSource) -> np.ndarray:
        """``n`` independent noisy copies of ``arr``, shape ``(n, *arr.shape)``.

        The one place where noise meets the value: :meth:`release` and
        :meth:`randomize` both call it, so an audit of ``randomize`` audits
        the code that ``release`` runs.
        """
        z = self._sample(n * arr.size, source).reshape((n, *arr.shape))
        if self.granularity is None:
            # Exact integer addition; saturate rather than wrap (post-processing).
            with np.errstate(over="ignore"):
                out = arr + z
            wrapped = ((arr > 0) & (z > 0) & (out < 0)) | (
                (arr < 0) & (z < 0) & (out >= 0)
            )
            if wrapped.any():
                out = np.where(
                    wrapped,
                    np.where(arr > 0, np.iinfo(np.int64).max, np.iinfo(np.int64).min),
                    out,
                )
            return out
        g = self.granularity
        x = np.clip(arr.astype(np.float64), -_CLAMP, _CLAMP)
        # Round to the grid; beyond 2**52·g every float already lies on it.
        xr = np.array(x, dtype=np.float64, ndmin=1)
        small = np.abs(xr) < 2.0**52 * g
        xr[small] = np.rint(xr[small] / g) * g
        xr = xr.reshape(np.shape(x))
        # xr + g·z is exact on the grid; the float sum is its correctly
        # rounded image (post-processing of an exactly private value).
        return xr + g * z.astype(np.float64)

    def randomize(self, value: Any, n: int, *, rng: Any = None) -> np.ndarray:
        """Return ``n`` independent noisy copies of ``value``, charging nobody.

        Each row is distributed exactly as ``release(value).value`` (the
        same code adds the noise). This is for audits and simulations, where
        the same input is released many times: ``n`` rows of real data
        together cost ``n`` times :attr:`cost`, and no accountant sees them.

        Parameters
        ----------
        value : int, float or array_like
            The true value(s), as for :meth:`release`.
        n : int
            Number of independent releases, >= 1.
        rng : SecureRandom or InsecureSeededRandom, optional
            The entropy source; secure by default.

        Returns
        -------
        numpy.ndarray
            Shape ``(n,)`` for a scalar ``value``, ``(n, *value.shape)``
            otherwise; int64 for integer mechanisms, float64 for real ones.

        Raises
        ------
        InvalidParameterError
            As :meth:`release`, and for ``n`` < 1.

        Notes
        -----
        Privacy. Each row is a release of cost :attr:`cost`; the ``n`` rows
        compose to ``n`` times that cost (basic composition). Nothing is
        charged, so use it only where that is intended (an audit of the
        mechanism on synthetic inputs).

        Examples
        --------
        >>> import loopkit_privacy as lp
        >>> rng = lp.random.InsecureSeededRandom(6)
        >>> m = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
        >>> out = m.randomize(10, 1000, rng=rng)
        >>> out.shape, out.dtype
        ((1000,), dtype('int64'))
        >>> bool(abs(out.mean() - 10) < 1)
        True
        """
        arr, _ = self._prepare(value)
        count = check_positive_int(n, "n")
        return self._noisy(arr, count, resolve_rng(rng))

    def release(
        self,
        value: Any,
        *,
        rng: Any = None,
        accountant: Any = None,
        label: str | None = None,
        confidence: float | None = None,
        level: float | None = None,
    ) -> Release:
        """Add noise to ``value`` and return the :class:`Release`.

        Parameters
        ----------
        value : int, float or array_like
            The true value(s); at most ``dimension`` of them. Integer
            mechanisms need integers.
        rng : SecureRandom or InsecureSeededRandom, optional
            The entropy source; secure by default.
        accountant : Accountant, optional
            Charged ``.cost`` before any noise is drawn; a refused charge
            raises and nothing is released.
        label : str, optional
            Name of the release on the receipt.
        confidence : float, default 0.95
            Confidence level of the release's ``half_width``.
        level : float, optional
            Deprecated alias of ``confidence``.

        Returns
        -------
        Release

        Raises
        ------
        InvalidParameterError
            For non-numeric, NaN or infinite values, or too many coordinates.
        BudgetExceededError
            When the accountant cannot afford ``.cost`` (nothing is spent).

        Examples
        --------
        >>> import loopkit_privacy as lp
        >>> rng = lp.random.InsecureSeededRandom(1)
        >>> budget = lp.Accountant(epsilon=2.0)
        >>> m = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
        >>> r = m.release(10, rng=rng, accountant=budget, label="signups")
        >>> r.value, r.half_width, r.cost
        (10, 3.0, PureDP(epsilon=1.0))
        >>> r.receipt.label, budget.remaining
        ('signups', PureDP(epsilon=1.0))
        """
        check_accountant(accountant, "accountant")
        arr, scalar = self._prepare(value)
        conf = _confidence(confidence, level)
        assert conf is not None
        source = resolve_rng(rng)
        hw = self.accuracy(conf)
        with _charge(
            accountant,
            self.cost,
            label=label,
            mechanism=self.name,
            parameters=self.parameters(),
            rng=source,
            event=self.event,
        ) as receipt:
            out = self._noisy(arr, 1, source)[0]
            result: Any
            if self.granularity is None:
                result = int(out) if scalar else out
            else:
                result = float(out) if scalar else out
        return Release(
            value=result,
            mechanism=self.name,
            cost=self.cost,
            scale=self.scale,
            granularity=self.granularity,
            half_width=hw,
            confidence=conf,
            insecure=bool(source.insecure),
            receipt=receipt,
            _accuracy=self.accuracy,
        )

    def __repr__(self) -> str:
        return (
            f"{self.name}(sensitivity={self.sensitivity!r}, cost={self.cost!r}, "
            f"scale={self.scale!r})"
        )


class _PureMechanism(AdditiveMechanism):
    """The pure ε-DP (discrete Laplace) mechanisms: checks, cost, then the grid."""

    kind: Literal["laplace", "gaussian"] = "laplace"

    def __init__(
        self, *, sensitivity: float, epsilon: float, dimension: int = 1
    ) -> None:
        self.sensitivity = _check_sensitivity(sensitivity)
        eps = check_epsilon(epsilon)
        self.dimension = _check_dimension(dimension)
        self.cost = PureDP(eps)
        self._calibrate(eps, epsilon)

    def _calibrate(self, eps: float, epsilon: Any) -> None:
        """Set ``granularity``, ``_units_sensitivity``, ``_lap`` and ``scale``.

        ``eps`` is the checked ε, ``epsilon`` the caller's value (for errors).
        """
        raise NotImplementedError


class LaplaceMechanism(_PureMechanism):
    """Pure ε-DP real-valued Laplace mechanism with secure granular noise.

    Parameters
    ----------
    sensitivity : float
        L1 sensitivity of the whole released array, > 0.
    epsilon : float
        Privacy parameter, > 0.
    dimension : int
        Number of coordinates a release may have (default 1); it sets how
        much the grid rounding adds to the sensitivity.

    Attributes
    ----------
    scale : float
        The effective Laplace scale (≥ sensitivity / epsilon).
    granularity : float
        The power-of-two output grid.
    cost : PureDP

    Notes
    -----
    Privacy. Output = round(x, g) + g·Z with Z exact discrete Laplace of scale
    b >= Δ_g / ε, where Δ_g = floor(Δ/g) + dimension bounds the L1 distance in
    grid units of two rounded neighbouring inputs (for any grid g). The
    discrete Laplace with that scale is (Δ_g/b)-DP, hence ε-DP, for integer
    queries of L1 sensitivity Δ_g, so the release is ε-DP; the float sum is
    post-processing. ``b`` is Δ_g/ε rounded up (exactly, then to the
    sampler's rational t/2**m, up again), so the cost charged is never below
    the true loss.

    Grid. The finest power of two g = 2**j, j >= j0 = floor(log2(Δ/dimension))
    - 20 (rounding costs at most a fraction 2**-20 of the sensitivity), for
    which the noise stays within the exact sampler's range, b <= 2**39 grid
    steps. j is found by bisection over [j0, j1], j1 the first grid above Δ
    (where Δ_g = dimension, its minimum): a closed search, never an
    unbounded loop. A grid exists exactly when ε >= dimension·2**-39;
    otherwise ``epsilon`` is refused. For a huge ε the scale is raised to
    the sampler's smallest, 2**-20 grid steps: more noise than ε needs, so
    still ε-DP.

    Examples
    --------
    >>> m = LaplaceMechanism(sensitivity=1.0, epsilon=1.0)
    >>> m.granularity == 2.0**-20, round(m.scale, 4)
    (True, 1.0)
    >>> round(m.accuracy(0.95), 3)
    2.996
    """

    name = "LaplaceMechanism"
    integer = False

    def _calibrate(self, eps: float, epsilon: Any) -> None:
        sens, dim = self.sensitivity, self.dimension

        def units_at(j: int) -> int:
            return math.floor(math.ldexp(sens, -j)) + dim

        def ok(j: int) -> bool:
            return _div_up(units_at(j), eps) <= _MAX_LAPLACE_UNITS

        j0 = max(_MIN_GRID_EXP, math.frexp(sens / dim)[1] - 1 - _LAPLACE_GRID_BITS)
        j1 = max(j0, math.frexp(sens)[1] + 1)  # 2**j1 > Δ: Δ_g = dimension
        j = _finest_grid(j0, j1, ok)
        if j is None:
            raise InvalidParameterError(
                f"`epsilon`={eps!r} is too small for {self.name} with "
                f"dimension={dim}: the exact sampler draws at most 2**39 grid "
                f"steps of noise, which needs epsilon >= dimension·2**-39 = "
                f"{dim * 2.0**-39:.6g}",
                parameter="epsilon",
                value=epsilon,
            )
        units = units_at(j)
        g = math.ldexp(1.0, j)
        self.granularity = g
        self._units_sensitivity = float(units)
        self._lap = noise.discrete_laplace_parameters(
            max(_div_up(units, eps), noise.MIN_SCALE)
        )
        self.scale = self._lap.scale * g


class GeometricMechanism(_PureMechanism):
    """Pure ε-DP mechanism for integer queries: exact discrete Laplace noise.

    Also known as the two-sided geometric mechanism. Integers in, integers out.

    Parameters
    ----------
    sensitivity : int or float
        L1 sensitivity; a non-integer is rounded up (an integer-valued query
        cannot change by a fraction).
    epsilon : float
        Privacy parameter, > 0.
    dimension : int
        Number of coordinates a release may have (default 1).

    Notes
    -----
    Privacy. Noise P(z) ∝ exp(-|z|/b) on the integers is (Δ/b)-DP for integer
    queries of L1 sensitivity Δ (Ghosh, Roughgarden & Sundararajan 2009);
    b is ceil(Δ)/ε rounded up (exactly, then to the sampler's rational), so
    the release is ε-DP. The exact sampler takes b <= 2**40: a smaller ε
    than ceil(Δ)·2**-40 is refused (``epsilon``). For a huge ε, b is raised
    to the sampler's smallest scale 2**-20 (more noise, still ε-DP).

    Examples
    --------
    >>> m = GeometricMechanism(sensitivity=1, epsilon=0.5)
    >>> m.scale, m.cost
    (2.0, PureDP(epsilon=0.5))
    """

    name = "GeometricMechanism"
    integer = True

    def _calibrate(self, eps: float, epsilon: Any) -> None:
        self.granularity = None
        units = math.ceil(self.sensitivity)
        b = _div_up(units, eps)
        if b > noise.MAX_LAPLACE_SCALE:
            raise InvalidParameterError(
                f"`epsilon`={eps!r} is too small for {self.name} with sensitivity "
                f"{self.sensitivity!r}: the exact sampler's scale is at most 2**40, "
                f"which needs epsilon >= ceil(sensitivity)·2**-40 = "
                f"{units * 2.0**-40:.6g}",
                parameter="epsilon",
                value=epsilon,
            )
        self._units_sensitivity = float(units)
        self._lap = noise.discrete_laplace_parameters(max(b, noise.MIN_SCALE))
        self.scale = self._lap.scale


def _gaussian_cost(epsilon: Any, delta: Any, rho: Any) -> PrivacyLoss:
    """The Gaussian mechanisms' cost: (ε, δ) with δ > 0, or ρ.

    The one parsing rule (:func:`loopkit_privacy.loss.parse_loss`), with the
    Gaussian mechanism's own message when ``delta`` (or everything) is missing.
    """
    if rho is None:
        if epsilon is None or delta is None:
            missing = "epsilon" if epsilon is None else "delta"
            raise InvalidParameterError(
                "the Gaussian mechanism needs `epsilon` and `delta` in (0, 1), or "
                f"`rho`; got epsilon={epsilon!r}, delta={delta!r}; pass e.g. "
                f"epsilon=1.0, delta=1e-6 (`{missing}` is missing)",
                parameter=missing,
                value=None,
            )
        check_delta(delta)  # in (0, 1): a Gaussian release needs δ > 0
    return parse_loss(epsilon=epsilon, delta=delta, rho=rho, need_delta=True)


class _GaussianCalibration:
    """σ in grid units for a discrete Gaussian release of a given cost.

    * ρ-zCDP: σ = units/√(2ρ) (CKS 2020, Thm 14), rounded up exactly.
    * (ε, δ), several coordinates: the same with ρ* = the largest ρ whose
      zCDP guarantee converts to (ε, δ) (CKS 2020, Cor 13), rounded down.
    * (ε, δ), one coordinate: the smallest σ on the discrete Gaussian's
      exact privacy curve (CKS 2020, Thm 7) for the integer sensitivity.

    ``sigma`` returns ``inf`` when σ would exceed the sampler's 2**25: each
    call is bounded (the exact curve is bisected below 2**25 only).
    """

    def __init__(self, cost: PrivacyLoss, dimension: int) -> None:
        self.cost = cost
        self.dimension = dimension
        self.rho: float | None = None
        if isinstance(cost, ZCDP):
            self.rho = cost.rho
        elif dimension > 1:
            assert isinstance(cost, ApproxDP)
            # 0.0 when ρ* underflows (tiny ε): then σ is infinite, refused.
            self.rho = cal.zcdp_rho_for(cost.epsilon, cost.delta)

    def sigma(self, units: float, integer_units: int) -> float:
        if self.rho is not None:
            if self.rho <= 0.0:
                return math.inf
            return cal.zcdp_sigma(units, self.rho)
        assert isinstance(self.cost, ApproxDP)
        return cal.discrete_gaussian_sigma(
            integer_units, self.cost.epsilon, self.cost.delta, _MAX_GAUSSIAN_UNITS
        )

    def finish(self, sigma: float, units: float, integer_units: int) -> float:
        """σ raised to the sampler's smallest, 2**-20 (more noise: still private)."""
        if sigma >= noise.MIN_SCALE:
            return sigma
        if self.rho is None:
            # The exact curve is checked at the raised σ (as the sampler rounds it).
            assert isinstance(self.cost, ApproxDP)
            eff = noise.discrete_gaussian_parameters(noise.MIN_SCALE).sigma
            got = cal.discrete_gaussian_delta(eff, integer_units, self.cost.epsilon)
            if got > self.cost.delta:
                raise InvalidParameterError(
                    f"`epsilon`={self.cost.epsilon!r} with delta={self.cost.delta!r} "
                    "is outside the supported range of the Gaussian mechanism "
                    "(the noise would be below the sampler's smallest scale)",
                    parameter="epsilon",
                    value=self.cost.epsilon,
                )
        return noise.MIN_SCALE

    def refuse(self, mechanism: str, detail: str) -> InvalidParameterError:
        if isinstance(self.cost, ZCDP):
            return InvalidParameterError(
                f"`rho`={self.cost.rho!r} is too small for {mechanism} {detail}: "
                "the exact sampler draws a discrete Gaussian of σ at most 2**25 "
                "grid steps; pass a larger rho (or a smaller sensitivity)",
                parameter="rho",
                value=self.cost.rho,
            )
        assert isinstance(self.cost, ApproxDP)
        return InvalidParameterError(
            f"`epsilon`={self.cost.epsilon!r} with delta={self.cost.delta!r} is too "
            f"small for {mechanism} {detail}: the exact sampler draws a discrete "
            "Gaussian of σ at most 2**25 grid steps; pass a larger epsilon or "
            "delta (or a smaller sensitivity)",
            parameter="epsilon",
            value=self.cost.epsilon,
        )


class _GaussianFamily(AdditiveMechanism):
    """The discrete Gaussian mechanisms: checks, the cost, then σ and the grid."""

    kind: Literal["laplace", "gaussian"] = "gaussian"

    def __init__(
        self,
        *,
        sensitivity: float,
        epsilon: float | None = None,
        delta: float | None = None,
        rho: float | None = None,
        dimension: int = 1,
    ) -> None:
        self.sensitivity = _check_sensitivity(sensitivity)
        self.cost = _gaussian_cost(epsilon, delta, rho)
        self.dimension = _check_dimension(dimension)
        self._calibrate(_GaussianCalibration(self.cost, self.dimension))

    def _calibrate(self, calib: _GaussianCalibration) -> None:
        """Set ``granularity``, ``_units_sensitivity``, ``_dg`` and ``scale``."""
        raise NotImplementedError


class GaussianMechanism(_GaussianFamily):
    """Real-valued Gaussian mechanism with secure granular discrete Gaussian noise.

    Give ``epsilon`` and ``delta`` for (ε, δ)-DP, or ``rho`` for ρ-zCDP.

    Parameters
    ----------
    sensitivity : float
        L2 sensitivity of the whole released array, > 0.
    epsilon, delta : float, optional
        (ε, δ)-DP target, ε > 0 and 0 < δ < 1.
    rho : float, optional
        ρ-zCDP target, > 0.
    dimension : int
        Number of coordinates a release may have (default 1).

    Notes
    -----
    Privacy. Output = round(x, g) + g·Z, Z exact discrete Gaussian. In grid
    units the L2 sensitivity is Δ_g = Δ/g + √dimension. For ρ-zCDP,
    σ = Δ_g/√(2ρ) (CKS 2020, Thm 14). For (ε, δ) and one coordinate, σ is the
    smallest value satisfying the discrete Gaussian's exact privacy curve
    (CKS 2020, Thm 7), the discrete analogue of the analytic Gaussian
    mechanism (Balle & Wang 2018); for several coordinates, σ comes from the
    zCDP bound converted to (ε, δ) (CKS 2020, Cor 13), which is valid for any
    direction of the difference vector. σ is rounded up at every step
    (exact rational checks, then the sampler's rational σ² rounded up), so
    the cost charged is never below the true loss.

    Grid. The finest power of two g = 2**j, j >= j0 = floor(log2(Δ/√dimension))
    - 12, with σ at most 2**25 grid steps (the exact sampler's range), found
    by bisection over [j0, j1] where 2**j1 is far above Δ (Δ_g at its
    minimum, 1 or about √dimension): a bounded search of about a dozen
    calibrations, never an unbounded loop. When even that grid needs more
    than 2**25 steps, ``rho`` (or ``epsilon``) is refused. A σ below the
    sampler's smallest (2**-20 steps, only for a huge ε or ρ) is raised to
    it: more noise, still private (for one coordinate under (ε, δ) the exact
    curve is re-checked at the raised σ).

    Examples
    --------
    >>> m = GaussianMechanism(sensitivity=1.0, epsilon=1.0, delta=1e-6)
    >>> m.cost
    ApproxDP(epsilon=1.0, delta=1e-06)
    >>> 4.22 < m.scale < 4.24
    True
    >>> GaussianMechanism(sensitivity=1.0, rho=0.5).cost
    ZCDP(rho=0.5)
    """

    name = "GaussianMechanism"
    integer = False

    def _calibrate(self, calib: _GaussianCalibration) -> None:
        sens, dim = self.sensitivity, self.dimension
        root_d = _sqrt_up(dim)
        found: dict[int, tuple[float, int, float]] = {}

        def ok(j: int) -> bool:
            q = math.ldexp(sens, -j)  # Δ/g, exact
            int_units = math.floor(q) + 1
            units = _add_up(q, root_d) if dim > 1 else float(int_units)
            sigma = calib.sigma(units, int_units)
            found[j] = (units, int_units, sigma)
            return sigma <= _MAX_GAUSSIAN_UNITS

        j0 = max(_MIN_GRID_EXP, math.frexp(sens / root_d)[1] - 1 - _GAUSSIAN_GRID_BITS)
        # 2**j1 >= 2**60·Δ: Δ_g is 1 (one coordinate) or √dimension (1 + 2**-60).
        j1 = max(j0, math.frexp(sens)[1] + 60)
        j = _finest_grid(j0, j1, ok)
        if j is None:
            raise calib.refuse(self.name, f"with dimension={dim}")
        units, int_units, sigma_units = found[j]
        sigma_units = calib.finish(sigma_units, units, int_units)
        g = math.ldexp(1.0, j)
        self.granularity = g
        self._units_sensitivity = units
        self._dg = noise.discrete_gaussian_parameters(sigma_units)
        self.scale = self._dg.sigma * g


class DiscreteGaussianMechanism(_GaussianFamily):
    """Gaussian mechanism for integer queries: exact discrete Gaussian noise.

    Parameters
    ----------
    sensitivity : int or float
        L2 sensitivity (rounded up to an integer for ``dimension`` 1).
    epsilon, delta : float, optional
        (ε, δ)-DP target.
    rho : float, optional
        ρ-zCDP target.
    dimension : int
        Number of coordinates a release may have (default 1).

    Notes
    -----
    Privacy. As :class:`GaussianMechanism` without the grid: σ from the exact
    1-D privacy curve (CKS 2020, Thm 7) for one coordinate, from
    ρ = Δ²/(2σ²) otherwise, rounded up. σ above 2**25 (the exact sampler's
    range) is refused (``rho`` or ``epsilon``); σ below 2**-20 is raised to
    it (more noise, still private).

    Examples
    --------
    >>> DiscreteGaussianMechanism(sensitivity=1, rho=0.5).scale >= 1.0
    True
    """

    name = "DiscreteGaussianMechanism"
    integer = True

    def _calibrate(self, calib: _GaussianCalibration) -> None:
        int_units = math.ceil(self.sensitivity)
        units = float(int_units) if self.dimension == 1 else self.sensitivity
        sigma = calib.sigma(units, int_units)
        if not sigma <= _MAX_GAUSSIAN_UNITS:
            raise calib.refuse(
                self.name,
                f"with sensitivity={self.sensitivity!r} and dimension={self.dimension}",
            )
        sigma = calib.finish(sigma, units, int_units)
        self.granularity = None
        self._units_sensitivity = units
        self._dg = noise.discrete_gaussian_parameters(sigma)
        self.scale = self._dg.sigma


# ---------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------


class ExponentialMechanism:
    """Choose the index of a high score privately (exponential mechanism).

    Parameters
    ----------
    sensitivity : float
        How much one privacy unit can change any single score, > 0.
    epsilon : float
        Privacy parameter, > 0.
    monotonic : bool
        True when adding a unit can only raise (or only lower) all scores at
        once, e.g. counts; halves the noise needed.
    method : {"exponential", "permute_and_flip"}
        ``"exponential"`` samples i with probability ∝ exp(ε·uᵢ / (2Δ))
        (McSherry & Talwar 2007); ``"permute_and_flip"`` (McKenna & Sheldon
        2020) has the same guarantee and is never less accurate — it is
        report-noisy-max with exponential noise.

    Notes
    -----
    Privacy. Candidate i gets the integer weight
    wᵢ = rint(K · clip(uᵢ/Δ, ±2**50/K)), K = ε'·2**(G-1) (ε'·2**G if
    monotonic), and is chosen with probability ∝ exp(wᵢ / 2**G), realised
    with exact Bernoulli(exp(-γ)) draws on the integers (no floating-point
    ``exp``). The grid exponent is G = clamp(21 - e, 0, 62) for
    ε = m·2**e (m in [1/2, 1)): ε·2**G is in [2**20, 2**21) whenever
    G < 62, and G <= 62 keeps 2**G inside int64. The working ε' is ε rounded
    down conservatively, ε' = max(0, ε - 4·2**-G).

    Why the cost ε is an upper bound: for neighbouring scores
    (|uᵢ - u'ᵢ| <= Δ) every step is monotone and the clipped quotient differs
    by at most 1 + 2**-52·L (division rounding, L = 2**50/K); the product
    adds a rounding of at most 2**-3 per score and rint half a unit. So
    |wᵢ - w'ᵢ| <= K + 1.5 + 2**-40 and the likelihood ratio of any index is
    at most exp(2(K + 1.5)/2**G) = exp(ε' + 3·2**-G) <= exp(ε) (monotonic,
    with the doubled K: every weight moves within [-1.5, K + 1.5], so
    exp((K + 3)/2**G), the same bound; it holds for permute-and-flip too).
    When ε <= 2**-60, ε' is 0 and the selection is exactly uniform (0-DP,
    charged ε); below 2**-41 the grid is capped at 2**-62 and ε' is a
    fraction 1 - 2**-60/ε of ε. Clipping scores to ±2**50/K (2**29 to 2**31
    sensitivities above 2**-41) is 1-Lipschitz, so it never adds privacy
    loss. ε is limited to ``MAX_SELECTION_EPSILON``
    (512); the sensitivity to [2**-1000, 2**900].

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(0)
    >>> em = ExponentialMechanism(sensitivity=1.0, epsilon=2.0, monotonic=True)
    >>> em.select([1.0, 2.0, 90.0], rng=rng).index
    2
    """

    def __init__(
        self,
        *,
        sensitivity: float,
        epsilon: float,
        monotonic: bool = False,
        method: Literal["exponential", "permute_and_flip"] = "exponential",
    ) -> None:
        self.sensitivity = _check_sensitivity(sensitivity)
        eps = check_epsilon(epsilon)
        if eps > MAX_SELECTION_EPSILON:
            raise InvalidParameterError(
                f"`epsilon` of a selection must be at most {MAX_SELECTION_EPSILON:g}, "
                f"got {epsilon!r}; above it the selection is an argmax in all "
                "but name (pass e.g. epsilon=1.0)",
                parameter="epsilon",
                value=epsilon,
            )
        if method not in ("exponential", "permute_and_flip"):
            raise InvalidParameterError(
                f"`method` must be 'exponential' or 'permute_and_flip', got {method!r}",
                parameter="method",
                value=method,
            )
        if not isinstance(monotonic, bool | np.bool_):
            raise InvalidParameterError(
                f"`monotonic` must be True or False, got {monotonic!r}",
                parameter="monotonic",
                value=monotonic,
            )
        self.method = method
        self.monotonic = bool(monotonic)
        self.cost = PureDP(eps)
        g = min(_MAX_SELECTION_GRID_BITS, max(0, 21 - math.frexp(eps)[1]))
        self._grid_bits = g
        eps_used = max(0.0, eps - math.ldexp(1.0, 2 - g))
        # K: the factor from u/Δ to grid units of the exponent.
        self._k = math.ldexp(eps_used, g if self.monotonic else g - 1)
        self._limit = math.ldexp(1.0, 50) / self._k if self._k > 0.0 else math.inf
        self.name = (
            "ExponentialMechanism" if method == "exponential" else "PermuteAndFlip"
        )

    def _weights(self, scores: Any) -> np.ndarray:
        arr = check_numeric_array(scores, "scores").astype(np.float64)
        if arr.ndim > 1:
            raise InvalidParameterError(
                f"`scores` must be one-dimensional (one score per candidate), got "
                f"shape {arr.shape}",
                parameter="scores",
                value=None,
            )
        arr = arr.ravel()
        if arr.size == 0:
            raise InvalidParameterError(
                "`scores` must hold at least one candidate",
                parameter="scores",
                value=None,
            )
        return self.integer_weights(arr)

    @property
    def grid_bits(self) -> int:
        """G: a candidate of weight w is drawn with probability ∝ exp(w / 2**G).

        Examples
        --------
        >>> 0 <= ExponentialMechanism(sensitivity=1.0, epsilon=1.0).grid_bits <= 62
        True
        """
        return self._grid_bits

    def integer_weights(self, scores: np.ndarray) -> np.ndarray:
        """The exact integer weights drawn from, for float scores of any shape.

        rint(K · clip(u/Δ, ±2**50/K)) elementwise, K = ε·2**G (or ε·2**(G−1)
        when not monotonic): :meth:`select` draws candidate i with
        probability ∝ exp(w_i / 2**G). All zeros for ε < 2**-60 (uniform).
        No validation: callers pass finite float arrays.

        Examples
        --------
        >>> import numpy as np
        >>> m = ExponentialMechanism(sensitivity=1.0, epsilon=1.0)
        >>> w = m.integer_weights(np.array([[0.0, 1.0]]))
        >>> w.shape, bool(w[0, 1] > w[0, 0])
        ((1, 2), True)
        """
        if self._k == 0.0:  # ε < 2**-60: exactly uniform (see the class notes)
            return np.zeros(scores.shape, dtype=np.int64)
        with np.errstate(over="ignore", under="ignore"):
            x = scores / self.sensitivity  # ±inf on overflow: clipped just below
        np.clip(x, -self._limit, self._limit, out=x)
        return np.rint(x * self._k).astype(np.int64)

    def _draw(self, w: np.ndarray, n: int, source: RandomSource) -> np.ndarray:
        """``n`` independent selections over the rounded weights ``w``.

        The one place where selections are drawn (:meth:`select` and
        :meth:`randomize` both call it). The kernels consume one word stream;
        when it runs out they rewind, and the unread words plus fresh ones
        are replayed, so nothing is discarded or reused.
        """
        out = np.empty(n, dtype=np.int64)
        block = 64 + 8 * w.size
        st = np.zeros(4, dtype=np.int64)
        words = source.words(block * min(n, 4096))
        perm = np.empty(w.size, dtype=np.int64)
        if not 0 <= self._grid_bits <= _MAX_SELECTION_GRID_BITS:
            raise AssertionError("selection grid outside int64")
        g = np.int64(self._grid_bits)
        i = 0
        while i < n:
            if self.method == "exponential":
                idx = _sel.exponential_select(w, g, words, st)
            else:
                idx = _sel.permute_and_flip_select(w, g, perm, words, st)
            if idx >= 0:
                out[i] = idx
                i += 1
                continue
            words = noise.replay_words(words, st, source, block * min(n - i, 4096))
        return out

    def randomize(self, scores: Any, n: int, *, rng: Any = None) -> np.ndarray:
        """Return ``n`` independent selections over ``scores``, charging nobody.

        Each entry is distributed exactly as ``select(scores).index`` (the
        same code draws it); for audits and simulations.

        Parameters
        ----------
        scores : array_like of float
            One finite score per candidate.
        n : int
            Number of independent selections, >= 1.
        rng : SecureRandom or InsecureSeededRandom, optional
            The entropy source; secure by default.

        Returns
        -------
        numpy.ndarray of int64, shape (n,)

        Notes
        -----
        Privacy. Each entry costs :attr:`cost`; ``n`` of them on real data
        compose to ``n`` times that, and no accountant is charged.

        Examples
        --------
        >>> import loopkit_privacy as lp
        >>> rng = lp.random.InsecureSeededRandom(0)
        >>> em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=1.0)
        >>> picks = em.randomize([0.0, 0.0, 40.0], 500, rng=rng)
        >>> picks.shape, bool((picks == 2).mean() > 0.99)
        ((500,), True)
        """
        w = self._weights(scores)
        count = check_positive_int(n, "n")
        return self._draw(w, count, resolve_rng(rng))

    def select(
        self,
        scores: Any,
        *,
        rng: Any = None,
        accountant: Any = None,
        label: str | None = None,
    ) -> Selection:
        """Return the privately selected index of ``scores``.

        Parameters
        ----------
        scores : array_like of float
            One finite score per candidate (higher is better).
        rng, accountant, label
            As for :meth:`LaplaceMechanism.release`.

        Returns
        -------
        Selection

        Examples
        --------
        >>> import loopkit_privacy as lp
        >>> rng = lp.random.InsecureSeededRandom(0)
        >>> budget = lp.Accountant(epsilon=1.0)
        >>> em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=0.5)
        >>> s = em.select([3.0, 80.0, 5.0], rng=rng, accountant=budget)
        >>> s.index, s.cost, budget.spent
        (1, PureDP(epsilon=0.5), PureDP(epsilon=0.5))
        """
        check_accountant(accountant, "accountant")
        w = self._weights(scores)
        source = resolve_rng(rng)
        with _charge(
            accountant,
            self.cost,
            label=label,
            mechanism=self.name,
            parameters={
                "sensitivity": self.sensitivity,
                "monotonic": self.monotonic,
                "candidates": int(w.size),
            },
            rng=source,
            event=None,
        ) as receipt:
            idx = self._draw(w, 1, source)[0]
        return Selection(
            index=int(idx),
            mechanism=self.name,
            cost=self.cost,
            insecure=bool(source.insecure),
            receipt=receipt,
        )


def report_noisy_max(
    scores: Any,
    *,
    sensitivity: float,
    epsilon: float,
    monotonic: bool = False,
    rng: Any = None,
    accountant: Any = None,
    label: str | None = None,
) -> int:
    """Index of the noisy maximum of ``scores`` (ε-DP, exponential noise).

    Report-noisy-max with exponential noise, implemented exactly as
    permute-and-flip (the two are the same mechanism; Ding et al. 2021).

    Parameters
    ----------
    scores : array_like of float
        One finite score per candidate.
    sensitivity : float
        Largest change of any one score when one privacy unit is added or removed.
    epsilon : float
        Privacy parameter.
    monotonic : bool
        See :class:`ExponentialMechanism`.
    rng, accountant, label
        As for :meth:`LaplaceMechanism.release`.

    Returns
    -------
    int

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(0)
    >>> report_noisy_max([3.0, 400.0, 5.0], sensitivity=1.0, epsilon=1.0, rng=rng)
    1
    """
    check_accountant(accountant, "accountant")
    mech = ExponentialMechanism(
        sensitivity=sensitivity,
        epsilon=epsilon,
        monotonic=monotonic,
        method="permute_and_flip",
    )
    return mech.select(scores, rng=rng, accountant=accountant, label=label).index


# ---------------------------------------------------------------------------
# The seed's addPrivacyNoise
# ---------------------------------------------------------------------------


def add_noise(
    value: Any,
    *,
    sensitivity: float,
    epsilon: float | None = None,
    delta: float | None = None,
    rho: float | None = None,
    mechanism: Literal["laplace", "gaussian"] = "laplace",
    rng: Any = None,
    accountant: Any = None,
    label: str | None = None,
) -> Any:
    """Return ``value`` with differentially private noise added.

    Integers (Python ints, integer arrays) get exact integer noise and stay
    integers; floats get secure granular noise. ``sensitivity`` covers the
    whole array (L1 for Laplace, L2 for Gaussian).

    Parameters
    ----------
    value : int, float or array_like
        The true value(s).
    sensitivity : float
        How much one privacy unit can change ``value``.
    epsilon, delta, rho : float, optional
        Laplace: ``epsilon``. Gaussian: ``epsilon`` and ``delta``, or ``rho``.
    mechanism : {"laplace", "gaussian"}
        The noise distribution.
    rng : SecureRandom or InsecureSeededRandom, optional
        The entropy source; secure by default.
    accountant : Accountant, optional
        Charged before any noise is drawn.
    label : str, optional
        Name of the release on the receipt.

    Returns
    -------
    int, float or numpy.ndarray
        Same kind as ``value``. Use a mechanism's ``release`` to also get the
        confidence interval.

    Raises
    ------
    InvalidParameterError
        For invalid privacy parameters, non-numeric values, NaN or infinity.

    Notes
    -----
    Privacy. Uses :class:`GeometricMechanism` / :class:`LaplaceMechanism`
    (pure ε-DP) or :class:`DiscreteGaussianMechanism` /
    :class:`GaussianMechanism` ((ε, δ)-DP or ρ-zCDP), calibrated for the
    array's size.

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(4)
    >>> type(lp.add_noise(100, sensitivity=1, epsilon=1.0, rng=rng)).__name__
    'int'
    >>> lp.add_noise(np.array([1.5, 2.5]), sensitivity=1.0, epsilon=1.0, rng=rng).dtype
    dtype('float64')
    """
    check_accountant(accountant, "accountant")
    mech, arr = add_noise_mechanism(
        value, sensitivity=sensitivity, epsilon=epsilon, delta=delta, rho=rho,
        mechanism=mechanism,
    )  # fmt: skip
    out = mech.release(
        value if np.ndim(value) == 0 else arr,
        rng=rng,
        accountant=accountant,
        label=label,
    )
    return out.value


def add_noise_mechanism(
    value: Any,
    *,
    sensitivity: float,
    epsilon: float | None,
    delta: float | None,
    rho: float | None,
    mechanism: str,
) -> tuple[AdditiveMechanism, np.ndarray]:
    """The mechanism :func:`add_noise` releases ``value`` with, and the value as an array.

    Shared with the audit, which draws many releases of it at once.
    """
    arr = check_numeric_array(value, "value")
    dim = max(1, int(arr.size))
    integer = arr.dtype.kind == "i"
    mech: AdditiveMechanism
    if mechanism == "laplace":
        if rho is not None or delta not in (None, 0, 0.0):
            raise InvalidParameterError(
                "the Laplace mechanism takes only `epsilon`; for `delta`/`rho` "
                "use mechanism='gaussian'",
                parameter="delta" if rho is None else "rho",
                value=delta if rho is None else rho,
            )
        if epsilon is None:
            raise InvalidParameterError(
                "`epsilon` is required; pass e.g. epsilon=1.0",
                parameter="epsilon",
                value=None,
            )
        cls_l = GeometricMechanism if integer else LaplaceMechanism
        mech = cls_l(sensitivity=sensitivity, epsilon=epsilon, dimension=dim)
    elif mechanism == "gaussian":
        cls_g = DiscreteGaussianMechanism if integer else GaussianMechanism
        mech = cls_g(
            sensitivity=sensitivity,
            epsilon=epsilon,
            delta=delta,
            rho=rho,
            dimension=dim,
        )
    else:
        raise InvalidParameterError(
            f"`mechanism` must be 'laplace' or 'gaussian', got {mechanism!r}",
            parameter="mechanism",
            value=mechanism,
        )
    return mech, arr
