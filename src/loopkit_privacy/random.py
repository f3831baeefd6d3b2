"""Entropy sources for privacy noise.

Two sources exist, and only two:

* :class:`SecureRandom` (the default): an AES-256 counter-mode keystream keyed
  from the operating system's CSPRNG (``os.urandom``), read in bulk as 64-bit
  words. AES-CTR is a standard stream-cipher generator (NIST SP 800-90A's
  CTR_DRBG is built the same way); with AES-NI it delivers about ten times the
  throughput of ``os.urandom`` on the machines we measured. It is thread-safe
  (one lock around the keystream) and fork-safe (a forked child re-keys from
  the OS before its first word, so it never repeats its parent's stream). It
  also re-keys every 4 GiB of output.
* :class:`InsecureSeededRandom`: a reproducible generator for tests, demos and
  documentation. It must be asked for by name; creating one emits an
  :class:`~loopkit_privacy.errors.InsecureRandomnessWarning`, every result and
  receipt it touches is marked ``insecure=True``, and it can be forbidden for
  a whole process by setting the environment variable
  ``LOOPKIT_PRIVACY_FORBID_INSECURE=1`` (then creating one raises
  :class:`~loopkit_privacy.errors.InsecureRandomnessError`).

Nothing else is accepted where a release asks for ``rng=``: an integer seed or
a ``numpy.random.Generator`` is refused (see :func:`resolve_rng`).

Examples
--------
>>> import loopkit_privacy as lp
>>> words = lp.random.SecureRandom().words(4)
>>> words.dtype, words.shape
(dtype('uint64'), (4,))
"""

from __future__ import annotations

import numbers
import os
import threading
import warnings
import weakref
from typing import Any, Protocol, runtime_checkable

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from loopkit_privacy._typing import WordArray
from loopkit_privacy.errors import (
    InsecureRandomnessError,
    InsecureRandomnessWarning,
    InvalidParameterError,
    InvalidRandomSourceError,
)

__all__ = [
    "FORBID_INSECURE_ENV",
    "InsecureSeededRandom",
    "RandomSource",
    "SecureRandom",
    "default_rng",
    "insecure",
    "resolve_rng",
]

#: Environment variable that, when set to ``1``, forbids insecure randomness.
FORBID_INSECURE_ENV = "LOOPKIT_PRIVACY_FORBID_INSECURE"

_CHUNK_BYTES = 1 << 22  # keystream is produced 4 MiB at a time from one zero buffer
_REKEY_BYTES = 1 << 32


@runtime_checkable
class RandomSource(Protocol):
    """What the samplers need from an entropy source.

    Any object with an ``insecure`` flag and a ``words(n)`` method returning
    ``n`` uniform uint64 words qualifies; :class:`SecureRandom` is the one
    to use for releases.

    Examples
    --------
    >>> src: RandomSource = SecureRandom()
    >>> src.insecure, src.words(2).dtype
    (False, dtype('uint64'))
    """

    @property
    def insecure(self) -> bool:
        """Whether the source is unfit for privacy noise.

        Releases drawn from an insecure source are marked ``insecure=True``.

        Examples
        --------
        >>> seeded = InsecureSeededRandom(0)
        >>> SecureRandom().insecure, seeded.insecure
        (False, True)
        """
        ...

    def words(self, n: int) -> WordArray:
        """Return ``n`` fresh uniformly random 64-bit words.

        Parameters
        ----------
        n : int
            Number of words, >= 0.

        Returns
        -------
        numpy.ndarray of uint64, shape (n,)

        Examples
        --------
        Any object with these two members is a source (here a useless one):

        >>> import numpy as np
        >>> class Zeros:
        ...     insecure = True
        ...     def words(self, n):
        ...         return np.zeros(n, dtype=np.uint64)
        >>> isinstance(Zeros(), RandomSource), Zeros().words(2)
        (True, array([0, 0], dtype=uint64))
        """
        ...


_live_secure: weakref.WeakSet[SecureRandom] = weakref.WeakSet()


class SecureRandom:
    """Cryptographically secure random words (AES-256-CTR keyed from the OS).

    Examples
    --------
    >>> rng = SecureRandom()
    >>> rng.insecure
    False
    >>> rng.words(3).shape
    (3,)
    """

    insecure = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._zeros = np.zeros(_CHUNK_BYTES, dtype=np.uint8)
        self._rekey()
        _live_secure.add(self)

    def _rekey(self) -> None:
        key = os.urandom(32)
        counter = os.urandom(16)
        self._encryptor = Cipher(algorithms.AES(key), modes.CTR(counter)).encryptor()
        self._pid = os.getpid()
        self._since_key = 0

    def _after_fork_in_child(self) -> None:
        # The parent's lock may have been held by another thread at fork time.
        self._lock = threading.Lock()
        self._rekey()

    def words(self, n: int) -> WordArray:
        """Return ``n`` fresh uniformly random ``uint64`` words.

        Parameters
        ----------
        n : int
            Number of words, >= 0.

        Returns
        -------
        numpy.ndarray of uint64, shape (n,)

        Raises
        ------
        InvalidParameterError
            For ``n`` < 0.

        Examples
        --------
        >>> rng = SecureRandom()
        >>> w = rng.words(4)
        >>> w.dtype, w.shape
        (dtype('uint64'), (4,))
        >>> bool((rng.words(4) == w).all())  # fresh words on every call
        False
        """
        n = _word_count(n)
        nbytes = 8 * n
        # CTR mode writes exactly len(input) bytes, but update_into asks for a
        # block of slack at the end of the output buffer.
        out = np.empty(nbytes + 16, dtype=np.uint8)
        with self._lock:
            if os.getpid() != self._pid or self._since_key + nbytes > _REKEY_BYTES:
                self._rekey()
            pos = 0
            while pos < nbytes:
                step = min(_CHUNK_BYTES, nbytes - pos)
                self._encryptor.update_into(
                    memoryview(self._zeros.data)[:step],
                    memoryview(out.data)[pos : pos + step + 16],
                )
                pos += step
            self._since_key += nbytes
        return out[:nbytes].view(np.uint64)

    def __repr__(self) -> str:
        return "SecureRandom()"


