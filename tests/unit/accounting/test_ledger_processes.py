"""Several processes on one ledger file: races and SIGKILL at random moments."""

import multiprocessing as mp
import os
import random
import signal
import time

from loopkit_privacy.accounting import Accountant, verify_ledger
from loopkit_privacy.errors import BudgetExceededError
from loopkit_privacy.loss import PureDP

# fork: children start in milliseconds, so many kills fit in a few seconds.
# Each child opens its own connection after the fork.
CTX = mp.get_context("fork")


def _race_worker(path, start, out):
    acc = Accountant.open(path, dataset="d")
    start.wait()
    n = 0
    while True:
        try:
            acc.spend(PureDP(0.001), label="race")
        except BudgetExceededError:
            break
        n += 1
    acc.close()
    out.put(n)


def test_eight_processes_never_overspend(tmp_path):
    path = str(tmp_path / "race.ledger")
    m = 150
    Accountant.open(path, dataset="d", epsilon=m * 0.001).close()
    start = CTX.Event()
    out = CTX.Queue()
    procs = [
        CTX.Process(target=_race_worker, args=(path, start, out)) for _ in range(8)
    ]
    for p in procs:
        p.start()
    start.set()
    counts = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sum(counts) == m
    report = verify_ledger(path)
    assert report.ok
    assert report.datasets[0].receipts == m
    assert report.datasets[0].spent == PureDP(m * 0.001)


def _crash_worker(path, fd, use_transaction):
    acc = Accountant.open(path, dataset="d")
    while True:
        if use_transaction:
            with acc.transaction(PureDP(0.01), label="tx"):
                pass
        else:
            acc.spend(PureDP(0.01), label="spend")
        os.write(fd, b"x")  # reported done only after the charge returned


def test_sigkill_at_random_moments_loses_nothing_and_counts_nothing_twice(tmp_path):
    path = str(tmp_path / "crash.ledger")
    Accountant.open(path, dataset="d", epsilon=1e6).close()
    rng = random.Random(20240611)
    done = 0
    kills = 0
    for round_ in range(12):
        r, w = os.pipe()
        procs = [
            CTX.Process(target=_crash_worker, args=(path, w, (round_ + i) % 2 == 0))
            for i in range(2)
        ]
        for p in procs:
            p.start()
        os.close(w)
        time.sleep(rng.uniform(0.02, 0.3))
        for p in procs:
            os.kill(p.pid, signal.SIGKILL)
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == -signal.SIGKILL
            kills += 1
        chunks = []
        while chunk := os.read(r, 65536):
            chunks.append(chunk)
        os.close(r)
        done += len(b"".join(chunks))
    report = verify_ledger(path)
    assert report.ok, report.summary()
    charged = report.datasets[0].receipts
    assert done > 0
    # no lost spend, and at most one in-flight spend per kill
    assert done <= charged <= done + kills
    # a reservation left by a killed process stays charged (fail closed)
    assert report.datasets[0].pending <= kills
    with Accountant.open(path, dataset="d") as acc:
        assert len(acc.receipts) == charged
