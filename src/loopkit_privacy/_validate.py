"""Validation of public parameters, one helper per rule.

Every helper names the parameter and the received value in its message, states
the rule, and says what to do; it raises
:class:`~loopkit_privacy.errors.InvalidParameterError`.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from loopkit_privacy._typing import AnyArray
from loopkit_privacy.errors import (
    InvalidParameterError,
    NonFiniteValueError,
    PrivacyWarning,
)

#: Above this epsilon a release is allowed but warned about.
LARGE_EPSILON = 5.0


def _as_float(value: Any, name: str, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(
            f"`{name}` must be a real number, got {value!r} of type "
            f"{type(value).__name__}; pass e.g. {name}={example}",
            parameter=name,
            value=value,
        )
    return float(value)


def check_finite(value: Any, name: str, *, example: str = "0.0") -> float:
    """Return ``value`` as a float if it is a finite real number, else raise."""
    x = _as_float(value, name, example)
    if not math.isfinite(x):
        raise InvalidParameterError(
            f"`{name}` must be finite, got {value!r}; pass e.g. {name}={example}",
            parameter=name,
            value=value,
        )
    return x


def check_positive(value: Any, name: str, *, example: str = "1.0") -> float:
    """Return ``value`` as a float if it is finite and > 0, else raise."""
    x = _as_float(value, name, example)
    if not (math.isfinite(x) and x > 0):
        raise InvalidParameterError(
            f"`{name}` must be a finite number > 0, got {value!r}; "
            f"pass e.g. {name}={example}",
            parameter=name,
            value=value,
        )
    return x


def check_epsilon(value: Any, name: str = "epsilon") -> float:
    """Validate a privacy parameter epsilon (finite, > 0; warn if > 5)."""
    eps = check_positive(value, name)
    if eps > LARGE_EPSILON:
        warnings.warn(
            f"`{name}`={eps!r} is larger than {LARGE_EPSILON}; such a release "
            "gives little privacy protection",
            PrivacyWarning,
            stacklevel=3,
        )
    return eps


def check_delta(value: Any, name: str = "delta", *, allow_zero: bool = False) -> float:
    """Validate delta: finite, in (0, 1) (or [0, 1) with ``allow_zero``)."""
    x = _as_float(value, name, "1e-6")
    low_ok = x >= 0 if allow_zero else x > 0
    if not (math.isfinite(x) and low_ok and x < 1):
        rng = "[0, 1)" if allow_zero else "(0, 1)"
        raise InvalidParameterError(
            f"`{name}` must be a finite number in {rng}, got {value!r}; "
            f"pass e.g. {name}=1e-6",
            parameter=name,
            value=value,
        )
    return x


def check_rho(value: Any, name: str = "rho") -> float:
    """Validate a zCDP parameter rho (finite, > 0)."""
    return check_positive(value, name, example="0.5")


def check_level(value: Any, name: str = "level") -> float:
    """Validate a confidence level in (0, 1)."""
    x = _as_float(value, name, "0.95")
    if not (math.isfinite(x) and 0 < x < 1):
        raise InvalidParameterError(
            f"`{name}` must be a number strictly between 0 and 1, got {value!r}; "
            f"pass e.g. {name}=0.95",
            parameter=name,
            value=value,
        )
    return x


def check_bool(value: Any, name: str) -> bool:
    """Validate a flag: ``True`` or ``False`` (numpy booleans too).

    Examples
    --------
    >>> check_bool(True, "monotone")
    True
    """
    if not isinstance(value, bool | np.bool_):
        raise InvalidParameterError(
            f"`{name}` must be True or False, got {value!r}; pass e.g. {name}=True",
            parameter=name,
            value=value,
        )
    return bool(value)


def check_positive_int(value: Any, name: str, *, example: str = "1") -> int:
    """Validate an integer >= 1 (bool is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(
            f"`{name}` must be an integer >= 1, got {value!r}; pass e.g. {name}={example}",
            parameter=name,
            value=value,
        )
    if int(value) < 1:
        raise InvalidParameterError(
            f"`{name}` must be an integer >= 1, got {value!r}; pass e.g. {name}={example}",
            parameter=name,
            value=value,
        )
    return int(value)


def check_bounds(value: Any, name: str = "bounds") -> tuple[float, float]:
    """Validate ``(lo, hi)``: two finite numbers with lo < hi."""
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"`{name}` must be a pair (lo, hi), got {value!r}; pass e.g. {name}=(0.0, 100.0)",
            parameter=name,
            value=value,
        ) from None
    lo_f = _as_float(lo, name, "(0.0, 100.0)")
    hi_f = _as_float(hi, name, "(0.0, 100.0)")
    if not (math.isfinite(lo_f) and math.isfinite(hi_f) and lo_f < hi_f):
        raise InvalidParameterError(
            f"`{name}` must be finite with lo < hi, got {value!r}; "
            f"pass e.g. {name}=(0.0, 100.0)",
            parameter=name,
            value=value,
        )
    return lo_f, hi_f


def check_numeric_array(value: Any, name: str = "value") -> AnyArray:
    """Return ``value`` as a numeric ndarray (int64 or float64), rejecting NaN/inf.

    Booleans, strings, objects and complex numbers are refused.
    """
    arr = np.asarray(value)
    if arr.dtype.kind in "iu":
        if (
            arr.dtype.kind == "u"
            and arr.size
            and int(arr.max()) > np.iinfo(np.int64).max
        ):
            raise InvalidParameterError(
                f"`{name}` has unsigned values above 2**63 - 1, which cannot be noised exactly",
                parameter=name,
                value=None,
            )
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float64, copy=False)
        finite = np.isfinite(arr)
        if not finite.all():
            bad = np.flatnonzero(~finite.ravel())
            raise NonFiniteValueError(
                f"`{name}` contains {bad.size} NaN or infinite value(s) (first at "
                f"flat index {int(bad[0])}); drop or impute them before adding noise",
                column=name,
                count=int(bad.size),
                first_index=int(bad[0]),
            )
        return arr
    raise InvalidParameterError(
        f"`{name}` must be numeric (integers or floats), got dtype {arr.dtype}; "
        "convert it with e.g. np.asarray(value, dtype=float)",
        parameter=name,
        value=None,
    )


def check_accountant(value: Any, name: str = "accountant") -> Any:
    """Validate an accountant argument: ``None`` or an object with ``transaction``.

    The check is structural (the accountant protocol: ``transaction(cost, ...)``
    as a context manager), so that this layer need not import the accounting
    package. A string, a number or any other object raises before anything is
    read or charged.
    """
    if value is None:
        return None
    if not callable(getattr(value, "transaction", None)):
        raise InvalidParameterError(
            f"`{name}` must be an Accountant (or None), got an object of type "
            f"{type(value).__name__}; pass e.g. {name}=lp.Accountant(epsilon=1.0)",
            parameter=name,
            value=None,
        )
    return value
