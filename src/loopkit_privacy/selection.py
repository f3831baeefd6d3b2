"""Differentially private partition selection: which groups a release may show.

A group (partition) whose key comes from the data may appear in a release
only through a DP mechanism: one user can create a group on their own, and
its mere presence would reveal them. :func:`partition_selection` builds the
mechanism the aggregations use for a given ``(epsilon, delta)`` and limit
``max_partitions_per_user`` (L0), and answers what a user or an auditor asks
of it: the cost, the probability that a group of ``n`` users is kept, the
threshold, and the accuracy of the noisy user count it may release.

Each group is handled on its own with ε_p = ε/L0 and δ_p = δ/L0; a user
touches at most L0 groups, so the selection is (ε, δ)-DP by composition.
Two mechanisms (derivations and proofs in ``docs/privacy.md``, "Partition
selection"):

* :class:`OptimalSelection` (keep-or-drop, the default): a group of n users
  is kept with probability π(n), the largest any (ε_p, δ_p)-DP selection can
  give at every n (Desfontaines, Voss, Gipson & Mandayam, PoPETs 2022):
  π(0) = 0, π(n) = min(e^ε_p π(n−1) + δ_p, 1 − e^(−ε_p)(1 − π(n−1) − δ_p), 1).
  For releases whose values get noise of their own (sums, averages, counts
  of rows).
* :class:`NoisyCountSelection` (``noisy_counts=True``): a noise Z is added
  to the user count and the group is kept when n + Z ≥ τ = k + 1; the noisy
  count of a kept group is released within the same (ε, δ), so counts of
  distinct users and top-n spend their whole budget on one noise. Z has the
  smallest support {−k, ..., k} whose edges carry at most δ_p and whose
  neighbouring probabilities differ by at most e^ε_p:
  P(Z = ±j) = u·(1 − q)·q^(j−1) / (2·(1 − q^k)) for 1 ≤ j ≤ k, with
  q = e^(−ε') (ε' ≤ ε_p the exact rate of the sampler's discrete Laplace),
  and P(Z = 0) = 1 − u within e^(±ε') of P(Z = ±1). For a per-group ε
  below :data:`MIN_EPSILON`, untruncated discrete Laplace noise with the
  tight tail P(Z ≥ τ − 1) ≤ δ_p.

Sampling is exact: Bernoulli draws compare two random words with a
probability on the 2**-128 grid, and the truncated noise is built from the
library's exact discrete Laplace sampler (a geometric magnitude, rejected
beyond the support, and a random sign).

Examples
--------
>>> import loopkit_privacy as lp
>>> sel = lp.partition_selection(epsilon=1.0, delta=1e-5)
>>> sel.median_users, sel.threshold
(12, 23)
>>> sel.keep_probability(1) <= 1e-5, sel.keep_probability(23)
(True, 1.0)
>>> lp.partition_selection(epsilon=1.0, delta=1e-5, noisy_counts=True).threshold
12
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from loopkit_privacy import noise
from loopkit_privacy._typing import BoolArray, FloatArray, IntArray
from loopkit_privacy._validate import (
    check_bool,
    check_delta,
    check_level,
    check_positive,
    check_positive_int,
)
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.loss import ApproxDP
from loopkit_privacy.random import RandomSource, resolve_rng

__all__ = [
    "MIN_EPSILON",
    "NoisyCountSelection",
    "OptimalSelection",
    "PartitionSelection",
    "partition_selection",
]

#: Smallest per-group ε (ε / L0) for the optimal truncated selection; below
#: it, thresholding of untruncated discrete Laplace noise is used.
MIN_EPSILON = 1e-4

#: Pre-thresholds are capped here (no count of users comes close).
MAX_MIN_USERS = 1 << 62

#: Relative margin kept on every constraint of the truncated distribution,
#: far above the float error of computing it (about 1e-13 relative).
_MARGIN = 1e-9

#: Rejection rounds before the sampler gives up (each keeps a candidate
#: with probability >= 1 - q^k; failing is far less likely than 2**-60).
_MAX_ROUNDS = 4096


@dataclass(frozen=True, repr=False)
class PartitionSelection:
    """Partition selection for one ``(epsilon, delta, max_partitions_per_user)``.

    Built by :func:`partition_selection`; see the module docstring for the
    mechanisms. The aggregations use the same objects.

    Attributes
    ----------
    epsilon, delta : float
        The whole selection's cost, (ε, δ).
    max_partitions_per_user : int
        L0: each group gets ε/L0 and δ/L0.
    threshold : int
        For a noisy-count selection, τ: a group is kept when its noisy user
        count n + Z is at least τ. For the optimal keep-or-drop selection,
        the smallest n whose group is always kept.

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> sel = lp.partition_selection(epsilon=1.0, delta=1e-6)
    >>> isinstance(sel, lp.PartitionSelection), sel.cost
    (True, ApproxDP(epsilon=1.0, delta=1e-06))
    """

    epsilon: float
    delta: float
    max_partitions_per_user: int
    threshold: int
    #: Whether :meth:`select` also returns a noisy user count worth releasing.
    noisy_counts: bool = False
    #: Pre-threshold m: the mechanism sees max(0, n − m + 1), so a group of
    #: fewer than m users is never kept (1: no pre-threshold).
    min_users: int = 1

    @property
    def cost(self) -> ApproxDP:
        """The privacy cost of the whole selection, ``ApproxDP(epsilon, delta)``.

        Examples
        --------
        >>> partition_selection(epsilon=0.5, delta=1e-7).cost
        ApproxDP(epsilon=0.5, delta=1e-07)
        """
        return ApproxDP(self.epsilon, self.delta)

    @property
    def name(self) -> str:
        """The mechanism's name on receipts and in ``ReleaseInfo``.

        Examples
        --------
        >>> partition_selection(epsilon=1.0, delta=1e-6).name
        'optimal_selection'
        >>> partition_selection(epsilon=1.0, delta=1e-6, noisy_counts=True).name
        'truncated_discrete_laplace'
        """
        raise NotImplementedError

    def _keep(self, n: IntArray) -> FloatArray:
        raise NotImplementedError

    def keep_probability(self, n: Any) -> Any:
        """Probability that a group with ``n`` (bounded) users is kept.

        Parameters
        ----------
        n : int or array of int
            Number of distinct users in the group, >= 0.

        Returns
        -------
        float or numpy.ndarray
            0 at n = 0, at most δ/L0 at n = 1, non-decreasing, 1 from
            some n on.

        Examples
        --------
        >>> sel = partition_selection(epsilon=1.0, delta=1e-6)
        >>> float(sel.keep_probability(0)), sel.keep_probability([1, 60]).tolist()
        (0.0, [9.999999e-07, 1.0])
        """
        arr = np.asarray(n)
        if arr.dtype.kind not in "iu" or (arr < 0).any():
            raise InvalidParameterError(
                f"`n` must be a count of users (integers >= 0), got {n!r}",
                parameter="n",
                value=n,
            )
        flat = self._shifted(arr.astype(np.int64).ravel())
        p = np.where(flat > 0, np.clip(self._keep(flat), 0.0, 1.0), 0.0)
        return float(p[0]) if arr.ndim == 0 else p.reshape(arr.shape)

    def _shifted(self, n: IntArray) -> IntArray:
        """The count the mechanism sees: max(0, n − min_users + 1)."""
        out: IntArray = np.maximum(n - (self.min_users - 1), 0)
        return out

    @property
    def median_users(self) -> int:
        """The smallest number of users whose group is kept with probability >= 1/2.

        Examples
        --------
        >>> partition_selection(epsilon=1.0, delta=1e-5).median_users
        12
        """
        lo, hi = 1, max(1, self.threshold) * 2 + 2
        while lo < hi:
            mid = (lo + hi) // 2
            if float(self._keep(np.array([mid], dtype=np.int64))[0]) >= 0.5:
                hi = mid
            else:
                lo = mid + 1
        return lo + self.min_users - 1

    def select(
        self, users: Any, rng: RandomSource | None = None
    ) -> tuple[BoolArray, IntArray | None]:
        """Which groups are kept (and, for a noisy-count selection, their noisy counts).

        Parameters
        ----------
        users : array of int
            Bounded distinct-user count of each group (each user in at most
            ``max_partitions_per_user`` groups).
        rng : SecureRandom or InsecureSeededRandom, optional
            Entropy source; secure by default.

        Returns
        -------
        keep : numpy.ndarray of bool
        noisy : numpy.ndarray of int64 or None
            ``users + Z`` for a noisy-count selection (release it only where
            ``keep``), else ``None``.

        Examples
        --------
        >>> import numpy as np, loopkit_privacy as lp
        >>> sel = lp.partition_selection(epsilon=1.0, delta=1e-6)
        >>> keep, _ = sel.select(np.array([1, 500]), lp.random.InsecureSeededRandom(2))
        >>> keep.tolist()
        [False, True]
        """
        n = np.asarray(users, dtype=np.int64)
        keep, noisy = self._select(self._shifted(n), resolve_rng(rng))
        if noisy is not None:
            noisy = noisy + (self.min_users - 1)  # the noisy count of n itself
        return keep, noisy

    def _select(
        self, n: IntArray, source: RandomSource
    ) -> tuple[BoolArray, IntArray | None]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(epsilon={self.epsilon!r}, delta={self.delta!r}, "
            f"max_partitions_per_user={self.max_partitions_per_user}, "
            f"threshold={self.threshold})"
        )


@dataclass(frozen=True, repr=False)
class OptimalSelection(PartitionSelection):
    """Keep a group of n users with probability π(n), the optimum (no noisy count).

    π(n) = min(e^ε π(n−1) + δ, 1 − e^−ε (1 − π(n−1) − δ), 1) per group,
    computed with ε = min(ε/L0, 20) and δ = δ/L0 each lowered by a relative
    1e-7 (a smaller ε and δ only make it more private; the margin is far
    above the float error of the closed forms below). On the rising branch
    (π below about 1/2) π itself is computed; on the falling branch the
    probability 1 − π of dropping the group, so that neither loses digits
    near 1. The draw compares two random words with the probability on a
    2**-128 grid: π rounded down, or 1 − π rounded up
    (:meth:`exact_keep_probability`).
    """

    _eps_m: float = 0.0
    _delta_m: float = 0.0
    _switch: int = 1  # first n on the falling branch of π

    @property
    def name(self) -> str:
        """``"optimal_selection"`` (keep-or-drop, Desfontaines et al. 2022)."""
        return "optimal_selection"

    def _branches(self, n: IntArray) -> tuple[BoolArray, FloatArray, FloatArray]:
        """Rising-branch mask, π there, and 1 − π on the falling branch."""
        e, d = self._eps_m, self._delta_m
        m = self._switch
        x = n.astype(np.float64)
        rising = n < m
        pi = (
            d
            * np.expm1(np.minimum(np.where(rising, x, 0.0) * e, 700.0))
            / math.expm1(e)
        )
        # Falling: 1 − π decays as q* + e^(−(n − m + 1)ε)(q(m−1) − q*), q* < 0.
        q_star = -d / math.expm1(e)
        q0 = 1.0 - d * math.expm1((m - 1) * e) / math.expm1(e)
        steps = np.maximum(x - (m - 1), 0.0)
        drop = np.maximum(q_star + np.exp(-steps * e) * (q0 - q_star), 0.0)
        return rising, pi, drop

    def _keep(self, n: IntArray) -> FloatArray:
        rising, pi, drop = self._branches(n)
        out: FloatArray = np.where(rising, pi, 1.0 - drop)
        return out

    def exact_keep_probability(self, n: int) -> Fraction:
        """The exact probability with which a group of ``n`` users is kept.

        A dyadic rational on the 2**-128 grid: what :meth:`select` draws
        with (for auditors; :meth:`keep_probability` is its float).

        Parameters
        ----------
        n : int
            Number of users (>= 0).

        Returns
        -------
        fractions.Fraction

        Examples
        --------
        >>> sel = partition_selection(epsilon=1.0, delta=1e-6)
        >>> sel.exact_keep_probability(1) <= Fraction(1, 10**6)
        True
        """
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise InvalidParameterError(
                f"`n` must be a count of users (an integer >= 0), got {n!r}",
                parameter="n",
                value=n,
            )
        count = max(0, int(n) - (self.min_users - 1))
        if count == 0:
            return Fraction(0)
        rising, pi, drop = self._branches(np.array([count], dtype=np.int64))
        one = Fraction(1)
        if rising[0]:
            return Fraction(math.floor(math.ldexp(float(pi[0]), 128)), 1 << 128)
        return one - Fraction(math.ceil(math.ldexp(float(drop[0]), 128)), 1 << 128)

    def _select(
        self, n: IntArray, source: RandomSource
    ) -> tuple[BoolArray, IntArray | None]:
        rising, pi, drop = self._branches(n)
        # A group is kept when U < p, U uniform on the 2**-128 grid (two
        # words) and p = hi/2**64 + lo/2**128 exactly: π floored on the
        # rising branch, 1 − (1 − π ceiled) on the falling one.
        x = np.where(rising, pi, drop) * 2.0**64
        hi_f = np.floor(x)
        frac = (x - hi_f) * 2.0**64
        lo_f = np.where(rising, np.floor(frac), np.ceil(frac))
        hq, lq = hi_f.astype(np.uint64), lo_f.astype(np.uint64)
        always = ~rising & (hq == 0) & (lq == 0)
        # 2**128 − (hq, lq), for the falling branch (never 2**128: not always).
        borrow = (lq != 0).astype(np.uint64)
        hi = np.where(rising, hq, ~hq + np.uint64(1) - borrow)
        lo = np.where(rising, lq, np.uint64(0) - lq)
        w1, w2 = source.words(n.shape[0]), source.words(n.shape[0])
        keep = always | (w1 < hi) | ((w1 == hi) & (w2 < lo))
        return keep & (n > 0), None


@dataclass(frozen=True, repr=False)
class NoisyCountSelection(PartitionSelection):
    """Keep a group when its noisy user count n + Z reaches the threshold.

    Z is the truncated noise of the module docstring (``support`` k), or for
    a per-group ε below :data:`MIN_EPSILON` untruncated discrete Laplace
    noise (``support`` None). The noisy count of a kept group may be
    released: it is part of the same (ε, δ).
    """

    support: int | None = None
    scale: float = 0.0
    _lap: noise.DiscreteLaplaceParameters | None = None
    # P(Z = 0) = zero / 2**128 exactly, drawn by comparing two random words
    # with (zero >> 64, zero mod 2**64).
    _zero: int = 0
    _u: float = 1.0  # P(Z != 0) (rounded to a float)
    noisy_counts: bool = True

    @property
    def truncated(self) -> bool:
        """Whether the truncated noise is used (else untruncated discrete Laplace)."""
        return self.support is not None

    @property
    def name(self) -> str:
        """The noise: ``"truncated_discrete_laplace"`` or ``"discrete_laplace"``."""
        return "truncated_discrete_laplace" if self.truncated else "discrete_laplace"

    @property
    def granularity(self) -> None:
        """Integer noise on integer counts: no grid (always ``None``)."""
        return None

    @property
    def _log_q(self) -> float:
        assert self._lap is not None
        return -math.ldexp(1.0, self._lap.m) / self._lap.t

    def _tail(self, s: FloatArray) -> FloatArray:
        """P(Z >= s) for integer-valued floats ``s``."""
        log_q = self._log_q
        q = math.exp(log_q)
        if not self.truncated:
            # Untruncated discrete Laplace: P(Z >= s) = q^s / (1 + q) for s >= 1.
            pos = np.exp(np.maximum(s, 1.0) * log_q) / (1.0 + q)
            neg = 1.0 - np.exp(np.maximum(1.0 - s, 1.0) * log_q) / (1.0 + q)
            return np.where(s >= 1.0, pos, neg)
        k = float(self.support or 0)
        u = self._u
        qk = math.exp(k * log_q)
        # For 1 <= s <= k: u/2 · (q^(s-1) - q^k) / (1 - q^k).
        sp = np.clip(s, 1.0, k + 1.0)
        upper = u / 2.0 * (np.exp((sp - 1.0) * log_q) - qk) / (1.0 - qk)
        sn = np.clip(1.0 - s, 1.0, k + 1.0)
        lower = 1.0 - u / 2.0 * (np.exp((sn - 1.0) * log_q) - qk) / (1.0 - qk)
        return np.where(s >= 1.0, upper, lower)

    def _keep(self, n: IntArray) -> FloatArray:
        return self._tail((self._tau - n).astype(np.float64))

    @property
    def _tau(self) -> int:
        """The threshold on the shifted count (``threshold`` is on n itself)."""
        return self.threshold - (self.min_users - 1)

    def accuracy(self, confidence: float = 0.95) -> float:
        """Half-width h of the noisy user count: P(|Z| <= h) >= ``confidence``.

        Parameters
        ----------
        confidence : float
            In (0, 1).

        Returns
        -------
        float

        Examples
        --------
        >>> partition_selection(epsilon=1.0, delta=1e-6, noisy_counts=True).accuracy(0.95)
        3.0
        """
        level = check_level(confidence, "confidence")
        log_q = self._log_q
        # P(|Z| <= h) = 1 - 2 P(Z >= h + 1): the smallest such integer h.
        target = (1.0 - level) / 2.0
        lo = 0
        hi = (
            int(self.support or 0)
            if self.truncated
            else max(1, math.ceil(math.log(target) / log_q) + 2)
        )
        while lo < hi:
            mid = (lo + hi) // 2
            if float(self._tail(np.array([mid + 1.0]))[0]) <= target * (1 - 1e-12):
                hi = mid
            else:
                lo = mid + 1
        return float(lo)

    def sample_noise(self, n: int, rng: RandomSource | None = None) -> IntArray:
        """``n`` exact draws of the selection noise Z (int64).

        Parameters
        ----------
        n : int
            Number of draws (>= 0).
        rng : SecureRandom or InsecureSeededRandom, optional
            Entropy source; secure by default.

        Returns
        -------
        numpy.ndarray of int64

        Examples
        --------
        >>> import loopkit_privacy as lp
        >>> sel = lp.partition_selection(epsilon=1.0, delta=1e-6, noisy_counts=True)
        >>> z = sel.sample_noise(1000, lp.random.InsecureSeededRandom(0))
        >>> bool((abs(z) <= sel.support).all())
        True
        """
        count = int(n)
        source = resolve_rng(rng)
        assert self._lap is not None
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        if not self.truncated:
            return noise.draw_parameters(self._lap, count, source)
        k = int(self.support or 0)
        hi, lo = np.uint64(self._zero >> 64), np.uint64(self._zero & ((1 << 64) - 1))
        w1, w2 = source.words(count), source.words(count)
        zero = (w1 < hi) | ((w1 == hi) & (w2 < lo))
        signs = (source.words(count) >> np.uint64(63)).astype(np.int64) * 2 - 1
        magnitude = np.empty(count, dtype=np.int64)
        todo = np.arange(count)
        for _ in range(_MAX_ROUNDS):
            d = noise.draw_parameters(self._lap, todo.shape[0], source)
            g = np.where(d >= 0, d, -d - 1)  # geometric: P(g) = (1 - q) q^g
            ok = g <= k - 1
            magnitude[todo[ok]] = g[ok] + 1
            todo = todo[~ok]
            if todo.shape[0] == 0:
                break
        else:  # pragma: no cover - probability far below 2**-60
            raise RuntimeError("partition selection noise: rejection did not finish")
        out: IntArray = np.where(zero, 0, signs * magnitude)
        return out

    def _select(
        self, n: IntArray, source: RandomSource
    ) -> tuple[BoolArray, IntArray | None]:
        noisy = n + self.sample_noise(n.shape[0], source)
        return (noisy >= self._tau) & (n > 0), noisy


def _untruncated_threshold(log_q: float, log_target: float) -> int:
    """Smallest τ with P(Z >= τ - 1) <= target for discrete Laplace Z (τ >= 2)."""
    log_1q = math.log1p(math.exp(log_q))
    # P(Z >= j) = q^j / (1 + q) for j >= 1.
    j = max(1, math.ceil((log_target + log_1q) / log_q))
    while j * log_q - log_1q > log_target + math.log1p(-1e-12):
        j += 1
    return min(j, (1 << 62) - 2) + 1


def _truncated(log_q: float, delta_p: float, eps_rate: float) -> tuple[int, float]:
    """The support k and P(Z != 0) = u of the optimal truncated noise."""
    q = math.exp(log_q)
    e_up = math.exp(min(eps_rate, 700.0))
    e_down = math.exp(-eps_rate)

    def shape(k: int) -> tuple[float, float]:
        # A = P(Z = 1)/u and log(P(Z = k)/u).
        qk = math.exp(k * log_q)
        a = (1.0 - q) / (2.0 * (1.0 - qk)) if qk < 1.0 else 0.5 / k
        return a, math.log(a) + (k - 1) * log_q

    def u_delta(k: int) -> float:
        # The largest u with P(Z = ±k) <= δ_p (with margin).
        _, log_edge = shape(k)
        return math.exp(math.log(delta_p * (1.0 - _MARGIN)) - log_edge)

    def u_low(k: int) -> float:
        # P(Z = 0) <= e^ε' P(Z = 1) ⇔ u >= 1 / (1 + e^ε' A).
        a, _ = shape(k)
        return 1.0 / (1.0 + e_up * a * (1.0 - _MARGIN))

    # Smallest k with u_delta(k) >= u_low(k): u_delta grows like q^-k.
    hi = 1
    while u_delta(hi) < u_low(hi):
        hi *= 2
        if hi > 1 << 62:  # pragma: no cover - refused by MIN_EPSILON
            raise AssertionError("partition selection: no support found")
    lo = max(1, hi // 2)
    while lo < hi:
        mid = (lo + hi) // 2
        if u_delta(mid) >= u_low(mid):
            hi = mid
        else:
            lo = mid + 1
    k = lo
    a, _ = shape(k)
    # P(Z = 0) >= e^-ε' P(Z = 1) ⇔ u <= 1 / (1 + e^-ε' A); and u <= 1.
    u_cap = 1.0 / (1.0 + e_down * a * (1.0 + _MARGIN))
    return k, min(u_delta(k), u_cap, 1.0)


def _optimal(eps_p: float, delta_p: float) -> tuple[float, float, int, int]:
    """Margins, the switch point and the always-kept n of the optimal selection."""
    # Computing with a smaller ε (capped where e^ε would overflow) and δ
    # only makes the selection more private.
    e = min(eps_p, 20.0) * (1.0 - 1e-7)
    d = delta_p * (1.0 - 1e-7)
    growth = math.expm1(e)

    def rising(n: int) -> float:
        return d * math.expm1(min(n * e, 700.0)) / growth

    def falls(n: int) -> bool:
        # At n the falling bound 1 − e^−ε(1 − π(n−1) − δ) is below the rising one.
        prev = rising(n - 1)
        return 1.0 - math.exp(-e) * (1.0 - prev - d) < rising(n)

    hi = 1
    while not falls(hi):
        hi *= 2
    lo = max(1, hi // 2)
    while lo < hi:
        mid = (lo + hi) // 2
        if falls(mid):
            hi = mid
        else:
            lo = mid + 1
    switch = lo
    # 1 − π decays geometrically towards q* < 0: π reaches 1 after about
    # log((q0 − q*)/−q*)/ε steps; the exact first n is found around it.
    q_star = -d / growth
    q0 = 1.0 - rising(switch - 1)

    def one(n: int) -> bool:
        steps = n - (switch - 1)
        return n >= switch and q_star + math.exp(-steps * e) * (q0 - q_star) <= 0.0

    guess = switch - 1 + max(1, math.ceil(math.log((q0 - q_star) / -q_star) / e))
    always = max(switch, guess - 2)
    while not one(always):
        always += 1
    return e, d, switch, always


def partition_selection(
    *,
    epsilon: float,
    delta: float,
    max_partitions_per_user: int = 1,
    noisy_counts: bool = False,
    min_users: int = 1,
) -> PartitionSelection:
    """The partition selection mechanism for ``(epsilon, delta)`` and L0.

    Parameters
    ----------
    epsilon : float
        ε of the whole selection (> 0; each group needs ε/L0 >= 2**-39).
    delta : float
        δ of the whole selection, in (0, 1).
    max_partitions_per_user : int
        L0: how many groups one user may contribute to (>= 1).
    noisy_counts : bool
        ``False`` (default): the optimal keep-or-drop selection
        (:class:`OptimalSelection`), for releases whose values get their
        own noise. ``True``: a noisy user count per group, thresholded
        (:class:`NoisyCountSelection`), whose noisy counts may be released
        within the same cost (counts of distinct users, top-n).
    min_users : int
        Pre-threshold m (>= 1): the mechanism is applied to max(0, n − m + 1)
        users, so a group of fewer than m users is never kept, at no extra
        cost (the shifted count still changes by at most 1 per user).

    Returns
    -------
    PartitionSelection

    Raises
    ------
    InvalidParameterError
        For a parameter out of range, naming it.

    Notes
    -----
    Privacy. Each group gets (ε/L0, δ/L0); see the module docstring and
    ``docs/privacy.md``.

    Examples
    --------
    >>> sel = partition_selection(epsilon=1.0, delta=1e-5, max_partitions_per_user=4)
    >>> sel.median_users, sel.cost
    (44, ApproxDP(epsilon=1.0, delta=1e-05))
    >>> partition_selection(epsilon=1.0, delta=1e-5, noisy_counts=True).threshold
    12
    >>> partition_selection(epsilon=1.0, delta=1e-5, min_users=20).keep_probability(19)
    0.0
    """
    eps = check_positive(epsilon, "epsilon")
    d = check_delta(delta)
    l0 = check_positive_int(max_partitions_per_user, "max_partitions_per_user")
    counts = check_bool(noisy_counts, "noisy_counts")
    # A pre-threshold beyond any count keeps nothing, as a larger one would:
    # capped so that the shifted counts stay int64.
    m = min(check_positive_int(min_users, "min_users", example="10"), MAX_MIN_USERS)
    shift = m - 1
    eps_p, delta_p = eps / l0, d / l0
    if eps_p < 2.0**-39:
        raise InvalidParameterError(
            f"`epsilon`={epsilon!r} is too small for partition selection over "
            f"max_partitions_per_user={l0} groups: each group needs epsilon/L0 >= "
            f"2**-39 (the exact sampler's range), i.e. epsilon >= {l0 * 2.0**-39:.6g}",
            parameter="epsilon",
            value=epsilon,
        )
    if not counts and delta_p >= 2.0**-60:
        e, dm, switch, always = _optimal(eps_p, delta_p)
        return OptimalSelection(
            epsilon=eps,
            delta=d,
            max_partitions_per_user=l0,
            threshold=always + shift,
            noisy_counts=False,
            min_users=m,
            _eps_m=e,
            _delta_m=dm,
            _switch=switch,
        )
    # A scale below the sampler's smallest is raised (more noise, ε' < ε/L0).
    lap = noise.discrete_laplace_parameters(max(1.0 / eps_p, noise.MIN_SCALE))
    log_q = -math.ldexp(1.0, lap.m) / lap.t
    if eps_p >= MIN_EPSILON:
        k, u = _truncated(log_q, delta_p, -log_q)
        # P(Z != 0) on the 2**-128 grid, rounded down (a relative change
        # below 2**-40, inside the margins) when it is not too small.
        nonzero = int(math.ldexp(u, 128))
        if nonzero >= 1 << 48:
            return NoisyCountSelection(
                epsilon=eps,
                delta=d,
                max_partitions_per_user=l0,
                threshold=k + 1 + shift,
                min_users=m,
                support=k,
                scale=lap.scale,
                _lap=lap,
                _zero=(1 << 128) - nonzero,
                _u=math.ldexp(float(nonzero), -128),
            )
    tau = _untruncated_threshold(log_q, math.log(delta_p))
    return NoisyCountSelection(
        epsilon=eps,
        delta=d,
        max_partitions_per_user=l0,
        threshold=tau + shift,
        min_users=m,
        support=None,
        scale=lap.scale,
        _lap=lap,
    )
