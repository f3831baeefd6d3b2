"""The accountant contract on a PostgreSQL ledger (in-memory and SQLite run it too)."""

from __future__ import annotations

import uuid

import pytest
from contract import AccountantContract

from loopkit_privacy.accounting import Accountant, PostgresLedger
from tests import pgserver


@pytest.fixture(scope="class")
def contract_url(postgres_server):
    # one database for the class: every accountant gets a dataset of its own,
    # and datasets of one ledger are independent (the contract never looks
    # at the ledger as a whole)
    return pgserver.new_database(postgres_server.url)


class TestPostgresAccountant(AccountantContract):
    @pytest.fixture(autouse=True)
    def _database(self, contract_url, postgres_server):
        self.url = contract_url
        self.server = postgres_server
        self.opened = []
        yield
        for acc in self.opened:
            acc.close()

    def make(self, **kwargs):
        kwargs.setdefault("dataset", f"d-{uuid.uuid4().hex}")
        url = self.url
        if kwargs.get("epsilon") is None and kwargs.get("rho") is None:
            # as for SQLite's contract (a new file per accountant): without a
            # budget, a new ledger is refused before anything is written
            url = pgserver.new_database(self.server.url)
        acc = Accountant.open(url, **kwargs)
        self.opened.append(acc)
        assert isinstance(acc._ledger, PostgresLedger)
        return acc

    def reopen(self, acc):
        return Accountant.open(self.url, dataset=acc.dataset)
