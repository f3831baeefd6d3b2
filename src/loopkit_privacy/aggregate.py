"""User-level differentially private aggregations over event tables.

``aggregate_count``, ``aggregate_sum``, ``aggregate_average`` and
``aggregate_top_n`` take a pyarrow Table, a polars DataFrame/LazyFrame or a
pandas DataFrame and return the same family: one row per released group with
the noisy value and its confidence interval (``<name>_ci_low``,
``<name>_ci_high``). What a result cost and how it was made is reachable in
one step with :func:`privacy_info` (and on the accountant's receipts).

The privacy contract (see ``docs/privacy.md``):

* **Contribution bounding** (:mod:`loopkit_privacy.bounding`): each privacy
  unit keeps at most ``max_partitions_per_user`` groups and
  ``max_contributions_per_partition`` rows per group; values are clamped to
  ``bounds``. Every sensitivity is derived from these enforced limits.
* **Which groups appear is a release.** With ``public_groups`` exactly those
  groups are returned (absent ones get a noisy zero). Otherwise groups come
  from the data only through differentially private partition selection: a
  group is kept when its noisy count of distinct users reaches a threshold
  τ chosen from ``delta``. ``min_threshold`` / ``min_users`` are applied to
  noisy values only (post-processing).
* **Charged before noise.** The release runs the steps of
  :mod:`loopkit_privacy._release`: plan (read the columns, fix the
  mechanisms and the cost), bound and reduce, charge the accountant (if
  any) the whole cost, draw the noise, publish. Bad input raises before the
  charge, a refused charge raises and releases nothing, so a failed call
  spends nothing. An empty table is valid input.

Examples
--------
>>> import pyarrow as pa, loopkit_privacy as lp
>>> rng = lp.random.InsecureSeededRandom(0)
>>> events = pa.table({"user_id": [1, 1, 2, 3], "page": ["a", "b", "a", "a"]})
>>> out = lp.aggregate_count(events, by="page", privacy_unit="user_id",
...                          epsilon=1.0, public_groups=["a", "b"], rng=rng)
>>> out.column_names
['page', 'count', 'count_ci_low', 'count_ci_high']
>>> lp.privacy_info(out).cost
PureDP(epsilon=1.0)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
import pyarrow as pa

from loopkit_privacy import mechanisms as mech
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
from loopkit_privacy._release import (
    Budget,
    Request,
    TrialReleases,
    noise_mechanism,
    privacy_info,
    release_function,
    total_cost,
)
from loopkit_privacy._typing import AnyArray, InvalidRows, MechanismName, TableLike
from loopkit_privacy._validate import (
    check_bool,
    check_finite,
    check_positive_int,
)
from loopkit_privacy.bounding import (
    BoundedAggregates,
    ContributionBounds,
    bound_and_reduce,
    check_sizes,
    fixed_point_quantum,
)
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.loss import PrivacyLoss
from loopkit_privacy.random import RandomSource
from loopkit_privacy.selection import MAX_MIN_USERS

if TYPE_CHECKING:
    from loopkit_privacy.accounting import Accountant

__all__ = [
    "aggregate_average",
    "aggregate_count",
    "aggregate_sum",
    "aggregate_top_n",
    "privacy_info",
]

Kind: TypeAlias = Literal["count", "distinct", "sum", "average", "top_n"]

# ---------------------------------------------------------------------------
# The shared driver
# ---------------------------------------------------------------------------


@dataclass
class _Plan:
    """Everything decided before any data is bounded, charged or noise drawn.

    Built by :func:`_plan` from the arguments alone (plus reading the input
    columns): the mechanisms, the total cost and what the receipt records.
    """

    kind: Kind
    inp: GroupedInput
    bounds: ContributionBounds
    source: RandomSource
    level: float
    min_threshold: float | None
    top_n: int | None
    uses_units: bool
    selection: Selection | None
    mechs: dict[str, mech.AdditiveMechanism]
    centre: float
    cost: PrivacyLoss
    mech_names: list[str]
    parameters: dict[str, Any]
    name: str


@dataclass
class _Noisy:
    """The noisy statistics of ``n`` independent releases, shape (n, n_groups).

    ``keep`` marks the groups released by partition selection (all of them
    with public groups); ``value``, ``low`` and ``high`` hold the noisy value
    and its interval and are meaningful only where ``keep`` is set.
    ``basis`` is what ``min_threshold`` compares (the noisy row count of an
    average, else the value).
    """

    keep: AnyArray
    value: AnyArray
    low: AnyArray
    high: AnyArray
    basis: AnyArray


def _plan(kind: Kind, request: Request) -> _Plan:
    """The **plan** step: read the columns, choose the mechanisms and the cost.

    Uses no randomness and charges nothing; the request's arguments were
    validated when it was built.
    """
    opts = request.options
    by_list: list[str] = opts["by"]
    bounds: ContributionBounds = opts["bounds"]
    budget = request.budget
    inp = prepare_grouped(
        request.table,
        by=by_list,
        privacy_unit=request.privacy_unit,
        value_column=opts["column"],
        public_groups=opts["public_groups"],
        purpose=request.purpose,
        consent=request.consent,
        invalid=request.invalid,
    )
    if inp.public and inp.keys.num_rows < bounds.max_partitions_per_user:
        # A unit cannot contribute to more groups than are public: the
        # enforced L0 (and every sensitivity) is the smaller of the two.
        bounds = dataclasses.replace(
            bounds, max_partitions_per_user=max(1, inp.keys.num_rows)
        )
    # Size limits are checked here, before anything is charged.
    check_sizes(inp.groups.shape[0], n_groups(inp))
    l0 = bounds.max_partitions_per_user
    needs_selection = bool(inp.by) and not inp.public
    uses_units = kind in ("distinct", "top_n") or (
        kind == "count" and bounds.max_contributions_per_partition == 1
    )

    # ---- plan the mechanisms and the total cost (before touching data) ----
    selection: Selection | None = None
    stat_budget = budget
    if needs_selection:
        if uses_units:
            selection = make_selection(
                budget, bounds, noisy_counts=True, min_users=opts["min_users"]
            )
            stat_budget = None  # type: ignore[assignment]
        else:
            sel_budget, stat_budget = budget.split(0.5)
            if budget.mechanism == "laplace" and budget.delta is not None:
                # Laplace noise needs no δ: all of it goes to the selection.
                sel_budget = Budget("laplace", sel_budget.epsilon, budget.delta, None)
                stat_budget = Budget("laplace", stat_budget.epsilon, None, None)
            selection = make_selection(
                sel_budget, bounds, noisy_counts=False, min_users=opts["min_users"]
            )
    centre = 0.0
    if kind == "average" and bounds.bounds is not None:
        centre = (bounds.bounds[0] + bounds.bounds[1]) / 2.0
    quantum = fixed_point_quantum(bounds.bounds, centre=centre)
    mechs: dict[str, mech.AdditiveMechanism] = {}
    l1: float
    l2: float
    if stat_budget is not None and not (uses_units and selection is not None):
        if kind in ("count", "distinct", "top_n"):
            _, l1, l2 = (
                bounds.units_sensitivity() if uses_units else bounds.count_sensitivity()
            )
            mechs["count"] = noise_mechanism(
                stat_budget, l1=l1, l2=l2, dimension=l0, integer=True
            )
        elif kind == "sum":
            _, l1, l2 = bounds.sum_sensitivity(quantum=quantum)
            mechs["sum"] = noise_mechanism(
                stat_budget, l1=l1, l2=l2, dimension=l0, integer=False
            )
        else:  # average: noisy row count and noisy centred sum, half each
            b_count, b_sum = stat_budget.split(0.5)
            _, l1c, l2c = bounds.count_sensitivity()
            mechs["count"] = noise_mechanism(
                b_count, l1=l1c, l2=l2c, dimension=l0, integer=True
            )
            lo, hi = bounds.bounds  # type: ignore[misc]
            _, l1s, l2s = bounds.sum_sensitivity(
                centre=(lo + hi) / 2.0, quantum=quantum
            )
            mechs["sum"] = noise_mechanism(
                b_sum, l1=l1s, l2=l2s, dimension=l0, integer=False
            )
    parts: list[PrivacyLoss] = []
    if selection is not None:
        parts.append(selection.cost)
    parts.extend(m.cost for m in mechs.values())
    cost = total_cost(parts)
    mech_names = (
        [f"partition selection ({selection.name}, τ={selection.threshold})"]
        if selection
        else []
    ) + [f"{name}: {m.name}(scale={m.scale:.6g})" for name, m in mechs.items()]
    parameters = {
        "kind": kind,
        "by": inp.by,
        "column": opts["column"],
        "max_partitions_per_user": l0,
        "max_contributions_per_partition": bounds.max_contributions_per_partition,
        "bounds": None if bounds.bounds is None else list(bounds.bounds),
        "mechanisms": mech_names,
    }
    return _Plan(
        kind=kind,
        inp=inp,
        bounds=bounds,
        source=request.source,
        level=request.confidence,
        min_threshold=opts["min_threshold"],
        top_n=opts["top_n"],
        uses_units=uses_units,
        selection=selection,
        mechs=mechs,
        centre=centre,
        cost=cost,
        mech_names=mech_names,
        parameters=parameters,
        name=_NAMES[kind],
    )


def _reduce(plan: _Plan, bounding_rng: RandomSource) -> BoundedAggregates:
    """The **bound** step: bound each unit's contributions, reduce to per-group totals."""
    inp = plan.inp
    return bound_and_reduce(
        inp.units,
        inp.n_units,
        inp.groups,
        n_groups(inp),
        plan.bounds,
        rng=bounding_rng,
        values=inp.values,
        centre=plan.centre,
    )


