"""The ledger on PostgreSQL: one privacy budget shared by a fleet of hosts.

The same tables, receipts, hash chains and state machine as the SQLite ledger
(:mod:`loopkit_privacy.accounting.ledger`), in the schema ``loopkit_ledger``
of one database:

``loopkit_ledger.meta(key, value)``
    ``format = loopkit-privacy-ledger`` and ``version = 2``.
``loopkit_ledger.datasets(name, header, genesis_hash, head_index, head_hash, head_mac)``
    One row per dataset (tenant): its budget header and the chain's head.
    This row is the budget's lock.
``loopkit_ledger.entries(dataset, idx, id, kind, request_id, status, body, hash, mac)``
    The hash chain; ``body`` is the receipt's canonical JSON as ``text``
    (never ``jsonb``, which would reformat it), so amounts stay the exact
    decimals the accountant sums as fractions. No amount is ever stored as a
    float, and totals are never stored at all: they are recomputed from the
    chain.

Every charge is one transaction at READ COMMITTED: ``SELECT ... FOR UPDATE``
of the dataset's row (this waits for every other writer of the same
dataset), apply and verify the entries appended since this process last
looked, check the budget, insert the entry, move the head, commit. That commit does
not wait for the disk, so the lock is not held through a WAL flush; the
charge returns only after a second, lock-free transaction has committed with
``synchronous_commit = on``, whose WAL flush covers the charge (a commit
flushes the WAL up to its own record, which lies after the charge's). Such
flushes from many clients are committed together by the server (group
commit), and a crash before the flush loses only a charge whose caller never
got its receipt. A charge locks exactly one dataset row, so
writers can never deadlock; writers of different datasets never wait for
each other. Reads (``spent``, ``remaining``, ``can_spend``) take no locks
and no transaction: they read the head, then the entries up to it.
Verification reads the whole ledger in one REPEATABLE READ, READ ONLY
snapshot.

A commit that fails because the connection or the server died may have been
recorded or not (the client cannot tell): the charge then counts as made for
the budget when it was recorded (fail closed), and a retry with the same
``request_id`` returns the original receipt instead of charging twice.

Examples
--------
In the examples, ``pg_url`` is the ``postgresql://`` URL of an empty database
(the doctests make one on a throwaway server):

>>> from loopkit_privacy.accounting import Accountant, verify_ledger
>>> from loopkit_privacy.loss import PureDP
>>> acc = Accountant.open(pg_url, dataset="events", epsilon=1.0)
>>> _ = acc.spend(PureDP(0.25), label="dau")
>>> acc.close()
>>> report = verify_ledger(pg_url)
>>> report.ok, report.datasets[0].spent
(True, PureDP(epsilon=0.25))
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from loopkit_privacy.accounting._chain import ChainKey
from loopkit_privacy.accounting.ledger import (
    DatasetSummary,
    LedgerProblem,
    LedgerStore,
    check_open_arguments,
    is_postgres_target,
    verify_tables,
)
from loopkit_privacy.accounting.receipts import FORMAT, FORMAT_VERSION
from loopkit_privacy.errors import (
    InvalidParameterError,
    LedgerError,
    OptionalDependencyError,
)

__all__ = ["SCHEMA", "PostgresLedger", "is_postgres_target", "verify_postgres"]

#: The schema that holds a PostgreSQL ledger's tables.
SCHEMA = "loopkit_ledger"

# Creation is idempotent and serialised by an advisory lock (the key is the
# first 8 bytes of sha256("loopkit-privacy-ledger"), fixed).
_CREATE_LOCK = 0x4C6F6F704B697450
_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.meta (
    key text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.datasets (
    name text PRIMARY KEY,
    header text NOT NULL,
    genesis_hash text NOT NULL,
    head_index bigint NOT NULL,
    head_hash text NOT NULL,
    head_mac text
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.entries (
    dataset text NOT NULL,
    idx bigint NOT NULL,
    id text NOT NULL,
    kind text NOT NULL,
    request_id text,
    status text NOT NULL,
    body text NOT NULL,
    hash text NOT NULL,
    mac text,
    PRIMARY KEY (dataset, idx)
);
CREATE INDEX IF NOT EXISTS entries_id ON {SCHEMA}.entries (dataset, id);
"""


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as err:
        raise OptionalDependencyError(
            "a PostgreSQL ledger needs psycopg 3: install loopkit_privacy[postgres] "
            "(pip install 'loopkit_privacy[postgres]')"
        ) from err
    return psycopg


