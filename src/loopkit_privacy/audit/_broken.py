"""Deliberately broken variants of the library's releases (the auditor's self-test).

Each function returns an :class:`~loopkit_privacy.audit.builtin.AuditCase`
whose claim is false, with ``expect_violation=True``; a working auditor
reports each as a violation. They are the bug classes the auditor is meant
to catch: too little noise, no contribution bounding, a partition selection
on true counts, textbook floating-point noise, and a δ left out of the
accounting. Never use them for anything else.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from loopkit_privacy import aggregate, mechanisms
from loopkit_privacy._release import FixedSalt, Request, TrialReleases, request_of
from loopkit_privacy._typing import AnyArray
from loopkit_privacy.audit._features import KeyedOutputs
from loopkit_privacy.audit.builtin import AuditCase, neighbouring_tables
from loopkit_privacy.bounding import ContributionBounds
from loopkit_privacy.random import default_rng

if TYPE_CHECKING:
    from loopkit_privacy.audit.sweeps import CaseFactory

__all__ = ["broken_cases", "broken_factories", "old_exponential_mechanism"]

_EPS = 1.0


def halved_noise() -> AuditCase:
    """Laplace noise of half the scale the claim needs (true ε = 2)."""
    mech = mechanisms.LaplaceMechanism(sensitivity=0.5, epsilon=_EPS)  # Δ halved
    return AuditCase(
        "broken: Laplace noise scale halved",
        mech.randomize,
        0.0,
        1.0,
        _EPS,
        description="a sensitivity-1 query released with the noise of sensitivity 0.5",
        expect_violation=True,
    )


def _count_request(table: Any, **kwargs: Any) -> Request:
    """The request of ``aggregate_count`` by page (the broken variants' base)."""
    params: dict[str, Any] = {
        "by": "page",
        "privacy_unit": "user_id",
        "epsilon": _EPS,
    }
    params.update(kwargs)
    return request_of(aggregate.aggregate_count, table, **params)


def _keyed(rel: TrialReleases) -> KeyedOutputs:
    return KeyedOutputs(tuple(k["page"] for k in rel.keys), rel.present, rel.values)


def unbounded_count() -> AuditCase:
    """``aggregate_count`` with contribution bounding switched off.

    The noise is the library's, calibrated for one row per user and page, but
    every row of every user is counted.
    """
    salt = int(default_rng().words(1)[0])

    def fn(table: Any, n: int) -> KeyedOutputs:
        request = _count_request(table, public_groups=["a", "b", "c", "d", "e"])
        stat = request.statistic
        plan = stat.plan(request)
        off = ContributionBounds("user_id", 5, 1 << 31)
        agg = stat.bound(dataclasses.replace(plan, bounds=off), FixedSalt(salt))
        # The bug: rows are counted where bounded distinct users should be.
        agg = dataclasses.replace(agg, units=agg.rows)
        return _keyed(stat.trials(plan, stat.noise(plan, agg, n, request.source)))

    d0, d1 = neighbouring_tables()
    return AuditCase(
        "broken: contribution bounding off",
        fn,
        d0,
        d1,
        _EPS,
        description="aggregate_count by page with public groups, every row "
        "counted; the neighbour adds a user with 2000 rows on page 'a'",
        expect_violation=True,
    )


def threshold_selection() -> AuditCase:
    """Partition selection replaced by "release keys with true count >= τ"."""
    salt = int(default_rng().words(1)[0])

    def fn(table: Any, n: int) -> KeyedOutputs:
        request = _count_request(table, delta=1e-6)
        stat = request.statistic
        plan = stat.plan(request)
        agg = stat.bound(plan, FixedSalt(salt))
        noisy = stat.noise(plan, agg, n, request.source)
        assert plan.selection is not None
        # The bug: the threshold is applied to the true distinct-user counts.
        true_keep = agg.units >= plan.selection.threshold
        noisy.keep = np.broadcast_to(true_keep, noisy.keep.shape).copy()
        return _keyed(stat.trials(plan, noisy))

    base = _count_request(neighbouring_tables()[0], delta=1e-6)
    tau = base.statistic.plan(base).selection
    assert tau is not None
    # A page with τ - 1 users; the neighbour adds the τ-th.
    d0, _ = neighbouring_tables()
    rare = pa.table(
        {
            "user_id": np.arange(1000, 1000 + tau.threshold - 1, dtype=np.int64),
            "page": ["rare"] * (tau.threshold - 1),
            "minutes": np.ones(tau.threshold - 1),
        }
    )
    d0 = pa.concat_tables([d0, rare])
    extra = pa.table(
        {
            "user_id": np.array([5000], dtype=np.int64),
            "page": ["rare"],
            "minutes": [1.0],
        }
    )
    return AuditCase(
        "broken: selection on true counts",
        fn,
        d0,
        pa.concat_tables([d0, extra]),
        _EPS,
        1e-6,
        description=f"keys released when their true distinct-user count reaches "
        f"τ = {tau.threshold}; the neighbour adds the τ-th user of page 'rare'",
        expect_violation=True,
    )


def textbook_laplace() -> AuditCase:
    """``x + np.random.laplace(0, b)`` on a real-valued sum (Mironov 2012)."""
    gen = np.random.default_rng()

    def fn(table: pa.Table, n: int) -> AnyArray:
        minutes = np.clip(table.column("minutes").to_numpy(), 0.0, 12.0)
        return float(minutes.sum()) + gen.laplace(0.0, 12.0 / _EPS, size=n)

    d0, d1 = neighbouring_tables(heavy_rows=1)
    # A neighbour whose sum lies in another binade than the base table's.
    d0 = d0.slice(0, 3)
    d1 = pa.concat_tables([d0, d1.slice(d1.num_rows - 1, 1)])
    return AuditCase(
        "broken: textbook floating-point Laplace",
        fn,
        d0,
        d1,
        _EPS,
        description="sum of minutes clamped to [0, 12] plus "
        "numpy's floating-point Laplace(12/ε); three users, the neighbour adds one",
        expect_violation=True,
    )


def gaussian_without_delta() -> AuditCase:
    """A Gaussian mechanism calibrated for δ = 0.01 but accounted as pure ε."""
    mech = mechanisms.GaussianMechanism(sensitivity=1.0, epsilon=_EPS, delta=1e-2)
    return AuditCase(
        "broken: Gaussian with δ accounted as 0",
        mech.randomize,
        0.0,
        1.0,
        _EPS,
        0.0,
        description="GaussianMechanism(ε=1, δ=0.01) claimed as ε=1, δ=0; "
        "the violation shows in tails of probability about 0.005, so this case "
        "runs at least 10^6 trials",
        min_trials=10**6,
        expect_violation=True,
    )


def broken_cases() -> list[AuditCase]:
    """Every broken variant, each expected to be reported as a violation.

    Examples
    --------
    >>> len(broken_cases())
    5
    """
    return [
        halved_noise(),
        unbounded_count(),
        threshold_selection(),
        textbook_laplace(),
        gaussian_without_delta(),
    ]


class OldExponentialMechanism:
    """The exponential mechanism before the hardening issue's fix (never use it).

    Its weights are the old ones: grid exponent ``g = max(20, 20 +
    ceil(-log2 ε))`` with no cap, ``ε' = ε - 2**-(g-2)`` and
    ``w = rint(clip(u) · ε'/(2Δ) · 2**g)``. The old kernel then divided by the
    int64 ``1 << g``. The selection is emulated here, with numpy, as that
    kernel behaved (run against the shipped kernel with weights [0, 2**19, 0]
    and 2,000 draws per ``g``): exact for ``g <= 62``; uniform at ``g = 63``
    (the denominator wrapped to -2**63); an argmax, ties broken uniformly, at
    ``g >= 64`` (ε below 2**-43: the shift wrapped and every non-maximal
    candidate was rejected). Below about 2**-1022 the old ``2.0**g`` raised
    ``OverflowError``, which is kept. Correct at ε = 1, not private at tiny ε.
    """

    def __init__(self, *, sensitivity: float, epsilon: float) -> None:
        self.sensitivity = float(sensitivity)
        self.epsilon = float(epsilon)
        self.grid_bits = max(20, 20 + math.ceil(-math.log2(self.epsilon)))
        eps_used = self.epsilon - 2.0 ** -(self.grid_bits - 2)
        self.factor = eps_used / (2.0 * self.sensitivity)
        self.gen = np.random.default_rng()

    def randomize(self, scores: Any, n: int) -> AnyArray:
        """``n`` selections as the old implementation made them."""
        arr = np.asarray(scores, dtype=np.float64)
        g = self.grid_bits
        limit = 2.0 ** (50 - g) / self.factor
        w = np.rint(np.clip(arr, -limit, limit) * self.factor * 2.0**g)
        w = w.astype(np.int64)
        if g == 63:
            return self.gen.integers(0, arr.size, size=n)
        if g >= 64:
            top = np.flatnonzero(w == w.max())
            return top[self.gen.integers(0, top.size, size=n)]
        logits = (w - w.max()).astype(np.float64) / 2.0**g
        prob = np.exp(logits)
        return self.gen.choice(arr.size, size=n, p=prob / prob.sum())


def old_exponential_mechanism() -> CaseFactory:
    """A sweep factory for :class:`OldExponentialMechanism` (wrong at ε < 2**-43).

    The same inputs as the built-in ``ExponentialMechanism`` case (scores
    [0, 0, 0] and [Δ, -Δ, 0]); its audit at ε = 1 passes, so only a sweep
    down to tiny ε catches it.
    """
    from loopkit_privacy.audit.sweeps import CaseFactory, SweepPoint

    def build(p: SweepPoint) -> AuditCase:
        mech = OldExponentialMechanism(sensitivity=p.scale, epsilon=p.epsilon)
        s = p.scale
        return AuditCase(
            "broken: exponential mechanism, old grid",
            mech.randomize,
            [0.0, 0.0, 0.0],
            [s, -s, 0.0],
            p.epsilon,
            description="the exponential mechanism before the grid cap: an "
            "argmax below ε = 2**-43",
        )

    return CaseFactory(
        "broken: exponential mechanism, old grid",
        build,
        ("epsilon", "scale"),
        SweepPoint(1.0, 0.0, 1.0),
        expect_violation=True,
    )


def broken_factories() -> list[CaseFactory]:
    """Broken variants that only a parameter sweep catches (each must be flagged).

    Examples
    --------
    >>> [f.expect_violation for f in broken_factories()]
    [True]
    """
    return [old_exponential_mechanism()]