def _noisy(plan: _Plan, agg: BoundedAggregates, n: int, source: RandomSource) -> _Noisy:
    """The **noise** step: partition selection and the noisy statistic, ``n`` releases.

    Noise is drawn only for released groups, trial by trial in group order,
    so one release (n = 1) consumes the source exactly as it always has.
    """
    kind, level, mechs, selection = plan.kind, plan.level, plan.mechs, plan.selection
    n_groups = agg.rows.shape[0]
    shape = (n, n_groups)

    def tile(true: AnyArray) -> AnyArray:
        return np.broadcast_to(true, shape)

    keep = np.ones(shape, dtype=bool)
    noisy_units = None
    if selection is not None:
        kept, noisy = selection.select(tile(agg.units).ravel(), source)
        keep = kept.reshape(shape)
        if noisy is not None:
            noisy_units = noisy.reshape(shape)
    if kind in ("count", "distinct", "top_n"):
        if selection is not None and plan.uses_units:
            assert noisy_units is not None
            value = np.where(keep, noisy_units, 0)
            hw = selection.accuracy(level)
        else:
            true = agg.units if plan.uses_units else agg.rows
            value = np.zeros(shape, dtype=np.int64)
            value[keep] = add_integer_noise(mechs["count"], tile(true)[keep], source)
            hw = mechs["count"].accuracy(level)
        low, high = value - hw, value + hw
        basis = value
    elif kind == "sum":
        value = np.full(shape, np.nan)
        value[keep] = add_fixed_point_noise(
            mechs["sum"], tile(agg.sum_units)[keep], agg.quantum, source
        )
        hw = mechs["sum"].accuracy(level)
        low, high = value - hw, value + hw
        basis = value
    else:
        lo, hi = plan.bounds.bounds  # type: ignore[misc]
        noisy_n = np.zeros(shape, dtype=np.int64)
        noisy_n[keep] = add_integer_noise(mechs["count"], tile(agg.rows)[keep], source)
        noisy_s = add_fixed_point_noise(
            mechs["sum"], tile(agg.sum_units)[keep], agg.quantum, source
        )
        value, low, high = (np.full(shape, np.nan) for _ in range(3))
        value[keep], low[keep], high[keep] = _average(
            noisy_n[keep], noisy_s, lo, hi, mechs, level
        )
        basis = noisy_n
    return _Noisy(keep, value, low, high, basis)


