"""Vectorised trial functions for the auditor: n releases per call.

:func:`aggregation_trials` wraps an ``aggregate_*`` function so that one call
returns ``n`` independent releases of it as :class:`KeyedOutputs` (the
library runs its own release code for all ``n`` at once, bounding the data
once), and :func:`cohort_trials` does the same for ``cohort_retention``.
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

from collections.abc import Callable
from typing import Any

import numpy as np

from loopkit_privacy import aggregate
from loopkit_privacy.audit._features import KeyedOutputs
from loopkit_privacy.random import default_rng

__all__ = ["aggregation_trials", "cohort_trials"]


def _key_label(key: dict[str, Any]) -> Any:
    if not key:
        return "total"
    values = tuple(key.values())
    return values[0] if len(values) == 1 else values


def _fresh_salt(salt: int | None) -> int:
    return int(default_rng().words(1)[0]) if salt is None else int(salt)


def aggregation_trials(
    func: Callable[..., Any], /, *, salt: int | None = None, **kwargs: Any
) -> Callable[[Any, int], KeyedOutputs]:
    """A vectorised ``fn(table, n)``: ``n`` releases of ``func(table, **kwargs)``.

    Parameters
    ----------
    func : callable
        One of ``aggregate_count``, ``aggregate_sum``, ``aggregate_average``,
        ``aggregate_top_n``.
    salt : int, optional
        Key of the bounding's keyed hash, shared by every call (drawn from
        the secure source by default).
    **kwargs
        The aggregation's arguments (without ``accountant``).

    Returns
    -------
    callable
        ``fn(table, n) -> KeyedOutputs``: for each of the ``n`` releases,
        which groups were released and their value (the ``count``, ``sum``,
        ``average`` or ``users`` column), after every post-processing step.

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
    key = _fresh_salt(salt)

    def fn(table: Any, n: int) -> KeyedOutputs:
        with aggregate._trial_releases(n, salt=key):
            rel = func(table, **kwargs)
        if not isinstance(rel, aggregate._TrialReleases):  # pragma: no cover
            raise TypeError(f"{func!r} is not an aggregation with a trials path")
        keys = tuple(_key_label(k) for k in rel.keys)
        return KeyedOutputs(keys, rel.present, rel.values)

    fn.__name__ = f"{getattr(func, '__name__', 'aggregation')}_trials"
    return fn


def cohort_trials(
    *, salt: int | None = None, **kwargs: Any
) -> Callable[[Any, int], np.ndarray]:
    """A vectorised ``fn(table, n)``: ``n`` releases of ``cohort_retention``'s counts.

    Each release is the matrix of noisy cohort sizes and active users per
    period offset (before suppression and rates, which are post-processing),
    flattened to one row of the returned ``(n, cells)`` array.

    Parameters
    ----------
    salt : int, optional
        Key of the bounding's keyed hash, shared by every call.
    **kwargs
        The arguments of :func:`loopkit_privacy.cohorts.cohort_retention`
        (without ``accountant`` and ``rng``).

    Returns
    -------
    callable

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

    key = _fresh_salt(salt)

    def fn(table: Any, n: int) -> np.ndarray:
        out = cohorts._cohort_trials(table, n, salt=key, **kwargs)
        return np.asarray(out).reshape(n, -1)

    return fn
