"""The release pipeline every statistic shares (aggregations and cohorts).

A public statistic is a thin function decorated with :func:`release_function`:
it validates its arguments into one frozen :class:`Request` (the caller's
table, privacy unit, :class:`Budget`, confidence, entropy source, accountant
and the statistic's own options) and the pipeline runs the named steps of
its :class:`Statistic`:

1. **plan** - read the needed columns (with the consent filter,
   :func:`read_with_consent`), fix the contribution bounds, choose the
   mechanisms (:func:`noise_mechanism`) and the total cost
   (:func:`total_cost`). No randomness is used and nothing is charged.
2. **bound** - bound each privacy unit's contributions and reduce to the
   statistic's per-group totals (keyed by a salt drawn from the source).
3. **charge** - one accountant transaction for the whole cost
   (:func:`charge`); a refused charge raises and nothing is spent.
4. **noise** - draw the noise (for ``n`` independent releases at once).
5. **publish** - post-process release 0 into the caller's table family
   with its :class:`~loopkit_privacy.ReleaseInfo` (:func:`publish`, read
   back by :func:`privacy_info`).

The audit asks the same request for ``n`` releases with
:meth:`Request.trials`: the same plan, the bounding once under a fixed salt,
noise for ``n`` releases, and the statistic's post-processing as arrays;
nothing is charged.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, ParamSpec, Protocol

import numpy as np
import pyarrow as pa

from loopkit_privacy import mechanisms as mech
from loopkit_privacy import tables
from loopkit_privacy._info import ReleaseInfo
from loopkit_privacy._typing import AnyArray
from loopkit_privacy._validate import (
    check_accountant,
    check_bool,
    check_level,
    check_positive_int,
)
from loopkit_privacy.bounding import ContributionBounds
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.loss import ZCDP, ApproxDP, PrivacyLoss, PureDP, parse_loss
from loopkit_privacy.random import RandomSource, resolve_rng

__all__ = [
    "EVENT_LEVEL",
    "SHARED_ARGUMENTS",
    "Budget",
    "FixedSalt",
    "Request",
    "Statistic",
    "TrialReleases",
    "charge",
    "check_return_info",
    "noise_mechanism",
    "privacy_info",
    "publish",
    "read_with_consent",
    "release_function",
    "request_of",
    "total_cost",
    "with_info",
]

#: What receipts record as the privacy unit of an event-level release.
EVENT_LEVEL = "<event-level: each row>"

META_KEY = b"loopkit_privacy"

INFO_ATTR = tables.INFO_ATTR


@dataclass(frozen=True)
class Budget:
    """Validated privacy parameters of one aggregation call."""

    mechanism: Literal["laplace", "gaussian"]
    epsilon: float | None
    delta: float | None
    rho: float | None

    @staticmethod
    def of(
        mechanism: str, epsilon: float | None, delta: float | None, rho: float | None
    ) -> Budget:
        if mechanism not in ("laplace", "gaussian"):
            raise InvalidParameterError(
                f"`mechanism` must be 'laplace' or 'gaussian', got {mechanism!r}",
                parameter="mechanism",
                value=mechanism,
            )
        if rho is not None and mechanism != "gaussian":
            raise InvalidParameterError(
                "`rho` (zCDP) needs mechanism='gaussian'",
                parameter="rho",
                value=rho,
            )
        loss = parse_loss(
            epsilon=epsilon,
            delta=delta,
            rho=rho,
            need_delta=mechanism == "gaussian",
            missing="pass e.g. epsilon=1.0 (or rho with mechanism='gaussian')",
        )
        if isinstance(loss, ZCDP):
            return Budget("gaussian", None, None, loss.rho)
        return Budget(mechanism, loss.epsilon, loss.delta or None, None)  # type: ignore[arg-type]

    def split(self, share: float) -> tuple[Budget, Budget]:
        """Two budgets whose composition is this one (ε, δ, ρ split by ``share``)."""
        a = Budget(
            self.mechanism,
            None if self.epsilon is None else self.epsilon * share,
            None if self.delta is None else self.delta * share,
            None if self.rho is None else self.rho * share,
        )
        b = Budget(
            self.mechanism,
            None if self.epsilon is None else self.epsilon - a.epsilon,  # type: ignore[operator]
            None if self.delta is None else self.delta - a.delta,  # type: ignore[operator]
            None if self.rho is None else self.rho - a.rho,  # type: ignore[operator]
        )
        return a, b


def noise_mechanism(
    budget: Budget, *, l1: float, l2: float, dimension: int, integer: bool
) -> mech.AdditiveMechanism:
    """The additive mechanism for one statistic (pure Laplace or Gaussian)."""
    if budget.mechanism == "laplace":
        assert budget.epsilon is not None
        cls_l = mech.GeometricMechanism if integer else mech.LaplaceMechanism
        return cls_l(sensitivity=l1, epsilon=budget.epsilon, dimension=dimension)
    cls_g = mech.DiscreteGaussianMechanism if integer else mech.GaussianMechanism
    if budget.rho is not None:
        return cls_g(sensitivity=l2, rho=budget.rho, dimension=dimension)
    return cls_g(
        sensitivity=l2, epsilon=budget.epsilon, delta=budget.delta, dimension=dimension
    )


def read_with_consent(
    table: Any,
    needed: list[str],
    *,
    privacy_unit: str | None,
    purpose: str | None,
    consent: Any,
    values: Sequence[str] = (),
    times: Sequence[str] = (),
) -> tuple[pa.Table, tables.Family]:
    """The needed columns as Arrow, keeping only rows consented to ``purpose``.

    Filtering on each user's own consent is a per-user transformation: a
    neighbouring table (one user more or less) stays neighbouring, so the
    guarantee of the release is unchanged.
    """
    if purpose is None:
        if consent is not None:
            raise InvalidParameterError(
                "`consent` is given without `purpose`: name the purpose of the "
                "query, e.g. purpose='productResearch'",
                parameter="purpose",
                value=None,
            )
        return tables.as_arrow(table, needed, typed=True, values=values, times=times)
    from loopkit_privacy import _consent_filter

    extra = _consent_filter.consent_columns(purpose, tables.columns_of(table))
    data, family = tables.as_arrow(
        table, needed + extra, typed=True, values=values, times=times
    )
    data = _consent_filter.consent_filter_arrow(
        data, purpose, privacy_unit=privacy_unit, consent=consent
    )
    return data.select(list(dict.fromkeys(needed))), family


def publish(result: pa.Table, family: tables.Family, info: ReleaseInfo) -> Any:
    """Convert a result to the caller's family with its privacy information.

    The information travels as Arrow schema metadata (its JSON form), in
    pandas ``attrs`` (the same dict) or as an attribute of the polars frame,
    where :func:`privacy_info` finds it.
    """
    data = info.to_dict()
    result = result.replace_schema_metadata({META_KEY: json.dumps(data).encode()})
    out = tables.from_arrow(result, family)
    if family == "pandas":
        out.attrs[INFO_ATTR] = data
    elif family in ("polars", "polars_lazy"):
        object.__setattr__(out, INFO_ATTR, info)
    return out


def privacy_info(result: Any) -> ReleaseInfo:
    """What a released table cost and how it was made.

    Returns a :class:`~loopkit_privacy.ReleaseInfo`: the cost (a privacy
    loss object), the receipt id (when an accountant was charged), the noise
    mechanisms with their exact scales, the contribution bounds, how the groups
    were chosen and the selection threshold, the confidence level, and whether
    the randomness was insecure.

    The information travels with the table: as Arrow schema metadata, in
    pandas ``attrs`` and as an attribute of a polars frame. Arrow keeps it
    through ``select``/``slice``; pandas keeps ``attrs`` through most
    operations; polars drops it on any transformation (a new frame). To keep
    it regardless, ask the release for it: ``out, info = lp.aggregate_count(...,
    return_info=True)``.

    Parameters
    ----------
    result : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        A table returned by an ``aggregate_*`` function or ``cohort_retention``.

    Examples
    --------
    >>> import pyarrow as pa, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(1)
    >>> t = pa.table({"user_id": [1, 2], "minutes": [3.0, 5.0]})
    >>> out = lp.aggregate_sum(t, column="minutes", bounds=(0, 10), privacy_unit="user_id",
    ...                        epsilon=0.5, rng=rng)
    >>> info = lp.privacy_info(out)
    >>> info.insecure, info.cost, info.bounds
    (True, PureDP(epsilon=0.5), (0.0, 10.0))
    """
    if isinstance(result, pa.Table):
        meta = result.schema.metadata or {}
        if META_KEY not in meta:
            raise InvalidParameterError(
                "`result` carries no privacy information: pass the table an "
                "aggregate_* function or cohort_retention returned",
                parameter="result",
            )
        return ReleaseInfo.from_dict(json.loads(meta[META_KEY]))
    if hasattr(result, "attrs") and INFO_ATTR in getattr(result, "attrs", {}):
        return ReleaseInfo.from_dict(result.attrs[INFO_ATTR])
    info = getattr(result, INFO_ATTR, None)
    if info is None:
        raise InvalidParameterError(
            "`result` carries no privacy information: pass the table an aggregate_* "
            "function or cohort_retention returned (polars drops it on any "
            f"transformation); got an object of type {type(result).__name__}",
            parameter="result",
        )
    if not isinstance(info, ReleaseInfo):  # pragma: no cover - set by publish only
        raise InvalidParameterError(
            "`result` carries unreadable privacy information", parameter="result"
        )
    return info


def charge(
    accountant: Any,
    cost: PrivacyLoss,
    *,
    label: str | None,
    name: str,
    bounds: ContributionBounds,
    parameters: dict[str, Any],
    source: RandomSource,
) -> Any:
    """The accountant's transaction for the whole call (or a no-op)."""
    if accountant is None:
        return contextlib.nullcontext(None)
    return accountant.transaction(
        cost,
        label=label or name,
        mechanism=name,
        parameters=parameters,
        # Event-level privacy must be visible on the receipt.
        privacy_unit=bounds.privacy_unit or EVENT_LEVEL,
        insecure=bool(source.insecure),
    )


