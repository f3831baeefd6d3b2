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
        kwargs.setdefault("dataset", "default")
        acc = Accountant.open(path, synchronous="normal", **kwargs)
        self.opened.append(acc)
        return acc

    def reopen(self, acc):
        return Accountant.open(acc._ledger.path, dataset=acc.dataset)

    def test_bad_budgets_write_nothing(self):
        path = self.tmp_path / "never.ledger"
        with pytest.raises(
            InvalidParameterError,
            match=r"`epsilon` must be a finite number > 0, got nan",
        ):
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
        with pytest.raises(BudgetExceededError, match=r"needs PureDP\(epsilon=0.1\)"):
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
        with pytest.raises(
            LedgerError,
            match=r"not a loopkit-privacy ledger; refusing to open it|is not a loopkit-privacy ledger or is corrupted",
        ):
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
    with pytest.raises(
        LedgerError, match=r"is not a loopkit-privacy ledger or is corrupted"
    ):
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
    with pytest.raises(
        LedgerIntegrityError, match=r"receipt 2: stored text does not match its hash"
    ) as info:
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
    with pytest.raises(
        LedgerIntegrityError, match=r"receipt at position 0 says index 1"
    ):
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
    with pytest.raises(
        LedgerIntegrityError, match=r"receipt 2: stored text does not match its hash"
    ):
        acc.spend(PureDP(0.1))
    # once broken, it stays refused (fail closed)
    with pytest.raises(
        LedgerIntegrityError, match=r"receipt 2: stored text does not match its hash"
    ):
        acc.spend(PureDP(0.1))
    assert any(isinstance(e, VerificationFailed) for e in events)
    acc.close()


# ------------------------------------------------------- forged transitions
# The attacker below knows the hashing scheme (canonical JSON, SHA-256, the
# genesis and head columns) but holds no chain key: every forged entry is
# correctly chained and the head is moved, so only a replay of the state
# machine can tell it apart from a real one.


def _canonical(data):
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _rows(path, dataset="d"):
    con = sqlite3.connect(path)
    rows = con.execute(
        "SELECT idx, id, kind, body, hash FROM entries WHERE dataset = ? ORDER BY idx",
        (dataset,),
    ).fetchall()
    con.close()
    return rows


def _forge_append(path, dataset="d", *, template=0, **changes):
    """Append a correctly chained entry built from entry ``template``'s body."""
    rows = _rows(path, dataset)
    body = json.loads(rows[template][3])
    last_idx, last_hash = rows[-1][0], rows[-1][4]
    body.update(
        {
            "id": changes.pop("id", hashlib.sha256(os.urandom(8)).hexdigest()[:32]),
            "index": last_idx + 1,
            "prev_hash": last_hash,
            "request_id": None,
            "parameters": {},
        }
    )
    body.update(changes)
    text = _canonical(body)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    _tamper(
        path,
        (
            "INSERT INTO entries (dataset, idx, id, kind, request_id, status, body, "
            "hash) VALUES (?, ?, ?, ?, NULL, 'committed', ?, ?)",
            (dataset, body["index"], body["id"], body["kind"], text, digest),
        ),
        (
            "UPDATE datasets SET head_index = ?, head_hash = ? WHERE name = ?",
            (body["index"], digest, dataset),
        ),
    )
    return body["index"]


def _assert_refused(path, index, match=None, **open_kwargs):
    """``verify_ledger`` and ``Accountant.open`` both refuse, naming ``index``."""
    report = verify_ledger(path, **open_kwargs.pop("verify_kwargs", {}))
    assert not report.ok
    assert index in {p.index for p in report.problems}
    with pytest.raises(LedgerIntegrityError, match=match) as info:
        Accountant.open(path, dataset="d", **open_kwargs)
    assert info.value.index == index
    return report


def test_forged_refund_of_a_committed_spend_is_detected(tmp_path):
    path = tmp_path / "b.ledger"
    with Accountant.open(path, dataset="d", epsilon=1.0) as acc:
        big = acc.spend(PureDP(0.75), label="big")
        acc.spend(PureDP(0.25), label="small")
    # a "release" giving back the committed 0.75, chained and with the head moved
    bad = _forge_append(path, template=0, kind="release", releases=big.id)
    report = _assert_refused(path, bad, match=r"committed")
    assert any(p.kind == "transition" for p in report.problems)
    # the report shows what was really spent, not the forged refund
    assert report.datasets[0].spent == PureDP(1.0)


