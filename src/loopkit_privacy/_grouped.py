"""Building blocks of the grouped statistics (the ``aggregate_*`` family and newer ones).

A grouped statistic reads a table with group keys, a privacy unit and maybe a
value column (:func:`prepare_grouped`), fixes the contribution bounds
(:func:`contribution_bounds`), chooses its groups either from the caller's
``public_groups`` or by differentially private partition selection
(:func:`make_selection`, :class:`Selection`), adds exact noise
(:func:`add_integer_noise`, :func:`add_fixed_point_noise`) and publishes one
row per released group, sorted by key (:func:`finish_table`,
:func:`sorted_keys_order`) with its :class:`~loopkit_privacy.ReleaseInfo`
(:func:`release_info`). Each statistic keeps only what is its own; the steps
they share run in :mod:`loopkit_privacy._release`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from loopkit_privacy import _calibration as cal
from loopkit_privacy import mechanisms as mech
from loopkit_privacy import tables
from loopkit_privacy._info import NoiseInfo, ReleaseInfo
from loopkit_privacy._release import Budget, noise_mechanism, publish, read_with_consent
from loopkit_privacy._typing import AnyArray
from loopkit_privacy._validate import check_positive_int
from loopkit_privacy.bounding import ContributionBounds
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.loss import ApproxDP, PrivacyLoss
from loopkit_privacy.random import RandomSource
from loopkit_privacy.selection import (
    MAX_MIN_USERS,
    NoisyCountSelection,
    PartitionSelection,
    partition_selection,
)

__all__ = [
    "MAX_THRESHOLD",
    "GroupedInput",
    "Selection",
    "add_fixed_point_noise",
    "add_integer_noise",
    "check_column_name",
    "check_unit_and_keys",
    "column_list",
    "contribution_bounds",
    "finish_table",
    "make_selection",
    "n_groups",
    "noise_infos",
    "prepare_grouped",
    "release_info",
    "selection_threshold",
    "sorted_keys_order",
]

#: Thresholds are capped here (no count of distinct units comes close), so
#: they stay comparable with int64 noisy counts.
MAX_THRESHOLD = 1 << 62

# ---------------------------------------------------------------------------
# Privacy parameters and budget split
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# Partition selection
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """How a release chooses its groups from the data, and what that costs.

    ``mechanism`` is a :class:`~loopkit_privacy.selection.PartitionSelection`
    (Laplace mode, and the keep-or-drop selection of every mode), or, for a
    Gaussian count whose noisy distinct-user counts are also released, the
    discrete Gaussian ``gaussian`` mechanism thresholded at ``threshold``.
    ``noisy_counts`` says whether :meth:`select` returns noisy user counts
    that the release may publish (within ``cost``).
    """

    threshold: int
    delta: float
    cost: PrivacyLoss
    noisy_counts: bool
    mechanism: PartitionSelection | None = None
    gaussian: mech.AdditiveMechanism | None = None
    min_users: int = 1

    @property
    def name(self) -> str:
        """The mechanism's name (receipts, ``ReleaseInfo``)."""
        if self.mechanism is not None:
            return self.mechanism.name
        assert self.gaussian is not None
        return self.gaussian.name

    @property
    def scale(self) -> float:
        """The scale of the noise on user counts (0 for keep-or-drop)."""
        if isinstance(self.mechanism, NoisyCountSelection):
            return self.mechanism.scale
        return 0.0 if self.gaussian is None else self.gaussian.scale

    def select(
        self, users: AnyArray, source: RandomSource
    ) -> tuple[AnyArray, AnyArray | None]:
        """Keep mask (and noisy user counts, when ``noisy_counts``) per group.

        A group with no bounded user is never kept, whatever the noise:
        its key comes only from rows that bounding dropped.
        """
        if self.mechanism is not None:
            return self.mechanism.select(users, source)
        assert self.gaussian is not None
        shift = self.min_users - 1  # the pre-threshold, as in the selection module
        shifted = np.maximum(users - shift, 0)
        noisy = add_integer_noise(self.gaussian, shifted, source)
        keep = (noisy >= self.threshold - shift) & (shifted > 0)
        return keep, noisy + shift

    def accuracy(self, confidence: float) -> float:
        """Half-width of the noisy user counts at ``confidence``."""
        if isinstance(self.mechanism, NoisyCountSelection):
            return self.mechanism.accuracy(confidence)
        assert self.gaussian is not None
        return self.gaussian.accuracy(confidence)


