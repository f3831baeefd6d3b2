"""controls: pseudonyms, consent, retention, erasure and export."""

from __future__ import annotations

import copy
import dataclasses
import gzip
import hashlib
import hmac
import inspect
import io
import json
import os
import pickle
import stat
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import loopkit_privacy as lp
from loopkit_privacy import _consent_filter, controls, errors
from loopkit_privacy.controls import (
    DEFAULT_PRIVACY_SETTINGS,
    PURPOSES,
    REQUIRED_PURPOSES,
    PrivacySettings,
    PseudonymKey,
    apply_consent,
    apply_retention,
    consent_columns,
    consent_filter_arrow,
    consent_status,
    erase_users,
    export_user_data,
    make_key,
    pseudonymize,
    retention_cutoff,
    update_consent,
    withdraw_consent,
)
from loopkit_privacy.controls._pseudonyms import _Hmac
from loopkit_privacy.errors import (
    ColumnNotFoundError,
    ColumnTypeError,
    DuplicateUnitError,
    InvalidParameterError,
    KeyExposureError,
    MissingKeyError,
    SchemaError,
    UnknownPurposeError,
)
from tests.families import FAMILIES, FAMILY_TYPE, to_arrow

KEY = PseudonymKey(bytes(range(32)))


@pytest.fixture(params=list(FAMILIES))
def family(request):
    return request.param


def col(out, name) -> list:
    return to_arrow(out).column(name).to_pylist()


EVENTS = pa.table(
    {
        "user_id": [1, 1, 2, 3, 4, 4],
        "page": ["a", "b", "a", "c", "d", "e"],
        "errorTracking": [True, False, None, True, None, False],
    }
)


# ---------------------------------------------------------------------------
# The public surface
# ---------------------------------------------------------------------------


def test_all_names_exist_and_are_documented_with_examples():
    for name in controls.__all__:
        obj = getattr(controls, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            doc = inspect.getdoc(obj) or ""
            assert "Examples" in doc, name
            assert "Parameters" in doc or "Returns" in doc, name


def test_the_consent_filter_is_reexported_and_applies_the_default_settings():
    # The filter lives below the releases (loopkit_privacy._consent_filter);
    # without settings it applies the rules of DEFAULT_PRIVACY_SETTINGS.
    assert controls.consent_filter_arrow is _consent_filter.consent_filter_arrow
    assert controls.consent_columns is _consent_filter.consent_columns
    assert controls.PURPOSES is _consent_filter.PURPOSES
    assert controls.REQUIRED_PURPOSES is _consent_filter.REQUIRED_PURPOSES
    rules = _consent_filter._rules(None)
    assert rules.purposes == DEFAULT_PRIVACY_SETTINGS.purposes
    assert dict(rules.consent_defaults) == dict(
        DEFAULT_PRIVACY_SETTINGS.consent_defaults
    )
    assert rules.required_purposes == DEFAULT_PRIVACY_SETTINGS.required_purposes
    assert isinstance(PrivacySettings(), _consent_filter.ConsentRules)
    with pytest.raises(InvalidParameterError, match="`settings` must be"):
        consent_filter_arrow(
            EVENTS, "errorTracking", privacy_unit="user_id", settings={"a": 1}
        )


def test_new_errors_are_in_the_hierarchy_and_sorted():
    assert issubclass(MissingKeyError, InvalidParameterError)
    assert issubclass(UnknownPurposeError, InvalidParameterError)
    assert issubclass(DuplicateUnitError, SchemaError)
    assert issubclass(KeyExposureError, lp.PrivacyError)
    assert issubclass(KeyExposureError, TypeError)
    names = [n for n in errors.__all__]
    assert names == sorted(names)
    err = UnknownPurposeError("x", parameter="purpose", value="p", known=["a"])
    assert err.known == ("a",)
    assert DuplicateUnitError("x", column="u", count=2).count == 2


def test_keyword_only_parameters():
    # Everything after the table is keyword-only, as in the aggregations.
    for func, positional in [
        (pseudonymize, {"table"}),
        (apply_consent, {"table"}),
        (consent_filter_arrow, {"data", "purpose"}),
        (apply_retention, {"table"}),
        (erase_users, {"table"}),
        (export_user_data, {"table"}),
        (withdraw_consent, {"consent"}),
        (update_consent, {"consent"}),
        (consent_status, {"consent"}),
    ]:
        params = inspect.signature(func).parameters
        pos = {
            n for n, p in params.items() if p.kind is not inspect.Parameter.KEYWORD_ONLY
        }
        assert pos == positional, func.__name__


@pytest.mark.parametrize(
    "func",
    [
        apply_consent,
        erase_users,
        export_user_data,
        withdraw_consent,
        update_consent,
        consent_status,
    ],
)
def test_privacy_unit_is_required(func):
    param = inspect.signature(func).parameters["privacy_unit"]
    assert param.kind is inspect.Parameter.KEYWORD_ONLY
    assert param.default is inspect.Parameter.empty


def test_missing_privacy_unit_is_refused():
    events = pa.table({"user_id": [1, 2], "page": ["a", "b"]})
    with pytest.raises(TypeError, match=r"privacy_unit"):
        erase_users(events, user_ids=[1])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"positional argument"):
        erase_users(events, [1], privacy_unit="user_id")  # type: ignore[misc]


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------


def test_make_key_is_random_32_bytes():
    a, b = make_key(), make_key()
    assert len(a.hex()) == 64
    assert a != b
    assert a.key_id != b.key_id
    assert len(a.key_id) == 16
    int(a.key_id, 16)


def test_key_from_bytes_like_and_hex():
    raw = bytes(range(16, 48))
    k = PseudonymKey(raw)
    assert PseudonymKey(bytearray(raw)) == k
    assert PseudonymKey(memoryview(raw)) == k
    assert PseudonymKey(k) == k
    assert PseudonymKey.from_hex(k.hex()) == k
    assert PseudonymKey.from_hex("  " + k.hex().upper() + "\n") == k
    assert hash(PseudonymKey(raw)) == hash(k)
    assert k != PseudonymKey(raw[::-1])
    assert k != raw  # a key is not equal to its bytes
    assert PseudonymKey(bytes(16)).key_id  # 16 bytes is the minimum


def test_key_id_is_an_hmac_fingerprint():
    raw = bytes(range(32))
    expected = hmac.digest(raw, b"loopkit_privacy/key-id/v1", "sha256")[:8].hex()
    assert PseudonymKey(raw).key_id == expected


@pytest.mark.parametrize("bad", [b"short", b"", bytes(15)])
def test_short_keys_are_refused(bad):
    with pytest.raises(InvalidParameterError, match=r"at least 16 bytes") as info:
        PseudonymKey(bad)
    assert info.value.value is None


def test_text_keys_are_refused_with_a_hint_and_not_echoed():
    secret = "correct horse battery staple and more"
    with pytest.raises(InvalidParameterError, match=r"from_hex") as info:
        PseudonymKey(secret)
    assert secret not in str(info.value)
    assert info.value.value is None
    with pytest.raises(InvalidParameterError, match=r"text passphrase"):
        pseudonymize(EVENTS, column="page", key=secret)
    with pytest.raises(InvalidParameterError, match=r"got int"):
        PseudonymKey(12345)  # type: ignore[arg-type]


