"""One dataset's hash chain replayed as a state machine, with its exact totals.

Every entry is checked against its position (index, previous hash, own hash,
dataset), against the keyed MAC when the chain has a key, and against the
state machine of reservations:

* a ``"spend"`` entry charges its cost. It is *committed* at once, or, with
  ``reservation=True``, *pending*;
* a ``"commit"`` entry turns a pending reservation into a committed spend;
* a ``"release"`` entry gives a pending reservation back (its charge is
  subtracted);
* nothing else: a committed spend is never given back or committed again, a
  released reservation is never committed or released again, an entry may
  only name a spend *before* it, receipt ids are unique, and a request id is
  charged at most once at a time.

The same rules run in :func:`~loopkit_privacy.accounting.verify_ledger`, in
:meth:`Accountant.open <loopkit_privacy.accounting.Accountant.open>` and in a
live accountant reading entries other processes appended, so a correctly
hashed but impossible entry (a forged refund) is refused everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from loopkit_privacy.accounting._budget import Policy, State, add, sub
from loopkit_privacy.accounting.receipts import Receipt, canonical_json, cost_to_dict
from loopkit_privacy.errors import (
    InvalidParameterError,
    LedgerIntegrityError,
    UnsupportedCompositionError,
)

#: Shortest chain key accepted, in bytes (128 bits).
MIN_KEY_BYTES = 16
#: The key marker's MAC algorithm name, recorded in a keyed dataset's header.
MAC_ALGORITHM = "hmac-sha256"

Problem = tuple[str, str]


class ChainKey:
    """An HMAC-SHA256 key for a keyed chain. It is never shown or stored.

    Every message is a canonical JSON array starting with a purpose
    (``"entry"``, ``"head"``, ``"key-check"``), so that a MAC made for one
    purpose can never be replayed for another.
    """

    __slots__ = ("__key",)

    def __init__(self, key: bytes) -> None:
        self.__key = bytes(key)

    def _mac(self, *parts: Any) -> str:
        message = canonical_json(["loopkit-privacy-ledger", *parts]).encode("utf-8")
        return hmac.new(self.__key, message, hashlib.sha256).hexdigest()

    def check_value(self) -> str:
        """A public fingerprint of the key (a MAC of a fixed message)."""
        return self._mac("key-check")

    def entry_mac(self, dataset: str, index: int, digest: str) -> str:
        """MAC of entry ``index`` whose hash is ``digest``."""
        return self._mac("entry", dataset, index, digest)

    def head_mac(self, dataset: str, index: int, digest: str) -> str:
        """MAC of the dataset's head (last index and its hash)."""
        return self._mac("head", dataset, index, digest)

    def __repr__(self) -> str:
        return "ChainKey(<hidden>)"

    def __reduce__(self) -> Any:
        raise TypeError("a ChainKey cannot be pickled")


def check_chain_key(value: Any, parameter: str) -> ChainKey | None:
    """Validate a chain key argument (bytes, at least 16 of them) or None.

    The key is never put into the error (``value`` is None).
    """
    if value is None:
        return None
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidParameterError(
            f"`{parameter}` must be bytes (at least {MIN_KEY_BYTES} of them, e.g. "
            f"secrets.token_bytes(32)), got a value of type {type(value).__name__}; "
            "a text passphrase is not a key: read a key file with bytes.fromhex()",
            parameter=parameter,
            value=None,
        )
    key = bytes(value)
    if len(key) < MIN_KEY_BYTES:
        raise InvalidParameterError(
            f"`{parameter}` must be at least {MIN_KEY_BYTES} bytes long, got "
            f"{len(key)} byte(s); make one with secrets.token_bytes(32)",
            parameter=parameter,
            value=None,
        )
    return ChainKey(key)


def macs_equal(a: Any, b: str) -> bool:
    """Constant-time comparison of a stored MAC (any type) with the expected one."""
    return isinstance(a, str) and hmac.compare_digest(a.encode(), b.encode())


