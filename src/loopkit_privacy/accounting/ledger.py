"""The persistent ledger: receipts in a SQLite file shared by processes.

Format
------
One SQLite database (stdlib :mod:`sqlite3`, WAL journal, ``synchronous=FULL``)
with three tables:

``meta(key, value)``
    ``format = loopkit-privacy-ledger`` and ``version = 2``. A file without
    them is not a ledger and is never written to.
``datasets(name, header, genesis_hash, head_index, head_hash, head_mac)``
    One row per dataset (tenant): its budget header as canonical JSON, the
    hash of that header (the chain's genesis), and the index and hash of the
    chain's last entry (so that a truncated chain is detected). ``head_mac``
    is the keyed MAC of the head for a keyed dataset (else NULL).
``entries(dataset, idx, id, kind, request_id, status, body, hash, mac)``
    The hash chain: ``body`` is the receipt's canonical JSON and ``hash`` its
    SHA-256; ``mac`` is the HMAC-SHA256 of the entry under the chain key for a
    keyed dataset (else NULL). ``status`` (``pending``, ``committed``,
    ``released``) is informational and checked against the chain, never used
    for totals.

A keyed dataset (``Accountant.open(..., chain_key=...)``) records a key
marker (``"chain": {"mac": "hmac-sha256", "key_check": ...}``) in its
header; the key itself is never written.

Every charge is one ``BEGIN IMMEDIATE`` transaction: read the dataset's head,
apply (and verify) any entries other processes appended since, check the
budget, append, move the head, commit. SQLite's write lock serialises these
across processes and WAL makes each commit atomic under ``kill -9``.

Examples
--------
>>> import os, tempfile
>>> from loopkit_privacy.accounting import Accountant, verify_ledger
>>> path = os.path.join(tempfile.mkdtemp(), "budget.ledger")
>>> acc = Accountant.open(path, dataset="events", epsilon=1.0)
>>> _ = acc.spend(PureDP(0.25), label="dau")
>>> acc.close()
>>> report = verify_ledger(path)
>>> report.ok, report.datasets[0].spent
(True, PureDP(epsilon=0.25))
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import numbers
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, cast

from loopkit_privacy._validate import check_bool
from loopkit_privacy.accounting._budget import Policy
from loopkit_privacy.accounting._chain import (
    MAC_ALGORITHM,
    Chain,
    ChainKey,
    check_chain_key,
    macs_equal,
)
from loopkit_privacy.accounting.events import EventHandler, VerificationFailed, emit
from loopkit_privacy.accounting.receipts import (
    FORMAT,
    FORMAT_VERSION,
    Receipt,
    canonical_json,
    genesis_hash,
)
from loopkit_privacy.errors import (
    InvalidParameterError,
    LedgerError,
    LedgerIntegrityError,
)
from loopkit_privacy.loss import PrivacyLoss, PureDP  # noqa: F401  (PureDP: doctest)

__all__ = [
    "DatasetSummary",
    "LedgerProblem",
    "LedgerReport",
    "SQLiteLedger",
    "is_postgres_target",
    "open_ledger",
    "verify_ledger",
]

_SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE datasets (
    name TEXT PRIMARY KEY,
    header TEXT NOT NULL,
    genesis_hash TEXT NOT NULL,
    head_index INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    head_mac TEXT
);
CREATE TABLE entries (
    dataset TEXT NOT NULL,
    idx INTEGER NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    request_id TEXT,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT,
    PRIMARY KEY (dataset, idx)
);
CREATE INDEX entries_id ON entries (dataset, id);
"""


@functools.lru_cache(maxsize=256)
def _render_sql(text: str, prefix: str, placeholder: str) -> str:
    """Spell a backend-neutral statement for one backend (cached)."""
    tables = {name: f"{prefix}{name}" for name in ("meta", "datasets", "entries")}
    return text.format(**tables).replace("?", placeholder)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_path(path: Any, name: str = "path") -> str:
    """Validate a ledger path argument (a string or an ``os.PathLike`` of one)."""
    if isinstance(path, str | os.PathLike):
        text = os.fspath(path)
        if isinstance(text, str) and text and "\x00" not in text:
            return text
    raise InvalidParameterError(
        f"`{name}` must be a file path (a non-empty str or pathlib.Path), got "
        f"{path!r}; pass e.g. {name}='budget.ledger'",
        parameter=name,
        value=path,
    )


def _check_timeout(value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or float(value) < 0
    ):
        raise InvalidParameterError(
            f"`timeout` must be a finite number of seconds >= 0, got {value!r}; "
            "pass e.g. timeout=60.0",
            parameter="timeout",
            value=value,
        )
    return float(value)


_check_bool = check_bool


def _check_synchronous(value: Any) -> Literal["full", "normal"]:
    if not isinstance(value, str) or value not in ("full", "normal"):
        raise InvalidParameterError(
            f"`synchronous` must be 'full' or 'normal', got {value!r}",
            parameter="synchronous",
            value=value,
        )
    return cast('Literal["full", "normal"]', value)


def _check_name(value: Any, name: str = "dataset") -> str:
    if not isinstance(value, str) or not value:
        example = "'events'" if name == "dataset" else "receipt.id"
        raise InvalidParameterError(
            f"`{name}` must be a non-empty string, got {value!r}; pass e.g. "
            f"{name}={example}",
            parameter=name,
            value=value,
        )
    return value


def _check_callback(value: Any, name: str = "on_event") -> Any:
    if value is not None and not callable(value):
        raise InvalidParameterError(
            f"`{name}` must be callable or None, got {value!r}",
            parameter=name,
            value=value,
        )
    return value


def is_postgres_target(target: Any) -> bool:
    """Whether ``target`` names a PostgreSQL ledger rather than a SQLite file.

    A PostgreSQL ledger is named by a ``postgresql://`` (or ``postgres://``)
    URL, a psycopg 3 connection, or a ``psycopg_pool`` connection pool.

    Parameters
    ----------
    target : object
        What was passed as a ledger's ``path``.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_postgres_target("postgresql://ledger@db.internal:5432/privacy")
    True
    >>> is_postgres_target("budget.ledger")
    False
    """
    if isinstance(target, str):
        return target.startswith(("postgresql://", "postgres://"))
    return any(
        cls.__module__.split(".")[0] in ("psycopg", "psycopg_pool")
        for cls in type(target).__mro__
    )


