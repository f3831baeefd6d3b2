"""Parameter sweeps: every built-in audit case over a grid of ε, δ and scales.

The built-in audit (:func:`~loopkit_privacy.audit.run_audit`) checks each
release at ε = 1 on one pair of inputs. Many bugs live elsewhere: an integer
grid that wraps at tiny ε, a scale that overflows at a huge sensitivity, a
threshold that rounds to zero at δ = 1e-12. :func:`sweep` rebuilds each case
from a :class:`CaseFactory` at every point of a :class:`SweepGrid` (ε from
the smallest subnormal to 10, δ down to 1e-12, sensitivities and bounds from
2**-1000 to 2**52), runs the auditor at a reduced trial count, and sorts each
point into one status:

``"pass"``
    the audit ran and its lower bound did not exceed the claimed ε;
``"refused"``
    the release refused the parameters up front, on both inputs alike, with
    a library exception (:class:`~loopkit_privacy.errors.PrivacyError`);
``"violation"``
    the lower bound exceeded the claimed ε;
``"one-sided refusal"``
    a library exception on one input but not on its neighbour (whether a
    release raises is itself an output, so this leaks);
``"error"``
    a library exception after the parameters had been accepted;
``"crash"``
    any other exception (``OverflowError``, ``ZeroDivisionError``, …);
``"timeout"``
    the point ran past the per-point time limit (a hang);
``"warning"``
    the audit passed but a warning other than a library
    :class:`~loopkit_privacy.errors.PrivacyWarning` was emitted (numpy's
    overflow and invalid-value warnings are the usual sign of a numeric bug).

Only ``"pass"`` and ``"refused"`` are clean. A factory marked
``expect_violation`` (a deliberately broken variant) is *caught* when at
least one of its points is flagged.

False failures. Each audited point reports a violation wrongly with
probability at most ``1 - confidence`` (1e-6 by default), so a sweep of
``k`` audited points does so with probability at most ``k · 1e-6`` (union
bound; about 1e-3 for the default grid). The other flags are not statistical.

Power. At the reduced trial count a correct ε = 1 release reaches lower
bounds of about 0.5 at best (see the ``pass`` points at ε = 1 in a report),
so a sweep finds gross failures (an argmax, no noise, a crash), not a claim
that is off by a few tenths; that is the job of the full audit.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import platform
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from loopkit_privacy import aggregate, mechanisms, quantiles
from loopkit_privacy._validate import check_level, check_positive
from loopkit_privacy.audit._args import check_callable, check_str, check_trials
from loopkit_privacy.audit.auditor import (
    DEFAULT_CONFIDENCE,
    AuditResult,
    estimate_epsilon,
    is_vectorized,
)
from loopkit_privacy.audit.builtin import AuditCase, builtin_cases
from loopkit_privacy.audit.trials import (
    aggregation_trials,
    cohort_trials,
    funnel_trials,
)
from loopkit_privacy.errors import InvalidParameterError, PrivacyError, PrivacyWarning

__all__ = [
    "DEFAULT_GRID",
    "SMALL_GRID",
    "SWEEP_TRIALS",
    "CaseFactory",
    "SweepGrid",
    "SweepPoint",
    "SweepReport",
    "builtin_factories",
    "sweep",
]

#: Trials per input of each sweep point (the full audit uses 100,000).
SWEEP_TRIALS = 2000
#: Trials per input of a point whose function runs once per call.
SWEEP_PLAIN_TRIALS = 200
#: Seconds a point may run before it is reported as a hang.
DEFAULT_TIME_LIMIT = 120.0

Axis = Literal["epsilon", "delta", "scale"]
Status = Literal[
    "pass",
    "refused",
    "violation",
    "one-sided refusal",
    "error",
    "crash",
    "timeout",
    "warning",
]
CLEAN: frozenset[str] = frozenset({"pass", "refused"})


@dataclass(frozen=True)
class SweepGrid:
    """The privacy parameters a sweep tries (each factory uses its own axes).

    Attributes
    ----------
    epsilons : tuple of float
        Claimed ε values (each > 0).
    deltas : tuple of float
        Claimed δ values of approximate-DP cases (each in (0, 1)).
    scales : tuple of float
        Sensitivities of mechanisms, upper bounds ``hi`` of aggregations'
        ``bounds=(0, hi)`` (each > 0).

    Examples
    --------
    >>> SweepGrid(epsilons=(1.0,), deltas=(1e-6,), scales=(1.0, 2.0)).size(
    ...     ("epsilon", "scale")
    ... )
    2
    """

    epsilons: tuple[float, ...]
    deltas: tuple[float, ...]
    scales: tuple[float, ...]

    def __post_init__(self) -> None:
        for name in ("epsilons", "deltas", "scales"):
            values = tuple(getattr(self, name))
            if not values or not all(
                isinstance(v, int | float) and math.isfinite(v) and v > 0
                for v in values
            ):
                raise InvalidParameterError(
                    f"`{name}` must be a non-empty sequence of finite numbers > 0, "
                    f"got {values!r}; pass e.g. {name}=(1.0,)",
                    parameter=name,
                    value=values,
                )
            object.__setattr__(self, name, tuple(float(v) for v in values))
        if any(d >= 1 for d in self.deltas):
            raise InvalidParameterError(
                f"`deltas` must lie in (0, 1), got {self.deltas!r}; pass e.g. "
                "deltas=(1e-6,)",
                parameter="deltas",
                value=self.deltas,
            )

    def points(self, axes: Iterable[str], base: SweepPoint) -> list[SweepPoint]:
        """Every combination of the grid's values on ``axes``; ``base`` elsewhere.

        Examples
        --------
        >>> grid = SweepGrid(epsilons=(0.5, 1.0), deltas=(1e-6,), scales=(4.0,))
        >>> [p.epsilon for p in grid.points(["epsilon"], SweepPoint(1.0, 1e-6, 1.0))]
        [0.5, 1.0]
        """
        used = set(axes)
        eps = self.epsilons if "epsilon" in used else (base.epsilon,)
        dels = self.deltas if "delta" in used else (base.delta,)
        scs = self.scales if "scale" in used else (base.scale,)
        return [SweepPoint(e, d, s) for e, d, s in itertools.product(eps, dels, scs)]

    def size(self, axes: Iterable[str]) -> int:
        """The number of points on ``axes``.

        Examples
        --------
        >>> DEFAULT_GRID.size(["epsilon"]) == len(DEFAULT_GRID.epsilons)
        True
        """
        used = set(axes)
        return (
            (len(self.epsilons) if "epsilon" in used else 1)
            * (len(self.deltas) if "delta" in used else 1)
            * (len(self.scales) if "scale" in used else 1)
        )


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: the claimed ε, δ and the scale of the case.

    Examples
    --------
    >>> SweepPoint(1.0, 1e-6, 12.0).epsilon
    1.0
    """

    epsilon: float
    delta: float
    scale: float