def test_bad_hex_is_not_echoed():
    text = "zz" + "ab" * 31
    with pytest.raises(InvalidParameterError, match=r"not a hexadecimal key") as info:
        PseudonymKey.from_hex(text)
    assert text not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    with pytest.raises(InvalidParameterError, match=r"must be a str"):
        PseudonymKey.from_hex(b"00" * 32)  # type: ignore[arg-type]


def test_key_never_shows_in_repr_str_or_format():
    k = make_key()
    secret = k.hex()
    texts = [repr(k), str(k), f"{k}", f"{k!r}", f"{k}", repr([k]), repr({"k": k})]
    for text in texts:
        assert secret not in text
        assert secret.upper() not in text
        assert k.key_id in text
    assert repr(k) == f"PseudonymKey(key_id={k.key_id!r})"
    assert not hasattr(k, "__dict__")


def test_key_is_not_pickled_and_is_immutable():
    k = make_key()
    with pytest.raises(KeyExposureError, match=r"key\.hex\(\)") as info:
        pickle.dumps(k)
    assert k.hex() not in str(info.value)
    with pytest.raises(TypeError, match=r"PseudonymKey is not pickled"):
        pickle.dumps({"key": k})
    with pytest.raises(KeyExposureError, match=r"PseudonymKey is not pickled"):
        k.__getstate__()
    assert copy.copy(k) is k
    assert copy.deepcopy({"k": k})["k"] is k
    with pytest.raises(AttributeError, match="immutable"):
        k._secret = b"x" * 32  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del k._secret


# ---------------------------------------------------------------------------
# Pseudonyms
# ---------------------------------------------------------------------------


def _reference_pseudonym(raw: bytes, message: bytes, n: int = 16) -> str:
    sub = hmac.digest(raw, b"loopkit_privacy/pseudonym/hmac-sha256/v1", "sha256")
    return hmac.digest(sub, message, "sha256")[:n].hex()


def test_pseudonyms_follow_the_documented_construction():
    raw = bytes(range(32))
    t = pa.table({"s": ["alice@x.org"], "i": [42], "f": [1.5], "b": [True]})
    out = pseudonymize(t, column="s", key=raw)
    assert out["s"][0].as_py() == _reference_pseudonym(raw, b"s\x00alice@x.org")
    out = pseudonymize(t, column="i", key=raw, digest_bytes=32)
    assert out["i"][0].as_py() == _reference_pseudonym(raw, b"i\x0042", 32)
    out = pseudonymize(t, column="f", key=raw)
    assert out["f"][0].as_py() == _reference_pseudonym(
        raw, b"f\x00" + (1.5).hex().encode()
    )
    out = pseudonymize(t, column="b", key=raw)
    assert out["b"][0].as_py() == _reference_pseudonym(raw, b"b\x001")


@pytest.mark.parametrize("size", [0, 1, 16, 32, 63, 64, 65, 200])
def test_internal_hmac_equals_the_standard_library(size):
    key = bytes((7 * i + 3) % 256 for i in range(size))
    mac = _Hmac(key)
    for message in [b"", b"a", b"s\x00hello", bytes(range(256)) * 3]:
        assert mac.digest(message) == hmac.digest(key, message, "sha256")
    assert len(mac.digest(b"x")) == hashlib.sha256().digest_size


def test_pseudonyms_are_stable_across_calls_and_families(family):
    t = pa.table({"user_id": [3, 1, 3, None, 2], "email": ["c", "a", "c", None, "b"]})
    reference = pseudonymize(t, column="email", key=KEY)["email"].to_pylist()
    again = pseudonymize(t, column="email", key=bytes(range(32)))  # raw bytes of KEY
    assert again["email"].to_pylist() == reference
    out = pseudonymize(FAMILIES[family](t), column="email", key=KEY)
    assert isinstance(out, FAMILY_TYPE[family])
    assert col(out, "email") == reference
    assert reference[0] == reference[2]
    assert reference[3] is None
    assert len(set(reference[:3] + reference[4:])) == 3
    ids = pseudonymize(FAMILIES[family](t), column="user_id", key=KEY)
    assert (
        col(ids, "user_id")
        == pseudonymize(t, column="user_id", key=KEY)["user_id"].to_pylist()
    )


def test_pseudonyms_differ_between_keys():
    t = pa.table({"u": list(range(100))})
    a = pseudonymize(t, column="u", key=make_key())["u"].to_pylist()
    b = pseudonymize(t, column="u", key=make_key())["u"].to_pylist()
    assert not set(a) & set(b)


def test_values_of_different_types_do_not_collide():
    cols = {
        "int": pa.array([1]),
        "str": pa.array(["1"]),
        "float": pa.array([1.0]),
        "bool": pa.array([True]),
        "bytes": pa.array([b"1"]),
        "decimal": pa.array([Decimal("1")]),
        "date": pa.array([date(1970, 1, 2)]),
        "naive_ts": pa.array([1], pa.timestamp("ns")),
        "utc_ts": pa.array([1], pa.timestamp("ns", "UTC")),
        "duration": pa.array([1], pa.duration("ns")),
        "time": pa.array([1], pa.time64("ns")),
    }
    t = pa.table(cols)
    seen = {
        name: pseudonymize(t, column=name, key=KEY)[name][0].as_py() for name in cols
    }
    assert len(set(seen.values())) == len(cols), seen


def test_same_value_same_pseudonym_whatever_the_width_or_unit():
    t = pa.table(
        {
            "i8": pa.array([5, -3], pa.int8()),
            "i64": pa.array([5, -3], pa.int64()),
            "u16": pa.array([5, 7], pa.uint16()),
            "f32": pa.array([0.5, 2.0], pa.float32()),
            "f64": pa.array([0.5, 2.0], pa.float64()),
            "s": pa.array(["x", "y"], pa.string()),
            "ls": pa.array(["x", "y"], pa.large_string()),
            "dict": pa.array(["x", "y"]).dictionary_encode(),
            "ts_us": pa.array([1_000, 2_000], pa.timestamp("us", "UTC")),
            "ts_ns": pa.array(
                [1_000_000, 2_000_000], pa.timestamp("ns", "Europe/Paris")
            ),
            "d32": pa.array([date(2024, 1, 1), date(2024, 1, 2)], pa.date32()),
            "d64": pa.array([date(2024, 1, 1), date(2024, 1, 2)], pa.date64()),
        }
    )

    def p(name):
        return pseudonymize(t, column=name, key=KEY)[name].to_pylist()

    assert p("i8") == p("i64")
    assert p("u16")[0] == p("i64")[0]
    assert p("f32") == p("f64")
    assert p("s") == p("ls") == p("dict")
    assert p("ts_us") == p("ts_ns")  # the same instants
    assert p("d32") == p("d64")


def test_categorical_and_string_columns_match_across_libraries():
    t = pa.table({"s": ["b", "a", "b", None]})
    ref = pseudonymize(t, column="s", key=KEY)["s"].to_pylist()
    cat = pl.DataFrame({"s": ["b", "a", "b", None]}, schema={"s": pl.Categorical})
    assert pseudonymize(cat, column="s", key=KEY)["s"].to_list() == ref
    pdf = pd.DataFrame({"s": pd.Categorical(["b", "a", "b", None])})
    assert list(pseudonymize(pdf, column="s", key=KEY)["s"]) == ref


