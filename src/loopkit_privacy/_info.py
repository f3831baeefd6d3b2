"""Typed privacy information of a released table (:class:`ReleaseInfo`).

Every release (``aggregate_*``, ``cohort_retention``) describes itself with
one :class:`ReleaseInfo`: what it cost, which noise it added and with which
exact scale, how contributions were bounded, and how its groups were chosen.
The object is frozen; :meth:`ReleaseInfo.to_dict` / :meth:`ReleaseInfo.from_dict`
give the JSON form stored in Arrow schema metadata.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.loss import ZCDP, ApproxDP, ApproxZCDP, PrivacyLoss, PureDP

__all__ = ["NoiseInfo", "ReleaseInfo"]

GroupChoice = Literal["public", "selected", "total"]


@dataclass(frozen=True)
class NoiseInfo:
    """One noise mechanism a release used.

    Attributes
    ----------
    statistic : str
        What the noise was added to: ``"count"``, ``"sum"``, ``"cells"`` (cohort
        retention), or ``"selection"`` (the noisy distinct-user counts of
        partition selection).
    mechanism : str
        The exact sampler: ``"discrete_laplace"`` or ``"discrete_gaussian"``.
    scale : float
        Its exact scale: the Laplace scale b, or the Gaussian σ, in the units
        of the released statistic.
    granularity : float or None
        The grid the noise lives on (None for integer noise on integers).

    Examples
    --------
    >>> NoiseInfo("count", "discrete_laplace", 2.0).scale
    2.0
    """

    statistic: str
    mechanism: str
    scale: float
    granularity: float | None = None

    def __str__(self) -> str:
        return f"{self.statistic}: {self.mechanism}(scale={self.scale:.6g})"


def _loss_to_dict(cost: PrivacyLoss) -> dict[str, Any]:
    if isinstance(cost, ZCDP):
        return {"type": "ZCDP", "rho": cost.rho}
    if isinstance(cost, ApproxZCDP):
        return {"type": "ApproxZCDP", "rho": cost.rho, "delta": cost.delta}
    if isinstance(cost, ApproxDP):
        return {"type": "ApproxDP", "epsilon": cost.epsilon, "delta": cost.delta}
    return {"type": "PureDP", "epsilon": cost.epsilon}


def _loss_from_dict(data: Mapping[str, Any]) -> PrivacyLoss:
    kind = data.get("type")
    if kind == "ZCDP":
        return ZCDP(data["rho"])
    if kind == "ApproxZCDP":
        return ApproxZCDP(data["rho"], data["delta"])
    if kind == "ApproxDP":
        return ApproxDP(data["epsilon"], data["delta"])
    if kind == "PureDP":
        return PureDP(data["epsilon"])
    raise InvalidParameterError(
        f"`info` holds an unknown privacy loss {dict(data)!r}",
        parameter="info",
        value=None,
    )


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class ReleaseInfo:
    """What a released table cost and how it was made.

    The same type for every release; :func:`loopkit_privacy.privacy_info`
    returns it, and each release function returns it beside the table with
    ``return_info=True`` (the way to keep it through polars or pandas
    transformations, which drop the metadata attached to a frame).

    Attributes
    ----------
    release : str
        The function that made it (``"aggregate_count"``, ``"cohort_retention"``...).
    cost : PureDP, ApproxDP or ZCDP
        The total privacy cost charged.
    receipt : str or None
        The accountant receipt's id (None when no accountant was charged).
    insecure : bool
        Whether the noise came from an insecure seeded source (tests, demos).
    confidence : float
        The level of the released confidence intervals.
    privacy_unit : str or None
        The column identifying a user (None: event-level privacy).
    max_partitions_per_user, max_contributions_per_partition : int
        The enforced contribution bounds L0 and L∞.
    bounds : (float, float) or None
        The clamping range of values (sums and averages).
    noise : tuple of NoiseInfo
        Every mechanism used, with its exact scale.
    groups : {"public", "selected", "total"}
        How the released groups were chosen: listed by the caller, by
        partition selection, or a single total.
    selection_threshold : int or None
        The threshold τ on noisy distinct-user counts (partition selection).
    parameters : mapping
        Release-specific facts (for cohorts: ``max_active_periods``,
        ``min_cohort_size``, ``monotone``, ``suppressed_cohorts``, ...).

    Examples
    --------
    >>> import pyarrow as pa, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(1)
    >>> t = pa.table({"user_id": [1, 2, 3], "page": ["a", "b", "a"]})
    >>> out, info = lp.aggregate_count(t, by="page", privacy_unit="user_id",
    ...     epsilon=1.0, public_groups=["a", "b"], rng=rng, return_info=True)
    >>> info.cost, info.groups, info.noise[0].scale
    (PureDP(epsilon=1.0), 'public', 1.0)
    >>> lp.privacy_info(out) == info
    True
    """

    release: str
    cost: PrivacyLoss
    receipt: str | None
    insecure: bool
    confidence: float
    privacy_unit: str | None
    max_partitions_per_user: int
    max_contributions_per_partition: int
    bounds: tuple[float, float] | None
    noise: tuple[NoiseInfo, ...]
    groups: GroupChoice
    selection_threshold: int | None = None
    parameters: Mapping[str, Any] = field(default_factory=lambda: _frozen(None))

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", _frozen(self.parameters))
        object.__setattr__(self, "noise", tuple(self.noise))
        if self.bounds is not None:
            lo, hi = self.bounds
            object.__setattr__(self, "bounds", (float(lo), float(hi)))

    def __hash__(self) -> int:
        return hash((self.release, self.cost, self.receipt, self.noise))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReleaseInfo):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def replace(self, **changes: Any) -> ReleaseInfo:
        """A copy with some fields changed (``parameters`` are merged).

        Examples
        --------
        >>> from loopkit_privacy.loss import PureDP
        >>> info = ReleaseInfo("aggregate_count", PureDP(1.0), None, False, 0.95,
        ...                    "user_id", 1, 1, None, (), "total")
        >>> info.replace(parameters={"note": 1}).parameters["note"]
        1
        """
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if "parameters" in changes:
            changes["parameters"] = {**self.parameters, **changes["parameters"]}
        data.update(changes)
        return ReleaseInfo(**data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form (as stored in Arrow schema metadata).

        Examples
        --------
        >>> from loopkit_privacy.loss import PureDP
        >>> info = ReleaseInfo("aggregate_count", PureDP(1.0), None, False, 0.95,
        ...                    "user_id", 1, 1, None, (), "total")
        >>> info.to_dict()["cost"]
        {'type': 'PureDP', 'epsilon': 1.0}
        >>> ReleaseInfo.from_dict(info.to_dict()) == info
        True
        """
        return {
            "release": self.release,
            "cost": _loss_to_dict(self.cost),
            "receipt": self.receipt,
            "insecure": self.insecure,
            "confidence": self.confidence,
            "privacy_unit": self.privacy_unit,
            "max_partitions_per_user": self.max_partitions_per_user,
            "max_contributions_per_partition": self.max_contributions_per_partition,
            "bounds": None if self.bounds is None else list(self.bounds),
            "noise": [
                {
                    "statistic": n.statistic,
                    "mechanism": n.mechanism,
                    "scale": n.scale,
                    "granularity": n.granularity,
                }
                for n in self.noise
            ],
            "groups": self.groups,
            "selection_threshold": self.selection_threshold,
            "parameters": json.loads(json.dumps(dict(self.parameters), default=str)),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReleaseInfo:
        """Rebuild from :meth:`to_dict`'s form.

        Examples
        --------
        >>> from loopkit_privacy.loss import ZCDP
        >>> info = ReleaseInfo("cohort_retention", ZCDP(0.5), None, False, 0.9,
        ...                    "user_id", 1, 1, None, (), "public")
        >>> ReleaseInfo.from_dict(info.to_dict()).cost
        ZCDP(rho=0.5)
        """
        bounds = data.get("bounds")
        return cls(
            release=data["release"],
            cost=_loss_from_dict(data["cost"]),
            receipt=data.get("receipt"),
            insecure=bool(data["insecure"]),
            confidence=float(data["confidence"]),
            privacy_unit=data.get("privacy_unit"),
            max_partitions_per_user=int(data["max_partitions_per_user"]),
            max_contributions_per_partition=int(
                data["max_contributions_per_partition"]
            ),
            bounds=None if bounds is None else (float(bounds[0]), float(bounds[1])),
            noise=tuple(NoiseInfo(**n) for n in data.get("noise", ())),
            groups=data["groups"],
            selection_threshold=data.get("selection_threshold"),
            parameters=data.get("parameters") or {},
        )

    def __str__(self) -> str:
        noise = "; ".join(str(n) for n in self.noise)
        return (
            f"{self.release}: cost {self.cost!r}, groups {self.groups}, noise {noise}"
        )
