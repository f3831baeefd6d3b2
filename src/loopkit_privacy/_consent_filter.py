"""The consent filter of the releases, and matching rows to user ids.

The aggregations and ``cohort_retention`` take ``purpose=`` and ``consent=``
and keep only the rows of users who consented (:func:`consent_filter_arrow`,
with :func:`consent_columns` naming the row-level column it reads). That
filter sits here, below the releases in the layers (it needs only
:mod:`loopkit_privacy.tables`), and :mod:`loopkit_privacy.controls`
re-exports it with the rest of the consent tools: the purposes
(:data:`PURPOSES`, :data:`REQUIRED_PURPOSES`), the reading of consent
records, and the matching of a table's privacy-unit column against a set of
user ids, which erasure and export use too.

The filter reads its rules (known purposes, defaults, required purposes)
from any object with the attributes of :class:`ConsentRules`, in practice a
``controls.PrivacySettings``; without one it applies the default settings.

Examples
--------
>>> import pyarrow as pa
>>> data = pa.table({"user_id": [1, 2, 2], "enhancedInsights": [True, None, True]})
>>> consent_columns("enhancedInsights", data.column_names)
['enhancedInsights']
>>> consent_filter_arrow(data, "enhancedInsights", privacy_unit="user_id").num_rows
2
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, NoReturn, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopkit_privacy import tables
from loopkit_privacy._typing import AnyArray
from loopkit_privacy.errors import (
    ColumnNotFoundError,
    ColumnTypeError,
    DuplicateUnitError,
    InvalidParameterError,
    PrivacyError,
    SchemaError,
    UnknownPurposeError,
)

__all__ = [
    "PURPOSES",
    "REQUIRED_PURPOSES",
    "ConsentRules",
    "consent_columns",
    "consent_filter_arrow",
    "default_consent",
]

# ---------------------------------------------------------------------------
# Purposes and the rules the filter applies
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


def default_consent(purposes: Iterable[str]) -> dict[str, bool]:
    """The consent of a user with no answer: on for the required purposes only.

    The seed's conservative defaults (``essentialAnalytics`` on, every other
    purpose off); ``PrivacySettings`` starts from them.

    Examples
    --------
    >>> default_consent(["essentialAnalytics", "userResearch"])
    {'essentialAnalytics': True, 'userResearch': False}
    """
    return {p: p in REQUIRED_PURPOSES for p in purposes}


@runtime_checkable
class ConsentRules(Protocol):
    """What the filter reads from the settings (``controls.PrivacySettings``)."""

    @property
    def purposes(self) -> tuple[str, ...]:
        """The known purposes."""
        ...

    @property
    def consent_defaults(self) -> Mapping[str, bool]:
        """The consent of a user with no answer, for every known purpose."""
        ...

    @property
    def required_purposes(self) -> frozenset[str]:
        """The purposes that cannot be refused (always on)."""
        ...


class _Rules(NamedTuple):
    purposes: tuple[str, ...]
    consent_defaults: Mapping[str, bool]
    required_purposes: frozenset[str]


# The rules of the default settings (``controls.DEFAULT_PRIVACY_SETTINGS``).
_DEFAULT_RULES = _Rules(
    PURPOSES, MappingProxyType(default_consent(PURPOSES)), REQUIRED_PURPOSES
)


def _rules(settings: Any) -> ConsentRules:
    if settings is None:
        return _DEFAULT_RULES
    if not isinstance(settings, ConsentRules):
        refuse_settings(settings)
    return settings


def refuse_settings(settings: Any) -> NoReturn:
    raise InvalidParameterError(
        f"`settings` must be a PrivacySettings or None, got {type(settings).__name__}",
        parameter="settings",
        value=settings,
    )


def check_purpose_name(purpose: Any, known: tuple[str, ...], *, parameter: str) -> str:
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


def check_privacy_unit(privacy_unit: Any, *, allow_none: bool) -> None:
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


# ---------------------------------------------------------------------------
# User ids: the rows of a table whose privacy unit is one of some ids
# ---------------------------------------------------------------------------

# The kinds of key types, spelled as the messages say them; int and float ids
# can match each other, other kinds only themselves.
_KIND_NAMES = {"bool": "boolean", "int": "integer", "timestamp_tz": "timestamp"}
_NUMERIC = {"integer", "float"}


def _kind(typ: pa.DataType) -> str:
    """A coarse type family used to decide whether two key columns can match."""
    if pa.types.is_decimal(typ):
        return "decimal"  # never matched to integer or float ids
    kind = tables.type_kind(typ)
    return _KIND_NAMES.get(kind, kind)


def as_id_array(values: Any, parameter: str) -> pa.Array:
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
            return tables.flat(values)
        module = type(values).__module__.split(".")[0]
        if module == "polars" and type(values).__name__ == "Series":
            return tables.flat(values.to_arrow())
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


def one_id(user_id: Any, parameter: str) -> pa.Array:
    if isinstance(user_id, pa.Scalar):
        user_id = user_id.as_py()
    ids = as_id_array(user_id, parameter)
    if len(ids) != 1 or ids.null_count:
        raise InvalidParameterError(
            f"`{parameter}` must be one non-null id (for several users, call "
            "once per user)",
            parameter=parameter,
            value=None,
        )
    return ids


def aligned_ids(
    ids: pa.Array, target: pa.DataType, *, parameter: str, column: str
) -> pa.Array:
    """Distinct non-null ``ids`` cast to the key column's type ``target``.

    Ids that cannot occur in a column of that type (an integer out of range)
    are dropped, since they match no row.
    """
    ids = tables.plain(ids).drop_null()
    target = tables.plain(pa.array([], target)).type
    have, want = _kind(ids.type), _kind(target)
    if have == "null":  # e.g. an empty list: no type to check
        return pa.array([], target)
    if have != want and not (have in _NUMERIC and want in _NUMERIC):
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
            if want not in _NUMERIC:
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


def unit_column(data: pa.Table, privacy_unit: str, what: str) -> pa.Array:
    if privacy_unit not in data.column_names:
        raise ColumnNotFoundError(
            f"the privacy-unit column {privacy_unit!r} is not in the {what}; "
            f"available columns: {', '.join(repr(c) for c in data.column_names)}",
            column=privacy_unit,
        )
    tables.check_key_column(data, privacy_unit, role="privacy-unit")
    return tables.plain(data.column(privacy_unit))


def matches_ids(units: pa.Array, ids: pa.Array) -> AnyArray:
    """Boolean mask: the unit of each row is one of ``ids`` (null units never are)."""
    if len(units) == 0:
        return np.zeros(0, dtype=bool)
    if len(ids) == 0:
        return np.zeros(len(units), dtype=bool)
    hit = pc.is_in(units, value_set=ids, skip_nulls=True)
    return np.asarray(hit.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


# ---------------------------------------------------------------------------
# Consent records
# ---------------------------------------------------------------------------


def consent_flags(col: pa.Array, purpose: str, where: str) -> pa.Array:
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


def consent_family(consent: Any) -> tables.Family:
    """The family of a consent table; anything else (but None) raises."""
    try:
        return tables.family_of(consent, "consent")
    except PrivacyError:
        raise InvalidParameterError(
            "`consent` must be a table (pyarrow, polars or pandas) with the "
            "privacy-unit column and one boolean column per purpose, or None, got "
            f"an object of type {type(consent).__name__}",
            parameter="consent",
            value=None,
        ) from None


def consent_records(
    consent: Any, privacy_unit: str, purposes: list[str]
) -> tuple[pa.Table, tables.Family]:
    """A consent table as Arrow: its unit column (validated) and the given purposes."""
    fam = consent_family(consent)
    frame, _ = tables.eager(consent, name="consent")
    available = tables.columns_of(frame)
    if privacy_unit not in available:
        raise ColumnNotFoundError(
            f"the privacy-unit column {privacy_unit!r} is not in the consent table; "
            f"available columns: {', '.join(repr(c) for c in available)}",
            column=privacy_unit,
        )
    wanted = [privacy_unit] + [p for p in purposes if p in available]
    data = tables.read_columns(frame, wanted, nan_is_null=True)
    tables.check_key_column(data, privacy_unit, role="privacy-unit")
    units = tables.plain(data.column(privacy_unit))
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
        columns[p] = consent_flags(tables.flat(data.column(p)), p, "consent table")
    return pa.table(columns), fam


# ---------------------------------------------------------------------------
# The filter
# ---------------------------------------------------------------------------


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
    rules: ConsentRules,
) -> AnyArray | None:
    """Which rows to keep; None means all of them."""
    check_purpose_name(purpose, rules.purposes, parameter="purpose")
    check_privacy_unit(privacy_unit, allow_none=True)
    units = None
    if privacy_unit is not None:
        units = unit_column(data, privacy_unit, "event table")
    default = rules.consent_defaults[purpose]
    required = purpose in rules.required_purposes
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
        records, _ = consent_records(consent, privacy_unit, [purpose])
        if required:
            return None  # a required purpose cannot be refused
        if purpose not in records.column_names:
            # No record for anyone: the default decides.
            return None if default else np.zeros(n, dtype=bool)
        flags = records.column(purpose)
        decided = pc.equal(flags, not default).fill_null(False)
        # Only the users whose answer differs from the default change anything.
        exceptions = records.column(privacy_unit).filter(decided)
        ids = aligned_ids(
            tables.flat(exceptions),
            units.type,
            parameter="consent",
            column=privacy_unit,
        )
        hit = matches_ids(units, ids)
        return ~hit if default else hit
    if purpose in data.column_names:
        flags = consent_flags(
            tables.plain(data.column(purpose)), purpose, "event table"
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
    settings: ConsentRules | None = None,
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
        rules=_rules(settings),
    )
    if mask is None:
        return data
    return data.filter(pa.array(mask, type=pa.bool_()))