def _release_table(
    plan: _Plan, noisy: _Noisy, receipt: Any, source: RandomSource
) -> Any:
    """The **publish** step: release 0 of ``noisy``, post-processed into a table."""
    inp, kind, min_threshold = plan.inp, plan.kind, plan.min_threshold
    group_idx = np.flatnonzero(noisy.keep[0]).astype(np.int64)
    value, low, high = (a[0, group_idx] for a in (noisy.value, noisy.low, noisy.high))
    columns: dict[str, Any] = {}
    value_name = {
        "count": "count",
        "distinct": "count",
        "sum": "sum",
        "average": "average",
        "top_n": "users",
    }[kind]
    # ---- post-processing: thresholds, order, top-n ----
    if min_threshold is not None:
        keep = noisy.basis[0, group_idx] >= min_threshold
        group_idx, value, low, high = (
            group_idx[keep],
            value[keep],
            low[keep],
            high[keep],
        )
    if kind == "top_n":
        # Ties are broken by key (or by the public order), never by where a
        # key first appears in the data, which one user's rows could change.
        if inp.by and not inp.public:
            rank = np.empty(group_idx.shape[0], dtype=np.int64)
            rank[
                sorted_keys_order(
                    inp.keys.take(pa.array(group_idx, type=pa.int64())), inp.by
                )
            ] = np.arange(group_idx.shape[0])
        else:
            rank = group_idx
        order = np.lexsort((rank, -value))[: plan.top_n or 0]
    elif inp.by and not inp.public:
        order = sorted_keys_order(
            inp.keys.take(pa.array(group_idx, type=pa.int64())), inp.by
        )
    else:
        order = np.arange(group_idx.shape[0])
    group_idx, value, low, high = (
        group_idx[order],
        value[order],
        low[order],
        high[order],
    )
    columns[value_name] = value
    columns[f"{value_name}_ci_low"] = low
    columns[f"{value_name}_ci_high"] = high
    if kind == "top_n":
        columns["rank"] = np.arange(1, group_idx.shape[0] + 1, dtype=np.int64)
    info = release_info(
        release=plan.name,
        cost=plan.cost,
        receipt=receipt,
        source=source,
        confidence=plan.level,
        bounds=plan.bounds,
        noise=noise_infos(plan.mechs, plan.selection),
        selection=plan.selection,
        public=inp.public,
    )
    return finish_table(inp, group_idx, columns, info)


