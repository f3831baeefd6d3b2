"""The ``loopkit-privacy`` command.

Sub-commands:

* ``demo``: differentially private statistics on synthetic product events,
  true values beside noisy ones with their 95 % confidence intervals;
* ``ledger show PATH`` / ``ledger verify PATH``: inspect and verify a
  persistent privacy ledger.

Examples
--------
>>> from loopkit_privacy.cli import main
>>> main(["demo", "--users", "500", "--seed", "1", "--quiet-warnings"])  # doctest: +ELLIPSIS
loopkit_privacy demo: 500 synthetic users...
0
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

import numpy as np

from loopkit_privacy import _kernels, mechanisms
from loopkit_privacy import random as lp_random
from loopkit_privacy.errors import InsecureRandomnessWarning, PrivacyError

__all__ = ["build_parser", "main"]

_PAGES = ("home", "pricing", "docs", "signup", "settings")


def _synthetic_events(n_users: int, seed: int) -> dict[str, np.ndarray]:
    """Deterministic demo data (not privacy noise: numpy's PRNG is fine here)."""
    gen = np.random.default_rng(seed)
    visits = gen.random((n_users, len(_PAGES))) < np.array([0.9, 0.35, 0.5, 0.12, 0.2])
    session_minutes = np.clip(
        gen.lognormal(mean=2.0, sigma=0.8, size=n_users), 0.0, None
    )
    return {"visits": visits, "session_minutes": session_minutes}


def _demo(args: argparse.Namespace) -> int:
    if args.quiet_warnings:
        warnings.simplefilter("ignore", InsecureRandomnessWarning)
    rng = (
        lp_random.SecureRandom()
        if args.seed is None
        else lp_random.InsecureSeededRandom(args.seed)
    )
    _kernels.warmup()
    data = _synthetic_events(args.users, 0 if args.seed is None else args.seed)
    eps = args.epsilon
    visits, minutes = data["visits"], data["session_minutes"]
    rows: list[tuple[str, str, str, str, str]] = []

    # 1. Active users: one user changes the count by at most 1.
    true_users = int(visits.any(axis=1).sum())
    r = mechanisms.GeometricMechanism(sensitivity=1, epsilon=eps).release(
        true_users, rng=rng
    )
    rows.append(
        ("active users", f"{true_users}", f"{r.value}", _ci(r), f"geometric ε={eps:g}")
    )

    # 2. Users per page (public page list): each user adds at most 1 to each
    #    of the 5 pages, so the count vector has L1 sensitivity 5, L2 √5.
    true_pages = visits.sum(axis=0).astype(np.int64)
    rp = mechanisms.DiscreteGaussianMechanism(
        sensitivity=float(np.sqrt(len(_PAGES))), rho=eps**2 / 2, dimension=len(_PAGES)
    ).release(true_pages, rng=rng)
    for page, t, v in zip(_PAGES, true_pages, rp.value, strict=True):
        rows.append(
            (
                f"users on /{page}",
                f"{t}",
                f"{v}",
                f"± {rp.half_width:g}",
                f"discrete Gaussian ρ={eps**2 / 2:g}",
            )
        )

    # 3. Total session minutes, each user's contribution clamped to [0, 60].
    clamped = np.clip(minutes, 0.0, 60.0)
    true_sum = float(clamped.sum())
    rs = mechanisms.LaplaceMechanism(sensitivity=60.0, epsilon=eps).release(
        true_sum, rng=rng
    )
    rows.append(
        (
            "session minutes (≤60/user)",
            f"{true_sum:.1f}",
            f"{rs.value:.1f}",
            _ci(rs, ".1f"),
            f"Laplace ε={eps:g}",
        )
    )

    # 4. Most visited page: report-noisy-max over the public pages.
    best = mechanisms.report_noisy_max(
        true_pages, sensitivity=1.0, epsilon=eps, monotonic=True, rng=rng
    )
    rows.append(
        (
            "most visited page",
            f"/{_PAGES[int(np.argmax(true_pages))]}",
            f"/{_PAGES[best]}",
            "",
            f"report-noisy-max ε={eps:g}",
        )
    )

    source = (
        "SecureRandom (AES-256-CTR keyed from the OS)"
        if args.seed is None
        else f"InsecureSeededRandom(seed={args.seed}) — NOT for publication"
    )
    print(f"loopkit_privacy demo: {args.users} synthetic users, noise from {source}")
    print()
    headers = ("statistic", "true", "noisy", "95% CI", "mechanism")
    widths = [
        max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)
    ]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print()
    print(
        f"Privacy unit: the user. Three releases are ε={eps:g}-DP and one is "
        f"ρ={eps**2 / 2:g}-zCDP; together (pure ε-DP implies ε²/2-zCDP) they are "
        f"ρ={3 * eps**2 / 2 + eps**2 / 2:g}-zCDP."
    )
    return 0


def _ci(release: mechanisms.Release, fmt: str = "") -> str:
    low, high = release.confidence_interval()
    return f"[{low:{fmt}}, {high:{fmt}}]"


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``loopkit-privacy`` command.

    Examples
    --------
    >>> build_parser().prog
    'loopkit-privacy'
    """
    parser = argparse.ArgumentParser(
        prog="loopkit-privacy",
        description="Differentially private statistics for product analytics.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="private statistics on synthetic events")
    demo.add_argument(
        "--users", type=int, default=10_000, help="number of synthetic users"
    )
    demo.add_argument("--epsilon", type=float, default=1.0, help="ε of each release")
    demo.add_argument(
        "--seed",
        type=int,
        default=None,
        help="use a reproducible INSECURE seeded source (output marked insecure)",
    )
    demo.add_argument("--quiet-warnings", action="store_true", help=argparse.SUPPRESS)
    demo.set_defaults(func=_demo)
    try:
        from loopkit_privacy.accounting.cli import add_ledger_commands
    except ImportError:  # pragma: no cover - accounting not installed
        pass
    else:
        add_ledger_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        0 on success, 1 on a verification failure, 2 on bad input.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except PrivacyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