#: ε: the smallest subnormal, the smallest normal float, 2**-60 (where the
#: exponential mechanism's grid is capped), 1e-13 (just below 2**-43, where
#: the old grid exponent passed 63), then ordinary values up to 10.
#: δ down to 1e-12. Scales from 2**-1000 (the smallest supported sensitivity)
#: to 2**52 (the last float with unit spacing).
DEFAULT_GRID = SweepGrid(
    epsilons=(5e-324, 2.0**-1022, 2.0**-60, 1e-13, 2.0**-20, 0.01, 1.0, 10.0),
    deltas=(1e-12, 1e-6),
    scales=(2.0**-1000, 2.0**-40, 1.0, 2.0**52),
)
#: A grid for quick checks (the default test suite).
SMALL_GRID = SweepGrid(epsilons=(2.0**-50, 1.0), deltas=(1e-6,), scales=(1.0, 2.0**52))


@dataclass(frozen=True)
class CaseFactory:
    """An audit case as a function of the privacy parameters.

    Attributes
    ----------
    name : str
        The case's name (the built-in factories use the built-in case names).
    build : callable
        ``build(point) -> AuditCase``: the case at one :class:`SweepPoint`,
        inputs included (e.g. neighbours that differ by the sensitivity).
        It may raise a :class:`~loopkit_privacy.errors.PrivacyError` to
        refuse the parameters.
    axes : tuple of str
        The parameters the case depends on, among ``"epsilon"``, ``"delta"``
        and ``"scale"``; the sweep varies only these.
    base : SweepPoint
        The values of the axes the case does not vary.
    expect_violation : bool
        True for a deliberately broken variant: the sweep must flag at least
        one of its points.
    applies : callable, optional
        ``applies(point) -> bool``: points where it is False are not run
        (e.g. fractional sensitivities for an integer query, whose inputs
        could not differ by the sensitivity).

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> def build(p):
    ...     m = lp.GeometricMechanism(sensitivity=int(p.scale), epsilon=p.epsilon)
    ...     return AuditCase("geometric", m.randomize, 0, int(p.scale), p.epsilon)
    >>> f = CaseFactory("geometric", build, ("epsilon",))
    >>> f.build(SweepPoint(0.5, 0.0, 1.0)).epsilon
    0.5
    """

    name: str
    build: Callable[[SweepPoint], AuditCase]
    axes: tuple[Axis, ...] = ("epsilon",)
    base: SweepPoint = SweepPoint(1.0, 1e-6, 1.0)
    expect_violation: bool = False
    applies: Callable[[SweepPoint], bool] | None = None

    def __post_init__(self) -> None:
        check_str(self.name, "name", example='"geometric"')
        check_callable(self.build, "build", example="lambda point: AuditCase(...)")
        bad = [a for a in self.axes if a not in ("epsilon", "delta", "scale")]
        if bad:
            raise InvalidParameterError(
                f"`axes` may hold only 'epsilon', 'delta' and 'scale', got {bad!r}",
                parameter="axes",
                value=self.axes,
            )