def _released_mask(plan: _Plan, noisy: _Noisy) -> AnyArray:
    """Which groups each of the n releases returns.

    The same post-processing as :func:`_release_table`: ``min_threshold`` on
    the noisy basis, then the top-n cut with the same tie-breaking.
    """
    inp = plan.inp
    mask = noisy.keep.copy()
    if plan.min_threshold is not None:
        with np.errstate(invalid="ignore"):
            mask &= noisy.basis >= plan.min_threshold
    if plan.kind == "top_n":
        n_groups = mask.shape[1]
        if inp.by and not inp.public:
            # Restricted to any subset of groups, the order of all keys is the
            # order _release_table computes for that subset.
            rank = np.empty(n_groups, dtype=np.int64)
            rank[sorted_keys_order(inp.keys, inp.by)] = np.arange(n_groups)
        else:
            rank = np.arange(n_groups, dtype=np.int64)
        score = np.where(mask, -noisy.value.astype(np.float64), np.inf)
        order = np.lexsort((np.broadcast_to(rank, mask.shape), score))
        top = order[:, : plan.top_n or 0]
        cut = np.zeros_like(mask)
        np.put_along_axis(cut, top, True, axis=1)
        mask &= cut
    return mask


@dataclass(frozen=True)
class _Aggregation:
    """The steps of one aggregation (a :class:`~loopkit_privacy._release.Statistic`)."""

    kind: Kind
    name: str

    def plan(self, request: Request) -> _Plan:
        return _plan(self.kind, request)

    def bound(self, plan: _Plan, source: RandomSource) -> BoundedAggregates:
        return _reduce(plan, source)

    def noise(
        self, plan: _Plan, bounded: BoundedAggregates, n: int, source: RandomSource
    ) -> _Noisy:
        return _noisy(plan, bounded, n, source)

    def publish(self, plan: _Plan, noisy: _Noisy, receipt: Any) -> Any:
        return _release_table(plan, noisy, receipt, plan.source)

    def trials(self, plan: _Plan, noisy: _Noisy) -> TrialReleases:
        mask = _released_mask(plan, noisy)
        inp = plan.inp
        keys = inp.keys.to_pylist() if inp.by else [{}]
        values = np.where(mask, noisy.value.astype(np.float64), np.nan)
        return TrialReleases(keys, mask, values)