def test_pseudonymize_keeps_nulls_and_chunks():
    t = pa.Table.from_batches(
        [
            pa.record_batch({"u": pa.array(["a", None], pa.string())}),
            pa.record_batch({"u": pa.array(["a", "b"], pa.string())}),
        ]
    )
    out = pseudonymize(t, column="u", key=KEY)["u"].to_pylist()
    assert out[1] is None
    assert out[0] == out[2] != out[3]
    nulls = pa.table({"u": pa.nulls(3)})
    assert pseudonymize(nulls, column="u", key=KEY)["u"].to_pylist() == [None] * 3
    pdf = pd.DataFrame({"u": [1.0, np.nan]})  # pandas spells a missing id NaN
    assert list(pseudonymize(pdf, column="u", key=KEY)["u"])[1] is None


def test_pseudonymize_empty_table(family):
    t = pa.table({"u": pa.array([], pa.int64()), "x": pa.array([], pa.float64())})
    out = pseudonymize(FAMILIES[family](t), column="u", key=KEY)
    assert isinstance(out, FAMILY_TYPE[family])
    assert to_arrow(out).num_rows == 0


def test_output_column_and_digest_length():
    t = pa.table({"email": ["a", "b"], "n": [1, 2]})
    out = pseudonymize(t, column="email", key=KEY, output="user_key", digest_bytes=8)
    assert out.column_names == ["email", "n", "user_key"]
    assert out["email"].to_pylist() == ["a", "b"]
    assert all(len(v) == 16 for v in out["user_key"].to_pylist())
    replaced = pseudonymize(t, column="email", key=KEY)
    assert replaced.column_names == ["email", "n"]
    assert replaced["email"].to_pylist()[0][:16] == out["user_key"].to_pylist()[0]
    with pytest.raises(InvalidParameterError, match=r"`output` 'n' is already"):
        pseudonymize(t, column="email", key=KEY, output="n")
    for bad in [7, 33, 16.0, True, "16"]:
        with pytest.raises(InvalidParameterError, match=r"digest_bytes"):
            pseudonymize(t, column="email", key=KEY, digest_bytes=bad)


def test_output_column_in_other_families(family):
    t = pa.table({"email": ["a", "b"], "n": [1, 2]})
    out = pseudonymize(FAMILIES[family](t), column="email", key=KEY, output="p")
    got = to_arrow(out)
    assert got.column_names == ["email", "n", "p"]
    assert (
        got["p"].to_pylist()
        == pseudonymize(t, column="email", key=KEY)["email"].to_pylist()
    )


def test_pandas_index_is_kept_by_pseudonymize():
    pdf = pd.DataFrame({"u": ["a", "b"]}, index=[10, 20])
    out = pseudonymize(pdf, column="u", key=KEY)
    assert list(out.index) == [10, 20]
    assert list(pdf["u"]) == ["a", "b"]  # the input is not modified


def test_key_none_is_refused():
    with pytest.raises(MissingKeyError, match=r"make_key\(\)") as info:
        pseudonymize(EVENTS, column="page", key=None)
    assert info.value.parameter == "key"
    assert isinstance(info.value, InvalidParameterError)
    assert "dictionary" in str(info.value) or "candidates" in str(info.value)


def test_key_never_appears_in_outputs_metadata_or_errors():
    k = make_key()
    secret = k.hex()
    out = pseudonymize(EVENTS, column="page", key=k)
    dump = repr(out) + str(out.schema) + str(out.schema.metadata) + str(out.to_pylist())
    for f in out.schema:
        dump += str(f.metadata)
    assert secret not in dump
    assert (
        out.schema.field("page").metadata[b"loopkit_privacy.key_id"]
        == k.key_id.encode()
    )
    sink = io.BytesIO()
    pq.write_table(out, sink)
    assert k._secret not in sink.getvalue()
    assert secret.encode() not in sink.getvalue()
    for bad_call, match in [
        (lambda: pseudonymize(EVENTS, column="nope", key=k), r"column 'nope' is not"),
        (
            lambda: pseudonymize(EVENTS, column="page", key=k, digest_bytes=99),
            r"`digest_bytes` must be an integer from 8 to 32",
        ),
        (
            lambda: pseudonymize(pa.table({"l": [[1]]}), column="l", key=k),
            r"column 'l' of type list<item: int64> cannot be pseudonymised",
        ),
    ]:
        with pytest.raises(lp.PrivacyError, match=match) as info:
            bad_call()
        assert secret not in str(info.value)
        assert secret not in repr(info.value.args)


def test_unsupported_types_are_refused():
    with pytest.raises(ColumnTypeError, match=r"cannot be pseudonymised"):
        pseudonymize(pa.table({"l": [[1, 2]]}), column="l", key=KEY)
    with pytest.raises(ColumnNotFoundError, match=r"'nope'"):
        pseudonymize(EVENTS, column="nope", key=KEY)


def test_each_distinct_value_is_hashed_once(monkeypatch):
    calls = []
    original = _Hmac.digest

    def counting(self, message):
        calls.append(message)
        return original(self, message)

    monkeypatch.setattr(_Hmac, "digest", counting)
    t = pa.table({"u": np.tile(np.array([7, 8, 9]), 1000)})
    out = pseudonymize(t, column="u", key=KEY)
    assert out.num_rows == 3000
    assert sorted(calls) == [b"i\x007", b"i\x008", b"i\x009"]


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------


