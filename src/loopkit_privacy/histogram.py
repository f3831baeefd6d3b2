"""Differentially private histograms over public bin edges.

:func:`aggregate_histogram` counts the rows of a numeric, date or timestamp
column in the bins given by public edges, per group, and releases one noisy
count (with its confidence interval) for every bin of every released group:
empty bins included, so which bins hold data is never revealed.

The privacy contract, user-level:

* **Bins are public.** The edges come from the caller, never from the data.
  Bin j is ``[e_j, e_{j+1})``; the last bin is closed, ``[e_{K-1}, e_K]``.
  Values outside ``[e_0, e_K]`` are counted in the first or last bin
  (``outside="clip"``, the default: the end bins are open-ended) or dropped
  (``outside="drop"``). Null values are dropped.
* **Contribution bounding.** A *cell* is one (group, bin) pair. Each user
  keeps at most ``max_partitions_per_user`` cells (L0, chosen by a keyed
  hash of the user's own cells) and at most
  ``max_contributions_per_partition`` rows in each (L∞). One user therefore
  changes the released vector of counts by at most L1 = L0·L∞ and
  L2 = √L0·L∞. With L∞ = 1 a cell counts distinct users; with the default
  L0 = L∞ = 1 every user is counted once, in one of their bins.
* **Groups.** With ``public_groups`` (or without ``by``) exactly those
  groups are released. Otherwise groups come from the data through partition
  selection (:func:`~loopkit_privacy.partition_selection`, keep-or-drop) on
  distinct-user counts (each user in at most L0 groups),
  which takes half of ε and the whole δ (Laplace), or half of each
  (Gaussian); the counts get the rest.
* **Charged before noise**, by the shared release pipeline
  (:mod:`loopkit_privacy._release`); bad input raises before anything is
  charged, and an empty table gives noisy zeros.

Examples
--------
>>> import pyarrow as pa, loopkit_privacy as lp
>>> rng = lp.random.InsecureSeededRandom(0)
>>> t = pa.table({"user": list(range(100)), "seconds": [float(i % 30) for i in range(100)]})
>>> out = lp.aggregate_histogram(t, column="seconds", bins=[0, 10, 20, 30],
...                              privacy_unit="user", epsilon=1.0, rng=rng)
>>> out.column_names
['bin', 'bin_low', 'bin_high', 'count', 'count_ci_low', 'count_ci_high']
>>> out["bin_low"].to_pylist()
[0.0, 10.0, 20.0]
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopkit_privacy import mechanisms as mech
from loopkit_privacy import tables
from loopkit_privacy._grouped import (
    Selection,
    add_integer_noise,
    check_column_name,
    check_unit_and_keys,
    column_list,
    make_selection,
    noise_infos,
    release_info,
    sorted_keys_order,
)
from loopkit_privacy._info import ReleaseInfo
from loopkit_privacy._kernels import histogram as _kh
from loopkit_privacy._release import (
    Budget,
    Request,
    TrialReleases,
    noise_mechanism,
    publish,
    read_with_consent,
    release_function,
    total_cost,
)
from loopkit_privacy._typing import AnyArray, InvalidRows, MechanismName, TableLike
from loopkit_privacy._validate import check_positive_int
from loopkit_privacy.bounding import ContributionBounds, bound_and_reduce, check_sizes
from loopkit_privacy.cohorts import Clock, clock_of, time_boundary
from loopkit_privacy.errors import (
    ColumnTypeError,
    InvalidParameterError,
    OptionalDependencyError,
    PrivacyError,
)
from loopkit_privacy.loss import PrivacyLoss
from loopkit_privacy.random import RandomSource

if TYPE_CHECKING:
    from loopkit_privacy.accounting import Accountant

__all__ = ["aggregate_histogram", "plot_histogram"]

#: Most bins per release (the noise is drawn for every bin of every group).
MAX_BINS = 1 << 20

Outside = Literal["clip", "drop"]


# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------


def _check_bins(bins: Any) -> list[Any]:
    """The edges as a list (numbers checked here; dates once the column is read)."""
    if isinstance(bins, str | bytes | dict | set | frozenset) or not (
        hasattr(bins, "__iter__") and hasattr(bins, "__len__")
    ):
        raise InvalidParameterError(
            "`bins` must be a sequence of at least two increasing bin edges, got "
            f"an object of type {type(bins).__name__}; pass e.g. bins=[0, 10, 60, 300]",
            parameter="bins",
            value=None,
        )
    edges = list(bins.to_pylist() if isinstance(bins, pa.Array) else bins)
    if len(edges) < 2:
        raise InvalidParameterError(
            f"`bins` must hold at least two edges (one bin), got {len(edges)}; "
            "pass e.g. bins=[0, 10, 60, 300]",
            parameter="bins",
            value=None,
        )
    if len(edges) - 1 > MAX_BINS:
        raise InvalidParameterError(
            f"`bins` must define at most {MAX_BINS} bins, got {len(edges) - 1}",
            parameter="bins",
            value=None,
        )
    if all(_is_number(e) for e in edges):
        values = [float(e) for e in edges]
        if not all(np.isfinite(values)):
            raise InvalidParameterError(
                "`bins` must be finite numbers (values outside the edges go to the "
                "end bins with outside='clip'), got a NaN or infinite edge",
                parameter="bins",
                value=None,
            )
        _check_increasing(values)
    return edges


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_increasing(values: Sequence[float | int]) -> None:
    for j in range(1, len(values)):
        if not values[j] > values[j - 1]:
            raise InvalidParameterError(
                "`bins` must be strictly increasing, but edge "
                f"{j} is not above edge {j - 1}; sort them and remove duplicates",
                parameter="bins",
                value=None,
            )


def _check_outside(outside: Any) -> Outside:
    if outside not in ("clip", "drop"):
        raise InvalidParameterError(
            f"`outside` must be 'clip' (values beyond the edges count in the end "
            f"bins) or 'drop', got {outside!r}",
            parameter="outside",
            value=outside,
        )
    return outside  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------
# Reading the data
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Input:
    family: tables.Family
    by: list[str]
    keys: pa.Table
    public: bool
    units: AnyArray | None
    n_units: int
    groups: AnyArray  # per row, -1: not a released group
    n_groups: int
    cells: AnyArray  # per row, group * K + bin, -1: dropped
    n_bins: int
    edge_low: pa.Array  # (K,) the bins' edges in the column's type
    edge_high: pa.Array


def _string_like(typ: pa.DataType) -> bool:
    # Not string_view: Arrow's set lookup has no kernel for it.
    return bool(pa.types.is_string(typ) or pa.types.is_large_string(typ))


def match_public(data: pa.Table, by: list[str], public: pa.Table) -> AnyArray:
    """:func:`~loopkit_privacy.tables.match_public_keys`, with a fast path for one key.

    For one string (or dictionary-of-string) key column and string public
    keys, or integer columns of one type, the codes come from one Arrow
    hash lookup (``index_in``) instead of factorising the data with the
    public keys: the same codes (-1 where not public), about 5x faster. The
    checks (types, duplicates) run on an empty slice of the data, so they
    raise exactly as the general path does, whatever the rows.
    """
    codes_empty = tables.match_public_keys(data.slice(0, 0), by, public)
    del codes_empty
    if len(by) != 1 or data.num_rows == 0:
        return tables.match_public_keys(data, by, public)
    col = tables.flat(data.column(by[0]))
    keys = tables.flat(public.column(by[0]))
    values = col.dictionary if pa.types.is_dictionary(col.type) else col
    same_ints = pa.types.is_integer(values.type) and values.type == keys.type
    if not (same_ints or (_string_like(values.type) and _string_like(keys.type))):
        return tables.match_public_keys(data, by, public)
    value_set = keys.cast(values.type) if not same_ints else keys
    found = pc.index_in(values, value_set=value_set)
    codes = np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)
    if pa.types.is_dictionary(col.type):
        idx = col.indices
        null = ~np.asarray(idx.is_valid().to_numpy(zero_copy_only=False), bool)
        pos = np.asarray(idx.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
        out = codes[pos] if codes.size else np.full(pos.shape[0], -1, np.int64)
        if null.any():
            # A null key matches a null public key (if listed).
            nulls = np.flatnonzero(
                ~np.asarray(keys.is_valid().to_numpy(zero_copy_only=False), bool)
            )
            out[null] = nulls[0] if nulls.size else -1
        return out
    return codes


def _time_values(
    data: pa.Table, column: str, clock: Clock
) -> tuple[AnyArray, AnyArray]:
    """Int64 wall-clock ticks of a time column and its validity (nulls dropped)."""
    arr = tables.flat(data.column(column))
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if clock.tz is not None:
        arr = pc.local_timestamp(arr)
    storage = pa.int32() if pa.types.is_date32(arr.type) else pa.int64()
    ints = arr.view(storage).fill_null(0)
    return np.asarray(ints.to_numpy(zero_copy_only=False), dtype=np.int64), valid


def _edge_arrays(
    edges: AnyArray, typ: pa.DataType, clock: Clock | None
) -> tuple[pa.Array, pa.Array]:
    """The low and high edge of each bin, in the column's type."""
    if clock is None:
        arr = pa.array(edges.astype(np.float64))
    elif pa.types.is_date32(typ):
        arr = pa.array(edges.astype(np.int32), pa.int32()).cast(pa.date32())
    elif pa.types.is_date64(typ):
        arr = pa.array(edges, pa.int64()).cast(pa.date64())
    else:
        naive = pa.array(edges, pa.int64()).cast(pa.timestamp(typ.unit))
        arr = (
            naive
            if clock.tz is None
            else pc.assume_timezone(
                naive, clock.tz, ambiguous="earliest", nonexistent="earliest"
            )
        )
    return arr.slice(0, len(arr) - 1), arr.slice(1)