@dataclass(frozen=True)
class PointResult:
    """What the sweep found at one point of one case.

    Attributes
    ----------
    case : str
        The factory's name.
    point : SweepPoint
        The parameters.
    status : str
        One of the statuses in the module notes.
    detail : str
        The exception, the warnings, or the event that gave the bound.
    seconds : float
        Wall time of the point (probe, trials and statistics).
    result : AuditResult or None
        The audit, when it ran to the end.

    Examples
    --------
    >>> PointResult("c", SweepPoint(1.0, 0.0, 1.0), "refused", "too small", 0.0).ok
    True
    """

    case: str
    point: SweepPoint
    status: Status
    detail: str
    seconds: float
    result: AuditResult | None = None

    @property
    def ok(self) -> bool:
        """True for ``"pass"`` and ``"refused"``.

        Examples
        --------
        >>> PointResult("c", SweepPoint(1.0, 0.0, 1.0), "crash", "boom", 0.0).ok
        False
        """
        return self.status in CLEAN

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary of the point.

        Examples
        --------
        >>> PointResult("c", SweepPoint(1.0, 0.0, 2.0), "pass", "", 0.1).to_dict()[
        ...     "scale"
        ... ]
        2.0
        """
        r = self.result
        return {
            "case": self.case,
            "epsilon": self.point.epsilon,
            "delta": self.point.delta,
            "scale": self.point.scale,
            "status": self.status,
            "ok": self.ok,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
            "epsilon_lower_bound": None if r is None else r.epsilon_lower_bound,
            "trials": None if r is None else r.trials,
        }


@dataclass
class SweepReport:
    """The results of a sweep, renderable as Markdown or JSON.

    Examples
    --------
    >>> SweepReport([], [], trials=10, confidence=0.99, time_limit=1.0).passed
    True
    """

    points: list[PointResult]
    factories: list[CaseFactory]
    trials: int
    confidence: float
    time_limit: float
    seconds: float = 0.0
    stuck_threads: int = 0

    def flagged(self, case: str | None = None) -> list[PointResult]:
        """The points that are neither ``"pass"`` nor ``"refused"``.

        Examples
        --------
        >>> p = PointResult("c", SweepPoint(1.0, 0.0, 1.0), "timeout", "", 9.0)
        >>> len(SweepReport([p], [], trials=10, confidence=0.99, time_limit=1.0).flagged())
        1
        """
        return [p for p in self.points if not p.ok and (case is None or p.case == case)]

    def caught(self, case: str) -> bool:
        """True when at least one point of ``case`` was flagged.

        Examples
        --------
        >>> p = PointResult("c", SweepPoint(1.0, 0.0, 1.0), "violation", "", 0.1)
        >>> SweepReport([p], [], trials=10, confidence=0.99, time_limit=1.0).caught("c")
        True
        """
        return bool(self.flagged(case))

    def verdicts(self) -> dict[str, bool]:
        """Per factory, whether it met its expectation.

        A shipped case must have no flagged point; a broken variant
        (``expect_violation``) must have at least one.

        Examples
        --------
        >>> SweepReport([], [], trials=10, confidence=0.99, time_limit=1.0).verdicts()
        {}
        """
        return {
            f.name: self.caught(f.name) == f.expect_violation for f in self.factories
        }

    @property
    def passed(self) -> bool:
        """True when every factory met its expectation.

        Examples
        --------
        >>> SweepReport([], [], trials=10, confidence=0.99, time_limit=1.0).passed
        True
        """
        return all(self.verdicts().values())

    def counts(self, case: str) -> dict[str, int]:
        """The number of points of ``case`` per status.

        Examples
        --------
        >>> p = PointResult("c", SweepPoint(1.0, 0.0, 1.0), "refused", "", 0.0)
        >>> SweepReport([p], [], trials=10, confidence=0.99, time_limit=1.0).counts("c")
        {'refused': 1}
        """
        out: dict[str, int] = {}
        for p in self.points:
            if p.case == case:
                out[p.status] = out.get(p.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: per case its verdict, and every point.

        Examples
        --------
        >>> d = SweepReport([], [], trials=10, confidence=0.99, time_limit=1.0).to_dict()
        >>> d["passed"], d["points"]
        (True, [])
        """
        verdicts = self.verdicts()
        return {
            "passed": self.passed,
            "trials": self.trials,
            "confidence": self.confidence,
            "false_failure_rate_per_point": 1.0 - self.confidence,
            "time_limit": self.time_limit,
            "seconds": round(self.seconds, 3),
            "stuck_threads": self.stuck_threads,
            "python": platform.python_version(),
            "cases": [
                {
                    "name": f.name,
                    "axes": list(f.axes),
                    "expect_violation": f.expect_violation,
                    "ok": verdicts[f.name],
                    "counts": self.counts(f.name),
                }
                for f in self.factories
            ],
            "points": [p.to_dict() for p in self.points],
        }

    def to_json(self) -> str:
        """The report as JSON text (:meth:`to_dict`, indented).

        Examples
        --------
        >>> import json
        >>> r = SweepReport([], [], trials=10, confidence=0.99, time_limit=1.0)
        >>> json.loads(r.to_json())["trials"]
        10
        """
        return json.dumps(self.to_dict(), indent=2, default=str)

    def to_markdown(self) -> str:
        """The report as Markdown: one row per case, then every flagged point.

        Examples
        --------
        >>> r = SweepReport([], [], trials=10, confidence=0.99, time_limit=1.0)
        >>> r.to_markdown().splitlines()[0]
        '# loopkit_privacy audit sweep'
        """
        alpha = 1.0 - self.confidence
        verdicts = self.verdicts()
        lines = [
            "# loopkit_privacy audit sweep",
            "",
            f"Overall: **{'PASS' if self.passed else 'FAIL'}** "
            f"({len(self.factories)} cases, {len(self.points)} points, "
            f"{self.seconds:.1f} s; {self.trials} trials per input and point, "
            f"each bound at confidence 1 − {alpha:.0e}, time limit "
            f"{self.time_limit:g} s per point).",
            "",
            "A point is flagged when its lower bound exceeds the claimed ε, when "
            "it crashes or hangs, raises a library error after accepting its "
            "parameters or on one input only, or emits a non-library warning. "
            "`refused` points were rejected up front with a library error. A "
            "deliberately broken case passes when at least one point is flagged.",
            "",
            "| case | points | pass | refused | flagged | max bound at ε = 1 | result |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in self.factories:
            c = self.counts(f.name)
            n = sum(c.values())
            at_one = [
                p.result.epsilon_lower_bound
                for p in self.points
                if p.case == f.name and p.result is not None and p.point.epsilon == 1.0
            ]
            power = f"{max(at_one):.3f}" if at_one else "—"
            verdict = "ok" if verdicts[f.name] else "**FAIL**"
            if f.expect_violation:
                verdict += (
                    " (broken variant: caught)"
                    if self.caught(f.name)
                    else (" (broken variant: missed)")
                )
            lines.append(
                f"| {f.name} | {n} | {c.get('pass', 0)} | {c.get('refused', 0)} | "
                f"{n - c.get('pass', 0) - c.get('refused', 0)} | {power} | {verdict} |"
            )
        flagged = self.flagged()
        lines += ["", "## Flagged points", ""]
        if not flagged:
            lines.append("None.")
        for p in flagged:
            lines.append(
                f"- **{p.case}** at ε = {_fmt(p.point.epsilon)}, δ = {p.point.delta:g}, "
                f"scale = {_fmt(p.point.scale)}: {p.status}; {p.detail}"
            )
        if self.stuck_threads:
            lines += [
                "",
                f"{self.stuck_threads} timed-out point(s) were still running at the end.",
            ]
        return "\n".join(lines) + "\n"

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write JSON when ``path`` ends in ``.json``, Markdown otherwise.

        Examples
        --------
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "sweep.md")
        >>> SweepReport([], [], trials=10, confidence=0.99, time_limit=1.0).write(path)
        >>> with open(path, encoding="utf-8") as fh:
        ...     fh.readline().strip()
        '# loopkit_privacy audit sweep'
        """
        text = (
            self.to_json()
            if os.fspath(path).lower().endswith(".json")
            else self.to_markdown()
        )
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)


# ---------------------------------------------------------------------------
# Running one point
# ---------------------------------------------------------------------------


def _fmt(x: float) -> str:
    """``2**-1000`` for a far power of two, else ``%g``."""
    mant, exp = math.frexp(x)
    if x > 0 and mant == 0.5 and abs(exp - 1) >= 10:
        return f"2**{exp - 1}"
    return f"{x:g}"


def _describe(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {text}"[:300]


def _probe(case: AuditCase, data: Any) -> BaseException | None:
    """Call the case's function once on ``data``; the exception, if any."""
    vectorized = (
        case.vectorized if case.vectorized is not None else is_vectorized(case.fn)
    )
    try:
        if vectorized:
            case.fn(data, 4)
        else:
            case.fn(data)
    except Exception as err:  # classified by the caller
        return err
    return None