def test_forged_refund_of_a_committed_transaction_is_detected(tmp_path):
    path = tmp_path / "b.ledger"
    with (
        Accountant.open(path, dataset="d", epsilon=1.0) as acc,
        acc.transaction(PureDP(0.75), label="big") as big,
    ):
        pass
    rid = big.id
    # the attacker also puts the status column back to "pending"
    _tamper(path, ("UPDATE entries SET status = 'pending' WHERE id = ?", (rid,)))
    bad = _forge_append(path, template=0, kind="release", releases=rid)
    _assert_refused(path, bad, match=r"committed")


def test_forged_double_release_is_detected(tmp_path):
    path = tmp_path / "b.ledger"
    with Accountant.open(path, dataset="d", epsilon=1.0) as acc:
        acc.spend(PureDP(0.5), label="kept")
        with (
            pytest.raises(RuntimeError, match="release failed"),
            acc.transaction(PureDP(0.25)) as failed,
        ):
            raise RuntimeError("release failed")
    released = [r for r in _rows(path) if r[2] == "release"]
    assert len(released) == 1
    bad = _forge_append(path, template=released[0][0], kind="release")
    assert json.loads(_rows(path)[bad][3])["releases"] == failed.id
    _assert_refused(path, bad, match=r"already released")


def test_forged_commit_after_release_is_detected(tmp_path):
    path = tmp_path / "b.ledger"
    with Accountant.open(path, dataset="d", epsilon=1.0) as acc:
        with (
            pytest.raises(RuntimeError, match="release failed"),
            acc.transaction(PureDP(0.25)),
        ):
            raise RuntimeError("release failed")
        with acc.transaction(PureDP(0.25), label="ok"):
            pass
    commits = [r for r in _rows(path) if r[2] == "commit"]
    assert len(commits) == 1
    released_id = next(
        json.loads(r[3])["releases"] for r in _rows(path) if r[2] == "release"
    )
    bad = _forge_append(path, template=commits[0][0], commits=released_id)
    _assert_refused(path, bad, match=r"already released")


def test_forged_release_of_an_unknown_receipt_is_detected(tmp_path):
    path = tmp_path / "b.ledger"
    _spend_some(path, n=2)
    bad = _forge_append(path, template=0, kind="release", releases="f" * 32)
    _assert_refused(path, bad, match=r"not a receipt before it")


def test_forged_commit_of_an_unknown_receipt_is_detected(tmp_path):
    path = tmp_path / "b.ledger"
    with (
        Accountant.open(path, dataset="d", epsilon=1.0) as acc,
        acc.transaction(PureDP(0.25), label="ok"),
    ):
        pass
    commit = next(r for r in _rows(path) if r[2] == "commit")
    bad = _forge_append(path, template=commit[0], commits="e" * 32)
    _assert_refused(path, bad, match=r"not a receipt before it")


def test_forged_duplicate_receipt_id_is_detected(tmp_path):
    path = tmp_path / "b.ledger"
    _spend_some(path, n=2)
    first_id = _rows(path)[0][1]
    bad = _forge_append(path, template=1, id=first_id)
    _assert_refused(path, bad, match=r"already used")


def test_forged_transition_is_refused_by_a_live_accountant(tmp_path):
    path = tmp_path / "b.ledger"
    acc = Accountant.open(path, dataset="d", epsilon=1.0)
    big = acc.spend(PureDP(0.75), label="big")
    bad = _forge_append(path, template=0, kind="release", releases=big.id)
    with pytest.raises(LedgerIntegrityError, match=r"committed") as info:
        acc.spend(PureDP(0.5))
    assert info.value.index == bad
    assert acc._broken is not None
    acc.close()


# ------------------------------------------------------------- keyed chain
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def _keyed_ledger(tmp_path, n=4):
    path = tmp_path / "k.ledger"
    with Accountant.open(path, dataset="d", epsilon=1.0, chain_key=KEY) as acc:
        for i in range(n):
            acc.spend(PureDP(0.1), label=f"q{i}")
        with acc.transaction(PureDP(0.1), label="t"):
            pass
    return path


