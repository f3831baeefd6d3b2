r"""The empirical privacy auditor: a statistical lower bound on ε.

Run a randomised function many times on two neighbouring inputs ``d0`` and
``d1``, pick the events that tell the two output distributions apart best on
one half of the trials, and bound their probabilities on the other half with
exact (Clopper–Pearson) binomial confidence bounds. An (ε, δ)-DP function
satisfies, for every event E and both orders of the inputs,

.. math::

    P[M(d_0) \in E] \le e^{\varepsilon} P[M(d_1) \in E] + \delta ,

so ``ln((p0_low - δ) / p1_high)`` is a lower bound on the ε of the function
that holds with the stated confidence. An audit can show that a claim is
false (the bound exceeds the claimed ε); it can never prove a claim true.

The events are thresholds on numeric features of the output (the value, each
coordinate, each released key's presence and value, the number of released
keys, the low bits of floating-point outputs; see
:mod:`loopkit_privacy.audit._features`), with their complements, in both
directions.

Statistics. The trials of each input are split in two halves. On the
*selection* half every candidate event is scored; the ``events`` best
(event, direction) pairs go to the *evaluation* half, which has played no
part in choosing them. There each pair needs two one-sided Clopper–Pearson
bounds; with ``2·events`` bounds at level ``α / (2·events)`` each
(Bonferroni), all hold at once with probability at least ``1 - α``, where
``α = 1 - confidence``. So the reported bound exceeds the function's true ε
with probability at most ``α``: that is the false-failure rate of an audit.
Aggregation trials share one bounding key (see
:func:`loopkit_privacy.audit.aggregation_trials`): conditionally on the key
they are independent draws of one DP mechanism, so the binomial bounds apply.

References
----------
Jagielski, Ullman & Oprea (2020), "Auditing Differentially Private Machine
Learning: How Private is Private SGD?". Mironov (2012), "On significance of
the least significant bits for differential privacy". Clopper & Pearson
(1934).
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from loopkit_privacy._typing import AnyArray
from loopkit_privacy._validate import check_delta, check_level, check_positive_int
from loopkit_privacy.audit._args import (
    check_callable,
    check_integer_array,
    check_nonnegative,
    check_optional_bool,
    check_optional_callable,
    check_optional_nonnegative,
    check_probability,
    check_str,
    check_trials,
)
from loopkit_privacy.audit._features import KeyedOutputs, as_keyed, featurize
from loopkit_privacy.errors import InvalidParameterError, PrivacyError

__all__ = [
    "AuditResult",
    "PrivacyViolationError",
    "assert_dp",
    "clopper_pearson",
    "estimate_epsilon",
]

#: Default confidence of an audit: it reports a bound above the true ε with
#: probability at most 1e-6 (its false-failure rate).
DEFAULT_CONFIDENCE = 1.0 - 1e-6
#: Default number of (event, direction) pairs evaluated on the held-out half.
DEFAULT_EVENTS = 4
_MAX_THRESHOLDS = 256
_MAX_SCORED = 2048
_FIRST_BATCH = 4096
_BATCH_CELLS = 1 << 23  # trials x output width held in memory at once


class PrivacyViolationError(PrivacyError, AssertionError):
    """An audit found a lower bound on ε above the claimed ε.

    Raised by :func:`assert_dp`. It is an ``AssertionError``, so pytest and
    hypothesis report it as a failed test.

    Attributes
    ----------
    result : AuditResult
        The audit that failed.
    """

    def __init__(self, message: str, *, result: AuditResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class AuditResult:
    """What an audit found.

    Attributes
    ----------
    epsilon_lower_bound : float
        ε is at least this, with probability ``confidence`` (0 when no event
        separated the outputs).
    epsilon_estimate : float
        The same ratio from point estimates on the evaluation half (not a
        bound; it can exceed the true ε by chance).
    delta : float
        The δ at which the bound is computed (the claimed δ).
    confidence : float
        ``1 - α``: the bound exceeds the true ε with probability at most α.
    trials : int
        Trials per input (half select the events, half evaluate them).
    event : str
        The event and direction that gave the bound.
    p_numerator, p_denominator : float
        Point estimates of ``P[M(d_a) ∈ E]`` and ``P[M(d_b) ∈ E]``.
    p_numerator_low, p_denominator_high : float
        Their Clopper–Pearson bounds (each at ``α / (2·events_tested)``).
    events_tested : int
        (event, direction) pairs evaluated on the held-out half.
    candidates : int
        Events scored on the selection half.
    claimed_epsilon : float or None
        The claim the audit checks (``None`` for a bare estimate).
    name : str
        A label for reports.
    seconds : float
        Wall time of the trials and the statistics.

    Examples
    --------
    >>> r = AuditResult(0.9, 1.0, 0.0, 0.999999, 10**5, "E", 0.5, 0.2, 0.49, 0.21,
    ...                 4, 100, claimed_epsilon=1.0)
    >>> r.passed
    True
    """

    epsilon_lower_bound: float
    epsilon_estimate: float
    delta: float
    confidence: float
    trials: int
    event: str
    p_numerator: float
    p_denominator: float
    p_numerator_low: float
    p_denominator_high: float
    events_tested: int
    candidates: int
    claimed_epsilon: float | None = None
    name: str = ""
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True unless the lower bound exceeds the claimed ε.

        Examples
        --------
        >>> r = AuditResult(1.5, 1.6, 0.0, 0.999999, 10**5, "value >= 1", 0.5, 0.1,
        ...                 0.49, 0.11, 4, 100, claimed_epsilon=1.0)
        >>> r.passed  # a lower bound of 1.5 refutes the claim ε = 1
        False
        >>> AuditResult(1.5, 1.6, 0.0, 0.999999, 10**5, "value >= 1", 0.5, 0.1,
        ...             0.49, 0.11, 4, 100).passed  # no claim: nothing to refute
        True
        """
        return self.claimed_epsilon is None or not (
            self.epsilon_lower_bound > self.claimed_epsilon
        )

    @property
    def trials_per_second(self) -> float:
        """Trials (of both inputs together) per second of wall time.

        ``inf`` when no time was recorded.

        Examples
        --------
        >>> r = AuditResult(0.9, 1.0, 0.0, 0.999999, 10**5, "value >= 1", 0.5, 0.2,
        ...                 0.49, 0.21, 4, 100, seconds=2.0)
        >>> r.trials_per_second
        100000.0
        """
        return 2 * self.trials / self.seconds if self.seconds > 0 else math.inf

    def summary(self) -> str:
        """One readable paragraph: the claim, the bound and the event.

        Returns
        -------
        str

        Examples
        --------
        >>> r = AuditResult(0.9, 1.0, 0.0, 0.999999, 10**5, "value >= 1", 0.5, 0.2,
        ...                 0.49, 0.21, 4, 100, claimed_epsilon=1.0, name="geometric")
        >>> print(r.summary())  # doctest: +NORMALIZE_WHITESPACE
        PASS: geometric: claimed ε=1 (δ=0); ε >= 0.9 with confidence 1 - 1e-06
        from 100000 trials per input (point estimate 1); event value >= 1:
        0.5 [>= 0.49] vs 0.2 [<= 0.21]
        """
        claim = (
            ""
            if self.claimed_epsilon is None
            else f"claimed ε={self.claimed_epsilon:g} (δ={self.delta:g}); "
        )
        verdict = (
            ""
            if self.claimed_epsilon is None
            else ("PASS: " if self.passed else "VIOLATION: ")
        )
        return (
            f"{verdict}{self.name + ': ' if self.name else ''}{claim}"
            f"ε >= {self.epsilon_lower_bound:.4g} with confidence "
            f"1 - {1 - self.confidence:.2g} from {self.trials} trials per input "
            f"(point estimate {self.epsilon_estimate:.4g}); event {self.event}: "
            f"{self.p_numerator:.4g} [>= {self.p_numerator_low:.4g}] vs "
            f"{self.p_denominator:.4g} [<= {self.p_denominator_high:.4g}]"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field plus ``passed``.

        Non-finite floats become strings (``"inf"``), which JSON can hold.

        Returns
        -------
        dict

        Examples
        --------
        >>> r = AuditResult(0.9, 1.0, 0.0, 0.999999, 10**5, "value >= 1", 0.5, 0.2,
        ...                 0.49, 0.21, 4, 100, claimed_epsilon=1.0)
        >>> d = r.to_dict()
        >>> d["epsilon_lower_bound"], d["claimed_epsilon"], d["passed"]
        (0.9, 1.0, True)
        """
        out = asdict(self)
        out["passed"] = self.passed
        for key, value in list(out.items()):
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = str(value)
        return out


# ---------------------------------------------------------------------------
# Binomial bounds
# ---------------------------------------------------------------------------


def clopper_pearson(
    successes: Any, trials: Any, alpha: float
) -> tuple[AnyArray, AnyArray]:
    """One-sided Clopper–Pearson bounds, each failing with probability <= ``alpha``.

    Parameters
    ----------
    successes, trials : int or array_like of int
        Counts (broadcast together), with ``0 <= successes <= trials`` and
        ``trials >= 1``.
    alpha : float
        Error probability of *each* bound, strictly between 0 and 1.

    Returns
    -------
    (low, high) : numpy.ndarray
        ``P(p < low) <= alpha`` and ``P(p > high) <= alpha``.

    Raises
    ------
    InvalidParameterError
        For counts that are not integers, ``successes`` outside
        ``[0, trials]``, ``trials < 1`` or ``alpha`` outside (0, 1).

    Examples
    --------
    >>> low, high = clopper_pearson(50, 100, 0.025)
    >>> round(float(low), 3), round(float(high), 3)
    (0.398, 0.602)
    >>> clopper_pearson(0, 10, 0.05)[0].item()
    0.0
    """
    k = check_integer_array(successes, "successes", example="3")
    n = check_integer_array(trials, "trials", example="10")
    a = check_probability(alpha, "alpha", example="0.05")
    try:
        k, n = np.broadcast_arrays(k, n)
    except ValueError:
        raise InvalidParameterError(
            f"`successes` and `trials` must have shapes that broadcast together, "
            f"got {np.shape(k)} and {np.shape(n)}",
            parameter="trials",
            value=None,
        ) from None
    if (n < 1).any():
        raise InvalidParameterError(
            "`trials` must hold integers >= 1; pass e.g. trials=10",
            parameter="trials",
            value=trials if n.size == 1 else None,
        )
    if (k < 0).any():
        raise InvalidParameterError(
            "`successes` must hold integers >= 0; pass e.g. successes=3",
            parameter="successes",
            value=successes if k.size == 1 else None,
        )
    if (k > n).any():
        shown = (
            f", got successes={int(k.flat[0])} with trials={int(n.flat[0])}"
            if k.size == 1
            else ""
        )
        raise InvalidParameterError(
            f"`successes` cannot exceed `trials`{shown}; pass counts with "
            "0 <= successes <= trials",
            parameter="successes",
            value=successes if k.size == 1 else None,
        )
    return _clopper_pearson(k, n, a)


def _clopper_pearson(
    successes: Any, trials: Any, alpha: float
) -> tuple[AnyArray, AnyArray]:
    """:func:`clopper_pearson` without argument checks (for the auditor's own counts)."""
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, stats.beta.ppf(alpha, k, n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.ppf(1.0 - alpha, k + 1, n - k), 1.0)
    return np.nan_to_num(low, nan=0.0), np.nan_to_num(high, nan=1.0)


def _log_ratio(num_low: AnyArray, den_high: AnyArray, delta: float) -> AnyArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(num_low - delta) - np.log(den_high)
    return np.where(num_low > delta, out, -np.inf)


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------

_OPS = (">=", "<=", "not >=", "not <=", "defined", "undefined")


@dataclass(frozen=True)
class _Event:
    feature: str
    op: str
    threshold: float

    def indicator(self, x: AnyArray) -> AnyArray:
        with np.errstate(invalid="ignore"):
            if self.op == ">=":
                return x >= self.threshold
            if self.op == "<=":
                return x <= self.threshold
            if self.op == "not >=":
                return ~(x >= self.threshold)
            if self.op == "not <=":
                return ~(x <= self.threshold)
        if self.op == "defined":
            return ~np.isnan(x)
        return np.isnan(x)

    def describe(self) -> str:
        if self.op in ("defined", "undefined"):
            return f"{{{self.feature} {self.op}}}"
        return f"{{{self.feature} {self.op} {self.threshold:.17g}}}"


def _thresholds(pooled: AnyArray) -> AnyArray:
    v = pooled[~np.isnan(pooled)]
    if v.size == 0:
        return np.zeros(0)
    uniq: AnyArray = np.unique(v)
    if uniq.size <= _MAX_THRESHOLDS:
        return uniq
    tails = np.array([1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2])
    levels = np.unique(np.concatenate([np.linspace(0, 1, 193), tails, 1 - tails]))
    out: AnyArray = np.unique(np.quantile(v, levels, method="lower"))
    return out


def _counts(x: AnyArray, t: AnyArray) -> dict[str, AnyArray]:
    """Counts of every (op, threshold) event in ``x`` (NaN = undefined)."""
    v = np.sort(x[~np.isnan(x)])
    n = x.shape[0]
    ge = v.size - np.searchsorted(v, t, side="left")
    le = np.searchsorted(v, t, side="right")
    return {
        ">=": ge,
        "<=": le,
        "not >=": n - ge,
        "not <=": n - le,
        "defined": np.array([v.size]),
        "undefined": np.array([n - v.size]),
    }


def _candidate_scores(
    f0: dict[str, AnyArray],
    f1: dict[str, AnyArray],
    delta: float,
    alpha_each: float,
) -> list[tuple[float, _Event, int]]:
    """Score every event and direction on the selection half; best first.

    Direction ``a`` puts input ``a`` in the numerator of the ratio.
    """
    events: list[_Event] = []
    c0_parts: list[AnyArray] = []
    c1_parts: list[AnyArray] = []
    for name in sorted(f0):
        x0, x1 = f0[name], f1[name]
        t = _thresholds(np.concatenate([x0, x1]))
        k0, k1 = _counts(x0, t), _counts(x1, t)
        has_nan = bool(np.isnan(x0).any() or np.isnan(x1).any())
        for op in _OPS:
            if op in ("defined", "undefined"):
                if not has_nan:
                    continue
                events.append(_Event(name, op, math.nan))
            else:
                if t.size == 0:
                    continue
                events.extend(_Event(name, op, float(v)) for v in t)
            c0_parts.append(k0[op])
            c1_parts.append(k1[op])
    if not events:
        return []
    c0 = np.concatenate(c0_parts).astype(np.float64)
    c1 = np.concatenate(c1_parts).astype(np.float64)
    n0 = float(next(iter(f0.values())).shape[0])
    n1 = float(next(iter(f1.values())).shape[0])
    # A cheap, conservative-leaning score ranks all candidates; the exact
    # Clopper-Pearson score is computed for the best few only.
    z = math.sqrt(2.0 * math.log(1.0 / alpha_each))

    def rough(ca: AnyArray, na: float, cb: AnyArray, nb: float) -> AnyArray:
        lo = np.maximum(ca - z * np.sqrt(ca) - z * z / 2, 0.0) / na
        hi = (cb + z * np.sqrt(cb + 1.0) + z * z) / nb
        out: AnyArray = _log_ratio(lo, np.minimum(hi, 1.0), delta) + 1e-9 * (ca / na)
        return out

    rough_all = np.concatenate([rough(c0, n0, c1, n1), rough(c1, n1, c0, n0)])
    n_ev = len(events)
    top = np.argsort(-rough_all, kind="stable")[:_MAX_SCORED]
    direction = (top >= n_ev).astype(np.int64)
    idx = top % n_ev
    ca = np.where(direction == 0, c0[idx], c1[idx])
    cb = np.where(direction == 0, c1[idx], c0[idx])
    na = np.where(direction == 0, n0, n1)
    nb = np.where(direction == 0, n1, n0)
    low, _ = _clopper_pearson(ca, na, alpha_each)
    _, high = _clopper_pearson(cb, nb, alpha_each)
    exact = _log_ratio(low, high, delta)
    order = np.lexsort((-rough_all[top], -exact))
    return [(float(exact[i]), events[int(idx[i])], int(direction[i])) for i in order]


# ---------------------------------------------------------------------------
# Running the function
# ---------------------------------------------------------------------------


def is_vectorized(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` looks like ``fn(data, n)``: a second positional parameter without default.

    Examples
    --------
    >>> is_vectorized(lambda data, n: None), is_vectorized(lambda data: None)
    (True, False)
    """
    check_callable(fn, "fn", example="mech.randomize")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(positional) >= 2 and positional[1].default is inspect.Parameter.empty


def _n_of(out: Any) -> int:
    if isinstance(out, KeyedOutputs):
        return out.n
    return int(np.shape(out)[0]) if np.ndim(out) >= 1 else 1


def _merge(batches: list[dict[str, AnyArray]]) -> dict[str, AnyArray]:
    names: dict[str, None] = {}
    for b in batches:
        names.update(dict.fromkeys(b))
    merged = {}
    for name in names:
        parts = []
        for b in batches:
            n = next(iter(b.values())).shape[0]
            parts.append(b[name] if name in b else _missing(name, n))
        merged[name] = np.concatenate(parts)
    return merged


def _missing(name: str, n: int) -> AnyArray:
    # A key never released in these trials: absent (presence 0, value NaN).
    return np.zeros(n) if name.startswith("present[") else np.full(n, np.nan)


def collect(
    fn: Callable[..., Any],
    data: Any,
    trials: int,
    *,
    vectorized: bool,
    progress: Callable[[int], None] | None = None,
    references: tuple[float, ...] = (),
) -> dict[str, AnyArray]:
    """Run ``fn`` on ``data`` for ``trials`` trials and return its features."""
    if not vectorized:
        outputs = []
        step = max(1, trials // 100)
        for i in range(trials):
            outputs.append(fn(data))
            if progress is not None and (i + 1) % step == 0:
                progress(step)
        if progress is not None and trials % step:
            progress(trials % step)
        keyed = as_keyed(outputs)
        if keyed is not None:
            return featurize(keyed)
        return featurize(np.asarray(outputs), references)
    batches: list[dict[str, AnyArray]] = []
    done = 0
    size = min(trials, _FIRST_BATCH)
    while done < trials:
        out = fn(data, size)
        got = _n_of(out)
        if got != size:
            raise InvalidParameterError(
                f"a vectorised `fn(data, n)` must return n={size} outputs, got {got}; "
                "pass vectorized=False if `fn` takes one input only",
                parameter="fn",
            )
        feats = featurize(out, references)
        batches.append(feats)
        done += size
        if progress is not None:
            progress(size)
        width = max(1, len(feats))
        size = min(trials - done, max(_FIRST_BATCH, _BATCH_CELLS // width))
    return _merge(batches)


def _contrast_weights(
    sel0: dict[str, AnyArray], sel1: dict[str, AnyArray]
) -> dict[str, float]:
    """Signs of the value features whose means differ clearly between the inputs.

    Worked out on the selection half only: the ``contrast`` feature (the
    signed sum of those coordinates) is then one more candidate, so the
    evaluation half stays untouched and the bound stays valid. For noise
    added to several cells that one user moves at once (a cohort table, a
    vector release) it gathers the shift of every moved cell into one
    statistic, which no single-cell threshold sees.
    """
    weights: dict[str, float] = {}
    for name, x0 in sel0.items():
        if not name.startswith("value") or name not in sel1:
            continue
        x1 = sel1[name]
        if np.isnan(x0).any() or np.isnan(x1).any() or x0.size < 2:
            continue
        diff = float(x1.mean() - x0.mean())
        se = math.sqrt((x0.var() + x1.var()) / x0.size)
        if se > 0 and abs(diff) > 4.0 * se:
            weights[name] = 1.0 if diff > 0 else -1.0
    return weights if len(weights) > 1 else {}


def _contrast(feats: dict[str, AnyArray], weights: dict[str, float]) -> AnyArray:
    out = np.zeros(next(iter(feats.values())).shape[0], dtype=np.float64)
    for name, w in weights.items():
        out += w * feats[name]
    return out


def _references(d0: Any, d1: Any) -> tuple[float, ...]:
    """The inputs themselves, when they are the values of a real-valued query."""
    real = (float, np.floating)
    if isinstance(d0, real) and isinstance(d1, real):
        return (float(d0), float(d1))
    return ()


def _align(
    f0: dict[str, AnyArray], f1: dict[str, AnyArray]
) -> tuple[dict[str, AnyArray], dict[str, AnyArray]]:
    n0 = next(iter(f0.values())).shape[0]
    n1 = next(iter(f1.values())).shape[0]
    names = list(dict.fromkeys([*f0, *f1]))
    return (
        {k: f0[k] if k in f0 else _missing(k, n0) for k in names},
        {k: f1[k] if k in f1 else _missing(k, n1) for k in names},
    )


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------


def estimate_epsilon(
    fn: Callable[..., Any],
    d0: Any,
    d1: Any,
    *,
    trials: int = 100_000,
    delta: float = 0.0,
    confidence: float = DEFAULT_CONFIDENCE,
    events: int = DEFAULT_EVENTS,
    vectorized: bool | None = None,
    claimed_epsilon: float | None = None,
    name: str = "",
    progress: Callable[[int], None] | None = None,
) -> AuditResult:
    """Lower-bound the ε of ``fn`` from its outputs on two neighbouring inputs.

    Parameters
    ----------
    fn : callable
        The randomised function. Vectorised: ``fn(data, n)`` returns ``n``
        independent outputs (an array of shape ``(n,)`` or ``(n, d)``, or
        :class:`KeyedOutputs`). Plain: ``fn(data)`` returns one output (a
        number, an array, a ``{key: value}`` dict or a released table) and
        is called ``trials`` times per input. Give it no accountant, or a
        fresh one per call.
    d0, d1 : object
        Neighbouring inputs (e.g. tables that differ in all rows of one user,
        or query values that differ by at most the sensitivity).
    trials : int
        Trials per input; half choose the events, half evaluate them.
    delta : float
        The δ at which ε is bounded (the claimed δ of an (ε, δ) mechanism).
    confidence : float
        ``1 - α``; the bound exceeds the true ε with probability at most α.
    events : int
        (event, direction) pairs carried to the evaluation half; the
        Bonferroni correction is over ``2·events`` bounds.
    vectorized : bool, optional
        Whether ``fn`` takes ``(data, n)``. By default this is read from its
        signature: vectorised when it has a second positional parameter
        without a default (see :func:`is_vectorized`).
    claimed_epsilon : float, optional
        Recorded on the result, which then says whether it ``passed``.
    name : str
        A label for reports.
    progress : callable, optional
        Called with the number of trials just finished (for progress bars).

    Returns
    -------
    AuditResult

    Raises
    ------
    InvalidParameterError
        For bad parameters (checked before ``fn`` is first called) or
        outputs of an unsupported kind; ``parameter`` names the argument.

    Notes
    -----
    Privacy. The bound is valid for any event family, because the events
    are chosen on trials that are not used to evaluate them: with probability
    at least ``confidence`` the true ε of ``fn`` (at this δ) is at least the
    reported bound. A low bound does not show that ``fn`` is private: only
    the events and inputs tried were tested.

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> mech = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
    >>> r = estimate_epsilon(mech.randomize, 0, 1, trials=20_000)
    >>> 0.5 < r.epsilon_lower_bound <= 1.0
    True
    """
    check_callable(fn, "fn", example="mech.randomize")
    n = check_trials(trials)
    d = check_delta(delta, allow_zero=True)
    conf = check_level(confidence, "confidence")
    k = check_positive_int(events, "events", example="4")
    given = check_optional_bool(vectorized, "vectorized")
    claimed = check_optional_nonnegative(
        claimed_epsilon, "claimed_epsilon", example="1.0"
    )
    label = check_str(name, "name")
    check_optional_callable(progress, "progress", example="bar.update")
    vec = is_vectorized(fn) if given is None else given
    alpha = 1.0 - conf
    alpha_each = alpha / (2 * k)
    start = time.perf_counter()
    refs = _references(d0, d1)
    f0 = collect(fn, d0, n, vectorized=vec, progress=progress, references=refs)
    f1 = collect(fn, d1, n, vectorized=vec, progress=progress, references=refs)
    f0, f1 = _align(f0, f1)
    half = n // 2
    sel0 = {kk: v[:half] for kk, v in f0.items()}
    sel1 = {kk: v[:half] for kk, v in f1.items()}
    ev0 = {kk: v[half:] for kk, v in f0.items()}
    ev1 = {kk: v[half:] for kk, v in f1.items()}
    weights = _contrast_weights(sel0, sel1)
    if weights:
        for part in (sel0, sel1, ev0, ev1):
            part["contrast"] = _contrast(part, weights)
    scored = _candidate_scores(sel0, sel1, d, alpha_each)
    chosen: list[tuple[_Event, int]] = []
    for _, event, direction in scored:
        if (event, direction) not in chosen:
            chosen.append((event, direction))
        if len(chosen) == k:
            break
    best: dict[str, Any] | None = None
    n_eval = n - half
    for event, direction in chosen:
        ca = int(
            event.indicator(
                ev0[event.feature] if direction == 0 else ev1[event.feature]
            ).sum()
        )
        cb = int(
            event.indicator(
                ev1[event.feature] if direction == 0 else ev0[event.feature]
            ).sum()
        )
        low, _ = _clopper_pearson(ca, n_eval, alpha_each)
        _, high = _clopper_pearson(cb, n_eval, alpha_each)
        bound = float(_log_ratio(np.asarray(low), np.asarray(high), d))
        pa, pb = ca / n_eval, cb / n_eval
        with np.errstate(divide="ignore"):
            point = (
                math.log(pa - d) - math.log(pb)
                if pa > d and pb > 0
                else (math.inf if pa > d else -math.inf)
            )
        cand = {
            "bound": bound,
            "point": point,
            "event": f"P[M(d{direction}) ∈ E] / P[M(d{1 - direction}) ∈ E], E = {event.describe()}",
            "pa": pa,
            "pb": pb,
            "low": float(low),
            "high": float(high),
        }
        if best is None or (cand["bound"], cand["point"]) > (
            best["bound"],
            best["point"],
        ):
            best = cand
    seconds = time.perf_counter() - start
    if best is None:
        best = {
            "bound": 0.0,
            "point": 0.0,
            "event": "(no event: outputs constant)",
            "pa": 0.0,
            "pb": 0.0,
            "low": 0.0,
            "high": 1.0,
        }
    return AuditResult(
        epsilon_lower_bound=max(0.0, best["bound"]),
        epsilon_estimate=max(0.0, best["point"]),
        delta=d,
        confidence=conf,
        trials=n,
        event=best["event"],
        p_numerator=best["pa"],
        p_denominator=best["pb"],
        p_numerator_low=best["low"],
        p_denominator_high=best["high"],
        events_tested=len(chosen),
        candidates=len(scored),
        claimed_epsilon=claimed,
        name=label,
        seconds=seconds,
    )


def assert_dp(
    fn: Callable[..., Any],
    d0: Any,
    d1: Any,
    *,
    epsilon: float,
    delta: float = 0.0,
    trials: int = 100_000,
    confidence: float = DEFAULT_CONFIDENCE,
    events: int = DEFAULT_EVENTS,
    vectorized: bool | None = None,
    name: str = "",
) -> AuditResult:
    """Fail (raise) when an audit shows ``fn`` is not (ε, δ)-DP on ``d0``, ``d1``.

    Parameters
    ----------
    fn, d0, d1, trials, confidence, events, vectorized, name
        As for :func:`estimate_epsilon`.
    epsilon, delta : float
        The claim: ``fn`` is (ε, δ)-DP (δ = 0 for pure ε-DP).

    Returns
    -------
    AuditResult
        When the claim survives the audit.

    Raises
    ------
    PrivacyViolationError
        An ``AssertionError``: the lower bound exceeds ``epsilon``. For a
        function that really is (ε, δ)-DP this happens with probability at
        most ``1 - confidence`` (1e-6 by default).

    Notes
    -----
    Privacy. A pass is evidence, not proof: see :func:`estimate_epsilon`.

    Examples
    --------
    >>> import numpy as np, loopkit_privacy as lp
    >>> mech = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
    >>> assert_dp(mech.randomize, 0, 1, epsilon=1.0, trials=20_000).passed
    True
    >>> broken = lambda x, n: mech.randomize(10 * x, n)  # sensitivity 10, not 1
    >>> assert_dp(broken, 0, 1, epsilon=1.0, trials=20_000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    loopkit_privacy.audit.auditor.PrivacyViolationError: VIOLATION: ...
    """
    eps = check_nonnegative(epsilon, "epsilon", example="1.0")
    result = estimate_epsilon(
        fn,
        d0,
        d1,
        trials=trials,
        delta=delta,
        confidence=confidence,
        events=events,
        vectorized=vectorized,
        claimed_epsilon=eps,
        name=name,
    )
    if not result.passed:
        raise PrivacyViolationError(result.summary(), result=result)
    return result