def total_cost(parts: list[PrivacyLoss]) -> PrivacyLoss:
    total = parts[0]
    for p in parts[1:]:
        if isinstance(total, ZCDP) and isinstance(p, ZCDP):
            total = ZCDP(total.rho + p.rho)
        else:
            total = total + p
    if isinstance(total, ApproxDP) and total.delta == 0:
        return PureDP(total.epsilon)
    return total


def check_return_info(return_info: Any) -> None:
    """Checked before anything is read or spent."""
    check_bool(return_info, "return_info")


def with_info(out: Any, return_info: bool) -> Any:
    """``out``, or ``(out, privacy_info(out))`` when the caller asked for it."""
    return (out, privacy_info(out)) if return_info else out


# ---------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------


class Plan(Protocol):
    """What every statistic's plan carries for the shared steps."""

    @property
    def cost(self) -> PrivacyLoss: ...

    @property
    def bounds(self) -> ContributionBounds: ...

    @property
    def parameters(self) -> dict[str, Any]: ...


class Statistic(Protocol):
    """The statistic-specific steps of a release (see the module docstring).

    ``plan`` is deterministic (reads the table, uses no randomness);
    ``bound`` takes its keyed-hash salt from ``source``; ``noise`` draws the
    noise of ``n`` independent releases from ``source``; ``publish`` turns
    release 0 into the caller's table; ``trials`` turns all ``n`` into the
    arrays an audit compares.
    """

    @property
    def name(self) -> str:
        """The public function's name (on receipts and in ``ReleaseInfo``)."""
        ...

    def plan(self, request: Request) -> Any: ...

    def bound(self, plan: Any, source: RandomSource) -> Any: ...

    def noise(self, plan: Any, bounded: Any, n: int, source: RandomSource) -> Any: ...

    def publish(self, plan: Any, noisy: Any, receipt: Any) -> Any: ...

    def trials(self, plan: Any, noisy: Any) -> Any: ...


