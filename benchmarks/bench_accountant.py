"""The accountant: one charge, in memory (every mode) and on the SQLite ledger.

``Spend`` repeats one cost; ``SpendNewMechanism`` charges a noise event with a
new multiplier every time (a service whose releases differ), the case whose
exact running totals used to grow with every charge; ``SpendApproxZCDP``
charges (epsilon, delta) costs with delta parts (partition selection) to a
zCDP accountant. ``benchmarks/accountant_rate.py`` prints charges per second
for each, before and after a revision, in one run.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

from loopkit_privacy.accounting import Accountant
from loopkit_privacy.loss import ApproxDP, NoiseEvent, PureDP

# A budget no benchmark run can exhaust, so every timed call is an admitted spend.
_HUGE = 1e12
MODES = ["basic", "zcdp", "rdp"]


def _accountant(accounting, delta=1e-3):
    delta = 0.0 if accounting == "basic" and delta == 1e-3 else delta
    return Accountant(epsilon=_HUGE, delta=delta, accounting=accounting)


class Spend:
    """Accountant.spend of one repeated cost (check + commit + receipt)."""

    params: ClassVar[list] = [MODES]
    param_names: ClassVar[list[str]] = ["accounting"]

    def setup(self, accounting):
        self.acc = _accountant(accounting)
        self.cost = PureDP(0.01)
        self.event = NoiseEvent("laplace", 100.0) if accounting == "rdp" else None

    def time_spend_in_memory(self, accounting):
        self.acc.spend(self.cost, label="bench", event=self.event)


class SpendNewMechanism:
    """Each charge a Gaussian release with a noise multiplier not seen before."""

    params: ClassVar[list] = [MODES]
    param_names: ClassVar[list[str]] = ["accounting"]

    def setup(self, accounting):
        self.acc = _accountant(accounting, delta=0.5)
        self.cost = ApproxDP(1.0, 1e-12)  # implied by every multiplier below
        self.multipliers = (10.0 * (1 + i * 1e-9) for i in itertools.count())

    def time_spend_new_mechanism(self, accounting):
        event = NoiseEvent("gaussian", next(self.multipliers))
        self.acc.spend(self.cost, label="bench", event=event)


class SpendApproxZCDP:
    """A zCDP accountant charged (epsilon, delta) costs: approximate zCDP."""

    def setup(self):
        self.acc = Accountant(epsilon=_HUGE, delta=0.5, accounting="zcdp")
        self.cost = ApproxDP(0.01, 1e-12)

    def time_spend_approx_zcdp(self):
        self.acc.spend(self.cost, label="bench")


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
