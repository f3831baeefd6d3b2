"""Vectorised trial functions for the auditor: n releases per call.

:func:`aggregation_trials` wraps an ``aggregate_*`` function so that one call
returns ``n`` independent releases of it as :class:`KeyedOutputs` (the
library runs its own release code for all ``n`` at once, bounding the data
once), :func:`cohort_trials` does the same for ``cohort_retention`` and
:func:`funnel_trials` for ``funnel``.
Mechanisms need no wrapper: their ``randomize(value, n)`` method is already
vectorised.

Why bounding once is valid. Contribution bounding keeps, for each user, rows
chosen by a keyed hash of that user's own rows. For a fixed key it is a
deterministic per-user transformation, so the release is DP conditionally
on the key. A trial function draws its key once and uses it for both
neighbouring tables; every trial is then an independent draw of one DP
mechanism. (This needs the other users' rows to be hashed the same way in
both tables: neighbours built by appending one user's rows, as
:mod:`loopkit_privacy.audit.strategies` and the built-in audit do, keep
every other user's codes.)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from loopkit_privacy import aggregate, histogram, quantiles
from loopkit_privacy._release import request_of
from loopkit_privacy._typing import AnyArray
from loopkit_privacy.audit._args import check_salt
from loopkit_privacy.audit._features import KeyedOutputs
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.random import default_rng

__all__ = ["aggregation_trials", "cohort_trials", "funnel_trials"]


def _key_label(key: dict[str, Any]) -> Any:
    if not key:
        return "total"
    values = tuple(key.values())
    return values[0] if len(values) == 1 else values


def _fresh_salt(salt: int | None) -> int:
    return int(default_rng().words(1)[0]) if salt is None else int(salt)


_AGGREGATIONS = (
    aggregate.aggregate_count,
    aggregate.aggregate_sum,
    aggregate.aggregate_average,
    aggregate.aggregate_top_n,
    quantiles.aggregate_quantiles,
    quantiles.aggregate_variance,
    quantiles.aggregate_std,
    histogram.aggregate_histogram,
)
_AGGREGATION_NAMES = ", ".join(f"lp.{f.__name__}" for f in _AGGREGATIONS)


def _check_aggregation(func: Any) -> Callable[..., Any]:
    """``func`` if it is one of the aggregations (or a ``functools.partial`` of one)."""
    inner = func.func if isinstance(func, functools.partial) else func
    if not any(inner is f for f in _AGGREGATIONS):
        name = getattr(func, "__name__", None) if callable(func) else None
        got = (
            name
            if isinstance(name, str)
            else f"an object of type {type(func).__name__}"
        )
        raise InvalidParameterError(
            f"`func` must be one of {_AGGREGATION_NAMES}, got {got}; pass e.g. "
            "aggregation_trials(lp.aggregate_count, by=..., privacy_unit=..., "
            "epsilon=1.0)",
            parameter="func",
            value=None,
        )
    out: Callable[..., Any] = func
    return out


def _check_kwargs(
    target: Callable[..., Any],
    kwargs: dict[str, Any],
    *,
    where: str,
    refused: dict[str, str],
) -> dict[str, Any]:
    """The keyword arguments of ``target`` (after its table), checked by name.

    Unknown names, missing required ones and the names in ``refused`` (with
    any value but ``None``) raise an error naming the argument; the values
    themselves are checked by ``target`` when the trial function runs.
    Returns ``kwargs`` without the refused names (given as ``None``).
    """
    params = list(inspect.signature(target).parameters.values())
    table, rest = params[0], params[1:]
    known = {p.name: p for p in rest}
    for key, value in kwargs.items():
        if key in refused and value is not None:
            raise InvalidParameterError(
                f"`{key}` is not accepted by {where}: {refused[key]}; remove it",
                parameter=key,
                value=None,
            )
        if key == table.name:
            raise InvalidParameterError(
                f"`{key}` is not an argument of {where}: pass the table to the "
                f"returned function, fn({key}, n)",
                parameter=key,
                value=None,
            )
        if key not in known:
            raise InvalidParameterError(
                f"`{key}` is not an argument of {getattr(target, '__name__', where)}; "
                f"the arguments are {', '.join(k for k in known if k not in refused)}",
                parameter=key,
                value=None,
            )
    for p in rest:
        if p.default is inspect.Parameter.empty and p.name not in kwargs:
            raise InvalidParameterError(
                f"`{p.name}` is required by {getattr(target, '__name__', where)}; "
                f"pass it to {where}, e.g. {p.name}=...",
                parameter=p.name,
                value=None,
            )
    return {k: v for k, v in kwargs.items() if k not in refused}


def aggregation_trials(
    func: Callable[..., Any], /, *, salt: int | None = None, **kwargs: Any
) -> Callable[[Any, int], KeyedOutputs]:
    """A vectorised ``fn(table, n)``: ``n`` releases of ``func(table, **kwargs)``.

    Parameters
    ----------
    func : callable
        One of ``aggregate_count``, ``aggregate_sum``, ``aggregate_average``,
        ``aggregate_top_n``, ``aggregate_quantiles`` (one key per group and
        quantile), ``aggregate_variance``, ``aggregate_std``,
        ``aggregate_histogram`` (one key per group and bin).
    salt : int, optional
        Key of the bounding's keyed hash, an integer in [0, 2**64), shared by
        every call (drawn from the secure source by default).
    **kwargs
        The aggregation's arguments (without ``table`` and ``accountant``).

    Returns
    -------
    callable
        ``fn(table, n) -> KeyedOutputs``: for each of the ``n`` releases,
        which groups were released and their value (the ``count``, ``sum``,
        ``average`` or ``users`` column), after every post-processing step.

    Raises
    ------
    InvalidParameterError
        ``func`` is not an aggregation, ``salt`` is not a valid salt, or a
        keyword is unknown, missing or refused (``accountant``). The values
        of the aggregation's arguments are checked by the aggregation, when
        the returned function runs.

    Notes
    -----
    Privacy. Nothing is charged; every call is ``n`` releases of real data
    if given real data. Use it on synthetic tables for audits.

    Examples
    --------
    >>> import pyarrow as pa, loopkit_privacy as lp
    >>> fn = aggregation_trials(lp.aggregate_count, by="page", privacy_unit="user",
    ...                         epsilon=1.0, public_groups=["a", "b"])
    >>> out = fn(pa.table({"user": [1, 2], "page": ["a", "a"]}), 1000)
    >>> out.keys, out.present.shape
    (('a', 'b'), (1000, 2))
    """
    func = _check_aggregation(func)
    salt = check_salt(salt)
    kwargs = _check_kwargs(
        func,
        kwargs,
        where="aggregation_trials",
        refused={"accountant": "trials are never charged to an accountant"},
    )
    key = _fresh_salt(salt)

    def fn(table: Any, n: int) -> KeyedOutputs:
        rel = request_of(func, table, **kwargs).trials(n, salt=key)
        keys = tuple(_key_label(k) for k in rel.keys)
        return KeyedOutputs(keys, rel.present, rel.values)

    fn.__name__ = f"{getattr(func, '__name__', 'aggregation')}_trials"
    return fn


def cohort_trials(
    *, salt: int | None = None, **kwargs: Any
) -> Callable[[Any, int], AnyArray]:
    """A vectorised ``fn(table, n)``: ``n`` releases of ``cohort_retention``'s counts.

    Each release is the matrix of noisy cohort sizes and active users per
    period offset (before suppression and rates, which are post-processing),
    flattened to one row of the returned ``(n, cells)`` array.

    Parameters
    ----------
    salt : int, optional
        Key of the bounding's keyed hash, an integer in [0, 2**64), shared by
        every call.
    **kwargs
        The arguments of :func:`loopkit_privacy.cohorts.cohort_retention`
        without ``table``, ``accountant`` and ``rng`` (the noise comes from
        the secure source) and without the post-processing ones
        (``min_cohort_size``, ``monotone``, ``confidence``, ``label``).

    Returns
    -------
    callable

    Raises
    ------
    InvalidParameterError
        ``salt`` is not a valid salt, or a keyword is unknown, missing or
        refused. The values of the other arguments are checked when the
        returned function runs.

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> t = pa.table({"user": [1, 2], "at": [dt.date(2026, 1, 3), dt.date(2026, 2, 3)]})
    >>> fn = cohort_trials(privacy_unit="user", time="at", start="2026-01-01",
    ...                    end="2026-03-01", n_periods=2, epsilon=1.0)
    >>> fn(t, 10).shape
    (10, 6)
    """
    from loopkit_privacy import cohorts

    salt = check_salt(salt)
    post = "it only affects post-processing, which the trials leave out"
    kwargs = _check_kwargs(
        cohorts.cohort_retention,
        kwargs,
        where="cohort_trials",
        refused={
            "accountant": "trials are never charged to an accountant",
            "rng": "the trials draw their noise from the secure source",
            "min_cohort_size": post,
            "monotone": post,
            "confidence": post,
            "label": post,
        },
    )
    key = _fresh_salt(salt)

    def fn(table: Any, n: int) -> AnyArray:
        out = request_of(cohorts.cohort_retention, table, **kwargs).trials(n, salt=key)
        return np.asarray(out).reshape(n, -1)

    return fn


def funnel_trials(
    *, salt: int | None = None, **kwargs: Any
) -> Callable[[Any, int], KeyedOutputs]:
    """A vectorised ``fn(table, n)``: ``n`` releases of ``funnel``'s level counts.

    Each release is what the funnel's mechanism outputs: the noisy number of
    users whose furthest step is exactly each step, per released group
    (keys ``(group..., step)``, or the step alone without ``by``). Reach
    counts and rates are post-processing of these and are left out.

    Parameters
    ----------
    salt : int, optional
        Accepted for symmetry with the other trial functions (a funnel bounds
        nothing, so no keyed hash is used); an integer in [0, 2**64).
    **kwargs
        The arguments of :func:`loopkit_privacy.funnel` without ``table``,
        ``accountant`` and ``rng`` (the noise comes from the secure source)
        and without the post-processing ones (``confidence``, ``label``).

    Returns
    -------
    callable
        ``fn(table, n) -> KeyedOutputs``.

    Raises
    ------
    InvalidParameterError
        ``salt`` is not a valid salt, or a keyword is unknown, missing or
        refused. The values of the other arguments are checked when the
        returned function runs.

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> t = pa.table({"user": [1, 1, 2], "step": ["a", "b", "a"],
    ...               "at": [dt.date(2026, 1, 1)] * 3})
    >>> fn = funnel_trials(privacy_unit="user", step="step", steps=["a", "b"],
    ...                    time="at", epsilon=1.0)
    >>> out = fn(t, 10)
    >>> out.keys, out.present.shape
    (('a', 'b'), (10, 2))
    """
    from loopkit_privacy.funnel import funnel

    salt = check_salt(salt)
    post = "it only affects post-processing, which the trials leave out"
    kwargs = _check_kwargs(
        funnel,
        kwargs,
        where="funnel_trials",
        refused={
            "accountant": "trials are never charged to an accountant",
            "rng": "the trials draw their noise from the secure source",
            "confidence": post,
            "label": post,
        },
    )
    key = _fresh_salt(salt)

    def fn(table: Any, n: int) -> KeyedOutputs:
        rel = request_of(funnel, table, **kwargs).trials(n, salt=key)
        keys = tuple(_key_label(k) for k in rel.keys)
        return KeyedOutputs(keys, rel.present, rel.values)

    fn.__name__ = "funnel_trials"
    return fn
