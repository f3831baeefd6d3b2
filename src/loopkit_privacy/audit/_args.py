"""Argument checks shared by the audit package (beyond :mod:`loopkit_privacy._validate`).

Every check names the caller's parameter in backticks, says what was
received (its type, or a short value; never the contents of a table) and
what to pass, and raises :class:`~loopkit_privacy.errors.InvalidParameterError`
with ``parameter`` set to that name.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from loopkit_privacy._typing import AnyArray
from loopkit_privacy._validate import check_finite, check_positive_int
from loopkit_privacy.errors import InvalidParameterError

#: Bounding salts are 64-bit words.
SALT_LIMIT = 2**64


def _got(value: Any) -> str:
    """A short description of a received value (a repr only for small scalars)."""
    if value is None or isinstance(value, bool | numbers.Number):
        return f"{value!r} of type {type(value).__name__}"
    if isinstance(value, str) and len(value) <= 40:
        return f"{value!r} of type str"
    if isinstance(value, tuple | list | dict | set) and not value:
        return f"an empty {type(value).__name__}"
    return f"an object of type {type(value).__name__}"


def fail(name: str, rule: str, value: Any, example: str) -> InvalidParameterError:
    """The error for ``name``: ``rule`` broken by ``value``; ``example`` says what to pass."""
    return InvalidParameterError(
        f"`{name}` {rule}, got {_got(value)}; pass e.g. {name}={example}",
        parameter=name,
        value=value,
    )


def check_callable(value: Any, name: str, *, example: str) -> Callable[..., Any]:
    """``value`` if it is callable."""
    if not callable(value):
        raise fail(name, "must be callable", value, example)
    out: Callable[..., Any] = value
    return out


def check_optional_callable(
    value: Any, name: str, *, example: str
) -> Callable[..., Any] | None:
    """``None`` or a callable."""
    if value is None:
        return None
    if not callable(value):
        raise fail(name, "must be None or callable", value, example)
    out: Callable[..., Any] = value
    return out


def check_bool(value: Any, name: str, *, example: str = "True") -> bool:
    """``value`` as a bool if it is ``True``/``False`` (numpy bools too)."""
    if not isinstance(value, bool | np.bool_):
        raise fail(name, "must be True or False", value, example)
    return bool(value)


def check_optional_bool(value: Any, name: str) -> bool | None:
    """``None`` or a bool."""
    if value is None:
        return None
    if not isinstance(value, bool | np.bool_):
        raise fail(name, "must be None, True or False", value, "True")
    return bool(value)


def check_str(value: Any, name: str, *, example: str = '"my case"') -> str:
    """``value`` if it is a string."""
    if not isinstance(value, str):
        raise fail(name, "must be a string", value, example)
    return value


def check_nonnegative(value: Any, name: str, *, example: str = "1.0") -> float:
    """``value`` as a float if it is a finite real number >= 0."""
    x = check_finite(value, name, example=example)
    if x < 0:
        raise fail(name, "must be a finite number >= 0", value, example)
    return x


def check_optional_nonnegative(
    value: Any, name: str, *, example: str = "1.0"
) -> float | None:
    """``None`` or a finite real number >= 0."""
    return None if value is None else check_nonnegative(value, name, example=example)


def check_int_at_least(value: Any, name: str, low: int, *, example: str) -> int:
    """``value`` as an int if it is an integer >= ``low`` (bool is refused)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or int(value) < low
    ):
        raise fail(name, f"must be an integer >= {low}", value, example)
    return int(value)


def check_nonnegative_int(value: Any, name: str, *, example: str = "10") -> int:
    """``value`` as an int if it is an integer >= 0 (bool is refused)."""
    return check_int_at_least(value, name, 0, example=example)


def check_optional_positive_int(
    value: Any, name: str, *, example: str = "1000"
) -> int | None:
    """``None`` or an integer >= 1."""
    return None if value is None else check_positive_int(value, name, example=example)


def check_trials(value: Any, name: str = "trials") -> int:
    """Trials per input of an audit: an integer >= 4 (two halves of at least two)."""
    return check_int_at_least(value, name, 4, example="100_000")


def check_probability(value: Any, name: str, *, example: str) -> float:
    """A real number strictly between 0 and 1 (an error probability)."""
    x = check_finite(value, name, example=example)
    if not 0 < x < 1:
        raise fail(name, "must be a number strictly between 0 and 1", value, example)
    return x


def check_salt(value: Any, name: str = "salt") -> int | None:
    """``None`` or a bounding salt: an integer in [0, 2**64)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise fail(name, "must be None or an integer in [0, 2**64)", value, "12345")
    if not 0 <= int(value) < SALT_LIMIT:
        raise fail(name, "must be None or an integer in [0, 2**64)", value, "12345")
    return int(value)


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """``value`` if it is one of the strings ``choices``."""
    options = list(choices)
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(c) for c in options)
        raise fail(name, f"must be one of {listed}", value, repr(options[0]))
    return value


def check_integer_array(
    value: Any,
    name: str,
    *,
    example: str,
    nonempty: bool = False,
    what: str = "integers",
) -> AnyArray:
    """``value`` as an int64 array if it holds finite integers (integral floats too).

    Booleans, strings, objects and complex numbers are refused, and so are
    NaN, infinities and fractional values. The message never shows the
    values themselves.
    """
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = np.asarray(None, dtype=object)
    if arr.dtype.kind not in "iuf":
        if isinstance(value, str | bytes):
            got = "a string"
        elif arr.dtype.kind == "O":
            got = f"an object of type {type(value).__name__}"
        else:
            got = f"dtype {arr.dtype}"
        raise InvalidParameterError(
            f"`{name}` must be an array of {what}, got {got}; pass e.g. {name}={example}",
            parameter=name,
            value=None,
        )
    if nonempty and arr.size == 0:
        raise InvalidParameterError(
            f"`{name}` is empty; pass at least one value, e.g. {name}={example}",
            parameter=name,
            value=None,
        )
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise InvalidParameterError(
                f"`{name}` must hold finite {what}, got NaN or infinite values; "
                f"pass e.g. {name}={example}",
                parameter=name,
                value=None,
            )
        if not (arr == np.rint(arr)).all():
            raise InvalidParameterError(
                f"`{name}` must hold {what}, got fractional values; "
                f"pass e.g. {name}={example}",
                parameter=name,
                value=None,
            )
        if arr.size and float(np.abs(arr).max()) >= 2.0**63:
            raise InvalidParameterError(
                f"`{name}` holds values too large for 64-bit integers",
                parameter=name,
                value=None,
            )
    elif arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise InvalidParameterError(
            f"`{name}` holds values too large for 64-bit integers",
            parameter=name,
            value=None,
        )
    return arr.astype(np.int64, copy=False)


def check_nonstring_iterable(value: Any, name: str, *, example: str) -> list[Any]:
    """``value`` as a list if it is an iterable other than a string or bytes."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise fail(name, "must be a list (or other iterable) of values", value, example)
    return list(value)


def check_names(value: Any, name: str, *, single: bool, example: str) -> list[str]:
    """A non-empty list of strings; with ``single`` one string is one name.

    A bare string is never split into its characters: with ``single=False``
    it is refused.
    """
    if isinstance(value, str) and single:
        return [value]
    out: list[Any] | None = None
    if not isinstance(value, str | bytes):
        try:
            out = list(value)
        except TypeError:
            out = None
    if not out or not all(isinstance(v, str) for v in out):
        rule = (
            "must be a column name or a non-empty list of them"
            if single
            else "must be a non-empty tuple of strings"
        )
        raise fail(name, rule, value, example)
    return out