def _rewrite_chain(path, dataset="d", mutate=lambda bodies: bodies, header=None):
    """Rewrite a dataset's whole chain consistently (no key needed)."""
    con = sqlite3.connect(path)
    hdr_text, genesis = con.execute(
        "SELECT header, genesis_hash FROM datasets WHERE name = ?", (dataset,)
    ).fetchone()
    bodies = [
        json.loads(b)
        for (b,) in con.execute(
            "SELECT body FROM entries WHERE dataset = ? ORDER BY idx", (dataset,)
        )
    ]
    if header is not None:
        hdr = header(json.loads(hdr_text))
        hdr_text = _canonical(hdr)
        genesis = hashlib.sha256(hdr_text.encode("utf-8")).hexdigest()
    columns = {r[1] for r in con.execute("PRAGMA table_info(entries)")}
    # the attacker keeps each position's stored MAC (they cannot make new ones)
    macs = (
        dict(con.execute("SELECT idx, mac FROM entries WHERE dataset = ?", (dataset,)))
        if "mac" in columns
        else {}
    )
    bodies = mutate(bodies)
    con.execute("DELETE FROM entries WHERE dataset = ?", (dataset,))
    prev = genesis
    for i, body in enumerate(bodies):
        body["index"], body["prev_hash"] = i, prev
        text = _canonical(body)
        prev = hashlib.sha256(text.encode("utf-8")).hexdigest()
        con.execute(
            "INSERT INTO entries (dataset, idx, id, kind, request_id, status, body, "
            "hash) VALUES (?, ?, ?, ?, ?, 'committed', ?, ?)",
            (dataset, i, body["id"], body["kind"], body["request_id"], text, prev),
        )
        if macs:
            con.execute(
                "UPDATE entries SET mac = ? WHERE dataset = ? AND idx = ?",
                (macs.get(i), dataset, i),
            )
    con.execute(
        "UPDATE datasets SET header = ?, genesis_hash = ?, head_index = ?, "
        "head_hash = ? WHERE name = ?",
        (hdr_text, genesis, len(bodies) - 1, prev, dataset),
    )
    con.commit()
    con.close()


def test_keyed_ledger_opens_and_verifies_with_its_key(tmp_path):
    path = _keyed_ledger(tmp_path)
    report = verify_ledger(path, key=KEY)
    assert report.ok, report.summary()
    assert report.datasets[0].spent == PureDP(0.5)
    with Accountant.open(path, dataset="d", chain_key=KEY) as acc:
        assert acc.spent == PureDP(0.5)
        acc.spend(PureDP(0.1))
    assert verify_ledger(path, key=bytearray(KEY)).ok


def test_keyed_ledger_refuses_to_open_without_or_with_a_wrong_key(tmp_path):
    path = _keyed_ledger(tmp_path)
    before = _digest(path)
    with pytest.raises(LedgerError, match=r"chain_key"):
        Accountant.open(path, dataset="d", epsilon=1.0)
    with pytest.raises(LedgerError, match=r"chain_key"):
        Accountant.open(path, dataset="d", epsilon=1.0, chain_key=OTHER_KEY)
    assert _digest(path) == before
    for key in (None, OTHER_KEY):
        report = verify_ledger(path, key=key)
        assert not report.ok
        assert any(p.kind == "key" for p in report.problems)


def test_unkeyed_ledger_refuses_a_key(tmp_path):
    path = tmp_path / "b.ledger"
    _spend_some(path, n=2)
    with pytest.raises(LedgerError, match=r"without a chain key"):
        Accountant.open(path, dataset="d", chain_key=KEY)
    report = verify_ledger(path, key=KEY)
    assert not report.ok
    assert any(p.kind == "key" for p in report.problems)


def test_keyed_chain_detects_a_completely_rewritten_chain(tmp_path):
    path = _keyed_ledger(tmp_path)

    def drop_spends(bodies):
        # remove two spends; the rest is re-chained consistently
        return [b for b in bodies if b["label"] not in ("q1", "q2")]

    _rewrite_chain(path, mutate=drop_spends)
    # a keyed ledger never verifies without its key; with the key the
    # rewrite is detected at the first rewritten entry
    assert not verify_ledger(path).ok
    report = verify_ledger(path, key=KEY)
    assert not report.ok
    assert 1 in {p.index for p in report.problems}
    with pytest.raises(
        LedgerIntegrityError, match=r"receipt 1 has a MAC that does not match"
    ) as info:
        Accountant.open(path, dataset="d", chain_key=KEY)
    assert info.value.index == 1


