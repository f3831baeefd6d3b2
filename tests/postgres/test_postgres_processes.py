"""Many processes on one PostgreSQL budget: races, SIGKILLs and server restarts."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time
from fractions import Fraction

import pytest

from loopkit_privacy.accounting import Accountant, verify_ledger
from loopkit_privacy.errors import BudgetExceededError, LedgerError
from loopkit_privacy.loss import PureDP

# fork: children start in milliseconds; each opens its own connection after
# the fork (the parent holds none while they run).
CTX = mp.get_context("fork")


def _race_worker(url, start, out, per_worker, cost):
    acc = Accountant.open(url, dataset="d")
    start.wait()
    won = 0
    for _ in range(per_worker):
        try:
            acc.spend(PureDP(cost), label="race")
        except BudgetExceededError:
            continue
        won += 1
    acc.close()
    out.put(won)


def _race(url, *, processes, per_worker, cost, epsilon):
    Accountant.open(url, dataset="d", epsilon=epsilon).close()
    start, out = CTX.Event(), CTX.Queue()
    procs = [
        CTX.Process(target=_race_worker, args=(url, start, out, per_worker, cost))
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    time.sleep(0.2)  # every process connected and waiting
    start.set()
    wins = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return sum(wins)


@pytest.mark.parametrize("run", range(3))
def test_sixteen_processes_race_for_one_budget(pg_url, run):
    # the measurement: 16 x 3 spends of 0.1 against 1.0 accepted 20
    # with a plain read-then-insert; exactly 10 are affordable
    assert _race(pg_url, processes=16, per_worker=3, cost=0.1, epsilon=1.0) == 10
    report = verify_ledger(pg_url)
    assert report.ok, report.summary()
    assert report.datasets[0].receipts == 10
    assert report.datasets[0].spent == PureDP(1.0)


def test_sixteen_processes_spend_a_budget_to_the_last_spend(pg_url):
    m = 160
    assert (
        _race(pg_url, processes=16, per_worker=30, cost=0.001, epsilon=m * 0.001) == m
    )
    report = verify_ledger(pg_url)
    assert report.ok
    assert report.datasets[0].receipts == m
    assert report.datasets[0].remaining.epsilon == 0.0


# ----------------------------------------------------------------- crashes
COST = Fraction(1, 100)


def _crash_worker(url, fd, name, use_transaction):
    """Spend forever; report each request id after its charge returned.

    A charge that fails because the server went away is retried with the same
    request id until it succeeds (a retry never charges twice).
    """
    acc = None
    seq = 0
    while True:
        request_id = f"{name}-{seq}"
        while True:
            try:
                if acc is None:
                    acc = Accountant.open(url, dataset="d", timeout=5)
                if use_transaction:
                    with acc.transaction(PureDP(0.01), request_id=request_id):
                        pass
                else:
                    acc.spend(PureDP(0.01), request_id=request_id)
                break
            except LedgerError:
                time.sleep(0.05)  # the server is restarting
        os.write(fd, f"{request_id}\n".encode())
        seq += 1


def _crash_run(url, server, *, kills, restarts, seed):
    Accountant.open(url, dataset="d", epsilon=1e6).close()
    rng = random.Random(seed)
    acked = []
    killed = 0
    rounds = kills // 2
    restart_rounds = set(rng.sample(range(rounds), restarts)) if restarts else set()
    for round_ in range(rounds):
        r, w = os.pipe()
        procs = [
            CTX.Process(
                target=_crash_worker,
                args=(url, w, f"r{round_}w{i}", (round_ + i) % 2 == 0),
            )
            for i in range(2)
        ]
        for p in procs:
            p.start()
        os.close(w)
        time.sleep(rng.uniform(0.05, 0.3))
        if round_ in restart_rounds:
            server.restart_immediate()  # while both clients are spending
            time.sleep(rng.uniform(0.05, 0.3))  # they reconnect and go on
        for p in procs:
            os.kill(p.pid, signal.SIGKILL)
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == -signal.SIGKILL
            killed += 1
        data = b""
        while chunk := os.read(r, 65536):
            data += chunk
        os.close(r)
        acked += data.decode().split()
    return acked, killed


def _check_after_crashes(url, acked, killed):
    report = verify_ledger(url)
    assert report.ok, report.summary()
    summary = report.datasets[0]
    with Accountant.open(url, dataset="d") as acc:
        charged = acc.receipts
    ids = [r.request_id for r in charged]
    assert len(ids) == len(set(ids)), "a request was charged twice"
    assert len(acked) == len(set(acked))
    missing = set(acked) - set(ids)
    assert not missing, f"acknowledged spends lost: {sorted(missing)[:5]}"
    # at most one charge in flight per killed client, never acknowledged
    assert len(acked) <= len(ids) <= len(acked) + killed
    # reservations of killed clients stay charged (fail closed)
    assert summary.pending <= killed
    assert Fraction(repr(summary.spent.epsilon)) >= len(ids) * COST
    assert summary.receipts == len(ids)
    return summary


def test_sigkilled_clients_and_a_server_restart_lose_nothing(crash_url, crash_server):
    restarts = 1 if crash_server.can_restart else 0
    acked, killed = _crash_run(
        crash_url, crash_server, kills=16, restarts=restarts, seed=20240611
    )
    assert len(acked) > 0
    _check_after_crashes(crash_url, acked, killed)


@pytest.mark.slow
def test_two_hundred_sigkills_and_ten_server_restarts_lose_nothing(
    crash_url, crash_server
):
    if not crash_server.can_restart:
        pytest.skip("restarts need the throwaway server, not LOOPKIT_TEST_POSTGRES_URL")
    t0 = time.perf_counter()
    acked, killed = _crash_run(crash_url, crash_server, kills=200, restarts=10, seed=7)
    summary = _check_after_crashes(crash_url, acked, killed)
    assert killed == 200
    print(
        f"\n200 SIGKILLs, 10 immediate restarts in {time.perf_counter() - t0:.0f}s: "
        f"{len(acked)} acknowledged, {summary.receipts} charged, "
        f"{summary.pending} pending left by killed clients"
    )


def test_a_forked_child_opens_its_own_connection(pg_url):
    acc = Accountant.open(pg_url, dataset="d", epsilon=1.0)
    acc.spend(PureDP(0.25))
    parent_backend = acc._ledger._con.info.backend_pid
    pid = os.fork()
    if pid == 0:  # the child spends through the inherited accountant, closes it
        code = 1
        try:
            acc.spend(PureDP(0.25))
            child_backend = acc._ledger._con.info.backend_pid
            acc.close()
            code = 0 if child_backend != parent_backend else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # the parent's connection was neither used nor closed by the child
    assert acc._ledger._con.info.backend_pid == parent_backend
    acc.spend(PureDP(0.25))
    assert acc.spent == PureDP(0.75)
    acc.close()
