"""Side-by-side k-anonymity: loopkit against plain polars, in one process, same records.

The records are ``benchmarks.bench_kanon.records(rows)``: three
quasi-identifiers ``age_band`` (7 bands), ``region`` (1000 Zipf-distributed
regions) and ``plan`` (4 skewed tiers), plus ``user_id`` and ``sessions``;
k = 5. Two tasks:

``suppress``
    remove the rows of classes smaller than k.
    ``loopkit`` is ``ensure_k_anonymity`` on the polars DataFrame (it also
    builds the report and the table of suppressed classes),
    ``loopkit (Arrow in)`` the same on the equivalent pyarrow Table;
    ``polars over`` is ``df.filter(pl.len().over(qis) >= k)`` and
    ``polars semi-join`` counts the classes with ``group_by(qis).len()`` and
    semi-joins the large ones (``maintain_order="left"``).
``k``
    the k a table achieves: ``k_anonymity`` against
    ``df.group_by(qis).len()["len"].min()``.

Every tool first runs once (numba compilation, thread pools), outside the
timings. Each of ``--repeats`` rounds runs every tool once, in turn, so a
burst of load on a shared machine hits all tools alike; the table shows
medians and the ratio to the fastest polars formulation of the task. The
outputs are checked to agree before anything is timed.

Run::

    python benchmarks/compare_kanon.py --rows 1000000

asv imports every module of ``benchmarks/``: no function here may start with
``time_``, ``peakmem_`` or ``track_``, or asv collects it as a benchmark.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(REPO_ROOT))

import polars as pl  # noqa: E402

import loopkit_privacy  # noqa: E402
import loopkit_privacy._kernels  # noqa: E402
from benchmarks import bench_kanon as bk  # noqa: E402
from loopkit_privacy.kanon import k_anonymity  # noqa: E402

#: (task, tool label, is a polars baseline, function of (polars df, arrow table)).
Tool = tuple[str, str, bool, Callable[[pl.DataFrame, Any], Any]]

TOOLS: list[Tool] = [
    ("suppress", "loopkit", False, lambda df, _t: bk.loopkit_suppress(df)),
    ("suppress", "loopkit (Arrow in)", False, lambda _df, t: bk.loopkit_suppress(t)),
    ("suppress", "polars over", True, lambda df, _t: bk.polars_suppress_over(df)),
    ("suppress", "polars semi-join", True, lambda df, _t: bk.polars_suppress_join(df)),
    (
        "k",
        "loopkit",
        False,
        lambda df, _t: k_anonymity(df, quasi_identifiers=bk.QUASI_IDENTIFIERS),
    ),
    ("k", "polars group_by", True, lambda df, _t: bk.polars_k(df)),
]


def _height(out: Any) -> int:
    return out.num_rows if hasattr(out, "num_rows") else int(out.height)


def _check(df: pl.DataFrame, table: Any) -> None:
    """The tools of a task give the same answer (else the timing means nothing)."""
    heights = {
        label: _height(f(df, table))
        for task, label, _, f in TOOLS
        if task == "suppress"
    }
    assert len(set(heights.values())) == 1, heights
    ks = {label: f(df, table) for task, label, _, f in TOOLS if task == "k"}
    assert len(set(ks.values())) == 1, ks


def measure(rows: int, repeats: int) -> dict[str, Any]:
    """Median seconds per (task, tool) at ``rows`` rows."""
    df = bk.records(rows)
    table = df.to_arrow()
    loopkit_privacy._kernels.warmup()
    small = df.head(10_000)
    for _task, _label, _, f in TOOLS:  # warm-up, untimed
        f(small, small.to_arrow())
    _check(df, table)
    seconds: dict[tuple[str, str], list[float]] = {
        (t, lab): [] for t, lab, _, _ in TOOLS
    }
    for _ in range(repeats):
        for task, label, _, f in TOOLS:
            gc.collect()
            start = time.perf_counter()
            f(df, table)
            seconds[(task, label)].append(time.perf_counter() - start)
    report = bk.ensure_k_anonymity(
        df, quasi_identifiers=bk.QUASI_IDENTIFIERS, k=bk.K
    ).report
    return {
        "rows": rows,
        "median": {key: statistics.median(v) for key, v in seconds.items()},
        "suppressed": report.rows_suppressed,
        "classes": report.classes_in,
        "classes_suppressed": report.classes_suppressed,
    }


def _machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, polars {pl.__version__}, load {load:.1f}"
    )


def format_report(results: list[dict[str, Any]], repeats: int) -> str:
    lines = [
        f"Machine: {_machine()}. k = {bk.K}, quasi-identifiers "
        f"{', '.join(bk.QUASI_IDENTIFIERS)}; median of {repeats} interleaved rounds.",
        "",
        "| rows | task | tool | seconds | × fastest polars |",
        "|---:|---|---|---:|---:|",
    ]
    notes = []
    for r in results:
        for task in dict.fromkeys(t for t, _, _, _ in TOOLS):
            floor = min(
                r["median"][(t, lab)] for t, lab, base, _ in TOOLS if t == task and base
            )
            for t, label, _, _ in TOOLS:
                if t != task:
                    continue
                sec = r["median"][(t, label)]
                lines.append(
                    f"| {r['rows']:,} | {task} | {label} | {sec:.3f} | {sec / floor:.2f}× |"
                )
        notes.append(
            f"{r['rows']:,} rows: {r['classes']:,} classes, {r['classes_suppressed']:,} "
            f"smaller than k, {r['suppressed']:,} rows suppressed"
        )
    return "\n".join([*lines, "", *(f"- {n}" for n in notes)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10**6])
    parser.add_argument("--repeats", type=int, default=7, help="rounds; median kept")
    args = parser.parse_args(argv)
    results = []
    for rows in args.rows:
        print(f"{rows:,} rows: building records", file=sys.stderr)
        results.append(measure(rows, args.repeats))
    print(format_report(results, args.repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
