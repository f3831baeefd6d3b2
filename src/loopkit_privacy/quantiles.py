"""User-level differentially private quantiles and variance per group.

``aggregate_quantiles`` releases several quantiles of a bounded value column
per group from one budget; ``aggregate_variance`` and ``aggregate_std``
release the spread. Both take any table family and return the same family,
with the conventions of the aggregations (:mod:`loopkit_privacy.aggregate`):
contribution bounds, ``public_groups`` or partition selection, exact noise,
intervals, receipts and :func:`~loopkit_privacy.privacy_info`.

Quantiles: the method
---------------------
Every group's kept values (at most L∞ in each of at most L0 groups per
user, clamped to ``[lo, hi]``) are counted in a public grid of ``bins``
equal bins. Two mechanisms read that histogram (``method="exponential"``,
the default):

* **Estimates: the exponential mechanism** on the grid (Smith 2011;
  OpenDP's and Google's quantiles are of this family): bin j is chosen for
  quantile q with probability ∝ exp(ε_q · u_j / (2Δ_q)), u_j = minus the rank
  distance from q·N to the bin, Δ_q = max(q, 1 - q)·L∞. Exact sampling:
  integer weights and Bernoulli(exp(-γ)) draws, no floating-point
  exponential (:class:`~loopkit_privacy.ExponentialMechanism`). It gets
  3/4 of the statistic's ε, split evenly over the quantiles and the L0
  groups a user can touch; the released estimates are sorted (monotone).
* **Intervals: a noisy hierarchical histogram** (a "tree": Hay, Rastogi,
  Miklau & Suciu 2010; Qardaji, Yang & Li 2013) with the other 1/4: one
  to three levels (:func:`radices_for`: 64 × 16 for 1024 bins), exact
  discrete Laplace noise on every node. Each interval is where the noisy
  running count crosses q·N ± a margin bounding the tree's own noise (a
  Chernoff bound on its exact moment generating function), widened to
  hold the estimate, so it covers the q-th quantile of the bounded data
  with probability at least ``confidence``.

``method="tree"`` spends the whole budget on the tree and reads the
estimates off it too: every quantile then costs nothing more, so it is the
better choice for many quantiles at once (Gillenwater, Joseph & Kulesza,
ICML 2021, find tree methods far ahead of independent exponential
mechanisms as the number of quantiles grows), and it is the one that takes
Gaussian noise or ``rho``. For one or two quantiles of small groups the
exponential mechanism is several times more accurate (it spends nothing on
the rest of the distribution), which is why it is the default. An
exponential mechanism alone gives no interval (its error depends on the
data's spacing) without more budget: the tree buys one.

Variance: noisy row count N, noisy sum S of values centred on the midpoint
m of the bounds, and noisy sum Q of centred squares (x - m)² - h²/2
(h = (hi - lo)/2); half of the budget for Q and a quarter each for N
and S. The variance is
h²/2 + Q/N - (S/N)², clamped to [0, h²] (the largest variance a
variable in [lo, hi] can have); the interval is the range of that formula
over the box of the three noise intervals (each at 1 - (1 - confidence)/3),
so it covers the variance of the bounded data with probability at least
``confidence``.

Examples
--------
>>> import pyarrow as pa, loopkit_privacy as lp
>>> rng = lp.random.InsecureSeededRandom(0)
>>> t = pa.table({"user_id": list(range(2000)), "ms": [float(i % 500) for i in range(2000)]})
>>> out = lp.aggregate_quantiles(t, column="ms", quantiles=[0.5, 0.9], bounds=(0, 1000),
...                              privacy_unit="user_id", epsilon=1.0, rng=rng)
>>> out.column_names
['quantile', 'value', 'value_ci_low', 'value_ci_high']
>>> out["quantile"].to_pylist()
[0.5, 0.9]
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa

from loopkit_privacy import mechanisms as mech
from loopkit_privacy import noise
from loopkit_privacy._grouped import (
    GroupedInput,
    Selection,
    add_fixed_point_noise,
    add_integer_noise,
    check_column_name,
    column_list,
    contribution_bounds,
    finish_table,
    make_selection,
    n_groups,
    noise_infos,
    prepare_grouped,
    release_info,
    sorted_keys_order,
)
from loopkit_privacy._kernels import bounding as _kb
from loopkit_privacy._kernels import quantiles as _kq
from loopkit_privacy._release import (
    Budget,
    Request,
    TrialReleases,
    noise_mechanism,
    release_function,
    total_cost,
)
from loopkit_privacy._typing import AnyArray, InvalidRows, MechanismName, TableLike
from loopkit_privacy.bounding import (
    MAX_BOUND_MAGNITUDE,
    MIN_BOUND_MAGNITUDE,
    ContributionBounds,
    check_sizes,
    fixed_point_quantum,
)
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.loss import PrivacyLoss, PureDP
from loopkit_privacy.noise import THREADS, executor
from loopkit_privacy.random import RandomSource

if TYPE_CHECKING:
    from loopkit_privacy.accounting import Accountant

__all__ = ["aggregate_quantiles", "aggregate_std", "aggregate_variance"]

#: Allowed grid sizes: powers of two from 16 to 2**16.
MIN_BINS = 16
MAX_BINS = 1 << 16
DEFAULT_BINS = 1024
#: Share of the statistic's ε that method="exponential" gives to the
#: estimates; the rest goes to the tree that gives the intervals.
EM_SHARE = 0.75
# Noisy tree nodes held in memory at once when drawing many releases.
_CHUNK_NODES = 1 << 22
# Bounding runs on several threads from this many kept rows on.
_PARALLEL_ROWS = 1 << 20


# ---------------------------------------------------------------------------
# Validation (before anything is read or spent)
# ---------------------------------------------------------------------------


def check_quantiles(value: Any) -> tuple[float, ...]:
    """``quantiles`` as a tuple of strictly increasing numbers in [0, 1]."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise InvalidParameterError(
            f"`quantiles` must be a list of numbers in [0, 1], got {value!r}; "
            "pass e.g. quantiles=[0.5, 0.95]",
            parameter="quantiles",
            value=value,
        )
    out: list[float] = []
    for q in list(value):
        if isinstance(q, bool) or not isinstance(q, numbers.Real):
            raise InvalidParameterError(
                f"`quantiles` must hold numbers, got {q!r}; pass e.g. quantiles=[0.5, 0.95]",
                parameter="quantiles",
                value=value,
            )
        x = float(q)
        if not (math.isfinite(x) and 0.0 <= x <= 1.0):
            raise InvalidParameterError(
                f"`quantiles` must lie in [0, 1], got {q!r}; pass e.g. "
                "quantiles=[0.5, 0.95] (0.95 is the 95th percentile)",
                parameter="quantiles",
                value=value,
            )
        out.append(x)
    if not out:
        raise InvalidParameterError(
            "`quantiles` must hold at least one number; pass e.g. quantiles=[0.5]",
            parameter="quantiles",
            value=value,
        )
    if any(b <= a for a, b in itertools.pairwise(out)):
        raise InvalidParameterError(
            f"`quantiles` must be strictly increasing, got {list(value)!r}; "
            f"pass them sorted, e.g. quantiles={sorted(set(out))!r}",
            parameter="quantiles",
            value=value,
        )
    return tuple(out)


