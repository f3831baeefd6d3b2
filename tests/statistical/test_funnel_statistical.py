"""Statistical checks of funnel; the whole module fails falsely with probability <= ALPHA.

On a table with a known funnel (4 steps, 3000 users, reach 3000, 1800, 900,
300 within the window), 20 000 releases through the public request:

1. The reach counts are unbiased: a two-sided z-test per step with the
   exact variance of a sum of discrete Laplace noises. Power: the same test
   rejects a bias of half a user.
2. The ``users`` intervals cover the true reach at least at the stated
   level (an exact interval for the sum of the level cells), tested with a
   one-sided binomial test. Power: intervals computed for a noise scale 30 %
   smaller are rejected.
3. The conversion-rate intervals (from the previous step and from the
   first) cover the true rates at least at the stated level.

Each assertion uses ALPHA / (number of assertions in its test) (Bonferroni),
so each test fails falsely with probability at most ALPHA. Trials draw from
the secure default source.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

import loopkit_privacy as lp
from loopkit_privacy import _release as release
from loopkit_privacy.funnel import _rates, sum_half_width
from tests.statistical import ALPHA

pytestmark = pytest.mark.statistical

STEPS = ["visit", "signup", "activate", "buy"]
REACH = [3000, 1800, 900, 300]
S = len(STEPS)
TRIALS = 20_000
CONFIDENCE = 0.9
EPS = 1.0


def _table() -> pa.Table:
    """User u reaches step j exactly when u < REACH[j]; one hour per step."""
    t0 = dt.datetime(2026, 4, 1)
    users, steps, times = [], [], []
    for u in range(REACH[0]):
        for j in range(S):
            if u < REACH[j]:
                users.append(u)
                steps.append(STEPS[j])
                times.append(t0 + dt.timedelta(hours=j))
        users.append(u)  # a late purchase outside the window: ignored
        steps.append("buy")
        times.append(t0 + dt.timedelta(days=30))
    return pa.table(
        {"user": users, "step": steps, "at": pa.array(times, pa.timestamp("s"))}
    )


KW = dict(
    privacy_unit="user", step="step", steps=STEPS, time="at", within="7d",
    epsilon=EPS, confidence=CONFIDENCE,
)  # fmt: skip


@pytest.fixture(scope="module")
def releases():
    request = release.request_of(lp.funnel, _table(), **KW)
    plan = request.statistic.plan(request)
    rel = request.trials(TRIALS, salt=1)
    assert rel.present.all()
    levels = rel.values.astype(np.int64)  # (TRIALS, S): users per furthest step
    return plan.noise, levels, _rates(levels, plan.noise, CONFIDENCE)


def _dlap_variance(noise) -> float:
    q = math.exp(-math.ldexp(1.0, noise._lap.m) / noise._lap.t)
    return 2.0 * q / (1.0 - q) ** 2


def _z_pvalue(mean_error: float, var_each: float, n: int) -> float:
    z = mean_error / math.sqrt(var_each / n)
    return float(2.0 * stats.norm.sf(abs(z)))


def test_reach_counts_are_unbiased(releases):
    noise, _, out = releases
    v = _dlap_variance(noise)
    alpha = ALPHA / (2 * S)  # S unbiasedness tests and S power checks
    for j in range(S):
        err = out["users"][:, j] - REACH[j]
        var = (S - j) * v  # R_j sums the noise of S - j level cells
        p = _z_pvalue(float(err.mean()), var, TRIALS)
        assert p >= alpha, (
            f"step {j}: mean error {err.mean():.4f}, p={p:.2e} < {alpha:.1e}"
        )
        # Power: half a user of bias is rejected. The miss rate, computed:
        # z is shifted by 0.5 / sd; P(|z| < z_crit) at that shift.
        sd = math.sqrt(var / TRIALS)
        z_crit = stats.norm.isf(alpha / 2)
        miss = stats.norm.cdf(z_crit - 0.5 / sd) - stats.norm.cdf(-z_crit - 0.5 / sd)
        assert miss < ALPHA, f"step {j}: the power check would miss with p={miss:.1e}"
        p_biased = _z_pvalue(float(err.mean()) + 0.5, var, TRIALS)
        assert p_biased < alpha, (
            f"step {j}: a bias of 0.5 not detected (p={p_biased:.2e})"
        )


def _coverage_pvalue(covered: int, level: float) -> float:
    """P(X <= covered) for X ~ Binomial(TRIALS, level): small when coverage is too low."""
    return float(stats.binom.cdf(covered, TRIALS, level))


def test_users_intervals_cover(releases):
    noise, _, out = releases
    alpha = ALPHA / (2 * S)
    narrow = lp.GeometricMechanism(sensitivity=1, epsilon=EPS / 0.7)  # scale x0.7
    for j in range(S):
        lo, hi = out["users_ci_low"][:, j], out["users_ci_high"][:, j]
        covered = int(((lo <= REACH[j]) & (REACH[j] <= hi)).sum())
        p = _coverage_pvalue(covered, CONFIDENCE)
        assert p >= alpha, f"step {j}: coverage {covered / TRIALS:.4f}, p={p:.2e}"
        # Power: the interval of a 30 % smaller scale covers too rarely.
        hw = sum_half_width(narrow, S - j, CONFIDENCE)
        err = np.abs(out["users"][:, j] - REACH[j])
        covered_narrow = int((err <= hw).sum())
        p_narrow = _coverage_pvalue(covered_narrow, CONFIDENCE)
        assert p_narrow < alpha, (
            f"step {j}: intervals for a 30% smaller scale not rejected "
            f"(coverage {covered_narrow / TRIALS:.4f}, p={p_narrow:.2e})"
        )
    assert noise.scale == pytest.approx(1.0 / EPS)


def test_conversion_intervals_cover(releases):
    _, _, out = releases
    alpha = ALPHA / (2 * (S - 1))
    for j in range(1, S):
        for name, truth in (
            ("conversion", REACH[j] / REACH[j - 1]),
            ("conversion_from_first", REACH[j] / REACH[0]),
        ):
            lo, hi = out[f"{name}_ci_low"][:, j], out[f"{name}_ci_high"][:, j]
            covered = int(((lo <= truth) & (truth <= hi)).sum())
            p = _coverage_pvalue(covered, CONFIDENCE)
            assert p >= alpha, (
                f"{name} at step {j}: coverage {covered / TRIALS:.4f}, p={p:.2e} "
                f"< {alpha:.1e}"
            )
