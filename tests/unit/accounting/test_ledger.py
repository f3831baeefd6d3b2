import contextlib
import hashlib
import json
import os
import sqlite3
import threading

import pytest
from contract import AccountantContract

from loopkit_privacy.accounting import (
    Accountant,
    VerificationFailed,
    verify_ledger,
)
from loopkit_privacy.errors import (
    BudgetExceededError,
    InvalidParameterError,
    LedgerError,
    LedgerIntegrityError,
)
from loopkit_privacy.loss import ZCDP, ApproxDP, NoiseEvent, PureDP


class TestSQLiteAccountant(AccountantContract):
    @pytest.fixture(autouse=True)
    def _ledger_dir(self, tmp_path):
        self.tmp_path = tmp_path
        self.opened = []
        yield
        for acc in self.opened:
            acc.close()

    def make(self, **kwargs):
        path = self.tmp_path / f"l{len(self.opened)}.ledger"
        # synchronous="normal" keeps the contract fast; durability is tested below
        acc = Accountant.open(path, dataset="default", synchronous="normal", **kwargs)
        self.opened.append(acc)
        return acc

    def test_bad_budgets_write_nothing(self):
        path = self.tmp_path / "never.ledger"
        with pytest.raises(InvalidParameterError):
            Accountant.open(path, dataset="d", epsilon=float("nan"))
        assert not path.exists()


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _spend_some(path, n=5, dataset="d", epsilon=1.0):
    with Accountant.open(path, dataset=dataset, epsilon=epsilon) as acc:
        for i in range(n):
            acc.spend(PureDP(0.1), label=f"q{i}", mechanism="laplace")


# ------------------------------------------------------------------ persistence
def test_reopen_keeps_the_total(tmp_path):
    path = tmp_path / "b.ledger"
    _spend_some(path, n=3)
    with Accountant.open(path, dataset="d", epsilon=1.0) as acc:
        assert acc.spent == PureDP(0.3)
        assert [r.label for r in acc.receipts] == ["q0", "q1", "q2"]
        acc.spend(PureDP(0.7))
        with pytest.raises(BudgetExceededError):
            acc.spend(PureDP(0.1))
    # the recorded budget is used when none is given
    with Accountant.open(path, dataset="d") as acc:
        assert acc.budget == PureDP(1.0)
        assert acc.remaining.epsilon == 0.0


def test_two_accountants_on_one_file_share_the_budget(tmp_path):
    path = tmp_path / "b.ledger"
    a = Accountant.open(path, dataset="d", epsilon=1.0)
    b = Accountant.open(path, dataset="d", epsilon=1.0)
    a.spend(PureDP(0.6))
    with pytest.raises(BudgetExceededError, match=r"0\.4"):
        b.spend(PureDP(0.5))
    b.spend(PureDP(0.4))
    assert a.spent == b.spent == PureDP(1.0)
    a.close()
    b.close()


def test_datasets_are_independent(tmp_path):
    path = tmp_path / "b.ledger"
    a = Accountant.open(path, dataset="tenant-a", epsilon=1.0)
    b = Accountant.open(path, dataset="tenant-b", epsilon=2.0, delta=1e-6)
    z = Accountant.open(path, dataset="tenant-z", rho=0.5, accounting="zcdp")
    a.spend(PureDP(1.0))
    b.spend(ApproxDP(0.5, 1e-7))
    z.spend(ZCDP(0.25))
    assert a.spent == PureDP(1.0)
    assert b.spent == ApproxDP(0.5, 1e-7)
    assert z.spent == ZCDP(0.25)
    for acc in (a, b, z):
        acc.close()
    report = verify_ledger(path)
    assert report.ok
    assert {d.dataset: d.receipts for d in report.datasets} == {
        "tenant-a": 1,
        "tenant-b": 1,
        "tenant-z": 1,
    }


def test_different_budget_is_refused_and_nothing_written(tmp_path):
    path = tmp_path / "b.ledger"
    _spend_some(path, n=2)
    before = _digest(path)
    for kwargs in (
        {"epsilon": 2.0},
        {"epsilon": 1.0, "delta": 1e-6},
        {"epsilon": 1.0, "delta": 1e-6, "accounting": "rdp"},
    ):
        with pytest.raises(LedgerError, match=r"created with .* but is opened with"):
            Accountant.open(path, dataset="d", **kwargs)
    assert _digest(path) == before


def test_unknown_dataset_without_budget(tmp_path):
    path = tmp_path / "b.ledger"
    _spend_some(path, n=1)
    with pytest.raises(LedgerError, match=r"not in ledger"):
        Accountant.open(path, dataset="nope")


