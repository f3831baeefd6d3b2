"""A verified in-memory view of one dataset's hash chain and its exact totals."""

from __future__ import annotations

from fractions import Fraction

from loopkit_privacy.accounting._budget import Policy, State, add, sub
from loopkit_privacy.accounting.receipts import Receipt
from loopkit_privacy.errors import LedgerIntegrityError, UnsupportedCompositionError


def entry_problems(
    receipt: Receipt,
    *,
    dataset: str,
    expected_index: int,
    expected_prev: str,
    charges: dict[str, State],
) -> list[tuple[str, str]]:
    """Check one entry against its position; return ``(kind, message)`` problems."""
    problems: list[tuple[str, str]] = []
    if receipt.hash != receipt.compute_hash():
        problems.append(
            ("altered", f"receipt {receipt.index}: contents do not match its hash")
        )
    if receipt.index != expected_index:
        kind = "missing" if receipt.index > expected_index else "reordered"
        problems.append(
            (kind, f"receipt at position {expected_index} says index {receipt.index}")
        )
    if receipt.prev_hash != expected_prev:
        problems.append(
            (
                "chain",
                f"receipt {receipt.index}: previous hash does not match the "
                "receipt before it (a receipt was removed, inserted or reordered)",
            )
        )
    if receipt.dataset != dataset:
        problems.append(
            (
                "altered",
                f"receipt {receipt.index} belongs to dataset "
                f"{receipt.dataset!r}, found in {dataset!r}",
            )
        )
    if receipt.kind == "release":
        if receipt.releases not in charges:
            problems.append(
                (
                    "altered",
                    f"receipt {receipt.index} releases {receipt.releases!r}, "
                    "which is not a charged spend before it",
                )
            )
    elif receipt.kind != "spend":
        problems.append(
            ("altered", f"receipt {receipt.index} has unknown kind {receipt.kind!r}")
        )
    return problems


class Chain:
    """Entries of one dataset, applied in order, with the exact composed state."""

    def __init__(self, policy: Policy, dataset: str, genesis: str) -> None:
        self.policy = policy
        self.dataset = dataset
        self.genesis = genesis
        self.state: State = policy.zero()
        self.head_index = -1
        self.head_hash = genesis
        self.entries: list[Receipt] = []
        self.charges: dict[str, State] = {}  # charged spends (pending or committed)
        self.by_id: dict[str, Receipt] = {}
        self.by_request: dict[str, Receipt] = {}
        self.status: dict[str, str] = {}

    def charge_of(self, receipt: Receipt) -> State:
        """The exact charge of a spend entry."""
        try:
            return self.policy.charge(receipt.cost, receipt.event)
        except UnsupportedCompositionError as err:
            raise LedgerIntegrityError(
                f"receipt {receipt.index} of dataset {self.dataset!r} has a cost this "
                f"budget cannot compose: {err}",
                index=receipt.index,
            ) from err

    def apply(
        self,
        receipt: Receipt,
        status: str = "committed",
        *,
        charge: State | None = None,
    ) -> None:
        """Verify ``receipt`` as the next entry and fold it into the state.

        ``charge`` may be passed for a receipt this process just built and
        sealed (its hash is then known to be right); entries read from a
        ledger are always fully re-verified.
        """
        if charge is None:
            problems = entry_problems(
                receipt,
                dataset=self.dataset,
                expected_index=self.head_index + 1,
                expected_prev=self.head_hash,
                charges=self.charges,
            )
        else:
            problems = []
            if (receipt.index, receipt.prev_hash) != (
                self.head_index + 1,
                self.head_hash,
            ):
                problems.append(("chain", "internal error: receipt built off the head"))
        if problems:
            raise LedgerIntegrityError(
                f"ledger for dataset {self.dataset!r} fails verification: "
                + "; ".join(msg for _, msg in problems),
                index=receipt.index,
            )
        if receipt.kind == "spend":
            if charge is None:
                charge = self.charge_of(receipt)
            self.state = add(self.state, charge)
            self.charges[receipt.id] = charge
            if receipt.request_id is not None:
                self.by_request[receipt.request_id] = receipt
            self.status[receipt.id] = status
        else:
            assert receipt.releases is not None
            self.state = sub(self.state, self.charges.pop(receipt.releases))
            released = self.by_id[receipt.releases]
            if released.request_id is not None:
                # A released request never produced output: a retry charges anew.
                self.by_request.pop(released.request_id, None)
            self.status[receipt.releases] = "released"
        self.entries.append(receipt)
        self.by_id[receipt.id] = receipt
        self.head_index = receipt.index
        self.head_hash = receipt.hash

    def charged_receipts(self) -> tuple[Receipt, ...]:
        """Spend entries that are still charged, in chain order."""
        return tuple(r for r in self.entries if r.id in self.charges)

    def is_zero(self) -> bool:
        """Whether nothing is charged."""
        return all(v == Fraction(0) for v in self.state)
