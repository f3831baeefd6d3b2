"""Chi-square goodness of fit over binned integer support."""

from __future__ import annotations

import numpy as np
from scipy import stats


def integer_bins(cdf: np.ndarray, support: np.ndarray, n_bins: int) -> np.ndarray:
    """Right edges (inclusive integers) of about ``n_bins`` bins of near-equal probability.

    ``cdf[i]`` is P(Y <= support[i]). Bins are unions of consecutive integers,
    so a distribution on few integers gets one bin per integer.
    """
    targets = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    idx = np.searchsorted(cdf, targets, side="left")
    idx = np.unique(np.clip(idx, 0, support.size - 2))
    return support[idx]


def chisquare_pvalue(
    sample: np.ndarray,
    support: np.ndarray,
    pmf: np.ndarray,
    n_bins: int = 400,
    min_expected: float = 5.0,
) -> tuple[float, int]:
    """p-value of a chi-square test of ``sample`` against ``pmf`` on ``support``.

    The first and last bins also take all mass outside ``support``. Bins with
    an expected count below ``min_expected`` are merged into a neighbour.
    """
    n = sample.size
    pmf = pmf / pmf.sum()
    cdf = np.cumsum(pmf)
    edges = integer_bins(cdf, support, n_bins)  # bin j = (edges[j-1], edges[j]]
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
        merged_p[-1] += acc_p
        merged_c[-1] += acc_c
    p_arr = np.asarray(merged_p)
    c_arr = np.asarray(merged_c)
    expected = p_arr * n
    statistic = float(np.sum((c_arr - expected) ** 2 / expected))
    dof = p_arr.size - 1
    return float(stats.chi2.sf(statistic, dof)), dof
