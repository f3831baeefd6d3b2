"""Durable spends per second on SQLite and PostgreSQL ledgers, and the disk's fsync rate.

Usage::

    python benchmarks/ledger_throughput.py [--seconds 3] [--sqlite-processes 1 4 8]
        [--pg-clients 1 8 32] [--postgres-url URL] [--no-postgres]

Each client is a process with its own accountant on the same ledger, calling
``spend`` in a loop for the given time; a row reports the total admitted
spends per second over all clients. In the same run:

* **fsync**: a loop of ``write`` + ``fsync`` of one 4 KiB block on a file in
  the same filesystem as the ledgers (the physical limit of one writer that
  waits for each commit to reach the disk);
* **SQLite**, ``synchronous="full"`` (durable against power loss, the
  default) and ``"normal"`` (durable against process crashes);
* **PostgreSQL** with ``synchronous_commit = on`` (the ledger's default), all
  clients on one dataset (one budget, one row lock) and, for comparison, each
  client on a dataset of its own (no lock is shared): a
  throwaway server (``initdb`` + ``pg_ctl`` in the same temporary filesystem,
  as the ``postgres`` user when run as root), or ``--postgres-url`` (a
  superuser URL: a new database is created on it for each row);
* the in-memory accountant, for reference.

Afterwards every ledger is verified and must hold exactly as many receipts as
spends counted.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from loopkit_privacy.accounting import Accountant, verify_ledger
from loopkit_privacy.loss import PureDP

ROOT = Path(__file__).resolve().parents[1]
# fork: 32 clients start in milliseconds; each opens its own connection after
# the fork (the parent holds none while they run).
CTX = mp.get_context("fork")


def _worker(target, dataset, synchronous, seconds, start, out):
    acc = Accountant.open(target, dataset=dataset, synchronous=synchronous)
    cost = PureDP(0.001)
    start.wait()
    n = 0
    cpu = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        acc.spend(cost, label="bench")
        n += 1
    cpu = time.process_time() - cpu
    acc.close()
    out.put((n, cpu))


def _run_clients(
    target, clients: int, synchronous: str, seconds: float, datasets: int = 1
) -> tuple[float, float]:
    """Spends per second, and the clients' CPU milliseconds per spend.

    The CPU time is the clients' own (user + system) while they spend; the
    server's is not included.
    """
    names = [f"bench{i}" for i in range(datasets)]
    for name in names:
        Accountant.open(target, dataset=name, epsilon=1e12).close()
    start, out = CTX.Event(), CTX.Queue()
    procs = [
        CTX.Process(
            target=_worker,
            args=(target, names[i % datasets], synchronous, seconds, start, out),
        )
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    time.sleep(0.5 + 0.05 * clients)  # every client connected before the clock starts
    start.set()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    total = sum(n for n, _ in results)
    cpu = sum(c for _, c in results)
    for p in procs:
        p.join()
    report = verify_ledger(target)
    if not report.ok or sum(d.receipts for d in report.datasets) != total:
        raise RuntimeError(report.summary())
    return total / seconds, 1000 * cpu / total


def sqlite_rate(
    processes: int, synchronous: str, seconds: float, tmp: str
) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="lp-ledger-", dir=tmp) as d:
        return _run_clients(
            os.path.join(d, "bench.ledger"), processes, synchronous, seconds
        )


def postgres_rate(
    admin_url: str, clients: int, seconds: float, datasets: int = 1
) -> tuple[float, float]:
    sys.path.insert(0, str(ROOT))
    from tests.pgserver import new_database

    url = new_database(admin_url, "bench")
    return _run_clients(url, clients, "full", seconds, datasets)


def fsync_rate(seconds: float, directory: str) -> float:
    """Sequential ``write`` + ``fsync`` of one 4 KiB block per step, per second."""
    fd, path = tempfile.mkstemp(prefix="lp-fsync-", dir=directory)
    block = os.urandom(4096)
    try:
        n = 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            os.write(fd, block)
            os.fsync(fd)
            n += 1
        return n / seconds
    finally:
        os.close(fd)
        os.unlink(path)


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
    parser.add_argument("--sqlite-processes", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--pg-clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.gettempdir()
    server = None
    admin_url = args.postgres_url
    if admin_url is None and not args.no_postgres:
        sys.path.insert(0, str(ROOT))
        from tests.pgserver import Server, find_bindir

        bindir = find_bindir()
        if bindir is None:
            sys.exit("no PostgreSQL binaries: pass --postgres-url or --no-postgres")
        server = Server(bindir)
        admin_url = server.url
    try:
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
            f"{platform.system()}, Python {platform.python_version()}; "
            f"temporary files (fsync loop, SQLite, PostgreSQL data) in {tmp}"
        )
        print()
        print("| ledger | durability | clients | spends/s | client CPU ms/spend |")
        print("|---|---|---:|---:|---:|")

        def row(what: str, durability: str, n: int, result: tuple[float, float]):
            print(
                f"| {what} | {durability} | {n} | {result[0]:,.0f} | {result[1]:.2f} |"
            )

        print(
            f"| fsync loop (write+fsync 4 KiB) | - | 1 | "
            f"{fsync_rate(args.seconds, tmp):,.0f} | - |"
        )
        print(f"| in-memory | - | 1 | {memory_rate(args.seconds):,.0f} | - |")
        for synchronous in ("full", "normal"):
            for n in args.sqlite_processes:
                result = sqlite_rate(n, synchronous, args.seconds, tmp)
                row("SQLite", f"synchronous={synchronous}", n, result)
        if admin_url is not None:
            for n in args.pg_clients:
                result = postgres_rate(admin_url, n, args.seconds)
                row("PostgreSQL, one dataset", "synchronous_commit=on", n, result)
            for n in args.pg_clients:
                if n > 1:
                    result = postgres_rate(admin_url, n, args.seconds, datasets=n)
                    row(
                        "PostgreSQL, a dataset per client",
                        "synchronous_commit=on",
                        n,
                        result,
                    )
    finally:
        if server is not None:
            server.destroy()


if __name__ == "__main__":
    main()
