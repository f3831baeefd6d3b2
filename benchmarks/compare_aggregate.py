"""Side-by-side user-level count, measured in one process on the same events.

The task (the aggregation issue's): count events per ``page`` (1000
Zipf-distributed values) with privacy unit ``user_id``, each user keeping at
most L0 = 4 pages and L∞ = 1 row per page, groups taken from the data
(partition selection), epsilon = 1, delta = 1e-6. The tools:

``polars``
    ``df.group_by("page").len()``: the non-private floor.
``polars_bounded``
    polars doing the bounding itself: one row per (user, page), then at most
    4 random pages per user, then ``group_by("page").len()`` (no noise).
``loopkit``
    ``aggregate_count`` with secure randomness (``rng=None``).
``opendp``
    OpenDP's polars API: ``unit_of(contributions=1, identifier="user_id")``,
    ``truncate_per_group(1, by=["page"])``,
    ``truncate_num_groups(4, by=["page"], keep="first")``,
    ``group_by("page").agg(dp.len())``, ``release().collect()``, from the
    in-memory frame (``df.lazy()``). ``keep="sample"`` (the default) fails in
    OpenDP 0.16 with polars 1.36 for a single grouping column ("multiple
    fields with name 'page'"), hence ``"first"``.
``pipelinedp``
    ``DPEngine`` on ``LocalBackend``, COUNT, Laplace noise,
    ``max_partitions_contributed=4``, ``max_contributions_per_partition=1``,
    private partition selection; its time includes turning the two columns
    into Python tuples (its input format).

Every tool first runs once on the first 10 000 rows (numba compilation,
thread pools, plugin loading), outside the timings. Times are medians over
``--repeats`` rounds; each round runs every tool once, in turn, so a burst of
load on a shared machine hits all tools alike. A tool whose run takes longer
than ``--slow-seconds`` is run only once (the table says how many runs).

Peak memory is measured per tool in a fresh subprocess (``--only``) that
reads the same events from a Parquet file, makes the small warm-up call,
resets the kernel's peak-RSS counter (``/proc/self/clear_refs``), runs the
tool once and reports the peak RSS above the RSS with the data loaded. The
ratio divides that by ``df.estimated_size()`` of the whole five-column input.

Peer libraries are optional; a tool that is missing or fails is reported in
the table and the rest go on. Install them in their own environment only
(``benchmarks/peers-requirements.txt``; opendp[polars] 0.16 pins polars 1.36)::

    python -m venv /tmp/peers
    /tmp/peers/bin/pip install -e . -r benchmarks/peers-requirements.txt
    /tmp/peers/bin/python benchmarks/compare_aggregate.py --rows 1000000 10000000

asv imports every module of ``benchmarks/``: no function here may start with
``time_``, ``peakmem_`` or ``track_``, or asv collects it as a benchmark.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(REPO_ROOT))

import polars as pl  # noqa: E402

import loopkit_privacy._kernels  # noqa: E402
from benchmarks import _data  # noqa: E402
from loopkit_privacy import aggregate  # noqa: E402

TOOLS = ["polars", "polars_bounded", "loopkit", "opendp", "pipelinedp"]
LABELS = {
    "polars": "plain polars `group_by().len()` (non-private)",
    "polars_bounded": "polars, bounding only (no noise)",
    "loopkit": "loopkit_privacy `aggregate_count`",
    "opendp": "OpenDP polars API",
    "pipelinedp": "PipelineDP `LocalBackend`",
}
L0 = 4
LINF = 1
EPSILON = 1.0
DELTA = 1e-6
WARMUP_ROWS = 10_000


# ---------------------------------------------------------------------------
# The tools: each takes the events and returns the number of released groups
# ---------------------------------------------------------------------------


def run_polars(df: pl.DataFrame) -> int:
    return df.group_by("page").len().height


def run_polars_bounded(df: pl.DataFrame) -> int:
    return (
        df.lazy()
        .select("user_id", "page")
        .unique(["user_id", "page"])  # L∞ = 1
        .filter(pl.int_range(pl.len()).shuffle().over("user_id") < L0)  # L0 = 4
        .group_by("page")
        .len()
        .collect()
        .height
    )


def run_loopkit(df: pl.DataFrame) -> int:
    out = aggregate.aggregate_count(
        df,
        by="page",
        privacy_unit="user_id",
        epsilon=EPSILON,
        delta=DELTA,
        max_partitions_per_user=L0,
        max_contributions_per_partition=LINF,
        rng=None,
    )
    return out.height


def run_opendp(df: pl.DataFrame) -> int:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    context = dp.Context.compositor(
        data=df.lazy(),
        privacy_unit=dp.unit_of(contributions=1, identifier="user_id"),
        privacy_loss=dp.loss_of(epsilon=EPSILON, delta=DELTA),
        split_evenly_over=1,
    )
    query = (
        context.query()
        .truncate_per_group(LINF, by=["page"])
        .truncate_num_groups(L0, by=["page"], keep="first")
        .group_by("page")
        .agg(dp.len(signed=False))
    )
    return query.release().collect().height


def run_pipelinedp(df: pl.DataFrame) -> int:
    import pipeline_dp

    rows = list(zip(df["user_id"].to_list(), df["page"].to_list(), strict=True))
    accountant = pipeline_dp.NaiveBudgetAccountant(
        total_epsilon=EPSILON, total_delta=DELTA
    )
    engine = pipeline_dp.DPEngine(accountant, pipeline_dp.LocalBackend())
    params = pipeline_dp.AggregateParams(
        noise_kind=pipeline_dp.NoiseKind.LAPLACE,
        metrics=[pipeline_dp.Metrics.COUNT],
        max_partitions_contributed=L0,
        max_contributions_per_partition=LINF,
    )
    extractors = pipeline_dp.DataExtractors(
        privacy_id_extractor=lambda r: r[0],
        partition_extractor=lambda r: r[1],
        value_extractor=lambda r: 1,
    )
    result = engine.aggregate(rows, params, extractors)  # no public partitions
    accountant.compute_budgets()
    return len(list(result))


RUNNERS: dict[str, Callable[[pl.DataFrame], int]] = {
    "polars": run_polars,
    "polars_bounded": run_polars_bounded,
    "loopkit": run_loopkit,
    "opendp": run_opendp,
    "pipelinedp": run_pipelinedp,
}


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------


class _Timeout(Exception):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise _Timeout


def _timed(run: Callable[[], int], timeout: float) -> tuple[float, int]:
    """Seconds and result of ``run()``; raises _Timeout after ``timeout`` s."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        start = time.perf_counter()
        out = run()
        return time.perf_counter() - start, out
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _error(err: BaseException) -> str:
    line = f"{type(err).__name__}: {err}".strip().splitlines()
    return line[0][:160] if line else type(err).__name__