def _describe(target: Any) -> str:
    """A name for ``target`` to show in messages: no password, ever."""
    psycopg = _psycopg()
    try:
        if isinstance(target, str):
            params = psycopg.conninfo.conninfo_to_dict(target)
        elif hasattr(target, "info"):
            info = target.info
            params = {
                "user": info.user,
                "host": info.host,
                "port": info.port,
                "dbname": info.dbname,
            }
        else:
            params = psycopg.conninfo.conninfo_to_dict(target.conninfo)
    except (psycopg.Error, AttributeError, TypeError, ValueError):
        return f"postgresql (<{type(target).__name__}>)"
    user = params.get("user") or ""
    host = params.get("host") or ""
    port = params.get("port") or ""
    where = f"{host}:{port}" if port else str(host)
    return (
        f"postgresql://{user + '@' if user else ''}{where}/{params.get('dbname') or ''}"
    )


# Statements whose result nobody reads: inside write() they are sent with
# the COMMIT in one round trip (appending an entry, moving the head, setting
# a status), so that the dataset's lock is held for as few round trips as
# possible.
_DEFERRED = (f"INSERT INTO {SCHEMA}.entries ", f"UPDATE {SCHEMA}.")


class _Session:
    """A connection whose ``execute`` returns tuples and raises LedgerError.

    Rows are tuples whatever the caller's row factory; driver errors become
    :class:`LedgerError`. With ``defer``, the ledger's appends and updates
    (whose results are never read) are queued for :meth:`commit`.
    """

    __slots__ = ("_con", "_path", "_tuple_row", "defer", "pending", "wrote")

    def __init__(self, con: Any, path: str, tuple_row: Any, defer: bool) -> None:
        self._con, self._path, self._tuple_row = con, path, tuple_row
        self.defer = defer
        self.pending: list[tuple[str, Any]] = []
        self.wrote = False  # whether a statement may have changed a row

    def execute(self, query: str, params: Any = None) -> Any:
        psycopg = _psycopg()
        if query.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE", "CREATE"):
            self.wrote = True
            if self.defer and query.startswith(_DEFERRED):
                self.pending.append((query, params))
                return None
        if self.pending:
            self._send_pending()
        try:
            cur = self._con.cursor(row_factory=self._tuple_row)
            return cur.execute(query, params)
        except psycopg.Error as err:
            raise LedgerError(
                f"PostgreSQL ledger {self._path}: {type(err).__name__}: "
                f"{str(err).strip()}"
            ) from err

    def _send_pending(self) -> None:
        pending, self.pending = self.pending, []
        psycopg = _psycopg()
        try:
            with self._con.pipeline():
                for query, params in pending:
                    self._con.execute(query, params)
        except psycopg.Error as err:
            raise LedgerError(
                f"PostgreSQL ledger {self._path}: {type(err).__name__}: "
                f"{str(err).strip()}"
            ) from err

    def commit(self, flush: bool) -> None:
        """Send the queued statements, COMMIT, and (``flush``) wait until durable.

        One round trip: the dataset's lock is released by the COMMIT on the
        server while the flush transaction behind it waits for the disk.
        A transaction that wrote WAL commits with a flush up to its own
        commit record, which lies after ours: when it returns, our charge is
        on disk (and on a synchronous standby). It writes a transactional
        logical message (one WAL record, no table, no lock), so concurrent
        flushes of many clients are committed as a group.
        """
        con = self._con
        pending, self.pending = self.pending, []
        with con.pipeline():
            for query, params in pending:
                con.execute(query, params)
            con.execute("COMMIT")
            if flush:
                con.execute("BEGIN")
                # set_config(..., true) is SET LOCAL: this commit waits
                con.execute(
                    "SELECT set_config('synchronous_commit', 'on', true), "
                    "pg_logical_emit_message(true, %s, 'flush')",
                    ("loopkit-privacy-ledger",),
                )
                con.execute("COMMIT")