def _run_point(
    factory: CaseFactory, point: SweepPoint, trials: int, confidence: float
) -> tuple[Status, str, AuditResult | None]:
    try:
        case = factory.build(point)
    except PrivacyError as err:
        return "refused", _describe(err), None
    except Exception as err:
        return "crash", "building the case: " + _describe(err), None
    # Probe both inputs: a refusal must not depend on the data.
    e0, e1 = _probe(case, case.d0), _probe(case, case.d1)
    for probed in (e0, e1):
        if probed is not None and not isinstance(probed, PrivacyError):
            return "crash", _describe(probed), None
    if e0 is not None and e1 is not None:
        return "refused", _describe(e0), None
    if (e0 is None) != (e1 is None):
        which, refusal = ("d1", e1) if e0 is None else ("d0", e0)
        assert refusal is not None
        return "one-sided refusal", f"only on {which}: {_describe(refusal)}", None
    n = trials if case.min_trials is None else max(trials, case.min_trials)
    n = n if case.max_trials is None else min(n, case.max_trials)
    try:
        result = estimate_epsilon(
            case.fn,
            case.d0,
            case.d1,
            trials=n,
            delta=case.delta,
            confidence=confidence,
            vectorized=case.vectorized,
            claimed_epsilon=case.epsilon,
            name=factory.name,
        )
    except PrivacyError as err:
        return "error", "after accepting the parameters: " + _describe(err), None
    except Exception as err:
        return "crash", _describe(err), None
    if not result.passed:
        detail = (
            f"ε >= {result.epsilon_lower_bound:.4g} > claimed {case.epsilon:g} "
            f"({result.event})"
        )
        return "violation", detail, result
    return "pass", f"ε >= {result.epsilon_lower_bound:.4g} ({result.event})", result


