"""Security events emitted by accountants and ledger verification.

These are the library form of the seed's ``onSecurityEvent``: pass a callable
as ``on_event=`` to an :class:`~loopkit_privacy.accounting.Accountant` (or to
:func:`~loopkit_privacy.accounting.verify_ledger`) and it is called with one
of the frozen event objects below. Callbacks run after the accountant's state
is settled and outside its locks; an exception raised by a callback is turned
into a :class:`~loopkit_privacy.errors.PrivacyWarning` so that it can never
undo or hide a charge.

Examples
--------
>>> from loopkit_privacy.accounting import Accountant
>>> seen = []
>>> acc = Accountant(epsilon=1.0, on_event=seen.append, warn_fraction=0.5)
>>> _ = acc.spend(PureDP(0.75), label="q")
>>> seen
[BudgetThresholdCrossed(dataset='default', fraction=0.5, used=0.75, label='q')]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from loopkit_privacy.errors import PrivacyWarning
from loopkit_privacy.loss import PureDP  # noqa: F401  (used in the doctest)

__all__ = [
    "BudgetRefused",
    "BudgetThresholdCrossed",
    "EventHandler",
    "SecurityEvent",
    "VerificationFailed",
]


@dataclass(frozen=True, slots=True)
class BudgetRefused:
    """A spend was refused because it would exceed the budget.

    Parameters
    ----------
    dataset : str
        The dataset whose budget refused.
    label : str or None
        The refused release's label.
    requested : object
        The cost asked for.
    remaining : object
        What remained of the budget.

    Examples
    --------
    >>> BudgetRefused("d", "q", PureDP(2.0), PureDP(1.0)).label
    'q'
    """

    dataset: str
    label: str | None
    requested: Any
    remaining: Any


@dataclass(frozen=True, slots=True)
class BudgetThresholdCrossed:
    """A spend took the used fraction of a budget past ``fraction``.

    Parameters
    ----------
    dataset : str
        The dataset.
    fraction : float
        The threshold (the accountant's ``warn_fraction``).
    used : float
        The fraction of the budget used after the spend (rounded up).
    label : str or None
        The label of the spend that crossed it.

    Examples
    --------
    >>> BudgetThresholdCrossed("d", 0.8, 0.9, "q").used
    0.9
    """

    dataset: str
    fraction: float
    used: float
    label: str | None


@dataclass(frozen=True, slots=True)
class VerificationFailed:
    """A ledger failed verification (hash chain, totals or format).

    Parameters
    ----------
    path : str
        The ledger file.
    dataset : str or None
        The dataset at fault, when known.
    index : int or None
        The first receipt at fault, when known.
    message : str
        What was found.

    Examples
    --------
    >>> VerificationFailed("l.db", "d", 3, "hash mismatch").index
    3
    """

    path: str
    dataset: str | None
    index: int | None
    message: str


SecurityEvent: TypeAlias = BudgetRefused | BudgetThresholdCrossed | VerificationFailed
EventHandler: TypeAlias = Callable[[SecurityEvent], Any]


def emit(handler: EventHandler | None, event: SecurityEvent) -> None:
    """Call ``handler(event)``; turn any exception into a PrivacyWarning.

    Parameters
    ----------
    handler : callable or None
    event : SecurityEvent

    Examples
    --------
    >>> emit(print, VerificationFailed("l.db", None, None, "bad"))
    VerificationFailed(path='l.db', dataset=None, index=None, message='bad')
    """
    if handler is None:
        return
    try:
        handler(event)
    except Exception as err:  # a callback must never undo or mask a charge
        warnings.warn(
            f"the on_event callback raised {err!r} while handling {event!r}",
            PrivacyWarning,
            stacklevel=3,
        )
