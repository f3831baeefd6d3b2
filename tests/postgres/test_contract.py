"""The accountant contract on a PostgreSQL ledger (in-memory and SQLite run it too)."""

from __future__ import annotations

import pytest
from contract import AccountantContract

from loopkit_privacy.accounting import Accountant, PostgresLedger


class TestPostgresAccountant(AccountantContract):
    @pytest.fixture(autouse=True)
    def _database(self, pg_url):
        self.url = pg_url
        self.opened = []
        yield
        for acc in self.opened:
            acc.close()

    def make(self, **kwargs):
        # one dataset per accountant: datasets of one ledger are independent
        kwargs.setdefault("dataset", f"d{len(self.opened)}")
        acc = Accountant.open(self.url, **kwargs)
        self.opened.append(acc)
        assert isinstance(acc._ledger, PostgresLedger)
        return acc
