"""Exact noise samplers: discrete Laplace and discrete Gaussian.

This is the Python face of the numba kernels in ``_kernels.sampling``. All
samplers draw their randomness from a :mod:`loopkit_privacy.random` source
(the OS-keyed AES-CTR generator by default), in one block sized from the
number of samples, and are exact: integer arithmetic decides every sample.

Scales are represented exactly as rationals and rounded **up** (more noise,
never less privacy):

* discrete Laplace of scale ``b``: ``b`` becomes ``t / 2**m`` with
  ``t = ceil(b · 2**m)`` and ``2**30 <= t < 2**31`` for scales below
  ``2**30`` (relative error below ``2**-30``; exact when ``b · 2**m`` is an
  integer, e.g. any integer scale); larger scales use ``m = 0``;
* discrete Gaussian of parameter ``σ``: ``σ²`` becomes ``t·c / 2**k`` with
  ``t = floor(σ) + 1`` and ``c = ceil(σ² 2**k / t)`` (relative error of σ²
  at most ``t / (σ² 2**k)``, about ``1/c``: below ``2**-24`` for σ >= 1,
  below ``2**-20`` for σ >= 0.05, growing as ``1/σ²`` for smaller σ).

The effective (rounded-up) parameters are returned by
:func:`discrete_laplace_parameters` / :func:`discrete_gaussian_parameters`;
mechanisms use them for their confidence intervals.

Speed. Random words are streamed in cache-sized chunks, and requests of 65,536
samples or more are split over up to four threads (the kernels release the
GIL). Each thread reads its own words from the thread-safe source.

Timing. Sampling time depends on the values drawn (an exact sampler loops a
random number of times). See ``docs/security.md`` for the timing threat model.

Examples
--------
>>> import loopkit_privacy as lp
>>> rng = lp.random.InsecureSeededRandom(3)
>>> x = sample_discrete_laplace(2.0, size=5, rng=rng)
>>> x.dtype, x.shape
(dtype('int64'), (5,))
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from loopkit_privacy._kernels import sampling as _k
from loopkit_privacy._typing import IntArray
from loopkit_privacy._validate import check_positive
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.random import RandomSource, resolve_rng

__all__ = [
    "MAX_GAUSSIAN_SIGMA",
    "MAX_LAPLACE_SCALE",
    "MIN_SCALE",
    "DiscreteGaussianParameters",
    "DiscreteLaplaceParameters",
    "discrete_gaussian_parameters",
    "discrete_laplace_parameters",
    "sample_discrete_gaussian",
    "sample_discrete_laplace",
]

#: Smallest scale / sigma accepted by the samplers.
MIN_SCALE = 2.0**-20
#: Largest discrete Laplace scale (keeps t·v far below 2**62 in the kernel).
MAX_LAPLACE_SCALE = 2.0**40
#: Largest discrete Gaussian sigma. Up to it, |y|·2**k - c stays below 2**31
#: for all but a fraction exp(-39) of proposals, so the acceptance test
#: almost never needs its slow overflow branch.
MAX_GAUSSIAN_SIGMA = 2.0**25

# Words are streamed in chunks of 512 KiB (kept in cache, no page faults on
# large requests); requests of at least _PARALLEL_MIN samples are split over
# THREADS threads.
_CHUNK_WORDS = 1 << 16
_PARALLEL_MIN = 1 << 16
THREADS = max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True, slots=True)
class DiscreteLaplaceParameters:
    """Exact rational scale ``t / 2**m`` of a discrete Laplace distribution.

    Examples
    --------
    >>> p = DiscreteLaplaceParameters(t=3, m=1)
    >>> p.scale
    1.5
    """

    t: int
    m: int

    @property
    def scale(self) -> float:
        """The effective scale t / 2**m (exact as a float).

        Examples
        --------
        >>> DiscreteLaplaceParameters(t=5, m=2).scale
        1.25
        """
        return math.ldexp(self.t, -self.m)


@dataclass(frozen=True, slots=True)
class DiscreteGaussianParameters:
    """Exact rational variance ``σ² = t·c / 2**k`` of a discrete Gaussian.

    Examples
    --------
    >>> p = DiscreteGaussianParameters(t=9, c=1, k=2)
    >>> p.variance, p.sigma
    (2.25, 1.5)
    """

    t: int
    c: int
    k: int

    @property
    def variance(self) -> float:
        """σ², rounded up to a float.

        Examples
        --------
        >>> DiscreteGaussianParameters(t=1, c=1, k=1).variance
        0.5
        """
        return _div_up(self.t * self.c, 1 << self.k)

    @property
    def sigma(self) -> float:
        """σ, rounded up to a float (so that ``sigma**2 >= variance``).

        Examples
        --------
        >>> p = DiscreteGaussianParameters(t=1, c=1, k=1)
        >>> p.sigma, p.sigma**2 >= p.variance
        (0.7071067811865476, True)
        """
        s = math.sqrt(self.variance)
        return s if s * s >= self.variance else math.nextafter(s, math.inf)


def _div_up(num: int, den: int) -> float:
    """Num / den as a float rounded towards +inf."""
    from fractions import Fraction

    exact = Fraction(num, den)
    f = float(exact)
    return f if Fraction(f) >= exact else math.nextafter(f, math.inf)


def discrete_laplace_parameters(scale: float) -> DiscreteLaplaceParameters:
    """Round a discrete Laplace scale up to the exact rational the sampler uses.

    Parameters
    ----------
    scale : float
        In ``[MIN_SCALE, MAX_LAPLACE_SCALE]``.

    Returns
    -------
    DiscreteLaplaceParameters

    Examples
    --------
    >>> p = discrete_laplace_parameters(10.0)
    >>> p.scale
    10.0
    >>> discrete_laplace_parameters(1 / 3).scale >= 1 / 3
    True
    """
    b = _check_scale(scale, "scale", MAX_LAPLACE_SCALE)
    m = max(0, 30 - math.frexp(b)[1] + 1)  # b * 2**m in [2**30, 2**31)
    t = math.ceil(math.ldexp(b, m))
    return DiscreteLaplaceParameters(t=t, m=m)


def discrete_gaussian_parameters(sigma: float) -> DiscreteGaussianParameters:
    """Round a discrete Gaussian σ up to the exact rational σ² the sampler uses.

    Parameters
    ----------
    sigma : float
        In ``[MIN_SCALE, MAX_GAUSSIAN_SIGMA]``.

    Returns
    -------
    DiscreteGaussianParameters

    Examples
    --------
    >>> p = discrete_gaussian_parameters(2.0)
    >>> 4.0 <= p.variance < 4.0 * (1 + 2**-24)
    True
    """
    from fractions import Fraction

    sig = _check_scale(sigma, "sigma", MAX_GAUSSIAN_SIGMA)
    var = Fraction(sig) ** 2
    t = math.floor(sig) + 1
    # Keep |y|·2**k - c below 2**31 for |y| up to ~40σ, and the acceptance
    # denominator 2**(k+1)·t·c below 2**56 so Bernoulli(γ/K) fits one draw.
    k = max(0, min(40, 31 - math.ceil(math.log2(40.0 * sig + 1.0))))
    while True:
        c = math.ceil(var * (1 << k) / t)
        if (2 << k) * t * c < (1 << 56) or k == 0:
            break
        k -= 1
    return DiscreteGaussianParameters(t=t, c=c, k=k)


def _check_scale(value: Any, name: str, maximum: float) -> float:
    x = check_positive(value, name)
    if not (MIN_SCALE <= x <= maximum):
        raise InvalidParameterError(
            f"`{name}` must be in [{MIN_SCALE!r}, {maximum!r}] for exact sampling, "
            f"got {value!r}; for real-valued queries use a mechanism, which "
            "rescales to a grid",
            parameter=name,
            value=value,
        )
    return x


def _size(size: int | tuple[int, ...] | None) -> tuple[tuple[int, ...], int]:
    if size is None:
        return (), 1
    if isinstance(size, int | np.integer) and not isinstance(size, bool):
        shape: tuple[Any, ...] = (size,)
    elif isinstance(size, tuple | list):
        shape = tuple(size)
    else:
        shape = (None,)
    if not all(
        isinstance(d, int | np.integer) and not isinstance(d, bool | np.bool_)
        for d in shape
    ):
        raise InvalidParameterError(
            f"`size` must be an integer or a tuple of integers, got {size!r}; "
            "pass e.g. size=10",
            parameter="size",
            value=size,
        )
    if any(int(d) < 0 for d in shape):
        raise InvalidParameterError(
            f"`size` must be non-negative, got {size!r}", parameter="size", value=size
        )
    out = tuple(int(d) for d in shape)
    return out, math.prod(out)


def _fill_range(
    fill: Any,
    params: tuple[npt.NDArray[np.int64], ...],
    out: IntArray,
    rng: RandomSource,
) -> int:
    """Fill ``out`` (a view) from streamed word chunks; return the words used."""
    st = np.zeros(4, dtype=np.int64)
    words = rng.words(_CHUNK_WORDS)
    used = 0
    i = 0
    n = out.shape[0]
    while True:
        i = fill(*params, words, st, out, i)
        used += int(st[0])
        if i >= n:
            return used
        # Grow geometrically so a very long sample is replayed O(log W) times.
        words = replay_words(
            words, st, rng, max(_CHUNK_WORDS, words.shape[0] - int(st[0]))
        )


def replay_words(
    words: npt.NDArray[np.uint64],
    state: npt.NDArray[np.int64],
    rng: RandomSource,
    more: int,
) -> npt.NDArray[np.uint64]:
    """The unread words of a kernel's stream followed by ``more`` fresh ones.

    A kernel that runs out of words stops with ``state[0]`` words read; the
    unfinished draw restarts on the words it had not read plus fresh ones,
    so no word is discarded or used twice. ``state`` is rewound to the start.

    Examples
    --------
    >>> import numpy as np, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(0)
    >>> st = np.array([3, 1, 0, 0], dtype=np.int64)
    >>> words = np.arange(5, dtype=np.uint64)
    >>> out = replay_words(words, st, rng, 2)
    >>> out[:2].tolist(), out.shape, st.tolist()
    ([3, 4], (4,), [0, 0, 0, 0])
    """
    out = np.concatenate([words[int(state[0]) :], rng.words(more)])
    state[0] = 0
    state[1] = 0
    return out


_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    global _pool
    pid = os.getpid()
    with _pool_lock:
        if _pool is None or _pool[0] != pid:  # a forked child needs its own threads
            _pool = (pid, ThreadPoolExecutor(max_workers=THREADS))
        return _pool[1]


def draw(
    kind: str,
    params: tuple[npt.NDArray[np.int64], ...],
    n: int,
    rng: RandomSource,
) -> tuple[IntArray, int]:
    """Run a fill kernel until ``n`` samples exist; return them and the words used.

    ``params`` are int64 arrays of length 1 (shared) or ``n`` (per sample).
    Words are streamed in fixed chunks of ``_CHUNK_WORDS`` so the buffer stays
    in cache. Large requests are split into contiguous ranges sampled on
    ``THREADS`` threads (the kernels release the GIL); each range reads its
    own words from the (thread-safe) source, so every sample still uses fresh
    independent words.
    """
    if kind not in ("laplace", "gaussian"):
        raise InvalidParameterError(
            f"`kind` must be 'laplace' or 'gaussian', got {kind!r}",
            parameter="kind",
            value=kind,
        )
    fill = _k.discrete_laplace_fill if kind == "laplace" else _k.discrete_gaussian_fill
    out = np.empty(n, dtype=np.int64)
    # A seeded source stays on one thread: the order in which threads take
    # words would otherwise make its output irreproducible.
    parts = THREADS if n >= _PARALLEL_MIN and not rng.insecure else 1
    if parts == 1:
        return out, _fill_range(fill, params, out, rng)
    edges = np.linspace(0, n, parts + 1).astype(np.int64)
    futures = []
    for a, b in itertools.pairwise(edges.tolist()):
        sub = tuple(p if p.shape[0] == 1 else p[a:b] for p in params)
        futures.append(executor().submit(_fill_range, fill, sub, out[a:b], rng))
    return out, sum(f.result() for f in futures)


def _columns(
    ps: Sequence[DiscreteLaplaceParameters | DiscreteGaussianParameters],
) -> tuple[str, tuple[npt.NDArray[np.int64], ...]]:
    """The kernel's kind and its int64 parameter columns, one entry per ``ps``."""
    laplace = isinstance(ps[0], DiscreteLaplaceParameters)
    fields = ("t", "m") if laplace else ("t", "c", "k")
    kind = "laplace" if laplace else "gaussian"
    return kind, tuple(
        np.array([getattr(p, f) for p in ps], dtype=np.int64) for f in fields
    )


