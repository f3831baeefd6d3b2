"""Spends per second on one SQLite ledger, with 1 and 4 processes, in one run.

Usage::

    python benchmarks/ledger_throughput.py [--seconds 3] [--processes 1 4]

Each process opens its own accountant on the same file and calls ``spend`` in
a loop for the given time; the table reports the total admitted spends per
second for ``synchronous="full"`` (durable against power loss, the default)
and ``"normal"`` (durable against process crashes), and the in-memory
accountant for reference. Afterwards the ledger is verified.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import tempfile
import time

from loopkit_privacy.accounting import Accountant, verify_ledger
from loopkit_privacy.loss import PureDP


def _worker(path, synchronous, seconds, start, out):
    acc = Accountant.open(path, dataset="bench", synchronous=synchronous)
    cost = PureDP(0.001)
    start.wait()
    n = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        acc.spend(cost, label="bench")
        n += 1
    acc.close()
    out.put(n)


def sqlite_rate(processes: int, synchronous: str, seconds: float) -> float:
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="lp-ledger-") as tmp:
        path = os.path.join(tmp, "bench.ledger")
        Accountant.open(path, dataset="bench", epsilon=1e12).close()
        start, out = ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(target=_worker, args=(path, synchronous, seconds, start, out))
            for _ in range(processes)
        ]
        for p in procs:
            p.start()
        time.sleep(1.0)  # let every process import and open before the clock starts
        start.set()
        total = sum(out.get(timeout=seconds + 120) for _ in procs)
        for p in procs:
            p.join()
        report = verify_ledger(path)
        if not report.ok or report.datasets[0].receipts != total:
            raise RuntimeError(report.summary())
        return total / seconds


def memory_rate(seconds: float) -> float:
    acc = Accountant(epsilon=1e12)
    cost = PureDP(0.001)
    n = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        acc.spend(cost)
        n += 1
    return n / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}")
    print()
    print("| ledger | synchronous | processes | spends/s |")
    print("|---|---|---:|---:|")
    print(f"| in-memory | - | 1 | {memory_rate(args.seconds):,.0f} |")
    for synchronous in ("full", "normal"):
        for n in args.processes:
            rate = sqlite_rate(n, synchronous, args.seconds)
            print(f"| SQLite | {synchronous} | {n} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
