import argparse
import sqlite3

import pytest

from loopkit_privacy.accounting import Accountant
from loopkit_privacy.accounting.cli import add_ledger_commands
from loopkit_privacy.loss import ApproxDP, PureDP


def run(argv):
    parser = argparse.ArgumentParser(prog="loopkit-privacy")
    add_ledger_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def ledger(tmp_path):
    path = tmp_path / "b.ledger"
    with Accountant.open(path, dataset="events", epsilon=1.0) as acc:
        acc.spend(PureDP(0.25), label="dau", mechanism="laplace")
        acc.spend(PureDP(0.5), label="retention", insecure=True)
    with Accountant.open(path, dataset="other", epsilon=2.0, delta=1e-6) as acc:
        acc.spend(ApproxDP(0.5, 1e-7), label="sums")
    return path


def test_show_prints_receipts_and_totals(ledger, capsys):
    assert run(["ledger", "show", str(ledger)]) == 0
    out = capsys.readouterr().out
    assert "dataset events" in out
    assert "dau" in out
    assert "retention" in out
    assert "sums" in out
    assert "spent PureDP(epsilon=0.75)" in out
    assert "remaining PureDP(epsilon=0.25)" in out


def test_show_one_dataset_and_json(ledger, capsys):
    assert run(["ledger", "show", str(ledger), "--dataset", "other"]) == 0
    out = capsys.readouterr().out
    assert "sums" in out
    assert "dau" not in out
    assert run(["ledger", "show", str(ledger), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert run(["ledger", "show", str(ledger), "--dataset", "missing"]) == 2


def test_verify_ok_and_tampered(ledger, capsys):
    assert run(["ledger", "verify", str(ledger)]) == 0
    assert "OK" in capsys.readouterr().out
    con = sqlite3.connect(ledger)
    con.execute("DELETE FROM entries WHERE dataset = 'events' AND idx = 0")
    con.commit()
    con.close()
    assert run(["ledger", "verify", str(ledger)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out
    assert "PROBLEM" in out
    assert run(["ledger", "show", str(ledger)]) == 1


def test_not_a_ledger_exit_code(tmp_path, capsys):
    bogus = tmp_path / "x.txt"
    bogus.write_text("not a ledger")
    assert run(["ledger", "verify", str(bogus)]) == 2
    assert "not a SQLite database" in capsys.readouterr().err
    assert run(["ledger", "show", str(tmp_path / "missing")]) == 2
