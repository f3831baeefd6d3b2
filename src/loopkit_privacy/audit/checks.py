"""Deterministic and distributional checks: released keys and noise samplers.

* :func:`check_keys`: a released table contains only keys that are public
  or were selected (no key leaks from the data without partition selection).
* :func:`check_sampler`: a sample of discrete Laplace or discrete Gaussian
  noise against the exact pmf (chi-square goodness of fit), with
  :func:`chisquare_pvalue` and the exact pmfs :func:`discrete_laplace_pmf`
  and :func:`discrete_gaussian_pmf` for custom checks. The library's own
  sampler tests use the same functions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from loopkit_privacy import tables
from loopkit_privacy._typing import AnyArray
from loopkit_privacy._validate import check_positive
from loopkit_privacy.audit._args import (
    check_choice,
    check_int_at_least,
    check_integer_array,
    check_names,
    check_nonstring_iterable,
    check_probability,
)
from loopkit_privacy.errors import ColumnTypeError, InvalidParameterError, PrivacyError

__all__ = [
    "KeyLeakError",
    "SamplerCheck",
    "check_keys",
    "check_sampler",
    "chisquare_pvalue",
    "discrete_gaussian_pmf",
    "discrete_laplace_pmf",
]


class KeyLeakError(PrivacyError, AssertionError):
    """A released table holds keys that are neither public nor selected.

    Attributes
    ----------
    keys : list
        The keys that should not be there.
    """

    def __init__(self, message: str, *, keys: list[Any]) -> None:
        super().__init__(message)
        self.keys = keys


def check_keys(result: Any, *, allowed: Iterable[Any], by: Any = None) -> None:
    """Raise unless every key of ``result`` is in ``allowed``.

    Parameters
    ----------
    result : pyarrow.Table, polars.DataFrame or pandas.DataFrame
        A released table.
    allowed : iterable
        The public keys, or the keys a partition selection may release
        (scalars for one key column, tuples for several).
    by : str or list of str, optional
        The key columns; by default every column that is not floating
        point, not a value column of an aggregation (``count``, ``sum``,
        ``average``, ``users``, ``rank``, or any ``X`` with an ``X_ci_low``)
        and not a ``*_ci_*`` interval.

    Raises
    ------
    KeyLeakError
        An ``AssertionError`` listing the unexpected keys.
    InvalidParameterError
        ``result`` is not a table, ``allowed`` is not an iterable of keys or
        ``by`` is not a column name or a list of them.
    ColumnNotFoundError
        A column of ``by`` is not in ``result``.

    Examples
    --------
    >>> import pyarrow as pa, loopkit_privacy as lp
    >>> t = pa.table({"user_id": [1, 2], "page": ["a", "secret"]})
    >>> out = lp.aggregate_count(t, by="page", privacy_unit="user_id", epsilon=1.0,
    ...                          public_groups=["a", "b"])
    >>> check_keys(out, allowed=["a", "b"])
    >>> check_keys(t, allowed=["a"], by="page")
    Traceback (most recent call last):
    ...
    loopkit_privacy.audit.checks.KeyLeakError: released keys not allowed: ['secret']
    """
    import pyarrow as pa

    try:
        tables.family_of(result, "result")
    except ColumnTypeError as err:
        raise InvalidParameterError(str(err), parameter="result", value=None) from None
    allowed_set = _allowed_keys(allowed)
    if by is None:
        data, _ = tables.as_arrow(result, tables.columns_of(result))
        names = [
            f.name
            for f in data.schema
            if f.name != "rank"
            and "_ci_" not in f.name
            and not pa.types.is_floating(f.type)
            and f.name not in _value_columns(data.column_names)
        ]
    else:
        names = _key_names(by)
        data, _ = tables.as_arrow(result, names)
    cols = [data.column(n).to_pylist() for n in names]
    found = [c[0] if len(c) == 1 else tuple(c) for c in zip(*cols, strict=True)]
    bad = [k for k in found if k not in allowed_set]
    if bad:
        raise KeyLeakError(f"released keys not allowed: {bad!r}", keys=bad)


def _allowed_keys(allowed: Any) -> set[Any]:
    keys = check_nonstring_iterable(allowed, "allowed", example='["a", "b"]')
    out = set()
    for k in keys:
        key = tuple(k) if isinstance(k, list) else k
        try:
            hash(key)
        except TypeError:
            raise InvalidParameterError(
                "`allowed` must hold keys: scalars for one key column, tuples for "
                f"several; got an element of type {type(k).__name__}; "
                'pass e.g. allowed=["a", "b"] or allowed=[("a", "de")]',
                parameter="allowed",
                value=None,
            ) from None
        out.add(key)
    return out


def _key_names(by: Any) -> list[str]:
    return check_names(by, "by", single=True, example='"page"')


# Value columns of the aggregations' results (never keys).
_VALUE_NAMES = frozenset({"count", "sum", "average", "users", "rank"})


def _value_columns(names: list[str]) -> set[str]:
    return {n for n in names if f"{n}_ci_low" in names or n in _VALUE_NAMES}


# ---------------------------------------------------------------------------
# Exact pmfs and the chi-square test
# ---------------------------------------------------------------------------


def discrete_laplace_pmf(y: Any, scale: float) -> AnyArray:
    """P(Y = y) ∝ exp(-|y| / scale) on the integers, normalised exactly.

    Parameters
    ----------
    y : int or array_like of int
        Integers (integral floats are accepted).
    scale : float
        Finite and > 0.

    Examples
    --------
    >>> import numpy as np
    >>> float(discrete_laplace_pmf(np.arange(-200, 201), 2.0).sum())  # doctest: +ELLIPSIS
    1.0...
    """
    b = check_positive(scale, "scale")
    yy = np.abs(check_integer_array(y, "y", example="[0, 1, 2]").astype(np.float64))
    q = math.exp(-1.0 / b)
    out: AnyArray = (1.0 - q) / (1.0 + q) * np.exp(-yy / b)
    return out


def discrete_gaussian_pmf(y: Any, sigma: float) -> AnyArray:
    """P(Y = y) ∝ exp(-y² / (2σ²)) on the integers, normalised numerically.

    The normaliser sums the terms within 40σ + 40 of zero (the rest is below
    exp(-800)).

    Parameters
    ----------
    y : int or array_like of int
        Integers (integral floats are accepted).
    sigma : float
        Finite and > 0.

    Examples
    --------
    >>> round(float(discrete_gaussian_pmf(0, 1.0)), 6)
    0.398942
    """
    s = check_positive(sigma, "sigma")
    yy = check_integer_array(y, "y", example="[0, 1, 2]").astype(np.float64)
    reach = int(40 * s) + 40
    k = np.arange(-reach, reach + 1, dtype=np.float64)
    norm = float(np.exp(-(k * k) / (2 * s * s)).sum())
    out: AnyArray = np.exp(-(yy * yy) / (2 * s * s)) / norm
    return out


def _integer_bins(cdf: AnyArray, support: AnyArray, n_bins: int) -> AnyArray:
    """Right edges (inclusive integers) of about ``n_bins`` near-equal-probability bins."""
    targets = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    idx = np.searchsorted(cdf, targets, side="left")
    idx = np.unique(np.clip(idx, 0, support.size - 2))
    return support[idx]


def chisquare_pvalue(
    sample: Any,
    support: Any,
    pmf: Any,
    n_bins: int = 400,
    min_expected: float = 5.0,
) -> tuple[float, int]:
    """p-value and degrees of freedom of a chi-square test of ``sample`` against ``pmf``.

    Bins are unions of consecutive integers of near-equal probability (about
    ``n_bins``); the first and last also take all mass outside ``support``,
    and bins with an expected count below ``min_expected`` are merged into a
    neighbour.

    Parameters
    ----------
    sample : array_like of int
        Not empty.
    support : array_like of int
        Consecutive integers, increasing.
    pmf : array_like of float
        Probabilities on ``support``, one per point (renormalised).
    n_bins : int
        About this many bins (at least 2).
    min_expected : float
        Smallest expected count of a bin (> 0).

    Returns
    -------
    (float, int)

    Examples
    --------
    >>> import numpy as np
    >>> support = np.arange(-50, 51)
    >>> pmf = discrete_laplace_pmf(support, 2.0)
    >>> p, dof = chisquare_pvalue(np.zeros(1000, dtype=int), support, pmf)
    >>> p < 1e-6
    True
    """
    sample, support, pmf = _chisquare_inputs(sample, support, pmf)
    bins = _check_bins(n_bins)
    least = check_positive(min_expected, "min_expected", example="5.0")
    return _chisquare(sample, support, pmf, bins, least)


def _sample(sample: Any) -> AnyArray:
    return check_integer_array(
        sample,
        "sample",
        example="noise.sample_discrete_laplace(2.0, 10_000)",
        nonempty=True,
    ).ravel()


def _check_bins(n_bins: Any) -> int:
    return check_int_at_least(n_bins, "n_bins", 2, example="400")


def _chisquare_inputs(
    sample: Any, support: Any, pmf: Any
) -> tuple[AnyArray, AnyArray, AnyArray]:
    x = _sample(sample)
    sup = check_integer_array(
        support, "support", example="np.arange(-50, 51)", nonempty=True
    )
    if sup.ndim != 1 or (sup.size > 1 and not (np.diff(sup) == 1).all()):
        raise InvalidParameterError(
            "`support` must be consecutive increasing integers (one dimension); "
            "pass e.g. support=np.arange(-50, 51)",
            parameter="support",
            value=None,
        )
    try:
        p = np.asarray(pmf, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"`pmf` must be an array of probabilities, got an object of type "
            f"{type(pmf).__name__}; pass e.g. pmf=discrete_laplace_pmf(support, 2.0)",
            parameter="pmf",
            value=None,
        ) from None
    if p.shape != sup.shape:
        raise InvalidParameterError(
            f"`pmf` must have one probability per point of `support`: shape "
            f"{sup.shape}, got {p.shape}; pass e.g. pmf=discrete_laplace_pmf(support, 2.0)",
            parameter="pmf",
            value=None,
        )
    if not np.isfinite(p).all() or (p < 0).any() or not p.sum() > 0:
        raise InvalidParameterError(
            "`pmf` must hold finite probabilities >= 0 with a positive sum; "
            "pass e.g. pmf=discrete_laplace_pmf(support, 2.0)",
            parameter="pmf",
            value=None,
        )
    return x, sup, p


def _chisquare(
    sample: AnyArray,
    support: AnyArray,
    pmf: AnyArray,
    n_bins: int,
    min_expected: float,
) -> tuple[float, int]:
    n = sample.size
    pmf = pmf / pmf.sum()
    cdf = np.cumsum(pmf)
    edges = _integer_bins(cdf, support, n_bins)  # bin j = (edges[j-1], edges[j]]
    probs = np.diff(
        np.concatenate([[0.0], cdf[np.searchsorted(support, edges)], [1.0]])
    )
    counts = np.bincount(
        np.searchsorted(edges, sample, side="left"), minlength=edges.size + 1
    )
    # Merge small bins from the left, then fold a small last bin back.
    merged_p, merged_c = [], []
    acc_p = acc_c = 0.0
    for p, c in zip(probs, counts, strict=True):
        acc_p += p
        acc_c += c
        if acc_p * n >= min_expected:
            merged_p.append(acc_p)
            merged_c.append(acc_c)
            acc_p = acc_c = 0.0
    if acc_p > 0 or acc_c > 0:
        if merged_p:
            merged_p[-1] += acc_p
            merged_c[-1] += acc_c
        else:
            merged_p.append(acc_p)
            merged_c.append(acc_c)
    p_arr = np.asarray(merged_p)
    c_arr = np.asarray(merged_c)
    expected = p_arr * n
    statistic = float(np.sum((c_arr - expected) ** 2 / expected))
    dof = p_arr.size - 1
    if dof < 1:
        return 1.0, 0
    return float(stats.chi2.sf(statistic, dof)), dof


@dataclass(frozen=True)
class SamplerCheck:
    """Outcome of :func:`check_sampler`.

    Attributes
    ----------
    passed : bool
        ``p_value >= alpha``.
    p_value : float
    dof : int
        Degrees of freedom of the chi-square test.
    alpha : float
        The false-failure rate of the check.
    distribution : str
    parameter : float
        The scale (Laplace) or σ (Gaussian) tested against.

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> sample = lp.noise.sample_discrete_laplace(2.0, 20_000)
    >>> check = check_sampler(sample, distribution="laplace", scale=2.0)
    >>> check.distribution, check.dof > 0
    ('laplace', True)
    """

    passed: bool
    p_value: float
    dof: int
    alpha: float
    distribution: str
    parameter: float


def check_sampler(
    sample: Any,
    *,
    distribution: Literal["laplace", "gaussian"],
    scale: float,
    alpha: float = 1e-6,
    n_bins: int = 400,
) -> SamplerCheck:
    """Chi-square test of integer noise against the exact discrete pmf.

    Parameters
    ----------
    sample : array_like of int
        Noise draws (centred on 0); not empty.
    distribution : {"laplace", "gaussian"}
        Discrete Laplace (``scale`` = b) or discrete Gaussian (``scale`` = σ).
    scale : float
        The parameter to test against; use the sampler's *effective*
        parameter (``noise.discrete_laplace_parameters(b).scale``).
    alpha : float
        False-failure rate: a correct sampler fails with this probability
        (strictly between 0 and 1).
    n_bins : int
        About this many equal-probability bins (at least 2).

    Returns
    -------
    SamplerCheck

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(3)
    >>> x = lp.noise.sample_discrete_laplace(2.0, size=100_000, rng=rng)
    >>> check_sampler(x, distribution="laplace", scale=2.0).passed
    True
    >>> check_sampler(x, distribution="laplace", scale=2.4).passed
    False
    """
    x = _sample(sample)
    check_choice(distribution, "distribution", ("laplace", "gaussian"))
    param = check_positive(scale, "scale")
    a = check_probability(alpha, "alpha", example="1e-6")
    bins = _check_bins(n_bins)
    if distribution == "laplace":
        reach = int(60 * param) + 60  # P(|Y| > reach) < exp(-60)
        support = np.arange(-reach, reach + 1)
        pmf = discrete_laplace_pmf(support, param)
    else:
        reach = int(40 * param) + 40
        support = np.arange(-reach, reach + 1)
        pmf = discrete_gaussian_pmf(support, param)
    p, dof = _chisquare(x, support, pmf, bins, 5.0)
    return SamplerCheck(p >= a, p, dof, a, distribution, param)
