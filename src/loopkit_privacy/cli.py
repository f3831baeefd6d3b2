"""The ``loopkit-privacy`` command.

Sub-commands:

* ``demo``: differentially private statistics on synthetic product events,
  true values beside noisy ones with their 95 % confidence intervals;
* ``ledger show PATH`` / ``ledger verify PATH``: inspect and verify a
  persistent privacy ledger;
* ``audit``: the empirical privacy audit of every mechanism and aggregation
  (see :mod:`loopkit_privacy.audit.cli`).

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
from pathlib import Path
from typing import Any

import numpy as np

from loopkit_privacy import _kernels, aggregate, mechanisms
from loopkit_privacy import random as lp_random
from loopkit_privacy._progress import progress
from loopkit_privacy._typing import AnyArray
from loopkit_privacy._validate import check_delta, check_positive, check_positive_int
from loopkit_privacy.errors import (
    InsecureRandomnessWarning,
    InvalidParameterError,
    PrivacyError,
)

__all__ = ["build_parser", "main"]

_PAGES = ("home", "pricing", "docs", "signup", "settings")


def _synthetic_events(n_users: int, seed: int) -> dict[str, AnyArray]:
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
    _seed_queries(args, rng)
    print()
    print(
        f"Privacy unit: the user. The first table's three releases are ε={eps:g}-DP and one is "
        f"ρ={eps**2 / 2:g}-zCDP; together (pure ε-DP implies ε²/2-zCDP) they are "
        f"ρ={3 * eps**2 / 2 + eps**2 / 2:g}-zCDP."
    )
    return 0


def synthetic_events(
    n_events: int, *, n_users: int | None = None, seed: int = 0
) -> Any:
    """Deterministic synthetic product events as a polars DataFrame.

    Columns: ``user_id`` (int64), ``page`` (1000 Zipf-distributed paths),
    ``feature`` (30 Zipf-distributed names), ``time_spent`` (minutes,
    log-normal) and ``platform``. Demo and benchmark data only.

    Examples
    --------
    >>> synthetic_events(1000, seed=1).columns
    ['user_id', 'page', 'feature', 'time_spent', 'platform']
    """
    import polars as pl

    gen = np.random.default_rng(seed)
    users = n_users if n_users is not None else max(1, n_events // 20)
    page_idx = (gen.zipf(1.3, n_events) - 1) % 1000
    feature_idx = (gen.zipf(1.6, n_events) - 1) % 30
    pages = np.array([f"/page/{i}" for i in range(1000)])
    features = np.array([f"feature_{i:02d}" for i in range(30)])
    return pl.DataFrame(
        {
            "user_id": gen.integers(0, users, n_events, dtype=np.int64),
            "page": pl.Series(pages[page_idx], dtype=pl.Categorical),
            "feature": pl.Series(features[feature_idx], dtype=pl.Categorical),
            "time_spent": np.round(gen.lognormal(1.5, 0.9, n_events), 2),
            "platform": gen.choice(np.array(["web", "ios", "android"]), n_events),
        }
    ).with_columns(pl.col("page").cast(pl.String), pl.col("feature").cast(pl.String))


def synthetic_activity(n_users: int, *, seed: int = 0) -> Any:
    """Deterministic synthetic sign-ins over 2025 as a polars DataFrame.

    Columns ``user_id`` (int64) and ``ts`` (datetime, µs). User u first
    appears in the 30-day block u % 12 of 2025 and returns over the following ones
    with a decaying probability. Demo data only.

    Examples
    --------
    >>> df = synthetic_activity(100, seed=1)
    >>> df.columns, df["user_id"].n_unique()
    (['user_id', 'ts'], 100)
    """
    import polars as pl

    gen = np.random.default_rng(seed)
    user = np.arange(n_users, dtype=np.int64)
    month = user % 12
    months = [user]
    stamps = [month * 30 + gen.integers(0, 28, n_users)]
    for k in range(1, 12):
        back = gen.random(n_users) < 0.6 * 0.8**k
        months.append(user[back])
        stamps.append((month[back] + k) * 30 + gen.integers(0, 28, int(back.sum())))
    days = np.concatenate(stamps)
    start = np.datetime64("2025-01-01", "D")
    return pl.DataFrame(
        {
            "user_id": np.concatenate(months),
            "ts": (start + days.astype("timedelta64[D]")).astype("datetime64[us]"),
        }
    )


def synthetic_funnel(n_users: int, *, seed: int = 0) -> Any:
    """Deterministic synthetic sign-up funnel events as a polars DataFrame.

    Columns ``user_id`` (int64), ``event`` (``signup``, ``activate``,
    ``purchase`` or ``page_view``), ``ts`` (datetime, µs) and ``plan``
    (``free``/``pro``, constant per user). Every user signs up in June 2025;
    about 60% activate (hours to days later) and about 30% of all users
    buy after activating. Demo data only.

    Examples
    --------
    >>> df = synthetic_funnel(100, seed=1)
    >>> df.columns, df.filter(df["event"] == "signup").height
    (['user_id', 'event', 'ts', 'plan'], 100)
    """
    import polars as pl

    gen = np.random.default_rng(seed)
    user = np.arange(n_users, dtype=np.int64)
    hours = gen.integers(0, 30 * 24, n_users)
    act = hours + gen.exponential(48.0, n_users).astype(np.int64)
    buy = act + gen.exponential(96.0, n_users).astype(np.int64)
    plan = gen.choice(np.array(["free", "pro"]), n_users, p=[0.8, 0.2])
    activated = gen.random(n_users) < 0.6
    bought = activated & (gen.random(n_users) < 0.5)
    parts = [
        (user, "signup", hours),
        (user[activated], "activate", act[activated]),
        (user[bought], "purchase", buy[bought]),
        (user, "page_view", hours + 1),
    ]
    start = np.datetime64("2025-06-01T00", "h")
    return pl.DataFrame(
        {
            "user_id": np.concatenate([u for u, _, _ in parts]),
            "event": np.concatenate([np.full(u.shape[0], e) for u, e, _ in parts]),
            "ts": np.concatenate(
                [
                    (start + h.astype("timedelta64[h]")).astype("datetime64[us]")
                    for _, _, h in parts
                ]
            ),
            "plan": np.concatenate([plan[u] for u, _, _ in parts]),
        }
    )


def _seed_queries(args: argparse.Namespace, rng: Any) -> None:
    """The three queries of the seed page, on synthetic events, with a budget."""
    from loopkit_privacy.accounting import Accountant

    events = synthetic_events(args.events, seed=0 if args.seed is None else args.seed)
    acc = Accountant(epsilon=7.0, delta=1e-5)
    print()
    print(f"Seed queries on {events.height} synthetic events (budget ε=7, δ=1e-5):")
    print()
    print("aggregateCount(users, {minThreshold: 10}) -> users per page, top rows:")
    counts = aggregate.aggregate_count(
        events,
        by="page",
        privacy_unit="user_id",
        distinct=True,
        epsilon=1.0,
        delta=1e-6,
        max_partitions_per_user=5,
        min_threshold=10,
        accountant=acc,
        rng=rng,
        label="users per page",
    )
    print(counts.sort("count", descending=True).head(5))
    print()
    print("aggregateAverage(sessions, {noise: true}) -> average minutes per platform:")
    avg = aggregate.aggregate_average(
        events,
        column="time_spent",
        bounds=(0.0, 60.0),
        by="platform",
        privacy_unit="user_id",
        epsilon=1.0,
        public_groups=["android", "ios", "web"],
        max_partitions_per_user=3,
        max_contributions_per_partition=5,
        accountant=acc,
        rng=rng,
        label="avg minutes",
    )
    print(avg)
    print()
    print(
        "performanceMonitoring -> median and p95 minutes, and their spread, per platform:"
    )
    from loopkit_privacy.quantiles import aggregate_quantiles, aggregate_std

    spread_args: dict[str, Any] = dict(
        column="time_spent",
        bounds=(0.0, 60.0),
        by="platform",
        privacy_unit="user_id",
        epsilon=1.0,
        public_groups=["android", "ios", "web"],
        max_partitions_per_user=1,
        max_contributions_per_partition=5,
        accountant=acc,
        rng=rng,
    )
    print(
        aggregate_quantiles(
            events, quantiles=[0.5, 0.95], label="p50/p95 minutes", **spread_args
        )
    )
    print(aggregate_std(events, label="std of minutes", **spread_args))
    print()
    print("aggregateTopN(features, {limit: 5, minUsers: 20}) -> top features:")
    top = aggregate.aggregate_top_n(
        events,
        column="feature",
        n=5,
        min_users=20,
        privacy_unit="user_id",
        epsilon=1.0,
        delta=1e-6,
        max_partitions_per_user=3,
        accountant=acc,
        rng=rng,
        label="top features",
    )
    print(top)
    print()
    print(
        "cohortAnalysis(users, timeframe) -> monthly retention, cohorts of >= 10 (noisy):"
    )
    from loopkit_privacy.cohorts import cohort_retention

    activity = synthetic_activity(
        max(1200, args.events // 20), seed=0 if args.seed is None else args.seed
    )
    retention = cohort_retention(
        activity,
        privacy_unit="user_id",
        time="ts",
        start="2025-01-01",
        end="2025-04-01",
        n_periods=4,
        epsilon=1.0,
        min_cohort_size=10,
        observed_until="2026-01-01",
        accountant=acc,
        rng=rng,
        label="retention",
    )
    print(
        retention.select(
            "cohort", "period", "cohort_size", "active", "retention",
            "retention_ci_low", "retention_ci_high",
        )
    )  # fmt: skip
    print()
    print("funnel(signup -> activate -> purchase, within 7 days) -> users per step:")
    from loopkit_privacy.funnel import funnel

    steps = synthetic_funnel(
        max(1200, args.events // 20), seed=0 if args.seed is None else args.seed
    )
    conversion = funnel(
        steps,
        privacy_unit="user_id",
        step="event",
        steps=["signup", "activate", "purchase"],
        time="ts",
        within="7d",
        epsilon=1.0,
        accountant=acc,
        rng=rng,
        label="signup funnel",
    )
    print(
        conversion.select(
            "step", "users", "users_ci_low", "users_ci_high", "conversion",
            "conversion_ci_low", "conversion_ci_high",
        )
    )  # fmt: skip
    print()
    print(f"Budget: spent {acc.spent!r}, remaining {acc.remaining!r}; receipts:")
    for receipt in acc.receipts:
        print(f"  {receipt.label}: {receipt.cost!r}")


def _check_query_args(args: argparse.Namespace) -> str:
    """Validate what the command line alone decides; return the query kind.

    Runs before the file is read or a ledger is opened, so that a bad command
    creates no file and charges nothing.
    """
    path = str(args.file)
    if not path.endswith((".parquet", ".csv")):
        raise InvalidParameterError(
            f"`file` must end in .parquet or .csv, got {path!r}",
            parameter="file",
            value=path,
        )
    chosen = [k for k in ("count", "sum", "average", "top_n") if getattr(args, k)]
    if len(chosen) != 1:
        raise InvalidParameterError(
            "choose exactly one `query`: --count, --sum COL, --average COL or "
            f"--top-n COL (got {len(chosen)})",
            parameter="query",
            value=chosen,
        )
    if args.privacy_unit is None and not args.event_level:
        # Event-level privacy protects rows, not people: only on request.
        raise InvalidParameterError(
            "`privacy_unit` is required: pass --privacy-unit COLUMN (the column "
            "identifying a user), or --event-level to protect single rows only",
            parameter="privacy_unit",
            value=None,
        )
    if args.privacy_unit is not None and args.event_level:
        raise InvalidParameterError(
            "give either --privacy-unit or --event-level, not both (`privacy_unit`)",
            parameter="privacy_unit",
            value=args.privacy_unit,
        )
    if chosen[0] in ("sum", "average") and args.bounds is None:
        raise InvalidParameterError(
            "--sum/--average need `bounds`: pass --bounds LO HI",
            parameter="bounds",
            value=None,
        )
    check_positive_int(args.rows, "rows", example="30")
    if args.ledger:
        # The ledger's budget has its own options: name them, not `epsilon`.
        check_positive(args.budget_epsilon, "budget_epsilon", example="10")
        check_delta(args.budget_delta, "budget_delta", allow_zero=True)
    return chosen[0]


def _query(args: argparse.Namespace) -> int:
    import polars as pl

    from loopkit_privacy.accounting import Accountant

    kind = _check_query_args(args)
    path = str(args.file)
    frame = pl.scan_parquet(path) if path.endswith(".parquet") else pl.scan_csv(path)
    rng = None if args.seed is None else lp_random.InsecureSeededRandom(args.seed)
    unit = None if args.event_level else args.privacy_unit
    # Read only the columns the query needs, with a progress bar on a terminal.
    value_col = args.top_n if kind == "top_n" else getattr(args, kind, None)
    wanted = [c for c in [unit, *(args.by or []), value_col] if isinstance(c, str)]
    available = frame.collect_schema().names()
    accountant = None
    if args.ledger:
        accountant = Accountant.open(
            args.ledger,
            dataset=args.dataset,
            epsilon=args.budget_epsilon,
            delta=args.budget_delta,
        )
    try:
        with progress(
            total=2, desc=f"query {Path(path).name}", quiet=args.quiet
        ) as bar:
            bar.set_postfix_str("reading")
            if wanted and all(c in available for c in wanted):
                # (A missing column is left to the aggregation, whose error
                # lists every column of the file.)
                frame = frame.select(list(dict.fromkeys(wanted))).collect().lazy()
            bar.update(1)
            bar.set_postfix_str("private aggregation")
            result = _run_query(args, frame, kind, unit, accountant, rng)
            bar.update(1)
        table = result.collect()
        with pl.Config(tbl_rows=args.rows, tbl_cols=-1):
            print(table)
        info = aggregate.privacy_info(result)
        print(
            f"cost: {info.cost!r}; groups: {info.groups}; "
            f"insecure randomness: {info.insecure}"
        )
        if accountant is not None:
            print(
                f"ledger {args.ledger} [{args.dataset}]: remaining "
                f"{accountant.remaining!r}"
            )
    finally:
        if accountant is not None:
            accountant.close()
    return 0


def _run_query(
    args: argparse.Namespace,
    frame: Any,
    kind: str,
    unit: str | None,
    accountant: Any,
    rng: Any,
) -> Any:
    common: dict[str, Any] = {
        "privacy_unit": unit,
        "epsilon": args.epsilon,
        "delta": args.delta,
        "mechanism": args.mechanism,
        "max_partitions_per_user": args.max_partitions,
        "accountant": accountant,
        "rng": rng,
        "confidence": args.confidence,
    }
    by = args.by or None
    if kind == "top_n":
        result = aggregate.aggregate_top_n(
            frame, column=args.top_n, n=args.n, min_users=args.min_users, **common
        )
    else:
        common.update(
            by=by,
            max_contributions_per_partition=args.max_contributions,
            min_threshold=args.min_threshold,
        )
        if kind == "count":
            result = aggregate.aggregate_count(frame, distinct=args.distinct, **common)
        else:
            fn = (
                aggregate.aggregate_sum
                if kind == "sum"
                else aggregate.aggregate_average
            )
            result = fn(
                frame,
                column=getattr(args, kind),
                bounds=tuple(args.bounds),
                **common,
            )
    return result


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
    demo.add_argument(
        "--events",
        type=int,
        default=200_000,
        help="synthetic events for the seed queries",
    )
    demo.add_argument("--quiet-warnings", action="store_true", help=argparse.SUPPRESS)
    demo.set_defaults(func=_demo)

    q = sub.add_parser("query", help="a private aggregation over a Parquet or CSV file")
    q.add_argument("file", help="events file (.parquet or .csv)")
    what = q.add_argument_group("what to compute (one of)")
    what.add_argument(
        "--count", action="store_true", help="count rows (or --distinct users)"
    )
    what.add_argument("--sum", metavar="COL", help="sum of a numeric column")
    what.add_argument("--average", metavar="COL", help="average of a numeric column")
    what.add_argument(
        "--top-n", metavar="COL", dest="top_n", help="most used values of COL"
    )
    q.add_argument("--by", nargs="*", default=[], help="group-by column(s)")
    q.add_argument(
        "--privacy-unit", default=None, help="column identifying a user (required)"
    )
    q.add_argument("--event-level", action="store_true", help="protect rows, not users")
    q.add_argument("--epsilon", type=float, required=True)
    q.add_argument("--delta", type=float, default=None)
    q.add_argument("--mechanism", choices=["laplace", "gaussian"], default="laplace")
    q.add_argument("--bounds", type=float, nargs=2, metavar=("LO", "HI"))
    q.add_argument("--max-partitions", type=int, default=1, help="L0 per user")
    q.add_argument(
        "--max-contributions", type=int, default=1, help="L∞ rows per user and group"
    )
    q.add_argument(
        "--distinct", action="store_true", help="with --count: distinct users"
    )
    q.add_argument("--min-threshold", type=float, default=None)
    q.add_argument("--n", type=int, default=5, help="with --top-n: how many")
    q.add_argument("--min-users", type=float, default=None, help="with --top-n")
    q.add_argument("--confidence", type=float, default=0.95)
    q.add_argument("--rows", type=int, default=30, help="rows to print")
    q.add_argument("--seed", type=int, default=None, help="INSECURE reproducible noise")
    q.add_argument("--ledger", help="SQLite ledger to charge (created if missing)")
    q.add_argument("--dataset", default="default", help="dataset name in the ledger")
    q.add_argument("--budget-epsilon", type=float, default=10.0, help="ledger total ε")
    q.add_argument("--budget-delta", type=float, default=1e-5, help="ledger total δ")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=_query)
    try:
        from loopkit_privacy.accounting.cli import add_ledger_commands
    except ImportError:  # pragma: no cover - accounting not installed
        pass
    else:
        add_ledger_commands(sub)
    from loopkit_privacy.audit.cli import add_audit_command

    add_audit_command(sub)
    return parser


#: The ``query`` option that sets each parameter a library error may name.
_OPTIONS = {
    "file": "FILE",
    "epsilon": "--epsilon",
    "delta": "--delta",
    "mechanism": "--mechanism",
    "bounds": "--bounds",
    "by": "--by",
    "privacy_unit": "--privacy-unit",
    "max_partitions_per_user": "--max-partitions",
    "max_contributions_per_partition": "--max-contributions",
    "min_threshold": "--min-threshold",
    "n": "--n",
    "min_users": "--min-users",
    "confidence": "--confidence",
    "rows": "--rows",
    "seed": "--seed",
    "dataset": "--dataset",
    "budget_epsilon": "--budget-epsilon",
    "budget_delta": "--budget-delta",
}


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
        option = _OPTIONS.get(getattr(err, "parameter", None) or "")
        hint = f" (option {option})" if option and args.command == "query" else ""
        print(f"error: {err}{hint}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
