"""Keyed pseudonyms: :class:`PseudonymKey`, :func:`make_key`, :func:`pseudonymize`.

Identifiers are replaced with HMAC-SHA256 pseudonyms under a secret key;
whoever holds the key can link a pseudonym back to a candidate identifier,
so the key is kept out of reprs, errors and pickles.

Examples
--------
>>> import pyarrow as pa
>>> out = pseudonymize(pa.table({"user_id": [7, 7, 8]}), column="user_id", key=make_key())
>>> p = out["user_id"].to_pylist()
>>> p[0] == p[1] != p[2]
True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, NoReturn

import pyarrow as pa
import pyarrow.compute as pc

from loopkit_privacy import tables
from loopkit_privacy.errors import (
    ColumnTypeError,
    InvalidParameterError,
    KeyExposureError,
    MissingKeyError,
)

__all__ = ["PseudonymKey", "make_key", "pseudonymize"]

_MIN_KEY_BYTES = 16
_KEY_ID_CONTEXT = b"loopkit_privacy/key-id/v1"
_PSEUDONYM_CONTEXT = b"loopkit_privacy/pseudonym/hmac-sha256/v1"


class PseudonymKey:
    """A secret key for keyed pseudonyms (HMAC-SHA256).

    The key never shows in ``repr``, ``str`` or error messages; only its
    :attr:`key_id`, a short fingerprint derived from it by HMAC, does. It is
    exported only on purpose, with :meth:`hex`, and loaded back with
    :meth:`from_hex`. Pickling is refused (:class:`~loopkit_privacy.errors.KeyExposureError`)
    so that a key is not written to a cache, a queue or a worker process by
    accident; pass ``key.hex()`` explicitly and rebuild the key there.
    ``copy.copy`` and ``copy.deepcopy`` return the same (immutable) object.

    Parameters
    ----------
    key : bytes, bytearray, memoryview or PseudonymKey
        At least 16 bytes of secret randomness; :func:`make_key` makes 32.

    Raises
    ------
    InvalidParameterError
        If ``key`` is not bytes (a text passphrase is refused: it can be
        guessed) or is shorter than 16 bytes.

    Notes
    -----
    Two keys are equal when their bytes are equal; the comparison takes the
    same time wherever the first difference is (``hmac.compare_digest``).

    Examples
    --------
    >>> key = PseudonymKey(bytes(range(32)))
    >>> key
    PseudonymKey(key_id='24d40f674f6ebb13')
    >>> PseudonymKey.from_hex(key.hex()) == key
    True
    >>> make_key() == key
    False
    """

    __slots__ = ("_key_id", "_secret")

    _secret: bytes
    _key_id: str

    def __init__(self, key: bytes | bytearray | memoryview | PseudonymKey) -> None:
        if isinstance(key, PseudonymKey):
            secret = key._secret
        elif isinstance(key, bytes | bytearray | memoryview):
            secret = bytes(key)
        elif isinstance(key, str):
            raise InvalidParameterError(
                "`key` must be bytes or a PseudonymKey, got a str; a text "
                "passphrase can be guessed and is not a key. Create one with "
                "make_key(); if this is a key saved with key.hex(), load it with "
                "PseudonymKey.from_hex(...)",
                parameter="key",
                value=None,
            )
        else:
            raise InvalidParameterError(
                "`key` must be bytes (at least 16) or a PseudonymKey, got "
                f"{type(key).__name__}; create one with make_key()",
                parameter="key",
                value=None,
            )
        if len(secret) < _MIN_KEY_BYTES:
            raise InvalidParameterError(
                f"`key` must be at least {_MIN_KEY_BYTES} bytes long, got "
                f"{len(secret)} bytes; create one with make_key()",
                parameter="key",
                value=None,
            )
        object.__setattr__(self, "_secret", secret)
        key_id = hmac.digest(secret, _KEY_ID_CONTEXT, "sha256")[:8].hex()
        object.__setattr__(self, "_key_id", key_id)

    @classmethod
    def from_hex(cls, text: str) -> PseudonymKey:
        """Load a key saved with :meth:`hex`.

        Parameters
        ----------
        text : str
            The hexadecimal key (surrounding white space is ignored).

        Returns
        -------
        PseudonymKey

        Raises
        ------
        InvalidParameterError
            If ``text`` is not hexadecimal or decodes to fewer than 16 bytes
            (the text is not repeated in the message).

        Examples
        --------
        >>> key = PseudonymKey.from_hex("00" * 32)
        >>> key.key_id
        '69a78fa176b7f115'
        """
        if not isinstance(text, str):
            raise InvalidParameterError(
                f"`text` must be a str of hexadecimal digits, got {type(text).__name__}",
                parameter="text",
                value=None,
            )
        try:
            secret = bytes.fromhex(text.strip())
        except ValueError:
            raise InvalidParameterError(
                "`text` is not a hexadecimal key; pass the string returned by "
                "key.hex()",
                parameter="text",
                value=None,
            ) from None
        return cls(secret)

    @property
    def key_id(self) -> str:
        """A 16-hex-digit fingerprint that tells keys apart without revealing them.

        Safe to log or store next to pseudonymised data: it is derived from
        the key with HMAC-SHA-256 and cannot be turned back into the key.

        Examples
        --------
        >>> PseudonymKey.from_hex("00" * 32).key_id
        '69a78fa176b7f115'
        >>> key = make_key()
        >>> len(key.key_id), key.key_id == PseudonymKey.from_hex(key.hex()).key_id
        (16, True)
        """
        return self._key_id

    def hex(self) -> str:
        """Return the key as hexadecimal text, to keep in a secret store.

        Returns
        -------
        str

        Examples
        --------
        >>> len(make_key().hex())
        64
        """
        return self._secret.hex()

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"PseudonymKey is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"PseudonymKey is immutable; cannot delete {name!r}")

    def __repr__(self) -> str:
        return f"PseudonymKey(key_id={self._key_id!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PseudonymKey):
            return NotImplemented
        return hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self._key_id)

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise KeyExposureError(
            "a PseudonymKey is not pickled, so that it cannot leak into a cache, "
            "a queue or a log by accident; send key.hex() through a secret "
            "channel and rebuild it with PseudonymKey.from_hex(...)"
        )

    def __getstate__(self) -> NoReturn:
        self.__reduce_ex__(0)

    def __copy__(self) -> PseudonymKey:
        return self

    def __deepcopy__(self, memo: Any) -> PseudonymKey:
        return self


def make_key() -> PseudonymKey:
    """Create a new random 32-byte pseudonymisation key from the OS CSPRNG.

    Keep it in a secret store (``key.hex()``): whoever has the key can
    recompute the pseudonym of any candidate identifier.

    Returns
    -------
    PseudonymKey

    Examples
    --------
    >>> key = make_key()
    >>> len(key.key_id)
    16
    >>> "hex" not in repr(key) and key.hex() not in repr(key)
    True
    """
    return PseudonymKey(secrets.token_bytes(32))


def _resolve_key(key: Any) -> PseudonymKey:
    if key is None:
        raise MissingKeyError(
            "`key` is required: an unkeyed hash of an identifier (an e-mail, a "
            "user id) can be reversed by hashing a list of candidates. Create a "
            "key once with loopkit_privacy.controls.make_key(), keep key.hex() in "
            "a secret store, and pass key=PseudonymKey.from_hex(...)",
            parameter="key",
            value=None,
        )
    if isinstance(key, PseudonymKey):
        return key
    return PseudonymKey(key)


class _Hmac:
    """HMAC-SHA256 (RFC 2104) with the padded key hashed once.

    ``hmac.digest`` re-derives the padded key for every message; over many
    short messages, copying two pre-keyed SHA-256 states is faster and gives
    the same digest.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        block = 64
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


