"""The exception and warning hierarchy of loopkit_privacy.

Every error raised by the library is a :class:`PrivacyError`. Errors about
bad input also subclass the matching builtin (``ValueError``, ``TypeError``,
``ImportError``), so ``except ValueError`` keeps working. Errors carry the
offending data as attributes, so callers can react without parsing messages.

Examples
--------
>>> import loopkit_privacy as lp
>>> try:
...     lp.add_noise(1.0, sensitivity=1.0, epsilon=-1.0)
... except lp.InvalidParameterError as err:
...     print(err.parameter)
epsilon
>>> issubclass(lp.InvalidParameterError, ValueError)
True
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BudgetExceededError",
    "ColumnNotFoundError",
    "ColumnTypeError",
    "DuplicateUnitError",
    "InsecureRandomnessError",
    "InsecureRandomnessWarning",
    "InvalidParameterError",
    "InvalidRandomSourceError",
    "KeyExposureError",
    "LedgerError",
    "LedgerIntegrityError",
    "MissingKeyError",
    "NonFiniteValueError",
    "OptionalDependencyError",
    "PrivacyError",
    "PrivacyWarning",
    "SchemaError",
    "UnknownPurposeError",
    "UnsupportedCompositionError",
]


class PrivacyError(Exception):
    """Base class of every error raised by loopkit_privacy."""


class InvalidParameterError(PrivacyError, ValueError):
    """A parameter (epsilon, delta, bounds, sensitivity, ...) is invalid.

    Attributes
    ----------
    parameter : str
        The name of the parameter, as the caller spelled it.
    value : object
        The value that was rejected.
    """

    def __init__(self, message: str, *, parameter: str, value: Any = None) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.value = value


class SchemaError(PrivacyError, ValueError):
    """A table does not have the columns or types a release needs.

    Attributes
    ----------
    column : str or None
        The column at fault, when there is one.
    """

    def __init__(self, message: str, *, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


class ColumnNotFoundError(SchemaError):
    """A column named by the caller is not in the table."""


class ColumnTypeError(SchemaError, TypeError):
    """A column has a data type the release cannot use."""


class NonFiniteValueError(SchemaError, InvalidParameterError):
    """A value column (or value array) contains NaN or an infinity.

    It is both a :class:`SchemaError` (for table columns) and an
    :class:`InvalidParameterError` (for arrays passed to a mechanism).

    Attributes
    ----------
    count : int or None
        How many non-finite values were found in an array the caller passed
        (``None`` for table columns: a release never reports facts about
        individual rows).
    first_index : int or None
        The position of the first one (``None`` for table columns).
    """

    def __init__(
        self,
        message: str,
        *,
        column: str | None,
        count: int | None = None,
        first_index: int | None = None,
    ) -> None:
        Exception.__init__(self, message)
        self.column = column
        self.parameter = column or "value"
        self.value = None
        self.count = count
        self.first_index = first_index


class BudgetExceededError(PrivacyError):
    """A release would exceed the privacy budget; nothing was spent.

    Attributes
    ----------
    requested : object
        The privacy loss the release asked for.
    remaining : object
        What remained of the budget when it was refused.
    label : str or None
        The release's label.
    """

    def __init__(
        self,
        message: str,
        *,
        requested: Any = None,
        remaining: Any = None,
        label: str | None = None,
    ) -> None:
        super().__init__(message)
        self.requested = requested
        self.remaining = remaining
        self.label = label


class UnsupportedCompositionError(PrivacyError):
    """The accountant cannot compose a privacy loss of this kind."""


class InsecureRandomnessError(PrivacyError):
    """Insecure randomness was used where secure randomness is required."""


class InvalidRandomSourceError(InsecureRandomnessError, InvalidParameterError):
    """An ``rng`` argument is not a source the library accepts.

    Both an :class:`InsecureRandomnessError` (a seed or a ``numpy`` generator
    is refused because it is not secure) and an :class:`InvalidParameterError`
    naming the parameter (``rng``).

    Examples
    --------
    >>> from loopkit_privacy.random import resolve_rng
    >>> try:
    ...     resolve_rng(42)
    ... except InvalidRandomSourceError as err:
    ...     print(err.parameter)
    rng
    """


class LedgerError(PrivacyError):
    """A ledger file cannot be opened, read or written."""


class LedgerIntegrityError(LedgerError):
    """A ledger's hash chain or totals do not verify.

    Attributes
    ----------
    index : int or None
        The position of the first receipt that fails verification.
    """

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class OptionalDependencyError(PrivacyError, ImportError):
    """An optional dependency needed by this feature is not installed."""


class PrivacyWarning(UserWarning):
    """A setting is allowed but unusual enough to deserve attention."""


class InsecureRandomnessWarning(PrivacyWarning):
    """Insecure (seeded, reproducible) randomness is being used."""


class MissingKeyError(InvalidParameterError):
    """A secret key is required (for keyed pseudonyms) and none was given.

    An unkeyed hash of an identifier such as an e-mail address can be reversed
    by hashing a list of candidate values, so no unkeyed fallback exists.
    """


class KeyExposureError(PrivacyError, TypeError):
    """An operation would copy a secret key out of its object (e.g. pickling).

    Export a key on purpose with its ``hex()`` method and keep it in a secret
    store; it is never serialised implicitly.
    """


class UnknownPurposeError(InvalidParameterError):
    """A consent purpose is not one of the known purposes.

    Attributes
    ----------
    known : tuple of str
        The purposes that are known (standard and custom).
    """

    def __init__(
        self, message: str, *, parameter: str, value: Any = None, known: Any = ()
    ) -> None:
        super().__init__(message, parameter=parameter, value=value)
        self.known = tuple(known)


class DuplicateUnitError(SchemaError):
    """A table that must hold one record per privacy unit has several for some.

    Attributes
    ----------
    count : int
        How many privacy units have more than one record.
    """

    def __init__(self, message: str, *, column: str | None = None, count: int) -> None:
        super().__init__(message, column=column)
        self.count = count