def check_bins(value: Any) -> int:
    """``bins``: a power of two in [16, 2**16]."""
    ok = (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and MIN_BINS <= int(value) <= MAX_BINS
        and int(value) & (int(value) - 1) == 0
    )
    if not ok:
        raise InvalidParameterError(
            f"`bins` must be a power of two from 16 to 65536, got {value!r}; "
            "pass e.g. bins=1024",
            parameter="bins",
            value=value,
        )
    return int(value)


@functools.cache
def radices_for(bins: int) -> tuple[int, ...]:
    """Branching of each tree level from the top: the shape with the smallest noise margin.

    With L levels and radices r1..rL (powers of two, product ``bins``), the
    noise of a prefix count near a median is a sum of at most r1/4 (top
    level, weights q and 1 - q) plus Σ (r_k - 1) (lower levels, weight 1)
    node noises, each of scale ∝ L. The shape minimising
    L²·(r1/4 + Σ_{k>1} (r_k - 1)) is chosen (Qardaji, Yang & Li 2013 find
    branching around 16 best for range queries; prefixes near a median
    favour a wider top).

    Examples
    --------
    >>> radices_for(16), radices_for(1024), radices_for(4096)
    ((16,), (64, 16), (128, 32))
    """
    bits = bins.bit_length() - 1

    def cost(parts: tuple[int, ...]) -> float:
        top, *lower = (1 << p for p in parts)
        return len(parts) ** 2 * (top / 4 + sum(r - 1 for r in lower))

    best: tuple[int, ...] = (bits,)
    # Compositions of `bits` into at most 4 parts (deeper trees never win).
    for cut in range(1, min(4, bits)):
        for splits in itertools.combinations(range(1, bits), cut):
            edges = (0, *splits, bits)
            parts = tuple(b - a for a, b in itertools.pairwise(edges))
            if cost(parts) < cost(best):
                best = parts
    return tuple(1 << p for p in best)


# ---------------------------------------------------------------------------
# Bounding into histograms or moments
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bounded:
    rows: AnyArray
    units: AnyArray
    a: AnyArray
    b: AnyArray


def _bound_rows(
    inp: GroupedInput,
    bounds: ContributionBounds,
    rng: RandomSource,
    *,
    mode: int,
    n_bins: int = 1,
    quantum: float = 1.0,
    quantum_sq: float = 1.0,
) -> _Bounded:
    """Bound contributions (the aggregations' rule) and accumulate the kept rows.

    ``mode`` is ``_kq.MODE_HISTOGRAM`` (``a``: per-group bin counts,
    flattened (n_groups, n_bins)) or ``_kq.MODE_MOMENTS`` (``a``: centred
    fixed-point sums, ``b``: centred fixed-point sums of squares).
    """
    g = n_groups(inp)
    check_sizes(inp.groups.shape[0], g)
    assert bounds.bounds is not None
    assert inp.values is not None
    lo, hi = bounds.bounds
    mid = (lo + hi) / 2.0
    half = (hi - lo) / 2.0
    half_sq = half * half / 2.0
    size_a = g * n_bins if mode == _kq.MODE_HISTOGRAM else g
    size_b = g if mode == _kq.MODE_MOMENTS else 1

    def zeros() -> tuple[AnyArray, AnyArray, AnyArray, AnyArray]:
        return (
            np.zeros(g, dtype=np.int64),
            np.zeros(g, dtype=np.int64),
            np.zeros(size_a, dtype=np.int64),
            np.zeros(size_b, dtype=np.int64),
        )

    rows, units, a, b = zeros()
    nb = np.int64(n_bins)
    tail = (np.int64(mode), nb, mid, half_sq, quantum, quantum_sq)
    if inp.units is None:
        _kq.rows_unbounded(inp.groups, inp.values, lo, hi, *tail, rows, a, b)
        return _Bounded(rows, rows.copy(), a, b)
    salt = rng.words(1)[0]
    l0 = np.int64(bounds.max_partitions_per_user)
    linf = np.int64(bounds.max_contributions_per_partition)
    bits = _kb.bucket_bits(l0)
    starts, uloc, grp, vals = _kb.partition_by_user(
        inp.units, inp.groups, inp.values, np.int64(inp.n_units), bits
    )
    n_buckets = starts.shape[0] - 1
    common = (l0, linf, lo, hi, salt, *tail)
    if starts[-1] < _PARALLEL_ROWS or n_buckets < 2 or THREADS < 2:
        _kq.bound_rows_buckets(
            starts, uloc, grp, vals, bits, 0, n_buckets, *common, rows, units, a, b
        )
        return _Bounded(rows, units, a, b)
    # Buckets hold disjoint users: bound ranges of them on separate threads
    # into separate totals, then add up (as bounding.bound_and_reduce does).
    cuts = np.searchsorted(starts, np.linspace(0, starts[-1], THREADS + 1)[1:-1])
    edges = [0, *sorted({int(c) for c in cuts if 0 < c < n_buckets}), n_buckets]
    parts = []
    for b0, b1 in itertools.pairwise(edges):
        totals = zeros()
        future = executor().submit(
            _kq.bound_rows_buckets, starts, uloc, grp, vals, bits, b0, b1, *common,
            *totals,
        )  # fmt: skip
        parts.append((future, totals))
    for future, (r, u, pa_, pb) in parts:
        future.result()
        rows += r
        units += u
        a += pa_
        b += pb
    return _Bounded(rows, units, a, b)


# ---------------------------------------------------------------------------
# Shared planning: groups, selection and the statistic's budget
# ---------------------------------------------------------------------------


def _prepare(request: Request) -> tuple[GroupedInput, ContributionBounds]:
    opts = request.options
    bounds: ContributionBounds = opts["bounds"]
    inp = prepare_grouped(
        request.table,
        by=opts["by"],
        privacy_unit=request.privacy_unit,
        value_column=opts["column"],
        public_groups=opts["public_groups"],
        purpose=request.purpose,
        consent=request.consent,
        invalid=request.invalid,
    )
    if inp.public and inp.keys.num_rows < bounds.max_partitions_per_user:
        # A unit cannot contribute to more groups than are public.
        bounds = dataclasses.replace(
            bounds, max_partitions_per_user=max(1, inp.keys.num_rows)
        )
    check_sizes(inp.groups.shape[0], n_groups(inp))
    return inp, bounds


def _split_selection(
    budget: Budget, inp: GroupedInput, bounds: ContributionBounds
) -> tuple[Selection | None, Budget]:
    """Partition selection (half the budget) when groups come from the data."""
    if not (inp.by and not inp.public):
        return None, budget
    sel_budget, stat_budget = budget.split(0.5)
    if budget.mechanism == "laplace" and budget.delta is not None:
        # Laplace noise needs no δ: all of it goes to the selection.
        sel_budget = Budget("laplace", sel_budget.epsilon, budget.delta, None)
        stat_budget = Budget("laplace", stat_budget.epsilon, None, None)
    # The quantiles get noise of their own: the optimal keep-or-drop selection.
    return make_selection(sel_budget, bounds, noisy_counts=False), stat_budget