_NS_PER = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def _messages(values: pa.Array, column: str) -> list[bytes]:
    """Type-tagged byte encodings of distinct non-null ``values``.

    Each message is one tag byte, a NUL, then a canonical payload, so values
    of different types never share a message (integer 1 has tag ``i``, the
    string "1" tag ``s``). Integers of any width encode alike, floats by
    their exact hex form, times by their count of nanoseconds, so the same
    value gives the same pseudonym whatever the table library's dtype.
    """
    typ = values.type
    if pa.types.is_boolean(typ):
        return [b"b\x001" if v else b"b\x000" for v in values.to_pylist()]
    if pa.types.is_integer(typ):
        return [b"i\x00%d" % v for v in values.to_pylist()]
    if pa.types.is_floating(typ):
        floats = values.cast(pa.float64()).to_pylist()
        return [b"f\x00" + float.hex(v).encode() for v in floats]
    if pa.types.is_decimal(typ):
        return [b"d\x00" + str(v.normalize()).encode() for v in values.to_pylist()]
    kind = tables.type_kind(typ)
    if kind == "string":
        return [b"s\x00" + v.encode("utf-8") for v in values.to_pylist()]
    if kind == "binary":
        return [b"y\x00" + bytes(v) for v in values.to_pylist()]
    if pa.types.is_date(typ):
        days = values.cast(pa.date32()).cast(pa.int32()).to_pylist()
        return [b"D\x00%d" % v for v in days]
    if pa.types.is_timestamp(typ):
        # A zoned timestamp is an instant (stored in UTC); a naive one is a
        # wall-clock reading: they are different types and never collide.
        tag = b"T\x00" if typ.tz is not None else b"t\x00"
        scale = _NS_PER[typ.unit]
        return [tag + b"%d" % (v * scale) for v in values.cast(pa.int64()).to_pylist()]
    if pa.types.is_time(typ) or pa.types.is_duration(typ):
        tag = b"h\x00" if pa.types.is_time(typ) else b"u\x00"
        scale = _NS_PER[typ.unit]
        ints = values.cast(pa.int64()).to_pylist()
        return [tag + b"%d" % (v * scale) for v in ints]
    raise ColumnTypeError(
        f"column {column!r} of type {typ} cannot be pseudonymised; supported: "
        "integers, floats, decimals, booleans, strings, binary, dates, times, "
        "timestamps and durations",
        column=column,
    )