def _timed_point(
    factory: CaseFactory,
    point: SweepPoint,
    trials: int,
    confidence: float,
    time_limit: float,
    log: list[warnings.WarningMessage],
) -> tuple[PointResult, bool]:
    """Run one point in a daemon thread; ``(result, still_running)``.

    The kernels release the GIL (``nogil``), so a hung kernel does not stop
    this thread from noticing the time limit. A thread cannot be killed: a
    hung point keeps running in the background and is reported.
    """
    box: list[tuple[Status, str, AuditResult | None]] = []

    def work() -> None:
        try:
            box.append(_run_point(factory, point, trials, confidence))
        except BaseException as err:
            box.append(("crash", _describe(err), None))

    start = time.perf_counter()
    seen = len(log)
    worker = threading.Thread(target=work, name=f"sweep {factory.name}", daemon=True)
    worker.start()
    worker.join(time_limit)
    seconds = time.perf_counter() - start
    if worker.is_alive():
        return (
            PointResult(
                factory.name,
                point,
                "timeout",
                f"still running after {time_limit:g} s",
                seconds,
            ),
            True,
        )
    status, detail, result = box[0]
    foreign = sorted(
        {
            f"{w.category.__name__}: {w.message}"[:200]
            for w in log[seen:]
            if not issubclass(w.category, PrivacyWarning)
        }
    )
    if foreign and status == "pass":
        status, detail = "warning", "; ".join(foreign)
    return PointResult(factory.name, point, status, detail, seconds, result), False


def sweep(
    factories: Iterable[CaseFactory] | None = None,
    *,
    grid: SweepGrid | None = None,
    trials: int = SWEEP_TRIALS,
    confidence: float = DEFAULT_CONFIDENCE,
    time_limit: float = DEFAULT_TIME_LIMIT,
    progress: Callable[[PointResult], None] | None = None,
) -> SweepReport:
    """Audit every case at every point of a parameter grid.

    Parameters
    ----------
    factories : iterable of CaseFactory, optional
        Defaults to :func:`builtin_factories` (one per built-in audit case).
    grid : SweepGrid, optional
        Defaults to :data:`DEFAULT_GRID`.
    trials : int
        Trials per input of each point (at least 4; capped for functions run
        once per call).
    confidence : float
        Confidence of each bound; a correct point is flagged as a violation
        with probability at most ``1 - confidence``.
    time_limit : float
        Seconds one point may take before it is reported as ``"timeout"``.
    progress : callable, optional
        Called with each :class:`PointResult` as it is finished.

    Returns
    -------
    SweepReport

    Raises
    ------
    InvalidParameterError
        For a bad argument, before any point is run.

    Notes
    -----
    Privacy. Nothing is released and no accountant is charged; each point's
    bound is valid as in :func:`~loopkit_privacy.audit.estimate_epsilon`.
    Warnings raised by the cases are recorded, not shown: library
    :class:`~loopkit_privacy.errors.PrivacyWarning` (e.g. ε > 5) are
    expected, any other one flags the point.

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> def build(p):
    ...     m = lp.GeometricMechanism(sensitivity=1, epsilon=p.epsilon)
    ...     return AuditCase("geometric", m.randomize, 0, 1, p.epsilon)
    >>> grid = SweepGrid(epsilons=(0.5, 1.0), deltas=(1e-6,), scales=(1.0,))
    >>> report = sweep([CaseFactory("geometric", build)], grid=grid, trials=1000)
    >>> report.passed, [p.status for p in report.points]
    (True, ['pass', 'pass'])
    """
    chosen: Sequence[CaseFactory] = (
        builtin_factories() if factories is None else list(factories)
    )
    if not all(isinstance(f, CaseFactory) for f in chosen):
        raise InvalidParameterError(
            "`factories` must be None (the built-in ones) or a list of CaseFactory; "
            "pass e.g. factories=builtin_factories()",
            parameter="factories",
            value=None,
        )
    chosen_grid = DEFAULT_GRID if grid is None else grid
    if not isinstance(chosen_grid, SweepGrid):
        raise InvalidParameterError(
            f"`grid` must be a SweepGrid, got {type(grid).__name__}; pass e.g. "
            "grid=SMALL_GRID",
            parameter="grid",
            value=None,
        )
    n_trials = check_trials(trials)
    conf = check_level(confidence, "confidence")
    limit = check_positive(time_limit, "time_limit")
    points: list[PointResult] = []
    stuck = 0
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        for factory in chosen:
            for point in chosen_grid.points(factory.axes, factory.base):
                if factory.applies is not None and not factory.applies(point):
                    continue
                res, running = _timed_point(factory, point, n_trials, conf, limit, log)
                stuck += running
                points.append(res)
                if progress is not None:
                    progress(res)
    return SweepReport(
        points,
        list(chosen),
        trials=n_trials,
        confidence=conf,
        time_limit=limit,
        seconds=time.perf_counter() - start,
        stuck_threads=stuck,
    )