def check_open_arguments(
    path: Any, *, create: Any, timeout: Any, synchronous: Any
) -> tuple[Any, bool, float, Literal["full", "normal"]]:
    """Validate the arguments of a ledger (nothing is touched).

    ``path`` is returned as given for a PostgreSQL target, else as a str.
    """
    return (
        path if is_postgres_target(path) else _check_path(path),
        _check_bool(create, "create"),
        _check_timeout(timeout),
        _check_synchronous(synchronous),
    )


def ledger_exists(target: Any, timeout: float = 60.0) -> bool:
    """Whether the ledger file exists, or the PostgreSQL database holds a ledger."""
    if is_postgres_target(target):
        from loopkit_privacy.accounting._postgres import ledger_exists

        return ledger_exists(target, timeout=timeout)
    return os.path.exists(os.fspath(target))


def open_ledger(
    target: Any,
    *,
    create: bool = True,
    timeout: float = 60.0,
    synchronous: str = "full",
) -> LedgerStore:
    """Open the ledger ``target`` names: a SQLite file or a PostgreSQL database.

    Parameters
    ----------
    target : str, os.PathLike, psycopg.Connection or psycopg_pool.ConnectionPool
        A file path (:class:`SQLiteLedger`), or a ``postgresql://`` URL, a
        psycopg connection or a pool
        (:class:`~loopkit_privacy.accounting.PostgresLedger`).
    create, timeout, synchronous
        As for :class:`SQLiteLedger`.

    Returns
    -------
    SQLiteLedger or PostgresLedger

    Raises
    ------
    InvalidParameterError
        For a bad argument.
    LedgerError
        When the target is not a ledger or cannot be opened.
    OptionalDependencyError
        For a PostgreSQL target without psycopg installed.

    Examples
    --------
    >>> import os, tempfile
    >>> led = open_ledger(os.path.join(tempfile.mkdtemp(), "o.ledger"))
    >>> type(led).__name__, led.dataset_names()
    ('SQLiteLedger', [])
    >>> led.close()
    """
    if is_postgres_target(target):
        from loopkit_privacy.accounting._postgres import PostgresLedger

        return PostgresLedger(
            target, create=create, timeout=timeout, synchronous=synchronous
        )
    return SQLiteLedger(target, create=create, timeout=timeout, synchronous=synchronous)


def _check_magic(path: str) -> None:
    if os.path.isdir(path):
        raise LedgerError(
            f"`path` {path!r} is a directory, not a ledger file; pass a file path"
        )
    try:
        with open(path, "rb") as fh:
            magic = fh.read(len(_SQLITE_MAGIC))
    except OSError as err:
        raise LedgerError(f"cannot read ledger `path` {path!r}: {err}") from err
    if magic != _SQLITE_MAGIC:
        what = "is empty (truncated?)" if not magic else "is not a SQLite database"
        raise LedgerError(
            f"`path` {path!r} {what}, so it is not a loopkit-privacy ledger; "
            "refusing to open it (a ledger is never re-created over an existing "
            "file)"
        )


def _create_file(path: str) -> None:
    """Create an empty ledger at ``path`` atomically (never over an existing file)."""
    tmp = f"{path}.creating-{os.getpid()}-{uuid.uuid4().hex}"
    try:
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("BEGIN IMMEDIATE")
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    con.execute(stmt)
            con.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
            con.execute(
                "INSERT INTO meta VALUES ('version', ?)", (str(FORMAT_VERSION),)
            )
            con.execute("COMMIT")
        finally:
            con.close()
        # link() fails if ``path`` exists, so two creators cannot clobber each
        # other and nobody ever sees a half-built ledger.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    except OSError as err:
        raise LedgerError(f"cannot create ledger `path` {path!r}: {err}") from err
    finally:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp + suffix)


