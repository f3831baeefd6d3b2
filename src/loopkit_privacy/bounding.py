"""Contribution bounding: what makes user-level sensitivity finite.

Each privacy unit (user) keeps at most ``max_partitions_per_user`` groups
(L0), at most ``max_contributions_per_partition`` rows in each (L∞), and its
values are clamped to ``bounds``. Sensitivities of every release are derived
from these enforced bounds (see :meth:`ContributionBounds.count_sensitivity`
and friends), never guessed.

Examples
--------
>>> b = ContributionBounds(privacy_unit="user_id", max_partitions_per_user=4,
...                        max_contributions_per_partition=2, bounds=(0.0, 10.0))
>>> b.count_sensitivity()
(2, 8, 4.0)
>>> b.sum_sensitivity()
(20.0, 80.0, 40.0)
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from loopkit_privacy._kernels import bounding as _kb
from loopkit_privacy._typing import AnyArray
from loopkit_privacy._validate import check_bounds, check_positive_int
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.noise import THREADS, executor
from loopkit_privacy.random import RandomSource

__all__ = ["BoundedAggregates", "ContributionBounds", "bound_and_reduce", "check_sizes"]

#: Largest L∞ accepted (keeps fixed-point sums far from int64 overflow).
MAX_CONTRIBUTIONS = 1 << 31
#: Largest L0 accepted: the bounding kernel's work per row grows with L0.
MAX_PARTITIONS = 1 << 16
#: Value bounds must have magnitudes in [2**-500, 2**500] (0 allowed): the
#: fixed-point quantum and every noise grid stay normal floats, and sums of
#: 2**32 rows plus noise stay far from overflow.
MIN_BOUND_MAGNITUDE = 2.0**-500
MAX_BOUND_MAGNITUDE = 2.0**500
#: Largest number of rows per call (fixed-point sums of 2**30 units per row fit in int64).
MAX_ROWS = 1 << 32
#: Largest number of groups per call (group codes are int32 in the kernel).
MAX_GROUPS = 1 << 31
_FIXED_POINT_BITS = 30
# Bounding runs on several threads from this many kept rows on.
_PARALLEL_ROWS = 1 << 20


@dataclass(frozen=True)
class ContributionBounds:
    """The contribution limits a release enforces for each privacy unit.

    Parameters
    ----------
    privacy_unit : str or None
        The column identifying a unit (normally a user id). ``None`` means
        event-level privacy: every row is its own unit (then the limits are 1).
    max_partitions_per_user : int
        L0: groups a unit may contribute to (>= 1).
    max_contributions_per_partition : int
        L∞: rows a unit may contribute to one group (>= 1).
    bounds : (float, float), optional
        Clamping range of values (needed for sums and averages).

    Examples
    --------
    >>> ContributionBounds(privacy_unit=None).max_partitions_per_user
    1
    """

    privacy_unit: str | None
    max_partitions_per_user: int = 1
    max_contributions_per_partition: int = 1
    bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.privacy_unit is not None and (
            not isinstance(self.privacy_unit, str) or not self.privacy_unit
        ):
            raise InvalidParameterError(
                "`privacy_unit` must be a column name (or None for event-level "
                f"privacy), got {self.privacy_unit!r}; pass e.g. privacy_unit='user_id'",
                parameter="privacy_unit",
                value=self.privacy_unit,
            )
        l0 = check_positive_int(self.max_partitions_per_user, "max_partitions_per_user")
        linf = check_positive_int(
            self.max_contributions_per_partition, "max_contributions_per_partition"
        )
        if linf > MAX_CONTRIBUTIONS:
            raise InvalidParameterError(
                f"`max_contributions_per_partition` must be <= 2**31, got {linf!r}",
                parameter="max_contributions_per_partition",
                value=linf,
            )
        if l0 > MAX_PARTITIONS:
            raise InvalidParameterError(
                f"`max_partitions_per_user` must be <= 2**16 = {MAX_PARTITIONS}, "
                f"got {l0!r}; bound each user to fewer groups (or list the groups "
                "in `public_groups`, which caps it at their number)",
                parameter="max_partitions_per_user",
                value=l0,
            )
        if self.privacy_unit is None and (l0 != 1 or linf != 1):
            raise InvalidParameterError(
                "with event-level privacy (`privacy_unit=None`) each row is its own "
                "unit, so `max_partitions_per_user` and `max_contributions_per_partition` "
                f"must be 1, got {l0!r} and {linf!r}",
                parameter="privacy_unit",
                value=None,
            )
        object.__setattr__(self, "max_partitions_per_user", l0)
        object.__setattr__(self, "max_contributions_per_partition", linf)
        if self.bounds is not None:
            lo, hi = check_bounds(self.bounds)
            for v in (lo, hi, hi - lo):
                if v != 0 and not (
                    MIN_BOUND_MAGNITUDE <= abs(v) <= MAX_BOUND_MAGNITUDE
                ):
                    raise InvalidParameterError(
                        f"`bounds` must have lo, hi and hi - lo of magnitude "
                        f"between 2**-500 and 2**500 (or 0), got {self.bounds!r}; "
                        "rescale the values (e.g. to milliseconds or kilobytes)",
                        parameter="bounds",
                        value=self.bounds,
                    )
            object.__setattr__(self, "bounds", (lo, hi))

    @property
    def magnitude(self) -> float:
        """max(|lo|, |hi|) of the value bounds.

        Raises
        ------
        InvalidParameterError
            When no ``bounds`` were given.

        Examples
        --------
        >>> ContributionBounds(privacy_unit="user_id", bounds=(-5.0, 2.0)).magnitude
        5.0
        """
        if self.bounds is None:
            raise InvalidParameterError(
                "`bounds=(lo, hi)` is required for sums and averages",
                parameter="bounds",
            )
        lo, hi = self.bounds
        return max(abs(lo), abs(hi))

    def count_sensitivity(self) -> tuple[int, int, float]:
        """(per-group, L1, L2) sensitivity of the row counts per group.

        One unit changes each of at most L0 groups by at most L∞ rows.

        Returns
        -------
        (int, int, float)
            L∞, L0·L∞ and √L0·L∞.

        Examples
        --------
        >>> b = ContributionBounds(privacy_unit="user_id", max_partitions_per_user=4,
        ...                        max_contributions_per_partition=3)
        >>> b.count_sensitivity()
        (3, 12, 6.0)
        """
        l0, linf = self.max_partitions_per_user, self.max_contributions_per_partition
        return linf, l0 * linf, math.sqrt(l0) * linf

    def units_sensitivity(self) -> tuple[int, int, float]:
        """(per-group, L1, L2) sensitivity of distinct units per group: (1, L0, √L0).

        A unit is counted at most once in each of at most L0 groups, whatever
        L∞ is.

        Returns
        -------
        (int, int, float)

        Examples
        --------
        >>> b = ContributionBounds(privacy_unit="user_id", max_partitions_per_user=4,
        ...                        max_contributions_per_partition=3)
        >>> b.units_sensitivity()
        (1, 4, 2.0)
        """
        l0 = self.max_partitions_per_user
        return 1, l0, math.sqrt(l0)

    def sum_sensitivity(
        self, *, centre: float = 0.0, quantum: float = 0.0
    ) -> tuple[float, float, float]:
        """(per-group, L1, L2) sensitivity of the clamped sums, values shifted by ``centre``.

        One unit adds at most L∞ values in [lo, hi] to each of at most L0
        groups; each value is shifted and rounded to a multiple of ``quantum``
        (which can add up to half a quantum, plus one float rounding, to its
        magnitude; a whole quantum is allowed for).

        Parameters
        ----------
        centre : float
            Subtracted from every clamped value before summing.
        quantum : float
            The fixed-point step of the sums (0 for exact values).

        Returns
        -------
        (float, float, float)

        Raises
        ------
        InvalidParameterError
            When no ``bounds`` were given.

        Examples
        --------
        >>> b = ContributionBounds(privacy_unit="user_id", max_partitions_per_user=4,
        ...                        max_contributions_per_partition=2, bounds=(0.0, 10.0))
        >>> b.sum_sensitivity()
        (20.0, 80.0, 40.0)
        >>> b.sum_sensitivity(centre=5.0)  # values centred on the midpoint
        (10.0, 40.0, 20.0)
        """
        if self.bounds is None:
            raise InvalidParameterError(
                "`bounds=(lo, hi)` is required for sums and averages",
                parameter="bounds",
            )
        lo, hi = self.bounds
        m = max(abs(lo - centre), abs(hi - centre)) + quantum
        l0, linf = self.max_partitions_per_user, self.max_contributions_per_partition
        per = linf * m
        return per, l0 * per, math.sqrt(l0) * per


@dataclass(frozen=True)
class BoundedAggregates:
    """Per-group totals after bounding (all int64 arrays of length n_groups).

    ``sum_units`` holds Σ round((clamp(v) - centre)/quantum) over kept rows:
    the exact clamped sum in fixed point, independent of row order.
    """

    rows: AnyArray
    units: AnyArray
    sum_units: AnyArray
    quantum: float
    dropped_rows: int


def fixed_point_quantum(
    bounds: tuple[float, float] | None, *, centre: float = 0.0
) -> float:
    """Power-of-two quantum of the fixed-point sums: 2**(ceil(log2 m) - 30).

    ``m`` is the largest magnitude of a clamped value minus ``centre``. A row
    then contributes at most 2**30 quanta, so 2**32 rows cannot overflow
    int64, and every noise grid (at least 2**-20 of the per-group
    sensitivity) is a power-of-two multiple of the quantum.

    Examples
    --------
    >>> fixed_point_quantum((0.0, 100.0)) == 2.0**-23
    True
    """
    if bounds is None:
        return 1.0
    m = max(abs(bounds[0] - centre), abs(bounds[1] - centre))
    if m == 0:
        return 1.0
    return math.ldexp(1.0, math.frexp(m)[1] - _FIXED_POINT_BITS)


def check_sizes(n_rows: int, n_groups: int) -> None:
    """Refuse inputs the fixed-point kernels cannot handle exactly.

    Callers run this before charging any budget. Group codes are stored as
    int32 inside the bounding kernel, and fixed-point sums of 2**32 rows of
    at most 2**30 quanta each fit in int64.

    Examples
    --------
    >>> check_sizes(10, 3)
    """
    if n_rows >= MAX_ROWS:
        raise InvalidParameterError(
            f"a single release handles fewer than 2**32 rows, got {n_rows}; split the table",
            parameter="table",
            value=n_rows,
        )
    if n_groups >= MAX_GROUPS:
        raise InvalidParameterError(
            f"a single release handles fewer than 2**31 groups, got {n_groups}; "
            "group by fewer or coarser columns",
            parameter="by",
            value=n_groups,
        )


def bound_and_reduce(
    units: AnyArray | None,
    n_units: int,
    groups: AnyArray,
    n_groups: int,
    bounds: ContributionBounds,
    *,
    rng: RandomSource,
    values: AnyArray | None = None,
    centre: float = 0.0,
) -> BoundedAggregates:
    """Apply the contribution bounds and reduce rows into per-group totals.

    Parameters
    ----------
    units : int64 array or None
        Dense privacy-unit codes (``None`` for event-level privacy).
    n_units : int
        Number of distinct units.
    groups : int64 array
        Dense group codes; -1 drops the row (e.g. a null value, a group outside
        the public list).
    n_groups : int
        Number of groups.
    bounds : ContributionBounds
        The limits to enforce.
    rng : RandomSource
        Supplies the salt of the keyed hash that chooses a unit's partitions.
    values : float64 array, optional
        Values to clamp and sum.
    centre : float
        Subtracted from each clamped value before it is summed (the midpoint
        of the bounds for normalised averages).

    Returns
    -------
    BoundedAggregates
    """
    check_sizes(groups.shape[0], n_groups)
    rows = np.zeros(n_groups, dtype=np.int64)
    unit_counts = np.zeros(n_groups, dtype=np.int64)
    sums = np.zeros(n_groups, dtype=np.int64)
    q = fixed_point_quantum(bounds.bounds, centre=centre)
    lo, hi = bounds.bounds if bounds.bounds is not None else (0.0, 0.0)
    vals = values if values is not None else np.empty(0, dtype=np.float64)
    if units is None:
        _kb.reduce_unbounded(groups, vals, lo, hi, centre, q, rows, sums)
        return BoundedAggregates(rows, rows.copy(), sums, q, 0)
    salt = rng.words(1)[0]
    l0 = np.int64(bounds.max_partitions_per_user)
    linf = np.int64(bounds.max_contributions_per_partition)
    bits = _kb.bucket_bits(l0)
    starts, uloc, grp, vals_p = _kb.partition_by_user(
        units, groups, vals, np.int64(n_units), bits
    )
    n_buckets = starts.shape[0] - 1
    common = (l0, linf, lo, hi, centre, q, salt)
    if starts[-1] < _PARALLEL_ROWS or n_buckets < 2 or THREADS < 2:
        dropped = _kb.bound_buckets(
            starts, uloc, grp, vals_p, bits, 0, n_buckets, *common,
            rows, unit_counts, sums,
        )  # fmt: skip
        return BoundedAggregates(rows, unit_counts, sums, q, int(dropped))
    # Buckets hold disjoint users: split them into ranges of about equal rows,
    # bound each range on its own thread into its own totals, then add up.
    cuts = np.searchsorted(starts, np.linspace(0, starts[-1], THREADS + 1)[1:-1])
    edges = [0, *sorted({int(c) for c in cuts if 0 < c < n_buckets}), n_buckets]
    parts = []
    for b0, b1 in itertools.pairwise(edges):
        totals = tuple(np.zeros(n_groups, dtype=np.int64) for _ in range(3))
        future = executor().submit(
            _kb.bound_buckets, starts, uloc, grp, vals_p, bits, b0, b1, *common, *totals
        )
        parts.append((future, totals))
    dropped = 0
    for future, (r, u, s) in parts:
        dropped += int(future.result())
        rows += r
        unit_counts += u
        sums += s
    return BoundedAggregates(rows, unit_counts, sums, q, int(dropped))