class InsecureSeededRandom:
    """A reproducible, **insecure** source of random words, for tests and demos.

    Parameters
    ----------
    seed : int
        Any non-negative integer.

    Warns
    -----
    InsecureRandomnessWarning
        Always, on construction.

    Raises
    ------
    InsecureRandomnessError
        If ``LOOPKIT_PRIVACY_FORBID_INSECURE=1`` is set in the environment.

    Examples
    --------
    >>> a = InsecureSeededRandom(7).words(2)
    >>> b = InsecureSeededRandom(7).words(2)
    >>> bool((a == b).all())
    True
    """

    insecure = True

    def __init__(self, seed: int) -> None:
        if os.environ.get(FORBID_INSECURE_ENV, "") not in ("", "0"):
            raise InsecureRandomnessError(
                f"insecure seeded randomness is forbidden in this process "
                f"({FORBID_INSECURE_ENV} is set); use the default secure source "
                "by leaving `rng=None`"
            )
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise InvalidParameterError(
                f"`seed` must be a non-negative integer, got {seed!r}",
                parameter="seed",
                value=seed,
            )
        self.seed = int(seed)
        self._bitgen = np.random.PCG64DXSM(self.seed)
        self._lock = threading.Lock()
        warnings.warn(
            f"InsecureSeededRandom(seed={self.seed}) is reproducible and NOT "
            "cryptographically secure; results it produces are marked insecure "
            "and must not be published",
            InsecureRandomnessWarning,
            stacklevel=2,
        )

    def words(self, n: int) -> WordArray:
        """Return ``n`` reproducible ``uint64`` words.

        The stream depends only on the seed: the same seed gives the same
        words, in the same order, across calls.

        Parameters
        ----------
        n : int
            Number of words, >= 0.

        Returns
        -------
        numpy.ndarray of uint64, shape (n,)

        Examples
        --------
        >>> import numpy as np
        >>> a, b = InsecureSeededRandom(7), InsecureSeededRandom(7)
        >>> words = a.words(3)
        >>> words
        array([ 1791289110853690569, 15195811958582366061,  4353573261847909477],
              dtype=uint64)
        >>> again = np.concatenate([b.words(1), b.words(2)])  # one stream, in order
        >>> bool((again == words).all())
        True
        """
        n = _word_count(n)
        with self._lock:
            return np.asarray(self._bitgen.random_raw(n), dtype=np.uint64)

    def __repr__(self) -> str:
        return f"InsecureSeededRandom(seed={self.seed})"


def insecure(seed: int) -> InsecureSeededRandom:
    """Return an :class:`InsecureSeededRandom` (short spelling for demos).

    Examples
    --------
    >>> rng = insecure(seed=1)
    >>> rng.insecure
    True
    """
    return InsecureSeededRandom(seed)


_default: SecureRandom | None = None
_default_lock = threading.Lock()


def default_rng() -> SecureRandom:
    """Return the process-wide secure source (created on first use).

    Examples
    --------
    >>> default_rng() is default_rng()
    True
    """
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = SecureRandom()
    return _default


def resolve_rng(rng: Any) -> RandomSource:
    """Turn the ``rng=`` argument of a release into a random source.

    ``None`` gives the secure default; a :class:`SecureRandom` or
    :class:`InsecureSeededRandom` is used as is. Anything else (an integer
    seed, a ``numpy.random.Generator``, ``random.Random``) is refused, so
    insecure randomness is never used unless it was asked for by name.

    Raises
    ------
    InvalidRandomSourceError
        For any other object (an :class:`InsecureRandomnessError` and an
        :class:`InvalidParameterError` naming ``rng``).

    Examples
    --------
    >>> resolve_rng(None)
    SecureRandom()
    >>> resolve_rng(42)
    Traceback (most recent call last):
    ...
    loopkit_privacy.errors.InvalidRandomSourceError: `rng` must be None (secure default), lp.random.SecureRandom() or lp.random.InsecureSeededRandom(seed), got 42 of type int
    """
    if rng is None:
        return default_rng()
    if isinstance(rng, SecureRandom | InsecureSeededRandom):
        return rng
    raise InvalidRandomSourceError(
        "`rng` must be None (secure default), lp.random.SecureRandom() or "
        f"lp.random.InsecureSeededRandom(seed), got {rng!r} of type "
        f"{type(rng).__name__}",
        parameter="rng",
        value=None,
    )


def _word_count(n: Any) -> int:
    """``n`` as a number of words: an integer >= 0 (bool refused)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise InvalidParameterError(
            f"`n` must be an integer >= 0, got {n!r}", parameter="n", value=n
        )
    return int(n)


def _reinit_after_fork() -> None:
    global _default_lock
    _default_lock = threading.Lock()
    for source in list(_live_secure):
        source._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)