def _check_meta(con: sqlite3.Connection, path: str) -> None:
    try:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        tables = {
            r[0]
            for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    except sqlite3.DatabaseError as err:
        raise LedgerError(
            f"`path` {path!r} is not a loopkit-privacy ledger or is corrupted "
            f"({err}); refusing to open it"
        ) from err
    if meta.get("format") != FORMAT or not {"datasets", "entries"} <= tables:
        raise LedgerError(
            f"`path` {path!r} is a SQLite file but not a loopkit-privacy ledger"
        )
    if meta.get("version") != str(FORMAT_VERSION):
        raise LedgerError(
            f"`path` {path!r} has ledger format version {meta.get('version')!r}; "
            f"this library reads version {FORMAT_VERSION}"
        )


def _row_receipt(row: tuple[Any, ...]) -> tuple[Receipt, list[tuple[str, str]]]:
    """Parse an ``entries`` row; return the receipt and row-level problems."""
    idx, rid, kind, request_id, body, stored_hash = row
    problems: list[tuple[str, str]] = []
    try:
        data = json.loads(body)
        data["hash"] = stored_hash
        receipt = Receipt.from_dict(data)
    except (ValueError, LedgerError) as err:
        raise LedgerIntegrityError(
            f"receipt {idx}: unreadable body ({err})", index=idx
        ) from err
    if _sha256(body) != stored_hash:
        problems.append(
            ("altered", f"receipt {idx}: stored text does not match its hash")
        )
    if (receipt.index, receipt.id, receipt.kind, receipt.request_id) != (
        idx,
        rid,
        kind,
        request_id,
    ):
        problems.append(
            ("altered", f"receipt {idx}: columns disagree with the hashed body")
        )
    return receipt, problems


class LedgerStore:
    """The row-level operations of a ledger, shared by its storage backends.

    A backend (:class:`SQLiteLedger`, :class:`~loopkit_privacy.accounting.
    PostgresLedger`) provides the transactions (:meth:`write`, :meth:`read`)
    and how SQL is spelled for it (:meth:`_sql`: table names and parameter
    placeholders); everything that reads or appends receipts is written once
    here, so that the backends cannot drift apart.
    """

    path: str
    #: Prefix of the table names (a PostgreSQL schema, or nothing).
    _table_prefix = ""
    #: The driver's parameter placeholder.
    _placeholder = "?"

    def _sql(self, text: str) -> str:
        """``text`` with ``{meta}``/``{datasets}``/``{entries}`` and ``?`` spelled for this backend."""
        return _render_sql(text, self._table_prefix, self._placeholder)

    #: Whether the current :meth:`read` runs without a snapshot.
    _unlocked_read = False

    def _lock_clause(self) -> str:
        """Appended to the read of a dataset's row inside :meth:`write`."""
        return ""

    def write(self) -> contextlib.AbstractContextManager[Any]:  # pragma: no cover
        raise NotImplementedError

    def read(self) -> contextlib.AbstractContextManager[Any]:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover
        raise NotImplementedError

    def _dataset_row(self, con: Any, dataset: str) -> Any:
        return con.execute(
            self._sql("SELECT header, genesis_hash FROM {datasets} WHERE name = ?")
            + self._lock_clause(),
            (dataset,),
        ).fetchone()

    # -------------------------------------------------------------- operations
    def dataset_names(self) -> list[str]:
        """Names of the datasets in this ledger.

        Returns
        -------
        list of str

        Examples
        --------
        >>> import os, tempfile
        >>> from loopkit_privacy.accounting import Accountant
        >>> path = os.path.join(tempfile.mkdtemp(), "n.ledger")
        >>> Accountant.open(path, dataset="a", epsilon=1.0).close()
        >>> SQLiteLedger(path).dataset_names()
        ['a']
        """
        with self.read() as con:
            return [
                r[0]
                for r in con.execute(
                    self._sql("SELECT name FROM {datasets} ORDER BY name")
                ).fetchall()
            ]

    def ensure_dataset(
        self,
        dataset: str,
        policy: Policy | None,
        created: str,
        key: ChainKey | None = None,
    ) -> Policy:
        """Create the dataset's header, or check it against ``policy`` and ``key``.

        Parameters
        ----------
        dataset : str
            The dataset (tenant).
        policy : Policy or None
            The budget to create the dataset with, or to check a recorded
            one against; ``None`` accepts the recorded budget.
        created : str
            Creation time written into a new header (ISO 8601).
        key : ChainKey, optional
            The chain key (from ``Accountant.open(..., chain_key=...)``). A new
            dataset is created keyed; an existing one must have been created
            with this key (or without one, if ``key`` is None).

        Returns
        -------
        Policy
            The budget recorded in the ledger.

        Raises
        ------
        LedgerError
            When ``policy`` differs from the recorded budget, ``dataset`` is
            missing and ``policy`` is ``None``, or the key does not match the
            dataset's (missing, wrong, or given for an unkeyed dataset).
            Nothing is written then.
        LedgerIntegrityError
            When the recorded header does not match its hash.

        Examples
        --------
        >>> import os, tempfile
        >>> from loopkit_privacy.accounting import Accountant
        >>> path = os.path.join(tempfile.mkdtemp(), "e.ledger")
        >>> with Accountant.open(path, dataset="a", epsilon=1.0) as acc:
        ...     receipt = acc.spend(PureDP(0.25), label="q")
        >>> led = SQLiteLedger(path)
        >>> led.ensure_dataset("a", None, created="").budget
        PureDP(epsilon=1.0)
        >>> led.ensure_dataset("b", None, created="")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        loopkit_privacy.errors.LedgerError: dataset 'b' is not in ledger ...
        >>> led.close()
        """
        dataset = _check_name(dataset)
        if policy is not None and not isinstance(policy, Policy):
            raise InvalidParameterError(
                f"`policy` must be a Policy or None, got {policy!r}",
                parameter="policy",
                value=policy,
            )
        if not isinstance(created, str):
            raise InvalidParameterError(
                f"`created` must be an ISO 8601 string, got {created!r}",
                parameter="created",
                value=created,
            )
        if key is not None and not isinstance(key, ChainKey):
            raise InvalidParameterError(
                "`key` must be a ChainKey or None",
                parameter="key",
                value=None,
            )
        with self.write() as con:
            row = self._dataset_row(con, dataset)
            if row is None:
                if policy is None:
                    raise LedgerError(
                        f"dataset {dataset!r} is not in ledger {self.path!r}; give a "
                        "budget (`epsilon`=..., `delta`=... or `rho`=...) to create it"
                    )
                header = {
                    "format": FORMAT,
                    "version": FORMAT_VERSION,
                    "dataset": dataset,
                    "created": created,
                    **policy.header_budget(),
                }
                if key is not None:
                    header["chain"] = {
                        "mac": MAC_ALGORITHM,
                        "key_check": key.check_value(),
                    }
                text = canonical_json(header)
                genesis = genesis_hash(header)
                head_mac = (
                    key.head_mac(dataset, -1, genesis) if key is not None else None
                )
                # Another process may create the same dataset at the same
                # time: the first one wins, the other checks against it.
                created_now = con.execute(
                    self._sql(
                        "INSERT INTO {datasets} (name, header, genesis_hash, "
                        "head_index, head_hash, head_mac) VALUES (?, ?, ?, -1, ?, ?) "
                        "ON CONFLICT (name) DO NOTHING"
                    ),
                    (dataset, text, genesis, genesis, head_mac),
                ).rowcount
                if created_now == 1:
                    return policy
                row = self._dataset_row(con, dataset)
                if row is None:  # pragma: no cover - the conflict row vanished
                    raise LedgerError(
                        f"dataset {dataset!r} could not be created in {self.path!r}"
                    )
            header, _ = self._parse_header(dataset, row)
            problem = _key_problem(header, key)
            if problem is not None:
                raise LedgerError(
                    f"dataset {dataset!r} in {self.path!r} {_KEY_OPEN_MESSAGES[problem]}"
                    "; nothing was written"
                )
            recorded = Policy.from_header(header)
            if (
                policy is not None
                and policy.header_budget() != recorded.header_budget()
            ):
                raise LedgerError(
                    f"dataset {dataset!r} in {self.path!r} was created with "
                    f"{_describe(recorded)} but is opened with {_describe(policy)}; "
                    "nothing was written (pass the recorded budget as `epsilon`, "
                    "`delta`, `rho`, `accounting` and `orders`, or none of them to "
                    "use it)"
                )
            return recorded

    def _parse_header(
        self, dataset: str, row: tuple[Any, ...]
    ) -> tuple[dict[str, Any], str]:
        text, stored_genesis = row
        try:
            header = json.loads(text)
        except ValueError as err:
            raise LedgerIntegrityError(
                f"dataset {dataset!r}: budget header is unreadable", index=None
            ) from err
        if (
            not isinstance(header, dict)
            or genesis_hash(header) != stored_genesis
            or header.get("dataset") != dataset
        ):
            raise LedgerIntegrityError(
                f"dataset {dataset!r}: budget header does not match its hash "
                "(the budget was altered)",
                index=None,
            )
        return header, stored_genesis

    def genesis(self, dataset: str) -> str:
        """The genesis hash of ``dataset``.

        The hash of its budget header, which the first receipt links to.

        Returns
        -------
        str
            64 hexadecimal digits.

        Raises
        ------
        LedgerError
            When ``dataset`` is not in the ledger.

        Examples
        --------
        >>> import os, tempfile
        >>> from loopkit_privacy.accounting import Accountant
        >>> path = os.path.join(tempfile.mkdtemp(), "g.ledger")
        >>> with Accountant.open(path, dataset="a", epsilon=1.0) as acc:
        ...     receipt = acc.spend(PureDP(0.25), label="q")
        >>> led = SQLiteLedger(path)
        >>> led.genesis("a") == receipt.prev_hash
        True
        >>> led.close()
        """
        dataset = _check_name(dataset)
        with self.read() as con:
            row = self._dataset_row(con, dataset)
        if row is None:
            raise LedgerError(f"dataset {dataset!r} is not in ledger {self.path!r}")
        return self._parse_header(dataset, row)[1]

    def sync(self, con: Any, chain: Chain) -> None:
        """Apply entries appended since ``chain``'s head, verifying each.

        Every entry is replayed through the chain's state machine (a release
        or commit must settle a pending reservation before it, ids are unique,
        ...), and for a keyed chain its MAC and the head's MAC are checked.

        Parameters
        ----------
        con : connection
            The connection yielded by :meth:`read` or :meth:`write`.
        chain : Chain
            The in-memory chain to bring up to date.

        Raises
        ------
        LedgerIntegrityError
            When an entry fails verification or receipts are missing.

        Examples
        --------
        >>> import os, tempfile
        >>> from loopkit_privacy.accounting import Accountant
        >>> path = os.path.join(tempfile.mkdtemp(), "s.ledger")
        >>> with Accountant.open(path, dataset="a", epsilon=1.0) as acc:
        ...     receipt = acc.spend(PureDP(0.25), label="q")
        >>> led = SQLiteLedger(path)
        >>> from loopkit_privacy.accounting._chain import Chain
        >>> policy = led.ensure_dataset("a", None, created="")
        >>> chain = Chain(policy, "a", led.genesis("a"))
        >>> with led.read() as con:
        ...     led.sync(con, chain)
        >>> chain.head_index, chain.head_hash == receipt.hash
        (0, True)
        >>> led.close()
        """
        if not isinstance(chain, Chain):
            raise InvalidParameterError(
                f"`chain` must be a Chain, got {chain!r}", parameter="chain", value=None
            )
        lock = self._lock_clause()
        if lock and self._apply_new(con, chain):
            # Caught up on what others appended without holding the lock (it
            # is all committed and verified as usual); only the entries that
            # arrive while we wait for the lock are left for below. The new
            # head is checked in full, MAC included.
            chain.head_verified = False
        # Inside write() this read locks the dataset's row (PostgreSQL: FOR
        # UPDATE), so that the budget check and the append that follow are
        # serialised with every other writer of this dataset.
        head = con.execute(
            self._sql(
                "SELECT head_index, head_hash, head_mac FROM {datasets} WHERE name = ?"
            )
            + lock,
            (chain.dataset,),
        ).fetchone()
        if head is None:
            raise LedgerIntegrityError(
                f"dataset {chain.dataset!r} disappeared from ledger {self.path!r}"
            )
        head_index, head_hash, head_mac = head
        if (
            chain.head_verified
            and head_index == chain.head_index
            and head_hash == chain.head_hash
        ):
            return
        # In a read without a snapshot (PostgreSQL's read()), only up to the
        # head just read: entries appended after it are left for next time.
        # Everywhere else every entry is read, so that one beyond the head
        # (written without moving it) is reported.
        self._apply_new(con, chain, head_index if self._unlocked_read else None)
        if (chain.head_index, chain.head_hash) != (head_index, head_hash):
            raise LedgerIntegrityError(
                f"ledger for dataset {chain.dataset!r}: the recorded head (receipt "
                f"{head_index}) does not match the last receipt ({chain.head_index}); "
                "receipts are missing",
                index=chain.head_index + 1,
            )
        if chain.key is not None and not macs_equal(
            head_mac, chain.key.head_mac(chain.dataset, head_index, head_hash)
        ):
            raise LedgerIntegrityError(
                f"ledger for dataset {chain.dataset!r}: the head's MAC does not "
                "match under the chain key (the chain was truncated or rewritten)",
                index=head_index,
            )
        chain.head_verified = True

    def _apply_new(self, con: Any, chain: Chain, upto: int | None = None) -> int:
        """Verify and apply the entries after ``chain``'s head (up to ``upto``).

        Returns how many were applied.
        """
        rows = con.execute(
            self._sql(
                "SELECT idx, id, kind, request_id, body, hash, status, mac FROM "
                "{entries} WHERE dataset = ? AND idx > ? AND idx <= ? ORDER BY idx"
            ),
            (chain.dataset, chain.head_index, 2**62 if upto is None else upto),
        ).fetchall()
        for row in rows:
            receipt, problems = _row_receipt(row[:6])
            if problems:
                raise LedgerIntegrityError(
                    f"ledger for dataset {chain.dataset!r} fails verification: "
                    + "; ".join(m for _, m in problems),
                    index=receipt.index,
                )
            chain.apply(receipt, mac=row[7])
        return len(rows)

    def append(
        self,
        con: Any,
        receipt: Receipt,
        status: str,
        key: ChainKey | None = None,
    ) -> None:
        """Insert ``receipt`` and move the dataset's head (inside ``write``).

        The receipt is not checked here: the caller builds it on the head
        (see :meth:`sync`), or the ledger fails verification.

        Parameters
        ----------
        con : connection
            The connection yielded by :meth:`write`.
        receipt : Receipt
            A sealed receipt that continues the dataset's chain.
        status : {"pending", "committed", "released"}
            Its informational status.
        key : ChainKey, optional
            The dataset's chain key: the entry and the new head are MACed.

        Examples
        --------
        >>> import dataclasses
        >>> from loopkit_privacy.accounting import verify_ledger
        >>> import os, tempfile
        >>> from loopkit_privacy.accounting import Accountant
        >>> path = os.path.join(tempfile.mkdtemp(), "a.ledger")
        >>> with Accountant.open(path, dataset="a", epsilon=1.0) as acc:
        ...     receipt = acc.spend(PureDP(0.25), label="q")
        >>> led = SQLiteLedger(path)
        >>> spend = Accountant(epsilon=1.0).spend(PureDP(0.5), label="copied")
        >>> nxt = dataclasses.replace(spend, dataset="a", index=1, prev_hash=receipt.hash)
        >>> with led.write() as con:
        ...     led.append(con, nxt.sealed(), "committed")
        >>> report = verify_ledger(path)
        >>> report.ok, report.datasets[0].spent
        (True, PureDP(epsilon=0.75))
        >>> led.close()
        """
        if not isinstance(receipt, Receipt):
            raise InvalidParameterError(
                f"`receipt` must be a Receipt, got {type(receipt).__name__}",
                parameter="receipt",
                value=None,
            )
        status = _check_status(status)
        if key is not None and not isinstance(key, ChainKey):
            raise InvalidParameterError(
                "`key` must be a ChainKey or None", parameter="key", value=None
            )
        body = canonical_json(receipt.body())
        mac = (
            key.entry_mac(receipt.dataset, receipt.index, receipt.hash)
            if key is not None
            else None
        )
        head_mac = (
            key.head_mac(receipt.dataset, receipt.index, receipt.hash)
            if key is not None
            else None
        )
        con.execute(
            self._sql(
                "INSERT INTO {entries} (dataset, idx, id, kind, request_id, status, "
                "body, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            (
                receipt.dataset,
                receipt.index,
                receipt.id,
                receipt.kind,
                receipt.request_id,
                status,
                body,
                receipt.hash,
                mac,
            ),
        )
        con.execute(
            self._sql(
                "UPDATE {datasets} SET head_index = ?, head_hash = ?, head_mac = ? "
                "WHERE name = ?"
            ),
            (receipt.index, receipt.hash, head_mac, receipt.dataset),
        )

    def set_status(self, con: Any, dataset: str, rid: str, status: str) -> None:
        """Update the informational status of an entry.

        The status is not hashed and never used for totals.

        Parameters
        ----------
        con : connection
            The connection yielded by :meth:`write`.
        dataset : str
            The dataset of the entry.
        rid : str
            The receipt's ``id``.
        status : {"pending", "committed", "released"}
            The new status.

        Examples
        --------
        >>> import os, tempfile
        >>> from loopkit_privacy.accounting import Accountant
        >>> path = os.path.join(tempfile.mkdtemp(), "t.ledger")
        >>> with Accountant.open(path, dataset="a", epsilon=1.0) as acc:
        ...     receipt = acc.spend(PureDP(0.25), label="q")
        >>> led = SQLiteLedger(path)
        >>> with led.write() as con:
        ...     led.set_status(con, "a", receipt.id, "pending")
        >>> led.rows("a")[0][-1]
        'pending'
        >>> led.close()
        """
        dataset = _check_name(dataset)
        rid = _check_name(rid, "rid")
        status = _check_status(status)
        con.execute(
            self._sql("UPDATE {entries} SET status = ? WHERE dataset = ? AND id = ?"),
            (status, dataset, rid),
        )

    def rows(self, dataset: str) -> list[tuple[Any, ...]]:
        """All entry rows of a dataset, in index order.

        Returns
        -------
        list of tuple
            ``(idx, id, kind, request_id, body, hash, status)`` per entry;
            ``body`` is the receipt's canonical JSON.

        Examples
        --------
        >>> import os, tempfile
        >>> from loopkit_privacy.accounting import Accountant
        >>> path = os.path.join(tempfile.mkdtemp(), "o.ledger")
        >>> with Accountant.open(path, dataset="a", epsilon=1.0) as acc:
        ...     receipt = acc.spend(PureDP(0.25), label="q")
        >>> led = SQLiteLedger(path)
        >>> [(row[0], row[2], row[-1]) for row in led.rows("a")]
        [(0, 'spend', 'committed')]
        >>> led.rows("a")[0][1] == receipt.id
        True
        >>> led.close()
        """
        dataset = _check_name(dataset)
        with self.read() as con:
            return list(
                con.execute(
                    self._sql(
                        "SELECT idx, id, kind, request_id, body, hash, status FROM "
                        "{entries} WHERE dataset = ? ORDER BY idx"
                    ),
                    (dataset,),
                ).fetchall()
            )


class SQLiteLedger(LedgerStore):
    """A ledger file: connection handling and the row-level operations.

    Users normally go through :meth:`Accountant.open
    <loopkit_privacy.accounting.Accountant.open>`; this class is public for
    tools that inspect ledgers.

    Parameters
    ----------
    path : str or os.PathLike
        The ledger file. It is created (atomically) if missing and ``create``
        is true; an existing file must be a ledger.
    create : bool
        Whether a missing file may be created.
    timeout : float
        Seconds to wait for another process's write lock.
    synchronous : {"full", "normal"}
        SQLite's ``synchronous`` setting. ``"full"`` (default) makes every
        charge durable against power loss; ``"normal"`` only against process
        crashes (still atomic), and is faster.

    Raises
    ------
    InvalidParameterError
        For a bad argument (checked before the file is touched).
    LedgerError
        When the file is not a ledger, is corrupted, or cannot be created.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x.ledger")
    >>> led = SQLiteLedger(path)
    >>> led.dataset_names()
    []
    >>> led.close()
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        timeout: float = 60.0,
        synchronous: str = "full",
    ) -> None:
        self.path, create, self._timeout, self._synchronous = check_open_arguments(
            path, create=create, timeout=timeout, synchronous=synchronous
        )
        if not os.path.exists(self.path):
            if not create:
                raise LedgerError(f"ledger `path` {self.path!r} does not exist")
            _create_file(self.path)
        _check_magic(self.path)
        self._lock = threading.RLock()
        self._con: sqlite3.Connection | None = None
        self._pid = -1
        con = self._connection()
        try:
            result = con.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as err:
            self.close()
            raise LedgerError(f"ledger {self.path!r} is corrupted: {err}") from err
        if result is None or result[0] != "ok":
            self.close()
            raise LedgerError(f"ledger {self.path!r} is corrupted: {result!r}")

    # ---------------------------------------------------------------- plumbing
    def _connection(self) -> sqlite3.Connection:
        # A connection must not cross fork(): a child opens its own.
        if self._con is None or self._pid != os.getpid():
            try:
                con = sqlite3.connect(
                    f"file:{self.path}?mode=rw",
                    uri=True,
                    timeout=self._timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
            except sqlite3.Error as err:
                raise LedgerError(f"cannot open ledger {self.path!r}: {err}") from err
            try:
                _check_meta(con, self.path)
                con.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
                if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    con.execute("PRAGMA journal_mode=WAL")
                con.execute(f"PRAGMA synchronous = {self._synchronous.upper()}")
            except sqlite3.DatabaseError as err:
                con.close()
                raise LedgerError(f"ledger {self.path!r} is unusable: {err}") from err
            except LedgerError:
                con.close()
                raise
            self._con, self._pid = con, os.getpid()
        return self._con

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction; commits on success, else rolls back.

        Holds SQLite's write lock from the start, so no other process can
        write in between.

        Yields
        ------
        sqlite3.Connection

        Raises
        ------
        LedgerError
            When the lock cannot be taken within ``timeout`` or the commit fails.

        Examples
        --------
        >>> import os, tempfile
        >>> from loopkit_privacy.accounting import Accountant
        >>> path = os.path.join(tempfile.mkdtemp(), "w.ledger")
        >>> with Accountant.open(path, dataset="a", epsilon=1.0) as acc:
        ...     receipt = acc.spend(PureDP(0.25), label="q")
        >>> led = SQLiteLedger(path)
        >>> try:
        ...     with led.write() as con:
        ...         led.set_status(con, "a", receipt.id, "pending")
        ...         raise RuntimeError("interrupted")
        ... except RuntimeError:
        ...     pass
        >>> led.rows("a")[0][-1]  # rolled back
        'committed'
        >>> led.close()
        """
        with self._lock:
            con = self._connection()
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise LedgerError(f"cannot lock ledger {self.path!r}: {err}") from err
            try:
                yield con
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
                raise
            try:
                con.execute("COMMIT")
            except sqlite3.Error as err:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
                raise LedgerError(
                    f"cannot commit to ledger {self.path!r}: {err}"
                ) from err

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction (one consistent snapshot).

        Yields
        ------
        sqlite3.Connection

        Examples
        --------
        >>> import os, tempfile
        >>> from loopkit_privacy.accounting import Accountant
        >>> path = os.path.join(tempfile.mkdtemp(), "r.ledger")
        >>> with Accountant.open(path, dataset="a", epsilon=1.0) as acc:
        ...     receipt = acc.spend(PureDP(0.25), label="q")
        >>> led = SQLiteLedger(path)
        >>> with led.read() as con:
        ...     con.execute("SELECT name, head_index FROM datasets").fetchall()
        [('a', 0)]
        >>> led.close()
        """
        with self._lock:
            con = self._connection()
            con.execute("BEGIN")
            try:
                yield con
            finally:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("COMMIT")

    def close(self) -> None:
        """Close this process's connection (idempotent).

        Examples
        --------
        >>> import os, tempfile
        >>> led = SQLiteLedger(os.path.join(tempfile.mkdtemp(), "c.ledger"))
        >>> led.close(); led.close()
        """
        with self._lock:
            if self._con is not None and self._pid == os.getpid():
                self._con.close()
            self._con = None


_STATUSES = ("pending", "committed", "released")


def _check_status(value: Any) -> str:
    if not isinstance(value, str) or value not in _STATUSES:
        raise InvalidParameterError(
            f"`status` must be 'pending', 'committed' or 'released', got {value!r}",
            parameter="status",
            value=value,
        )
    return value


# What is wrong between a dataset's key marker and the key given.
_KEY_OPEN_MESSAGES = {
    "missing": "is protected by a chain key; pass its key as `chain_key=` (bytes)",
    "wrong": "was created with another chain key than the `chain_key` given",
    "unexpected": (
        "was created without a chain key, but `chain_key` was given; open it "
        "without one (if it should be keyed, its key marker was removed and the "
        "ledger must be treated as tampered)"
    ),
    "marker": "has an unreadable chain key marker (the header was altered)",
}
_KEY_VERIFY_MESSAGES = {
    "missing": (
        "is protected by a chain key and was verified without it; pass `key=` "
        "(the CLI's --key-file) to check its MACs, truncation and rewrites"
    ),
    "wrong": "was created with another chain key than the `key` given",
    "unexpected": (
        "was created without a chain key, but a `key` was given (or its key "
        "marker was removed: the chain may have been rewritten)"
    ),
    "marker": "has an unreadable chain key marker (the header was altered)",
}


def _key_problem(header: dict[str, Any], key: ChainKey | None) -> str | None:
    """``None`` if ``key`` fits the header's key marker, else what is wrong."""
    marker = header.get("chain")
    if marker is None:
        return None if key is None else "unexpected"
    if (
        not isinstance(marker, dict)
        or marker.get("mac") != MAC_ALGORITHM
        or not isinstance(marker.get("key_check"), str)
    ):
        return "marker"
    if key is None:
        return "missing"
    if not macs_equal(marker["key_check"], key.check_value()):
        return "wrong"
    return None


def _describe(policy: Policy) -> str:
    b = policy.header_budget()
    return f"accounting={b['accounting']!r}, budget={policy.budget!r}"


# ----------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class LedgerProblem:
    """One finding of :func:`verify_ledger`.

    Parameters
    ----------
    dataset : str or None
        The dataset, when the problem belongs to one.
    index : int or None
        The receipt index, when the problem belongs to one.
    kind : str
        ``"altered"`` (contents do not match the hash), ``"missing"``,
        ``"reordered"``, ``"chain"`` (previous hash broken), ``"transition"``
        (an entry the reservation state machine refuses: a refund of a
        committed spend, a second release, an unknown or duplicate id, ...),
        ``"mac"`` (a keyed MAC does not match: forged, rewritten or truncated),
        ``"key"`` (the chain key is missing, wrong, or given for an unkeyed
        dataset), ``"header"``, ``"totals"``, ``"status"`` or ``"corrupt"``.
    message : str
        What was found.

    Examples
    --------
    >>> LedgerProblem("d", 2, "altered", "receipt 2: contents do not match").kind
    'altered'
    """

    dataset: str | None
    index: int | None
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    """Totals of one dataset, recomputed by :func:`verify_ledger`.

    Parameters
    ----------
    dataset : str
    accounting : str
    budget, spent, remaining : PureDP or ApproxDP or ZCDP
        Spent rounded up, remaining rounded down.
    receipts : int
        Charged spends (committed or pending).
    pending : int
        Reservations never committed (in flight, or left by a dead process;
        they stay charged).
    released : int
        Reservations given back.
    head_hash : str
        Hash of the last entry; anchor it elsewhere to detect a rewritten
        chain or a rollback.
    keyed : bool
        Whether the dataset's chain is keyed (HMAC-SHA256 under a chain key).

    Examples
    --------
    >>> import os, tempfile
    >>> from loopkit_privacy.accounting import Accountant, verify_ledger
    >>> path = os.path.join(tempfile.mkdtemp(), "s.ledger")
    >>> Accountant.open(path, dataset="a", epsilon=1.0).close()
    >>> verify_ledger(path).datasets[0].receipts
    0
    """

    dataset: str
    accounting: str
    budget: PrivacyLoss
    spent: PrivacyLoss
    remaining: PrivacyLoss
    receipts: int
    pending: int
    released: int
    head_hash: str
    keyed: bool = False


@dataclass(frozen=True, slots=True)
class LedgerReport:
    """The result of :func:`verify_ledger`.

    Parameters
    ----------
    path : str
    ok : bool
        True when no problem was found.
    datasets : tuple of DatasetSummary
    problems : tuple of LedgerProblem

    Examples
    --------
    >>> import os, tempfile
    >>> from loopkit_privacy.accounting import Accountant, verify_ledger
    >>> path = os.path.join(tempfile.mkdtemp(), "r.ledger")
    >>> Accountant.open(path, dataset="a", epsilon=1.0).close()
    >>> report = verify_ledger(path)
    >>> bool(report), report.problems
    (True, ())
    """

    path: str
    ok: bool
    datasets: tuple[DatasetSummary, ...]
    problems: tuple[LedgerProblem, ...]

    def __bool__(self) -> bool:
        return self.ok

    def raise_for_problems(self) -> None:
        """Raise :class:`LedgerIntegrityError` for the first problem, if any.

        Raises
        ------
        LedgerIntegrityError

        Examples
        --------
        >>> LedgerReport("x", True, (), ()).raise_for_problems()
        """
        if self.problems:
            first = self.problems[0]
            raise LedgerIntegrityError(
                f"ledger {self.path!r} fails verification ({len(self.problems)} "
                f"problem(s)); first: {first.message}",
                index=first.index,
            )

    def summary(self) -> str:
        """A human-readable multi-line summary.

        Returns
        -------
        str

        Examples
        --------
        >>> print(LedgerReport("x.ledger", True, (), ()).summary())
        ledger x.ledger: OK (0 dataset(s))
        """
        head = f"ledger {self.path}: {'OK' if self.ok else 'FAILED'} ({len(self.datasets)} dataset(s))"
        lines = [head]
        for d in self.datasets:
            lines.append(
                f"  {d.dataset}: {d.receipts} receipt(s), {d.pending} pending, "
                f"{d.released} released; spent {d.spent!r} of {d.budget!r}; "
                f"head {d.head_hash[:16]}" + ("; keyed chain" if d.keyed else "")
            )
        for p in self.problems:
            where = f"{p.dataset}" + (f"#{p.index}" if p.index is not None else "")
            lines.append(f"  PROBLEM [{p.kind}] {where}: {p.message}")
        return "\n".join(lines)


def _verify_dataset(
    con: Any,
    sql: Callable[[str], str],
    name: str,
    header_text: str,
    genesis: str,
    head: tuple[int, str, Any],
    key: ChainKey | None,
) -> tuple[DatasetSummary | None, list[LedgerProblem]]:
    problems: list[LedgerProblem] = []

    def add(kind: str, message: str, index: int | None) -> None:
        problems.append(LedgerProblem(name, index, kind, message))

    try:
        header = json.loads(header_text)
        policy = Policy.from_header(header)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        add("header", f"budget header is unreadable: {err}", None)
        return None, problems
    if genesis_hash(header) != genesis or header.get("dataset") != name:
        add(
            "header",
            "budget header does not match its hash (the budget was altered)",
            None,
        )
    problem = _key_problem(header, key)
    if problem is not None:
        add("key", f"dataset {name!r} {_KEY_VERIFY_MESSAGES[problem]}", None)
    keyed = "chain" in header
    # MACs are checked only with the dataset's own key; without it (or with a
    # wrong one) the hash chain and the state machine are still replayed.
    chain = Chain(policy, name, genesis, key if problem is None else None)
    expected_prev = genesis
    position = 0
    rows = con.execute(
        sql(
            "SELECT idx, id, kind, request_id, body, hash, status, mac FROM "
            "{entries} WHERE dataset = ? ORDER BY idx"
        ),
        (name,),
    ).fetchall()
    stored_status: dict[str, Any] = {}
    last_index, last_hash = -1, genesis
    for row in rows:
        try:
            receipt, row_problems = _row_receipt(row[:6])
        except LedgerIntegrityError as err:
            add("altered", str(err), row[0])
            expected_prev, position = row[5], position + 1
            last_index, last_hash = row[0], row[5]
            continue
        mac = row[7] if chain.key is not None or not keyed else None
        found = row_problems + chain.position_problems(
            receipt, expected_index=position, expected_prev=expected_prev, mac=mac
        )
        transition = chain.transition_problems(receipt)
        for kind, msg in found + transition:
            add(kind, msg, row[0])
        # Totals are recomputed over every readable entry, even after a break,
        # so that the report shows what the ledger claims; an entry the state
        # machine refuses (a forged refund) is never applied.
        if not transition:
            try:
                chain.fold(receipt)
            except LedgerIntegrityError as err:
                add("altered", str(err), row[0])
        if receipt.kind == "spend":
            stored_status.setdefault(receipt.id, row[6])
        expected_prev, position = row[5], position + 1
        last_index, last_hash = row[0], row[5]
    head_index, head_hash, head_mac = head
    if (head_index, head_hash) != (last_index, last_hash):
        add(
            "missing",
            f"the recorded head (receipt {head_index}) does not match the "
            f"last receipt ({last_index}); receipts are missing",
            last_index + 1,
        )
    elif chain.key is not None and not macs_equal(
        head_mac, chain.key.head_mac(name, head_index, head_hash)
    ):
        add(
            "mac",
            f"the recorded head (receipt {head_index}) has no valid MAC under the "
            "chain key: the chain was truncated or rewritten",
            head_index,
        )
    for rid, state in chain.status.items():
        stored = stored_status.get(rid)
        if stored != state:
            add(
                "status",
                f"receipt {chain.by_id[rid].index} has status {stored!r} but the "
                f"chain says {state!r}",
                chain.by_id[rid].index,
            )
    if not policy.fits(chain.state):
        add(
            "totals",
            f"recorded spends {policy.spent(chain.state)!r} exceed the budget "
            f"{policy.budget!r}",
            None,
        )
    summary = DatasetSummary(
        dataset=name,
        accounting=policy.accounting,
        budget=policy.budget,
        spent=policy.spent(chain.state),
        remaining=policy.remaining(chain.state),
        receipts=len(chain.charges),
        pending=sum(1 for v in chain.status.values() if v == "pending"),
        released=sum(1 for v in chain.status.values() if v == "released"),
        head_hash=last_hash,
        keyed=keyed,
    )
    return summary, problems


def _sqlite_sql(text: str) -> str:
    return _render_sql(text, "", "?")


def verify_tables(
    con: Any,
    sql: Callable[[str], str],
    key: ChainKey | None,
    summaries: list[DatasetSummary],
    problems: list[LedgerProblem],
) -> None:
    """Verify every dataset of one ledger read through ``con`` (one snapshot)."""
    datasets = con.execute(
        sql(
            "SELECT name, header, genesis_hash, head_index, head_hash, head_mac "
            "FROM {datasets} ORDER BY name"
        )
    ).fetchall()
    for name, header_text, genesis, *head in datasets:
        summary, found = _verify_dataset(
            con, sql, name, header_text, genesis, tuple(head), key
        )
        problems.extend(found)
        if summary is not None:
            summaries.append(summary)
    orphans = con.execute(
        sql(
            "SELECT COUNT(*) FROM {entries} WHERE dataset NOT IN "
            "(SELECT name FROM {datasets})"
        )
    ).fetchone()[0]
    if orphans:
        problems.append(
            LedgerProblem(
                None,
                None,
                "header",
                f"{orphans} receipt(s) belong to no dataset (a budget header was removed)",
            )
        )


def verify_ledger(
    path: str | os.PathLike[str] | Any,
    *,
    key: bytes | None = None,
    on_event: EventHandler | None = None,
) -> LedgerReport:
    """Recompute a ledger's hash chains, state machines and totals; report problems.

    The file is opened read-only; nothing is written. A PostgreSQL ledger is
    read in one REPEATABLE READ, READ ONLY snapshot (a read-only role is
    enough).

    Parameters
    ----------
    path : str or os.PathLike or psycopg.Connection or psycopg_pool.ConnectionPool
        The ledger file, or a ``postgresql://`` URL, connection or pool of a
        PostgreSQL ledger (``docs/ledger-fleet.md``).
    key : bytes, optional
        The chain key of keyed datasets (at least 16 bytes; the same key for
        every dataset of the file). With it, every entry's MAC and each head's
        MAC are checked, which detects a chain rewritten from scratch, a
        truncated chain and a stripped key marker. A keyed dataset verified
        without its key, an unkeyed one verified with a key, and a wrong key
        are reported as problems of kind ``"key"``.
    on_event : callable, optional
        Called with a :class:`~loopkit_privacy.accounting.VerificationFailed`
        for every problem found.

    Returns
    -------
    LedgerReport
        ``report.ok`` is False if any receipt was altered, removed, inserted
        or reordered, an entry makes an impossible transition (it refunds a
        committed spend, releases or commits twice, names a receipt that is
        not before it, or reuses an id), a budget header was altered, a chain
        was truncated, a MAC or the key does not match, a status contradicts
        the chain, or the totals exceed the budget. The totals shown never
        include an entry the state machine refused.

    Raises
    ------
    InvalidParameterError
        For a bad argument (checked before the file is touched; the key is
        never shown).
    LedgerError
        When the file does not exist or is not a ledger at all (for
        PostgreSQL: the server cannot be reached or the database holds no
        ledger).

    Notes
    -----
    Privacy. An unkeyed hash chain detects any change that is not accompanied
    by recomputing every later hash and the head, and any forged transition.
    It cannot detect a writer who rewrites the whole chain consistently; a
    keyed chain can, as long as the key is kept away from the ledger's
    writers. Neither detects a rollback to an older copy of the whole file:
    record ``report.datasets[i].head_hash`` somewhere the ledger's writers
    cannot change (see ``docs/security.md``).

    Examples
    --------
    >>> import os, sqlite3, tempfile
    >>> from loopkit_privacy.accounting import Accountant
    >>> path = os.path.join(tempfile.mkdtemp(), "v.ledger")
    >>> acc = Accountant.open(path, dataset="a", epsilon=1.0)
    >>> _ = acc.spend(PureDP(0.5), label="q")
    >>> acc.close()
    >>> verify_ledger(path).ok
    True
    >>> con = sqlite3.connect(path)
    >>> _ = con.execute("UPDATE entries SET body = replace(body, '0.5', '0.05')")
    >>> con.commit(); con.close()
    >>> verify_ledger(path).problems[0].kind
    'altered'

    A keyed ledger is verified with its key:

    >>> import secrets
    >>> key = secrets.token_bytes(32)
    >>> keyed = os.path.join(tempfile.mkdtemp(), "k.ledger")
    >>> with Accountant.open(keyed, dataset="a", epsilon=1.0, chain_key=key) as acc:
    ...     _ = acc.spend(PureDP(0.5), label="q")
    >>> verify_ledger(keyed, key=key).ok
    True
    >>> [p.kind for p in verify_ledger(keyed).problems]  # without the key
    ['key']
    """
    if is_postgres_target(path):
        from loopkit_privacy.accounting._postgres import verify_postgres

        chain_key = check_chain_key(key, "key")
        on_event = _check_callback(on_event)
        where, found, issues = verify_postgres(path, chain_key)
        return _report(where, found, issues, on_event)
    path = _check_path(path)
    chain_key = check_chain_key(key, "key")
    on_event = _check_callback(on_event)
    if not os.path.exists(path):
        raise LedgerError(f"ledger `path` {path!r} does not exist")
    _check_magic(path)
    problems: list[LedgerProblem] = []
    summaries: list[DatasetSummary] = []
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as err:
        raise LedgerError(f"cannot open ledger `path` {path!r}: {err}") from err
    try:
        _check_meta(con, path)
        try:
            con.execute("BEGIN")
            check = con.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                problems.append(
                    LedgerProblem(None, None, "corrupt", f"quick_check: {check!r}")
                )
            verify_tables(con, _sqlite_sql, chain_key, summaries, problems)
        except sqlite3.DatabaseError as err:
            problems.append(LedgerProblem(None, None, "corrupt", f"unreadable: {err}"))
    finally:
        con.close()
    return _report(path, summaries, problems, on_event)


def _report(
    path: str,
    summaries: list[DatasetSummary],
    problems: list[LedgerProblem],
    on_event: EventHandler | None,
) -> LedgerReport:
    report = LedgerReport(path, not problems, tuple(summaries), tuple(problems))
    for p in problems:
        emit(on_event, VerificationFailed(path, p.dataset, p.index, p.message))
    return report