def _read(request: Request) -> _Input:
    opts = request.options
    by_list: list[str] = opts["by"]
    column: str = opts["column"]
    privacy_unit = request.privacy_unit
    check_unit_and_keys(privacy_unit, by_list)
    if column in by_list or column == privacy_unit:
        raise InvalidParameterError(
            f"`column` {column!r} is also a key or the privacy unit; histogram a "
            "value column",
            parameter="column",
            value=column,
        )
    public = opts["public_groups"] is not None
    keys_public = (
        tables.public_key_table(opts["public_groups"], by_list) if public else None
    )
    needed = by_list + ([privacy_unit] if privacy_unit else []) + [column]
    data, family = read_with_consent(
        request.table,
        needed,
        privacy_unit=privacy_unit,
        purpose=request.purpose,
        consent=request.consent,
        values=[column],
        times=[column],
    )
    for name in by_list:
        tables.check_key_column(data, name)
    if privacy_unit is not None:
        tables.check_key_column(data, privacy_unit, role="privacy-unit")
    typ = data.schema.field(column).type
    temporal = (
        pa.types.is_timestamp(typ) or pa.types.is_date32(typ) or pa.types.is_date64(typ)
    )
    clock = clock_of(typ, column) if temporal else None
    raw_edges: list[Any] = opts["bins"]
    # The edges are checked against the column's type (from the schema), before
    # any row is looked at.
    edges: AnyArray
    if clock is not None:
        edges = np.array(
            [time_boundary(e, "bins", clock) for e in raw_edges], dtype=np.int64
        )
        _check_increasing(edges.tolist())
    else:
        if not all(_is_number(e) for e in raw_edges):
            raise InvalidParameterError(
                f"`bins` must be numbers for the numeric column {column!r}, got an "
                "edge that is not a number",
                parameter="bins",
                value=None,
            )
        edges = np.array([float(e) for e in raw_edges], dtype=np.float64)
        if not (
            pa.types.is_integer(typ)
            or pa.types.is_floating(typ)
            or pa.types.is_decimal(typ)
        ):
            raise ColumnTypeError(
                f"column {column!r} must hold numbers, dates or timestamps to be "
                f"binned, got Arrow type {typ}; cast it first",
                column=column,
            )
    if request.invalid == "drop":
        data = tables.drop_invalid(
            data, units=[privacy_unit] if privacy_unit else [], values=[column]
        )
    values: AnyArray
    valid: AnyArray | None
    if clock is not None:
        values, valid = _time_values(data, column, clock)
    else:
        values, valid = tables.numeric_column(data, column)
    units, n_units = (None, 0)
    if privacy_unit is not None:
        units, n_units = tables.unit_codes(data, privacy_unit)
    if keys_public is not None:
        groups = match_public(data, by_list, keys_public)
        keys = keys_public
    else:
        grouped = tables.group_codes(data, by_list)
        groups, keys = grouped.codes, grouped.keys
    n_groups = keys.num_rows if by_list else 1
    k = edges.shape[0] - 1
    check_sizes(groups.shape[0], n_groups * k)
    cells = np.empty(groups.shape[0], dtype=np.int64)
    _kh.bin_cells(
        values,
        np.zeros(0, dtype=np.bool_) if valid is None else valid,
        groups,
        edges,
        opts["outside"] == "clip",
        cells,
    )
    low, high = _edge_arrays(edges, typ, clock)
    return _Input(
        family, by_list, keys, public, units, n_units, groups, n_groups, cells, k,
        low, high,
    )  # fmt: skip


