"""The ``loopkit-privacy ledger`` commands: ``show`` and ``verify``.

The main command-line module registers them with :func:`add_ledger_commands`.
Exit codes: 0 success, 1 the ledger fails verification (tampering, a broken
chain, a truncated ledger, a forged transition, or a keyed ledger checked
without its key or with another one), 2 the file is missing or is not a
ledger, or the key file is missing or unreadable.

``PATH`` is a SQLite ledger file or a ``postgresql://`` URL of a PostgreSQL
ledger (``docs/ledger-fleet.md``); both are verified the same way.

``--key-file FILE`` gives the chain key of a keyed ledger: a file holding the
key as hexadecimal text (whitespace ignored), e.g. made with
``python -c "import secrets; print(secrets.token_hex(32))" > ledger.key``.
The key is never printed.

Examples
--------
>>> import argparse, os, tempfile
>>> from loopkit_privacy.accounting import Accountant
>>> path = os.path.join(tempfile.mkdtemp(), "b.ledger")
>>> acc = Accountant.open(path, dataset="events", epsilon=1.0)
>>> _ = acc.spend(PureDP(0.5), label="dau")
>>> acc.close()
>>> parser = argparse.ArgumentParser(prog="loopkit-privacy")
>>> add_ledger_commands(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["ledger", "verify", path])
>>> args.func(args)  # doctest: +ELLIPSIS
ledger ...: OK (1 dataset(s))
  events: 1 receipt(s), 0 pending, 0 released; spent PureDP(epsilon=0.5) of PureDP(epsilon=1.0); head ...
0
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from loopkit_privacy.accounting.ledger import open_ledger, verify_ledger
from loopkit_privacy.errors import (
    InvalidParameterError,
    LedgerError,
    OptionalDependencyError,
)
from loopkit_privacy.loss import PureDP  # noqa: F401  (used in the doctest)

__all__ = ["add_ledger_commands"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NOT_A_LEDGER = 2


def add_ledger_commands(subparsers: Any) -> None:
    """Register ``ledger show PATH`` and ``ledger verify PATH``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The object returned by ``parser.add_subparsers()``. Each command sets
        ``func(args) -> int`` (the exit code) through ``set_defaults``.

    Raises
    ------
    InvalidParameterError
        When ``subparsers`` is not an argparse sub-parsers object.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_ledger_commands(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["ledger", "show", "x.ledger"]).path
    'x.ledger'
    >>> parser.parse_args(["ledger", "verify", "x.ledger", "--key-file", "k"]).key_file
    'k'
    """
    if not callable(getattr(subparsers, "add_parser", None)):
        raise InvalidParameterError(
            "`subparsers` must be the object returned by "
            f"argparse.ArgumentParser().add_subparsers(), got {subparsers!r}",
            parameter="subparsers",
            value=None,
        )
    ledger = subparsers.add_parser(
        "ledger", help="inspect and verify a privacy-budget ledger"
    )
    sub = ledger.add_subparsers(dest="ledger_command", required=True)

    show = sub.add_parser("show", help="print the receipts and totals of a ledger")
    show.add_argument("path", help=_PATH_HELP)
    show.add_argument("--dataset", default=None, help="only this dataset")
    show.add_argument(
        "--json", action="store_true", help="print JSON lines instead of a table"
    )
    show.add_argument("--key-file", default=None, help=_KEY_FILE_HELP)
    show.set_defaults(func=_cmd_show)

    verify = sub.add_parser(
        "verify", help="recompute the hash chains and totals (exit 1 on tampering)"
    )
    verify.add_argument("path", help=_PATH_HELP)
    verify.add_argument("--key-file", default=None, help=_KEY_FILE_HELP)
    verify.set_defaults(func=_cmd_verify)


_PATH_HELP = (
    "the ledger: a SQLite file, or a postgresql://user@host:port/db URL "
    "(the password from ~/.pgpass or PGPASSWORD)"
)
_KEY_FILE_HELP = (
    "file holding the chain key of a keyed ledger, as hexadecimal text; "
    "checks every MAC (detects rewrites and truncation)"
)


class _KeyFileError(Exception):
    """A key file that cannot be used (its message never shows the key)."""


# What makes a command exit with EXIT_NOT_A_LEDGER: nothing to read there.
_NOT_A_LEDGER = (
    LedgerError,
    InvalidParameterError,
    OptionalDependencyError,
    _KeyFileError,
)


def _read_key(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        raise _KeyFileError(f"cannot read key file {path}: {err}") from None
    try:
        return bytes.fromhex("".join(text.split()))
    except ValueError:
        raise _KeyFileError(
            f"key file {path} must hold the key as hexadecimal text (e.g. "
            "the output of secrets.token_hex(32)); it is not hex"
        ) from None


def _load(args: argparse.Namespace) -> Any:
    """The report of ``args.path`` with the key of ``args.key_file``."""
    key = _read_key(getattr(args, "key_file", None))
    return verify_ledger(args.path, key=key)


def _cost_text(cost: dict[str, Any]) -> str:
    if cost.get("type") == "ZCDP":
        return f"rho={cost.get('rho')}"
    text = f"eps={cost.get('epsilon')}"
    if cost.get("delta"):
        text += f" delta={cost.get('delta')}"
    return text


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
        for i, h in enumerate(header)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
    ]
    return "\n".join(lines)


def _cmd_show(args: argparse.Namespace) -> int:
    try:
        report = _load(args)
        ledger = open_ledger(args.path, create=False)
    except _NOT_A_LEDGER as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_NOT_A_LEDGER
    try:
        names = ledger.dataset_names()
        if args.dataset is not None:
            if args.dataset not in names:
                print(
                    f"error: dataset {args.dataset!r} is not in {args.path}",
                    file=sys.stderr,
                )
                return EXIT_NOT_A_LEDGER
            names = [args.dataset]
        for name in names:
            rows = ledger.rows(name)
            if args.json:
                for row in rows:
                    data = json.loads(row[4])
                    data["hash"], data["status"] = row[5], row[6]
                    print(json.dumps(data, sort_keys=True))
                continue
            table = []
            for idx, _rid, kind, _req, body, _hash, status in rows:
                data = json.loads(body)
                if kind == "spend":
                    what = "reservation" if data.get("reservation") else "spend"
                else:
                    target = data.get("releases") or data.get("commits")
                    what = f"{kind} of #{_index_of(rows, target)}"
                table.append(
                    [
                        str(idx),
                        str(data.get("time", ""))[:19],
                        what,
                        status,
                        str(data.get("label") or ""),
                        str(data.get("mechanism") or ""),
                        _cost_text(data.get("cost") or {}),
                        "yes" if data.get("insecure") else "",
                    ]
                )
            print(f"dataset {name}")
            header = ["#", "time (UTC)", "kind", "status", "label", "mechanism"]
            print(_table(table, [*header, "cost", "insecure"]))
            summary = next((d for d in report.datasets if d.dataset == name), None)
            if summary is not None:
                print(
                    f"budget {summary.budget!r}; spent {summary.spent!r}; remaining "
                    f"{summary.remaining!r}; {summary.receipts} charged, "
                    f"{summary.pending} pending, {summary.released} released"
                )
            print()
        if not report.ok:
            print(report.summary(), file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK
    finally:
        ledger.close()


def _index_of(rows: list[tuple[Any, ...]], rid: Any) -> str:
    return next((str(r[0]) for r in rows if r[1] == rid), "?")


def _cmd_verify(args: argparse.Namespace) -> int:
    try:
        report = _load(args)
    except _NOT_A_LEDGER as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_NOT_A_LEDGER
    print(report.summary())
    return EXIT_OK if report.ok else EXIT_FAILED
