"""Selection frequencies against the exact exponential / permute-and-flip laws.

Each case makes N_SELECT selections and runs a chi-square test against the
exact selection probabilities of the rounded integer weights the mechanism
uses (reference.exponential_probabilities / permute_and_flip_probabilities):
fails only at p < ALPHA. Power check: the law with epsilon off by 30% in
either direction must be rejected at ALPHA (non-centrality > 240 for these
scores at this size, against a critical value near 33 for 4 degrees of
freedom: misses with probability below 1e-20).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import loopkit_privacy as lp
from tests import reference as ref
from tests._rng import seeded_rng
from tests.statistical import ALPHA

pytestmark = pytest.mark.statistical

N_SELECT = 8000
SCORES = np.array([0.0, 1.0, 2.0, 3.0, 2.5])
EPSILON_PERTURBATION = 0.3


def _pvalue(counts: np.ndarray, probs: np.ndarray) -> float:
    expected = probs * counts.sum()
    assert (expected >= 5).all()
    return float(stats.chisquare(counts, expected).pvalue)


def _check(counts, law, label):
    p = _pvalue(counts, law(1.0))
    assert p >= ALPHA, (
        f"{label}: rejected the exact law (p={p:.3g}); false-failure rate alpha={ALPHA}"
    )
    for f in (1 - EPSILON_PERTURBATION, 1 + EPSILON_PERTURBATION):
        p_alt = _pvalue(counts, law(f))
        assert p_alt < ALPHA, (
            f"{label}: accepted epsilon x{f} (p={p_alt:.3g}); power check at alpha={ALPHA}"
        )


@pytest.mark.parametrize("monotonic", [False, True])
def test_exponential_mechanism(monotonic):
    em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=1.5, monotonic=monotonic)
    rng = seeded_rng(10 + monotonic)
    picks = np.array([em.select(SCORES, rng=rng).index for _ in range(N_SELECT)])
    counts = np.bincount(picks, minlength=SCORES.size)
    w = em._weights(SCORES)
    g = em._grid_bits
    _check(
        counts,
        lambda f: ref.exponential_probabilities(np.rint(w * f), g),
        f"exponential (monotonic={monotonic})",
    )


def test_permute_and_flip():
    em = lp.ExponentialMechanism(
        sensitivity=1.0, epsilon=1.5, method="permute_and_flip"
    )
    rng = seeded_rng(20)
    picks = np.array([em.select(SCORES, rng=rng).index for _ in range(N_SELECT)])
    counts = np.bincount(picks, minlength=SCORES.size)
    w = em._weights(SCORES)
    g = em._grid_bits
    _check(
        counts,
        lambda f: ref.permute_and_flip_probabilities(np.rint(w * f), g),
        "permute-and-flip",
    )
    # Permute-and-flip is never less accurate: it picks the best candidate
    # more often than the exponential mechanism does.
    pf = ref.permute_and_flip_probabilities(w, g)
    ex = ref.exponential_probabilities(w, g)
    assert pf[3] > ex[3]


def test_report_noisy_max():
    rng = seeded_rng(30)
    picks = np.array(
        [
            lp.report_noisy_max(SCORES, sensitivity=2.0, epsilon=3.0, rng=rng)
            for _ in range(N_SELECT)
        ]
    )
    counts = np.bincount(picks, minlength=SCORES.size)
    em = lp.ExponentialMechanism(
        sensitivity=2.0, epsilon=3.0, method="permute_and_flip"
    )
    w = em._weights(SCORES)
    _check(
        counts,
        lambda f: ref.permute_and_flip_probabilities(np.rint(w * f), em._grid_bits),
        "report_noisy_max",
    )


def test_reference_laws_are_consistent():
    # The exact laws themselves: they sum to one, EM is the softmax, and
    # permute-and-flip equals a brute-force average over all orders.
    import itertools

    w = np.array([0, -(2**20), -(2**19), -3 * 2**20])
    g = 20
    ex = ref.exponential_probabilities(w, g)
    soft = np.exp(w / 2.0**g)
    np.testing.assert_allclose(ex, soft / soft.sum(), rtol=1e-12)
    p = np.exp((w - w.max()) / 2.0**g)
    brute = np.zeros(w.size)
    perms = list(itertools.permutations(range(w.size)))
    for order in perms:
        survive = 1.0
        for i in order:
            brute[i] += survive * p[i]
            survive *= 1 - p[i]
    np.testing.assert_allclose(
        ref.permute_and_flip_probabilities(w, g), brute / len(perms), rtol=1e-12
    )