_NAMES: dict[Kind, str] = {
    "count": "aggregate_count",
    "distinct": "aggregate_count",
    "sum": "aggregate_sum",
    "average": "aggregate_average",
    "top_n": "aggregate_top_n",
}


def _request(kind: Kind, args: dict[str, Any]) -> Request:
    """The request of one public call; ``args`` are the function's parameters.

    Validates everything that needs no data: the privacy parameters, the
    contribution bounds, the thresholds and the shared arguments.
    """
    if kind != "count" and kind != "distinct":
        check_column_name(args["column"])
    top_n = kind == "top_n"
    by_list = column_list(args["column"] if top_n else args["by"])
    threshold_name = "min_users" if top_n else "min_threshold"
    min_threshold = args[threshold_name]
    if min_threshold is not None:
        min_threshold = check_finite(min_threshold, threshold_name, example="10")
    if top_n:
        # min_users of top-n: on the noisy user counts, and folded into the
        # selection as its pre-threshold when the keys come from the data.
        min_users = (
            min(max(1, math.ceil(min_threshold)), MAX_MIN_USERS) if min_threshold else 1
        )
    elif args["min_users"] is None:
        min_users = 1
    else:
        min_users = check_positive_int(args["min_users"], "min_users", example="10")
        if args["public_groups"] is not None or not by_list:
            raise InvalidParameterError(
                "`min_users` is the pre-threshold of partition selection (groups "
                "of fewer users are never released); with public groups or no "
                "`by` there is no selection: use `min_threshold` on the noisy "
                "values instead",
                parameter="min_users",
                value=args["min_users"],
            )
    request = Request.of_arguments(_Aggregation(kind, _NAMES[kind]), args, {})
    bounds = contribution_bounds(
        args["privacy_unit"],
        args["max_partitions_per_user"],
        1 if top_n else args["max_contributions_per_partition"],
        args.get("bounds"),
        by_list,
    )
    if kind in ("sum", "average") and bounds.bounds is None:
        raise InvalidParameterError(
            f"`bounds` is required: aggregate_{kind} clamps each value to "
            "bounds=(lo, hi); pass e.g. bounds=(0, 100)",
            parameter="bounds",
            value=None,
        )
    options = {
        "by": by_list,
        "column": args["column"] if kind in ("sum", "average") else None,
        "bounds": bounds,
        "public_groups": args["public_groups"],
        "min_threshold": min_threshold,
        "min_users": min_users,
        "top_n": check_positive_int(args["n"], "n", example="5") if top_n else None,
    }
    return dataclasses.replace(request, options=MappingProxyType(options))


def _average(
    noisy_n: AnyArray,
    noisy_s: AnyArray,
    lo: float,
    hi: float,
    mechs: dict[str, mech.AdditiveMechanism],
    level: float,
) -> tuple[AnyArray, AnyArray, AnyArray]:
    """Normalised-sum average and a conservative interval (post-processing).

    The average is mid + S/N clamped to [lo, hi] (mid when N <= 0). The
    interval takes each of S and N at level (1 + level)/2 (union bound) and
    the extreme ratios over that box.
    """
    mid = (lo + hi) / 2.0
    n = noisy_n.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        avg = np.where(n > 0, mid + noisy_s / np.where(n > 0, n, 1.0), mid)
    avg = np.clip(avg, lo, hi)
    each = (1.0 + level) / 2.0
    hn = mechs["count"].accuracy(each)
    hs = mechs["sum"].accuracy(each)
    n_lo = n - hn
    ok = n_lo >= 1.0
    safe_lo = np.where(ok, n_lo, 1.0)
    n_hi = np.where(ok, n + hn, 1.0)  # >= 1 wherever the interval is used
    corners = np.stack(
        [
            (noisy_s - hs) / safe_lo,
            (noisy_s - hs) / n_hi,
            (noisy_s + hs) / safe_lo,
            (noisy_s + hs) / n_hi,
        ]
    )
    low = np.where(ok, np.clip(mid + corners.min(axis=0), lo, hi), lo)
    high = np.where(ok, np.clip(mid + corners.max(axis=0), lo, hi), hi)
    return avg, low, high


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------

