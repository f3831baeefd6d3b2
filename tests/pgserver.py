"""A throwaway PostgreSQL server for the tests and the ledger benchmark.

``initdb`` + ``pg_ctl`` in a temporary directory, listening on a free
localhost port (and a Unix socket in the same directory). ``initdb`` refuses
to run as root, so when the tests run as root the server runs as the
``postgres`` OS user (``runuser -u postgres --``) and its directory belongs to
that user. ``LOOPKIT_TEST_POSTGRES_URL`` points the tests at an existing
server instead (nothing is started or stopped then).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

ENV_URL = "LOOPKIT_TEST_POSTGRES_URL"


def find_bindir() -> str | None:
    """The directory of ``initdb``/``pg_ctl``: PATH first, then Debian's layout."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return str(Path(found).resolve().parent)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    for initdb in reversed(candidates):
        bindir = os.path.dirname(initdb)
        if os.access(os.path.join(bindir, "pg_ctl"), os.X_OK):
            return bindir
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server this process started (``url`` connects as superuser)."""

    can_restart = True

    def __init__(self, bindir: str, *, settings: dict[str, str] | None = None):
        self.bindir = bindir
        self.root = tempfile.mkdtemp(prefix="loopkit-pg-")
        os.chmod(self.root, 0o755)
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "server.log")
        self.port = _free_port()
        self.settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": self.root,
            "max_connections": "200",
            "shared_buffers": "64MB",
            # asynchronous commits stay unflushed for long, so that a test can
            # tell whether a charge was made durable by the ledger itself
            "wal_writer_delay": "10s",
            **(settings or {}),
        }
        self._user: list[str] = []
        if os.geteuid() == 0:
            try:
                pg = pwd.getpwnam("postgres")
            except KeyError as err:
                raise RuntimeError(
                    "running as root, and there is no `postgres` user to run the "
                    "throwaway server as (initdb refuses root)"
                ) from err
            os.chown(self.root, pg.pw_uid, pg.pw_gid)
            runuser = shutil.which("runuser")
            self._user = (
                [runuser, "-u", "postgres", "--"]
                if runuser
                else ["su", "postgres", "-s", "/bin/sh", "-c"]
            )
        self._run(
            "initdb",
            "-D",
            self.data,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        with open(os.path.join(self.data, "postgresql.conf"), "a") as fh:
            for k, v in self.settings.items():
                fh.write(f"{k} = '{v}'\n")
            fh.write(f"port = {self.port}\n")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [os.path.join(self.bindir, tool), *args]
        if self._user[-1:] == ["-c"]:  # su needs one shell string
            import shlex

            cmd = [*self._user, " ".join(shlex.quote(c) for c in cmd)]
        else:
            cmd = [*self._user, *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = ""
            with contextlib.suppress(OSError):
                log = Path(self.log).read_text()[-2000:]
            raise RuntimeError(
                f"{tool} failed ({done.returncode}): {done.stderr.strip()}\n{log}"
            )

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def restart_immediate(self) -> None:
        """``pg_ctl stop -m immediate`` (no checkpoint: crash recovery on start)."""
        self.stop("immediate")
        self.start()

    def destroy(self) -> None:
        """Stop the server at once and delete its files in the background.

        Thousands of small files (one set per database the tests made) take
        seconds to unlink on a busy disk; nobody needs to wait for that.
        """
        with contextlib.suppress(RuntimeError):
            self.stop("immediate")
        # `sh` returns at once and leaves `rm` to run on its own
        subprocess.run(
            ["sh", "-c", 'rm -rf -- "$1" >/dev/null 2>&1 &', "sh", self.root],
            check=False,
        )


def new_database(admin_url: str, prefix: str = "lp") -> str:
    """Create an empty database on the server of ``admin_url``; return its URL."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(admin_url)
    user = params.get("user", "postgres")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    password = params.get("password")
    auth = f"{user}:{password}" if password else user
    return f"postgresql://{auth}@{host}:{port}/{name}"


class External:
    """An existing server named by ``LOOPKIT_TEST_POSTGRES_URL`` (never restarted)."""

    can_restart = False

    def __init__(self, url: str) -> None:
        self.url = url

    def destroy(self) -> None:
        """Nothing to stop: the server is not ours."""


def with_user(url: str, user: str, password: str | None = None) -> str:
    """``url`` (as made by :func:`new_database`) logging in as another role."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url)
    auth = f"{user}:{password}" if password else user
    return (
        f"postgresql://{auth}@{params.get('host', '127.0.0.1')}:"
        f"{params.get('port', '5432')}/{params['dbname']}"
    )