def test_keyed_chain_detects_a_forged_entry_with_a_copied_mac(tmp_path):
    path = _keyed_ledger(tmp_path, n=2)
    con = sqlite3.connect(path)
    mac = con.execute("SELECT mac FROM entries WHERE idx = 0").fetchone()[0]
    con.close()
    bad = _forge_append(path, template=0, label="extra")
    _tamper(path, ("UPDATE entries SET mac = ? WHERE idx = ?", (mac, bad)))
    report = verify_ledger(path, key=KEY)
    assert bad in {p.index for p in report.problems}
    with pytest.raises(
        LedgerIntegrityError, match=rf"receipt {bad} has a MAC that does not match"
    ) as info:
        Accountant.open(path, dataset="d", chain_key=KEY)
    assert info.value.index == bad


def test_keyed_chain_detects_a_truncated_chain(tmp_path):
    path = _keyed_ledger(tmp_path)
    rows = _rows(path)
    last = rows[-1][0]
    _tamper(
        path,
        ("DELETE FROM entries WHERE idx = ?", (last,)),
        (
            "UPDATE datasets SET head_index = ?, head_hash = ?",
            (rows[-2][0], rows[-2][4]),
        ),
    )
    report = verify_ledger(path, key=KEY)
    assert not report.ok
    with pytest.raises(LedgerIntegrityError, match=r"the head's MAC does not match"):
        Accountant.open(path, dataset="d", chain_key=KEY)


def test_keyed_chain_detects_a_rewrite_that_strips_the_key(tmp_path):
    path = _keyed_ledger(tmp_path)

    def unkeyed(header):
        header.pop("chain", None)
        return header

    _rewrite_chain(path, header=unkeyed)
    report = verify_ledger(path, key=KEY)
    assert not report.ok
    assert any(p.kind == "key" for p in report.problems)
    with pytest.raises(LedgerError, match=r"without a chain key"):
        Accountant.open(path, dataset="d", chain_key=KEY)


def test_chain_key_never_shows(tmp_path):
    path = tmp_path / "k.ledger"
    events = []
    acc = Accountant.open(
        path, dataset="d", epsilon=1.0, chain_key=KEY, on_event=events.append
    )
    receipt = acc.spend(PureDP(0.5), label="q")
    texts = [repr(acc), acc._repr_html_(), repr(receipt), json.dumps(receipt.to_dict())]
    acc.close()
    for key in (OTHER_KEY, None):
        with pytest.raises(LedgerError, match=r"chain key") as info:
            Accountant.open(path, dataset="d", chain_key=key)
        texts += [str(info.value), repr(info.value.args)]
    texts.append(verify_ledger(path, key=OTHER_KEY).summary())
    texts += [repr(vars(acc._chain)), repr(events)]
    for text in texts:
        for key in (KEY, OTHER_KEY):
            assert key.hex() not in text
            assert repr(key) not in text
            assert repr(key)[2:-1] not in text


@pytest.mark.parametrize(
    ("key", "match"),
    [
        ("secret passphrase", r"bytes"),
        (b"short", r"at least 16 bytes"),
        (12345, r"bytes"),
        (True, r"bytes"),
    ],
)
def test_bad_chain_keys_are_refused_before_the_file_is_touched(tmp_path, key, match):
    path = tmp_path / "never.ledger"
    with pytest.raises(InvalidParameterError, match=match) as info:
        Accountant.open(path, dataset="d", epsilon=1.0, chain_key=key)
    assert info.value.parameter == "chain_key"
    assert info.value.value is None  # the key is not kept on the error
    assert not path.exists()
    _spend_some(path, n=1)
    with pytest.raises(InvalidParameterError, match=match) as info:
        verify_ledger(path, key=key)
    assert info.value.parameter == "key"


