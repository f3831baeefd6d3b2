"""Speed of the empirical privacy audit (trials of both inputs per second).

``time_laplace`` audits the scalar ``LaplaceMechanism`` (its vectorised
``randomize``); ``time_aggregate_count`` audits ``aggregate_count`` by page
with public groups on the built-in neighbouring tables (300 users, plus one
heavy user), through the aggregations' trials path. Each run is ``trials``
trials per input, so 2 x trials in all. ``benchmarks/audit_speed.py`` prints
the same as trials per second.
"""

from __future__ import annotations

from typing import ClassVar

import loopkit_privacy._kernels
from benchmarks import SLOW_SIZE, skip_slow
from loopkit_privacy import aggregate, mechanisms
from loopkit_privacy.audit import aggregation_trials, estimate_epsilon
from loopkit_privacy.audit.builtin import neighbouring_tables

#: Trials per input of one audit.
AUDIT_TRIALS = [10**5, 10**6, SLOW_SIZE]


class AuditSpeed:
    params: ClassVar[list] = [AUDIT_TRIALS]
    param_names: ClassVar[list[str]] = ["trials"]
    timeout = 600
    number = 1
    repeat = (1, 5, 30.0)
    warmup_time = 0.0

    def setup(self, trials):
        if trials >= SLOW_SIZE:
            skip_slow()
        loopkit_privacy._kernels.warmup()
        self.mech = mechanisms.LaplaceMechanism(sensitivity=1.0, epsilon=1.0)
        self.d0, self.d1 = neighbouring_tables()
        self.count = aggregation_trials(
            aggregate.aggregate_count,
            by="page",
            privacy_unit="user_id",
            epsilon=1.0,
            public_groups=["a", "b", "c", "d", "e"],
        )
        # Untimed: compiles the kernels the audits use.
        estimate_epsilon(self.mech.randomize, 0.0, 1.0, trials=1000)
        estimate_epsilon(self.count, self.d0, self.d1, trials=1000)

    def time_laplace(self, trials):
        estimate_epsilon(self.mech.randomize, 0.0, 1.0, trials=trials)

    def time_aggregate_count(self, trials):
        estimate_epsilon(self.count, self.d0, self.d1, trials=trials)
