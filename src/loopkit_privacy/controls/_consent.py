"""Consent and the privacy settings.

* :class:`PrivacySettings` (:data:`DEFAULT_PRIVACY_SETTINGS`): consent
  defaults per purpose (:data:`PURPOSES`, :data:`REQUIRED_PURPOSES`), the
  retention period and the thresholds other modules use;
* :func:`apply_consent` keeps the rows of users who consented to a purpose
  (:func:`consent_filter_arrow` is its engine, shared with the releases);
* :func:`withdraw_consent`, :func:`update_consent` and
  :func:`consent_status` maintain and read a consent table.

Examples
--------
>>> import pyarrow as pa
>>> consent = withdraw_consent(None, user_ids=[1], privacy_unit="user_id",
...                            purposes=["userResearch"])
>>> consent_status(consent, user_id=1, privacy_unit="user_id")["userResearch"]
False
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopkit_privacy import tables
from loopkit_privacy._consent_filter import (
    PURPOSES,
    REQUIRED_PURPOSES,
    aligned_ids,
    as_id_array,
    check_privacy_unit,
    check_purpose_name,
    consent_columns,
    consent_family,
    consent_filter_arrow,
    consent_flags,
    consent_records,
    default_consent,
    matches_ids,
    one_id,
    refuse_settings,
)
from loopkit_privacy._validate import check_bool
from loopkit_privacy.errors import InvalidParameterError

__all__ = [
    "DEFAULT_PRIVACY_SETTINGS",
    "PrivacySettings",
    "apply_consent",
    "consent_status",
    "update_consent",
    "withdraw_consent",
]

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


def parse_period(
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

_CAMEL = {
    "dataRetention": "data_retention",
    "consentDefaults": "consent_defaults",
    "customPurposes": "custom_purposes",
    "requiredPurposes": "required_purposes",
}
#: The seed's settings that the library never enforced; they are not
#: settings (record such a declared policy where your own checks read it).
_NOT_SETTINGS = {
    "dataCollection": "data_collection",
    "userIdentification": "user_identification",
    "crossSiteTracking": "cross_site_tracking",
    "thirdPartySharing": "third_party_sharing",
    "locationTracking": "location_tracking",
    "deviceFingerprinting": "device_fingerprinting",
    "minCohortSize": "min_cohort_size",
    "kAnonymity": "k_anonymity",
}


def _bad_setting(name: str, value: Any, rule: str) -> NoReturn:
    raise InvalidParameterError(
        f"`{name}` {rule}, got {value!r}", parameter=name, value=value
    )


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """Conservative privacy settings: consent defaults and retention.

    The defaults are the seed's ``defaultPrivacySettings``: a one-year
    retention, and consent only to ``essentialAnalytics`` (which is required
    and always on). Only what the library enforces is a setting.

    Parameters
    ----------
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

    Raises
    ------
    InvalidParameterError
        If the period is invalid, a purpose is unknown or duplicated, or a
        required purpose defaults to False.

    Notes
    -----
    Privacy. The library enforces ``data_retention`` (in
    :func:`apply_retention`) and the consent defaults (in
    :func:`apply_consent` and the aggregations' ``purpose=``). The seed's
    other declarations (data collection, user identification, tracking and
    sharing flags, cohort and k thresholds) are not settings: nothing here
    would read them. Cohort and k thresholds are the ``min_cohort_size=``
    and ``k=`` arguments of :func:`~loopkit_privacy.cohort_retention` and
    :func:`~loopkit_privacy.ensure_k_anonymity`.

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

    data_retention: str | timedelta = "1-year"
    consent_defaults: Mapping[str, bool] = field(default_factory=dict, hash=False)
    custom_purposes: tuple[str, ...] = ()
    required_purposes: frozenset[str] = REQUIRED_PURPOSES

    def __post_init__(self) -> None:
        parse_period(self.data_retention, parameter="data_retention")
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
            check_purpose_name(p, known, parameter="required_purposes")
        given = self.consent_defaults
        if not isinstance(given, Mapping):
            _bad_setting(
                "consent_defaults", given, "must be a mapping of purpose to bool"
            )
        full = default_consent(known)
        for p, value in given.items():
            check_purpose_name(p, known, parameter="consent_defaults")
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
        default = check_bool(default, "default")
        required = check_bool(required, "required")
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
            if key in _NOT_SETTINGS or key in _NOT_SETTINGS.values():
                raise InvalidParameterError(
                    f"`{key}` is not a privacy setting: the library does not "
                    "enforce it, so PrivacySettings does not hold it; leave it "
                    "out (keep such a declared policy where your own checks "
                    "read it)",
                    parameter=str(key),
                    value=value,
                )
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


#: The default settings (the seed's conservative ``defaultPrivacySettings``).
DEFAULT_PRIVACY_SETTINGS = PrivacySettings()


def resolve_settings(settings: Any) -> PrivacySettings:
    if settings is None:
        return DEFAULT_PRIVACY_SETTINGS
    if not isinstance(settings, PrivacySettings):
        refuse_settings(settings)
    return settings


def apply_consent(
    table: Any,
    *,
    purpose: str,
    privacy_unit: str | None,
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
        The user column (required, e.g. ``"user_id"``); None for event-level tables
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
    >>> apply_consent(events, purpose="performanceMonitoring", privacy_unit="user_id",
    ...               consent=consent)["n"].to_pylist()
    [5, 6]
    >>> apply_consent(events, purpose="userResearch", privacy_unit="user_id").num_rows
    0
    >>> apply_consent(events, purpose="essentialAnalytics", privacy_unit="user_id").num_rows
    4
    """
    resolved = resolve_settings(settings)
    check_purpose_name(purpose, resolved.purposes, parameter="purpose")
    check_privacy_unit(privacy_unit, allow_none=True)
    if consent is not None:
        consent_family(consent)
    frame, family = tables.eager(table)
    needed = ([privacy_unit] if privacy_unit else []) + consent_columns(
        purpose, tables.columns_of(frame)
    )
    data = tables.read_columns(frame, needed, nan_is_null=True)
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
    return tables.filter_rows(frame, family, mask)


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
        base = pa.table({privacy_unit: pa.array([], type=tables.plain(ids).type)})
    else:
        frame, family = tables.eager(consent, name="consent")
        consent_records(frame, privacy_unit, purposes)  # validates the table
        base = tables.read_columns(frame, tables.columns_of(frame), nan_is_null=True)
    units = tables.plain(base.column(privacy_unit))
    target = units.type if not pa.types.is_null(units.type) else tables.plain(ids).type
    if pa.types.is_null(units.type):
        units = pa.nulls(len(units), type=target)
    aligned = aligned_ids(ids, target, parameter=parameter, column=privacy_unit)
    hit = pa.array(matches_ids(units, aligned), type=pa.bool_())
    columns = {name: tables.flat(base.column(name)) for name in base.column_names}
    columns[privacy_unit] = units
    for p in purposes:
        old = columns.get(p)
        old = (
            pa.nulls(len(units), type=pa.bool_())
            if old is None
            else consent_flags(tables.plain(old), p, "consent table")
        )
        columns[p] = pc.if_else(hit, pa.scalar(value), old)
    updated = pa.table(columns)
    present = pa.array(matches_ids(aligned, units), type=pa.bool_())
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
    return tables.from_arrow(updated.combine_chunks(), family)


def withdraw_consent(
    consent: Any,
    *,
    user_ids: Any,
    privacy_unit: str,
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
        The user column of the consent table (required, e.g. ``"user_id"``).
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
    >>> out = withdraw_consent(consent, user_ids=[2, 3], privacy_unit="user_id",
    ...                        purposes=["userResearch"])
    >>> out.to_pylist()
    [{'user_id': 1, 'userResearch': True}, {'user_id': 2, 'userResearch': False}, {'user_id': 3, 'userResearch': False}]
    """
    resolved = resolve_settings(settings)
    check_privacy_unit(privacy_unit, allow_none=False)
    if consent is not None:
        consent_family(consent)
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
            check_purpose_name(p, resolved.purposes, parameter="purposes")
            if p in resolved.required_purposes:
                raise InvalidParameterError(
                    f"`purposes` lists {p!r}, which is required (always on) and "
                    "cannot be withdrawn; leave it out",
                    parameter="purposes",
                    value=p,
                )
            if p not in chosen:
                chosen.append(p)
    ids = as_id_array(user_ids, "user_ids")
    return _set_consent(
        consent, ids, chosen, False, privacy_unit=privacy_unit, parameter="user_ids"
    )


def update_consent(
    consent: Any,
    *,
    user_id: Any,
    purpose: str,
    granted: bool,
    privacy_unit: str,
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
        The user column (required, e.g. ``"user_id"``).
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
    >>> out = update_consent(None, user_id="u1", purpose="enhancedInsights", granted=True, privacy_unit="user")
    >>> out.to_pylist()
    [{'user': 'u1', 'enhancedInsights': True}]
    """
    resolved = resolve_settings(settings)
    check_privacy_unit(privacy_unit, allow_none=False)
    if consent is not None:
        consent_family(consent)
    check_purpose_name(purpose, resolved.purposes, parameter="purpose")
    granted = check_bool(granted, "granted")
    if purpose in resolved.required_purposes and not granted:
        raise InvalidParameterError(
            f"`granted`=False refuses purpose {purpose!r}, which is required "
            "(always on) and cannot be refused; pass granted=True or another purpose",
            parameter="granted",
            value=granted,
        )
    ids = one_id(user_id, "user_id")
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
    *,
    user_id: Any,
    privacy_unit: str,
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
        The user column (required, e.g. ``"user_id"``).
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
    >>> status = consent_status(consent, user_id=7, privacy_unit="user_id")
    >>> status["errorTracking"], status["userResearch"], status["essentialAnalytics"]
    (True, False, True)
    """
    resolved = resolve_settings(settings)
    check_privacy_unit(privacy_unit, allow_none=False)
    ids = one_id(user_id, "user_id")
    status = dict(resolved.consent_defaults)
    if consent is None:
        return status
    consent_family(consent)
    records, _ = consent_records(consent, privacy_unit, list(resolved.purposes))
    units = records.column(privacy_unit)
    aligned = aligned_ids(ids, units.type, parameter="user_id", column=privacy_unit)
    hit = matches_ids(tables.flat(units), aligned)
    row = records.filter(pa.array(hit, type=pa.bool_()))
    if row.num_rows:
        for p, answer in row.to_pylist()[0].items():
            if p != privacy_unit and answer is not None:
                status[p] = bool(answer)
    for p in resolved.required_purposes:
        status[p] = True
    return status