# ---------------------------------------------------------------- not a ledger
def test_files_that_are_not_ledgers_are_refused_untouched(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    empty = tmp_path / "empty.ledger"
    empty.write_bytes(b"")
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    for path, match in (
        (text, r"not a SQLite database"),
        (empty, r"empty"),
        (other, r"not a loopkit-privacy ledger"),
    ):
        before = _digest(path)
        with pytest.raises(LedgerError, match=match):
            Accountant.open(path, dataset="d", epsilon=1.0)
        with pytest.raises(LedgerError):
            verify_ledger(path)
        assert _digest(path) == before
    with pytest.raises(LedgerError, match=r"directory"):
        Accountant.open(tmp_path, dataset="d", epsilon=1.0)
    with pytest.raises(LedgerError, match=r"does not exist"):
        Accountant.open(tmp_path / "missing", dataset="d", epsilon=1.0, create=False)


def test_truncated_ledger_refuses_to_open(tmp_path):
    path = tmp_path / "b.ledger"
    _spend_some(path, n=200, epsilon=100.0)
    data = path.read_bytes()
    assert len(data) > 8192
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(LedgerError):
        Accountant.open(path, dataset="d", epsilon=1.0)
    report = None
    with contextlib.suppress(LedgerError):
        report = verify_ledger(path)
    assert report is None or not report.ok
    # it was not reset: the truncated bytes are still what is on disk
    assert path.stat().st_size == len(data) // 2


# --------------------------------------------------------------------- tamper
def _tamper(path, *statements):
    con = sqlite3.connect(path)
    for stmt, params in statements:
        con.execute(stmt, params)
    con.commit()
    con.close()


def _ledger_with_receipts(tmp_path, n=6):
    path = tmp_path / "t.ledger"
    _spend_some(path, n=n)
    assert verify_ledger(path).ok
    return path


def test_tamper_edit_a_cost_is_detected(tmp_path):
    path = _ledger_with_receipts(tmp_path)
    con = sqlite3.connect(path)
    body = con.execute("SELECT body FROM entries WHERE idx = 2").fetchone()[0]
    con.close()
    data = json.loads(body)
    data["cost"]["epsilon"] = 0.01
    new = json.dumps(data, sort_keys=True, separators=(",", ":"))
    _tamper(path, ("UPDATE entries SET body = ? WHERE idx = 2", (new,)))
    report = verify_ledger(path)
    assert not report.ok
    assert {(p.index, p.kind) for p in report.problems} >= {(2, "altered")}
    with pytest.raises(LedgerIntegrityError) as info:
        Accountant.open(path, dataset="d", epsilon=1.0)
    assert info.value.index == 2


def test_tamper_edit_with_rehash_breaks_the_chain(tmp_path):
    path = _ledger_with_receipts(tmp_path)
    con = sqlite3.connect(path)
    body = con.execute("SELECT body FROM entries WHERE idx = 1").fetchone()[0]
    con.close()
    data = json.loads(body)
    data["label"] = "innocent"
    new = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    new_hash = hashlib.sha256(new.encode()).hexdigest()
    _tamper(
        path, ("UPDATE entries SET body = ?, hash = ? WHERE idx = 1", (new, new_hash))
    )
    report = verify_ledger(path)
    assert not report.ok
    assert any(p.kind == "chain" and p.index == 2 for p in report.problems)


def test_tamper_delete_a_middle_receipt_is_detected(tmp_path):
    path = _ledger_with_receipts(tmp_path)
    _tamper(path, ("DELETE FROM entries WHERE idx = 3", ()))
    report = verify_ledger(path)
    assert not report.ok
    kinds = {p.kind for p in report.problems if p.index == 4}
    assert {"missing", "chain"} <= kinds


def test_tamper_delete_the_last_receipt_is_detected(tmp_path):
    path = _ledger_with_receipts(tmp_path)
    _tamper(path, ("DELETE FROM entries WHERE idx = 5", ()))
    report = verify_ledger(path)
    assert not report.ok
    assert any(p.kind == "missing" for p in report.problems)
    with pytest.raises(LedgerIntegrityError, match=r"missing"):
        Accountant.open(path, dataset="d", epsilon=1.0)


def test_tamper_reorder_receipts_is_detected(tmp_path):
    path = _ledger_with_receipts(tmp_path)
    _tamper(
        path,
        ("UPDATE entries SET idx = -1 WHERE idx = 1", ()),
        ("UPDATE entries SET idx = 1 WHERE idx = 2", ()),
        ("UPDATE entries SET idx = 2 WHERE idx = -1", ()),
    )
    report = verify_ledger(path)
    assert not report.ok
    assert {p.index for p in report.problems} & {1, 2}


def test_tamper_swap_bodies_is_detected(tmp_path):
    path = _ledger_with_receipts(tmp_path)
    con = sqlite3.connect(path)
    rows = dict(
        ((i, (b, h)) for i, b, h in con.execute("SELECT idx, body, hash FROM entries"))
    )
    con.close()
    _tamper(
        path,
        ("UPDATE entries SET body = ?, hash = ? WHERE idx = 1", rows[2]),
        ("UPDATE entries SET body = ?, hash = ? WHERE idx = 2", rows[1]),
    )
    report = verify_ledger(path)
    assert not report.ok
    assert any(p.kind in ("chain", "reordered", "altered") for p in report.problems)


def test_tamper_budget_header_is_detected(tmp_path):
    path = _ledger_with_receipts(tmp_path)
    con = sqlite3.connect(path)
    header = json.loads(con.execute("SELECT header FROM datasets").fetchone()[0])
    con.close()
    header["budget"]["epsilon"] = 100.0
    _tamper(path, ("UPDATE datasets SET header = ?", (json.dumps(header),)))
    report = verify_ledger(path)
    assert any(p.kind == "header" for p in report.problems)


def test_verification_failure_event(tmp_path):
    path = _ledger_with_receipts(tmp_path)
    _tamper(path, ("DELETE FROM entries WHERE idx = 0", ()))
    events = []
    assert not verify_ledger(path, on_event=events.append).ok
    assert events
    assert all(isinstance(e, VerificationFailed) for e in events)
    opened = []
    with pytest.raises(LedgerIntegrityError):
        Accountant.open(path, dataset="d", epsilon=1.0, on_event=opened.append)
    assert len(opened) == 1
    assert opened[0].dataset == "d"


def test_live_accountant_detects_tampering_by_another_writer(tmp_path):
    path = _ledger_with_receipts(tmp_path, n=2)
    events = []
    acc = Accountant.open(path, dataset="d", epsilon=1.0, on_event=events.append)
    other = Accountant.open(path, dataset="d", epsilon=1.0)
    other.spend(PureDP(0.1))
    other.close()
    _tamper(
        path, ("UPDATE entries SET hash = 'x' || substr(hash, 2) WHERE idx = 2", ())
    )
    with pytest.raises(LedgerIntegrityError):
        acc.spend(PureDP(0.1))
    # once broken, it stays refused (fail closed)
    with pytest.raises(LedgerIntegrityError):
        acc.spend(PureDP(0.1))
    assert any(isinstance(e, VerificationFailed) for e in events)
    acc.close()


# ---------------------------------------------------------- reservations, crash
def test_pending_reservation_stays_charged_for_other_processes(tmp_path):
    path = tmp_path / "b.ledger"
    a = Accountant.open(path, dataset="d", epsilon=1.0)
    b = Accountant.open(path, dataset="d", epsilon=1.0)
    with a.transaction(PureDP(0.75), label="slow"):
        # durably reserved: a second process sees it before the release exists
        assert b.spent == PureDP(0.75)
        with pytest.raises(BudgetExceededError):
            b.spend(PureDP(0.5))
        report = verify_ledger(path)
        assert report.ok
        assert report.datasets[0].pending == 1
    assert verify_ledger(path).datasets[0].pending == 0
    a.close()
    b.close()


def test_dead_reservation_is_resumed_by_its_request_id(tmp_path):
    path = tmp_path / "b.ledger"
    a = Accountant.open(path, dataset="d", epsilon=1.0)
    # simulate a process dying inside the block: enter, never exit
    cm = a.transaction(PureDP(0.5), request_id="job-7")
    receipt = cm.__enter__()
    a.close()
    b = Accountant.open(path, dataset="d", epsilon=1.0)
    assert b.spent == PureDP(0.5)  # fail closed
    with b.transaction(PureDP(0.5), request_id="job-7") as again:
        assert again == receipt
    assert b.spent == PureDP(0.5)  # charged once
    assert verify_ledger(path).datasets[0].pending == 0
    b.close()


def test_released_reservation_is_recorded_in_the_chain(tmp_path):
    path = tmp_path / "b.ledger"
    with Accountant.open(path, dataset="d", epsilon=1.0) as acc:
        with pytest.raises(ValueError, match="x"), acc.transaction(PureDP(0.5)):
            raise ValueError("x")
        acc.spend(PureDP(0.25))
    report = verify_ledger(path)
    assert report.ok
    summary = report.datasets[0]
    assert (summary.receipts, summary.released, summary.spent) == (1, 1, PureDP(0.25))
    # faking a release by editing the status column alone is reported
    _tamper(path, ("UPDATE entries SET status = 'released' WHERE idx = 2", ()))
    assert any(p.kind == "status" for p in verify_ledger(path).problems)


def test_threads_with_separate_connections_never_overspend(tmp_path):
    path = tmp_path / "b.ledger"
    m = 60
    Accountant.open(path, dataset="d", epsilon=m * 0.001).close()
    wins = []

    def worker():
        n = 0
        with Accountant.open(path, dataset="d", synchronous="normal") as acc:
            while True:
                try:
                    acc.spend(PureDP(0.001), event=NoiseEvent("laplace", 1000.0))
                except BudgetExceededError:
                    break
                n += 1
        wins.append(n)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(wins) == m
    report = verify_ledger(path)
    assert report.ok
    assert report.datasets[0].receipts == m


def test_ledger_file_mode_is_wal(tmp_path):
    path = tmp_path / "b.ledger"
    _spend_some(path, n=1)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    assert not any(p.name.startswith("b.ledger.creating") for p in tmp_path.iterdir())
    assert os.path.getsize(path) > 0
