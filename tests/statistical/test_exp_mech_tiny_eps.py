"""The exponential mechanism at tiny epsilon keeps its e^ε likelihood ratio.

Regression for the hardening issue: with ε <= 2**-43 the selection grid
exponent used to pass 63, the int64 shift ``1 << g`` wrapped, and the
mechanism became an exact argmax (scores [0, 1] picked index 1 every time
at a claimed ε = 1e-13).

The test, for each method and each tiny ε (1e-13, 2**-50, where the grid is
capped and ε is rounded down, and the smallest positive float):

* scores [0, 0]: index 1 must be uniform, p = 1/2 (the mechanism is
  symmetric); exact two-sided binomial test against the uniform reference;
* scores [0, 1] (a neighbour: one score moved by Δ = 1): ε-DP requires
  P(1 | [0, 1]) <= e^ε P(1 | [0, 0]) = e^ε/2 and likewise for index 0, i.e.
  1 - e^ε/2 <= p <= e^ε/2; exact one-sided binomial tests on both sides.

False-failure rate: each assertion fails only at p < ALPHA = 1e-6, and the
true p lies inside (or, for [0, 0], at) the tested null, so each assertion
fails wrongly with probability at most 1e-6 (at most 3e-6 per case, 1.8e-5
for the file's six cases). Power: with N = 200,000 draws a selection rate
of 0.51 instead of 0.5 gives z = 8.9 (p ≈ 3e-19), and the old argmax
(rate 1) gives p below 1e-60000; both fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import loopkit_privacy as lp
from tests._rng import seeded_rng

pytestmark = pytest.mark.statistical

ALPHA = 1e-6
N = 200_000


@pytest.mark.parametrize("eps", [1e-13, 2.0**-50, 5e-324])
@pytest.mark.parametrize("method", ["exponential", "permute_and_flip"])
def test_tiny_epsilon_selection_ratio(eps, method):
    em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=eps, method=method)
    seed = 1000 + int(method == "exponential") * 10 + int(-math.log2(eps)) % 997
    same = em.randomize([0.0, 0.0], N, rng=seeded_rng(seed))
    moved = em.randomize([0.0, 1.0], N, rng=seeded_rng(seed + 1))
    k_same = int(np.count_nonzero(same == 1))
    k_moved = int(np.count_nonzero(moved == 1))

    p_uniform = stats.binomtest(k_same, N, 0.5, alternative="two-sided").pvalue
    assert p_uniform >= ALPHA, (
        f"[0, 0]: index 1 in {k_same}/{N} is not uniform (p={p_uniform:.3g}); "
        f"false-failure rate {ALPHA}"
    )
    bound = min(1.0, 0.5 * math.exp(eps))  # e^ε · P(1 | [0, 0])
    p_high = stats.binomtest(k_moved, N, bound, alternative="greater").pvalue
    p_low = stats.binomtest(k_moved, N, 1.0 - bound, alternative="less").pvalue
    assert p_high >= ALPHA, (
        f"[0, 1]: index 1 in {k_moved}/{N} exceeds e^ε/2 (p={p_high:.3g}); "
        f"an ε={eps!r} mechanism cannot; false-failure rate {ALPHA}"
    )
    assert p_low >= ALPHA, (
        f"[0, 1]: index 0 in {N - k_moved}/{N} exceeds e^ε/2 (p={p_low:.3g}); "
        f"false-failure rate {ALPHA}"
    )


def test_report_noisy_max_at_tiny_epsilon():
    # The public function itself (permute-and-flip): a smaller sample, same
    # test on the upper side; 4,000 draws still reject the old argmax at
    # p < 1e-1000. False-failure rate ALPHA.
    rng = seeded_rng(77)
    n = 4000
    k = sum(
        lp.report_noisy_max([0.0, 1.0], sensitivity=1.0, epsilon=1e-13, rng=rng)
        for _ in range(n)
    )
    p_high = stats.binomtest(k, n, 0.5 * math.exp(1e-13), alternative="greater")
    assert p_high.pvalue >= ALPHA, f"index 1 in {k}/{n} (p={p_high.pvalue:.3g})"