def test_purposes_and_seed_defaults():
    assert PURPOSES == (
        "essentialAnalytics",
        "performanceMonitoring",
        "enhancedInsights",
        "errorTracking",
        "userResearch",
        "productResearch",
    )
    assert frozenset({"essentialAnalytics"}) == REQUIRED_PURPOSES
    s = PrivacySettings()
    assert s == DEFAULT_PRIVACY_SETTINGS
    assert s.data_retention == "1-year"
    # Only what the library enforces is a setting.
    assert [f.name for f in dataclasses.fields(s)] == [
        "data_retention",
        "consent_defaults",
        "custom_purposes",
        "required_purposes",
    ]
    assert dict(s.consent_defaults) == {p: p == "essentialAnalytics" for p in PURPOSES}
    assert hash(s) == hash(PrivacySettings())
    with pytest.raises(TypeError, match=r"does not support item assignment"):
        s.consent_defaults["userResearch"] = True  # type: ignore[index]
    with pytest.raises(
        AttributeError, match=r"cannot assign to field 'data_retention'"
    ):
        s.data_retention = "2-years"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"data_retention": "forever"}, r"`data_retention` must be '1-year'"),
        ({"data_retention": timedelta(0)}, r"`data_retention`"),
        ({"consent_defaults": {"nope": True}}, r"unknown consent purpose 'nope'"),
        ({"consent_defaults": {"userResearch": "yes"}}, r"must be True or False"),
        (
            {"consent_defaults": {"essentialAnalytics": False}},
            r"cannot be False: the purpose is required",
        ),
        ({"custom_purposes": ("userResearch",)}, r"must not repeat"),
        ({"custom_purposes": ("",)}, r"non-empty strings"),
        ({"custom_purposes": "abc"}, r"tuple of purpose names"),
        ({"required_purposes": {"nope"}}, r"unknown consent purpose"),
        ({"consent_defaults": [("a", True)]}, r"mapping of purpose to bool"),
    ],
)
def test_settings_are_validated(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        PrivacySettings(**kwargs)


def test_settings_overrides_and_custom_purposes():
    s = PrivacySettings(consent_defaults={"performanceMonitoring": True})
    assert s.consent_defaults["performanceMonitoring"] is True
    assert s.consent_defaults["essentialAnalytics"] is True
    s2 = s.with_purpose("betaFeatures", default=True).with_purpose(
        "billing", required=True
    )
    assert s2.purposes == (*PURPOSES, "betaFeatures", "billing")
    assert s2.consent_defaults["betaFeatures"] is True
    assert s2.consent_defaults["billing"] is True
    assert "billing" in s2.required_purposes
    assert s.purposes == PURPOSES  # unchanged
    with pytest.raises(InvalidParameterError, match=r"must not repeat"):
        s2.with_purpose("billing")
    no_required = PrivacySettings(required_purposes=frozenset())
    assert no_required.consent_defaults["essentialAnalytics"] is True


def test_settings_repr_reads_like_the_constructor():
    s = PrivacySettings(data_retention=timedelta(days=30)).with_purpose(
        "billing", required=True
    )
    text = repr(s)
    assert "mappingproxy" not in text
    assert "required_purposes=frozenset({'billing', 'essentialAnalytics'})" in text
    namespace = {"PrivacySettings": PrivacySettings, "datetime": __import__("datetime")}
    assert eval(text, namespace) == s


def test_settings_dict_round_trip_and_camel_case():
    s = PrivacySettings().with_purpose("betaFeatures")
    assert PrivacySettings.from_dict(s.to_dict()) == s
    seed = {"dataRetention": "1-year", "consentDefaults": {"userResearch": False}}
    assert PrivacySettings.from_dict(seed) == PrivacySettings()
    # The seed's declarations that nothing enforces are not settings.
    for key in ("dataCollection", "crossSiteTracking", "kAnonymity", "min_cohort_size"):
        with pytest.raises(
            InvalidParameterError, match=rf"`{key}` is not a privacy setting"
        ) as info:
            PrivacySettings.from_dict({**seed, key: False})
        assert info.value.parameter == key
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'k_anonymity'"):
        PrivacySettings(k_anonymity=5)  # type: ignore[call-arg]
    with pytest.raises(
        InvalidParameterError, match=r"unknown privacy setting 'sellData'"
    ):
        PrivacySettings.from_dict({"sellData": True})


# ---------------------------------------------------------------------------
# Consent
# ---------------------------------------------------------------------------


def test_defaults_keep_everything_for_essential_and_nothing_otherwise(family):
    t = EVENTS.drop_columns(["errorTracking"])
    data = FAMILIES[family](t)
    kept = apply_consent(data, purpose="essentialAnalytics", privacy_unit="user_id")
    assert isinstance(kept, FAMILY_TYPE[family])
    assert col(kept, "page") == t["page"].to_pylist()
    for purpose in PURPOSES[1:]:
        none = apply_consent(data, purpose=purpose, privacy_unit="user_id")
        assert isinstance(none, FAMILY_TYPE[family])
        got = to_arrow(none)
        assert got.num_rows == 0
        assert got.column_names == t.column_names


def test_row_level_column_decides(family):
    kept = apply_consent(
        FAMILIES[family](EVENTS), purpose="errorTracking", privacy_unit="user_id"
    )
    assert col(kept, "page") == ["a", "c"]
    event_level = apply_consent(
        FAMILIES[family](EVENTS), purpose="errorTracking", privacy_unit=None
    )
    assert col(event_level, "page") == ["a", "c"]
    yes = PrivacySettings(consent_defaults={"errorTracking": True})
    kept = apply_consent(
        FAMILIES[family](EVENTS),
        purpose="errorTracking",
        privacy_unit="user_id",
        settings=yes,
    )
    assert col(kept, "page") == ["a", "a", "c", "d"]  # nulls take the default


def test_consent_table_with_missing_users_and_nulls(family):
    consent = pa.table(
        {
            "user_id": [1, 2, 3, 9],
            "enhancedInsights": [True, None, False, True],
        }
    )
    for consent_family in FAMILIES:
        kept = apply_consent(
            FAMILIES[family](EVENTS),
            purpose="enhancedInsights",
            privacy_unit="user_id",
            consent=FAMILIES[consent_family](consent),
        )
        assert isinstance(kept, FAMILY_TYPE[family])
        assert col(kept, "user_id") == [1, 1]
    yes = PrivacySettings(consent_defaults={"enhancedInsights": True})
    kept = apply_consent(
        FAMILIES[family](EVENTS),
        purpose="enhancedInsights",
        privacy_unit="user_id",
        consent=consent,
        settings=yes,
    )
    assert col(kept, "user_id") == [1, 1, 2, 4, 4]  # only user 3 refused


def test_consent_table_takes_precedence_over_row_flags():
    consent = pa.table({"user_id": [2, 3], "errorTracking": [True, False]})
    kept = apply_consent(
        EVENTS, purpose="errorTracking", privacy_unit="user_id", consent=consent
    )
    assert kept["user_id"].to_pylist() == [2]


def test_consent_table_without_the_purpose_column_gives_defaults():
    consent = pa.table({"user_id": [1, 2], "userResearch": [True, True]})
    kept = apply_consent(
        EVENTS, purpose="productResearch", privacy_unit="user_id", consent=consent
    )
    assert kept.num_rows == 0
    kept = apply_consent(
        EVENTS, purpose="userResearch", privacy_unit="user_id", consent=consent
    )
    assert kept["user_id"].to_pylist() == [1, 1, 2]


def test_required_purpose_cannot_be_refused():
    consent = pa.table({"user_id": [1, 2], "essentialAnalytics": [False, False]})
    kept = apply_consent(
        EVENTS, purpose="essentialAnalytics", privacy_unit="user_id", consent=consent
    )
    assert kept.num_rows == EVENTS.num_rows
    flags = EVENTS.append_column("essentialAnalytics", pa.array([False] * 6))
    assert (
        apply_consent(
            flags, purpose="essentialAnalytics", privacy_unit="user_id"
        ).num_rows
        == 6
    )


def test_unknown_purpose_lists_the_known_ones():
    with pytest.raises(
        UnknownPurposeError, match=r"did you mean 'enhancedInsights'"
    ) as info:
        apply_consent(EVENTS, purpose="enhancedInsight", privacy_unit="user_id")
    assert info.value.known == PURPOSES
    assert "essentialAnalytics, performanceMonitoring" in str(info.value)
    assert isinstance(info.value, InvalidParameterError)
    with pytest.raises(
        UnknownPurposeError, match=r"unknown consent purpose 'marketing'"
    ):
        consent_filter_arrow(EVENTS, "marketing", privacy_unit="user_id")
    custom = PrivacySettings().with_purpose("marketing", default=True)
    assert (
        consent_filter_arrow(
            EVENTS, "marketing", privacy_unit="user_id", settings=custom
        ).num_rows
        == 6
    )


def test_consent_table_errors():
    with pytest.raises(
        DuplicateUnitError, match=r"several records for 1 value"
    ) as info:
        apply_consent(
            EVENTS,
            purpose="errorTracking",
            privacy_unit="user_id",
            consent=pa.table(
                {"user_id": [1, 1, 2], "errorTracking": [True, False, True]}
            ),
        )
    assert info.value.count == 1
    assert info.value.column == "user_id"
    with pytest.raises(ColumnTypeError, match=r"must be boolean"):
        apply_consent(
            EVENTS,
            purpose="errorTracking",
            privacy_unit="user_id",
            consent=pa.table({"user_id": [1], "errorTracking": ["yes"]}),
        )
    with pytest.raises(ColumnNotFoundError, match=r"not in the consent table"):
        apply_consent(
            EVENTS,
            purpose="errorTracking",
            privacy_unit="user_id",
            consent=pa.table({"uid": [1], "errorTracking": [True]}),
        )
    with pytest.raises(ColumnNotFoundError, match=r"'uid'"):
        apply_consent(EVENTS, purpose="errorTracking", privacy_unit="uid")
    with pytest.raises(ColumnNotFoundError, match=r"'uid'"):
        consent_filter_arrow(EVENTS, "errorTracking", privacy_unit="uid")
    with pytest.raises(SchemaError, match=r"null"):
        apply_consent(
            EVENTS,
            purpose="errorTracking",
            privacy_unit="user_id",
            consent=pa.table({"user_id": [1, None], "errorTracking": [True, True]}),
        )
    with pytest.raises(ColumnTypeError, match=r"string values but the privacy-unit"):
        apply_consent(
            EVENTS,
            purpose="errorTracking",
            privacy_unit="user_id",
            consent=pa.table({"user_id": ["1"], "errorTracking": [False]}),
            settings=PrivacySettings(consent_defaults={"errorTracking": True}),
        )
    with pytest.raises(ColumnTypeError, match=r"string values"):
        # Checked even when no answer differs from the default.
        apply_consent(
            EVENTS,
            purpose="errorTracking",
            privacy_unit="user_id",
            consent=pa.table({"user_id": ["1"], "errorTracking": [False]}),
        )
    with pytest.raises(InvalidParameterError, match=r"`consent` must be a table"):
        apply_consent(
            EVENTS, purpose="errorTracking", privacy_unit="user_id", consent={1: True}
        )
    with pytest.raises(ColumnTypeError, match=r"in the event table must be boolean"):
        apply_consent(
            pa.table({"user_id": [1], "errorTracking": [1]}),
            purpose="errorTracking",
            privacy_unit="user_id",
        )


def test_event_level_queries_cannot_use_a_consent_table():
    consent = pa.table({"user_id": [1], "errorTracking": [True]})
    with pytest.raises(InvalidParameterError, match=r"event-level") as info:
        consent_filter_arrow(
            EVENTS, "errorTracking", privacy_unit=None, consent=consent
        )
    assert info.value.parameter == "consent"
    with pytest.raises(InvalidParameterError, match=r"event-level"):
        apply_consent(
            EVENTS, purpose="errorTracking", privacy_unit=None, consent=consent
        )
    with pytest.raises(InvalidParameterError, match=r"`privacy_unit` must be"):
        apply_consent(EVENTS, purpose="errorTracking", privacy_unit=3)  # type: ignore[arg-type]


def test_consent_filter_arrow_is_the_engine():
    consent = pa.table({"user_id": [1, 4], "errorTracking": [True, True]})
    data = EVENTS.append_column("extra", pa.array(range(6)))
    out = consent_filter_arrow(
        data, "errorTracking", privacy_unit="user_id", consent=consent
    )
    assert out.column_names == data.column_names  # other columns carried through
    assert out["extra"].to_pylist() == [0, 1, 4, 5]
    assert (
        out.to_pylist()
        == apply_consent(
            data, purpose="errorTracking", privacy_unit="user_id", consent=consent
        ).to_pylist()
    )
    same = consent_filter_arrow(data, "essentialAnalytics", privacy_unit="user_id")
    assert same.equals(data)
    with pytest.raises(InvalidParameterError, match=r"pyarrow.Table"):
        consent_filter_arrow(data.to_pandas(), "errorTracking", privacy_unit="user_id")
    with pytest.raises(InvalidParameterError, match=r"`settings` must be"):
        consent_filter_arrow(data, "errorTracking", privacy_unit="user_id", settings={})


def test_consent_columns():
    assert consent_columns("errorTracking", EVENTS.column_names) == ["errorTracking"]
    assert consent_columns("userResearch", EVENTS.column_names) == []


def test_apply_consent_keeps_the_pandas_index_and_dtypes():
    pdf = pd.DataFrame(
        {"user_id": [1, 2, 3], "c": pd.Categorical(["x", "y", "x"])}, index=[7, 8, 9]
    )
    consent = pd.DataFrame({"user_id": [3, 1], "userResearch": [True, True]})
    kept = apply_consent(
        pdf, purpose="userResearch", privacy_unit="user_id", consent=consent
    )
    assert list(kept.index) == [7, 9]
    assert isinstance(kept["c"].dtype, pd.CategoricalDtype)


def test_string_and_categorical_units():
    events = pa.table({"u": pa.array(["a", "b", "c"]).dictionary_encode()})
    consent = pl.DataFrame({"u": ["c", "a"], "userResearch": [True, False]})
    kept = apply_consent(
        events, purpose="userResearch", privacy_unit="u", consent=consent
    )
    assert kept["u"].to_pylist() == ["c"]


def test_null_units_get_the_default():
    events = pa.table({"u": [1, None, 2]})
    consent = pa.table({"u": [1, 2], "userResearch": [True, False]})
    assert apply_consent(
        events, purpose="userResearch", privacy_unit="u", consent=consent
    )["u"].to_pylist() == [1]
    yes = PrivacySettings(consent_defaults={"userResearch": True})
    assert apply_consent(
        events, purpose="userResearch", privacy_unit="u", consent=consent, settings=yes
    )["u"].to_pylist() == [1, None]


def test_empty_tables_in_consent(family):
    t = pa.table({"user_id": pa.array([], pa.int64()), "x": pa.array([], pa.float64())})
    consent = pa.table({"user_id": [1], "userResearch": [True]})
    for purpose in ["essentialAnalytics", "userResearch"]:
        out = apply_consent(
            FAMILIES[family](t),
            purpose=purpose,
            privacy_unit="user_id",
            consent=consent,
        )
        assert isinstance(out, FAMILY_TYPE[family])
        assert to_arrow(out).num_rows == 0
    empty_consent = pa.table(
        {"user_id": pa.array([], pa.int64()), "userResearch": pa.array([], pa.bool_())}
    )
    out = apply_consent(
        EVENTS, purpose="userResearch", privacy_unit="user_id", consent=empty_consent
    )
    assert out.num_rows == 0


def test_consent_output_feeds_an_aggregation(insecure_rng):
    kept = apply_consent(EVENTS, purpose="userResearch", privacy_unit="user_id")
    out = lp.aggregate_count(
        kept,
        by="page",
        privacy_unit="user_id",
        epsilon=1.0,
        public_groups=["a", "b"],
        rng=insecure_rng,
    )
    assert out.num_rows == 2


def test_withdraw_consent(family):
    consent = pa.table(
        {
            "user_id": [1, 2, 3],
            "userResearch": [True, True, None],
            "errorTracking": [True, None, True],
            "note": ["a", "b", "c"],
        }
    )
    out = withdraw_consent(
        FAMILIES[family](consent), user_ids=[2, 5, 5], privacy_unit="user_id"
    )
    assert isinstance(out, FAMILY_TYPE[family])
    got = to_arrow(out).to_pylist()
    assert [r["user_id"] for r in got] == [1, 2, 3, 5]
    by_user = {r["user_id"]: r for r in got}
    for p in PURPOSES[1:]:
        assert by_user[2][p] is False
        assert by_user[5][p] is False
    assert by_user[1]["userResearch"] is True
    assert by_user[3]["errorTracking"] is True
    assert by_user[1]["enhancedInsights"] is None  # a new column, no answer
    assert "essentialAnalytics" not in by_user[1]
    assert by_user[5]["note"] is None
    assert by_user[2]["note"] == "b"
    for p in PURPOSES[1:]:
        kept = apply_consent(
            EVENTS,
            purpose=p,
            privacy_unit="user_id",
            consent=out,
            settings=PrivacySettings(consent_defaults={p: True}),
        )
        assert 2 not in kept["user_id"].to_pylist()


def test_withdraw_some_purposes_and_errors():
    consent = pa.table({"user_id": [1, 2], "userResearch": [True, True]})
    out = withdraw_consent(
        consent, user_ids=1, privacy_unit="user_id", purposes="userResearch"
    )
    assert out.to_pylist() == [
        {"user_id": 1, "userResearch": False},
        {"user_id": 2, "userResearch": True},
    ]
    with pytest.raises(InvalidParameterError, match=r"required .* cannot be withdrawn"):
        withdraw_consent(
            consent,
            user_ids=[1],
            privacy_unit="user_id",
            purposes=["essentialAnalytics"],
        )
    with pytest.raises(UnknownPurposeError, match=r"unknown consent purpose 'ads'"):
        withdraw_consent(
            consent, user_ids=[1], privacy_unit="user_id", purposes=["ads"]
        )
    with pytest.raises(ColumnTypeError, match=r"`user_ids` hold string values"):
        withdraw_consent(consent, user_ids=["1"], privacy_unit="user_id")
    with pytest.raises(
        DuplicateUnitError, match=r"several records for 1 value\(s\) of 'user_id'"
    ):
        withdraw_consent(
            pa.table({"user_id": [1, 1]}), user_ids=[1], privacy_unit="user_id"
        )
    fresh = withdraw_consent(None, user_ids=["u1", "u2"], privacy_unit="user")
    assert fresh.num_rows == 2
    assert fresh.column_names == ["user", *PURPOSES[1:]]
    assert fresh["user"].to_pylist() == ["u1", "u2"]


def test_update_consent_and_status():
    consent = update_consent(
        None, user_id=7, purpose="errorTracking", granted=True, privacy_unit="user_id"
    )
    consent = update_consent(
        consent,
        user_id=8,
        purpose="errorTracking",
        granted=False,
        privacy_unit="user_id",
    )
    consent = update_consent(
        consent, user_id=7, purpose="userResearch", granted=True, privacy_unit="user_id"
    )
    assert consent.to_pylist() == [
        {"user_id": 7, "errorTracking": True, "userResearch": True},
        {"user_id": 8, "errorTracking": False, "userResearch": None},
    ]
    status = consent_status(consent, user_id=7, privacy_unit="user_id")
    assert status == {
        "essentialAnalytics": True,
        "performanceMonitoring": False,
        "enhancedInsights": False,
        "errorTracking": True,
        "userResearch": True,
        "productResearch": False,
    }
    assert consent_status(consent, user_id=99, privacy_unit="user_id") == dict(
        DEFAULT_PRIVACY_SETTINGS.consent_defaults
    )
    assert (
        consent_status(None, user_id=7, privacy_unit="user_id")["errorTracking"]
        is False
    )
    with pytest.raises(InvalidParameterError, match=r"cannot be refused"):
        update_consent(
            consent,
            user_id=7,
            purpose="essentialAnalytics",
            granted=False,
            privacy_unit="user_id",
        )
    with pytest.raises(InvalidParameterError, match=r"`granted` must be True or False"):
        update_consent(
            consent,
            user_id=7,
            purpose="errorTracking",
            granted=1,
            privacy_unit="user_id",
        )  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"one non-null id"):
        update_consent(
            consent,
            user_id=[7, 8],
            purpose="errorTracking",
            granted=True,
            privacy_unit="user_id",
        )
    pl_consent = update_consent(
        pl.DataFrame({"user_id": [1]}),
        user_id=1,
        purpose="errorTracking",
        granted=True,
        privacy_unit="user_id",
    )
    assert isinstance(pl_consent, pl.DataFrame)
    assert pl_consent.to_dicts() == [{"user_id": 1, "errorTracking": True}]