_COMMON_PARAMS = """
    privacy_unit : str or None
        Column identifying the privacy unit (normally a user id); required.
        ``None`` means event-level privacy (each row protected on its own);
        it is recorded on the receipt.
    epsilon, delta, rho : float, optional
        Laplace: ``epsilon`` (and ``delta`` > 0 when groups come from the
        data). Gaussian: ``epsilon`` and ``delta``, or ``rho`` (only with
        public groups or no ``by``).
    mechanism : {"laplace", "gaussian"}
        Noise distribution (exact discrete / granular noise either way).
    max_partitions_per_user : int
        L0: groups one unit may contribute to (default 1).
    max_contributions_per_partition : int
        L∞: rows one unit may contribute to a group (default 1).
    public_groups : list or pyarrow.Table, optional
        Release exactly these groups (scalars for one ``by`` column, tuples
        for several). Without it, groups come from the data through
        partition selection, which costs ``delta``.
    min_threshold : float, optional
        Drop groups whose *noisy* value is below this (post-processing).
    min_users : int, optional
        Pre-threshold of partition selection: a group with fewer distinct
        users (after bounding) is never released, at no extra cost (the
        selection sees max(0, n − min_users + 1) users). Only with groups
        from the data.
    confidence : float
        Level of the ``*_ci_low`` / ``*_ci_high`` interval (default 0.95).
    accountant : Accountant, optional
        Charged the whole cost before any noise is drawn; a refused charge
        raises ``BudgetExceededError``, nothing is spent and nothing released.
    rng : SecureRandom or InsecureSeededRandom, optional
        Entropy source; secure by default.
    label : str, optional
        Name of the release on the receipt.
    purpose : str, optional
        The purpose of the query (e.g. ``"productResearch"``, see
        :data:`loopkit_privacy.controls.PURPOSES`): only rows of users who
        consented to it are used (:func:`loopkit_privacy.controls.apply_consent`).
        ``None`` applies no consent filter.
    consent : table, optional
        Consent records (privacy unit + one boolean column per purpose);
        without it a boolean column named ``purpose`` in the events decides,
        else the conservative default (only ``essentialAnalytics`` is on).
    invalid : {"raise", "drop"}
        What to do with rows whose privacy unit is null or whose value is NaN
        or infinite. ``"raise"`` (for trusted callers) raises a
        ``SchemaError`` naming the column, and nothing is spent; ``"drop"``
        (for services answering untrusted queries) drops those rows before
        bounding — a per-row rule, so the release keeps its guarantee and
        whether it succeeds no longer depends on any one user's rows.
    return_info : bool
        Also return the release's :class:`~loopkit_privacy.ReleaseInfo`, as
        ``(table, info)``: the way to keep it through polars or pandas
        transformations (see :func:`privacy_info`)."""