# ---------------------------------------------------------------------------
# The release steps
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    inp: _Input
    bounds: ContributionBounds  # per cell
    selection: Selection | None
    selection_bounds: ContributionBounds | None  # per group
    noise: mech.AdditiveMechanism
    cost: PrivacyLoss
    parameters: dict[str, Any]
    level: float
    source: RandomSource
    outside: Outside


@dataclass(frozen=True)
class _Bounded:
    counts: AnyArray  # (n_groups * K,) bounded rows per cell
    units: AnyArray | None  # (n_groups,) bounded distinct users (selection)


@dataclass(frozen=True)
class _Noisy:
    keep: AnyArray  # (n, n_groups) released groups
    counts: AnyArray  # (n, n_groups, K) noisy counts (0 where not released)


class _Histogram:
    """The steps of ``aggregate_histogram`` (a :class:`~loopkit_privacy._release.Statistic`)."""

    name = "aggregate_histogram"

    def plan(self, request: Request) -> _Plan:
        opts = request.options
        inp = _read(request)
        budget = request.budget
        l0 = opts["max_partitions_per_user"]
        linf = opts["max_contributions_per_partition"]
        needs_selection = bool(inp.by) and not inp.public
        if request.privacy_unit is not None and not needs_selection:
            # A user cannot keep more cells than there are (public) cells.
            l0 = min(l0, max(1, inp.n_groups * inp.n_bins))
        bounds = ContributionBounds(request.privacy_unit, l0, linf, None)
        selection = sel_bounds = None
        stat_budget = budget
        if needs_selection:
            sel_budget, stat_budget = budget.split(0.5)
            if budget.mechanism == "laplace" and budget.delta is not None:
                # Laplace counts need no δ: all of it goes to the selection.
                sel_budget = Budget("laplace", sel_budget.epsilon, budget.delta, None)
                stat_budget = Budget("laplace", stat_budget.epsilon, None, None)
            # A user keeps at most L0 cells, so touches at most L0 groups.
            sel_bounds = ContributionBounds(
                request.privacy_unit, bounds.max_partitions_per_user, 1, None
            )
            # Keep-or-drop: the selection's user counts are not released.
            selection = make_selection(sel_budget, sel_bounds, noisy_counts=False)
        _, l1, l2 = bounds.count_sensitivity()
        noise = noise_mechanism(
            stat_budget,
            l1=l1,
            l2=l2,
            dimension=bounds.max_partitions_per_user,
            integer=True,
        )
        parts = ([selection.cost] if selection else []) + [noise.cost]
        names = (
            [f"partition selection ({selection.name}, τ={selection.threshold})"]
            if selection
            else []
        ) + [f"count: {noise.name}(scale={noise.scale:.6g}, L1={l1})"]
        parameters = {
            "kind": "histogram",
            "by": inp.by,
            "column": opts["column"],
            "bins": inp.n_bins,
            "outside": opts["outside"],
            "max_partitions_per_user": bounds.max_partitions_per_user,
            "max_contributions_per_partition": linf,
            "mechanisms": names,
        }
        return _Plan(
            inp,
            bounds,
            selection,
            sel_bounds,
            noise,
            total_cost(parts),
            parameters,
            request.confidence,
            request.source,
            opts["outside"],
        )

    def bound(self, plan: _Plan, source: RandomSource) -> _Bounded:
        inp = plan.inp
        agg = bound_and_reduce(
            inp.units,
            inp.n_units,
            inp.cells,
            inp.n_groups * inp.n_bins,
            plan.bounds,
            rng=source,
        )
        units = None
        if plan.selection_bounds is not None:
            units = bound_and_reduce(
                inp.units,
                inp.n_units,
                inp.groups,
                inp.n_groups,
                plan.selection_bounds,
                rng=source,
            ).units
        return _Bounded(agg.rows, units)

    def noise(
        self, plan: _Plan, bounded: _Bounded, n: int, source: RandomSource
    ) -> _Noisy:
        g, k = plan.inp.n_groups, plan.inp.n_bins
        keep = np.ones((n, g), dtype=bool)
        if plan.selection is not None:
            assert bounded.units is not None
            true_units = np.broadcast_to(bounded.units, (n, g)).ravel()
            keep = plan.selection.select(true_units, source)[0].reshape(n, g)
        counts = np.zeros((n, g, k), dtype=np.int64)
        true = np.broadcast_to(bounded.counts.reshape(g, k), (n, g, k))
        # Every bin of a released group gets noise, empty bins included.
        counts[keep] = add_integer_noise(
            plan.noise, true[keep].ravel(), source
        ).reshape(-1, k)
        return _Noisy(keep, counts)

    def publish(self, plan: _Plan, noisy: _Noisy, receipt: Any) -> Any:
        inp = plan.inp
        k = inp.n_bins
        group_idx = np.flatnonzero(noisy.keep[0]).astype(np.int64)
        if inp.by and not inp.public:
            order = sorted_keys_order(
                inp.keys.take(pa.array(group_idx, type=pa.int64())), inp.by
            )
            group_idx = group_idx[order]
        rows = np.repeat(group_idx, k)
        bins = np.tile(np.arange(k, dtype=np.int64), group_idx.shape[0])
        value = noisy.counts[0][rows, bins] if rows.size else np.zeros(0, np.int64)
        hw = plan.noise.accuracy(plan.level)
        arrays: dict[str, Any] = {}
        if inp.by:
            part = inp.keys.take(pa.array(rows, type=pa.int64()))
            arrays = {name: part.column(name) for name in inp.by}
        take = pa.array(bins, type=pa.int64())
        arrays["bin"] = pa.array(bins)
        arrays["bin_low"] = inp.edge_low.take(take)
        arrays["bin_high"] = inp.edge_high.take(take)
        arrays["count"] = pa.array(value.astype(np.int64))
        arrays["count_ci_low"] = pa.array((value - hw).astype(np.float64))
        arrays["count_ci_high"] = pa.array((value + hw).astype(np.float64))
        _, l1, l2 = plan.bounds.count_sensitivity()
        info = release_info(
            release=self.name,
            cost=plan.cost,
            receipt=receipt,
            source=plan.source,
            confidence=plan.level,
            bounds=plan.bounds,
            noise=noise_infos({"count": plan.noise}, plan.selection),
            selection=plan.selection,
            public=inp.public,
        ).replace(
            parameters={
                "column": plan.parameters["column"],
                "bins": k,
                "outside": plan.outside,
                "l1_sensitivity": l1,
                "l2_sensitivity": l2,
            }
        )
        return publish(pa.table(arrays), inp.family, info)

    def trials(self, plan: _Plan, noisy: _Noisy) -> TrialReleases:
        """One key per cell (the group's keys and ``bin``), noisy counts as values."""
        inp = plan.inp
        k = inp.n_bins
        group_keys = inp.keys.to_pylist() if inp.by else [{}]
        keys = [{**key, "bin": j} for key in group_keys for j in range(k)]
        n = noisy.counts.shape[0]
        present = np.repeat(noisy.keep, k, axis=1)
        values = np.where(
            present, noisy.counts.reshape(n, -1).astype(np.float64), np.nan
        )
        return TrialReleases(keys, present, values)