# ---------------------------------------------------------- reservations, crash
def test_pending_reservation_stays_charged_for_other_processes(tmp_path):
    path = tmp_path / "b.ledger"
    a = Accountant.open(path, dataset="d", epsilon=1.0)
    b = Accountant.open(path, dataset="d", epsilon=1.0)
    with a.transaction(PureDP(0.75), label="slow"):
        # durably reserved: a second process sees it before the release exists
        assert b.spent == PureDP(0.75)
        with pytest.raises(
            BudgetExceededError,
            match=r"needs PureDP\(epsilon=0.5\) but only PureDP\(epsilon=0.25\)",
        ):
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


# ------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"path": None}, "path"),
        ({"path": 3}, "path"),
        ({"path": b"x.ledger"}, "path"),
        ({"dataset": None}, "dataset"),
        ({"dataset": ""}, "dataset"),
        ({"timeout": "60"}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"create": "yes"}, "create"),
        ({"synchronous": "off"}, "synchronous"),
        ({"synchronous": None}, "synchronous"),
        ({"epsilon": "1"}, "epsilon"),
        ({"rho": 0.5, "accounting": "basic"}, "rho"),
    ],
    ids=repr,
)
def test_open_refuses_bad_arguments_before_touching_the_file(
    tmp_path, kwargs, parameter
):
    path = tmp_path / "never.ledger"
    args = {"path": path, "dataset": "d", "epsilon": 1.0, **kwargs}
    with pytest.raises(InvalidParameterError, match=f"`{parameter}`") as info:
        Accountant.open(args.pop("path"), **args)
    assert info.value.parameter == parameter
    assert not path.exists()


def test_open_with_a_rho_budget_is_zcdp(tmp_path):
    path = tmp_path / "z.ledger"
    with Accountant.open(path, dataset="d", rho=0.5) as acc:
        assert acc.accounting == "zcdp"
        acc.spend(ZCDP(0.25))
    with Accountant.open(path, dataset="d", rho=0.5) as acc:
        assert acc.spent == ZCDP(0.25)
    assert verify_ledger(path).ok


def test_ledger_functions_refuse_bad_arguments(tmp_path):
    from loopkit_privacy.accounting import Receipt, SQLiteLedger
    from loopkit_privacy.accounting.cli import add_ledger_commands
    from loopkit_privacy.accounting.receipts import (
        canonical_json,
        cost_to_dict,
        event_to_dict,
        genesis_hash,
    )

    path = tmp_path / "b.ledger"
    _spend_some(path, n=1)
    led = SQLiteLedger(path)
    calls = [
        (lambda: verify_ledger(None), "path"),
        (lambda: verify_ledger(7), "path"),
        (lambda: verify_ledger(path, on_event="print"), "on_event"),
        (lambda: SQLiteLedger(None), "path"),
        (lambda: SQLiteLedger(path, timeout="x"), "timeout"),
        (lambda: SQLiteLedger(path, create=None), "create"),
        (lambda: led.rows(["d"]), "dataset"),
        (lambda: led.rows(None), "dataset"),
        (lambda: led.genesis(5), "dataset"),
        (lambda: led.ensure_dataset(None, None, created=""), "dataset"),
        (lambda: led.ensure_dataset("d", "basic", created=""), "policy"),
        (lambda: led.ensure_dataset("d", None, created=5), "created"),
        (lambda: Receipt.from_dict("x"), "data"),
        (lambda: Receipt.from_dict(None), "data"),
        (lambda: canonical_json({"x": object()}), "value"),
        (lambda: canonical_json(float("nan")), "value"),
        (lambda: genesis_hash("header"), "header"),
        (lambda: cost_to_dict("x"), "cost"),
        (lambda: event_to_dict("laplace"), "event"),
        (lambda: add_ledger_commands(None), "subparsers"),
    ]
    for call, parameter in calls:
        with pytest.raises(InvalidParameterError, match=f"`{parameter}`") as info:
            call()
        assert info.value.parameter == parameter, (parameter, info.value)
    with led.write() as con:
        for call, parameter in [
            (lambda: led.set_status(con, "d", "x", "gone"), "status"),
            (lambda: led.set_status(con, "d", None, "committed"), "rid"),
            (lambda: led.append(con, "receipt", "committed"), "receipt"),
            (lambda: led.sync(con, "chain"), "chain"),
        ]:
            with pytest.raises(InvalidParameterError, match=f"`{parameter}`") as info:
                call()
            assert info.value.parameter == parameter
    led.close()
    assert verify_ledger(path).ok