# ---------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "now", "expected"),
    [
        ("1-year", NOW, datetime(2024, 3, 15, 12, tzinfo=UTC)),
        ("2-years", NOW, datetime(2023, 3, 15, 12, tzinfo=UTC)),
        ("6-months", NOW, datetime(2024, 9, 15, 12, tzinfo=UTC)),
        ("90-days", NOW, NOW - timedelta(days=90)),
        ("12-weeks", NOW, NOW - timedelta(weeks=12)),
        ("1 year", NOW, datetime(2024, 3, 15, 12, tzinfo=UTC)),
        ("3 Months", NOW, datetime(2024, 12, 15, 12, tzinfo=UTC)),
        ("1-day", NOW, NOW - timedelta(days=1)),
        (timedelta(hours=36), NOW, NOW - timedelta(hours=36)),
        # Calendar clamping.
        (
            "1-year",
            datetime(2024, 2, 29, tzinfo=UTC),
            datetime(2023, 2, 28, tzinfo=UTC),
        ),
        (
            "4-years",
            datetime(2024, 2, 29, tzinfo=UTC),
            datetime(2020, 2, 29, tzinfo=UTC),
        ),
        (
            "6-months",
            datetime(2024, 8, 31, tzinfo=UTC),
            datetime(2024, 2, 29, tzinfo=UTC),
        ),
        (
            "1-month",
            datetime(2023, 3, 31, tzinfo=UTC),
            datetime(2023, 2, 28, tzinfo=UTC),
        ),
        (
            "13-months",
            datetime(2024, 1, 31, tzinfo=UTC),
            datetime(2022, 12, 31, tzinfo=UTC),
        ),
        # Naive and other-zone `now`; dates.
        ("1-year", datetime(2025, 3, 15, 12), datetime(2024, 3, 15, 12, tzinfo=UTC)),
        (
            "1-day",
            datetime(2025, 3, 15, 1, tzinfo=timezone(timedelta(hours=3))),
            datetime(2025, 3, 13, 22, tzinfo=UTC),
        ),
        ("1-year", date(2025, 3, 15), datetime(2024, 3, 15, tzinfo=UTC)),
    ],
)
def test_retention_cutoff(period, now, expected):
    got = retention_cutoff(period, now=now)
    assert got == expected
    assert got.tzinfo is not None
    assert got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "bad",
    [
        "1 decade",
        "forever",
        "-1-year",
        "0-days",
        "1.5-years",
        "",
        365,
        None,
        timedelta(-1),
    ],
)
def test_bad_periods_list_the_accepted_forms(bad):
    if bad is None:
        return  # None means the settings' default
    with pytest.raises(
        InvalidParameterError, match=r"'1-year', '2-years', '6-months'"
    ) as info:
        retention_cutoff(bad, now=NOW)
    assert info.value.parameter == "period"


