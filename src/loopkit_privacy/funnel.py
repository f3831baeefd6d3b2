"""Differentially private conversion funnels.

:func:`funnel` takes an event table (user, step name, time) and a public,
ordered list of steps, e.g. ``["signup", "activate", "purchase"]``. For each
user it finds the furthest step reached *in order* within a time window
after the user's first event of the first step, and releases, per group,
the noisy number of users reaching each step and the conversion rates
between steps with confidence intervals.

The privacy contract, user-level:

* **Steps and the window are public**: the caller lists the steps; events
  whose step is not in the list are ignored.
* **One cell per user.** The release is computed from the histogram of
  *levels*: H_k, the number of users whose furthest step is exactly step k
  (k = 1..S). A user is in exactly one level of one group (or in none), so
  adding or removing a user changes H by 1 in one cell: L1 = L2 = 1, with no
  contribution bound needed and no row ever dropped. The number of users
  reaching step j is the post-processed sum R_j = H_j + ... + H_S.
* **Why levels and not reach counts.** Noising R_1..R_S directly needs
  sensitivity L1 = S (a user adds 1 to each step they reach), i.e. noise
  variance 2S²/ε² per step (Laplace). From the levels, R_j is a sum of
  S - j + 1 cells of variance 2/ε² each: 2(S - j + 1)/ε² <= 2S/ε², smaller
  by a factor of at least S for every step (Gaussian: S - j + 1 against S
  times the same σ², never worse). Both are unbiased.
* **Groups** (``by``) are a per-user attribute read at the user's anchor
  event (their first event of the first step), so a user who changes plan
  later still belongs to one group. Public groups, or keep-or-drop partition
  selection on the number of users per group (each user in one group), which
  takes half of ε and the whole δ (Laplace) or half of each (Gaussian).
* **Charged before noise**, by the shared release pipeline; bad input
  raises before anything is charged; an empty table gives noisy zeros.

Examples
--------
>>> import datetime as dt, pyarrow as pa, loopkit_privacy as lp
>>> rng = lp.random.InsecureSeededRandom(0)
>>> t0 = dt.datetime(2026, 3, 1)
>>> events = pa.table({
...     "user": [u for u in range(300) for _ in range(1 + u % 3)],
...     "event": [s for u in range(300) for s in ["signup", "activate", "buy"][: 1 + u % 3]],
...     "at": [t0 + dt.timedelta(hours=k) for u in range(300) for k in range(1 + u % 3)],
... })
>>> out = lp.funnel(events, privacy_unit="user", step="event", time="at",
...                 steps=["signup", "activate", "buy"], epsilon=1.0, rng=rng)
>>> out["step"].to_pylist()
['signup', 'activate', 'buy']
>>> out.column_names[:4]
['step', 'step_index', 'users', 'users_ci_low']
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from loopkit_privacy import mechanisms as mech
from loopkit_privacy import tables
from loopkit_privacy._grouped import (
    Selection,
    add_integer_noise,
    column_list,
    make_selection,
    noise_infos,
    release_info,
    sorted_keys_order,
)
from loopkit_privacy._kernels import funnel as _kf
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
from loopkit_privacy.bounding import ContributionBounds, check_sizes
from loopkit_privacy.cohorts import clock_of, time_ticks
from loopkit_privacy.errors import InvalidParameterError, OptionalDependencyError
from loopkit_privacy.histogram import match_public
from loopkit_privacy.loss import PrivacyLoss
from loopkit_privacy.random import RandomSource

if TYPE_CHECKING:
    from loopkit_privacy.accounting import Accountant

__all__ = ["funnel", "plot_funnel"]

#: Most steps in one funnel.
MAX_STEPS = 1 << 10

_NS_PER_TICK = {
    "D": 86_400 * 10**9,
    "s": 10**9,
    "ms": 10**6,
    "us": 10**3,
    "ns": 1,
}
_UNIT_NS = {
    "w": 7 * 86_400 * 10**9,
    "d": 86_400 * 10**9,
    "h": 3_600 * 10**9,
    "m": 60 * 10**9,
    "min": 60 * 10**9,
    "s": 10**9,
    "ms": 10**6,
    "us": 10**3,
    "ns": 1,
}
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(w|d|h|min|m|s|ms|us|ns)\s*$")
_INT64_MAX = (1 << 63) - 1


# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------


def parse_window(within: Any) -> int:
    """A positive window (``"7d"``, ``"12h"``, ``"30m"``, timedelta) in nanoseconds.

    Examples
    --------
    >>> parse_window("7d") == 7 * 86_400 * 10**9
    True
    >>> parse_window(_dt.timedelta(hours=12)) == parse_window("12h")
    True
    """

    def refuse(why: str) -> InvalidParameterError:
        return InvalidParameterError(
            f"`within` must be a positive duration such as '7d', '12h', '30m', "
            f"'45s' or a datetime.timedelta; {why}",
            parameter="within",
            value=None,
        )

    ns: int
    if isinstance(within, _dt.timedelta):
        ns = (
            within.days * 86_400 + within.seconds
        ) * 10**9 + within.microseconds * 1000
    elif isinstance(within, np.timedelta64):
        if np.isnat(within):
            raise refuse("got NaT")
        if np.datetime_data(within.dtype)[0] in ("Y", "M", "generic"):
            raise refuse(f"got {within!r}, whose length in time is not fixed")
        ns = int(within.astype("timedelta64[ns]").astype(np.int64))
    elif isinstance(within, str):
        match = _WINDOW.match(within.lower())
        if match is None:
            raise refuse(
                f"got {within!r} (units: w, d, h, m or min, s, ms, us, ns; months "
                "and years have no fixed length)"
            )
        amount = Fraction(match.group(1))
        ns = math.floor(amount * _UNIT_NS[match.group(2)])
    else:
        raise refuse(f"got an object of type {type(within).__name__}")
    if ns <= 0:
        raise refuse(f"got {within!r}, which is not positive")
    return ns


def _check_steps(steps: Any) -> list[Any]:
    if isinstance(steps, str | bytes | dict | set | frozenset) or not (
        hasattr(steps, "__iter__") and hasattr(steps, "__len__")
    ):
        raise InvalidParameterError(
            "`steps` must be an ordered list of step names, got an object of type "
            f"{type(steps).__name__}; pass e.g. steps=['signup', 'activate', 'purchase']",
            parameter="steps",
            value=None,
        )
    out = list(steps.to_pylist() if isinstance(steps, pa.Array) else steps)
    if len(out) < 2:
        raise InvalidParameterError(
            f"`steps` must list at least two steps (a funnel from one step to the "
            f"next), got {len(out)}; pass e.g. steps=['signup', 'purchase']",
            parameter="steps",
            value=None,
        )
    if len(out) > MAX_STEPS:
        raise InvalidParameterError(
            f"`steps` must list at most {MAX_STEPS} steps, got {len(out)}",
            parameter="steps",
            value=None,
        )
    for s in out:
        if isinstance(s, bool) or not isinstance(s, str | int):
            raise InvalidParameterError(
                f"`steps` must hold step names (strings or integers), got {s!r}",
                parameter="steps",
                value=None,
            )
    seen: dict[tuple[type, Any], int] = {}
    for j, s in enumerate(out):
        first = seen.setdefault((type(s), s), j)
        if first != j:
            raise InvalidParameterError(
                f"`steps` lists the same step twice (positions {first} and {j}); "
                "each step appears once in a funnel",
                parameter="steps",
                value=None,
            )
    if len({type(s) for s in out}) != 1:
        raise InvalidParameterError(
            "`steps` mixes strings and integers; give the steps in the step "
            "column's type",
            parameter="steps",
            value=None,
        )
    return out


def _check_column(value: Any, name: str, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidParameterError(
            f"`{name}` must be a column name ({what}), got {value!r}",
            parameter=name,
            value=value,
        )
    return value


# ---------------------------------------------------------------------------
# Reading the data
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Input:
    family: tables.Family
    by: list[str]
    keys: pa.Table
    public: bool
    n_groups: int
    level: AnyArray  # per user: steps reached (0..S)
    group: AnyArray  # per user: the anchor row's group (-1: none)
    step_names: pa.Array


def _read(request: Request) -> _Input:
    opts = request.options
    privacy_unit = request.privacy_unit
    if privacy_unit is None:
        raise InvalidParameterError(
            "`privacy_unit` must name the user column: a funnel follows each "
            "user's events, so event-level privacy (None) has no meaning here",
            parameter="privacy_unit",
            value=None,
        )
    _check_column(privacy_unit, "privacy_unit", "the user column")
    step, time = opts["step"], opts["time"]
    by_list: list[str] = opts["by"]
    names = [privacy_unit, step, time]
    if len(set(names)) != 3:
        raise InvalidParameterError(
            f"`privacy_unit`, `step` and `time` must be three different columns, "
            f"got {names!r}",
            parameter="step",
            value=step,
        )
    for name in by_list:
        if name in names:
            raise InvalidParameterError(
                f"`by` column {name!r} is also the privacy unit, step or time "
                "column; group by a per-user attribute such as a plan",
                parameter="by",
                value=by_list,
            )
    public = opts["public_groups"] is not None
    keys_public = (
        tables.public_key_table(opts["public_groups"], by_list) if public else None
    )
    steps: list[Any] = opts["steps"]
    step_names = pa.array(steps)
    needed = [privacy_unit, step, time, *by_list]
    data, family = read_with_consent(
        request.table,
        needed,
        privacy_unit=privacy_unit,
        purpose=request.purpose,
        consent=request.consent,
        times=[time],
    )
    # Types from the schema, before any row is looked at.
    tables.check_key_column(data, privacy_unit, role="privacy-unit")
    tables.check_key_column(data, step, role="step")
    for name in by_list:
        tables.check_key_column(data, name)
    clock = clock_of(data.schema.field(time).type, time)
    if request.invalid == "drop":
        # Rows without a user or a time: dropped row by row (a per-row rule).
        data = tables.drop_invalid(data, units=[privacy_unit, time], values=[])
    try:
        step_codes = match_public(data, [step], pa.table({step: step_names}))
    except InvalidParameterError as err:
        raise InvalidParameterError(
            str(err).replace("`public_groups`", "`steps`"),
            parameter="steps",
            value=None,
        ) from None
    units, n_units = tables.unit_codes(data, privacy_unit)
    times = time_ticks(data, time, clock)
    if keys_public is not None:
        groups = match_public(data, by_list, keys_public)
        keys = keys_public
    else:
        grouped = tables.group_codes(data, by_list)
        groups, keys = grouped.codes, grouped.keys
    n_groups = keys.num_rows if by_list else 1
    check_sizes(units.shape[0], n_groups * len(steps))
    # Rows whose time is at or beyond the window from any anchor still count
    # as steps of nothing; the window in the column's ticks, rounded up: with
    # integer tick differences d, d < W / tick exactly when d < ceil(W / tick).
    per_tick = _NS_PER_TICK[clock.unit]
    window = min(-(-opts["within_ns"] // per_tick), _INT64_MAX)
    level, group = _kf.funnel_levels(
        units,
        step_codes,
        times,
        groups,
        np.int64(n_units),
        np.int64(len(steps)),
        np.int64(window),
    )
    return _Input(family, by_list, keys, public, n_groups, level, group, step_names)


# ---------------------------------------------------------------------------
# Intervals of sums of independent noise
# ---------------------------------------------------------------------------


def _noise_pmf(noise: mech.AdditiveMechanism) -> AnyArray | None:
    """The exact noise pmf on [-K, K] (mass beyond K below 1e-18), or None if huge."""
    if noise._lap is not None:
        log_q = -math.ldexp(1.0, noise._lap.m) / noise._lap.t
        k = math.ceil(math.log(1e-18) / log_q)
        if k > 1 << 18:
            return None
        x = np.abs(np.arange(-k, k + 1, dtype=np.float64))
        q = math.exp(log_q)
        pmf: AnyArray = (1.0 - q) / (1.0 + q) * np.exp(x * log_q)
        return pmf
    assert noise._dg is not None
    sigma = noise._dg.sigma
    k = math.ceil(sigma * math.sqrt(2.0 * math.log(1e18))) + 1
    if k > 1 << 18:
        return None
    x = np.arange(-k, k + 1, dtype=np.float64)
    w = np.exp(-(x * x) / (2.0 * sigma * sigma))
    out: AnyArray = w / w.sum()
    return out


@functools.lru_cache(maxsize=256)
def _sum_half_width_cached(
    noise: mech.AdditiveMechanism, m: int, confidence: float
) -> float:
    if m == 1:
        return noise.accuracy(confidence)
    pmf = _noise_pmf(noise)
    if pmf is None or (pmf.shape[0] - 1) * m > 1 << 22:
        # Union bound: each of the m noises within h at 1 - (1 - c)/m.
        return m * noise.accuracy(1.0 - (1.0 - confidence) / m)
    from scipy.signal import fftconvolve

    total = pmf
    for _ in range(m - 1):
        total = np.clip(fftconvolve(total, pmf), 0.0, None)
    centre = (total.shape[0] - 1) // 2
    # P(|S| <= h) for h = 0, 1, ...; a small margin makes float error err wide.
    inner = (
        np.cumsum(total[centre:])
        + np.concatenate([[0.0], np.cumsum(total[centre - 1 :: -1])])[: centre + 1]
    )
    h = int(np.searchsorted(inner, confidence + 1e-9))
    return float(min(h, m * noise.accuracy(1.0 - (1.0 - confidence) / m)))


def sum_half_width(noise: mech.AdditiveMechanism, m: int, confidence: float) -> float:
    """Half-width h with P(|Z_1 + ... + Z_m| <= h) >= confidence, Z_i iid noise.

    From the exact pmf of the sum (convolution of the mechanism's discrete
    Laplace or discrete Gaussian pmf), and never wider than the union bound
    m · h_1(1 - (1 - confidence)/m).
    """
    return _sum_half_width_cached(noise, int(m), float(confidence))


def _ratio_interval(
    a: AnyArray, ha: float, b: AnyArray, hb: float
) -> tuple[AnyArray, AnyArray]:
    """An interval for A* / (A* + B*) from independent intervals A ± ha, B ± hb.

    The ratio increases with A* and decreases with B* (both >= 0), so the
    extreme values over the box of the two intervals bound it.
    """
    a_lo = np.maximum(a - ha, 0.0)
    a_hi = np.maximum(a + ha, 0.0)
    b_lo = np.maximum(b - hb, 0.0)
    b_hi = np.maximum(b + hb, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(a_lo + b_hi > 0, a_lo / (a_lo + b_hi), 0.0)
        high = np.where(a_hi + b_lo > 0, a_hi / (a_hi + b_lo), 1.0)
    return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)


def _rates(
    level_counts: AnyArray, noise: mech.AdditiveMechanism, confidence: float
) -> dict[str, AnyArray]:
    """Users reaching each step, conversion rates and their intervals (post-processing).

    ``level_counts`` is (G, S) noisy H_k. R_j = Σ_{k >= j} H_k. The rate from
    step j-1 to j is R_j / (R_j + H_{j-1}); from the first step,
    R_j / (R_j + H_0 + ... + H_{j-1}): in both, numerator and the rest use
    disjoint (independent) noise, each taken at level √confidence.
    """
    g, s = level_counts.shape
    h = level_counts.astype(np.float64)
    reach = np.cumsum(h[:, ::-1], axis=1)[:, ::-1]  # R_j
    users_hw = np.array([sum_half_width(noise, s - j, confidence) for j in range(s)])
    each = math.sqrt(confidence)
    out: dict[str, AnyArray] = {
        "users": reach,
        "users_ci_low": reach - users_hw,
        "users_ci_high": reach + users_hw,
    }
    conv = np.full((g, s), np.nan)
    conv_lo = np.full((g, s), np.nan)
    conv_hi = np.full((g, s), np.nan)
    first = np.full((g, s), np.nan)
    first_lo = np.full((g, s), np.nan)
    first_hi = np.full((g, s), np.nan)
    hw1 = sum_half_width(noise, 1, each)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(1, s):
            a = reach[:, j]
            ha = sum_half_width(noise, s - j, each)
            prev = reach[:, j - 1]
            conv[:, j] = np.where(prev > 0, np.clip(a / prev, 0.0, 1.0), np.nan)
            conv_lo[:, j], conv_hi[:, j] = _ratio_interval(a, ha, h[:, j - 1], hw1)
            top = reach[:, 0]
            first[:, j] = np.where(top > 0, np.clip(a / top, 0.0, 1.0), np.nan)
            first_lo[:, j], first_hi[:, j] = _ratio_interval(
                a, ha, top - a, sum_half_width(noise, j, each)
            )
    out.update(
        conversion=conv,
        conversion_ci_low=conv_lo,
        conversion_ci_high=conv_hi,
        conversion_from_first=first,
        conversion_from_first_ci_low=first_lo,
        conversion_from_first_ci_high=first_hi,
    )
    return out


# ---------------------------------------------------------------------------
# The release steps
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    inp: _Input
    bounds: ContributionBounds
    selection: Selection | None
    noise: mech.AdditiveMechanism
    cost: PrivacyLoss
    parameters: dict[str, Any]
    level: float
    source: RandomSource
    window: str


@dataclass(frozen=True)
class _Noisy:
    keep: AnyArray  # (n, G) released groups
    counts: AnyArray  # (n, G, S) noisy users per exact level (0: not released)


class _Funnel:
    """The steps of ``funnel`` (a :class:`~loopkit_privacy._release.Statistic`)."""

    name = "funnel"

    def plan(self, request: Request) -> _Plan:
        opts = request.options
        inp = _read(request)
        budget = request.budget
        # One cell per user: L0 = L∞ = 1 on the (group, level) cells.
        bounds = ContributionBounds(request.privacy_unit, 1, 1, None)
        selection = None
        stat_budget = budget
        if inp.by and not inp.public:
            sel_budget, stat_budget = budget.split(0.5)
            if budget.mechanism == "laplace" and budget.delta is not None:
                sel_budget = Budget("laplace", sel_budget.epsilon, budget.delta, None)
                stat_budget = Budget("laplace", stat_budget.epsilon, None, None)
            # Keep-or-drop: the selection's user counts are not released.
            selection = make_selection(sel_budget, bounds, noisy_counts=False)
        noise = noise_mechanism(stat_budget, l1=1.0, l2=1.0, dimension=1, integer=True)
        parts = ([selection.cost] if selection else []) + [noise.cost]
        names = (
            [f"partition selection ({selection.name}, τ={selection.threshold})"]
            if selection
            else []
        ) + [f"levels: {noise.name}(scale={noise.scale:.6g}, L1=1)"]
        parameters = {
            "kind": "funnel",
            "by": inp.by,
            "steps": [str(s) for s in opts["steps"]],
            "within": opts["within_label"],
            "mechanisms": names,
        }
        return _Plan(
            inp,
            bounds,
            selection,
            noise,
            total_cost(parts),
            parameters,
            request.confidence,
            request.source,
            opts["within_label"],
        )

    def bound(self, plan: _Plan, source: RandomSource) -> AnyArray:
        # No bounding is needed: each user is in one cell by construction.
        inp = plan.inp
        out: AnyArray = _kf.level_counts(
            inp.level,
            inp.group,
            np.int64(inp.n_groups),
            np.int64(len(inp.step_names)),
        )
        return out

    def noise(
        self, plan: _Plan, bounded: AnyArray, n: int, source: RandomSource
    ) -> _Noisy:
        g, s = bounded.shape
        keep = np.ones((n, g), dtype=bool)
        if plan.selection is not None:
            users = np.broadcast_to(bounded.sum(axis=1), (n, g)).ravel()
            keep = plan.selection.select(users, source)[0].reshape(n, g)
        counts = np.zeros((n, g, s), dtype=np.int64)
        true = np.broadcast_to(bounded, (n, g, s))
        counts[keep] = add_integer_noise(
            plan.noise, true[keep].ravel(), source
        ).reshape(-1, s)
        return _Noisy(keep, counts)

    def publish(self, plan: _Plan, noisy: _Noisy, receipt: Any) -> Any:
        inp = plan.inp
        s = len(inp.step_names)
        group_idx = np.flatnonzero(noisy.keep[0]).astype(np.int64)
        if inp.by and not inp.public:
            order = sorted_keys_order(
                inp.keys.take(pa.array(group_idx, type=pa.int64())), inp.by
            )
            group_idx = group_idx[order]
        stats = _rates(noisy.counts[0][group_idx], plan.noise, plan.level)
        rows = np.repeat(group_idx, s)
        idx = np.tile(np.arange(s, dtype=np.int64), group_idx.shape[0])
        arrays: dict[str, Any] = {}
        if inp.by:
            part = inp.keys.take(pa.array(rows, type=pa.int64()))
            arrays = {name: part.column(name) for name in inp.by}
        arrays["step"] = inp.step_names.take(pa.array(idx, type=pa.int64()))
        arrays["step_index"] = pa.array(idx)
        for name, values in stats.items():
            flat = values.ravel()
            if name == "users":
                arrays[name] = pa.array(flat.astype(np.int64))
            else:
                arrays[name] = pa.array(flat, mask=np.isnan(flat))
        info = release_info(
            release=self.name,
            cost=plan.cost,
            receipt=receipt,
            source=plan.source,
            confidence=plan.level,
            bounds=plan.bounds,
            noise=noise_infos({"levels": plan.noise}, plan.selection),
            selection=plan.selection,
            public=inp.public,
        ).replace(
            parameters={
                "steps": plan.parameters["steps"],
                "within": plan.window,
                "l1_sensitivity": 1,
                "encoding": "users per exact furthest step",
            }
        )
        return publish(pa.table(arrays), inp.family, info)

    def trials(self, plan: _Plan, noisy: _Noisy) -> TrialReleases:
        """One key per (group, furthest step); the noisy level counts as values."""
        inp = plan.inp
        steps = inp.step_names.to_pylist()
        group_keys = inp.keys.to_pylist() if inp.by else [{}]
        keys = [{**key, "furthest_step": st} for key in group_keys for st in steps]
        n = noisy.counts.shape[0]
        present = np.repeat(noisy.keep, len(steps), axis=1)
        values = np.where(
            present, noisy.counts.reshape(n, -1).astype(np.float64), np.nan
        )
        return TrialReleases(keys, present, values)


_FUNNEL = _Funnel()


@release_function
def funnel(
    table: TableLike,
    *,
    privacy_unit: str,
    step: str,
    steps: Sequence[Any],
    time: str,
    within: str | _dt.timedelta = "7d",
    by: str | Sequence[str] | None = None,
    public_groups: Any = None,
    epsilon: float | None = None,
    delta: float | None = None,
    rho: float | None = None,
    mechanism: MechanismName = "laplace",
    confidence: float = 0.95,
    accountant: Accountant | None = None,
    rng: RandomSource | None = None,
    label: str | None = None,
    purpose: str | None = None,
    consent: Any = None,
    invalid: InvalidRows = "raise",
    return_info: bool = False,
) -> Any:
    r"""Noisy users reaching each step of an ordered funnel, and conversion rates.

    A user's funnel starts at their first event of ``steps[0]`` (time t0).
    Step j counts as reached when the user has an event of step j at or
    after the time step j-1 was reached and before t0 + ``within``; the
    released level of a user is the furthest step reached so (the earliest
    qualifying event is taken for each step, which finds the furthest
    reachable step). Users without an event of the first step are in no
    count.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The events: one row per event.
    privacy_unit : str
        The user column (the unit protected; required).
    step : str
        The column naming each event's step (strings, categoricals or integers).
    steps : sequence
        The public, ordered funnel steps (at least two, each once). Events of
        other steps are ignored.
    time : str
        Event time column (date or timestamp; zoned timestamps on their wall clock).
    within : str or datetime.timedelta
        The window after the first step: ``"7d"``, ``"12h"``, ``"30m"``,
        ``"45s"``, ``"2w"`` or a timedelta; must be positive. An event
        counts when its time minus t0 is strictly below the window (on a
        date column "7d" means the first day and the six after it).
    by : str or list of str, optional
        Per-user attributes to group by (e.g. ``"plan"``). A user's group is
        the value on their anchor row (the first event of the first step),
        so an attribute that changes later does not split a user.
    public_groups : list or table, optional
        Release exactly these groups; users whose anchor group is not listed
        are left out. Without it, groups come from the data through partition
        selection (costs ``delta``).
    epsilon, delta, rho, mechanism
        Laplace needs ``epsilon`` (and ``delta`` for groups from the data);
        Gaussian ``epsilon`` and ``delta``, or ``rho`` (public groups only).
    confidence : float
        Level of every ``*_ci_low`` / ``*_ci_high`` interval.
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
        Rows with a null user or time: raise ``SchemaError`` (nothing spent)
        or drop them first (a per-row rule; the guarantee holds). Null steps
        are never an error: they are events of no funnel step.
    return_info : bool
        Also return the :class:`~loopkit_privacy.ReleaseInfo`, as ``(table, info)``.

    Returns
    -------
    Same family as ``table``
        One row per released group and step, sorted by key then step order:
        the ``by`` keys, ``step``, ``step_index`` (0-based), ``users`` (int64:
        noisy users reaching the step) and its CI, ``conversion`` (from the
        previous step; null on the first) and its CI,
        ``conversion_from_first`` (from the first step) and its CI.

    Raises
    ------
    InvalidParameterError, SchemaError
        Fewer than two steps, a step listed twice, steps not of the step
        column's type, a window that is not positive, bad columns; nothing
        is charged.
    BudgetExceededError
        When the accountant cannot afford the release.

    Notes
    -----
    Privacy. The mechanism releases H_k, the users whose furthest step is
    exactly k, for k = 1..S in each group: a user is in one cell, so
    L1 = L2 = 1 and each cell gets discrete Laplace noise of scale 1/ε (or
    discrete Gaussian noise). Users reaching step j are
    :math:`R_j = \sum_{k \ge j} H_k` (post-processing): unbiased, with noise
    variance (S - j + 1)·2/ε², against 2S²/ε² for noising the S reach counts
    directly (L1 = S). The ``users`` interval is exact for the sum of
    S - j + 1 independent noises (their convolution). A conversion rate is
    R_j / (R_j + rest) where R_j and the rest (H_{j-1}, or H_1..H_{j-1} from
    the first step) have independent noise: each is taken at level
    √confidence and the extreme ratios over that box give an interval that
    covers the true rate with probability at least ``confidence``. Rates are
    clipped to [0, 1] (null where the denominator is not positive).

    Examples
    --------
    >>> import datetime as dt, polars as pl, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(1)
    >>> t0 = dt.datetime(2026, 3, 1)
    >>> rows = [(u, s, t0 + dt.timedelta(days=2 * k)) for u in range(2000)
    ...         for k, s in enumerate(["signup", "activate", "buy"][: 1 + u % 3])]
    >>> events = pl.DataFrame(rows, schema=["user", "event", "at"], orient="row")
    >>> out = lp.funnel(events, privacy_unit="user", step="event", time="at",
    ...                 steps=["signup", "activate", "buy"], within="3d",
    ...                 epsilon=1.0, rng=rng)
    >>> out["users"].to_list()  # 2000 sign up, 1333 activate, none buy within 3 days
    [1997, 1330, -1]
    """
    args = dict(locals())
    options = {
        "step": _check_column(step, "step", "the column naming each event's step"),
        "time": _check_column(time, "time", "the event time column"),
        "steps": _check_steps(steps),
        "within_ns": parse_window(within),
        "within_label": str(within),
        "by": column_list(by),
        "public_groups": public_groups,
    }
    return Request.of_arguments(_FUNNEL, args, options)


# ---------------------------------------------------------------------------
# Plot
# ---------------------------------------------------------------------------


def plot_funnel(result: Any, *, ax: Any = None, max_groups: int = 8) -> Any:
    """Bars of users reaching each step of a :func:`funnel` result, with intervals.

    Needs matplotlib (``pip install 'loopkit_privacy[plot]'``). Each bar is
    annotated with its conversion from the previous step.

    Parameters
    ----------
    result : table
        The output of :func:`funnel` (any family).
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    max_groups : int
        Groups drawn at most (side by side).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidParameterError
        When ``result`` is not a funnel result or ``ax`` is not an Axes.

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa, loopkit_privacy as lp
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> rng = lp.random.InsecureSeededRandom(2)
    >>> t = pa.table({"u": [1, 1, 2], "s": ["a", "b", "a"],
    ...               "t": [dt.date(2026, 1, 1)] * 3})
    >>> out = lp.funnel(t, privacy_unit="u", step="s", time="t", steps=["a", "b"],
    ...                 epsilon=1.0, rng=rng)
    >>> ax = lp.plot_funnel(out)
    >>> [label.get_text() for label in ax.get_xticklabels()]
    ['a', 'b']
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise OptionalDependencyError(
            "plot_funnel needs matplotlib: pip install 'loopkit_privacy[plot]'"
        ) from err
    from loopkit_privacy._validate import check_positive_int
    from loopkit_privacy.errors import PrivacyError

    max_groups = check_positive_int(max_groups, "max_groups", example="8")
    if ax is not None and not callable(getattr(ax, "bar", None)):
        raise InvalidParameterError(
            "`ax` must be a matplotlib Axes (or None), got an object of type "
            f"{type(ax).__name__}; pass e.g. ax=plt.subplots()[1]",
            parameter="ax",
            value=None,
        )
    wanted = ["step", "step_index", "users", "users_ci_low", "users_ci_high"]
    wanted += ["conversion"]
    try:
        columns = tables.columns_of(result)
    except PrivacyError:
        columns = []
    if any(c not in columns for c in wanted):
        raise InvalidParameterError(
            "`result` must be the table funnel returned (with columns "
            f"{', '.join(wanted)}); got an object of type {type(result).__name__} "
            "without them",
            parameter="result",
            value=None,
        )
    stats = {
        *wanted,
        "users_ci_low",
        "conversion_ci_low",
        "conversion_ci_high",
        "conversion_from_first",
        "conversion_from_first_ci_low",
        "conversion_from_first_ci_high",
    }
    keys = [c for c in columns if c not in stats]
    data, _ = tables.as_arrow(result, keys + wanted)
    idx = data.column("step_index").to_pylist()
    names: dict[int, Any] = dict(zip(idx, data.column("step").to_pylist(), strict=True))
    n_steps = max(idx) + 1 if idx else 0
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
        _, ax = plt.subplots(figsize=(1.5 + 1.1 * max(n_steps, 1), 3.6))
    users = np.asarray(data.column("users").to_pylist(), dtype=np.float64)
    low = np.asarray(data.column("users_ci_low").to_pylist(), dtype=np.float64)
    high = np.asarray(data.column("users_ci_high").to_pylist(), dtype=np.float64)
    conv = data.column("conversion").to_pylist()
    pos = np.asarray(idx, dtype=np.float64)
    width = 0.8 / max(len(groups), 1)
    for j, name in enumerate(groups):
        rows = np.array([g == name for g in group_of])
        x = pos[rows] - 0.4 + width * (j + 0.5)
        ax.bar(
            x,
            users[rows],
            width=width,
            yerr=np.vstack([users[rows] - low[rows], high[rows] - users[rows]]),
            capsize=2,
            label=name if keys else None,
        )
        for xi, yi, ci in zip(
            x,
            users[rows],
            [c for c, r in zip(conv, rows, strict=True) if r],
            strict=True,
        ):
            if ci is not None:
                ax.annotate(
                    f"{100 * ci:.0f}%", (xi, yi), ha="center", va="bottom", fontsize=7
                )
    ax.set_xticks(range(n_steps))
    ax.set_xticklabels([str(names[i]) for i in range(n_steps)])
    ax.set_ylabel("users reaching the step (noisy)")
    ax.set_title("funnel (noisy)", fontsize=9)
    if keys:
        ax.legend(fontsize=8, loc="best")
    return ax
