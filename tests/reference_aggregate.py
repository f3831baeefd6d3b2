"""Naive references for the grouping and bounding kernels and for aggregations.

Pure Python (ints, dicts, sorted lists) written from the documented rules,
not from the kernels' code:

* ``mix`` / ``pair_hash``: the splitmix64 finaliser and the keyed pair hash
  with explicit 64-bit wrap-around.
* ``bound_reduce``: per privacy unit, keep the ``l0`` distinct groups with the
  smallest ``(pair_hash(salt, unit, group), group)``; in each kept group keep
  the first ``linf`` of the unit's rows in table order; count rows, distinct
  units and Σ round((clamp(v, lo, hi) - centre) / q) per group.
* ``reduce_unbounded``, ``factorize_first``, ``counting_sort``,
  ``combine_codes``: the grouping kernels' contracts.
* ``bounded_truth``: the true per-group statistics of a small event table
  after bounding, when bounding is deterministic (no unit has more than
  ``l0`` groups), for the statistical tests.
* Exact noise facts used by the statistical tests: the discrete Laplace tail
  and interval coverage, the discrete Gaussian coverage, Clopper-Pearson
  bounds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------
# Hashes
# ---------------------------------------------------------------------------


def mix(x: int) -> int:
    """splitmix64 finaliser on a 64-bit word (Python ints, explicit wrap)."""
    z = x & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def pair_hash(salt: int, unit: int, group: int) -> int:
    """h(salt, unit, group) = mix(mix(unit ^ salt) ^ group) on 64-bit words."""
    return mix(mix((unit & MASK64) ^ (salt & MASK64)) ^ (group & MASK64))


# ---------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------


def fixed_point(v: float, lo: float, hi: float, centre: float, q: float) -> int:
    """round((clamp(v, lo, hi) - centre) / q), ties to even (as np.rint)."""
    return round((min(max(v, lo), hi) - centre) / q)


def bound_reduce(
    units: Sequence[int],
    groups: Sequence[int],
    values: Sequence[float] | None,
    n_groups: int,
    l0: int,
    linf: int,
    lo: float,
    hi: float,
    centre: float,
    q: float,
    salt: int,
) -> tuple[list[int], list[int], list[int], int]:
    """(rows, units, sum_units, dropped) per the documented bounding rule.

    Rows whose unit or group is -1 are ignored (not counted as dropped).
    """
    rows_of: dict[int, list[int]] = {}
    for i, (u, g) in enumerate(zip(units, groups, strict=True)):
        if int(u) >= 0 and int(g) >= 0:
            rows_of.setdefault(int(u), []).append(i)
    out_rows = [0] * n_groups
    out_units = [0] * n_groups
    out_sum = [0] * n_groups
    dropped = 0
    for u, idx in rows_of.items():
        distinct = {int(groups[i]) for i in idx}
        ranked = sorted(distinct, key=lambda g, u=u: (pair_hash(salt, u, g), g))
        kept_groups = set(ranked[:l0])
        taken: dict[int, int] = {}
        for i in idx:  # table order
            g = int(groups[i])
            if g not in kept_groups or taken.get(g, 0) >= linf:
                dropped += 1
                continue
            if taken.get(g, 0) == 0:
                out_units[g] += 1
            taken[g] = taken.get(g, 0) + 1
            out_rows[g] += 1
            if values is not None:
                out_sum[g] += fixed_point(float(values[i]), lo, hi, centre, q)
    return out_rows, out_units, out_sum, dropped


def kept_rows(
    units: Sequence[int], groups: Sequence[int], l0: int, linf: int, salt: int
) -> list[int]:
    """Indices of the rows the bounding rule keeps, in table order."""
    rows_of: dict[int, list[int]] = {}
    for i, (u, g) in enumerate(zip(units, groups, strict=True)):
        if int(u) >= 0 and int(g) >= 0:
            rows_of.setdefault(int(u), []).append(i)
    kept: list[int] = []
    for u, idx in rows_of.items():
        distinct = {int(groups[i]) for i in idx}
        ranked = sorted(distinct, key=lambda g, u=u: (pair_hash(salt, u, g), g))
        kept_groups = set(ranked[:l0])
        taken: dict[int, int] = {}
        for i in idx:
            g = int(groups[i])
            if g in kept_groups and taken.get(g, 0) < linf:
                taken[g] = taken.get(g, 0) + 1
                kept.append(i)
    return sorted(kept)


def reduce_unbounded(
    groups: Sequence[int],
    values: Sequence[float] | None,
    n_groups: int,
    lo: float,
    hi: float,
    centre: float,
    q: float,
) -> tuple[list[int], list[int]]:
    """Event-level: (rows, sum_units) per group, -1 groups skipped."""
    out_rows = [0] * n_groups
    out_sum = [0] * n_groups
    for i, g in enumerate(groups):
        g = int(g)
        if g < 0:
            continue
        out_rows[g] += 1
        if values is not None:
            out_sum[g] += fixed_point(float(values[i]), lo, hi, centre, q)
    return out_rows, out_sum


def factorize_first(keys: Sequence[int]) -> tuple[list[int], list[int]]:
    """Dense codes in order of first appearance, and each code's first row."""
    code_of: dict[int, int] = {}
    codes: list[int] = []
    first: list[int] = []
    for i, key in enumerate(keys):
        key = int(key)
        if key not in code_of:
            code_of[key] = len(first)
            first.append(i)
        codes.append(code_of[key])
    return codes, first