def draw_parameters(
    params: DiscreteLaplaceParameters | DiscreteGaussianParameters,
    n: int,
    rng: RandomSource,
) -> IntArray:
    """``n`` exact samples of the distribution ``params`` describes (int64).

    The mechanisms' entry point: ``params`` are already rounded as the
    sampler needs them (:func:`discrete_laplace_parameters`,
    :func:`discrete_gaussian_parameters`).

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(0)
    >>> draw_parameters(discrete_laplace_parameters(2.0), 3, rng).shape
    (3,)
    """
    kind, cols = _columns([params])
    return draw(kind, cols, n, rng)[0]


def _sample(
    values: Any,
    size: int | tuple[int, ...] | None,
    rng: Any,
    name: str,
    rounded: Any,
) -> Any:
    """Samples of one family with one parameter (``name``) per sample."""
    source = resolve_rng(rng)
    shape, n = _size(size)
    flat = _broadcast_param(values, shape, name)
    uniq, inv = np.unique(flat, return_inverse=True)
    kind, cols = _columns([rounded(float(x)) for x in uniq])
    if uniq.shape[0] > 1:
        cols = tuple(col[inv] for col in cols)
    out, _ = draw(kind, cols, n, source)
    return int(out[0]) if size is None else out.reshape(shape)


