"""Receipts: the immutable, hash-chained record of every charge to a budget.

Each receipt stores what was released (label, mechanism, parameters, privacy
unit), what it cost, whether its randomness was insecure, and the SHA-256 hash
of the receipt before it. A receipt's own hash covers all of its fields
(including that previous hash), serialised as canonical JSON, so changing,
removing or reordering any receipt breaks the chain after it.

A chain has three kinds of entries: ``"spend"`` (a charge: committed at once
by :meth:`~loopkit_privacy.accounting.Accountant.spend`, or a *reservation*
made by :meth:`~loopkit_privacy.accounting.Accountant.transaction`, which stays
pending until it is settled), ``"commit"`` (a pending reservation became a
committed spend) and ``"release"`` (a pending reservation was given back
because its release failed before producing any output). A committed spend is
final: no entry can give it back, and a verifier replays these transitions
(see :func:`~loopkit_privacy.accounting.verify_ledger`). The first entry
of a chain points at the *genesis* hash: the hash of the budget header (dataset,
accounting, budget), so that the budget cannot be changed behind the chain's
back either.

Examples
--------
>>> from loopkit_privacy.accounting import Accountant
>>> acc = Accountant(epsilon=1.0)
>>> r = acc.spend(PureDP(0.25), label="daily_active", mechanism="laplace")
>>> r.index, r.cost, r.kind
(0, PureDP(epsilon=0.25), 'spend')
>>> r.hash == r.compute_hash()
True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from loopkit_privacy import _html
from loopkit_privacy.errors import InvalidParameterError, LedgerError
from loopkit_privacy.loss import (
    ZCDP,
    ApproxDP,
    ApproxZCDP,
    NoiseEvent,
    PrivacyLoss,
    PureDP,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Receipt",
    "canonical_json",
    "cost_from_dict",
    "cost_to_dict",
    "event_from_dict",
    "event_to_dict",
    "genesis_hash",
    "normalize_parameters",
]

#: Name written into every ledger and budget header.
FORMAT = "loopkit-privacy-ledger"
#: Version of the receipt and ledger format (2: commit entries, reservations
#: and the optional keyed chain; version-1 ledgers are not read).
FORMAT_VERSION = 2


def canonical_json(value: Any) -> str:
    """Serialise ``value`` as canonical JSON (sorted keys, no spaces, no NaN).

    Parameters
    ----------
    value : object
        JSON-able data.

    Returns
    -------
    str

    Examples
    --------
    >>> canonical_json({"b": 1, "a": [0.5, None]})
    '{"a":[0.5,null],"b":1}'

    Raises
    ------
    InvalidParameterError
        When ``value`` holds something JSON cannot represent (NaN, ±inf, an
        arbitrary object, a non-string key).
    """
    try:
        return json.dumps(
            value,
            sort_keys=True,
            separators=(",", ":"),
            allow_nan=False,
            ensure_ascii=False,
        )
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(
            f"`value` must be JSON-able data with finite numbers and string keys: "
            f"{err}",
            parameter="value",
            value=None,
        ) from err


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def genesis_hash(header: dict[str, Any]) -> str:
    """Hash of a budget header; the ``prev_hash`` of a chain's first entry.

    Parameters
    ----------
    header : dict
        The budget header (format, dataset, accounting, budget, orders,
        created).

    Returns
    -------
    str
        64 hexadecimal digits.

    Examples
    --------
    >>> len(genesis_hash({"dataset": "d"}))
    64

    Raises
    ------
    InvalidParameterError
        When ``header`` is not a dict of JSON-able data.
    """
    if not isinstance(header, dict):
        raise InvalidParameterError(
            f"`header` must be a dict, got {type(header).__name__}",
            parameter="header",
            value=None,
        )
    try:
        text = canonical_json(header)
    except InvalidParameterError as err:
        raise InvalidParameterError(
            f"`header` must hold only JSON-able data: {err}",
            parameter="header",
            value=None,
        ) from err
    return _sha256(text)


def cost_to_dict(cost: PrivacyLoss) -> dict[str, Any]:
    """Serialise a privacy loss.

    Parameters
    ----------
    cost : PureDP or ApproxDP or ZCDP

    Returns
    -------
    dict

    Examples
    --------
    >>> cost_to_dict(ApproxDP(0.5, 1e-6))
    {'type': 'ApproxDP', 'epsilon': 0.5, 'delta': 1e-06}
    """
    if isinstance(cost, PureDP):
        return {"type": "PureDP", "epsilon": cost.epsilon}
    if isinstance(cost, ApproxDP):
        return {"type": "ApproxDP", "epsilon": cost.epsilon, "delta": cost.delta}
    if isinstance(cost, ZCDP):
        return {"type": "ZCDP", "rho": cost.rho}
    if isinstance(cost, ApproxZCDP):
        return {"type": "ApproxZCDP", "rho": cost.rho, "delta": cost.delta}
    raise InvalidParameterError(
        f"`cost` must be a PureDP, ApproxDP or ZCDP, got {cost!r}; build one with "
        "loopkit_privacy.loss.loss_from(epsilon=...)",
        parameter="cost",
        value=cost,
    )


def cost_from_dict(data: dict[str, Any]) -> PrivacyLoss:
    """Inverse of :func:`cost_to_dict`.

    Parameters
    ----------
    data : dict

    Returns
    -------
    PureDP or ApproxDP or ZCDP

    Raises
    ------
    LedgerError
        When ``data`` does not describe a privacy loss.

    Examples
    --------
    >>> cost_from_dict({"type": "ZCDP", "rho": 0.5})
    ZCDP(rho=0.5)
    """
    try:
        kind = data["type"]
        if kind == "PureDP":
            return PureDP(data["epsilon"])
        if kind == "ApproxDP":
            return ApproxDP(data["epsilon"], data["delta"])
        if kind == "ZCDP":
            return ZCDP(data["rho"])
        if kind == "ApproxZCDP":
            return ApproxZCDP(data["rho"], data["delta"])
    except (KeyError, TypeError, InvalidParameterError) as err:
        raise LedgerError(f"invalid cost record {data!r}: {err}") from err
    raise LedgerError(f"invalid cost record {data!r}: unknown type")


def event_to_dict(event: NoiseEvent | None) -> dict[str, Any] | None:
    """Serialise a noise event (or ``None``).

    Parameters
    ----------
    event : NoiseEvent or None

    Returns
    -------
    dict or None

    Examples
    --------
    >>> event_to_dict(NoiseEvent("gaussian", 2.0))
    {'kind': 'gaussian', 'noise_multiplier': 2.0}

    Raises
    ------
    InvalidParameterError
        When ``event`` is neither a NoiseEvent nor None.
    """
    if event is None:
        return None
    if not isinstance(event, NoiseEvent):
        raise InvalidParameterError(
            f"`event` must be a NoiseEvent or None, got {event!r}",
            parameter="event",
            value=event,
        )
    return {"kind": event.kind, "noise_multiplier": event.noise_multiplier}


def event_from_dict(data: dict[str, Any] | None) -> NoiseEvent | None:
    """Inverse of :func:`event_to_dict`.

    Parameters
    ----------
    data : dict or None

    Returns
    -------
    NoiseEvent or None

    Raises
    ------
    LedgerError
        When ``data`` does not describe a noise event.

    Examples
    --------
    >>> event_from_dict({"kind": "laplace", "noise_multiplier": 1.0})
    NoiseEvent(kind='laplace', noise_multiplier=1.0)
    """
    if data is None:
        return None
    try:
        return NoiseEvent(data["kind"], data["noise_multiplier"])
    except (KeyError, TypeError, InvalidParameterError) as err:
        raise LedgerError(f"invalid noise event record {data!r}: {err}") from err


def normalize_parameters(parameters: Any) -> dict[str, Any]:
    """Return ``parameters`` as a JSON round-tripped dict, or raise.

    NumPy scalars and arrays are converted with ``.tolist()``; NaN and
    infinities are refused (they have no JSON form).

    Parameters
    ----------
    parameters : dict or None

    Returns
    -------
    dict

    Raises
    ------
    InvalidParameterError
        When ``parameters`` is not a dict of JSON-able values.

    Examples
    --------
    >>> normalize_parameters({"scale": 2.0, "bounds": (0, 10)})
    {'bounds': [0, 10], 'scale': 2.0}
    """
    if parameters is None:
        return {}
    if not isinstance(parameters, dict) or not all(
        isinstance(k, str) for k in parameters
    ):
        raise InvalidParameterError(
            f"`parameters` must be a dict with string keys, got {parameters!r}",
            parameter="parameters",
            value=parameters,
        )

    def default(obj: Any) -> Any:
        if hasattr(obj, "tolist"):
            return obj.tolist()
        raise TypeError(f"{type(obj).__name__} is not JSON-able")

    try:
        text = json.dumps(parameters, sort_keys=True, allow_nan=False, default=default)
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(
            f"`parameters` must hold only JSON-able, finite values (numbers, "
            f"strings, lists, dicts), got {parameters!r}: {err}",
            parameter="parameters",
            value=parameters,
        ) from err
    out: dict[str, Any] = json.loads(text)
    return out


@dataclass(frozen=True, slots=True)
class Receipt:
    """One entry of a budget's hash chain.

    Parameters
    ----------
    id : str
        Random 128-bit identifier (hex).
    index : int
        Position in the dataset's chain, from 0.
    time : str
        UTC time of the charge, ISO 8601 with microseconds.
    label : str or None
        The release's label.
    dataset : str
        The dataset (tenant) whose budget was charged.
    privacy_unit : str or None
        The privacy unit of the release (e.g. a user-id column, or
        ``"event"`` for event-level privacy).
    mechanism : str or None
        Name of the mechanism.
    parameters : dict
        JSON-able description (sensitivity, scale, bounds, ...).
    cost : PureDP or ApproxDP or ZCDP
        The privacy loss charged.
    insecure : bool
        Whether the release used insecure (seeded) randomness.
    request_id : str or None
        Idempotency key of the request, when given.
    prev_hash : str
        Hash of the previous entry (or the genesis hash).
    hash : str
        SHA-256 of this entry's canonical JSON (all fields but ``hash``).
    event : NoiseEvent or None
        The noise event, for Rényi accounting.
    kind : {"spend", "release", "commit"}
        A charge; the return of a pending reservation; or the commit of one.
    releases : str or None
        For ``kind="release"``, the id of the reservation given back.
    commits : str or None
        For ``kind="commit"``, the id of the reservation committed.
    reservation : bool
        For ``kind="spend"``: True for a reservation made by
        :meth:`~loopkit_privacy.accounting.Accountant.transaction` (pending
        until a later ``"commit"`` or ``"release"`` entry settles it), False
        for a spend committed at once. A committed spend is never given back.

    Examples
    --------
    >>> from loopkit_privacy.accounting import Accountant
    >>> r = Accountant(epsilon=1.0).spend(PureDP(0.5), label="q1")
    >>> r.to_dict()["cost"]
    {'type': 'PureDP', 'epsilon': 0.5}
    """

    id: str
    index: int
    time: str
    label: str | None
    dataset: str
    privacy_unit: str | None
    mechanism: str | None
    parameters: dict[str, Any]
    cost: PrivacyLoss
    insecure: bool
    request_id: str | None
    prev_hash: str
    hash: str = field(default="")
    event: NoiseEvent | None = None
    kind: str = "spend"
    releases: str | None = None
    commits: str | None = None
    reservation: bool = False

    def body(self) -> dict[str, Any]:
        """Every hashed field, as JSON-able data (all fields but ``hash``).

        Returns
        -------
        dict

        Examples
        --------
        >>> from loopkit_privacy.accounting import Accountant
        >>> "hash" in Accountant(epsilon=1.0).spend(PureDP(0.5)).body()
        False
        """
        return {
            "format": FORMAT_VERSION,
            "id": self.id,
            "index": self.index,
            "time": self.time,
            "label": self.label,
            "dataset": self.dataset,
            "privacy_unit": self.privacy_unit,
            "mechanism": self.mechanism,
            "parameters": self.parameters,
            "cost": cost_to_dict(self.cost),
            "event": event_to_dict(self.event),
            "insecure": self.insecure,
            "request_id": self.request_id,
            "kind": self.kind,
            "releases": self.releases,
            "commits": self.commits,
            "reservation": self.reservation,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        """Recompute this receipt's hash from its fields.

        Returns
        -------
        str
            64 hexadecimal digits.

        Examples
        --------
        >>> from loopkit_privacy.accounting import Accountant
        >>> r = Accountant(epsilon=1.0).spend(PureDP(0.5))
        >>> r.compute_hash() == r.hash
        True
        """
        return _sha256(canonical_json(self.body()))

    def sealed(self) -> Receipt:
        """Return a copy whose ``hash`` is filled in.

        Returns
        -------
        Receipt

        Examples
        --------
        >>> from loopkit_privacy.accounting import Accountant
        >>> r = Accountant(epsilon=1.0).spend(PureDP(0.5))
        >>> r.sealed() == r
        True
        """
        return _replace_hash(self, self.compute_hash())

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-able data, including ``hash``.

        Returns
        -------
        dict

        Examples
        --------
        >>> from loopkit_privacy.accounting import Accountant
        >>> d = Accountant(epsilon=1.0).spend(PureDP(0.5), label="x").to_dict()
        >>> d["label"], d["index"]
        ('x', 0)
        """
        out = self.body()
        out["hash"] = self.hash
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Receipt:
        """Rebuild a receipt from :meth:`to_dict` output (or a ledger row).

        Parameters
        ----------
        data : dict

        Returns
        -------
        Receipt

        Raises
        ------
        InvalidParameterError
            When ``data`` is not a dict.
        LedgerError
            When a field is missing or malformed.

        Examples
        --------
        >>> from loopkit_privacy.accounting import Accountant
        >>> r = Accountant(epsilon=1.0).spend(PureDP(0.5))
        >>> Receipt.from_dict(r.to_dict()) == r
        True
        """
        if not isinstance(data, dict):
            raise InvalidParameterError(
                f"`data` must be a dict (a receipt's to_dict() output), got "
                f"{type(data).__name__}",
                parameter="data",
                value=None,
            )
        for name, types in (
            ("releases", (str, type(None))),
            ("commits", (str, type(None))),
            ("reservation", (bool,)),
        ):
            if name in data and not isinstance(data[name], types):
                raise LedgerError(
                    f"malformed receipt record: {name!r} is {data[name]!r}"
                )
        try:
            return cls(
                id=str(data["id"]),
                index=int(data["index"]),
                time=str(data["time"]),
                label=data["label"],
                dataset=str(data["dataset"]),
                privacy_unit=data["privacy_unit"],
                mechanism=data["mechanism"],
                parameters=dict(data["parameters"]),
                cost=cost_from_dict(data["cost"]),
                insecure=bool(data["insecure"]),
                request_id=data["request_id"],
                prev_hash=str(data["prev_hash"]),
                hash=str(data.get("hash", "")),
                event=event_from_dict(data["event"]),
                kind=str(data["kind"]),
                releases=data["releases"],
                commits=data["commits"],
                reservation=data["reservation"],
            )
        except (KeyError, TypeError, ValueError) as err:
            raise LedgerError(f"malformed receipt record: {err!r}") from err

    def __repr__(self) -> str:
        parts = [f"#{self.index}"]
        if self.kind != "spend":
            parts.append(f"{self.kind} of {self.releases or self.commits}")
        elif self.reservation:
            parts.append("reservation")
        if self.label is not None:
            parts.append(f"label={self.label!r}")
        parts.append(f"cost={self.cost!r}")
        if self.mechanism is not None:
            parts.append(f"mechanism={self.mechanism!r}")
        parts.append(f"dataset={self.dataset!r}")
        if self.insecure:
            parts.append("INSECURE")
        parts.append(f"hash={self.hash[:12]}…")
        return f"Receipt({', '.join(parts)})"

    def _repr_html_(self) -> str:
        """The receipt as a key/value table (for notebooks).

        Examples
        --------
        >>> from loopkit_privacy.accounting import Accountant
        >>> r = Accountant(epsilon=1.0).spend(PureDP(0.5), label="q1")
        >>> "PureDP(epsilon=0.5)" in r._repr_html_()
        True
        """
        items = [
            ("receipt", f"#{self.index} ({self.kind})"),
            ("label", self.label),
            ("cost", repr(self.cost)),
            ("mechanism", self.mechanism),
            ("privacy unit", self.privacy_unit),
            ("dataset", self.dataset),
            ("time (UTC)", self.time),
            ("id", self.id),
            ("hash", self.hash[:16] + "…"),
        ]
        if self.insecure:
            items.append(("randomness", "INSECURE (seeded): not a private release"))
        return _html.title("Receipt") + _html.kv_table(items)


def _replace_hash(receipt: Receipt, new_hash: str) -> Receipt:
    values = {name: getattr(receipt, name) for name in Receipt.__dataclass_fields__}
    values["hash"] = new_hash
    return Receipt(**values)