# Connections this process opened, by owner; a forked child never closes the
# parent's (closing would end the parent's session on the shared socket), so
# they are kept referenced here instead of being finalised.
_INHERITED: list[Any] = []


class PostgresLedger(LedgerStore):
    """A ledger in a PostgreSQL database, shared by processes on many hosts.

    It has the API and the semantics of
    :class:`~loopkit_privacy.accounting.SQLiteLedger` (the operations are the
    same code); users normally go through :meth:`Accountant.open
    <loopkit_privacy.accounting.Accountant.open>` with a ``postgresql://``
    URL, a connection or a pool.

    Parameters
    ----------
    target : str or psycopg.Connection or psycopg_pool.ConnectionPool
        A ``postgresql://`` URL (the ledger opens its own connection, and a
        new one after a ``fork`` or a lost connection), a psycopg 3
        connection (used as it is, idle between calls; it must not be shared
        across ``fork``), or a ``psycopg_pool.ConnectionPool`` (a connection
        is borrowed for each transaction).
    create : bool
        Whether the ledger's schema may be created when the database has none
        (needs the ``CREATE`` privilege on the database; a service role
        without it opens an existing ledger).
    timeout : float
        Seconds to wait for another writer's lock on the dataset
        (``lock_timeout``), and to connect.
    synchronous : {"full", "normal"}
        ``"full"`` (default): a charge returns only after the server's WAL
        flush covers it (``synchronous_commit = on``), so it survives a
        server crash or power loss before the release proceeds. ``"normal"``:
        ``synchronous_commit = off`` (still atomic; a server crash may lose
        the last fraction of a second of charges).

    Raises
    ------
    InvalidParameterError
        For a bad argument.
    LedgerError
        When the server cannot be reached, the database holds something that
        is not a ledger in the ledger's schema, or there is no ledger and
        ``create`` is false.
    OptionalDependencyError
        When psycopg is not installed.

    Notes
    -----
    Privacy. The budget of a dataset is checked and charged under its row
    lock, so any number of processes on any number of hosts never overspend
    together. ``docs/ledger-fleet.md`` shows roles that may spend but not
    rewrite history.

    Examples
    --------
    ``pg_url`` is the URL of an empty database:

    >>> led = PostgresLedger(pg_url)
    >>> led.dataset_names()
    []
    >>> led.path.startswith("postgresql://")
    True
    >>> led.close()

    A connection pool serves many accountants of one process:

    >>> from psycopg_pool import ConnectionPool
    >>> from loopkit_privacy.accounting import Accountant
    >>> from loopkit_privacy.loss import PureDP
    >>> with ConnectionPool(pg_url, min_size=1, max_size=4) as pool:
    ...     with Accountant.open(pool, dataset="a", epsilon=1.0) as acc:
    ...         _ = acc.spend(PureDP(0.5))
    ...         print(acc.remaining)
    PureDP(epsilon=0.5)
    """

    _table_prefix = f"{SCHEMA}."
    _placeholder = "%s"

    def __init__(
        self,
        target: Any,
        *,
        create: bool = True,
        timeout: float = 60.0,
        synchronous: str = "full",
    ) -> None:
        psycopg = _psycopg()
        if not is_postgres_target(target):
            raise InvalidParameterError(
                "`target` must be a postgresql:// URL, a psycopg connection or a "
                f"psycopg_pool.ConnectionPool, got {type(target).__name__}",
                parameter="target",
                value=None,
            )
        _, create, self._timeout, self._synchronous = check_open_arguments(
            target, create=create, timeout=timeout, synchronous=synchronous
        )
        self.path = _describe(target)
        self._url: str | None = target if isinstance(target, str) else None
        self._pool = target if hasattr(target, "getconn") else None
        self._given = None if self._url or self._pool else target
        self._tuple_row = psycopg.rows.tuple_row
        self._lock = threading.RLock()
        self._con: Any = None
        self._pid = -1
        self._in_write = False
        self._prepare(create)

    # ---------------------------------------------------------------- plumbing
    def _lock_clause(self) -> str:
        return " FOR UPDATE" if self._in_write else ""

    def _connect(self) -> Any:
        psycopg = _psycopg()
        if self._con is not None and self._pid != os.getpid():
            _INHERITED.append(self._con)  # the parent's: never close it here
            self._con = None
        if self._con is not None and not (self._con.closed or self._con.broken):
            return self._con
        if self._con is not None:
            with contextlib.suppress(psycopg.Error):
                self._con.close()
            self._con = None
        assert self._url is not None
        try:
            con = psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=max(1, round(self._timeout)),
                application_name="loopkit-privacy-ledger",
            )
        except psycopg.Error as err:
            raise LedgerError(
                f"cannot connect to PostgreSQL ledger {self.path}: {str(err).strip()}"
            ) from err
        self._con, self._pid = con, os.getpid()
        weakref.finalize(self, _close_quietly, con, self._pid)
        return con

    @contextlib.contextmanager
    def _borrow(self) -> Iterator[Any]:
        if self._pool is not None:
            psycopg = _psycopg()
            try:
                cm = self._pool.connection(timeout=self._timeout)
                con = cm.__enter__()
            except Exception as err:
                raise LedgerError(
                    f"cannot get a connection to PostgreSQL ledger {self.path} "
                    f"from the pool: {err}"
                ) from err
            try:
                yield con
            except BaseException as exc:
                with contextlib.suppress(psycopg.Error):
                    cm.__exit__(type(exc), exc, exc.__traceback__)
                raise
            else:
                cm.__exit__(None, None, None)
        elif self._url is not None:
            yield self._connect()
        else:
            yield self._given

    @contextlib.contextmanager
    def _transaction(self, mode: str) -> Iterator[_Session]:
        """One transaction of ``mode``: "write", "snapshot" or "read".

        "write" is locked and durable, "snapshot" one REPEATABLE READ view,
        "read" none at all (autocommit: each statement sees the latest
        commits; the ledger's reads stop at the head they read first, so
        they stay consistent without a transaction).
        """
        psycopg = _psycopg()
        write = mode == "write"
        with self._lock, self._borrow() as con:
            if con.closed:
                raise LedgerError(f"the connection to ledger {self.path} is closed")
            if con.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                raise LedgerError(
                    f"the connection to ledger {self.path} is inside a transaction "
                    "(or broken); a charge must be its own transaction, so that it "
                    "is durable before the release proceeds: pass an idle "
                    "connection, or a pool or URL"
                )
            restore = not con.autocommit
            if restore:
                con.autocommit = True  # we issue BEGIN/COMMIT ourselves
            session = _Session(con, self.path, self._tuple_row, defer=write)
            try:
                if write:
                    # The locked transaction commits without waiting for the
                    # disk, so that the dataset's lock is not held through a
                    # WAL flush; durability comes from the flush below.
                    session.execute(
                        "BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE; "
                        "SET LOCAL synchronous_commit = off; "
                        f"SET LOCAL lock_timeout = {int(self._timeout * 1000)}"
                    )
                elif mode == "snapshot":
                    session.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                self._in_write = write
                if mode == "read":
                    self._unlocked_read = True
                    try:
                        yield session
                    finally:
                        self._unlocked_read = False
                    return
                try:
                    yield session
                except BaseException:
                    self._in_write = False
                    session.pending.clear()
                    with contextlib.suppress(psycopg.Error):
                        con.execute("ROLLBACK")
                    raise
                self._in_write = False
                try:
                    session.commit(
                        flush=write and session.wrote and self._synchronous == "full"
                    )
                except psycopg.Error as err:
                    with contextlib.suppress(psycopg.Error):
                        con.execute("ROLLBACK")
                    raise LedgerError(
                        f"cannot commit to PostgreSQL ledger {self.path}: "
                        f"{str(err).strip()}; the charge may or may not have been "
                        "recorded (it stays charged if it was): retry with the same "
                        "`request_id` to find out without charging twice"
                    ) from err
            finally:
                self._in_write = False
                if restore and not con.closed:
                    with contextlib.suppress(psycopg.Error):
                        if (
                            con.info.transaction_status
                            == psycopg.pq.TransactionStatus.IDLE
                        ):
                            con.autocommit = False

    @contextlib.contextmanager
    def write(self) -> Iterator[_Session]:
        """One READ COMMITTED transaction that commits durably on success.

        Reads of a dataset's row inside it (:meth:`sync`,
        :meth:`ensure_dataset`) lock that row until the commit.

        Yields
        ------
        connection
            Its ``execute`` returns tuples; driver errors become
            :class:`LedgerError`.

        Raises
        ------
        LedgerError
            When the server cannot be reached, the lock is not granted within
            ``timeout``, or the commit fails (then the outcome is unknown:
            retry with the same ``request_id``).

        Examples
        --------
        >>> led = PostgresLedger(pg_url)
        >>> try:
        ...     with led.write() as con:
        ...         _ = con.execute("DELETE FROM loopkit_ledger.meta")
        ...         raise RuntimeError("interrupted")
        ... except RuntimeError:
        ...     pass
        >>> with led.read() as con:  # rolled back
        ...     con.execute("SELECT count(*) FROM loopkit_ledger.meta").fetchone()
        (2,)
        >>> led.close()
        """
        with self._transaction("write") as session:
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[_Session]:
        """Reads without a transaction (each statement sees the latest commits).

        The ledger's own reads stay consistent without one: entries are read
        up to the head read first, and entries are append-only (a change to
        one is a tampering that verification reports). Use :meth:`snapshot`
        for one consistent view of the whole ledger.

        Yields
        ------
        connection

        Examples
        --------
        >>> led = PostgresLedger(pg_url)
        >>> with led.read() as con:
        ...     con.execute("SELECT value FROM loopkit_ledger.meta ORDER BY key").fetchall()
        [('loopkit-privacy-ledger',), ('2',)]
        >>> led.close()
        """
        with self._transaction("read") as session:
            yield session

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[_Session]:
        """A REPEATABLE READ, READ ONLY transaction: one consistent snapshot.

        Used by verification; it takes no locks and writes nothing.

        Yields
        ------
        connection

        Examples
        --------
        >>> led = PostgresLedger(pg_url)
        >>> with led.snapshot() as con:
        ...     con.execute("SELECT count(*) FROM loopkit_ledger.datasets").fetchone()
        (0,)
        >>> led.close()
        """
        with self._transaction("snapshot") as session:
            yield session

    def close(self) -> None:
        """Close the connection this ledger opened (idempotent).

        A connection or pool that was passed in is left open: it belongs to
        the caller.

        Examples
        --------
        >>> led = PostgresLedger(pg_url)
        >>> led.close(); led.close()
        """
        with self._lock:
            if self._con is not None and self._pid == os.getpid():
                _close_quietly(self._con, self._pid)
            elif self._con is not None:
                _INHERITED.append(self._con)
            self._con = None

    # ----------------------------------------------------------------- schema
    def _prepare(self, create: bool) -> None:
        """Check that the database holds a ledger; create one if allowed."""
        with self.write() if create else self.read() as con:
            found = self._tables(con)
            if not all(found) and create:
                # Serialise concurrent creators; each one re-checks under it.
                con.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_LOCK,))
                found = self._tables(con)
                if not any(found):
                    con.execute(_DDL)
                    con.execute(
                        f"INSERT INTO {SCHEMA}.meta VALUES ('format', %s), "
                        "('version', %s)",
                        (FORMAT, str(FORMAT_VERSION)),
                    )
                    found = self._tables(con)
            if not any(found):
                raise _NoLedger(
                    f"database {self.path} holds no loopkit-privacy ledger (schema "
                    f"{SCHEMA!r}); open it with create=True, or ask its owner to "
                    "create it"
                )
            if not all(found):
                raise LedgerError(
                    f"schema {SCHEMA!r} of {self.path} is not a complete "
                    "loopkit-privacy ledger (tables are missing); refusing to use it"
                )
            meta = dict(con.execute(f"SELECT key, value FROM {SCHEMA}.meta").fetchall())
        if meta.get("format") != FORMAT:
            raise LedgerError(
                f"schema {SCHEMA!r} of {self.path} is not a loopkit-privacy ledger"
            )
        if meta.get("version") != str(FORMAT_VERSION):
            raise LedgerError(
                f"{self.path} has ledger format version {meta.get('version')!r}; "
                f"this library reads version {FORMAT_VERSION}"
            )

    @staticmethod
    def _tables(con: _Session) -> tuple[bool, bool, bool]:
        row = con.execute(
            "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL, "
            "to_regclass(%s) IS NOT NULL",
            (f"{SCHEMA}.meta", f"{SCHEMA}.datasets", f"{SCHEMA}.entries"),
        ).fetchone()
        return bool(row[0]), bool(row[1]), bool(row[2])


