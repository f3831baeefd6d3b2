"""Side-by-side accuracy of partition selection: groups released and their error.

The task (the accuracy issue's): the benchmark events (1000 Zipf-distributed
pages, one user per 20 events), the number of distinct users per page, each
user counted on at most L0 = 4 pages, groups taken from the data (partition
selection), ε = 1, δ = 1e-6. For every tool and repetition it records how
many pages were released and the median relative error of the released
counts against the true number of distinct users per page (before bounding,
so bounding's bias counts as error too).

Tools:

``loopkit``
    ``aggregate_count(..., distinct=True, max_partitions_per_user=4)``:
    the noisy-count selection (truncated noise, one noise for selection and
    count).
``loopkit_before``
    The same call on the library as it was before the optimal selection
    (untruncated Laplace threshold with the e^ε factor), from a git worktree
    of the commit given by ``--before`` (default: the parent of the commit
    that introduced ``selection.py``), run in a subprocess.
``pipelinedp``
    PipelineDP's ``DPEngine`` on ``LocalBackend``: PRIVACY_ID_COUNT, Laplace
    noise, ``max_partitions_contributed=4``, private partition selection (its
    default, truncated geometric); the budget split between selection and
    count is PipelineDP's own.
``opendp``
    OpenDP's polars API: ``truncate_num_groups(4)`` of one row per (user,
    page), ``group_by("page").agg(dp.len())`` (a noisy, thresholded count).

Peers run in a separate environment (``--peers-python``, see
``benchmarks/peers-requirements.txt``) so that they never change what
loopkit_privacy users get.

Usage::

    python benchmarks/compare_selection.py --rows 1000000 --reps 5 \\
        --peers-python /tmp/peers/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

EPSILON = 1.0
DELTA = 1e-6
L0 = 4
ROOT = Path(__file__).resolve().parent.parent


def _events(rows: int) -> Any:
    sys.path.insert(0, str(ROOT))
    from benchmarks._data import events

    return events(rows)


def truth(df: Any) -> dict[str, int]:
    import polars as pl

    counts = df.group_by("page").agg(pl.col("user_id").n_unique().alias("n"))
    return dict(zip(counts["page"].to_list(), counts["n"].to_list(), strict=True))


def run_loopkit(df: Any) -> dict[str, float]:
    import loopkit_privacy as lp

    out = lp.aggregate_count(
        df.select("user_id", "page"),
        by="page",
        privacy_unit="user_id",
        distinct=True,
        max_partitions_per_user=L0,
        epsilon=EPSILON,
        delta=DELTA,
    )
    return dict(zip(out["page"].to_list(), out["count"].to_list(), strict=True))


def run_pipelinedp(df: Any) -> dict[str, float]:
    import pipeline_dp

    rows = list(zip(df["user_id"].to_list(), df["page"].to_list(), strict=True))
    accountant = pipeline_dp.NaiveBudgetAccountant(
        total_epsilon=EPSILON, total_delta=DELTA
    )
    engine = pipeline_dp.DPEngine(accountant, pipeline_dp.LocalBackend())
    params = pipeline_dp.AggregateParams(
        noise_kind=pipeline_dp.NoiseKind.LAPLACE,
        metrics=[pipeline_dp.Metrics.PRIVACY_ID_COUNT],
        max_partitions_contributed=L0,
        max_contributions_per_partition=1,
    )
    extractors = pipeline_dp.DataExtractors(
        privacy_id_extractor=lambda r: r[0],
        partition_extractor=lambda r: r[1],
        value_extractor=lambda r: 1,
    )
    result = engine.aggregate(rows, params, extractors)
    accountant.compute_budgets()
    return {k: float(v.privacy_id_count) for k, v in result}


def run_opendp(df: Any) -> dict[str, float]:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    data = df.select("user_id", "page").unique()
    context = dp.Context.compositor(
        data=data.lazy(),
        privacy_unit=dp.unit_of(contributions=1, identifier="user_id"),
        privacy_loss=dp.loss_of(epsilon=EPSILON, delta=DELTA),
        split_evenly_over=1,
    )
    query = (
        context.query()
        .truncate_per_group(1, by=["page"])
        .truncate_num_groups(L0, by=["page"], keep="first")
        .group_by("page")
        .agg(dp.len())
    )
    out = query.release().collect()
    return dict(zip(out["page"].to_list(), out["len"].to_list(), strict=True))


TOOLS = {
    "loopkit": run_loopkit,
    "loopkit_before": run_loopkit,
    "pipelinedp": run_pipelinedp,
    "opendp": run_opendp,
}


def metrics(released: dict[str, float], true: dict[str, int]) -> dict[str, float]:
    rel = [abs(v - true[k]) / true[k] for k, v in released.items() if k in true]
    return {
        "released": len(released),
        "median_relative_error": float(np.median(rel)) if rel else float("nan"),
    }


def child(tool: str, rows: int, reps: int) -> None:
    df = _events(rows)
    true = truth(df)
    out = [metrics(TOOLS[tool](df), true) for _ in range(reps)]
    print(json.dumps(out))


def _worktree(commit: str) -> Path:
    path = Path("/tmp/loopkit_before")
    if not path.exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit],
            check=True,
            capture_output=True,
        )
    return path


def _before_commit() -> str:
    first = subprocess.run(
        ["git", "-C", str(ROOT), "log", "--diff-filter=A", "--format=%H", "--",
         "src/loopkit_privacy/selection.py"],
        check=True, capture_output=True, text=True,
    ).stdout.split()[-1]  # fmt: skip
    return f"{first}^"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--peers-python", default="/tmp/peers/bin/python")
    ap.add_argument("--before", default=None, help="commit of the 'before' library")
    ap.add_argument("--only", choices=sorted(TOOLS), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.only:
        child(args.only, args.rows, args.reps)
        return 0
    before = _worktree(args.before or _before_commit())
    me = str(Path(__file__).resolve())
    runs: dict[str, Any] = {}
    for tool in TOOLS:
        python, env = sys.executable, dict(os.environ)
        if tool == "loopkit_before":
            env["PYTHONPATH"] = str(before / "src")
        if tool in ("pipelinedp", "opendp"):
            python = args.peers_python
            if not Path(python).exists():
                runs[tool] = f"skipped: {python} not found"
                continue
        cmd = [
            python,
            me,
            "--only",
            tool,
            "--rows",
            str(args.rows),
            "--reps",
            str(args.reps),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            runs[tool] = "failed: " + proc.stderr.strip().splitlines()[-1]
            continue
        runs[tool] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"rows={args.rows}, 1000 Zipf pages, L0={L0}, epsilon={EPSILON}, "
          f"delta={DELTA}, {args.reps} repetitions")  # fmt: skip
    print("| tool | pages released (mean) | median relative error (mean) |")
    print("|---|---|---|")
    for tool, res in runs.items():
        if isinstance(res, str):
            print(f"| {tool} | {res} | |")
            continue
        pages = np.mean([r["released"] for r in res])
        err = np.mean([r["median_relative_error"] for r in res])
        print(f"| {tool} | {pages:.1f} | {err:.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
