"""Statistical checks of cohort_retention; each fails falsely with probability <= ALPHA.

1. On synthetic data with a known retention curve, the noisy counts are
   unbiased, the count intervals cover at exactly the rate of the exact
   discrete Laplace, and the retention-rate intervals cover the true rate at
   least at the stated level. Power: the coverage test rejects intervals
   computed for a 30 % smaller scale.
2. An empirical audit with one extra user active in every period: the lower
   confidence bound on ε from the joint event "every cell the user touches is
   high" stays below the claimed ε, while it exceeds ε for a release whose
   noise was calibrated to L1 = 1 (the sensitivity of one cell).

Trials use the secure default source; the bounds make the tests reliable.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from loopkit_privacy import _release as release
from loopkit_privacy import cohorts as C
from tests import reference as ref
from tests.statistical import ALPHA

pytestmark = pytest.mark.statistical

# Known curve: 400 users in the January 2026 cohort (first event on Jan 10),
# of whom RETAINED[j] have an event in month j.
RETAINED = [400, 240, 160, 120, 100, 80]
P = len(RETAINED)


def _known_curve_table(extra_user: bool = False) -> pa.Table:
    users, times = [], []
    for u in range(400):
        users.append(u)
        times.append(dt.datetime(2026, 1, 10))
        for j in range(1, P):
            if u < RETAINED[j]:
                users.append(u)
                times.append(dt.datetime(2026, 1 + j, 15))
    if extra_user:
        for j in range(P):
            users.append(10_000)
            times.append(dt.datetime(2026, 1 + j, 20))
    return pa.table({"user": users, "ts": pa.array(times, pa.timestamp("us"))})


KW = dict(
    privacy_unit="user",
    time="ts",
    start="2026-01-01",
    end="2026-02-01",
    n_periods=P,
    epsilon=1.0,
)
TRIALS = 20_000
SALT = 0x5EED_C0FFEE


def _trials(table: pa.Table, n: int, **kwargs) -> np.ndarray:
    """``n`` releases of the noisy count matrix, through the public request."""
    request = release.request_of(C.cohort_retention, table, **kwargs)
    return request.trials(n, salt=SALT)


def _plan():
    data, _ = C._prepare(
        _known_curve_table(),
        privacy_unit="user",
        time="ts",
        cohort=None,
        purpose=None,
        consent=None,
    )
    return C._plan(
        clock=data.clock,
        start=KW["start"],
        end=KW["end"],
        observed_until=None,
        period="month",
        n_periods=P,
        max_active_periods=None,
        budget=release.Budget.of("laplace", 1.0, None, None),
    )


def test_counts_unbiased_and_intervals_cover_exactly():
    noisy = _trials(_known_curve_table(), TRIALS, **KW)[:, 0, :]
    truth = np.array([400, *RETAINED])
    plan = _plan()
    scale = plan.noise.scale
    assert scale == pytest.approx(1 + P, rel=1e-9)
    err = noisy - truth
    # Mean: the exact variance of the discrete Laplace, a z-test per cell.
    q = math.exp(-1.0 / scale)
    var = 2.0 * q / (1.0 - q) ** 2
    z = err.mean(axis=0) / math.sqrt(var / TRIALS)
    p_mean = 2 * stats.norm.sf(np.abs(z)).min() * z.size  # Bonferroni
    assert p_mean >= ALPHA, (z, p_mean)
    # Coverage of the published count intervals, against the exact rate.
    hw = plan.noise.accuracy(0.95)
    y = np.arange(-int(hw), int(hw) + 1)
    p_cover = float(ref.discrete_laplace_pmf(y, scale).sum())
    assert p_cover >= 0.95
    covered = int((np.abs(err) <= hw).sum())
    assert stats.binomtest(covered, err.size, p_cover).pvalue >= ALPHA
    # Power: intervals for a 30 % smaller scale under-cover detectably. Here
    # hw = 21 and hw_small = 14 cover with probability 0.9538 and 0.8743; the
    # binomial test over 140,000 cells accepts only from 133,140 covered, and
    # Bin(140000, 0.8743) reaches that with probability below 1e-300 (scipy
    # binom.sf): this check misses with probability < 1e-300.
    hw_small = int(hw * 0.7)
    covered_small = int((np.abs(err) <= hw_small).sum())
    assert stats.binomtest(covered_small, err.size, p_cover).pvalue < ALPHA


def test_retention_intervals_cover_the_true_curve():
    plan = _plan()
    noisy = _trials(_known_curve_table(), TRIALS, **KW)[:, 0, :]
    hw_each = plan.noise.accuracy((1 + 0.95) / 2)
    rate, low, high = C._rates(
        noisy[:, 0], noisy[:, 1:], np.ones((TRIALS, P), bool), hw_each, monotone=False
    )
    true_rate = np.array(RETAINED) / 400
    covered = (low <= true_rate) & (true_rate <= high)
    for j in range(P):
        k = int(covered[:, j].sum())
        # At least 95 %: reject only when coverage is significantly lower.
        p = stats.binomtest(k, TRIALS, 0.95, alternative="less").pvalue
        assert p >= ALPHA, (j, k / TRIALS)
    # Away from the clip at 1 (offset 0 is exactly 1 and clipped from above),
    # the mean rate is within 0.005 of the truth. Its standard error is
    # sqrt(var)/400 * sqrt(1 + 0.6**2) / sqrt(TRIALS) = 2.0e-4 and the ratio
    # bias at most 0.6 * var / 400**2 = 4e-4 (var = 97.9, the discrete
    # Laplace of scale 7), a 22-sigma margin: false-failure rate
    # 5 * 2 * norm.sf(22.6) < 1e-110 (normal approximation of the mean).
    assert np.abs(rate.mean(axis=0)[1:] - true_rate[1:]).max() < 0.005, (
        f"mean rate off by >= 0.005; false-failure rate < 1e-110 (alpha={ALPHA})"
    )
    # Clipping at 1 biases offset 0 downward: each trial is below 1 with
    # probability about 1/2, so this fails wrongly with probability ~2**-20000.
    assert rate[:, 0].mean() < 1.0


def _clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    lo = 0.0 if k == 0 else stats.beta.ppf(alpha, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(1 - alpha, k + 1, n - k)
    return lo, hi


def _epsilon_lower_bound(out0: np.ndarray, out1: np.ndarray, thresholds) -> float:
    """ln(P1(E) / P0(E)) lower bound for E = {every cell >= its threshold}."""
    e0 = int((out0 >= thresholds).all(axis=1).sum())
    e1 = int((out1 >= thresholds).all(axis=1).sum())
    p1_lo, _ = _clopper_pearson(e1, out1.shape[0], ALPHA / 2)
    _, p0_hi = _clopper_pearson(e0, out0.shape[0], ALPHA / 2)
    return math.log(p1_lo / p0_hi)


AUDIT_TRIALS = 200_000


def test_empirical_audit_with_one_extra_user_stays_within_epsilon():
    d0 = _known_curve_table()
    d1 = _known_curve_table(extra_user=True)
    out0 = _trials(d0, AUDIT_TRIALS, **KW)[:, 0, :]
    out1 = _trials(d1, AUDIT_TRIALS, **KW)[:, 0, :]
    # The extra user adds 1 to the size and to each of the P offsets; the
    # most telling event asks every one of those cells to be at or above
    # its value under d1.
    thresholds = np.array([401, *[r + 1 for r in RETAINED]])
    eps_lb = _epsilon_lower_bound(out0, out1, thresholds)
    # Clopper-Pearson at ALPHA / 2 per side: fails wrongly with prob <= ALPHA.
    assert eps_lb <= 1.0, f"{eps_lb} (false-failure rate alpha={ALPHA})"
    # And the bound is informative (not vacuous): well above 0.5. The event
    # has P1 = (1 / (1 + q))**7 = 0.01265 and P0 = (q / (1 + q))**7 = 0.004655
    # (q = exp(-1/7)); summing the binomial laws of both counts over the
    # region where the bound is <= 0.5 gives a miss rate of 3e-12.
    assert eps_lb > 0.5, f"{eps_lb} (misses with probability 3e-12)"


def test_empirical_audit_catches_noise_for_one_cell(monkeypatch):
    original = release.noise_mechanism

    def one_cell(budget, *, l1, l2, dimension, integer):
        # A broken release: noise calibrated as if a user touched one cell.
        return original(budget, l1=1.0, l2=1.0, dimension=1, integer=integer)

    monkeypatch.setattr(C, "noise_mechanism", one_cell)
    d0 = _known_curve_table()
    d1 = _known_curve_table(extra_user=True)
    n = 50_000
    out0 = _trials(d0, n, **KW)[:, 0, :]
    out1 = _trials(d1, n, **KW)[:, 0, :]
    thresholds = np.array([401, *[r + 1 for r in RETAINED]])
    # Noise of scale 1 on each of 7 moved cells: P1 = (1 / (1 + q))**7 = 0.1116,
    # P0 = (q / (1 + q))**7 = 1.0e-4 (q = exp(-1)), true ratio e**7. Summed over
    # both binomial laws, the bound is <= 1.5 with probability 1.2e-21.
    eps_lb = _epsilon_lower_bound(out0, out1, thresholds)
    assert eps_lb > 1.5, f"{eps_lb} (misses with probability 1.2e-21)"
