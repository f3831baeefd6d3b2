"""A fresh PostgreSQL database per test.

The server is the session's throwaway one (``postgres_server`` in the root
conftest.py: ``initdb`` + ``pg_ctl`` on a free localhost port, as the
``postgres`` OS user when the tests run as root, stopped at the end), or the
existing one named by ``LOOPKIT_TEST_POSTGRES_URL`` (a superuser URL, e.g.
``postgresql://postgres@127.0.0.1:5432/postgres``). Without either, every
test here is skipped with the reason.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests import pgserver

# contract.py (AccountantContract) lives with the accountant's unit tests
sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "accounting"))


@pytest.fixture
def pg_url(postgres_server):
    """The URL of a new, empty database on the test server."""
    return pgserver.new_database(postgres_server.url)


@pytest.fixture
def crash_server(postgres_server):
    """A server of the test's own, which it may crash and restart.

    A restart's crash recovery takes longer the more databases the server
    holds, so tests that restart get a fresh server instead of the session's.
    With ``LOOPKIT_TEST_POSTGRES_URL`` this is the existing server, whose
    ``can_restart`` is False.
    """
    if not postgres_server.can_restart:
        yield postgres_server
        return
    server = pgserver.Server(postgres_server.bindir)
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def crash_url(crash_server):
    """A new, empty database on :func:`crash_server`."""
    return pgserver.new_database(crash_server.url)