def selection_threshold(
    noise: mech.AdditiveMechanism, l0: int, epsilon: float, delta: float
) -> int:
    """Smallest τ with L0 · P(Z >= τ - 1) <= p*, p* = δ / (e^ε + δ).

    A group that exists only because of one user has a true distinct-user
    count of 1 and is released when 1 + Z >= τ. One user creates at most L0
    such groups. Bounding the chance that any is released by p* gives
    (ε, δ) for the whole release in both directions of neighbouring (the
    e^ε factor covers removing a user, where the other outputs must also be
    rescaled).
    """
    # In logs: e^ε overflows a float from ε ≈ 710 on, and the target can be
    # far below the smallest float.
    log_target = (
        math.log(delta)
        - (epsilon + math.log1p(delta * math.exp(-epsilon)))
        - math.log(l0)
    )
    if noise._lap is not None:
        log_q = -math.ldexp(1.0, noise._lap.m) / noise._lap.t
        log_1q = math.log1p(math.exp(log_q))
        # P(Z >= k) = q^k / (1 + q) for k >= 1.
        k = max(1, math.ceil((log_target + log_1q) / log_q))
        while k * log_q - log_1q > log_target + math.log1p(-1e-12):
            k += 1
        # A threshold beyond any possible count keeps nothing (still private).
        return min(k, MAX_THRESHOLD - 1) + 1
    assert noise._dg is not None
    sigma = noise._dg.sigma
    # The discrete Gaussian is σ²-subgaussian (CKS 2020), so P(Z >= k) <=
    # exp(-k²/(2σ²)) <= target at k_hi: a valid threshold even where the
    # target underflows. Then the smallest k with P(Z >= k) <= target by the
    # exact tail bounds, by bisection (monotone in k; a bounded loop).
    k_hi = max(1, math.ceil(sigma * math.sqrt(-2.0 * log_target)))
    target = math.exp(log_target)
    if target > 0.0:
        lo_k = 1
        # P(Z >= k) = P(Z > k - 1), bounded above.
        while lo_k < k_hi:
            mid = (lo_k + k_hi) // 2
            if cal.dg_tail_bounds(float(mid - 1), sigma)[1] <= target:
                k_hi = mid
            else:
                lo_k = mid + 1
    return min(k_hi, MAX_THRESHOLD - 1) + 1


def make_selection(
    budget: Budget,
    bounds: ContributionBounds,
    *,
    noisy_counts: bool,
    min_users: int = 1,
) -> Selection:
    """Partition selection on distinct-user counts: (ε, δ) from ``budget``.

    With ``noisy_counts`` the selection's noisy user counts are released
    too (counts of distinct users, top-n): Laplace mode thresholds the
    optimal truncated noise (:func:`~loopkit_privacy.selection.partition_selection`
    with ``noisy_counts=True``), Gaussian mode thresholds discrete Gaussian
    noise (half of δ for the noise, half for unseen groups). Without, the
    optimal keep-or-drop selection is used in both modes. ``min_users`` is
    the pre-threshold: a group of fewer users is never kept (the mechanism
    sees max(0, n − min_users + 1), which still changes by at most 1).
    """
    l0 = bounds.max_partitions_per_user
    _, l1, l2 = bounds.units_sensitivity()
    min_users = min(min_users, MAX_MIN_USERS)
    if budget.rho is not None:
        raise InvalidParameterError(
            "groups taken from the data need partition selection, which costs "
            "`delta`; with `rho` pass `public_groups=[...]` (or use epsilon/delta)",
            parameter="public_groups",
            value=None,
        )
    if budget.delta is None:
        raise InvalidParameterError(
            "groups taken from the data need partition selection, which costs "
            "`delta` > 0: pass e.g. delta=1e-6, or list the groups in "
            "`public_groups=[...]`",
            parameter="delta",
            value=None,
        )
    assert budget.epsilon is not None
    cost = ApproxDP(budget.epsilon, budget.delta)
    if budget.mechanism == "laplace" or not noisy_counts:
        sel = partition_selection(
            epsilon=budget.epsilon,
            delta=budget.delta,
            max_partitions_per_user=l0,
            noisy_counts=noisy_counts,
            min_users=min_users,
        )
        return Selection(
            sel.threshold, budget.delta, cost, noisy_counts, mechanism=sel,
            min_users=min_users,
        )  # fmt: skip
    # Half of δ for the Gaussian noise itself, half for unseen groups.
    half = Budget("gaussian", budget.epsilon, budget.delta / 2.0, None)
    noise = noise_mechanism(half, l1=l1, l2=l2, dimension=l0, integer=True)
    sel_delta = budget.delta / 2.0
    tau = selection_threshold(noise, l0, budget.epsilon, sel_delta)
    return Selection(
        tau + min_users - 1, sel_delta, cost, True, gaussian=noise, min_users=min_users
    )


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


