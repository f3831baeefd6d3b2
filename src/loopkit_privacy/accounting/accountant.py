"""The accountant: a privacy filter that checks and commits each charge atomically.

Examples
--------
>>> acc = Accountant(epsilon=1.0)
>>> receipt = acc.spend(PureDP(0.25), label="daily_active", mechanism="laplace")
>>> acc.spent, acc.remaining
(PureDP(epsilon=0.25), PureDP(epsilon=0.75))
>>> acc.can_spend(PureDP(1.0))
False
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import numbers
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, Literal, cast

from loopkit_privacy import _html
from loopkit_privacy._validate import check_bool
from loopkit_privacy.accounting import _budget
from loopkit_privacy.accounting._budget import Policy, State
from loopkit_privacy.accounting._chain import Chain, check_chain_key
from loopkit_privacy.accounting._consistency import check_consistent
from loopkit_privacy.accounting.events import (
    BudgetRefused,
    BudgetThresholdCrossed,
    EventHandler,
    VerificationFailed,
    emit,
)
from loopkit_privacy.accounting.ledger import (
    LedgerStore,
    check_open_arguments,
    ledger_exists,
    open_ledger,
)
from loopkit_privacy.accounting.profiles import Method, PrivacyProfile, compose
from loopkit_privacy.accounting.receipts import (
    FORMAT,
    FORMAT_VERSION,
    Receipt,
    cost_to_dict,
    genesis_hash,
    normalize_parameters,
)
from loopkit_privacy.errors import (
    BudgetExceededError,
    InsecureRandomnessError,
    InvalidParameterError,
    LedgerIntegrityError,
    UnsupportedCompositionError,
)
from loopkit_privacy.loss import (
    ZCDP,
    ApproxDP,
    ApproxZCDP,
    NoiseEvent,
    PrivacyLoss,
    PureDP,
)

__all__ = ["Accountant"]

Accounting = Literal["basic", "zcdp", "rdp"]


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def _check_str(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidParameterError(
        f"`{name}` must be a string or None, got {value!r}", parameter=name, value=value
    )


def _check_fraction(value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0 < float(value) <= 1
    ):
        raise InvalidParameterError(
            f"`warn_fraction` must be a number in (0, 1], got {value!r}; pass e.g. "
            "warn_fraction=0.8",
            parameter="warn_fraction",
            value=value,
        )
    return float(value)


class _Draft:
    """A validated spend request, built before any lock is taken."""

    __slots__ = ("charge", "cost", "event", "fields")

    def __init__(
        self,
        cost: PrivacyLoss,
        event: NoiseEvent | None,
        charge: State,
        fields: dict[str, Any],
    ) -> None:
        self.cost, self.event, self.charge, self.fields = cost, event, charge, fields


class Accountant:
    r"""A privacy budget that composes what it is charged and refuses overspending.

    The accountant is a *privacy filter*: before each release it checks that
    the composed total, including that release, stays within the budget, and
    then commits the charge, in one atomic step. A refused charge raises
    :class:`~loopkit_privacy.errors.BudgetExceededError` and changes nothing.

    Parameters
    ----------
    epsilon : float, optional
        Total ε; finite and > 0. Required unless ``rho`` is given.
    delta : float
        Total δ in [0, 1); must be > 0 for ``"zcdp"`` or ``"rdp"`` with an ε
        budget.
    rho : float, optional
        A total ρ-zCDP budget instead of (ε, δ). It implies
        ``accounting="zcdp"`` (the only mode that takes one); any other
        ``accounting`` with ``rho`` is refused.
    accounting : {"basic", "zcdp", "rdp"}, optional
        How charges compose; default ``"zcdp"`` for a ``rho`` budget and
        ``"basic"`` otherwise:

        * ``"basic"``: exact sums of ε and δ (sequential composition);
          ZCDP costs are refused.
        * ``"zcdp"``: exact sums of ρ and of δ parts, i.e. approximate zCDP
          (pure ε counts as ε²/2; an (ε, δ) cost counts its ``event``'s ρ, or
          without one (ε²/2, δ); an
          :class:`~loopkit_privacy.loss.ApproxZCDP` its (ρ, δ)), checked
          against ``rho`` (no δ parts), or converted to (ε, δ) with the
          conversion of Canonne, Kamath & Steinke (2020) at δ minus the δ
          parts.
        * ``"rdp"``: exact per-order sums of Rényi DP over ``orders``
          (Gaussian and Laplace from their ``event``; pure ε and ρ costs by
          their standard RDP bounds; an (ε, δ) cost without ``event`` is
          refused), converted with the improved conversion of Balle et al.
          (2020).
    orders : sequence of float, optional
        Rényi orders for ``"rdp"`` (default: ``DEFAULT_ORDERS``).
    allow_insecure : bool
        If False, a charge marked ``insecure=True`` raises
        :class:`~loopkit_privacy.errors.InsecureRandomnessError`.
    on_event : callable, optional
        Receives :class:`BudgetRefused`, :class:`BudgetThresholdCrossed` and
        :class:`VerificationFailed` events.
    warn_fraction : float
        Fraction of the budget in (0, 1] whose crossing emits
        :class:`BudgetThresholdCrossed` (once, by the charge that crosses it).
    dataset : str
        Name recorded in receipts (default ``"default"``).

    Raises
    ------
    InvalidParameterError
        For a negative, NaN or infinite ε, δ outside [0, 1), a missing budget
        or an inconsistent combination.

    Notes
    -----
    Privacy. The modes are privacy filters under fully adaptive composition
    (the release, its mechanism and its cost may depend on all earlier
    outputs), because the budget is checked on the composed total *before*
    each release: for pure and approximate DP this is the basic-composition
    filter of Rogers, Roth, Ullman & Vadhan (2016); for zCDP and RDP at a
    fixed order, Feldman & Zrnic (2021) and Whitehouse, Ramdas, Rogers & Wu
    (2023) show that the sum of ρ (or of the RDP at that order) may be checked
    as in the non-adaptive case. With several Rényi orders the ``"rdp"`` filter
    follows Lécuyer (2021); ``docs/accounting.md`` discusses this. Advanced
    composition is **not** offered as a filter (see
    :func:`~loopkit_privacy.accounting.advanced_composition`).

    Sums are exact (:class:`fractions.Fraction`); floats given by callers are
    read as the decimal they print as, so 1000 spends of ``0.001`` fill a
    budget of ``1.0`` exactly. Reported floats are rounded up (``spent``)
    or down (``remaining``).

    The accountant is thread-safe. Persistent, multi-process accountants are
    made with :meth:`open`.

    Examples
    --------
    >>> acc = Accountant(epsilon=1.0, delta=1e-6)
    >>> _ = acc.spend(ApproxDP(0.5, 1e-7), label="a")
    >>> acc.remaining
    ApproxDP(epsilon=0.5, delta=9e-07)
    >>> try:
    ...     acc.spend(PureDP(0.75), label="daily_active")
    ... except BudgetExceededError as err:
    ...     print(err)
    release 'daily_active' needs PureDP(epsilon=0.75) but only ApproxDP(epsilon=0.5, delta=9e-07) remains; nothing was spent

    zCDP accounting of Gaussian releases:

    >>> z = Accountant(epsilon=1.0, delta=1e-6, accounting="zcdp")
    >>> _ = z.spend(ZCDP(0.01), label="g")
    >>> z.spent
    ZCDP(rho=0.01)

    A ``rho`` budget is a zCDP budget:

    >>> r = Accountant(rho=0.5)
    >>> r.accounting, r.budget
    ('zcdp', ZCDP(rho=0.5))
    """

    def __init__(
        self,
        *,
        epsilon: float | None = None,
        delta: float = 0.0,
        rho: float | None = None,
        accounting: Accounting | None = None,
        orders: Any = None,
        allow_insecure: bool = True,
        on_event: EventHandler | None = None,
        warn_fraction: float = 0.8,
        dataset: str = "default",
    ) -> None:
        policy = Policy.make(
            epsilon=epsilon, delta=delta, rho=rho, accounting=accounting, orders=orders
        )
        dataset = self._check_dataset(dataset)
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "dataset": dataset,
            "created": _now(),
            **policy.header_budget(),
        }
        self._setup(policy, dataset, allow_insecure, on_event, warn_fraction)
        self._ledger: LedgerStore | None = None
        self._chain = Chain(policy, dataset, genesis_hash(header))

    @staticmethod
    def _check_dataset(dataset: Any) -> str:
        if not isinstance(dataset, str) or not dataset:
            raise InvalidParameterError(
                f"`dataset` must be a non-empty string, got {dataset!r}; pass e.g. "
                "dataset='events'",
                parameter="dataset",
                value=dataset,
            )
        return dataset

    def _setup(
        self,
        policy: Policy,
        dataset: str,
        allow_insecure: bool,
        on_event: EventHandler | None,
        warn_fraction: float,
    ) -> None:
        allow_insecure = check_bool(allow_insecure, "allow_insecure")
        if on_event is not None and not callable(on_event):
            raise InvalidParameterError(
                f"`on_event` must be callable, got {on_event!r}",
                parameter="on_event",
                value=on_event,
            )
        self._policy = policy
        self._dataset = dataset
        self._allow_insecure = allow_insecure
        self._on_event = on_event
        self._warn_fraction = _check_fraction(warn_fraction)
        self._lock = threading.RLock()
        self._broken: LedgerIntegrityError | None = None

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | Any,
        *,
        dataset: str,
        epsilon: float | None = None,
        delta: float = 0.0,
        rho: float | None = None,
        accounting: Accounting | None = None,
        orders: Any = None,
        allow_insecure: bool = True,
        on_event: EventHandler | None = None,
        warn_fraction: float = 0.8,
        create: bool = True,
        timeout: float = 60.0,
        synchronous: Literal["full", "normal"] = "full",
        chain_key: bytes | None = None,
    ) -> Accountant:
        """Open (or create) a persistent accountant backed by a SQLite or PostgreSQL ledger.

        Parameters
        ----------
        path : str or os.PathLike or psycopg.Connection or psycopg_pool.ConnectionPool
            The ledger file, shared safely by threads and processes. A missing
            file is created (unless ``create=False``); an existing file must
            be a ledger and is verified. A ``postgresql://`` URL, a psycopg 3
            connection or a connection pool opens the ledger in that
            PostgreSQL database instead (shared by hosts; needs
            ``loopkit_privacy[postgres]``; see
            :class:`~loopkit_privacy.accounting.PostgresLedger` and
            ``docs/ledger-fleet.md``), with the same semantics.
        dataset : str
            The dataset (tenant) whose budget to use. One file holds any number
            of datasets; a charge to one never touches another.
        epsilon, delta, rho, accounting, orders
            The budget, as for :class:`Accountant`. For a new dataset it is
            recorded; for an existing one it must equal the recorded budget.
            If ``epsilon`` and ``rho`` are both None, the recorded budget of an
            existing dataset is used.
        allow_insecure, on_event, warn_fraction
            As for :class:`Accountant`.
        create : bool
            Whether a missing file may be created.
        timeout : float
            Seconds to wait for another process's write lock.
        synchronous : {"full", "normal"}
            ``"full"`` (default) makes each charge durable against power loss
            before the release proceeds; ``"normal"`` only against crashes.
        chain_key : bytes, optional
            A secret key (at least 16 bytes, e.g. ``secrets.token_bytes(32)``)
            for a *keyed chain*: every entry and the chain's head carry an
            HMAC-SHA256 under this key, so that a rewrite of the whole chain,
            a truncation or a stripped key marker is detected by anyone holding
            the key. A new dataset is created keyed; an existing keyed dataset
            must be opened with its key, and an unkeyed one without a key.
            Keep the key outside the ledger file and outside the reach of the
            ledger's writers (``docs/security.md``). The key is never written,
            shown or kept on errors.

        Returns
        -------
        Accountant

        Raises
        ------
        LedgerError
            When the file is not a ledger, is truncated or corrupted, the
            dataset was recorded with a different budget, or the chain key is
            missing, wrong, or given for an unkeyed dataset (nothing is
            written).
        LedgerIntegrityError
            When the dataset's hash chain, its MACs or its transitions do not
            verify.
        InvalidParameterError
            For an invalid argument (checked before the file is touched).

        Notes
        -----
        Privacy. Each charge is one SQLite transaction that reads the total,
        checks it and appends the receipt, so processes sharing the file never
        overspend together. A reservation made by :meth:`transaction` is
        durable before the release computes anything; if the process dies
        before committing, the reservation stays charged (fail closed).

        Examples
        --------
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "budget.ledger")
        >>> acc = Accountant.open(path, dataset="events", epsilon=1.0)
        >>> _ = acc.spend(PureDP(0.5), label="q1")
        >>> acc.close()
        >>> again = Accountant.open(path, dataset="events", epsilon=1.0)
        >>> again.spent
        PureDP(epsilon=0.5)
        >>> again.close()

        A keyed chain, whose key is kept elsewhere:

        >>> import secrets
        >>> key = secrets.token_bytes(32)
        >>> keyed = os.path.join(tempfile.mkdtemp(), "keyed.ledger")
        >>> with Accountant.open(keyed, dataset="events", rho=0.5, chain_key=key) as acc:
        ...     _ = acc.spend(ZCDP(0.125), label="q1")
        >>> with Accountant.open(keyed, dataset="events", chain_key=key) as acc:
        ...     acc.accounting, acc.spent
        ('zcdp', ZCDP(rho=0.125))
        """
        path, create, timeout, synchronous = check_open_arguments(
            path, create=create, timeout=timeout, synchronous=synchronous
        )
        dataset = cls._check_dataset(dataset)
        key = check_chain_key(chain_key, "chain_key")
        policy: Policy | None = None
        if epsilon is not None or rho is not None:
            policy = Policy.make(
                epsilon=epsilon,
                delta=delta,
                rho=rho,
                accounting=accounting,
                orders=orders,
            )
        elif not ledger_exists(path, timeout):
            # A new ledger needs a budget: fail before creating the file.
            Policy.make(
                epsilon=epsilon,
                delta=delta,
                rho=rho,
                accounting=accounting,
                orders=orders,
            )
        self = cls.__new__(cls)
        self._setup(
            policy if policy is not None else Policy("basic", 1.0, 0.0, None, None),
            dataset,
            allow_insecure,
            on_event,
            warn_fraction,
        )
        ledger = open_ledger(
            path, create=create, timeout=timeout, synchronous=synchronous
        )
        try:
            recorded = ledger.ensure_dataset(dataset, policy, _now(), key)
            self._policy = recorded
            self._ledger = ledger
            self._chain = Chain(recorded, dataset, ledger.genesis(dataset), key)
            with ledger.read() as con:
                ledger.sync(con, self._chain)
        except LedgerIntegrityError as err:
            ledger.close()
            emit(
                on_event, VerificationFailed(ledger.path, dataset, err.index, str(err))
            )
            raise
        except BaseException:
            ledger.close()
            raise
        return self

    def close(self) -> None:
        """Close the ledger connection (no-op for in-memory accountants).

        Examples
        --------
        >>> Accountant(epsilon=1.0).close()
        """
        if self._ledger is not None:
            self._ledger.close()

    def __enter__(self) -> Accountant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------- properties
    @property
    def accounting(self) -> str:
        """The accounting mode: ``"basic"``, ``"zcdp"`` or ``"rdp"``.

        Examples
        --------
        >>> Accountant(epsilon=1.0).accounting
        'basic'
        """
        return self._policy.accounting

    @property
    def dataset(self) -> str:
        """The dataset whose budget this accountant charges.

        Examples
        --------
        >>> Accountant(epsilon=1.0, dataset="events").dataset
        'events'
        """
        return self._dataset

    @property
    def budget(self) -> PrivacyLoss:
        """The total budget.

        Examples
        --------
        >>> Accountant(epsilon=2.0, delta=1e-6).budget
        ApproxDP(epsilon=2.0, delta=1e-06)
        """
        return self._policy.budget

    @property
    def spent(self) -> PrivacyLoss:
        """What has been charged (pending reservations included), rounded up.

        In the accountant's terms: (ε, δ) for ``"basic"``, ρ for ``"zcdp"``,
        and the converted (ε, δ) at the budget's δ for ``"rdp"``.

        Examples
        --------
        >>> acc = Accountant(epsilon=1.0)
        >>> acc.spent
        PureDP(epsilon=0.0)
        >>> _ = acc.spend(PureDP(0.1)); _ = acc.spend(PureDP(0.2))
        >>> acc.spent  # exactly 3/10, not the float sum 0.30000000000000004
        PureDP(epsilon=0.3)
        """
        with self._reading() as chain:
            return self._policy.spent(chain.state)

    @property
    def remaining(self) -> PrivacyLoss:
        """What is left of the budget, rounded down.

        For ``"rdp"`` this is ε of the budget minus the converted ε spent: an
        indication only (Rényi costs do not subtract in ε). Use
        :meth:`can_spend` to ask about a specific cost.

        Examples
        --------
        >>> acc = Accountant(epsilon=1.0)
        >>> _ = acc.spend(PureDP(0.25))
        >>> acc.remaining
        PureDP(epsilon=0.75)
        """
        with self._reading() as chain:
            return self._policy.remaining(chain.state)

    @property
    def receipts(self) -> tuple[Receipt, ...]:
        """Receipts of the charges currently counted, in order.

        Spends whose reservation was given back are not included.

        Examples
        --------
        >>> acc = Accountant(epsilon=1.0)
        >>> _ = acc.spend(PureDP(0.5), label="a")
        >>> [r.label for r in acc.receipts]
        ['a']
        """
        with self._reading() as chain:
            return chain.charged_receipts()

    @property
    def used_fraction(self) -> float:
        """The fraction of the budget used (largest over ε and δ).

        Examples
        --------
        >>> acc = Accountant(epsilon=2.0)
        >>> _ = acc.spend(PureDP(0.5))
        >>> acc.used_fraction
        0.25
        """
        with self._reading() as chain:
            return self._policy.used_fraction(chain.state)

    # ---------------------------------------------------------------- locking
    def _fail(self, err: LedgerIntegrityError) -> None:
        self._broken = err
        path = self._ledger.path if self._ledger is not None else "<memory>"
        emit(
            self._on_event, VerificationFailed(path, self._dataset, err.index, str(err))
        )

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Chain]:
        with self._lock:
            if self._broken is not None:
                raise self._broken
            if self._ledger is None:
                yield self._chain
                return
            try:
                with self._ledger.read() as con:
                    self._ledger.sync(con, self._chain)
            except LedgerIntegrityError as err:
                self._fail(err)
                raise
            yield self._chain

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Any]:
        """Lock, open a write transaction (SQLite) and bring the chain up to date.

        Yields the SQLite connection (or None in memory). If anything fails
        inside, the in-memory view is rebuilt from the ledger next time.
        """
        with self._lock:
            if self._broken is not None:
                raise self._broken
            if self._ledger is None:
                yield None
                return
            try:
                with self._ledger.write() as con:
                    self._ledger.sync(con, self._chain)
                    yield con
            except LedgerIntegrityError as err:
                self._fail(err)
                raise
            except BaseException:
                # The transaction rolled back, but the chain may have been
                # advanced in memory: rebuild it from the file.
                old = self._chain
                self._chain = Chain(self._policy, self._dataset, old.genesis, old.key)
                raise

    # --------------------------------------------------------------- spending
    @staticmethod
    def _check_cost(cost: Any) -> PrivacyLoss:
        if isinstance(cost, PureDP | ApproxDP | ZCDP | ApproxZCDP):
            values = (
                [cost.rho]
                if isinstance(cost, ZCDP)
                else [cost.epsilon]
                if isinstance(cost, PureDP)
                else [cost.rho, cost.delta]
                if isinstance(cost, ApproxZCDP)
                else [cost.epsilon, cost.delta]
            )
            # A loss built without validation (an exhausted ``remaining`` is
            # exactly 0) is shown, but it is no cost: every field must hold.
            if all(isinstance(v, float) and math.isfinite(v) for v in values) and (
                values[0] > 0 and (len(values) == 1 or 0 <= values[1] < 1)
            ):
                return cost
            raise InvalidParameterError(
                f"`cost` must be a positive privacy loss, got {cost!r} (a loss of "
                "0, such as the `remaining` of an exhausted budget, is not a cost)",
                parameter="cost",
                value=cost,
            )
        raise InvalidParameterError(
            f"`cost` must be a PureDP, ApproxDP or ZCDP, got {cost!r}; build one "
            "with loopkit_privacy.loss.loss_from(epsilon=...)",
            parameter="cost",
            value=cost,
        )

    @staticmethod
    def _check_event(event: Any) -> NoiseEvent | None:
        if event is not None and not isinstance(event, NoiseEvent):
            raise InvalidParameterError(
                f"`event` must be a NoiseEvent or None, got {event!r}; pass e.g. "
                "event=mechanism.event",
                parameter="event",
                value=event,
            )
        return event

    def _draft(
        self,
        cost: Any,
        *,
        label: Any,
        mechanism: Any,
        parameters: Any,
        privacy_unit: Any,
        insecure: Any,
        event: Any,
        request_id: Any,
    ) -> _Draft:
        cost = self._check_cost(cost)
        event = self._check_event(event)
        insecure = check_bool(insecure, "insecure")
        fields = {
            "label": _check_str(label, "label"),
            "mechanism": _check_str(mechanism, "mechanism"),
            "privacy_unit": _check_str(privacy_unit, "privacy_unit"),
            "request_id": _check_str(request_id, "request_id"),
            "parameters": normalize_parameters(parameters),
            "insecure": insecure,
        }
        # The cost and the event must describe the same release: accountants
        # charge one or the other, so a contradiction would be charged
        # differently by different accountants.
        check_consistent(cost, event)
        if insecure and not self._allow_insecure:
            raise InsecureRandomnessError(
                f"release {label!r} uses insecure (seeded) randomness but this "
                "accountant was created with allow_insecure=False; use the default "
                "secure rng; nothing was spent"
            )
        return _Draft(cost, event, self._policy.charge(cost, event), fields)

    def _describe_request(self, label: str | None) -> str:
        return f"release {label!r}" if label is not None else "a release"

    def _settlement(self, spend: Receipt, kind: str) -> Receipt:
        """A sealed ``"commit"`` or ``"release"`` entry for pending ``spend``."""
        chain = self._chain
        return Receipt(
            id=uuid.uuid4().hex,
            index=chain.head_index + 1,
            time=_now(),
            label=spend.label,
            dataset=self._dataset,
            privacy_unit=spend.privacy_unit,
            mechanism=spend.mechanism,
            parameters={},
            cost=spend.cost,
            insecure=spend.insecure,
            request_id=None,
            prev_hash=chain.head_hash,
            event=spend.event,
            kind=kind,
            releases=spend.id if kind == "release" else None,
            commits=spend.id if kind == "commit" else None,
        ).sealed()

    def _settle(self, con: Any, spend: Receipt, kind: str) -> None:
        """Append a commit or release of ``spend`` if it is still pending."""
        chain = self._chain
        if not chain.is_pending(spend.id):
            return
        entry = self._settlement(spend, kind)
        status = "committed" if kind == "commit" else "released"
        if con is not None:
            assert self._ledger is not None
            self._ledger.append(con, entry, "committed", chain.key)
            self._ledger.set_status(con, self._dataset, spend.id, status)
        chain.apply(entry, mac=self._mac_of(entry))

    def _mac_of(self, entry: Receipt) -> str | None:
        key = self._chain.key
        if key is None:
            return None
        return key.entry_mac(self._dataset, entry.index, entry.hash)

    def _charge(self, draft: _Draft, status: str) -> tuple[Receipt, bool]:
        """Check and commit (or reserve) ``draft``; return (receipt, replayed)."""
        refused: BudgetExceededError | None = None
        crossed: float | None = None
        with self._writing() as con:
            chain = self._chain
            request_id = draft.fields["request_id"]
            if request_id is not None and request_id in chain.by_request:
                previous = chain.by_request[request_id]
                if (cost_to_dict(previous.cost), previous.event) != (
                    cost_to_dict(draft.cost),
                    draft.event,
                ):
                    raise InvalidParameterError(
                        f"`request_id` {request_id!r} was already used for a release "
                        f"costing {previous.cost!r}; a retry must ask for the same cost "
                        f"(got {draft.cost!r}); nothing was spent",
                        parameter="request_id",
                        value=request_id,
                    )
                if status == "committed":
                    # spend() of a pending reservation (e.g. left by a dead
                    # process) resumes it: it is committed now.
                    self._settle(con, previous, "commit")
                return previous, True
            before = chain.state
            after = _budget.add(before, draft.charge)
            if not self._policy.fits(after):
                remaining = self._policy.remaining(before)
                label = draft.fields["label"]
                refused = BudgetExceededError(
                    f"{self._describe_request(label)} needs {draft.cost!r} but only "
                    f"{remaining!r} remains; nothing was spent",
                    requested=draft.cost,
                    remaining=remaining,
                    label=label,
                )
            else:
                receipt = Receipt(
                    id=uuid.uuid4().hex,
                    index=chain.head_index + 1,
                    time=_now(),
                    dataset=self._dataset,
                    cost=draft.cost,
                    event=draft.event,
                    prev_hash=chain.head_hash,
                    reservation=status == "pending",
                    **draft.fields,
                ).sealed()
                if con is not None:
                    assert self._ledger is not None
                    self._ledger.append(con, receipt, status, chain.key)
                chain.apply(receipt, charge=draft.charge, after=after)
                crossed = self._policy.crossed(before, after, self._warn_fraction)
        if refused is not None:
            emit(
                self._on_event,
                BudgetRefused(
                    self._dataset, refused.label, refused.requested, refused.remaining
                ),
            )
            raise refused
        if crossed is not None:
            emit(
                self._on_event,
                BudgetThresholdCrossed(
                    self._dataset, self._warn_fraction, crossed, draft.fields["label"]
                ),
            )
        return receipt, False

    def spend(
        self,
        cost: PrivacyLoss,
        *,
        label: str | None = None,
        mechanism: str | None = None,
        parameters: dict[str, Any] | None = None,
        privacy_unit: str | None = None,
        insecure: bool = False,
        event: NoiseEvent | None = None,
        request_id: str | None = None,
    ) -> Receipt:
        """Check that ``cost`` fits, and charge it, atomically.

        Parameters
        ----------
        cost : PureDP or ApproxDP or ZCDP or ApproxZCDP
            The release's privacy loss.
        label : str, optional
            A name for the release (shown in errors, events and the ledger).
        mechanism : str, optional
            The mechanism's name.
        parameters : dict, optional
            JSON-able details (sensitivity, scale, bounds, ...).
        privacy_unit : str, optional
            The privacy unit (e.g. ``"user_id"``; ``"event"`` for event-level).
        insecure : bool
            Whether the release uses insecure (seeded) randomness.
        event : NoiseEvent, optional
            The noise the release adds; used by ``"rdp"`` (and by ``"zcdp"``
            for an (ε, δ) cost) instead of ``cost``. It must be at least as
            strong as ``cost`` (the noise it describes satisfies ``cost``),
            so that every accounting mode charges the same release
            consistently; an event weaker than its cost is refused.
        request_id : str, optional
            Idempotency key. A retry with a request id that is already charged
            returns the original receipt and charges nothing; the caller must
            then return the first attempt's result (new noise would be a new
            release and needs a new id).

        Returns
        -------
        Receipt

        Raises
        ------
        BudgetExceededError
            When the charge would exceed the budget; nothing is changed.
        UnsupportedCompositionError
            When this accountant cannot compose ``cost`` (e.g. ZCDP in
            ``"basic"``, or (ε, δ) without ``event`` in ``"rdp"``).
        InsecureRandomnessError
            When ``insecure=True`` and the accountant forbids it.
        InvalidParameterError
            For a malformed argument (``parameter`` names it), an ``event``
            weaker than ``cost``, or a ``request_id`` reused with another
            cost. Nothing is charged.
        LedgerError
            When the ledger cannot be written (nothing is charged).

        Notes
        -----
        Privacy. Call this **before** touching the data. Everything is
        validated before the budget is locked; the check and the charge happen
        under one lock (and, for a ledger, one SQLite transaction).

        Examples
        --------
        >>> acc = Accountant(epsilon=1.0)
        >>> r = acc.spend(PureDP(0.5), label="q", mechanism="laplace",
        ...               parameters={"sensitivity": 1.0, "scale": 2.0})
        >>> r.index, r.label, r.parameters["scale"]
        (0, 'q', 2.0)

        A cost and its event must agree (Laplace noise of twice the
        sensitivity is 0.5-DP, not 0.1-DP):

        >>> _ = acc.spend(PureDP(0.5), event=NoiseEvent("laplace", 2.0))
        >>> acc.spend(PureDP(0.1), event=NoiseEvent("laplace", 2.0))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        loopkit_privacy.errors.InvalidParameterError: `event` NoiseEvent(kind='laplace', noise_multiplier=2.0) is weaker than `cost` PureDP(epsilon=0.1): ...
        """
        draft = self._draft(
            cost,
            label=label,
            mechanism=mechanism,
            parameters=parameters,
            privacy_unit=privacy_unit,
            insecure=insecure,
            event=event,
            request_id=request_id,
        )
        return self._charge(draft, "committed")[0]

    def can_spend(self, cost: PrivacyLoss, event: NoiseEvent | None = None) -> bool:
        """Whether ``cost`` would fit now (a dry run; nothing is charged).

        Parameters
        ----------
        cost : PureDP or ApproxDP or ZCDP or ApproxZCDP
        event : NoiseEvent, optional
            As for :meth:`spend` (it must be consistent with ``cost``).

        Returns
        -------
        bool
            False when the cost would exceed the budget, and also when the
            accountant cannot compose ``cost`` (e.g. ZCDP in ``"basic"``).
            Another thread or process may spend in between: only
            :meth:`spend` and :meth:`transaction` reserve.

        Raises
        ------
        InvalidParameterError
            When ``cost`` is not a privacy loss, or ``event`` is not a
            NoiseEvent or is weaker than ``cost`` (the same errors as
            :meth:`spend`; a malformed question is not answered "no").

        Examples
        --------
        >>> acc = Accountant(epsilon=1.0)
        >>> acc.can_spend(PureDP(1.0)), acc.can_spend(PureDP(1.5))
        (True, False)
        >>> acc.can_spend(ZCDP(0.1))  # basic accounting cannot compose zCDP
        False
        >>> acc.can_spend("nonsense")
        Traceback (most recent call last):
            ...
        loopkit_privacy.errors.InvalidParameterError: `cost` must be a PureDP, ApproxDP or ZCDP, got 'nonsense'; build one with loopkit_privacy.loss.loss_from(epsilon=...)
        """
        try:
            draft = self._draft(
                cost,
                label=None,
                mechanism=None,
                parameters=None,
                privacy_unit=None,
                insecure=False,
                event=event,
                request_id=None,
            )
        except UnsupportedCompositionError:
            return False
        with self._reading() as chain:
            return self._policy.fits(_budget.add(chain.state, draft.charge))

    def _release(self, receipt: Receipt) -> None:
        with self._writing() as con:
            self._settle(con, receipt, "release")

    def _commit(self, receipt: Receipt) -> None:
        with self._writing() as con:
            self._settle(con, receipt, "commit")

    @contextlib.contextmanager
    def transaction(
        self,
        cost: PrivacyLoss,
        *,
        label: str | None = None,
        mechanism: str | None = None,
        parameters: dict[str, Any] | None = None,
        privacy_unit: str | None = None,
        insecure: bool = False,
        event: NoiseEvent | None = None,
        request_id: str | None = None,
    ) -> Iterator[Receipt]:
        """Reserve ``cost`` for a release, and commit it when the release succeeds.

        On entering, the cost is checked and reserved (durably, for a ledger)
        exactly as :meth:`spend` would charge it (a ``"spend"`` entry with
        ``reservation=True``); the block receives the receipt. On normal exit
        a ``"commit"`` entry is appended and the spend is final. If the block
        raises, the reservation is given back (a ``"release"`` entry is
        appended to the chain) and the exception propagates. Only a pending
        reservation can be committed or given back; the verifier replays these
        transitions, so a committed spend can never be refunded.

        Parameters
        ----------
        cost, label, mechanism, parameters, privacy_unit, insecure, event, request_id
            As for :meth:`spend`.

        Yields
        ------
        Receipt

        Raises
        ------
        BudgetExceededError, UnsupportedCompositionError, InsecureRandomnessError, InvalidParameterError
            On entering, as for :meth:`spend`; the block does not run.

        Notes
        -----
        Privacy. Giving the reservation back on an exception is safe because a
        release whose block raised has not returned any output: the noisy
        result never left the process. Code inside the block must therefore
        not publish anything (write files, send responses) before the block
        ends; publish after the ``with`` statement. If the process dies inside
        the block, the reservation stays charged (fail closed). A replayed
        ``request_id`` is never given back.

        Examples
        --------
        >>> acc = Accountant(epsilon=1.0)
        >>> with acc.transaction(PureDP(0.5), label="ok") as receipt:
        ...     result = 42  # compute the noisy release here
        >>> acc.spent
        PureDP(epsilon=0.5)
        >>> try:
        ...     with acc.transaction(PureDP(0.25), label="fails"):
        ...         raise RuntimeError("kernel failed")
        ... except RuntimeError:
        ...     pass
        >>> acc.spent
        PureDP(epsilon=0.5)
        """
        draft = self._draft(
            cost,
            label=label,
            mechanism=mechanism,
            parameters=parameters,
            privacy_unit=privacy_unit,
            insecure=insecure,
            event=event,
            request_id=request_id,
        )
        receipt, replayed = self._charge(draft, "pending")
        try:
            yield receipt
        except BaseException as exc:
            if not replayed:
                try:
                    self._release(receipt)
                except Exception as release_error:
                    exc.add_note(
                        f"the reservation {receipt.id} could not be given back "
                        f"({release_error!r}) and stays charged"
                    )
            raise
        self._commit(receipt)

    # ----------------------------------------------------------- queries
    def profile(self, *, method: Method | None = None) -> PrivacyProfile:
        """The privacy profile of what has been charged (pending reservations included).

        Parameters
        ----------
        method : {"pld", "rdp", "zcdp", "basic"}, optional
            How to compose the charged releases; default: this accountant's
            own mode. ``"pld"`` composes each receipt's cost as the worst
            mechanism with that (ε, δ) (a Laplace event: its ε), see
            :func:`~loopkit_privacy.accounting.compose`.

        Returns
        -------
        PrivacyProfile

        Notes
        -----
        Privacy. The accountant's guarantee is its budget: as a privacy
        filter it is sound however adaptively the releases were chosen. A
        profile of what was spent so far is the guarantee of *these* releases
        when their sequence was fixed in advance; for releases chosen on
        earlier outputs, read it as "this budget would not have been
        exceeded", which only the accountant's own mode (basic, zCDP or RDP
        sums) and a budget fixed in advance make a guarantee
        (``docs/accounting.md``).

        Examples
        --------
        >>> acc = Accountant(epsilon=10.0)
        >>> for _ in range(40):
        ...     _ = acc.spend(PureDP(0.05))
        >>> acc.epsilon_at(1e-6)  # basic: the sum
        2.0
        >>> acc.epsilon_at(1e-6, method="zcdp") < 2.0
        True
        """
        with self._reading() as chain:
            receipts = chain.charged_receipts()
        own = method is None or method == self.accounting
        use = cast(Method, self.accounting) if method is None else method
        items: list[Any]
        if own and use == "basic":
            items = [r.cost for r in receipts]
        else:
            items = [(r.cost, r.event) for r in receipts]
        orders = self._policy.orders if use == "rdp" and own else None
        return compose(items, method=use, orders=orders)

    def epsilon_at(self, delta: float, *, method: Method | None = None) -> float:
        """The ε (rounded up) of what has been charged, at ``delta``.

        ``inf`` when no finite ε holds (e.g. ``delta`` below the δ spent).
        See :meth:`profile` for ``method`` and for what the answer means.

        Examples
        --------
        >>> acc = Accountant(epsilon=1.0, delta=1e-5, accounting="zcdp")
        >>> _ = acc.spend(ZCDP(0.01))
        >>> round(acc.epsilon_at(1e-5), 4)
        0.5457
        """
        return self.profile(method=method).epsilon(delta)

    def delta_at(self, epsilon: float, *, method: Method | None = None) -> float:
        """The δ (rounded up) of what has been charged, at ``epsilon``.

        See :meth:`profile` for ``method`` and for what the answer means.

        Examples
        --------
        >>> acc = Accountant(epsilon=1.0, delta=1e-5, accounting="zcdp")
        >>> _ = acc.spend(ZCDP(0.01))
        >>> acc.delta_at(0.6) <= 1e-5
        True
        """
        return self.profile(method=method).delta(epsilon)

    def batch(
        self,
        releases: Iterable[Any],
        *,
        delta: float = 0.0,
        label: str | None = None,
        mechanism: str | None = "batch",
        parameters: dict[str, Any] | None = None,
        privacy_unit: str | None = None,
        insecure: bool = False,
        request_id: str | None = None,
    ) -> contextlib.AbstractContextManager[Receipt]:
        """Reserve one tightly composed cost for a batch of releases declared together.

        The releases (e.g. the 50 statistics of a dashboard refresh) are
        composed with privacy loss distributions
        (:func:`~loopkit_privacy.accounting.compose`, ``method="pld"``), and
        the batch is charged **one** cost, ``(ε_pld(delta), delta)``, exactly as
        :meth:`transaction` charges one release: reserved on entering,
        committed when the block succeeds, given back if it raises.

        Parameters
        ----------
        releases : iterable
            The batch: privacy losses, NoiseEvents, ``(cost, event)`` pairs or
            :class:`~loopkit_privacy.accounting.Subsampled` entries, as for
            :func:`~loopkit_privacy.accounting.compose`.
        delta : float
            The δ the batch is charged, in [0, 1) (0 for a pure budget: the
            batch then costs the PLD's ε at δ = 0).
        label, mechanism, parameters, privacy_unit, insecure, request_id
            As for :meth:`transaction`; ``parameters`` gains a ``"batch"``
            entry (method, number of releases, δ).

        Returns
        -------
        context manager yielding the Receipt

        Raises
        ------
        InvalidParameterError
            For an empty batch, a malformed entry, or a ``delta`` at which no
            finite ε holds.
        UnsupportedCompositionError, OptionalDependencyError
            As for :func:`~loopkit_privacy.accounting.compose` (and in an
            ``"rdp"`` accountant, whose charges need a noise event).
        BudgetExceededError
            When the batch's cost does not fit (nothing is spent).

        Notes
        -----
        Privacy. PLD composition is sound for a sequence fixed in advance.
        Declaring the whole batch before any of it is computed makes it one
        non-adaptive release whose cost the accountant then charges as a
        filter (sound adaptively *between* batches and other releases). Do
        not decide a batch's later members on its earlier outputs; make them
        separate charges instead.

        Examples
        --------
        >>> acc = Accountant(epsilon=4.0, delta=1e-6)
        >>> dashboard = [PureDP(0.1)] * 50  # basic composition: epsilon 5.0
        >>> with acc.batch(dashboard, delta=1e-7, label="refresh") as receipt:
        ...     pass  # compute the 50 statistics here, publish after the block
        >>> round(receipt.cost.epsilon, 3), receipt.cost.delta
        (3.456, 1e-07)
        """
        items = (
            list(releases)
            if isinstance(releases, Iterable) and not isinstance(releases, str | bytes)
            else None
        )
        if not items:
            raise InvalidParameterError(
                f"`releases` must be a non-empty iterable of releases, got "
                f"{releases!r}; pass e.g. [PureDP(0.1)] * 50",
                parameter="releases",
                value=None,
            )
        cost = compose(items, method="pld").approx_dp(delta)
        params = normalize_parameters(parameters)
        params["batch"] = {"method": "pld", "releases": len(items), "delta": delta}
        return self.transaction(
            cost,
            label=label,
            mechanism=mechanism,
            parameters=params,
            privacy_unit=privacy_unit,
            insecure=insecure,
            request_id=request_id,
        )

    def _repr_html_(self) -> str:
        """Budget, spent and remaining with a bar, and the latest receipts (for notebooks).

        Examples
        --------
        >>> acc = Accountant(epsilon=2.0)
        >>> _ = acc.spend(PureDP(0.5), label="daily views")
        >>> page = acc._repr_html_()
        >>> "25.0% used" in page and "daily views" in page
        True
        """
        receipts = self.receipts
        used = self.used_fraction
        where = (
            f"ledger {self._ledger.path}" if self._ledger is not None else "in memory"
        )
        head = _html.title(
            f"Accountant · dataset {self._dataset!r}",
            f"{self.accounting} accounting, {where}",
        )
        summary = _html.kv_table(
            [
                ("budget", repr(self.budget)),
                ("spent", repr(self.spent)),
                ("remaining", repr(self.remaining)),
                ("releases", len(receipts)),
            ]
        )
        bar = _html.bar(used, f"{100 * used:.1f}% used")
        latest = receipts[-5:]
        rows = [
            (
                r.index,
                r.label or "",
                r.mechanism or "",
                repr(r.cost),
                r.time[:19].replace("T", " "),
                "INSECURE" if r.insecure else "",
            )
            for r in reversed(latest)
        ]
        listing = (
            _html.table(["#", "label", "mechanism", "cost", "time (UTC)", ""], rows)
            if rows
            else ""
        )
        return head + bar + summary + listing

    def __repr__(self) -> str:
        where = f", ledger={self._ledger.path!r}" if self._ledger is not None else ""
        return (
            f"Accountant(dataset={self._dataset!r}, accounting={self.accounting!r}, "
            f"budget={self.budget!r}{where})"
        )
