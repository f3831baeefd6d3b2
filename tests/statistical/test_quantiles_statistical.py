"""Statistical checks of aggregate_quantiles and aggregate_variance (false-failure rate ALPHA each).

1. Quantile intervals cover the true quantile of the (bounded, clamped) data
   at least at the stated rate, on data drawn from known distributions
   (exponential and normal), Laplace and Gaussian noise. The test is a
   one-sided binomial test of the misses against 1 - confidence. Power
   check: the same test rejects intervals with the noise margin removed.
2. The median error of the DP median at ε = 1 with 10**4 users (one value
   each, log-normal durations, the `time_spent` case): reported, and bounded
   by the error the noise's own distribution implies.
3. Variance: the interval covers the variance of the bounded data at the
   stated rate (binomial test), and the estimate is unbiased up to the
   ratio estimator's O(1/N) bias (a z-test at ALPHA). Power check: the z-test
   rejects a truth 2 % away.

Trials are drawn with the secure default source (no seed).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

import loopkit_privacy as lp
from loopkit_privacy._release import FixedSalt, request_of
from tests.statistical import ALPHA

pytestmark = pytest.mark.statistical

TRIALS = 4000


def _releases(fn, table, n, **kwargs):
    """``n`` releases of ``fn(table, **kwargs)`` with their intervals (arrays)."""
    req = request_of(fn, table, **kwargs)
    stat = req.statistic
    plan = stat.plan(req)
    bounded = stat.bound(plan, FixedSalt(12345))
    return plan, bounded, stat.noise(plan, bounded, n, lp.SecureRandom())


def _lower_quantile(x, q):
    """The smallest value with at least q·n values <= it (what the interval covers)."""
    xs = np.sort(x)
    return xs[max(1, math.ceil(q * xs.size)) - 1]


def _too_many_misses(misses, trials, confidence):
    """True when the misses are too many for coverage >= confidence, at ALPHA."""
    p = stats.binom.sf(misses - 1, trials, 1 - confidence)
    return p < ALPHA


QS = [0.05, 0.5, 0.95]
CASES = [
    ("exponential", "laplace", "exponential", {}),
    ("exponential", "laplace", "tree", {}),
    ("normal", "gaussian", "tree", {"delta": 1e-6}),
]


def _data(kind, n=3000):
    gen = np.random.default_rng(2026)
    if kind == "exponential":
        return gen.exponential(120.0, n)
    return gen.normal(300.0, 80.0, n)


@pytest.mark.parametrize(("dist", "mechanism", "method", "extra"), CASES)
def test_quantile_intervals_cover_at_the_stated_rate(dist, mechanism, method, extra):
    x = _data(dist)
    t = pa.table({"user_id": np.arange(x.size), "v": x})
    bounds = (0.0, 1000.0)
    confidence = 0.9
    kwargs = dict(
        column="v", quantiles=QS, bounds=bounds, bins=1024, privacy_unit="user_id",
        epsilon=0.5, mechanism=mechanism, confidence=confidence, method=method,
        **extra,
    )  # fmt: skip
    _, _, noisy = _releases(lp.aggregate_quantiles, t, TRIALS, **kwargs)
    clamped = np.clip(x, *bounds)
    for k, q in enumerate(QS):
        true = _lower_quantile(clamped, q)
        low, high = noisy.low[:, 0, k], noisy.high[:, 0, k]
        misses = int(np.sum((true < low) | (true > high)))
        assert not _too_many_misses(misses, TRIALS, confidence), (
            f"q={q}: {misses}/{TRIALS} intervals miss {true}, more than "
            f"{1 - confidence:.2f} allows (alpha={ALPHA})"
        )


def test_coverage_test_rejects_intervals_without_the_noise_margin(monkeypatch):
    from loopkit_privacy import quantiles as qmod

    x = _data("exponential")
    t = pa.table({"user_id": np.arange(x.size), "v": x})
    monkeypatch.setattr(
        qmod,
        "tree_margins",
        lambda mechanism, radices, qs, conf: np.zeros((len(qs), math.prod(radices))),
    )
    _, _, noisy = _releases(
        lp.aggregate_quantiles, t, TRIALS, column="v", quantiles=[0.5],
        bounds=(0.0, 1000.0), bins=1024, privacy_unit="user_id", epsilon=0.5,
        confidence=0.9, method="tree",
    )  # fmt: skip
    true = _lower_quantile(np.clip(x, 0, 1000), 0.5)
    low, high = noisy.low[:, 0, 0], noisy.high[:, 0, 0]
    misses = int(np.sum((true < low) | (true > high)))
    assert _too_many_misses(misses, TRIALS, 0.9), (
        f"power check: only {misses}/{TRIALS} misses without a margin (alpha={ALPHA})"
    )


def test_median_error_at_epsilon_one_with_ten_thousand_users():
    # Session durations in seconds: log-normal, median about 60 s.
    gen = np.random.default_rng(7)
    n = 10_000
    x = gen.lognormal(math.log(60.0), 1.0, n)
    t = pa.table({"user_id": np.arange(n), "v": x})
    bounds = (0.0, 600.0)
    plan, _, noisy = _releases(
        lp.aggregate_quantiles, t, TRIALS, column="v", quantiles=[0.5],
        bounds=bounds, privacy_unit="user_id", epsilon=1.0,
    )  # fmt: skip
    true = _lower_quantile(np.clip(x, *bounds), 0.5)
    err = np.abs(noisy.value[:, 0, 0] - true)
    median_err = float(np.median(err))
    # In ranks: the exponential mechanism picks a bin whose rank distance
    # to N/2 exceeds r with probability at most bins·exp(-ε_q·r/(2Δ)), so
    # its median rank error is at most r½ = 2Δ/ε_q·ln(2·bins). With the local
    # spacing of the data that bounds the value error, plus one bin.
    em = plan.em[0]
    r_half = 2 * em.sensitivity / em.cost.epsilon * math.log(2 * plan.bins)
    xs = np.sort(np.clip(x, *bounds))
    i = n // 2
    spacing = (xs[i + 50] - xs[i - 50]) / 100
    width = (bounds[1] - bounds[0]) / plan.bins
    limit = r_half * spacing + width
    print(f"median |error| of the DP median (eps=1, 10^4 users): {median_err:.4f} s "
          f"(true median {true:.3f} s, relative {median_err / true:.2e})")  # fmt: skip
    assert median_err < limit, (median_err, limit)
    # And in relative terms, well under 1 % of the median itself.
    assert median_err / true < 0.01


# ---------------------------------------------------------------------------
# Variance
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["laplace", "gaussian"])
def test_variance_interval_covers_and_estimate_is_unbiased(mechanism):
    gen = np.random.default_rng(99)
    n = 5000
    x = gen.normal(40.0, 15.0, n)
    t = pa.table({"user_id": np.arange(n), "v": x})
    bounds = (0.0, 100.0)
    extra = {"delta": 1e-6} if mechanism == "gaussian" else {}
    confidence = 0.9
    trials = 20_000
    _, _, noisy = _releases(
        lp.aggregate_variance, t, trials, column="v", bounds=bounds,
        privacy_unit="user_id", epsilon=1.0, mechanism=mechanism,
        confidence=confidence, **extra,
    )  # fmt: skip
    true = float(np.var(np.clip(x, *bounds)))
    est = noisy.value[:, 0]
    misses = int(np.sum((true < noisy.low[:, 0]) | (true > noisy.high[:, 0])))
    assert not _too_many_misses(misses, trials, confidence), (
        f"{misses}/{trials} variance intervals miss (alpha={ALPHA})"
    )
    # Unbiased up to the ratio estimator's bias, which is O(Var(N)/N²)
    # relative: with N = 5000 and a count noise scale of at most 8, below
    # 1e-5 of the variance, allowed for on top of the z-test.
    z = stats.norm.isf(ALPHA / 2)
    se = est.std(ddof=1) / math.sqrt(trials)
    slack = z * se + 1e-5 * true
    assert abs(est.mean() - true) <= slack, (
        f"mean {est.mean()} vs true {true} (±{slack}, alpha={ALPHA})"
    )
    # Power: a truth 2 % away is rejected by the same test.
    assert abs(est.mean() - 1.02 * true) > slack
    assert abs(est.mean() - 0.98 * true) > slack
