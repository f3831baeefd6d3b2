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
from loopkit_privacy._validate import check_level, check_positive
from loopkit_privacy.errors import InvalidParameterError, PrivacyError

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

    data, _ = tables.as_arrow(result, tables.columns_of(result))
    if by is None:
        names = [
            f.name
            for f in data.schema
            if f.name != "rank"
            and "_ci_" not in f.name
            and not pa.types.is_floating(f.type)
            and f.name not in _value_columns(data.column_names)
        ]
    else:
        names = [by] if isinstance(by, str) else list(by)
    allowed_set = {k if not isinstance(k, list) else tuple(k) for k in allowed}
    cols = [data.column(n).to_pylist() for n in names]
    found = [c[0] if len(c) == 1 else tuple(c) for c in zip(*cols, strict=True)]
    bad = [k for k in found if k not in allowed_set]
    if bad:
        raise KeyLeakError(f"released keys not allowed: {bad!r}", keys=bad)


# Value columns of the aggregations' results (never keys).
_VALUE_NAMES = frozenset({"count", "sum", "average", "users", "rank"})


def _value_columns(names: list[str]) -> set[str]:
    return {n for n in names if f"{n}_ci_low" in names or n in _VALUE_NAMES}


# ---------------------------------------------------------------------------
# Exact pmfs and the chi-square test
# ---------------------------------------------------------------------------


def discrete_laplace_pmf(y: Any, scale: float) -> np.ndarray:
    """P(Y = y) ∝ exp(-|y| / scale) on the integers, normalised exactly.

    Examples
    --------
    >>> import numpy as np
    >>> float(discrete_laplace_pmf(np.arange(-200, 201), 2.0).sum())  # doctest: +ELLIPSIS
    1.0...
    """
    b = check_positive(scale, "scale")
    q = math.exp(-1.0 / b)
    yy = np.abs(np.asarray(y, dtype=np.float64))
    return (1.0 - q) / (1.0 + q) * np.exp(-yy / b)


def discrete_gaussian_pmf(y: Any, sigma: float) -> np.ndarray:
    """P(Y = y) ∝ exp(-y² / (2σ²)) on the integers, normalised numerically.

    The normaliser sums the terms within 40σ + 40 of zero (the rest is below
    exp(-800)).

    Examples
    --------
    >>> round(float(discrete_gaussian_pmf(0, 1.0)), 6)
    0.398942
    """
    s = check_positive(sigma, "sigma")
    reach = int(40 * s) + 40
    k = np.arange(-reach, reach + 1, dtype=np.float64)
    norm = float(np.exp(-(k * k) / (2 * s * s)).sum())
    yy = np.asarray(y, dtype=np.float64)
    return np.exp(-(yy * yy) / (2 * s * s)) / norm


def _integer_bins(cdf: np.ndarray, support: np.ndarray, n_bins: int) -> np.ndarray:
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
    support : array_like of int
        Consecutive integers, increasing.
    pmf : array_like of float
        Probabilities on ``support`` (renormalised).

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
    sample = np.asarray(sample)
    support = np.asarray(support)
    pmf = np.asarray(pmf, dtype=np.float64)
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
        Noise draws (centred on 0).
    distribution : {"laplace", "gaussian"}
        Discrete Laplace (``scale`` = b) or discrete Gaussian (``scale`` = σ).
    scale : float
        The parameter to test against; use the sampler's *effective*
        parameter (``noise.discrete_laplace_parameters(b).scale``).
    alpha : float
        False-failure rate: a correct sampler fails with this probability.
    n_bins : int
        About this many equal-probability bins.

    Returns
    -------
    SamplerCheck

    Examples
    --------
    >>> import warnings, loopkit_privacy as lp
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     rng = lp.random.InsecureSeededRandom(3)
    >>> x = lp.noise.sample_discrete_laplace(2.0, size=100_000, rng=rng)
    >>> check_sampler(x, distribution="laplace", scale=2.0).passed
    True
    >>> check_sampler(x, distribution="laplace", scale=2.4).passed
    False
    """
    param = check_positive(scale, "scale")
    check_level(1.0 - alpha if 0 < alpha < 1 else alpha, "alpha")
    if distribution == "laplace":
        reach = int(60 * param) + 60  # P(|Y| > reach) < exp(-60)
        support = np.arange(-reach, reach + 1)
        pmf = discrete_laplace_pmf(support, param)
    elif distribution == "gaussian":
        reach = int(40 * param) + 40
        support = np.arange(-reach, reach + 1)
        pmf = discrete_gaussian_pmf(support, param)
    else:
        raise InvalidParameterError(
            f"`distribution` must be 'laplace' or 'gaussian', got {distribution!r}",
            parameter="distribution",
            value=distribution,
        )
    p, dof = chisquare_pvalue(sample, support, pmf, n_bins=n_bins)
    return SamplerCheck(p >= alpha, p, dof, alpha, distribution, param)