class Chain:
    """Entries of one dataset, applied in order, with the exact composed state."""

    def __init__(
        self,
        policy: Policy,
        dataset: str,
        genesis: str,
        key: ChainKey | None = None,
    ) -> None:
        self.policy = policy
        self.dataset = dataset
        self.genesis = genesis
        self.key = key
        self.state: State = policy.zero()
        self.head_index = -1
        self.head_hash = genesis
        self.head_verified = False  # the stored head (and its MAC) was checked
        self.entries: list[Receipt] = []
        self.charges: dict[str, State] = {}  # charged spends (pending or committed)
        self.by_id: dict[str, Receipt] = {}
        self.by_request: dict[str, Receipt] = {}
        self.status: dict[str, str] = {}  # spend id -> pending/committed/released
        self.settled_by: dict[str, int] = {}  # spend id -> index that settled it

    # ----------------------------------------------------------------- checks
    def charge_of(self, receipt: Receipt) -> State:
        """The exact charge of a spend entry (LedgerIntegrityError if impossible)."""
        try:
            return self.policy.charge(receipt.cost, receipt.event)
        except UnsupportedCompositionError as err:
            raise LedgerIntegrityError(
                f"receipt {receipt.index} of dataset {self.dataset!r} has a cost this "
                f"budget cannot compose: {err}",
                index=receipt.index,
            ) from err

    def position_problems(
        self,
        receipt: Receipt,
        *,
        expected_index: int,
        expected_prev: str,
        mac: Any = None,
    ) -> list[Problem]:
        """Hash, position, dataset and MAC of ``receipt`` as the next entry."""
        problems: list[Problem] = []
        i = receipt.index
        if receipt.hash != receipt.compute_hash():
            problems.append(("altered", f"receipt {i}: contents do not match its hash"))
        if i != expected_index:
            kind = "missing" if i > expected_index else "reordered"
            problems.append(
                (kind, f"receipt at position {expected_index} says index {i}")
            )
        if receipt.prev_hash != expected_prev:
            problems.append(
                (
                    "chain",
                    f"receipt {i}: previous hash does not match the receipt "
                    "before it (a receipt was removed, inserted or reordered)",
                )
            )
        if receipt.dataset != self.dataset:
            problems.append(
                (
                    "altered",
                    f"receipt {i} belongs to dataset {receipt.dataset!r}, found in "
                    f"{self.dataset!r}",
                )
            )
        if self.key is not None:
            expected = self.key.entry_mac(self.dataset, i, receipt.hash)
            if not macs_equal(mac, expected):
                what = "has no MAC" if mac is None else "has a MAC that does not match"
                problems.append(
                    (
                        "mac",
                        f"receipt {i} {what} under the chain key (it was written "
                        "without the key: forged, or the chain was rewritten)",
                    )
                )
        elif mac is not None:
            problems.append(
                (
                    "key",
                    f"receipt {i} carries a MAC but dataset {self.dataset!r} has no "
                    "chain key (was its key marker removed?)",
                )
            )
        return problems

    def transition_problems(self, receipt: Receipt) -> list[Problem]:
        """What the state machine refuses about ``receipt`` as the next entry."""
        i = receipt.index
        if receipt.kind not in ("spend", "release", "commit"):
            return [("altered", f"receipt {i} has unknown kind {receipt.kind!r}")]
        target = receipt.releases if receipt.kind == "release" else receipt.commits
        problems: list[Problem] = []
        if receipt.kind != "spend" and not isinstance(target, str):
            return [
                ("altered", f"receipt {i}: a {receipt.kind!r} entry names no spend")
            ]
        other = {
            "spend": (receipt.releases, receipt.commits),
            "release": (receipt.commits,),
            "commit": (receipt.releases,),
        }[receipt.kind]
        if any(v is not None for v in other) or (
            receipt.kind != "spend" and receipt.reservation
        ):
            problems.append(
                (
                    "altered",
                    f"receipt {i}: a {receipt.kind!r} entry with inconsistent "
                    "releases/commits/reservation fields",
                )
            )
        if receipt.id in self.by_id:
            problems.append(
                (
                    "transition",
                    f"receipt {i}: id {receipt.id!r} is already used by receipt "
                    f"{self.by_id[receipt.id].index}",
                )
            )
        if receipt.kind == "spend":
            rid = receipt.request_id
            if rid is not None and rid in self.by_request:
                problems.append(
                    (
                        "transition",
                        f"receipt {i}: request id {rid!r} is already charged by "
                        f"receipt {self.by_request[rid].index}",
                    )
                )
            return problems
        verb = "releases" if receipt.kind == "release" else "commits"
        spend = self.by_id.get(target) if isinstance(target, str) else None
        if spend is None:
            return [
                *problems,
                (
                    "transition",
                    f"receipt {i} {verb} {target!r}, which is not a receipt before it",
                ),
            ]
        j = spend.index
        state = self.status.get(spend.id)
        if spend.kind != "spend":
            why = f"a {spend.kind!r} entry, not a spend"
        elif state == "released":
            why = f"already released by receipt {self.settled_by[spend.id]}"
        elif state == "committed":
            why = "committed: a committed spend can never be given back or committed again"
            if spend.id in self.settled_by:
                why += f" (committed by receipt {self.settled_by[spend.id]})"
        elif cost_to_dict(receipt.cost) != cost_to_dict(spend.cost) or (
            receipt.event != spend.event
        ):
            why = "a reservation of a different cost"
        else:
            return problems
        return [
            *problems,
            (
                "transition",
                f"receipt {i} {verb} receipt {j} ({spend.id}), which is {why}",
            ),
        ]

    # ---------------------------------------------------------------- folding
    def fold(
        self,
        receipt: Receipt,
        charge: State | None = None,
        after: State | None = None,
    ) -> None:
        """Apply a receipt whose transition is valid (no checks here).

        ``after`` is the state with ``charge`` added, when the caller has it.
        """
        if receipt.kind == "spend":
            if charge is None:
                charge = self.charge_of(receipt)
            self.state = add(self.state, charge) if after is None else after
            self.charges[receipt.id] = charge
            if receipt.request_id is not None:
                self.by_request[receipt.request_id] = receipt
            self.status[receipt.id] = "pending" if receipt.reservation else "committed"
        else:
            target = receipt.releases if receipt.kind == "release" else receipt.commits
            assert target is not None
            self.settled_by[target] = receipt.index
            if receipt.kind == "commit":
                self.status[target] = "committed"
            else:
                self.state = sub(self.state, self.charges.pop(target))
                released = self.by_id[target]
                if released.request_id is not None:
                    # A released request never produced output: a retry charges anew.
                    self.by_request.pop(released.request_id, None)
                self.status[target] = "released"
        self.entries.append(receipt)
        self.by_id.setdefault(receipt.id, receipt)

    def apply(
        self,
        receipt: Receipt,
        *,
        mac: Any = None,
        charge: State | None = None,
        after: State | None = None,
    ) -> None:
        """Verify ``receipt`` as the next entry and fold it into the state.

        ``charge`` may be passed for a spend this process just built and sealed
        on the head (its hash, MAC and transition are then known to be right);
        entries read from a ledger are always fully verified.
        """
        if charge is None:
            problems = self.position_problems(
                receipt,
                expected_index=self.head_index + 1,
                expected_prev=self.head_hash,
                mac=mac,
            )
            problems += self.transition_problems(receipt)
        elif (receipt.index, receipt.prev_hash) != (
            self.head_index + 1,
            self.head_hash,
        ):
            problems = [("chain", "internal error: receipt built off the head")]
        else:
            problems = []
        if problems:
            raise LedgerIntegrityError(
                f"ledger for dataset {self.dataset!r} fails verification: "
                + "; ".join(msg for _, msg in problems),
                index=receipt.index,
            )
        self.fold(receipt, charge, after if charge is not None else None)
        self.head_index = receipt.index
        self.head_hash = receipt.hash

    # ---------------------------------------------------------------- queries
    def charged_receipts(self) -> tuple[Receipt, ...]:
        """Spend entries that are still charged, in chain order."""
        return tuple(
            r for r in self.entries if r.kind == "spend" and r.id in self.charges
        )

    def is_pending(self, rid: str) -> bool:
        """Whether spend ``rid`` is a reservation not yet committed or released."""
        return self.status.get(rid) == "pending"