@release_function
def aggregate_count(
    table: TableLike,
    *,
    by: str | Sequence[str] | None = None,
    privacy_unit: str | None,
    epsilon: float | None = None,
    delta: float | None = None,
    rho: float | None = None,
    mechanism: MechanismName = "laplace",
    distinct: bool = False,
    max_partitions_per_user: int = 1,
    max_contributions_per_partition: int = 1,
    public_groups: Any = None,
    min_threshold: float | None = None,
    min_users: int | None = None,
    confidence: float = 0.95,
    accountant: Accountant | None = None,
    rng: RandomSource | None = None,
    label: str | None = None,
    purpose: str | None = None,
    consent: Any = None,
    invalid: InvalidRows = "raise",
    return_info: bool = False,
) -> Any:
    """Noisy count of rows (or of distinct users) per group.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The events.
    by : str or list of str, optional
        Group-by column(s); ``None`` gives one total.
    distinct : bool
        Count distinct privacy units instead of rows.
    {common}

    Returns
    -------
    Same family as ``table``
        Columns: the ``by`` keys, ``count`` (int64), ``count_ci_low``,
        ``count_ci_high``. Groups are sorted by key.

    Raises
    ------
    InvalidParameterError, SchemaError
        For bad parameters or columns; nothing is charged.
    BudgetExceededError
        When the accountant cannot afford the release; nothing is charged.

    Notes
    -----
    Privacy. After bounding, one unit changes at most L0 groups, each by at
    most L∞ rows (by 1 when counting distinct units). The noise is
    calibrated to L1 = L0·L∞ (Laplace) or L2 = √L0·L∞ (Gaussian). With
    groups from the data and L∞ = 1 (or ``distinct``) the same noisy counts
    drive partition selection, at cost (ε, δ); otherwise selection (on
    distinct-user counts) and the counts each get half of ε and δ.

    Examples
    --------
    >>> import polars as pl, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(3)
    >>> events = pl.DataFrame({{"user_id": list(range(200)), "page": ["home"] * 150 + ["docs"] * 50}})
    >>> out = lp.aggregate_count(events, by="page", privacy_unit="user_id",
    ...                          epsilon=1.0, delta=1e-6, rng=rng)
    >>> out.columns, out["page"].to_list()
    (['page', 'count', 'count_ci_low', 'count_ci_high'], ['docs', 'home'])
    """
    args = dict(locals())
    kind: Kind = "distinct" if check_bool(distinct, "distinct") else "count"
    return _request(kind, args)


@release_function
def aggregate_sum(
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
    min_threshold: float | None = None,
    min_users: int | None = None,
    confidence: float = 0.95,
    accountant: Accountant | None = None,
    rng: RandomSource | None = None,
    label: str | None = None,
    purpose: str | None = None,
    consent: Any = None,
    invalid: InvalidRows = "raise",
    return_info: bool = False,
) -> Any:
    """Noisy sum of a value column per group, values clamped to ``bounds``.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The events.
    column : str
        Numeric value column (nulls are dropped; NaN/inf are refused).
    bounds : (float, float)
        Clamping range (lo < hi).
    by : str or list of str, optional
        Group-by column(s); ``None`` gives one total.
    {common}

    Returns
    -------
    Same family as ``table``
        Columns: the keys, ``sum`` (float64), ``sum_ci_low``, ``sum_ci_high``.

    Raises
    ------
    InvalidParameterError, SchemaError
        For bad parameters or columns; nothing is charged.
    BudgetExceededError
        When the accountant cannot afford the release.

    Notes
    -----
    Privacy. One unit adds at most L∞ values of magnitude ≤ M = max(|lo|,
    |hi|) to at most L0 groups: L1 = L0·L∞·M, L2 = √L0·L∞·M (plus one
    fixed-point quantum per value). Sums are exact fixed-point integers
    (quantum 2**(ceil(log2 M) - 30)), so row order and float rounding cannot
    change them (Casacuberta et al. 2022). With groups from the data, half of
    ε and δ select the groups.

    Examples
    --------
    >>> import pyarrow as pa, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(3)
    >>> t = pa.table({{"user_id": [1, 2, 3], "minutes": [10.0, 20.0, 500.0]}})
    >>> out = lp.aggregate_sum(t, column="minutes", bounds=(0, 60), privacy_unit="user_id",
    ...                        epsilon=1.0, rng=rng)
    >>> out.column_names
    ['sum', 'sum_ci_low', 'sum_ci_high']
    """
    return _request("sum", dict(locals()))


