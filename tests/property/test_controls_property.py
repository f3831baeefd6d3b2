"""Hypothesis: erasure removes exactly the erased users, pseudonyms are stable,
keyed and injective, consent and retention filters match row-by-row
references, exports round-trip, and a withdrawn user never comes back."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopkit_privacy.controls import (
    PURPOSES,
    PrivacySettings,
    PseudonymKey,
    apply_consent,
    apply_retention,
    consent_filter_arrow,
    consent_status,
    erase_users,
    export_user_data,
    pseudonymize,
    retention_cutoff,
    withdraw_consent,
)
from tests.families import FAMILIES, FAMILY_TYPE, to_arrow

# Every example converts tables between libraries: fewer, slower examples.
TABLES = settings(
    max_examples=max(20, settings.default.max_examples // 2),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


users = st.integers(min_value=0, max_value=12)
families = st.sampled_from(list(FAMILIES))


@st.composite
def event_tables(draw, *, min_rows=0):
    n = draw(st.integers(min_value=min_rows, max_value=40))
    ids = draw(st.lists(users, min_size=n, max_size=n))
    values = draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n))
    return pa.table(
        {"user_id": pa.array(ids, pa.int64()), "value": values, "row": range(n)}
    )


keys = st.binary(min_size=16, max_size=64).map(PseudonymKey)


# ---------------------------------------------------------------------------
# Erasure
# ---------------------------------------------------------------------------


@TABLES
@given(table=event_tables(), erased=st.sets(users, max_size=6), family=families)
def test_erasure_removes_exactly_the_erased_users(table, erased, family):
    out = erase_users(FAMILIES[family](table), user_ids=erased, privacy_unit="user_id")
    assert isinstance(out, FAMILY_TYPE[family])
    got = to_arrow(out).to_pylist()
    expected = [r for r in table.to_pylist() if r["user_id"] not in erased]
    assert got == expected  # every other row kept, in order
    assert not {r["user_id"] for r in got} & erased


@settings(deadline=None)
@given(
    ids=st.lists(st.one_of(st.text(max_size=4), st.none()), max_size=30),
    erased=st.lists(st.text(max_size=4), max_size=5),
)
def test_erasure_of_string_ids_with_nulls(ids, erased):
    table = pa.table({"u": pa.array(ids, pa.string())})
    out = erase_users(table, user_ids=erased, privacy_unit="u")["u"].to_pylist()
    assert out == [u for u in ids if u is None or u not in set(erased)]


# ---------------------------------------------------------------------------
# Pseudonyms
# ---------------------------------------------------------------------------

scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=12),
    st.binary(max_size=12),
    st.floats(allow_nan=False),
    st.booleans(),
)


def _pseudonyms_of(values, key):
    """Pseudonym of each value, one single-typed column per value."""
    out = []
    for v in values:
        t = pa.table({"v": pa.array([v])})
        out.append(pseudonymize(t, column="v", key=key)["v"][0].as_py())
    return out


@settings(deadline=None, max_examples=max(20, settings.default.max_examples // 2))
@given(
    values=st.lists(scalars, max_size=12, unique_by=lambda v: (type(v), v)), key=keys
)
def test_pseudonyms_are_injective_across_values_and_types(values, key):
    # Distinct (type, value) pairs get distinct pseudonyms: 1, True, 1.0,
    # "1" and b"1" all differ.
    got = _pseudonyms_of(values, key)
    assert len(set(got)) == len(values)


@TABLES
@given(
    ids=st.lists(st.one_of(st.text(max_size=6), st.none()), max_size=30),
    key=keys,
    family=families,
)
def test_pseudonyms_are_stable_and_keep_nulls(ids, key, family):
    table = pa.table({"u": pa.array(ids, pa.string())})
    reference = pseudonymize(table, column="u", key=key)["u"].to_pylist()
    got = to_arrow(pseudonymize(FAMILIES[family](table), column="u", key=key))[
        "u"
    ].to_pylist()
    assert got == reference
    mapping = {}
    for value, pseudonym in zip(ids, reference, strict=True):
        assert (value is None) == (pseudonym is None)
        if value is not None:
            assert mapping.setdefault(value, pseudonym) == pseudonym
    assert len(set(mapping.values())) == len(mapping)
    assert key.hex() not in str(reference)


@settings(deadline=None)
@given(
    ids=st.lists(
        st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=20, unique=True
    ),
    a=keys,
    b=keys,
)
def test_two_keys_give_unrelated_pseudonyms(ids, a, b):
    table = pa.table({"u": pa.array(ids, pa.int64())})
    pa_ = pseudonymize(table, column="u", key=a)["u"].to_pylist()
    pb = pseudonymize(table, column="u", key=b)["u"].to_pylist()
    if a == b:
        assert pa_ == pb
    else:
        assert not set(pa_) & set(pb)


# ---------------------------------------------------------------------------
# Consent
# ---------------------------------------------------------------------------

answers = st.one_of(st.booleans(), st.none())


@st.composite
def consent_tables(draw):
    people = draw(st.lists(users, unique=True, max_size=10))
    columns = {"user_id": pa.array(people, pa.int64())}
    for p in draw(st.sets(st.sampled_from(PURPOSES))):
        columns[p] = pa.array(
            draw(st.lists(answers, min_size=len(people), max_size=len(people))),
            pa.bool_(),
        )
    return pa.table(columns)


@TABLES
@given(
    table=event_tables(),
    consent=consent_tables(),
    purpose=st.sampled_from(PURPOSES),
    defaults=st.fixed_dictionaries({p: st.booleans() for p in PURPOSES[1:]}),
    family=families,
)
def test_consent_table_filter_matches_each_users_status(
    table, consent, purpose, defaults, family
):
    s = PrivacySettings(consent_defaults=defaults)
    out = apply_consent(
        FAMILIES[family](table),
        purpose=purpose,
        privacy_unit="user_id",
        consent=consent,
        settings=s,
    )
    assert isinstance(out, FAMILY_TYPE[family])
    status = {
        u: consent_status(consent, user_id=u, privacy_unit="user_id", settings=s)[
            purpose
        ]
        for u in set(table["user_id"].to_pylist())
    }
    expected = [r for r in table.to_pylist() if status[r["user_id"]]]
    assert to_arrow(out).to_pylist() == expected
    arrow = consent_filter_arrow(
        table, purpose, privacy_unit="user_id", consent=consent, settings=s
    )
    assert arrow.to_pylist() == expected


@TABLES
@given(
    table=event_tables(),
    flags=st.lists(answers, min_size=40, max_size=40),
    default=st.booleans(),
    unit=st.sampled_from(["user_id", None]),
)
def test_row_level_flags_decide_row_by_row(table, flags, default, unit):
    flags = flags[: table.num_rows]
    data = table.append_column("userResearch", pa.array(flags, pa.bool_()))
    s = PrivacySettings(consent_defaults={"userResearch": default})
    out = apply_consent(data, purpose="userResearch", privacy_unit=unit, settings=s)
    expected = [
        r
        for r in data.to_pylist()
        if (default if r["userResearch"] is None else r["userResearch"])
    ]
    assert out.to_pylist() == expected
    # The required purpose ignores the flags.
    flagged = table.append_column("essentialAnalytics", pa.array(flags, pa.bool_()))
    assert apply_consent(
        flagged, purpose="essentialAnalytics", privacy_unit=unit
    ).equals(flagged)


@TABLES
@given(
    table=event_tables(),
    consent=consent_tables(),
    withdrawn=st.sets(users, min_size=1, max_size=5),
    family=families,
)
def test_withdrawn_users_never_come_back(table, consent, withdrawn, family):
    updated = withdraw_consent(
        FAMILIES[family](consent), user_ids=sorted(withdrawn), privacy_unit="user_id"
    )
    assert isinstance(updated, FAMILY_TYPE[family])
    everyone_yes = PrivacySettings(consent_defaults=dict.fromkeys(PURPOSES[1:], True))
    for purpose in PURPOSES[1:]:
        kept = apply_consent(
            table,
            purpose=purpose,
            privacy_unit="user_id",
            consent=updated,
            settings=everyone_yes,
        )
        assert not set(kept["user_id"].to_pylist()) & withdrawn
    # Other users' records are unchanged.
    before = {r["user_id"]: r for r in consent.to_pylist()}
    after = {r["user_id"]: r for r in to_arrow(updated).to_pylist()}
    assert set(after) == set(before) | withdrawn
    for user, record in before.items():
        if user not in withdrawn:
            for name, value in record.items():
                assert after[user][name] == value


# ---------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------

NOW = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)
periods = st.one_of(
    st.builds(
        lambda n, u: f"{n}-{u}",
        st.integers(1, 30),
        st.sampled_from(["days", "weeks", "months", "years"]),
    ),
    st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=4000)),
)


@TABLES
@given(
    offsets=st.lists(st.one_of(st.none(), st.integers(-(10**9), 10**8)), max_size=40),
    period=periods,
    unit=st.sampled_from(["s", "ms", "us", "ns"]),
    tz=st.sampled_from([None, "UTC", "America/New_York"]),
    family=families,
)
def test_retention_keeps_exactly_the_recent_rows(offsets, period, unit, tz, family):
    times = [None if o is None else NOW - timedelta(seconds=o) for o in offsets]
    arr = pa.array(times, pa.timestamp("us", "UTC")).cast(pa.timestamp(unit, "UTC"))
    if tz != "UTC":
        arr = arr.cast(pa.timestamp(unit, tz)) if tz else arr.cast(pa.timestamp(unit))
    table = pa.table({"t": arr, "i": range(len(times))})
    out = apply_retention(
        FAMILIES[family](table), time_column="t", period=period, now=NOW
    )
    assert isinstance(out, FAMILY_TYPE[family])
    cutoff = retention_cutoff(period, now=NOW)
    expected = [i for i, t in enumerate(times) if t is not None and t >= cutoff]
    assert to_arrow(out)["i"].to_pylist() == expected


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


@TABLES
@given(
    table=event_tables(),
    user=users,
    fmt=st.sampled_from(["json", "csv", "parquet"]),
    compression=st.sampled_from([None, "gzip"]),
    family=families,
)
def test_export_contains_exactly_that_users_rows(table, user, fmt, compression, family):
    payload = export_user_data(
        FAMILIES[family](table),
        user_id=user,
        privacy_unit="user_id",
        format=fmt,
        compression=compression,
    )
    if compression:
        payload = gzip.decompress(payload)
    expected = [r for r in table.to_pylist() if r["user_id"] == user]
    if fmt == "json":
        doc = json.loads(payload)
        assert doc["row_count"] == len(expected)
        assert doc["user_id"] == user
        rows = doc["records"]
    elif fmt == "csv":
        schema = table.schema
        opts = pacsv.ConvertOptions(column_types=schema)
        rows = pacsv.read_csv(io.BytesIO(payload), convert_options=opts).to_pylist()
    else:
        rows = pq.read_table(io.BytesIO(payload)).to_pylist()
    assert rows == expected
