"""The PostgreSQL ledger: persistence, targets, tampering through SQL, roles, CLI."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from loopkit_privacy.accounting import (
    Accountant,
    PostgresLedger,
    VerificationFailed,
    verify_ledger,
)
from loopkit_privacy.errors import (
    BudgetExceededError,
    InvalidParameterError,
    LedgerError,
    LedgerIntegrityError,
)
from loopkit_privacy.loss import PureDP
from tests.pgserver import new_database, with_user

S = "loopkit_ledger"
FLEET_DOC = Path(__file__).parents[2] / "docs" / "ledger-fleet.md"


def _sql(url, *statements):
    with psycopg.connect(url, autocommit=True) as con:
        out = None
        for stmt, params in statements:
            cur = con.execute(stmt, params)
            out = cur.fetchall() if cur.description else None
        return out


def _spend_some(url, n=6, dataset="d", epsilon=1.0):
    with Accountant.open(url, dataset=dataset, epsilon=epsilon) as acc:
        for i in range(n):
            acc.spend(PureDP(0.1), label=f"q{i}", mechanism="laplace")
    assert verify_ledger(url).ok


def _canonical(data):
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------------ persistence
def test_reopen_and_share_a_budget_between_accountants(pg_url):
    _spend_some(pg_url, n=3)
    a = Accountant.open(pg_url, dataset="d", epsilon=1.0)
    b = Accountant.open(pg_url, dataset="d")  # the recorded budget
    assert a.spent == b.spent == PureDP(0.3)
    a.spend(PureDP(0.6))
    with pytest.raises(BudgetExceededError, match=r"0\.1"):
        b.spend(PureDP(0.5))
    b.spend(PureDP(0.1))
    assert a.spent == b.spent == PureDP(1.0)
    a.close()
    b.close()
    report = verify_ledger(pg_url)
    assert report.ok
    assert report.datasets[0].receipts == 5


def test_datasets_are_independent_and_budgets_are_checked(pg_url):
    with Accountant.open(pg_url, dataset="a", epsilon=1.0) as a:
        a.spend(PureDP(1.0))
    with Accountant.open(pg_url, dataset="b", rho=0.5) as b:
        assert b.accounting == "zcdp"
        assert b.spent.rho == 0.0
    with pytest.raises(LedgerError, match=r"created with .* but is opened with"):
        Accountant.open(pg_url, dataset="a", epsilon=2.0)
    with pytest.raises(LedgerError, match=r"not in ledger"):
        Accountant.open(pg_url, dataset="nope")
    assert [d.dataset for d in verify_ledger(pg_url).datasets] == ["a", "b"]


def test_a_new_database_without_a_budget_writes_nothing(pg_url):
    with pytest.raises(InvalidParameterError, match=r"budget is required"):
        Accountant.open(pg_url, dataset="d")
    with pytest.raises(LedgerError, match=r"holds no loopkit-privacy ledger"):
        Accountant.open(pg_url, dataset="d", epsilon=1.0, create=False)
    assert _sql(
        pg_url, ("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (S,))
    ) == [(0,)]
    with pytest.raises(LedgerError, match=r"holds no loopkit-privacy ledger"):
        verify_ledger(pg_url)


def test_a_schema_that_is_not_a_ledger_is_refused_untouched(pg_url):
    _sql(
        pg_url,
        (f"CREATE SCHEMA {S}", None),
        (f"CREATE TABLE {S}.meta (key text, value text)", None),
        (f"CREATE TABLE {S}.datasets (x int)", None),
        (f"CREATE TABLE {S}.entries (x int)", None),
    )
    with pytest.raises(LedgerError, match=r"not a loopkit-privacy ledger"):
        Accountant.open(pg_url, dataset="d", epsilon=1.0)
    _sql(pg_url, (f"DROP TABLE {S}.entries", None))
    with pytest.raises(LedgerError, match=r"not a complete"):
        Accountant.open(pg_url, dataset="d", epsilon=1.0)
    assert _sql(pg_url, (f"SELECT count(*) FROM {S}.meta", None)) == [(0,)]


def test_amounts_are_stored_as_exact_text_never_floats(pg_url):
    _spend_some(pg_url, n=1)
    types = _sql(
        pg_url,
        (
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s",
            (S,),
        ),
    )
    assert {t for _, t in types} <= {"text", "bigint"}
    body = _sql(pg_url, (f"SELECT body FROM {S}.entries", None))[0][0]
    assert '"epsilon":0.1' in body  # the decimal the accountant sums exactly


def _spends_survive_a_crash(url, server, synchronous):
    with Accountant.open(url, dataset="d", epsilon=1.0, synchronous=synchronous) as acc:
        for _ in range(5):
            acc.spend(PureDP(0.1))
        server.restart_immediate()  # no checkpoint, no flush: a crash
    if not verify_ledger(url).datasets:
        return 0  # even the dataset was lost
    with Accountant.open(url, dataset="d", synchronous=synchronous) as acc:
        return len(acc.receipts)


def test_charges_are_durable_whatever_the_server_default(crash_url, crash_server):
    if not crash_server.can_restart:
        pytest.skip("needs the throwaway server (it is restarted)")
    dbname = crash_url.rsplit("/", 1)[1]
    _sql(crash_url, (f'ALTER DATABASE "{dbname}" SET synchronous_commit = off', None))
    assert _spends_survive_a_crash(crash_url, crash_server, "full") == 5
    # the same with synchronous="normal" loses them: the test can tell
    other = new_database(crash_server.url)
    assert _spends_survive_a_crash(other, crash_server, "normal") < 5


# ---------------------------------------------------------------------- targets
def test_a_connection_and_a_pool_are_used_as_given(pg_url):
    con = psycopg.connect(pg_url, row_factory=psycopg.rows.dict_row)
    with Accountant.open(con, dataset="d", epsilon=1.0) as acc:
        acc.spend(PureDP(0.25))
        with acc.transaction(PureDP(0.25)):
            pass
    assert not con.closed  # the caller's connection stays open
    assert con.autocommit is False  # and as it was
    assert con.execute("SELECT 1 AS one").fetchone() == {"one": 1}
    con.rollback()
    with (
        ConnectionPool(pg_url, min_size=1, max_size=2) as pool,
        Accountant.open(pool, dataset="d") as acc,
    ):
        assert acc.spent == PureDP(0.5)
        acc.spend(PureDP(0.5))
    report = verify_ledger(con)
    assert report.ok
    assert report.datasets[0].spent == PureDP(1.0)
    con.close()


def test_a_connection_inside_a_transaction_is_refused(pg_url):
    _spend_some(pg_url, n=1)
    con = psycopg.connect(pg_url)
    con.execute("SELECT 1")  # opens a transaction (autocommit is off)
    with pytest.raises(LedgerError, match=r"inside a transaction"):
        Accountant.open(con, dataset="d")
    con.close()


@pytest.fixture
def roles(pg_url):
    """Names of roles the test creates; they are dropped afterwards.

    Roles belong to the whole server (which may be an existing one), so every
    name is unique and nothing is left behind.
    """
    made = []
    yield made
    with psycopg.connect(pg_url, autocommit=True) as con:
        for role in made:
            con.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = %s",
                (role,),
            )
            con.execute(f"DROP OWNED BY {role}")
            con.execute(f"DROP ROLE {role}")


def test_the_password_never_shows(pg_url, roles):
    role = f"pw_{uuid.uuid4().hex[:8]}"
    roles.append(role)
    dbname = pg_url.rsplit("/", 1)[1]
    _sql(
        pg_url,
        (f"CREATE ROLE {role} LOGIN PASSWORD 'hunter2-secret'", None),
        (f'GRANT CREATE ON DATABASE "{dbname}" TO {role}', None),
    )
    url = with_user(pg_url, role, "hunter2-secret")
    with Accountant.open(url, dataset="d", epsilon=1.0) as acc:
        texts = [repr(acc), acc._repr_html_(), acc._ledger.path]
    texts.append(verify_ledger(url).summary())
    unreachable = "postgresql://u:hunter2-secret@127.0.0.1:1/db"
    with pytest.raises(LedgerError) as info:
        Accountant.open(unreachable, dataset="d", epsilon=1.0, timeout=1)
    texts.append(str(info.value))
    assert "127.0.0.1" in texts[-1]
    assert all("secret" not in t for t in texts), texts


def test_a_lost_connection_is_reconnected(pg_url):
    acc = Accountant.open(pg_url, dataset="d", epsilon=1.0)
    acc.spend(PureDP(0.25))
    pid = acc._ledger._con.info.backend_pid
    _sql(pg_url, ("SELECT pg_terminate_backend(%s)", (pid,)))
    with pytest.raises(LedgerError):
        acc.spend(PureDP(0.25), request_id="r")
    # the next call opens a new connection; the retry charges once
    acc.spend(PureDP(0.25), request_id="r")
    acc.spend(PureDP(0.25), request_id="r")
    assert acc.spent == PureDP(0.5)
    acc.close()


def test_bad_targets_are_refused():
    with pytest.raises(InvalidParameterError) as info:
        PostgresLedger("budget.ledger")
    assert info.value.parameter == "target"
    with pytest.raises(InvalidParameterError) as info:
        PostgresLedger("postgresql://x@127.0.0.1:1/db", timeout=-1)
    assert info.value.parameter == "timeout"
    with pytest.raises(LedgerError, match=r"cannot connect"):
        PostgresLedger("postgresql://x@127.0.0.1:1/db", timeout=1)


# --------------------------------------------------------------------- tamper
def test_tamper_edit_a_cost_is_detected(pg_url):
    _spend_some(pg_url)
    body = json.loads(
        _sql(pg_url, (f"SELECT body FROM {S}.entries WHERE idx = 2", None))[0][0]
    )
    body["cost"]["epsilon"] = 0.01
    _sql(
        pg_url, (f"UPDATE {S}.entries SET body = %s WHERE idx = 2", (_canonical(body),))
    )
    report = verify_ledger(pg_url)
    assert (2, "altered") in {(p.index, p.kind) for p in report.problems}
    with pytest.raises(LedgerIntegrityError) as info:
        Accountant.open(pg_url, dataset="d")
    assert info.value.index == 2


def test_tamper_edit_with_rehash_breaks_the_chain(pg_url):
    _spend_some(pg_url)
    body = json.loads(
        _sql(pg_url, (f"SELECT body FROM {S}.entries WHERE idx = 1", None))[0][0]
    )
    body["label"] = "innocent"
    text = _canonical(body)
    digest = hashlib.sha256(text.encode()).hexdigest()
    _sql(
        pg_url,
        (f"UPDATE {S}.entries SET body = %s, hash = %s WHERE idx = 1", (text, digest)),
    )
    report = verify_ledger(pg_url)
    assert any(p.kind == "chain" and p.index == 2 for p in report.problems)


def test_tamper_delete_middle_and_last_receipts_is_detected(pg_url):
    _spend_some(pg_url)
    _sql(pg_url, (f"DELETE FROM {S}.entries WHERE idx = 3", None))
    kinds = {p.kind for p in verify_ledger(pg_url).problems if p.index == 4}
    assert {"missing", "chain"} <= kinds
    _sql(pg_url, (f"DELETE FROM {S}.entries WHERE idx = 5", None))
    assert any(p.kind == "missing" for p in verify_ledger(pg_url).problems)
    with pytest.raises(LedgerIntegrityError):
        Accountant.open(pg_url, dataset="d")


def test_tamper_reorder_receipts_is_detected(pg_url):
    _spend_some(pg_url)
    _sql(
        pg_url,
        (f"UPDATE {S}.entries SET idx = -1 WHERE idx = 1", None),
        (f"UPDATE {S}.entries SET idx = 1 WHERE idx = 2", None),
        (f"UPDATE {S}.entries SET idx = 2 WHERE idx = -1", None),
    )
    report = verify_ledger(pg_url)
    assert not report.ok
    assert {p.index for p in report.problems} & {1, 2}


def test_tamper_budget_header_is_detected(pg_url):
    _spend_some(pg_url)
    header = json.loads(_sql(pg_url, (f"SELECT header FROM {S}.datasets", None))[0][0])
    header["budget"]["epsilon"] = 100.0
    _sql(pg_url, (f"UPDATE {S}.datasets SET header = %s", (json.dumps(header),)))
    assert any(p.kind == "header" for p in verify_ledger(pg_url).problems)
    with pytest.raises(LedgerIntegrityError, match=r"altered"):
        Accountant.open(pg_url, dataset="d")


def _forge_release(url, target_id):
    """Append a correctly chained "release" of ``target_id`` and move the head."""
    rows = _sql(
        url,
        (
            f"SELECT idx, body, hash FROM {S}.entries WHERE dataset = 'd' ORDER BY idx",
            None,
        ),
    )
    body = json.loads(rows[0][1])
    body.update(
        id=hashlib.sha256(os.urandom(8)).hexdigest()[:32],
        index=rows[-1][0] + 1,
        prev_hash=rows[-1][2],
        request_id=None,
        parameters={},
        kind="release",
        releases=target_id,
    )
    text = _canonical(body)
    digest = hashlib.sha256(text.encode()).hexdigest()
    _sql(
        url,
        (
            f"INSERT INTO {S}.entries (dataset, idx, id, kind, request_id, status, "
            "body, hash) VALUES ('d', %s, %s, 'release', NULL, 'committed', %s, %s)",
            (body["index"], body["id"], text, digest),
        ),
        (
            f"UPDATE {S}.datasets SET head_index = %s, head_hash = %s",
            (body["index"], digest),
        ),
    )
    return body["index"]


def test_forged_refund_is_detected_by_verify_open_and_a_live_accountant(pg_url):
    live = Accountant.open(pg_url, dataset="d", epsilon=1.0)
    big = live.spend(PureDP(0.75), label="big")
    live.spend(PureDP(0.25), label="small")
    bad = _forge_release(pg_url, big.id)
    report = verify_ledger(pg_url)
    assert (bad, "transition") in {(p.index, p.kind) for p in report.problems}
    assert report.datasets[0].spent == PureDP(1.0)  # the refund is not applied
    with pytest.raises(LedgerIntegrityError, match=r"committed") as info:
        Accountant.open(pg_url, dataset="d")
    assert info.value.index == bad
    events = []
    live._on_event = events.append
    with pytest.raises(LedgerIntegrityError, match=r"committed"):
        live.spend(PureDP(0.5))
    assert isinstance(events[-1], VerificationFailed)
    live.close()


def test_keyed_chain_on_postgres_detects_a_rewrite_without_the_key(pg_url):
    key = bytes(range(32))
    with Accountant.open(pg_url, dataset="d", epsilon=1.0, chain_key=key) as acc:
        acc.spend(PureDP(0.5))
        acc.spend(PureDP(0.25))
    assert verify_ledger(pg_url, key=key).ok
    assert any(p.kind == "key" for p in verify_ledger(pg_url).problems)
    # move the head back one entry and drop the last one: consistent hashes,
    # but the head's MAC does not match
    rows = _sql(pg_url, (f"SELECT idx, hash FROM {S}.entries ORDER BY idx", None))
    _sql(
        pg_url,
        (f"DELETE FROM {S}.entries WHERE idx = 1", None),
        (
            f"UPDATE {S}.datasets SET head_index = 0, head_hash = %s",
            (rows[0][1],),
        ),
    )
    report = verify_ledger(pg_url, key=key)
    assert any(p.kind == "mac" for p in report.problems)
    with pytest.raises(LedgerIntegrityError):
        Accountant.open(pg_url, dataset="d", chain_key=key)


# ---------------------------------------------------------- reservations, crash
def test_dead_reservation_stays_charged_and_is_resumed_by_its_request_id(pg_url):
    a = Accountant.open(pg_url, dataset="d", epsilon=1.0)
    cm = a.transaction(PureDP(0.5), request_id="job-7")
    receipt = cm.__enter__()  # the process "dies" inside the block
    a.close()
    b = Accountant.open(pg_url, dataset="d")
    assert b.spent == PureDP(0.5)  # fail closed
    assert verify_ledger(pg_url).datasets[0].pending == 1
    with pytest.raises(BudgetExceededError):
        b.spend(PureDP(0.75))
    with b.transaction(PureDP(0.5), request_id="job-7") as again:
        assert again == receipt
    assert b.spent == PureDP(0.5)
    assert verify_ledger(pg_url).datasets[0].pending == 0
    b.close()


# -------------------------------------------------------------- roles (docs)
def _fleet_sql():
    """The ```sql blocks of docs/ledger-fleet.md, in order."""
    text = FLEET_DOC.read_text(encoding="utf-8")
    return re.findall(r"^```sql\n(.*?)^```", text, flags=re.S | re.M)


def test_the_fleet_roles_spend_but_cannot_rewrite_history(pg_url, roles):
    # the owner creates the ledger and the dataset, then runs the page's SQL
    _spend_some(pg_url, n=2)
    blocks = _fleet_sql()
    assert blocks, "docs/ledger-fleet.md has no sql block"
    # roles belong to the whole server: give this test's its own names
    suffix = uuid.uuid4().hex[:8]
    names = {r: f"{r}_{suffix}" for r in ("ledger_spender", "ledger_auditor")}
    roles.extend(names.values())
    with psycopg.connect(pg_url, autocommit=True) as con:
        for block in blocks:
            for old, new in names.items():
                block = block.replace(old, new)
            con.execute(block)
        for name in names.values():  # for a server that asks for passwords
            con.execute(f"ALTER ROLE {name} PASSWORD '{suffix}'")
    spender = with_user(pg_url, names["ledger_spender"], suffix)
    auditor = with_user(pg_url, names["ledger_auditor"], suffix)
    with Accountant.open(spender, dataset="d", epsilon=1.0) as acc:
        acc.spend(PureDP(0.1))
        with acc.transaction(PureDP(0.1)):
            pass
        with pytest.raises(RuntimeError), acc.transaction(PureDP(0.1)):
            raise RuntimeError("released")
    # a service cannot create a dataset (the owner does), nor rewrite anything
    with pytest.raises(LedgerError, match=r"permission denied"):
        Accountant.open(spender, dataset="new", epsilon=1.0)
    for stmt in (
        f"UPDATE {S}.entries SET body = 'x'",
        f"UPDATE {S}.entries SET idx = idx + 100",
        f"DELETE FROM {S}.entries",
        f"TRUNCATE {S}.entries",
        f"UPDATE {S}.datasets SET header = 'x'",
        f"DELETE FROM {S}.datasets",
        f"UPDATE {S}.entries SET status = 'released' WHERE status = 'committed'",
        f"UPDATE {S}.datasets SET head_index = head_index - 1",
        f"DROP TABLE {S}.entries",
    ):
        with (
            psycopg.connect(spender, autocommit=True) as con,
            pytest.raises(
                psycopg.Error, match=r"permission denied|may only|must be owner"
            ),
        ):
            con.execute(stmt)
    # the auditor reads and verifies, and writes nothing
    report = verify_ledger(auditor)
    assert report.ok, report.summary()
    assert report.datasets[0].receipts == 4
    assert report.datasets[0].released == 1
    with (
        psycopg.connect(auditor, autocommit=True) as con,
        pytest.raises(psycopg.Error, match=r"permission denied"),
    ):
        con.execute(f"INSERT INTO {S}.meta VALUES ('x', 'y')")


# --------------------------------------------------------------------- the CLI
def test_cli_show_and_verify_on_a_url(pg_url, capsys):
    from loopkit_privacy.cli import main

    _spend_some(pg_url, n=2)
    assert main(["ledger", "verify", pg_url]) == 0
    out = capsys.readouterr().out
    assert "OK (1 dataset(s))" in out
    assert main(["ledger", "show", pg_url, "--dataset", "d"]) == 0
    out = capsys.readouterr().out
    assert "q1" in out
    assert "remaining" in out
    _sql(pg_url, (f"DELETE FROM {S}.entries WHERE idx = 0", None))
    assert main(["ledger", "verify", pg_url]) == 1
    assert main(["ledger", "show", pg_url]) == 1
    assert "PROBLEM" in capsys.readouterr().err
    # a database that does not exist, and one without a ledger: exit 2
    assert main(["ledger", "verify", pg_url.replace("/lp_", "/nodb_")]) == 2
    assert "cannot connect" in capsys.readouterr().err
    assert main(["ledger", "show", new_database(pg_url)]) == 2
    assert "holds no loopkit-privacy ledger" in capsys.readouterr().err


def test_without_psycopg_a_url_names_the_extra(monkeypatch):
    from loopkit_privacy.errors import OptionalDependencyError

    monkeypatch.setitem(sys.modules, "psycopg", None)  # import fails
    with pytest.raises(OptionalDependencyError, match=r"loopkit_privacy\[postgres\]"):
        Accountant.open("postgresql://svc@db:5432/privacy", dataset="d", epsilon=1.0)
    with pytest.raises(OptionalDependencyError, match=r"loopkit_privacy\[postgres\]"):
        verify_ledger("postgresql://svc@db:5432/privacy")
