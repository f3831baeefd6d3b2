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


def test_verify_with_a_key_file(tmp_path, capsys):
    key = bytes(range(32))
    path = tmp_path / "k.ledger"
    with Accountant.open(path, dataset="events", epsilon=1.0, chain_key=key) as acc:
        acc.spend(PureDP(0.25), label="dau")
    key_file = tmp_path / "ledger.key"
    key_file.write_text(key.hex() + "\n")
    assert run(["ledger", "verify", str(path), "--key-file", str(key_file)]) == 0
    assert "OK" in capsys.readouterr().out
    # without the key, or with another one, a keyed ledger does not verify
    assert run(["ledger", "verify", str(path)]) == 1
    assert "key" in capsys.readouterr().out
    other = tmp_path / "other.key"
    other.write_text(bytes(range(1, 33)).hex())
    assert run(["ledger", "verify", str(path), "--key-file", str(other)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out
    assert key.hex() not in out
    assert run(["ledger", "show", str(path), "--key-file", str(key_file)]) == 0
    capsys.readouterr()
    # a key file that is not hex, or is missing, is a usage error
    bad = tmp_path / "bad.key"
    bad.write_text("not hex at all")
    assert run(["ledger", "verify", str(path), "--key-file", str(bad)]) == 2
    assert "hex" in capsys.readouterr().err
    assert run(["ledger", "verify", str(path), "--key-file", str(tmp_path / "no")]) == 2