def test_bad_now_and_overflow():
    with pytest.raises(InvalidParameterError, match=r"`now` must be a datetime"):
        retention_cutoff("1-year", now="2025-01-01")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"before year 1"):
        retention_cutoff("3000-years", now=NOW)
    with pytest.raises(InvalidParameterError, match=r"before year 1"):
        retention_cutoff("1000000-days", now=NOW)


def test_default_period_comes_from_settings():
    assert retention_cutoff(now=NOW) == datetime(2024, 3, 15, 12, tzinfo=UTC)
    s = PrivacySettings(data_retention="2-years")
    assert retention_cutoff(now=NOW, settings=s) == datetime(
        2023, 3, 15, 12, tzinfo=UTC
    )
    s = PrivacySettings(data_retention=timedelta(days=1))
    assert retention_cutoff(now=NOW, settings=s) == NOW - timedelta(days=1)


def test_default_now_is_the_current_time():
    before = datetime.now(UTC)
    got = retention_cutoff("1-day")
    after = datetime.now(UTC)
    assert before - timedelta(days=1) <= got <= after - timedelta(days=1)
    recent = datetime.now(UTC) - timedelta(hours=1)
    t = pa.table(
        {
            "t": pa.array(
                [recent, recent - timedelta(days=800)], pa.timestamp("us", "UTC")
            )
        }
    )
    assert apply_retention(t, time_column="t").num_rows == 1


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_rows_exactly_at_the_cutoff_are_kept(unit):
    cutoff = retention_cutoff("1-year", now=NOW)
    step = {"s": timedelta(seconds=1), "ms": timedelta(milliseconds=1)}.get(
        unit, timedelta(microseconds=1)
    )
    times = [cutoff - step, cutoff, cutoff + step, None, NOW + timedelta(days=9)]
    t = pa.table({"t": pa.array(times, pa.timestamp(unit, "UTC")), "i": range(5)})
    out = apply_retention(t, time_column="t", period="1-year", now=NOW)
    assert out["i"].to_pylist() == [1, 2, 4]  # null dropped, future kept


