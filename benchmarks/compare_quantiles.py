"""Side by side: quantiles and variance, speed against polars and accuracy against OpenDP.

Three measurements, all on the benchmark events (``benchmarks/_data.py``:
``time_spent`` in log-normal minutes, 1000 Zipf-distributed pages, one user
per 20 events), with privacy unit ``user_id``, L0 = 4 pages per user and
L∞ = 1 value per page, groups taken from the data (partition selection),
epsilon = 1, delta = 1e-6, bounds (0, 60) minutes:

1. **Speed** (``--rows``, default 10**7): in one process, interleaved over
   ``--repeats`` rounds (medians kept):

   * ``polars_quantile``: ``group_by("page").agg(quantile(0.5), quantile(0.95))``
     (the non-private floor), against ``loopkit_quantiles``:
     ``aggregate_quantiles(quantiles=[0.5, 0.95])``;
   * ``polars_var``: ``group_by("page").agg(var())``, against
     ``loopkit_variance``: ``aggregate_variance``.

2. **Accuracy against a peer** (``--accuracy-rows``, default 10**5): the
   median relative error |DP median - true median| / true median of
   ``time_spent`` per page over ``--trials`` releases, both over the pages
   a tool released and over the pages every tool released in the same
   round, for ``aggregate_quantiles(quantiles=[0.5])`` (the default
   exponential mechanism, and ``method="tree"``) and for OpenDP's
   ``dp.median`` (polars API, the exponential mechanism over
   1025 candidates on the same [0, 60] grid, with ``truncate_per_group(1)``,
   ``truncate_num_groups(4)`` and ``dp.len()`` for the key release, which
   OpenDP requires; ``Margin(max_length=rows)``). The true median is that of
   every raw value of the page. Both tools spend half of ε on the groups.

3. **The DP median at ε = 1 with 10**4 users** (one log-normal value each,
   bounds (0, 600) seconds, one group): the median absolute error over
   ``--trials`` releases.

OpenDP is optional and must live in its own environment (it pins polars)::

    python -m venv /tmp/peers
    /tmp/peers/bin/pip install -e . -r benchmarks/peers-requirements.txt
    /tmp/peers/bin/python benchmarks/compare_quantiles.py

asv imports every module of ``benchmarks/``: no function here may start with
``time_``, ``peakmem_`` or ``track_``.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

import loopkit_privacy as lp  # noqa: E402
import loopkit_privacy._kernels  # noqa: E402
from benchmarks import _data  # noqa: E402

L0 = 4
LINF = 1
EPSILON = 1.0
DELTA = 1e-6
BOUNDS = (0.0, 60.0)
QUANTILES = [0.5, 0.95]
WARMUP_ROWS = 10_000


def _loopkit_kwargs() -> dict[str, Any]:
    return dict(
        column="time_spent", bounds=BOUNDS, by="page", privacy_unit="user_id",
        epsilon=EPSILON, delta=DELTA, max_partitions_per_user=L0,
        max_contributions_per_partition=LINF,
    )  # fmt: skip


def run_polars_quantile(df: pl.DataFrame) -> int:
    out = df.group_by("page").agg(
        pl.col("time_spent").quantile(q).alias(f"q{q}") for q in QUANTILES
    )
    return out.height


def run_loopkit_quantiles(df: pl.DataFrame) -> int:
    out = lp.aggregate_quantiles(df, quantiles=QUANTILES, **_loopkit_kwargs())
    return int(out["page"].n_unique())


def run_polars_var(df: pl.DataFrame) -> int:
    return df.group_by("page").agg(pl.col("time_spent").var()).height


def run_loopkit_variance(df: pl.DataFrame) -> int:
    return lp.aggregate_variance(df, **_loopkit_kwargs()).height


SPEED: dict[str, Callable[[pl.DataFrame], int]] = {
    "polars_quantile": run_polars_quantile,
    "loopkit_quantiles": run_loopkit_quantiles,
    "polars_var": run_polars_var,
    "loopkit_variance": run_loopkit_variance,
}
PAIRS = [("loopkit_quantiles", "polars_quantile"), ("loopkit_variance", "polars_var")]


def measure_speed(rows: int, repeats: int) -> dict[str, Any]:
    df = _data.events(rows)
    warm = df.head(WARMUP_ROWS)
    for run in SPEED.values():
        run(warm)
    times: dict[str, list[float]] = {k: [] for k in SPEED}
    groups: dict[str, int] = {}
    for _ in range(repeats):
        for name, run in SPEED.items():
            gc.collect()
            start = time.perf_counter()
            groups[name] = run(df)
            times[name].append(time.perf_counter() - start)
            print(f"  {name}: {times[name][-1]:.3f} s", file=sys.stderr)
    return {
        "rows": rows,
        "users": _data.n_users(rows),
        "median": {k: statistics.median(v) for k, v in times.items()},
        "groups": groups,
    }


# ---------------------------------------------------------------------------
# Accuracy
# ---------------------------------------------------------------------------


def _relative_errors(released: pl.DataFrame, truth: pl.DataFrame) -> list[float]:
    joined = released.join(truth, on="page", how="inner")
    return ((joined["dp"] - joined["true"]).abs() / joined["true"]).to_numpy().tolist()


def loopkit_medians(df: pl.DataFrame, method: str = "exponential") -> pl.DataFrame:
    out = lp.aggregate_quantiles(
        df, quantiles=[0.5], method=method, **_loopkit_kwargs()
    )
    return out.select("page", pl.col("value").alias("dp"))


def loopkit_tree_medians(df: pl.DataFrame) -> pl.DataFrame:
    return loopkit_medians(df, method="tree")


def opendp_medians(df: pl.DataFrame) -> pl.DataFrame:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    candidates = [float(x) for x in np.linspace(BOUNDS[0], BOUNDS[1], 1025)]
    context = dp.Context.compositor(
        data=df.lazy(),
        privacy_unit=dp.unit_of(contributions=1, identifier="user_id"),
        privacy_loss=dp.loss_of(epsilon=EPSILON, delta=DELTA),
        split_evenly_over=1,
        margins=[dp.polars.Margin(by=["page"], max_length=df.height)],
    )
    query = (
        context.query()
        .truncate_per_group(LINF, by=["page"])
        .truncate_num_groups(L0, by=["page"], keep="first")
        .group_by("page")
        .agg(
            pl.col("time_spent").fill_null(0.0).dp.median(candidates),
            dp.len(signed=False),
        )
    )
    out = query.release().collect()
    return out.select("page", pl.col("time_spent").alias("dp"))


def measure_accuracy(rows: int, trials: int, tools: list[str]) -> dict[str, Any]:
    """Relative errors per tool: over its own released pages, and over the
    pages every tool released in the same round (a like-for-like subset)."""
    df = _data.events(rows)
    truth = df.group_by("page").agg(pl.col("time_spent").median().alias("true"))
    runners = {
        "loopkit": loopkit_medians,
        "loopkit_tree": loopkit_tree_medians,
        "opendp": opendp_medians,
    }
    res: dict[str, Any] = {
        t: {"errors": [], "common": [], "released": [], "seconds": []} for t in tools
    }
    for _ in range(trials):
        outs: dict[str, pl.DataFrame] = {}
        for tool in tools:
            if "error" in res[tool]:
                continue
            try:
                start = time.perf_counter()
                outs[tool] = runners[tool](df)
                res[tool]["seconds"].append(time.perf_counter() - start)
            except Exception as err:  # a missing peer is a table note
                res[tool]["error"] = f"{type(err).__name__}: {err}".splitlines()[0][
                    :160
                ]
        if not outs:
            continue
        common = set.intersection(*(set(o["page"].to_list()) for o in outs.values()))
        for tool, out in outs.items():
            r = res[tool]
            r["released"].append(out.height)
            r["errors"] += _relative_errors(out, truth)
            r["common"] += _relative_errors(
                out.filter(pl.col("page").is_in(sorted(common))), truth
            )
    summary: dict[str, Any] = {}
    for tool, r in res.items():
        if "error" in r:
            summary[tool] = {"error": r["error"]}
            continue
        summary[tool] = {
            "median_relative_error": float(np.median(r["errors"])),
            "common_median_relative_error": float(np.median(r["common"]))
            if r["common"]
            else math.nan,
            "common_pages": len(r["common"]) / max(1, len(r["released"])),
            "pages_released": statistics.median(r["released"]),
            "seconds": statistics.median(r["seconds"]),
        }
        print(f"  accuracy {tool}: {summary[tool]}", file=sys.stderr)
    return summary


def median_error_ten_thousand(trials: int) -> dict[str, float]:
    gen = np.random.default_rng(7)
    n = 10_000
    x = gen.lognormal(math.log(60.0), 1.0, n)
    t = pl.DataFrame({"user_id": np.arange(n), "v": x})
    xs = np.sort(np.clip(x, 0, 600))
    true = float(xs[math.ceil(0.5 * n) - 1])
    errs = []
    for _ in range(trials):
        out = lp.aggregate_quantiles(
            t, column="v", quantiles=[0.5], bounds=(0, 600), privacy_unit="user_id",
            epsilon=1.0,
        )  # fmt: skip
        errs.append(abs(out["value"][0] - true))
    return {"true_median": true, "median_abs_error": float(np.median(errs))}


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def report(
    speed: list[dict[str, Any]],
    acc: dict[str, Any] | None,
    acc_rows: int,
    trials: int,
    ten: dict[str, float] | None,
    repeats: int,
) -> str:
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}. Versions: loopkit_privacy "
        f"{_version('loopkit_privacy')}, polars {pl.__version__}, opendp "
        f"{_version('opendp')}.",
        "",
        f"Speed (median of {repeats} interleaved rounds; L0 = 4, L∞ = 1, ε = 1, "
        "δ = 1e-6, pages from the data):",
        "",
        "| rows | users | task | polars (s) | loopkit (s) | × polars |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for s in speed:
        for ours, floor in PAIRS:
            task = "p50 + p95 per page" if "quantile" in ours else "variance per page"
            a, b = s["median"][floor], s["median"][ours]
            lines.append(
                f"| {s['rows']:,} | {s['users']:,} | {task} | {a:.3f} | {b:.3f} "
                f"| {b / a:.2f}× |"
            )
    if acc is not None:
        lines += [
            "",
            f"Accuracy: DP median of `time_spent` per page, {acc_rows:,} rows "
            f"({_data.n_users(acc_rows):,} users), {trials} releases per tool:",
            "",
            "| tool | median relative error, pages all tools released (pages "
            "per round) | median relative error, its own pages | pages released "
            "| seconds per release |",
            "|---|---:|---:|---:|---:|",
        ]
        names = {
            "loopkit": "loopkit `aggregate_quantiles` (exponential mechanism, default)",
            "loopkit_tree": "loopkit `aggregate_quantiles(method='tree')`",
            "opendp": "OpenDP polars `dp.median` (1025 candidates)",
        }
        for tool, r in acc.items():
            if "error" in r:
                lines.append(f"| {names[tool]} | — ({r['error']}) | | | |")
                continue
            lines.append(
                f"| {names[tool]} | {r['common_median_relative_error']:.4f} "
                f"({r['common_pages']:g}) | {r['median_relative_error']:.4f} | "
                f"{r['pages_released']:g} | {r['seconds']:.2f} |"
            )
    if ten is not None:
        lines += [
            "",
            f"DP median at ε = 1 with 10,000 users (one log-normal value each, "
            f"bounds (0, 600) s): median absolute error {ten['median_abs_error']:.3f} s "
            f"over {trials} releases (true median {ten['true_median']:.2f} s, "
            f"relative {ten['median_abs_error'] / ten['true_median']:.2e}).",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[10**7])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--accuracy-rows", type=int, default=10**5)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--skip-opendp", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args(argv)
    loopkit_privacy._kernels.warmup()
    speed = [measure_speed(rows, args.repeats) for rows in args.rows]
    acc = ten = None
    if not args.skip_accuracy:
        tools = ["loopkit", "loopkit_tree"] + ([] if args.skip_opendp else ["opendp"])
        acc = measure_accuracy(args.accuracy_rows, args.trials, tools)
        ten = median_error_ten_thousand(max(args.trials, 20))
    print(report(speed, acc, args.accuracy_rows, args.trials, ten, args.repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