def _broadcast_param(
    values: Any, shape: tuple[int, ...], name: str
) -> npt.NDArray[np.float64]:
    raw = np.asarray(values)
    if raw.dtype.kind not in "iuf":
        raise InvalidParameterError(
            f"`{name}` must be a number or an array of numbers, got {values!r}; "
            f"pass e.g. {name}=1.0",
            parameter=name,
            value=values,
        )
    arr = raw.astype(np.float64)
    if arr.ndim == 0:
        return arr.reshape(1)
    try:
        return np.ascontiguousarray(np.broadcast_to(arr, shape).ravel())
    except ValueError:
        raise InvalidParameterError(
            f"`{name}` of shape {arr.shape} does not broadcast to size {shape}",
            parameter=name,
            value=None,
        ) from None


def sample_discrete_laplace(
    scale: float | npt.ArrayLike,
    size: int | tuple[int, ...] | None = None,
    *,
    rng: Any = None,
) -> Any:
    """Draw exact discrete Laplace samples: P(y) ∝ exp(-|y| / scale), y ∈ ℤ.

    Parameters
    ----------
    scale : float or array_like
        The scale (rounded up to an exact rational, see the module notes);
        an array gives one scale per sample and must broadcast to ``size``.
    size : int or tuple of int, optional
        Output shape; ``None`` returns a single Python int.
    rng : SecureRandom or InsecureSeededRandom, optional
        The entropy source; the OS-keyed secure source by default.

    Returns
    -------
    int or numpy.ndarray of int64

    Raises
    ------
    InvalidParameterError
        If a scale is not finite, not > 0, or outside the supported range.

    References
    ----------
    Canonne, Kamath & Steinke (2020), "The Discrete Gaussian for Differential
    Privacy", Algorithm 2.

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(0)
    >>> sample_discrete_laplace([1.0, 100.0], size=2, rng=rng).shape
    (2,)
    """
    return _sample(scale, size, rng, "scale", discrete_laplace_parameters)


def sample_discrete_gaussian(
    sigma: float | npt.ArrayLike,
    size: int | tuple[int, ...] | None = None,
    *,
    rng: Any = None,
) -> Any:
    """Draw exact discrete Gaussian samples: P(y) ∝ exp(-y² / (2σ²)), y ∈ ℤ.

    Parameters
    ----------
    sigma : float or array_like
        The parameter σ (σ² rounded up to an exact rational); an array gives
        one σ per sample and must broadcast to ``size``.
    size : int or tuple of int, optional
        Output shape; ``None`` returns a single Python int.
    rng : SecureRandom or InsecureSeededRandom, optional
        The entropy source; the OS-keyed secure source by default.

    Returns
    -------
    int or numpy.ndarray of int64

    Raises
    ------
    InvalidParameterError
        If a σ is not finite, not > 0, or outside the supported range.

    References
    ----------
    Canonne, Kamath & Steinke (2020), Algorithm 3.

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(0)
    >>> sample_discrete_gaussian(3.0, size=(2, 3), rng=rng).shape
    (2, 3)
    """
    return _sample(sigma, size, rng, "sigma", discrete_gaussian_parameters)