def counting_sort(codes: Sequence[int], n_codes: int) -> tuple[list[int], list[int]]:
    """Rows grouped by code (stable; -1 left out) and the offsets of each code."""
    order = [i for c in range(n_codes) for i, x in enumerate(codes) if int(x) == c]
    starts = [0]
    for c in range(n_codes):
        starts.append(starts[-1] + sum(1 for x in codes if int(x) == c))
    return order, starts


def combine_codes(a: Sequence[int], b: Sequence[int], n_b: int) -> list[int]:
    """a·n_b + b, or -1 when either code is -1."""
    return [
        -1 if int(x) < 0 or int(y) < 0 else int(x) * n_b + int(y)
        for x, y in zip(a, b, strict=True)
    ]


# ---------------------------------------------------------------------------
# Aggregations
# ---------------------------------------------------------------------------


def bounded_truth(
    rows: Sequence[dict[str, Any]],
    *,
    unit: str,
    by: str,
    column: str | None,
    groups: Sequence[Any],
    linf: int,
    bounds: tuple[float, float] | None = None,
) -> dict[Any, dict[str, float]]:
    """Rows, distinct units and clamped sum per public group after bounding.

    Only for tables where no unit touches more public groups than the L0 in
    use (so which groups a unit keeps does not depend on the hash): each unit
    keeps its first ``linf`` rows per group, in table order. Rows with a null
    value are dropped first, and rows of groups outside ``groups`` are ignored.
    """
    out = {g: {"rows": 0, "units": 0, "sum": 0.0} for g in groups}
    taken: dict[tuple[Any, Any], int] = {}
    for r in rows:
        g = r[by]
        if g not in out or (column is not None and r[column] is None):
            continue
        key = (r[unit], g)
        if taken.get(key, 0) >= linf:
            continue
        if taken.get(key, 0) == 0:
            out[g]["units"] += 1
        taken[key] = taken.get(key, 0) + 1
        out[g]["rows"] += 1
        if column is not None:
            assert bounds is not None
            out[g]["sum"] += min(max(float(r[column]), bounds[0]), bounds[1])
    return out


# ---------------------------------------------------------------------------
# Exact noise facts and interval estimates
# ---------------------------------------------------------------------------


def dlap_q(t: int, m: int) -> float:
    """q = exp(-1/b) of the discrete Laplace with scale b = t / 2**m."""
    return math.exp(-math.ldexp(1.0, m) / t)


def dlap_tail(k: int, q: float) -> float:
    """P(Z >= k) for Z discrete Laplace with parameter q, k >= 1."""
    assert k >= 1
    return q**k / (1.0 + q)


def dlap_coverage(k: int, q: float) -> float:
    """P(|Z| <= k) for Z discrete Laplace with parameter q."""
    return 1.0 - 2.0 * q ** (k + 1) / (1.0 + q)


def dlap_variance(q: float) -> float:
    """Var(Z) = 2q / (1 - q)**2 for the discrete Laplace."""
    return 2.0 * q / (1.0 - q) ** 2


def dgauss_coverage(k: int, variance: float) -> float:
    """P(|Z| <= k) for the discrete Gaussian of parameter σ² (explicit sums)."""
    z = np.arange(-(math.ceil(40.0 * math.sqrt(variance)) + 40), 0)
    w_neg = np.exp(-(z.astype(np.float64) ** 2) / (2.0 * variance))
    total = 2.0 * math.fsum(w_neg) + 1.0
    inside = 2.0 * math.fsum(w_neg[z >= -k]) + 1.0
    return inside / total


def dlap_half_width(q: float, level: float) -> int:
    """Smallest k with P(|Z| <= k) >= level (closed form, then checked)."""
    k = max(0, math.floor(math.log((1.0 - level) * (1.0 + q) / 2.0) / math.log(q)) - 2)
    while dlap_coverage(k, q) < level:
        k += 1
    return k


def dgauss_half_width(variance: float, level: float) -> int:
    """Smallest k with P(|Z| <= k) >= level for the discrete Gaussian (explicit sums)."""
    top = math.ceil(40.0 * math.sqrt(variance)) + 40
    w = np.exp(-(np.arange(0, top + 1, dtype=np.float64) ** 2) / (2.0 * variance))
    total = 2.0 * math.fsum(w) - 1.0
    inside = (2.0 * np.cumsum(w) - 1.0) / total  # inside[k] = P(|Z| <= k)
    return int(np.searchsorted(inside, level))


def clopper_pearson(successes: int, trials: int, alpha: float) -> tuple[float, float]:
    """Two-sided Clopper-Pearson interval at level 1 - alpha."""
    lo = (
        0.0
        if successes == 0
        else float(stats.beta.ppf(alpha / 2, successes, trials - successes + 1))
    )
    hi = (
        1.0
        if successes == trials
        else float(stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    )
    return lo, hi