# ---------------------------------------------------------------------------
# The built-in factories
# ---------------------------------------------------------------------------

_PAGES = ["a", "b", "c", "d", "e"]
_MECH_BASE = SweepPoint(1.0, 1e-5, 1.0)
_AGG_BASE = SweepPoint(1.0, 1e-6, 12.0)


def _heavy_at(d0: pa.Table, d1: pa.Table, hi: float) -> pa.Table:
    """``d1`` with the extra user's minutes at the upper bound (or above it)."""
    minutes = d1.column("minutes").to_numpy().copy()
    # The worst case: the extra user's values clamp to the bound ``hi``
    # (1000 minutes is above every bound up to 1000; 2**52 needs hi itself).
    minutes[d0.num_rows :] = max(hi, 1000.0)
    return d1.set_column(
        d1.schema.get_field_index("minutes"), "minutes", pa.array(minutes)
    )


def _mechanism_factories() -> list[CaseFactory]:
    def additive(
        name: str, make: Callable[[SweepPoint], Any], integer: bool
    ) -> Callable[[SweepPoint], AuditCase]:
        def build(p: SweepPoint) -> AuditCase:
            mech = make(p)
            hi: Any = int(p.scale) if integer else p.scale
            lo: Any = 0 if integer else 0.0
            delta = p.delta if "Gaussian" in name else 0.0
            return AuditCase(name, mech.randomize, lo, hi, p.epsilon, delta)

        return build

    def add_noise_batch(integer: bool) -> Callable[[SweepPoint], AuditCase]:
        def build(p: SweepPoint) -> AuditCase:
            s: Any = int(p.scale) if integer else p.scale
            mech, _ = mechanisms.add_noise_mechanism(
                s, sensitivity=s, epsilon=p.epsilon, delta=None, rho=None,
                mechanism="laplace",
            )  # fmt: skip
            name = f"add_noise ({'integer' if integer else 'float'}, batched)"
            return AuditCase(name, mech.randomize, 0 if integer else 0.0, s, p.epsilon)

        return build

    def add_noise_plain(integer: bool) -> Callable[[SweepPoint], AuditCase]:
        def build(p: SweepPoint) -> AuditCase:
            s: Any = int(p.scale) if integer else p.scale
            # Refuse up front like the batched case (the constructor checks).
            mechanisms.add_noise_mechanism(
                s, sensitivity=s, epsilon=p.epsilon, delta=None, rho=None,
                mechanism="laplace",
            )  # fmt: skip

            def fn(x: Any) -> Any:
                return mechanisms.add_noise(x, sensitivity=s, epsilon=p.epsilon)

            name = f"add_noise ({'integer' if integer else 'float'})"
            return AuditCase(
                name,
                fn,
                0 if integer else 0.0,
                s,
                p.epsilon,
                vectorized=False,
                max_trials=SWEEP_PLAIN_TRIALS,
            )

        return build

    def exponential(p: SweepPoint) -> AuditCase:
        m = mechanisms.ExponentialMechanism(sensitivity=p.scale, epsilon=p.epsilon)
        s = p.scale
        return AuditCase(
            "ExponentialMechanism",
            m.randomize,
            [0.0, 0.0, 0.0],
            [s, -s, 0.0],
            p.epsilon,
        )

    def paf(p: SweepPoint) -> AuditCase:
        m = mechanisms.ExponentialMechanism(
            sensitivity=p.scale,
            epsilon=p.epsilon,
            monotonic=True,
            method="permute_and_flip",
        )
        return AuditCase(
            "report_noisy_max (permute-and-flip)",
            m.randomize,
            [0.0, 0.0, 0.0],
            [p.scale, 0.0, 0.0],
            p.epsilon,
        )

    es: tuple[Axis, ...] = ("epsilon", "scale")
    eds: tuple[Axis, ...] = ("epsilon", "delta", "scale")

    def whole(p: SweepPoint) -> bool:
        # Integer queries: neighbours 0 and Δ need a whole Δ >= 1.
        return p.scale >= 1 and p.scale == math.floor(p.scale)

    return [
        CaseFactory(
            "LaplaceMechanism",
            additive(
                "LaplaceMechanism",
                lambda p: mechanisms.LaplaceMechanism(
                    sensitivity=p.scale, epsilon=p.epsilon
                ),
                integer=False,
            ),
            es,
            _MECH_BASE,
        ),
        CaseFactory(
            "GeometricMechanism",
            additive(
                "GeometricMechanism",
                lambda p: mechanisms.GeometricMechanism(
                    sensitivity=int(p.scale), epsilon=p.epsilon
                ),
                integer=True,
            ),
            es,
            _MECH_BASE,
            applies=whole,
        ),
        CaseFactory(
            "GaussianMechanism",
            additive(
                "GaussianMechanism",
                lambda p: mechanisms.GaussianMechanism(
                    sensitivity=p.scale, epsilon=p.epsilon, delta=p.delta
                ),
                integer=False,
            ),
            eds,
            _MECH_BASE,
        ),
        CaseFactory(
            "DiscreteGaussianMechanism",
            additive(
                "DiscreteGaussianMechanism",
                lambda p: mechanisms.DiscreteGaussianMechanism(
                    sensitivity=int(p.scale), epsilon=p.epsilon, delta=p.delta
                ),
                integer=True,
            ),
            eds,
            _MECH_BASE,
            applies=whole,
        ),
        CaseFactory("ExponentialMechanism", exponential, es, _MECH_BASE),
        CaseFactory("report_noisy_max (permute-and-flip)", paf, es, _MECH_BASE),
        CaseFactory(
            "add_noise (integer, batched)",
            add_noise_batch(True),
            es,
            _MECH_BASE,
            applies=whole,
        ),
        CaseFactory(
            "add_noise (float, batched)", add_noise_batch(False), es, _MECH_BASE
        ),
        CaseFactory(
            "add_noise (integer)", add_noise_plain(True), es, _MECH_BASE, applies=whole
        ),
        CaseFactory("add_noise (float)", add_noise_plain(False), es, _MECH_BASE),
    ]


