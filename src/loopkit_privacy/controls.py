"""Privacy controls around the data: pseudonyms, consent, retention, erasure, export.

These functions transform event tables *before* (or instead of) a release.
None of them is a differential-privacy mechanism and none spends privacy
budget; see ``docs/controls.md`` for what each one does and does not protect.

* :func:`pseudonymize` replaces an identifier column with keyed HMAC-SHA256
  pseudonyms (:class:`PseudonymKey`, :func:`make_key`).
* :func:`apply_consent` keeps only the rows of users who consented to a
  purpose (:data:`PURPOSES`, :class:`PrivacySettings`); :func:`withdraw_consent`,
  :func:`update_consent` and :func:`consent_status` maintain and read a
  consent table.
* :func:`apply_retention` drops rows older than a retention period
  (``"1-year"``, ``"6-months"``, ``"90-days"``, a ``timedelta``).
* :func:`erase_users` removes every row of some users;
  :func:`export_user_data` returns every row of one user as JSON, CSV or
  Parquet.

Every function takes a pyarrow Table, a polars DataFrame/LazyFrame or a pandas
DataFrame and returns the same family (a pandas index is kept by the row
filters; a polars LazyFrame is collected and returned as a LazyFrame).

Examples
--------
>>> import pyarrow as pa
>>> from loopkit_privacy import controls
>>> events = pa.table({"user_id": [1, 2, 2, 3], "page": ["a", "b", "c", "a"]})
>>> consent = pa.table({"user_id": [2, 3], "enhancedInsights": [True, False]})
>>> kept = controls.apply_consent(events, "enhancedInsights",
...                               privacy_unit="user_id", consent=consent)
>>> kept["user_id"].to_pylist()
[2, 2]
>>> controls.erase_users(events, [2], privacy_unit="user_id")["user_id"].to_pylist()
[1, 3]
"""

from __future__ import annotations

import calendar
import dataclasses
import difflib
import gzip
import hashlib
import hmac
import io
import json
import math
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopkit_privacy import tables
from loopkit_privacy.errors import (
    ColumnNotFoundError,
    ColumnTypeError,
    DuplicateUnitError,
    InvalidParameterError,
    KeyExposureError,
    MissingKeyError,
    PrivacyError,
    SchemaError,
    UnknownPurposeError,
)

__all__ = [
    "DEFAULT_PRIVACY_SETTINGS",
    "PURPOSES",
    "REQUIRED_PURPOSES",
    "PrivacySettings",
    "PseudonymKey",
    "apply_consent",
    "apply_retention",
    "consent_columns",
    "consent_filter_arrow",
    "consent_status",
    "erase_users",
    "export_user_data",
    "make_key",
    "pseudonymize",
    "retention_cutoff",
    "update_consent",
    "withdraw_consent",
]

# ---------------------------------------------------------------------------
# Table plumbing shared by the controls
# ---------------------------------------------------------------------------


def _materialise(table: Any) -> tuple[Any, tables.Family, tables.Family]:
    """Collect a LazyFrame; return (eager table, eager family, caller's family)."""
    family = tables._family_of(table)
    if family == "polars_lazy":
        return table.collect(), "polars", family
    return table, family, family


def _restore(result: Any, family: tables.Family) -> Any:
    return result.lazy() if family == "polars_lazy" else result


def _filter_rows(table: Any, family: tables.Family, mask: np.ndarray) -> Any:
    """Keep the rows where ``mask`` is True, in the table's own family."""
    if family == "arrow":
        return table.filter(pa.array(mask, type=pa.bool_()))
    if family == "polars":
        import polars as pl

        return table.filter(pl.Series(mask, dtype=pl.Boolean))
    return table[mask]  # pandas: the index is kept


def _with_column(table: Any, family: tables.Family, name: str, values: pa.Array) -> Any:
    """``table`` with column ``name`` set to ``values`` (replaced in place or added)."""
    if family == "arrow":
        names = table.column_names
        if name in names:
            return table.set_column(names.index(name), name, values)
        return table.append_column(name, values)
    if family == "polars":
        import polars as pl

        return table.with_columns(pl.Series(name, values))
    return table.assign(**{name: values.to_numpy(zero_copy_only=False)})