def _selected(
    selection: Selection | None, units: AnyArray, n: int, source: RandomSource
) -> AnyArray:
    """(n, G) mask of the groups each release keeps (all without selection)."""
    shape = (n, units.shape[0])
    if selection is None:
        return np.ones(shape, dtype=bool)
    keep, _ = selection.select(np.broadcast_to(units, shape).ravel(), source)
    out: AnyArray = keep.reshape(shape)
    return out


def _mechanism_names(
    selection: Selection | None, mechs: dict[str, mech.AdditiveMechanism]
) -> list[str]:
    return (
        [f"partition selection ({selection.name}, τ={selection.threshold})"]
        if selection
        else []
    ) + [f"{name}: {m.name}(scale={m.scale:.6g})" for name, m in mechs.items()]


def _cost(
    selection: Selection | None, mechs: dict[str, mech.AdditiveMechanism]
) -> PrivacyLoss:
    parts: list[PrivacyLoss] = [] if selection is None else [selection.cost]
    parts.extend(m.cost for m in mechs.values())
    return total_cost(parts)


def _order(inp: GroupedInput, group_idx: AnyArray) -> AnyArray:
    if inp.by and not inp.public:
        return group_idx[
            sorted_keys_order(
                inp.keys.take(pa.array(group_idx, type=pa.int64())), inp.by
            )
        ]
    return group_idx


# ---------------------------------------------------------------------------
# Quantiles
# ---------------------------------------------------------------------------