def test_cutoff_between_ticks_rounds_up():
    now = datetime(2025, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)
    t = pa.table(
        {
            "t": pa.array(
                [
                    datetime(2024, 12, 31, tzinfo=UTC),
                    datetime(2024, 12, 31, 0, 0, 1, tzinfo=UTC),
                ],
                pa.timestamp("s", "UTC"),
            )
        }
    )
    # cutoff 2024-12-31 00:00:00.5: the whole second 00:00:00 is older.
    assert apply_retention(t, time_column="t", period="1-day", now=now).num_rows == 1


def test_time_zones_compare_instants():
    # 2024-03-15 12:30 in Paris is 11:30 UTC: before the 12:00 UTC cutoff.
    paris = pa.array(
        [
            datetime(2024, 3, 15, 11, 30, tzinfo=UTC),
            datetime(2024, 3, 15, 12, 30, tzinfo=UTC),
        ],
        pa.timestamp("us", "UTC"),
    ).cast(pa.timestamp("us", "Europe/Paris"))
    out = apply_retention(
        pa.table({"t": paris}), time_column="t", period="1-year", now=NOW
    )
    assert out.num_rows == 1
    assert out["t"][0].as_py() == datetime(2024, 3, 15, 12, 30, tzinfo=UTC)
    # A `now` given in another zone is the same instant.
    tokyo = NOW.astimezone(timezone(timedelta(hours=9)))
    assert (
        apply_retention(
            pa.table({"t": paris}), time_column="t", period="1-year", now=tokyo
        ).num_rows
        == 1
    )
    # Naive timestamps are read as UTC.
    naive = pa.table(
        {"t": pa.array([datetime(2024, 3, 15, 11, 59), datetime(2024, 3, 15, 12, 0)])}
    )
    assert apply_retention(naive, time_column="t", period="1-year", now=NOW)[
        "t"
    ].to_pylist() == [datetime(2024, 3, 15, 12, 0)]


@pytest.mark.parametrize("typ", [pa.date32(), pa.date64()])
def test_date_columns_keep_the_cutoff_day(typ):
    days = [date(2024, 3, 14), date(2024, 3, 15), date(2024, 3, 16), None]
    t = pa.table({"d": pa.array(days, typ)})
    out = apply_retention(t, time_column="d", period="1-year", now=NOW)
    assert out["d"].to_pylist() == [date(2024, 3, 15), date(2024, 3, 16)]
    leap = pa.table({"d": pa.array([date(2023, 2, 27), date(2023, 2, 28)], typ)})
    assert apply_retention(
        leap, time_column="d", period="1-year", now=date(2024, 2, 29)
    )["d"].to_pylist() == [date(2023, 2, 28)]


def test_retention_in_every_family(family):
    t = pa.table(
        {
            "t": pa.array(
                [NOW - timedelta(days=400), NOW - timedelta(days=10), None],
                pa.timestamp("us", "UTC"),
            ),
            "x": [1, 2, 3],
        }
    )
    out = apply_retention(
        FAMILIES[family](t), time_column="t", period="1-year", now=NOW
    )
    assert isinstance(out, FAMILY_TYPE[family])
    assert col(out, "x") == [2]
    empty = apply_retention(
        FAMILIES[family](t.slice(0, 0)), time_column="t", period="1-year", now=NOW
    )
    assert isinstance(empty, FAMILY_TYPE[family])
    assert to_arrow(empty).num_rows == 0


def test_retention_keeps_the_pandas_index():
    pdf = pd.DataFrame(
        {"t": pd.to_datetime(["2020-01-01", "2025-03-01", None], utc=True)},
        index=[5, 6, 7],
    )
    assert list(
        apply_retention(pdf, time_column="t", period="1-year", now=NOW).index
    ) == [6]


def test_retention_errors():
    t = pa.table({"t": ["2024-01-01"], "d": [date(2024, 1, 1)]})
    with pytest.raises(ColumnTypeError, match=r"must be a timestamp or a date"):
        apply_retention(t, time_column="t", period="1-year", now=NOW)
    with pytest.raises(ColumnNotFoundError, match=r"'nope'"):
        apply_retention(t, time_column="nope", period="1-year", now=NOW)
    with pytest.raises(InvalidParameterError, match=r"accepted|'1-year'"):
        apply_retention(t, time_column="d", period="1-fortnight", now=NOW)
    with pytest.raises(InvalidParameterError, match=r"`time_column`"):
        apply_retention(t, time_column=3, period="1-year", now=NOW)  # type: ignore[arg-type]


def test_very_long_periods_keep_every_timed_row():
    t = pa.table(
        {
            "t": pa.array([0, None, 10**18], pa.timestamp("ns")),
            "d": pa.array([0, 1, 2], pa.date32()),
        }
    )
    assert (
        apply_retention(t, time_column="t", period="400-years", now=NOW).num_rows == 2
    )
    assert (
        apply_retention(t, time_column="d", period="400-years", now=NOW).num_rows == 3
    )


# ---------------------------------------------------------------------------
# Erasure
# ---------------------------------------------------------------------------


def test_erase_users_in_every_family(family):
    out = erase_users(FAMILIES[family](EVENTS), user_ids=[1, 4], privacy_unit="user_id")
    assert isinstance(out, FAMILY_TYPE[family])
    assert col(out, "user_id") == [2, 3]
    assert col(out, "page") == ["a", "c"]
    empty = erase_users(
        FAMILIES[family](EVENTS.slice(0, 0)), user_ids=[1], privacy_unit="user_id"
    )
    assert to_arrow(empty).num_rows == 0


@pytest.mark.parametrize(
    "ids",
    [
        [2, 3],
        (2, 3),
        {2, 3},
        frozenset({3, 2}),
        np.array([2, 3]),
        np.array([2, 3], dtype=np.int32),
        pa.array([2, 3], pa.int16()),
        pa.chunked_array([[2], [3]]),
        pl.Series([2, 3]),
        pd.Series([2, 3]),
        pd.array([2, 3, None], dtype="Int64"),
        [2, 3, None, 99],
        (x for x in [2, 3]),
    ],
    ids=lambda v: type(v).__name__,
)
def test_erase_accepts_many_id_containers(ids):
    out = erase_users(EVENTS, user_ids=ids, privacy_unit="user_id")
    assert out["user_id"].to_pylist() == [1, 1, 4, 4]


