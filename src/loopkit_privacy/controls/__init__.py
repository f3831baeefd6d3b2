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
>>> kept = controls.apply_consent(events, purpose="enhancedInsights",
...                               privacy_unit="user_id", consent=consent)
>>> kept["user_id"].to_pylist()
[2, 2]
>>> controls.erase_users(events, user_ids=[2], privacy_unit="user_id")["user_id"].to_pylist()
[1, 3]
"""

from __future__ import annotations

# One module per job: _pseudonyms, _consent (with the settings), _retention
# and _erasure (erasure and export). The consent filter the releases apply
# (consent_filter_arrow, consent_columns, the purposes) lives below them in
# the layers, in loopkit_privacy._consent_filter, and is re-exported here.
from loopkit_privacy._consent_filter import (
    PURPOSES,
    REQUIRED_PURPOSES,
    consent_columns,
    consent_filter_arrow,
)
from loopkit_privacy.controls._consent import (
    DEFAULT_PRIVACY_SETTINGS,
    PrivacySettings,
    apply_consent,
    consent_status,
    update_consent,
    withdraw_consent,
)
from loopkit_privacy.controls._erasure import erase_users, export_user_data
from loopkit_privacy.controls._pseudonyms import PseudonymKey, make_key, pseudonymize
from loopkit_privacy.controls._retention import apply_retention, retention_cutoff

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