def measure_times(
    df: pl.DataFrame,
    tools: list[str],
    repeats: int,
    slow_seconds: float,
    timeout: float,
) -> dict[str, dict[str, Any]]:
    """Median seconds of each tool, interleaved over ``repeats`` rounds."""
    res: dict[str, dict[str, Any]] = {t: {"seconds": [], "groups": None} for t in tools}
    warm = df.head(WARMUP_ROWS)
    for tool in tools:
        try:
            RUNNERS[tool](warm)
        except Exception as err:  # a peer that is missing or fails is a table note
            res[tool]["error"] = _error(err)
            traceback.print_exc(file=sys.stderr)
    for _ in range(repeats):
        for tool in tools:
            r = res[tool]
            if "error" in r or r.get("done"):
                continue
            gc.collect()
            try:
                seconds, groups = _timed(lambda tool=tool: RUNNERS[tool](df), timeout)
            except _Timeout:
                r["error"] = f"did not finish in {timeout:.0f} s"
                continue
            except Exception as err:
                r["error"] = _error(err)
                traceback.print_exc(file=sys.stderr)
                continue
            r["seconds"].append(seconds)
            r["groups"] = groups
            print(f"  {tool}: {seconds:.3f} s, {groups} groups", file=sys.stderr)
            if seconds > slow_seconds:
                r["done"] = True
    for r in res.values():
        r["median"] = statistics.median(r["seconds"]) if r["seconds"] else None
    return res


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def child(tool: str, path: str) -> None:
    """Subprocess mode: print JSON with the tool's peak RSS above the loaded data."""
    loopkit_privacy._kernels.warmup()
    df = pl.read_parquet(path)
    RUNNERS[tool](df.head(WARMUP_ROWS))
    gc.collect()
    base_kb = _status_kb("VmRSS")
    try:  # reset VmHWM (peak RSS) to the current RSS; Linux >= 4.0
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        exact = True
    except OSError:
        exact = False  # then the peak may be the loading's, not the tool's
    start = time.perf_counter()
    groups = RUNNERS[tool](df)
    seconds = time.perf_counter() - start
    peak_kb = _status_kb("VmHWM")
    print(
        json.dumps(
            {
                "base_mb": base_kb / 1024,
                "peak_mb": peak_kb / 1024,
                "extra_mb": max(0, peak_kb - base_kb) / 1024,
                "exact": exact,
                "seconds": seconds,
                "groups": groups,
            }
        )
    )