def _aggregation_factory(
    name: str,
    func: Callable[..., Any],
    axes: tuple[Axis, ...],
    *,
    new_page: bool = False,
    **kwargs: Any,
) -> CaseFactory:
    """A factory for ``aggregation_trials(func, ...)`` on the built-in pair.

    With ``"delta"`` on the axes the call gets ``delta=`` (partition
    selection or Gaussian noise); with ``"scale"`` it gets
    ``bounds=(0, scale)`` (or histogram bins over it) and the extra user's
    values sit at the bound.
    """

    def build(p: SweepPoint) -> AuditCase:
        cases = {c.name: c for c in _base_cases()}
        base = cases.get(name)
        if base is None:
            from loopkit_privacy.audit.builtin import neighbouring_tables

            d0, d1 = neighbouring_tables(new_page=new_page)
        else:
            d0, d1 = base.d0, base.d1
        args = dict(kwargs)
        args["epsilon"] = p.epsilon
        delta = 0.0
        if "delta" in axes:
            args["delta"] = delta = p.delta
        if "scale" in axes:
            if isinstance(args.get("bins"), list):  # histogram edges over (0, hi)
                args["bins"] = [p.scale * k / 4 for k in range(5)]
            else:
                args["bounds"] = (0.0, p.scale)
            d1 = _heavy_at(d0, d1, p.scale)
        return AuditCase(
            name, aggregation_trials(func, **args), d0, d1, p.epsilon, delta
        )

    return CaseFactory(name, build, axes, _AGG_BASE)


_BASE_CACHE: list[AuditCase] = []


def _base_cases() -> list[AuditCase]:
    """The built-in cases (their inputs are reused), built once per process."""
    if not _BASE_CACHE:
        _BASE_CACHE.extend(builtin_cases())
    return _BASE_CACHE