@dataclass
class GroupedInput:
    family: tables.Family
    units: AnyArray | None
    n_units: int
    groups: AnyArray
    keys: pa.Table
    public: bool
    values: AnyArray | None
    by: list[str]


def column_list(by: Any) -> list[str]:
    """``by`` as a list of column names: None, a name, or a list/tuple of names."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    if not isinstance(by, list | tuple):
        raise InvalidParameterError(
            f"`by` must be a column name or a list of column names, got an object "
            f"of type {type(by).__name__}; pass e.g. by='page' or by=['page', 'country']",
            parameter="by",
            value=by,
        )
    out = list(by)
    for name in out:
        if not isinstance(name, str):
            raise InvalidParameterError(
                f"`by` must name columns (strings), got {name!r}",
                parameter="by",
                value=by,
            )
    if len(set(out)) != len(out):
        raise InvalidParameterError(
            f"`by` names a column twice: {out!r}; list each column once",
            parameter="by",
            value=by,
        )
    return out


def check_unit_and_keys(privacy_unit: Any, by_list: list[str]) -> None:
    """The privacy unit is a column name (or None) and not one of the group keys."""
    if privacy_unit is not None and not isinstance(privacy_unit, str):
        raise InvalidParameterError(
            f"`privacy_unit` must be a column name or None (event-level), got {privacy_unit!r}",
            parameter="privacy_unit",
            value=privacy_unit,
        )
    if privacy_unit is not None and privacy_unit in by_list:
        raise InvalidParameterError(
            f"the privacy unit {privacy_unit!r} cannot also be a group key in "
            "`by`: each group would then reveal a user",
            parameter="by",
            value=by_list,
        )


def prepare_grouped(
    table: Any,
    *,
    by: str | Sequence[str] | None,
    privacy_unit: str | None,
    value_column: str | None,
    public_groups: Any,
    purpose: str | None = None,
    consent: Any = None,
    invalid: str = "raise",
) -> GroupedInput:
    by_list = column_list(by)
    check_unit_and_keys(privacy_unit, by_list)
    needed = (
        by_list
        + ([privacy_unit] if privacy_unit else [])
        + ([value_column] if value_column else [])
    )
    public = public_groups is not None
    # Public groups are parsed before the data is read: their errors, and the
    # released key types, depend on the caller's arguments only.
    keys_public = tables.public_key_table(public_groups, by_list) if public else None
    data, family = read_with_consent(
        table,
        needed,
        privacy_unit=privacy_unit,
        purpose=purpose,
        consent=consent,
        values=[value_column] if value_column else [],
    )
    for name in by_list:
        tables.check_key_column(data, name)
    if privacy_unit is not None:
        tables.check_key_column(data, privacy_unit, role="privacy-unit")
    if invalid == "drop":
        data = tables.drop_invalid(
            data,
            units=[privacy_unit] if privacy_unit else [],
            values=[value_column] if value_column else [],
        )
    values = valid = None
    if value_column is not None:
        values, valid = tables.numeric_column(data, value_column)
    units, n_units = (None, 0)
    if privacy_unit is not None:
        units, n_units = tables.unit_codes(data, privacy_unit)
    if keys_public is not None:
        codes = tables.match_public_keys(data, by_list, keys_public)
        keys = keys_public
    else:
        grouped = tables.group_codes(data, by_list)
        codes, keys = grouped.codes, grouped.keys
    if valid is not None:
        codes = np.where(valid, codes, -1)  # null values are dropped
    return GroupedInput(family, units, n_units, codes, keys, public, values, by_list)


def n_groups(inp: GroupedInput) -> int:
    n: int = inp.keys.num_rows
    return n if inp.by else max(1, n)


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


def sorted_keys_order(keys: pa.Table, by: list[str]) -> AnyArray:
    """Order released groups by key, never by first appearance in the data."""
    if keys.num_rows == 0:
        return np.zeros(0, dtype=np.int64)
    indexed = keys.append_column(
        "__row__", pa.array(np.arange(keys.num_rows, dtype=np.int64))
    )
    ordered = indexed.sort_by([(n, "ascending") for n in by])  # nulls last
    return np.asarray(ordered.column("__row__").to_numpy(), dtype=np.int64)


def finish_table(
    inp: GroupedInput,
    group_idx: AnyArray,
    columns: dict[str, Any],
    info: ReleaseInfo,
) -> Any:
    if inp.by:
        key_part = inp.keys.take(pa.array(group_idx, type=pa.int64()))
        arrays = {name: key_part.column(name) for name in inp.by}
    else:
        arrays = {}
    for name, col in columns.items():
        arrays[name] = pa.array(col)
    return publish(pa.table(arrays), inp.family, info)


def noise_infos(
    mechs: dict[str, mech.AdditiveMechanism], selection: Selection | None
) -> tuple[NoiseInfo, ...]:
    out = []
    if selection is not None:
        out.append(NoiseInfo("selection", selection.name, selection.scale, None))
    out += [
        NoiseInfo(stat, m.name, m.scale, m.granularity) for stat, m in mechs.items()
    ]
    return tuple(out)


def release_info(
    *,
    release: str,
    cost: PrivacyLoss,
    receipt: Any,
    source: RandomSource,
    confidence: float,
    bounds: ContributionBounds,
    noise: tuple[NoiseInfo, ...],
    selection: Selection | None,
    public: bool,
) -> ReleaseInfo:
    return ReleaseInfo(
        release=release,
        cost=cost,
        receipt=None if receipt is None else str(getattr(receipt, "id", receipt)),
        insecure=bool(source.insecure),
        confidence=confidence,
        privacy_unit=bounds.privacy_unit,
        max_partitions_per_user=bounds.max_partitions_per_user,
        max_contributions_per_partition=bounds.max_contributions_per_partition,
        bounds=bounds.bounds,
        noise=noise,
        groups="public" if public else ("selected" if selection else "total"),
        selection_threshold=None if selection is None else selection.threshold,
    )


def add_integer_noise(
    m: mech.AdditiveMechanism, true: AnyArray, source: RandomSource
) -> AnyArray:
    """Exact integer noise (integer mechanisms)."""
    out: AnyArray = true + m._sample(true.shape[0], source)
    return out


def add_fixed_point_noise(
    m: mech.AdditiveMechanism, units: AnyArray, quantum: float, source: RandomSource
) -> AnyArray:
    """Noise on fixed-point sums: round to the mechanism's grid exactly, then add.

    ``units`` are integers in multiples of ``quantum``; the grid g is a power
    of two >= quantum, so rounding to it is an integer shift (ties to even).
    """
    g = m.granularity
    assert g is not None
    # Both are powers of two, and the fixed-point quantum is chosen 2**9 or
    # more below any mechanism grid (see fixed_point_quantum), so k >= 0.
    k = math.frexp(g)[1] - math.frexp(quantum)[1]
    if k < 0:
        raise AssertionError("fixed-point quantum coarser than the noise grid")
    if k == 0:
        on_grid = units
    else:
        quotient = units >> k
        rem = units - (quotient << k)
        half = np.int64(1) << np.int64(k - 1)
        up = (rem > half) | ((rem == half) & ((quotient & 1) == 1))
        on_grid = quotient + up.astype(np.int64)
    z = m._sample(units.shape[0], source)
    out: AnyArray = (on_grid + z).astype(np.float64) * g
    return out


def contribution_bounds(
    privacy_unit: str | None,
    max_partitions_per_user: int,
    max_contributions_per_partition: int,
    bounds: Any,
    by: list[str],
) -> ContributionBounds:
    if privacy_unit is None:
        # ContributionBounds refuses limits other than 1 at event level.
        return ContributionBounds(
            None, max_partitions_per_user, max_contributions_per_partition, bounds
        )
    # Without groups there is one partition: L0 is validated, then 1.
    check_positive_int(max_partitions_per_user, "max_partitions_per_user")
    return ContributionBounds(
        privacy_unit,
        max_partitions_per_user if by else 1,
        max_contributions_per_partition,
        bounds,
    )


def check_column_name(column: Any) -> None:
    if not isinstance(column, str):
        raise InvalidParameterError(
            f"`column` must be a column name, got {column!r}",
            parameter="column",
            value=column,
        )
