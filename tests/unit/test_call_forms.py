"""The call forms the documentation promises: the table positional, the rest by keyword."""

from __future__ import annotations

import gzip
import inspect
import io

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import loopkit_privacy as lp

T = pa.table(
    {
        "user_id": [1, 1, 2, 3, 4, 5],
        "zip": ["10", "10", "10", "20", "20", "30"],
        "age": [30, 30, 30, 40, 40, 50],
        "diagnosis": ["x", "y", "x", "x", "x", "z"],
    }
)


def test_k_anonymity_forms():
    assert lp.k_anonymity(T, quasi_identifiers=["zip", "age"]) == 1
    table, report = lp.ensure_k_anonymity(T, quasi_identifiers=["zip", "age"], k=2)
    assert lp.k_anonymity(table, quasi_identifiers=["zip", "age"]) == 2
    assert report.rows_suppressed == 1
    assert (
        lp.l_diversity(table, quasi_identifiers=["zip", "age"], sensitive="diagnosis")
        == 1
    )
    groups = pa.table({"page": ["a", "b"], "count": [3, 9]})
    assert lp.filter_groups(groups, count="count", k=5)["page"].to_pylist() == ["b"]


def test_erasure_and_export_name_the_user_column():
    kept = lp.erase_users(T, user_ids=[1, 4], privacy_unit="user_id")
    assert 1 not in kept["user_id"].to_pylist()
    assert 4 not in kept["user_id"].to_pylist()
    assert kept.num_rows == 3
    blob = lp.export_user_data(
        T, user_id=1, privacy_unit="user_id", format="csv", compression="gzip"
    )
    rows = pacsv.read_csv(io.BytesIO(gzip.decompress(blob)))
    assert rows["user_id"].to_pylist() == [1, 1]


def test_pseudonymize_requires_a_key():
    key = lp.make_key()
    out = lp.pseudonymize(T, column="user_id", key=key)
    assert out["user_id"].to_pylist()[0] == out["user_id"].to_pylist()[1]
    assert key.hex() not in repr(key)


def test_positional_arguments_after_the_table_are_refused():
    with pytest.raises(TypeError, match=r"positional argument"):
        lp.k_anonymity(T, ["zip", "age"])  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"positional argument"):
        lp.pseudonymize(T, "user_id", key=lp.make_key())  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"privacy_unit"):
        lp.erase_users(T, user_ids=[1])  # type: ignore[call-arg]


def test_kanon_takes_everything_after_the_table_by_keyword():
    for func in (
        lp.k_anonymity,
        lp.ensure_k_anonymity,
        lp.l_diversity,
        lp.filter_groups,
        lp.kanon.generalize_dates,
        lp.kanon.generalize_numbers,
        lp.kanon.top_code,
        lp.kanon.generalize_rare,
    ):
        params = list(inspect.signature(func).parameters.values())
        assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:]), (
            func.__name__
        )
