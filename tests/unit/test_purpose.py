"""``purpose=`` / ``consent=`` on the aggregations and cohort retention.

With a large epsilon (noise scale 1e-3) the discrete Laplace noise is 0 with
probability 1 - 2e-434, so the released counts equal the true counts of the
consented rows; that is what these tests compare.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
import pytest

import loopkit_privacy as lp

# The large epsilon is on purpose (exact answers); its warning is expected.
pytestmark = pytest.mark.filterwarnings("ignore::loopkit_privacy.PrivacyWarning")

EVENTS = pa.table(
    {
        "user_id": [1, 1, 2, 3, 3, 3, 4],
        "page": ["a", "b", "a", "a", "b", "b", "a"],
        "ts": pa.array([dt.datetime(2026, 1, d) for d in (2, 3, 4, 5, 6, 7, 8)]),
        "productResearch": [True, True, None, False, False, True, True],
    }
)
CONSENT = pa.table(
    {"user_id": [1, 2, 3], "productResearch": [True, True, False]}
)  # user 4 has no record: the default (off)
COMMON = dict(
    by="page", privacy_unit="user_id", epsilon=1000.0, public_groups=["a", "b"]
)


def _counts(out):
    return dict(zip(out["page"].to_pylist(), out["count"].to_pylist(), strict=True))


def test_consent_table_keeps_only_consenting_users():
    out = lp.aggregate_count(
        EVENTS,
        purpose="productResearch",
        consent=CONSENT,
        max_partitions_per_user=2,
        **COMMON,
    )
    assert _counts(out) == {"a": 2, "b": 1}  # users 1 and 2


def test_row_level_column_decides_without_a_table():
    out = lp.aggregate_count(
        EVENTS,
        purpose="productResearch",
        max_partitions_per_user=2,
        max_contributions_per_partition=3,
        **COMMON,
    )
    # rows flagged True: (1,a), (1,b), (3,b), (4,a); the null row takes the default (off)
    assert _counts(out) == {"a": 2, "b": 2}


def test_default_off_purpose_gives_a_noisy_empty_answer():
    t = EVENTS.drop_columns(["productResearch"])
    out = lp.aggregate_count(t, purpose="enhancedInsights", **COMMON)
    assert _counts(out) == {"a": 0, "b": 0}
    out = lp.aggregate_count(
        t, purpose="essentialAnalytics", max_partitions_per_user=2, **COMMON
    )
    assert _counts(out) == {"a": 4, "b": 2}


def test_polars_and_cohorts_take_purpose():
    out = lp.aggregate_count(
        pl.from_arrow(EVENTS),
        purpose="productResearch",
        consent=pl.from_arrow(CONSENT),
        max_partitions_per_user=2,
        **COMMON,
    )
    assert out["count"].to_list() == [2, 1]
    ret = lp.cohort_retention(
        EVENTS,
        privacy_unit="user_id",
        time="ts",
        start="2026-01-01",
        end="2026-02-01",
        n_periods=1,
        epsilon=1000.0,
        min_cohort_size=None,
        purpose="productResearch",
        consent=CONSENT,
    )
    assert ret["cohort_size"].to_pylist() == [2]


@pytest.mark.parametrize(
    ("kw", "exc", "text"),
    [
        ({"purpose": "marketing"}, lp.UnknownPurposeError, "marketing"),
        ({"consent": CONSENT}, lp.InvalidParameterError, "purpose"),
        (
            {
                "purpose": "productResearch",
                "consent": CONSENT.drop_columns(["user_id"]),
            },
            lp.ColumnNotFoundError,
            "user_id",
        ),
    ],
)
def test_bad_consent_input_spends_nothing(kw, exc, text):
    acc = lp.Accountant(epsilon=5000.0)
    with pytest.raises(exc, match=text):
        lp.aggregate_count(EVENTS, accountant=acc, **COMMON, **kw)
    assert len(acc.receipts) == 0