_HISTOGRAM = _Histogram()


@release_function
def aggregate_histogram(
    table: TableLike,
    *,
    column: str,
    bins: Sequence[Any],
    by: str | Sequence[str] | None = None,
    privacy_unit: str | None,
    epsilon: float | None = None,
    delta: float | None = None,
    rho: float | None = None,
    mechanism: MechanismName = "laplace",
    max_partitions_per_user: int = 1,
    max_contributions_per_partition: int = 1,
    public_groups: Any = None,
    outside: Outside = "clip",
    confidence: float = 0.95,
    accountant: Accountant | None = None,
    rng: RandomSource | None = None,
    label: str | None = None,
    purpose: str | None = None,
    consent: Any = None,
    invalid: InvalidRows = "raise",
    return_info: bool = False,
) -> Any:
    r"""Noisy counts per bin of a numeric, date or timestamp column, per group.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The events.
    column : str
        The column to bin: numbers, dates or timestamps (zoned timestamps are
        binned on their own wall clock). Null values are dropped; NaN and
        ±inf are refused (or dropped with ``invalid="drop"``).
    bins : sequence
        The public bin edges, strictly increasing, at least two: numbers for
        a numeric column; dates, datetimes, ISO strings or numpy datetime64
        for a time column. Bin j is ``[bins[j], bins[j+1])``, the last one
        also includes its upper edge.
    by : str or list of str, optional
        Group-by column(s); ``None`` gives one histogram.
    privacy_unit : str or None
        The user column (``None``: event-level privacy, recorded on the receipt).
    epsilon, delta, rho, mechanism
        As in :func:`loopkit_privacy.aggregate_count`: Laplace needs
        ``epsilon`` (and ``delta`` when groups come from the data);
        Gaussian ``epsilon`` and ``delta``, or ``rho`` (public groups only).
    max_partitions_per_user : int
        L0: cells (group, bin) one user may count in (default 1).
    max_contributions_per_partition : int
        L∞: rows one user may count in one cell (default 1: distinct users).
    public_groups : list or table, optional
        Release exactly these groups (all their bins). Without it, groups
        come from the data through partition selection (costs ``delta``).
    outside : {"clip", "drop"}
        Values below the first edge or above the last: counted in the first
        or last bin (``"clip"``) or dropped (``"drop"``).
    confidence : float
        Level of the ``count_ci_low`` / ``count_ci_high`` interval.
    accountant : Accountant, optional
        Charged the whole cost before any noise is drawn; a refused charge
        raises ``BudgetExceededError`` and nothing is spent.
    rng : SecureRandom or InsecureSeededRandom, optional
        Entropy source; secure by default.
    label : str, optional
        Name of the release on the receipt.
    purpose, consent
        Consent filter as in :func:`loopkit_privacy.aggregate_count`.
    invalid : {"raise", "drop"}
        Rows with a null privacy unit or a NaN/infinite value: raise (nothing
        spent) or drop them first (a per-row rule, the guarantee holds).
    return_info : bool
        Also return the :class:`~loopkit_privacy.ReleaseInfo`, as ``(table, info)``.

    Returns
    -------
    Same family as ``table``
        One row per released group and bin, sorted by key then bin: the
        ``by`` keys, ``bin`` (0-based index), ``bin_low``, ``bin_high`` (the
        edges, in the column's type), ``count`` (int64, may be negative:
        unbiased noisy counts), ``count_ci_low``, ``count_ci_high``.

    Raises
    ------
    InvalidParameterError, SchemaError
        Bad parameters (``bins`` not increasing, fewer than two edges, edges
        of the wrong type for the column...) or columns; nothing is charged.
    BudgetExceededError
        When the accountant cannot afford the release.

    Notes
    -----
    Privacy. After bounding, a user is in at most L0 cells with at most L∞
    rows each, so adding or removing the user changes the vector of cell
    counts by at most

    .. math::

        \Delta_1 = L_0 L_\infty, \qquad \Delta_2 = \sqrt{L_0}\, L_\infty .

    Every cell of every released group gets exact discrete Laplace noise of
    scale Δ1/ε (pure ε-DP) or discrete Gaussian noise for Δ2. With groups
    from the data, keep-or-drop partition selection runs on distinct-user
    counts per group (a user in at most L0 groups) with its share of the budget.
    The interval is the mechanism's exact interval for each count; it is
    about the *bounded* count (rows dropped by the contribution bounds are
    not in it).

    Examples
    --------
    >>> import datetime as dt, polars as pl, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(1)
    >>> days = [dt.date(2026, 1, 1) + dt.timedelta(days=i % 60) for i in range(300)]
    >>> t = pl.DataFrame({"user": list(range(300)), "day": days})
    >>> out = lp.aggregate_histogram(t, column="day", bins=["2026-01-01", "2026-02-01", "2026-03-01"],
    ...                              privacy_unit="user", epsilon=1.0, rng=rng)
    >>> out["bin_low"].to_list()
    [datetime.date(2026, 1, 1), datetime.date(2026, 2, 1)]
    >>> lp.privacy_info(out).cost
    PureDP(epsilon=1.0)
    """
    args = dict(locals())
    check_column_name(column)
    by_list = column_list(by)
    l0 = check_positive_int(max_partitions_per_user, "max_partitions_per_user")
    linf = check_positive_int(
        max_contributions_per_partition, "max_contributions_per_partition"
    )
    # Validated now (bounds of their own), so that errors name the arguments.
    ContributionBounds(privacy_unit, l0, linf, None)
    options = {
        "column": column,
        "bins": _check_bins(bins),
        "by": by_list,
        "max_partitions_per_user": l0,
        "max_contributions_per_partition": linf,
        "public_groups": public_groups,
        "outside": _check_outside(outside),
    }
    return Request.of_arguments(_HISTOGRAM, args, options)


