"""Keep probabilities of partition selection: before, now, and the optimum.

For a few (ε, δ, L0) it prints the probability that a group of n users is
kept by

* ``before``: the earlier Laplace threshold (untruncated discrete Laplace at
  scale L0/ε, τ the smallest with L0·P(Z ≥ τ − 1) ≤ δ/(e^ε + δ));
* ``noisy counts``: ``lp.partition_selection(..., noisy_counts=True)``
  (counts of distinct users, top-n);
* ``keep or drop``: ``lp.partition_selection(...)`` (sums, averages, counts
  of rows);
* ``optimum``: the recursion of Desfontaines et al. (2022) with ε/L0, δ/L0,

and the smallest group size kept with probability at least 1/2 by each.

Usage::

    python benchmarks/selection_curve.py
"""

from __future__ import annotations

import math

import numpy as np

import loopkit_privacy as lp
from loopkit_privacy import noise

SETS = [(1.0, 1e-5, 1), (1.0, 1e-6, 4), (0.5, 1e-6, 1), (0.1, 1e-8, 2)]


def before(eps: float, delta: float, l0: int, n: np.ndarray) -> np.ndarray:
    lap = noise.discrete_laplace_parameters(l0 / eps)
    log_q = -math.ldexp(1.0, lap.m) / lap.t
    q = math.exp(log_q)
    target = delta / (math.exp(eps) + delta) / l0
    tau = 2
    while q ** (tau - 1) / (1 + q) > target:
        tau += 1
    s = tau - n  # kept when Z >= s
    up = np.power(q, np.maximum(s, 1)) / (1 + q)
    low = 1 - np.power(q, np.maximum(1 - s, 1)) / (1 + q)
    return np.where(n > 0, np.where(s >= 1, up, low), 0.0)


def optimum(eps: float, delta: float, n_max: int) -> np.ndarray:
    pi = [0.0]
    for _ in range(n_max):
        p = pi[-1]
        pi.append(
            min(math.exp(eps) * p + delta, 1 - math.exp(-eps) * (1 - p - delta), 1.0)
        )
    return np.array(pi)


def first_half(p: np.ndarray) -> int:
    return int(np.argmax(p >= 0.5))


def main() -> None:
    print("| ε | δ | L0 | before | noisy counts | keep or drop | optimum |")
    print("|---|---|---|---|---|---|---|")
    curves = {}
    for eps, delta, l0 in SETS:
        counts = lp.partition_selection(
            epsilon=eps, delta=delta, max_partitions_per_user=l0, noisy_counts=True
        )
        keep = lp.partition_selection(
            epsilon=eps, delta=delta, max_partitions_per_user=l0
        )
        n_max = 4 * keep.threshold
        n = np.arange(n_max + 1)
        rows = {
            "before": before(eps, delta, l0, n),
            "noisy counts": counts.keep_probability(n),
            "keep or drop": keep.keep_probability(n),
            "optimum": optimum(eps / l0, delta / l0, n_max),
        }
        curves[(eps, delta, l0)] = rows
        halves = " | ".join(str(first_half(v)) for v in rows.values())
        print(f"| {eps:g} | {delta:g} | {l0} | {halves} |")
    print()
    print("Keep probability at ε = 1, δ = 1e-5, L0 = 1:")
    print("| n | before | noisy counts | keep or drop | optimum |")
    print("|---|---|---|---|---|")
    rows = curves[(1.0, 1e-5, 1)]
    for n in (1, 4, 8, 10, 12, 14, 17, 20, 24):
        print(f"| {n} | " + " | ".join(f"{v[n]:.3g}" for v in rows.values()) + " |")


if __name__ == "__main__":
    main()