@release_function
def aggregate_average(
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
    min_threshold: float | None = None,
    min_users: int | None = None,
    confidence: float = 0.95,
    accountant: Accountant | None = None,
    rng: RandomSource | None = None,
    label: str | None = None,
    purpose: str | None = None,
    consent: Any = None,
    invalid: InvalidRows = "raise",
    return_info: bool = False,
) -> Any:
    """Noisy average of a value column per group (normalised-sum method).

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The events.
    column : str
        Numeric value column (nulls are dropped; NaN/inf are refused).
    bounds : (float, float)
        Clamping range (lo < hi); the average always lies in it.
    by : str or list of str, optional
        Group-by column(s); ``None`` gives one overall average.
    {common}

    Returns
    -------
    Same family as ``table``
        Columns: the keys, ``average``, ``average_ci_low``, ``average_ci_high``.
        ``min_threshold`` applies to the noisy row count behind each average.

    Raises
    ------
    InvalidParameterError, SchemaError
        For bad parameters or columns; nothing is charged.
    BudgetExceededError
        When the accountant cannot afford the release.

    Notes
    -----
    Privacy. Two noisy statistics, each with half of the (post-selection)
    budget: the row count N (L1 = L0·L∞) and the sum S of values centred on
    mid = (lo + hi)/2 (L1 = L0·L∞·(hi - lo)/2). The average mid + S/N,
    clamped to [lo, hi], is post-processing. The interval combines the two
    noise distributions at level (1 + confidence)/2 each, so it covers with
    probability at least ``confidence``.

    Examples
    --------
    >>> import pandas as pd, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(3)
    >>> sessions = pd.DataFrame({{"user_id": range(500), "minutes": [12.0] * 500}})
    >>> out = lp.aggregate_average(sessions, column="minutes", bounds=(0, 60),
    ...                            privacy_unit="user_id", epsilon=1.0, rng=rng)
    >>> 0 <= float(out["average"].iloc[0]) <= 60
    True
    """
    return _request("average", dict(locals()))


@release_function
def aggregate_top_n(
    table: TableLike,
    *,
    column: str,
    n: int = 5,
    min_users: float | None = None,
    privacy_unit: str | None,
    epsilon: float | None = None,
    delta: float | None = None,
    rho: float | None = None,
    mechanism: MechanismName = "laplace",
    max_partitions_per_user: int = 1,
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
    """The ``n`` values of ``column`` used by the most distinct users, privately.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The events.
    column : str
        The categorical column to rank (e.g. a feature name).
    n : int
        How many to return (>= 1).
    min_users : float, optional
        Only keys whose *noisy* user count is at least this are returned;
        when the keys come from the data it is also the selection's
        pre-threshold (a key with fewer distinct users is never released).
    max_partitions_per_user : int
        How many distinct values of ``column`` one user may count for.
    privacy_unit, epsilon, delta, rho, mechanism, public_groups, confidence, accountant, rng, label, purpose, consent, invalid
        As for :func:`aggregate_count`.

    Returns
    -------
    Same family as ``table``
        Columns: ``column``, ``users`` (noisy distinct users), ``users_ci_low``,
        ``users_ci_high``, ``rank``; at most ``n`` rows, by decreasing
        noisy users.

    Raises
    ------
    InvalidParameterError, SchemaError
        For bad parameters or columns; nothing is charged.
    BudgetExceededError
        When the accountant cannot afford the release.

    Notes
    -----
    Privacy. Noisy distinct-user counts per key (L1 = L0), thresholded for
    partition selection when the keys come from the data, cost (ε, δ); the
    ranking, the cut at ``n`` and ``min_users`` are post-processing of those
    noisy counts (a one-shot noisy top-k that also releases the counts).

    Examples
    --------
    >>> import pyarrow as pa, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(3)
    >>> t = pa.table({{"user_id": list(range(300)), "feature": ["export"] * 200 + ["share"] * 100}})
    >>> out = lp.aggregate_top_n(t, column="feature", n=1, privacy_unit="user_id",
    ...                          epsilon=1.0, delta=1e-6, rng=rng)
    >>> out["feature"].to_pylist()
    ['export']
    """
    return _request("top_n", dict(locals()))


for _f in (aggregate_count, aggregate_sum, aggregate_average):
    assert _f.__doc__ is not None
    _f.__doc__ = (
        _f.__doc__.replace("{common}", _COMMON_PARAMS.strip("\n").lstrip())
        .replace("{{", "{")
        .replace("}}", "}")
    )
aggregate_top_n.__doc__ = (
    (aggregate_top_n.__doc__ or "").replace("{{", "{").replace("}}", "}")
)