def test_erase_single_ids_and_strings():
    t = pa.table({"u": ["ab", "a", "b", None], "n": [1, 2, 3, 4]})
    # A single string is one id, not its characters.
    assert erase_users(t, user_ids="ab", privacy_unit="u")["n"].to_pylist() == [2, 3, 4]
    assert erase_users(t, user_ids=["a", "b"], privacy_unit="u")["n"].to_pylist() == [
        1,
        4,
    ]
    assert erase_users(EVENTS, user_ids=1, privacy_unit="user_id").num_rows == 4
    assert erase_users(EVENTS, user_ids=[], privacy_unit="user_id").num_rows == 6
    assert erase_users(EVENTS, user_ids=[None], privacy_unit="user_id").num_rows == 6
    big = pa.table({"u": pa.array([1, 2], pa.int8())})
    assert erase_users(big, user_ids=[1, 1000], privacy_unit="u")["u"].to_pylist() == [
        2
    ]


def test_erase_type_mismatch_and_mixed_ids():
    with pytest.raises(
        ColumnTypeError,
        match=r"string values but the privacy-unit column 'user_id' is int64",
    ):
        erase_users(EVENTS, user_ids=["1"], privacy_unit="user_id")
    with pytest.raises(InvalidParameterError, match=r"ids of one type"):
        erase_users(EVENTS, user_ids=[1, "a"], privacy_unit="user_id")
    with pytest.raises(ColumnNotFoundError, match=r"column 'uid' is not in the table"):
        erase_users(EVENTS, user_ids=[1], privacy_unit="uid")


def test_erase_on_pandas_float_ids_and_index():
    pdf = pd.DataFrame(
        {"u": [1.0, 2.0, np.nan, 1.0], "n": [1, 2, 3, 4]}, index=list("wxyz")
    )
    out = erase_users(pdf, user_ids=[1], privacy_unit="u")
    assert list(out.index) == ["x", "y"]
    assert list(out["n"]) == [2, 3]


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------

RICH = pa.table(
    {
        "user_id": ["u1", "u2", "u1"],
        "at": pa.array(
            [datetime(2024, 5, 1, 10, 30, 15, 250000, tzinfo=UTC)] * 2 + [None],
            pa.timestamp("us", "Europe/Paris"),
        ),
        "naive": pa.array([datetime(2024, 5, 1, 8), None, datetime(2024, 5, 2, 9)]),
        "day": pa.array([date(2024, 5, 1), date(2024, 5, 2), None]),
        "value": [1.5, 2.5, float("nan")],
        "n": [1, 2, 3],
    }
)


def test_export_json_document():
    payload = export_user_data(RICH, user_id="u1", privacy_unit="user_id")
    doc = json.loads(payload)
    assert doc["privacy_unit"] == "user_id"
    assert doc["user_id"] == "u1"
    assert doc["row_count"] == 2
    assert [c["name"] for c in doc["columns"]] == RICH.column_names
    first, second = doc["records"]
    assert first["at"] == "2024-05-01T10:30:15.250000Z"
    assert datetime.fromisoformat(first["at"]) == datetime(
        2024, 5, 1, 10, 30, 15, 250000, tzinfo=UTC
    )
    assert first["naive"] == "2024-05-01T08:00:00.000000"
    assert first["day"] == "2024-05-01"
    assert second["at"] is None
    assert second["value"] is None
    assert [r["n"] for r in doc["records"]] == [1, 3]


@pytest.mark.parametrize("compression", [None, "gzip"])
@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_export_round_trips(fmt, compression, family):
    data = FAMILIES[family](EVENTS)
    payload = export_user_data(
        data, user_id=4, privacy_unit="user_id", format=fmt, compression=compression
    )
    assert isinstance(payload, bytes)
    if compression == "gzip":
        assert payload[:2] == b"\x1f\x8b"
        payload = gzip.decompress(payload)
    if fmt == "json":
        rows = json.loads(payload)["records"]
    elif fmt == "csv":
        assert payload.startswith(b'"user_id","page","errorTracking"\n')
        rows = pacsv.read_csv(io.BytesIO(payload)).to_pylist()
    else:
        rows = pq.read_table(io.BytesIO(payload)).to_pylist()
    expected = [r for r in EVENTS.to_pylist() if r["user_id"] == 4]
    assert rows == expected


def test_export_is_deterministic_and_writes_private_files(tmp_path):
    a = export_user_data(EVENTS, user_id=1, privacy_unit="user_id", compression="gzip")
    b = export_user_data(EVENTS, user_id=1, privacy_unit="user_id", compression="gzip")
    assert a == b
    target = tmp_path / "u1.json.gz"
    got = export_user_data(
        EVENTS, user_id=1, privacy_unit="user_id", compression="gzip", path=str(target)
    )
    assert got == target
    assert target.read_bytes() == a
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_export_of_an_absent_user_is_empty_not_an_error():
    doc = json.loads(export_user_data(EVENTS, user_id=99, privacy_unit="user_id"))
    assert doc["row_count"] == 0
    assert doc["records"] == []
    csv = export_user_data(EVENTS, user_id=99, privacy_unit="user_id", format="csv")
    assert csv == b'"user_id","page","errorTracking"\n'
    pq_bytes = export_user_data(
        EVENTS, user_id=99, privacy_unit="user_id", format="parquet"
    )
    assert pq.read_table(io.BytesIO(pq_bytes)).schema.names == EVENTS.column_names


def test_export_errors():
    with pytest.raises(InvalidParameterError, match=r"`format` must be one of") as info:
        export_user_data(EVENTS, user_id=1, privacy_unit="user_id", format="xml")  # type: ignore[arg-type]
    assert info.value.value == "xml"
    with pytest.raises(InvalidParameterError, match=r"`compression` must be 'gzip'"):
        export_user_data(EVENTS, user_id=1, privacy_unit="user_id", compression="zip")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"one non-null id"):
        export_user_data(EVENTS, user_id=[1, 2], privacy_unit="user_id")
    with pytest.raises(InvalidParameterError, match=r"one non-null id"):
        export_user_data(EVENTS, user_id=None, privacy_unit="user_id")
    with pytest.raises(ColumnTypeError, match=r"`user_id` hold string values"):
        export_user_data(EVENTS, user_id="1", privacy_unit="user_id")
    with pytest.raises(
        ColumnNotFoundError, match=r"privacy-unit column 'uid' is not in the table"
    ):
        export_user_data(EVENTS, user_id=1, privacy_unit="uid")
    nested = pa.table({"u": [1], "l": [[1, 2]]})
    with pytest.raises(ColumnTypeError, match=r"format='json'"):
        export_user_data(nested, user_id=1, privacy_unit="u", format="csv")
    doc = json.loads(export_user_data(nested, user_id=1, privacy_unit="u"))
    assert doc["records"] == [{"u": 1, "l": [1, 2]}]


def test_export_special_values():
    t = pa.table(
        {
            "u": [1],
            "b": [b"\x00\xff"],
            "dec": pa.array([Decimal("1.25")]),
            "dur": pa.array([timedelta(seconds=90)]),
            "inf": [float("inf")],
        }
    )
    (record,) = json.loads(export_user_data(t, user_id=1, privacy_unit="u"))["records"]
    assert record == {"u": 1, "b": "AP8=", "dec": "1.25", "dur": 90.0, "inf": None}
