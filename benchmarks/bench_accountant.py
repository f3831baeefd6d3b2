"""The accountant: one charge, in memory and on the SQLite ledger."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

from loopkit_privacy.accounting import Accountant
from loopkit_privacy.loss import NoiseEvent, PureDP

# A budget no benchmark run can exhaust, so every timed call is an admitted spend.
_HUGE = 1e12


class Spend:
    """Accountant.spend of one PureDP cost (check + commit + receipt)."""

    params: ClassVar[list] = [["basic", "zcdp", "rdp"]]
    param_names: ClassVar[list[str]] = ["accounting"]

    def setup(self, accounting):
        delta = 0.0 if accounting == "basic" else 1e-6
        self.acc = Accountant(epsilon=_HUGE, delta=delta, accounting=accounting)
        self.cost = PureDP(0.01)
        self.event = NoiseEvent("laplace", 100.0) if accounting == "rdp" else None

    def time_spend_in_memory(self, accounting):
        self.acc.spend(self.cost, label="bench", event=self.event)


class SpendSQLite:
    """Accountant.spend on a SQLite ledger (one BEGIN IMMEDIATE transaction)."""

    params: ClassVar[list] = [["full", "normal"]]
    param_names: ClassVar[list[str]] = ["synchronous"]

    def setup(self, synchronous):
        self.tmp = tempfile.mkdtemp(prefix="lp-bench-")
        self.acc = Accountant.open(
            Path(self.tmp) / "bench.ledger",
            dataset="bench",
            epsilon=_HUGE,
            synchronous=synchronous,
        )
        self.cost = PureDP(0.01)

    def teardown(self, synchronous):
        self.acc.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_spend_sqlite(self, synchronous):
        self.acc.spend(self.cost, label="bench")

    def time_transaction_sqlite(self, synchronous):
        with self.acc.transaction(self.cost, label="bench"):
            pass
