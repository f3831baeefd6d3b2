"""The release steps every statistic shares (aggregations and cohorts).

A release validates its privacy parameters into a :class:`Budget`, reads the
needed columns (with the consent filter) through :func:`read_with_consent`,
chooses one additive mechanism per statistic with :func:`noise_mechanism`,
adds their costs with :func:`total_cost`, charges the accountant in one
transaction (:func:`charge`), and publishes the table with its
:class:`~loopkit_privacy.ReleaseInfo` (:func:`publish`, read back by
:func:`privacy_info`). The statistic-specific steps (bounding, reducing,
partition selection) stay with each statistic.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from loopkit_privacy import mechanisms as mech
from loopkit_privacy import tables
from loopkit_privacy._info import ReleaseInfo
from loopkit_privacy._validate import (
    check_bool,
    check_delta,
    check_epsilon,
    check_rho,
)
from loopkit_privacy.bounding import ContributionBounds
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.loss import ZCDP, ApproxDP, PrivacyLoss, PureDP
from loopkit_privacy.random import RandomSource

__all__ = [
    "EVENT_LEVEL",
    "Budget",
    "charge",
    "check_return_info",
    "noise_mechanism",
    "privacy_info",
    "publish",
    "read_with_consent",
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
        if rho is not None:
            if epsilon is not None or delta is not None:
                raise InvalidParameterError(
                    "give either `rho` (zCDP) or `epsilon`/`delta`, not both; got "
                    f"epsilon={epsilon!r}, delta={delta!r}, rho={rho!r}",
                    parameter="rho",
                    value=rho,
                )
            if mechanism != "gaussian":
                raise InvalidParameterError(
                    "`rho` (zCDP) needs mechanism='gaussian'",
                    parameter="rho",
                    value=rho,
                )
            return Budget("gaussian", None, None, check_rho(rho))
        if epsilon is None:
            raise InvalidParameterError(
                "`epsilon` is required (or `rho` with mechanism='gaussian'); "
                "pass e.g. epsilon=1.0",
                parameter="epsilon",
                value=None,
            )
        eps = check_epsilon(epsilon)
        d = None if delta is None else check_delta(delta, allow_zero=True) or None
        if mechanism == "gaussian" and d is None:
            raise InvalidParameterError(
                "mechanism='gaussian' needs `delta` in (0, 1) (or `rho`); pass e.g. delta=1e-6",
                parameter="delta",
                value=delta,
            )
        return Budget(mechanism, eps, d, None)  # type: ignore[arg-type]

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
) -> mech._AdditiveMechanism:
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
    >>> import warnings, pyarrow as pa, loopkit_privacy as lp
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     rng = lp.random.InsecureSeededRandom(1)
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