class _NoLedger(LedgerError):
    """The database has no ledger schema at all (the analogue of a missing file)."""


def ledger_exists(target: Any, *, timeout: float = 60.0) -> bool:
    """Whether the database ``target`` names holds a ledger (nothing is created).

    Parameters
    ----------
    target : str or psycopg.Connection or psycopg_pool.ConnectionPool
    timeout : float
        Seconds to wait to connect.

    Returns
    -------
    bool

    Raises
    ------
    LedgerError
        When the server cannot be reached, or the schema is not a ledger.

    Examples
    --------
    >>> ledger_exists(pg_url)  # an empty database
    False
    >>> PostgresLedger(pg_url).close()  # creates the schema
    >>> ledger_exists(pg_url)
    True
    """
    try:
        PostgresLedger(target, create=False, timeout=timeout).close()
    except _NoLedger:
        return False
    return True


def _close_quietly(con: Any, pid: int) -> None:
    if pid != os.getpid():
        _INHERITED.append(con)
        return
    with contextlib.suppress(Exception):
        con.close()


def verify_postgres(
    target: Any, key: ChainKey | None
) -> tuple[str, list[DatasetSummary], list[LedgerProblem]]:
    """Verify every dataset of a PostgreSQL ledger in one read-only snapshot.

    The engine of :func:`~loopkit_privacy.accounting.verify_ledger` for a
    PostgreSQL target; nothing is written and no schema is created.

    Parameters
    ----------
    target : str or psycopg.Connection or psycopg_pool.ConnectionPool
    key : ChainKey or None

    Returns
    -------
    (str, list of DatasetSummary, list of LedgerProblem)
        The target's name (without any password), the summaries and the
        problems.

    Raises
    ------
    LedgerError
        When the server cannot be reached or holds no ledger.

    Examples
    --------
    >>> PostgresLedger(pg_url).close()
    >>> where, summaries, problems = verify_postgres(pg_url, None)
    >>> summaries, problems
    ([], [])
    """
    ledger = PostgresLedger(target, create=False)
    summaries: list[DatasetSummary] = []
    problems: list[LedgerProblem] = []
    try:
        with ledger.snapshot() as con:
            verify_tables(con, ledger._sql, key, summaries, problems)
    finally:
        ledger.close()
    return ledger.path, summaries, problems