def _aggregation_factories() -> list[CaseFactory]:
    common: dict[str, Any] = {"by": "page", "privacy_unit": "user_id"}
    e: tuple[Axis, ...] = ("epsilon",)
    ed: tuple[Axis, ...] = ("epsilon", "delta")
    es: tuple[Axis, ...] = ("epsilon", "scale")
    eds: tuple[Axis, ...] = ("epsilon", "delta", "scale")
    agg = _aggregation_factory
    mins: dict[str, Any] = {"column": "minutes"}
    return [
        agg("aggregate_count (public groups)", aggregate.aggregate_count, e,
            public_groups=_PAGES, **common),
        agg("aggregate_count distinct (public groups)", aggregate.aggregate_count, e,
            new_page=True, distinct=True, max_partitions_per_user=2,
            public_groups=_PAGES, **common),
        agg("aggregate_count (total, Gaussian)", aggregate.aggregate_count, ed,
            privacy_unit="user_id", mechanism="gaussian",
            max_contributions_per_partition=3),
        agg("aggregate_sum (public groups)", aggregate.aggregate_sum, es,
            max_contributions_per_partition=2, public_groups=_PAGES, **mins, **common),
        agg("aggregate_average (public groups)", aggregate.aggregate_average, es,
            public_groups=_PAGES, **mins, **common),
        agg("aggregate_count (partition selection)", aggregate.aggregate_count, ed,
            new_page=True, max_partitions_per_user=2, **common),
        agg("aggregate_sum (partition selection)", aggregate.aggregate_sum, eds,
            new_page=True, max_partitions_per_user=2,
            max_contributions_per_partition=2, **mins, **common),
        agg("aggregate_average (partition selection)", aggregate.aggregate_average,
            eds, new_page=True, max_partitions_per_user=2, **mins, **common),
        agg("aggregate_top_n (partition selection)", aggregate.aggregate_top_n, ed,
            new_page=True, column="page", n=3, privacy_unit="user_id",
            max_partitions_per_user=2),
        agg("aggregate_quantiles (public groups)", quantiles.aggregate_quantiles, es,
            quantiles=[0.25, 0.5, 0.9], bins=32, max_contributions_per_partition=2,
            public_groups=_PAGES, **mins, **common),
        agg("aggregate_quantiles (partition selection)", quantiles.aggregate_quantiles,
            eds, new_page=True, quantiles=[0.5, 0.9], bins=16,
            max_partitions_per_user=2, **mins, **common),
        agg("aggregate_variance (public groups)", quantiles.aggregate_variance, es,
            max_contributions_per_partition=2, public_groups=_PAGES, **mins, **common),
        agg("aggregate_std (partition selection)", quantiles.aggregate_std, eds,
            new_page=True, max_partitions_per_user=2, **mins, **common),
    ]  # fmt: skip


def _histogram_factories() -> list[CaseFactory]:
    from loopkit_privacy.histogram import aggregate_histogram

    common: dict[str, Any] = {
        "column": "minutes",
        "bins": [0.0, 3.0, 6.0, 9.0, 12.0],
        "by": "page",
        "privacy_unit": "user_id",
        "max_partitions_per_user": 2,
        "max_contributions_per_partition": 2,
    }
    return [
        _aggregation_factory(
            "aggregate_histogram (public groups)",
            aggregate_histogram,
            ("epsilon", "scale"),
            public_groups=_PAGES,
            **common,
        ),
        _aggregation_factory(
            "aggregate_histogram (partition selection)",
            aggregate_histogram,
            ("epsilon", "delta", "scale"),
            new_page=True,
            **common,
        ),
    ]


def _cohort_and_funnel_factories() -> list[CaseFactory]:
    def cohort(p: SweepPoint) -> AuditCase:
        base = {c.name: c for c in _base_cases()}["cohort_retention"]
        fn = cohort_trials(
            privacy_unit="user_id",
            time="at",
            start="2026-01-01",
            end="2026-04-01",
            period="month",
            n_periods=4,
            max_active_periods=2,
            epsilon=p.epsilon,
        )
        return AuditCase("cohort_retention", fn, base.d0, base.d1, p.epsilon)

    def funnel(by_plan: bool) -> Callable[[SweepPoint], AuditCase]:
        name = "funnel (by plan, partition selection)" if by_plan else "funnel"

        def build(p: SweepPoint) -> AuditCase:
            base = {c.name: c for c in _base_cases()}[name]
            extra: dict[str, Any] = {"by": "plan", "delta": p.delta} if by_plan else {}
            fn = funnel_trials(
                privacy_unit="user_id",
                step="step",
                steps=["signup", "activate", "buy"],
                time="at",
                within="7d",
                epsilon=p.epsilon,
                **extra,
            )
            delta = p.delta if by_plan else 0.0
            return AuditCase(name, fn, base.d0, base.d1, p.epsilon, delta)

        return build

    return [
        CaseFactory("cohort_retention", cohort, ("epsilon",), _AGG_BASE),
        CaseFactory("funnel", funnel(False), ("epsilon",), _AGG_BASE),
        CaseFactory(
            "funnel (by plan, partition selection)",
            funnel(True),
            ("epsilon", "delta"),
            _AGG_BASE,
        ),
    ]


def builtin_factories() -> list[CaseFactory]:
    """One factory per built-in audit case, with the same name.

    At the factory's base point (ε = 1; δ = 1e-5 for mechanisms, 1e-6 for
    aggregations; sensitivity 1, bounds (0, 12)) each builds the built-in
    case; elsewhere the inputs follow the parameters (neighbouring query
    values differ by the sensitivity, the extra user's values sit at the
    upper bound).

    Examples
    --------
    >>> names = [f.name for f in builtin_factories()]
    >>> "ExponentialMechanism" in names and "funnel" in names
    True
    """
    return [
        *_mechanism_factories(),
        *_aggregation_factories(),
        *_histogram_factories(),
        *_cohort_and_funnel_factories(),
    ]