def _digit_counts(radices: Sequence[int]) -> tuple[AnyArray, AnyArray]:
    """Per bin j: top-level nodes left of bin j + 1, and lower-level nodes used.

    The prefix of t = j + 1 leaves uses, at each level, the left siblings of
    the node holding leaf t (t < B); for j = B - 1 the prefix is the total
    (every top node, no lower node).
    """
    b = math.prod(radices)
    t = np.arange(1, b + 1, dtype=np.int64)
    stride = b
    top = np.zeros(b, dtype=np.int64)
    lower = np.zeros(b, dtype=np.int64)
    for k, r in enumerate(radices):
        stride //= r
        digit = (t // stride) % r
        if k == 0:
            top = t // stride  # = the digit, except r at t = B
        else:
            lower += digit
    lower[-1] = 0
    return top, lower


def tree_margins(
    mechanism: mech.AdditiveMechanism,
    radices: Sequence[int],
    quantiles: Sequence[float],
    confidence: float,
) -> AnyArray:
    """Noise margins c_q(j): P(err_q(j) > c_q(j)) <= (1 - confidence)/2 at each bin j.

    Returns float64[K, B]. The error of G(j) = F(j) - q·N at bin j is a
    weighted sum of independent node noises: the d top-level nodes left of
    the boundary with weight 1 - q, the other top nodes with weight -q, and
    the left siblings at each lower level with weight 1 (their numbers are
    the digits of j + 1). The margin bounds the tail of that sum by
    Chernoff's inequality on the exact moment generating function: for the
    discrete Laplace with p = exp(-1/b),
    E e^{sZ} = (1 - p)² / ((1 - p e^s)(1 - p e^{-s})); the discrete
    Gaussian's is at most exp(σ² s²/2) (Canonne, Kamath & Steinke 2020).
    Any s gives a valid bound, so the smallest over a grid of s is one too.
    The noise is symmetric, so the same margin bounds the lower tail.
    """
    if mechanism._lap is not None:
        kind, param = "laplace", float(mechanism.scale)
    else:
        assert mechanism._dg is not None
        kind, param = "gaussian", float(mechanism._dg.sigma)
    out: AnyArray = _margins(
        kind, param, tuple(radices), tuple(float(q) for q in quantiles), confidence
    )
    return out.copy()


@functools.lru_cache(maxsize=64)
def _margins(
    kind: str,
    param: float,
    radices: tuple[int, ...],
    quantiles: tuple[float, ...],
    confidence: float,
) -> AnyArray:
    """:func:`tree_margins` for a Laplace scale or Gaussian σ ``param`` (cached)."""
    log_beta = math.log((1.0 - confidence) / 2.0)
    r1 = radices[0]
    top, lower = _digit_counts(radices)
    # Margins depend on (top, lower) only: compute each pair once.
    pairs, index = np.unique(
        np.stack([top, lower], axis=1), axis=0, return_inverse=True
    )
    n_top = pairs[:, :1].astype(np.float64)
    n_low = pairs[:, 1:].astype(np.float64)
    out = np.empty((len(quantiles), top.shape[0]))
    for k, q in enumerate(quantiles):
        # A larger weight only raises each term's moment generating function
        # (symmetric noise), so raising tiny weights keeps the bound valid
        # and the grid of s finite. The weights take three values.
        w_left, w_right = max(1.0 - q, 1e-6), max(q, 1e-6)
        n_left, n_right = n_top, r1 - n_top
        if q == 1.0:
            n_left = np.zeros_like(n_top)
        if q == 0.0:
            n_right = np.zeros_like(n_top)
        if kind == "laplace":
            b = param
            amax = 1.0 if radices[1:] else max(w_left, w_right)
            s = (np.geomspace(1e-6, 1.0 - 1e-9, 600) / (b * amax))[None, :]
            r = 1.0 / b  # the noise's rate: p = e^-r

            def log_mgf(a: float, s: AnyArray = s, r: float = r) -> AnyArray:
                # log E[e^(xZ)] = 2 log(1 - p) - log(1 - p e^x) - log(1 - p e^-x),
                # written with expm1 so that it keeps its digits when p is
                # within a rounding error of 1 (a huge scale): x < r here.
                x = a * s
                out_: AnyArray = (
                    2.0 * math.log(-math.expm1(-r))
                    - np.log(-np.expm1(x - r))
                    - np.log(-np.expm1(-x - r))
                )
                return out_

            total = n_left * log_mgf(w_left) + n_right * log_mgf(w_right)
            if radices[1:]:  # else no lower node, and s may exceed 1/b
                total = total + n_low * log_mgf(1.0)
            c = np.min((total - log_beta) / s, axis=1)
        else:
            var = param**2 * (n_left * w_left**2 + n_right * w_right**2 + n_low)
            c = np.sqrt(-2.0 * var * log_beta)[:, 0]
        # A hair above the bound: the comparison in the kernel is in floats.
        out[k] = c[index.ravel()] * (1.0 + 1e-9)
    return out


Method = Literal["exponential", "tree"]


def check_method(value: Any) -> Method:
    """``method``: ``"exponential"`` or ``"tree"``."""
    if value not in ("exponential", "tree"):
        raise InvalidParameterError(
            f"`method` must be 'exponential' or 'tree', got {value!r}",
            parameter="method",
            value=value,
        )
    return value  # type: ignore[no-any-return]


def em_for(
    epsilon: float, bounds: ContributionBounds, quantiles: Sequence[float]
) -> tuple[mech.ExponentialMechanism, ...]:
    """The exponential mechanism of each quantile: ε / (L0 · K) per group.

    A unit changes the scores of at most L0 groups, so the selections of the
    other groups cost it nothing: the K selections of each of L0 groups
    compose to ε. The scores of quantile q (:func:`em_scores`) move by at
    most max(q, 1 - q)·L∞: adding m <= L∞ values, k of them in bins up to j,
    moves C(j) - q·N by k - q·m, in [-q·m, (1 - q)·m]. (Floating point: each
    selection's true loss is below its nominal ε by at least 2**-G·ε_sel,
    see ``ExponentialMechanism``, far more than the rounding of the
    division, so the total stays within ε.)
    """
    share = epsilon / (bounds.max_partitions_per_user * len(quantiles))
    linf = bounds.max_contributions_per_partition
    # The factor absorbs the float rounding of q·N (|q·N| < 2**53).
    return tuple(
        mech.ExponentialMechanism(
            sensitivity=max(q, 1.0 - q) * linf * (1.0 + 2.0**-40), epsilon=share
        )
        for q in quantiles
    )


def em_weights(em: mech.ExponentialMechanism, scores: AnyArray) -> AnyArray:
    """The integer weights ``em`` draws from, for an array of score rows.

    The same map as :meth:`ExponentialMechanism.select` applies to one row
    (:meth:`ExponentialMechanism.integer_weights`).
    """
    out: AnyArray = em.integer_weights(np.asarray(scores, dtype=np.float64))
    return out


def select_exact(weights: AnyArray, grid_bits: int, source: RandomSource) -> AnyArray:
    """One exact exponential-mechanism draw per row of ``weights`` (int64[R, m])."""
    rows = weights.shape[0]
    out = np.empty(rows, dtype=np.int64)
    st = np.zeros(4, dtype=np.int64)
    if not 0 <= grid_bits <= 62:
        raise AssertionError("selection grid outside int64")
    g = np.int64(grid_bits)
    block = 1 << 16
    words = source.words(block)
    done = 0
    while done < rows:
        done = int(_kq.select_rows(weights, g, words, st, out, np.int64(done)))
        if done < rows:
            words = noise.replay_words(words, st, source, block)
    return out


def em_scores(hist: AnyArray, quantiles: Sequence[float]) -> AnyArray:
    """Scores (G, K, B) of the bins: minus the rank distance to q·N (Smith 2011).

    With C(j) the count of values in bins 1..j (C(0) = 0) and N = C(B), bin j
    covers the ranks [C(j-1), C(j)]; its score for quantile q is
    -dist(q·N, [C(j-1), C(j)]), 0 for the bin holding the q-th value. Each
    score moves by at most L∞ when a unit's values come or go (C(j) and N
    move by at most L∞, q·N by at most q·L∞).
    """
    c = np.cumsum(hist, axis=1).astype(np.float64)
    prev = c - hist
    n = c[:, -1:]
    target = np.asarray(quantiles, dtype=np.float64)[None, :, None] * n[:, None, :]
    cj, cp = c[:, None, :], prev[:, None, :]
    out: AnyArray = -np.maximum(np.maximum(cp - target, 0.0), target - cj)
    return out


@dataclass
class _QPlan:
    inp: GroupedInput
    bounds: ContributionBounds
    source: RandomSource
    level: float
    quantiles: tuple[float, ...]
    bins: int
    radices: tuple[int, ...]
    selection: Selection | None
    mechs: dict[str, mech.AdditiveMechanism]
    margins: AnyArray
    margins_high: AnyArray
    cost: PrivacyLoss
    parameters: dict[str, Any]
    name: str
    method: Method
    em: tuple[mech.ExponentialMechanism, ...] | None


@dataclass
class _QNoisy:
    """(n, G) kept mask; (n, G, K) values and interval ends (NaN where not kept)."""

    keep: AnyArray
    value: AnyArray
    low: AnyArray
    high: AnyArray


def _plan_quantiles(request: Request) -> _QPlan:
    opts = request.options
    inp, bounds = _prepare(request)
    selection, stat_budget = _split_selection(request.budget, inp, bounds)
    bins: int = opts["bins"]
    method: Method = opts["method"]
    quantiles: tuple[float, ...] = opts["quantiles"]
    radices = radices_for(bins)
    levels = len(radices)
    l0 = bounds.max_partitions_per_user
    linf = bounds.max_contributions_per_partition
    em = None
    tree_budget = stat_budget
    if method == "exponential":
        # Most for the estimates (exponential mechanism), the rest for the
        # tree that gives the intervals. Both pure ε-DP (checked at the call).
        em_budget, tree_budget = stat_budget.split(EM_SHARE)
        assert em_budget.epsilon is not None
        em = em_for(em_budget.epsilon, bounds, quantiles)
    # One kept value adds 1 to one node per level: a unit changes at most
    # L0·L∞·levels node counts by 1 in total (L1), and per group and level a
    # vector of L1 norm <= L∞, so L2 <= √(L0·levels)·L∞.
    tree = noise_mechanism(
        tree_budget,
        l1=l0 * linf * levels,
        l2=math.sqrt(l0 * levels) * linf,
        dimension=l0 * levels,
        integer=True,
    )
    mechs = {"tree": tree}
    margins = tree_margins(tree, radices, quantiles, request.confidence)
    names = _mechanism_names(selection, mechs)
    parts: list[PrivacyLoss] = [] if selection is None else [selection.cost]
    parts.append(tree.cost)
    if em is not None:
        assert stat_budget.epsilon is not None
        assert tree_budget.epsilon is not None
        names.append(
            f"estimates: {em[0].name}(epsilon={em[0].cost.epsilon:.6g} per group "
            f"and quantile; {len(quantiles)} quantiles x L0={l0})"
        )
        parts.append(PureDP(stat_budget.epsilon - tree_budget.epsilon))
    parameters = {
        "kind": "quantiles",
        "method": method,
        "by": inp.by,
        "column": opts["column"],
        "quantiles": list(quantiles),
        "bins": bins,
        "max_partitions_per_user": l0,
        "max_contributions_per_partition": linf,
        "bounds": list(bounds.bounds or ()),
        "mechanisms": names,
    }
    return _QPlan(
        inp=inp,
        bounds=bounds,
        source=request.source,
        level=request.confidence,
        quantiles=quantiles,
        bins=bins,
        radices=radices,
        selection=selection,
        mechs=mechs,
        margins=margins,
        # The high end needs margins that do not grow to the right: at bin j,
        # the largest margin of any bin from j on (see the kernel).
        margins_high=np.maximum.accumulate(margins[:, ::-1], axis=1)[:, ::-1].copy(),
        cost=total_cost(parts),
        parameters=parameters,
        name="aggregate_quantiles",
        method=method,
        em=em,
    )


def _noisy_quantiles(
    plan: _QPlan, bounded: _Bounded, n: int, source: RandomSource
) -> _QNoisy:
    g = bounded.rows.shape[0]
    k = len(plan.quantiles)
    b = plan.bins
    keep = _selected(plan.selection, bounded.units, n, source)
    leaves = bounded.a.reshape(g, b)
    n_nodes = sum(math.prod(plan.radices[: i + 1]) for i in range(len(plan.radices)))
    radices = np.array(plan.radices, dtype=np.int64)
    true_nodes = np.empty((g, n_nodes), dtype=np.int64)
    _kq.tree_levels(leaves, radices, true_nodes)
    weights = None
    if plan.em is not None:
        # Scores only of groups some release keeps (a row per group, in
        # `slot` order); the others draw nothing.
        used = np.flatnonzero(keep.any(axis=0))
        slot = np.full(g, -1, dtype=np.int64)
        slot[used] = np.arange(used.size)
        scores = em_scores(leaves[used], plan.quantiles)  # (G', K, B)
        weights = np.stack(
            [em_weights(m, scores[:, i]) for i, m in enumerate(plan.em)], axis=1
        )
    lo, hi = plan.bounds.bounds  # type: ignore[misc]
    width = (hi - lo) / b
    qs = np.array(plan.quantiles, dtype=np.float64)
    value, low, high = (np.full((n, g, k), np.nan) for _ in range(3))
    # Released (trial, group) pairs in trial-major order: noise for one
    # release (n = 1) is drawn in group order, the tree's first.
    trial_idx, group_idx = np.nonzero(keep)
    chunk = max(1, _CHUNK_NODES // (n_nodes + k * b))
    tree = plan.mechs["tree"]
    for start in range(0, trial_idx.shape[0], chunk):
        ti = trial_idx[start : start + chunk]
        gi = group_idx[start : start + chunk]
        noisy = add_integer_noise(tree, true_nodes[gi].ravel(), source).reshape(
            gi.shape[0], n_nodes
        )
        est, lo_b, hi_b = (np.empty((gi.shape[0], k), dtype=np.int64) for _ in range(3))
        _kq.tree_quantiles(
            noisy, radices, qs, plan.margins, plan.margins_high, est, lo_b, hi_b
        )
        if weights is not None:
            assert plan.em is not None
            # One ε for all quantiles, so one grid (G depends on ε only).
            est = select_exact(
                weights[slot[gi]].reshape(-1, b), plan.em[0].grid_bits, source
            ).reshape(-1, k)
        # Monotone in q (post-processing): the running maximum. The tree's
        # own estimates already are when its noisy total is >= 0. Each
        # interval is widened to hold its estimate: coverage can only grow.
        np.maximum.accumulate(est, axis=1, out=est)
        np.minimum(lo_b, est, out=lo_b)
        np.maximum(hi_b, est, out=hi_b)
        # Bin j is [lo + j·w, lo + (j + 1)·w): the estimate is its centre, the
        # interval runs from the low bin's left edge to the high bin's right.
        value[ti, gi] = np.clip(lo + (est + 0.5) * width, lo, hi)
        low[ti, gi] = np.clip(lo + lo_b * width, lo, hi)
        high[ti, gi] = np.clip(lo + (hi_b + 1) * width, lo, hi)
    return _QNoisy(keep, value, low, high)


def _publish_quantiles(plan: _QPlan, noisy: _QNoisy, receipt: Any) -> Any:
    inp = plan.inp
    group_idx = _order(inp, np.flatnonzero(noisy.keep[0]).astype(np.int64))
    k = len(plan.quantiles)
    columns: dict[str, Any] = {
        "quantile": np.tile(np.array(plan.quantiles, dtype=np.float64), group_idx.size),
        "value": noisy.value[0, group_idx].ravel(),
        "value_ci_low": noisy.low[0, group_idx].ravel(),
        "value_ci_high": noisy.high[0, group_idx].ravel(),
    }
    info = release_info(
        release=plan.name,
        cost=plan.cost,
        receipt=receipt,
        source=plan.source,
        confidence=plan.level,
        bounds=plan.bounds,
        noise=noise_infos(plan.mechs, plan.selection),
        selection=plan.selection,
        public=inp.public,
    )
    return finish_table(inp, np.repeat(group_idx, k), columns, info)


@dataclass(frozen=True)
class _Quantiles:
    """The steps of ``aggregate_quantiles`` (a ``_release.Statistic``)."""

    name: str = "aggregate_quantiles"

    def plan(self, request: Request) -> _QPlan:
        return _plan_quantiles(request)

    def bound(self, plan: _QPlan, source: RandomSource) -> _Bounded:
        return _bound_rows(
            plan.inp, plan.bounds, source, mode=_kq.MODE_HISTOGRAM, n_bins=plan.bins
        )

    def noise(
        self, plan: _QPlan, bounded: _Bounded, n: int, source: RandomSource
    ) -> _QNoisy:
        return _noisy_quantiles(plan, bounded, n, source)

    def publish(self, plan: _QPlan, noisy: _QNoisy, receipt: Any) -> Any:
        return _publish_quantiles(plan, noisy, receipt)

    def trials(self, plan: _QPlan, noisy: _QNoisy) -> TrialReleases:
        inp = plan.inp
        groups = inp.keys.to_pylist() if inp.by else [{}]
        # Every released number is a key: the estimate and both interval ends
        # of each group and quantile (the ends are separate selections).
        parts = ("value", "low", "high")
        keys = [
            {**key, "quantile": q, "part": part}
            for key in groups
            for q in plan.quantiles
            for part in parts
        ]
        k = len(plan.quantiles)
        present = np.repeat(noisy.keep, 3 * k, axis=1)
        stacked = np.stack([noisy.value, noisy.low, noisy.high], axis=-1)
        values = stacked.reshape(stacked.shape[0], -1)
        return TrialReleases(keys, present, values)


# ---------------------------------------------------------------------------
# Variance and standard deviation
# ---------------------------------------------------------------------------

VarianceKind = Literal["variance", "std"]


@dataclass
class _VPlan:
    kind: VarianceKind
    inp: GroupedInput
    bounds: ContributionBounds
    source: RandomSource
    level: float
    selection: Selection | None
    mechs: dict[str, mech.AdditiveMechanism]
    quantum: float
    quantum_sq: float
    cost: PrivacyLoss
    parameters: dict[str, Any]
    name: str


@dataclass
class _VNoisy:
    keep: AnyArray
    value: AnyArray
    low: AnyArray
    high: AnyArray


def _square_bounds(bounds: ContributionBounds) -> ContributionBounds:
    """The bounds of the squares (x - m)², in [0, h²], with the same L0 and L∞."""
    lo, hi = bounds.bounds  # type: ignore[misc]
    h = (hi - lo) / 2.0
    return dataclasses.replace(bounds, bounds=(0.0, h * h))


def _plan_variance(kind: VarianceKind, request: Request) -> _VPlan:
    inp, bounds = _prepare(request)
    selection, stat_budget = _split_selection(request.budget, inp, bounds)
    l0 = bounds.max_partitions_per_user
    lo, hi = bounds.bounds  # type: ignore[misc]
    mid = (lo + hi) / 2.0
    sq_bounds = _square_bounds(bounds)
    h2 = sq_bounds.bounds[1]  # type: ignore[index]
    q = fixed_point_quantum(bounds.bounds, centre=mid)
    q2 = fixed_point_quantum(sq_bounds.bounds, centre=h2 / 2.0)
    # Half of the budget for Q (its error usually dominates: its sensitivity
    # is h²/2 per value), a quarter each for N and S. Powers of two, so the
    # parts add up to the budget exactly in floating point.
    b_first, b_sq = stat_budget.split(0.5)
    b_count, b_sum = b_first.split(0.5)
    _, l1c, l2c = bounds.count_sensitivity()
    _, l1s, l2s = bounds.sum_sensitivity(centre=mid, quantum=q)
    _, l1q, l2q = sq_bounds.sum_sensitivity(centre=h2 / 2.0, quantum=q2)
    mechs = {
        "count": noise_mechanism(b_count, l1=l1c, l2=l2c, dimension=l0, integer=True),
        "sum": noise_mechanism(b_sum, l1=l1s, l2=l2s, dimension=l0, integer=False),
        "sum_of_squares": noise_mechanism(
            b_sq, l1=l1q, l2=l2q, dimension=l0, integer=False
        ),
    }
    opts = request.options
    parameters = {
        "kind": kind,
        "by": inp.by,
        "column": opts["column"],
        "max_partitions_per_user": l0,
        "max_contributions_per_partition": bounds.max_contributions_per_partition,
        "bounds": [lo, hi],
        "mechanisms": _mechanism_names(selection, mechs),
    }
    name = "aggregate_variance" if kind == "variance" else "aggregate_std"
    return _VPlan(
        kind=kind,
        inp=inp,
        bounds=bounds,
        source=request.source,
        level=request.confidence,
        selection=selection,
        mechs=mechs,
        quantum=q,
        quantum_sq=q2,
        cost=_cost(selection, mechs),
        parameters=parameters,
        name=name,
    )


def variance_from_noisy(
    n: AnyArray,
    s: AnyArray,
    sq: AnyArray,
    *,
    half_width: float,
    hn: float,
    hs: float,
    hq: float,
) -> tuple[AnyArray, AnyArray, AnyArray]:
    """Variance and interval from noisy N, centred S and centred squares Q.

    ``half_width`` is h = (hi - lo)/2; ``hn``, ``hs``, ``hq`` the noise
    half-widths of N, S and Q. With u = 1/N the variance is
    v = h²/2 + Q·u - S²·u², concave in u; the interval is its range over
    N ± hn (N - hn >= 1), S ± hs and Q ± hq, clamped to [0, h²]. Without a
    usable N the estimate is h²/2 and the interval [0, h²].
    """
    h2 = half_width * half_width
    nf = n.astype(np.float64)
    ok_n = nf >= 1.0
    safe = np.where(ok_n, nf, 1.0)
    est = np.where(ok_n, h2 / 2.0 + sq / safe - (s / safe) ** 2, h2 / 2.0)
    est = np.clip(est, 0.0, h2)
    n_lo = nf - hn
    box = n_lo >= 1.0
    u1 = 1.0 / np.where(box, nf + hn, 1.0)
    u2 = 1.0 / np.where(box, n_lo, 1.0)
    s_lo, s_hi = s - hs, s + hs
    s_min_sq = np.where((s_lo <= 0) & (s_hi >= 0), 0.0, np.minimum(s_lo**2, s_hi**2))
    s_max_sq = np.maximum(s_lo**2, s_hi**2)
    q_hi, q_lo = sq + hq, sq - hq
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = np.where(
            s_min_sq > 0,
            q_hi / (2.0 * np.where(s_min_sq > 0, s_min_sq, 1.0)),
            np.where(q_hi > 0, u2, u1),
        )
    u_star = np.clip(vertex, u1, u2)
    v_max = h2 / 2.0 + q_hi * u_star - s_min_sq * u_star**2
    f1 = q_lo * u1 - s_max_sq * u1**2
    f2 = q_lo * u2 - s_max_sq * u2**2
    v_min = h2 / 2.0 + np.minimum(f1, f2)
    low = np.where(box, np.clip(v_min, 0.0, h2), 0.0)
    high = np.where(box, np.clip(v_max, 0.0, h2), h2)
    # The estimate lies in the box, so low <= est <= high up to float rounding.
    return est, np.minimum(low, est), np.maximum(high, est)


def _noisy_variance(
    plan: _VPlan, bounded: _Bounded, n: int, source: RandomSource
) -> _VNoisy:
    g = bounded.rows.shape[0]
    keep = _selected(plan.selection, bounded.units, n, source)
    shape = (n, g)
    m = plan.mechs

    def tile(x: AnyArray) -> AnyArray:
        return np.broadcast_to(x, shape)[keep]

    noisy_n = add_integer_noise(m["count"], tile(bounded.rows), source)
    noisy_s = add_fixed_point_noise(m["sum"], tile(bounded.a), plan.quantum, source)
    noisy_q = add_fixed_point_noise(
        m["sum_of_squares"], tile(bounded.b), plan.quantum_sq, source
    )
    each = 1.0 - (1.0 - plan.level) / 3.0
    lo, hi = plan.bounds.bounds  # type: ignore[misc]
    est, low, high = variance_from_noisy(
        noisy_n,
        noisy_s,
        noisy_q,
        half_width=(hi - lo) / 2.0,
        hn=m["count"].accuracy(each),
        hs=m["sum"].accuracy(each),
        hq=m["sum_of_squares"].accuracy(each),
    )
    if plan.kind == "std":
        est, low, high = np.sqrt(est), np.sqrt(low), np.sqrt(high)
    value, lo_a, hi_a = (np.full(shape, np.nan) for _ in range(3))
    value[keep], lo_a[keep], hi_a[keep] = est, low, high
    return _VNoisy(keep, value, lo_a, hi_a)


def _publish_variance(plan: _VPlan, noisy: _VNoisy, receipt: Any) -> Any:
    inp = plan.inp
    group_idx = _order(inp, np.flatnonzero(noisy.keep[0]).astype(np.int64))
    name = plan.kind
    columns = {
        name: noisy.value[0, group_idx],
        f"{name}_ci_low": noisy.low[0, group_idx],
        f"{name}_ci_high": noisy.high[0, group_idx],
    }
    info = release_info(
        release=plan.name,
        cost=plan.cost,
        receipt=receipt,
        source=plan.source,
        confidence=plan.level,
        bounds=plan.bounds,
        noise=noise_infos(plan.mechs, plan.selection),
        selection=plan.selection,
        public=inp.public,
    )
    return finish_table(inp, group_idx, columns, info)


@dataclass(frozen=True)
class _Variance:
    """The steps of ``aggregate_variance`` / ``aggregate_std``."""

    kind: VarianceKind
    name: str

    def plan(self, request: Request) -> _VPlan:
        return _plan_variance(self.kind, request)

    def bound(self, plan: _VPlan, source: RandomSource) -> _Bounded:
        return _bound_rows(
            plan.inp,
            plan.bounds,
            source,
            mode=_kq.MODE_MOMENTS,
            quantum=plan.quantum,
            quantum_sq=plan.quantum_sq,
        )

    def noise(
        self, plan: _VPlan, bounded: _Bounded, n: int, source: RandomSource
    ) -> _VNoisy:
        return _noisy_variance(plan, bounded, n, source)

    def publish(self, plan: _VPlan, noisy: _VNoisy, receipt: Any) -> Any:
        return _publish_variance(plan, noisy, receipt)

    def trials(self, plan: _VPlan, noisy: _VNoisy) -> TrialReleases:
        inp = plan.inp
        keys = inp.keys.to_pylist() if inp.by else [{}]
        return TrialReleases(keys, noisy.keep.copy(), noisy.value.copy())


# ---------------------------------------------------------------------------
# Requests and public functions
# ---------------------------------------------------------------------------


def _request(statistic: Any, args: dict[str, Any], extra: dict[str, Any]) -> Request:
    """Validate the arguments that need no data, then build the request."""
    check_column_name(args["column"])
    by_list = column_list(args["by"])
    request = Request.of_arguments(statistic, args, {})
    name = statistic.name
    if args["bounds"] is None:
        raise InvalidParameterError(
            f"`bounds` is required: {name} clamps each value to bounds=(lo, hi); "
            "pass e.g. bounds=(0, 100)",
            parameter="bounds",
            value=None,
        )
    bounds = contribution_bounds(
        args["privacy_unit"],
        args["max_partitions_per_user"],
        args["max_contributions_per_partition"],
        args["bounds"],
        by_list,
    )
    options = {
        "by": by_list,
        "column": args["column"],
        "bounds": bounds,
        "public_groups": args["public_groups"],
        **extra,
    }
    return dataclasses.replace(request, options=MappingProxyType(options))


def _check_square_range(bounds: Any, name: str) -> None:
    lo, hi = bounds.bounds
    h2 = ((hi - lo) / 2.0) ** 2
    if not (MIN_BOUND_MAGNITUDE <= h2 <= MAX_BOUND_MAGNITUDE):
        raise InvalidParameterError(
            f"`bounds` of {name} must have ((hi - lo)/2)**2 between 2**-500 and "
            f"2**500, got bounds={bounds.bounds!r}; rescale the values",
            parameter="bounds",
            value=bounds.bounds,
        )


_SHARED_DOC = """
    privacy_unit : str or None
        Column identifying the privacy unit (normally a user id); required.
        ``None`` means event-level privacy, recorded on the receipt.
    epsilon, delta, rho : float, optional
        Laplace: ``epsilon`` (and ``delta`` > 0 when groups come from the
        data). Gaussian: ``epsilon`` and ``delta``, or ``rho`` (only with
        public groups or no ``by``).
    mechanism : {"laplace", "gaussian"}
        Noise distribution (exact discrete / granular noise either way).
    max_partitions_per_user : int
        L0: groups one unit may contribute to (default 1).
    max_contributions_per_partition : int
        L∞: values one unit may contribute to a group (default 1).
    public_groups : list or pyarrow.Table, optional
        Release exactly these groups. Without it, groups come from the data
        through partition selection (half of the budget; it costs ``delta``).
    confidence : float
        Level of each interval (default 0.95).
    accountant : Accountant, optional
        Charged the whole cost before any noise is drawn; a refused charge
        raises ``BudgetExceededError`` and nothing is spent.
    rng : SecureRandom or InsecureSeededRandom, optional
        Entropy source; secure by default.
    label, purpose, consent, invalid, return_info
        As for :func:`~loopkit_privacy.aggregate_count`."""


@release_function
def aggregate_quantiles(
    table: TableLike,
    *,
    column: str,
    quantiles: Sequence[float] = (0.5, 0.95),
    bounds: tuple[float, float],
    by: str | Sequence[str] | None = None,
    bins: int = DEFAULT_BINS,
    method: Method = "exponential",
    privacy_unit: str | None,
    epsilon: float | None = None,
    delta: float | None = None,
    rho: float | None = None,
    mechanism: MechanismName = "laplace",
    max_partitions_per_user: int = 1,
    max_contributions_per_partition: int = 1,
    public_groups: Any = None,
    confidence: float = 0.95,
    accountant: Accountant | None = None,
    rng: RandomSource | None = None,
    label: str | None = None,
    purpose: str | None = None,
    consent: Any = None,
    invalid: InvalidRows = "raise",
    return_info: bool = False,
) -> Any:
    """Several quantiles of a value column per group, from one budget.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The events.
    column : str
        Numeric value column (nulls are dropped; NaN/inf are refused).
    quantiles : sequence of float
        Strictly increasing numbers in [0, 1] (0.5 is the median).
    bounds : (float, float)
        Clamping range (lo < hi), which is also the range of the grid.
    by : str or list of str, optional
        Group-by column(s); ``None`` gives one set of quantiles.
    bins : int
        Grid resolution: a power of two from 16 to 65536 (default 1024).
        Estimates are bin centres, so the grid adds at most half a bin
        (hi - lo)/(2·bins) of error; finer grids add a little noise (more
        candidates, more tree nodes).
    method : {"exponential", "tree"}
        ``"exponential"`` (default): estimates by the exponential mechanism
        (3/4 of ε), intervals from a noisy tree (1/4); the most accurate
        for a few quantiles; pure ε-DP only (``mechanism="laplace"``).
        ``"tree"``: everything from one noisy tree; any number of quantiles
        for the same accuracy, and Gaussian noise or ``rho`` allowed.
    {shared}

    Returns
    -------
    Same family as ``table``
        One row per released group and quantile: the keys, ``quantile``,
        ``value``, ``value_ci_low``, ``value_ci_high``. Groups are sorted
        by key; the values of a group are non-decreasing in ``quantile``.

    Raises
    ------
    InvalidParameterError, SchemaError
        For bad parameters or columns (quantiles outside [0, 1] or not
        increasing, lo >= hi, ...); nothing is charged.
    BudgetExceededError
        When the accountant cannot afford the release; nothing is charged.

    Notes
    -----
    Privacy. After bounding, one unit adds at most L∞ values to each of at
    most L0 groups. Exponential mechanism (``method="exponential"``): the
    score of bin j for quantile q is -dist(q·N, [C(j-1), C(j)]) (C the
    running count), which such a unit moves by at most
    Δ_q = max(q, 1 - q)·L∞; each of the K quantiles of each group gets
    ε_em / (L0·K), so the K selections in each of the L0 groups a unit can
    touch compose to ε_em = 3/4 of the statistic's ε. Tree: ``levels``
    levels (1 up to 128 bins, 2 up to 4096, 3 above; see
    :func:`~loopkit_privacy.quantiles.radices_for`); one kept value adds 1
    to one node per level, so the node counts have L1 sensitivity
    L0·L∞·levels (Laplace) and L2 sensitivity √(L0·levels)·L∞ (Gaussian),
    and every node gets exact discrete noise calibrated to that with the
    rest of ε (all of it with ``method="tree"``). Sorting the estimates and
    the intervals are post-processing. With groups from the data, half of
    ε (and all of δ for Laplace) selects the groups first.

    Accuracy. With F(j) the tree's noisy count of values up to bin j and N
    its noisy total, the interval of quantile q is where F - q·N crosses
    ∓c_q (made monotone), c_q bounding the noise of F - q·N at any bin with
    probability 1 - (1 - confidence)/2 on each side; it is widened to hold
    the estimate. So each interval covers the q-th quantile (the smallest x
    with at least q·N values <= x) of the bounded, clamped values with
    probability at least ``confidence``. With ``method="tree"`` the
    estimate is where F - q·N crosses 0. Clamping: a quantile outside
    (lo, hi) is reported at the bound.

    References
    ----------
    Smith, "Privacy-preserving statistical estimation with optimal
    convergence rates", STOC 2011. Hay, Rastogi, Miklau & Suciu, "Boosting
    the accuracy of differentially private histograms through consistency",
    VLDB 2010. Qardaji, Yang & Li,
    "Understanding hierarchical methods for differentially private
    histograms", VLDB 2013. Gillenwater, Joseph & Kulesza, "Differentially
    private quantiles", ICML 2021.

    Examples
    --------
    >>> import polars as pl, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(3)
    >>> events = pl.DataFrame({{"user_id": list(range(3000)),
    ...                        "page": ["home", "docs"] * 1500,
    ...                        "ms": [float(i % 1000) for i in range(3000)]}})
    >>> out = lp.aggregate_quantiles(events, column="ms", bounds=(0, 1000), by="page",
    ...                              privacy_unit="user_id", epsilon=1.0,
    ...                              public_groups=["home", "docs"], rng=rng)
    >>> out.columns
    ['page', 'quantile', 'value', 'value_ci_low', 'value_ci_high']
    >>> out.height, bool((out["value_ci_low"] <= out["value"]).all())
    (4, True)
    """
    args = dict(locals())
    extra = {
        "quantiles": check_quantiles(quantiles),
        "bins": check_bins(bins),
        "method": check_method(method),
    }
    if extra["method"] == "exponential" and (mechanism != "laplace" or rho is not None):
        raise InvalidParameterError(
            "method='exponential' is pure ε-DP and takes `epsilon` (and `delta` "
            f"for groups from the data) with mechanism='laplace', got "
            f"mechanism={mechanism!r}, rho={rho!r}; for Gaussian noise or zCDP "
            "pass method='tree'",
            parameter="mechanism" if rho is None else "rho",
            value=rho if rho is not None else mechanism,
        )
    return _request(_Quantiles(), args, extra)


def _variance_request(kind: VarianceKind, args: dict[str, Any]) -> Request:
    name = "aggregate_variance" if kind == "variance" else "aggregate_std"
    request = _request(_Variance(kind, name), args, {})
    _check_square_range(request.options["bounds"], name)
    return request


@release_function
def aggregate_variance(
    table: TableLike,
    *,
    column: str,
    bounds: tuple[float, float],
    by: str | Sequence[str] | None = None,
    privacy_unit: str | None,
    epsilon: float | None = None,
    delta: float | None = None,
    rho: float | None = None,
    mechanism: MechanismName = "laplace",
    max_partitions_per_user: int = 1,
    max_contributions_per_partition: int = 1,
    public_groups: Any = None,
    confidence: float = 0.95,
    accountant: Accountant | None = None,
    rng: RandomSource | None = None,
    label: str | None = None,
    purpose: str | None = None,
    consent: Any = None,
    invalid: InvalidRows = "raise",
    return_info: bool = False,
) -> Any:
    """Noisy variance of a value column per group, values clamped to ``bounds``.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The events.
    column : str
        Numeric value column (nulls are dropped; NaN/inf are refused).
    bounds : (float, float)
        Clamping range (lo < hi); the variance always lies in
        [0, ((hi - lo)/2)²].
    by : str or list of str, optional
        Group-by column(s); ``None`` gives one overall variance.
    {shared}

    Returns
    -------
    Same family as ``table``
        Columns: the keys, ``variance``, ``variance_ci_low``,
        ``variance_ci_high``. The population variance (ddof = 0) of the
        bounded values; groups sorted by key.

    Raises
    ------
    InvalidParameterError, SchemaError
        For bad parameters or columns; nothing is charged.
    BudgetExceededError
        When the accountant cannot afford the release.

    Notes
    -----
    Privacy. Three noisy statistics: the sum of squares gets half of the
    (post-selection) budget, the count and the sum a quarter each: the row
    count N (L1 = L0·L∞), the sum S of values centred on the
    midpoint m (L1 = L0·L∞·h, h = (hi - lo)/2) and the sum Q of centred
    squares (x - m)² - h²/2 (L1 = L0·L∞·h²/2); L2 sensitivities with √L0 in
    place of L0. Sums are exact fixed-point integers with granular noise.
    The variance h²/2 + Q/N - (S/N)², clamped to [0, h²], is
    post-processing; so is its interval: the range of the formula over the
    three noise intervals at 1 - (1 - confidence)/3 each, which covers the
    variance of the bounded data with probability at least ``confidence``.
    Values outside the bounds are clamped, which can only shrink the
    variance: the interval is honest about the clamped data, not the raw.
    With groups from the data, half of ε selects the groups.

    Examples
    --------
    >>> import pyarrow as pa, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(3)
    >>> t = pa.table({{"user_id": list(range(4000)), "x": [float(i % 2) for i in range(4000)]}})
    >>> out = lp.aggregate_variance(t, column="x", bounds=(0, 1), privacy_unit="user_id",
    ...                             epsilon=1.0, rng=rng)
    >>> out.column_names
    ['variance', 'variance_ci_low', 'variance_ci_high']
    >>> 0.0 <= out["variance"][0].as_py() <= 0.25
    True
    """
    return _variance_request("variance", dict(locals()))


@release_function
def aggregate_std(
    table: TableLike,
    *,
    column: str,
    bounds: tuple[float, float],
    by: str | Sequence[str] | None = None,
    privacy_unit: str | None,
    epsilon: float | None = None,
    delta: float | None = None,
    rho: float | None = None,
    mechanism: MechanismName = "laplace",
    max_partitions_per_user: int = 1,
    max_contributions_per_partition: int = 1,
    public_groups: Any = None,
    confidence: float = 0.95,
    accountant: Accountant | None = None,
    rng: RandomSource | None = None,
    label: str | None = None,
    purpose: str | None = None,
    consent: Any = None,
    invalid: InvalidRows = "raise",
    return_info: bool = False,
) -> Any:
    """Noisy standard deviation of a value column per group (√ of the variance).

    The same release as :func:`aggregate_variance` (same cost, same noise),
    reported as the square root: ``std``, ``std_ci_low``, ``std_ci_high``
    (the square roots of the variance's interval, which cover the standard
    deviation exactly when the variance's cover the variance).

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The events.
    column : str
        Numeric value column.
    bounds : (float, float)
        Clamping range (lo < hi).
    by : str or list of str, optional
        Group-by column(s).
    {shared}

    Returns
    -------
    Same family as ``table``
        Columns: the keys, ``std``, ``std_ci_low``, ``std_ci_high``.

    Raises
    ------
    InvalidParameterError, SchemaError
        For bad parameters or columns; nothing is charged.
    BudgetExceededError
        When the accountant cannot afford the release.

    Notes
    -----
    Privacy. As :func:`aggregate_variance`; the square root is
    post-processing.

    Examples
    --------
    >>> import pyarrow as pa, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(3)
    >>> t = pa.table({{"user_id": list(range(4000)), "x": [float(i % 2) for i in range(4000)]}})
    >>> out = lp.aggregate_std(t, column="x", bounds=(0, 1), privacy_unit="user_id",
    ...                        epsilon=1.0, rng=rng)
    >>> out.column_names
    ['std', 'std_ci_low', 'std_ci_high']
    """
    return _variance_request("std", dict(locals()))


for _f in (aggregate_quantiles, aggregate_variance, aggregate_std):
    assert _f.__doc__ is not None
    _f.__doc__ = (
        _f.__doc__.replace("{shared}", _SHARED_DOC.strip("\n").lstrip())
        .replace("{{", "{")
        .replace("}}", "}")
    )