# ---------------------------------------------------------------------------
# Plot
# ---------------------------------------------------------------------------


def _bin_label(low: Any, high: Any, last: bool) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:g}"
        return str(v)

    return f"[{fmt(low)}, {fmt(high)}{']' if last else ')'}"


def plot_histogram(
    result: Any,
    *,
    ax: Any = None,
    max_groups: int = 8,
) -> Any:
    """Bars of an :func:`aggregate_histogram` result with its intervals as error bars.

    Needs matplotlib (``pip install 'loopkit_privacy[plot]'``), imported only
    when this is called. With several groups, their bars stand side by side.

    Parameters
    ----------
    result : table
        The output of :func:`aggregate_histogram` (any table family).
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    max_groups : int
        Groups drawn at most (in the result's order).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidParameterError
        When ``result`` is not a histogram result or ``ax`` is not an Axes.

    Examples
    --------
    >>> import pyarrow as pa, loopkit_privacy as lp
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> rng = lp.random.InsecureSeededRandom(2)
    >>> t = pa.table({"u": list(range(200)), "x": [float(i % 50) for i in range(200)]})
    >>> out = lp.aggregate_histogram(t, column="x", bins=[0, 25, 50], privacy_unit="u",
    ...                              epsilon=1.0, rng=rng)
    >>> ax = lp.plot_histogram(out)
    >>> [label.get_text() for label in ax.get_xticklabels()]
    ['[0, 25)', '[25, 50]']
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise OptionalDependencyError(
            "plot_histogram needs matplotlib: pip install 'loopkit_privacy[plot]'"
        ) from err
    max_groups = check_positive_int(max_groups, "max_groups", example="8")
    if ax is not None and not callable(getattr(ax, "bar", None)):
        raise InvalidParameterError(
            "`ax` must be a matplotlib Axes (or None), got an object of type "
            f"{type(ax).__name__}; pass e.g. ax=plt.subplots()[1]",
            parameter="ax",
            value=None,
        )
    wanted = ["bin", "bin_low", "bin_high", "count", "count_ci_low", "count_ci_high"]
    try:
        columns = tables.columns_of(result)
    except PrivacyError:
        columns = []
    if any(c not in columns for c in wanted):
        raise InvalidParameterError(
            "`result` must be the table aggregate_histogram returned (with columns "
            f"{', '.join(wanted)}); got an object of type {type(result).__name__} "
            "without them",
            parameter="result",
            value=None,
        )
    keys = [c for c in columns if c not in wanted]
    data, _ = tables.as_arrow(result, keys + wanted)
    bins = data.column("bin").to_pylist()
    n_bins = max(bins) + 1 if bins else 0
    lows: dict[int, Any] = {}
    highs: dict[int, Any] = {}
    for b, lo, hi in zip(
        bins,
        data.column("bin_low").to_pylist(),
        data.column("bin_high").to_pylist(),
        strict=True,
    ):
        lows[b], highs[b] = lo, hi
    group_of = (
        [
            ", ".join(str(data.column(k)[i].as_py()) for k in keys)
            for i in range(data.num_rows)
        ]
        if keys
        else ["all"] * data.num_rows
    )
    groups = list(dict.fromkeys(group_of))[:max_groups]
    if ax is None:
        _, ax = plt.subplots(figsize=(1.5 + 0.7 * max(n_bins, 1), 3.6))
    width = 0.8 / max(len(groups), 1)
    counts = np.asarray(data.column("count").to_pylist(), dtype=np.float64)
    low = np.asarray(data.column("count_ci_low").to_pylist(), dtype=np.float64)
    high = np.asarray(data.column("count_ci_high").to_pylist(), dtype=np.float64)
    pos = np.asarray(bins, dtype=np.float64)
    for j, name in enumerate(groups):
        rows = np.array([g == name for g in group_of])
        x = pos[rows] - 0.4 + width * (j + 0.5)
        ax.bar(
            x,
            counts[rows],
            width=width,
            yerr=np.vstack([counts[rows] - low[rows], high[rows] - counts[rows]]),
            capsize=2,
            label=name if keys else None,
        )
    ax.set_xticks(range(n_bins))
    ax.set_xticklabels(
        [_bin_label(lows[b], highs[b], b == n_bins - 1) for b in range(n_bins)],
        rotation=30 if n_bins > 6 else 0,
    )
    ax.axhline(0.0, color="k", linewidth=0.5)
    ax.set_ylabel("noisy count")
    try:
        from loopkit_privacy._release import privacy_info

        info: ReleaseInfo | None = privacy_info(result)
    except InvalidParameterError:
        info = None
    title = "histogram (noisy)"
    if info is not None:
        title += f", cost {info.cost!r}, {100 * info.confidence:g}% intervals"
    ax.set_title(title, fontsize=9)
    if keys:
        ax.legend(fontsize=8, loc="best")
    return ax
