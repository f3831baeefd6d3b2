"""The throwaway PostgreSQL server shared by the tests and the doctests.

Session-scoped, started on first use only (tests/pgserver.py): ``initdb`` +
``pg_ctl`` on a free localhost port, as the ``postgres`` OS user when run as
root; ``LOOPKIT_TEST_POSTGRES_URL`` names an existing server instead. Without
either (or without psycopg), whatever needs it is skipped with the reason.
"""

from __future__ import annotations

import os

import pytest

from tests import pgserver


@pytest.fixture(scope="session")
def postgres_server():
    """The server: ``.url`` (superuser), ``.can_restart``, ``.restart_immediate()``."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install -e '.[postgres]'")
    url = os.environ.get(pgserver.ENV_URL)
    if url:
        yield pgserver.External(url)
        return
    bindir = pgserver.find_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL is not installed (no initdb/pg_ctl on PATH or in "
            f"/usr/lib/postgresql/*/bin) and {pgserver.ENV_URL} is not set"
        )
    server = pgserver.Server(bindir)
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(autouse=True)
def _postgres_doctests(request):
    """Doctests of the PostgreSQL ledger get ``pg_url``: a new, empty database."""
    item = request.node
    if type(item).__name__ == "DoctestItem" and item.name.startswith(
        "loopkit_privacy.accounting._postgres"
    ):
        server = request.getfixturevalue("postgres_server")
        namespace = request.getfixturevalue("doctest_namespace")
        namespace["pg_url"] = pgserver.new_database(server.url)
