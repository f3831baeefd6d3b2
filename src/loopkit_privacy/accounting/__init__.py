"""Privacy budgets: composition, the accountant, receipts and the ledger.

* :class:`Accountant` -- a privacy filter over a budget (``"basic"``,
  ``"zcdp"`` or ``"rdp"`` composition), in memory or, with
  :meth:`Accountant.open`, in a SQLite ledger shared by processes or a
  PostgreSQL ledger shared by hosts (:class:`PostgresLedger`).
* :class:`Receipt` -- the hash-chained record of each charge.
* :func:`verify_ledger` -- recompute a ledger's chains, replay their
  transitions and recompute their totals (with ``key=``, also the MACs of a
  keyed chain; see ``Accountant.open(..., chain_key=...)``).
* Composition helpers: :func:`zcdp_to_approx_dp`, :func:`rdp_to_approx_dp`,
  :func:`gaussian_rdp`, :func:`laplace_rdp`, :func:`advanced_composition`, ...
* Privacy profiles (:mod:`~loopkit_privacy.accounting.profiles`):
  :func:`compose` (``method="pld"|"rdp"|"zcdp"|"basic"``) returning a
  :class:`PrivacyProfile` (``.epsilon(delta)``, ``.delta(epsilon)``), the
  exact Gaussian curve :func:`gaussian_epsilon` / :func:`gaussian_delta`,
  Poisson subsampling (:func:`poisson_subsampled`, :class:`Subsampled`) and
  the optimal composition of k (ε, δ) mechanisms (:func:`kov_epsilon`,
  :func:`kov_delta`).
* Events: :class:`BudgetRefused`, :class:`BudgetThresholdCrossed`,
  :class:`VerificationFailed`.

Examples
--------
>>> from loopkit_privacy.accounting import Accountant
>>> from loopkit_privacy.loss import PureDP
>>> acc = Accountant(epsilon=1.0)
>>> with acc.transaction(PureDP(0.5), label="dau") as receipt:
...     pass  # compute the release here
>>> acc.remaining
PureDP(epsilon=0.5)
"""

from loopkit_privacy.accounting._postgres import PostgresLedger
from loopkit_privacy.accounting.accountant import Accountant
from loopkit_privacy.accounting.composition import (
    DEFAULT_ORDERS,
    advanced_composition,
    advanced_composition_per_step,
    basic_composition,
    gaussian_rdp,
    laplace_rdp,
    pure_dp_rdp,
    rdp_to_approx_dp,
    zcdp_rho_for,
    zcdp_to_approx_dp,
)
from loopkit_privacy.accounting.events import (
    BudgetRefused,
    BudgetThresholdCrossed,
    EventHandler,
    SecurityEvent,
    VerificationFailed,
)
from loopkit_privacy.accounting.ledger import (
    DatasetSummary,
    LedgerProblem,
    LedgerReport,
    SQLiteLedger,
    verify_ledger,
)
from loopkit_privacy.accounting.profiles import (
    PrivacyProfile,
    Subsampled,
    compose,
    gaussian_delta,
    gaussian_epsilon,
    kov_delta,
    kov_epsilon,
    poisson_subsampled,
)
from loopkit_privacy.accounting.receipts import Receipt

__all__ = [
    "DEFAULT_ORDERS",
    "Accountant",
    "BudgetRefused",
    "BudgetThresholdCrossed",
    "DatasetSummary",
    "EventHandler",
    "LedgerProblem",
    "LedgerReport",
    "PostgresLedger",
    "PrivacyProfile",
    "Receipt",
    "SQLiteLedger",
    "SecurityEvent",
    "Subsampled",
    "VerificationFailed",
    "advanced_composition",
    "advanced_composition_per_step",
    "basic_composition",
    "compose",
    "gaussian_delta",
    "gaussian_epsilon",
    "gaussian_rdp",
    "kov_delta",
    "kov_epsilon",
    "laplace_rdp",
    "poisson_subsampled",
    "pure_dp_rdp",
    "rdp_to_approx_dp",
    "verify_ledger",
    "zcdp_rho_for",
    "zcdp_to_approx_dp",
]