def _pseudonym_array(
    arr: pa.Array, *, key: PseudonymKey, digest_bytes: int, column: str
) -> pa.Array:
    """Hex pseudonyms of ``arr`` (nulls stay null), hashing each distinct value once."""
    arr = tables.plain(arr)
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), type=pa.string())
    _messages(arr.slice(0, 0), column)  # refuses unsupported types up front
    encoded = tables.flat(pc.dictionary_encode(arr, null_encoding="mask"))
    messages = _messages(encoded.dictionary, column)
    mac = _Hmac(hmac.digest(key._secret, _PSEUDONYM_CONTEXT, "sha256"))
    # One HMAC per distinct value, then a vectorised gather back to the rows.
    distinct = pa.array(
        [mac.digest(m)[:digest_bytes].hex() for m in messages], type=pa.string()
    )
    return distinct.take(encoded.indices)


def pseudonymize(
    table: Any,
    *,
    column: str,
    key: PseudonymKey | bytes | None,
    output: str | None = None,
    digest_bytes: int = 16,
) -> Any:
    """Replace an identifier column with keyed pseudonyms (HMAC-SHA256, hex).

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame, polars.LazyFrame or pandas.DataFrame
        The events.
    column : str
        The identifier column (user id, e-mail, device id, ...).
    key : PseudonymKey or bytes
        The secret key (:func:`make_key`); raw bytes must be at least 16 long.
        Required: ``None`` raises :class:`~loopkit_privacy.errors.MissingKeyError`.
    output : str, optional
        Where to write the pseudonyms. By default they replace ``column``;
        with another name they are added as a new column and ``column`` is
        kept (drop it yourself if it should not travel further).
    digest_bytes : int, default 16
        Length of each pseudonym in bytes (8 to 32); the hex text is twice as
        long. Two distinct values share a pseudonym with probability about
        ``n**2 / 2**(8 * digest_bytes + 1)`` over ``n`` distinct values.

    Returns
    -------
    Same family as ``table``
        The table with string pseudonyms; nulls stay null. For a pyarrow
        Table the pseudonym field's metadata records the scheme and the
        key's ``key_id`` (never the key).

    Raises
    ------
    MissingKeyError
        If ``key`` is None.
    InvalidParameterError
        If ``key`` is not a valid key, ``digest_bytes`` is out of range, or
        ``output`` names another existing column.
    ColumnNotFoundError, ColumnTypeError
        If ``column`` is missing or of a type that cannot be pseudonymised.

    Notes
    -----
    Privacy. Pseudonymised data is still personal data: the key holder can
    link a pseudonym back to an identifier by hashing candidates, and rows
    with the same pseudonym remain linkable to each other. This is not a
    differential-privacy guarantee and costs no privacy budget.

    Construction: ``k = HMAC-SHA256(key, "loopkit_privacy/pseudonym/hmac-sha256/v1")``
    and the pseudonym of a value is ``HMAC-SHA256(k, tag || 0x00 || payload)``
    truncated to ``digest_bytes``, where ``tag`` names the value's type
    (``i`` integer, ``s`` string, ``f`` float, ...). The same value gives the
    same pseudonym under one key whatever the table library; integer ``1``
    and string ``"1"`` differ. Each distinct value is hashed once.

    Examples
    --------
    >>> import pyarrow as pa
    >>> key = make_key()
    >>> events = pa.table({"email": ["a@x.org", "b@x.org", "a@x.org", None]})
    >>> out = pseudonymize(events, column="email", key=key)
    >>> p = out["email"].to_pylist()
    >>> p[0] == p[2], p[0] != p[1], len(p[0]), p[3]
    (True, True, 32, None)
    >>> pseudonymize(events, column="email", key=None)
    Traceback (most recent call last):
    ...
    loopkit_privacy.errors.MissingKeyError: `key` is required: ...
    """
    resolved = _resolve_key(key)
    if (
        isinstance(digest_bytes, bool)
        or not isinstance(digest_bytes, int)
        or not 8 <= digest_bytes <= 32
    ):
        raise InvalidParameterError(
            f"`digest_bytes` must be an integer from 8 to 32, got {digest_bytes!r}; "
            "pass e.g. digest_bytes=16",
            parameter="digest_bytes",
            value=digest_bytes,
        )
    if not isinstance(column, str):
        raise InvalidParameterError(
            f"`column` must be a column name, got {column!r}",
            parameter="column",
            value=column,
        )
    target = column if output is None else output
    if not isinstance(target, str):
        raise InvalidParameterError(
            f"`output` must be a column name or None, got {output!r}",
            parameter="output",
            value=output,
        )
    frame, family = tables.eager(table, [column])
    data = tables.read_columns(frame, [column], nan_is_null=True)
    if target != column and target in tables.columns_of(frame):
        raise InvalidParameterError(
            f"`output` {target!r} is already a column; choose a new name or "
            "output=None to replace the identifier column",
            parameter="output",
            value=output,
        )
    pseudonyms = _pseudonym_array(
        tables.flat(data.column(column)),
        key=resolved,
        digest_bytes=digest_bytes,
        column=column,
    )
    # The field metadata (pyarrow only) says how the column was made, and
    # under which key, by its fingerprint only.
    metadata = {
        b"loopkit_privacy.pseudonym": b"hmac-sha256/v1",
        b"loopkit_privacy.key_id": resolved.key_id.encode(),
    }
    return tables.set_column(frame, family, target, pseudonyms, metadata=metadata)