def memory_of(tool: str, path: str, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--only", tool, "--data", path]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout:.0f} s"}
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()
        return {"error": tail[-1][:160] if tail else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def _machine() -> str:
    cpus = os.cpu_count()
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        mem = f", {mem_gb:.0f} GB RAM"
    except (ValueError, OSError):
        mem = ""
    return f"{platform.machine()}, {cpus} CPUs{mem}, Python {platform.python_version()}"


def report(
    sizes: list[dict[str, Any]], tools: list[str], repeats: int, slow: float
) -> str:
    lines = [
        f"Machine: {_machine()}. Versions: loopkit_privacy {_version('loopkit_privacy')}, "
        f"polars {pl.__version__}, opendp {_version('opendp')}, "
        f"pipeline-dp {_version('pipeline-dp')}.",
        f"Times: median of {repeats} interleaved rounds; a tool slower than "
        f"{slow:g} s is run once (see 'runs'). Peak: RSS above the loaded data, "
        "one run in a fresh subprocess. Input: `df.estimated_size()` of the "
        "5-column events.",
        "",
        "| rows | users | tool | seconds | runs | × plain polars | peak MB | "
        "peak ÷ input | groups released |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    notes: list[str] = []
    for s in sizes:
        rows, input_mb = s["rows"], s["input_mb"]
        floor = s["time"].get("polars", {}).get("median")
        for tool in tools:
            t = s["time"][tool]
            m = s["memory"].get(tool, {})
            if t.get("median") is None:
                sec = runs = ratio = "—"
                notes.append(f"{rows:,} rows, {tool}: {t.get('error', 'not run')}")
            else:
                sec = f"{t['median']:.3f}" if t["median"] < 10 else f"{t['median']:.1f}"
                runs = str(len(t["seconds"]))
                ratio = f"{t['median'] / floor:.1f}×" if floor else "—"
                if "error" in t:
                    notes.append(f"{rows:,} rows, {tool}: later run: {t['error']}")
            if "extra_mb" in m:
                peak = f"{m['extra_mb']:,.0f}" + ("" if m["exact"] else " (≥)")
                peak_ratio = f"{m['extra_mb'] / input_mb:.2f}×"
            else:
                peak = peak_ratio = "—"
                if m.get("error"):
                    notes.append(f"{rows:,} rows, {tool} (memory run): {m['error']}")
            groups = t.get("groups")
            lines.append(
                f"| {rows:,} | {s['users']:,} | {LABELS[tool]} | {sec} | {runs} "
                f"| {ratio} | {peak} | {peak_ratio} | {'—' if groups is None else groups} |"
            )
        notes.append(
            f"{rows:,} rows: input {input_mb:,.0f} MB; load average "
            f"{s['load_before']:.1f} before, {s['load_after']:.1f} after"
        )
    return "\n".join([*lines, "", *(f"- {n}" for n in notes)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10**6, 10**7])
    parser.add_argument("--repeats", type=int, default=3, help="rounds; median kept")
    parser.add_argument(
        "--slow-seconds",
        type=float,
        default=60.0,
        help="a tool whose run takes longer is run only once",
    )
    parser.add_argument(
        "--timeout", type=float, default=1200.0, help="seconds per tool run"
    )
    parser.add_argument("--skip-pipelinedp", action="store_true")
    parser.add_argument("--skip-opendp", action="store_true")
    parser.add_argument(
        "--skip-memory", action="store_true", help="no per-tool memory subprocesses"
    )
    parser.add_argument("--only", choices=TOOLS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.only:
        child(args.only, args.data)
        return 0

    tools = [
        t
        for t in TOOLS
        if not (t == "pipelinedp" and args.skip_pipelinedp)
        and not (t == "opendp" and args.skip_opendp)
    ]
    loopkit_privacy._kernels.warmup()
    sizes = []
    with tempfile.TemporaryDirectory(prefix="loopkit-compare-") as tmp:
        for rows in args.rows:
            print(f"{rows:,} rows: building events", file=sys.stderr)
            df = _data.events(rows)
            size = {
                "rows": rows,
                "users": df["user_id"].n_unique(),
                "input_mb": df.estimated_size() / 2**20,
                "load_before": os.getloadavg()[0],
            }
            size["time"] = measure_times(
                df, tools, args.repeats, args.slow_seconds, args.timeout
            )
            size["memory"] = {}
            if not args.skip_memory:
                path = os.path.join(tmp, f"events_{rows}.parquet")
                df.write_parquet(path)
                for tool in tools:
                    if size["time"][tool]["median"] is None:
                        continue  # it failed or timed out above
                    size["memory"][tool] = memory_of(tool, path, args.timeout)
                    print(f"  {tool} memory: {size['memory'][tool]}", file=sys.stderr)
                os.remove(path)
            size["load_after"] = os.getloadavg()[0]
            sizes.append(size)
            _data.events.cache_clear()
            del df
            gc.collect()
    print(report(sizes, tools, args.repeats, args.slow_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
