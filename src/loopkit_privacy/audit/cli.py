"""The ``loopkit-privacy audit`` command.

``loopkit-privacy audit [--trials N] [--report audit.md|audit.json] [--quiet]
[--self-test] [--confidence C] [--sweep [--time-limit S]]`` runs the built-in
audit of every mechanism and aggregation, prints one line per case, writes
the report (Markdown, or JSON when the path ends in ``.json``) and exits with
1 when any case fails. ``--self-test`` also runs the deliberately broken
variants, each of which must be reported as a violation. ``--sweep`` runs
each case over a grid of privacy parameters instead
(:func:`loopkit_privacy.audit.sweep`); with ``--self-test`` it adds
the variants only a sweep can catch. A progress bar (tqdm) is shown on a
terminal and never with ``--quiet``.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="loopkit-privacy")
>>> add_audit_command(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["audit", "--trials", "1000", "--quiet"])
>>> args.trials, args.quiet
(1000, True)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from loopkit_privacy._progress import enabled, progress
from loopkit_privacy.audit.auditor import DEFAULT_CONFIDENCE

__all__ = ["add_audit_command"]

EXIT_OK = 0
EXIT_FAILED = 1


def add_audit_command(subparsers: Any) -> None:
    """Register ``audit`` on the ``loopkit-privacy`` command line.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The object returned by ``parser.add_subparsers()``; the command sets
        ``func(args) -> int`` (the exit code).

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_audit_command(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["audit", "--report", "a.json"]).report
    'a.json'
    """
    p = subparsers.add_parser(
        "audit",
        help="empirical privacy audit of every mechanism and aggregation",
        description="Run every mechanism and aggregation on neighbouring inputs "
        "and report empirical lower bounds on ε (exit code 1 on a violation).",
    )
    p.add_argument(
        "--trials",
        type=int,
        default=None,
        help="trials per input of each case (default 100000; 2000 per point "
        "with --sweep)",
    )
    p.add_argument(
        "--report",
        metavar="PATH",
        default=None,
        help="write the report here (.json for JSON, else Markdown)",
    )
    p.add_argument(
        "--confidence",
        type=float,
        default=DEFAULT_CONFIDENCE,
        help="confidence of each bound (default 1 - 1e-6)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    p.add_argument(
        "--self-test",
        action="store_true",
        help="also run deliberately broken variants (each must be caught)",
    )
    p.add_argument(
        "--sweep",
        action="store_true",
        help="run every case over a grid of epsilon, delta and sensitivities/bounds "
        "at a reduced trial count; flag violations, crashes and hangs",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --sweep: seconds one point may run before it counts as a hang "
        "(default 120)",
    )
    p.set_defaults(func=_run)


def _progress(quiet: bool) -> Callable[[str, int], Callable[[int], None]] | None:
    if not enabled(quiet):
        return None
    bars: list[Any] = []

    def start(name: str, total: int) -> Callable[[int], None]:
        for bar in bars:
            bar.close()
        bars.clear()
        bar = progress(total=total, desc=name[:40], unit="trial")
        bars.append(bar)
        out: Callable[[int], None] = bar.update
        return out

    return start


def _run(args: argparse.Namespace) -> int:
    from loopkit_privacy import _kernels
    from loopkit_privacy.audit.builtin import builtin_cases, run_audit

    if args.sweep:
        return _run_sweep(args)
    if args.trials is None:
        args.trials = 100_000
    if args.trials < 4:
        print("error: --trials must be at least 4", file=sys.stderr)
        return 2
    _kernels.warmup()
    cases = builtin_cases()
    if args.self_test:
        from loopkit_privacy.audit._broken import broken_cases

        cases += broken_cases()
    report = run_audit(
        cases,
        trials=args.trials,
        confidence=args.confidence,
        progress=_progress(args.quiet),
    )
    if not args.quiet:
        for case, result in zip(cases, report.results, strict=True):
            ok = result.passed != case.expect_violation
            mark = "ok  " if ok else "FAIL"
            print(
                f"{mark} {result.name}: claimed ε={result.claimed_epsilon:g} "
                f"δ={result.delta:g}; ε >= {result.epsilon_lower_bound:.3f} "
                f"({result.trials} trials/input, {result.seconds:.1f} s)"
            )
        print(
            f"audit: {'PASS' if report.passed else 'FAIL'} "
            f"({len(report.results)} cases, {report.seconds:.1f} s; each bound "
            f"holds with probability 1 - {1 - report.confidence:.2g})"
        )
    if args.report:
        report.write(args.report)
        if not args.quiet:
            print(f"report written to {args.report}")
    return EXIT_OK if report.passed else EXIT_FAILED


def _run_sweep(args: argparse.Namespace) -> int:
    from loopkit_privacy import _kernels
    from loopkit_privacy.audit.sweeps import (
        DEFAULT_TIME_LIMIT,
        SWEEP_TRIALS,
        PointResult,
        builtin_factories,
        sweep,
    )

    trials = SWEEP_TRIALS if args.trials is None else args.trials
    limit = DEFAULT_TIME_LIMIT if args.time_limit is None else args.time_limit
    if trials < 4:
        print("error: --trials must be at least 4", file=sys.stderr)
        return 2
    if not limit > 0:
        print("error: --time-limit must be > 0", file=sys.stderr)
        return 2
    _kernels.warmup()
    factories = builtin_factories()
    if args.self_test:
        from loopkit_privacy.audit._broken import broken_factories

        factories += broken_factories()

    def show(point: PointResult) -> None:
        if not point.ok and not args.quiet:
            p = point.point
            print(
                f"FLAG {point.case} at epsilon={p.epsilon:g} delta={p.delta:g} "
                f"scale={p.scale:g}: {point.status}; {point.detail}"
            )

    report = sweep(
        factories,
        trials=trials,
        confidence=args.confidence,
        time_limit=limit,
        progress=show,
    )
    if not args.quiet:
        verdicts = report.verdicts()
        for f in factories:
            counts = ", ".join(
                f"{k} {v}" for k, v in sorted(report.counts(f.name).items())
            )
            mark = "ok  " if verdicts[f.name] else "FAIL"
            print(f"{mark} {f.name}: {counts}")
        print(
            f"audit sweep: {'PASS' if report.passed else 'FAIL'} "
            f"({len(factories)} cases, {len(report.points)} points, "
            f"{report.seconds:.1f} s; {trials} trials/input per point, each bound "
            f"holds with probability 1 - {1 - report.confidence:.2g})"
        )
    if args.report:
        report.write(args.report)
        if not args.quiet:
            print(f"report written to {args.report}")
    return EXIT_OK if report.passed else EXIT_FAILED