@dataclass(frozen=True)
class TrialReleases:
    """``n`` releases of one aggregation at once (for audits).

    ``keys`` lists every group that could be released (one dict of key
    columns each; a single ``{}`` without groups); ``present`` (n, G) marks
    the groups each release returned and ``values`` (n, G) their value (NaN
    where absent), after every post-processing step of the public function.
    """

    keys: list[dict[str, Any]]
    present: AnyArray
    values: AnyArray


class FixedSalt:
    """A source whose every word is one fixed salt (the bounding's keyed hash key).

    Given to the **bound** step in place of the entropy source, it fixes
    which rows each unit keeps (the audit's trials, and the reference tests).
    """

    insecure = False

    def __init__(self, salt: int) -> None:
        self._salt = np.uint64(salt)

    def words(self, n: int) -> AnyArray:
        return np.full(int(n), self._salt, dtype=np.uint64)


def check_label(label: Any) -> str | None:
    if label is not None and (not isinstance(label, str) or not label):
        raise InvalidParameterError(
            f"`label` must be a non-empty string (or None), got {label!r}; pass "
            "e.g. label='weekly active users'",
            parameter="label",
            value=label,
        )
    return label


def check_invalid(invalid: Any) -> Literal["raise", "drop"]:
    if invalid not in ("raise", "drop"):
        raise InvalidParameterError(
            f"`invalid` must be 'raise' or 'drop', got {invalid!r}",
            parameter="invalid",
            value=invalid,
        )
    return invalid  # type: ignore[no-any-return]


#: The arguments of every public statistic that :meth:`Request.make` takes as
#: they are (after the table).
SHARED_ARGUMENTS = (
    "privacy_unit",
    "epsilon",
    "delta",
    "rho",
    "mechanism",
    "confidence",
    "accountant",
    "rng",
    "label",
    "purpose",
    "consent",
    "invalid",
    "return_info",
)