def _to_arrow(table: Any, family: tables.Family, columns: list[str]) -> pa.Table:
    """Some columns of an eager table as Arrow; pandas NaN and NaT become null.

    Unlike value columns of a release (where NaN is refused), the columns
    read here hold ids, flags and times, for which pandas spells "missing"
    as NaN.
    """
    if family != "pandas":
        return tables.as_arrow(table, columns)[0]
    tables.as_arrow(table.iloc[:0], columns)  # raises ColumnNotFoundError
    arrays = {}
    for name in dict.fromkeys(columns):
        try:
            arrays[name] = pa.array(table[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            # Arrow's message may quote a value of the column: not echoed.
            raise ColumnTypeError(
                f"column {name!r} (pandas dtype {table[name].dtype}) cannot be read "
                f"as one Arrow type ({type(err).__name__}); give it a single dtype, "
                "e.g. df[col].astype('string') or .astype('Int64')",
                column=name,
            ) from None
    return pa.table(arrays)


def _whole(table: Any, family: tables.Family) -> pa.Table:
    """Every column of an eager table as Arrow."""
    return _to_arrow(table, family, tables._columns_of(table, family))


def _flat(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def _plain(arr: pa.Array) -> pa.Array:
    """Decode dictionaries and turn view types into their large equivalents."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.large_string())
    elif pa.types.is_binary_view(arr.type):
        arr = arr.cast(pa.large_binary())
    return arr


def _kind(typ: pa.DataType) -> str:
    """A coarse type family used to decide whether two key columns can match."""
    if pa.types.is_dictionary(typ):
        return _kind(typ.value_type)
    checks = [
        (pa.types.is_null, "null"),
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_integer, "integer"),
        (pa.types.is_floating, "float"),
        (pa.types.is_decimal, "decimal"),
        (
            lambda t: (
                pa.types.is_string(t)
                or pa.types.is_large_string(t)
                or pa.types.is_string_view(t)
            ),
            "string",
        ),
        (
            lambda t: (
                pa.types.is_binary(t)
                or pa.types.is_large_binary(t)
                or pa.types.is_binary_view(t)
                or pa.types.is_fixed_size_binary(t)
            ),
            "binary",
        ),
        (pa.types.is_timestamp, "timestamp"),
        (pa.types.is_date, "date"),
    ]
    for check, name in checks:
        if check(typ):
            return name
    return str(typ)


def _check_privacy_unit(privacy_unit: Any, *, allow_none: bool) -> None:
    if privacy_unit is None and allow_none:
        return
    if not isinstance(privacy_unit, str):
        extra = " or None (event-level)" if allow_none else ""
        raise InvalidParameterError(
            f"`privacy_unit` must be a column name{extra}, got {privacy_unit!r}; "
            "pass e.g. privacy_unit='user_id'",
            parameter="privacy_unit",
            value=privacy_unit,
        )


def _as_id_array(values: Any, parameter: str) -> pa.Array:
    """User ids given as a scalar, a collection or an array, as one Arrow array."""
    if isinstance(values, Mapping):
        raise InvalidParameterError(
            f"`{parameter}` must be one id or a collection of ids (a list, a set, "
            f"an array), got a {type(values).__name__}; pass e.g. "
            f"{parameter}=[1, 2] or {parameter}=list(mapping)",
            parameter=parameter,
            value=None,
        )
    try:
        if isinstance(values, pa.ChunkedArray | pa.Array):
            return _flat(values)
        module = type(values).__module__.split(".")[0]
        if module == "polars" and type(values).__name__ == "Series":
            return _flat(values.to_arrow())
        if module == "pandas":  # Series, Index or an extension array
            return pa.array(values, from_pandas=True)
        if isinstance(values, np.ndarray):
            return pa.array(values.ravel(), from_pandas=True)
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            return pa.array([values])
        return pa.array(list(values))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as err:
        # The ids themselves are personal data: they are not echoed.
        raise InvalidParameterError(
            f"`{parameter}` must hold ids of one type (all integers or all "
            f"strings, ...) matching the privacy-unit column; {type(err).__name__} "
            "while reading them",
            parameter=parameter,
            value=None,
        ) from None


def _aligned_ids(
    ids: pa.Array, target: pa.DataType, *, parameter: str, column: str
) -> pa.Array:
    """Distinct non-null ``ids`` cast to the key column's type ``target``.

    Ids that cannot occur in a column of that type (an integer out of range)
    are dropped, since they match no row.
    """
    ids = _plain(ids).drop_null()
    target = _plain(pa.array([], target)).type
    have, want = _kind(ids.type), _kind(target)
    if have == "null":  # e.g. an empty list: no type to check
        return pa.array([], target)
    numeric = {"integer", "float"}
    if have != want and not (have in numeric and want in numeric):
        raise ColumnTypeError(
            f"`{parameter}` hold {have} values but the privacy-unit column "
            f"{column!r} is {target}; convert the ids to the column's type",
            column=column,
        )
    if len(ids) == 0:
        return pa.array([], target)
    if want == "integer" and have == "float":
        whole = pc.all(pc.equal(ids, pc.floor(ids))).as_py()
        if not whole:  # a fraction or NaN: never an integer id
            raise InvalidParameterError(
                f"`{parameter}` hold numbers that are not whole, but the "
                f"privacy-unit column {column!r} is {target}; pass integer ids",
                parameter=parameter,
                value=None,
            )
    if ids.type != target:
        try:
            ids = ids.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if want not in numeric:
                raise ColumnTypeError(
                    f"`{parameter}` of type {ids.type} cannot be compared with the "
                    f"privacy-unit column {column!r} of type {target}",
                    column=column,
                ) from None
            ids = pa.array(_representable(ids.to_pylist(), target), type=target)
    return pc.unique(ids)


def _representable(values: list[Any], target: pa.DataType) -> list[Any]:
    """The numbers that a column of type ``target`` can hold exactly (others match no row)."""
    if pa.types.is_integer(target):
        info = np.iinfo(np.dtype(target.to_pandas_dtype()))
        return [
            int(v)
            for v in values
            if (isinstance(v, int) or (math.isfinite(v) and float(v).is_integer()))
            and info.min <= v <= info.max
        ]
    return [float(v) for v in values if float(v) == v]


def _unit_column(data: pa.Table, privacy_unit: str, what: str) -> pa.Array:
    if privacy_unit not in data.column_names:
        raise ColumnNotFoundError(
            f"the privacy-unit column {privacy_unit!r} is not in the {what}; "
            f"available columns: {', '.join(repr(c) for c in data.column_names)}",
            column=privacy_unit,
        )
    tables.check_key_column(data, privacy_unit, role="privacy-unit")
    return _plain(_flat(data.column(privacy_unit)))


def _matches(units: pa.Array, ids: pa.Array) -> np.ndarray:
    """Boolean mask: the unit of each row is one of ``ids`` (null units never are)."""
    if len(units) == 0:
        return np.zeros(0, dtype=bool)
    if len(ids) == 0:
        return np.zeros(len(units), dtype=bool)
    hit = pc.is_in(units, value_set=ids, skip_nulls=True)
    return np.asarray(hit.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


# ---------------------------------------------------------------------------
# Pseudonymisation
# ---------------------------------------------------------------------------

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
    if _kind(typ) == "string":
        return [b"s\x00" + v.encode("utf-8") for v in values.to_pylist()]
    if _kind(typ) == "binary":
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
    arr = _plain(arr)
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), type=pa.string())
    _messages(arr.slice(0, 0), column)  # refuses unsupported types up front
    encoded = _flat(pc.dictionary_encode(arr, null_encoding="mask"))
    messages = _messages(encoded.dictionary, column)
    mac = _Hmac(hmac.digest(key._secret, _PSEUDONYM_CONTEXT, "sha256"))
    # One HMAC per distinct value, then a vectorised gather back to the rows.
    distinct = pa.array(
        [mac.digest(m)[:digest_bytes].hex() for m in messages], type=pa.string()
    )
    return distinct.take(encoded.indices)


def pseudonymize(
    table: Any,
    column: str,
    *,
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
    >>> out = pseudonymize(events, "email", key=key)
    >>> p = out["email"].to_pylist()
    >>> p[0] == p[2], p[0] != p[1], len(p[0]), p[3]
    (True, True, 32, None)
    >>> pseudonymize(events, "email", key=None)
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
    eager, family, out_family = _materialise(table)
    data = _to_arrow(eager, family, [column])
    if target != column and target in tables._columns_of(eager, family):
        raise InvalidParameterError(
            f"`output` {target!r} is already a column; choose a new name or "
            "output=None to replace the identifier column",
            parameter="output",
            value=output,
        )
    pseudonyms = _pseudonym_array(
        _flat(data.column(column)),
        key=resolved,
        digest_bytes=digest_bytes,
        column=column,
    )
    if family == "arrow":
        names = eager.column_names
        fld = pa.field(
            target,
            pa.string(),
            metadata={
                b"loopkit_privacy.pseudonym": b"hmac-sha256/v1",
                b"loopkit_privacy.key_id": resolved.key_id.encode(),
            },
        )
        chunked = pa.chunked_array([pseudonyms], type=pa.string())
        if target in names:
            return eager.set_column(names.index(target), fld, chunked)
        return eager.append_column(fld, chunked)
    return _restore(_with_column(eager, family, target, pseudonyms), out_family)


# ---------------------------------------------------------------------------
# Retention periods (used by the settings and by apply_retention)
# ---------------------------------------------------------------------------

_PERIOD = re.compile(
    r"^\s*(\d+)\s*[- ]?\s*(day|days|week|weeks|month|months|year|years)\s*$",
    re.IGNORECASE,
)
_PERIOD_FORMS = (
    "'1-year', '2-years', '6-months', '90-days', '12-weeks' (a positive whole "
    "number and a unit: day, week, month or year) or a datetime.timedelta > 0"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _parse_period(
    period: Any, *, parameter: str = "period"
) -> timedelta | tuple[str, int]:
    """A timedelta, or ("days" | "months", n) for a calendar period."""
    if isinstance(period, timedelta):
        if period <= timedelta(0):
            _bad_setting(parameter, period, f"must be {_PERIOD_FORMS}")
        return period
    if isinstance(period, str):
        match = _PERIOD.match(period)
        if match:
            n, unit = int(match.group(1)), match.group(2).lower().rstrip("s")
            if n >= 1:
                if unit == "day":
                    return ("days", n)
                if unit == "week":
                    return ("days", 7 * n)
                return ("months", n if unit == "month" else 12 * n)
    _bad_setting(parameter, period, f"must be {_PERIOD_FORMS}")


# ---------------------------------------------------------------------------
# Consent
# ---------------------------------------------------------------------------

#: The consent purposes, in the seed's camelCase spelling (also the names of
#: the boolean consent columns).
PURPOSES: tuple[str, ...] = (
    "essentialAnalytics",
    "performanceMonitoring",
    "enhancedInsights",
    "errorTracking",
    "userResearch",
    "productResearch",
)

#: Purposes that cannot be refused (required for the service); always on.
REQUIRED_PURPOSES: frozenset[str] = frozenset({"essentialAnalytics"})

_DATA_COLLECTION = ("minimal", "standard", "full")
_USER_IDENTIFICATION = ("anonymous", "pseudonymous", "identified")
_FLAGS = (
    "cross_site_tracking",
    "third_party_sharing",
    "location_tracking",
    "device_fingerprinting",
)
_CAMEL = {
    "dataCollection": "data_collection",
    "userIdentification": "user_identification",
    "crossSiteTracking": "cross_site_tracking",
    "dataRetention": "data_retention",
    "thirdPartySharing": "third_party_sharing",
    "locationTracking": "location_tracking",
    "deviceFingerprinting": "device_fingerprinting",
    "consentDefaults": "consent_defaults",
    "customPurposes": "custom_purposes",
    "requiredPurposes": "required_purposes",
    "minCohortSize": "min_cohort_size",
    "kAnonymity": "k_anonymity",
}


def _bad_setting(name: str, value: Any, rule: str) -> NoReturn:
    raise InvalidParameterError(
        f"`{name}` {rule}, got {value!r}", parameter=name, value=value
    )


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """Conservative privacy settings: consent defaults, retention, thresholds.

    The defaults are the seed's ``defaultPrivacySettings``: minimal
    collection, anonymous users, no cross-site tracking, third-party sharing,
    location tracking or device fingerprinting, a one-year retention, and
    consent only to ``essentialAnalytics`` (which is required and always on).

    Parameters
    ----------
    data_collection : {"minimal", "standard", "full"}, default "minimal"
    user_identification : {"anonymous", "pseudonymous", "identified"}, default "anonymous"
    cross_site_tracking, third_party_sharing, location_tracking, device_fingerprinting : bool, default False
    data_retention : str or datetime.timedelta, default "1-year"
        The default period of :func:`apply_retention` (``"2-years"``,
        ``"6-months"``, ``"90-days"``, ``"12-weeks"``, a timedelta).
    consent_defaults : mapping of str to bool, optional
        Overrides of the default consent per purpose (a purpose that is not
        listed defaults to False; a required purpose is always True). After
        construction the attribute holds the full read-only mapping.
    custom_purposes : tuple of str, default ()
        Purposes beyond :data:`PURPOSES` (see also :meth:`with_purpose`).
    required_purposes : frozenset of str, default {"essentialAnalytics"}
        Purposes that cannot be refused.
    min_cohort_size : int, default 10
        Smallest cohort other modules publish.
    k_anonymity : int, default 5
        The ``k`` other modules use for k-anonymity checks.

    Raises
    ------
    InvalidParameterError
        If a value is out of its set, a flag is not a bool, a purpose is
        unknown or duplicated, a required purpose defaults to False, or a
        threshold is not an integer >= 1.

    Notes
    -----
    Privacy. The library enforces ``data_retention`` (in
    :func:`apply_retention`) and the consent defaults (in
    :func:`apply_consent`). The other flags record the declared policy for
    the caller's own checks and reports; setting them changes no behaviour
    here.

    Examples
    --------
    >>> s = PrivacySettings()
    >>> s.data_retention, s.consent_defaults["essentialAnalytics"]
    ('1-year', True)
    >>> s.consent_defaults["userResearch"]
    False
    >>> s2 = s.with_purpose("marketingEmails")
    >>> s2.purposes[-1], s2.consent_defaults["marketingEmails"]
    ('marketingEmails', False)
    """

    data_collection: Literal["minimal", "standard", "full"] = "minimal"
    user_identification: Literal["anonymous", "pseudonymous", "identified"] = (
        "anonymous"
    )
    cross_site_tracking: bool = False
    data_retention: str | timedelta = "1-year"
    third_party_sharing: bool = False
    location_tracking: bool = False
    device_fingerprinting: bool = False
    consent_defaults: Mapping[str, bool] = field(default_factory=dict, hash=False)
    custom_purposes: tuple[str, ...] = ()
    required_purposes: frozenset[str] = REQUIRED_PURPOSES
    min_cohort_size: int = 10
    k_anonymity: int = 5

    def __post_init__(self) -> None:
        if self.data_collection not in _DATA_COLLECTION:
            _bad_setting(
                "data_collection",
                self.data_collection,
                f"must be one of {_DATA_COLLECTION}",
            )
        if self.user_identification not in _USER_IDENTIFICATION:
            _bad_setting(
                "user_identification",
                self.user_identification,
                f"must be one of {_USER_IDENTIFICATION}",
            )
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                _bad_setting(name, getattr(self, name), "must be True or False")
        _parse_period(self.data_retention, parameter="data_retention")
        for name in ("min_cohort_size", "k_anonymity"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                _bad_setting(name, value, "must be an integer >= 1")
        custom = self.custom_purposes
        if isinstance(custom, str) or not isinstance(custom, Iterable):
            _bad_setting("custom_purposes", custom, "must be a tuple of purpose names")
        custom = tuple(custom)
        for p in custom:
            if not isinstance(p, str) or not p:
                _bad_setting("custom_purposes", custom, "must hold non-empty strings")
        known = PURPOSES + custom
        if len(set(known)) != len(known):
            _bad_setting(
                "custom_purposes", custom, "must not repeat a purpose or a standard one"
            )
        required = self.required_purposes
        if isinstance(required, str) or not isinstance(required, Iterable):
            _bad_setting(
                "required_purposes", required, "must be a set of purpose names"
            )
        required = frozenset(required)
        for p in sorted(required, key=str):
            _check_purpose_name(p, known, parameter="required_purposes")
        given = self.consent_defaults
        if not isinstance(given, Mapping):
            _bad_setting(
                "consent_defaults", given, "must be a mapping of purpose to bool"
            )
        full = {p: p == "essentialAnalytics" for p in known}
        for p, value in given.items():
            _check_purpose_name(p, known, parameter="consent_defaults")
            if not isinstance(value, bool):
                raise InvalidParameterError(
                    f"`consent_defaults` values must be True or False, got {value!r} "
                    f"for {p!r}; pass e.g. consent_defaults={{{p!r}: True}}",
                    parameter="consent_defaults",
                    value=value,
                )
            if p in required and not value:
                raise InvalidParameterError(
                    f"`consent_defaults` for {p!r} cannot be False: the purpose is "
                    "required (always on); leave it out or set it to True",
                    parameter="consent_defaults",
                    value=value,
                )
            full[p] = value
        for p in required:
            full[p] = True
        object.__setattr__(self, "custom_purposes", custom)
        object.__setattr__(self, "required_purposes", required)
        object.__setattr__(self, "consent_defaults", MappingProxyType(full))

    def __repr__(self) -> str:
        # Reads like the constructor call (a plain dict, a sorted frozenset).
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "consent_defaults":
                text = repr(dict(value))
            elif f.name == "required_purposes":
                inner = ", ".join(repr(p) for p in sorted(value))
                text = f"frozenset({{{inner}}})" if inner else "frozenset()"
            else:
                text = repr(value)
            parts.append(f"{f.name}={text}")
        return f"PrivacySettings({', '.join(parts)})"

    @property
    def purposes(self) -> tuple[str, ...]:
        """All known purposes: :data:`PURPOSES` then the custom ones.

        Examples
        --------
        >>> PrivacySettings().purposes[:2]
        ('essentialAnalytics', 'performanceMonitoring')
        >>> PrivacySettings(custom_purposes=("abTesting",)).purposes[-1]
        'abTesting'
        """
        return PURPOSES + self.custom_purposes

    def with_purpose(
        self, name: str, *, default: bool = False, required: bool = False
    ) -> PrivacySettings:
        """Return a copy that knows one more (custom) purpose.

        Parameters
        ----------
        name : str
            The purpose, also the name of its consent column.
        default : bool, default False
            Whether users who gave no answer count as consenting.
        required : bool, default False
            Whether the purpose cannot be refused (then it is always on).

        Returns
        -------
        PrivacySettings

        Raises
        ------
        InvalidParameterError
            If ``name`` is not a non-empty string or is already a purpose, or
            ``default`` or ``required`` is not a bool.

        Examples
        --------
        >>> PrivacySettings().with_purpose("betaFeatures", default=True).consent_defaults["betaFeatures"]
        True
        """
        if not isinstance(name, str) or not name:
            raise InvalidParameterError(
                f"`name` must be a non-empty string (the purpose, also its consent "
                f"column), got {name!r}; pass e.g. name='betaFeatures'",
                parameter="name",
                value=name,
            )
        for flag, value in (("default", default), ("required", required)):
            if not isinstance(value, bool | np.bool_):
                raise InvalidParameterError(
                    f"`{flag}` must be True or False, got {value!r}; "
                    f"pass e.g. {flag}=True",
                    parameter=flag,
                    value=value,
                )
        default, required = bool(default), bool(required)
        return dataclasses.replace(
            self,
            custom_purposes=(*self.custom_purposes, name),
            consent_defaults={**self.consent_defaults, name: default or required},
            required_purposes=self.required_purposes | ({name} if required else set()),
        )

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain Python values (snake_case keys).

        Returns
        -------
        dict

        Examples
        --------
        >>> PrivacySettings().to_dict()["data_retention"]
        '1-year'
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "consent_defaults":
                value = dict(value)
            elif f.name == "custom_purposes":
                value = list(value)
            elif f.name == "required_purposes":
                value = sorted(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any]) -> PrivacySettings:
        """Build settings from a mapping with snake_case or the seed's camelCase keys.

        Parameters
        ----------
        mapping : mapping
            E.g. ``{"dataCollection": "minimal", "dataRetention": "2-years"}``.

        Returns
        -------
        PrivacySettings

        Raises
        ------
        InvalidParameterError
            If ``mapping`` is not a mapping, a key is unknown (``parameter``
            is the key) or a value invalid.

        Examples
        --------
        >>> PrivacySettings.from_dict({"dataRetention": "2-years"}).data_retention
        '2-years'
        """
        if not isinstance(mapping, Mapping):
            raise InvalidParameterError(
                "`mapping` must be a mapping of setting names to values, got an "
                f"object of type {type(mapping).__name__}; pass e.g. "
                "mapping={'dataRetention': '2-years'}",
                parameter="mapping",
                value=None,
            )
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in mapping.items():
            name = _CAMEL.get(key, key) if isinstance(key, str) else key
            if name not in names:
                raise InvalidParameterError(
                    f"unknown privacy setting {key!r} (`{key}` is not a setting); "
                    f"known: {', '.join(sorted(names))}, or their camelCase "
                    "spelling (dataRetention, ...)",
                    parameter=str(key),
                    value=value,
                )
            kwargs[name] = value
        # Lists (as to_dict writes them) are converted by the constructor,
        # which also refuses a single string.
        return cls(**kwargs)


def _check_purpose_name(purpose: Any, known: tuple[str, ...], *, parameter: str) -> str:
    if isinstance(purpose, str) and purpose in known:
        return purpose
    if isinstance(purpose, str):
        close = difflib.get_close_matches(purpose, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problem = f"names an unknown consent purpose {purpose!r}{hint}"
    else:
        problem = (
            f"must name a consent purpose (a string), got {purpose!r} of type "
            f"{type(purpose).__name__}"
        )
    raise UnknownPurposeError(
        f"`{parameter}` {problem}; known purposes: {', '.join(known)} (add one "
        "with PrivacySettings().with_purpose(...))",
        parameter=parameter,
        value=purpose,
        known=known,
    )


#: The default settings (the seed's conservative ``defaultPrivacySettings``).
DEFAULT_PRIVACY_SETTINGS = PrivacySettings()


def _settings(settings: Any) -> PrivacySettings:
    if settings is None:
        return DEFAULT_PRIVACY_SETTINGS
    if not isinstance(settings, PrivacySettings):
        raise InvalidParameterError(
            f"`settings` must be a PrivacySettings or None, got {type(settings).__name__}",
            parameter="settings",
            value=settings,
        )
    return settings


def _consent_flags(col: pa.Array, purpose: str, where: str) -> pa.Array:
    """A consent column as booleans (an all-null column of no type is allowed)."""
    if pa.types.is_null(col.type):
        return pa.nulls(len(col), type=pa.bool_())
    if not pa.types.is_boolean(col.type):
        raise ColumnTypeError(
            f"consent column {purpose!r} in the {where} must be boolean "
            f"(True/False/null), got Arrow type {col.type}",
            column=purpose,
        )
    return col


def _consent_family(consent: Any) -> tables.Family:
    """The family of a consent table; anything else (but None) raises."""
    try:
        return tables.family_of(consent)
    except PrivacyError:
        raise InvalidParameterError(
            "`consent` must be a table (pyarrow, polars or pandas) with the "
            "privacy-unit column and one boolean column per purpose, or None, got "
            f"an object of type {type(consent).__name__}",
            parameter="consent",
            value=None,
        ) from None


def _consent_records(
    consent: Any, privacy_unit: str, purposes: list[str]
) -> tuple[pa.Table, tables.Family]:
    """A consent table as Arrow: its unit column (validated) and the given purposes."""
    fam = _consent_family(consent)
    eager = consent.collect() if fam == "polars_lazy" else consent
    fam_eager: tables.Family = "polars" if fam == "polars_lazy" else fam
    available = tables._columns_of(eager, fam_eager)
    if privacy_unit not in available:
        raise ColumnNotFoundError(
            f"the privacy-unit column {privacy_unit!r} is not in the consent table; "
            f"available columns: {', '.join(repr(c) for c in available)}",
            column=privacy_unit,
        )
    wanted = [privacy_unit] + [p for p in purposes if p in available]
    data = _to_arrow(eager, fam_eager, wanted)
    tables.check_key_column(data, privacy_unit, role="privacy-unit")
    units = _plain(_flat(data.column(privacy_unit)))
    if units.null_count:
        raise SchemaError(
            f"the consent table has records with a null {privacy_unit!r}; every "
            "consent record must name its user",
            column=privacy_unit,
        )
    n_distinct = pc.count_distinct(units).as_py()
    if n_distinct != len(units):
        counts = pc.value_counts(units).field("counts")
        dupes = int(pc.sum(pc.greater(counts, 1)).as_py() or 0)
        raise DuplicateUnitError(
            f"the consent table has several records for {dupes} value(s) of "
            f"{privacy_unit!r}; keep one record per user (e.g. the latest)",
            column=privacy_unit,
            count=dupes,
        )
    columns = {privacy_unit: units}
    for p in wanted[1:]:
        columns[p] = _consent_flags(_flat(data.column(p)), p, "consent table")
    return pa.table(columns), fam


def consent_columns(purpose: str, available: list[str]) -> list[str]:
    """The event-table columns :func:`consent_filter_arrow` needs beyond the unit.

    That is the row-level consent column named exactly ``purpose`` when the
    event table has one, else nothing.

    Parameters
    ----------
    purpose : str
        The purpose of the release.
    available : list of str
        The columns of the event table.

    Returns
    -------
    list of str

    Examples
    --------
    >>> consent_columns("errorTracking", ["user_id", "errorTracking", "page"])
    ['errorTracking']
    >>> consent_columns("errorTracking", ["user_id", "page"])
    []
    """
    if not isinstance(purpose, str) or not purpose:
        raise InvalidParameterError(
            f"`purpose` must be a purpose name (a non-empty string), got {purpose!r}; "
            "pass e.g. purpose='performanceMonitoring'",
            parameter="purpose",
            value=purpose,
        )
    names = _string_list(available, "available", example="table.column_names")
    return [purpose] if purpose in names else []


def _string_list(value: Any, parameter: str, *, example: str) -> list[str]:
    """A list of strings from a non-string iterable of strings, else raise."""
    items = None
    if not isinstance(value, str | bytes | Mapping):
        try:
            items = list(value)
        except TypeError:
            items = None
    if items is None:
        got = f"an object of type {type(value).__name__}"
    else:
        odd = [v for v in items if not isinstance(v, str)]
        if not odd:
            return items
        got = f"a {type(value).__name__} holding a {type(odd[0]).__name__}"
    raise InvalidParameterError(
        f"`{parameter}` must be a list of column names (strings), got {got}; "
        f"pass e.g. {parameter}={example}",
        parameter=parameter,
        value=None,
    )


def _consent_mask(
    data: pa.Table,
    purpose: str,
    *,
    privacy_unit: str | None,
    consent: Any,
    settings: PrivacySettings,
) -> np.ndarray | None:
    """Which rows to keep; None means all of them."""
    known = settings.purposes
    _check_purpose_name(purpose, known, parameter="purpose")
    _check_privacy_unit(privacy_unit, allow_none=True)
    units = None
    if privacy_unit is not None:
        units = _unit_column(data, privacy_unit, "event table")
    default = settings.consent_defaults[purpose]
    required = purpose in settings.required_purposes
    n = data.num_rows
    if consent is not None:
        if privacy_unit is None:
            raise InvalidParameterError(
                "a consent table records consent per user, but this query is "
                "event-level (privacy_unit=None); pass privacy_unit=<user column> "
                "or use a row-level boolean column named after the purpose",
                parameter="consent",
                value=None,
            )
        assert units is not None
        records, _ = _consent_records(consent, privacy_unit, [purpose])
        if required:
            return None  # a required purpose cannot be refused
        if purpose not in records.column_names:
            # No record for anyone: the default decides.
            return None if default else np.zeros(n, dtype=bool)
        flags = records.column(purpose)
        decided = pc.equal(flags, not default).fill_null(False)
        # Only the users whose answer differs from the default change anything.
        exceptions = records.column(privacy_unit).filter(decided)
        ids = _aligned_ids(
            _flat(exceptions), units.type, parameter="consent", column=privacy_unit
        )
        hit = _matches(units, ids)
        return ~hit if default else hit
    if purpose in data.column_names:
        flags = _consent_flags(
            _plain(_flat(data.column(purpose))), purpose, "event table"
        )
        if required:
            return None
        keep = flags.fill_null(default)
        return np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)
    if required or default:
        return None
    return np.zeros(n, dtype=bool)


def consent_filter_arrow(
    data: pa.Table,
    purpose: str,
    *,
    privacy_unit: str | None,
    consent: Any = None,
    settings: PrivacySettings | None = None,
) -> pa.Table:
    """Keep the rows of an Arrow event table whose user consented to ``purpose``.

    The engine of :func:`apply_consent` (same semantics), for code that
    already holds an Arrow table: ``data`` has the privacy-unit column and,
    when the event table has one, the row-level column named ``purpose``
    (see :func:`consent_columns`). Other columns are carried through.

    Parameters
    ----------
    data : pyarrow.Table
        The events.
    purpose : str
        One of ``settings.purposes``.
    privacy_unit : str or None
        The user column; None for an event-level query (then a consent
        table cannot be used).
    consent : table, optional
        A consent table (any family) with the privacy-unit column and one
        boolean column per purpose.
    settings : PrivacySettings, optional
        Consent defaults and known purposes; :data:`DEFAULT_PRIVACY_SETTINGS`
        if omitted.

    Returns
    -------
    pyarrow.Table
        The kept rows, in their order; possibly empty, never an error.

    Raises
    ------
    UnknownPurposeError
        If ``purpose`` is not known.
    ColumnNotFoundError
        If the privacy-unit column is missing from ``data`` or ``consent``.
    ColumnTypeError
        If a consent column is not boolean, or the unit columns cannot match.
    DuplicateUnitError
        If the consent table has several records for a user.
    InvalidParameterError
        If a consent table is given for an event-level query.

    Notes
    -----
    Privacy. Whether a row is kept depends only on its own user's consent,
    so this is a per-user transformation: a differentially private release
    computed afterwards keeps its guarantee, at the same cost.

    Examples
    --------
    >>> import pyarrow as pa
    >>> data = pa.table({"user_id": [1, 2, 3], "errorTracking": [True, None, False]})
    >>> consent_filter_arrow(data, "errorTracking", privacy_unit="user_id")["user_id"].to_pylist()
    [1]
    """
    if not isinstance(data, pa.Table):
        raise InvalidParameterError(
            f"`data` must be a pyarrow.Table, got {type(data).__name__}; use "
            "apply_consent(...) for other table families",
            parameter="data",
            value=None,
        )
    mask = _consent_mask(
        data,
        purpose,
        privacy_unit=privacy_unit,
        consent=consent,
        settings=_settings(settings),
    )
    if mask is None:
        return data
    return data.filter(pa.array(mask, type=pa.bool_()))


def apply_consent(
    table: Any,
    purpose: str,
    *,
    privacy_unit: str | None = "user_id",
    consent: Any = None,
    settings: PrivacySettings | None = None,
) -> Any:
    """Keep only the rows of users who consented to ``purpose``.

    Who consented, in order of precedence:

    1. with a ``consent`` table (wide form: the privacy-unit column and one
       boolean column per purpose), each user's record; users with no
       record, or a null, get the purpose's default;
    2. otherwise, when the events have a boolean column named exactly
       ``purpose``, that row-level flag (null: the default);
    3. otherwise the default: ``essentialAnalytics`` keeps every row, the
       other purposes keep none (an empty table, valid input to the
       aggregations).

    A required purpose (``essentialAnalytics``) cannot be refused: every row
    is kept whatever the records say.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame, polars.LazyFrame or pandas.DataFrame
        The events.
    purpose : str
        One of :data:`PURPOSES` (or a custom purpose of ``settings``).
    privacy_unit : str or None
        The user column (default ``"user_id"``); None for event-level tables
        (row-level flags or defaults only).
    consent : table, optional
        The consent records (pyarrow, polars or pandas), one row per user.
    settings : PrivacySettings, optional
        Defaults and known purposes (:data:`DEFAULT_PRIVACY_SETTINGS`).

    Returns
    -------
    Same family as ``table``
        The kept rows in their order (a pandas index is kept).

    Raises
    ------
    UnknownPurposeError
        If ``purpose`` is unknown; the message lists the known ones.
    ColumnNotFoundError, ColumnTypeError, DuplicateUnitError, InvalidParameterError
        As :func:`consent_filter_arrow`.

    Notes
    -----
    Privacy. Filtering on each user's own consent is a per-user
    transformation, so a differentially private aggregation run on the
    result keeps its guarantee at the same cost. The filter itself reveals
    nothing unless its output is published.

    Examples
    --------
    >>> import pyarrow as pa
    >>> events = pa.table({"user_id": [1, 1, 2, 3], "n": [5, 6, 7, 8]})
    >>> consent = pa.table({"user_id": [1, 2], "performanceMonitoring": [True, None]})
    >>> apply_consent(events, "performanceMonitoring", privacy_unit="user_id",
    ...               consent=consent)["n"].to_pylist()
    [5, 6]
    >>> apply_consent(events, "userResearch", privacy_unit="user_id").num_rows
    0
    >>> apply_consent(events, "essentialAnalytics", privacy_unit="user_id").num_rows
    4
    """
    resolved = _settings(settings)
    _check_purpose_name(purpose, resolved.purposes, parameter="purpose")
    _check_privacy_unit(privacy_unit, allow_none=True)
    if consent is not None:
        _consent_family(consent)
    eager, family, out_family = _materialise(table)
    available = tables._columns_of(eager, family)
    needed = ([privacy_unit] if privacy_unit else []) + consent_columns(
        purpose, available
    )
    data = _to_arrow(eager, family, needed)
    row = "__row__"
    while row in data.column_names:
        row = f"_{row}_"
    n = data.num_rows
    data = data.append_column(row, pa.array(np.arange(n, dtype=np.int64)))
    kept = consent_filter_arrow(
        data, purpose, privacy_unit=privacy_unit, consent=consent, settings=resolved
    )
    mask = np.zeros(n, dtype=bool)
    mask[np.asarray(kept.column(row).to_numpy(), dtype=np.int64)] = True
    return _restore(_filter_rows(eager, family, mask), out_family)


def _set_consent(
    consent: Any,
    ids: pa.Array,
    purposes: list[str],
    value: bool,
    *,
    privacy_unit: str,
    parameter: str,
) -> Any:
    """Set ``purposes`` to ``value`` for users ``ids``; add users without a record."""
    if consent is None:
        family: tables.Family = "arrow"
        base = pa.table({privacy_unit: pa.array([], type=_plain(ids).type)})
    else:
        eager, fam, family = _materialise(consent)
        _consent_records(eager, privacy_unit, purposes)  # validates the table
        base = _whole(eager, fam)
    units = _plain(_flat(base.column(privacy_unit)))
    target = units.type if not pa.types.is_null(units.type) else _plain(ids).type
    if pa.types.is_null(units.type):
        units = pa.nulls(len(units), type=target)
    aligned = _aligned_ids(ids, target, parameter=parameter, column=privacy_unit)
    hit = pa.array(_matches(units, aligned), type=pa.bool_())
    columns = {name: _flat(base.column(name)) for name in base.column_names}
    columns[privacy_unit] = units
    for p in purposes:
        old = columns.get(p)
        old = (
            pa.nulls(len(units), type=pa.bool_())
            if old is None
            else _consent_flags(_plain(old), p, "consent table")
        )
        columns[p] = pc.if_else(hit, pa.scalar(value), old)
    updated = pa.table(columns)
    present = pa.array(_matches(aligned, units), type=pa.bool_())
    new_ids = aligned.filter(pc.invert(present))
    if len(new_ids):
        extra = {
            name: (
                new_ids
                if name == privacy_unit
                else pa.array([value] * len(new_ids), type=pa.bool_())
                if name in purposes
                else pa.nulls(len(new_ids), type=updated.schema.field(name).type)
            )
            for name in updated.column_names
        }
        updated = pa.concat_tables([updated, pa.table(extra, schema=updated.schema)])
    updated = updated.combine_chunks()
    if family == "polars_lazy":
        return tables.from_arrow(updated, "polars").lazy()
    return tables.from_arrow(updated, family)


def withdraw_consent(
    consent: Any,
    user_ids: Any,
    *,
    privacy_unit: str = "user_id",
    purposes: Iterable[str] | None = None,
    settings: PrivacySettings | None = None,
) -> Any:
    """Record that users withdrew their consent (all optional purposes, or some).

    Parameters
    ----------
    consent : table or None
        The consent records (pyarrow, polars or pandas); None starts a new
        pyarrow table.
    user_ids : id, collection of ids or array
        The users (a single id is accepted); nulls are ignored.
    privacy_unit : str
        The user column of the consent table (default ``"user_id"``).
    purposes : iterable of str, optional
        The purposes to withdraw; by default every purpose that is not
        required. Columns missing from the table are added (null for the
        other users).
    settings : PrivacySettings, optional
        Known and required purposes (:data:`DEFAULT_PRIVACY_SETTINGS`).

    Returns
    -------
    Same family as ``consent``
        The updated records: those users' purposes set to False; users
        without a record get one (appended). Other users and columns are
        unchanged; a pandas index is not kept.

    Raises
    ------
    UnknownPurposeError
        If a purpose is unknown.
    InvalidParameterError
        If a purpose is required (it cannot be withdrawn).
    ColumnNotFoundError, ColumnTypeError, DuplicateUnitError
        If the consent table is malformed or the ids do not match its type.

    Examples
    --------
    >>> import pyarrow as pa
    >>> consent = pa.table({"user_id": [1, 2], "userResearch": [True, True]})
    >>> out = withdraw_consent(consent, [2, 3], privacy_unit="user_id",
    ...                        purposes=["userResearch"])
    >>> out.to_pylist()
    [{'user_id': 1, 'userResearch': True}, {'user_id': 2, 'userResearch': False}, {'user_id': 3, 'userResearch': False}]
    """
    resolved = _settings(settings)
    _check_privacy_unit(privacy_unit, allow_none=False)
    if consent is not None:
        _consent_family(consent)
    if purposes is None:
        chosen = [p for p in resolved.purposes if p not in resolved.required_purposes]
    else:
        if isinstance(purposes, str):
            purposes = [purposes]
        elif isinstance(purposes, Mapping) or not isinstance(purposes, Iterable):
            raise InvalidParameterError(
                "`purposes` must be a list of purpose names (or None for every "
                f"purpose that is not required), got an object of type "
                f"{type(purposes).__name__}; pass e.g. purposes=['userResearch']",
                parameter="purposes",
                value=purposes,
            )
        chosen = []
        for p in purposes:
            _check_purpose_name(p, resolved.purposes, parameter="purposes")
            if p in resolved.required_purposes:
                raise InvalidParameterError(
                    f"`purposes` lists {p!r}, which is required (always on) and "
                    "cannot be withdrawn; leave it out",
                    parameter="purposes",
                    value=p,
                )
            if p not in chosen:
                chosen.append(p)
    ids = _as_id_array(user_ids, "user_ids")
    return _set_consent(
        consent, ids, chosen, False, privacy_unit=privacy_unit, parameter="user_ids"
    )


def _one_id(user_id: Any, parameter: str) -> pa.Array:
    if isinstance(user_id, pa.Scalar):
        user_id = user_id.as_py()
    ids = _as_id_array(user_id, parameter)
    if len(ids) != 1 or ids.null_count:
        raise InvalidParameterError(
            f"`{parameter}` must be one non-null id (for several users, call "
            "once per user)",
            parameter=parameter,
            value=None,
        )
    return ids


def update_consent(
    consent: Any,
    user_id: Any,
    purpose: str,
    granted: bool,
    *,
    privacy_unit: str = "user_id",
    settings: PrivacySettings | None = None,
) -> Any:
    """Set one user's consent to one purpose (adding the user if needed).

    Parameters
    ----------
    consent : table or None
        The consent records; None starts a new pyarrow table.
    user_id : scalar
        The user.
    purpose : str
        The purpose.
    granted : bool
        The new answer.
    privacy_unit : str
        The user column (default ``"user_id"``).
    settings : PrivacySettings, optional
        Known and required purposes.

    Returns
    -------
    Same family as ``consent``

    Raises
    ------
    UnknownPurposeError
        If ``purpose`` is unknown.
    InvalidParameterError
        If ``granted`` is not a bool, or refuses a required purpose.

    Examples
    --------
    >>> out = update_consent(None, "u1", "enhancedInsights", True, privacy_unit="user")
    >>> out.to_pylist()
    [{'user': 'u1', 'enhancedInsights': True}]
    """
    resolved = _settings(settings)
    _check_privacy_unit(privacy_unit, allow_none=False)
    if consent is not None:
        _consent_family(consent)
    _check_purpose_name(purpose, resolved.purposes, parameter="purpose")
    if not isinstance(granted, bool | np.bool_):
        raise InvalidParameterError(
            f"`granted` must be True or False, got {granted!r}",
            parameter="granted",
            value=granted,
        )
    if purpose in resolved.required_purposes and not granted:
        raise InvalidParameterError(
            f"`granted`=False refuses purpose {purpose!r}, which is required "
            "(always on) and cannot be refused; pass granted=True or another purpose",
            parameter="granted",
            value=granted,
        )
    ids = _one_id(user_id, "user_id")
    return _set_consent(
        consent,
        ids,
        [purpose],
        bool(granted),
        privacy_unit=privacy_unit,
        parameter="user_id",
    )


def consent_status(
    consent: Any,
    user_id: Any,
    *,
    privacy_unit: str = "user_id",
    settings: PrivacySettings | None = None,
) -> dict[str, bool]:
    """One user's effective consent per purpose (record, else default).

    Parameters
    ----------
    consent : table or None
        The consent records; None means no records (defaults only).
    user_id : scalar
        The user.
    privacy_unit : str
        The user column (default ``"user_id"``).
    settings : PrivacySettings, optional
        Defaults and known purposes.

    Returns
    -------
    dict of str to bool
        Every known purpose; required purposes are always True.

    Examples
    --------
    >>> import pyarrow as pa
    >>> consent = pa.table({"user_id": [7], "errorTracking": [True]})
    >>> status = consent_status(consent, 7, privacy_unit="user_id")
    >>> status["errorTracking"], status["userResearch"], status["essentialAnalytics"]
    (True, False, True)
    """
    resolved = _settings(settings)
    _check_privacy_unit(privacy_unit, allow_none=False)
    ids = _one_id(user_id, "user_id")
    status = dict(resolved.consent_defaults)
    if consent is None:
        return status
    _consent_family(consent)
    records, _ = _consent_records(consent, privacy_unit, list(resolved.purposes))
    units = records.column(privacy_unit)
    aligned = _aligned_ids(ids, units.type, parameter="user_id", column=privacy_unit)
    row = records.filter(pa.array(_matches(_flat(units), aligned), type=pa.bool_()))
    if row.num_rows:
        for p, answer in row.to_pylist()[0].items():
            if p != privacy_unit and answer is not None:
                status[p] = bool(answer)
    for p in resolved.required_purposes:
        status[p] = True
    return status


# ---------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------


def _utc_now(now: Any) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            return now.replace(tzinfo=UTC)
        return now.astimezone(UTC)
    if isinstance(now, date):
        return datetime(now.year, now.month, now.day, tzinfo=UTC)
    raise InvalidParameterError(
        f"`now` must be a datetime, a date or None (the current UTC time), got "
        f"{type(now).__name__}",
        parameter="now",
        value=now,
    )


def _months_back(moment: datetime, months: int) -> datetime:
    """``moment`` shifted back by whole months, the day clamped to the month's end."""
    index = moment.year * 12 + (moment.month - 1) - months
    year, month0 = divmod(index, 12)
    if year < 1:
        raise OverflowError
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return moment.replace(year=year, month=month0 + 1, day=day)


def retention_cutoff(
    period: str | timedelta | None = None,
    *,
    now: datetime | date | None = None,
    settings: PrivacySettings | None = None,
) -> datetime:
    """The oldest time a retention period keeps: ``now - period`` (UTC).

    Months and years are calendar periods: the day of the month is kept and
    clamped to the month's length (one year before 2024-02-29 is
    2023-02-28; six months before 2024-08-31 is 2024-02-29). Days and weeks
    are exact multiples of 24 hours.

    Parameters
    ----------
    period : str or datetime.timedelta, optional
        ``"1-year"``, ``"2-years"``, ``"6-months"``, ``"90-days"``,
        ``"12-weeks"`` or a positive timedelta; default
        ``settings.data_retention`` (``"1-year"``).
    now : datetime or date, optional
        The reference time; default the current UTC time. A naive datetime
        is taken as UTC; a date as its midnight UTC.
    settings : PrivacySettings, optional
        Where the default period comes from.

    Returns
    -------
    datetime
        Time-zone aware, in UTC.

    Raises
    ------
    InvalidParameterError
        If ``period`` or ``now`` is invalid, or the cutoff falls before year 1.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> retention_cutoff("1-year", now=datetime(2024, 2, 29, 12, tzinfo=timezone.utc))
    datetime.datetime(2023, 2, 28, 12, 0, tzinfo=datetime.timezone.utc)
    >>> retention_cutoff("90-days", now=datetime(2024, 4, 1)).date()
    datetime.date(2024, 1, 2)
    """
    resolved = _settings(settings)
    if period is None:
        period = resolved.data_retention
    parsed = _parse_period(period)
    moment = _utc_now(now)
    try:
        if isinstance(parsed, timedelta):
            return moment - parsed
        unit, n = parsed
        if unit == "days":
            return moment - timedelta(days=n)
        return _months_back(moment, n)
    except OverflowError:
        raise InvalidParameterError(
            f"`period` {period!r} reaches before year 1; use a shorter period",
            parameter="period",
            value=period,
        ) from None


def _cutoff_units(cutoff: datetime, typ: pa.DataType) -> tuple[pa.DataType, int]:
    """The integer storage type of a temporal column and the smallest value kept."""
    delta = cutoff - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if pa.types.is_timestamp(typ):
        # Keep t >= cutoff: round the cutoff up to the column's unit.
        per_unit = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": None}[typ.unit]
        if per_unit is None:
            return pa.int64(), micros * 1_000
        return pa.int64(), -((-micros) // per_unit)
    # Dates: the cutoff's calendar day (UTC) is kept.
    return pa.int32(), micros // 86_400_000_000


def apply_retention(
    table: Any,
    time_column: str,
    period: str | timedelta | None = None,
    *,
    now: datetime | date | None = None,
    settings: PrivacySettings | None = None,
) -> Any:
    """Drop the rows older than a retention period (keep ``time >= now - period``).

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame, polars.LazyFrame or pandas.DataFrame
        The events.
    time_column : str
        A timestamp (with or without time zone) or date column.
    period : str or datetime.timedelta, optional
        See :func:`retention_cutoff`; default ``settings.data_retention``.
    now : datetime or date, optional
        The reference time; default the current UTC time.
    settings : PrivacySettings, optional
        Where the default period comes from (:data:`DEFAULT_PRIVACY_SETTINGS`).

    Returns
    -------
    Same family as ``table``
        The kept rows in their order (a pandas index is kept).

    Raises
    ------
    InvalidParameterError
        If ``period`` or ``now`` is invalid (the message lists the accepted
        forms).
    ColumnNotFoundError, ColumnTypeError
        If ``time_column`` is missing or not a timestamp or date.

    Notes
    -----
    Time zones: a zoned timestamp is an instant and is compared as such; a
    naive timestamp is taken to be UTC; a date column keeps the whole day
    on which the cutoff falls (its calendar date in UTC). Rows with a null
    time are dropped: their age cannot be shown to be within the period.
    Rows dated after ``now`` are kept.

    Privacy. Retention limits what is stored and queried from now on; it
    does not retract statistics already published from the dropped rows.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from datetime import date
    >>> events = pa.table({"day": [date(2023, 1, 1), date(2024, 6, 1), None]})
    >>> apply_retention(events, "day", "1-year", now=date(2025, 1, 1))["day"].to_pylist()
    [datetime.date(2024, 6, 1)]
    """
    if not isinstance(time_column, str):
        raise InvalidParameterError(
            f"`time_column` must be a column name, got {time_column!r}",
            parameter="time_column",
            value=time_column,
        )
    cutoff = retention_cutoff(period, now=now, settings=settings)
    eager, family, out_family = _materialise(table)
    data = _to_arrow(eager, family, [time_column])
    times = _plain(_flat(data.column(time_column)))
    typ = times.type
    if not (pa.types.is_timestamp(typ) or pa.types.is_date(typ)):
        raise ColumnTypeError(
            f"time column {time_column!r} must be a timestamp or a date, got Arrow "
            f"type {typ}; parse it first (e.g. pl.col(...).str.to_datetime() or "
            "pd.to_datetime(...))",
            column=time_column,
        )
    if pa.types.is_date64(typ):
        times = times.cast(pa.date32())
    storage, threshold = _cutoff_units(cutoff, times.type)
    info = np.iinfo(np.int64 if storage == pa.int64() else np.int32)
    ints = times.cast(storage)
    if threshold <= info.min:
        keep = ints.is_valid()
    elif threshold > info.max:
        keep = pa.array(np.zeros(len(ints), dtype=bool))
    else:
        keep = pc.greater_equal(ints, pa.scalar(threshold, type=storage))
    mask = np.asarray(keep.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    return _restore(_filter_rows(eager, family, mask), out_family)


# ---------------------------------------------------------------------------
# Erasure and export
# ---------------------------------------------------------------------------


def erase_users(table: Any, user_ids: Any, *, privacy_unit: str = "user_id") -> Any:
    """Remove every row of some users.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame, polars.LazyFrame or pandas.DataFrame
        The events.
    user_ids : id, collection of ids or array
        A single id, a list/tuple/set, a numpy/pyarrow/polars/pandas array.
        Nulls are ignored; ids that do not occur are harmless.
    privacy_unit : str
        The user column (default ``"user_id"``).

    Returns
    -------
    Same family as ``table``
        The other rows, in their order (a pandas index is kept). Rows with a
        null user are kept.

    Raises
    ------
    ColumnNotFoundError
        If ``privacy_unit`` is missing.
    ColumnTypeError
        If the ids are of another type than the column (e.g. strings for an
        integer column).
    InvalidParameterError
        If the ids mix types, or are numbers that are not whole for an
        integer column.

    Notes
    -----
    Privacy. Erasure removes the rows from this table only: copies elsewhere
    (files, backups, caches) must be erased too, and statistics already
    published from the rows are not retracted (under differential privacy
    their influence on any one user was already bounded).

    Examples
    --------
    >>> import pyarrow as pa
    >>> events = pa.table({"user_id": ["a", "b", "a", "c"], "n": [1, 2, 3, 4]})
    >>> erase_users(events, {"a", "z"}, privacy_unit="user_id")["n"].to_pylist()
    [2, 4]
    """
    _check_privacy_unit(privacy_unit, allow_none=False)
    ids = _as_id_array(user_ids, "user_ids")
    eager, family, out_family = _materialise(table)
    data = _to_arrow(eager, family, [privacy_unit])
    units = _plain(_flat(data.column(privacy_unit)))
    aligned = _aligned_ids(ids, units.type, parameter="user_ids", column=privacy_unit)
    mask = ~_matches(units, aligned)
    return _restore(_filter_rows(eager, family, mask), out_family)


_FORMATS = ("json", "csv", "parquet")
_COMPRESSIONS = ("gzip", None)


def _jsonable(value: Any) -> Any:
    """A Python value from Arrow as JSON: times in ISO 8601, bytes in base64."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        # NaN and infinities are not JSON; they become null.
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _iso_columns(data: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text (zoned ones in UTC with ``Z``), dates as text."""
    out = {}
    for name in data.column_names:
        col = _plain(_flat(data.column(name)))
        typ = col.type
        if pa.types.is_timestamp(typ):
            if typ.tz is not None:
                col = col.cast(pa.timestamp(typ.unit, "UTC"))
            text = col.cast(pa.string())
            col = pc.replace_substring(text, " ", "T", max_replacements=1)
        elif pa.types.is_date(typ) or pa.types.is_time(typ):
            col = col.cast(pa.string())
        out[name] = col
    return pa.table(out)


def export_user_data(
    table: Any,
    user_id: Any,
    *,
    privacy_unit: str = "user_id",
    format: Literal["json", "csv", "parquet"] = "json",
    compression: Literal["gzip"] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> bytes | Path:
    r"""Every row of one user, as a portable file (right of access / portability).

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame, polars.LazyFrame or pandas.DataFrame
        The events.
    user_id : scalar
        The user, of the privacy-unit column's type.
    privacy_unit : str
        The user column (default ``"user_id"``).
    format : {"json", "csv", "parquet"}, default "json"
        JSON: one document ``{"privacy_unit", "user_id", "row_count",
        "columns", "records"}`` with timestamps in ISO 8601 (zoned ones in
        UTC), dates as ``YYYY-MM-DD``, bytes in base64, NaN as null. CSV:
        a header line then one line per row. Parquet: a Parquet file.
    compression : {"gzip", None}, default None
        Gzip the whole output (reproducibly: no time stamp in the header).
    path : str or os.PathLike, optional
        Write the output there (created readable by its owner only) and
        return the path instead of the bytes.

    Returns
    -------
    bytes or pathlib.Path
        The file's bytes, or ``path`` when given. A user with no rows gets a
        valid empty export, not an error.

    Raises
    ------
    InvalidParameterError
        If ``format`` or ``compression`` is unknown, ``path`` is not a path,
        or ``user_id`` is not one non-null id.
    ColumnNotFoundError, ColumnTypeError
        If ``privacy_unit`` is missing, the id is of the wrong type, or a
        column cannot be written as CSV (nested types: use JSON or Parquet).

    Examples
    --------
    >>> import json, pyarrow as pa
    >>> events = pa.table({"user_id": [1, 2, 1], "page": ["a", "b", "c"]})
    >>> doc = json.loads(export_user_data(events, 1, privacy_unit="user_id"))
    >>> doc["row_count"], [r["page"] for r in doc["records"]]
    (2, ['a', 'c'])
    >>> export_user_data(events, 1, privacy_unit="user_id", format="csv")
    b'"user_id","page"\n1,"a"\n1,"c"\n'
    """
    _check_privacy_unit(privacy_unit, allow_none=False)
    if format not in _FORMATS:
        raise InvalidParameterError(
            f"`format` must be one of {_FORMATS}, got {format!r}",
            parameter="format",
            value=format,
        )
    if compression not in _COMPRESSIONS:
        raise InvalidParameterError(
            f"`compression` must be 'gzip' or None, got {compression!r}",
            parameter="compression",
            value=compression,
        )
    if path is not None and not isinstance(path, str | os.PathLike):
        raise InvalidParameterError(
            "`path` must be a file path (a str or os.PathLike) or None to get the "
            f"bytes back, got an object of type {type(path).__name__}; pass e.g. "
            "path='export.json'",
            parameter="path",
            value=None,
        )
    ids = _one_id(user_id, "user_id")
    eager, family, _ = _materialise(table)
    data = _whole(eager, family)
    units = _unit_column(data, privacy_unit, "table")
    aligned = _aligned_ids(ids, units.type, parameter="user_id", column=privacy_unit)
    rows = data.filter(pa.array(_matches(units, aligned), type=pa.bool_()))
    if format == "json":
        records = [
            {k: _jsonable(v) for k, v in r.items()}
            for r in _iso_columns(rows).to_pylist()
        ]
        document = {
            "privacy_unit": privacy_unit,
            "user_id": _jsonable(ids[0].as_py()),
            "row_count": rows.num_rows,
            "columns": [{"name": f.name, "type": str(f.type)} for f in data.schema],
            "records": records,
        }
        payload = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    elif format == "csv":
        import pyarrow.csv as pacsv

        buf = io.BytesIO()
        try:
            pacsv.write_csv(_iso_columns(rows), buf)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
            raise ColumnTypeError(
                f"this table cannot be written as CSV ({err}); use format='json' "
                "or format='parquet'",
                column=None,
            ) from None
        payload = buf.getvalue()
    else:
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(rows, buf)
        payload = buf.getvalue()
    if compression == "gzip":
        payload = gzip.compress(payload, mtime=0)
    if path is None:
        return payload
    out = Path(path)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(payload)
    return out