@dataclass(frozen=True)
class Request:
    """One public call, validated once: what a release is made from.

    Built by a public statistic from its arguments (:meth:`make`); the
    statistic-specific, already validated arguments are in ``options``.
    :meth:`release` runs the pipeline once (what the public function
    returns); :meth:`trials` runs it for ``n`` independent releases without
    charging (audits).
    """

    statistic: Statistic
    table: Any
    privacy_unit: str | None
    budget: Budget
    confidence: float
    source: RandomSource
    accountant: Any
    label: str | None
    purpose: str | None
    consent: Any
    invalid: Literal["raise", "drop"]
    return_info: bool
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def make(
        cls,
        statistic: Statistic,
        table: Any,
        *,
        privacy_unit: str | None,
        epsilon: float | None,
        delta: float | None,
        rho: float | None,
        mechanism: str,
        confidence: float,
        accountant: Any,
        rng: Any,
        label: str | None,
        purpose: str | None,
        consent: Any,
        invalid: str,
        return_info: bool,
        options: Mapping[str, Any],
    ) -> Request:
        """Validate the arguments every statistic shares (nothing is read)."""
        budget = Budget.of(mechanism, epsilon, delta, rho)
        check_return_info(return_info)
        level = check_level(confidence, "confidence")
        inv = check_invalid(invalid)
        check_accountant(accountant)
        return cls(
            statistic=statistic,
            table=table,
            privacy_unit=privacy_unit,
            budget=budget,
            confidence=level,
            source=resolve_rng(rng),
            accountant=accountant,
            label=check_label(label),
            purpose=purpose,
            consent=consent,
            invalid=inv,
            return_info=return_info,
            options=MappingProxyType(dict(options)),
        )

    @classmethod
    def of_arguments(
        cls,
        statistic: Statistic,
        arguments: Mapping[str, Any],
        options: Mapping[str, Any],
    ) -> Request:
        """:meth:`make` from a public function's arguments (``table`` and the shared ones)."""
        shared = {name: arguments[name] for name in SHARED_ARGUMENTS}
        return cls.make(statistic, arguments["table"], **shared, options=options)

    def release(self) -> Any:
        """Plan, bound, charge, noise and publish one release."""
        stat = self.statistic
        plan: Plan = stat.plan(self)
        bounded = stat.bound(plan, self.source)
        with charge(
            self.accountant,
            plan.cost,
            label=self.label,
            name=stat.name,
            bounds=plan.bounds,
            parameters=plan.parameters,
            source=self.source,
        ) as receipt:
            noisy = stat.noise(plan, bounded, 1, self.source)
            out = stat.publish(plan, noisy, receipt)
        return with_info(out, self.return_info)

    def trials(self, n: int, *, salt: int) -> Any:
        """``n`` independent releases, bounded once under ``salt``; nothing charged.

        For a fixed salt, contribution bounding is a deterministic map of
        each unit's own rows, so each release is DP conditionally on the
        salt and the ``n`` releases are independent draws of one DP
        mechanism (see :mod:`loopkit_privacy.audit.trials`).
        """
        if self.accountant is not None:
            raise InvalidParameterError(
                "trial releases are never charged: call without `accountant`",
                parameter="accountant",
                value=self.accountant,
            )
        count = check_positive_int(n, "n", example="1000")
        stat = self.statistic
        plan = stat.plan(self)
        bounded = stat.bound(plan, FixedSalt(salt))
        noisy = stat.noise(plan, bounded, count, self.source)
        return stat.trials(plan, noisy)


P = ParamSpec("P")


def request_of(func: Callable[..., Any], table: Any, **kwargs: Any) -> Request:
    """The :class:`Request` that ``func(table, **kwargs)`` would run.

    ``func`` is a public statistic made by :func:`release_function` (or a
    ``functools.partial`` of one, whose keywords are merged).
    """
    if isinstance(func, functools.partial):
        return request_of(func.func, table, **{**func.keywords, **kwargs})
    build = getattr(func, "request", None)
    if build is None:
        raise InvalidParameterError(
            f"{getattr(func, '__name__', func)!r} is not a release function",
            parameter="func",
            value=None,
        )
    request = build(table, **kwargs)
    assert isinstance(request, Request)
    return request


def release_function(build: Callable[P, Request]) -> Callable[P, Any]:
    """Make a public statistic from a function that builds its :class:`Request`.

    The public function runs ``build(...).release()``; ``public.request`` is
    ``build`` itself, with the same signature, for callers that want the
    request (the audit's trials).
    """

    @functools.wraps(build)
    def public(*args: P.args, **kwargs: P.kwargs) -> Any:
        return build(*args, **kwargs).release()

    signature = inspect.signature(build)
    public.__signature__ = signature.replace(  # type: ignore[attr-defined]
        return_annotation=Any
    )
    public.request = build  # type: ignore[attr-defined]
    return public
