"""The call forms the documentation promises, positional where it shows them so."""

from __future__ import annotations

import gzip
import io

import pyarrow as pa
import pyarrow.csv as pacsv

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
    assert lp.k_anonymity(T, ["zip", "age"]) == 1
    table, report = lp.ensure_k_anonymity(T, quasi_identifiers=["zip", "age"], k=2)
    assert lp.k_anonymity(table, ["zip", "age"]) == 2
    assert report.rows_suppressed == 1
    assert lp.l_diversity(table, ["zip", "age"], "diagnosis") == 1
    groups = pa.table({"page": ["a", "b"], "count": [3, 9]})
    assert lp.filter_groups(groups, count="count", k=5)["page"].to_pylist() == ["b"]


def test_erasure_and_export_default_to_user_id():
    kept = lp.erase_users(T, [1, 4])
    assert 1 not in kept["user_id"].to_pylist()
    assert 4 not in kept["user_id"].to_pylist()
    assert kept.num_rows == 3
    blob = lp.export_user_data(T, 1, format="csv", compression="gzip")
    rows = pacsv.read_csv(io.BytesIO(gzip.decompress(blob)))
    assert rows["user_id"].to_pylist() == [1, 1]


def test_pseudonymize_requires_a_key():
    key = lp.make_key()
    out = lp.pseudonymize(T, "user_id", key=key)
    assert out["user_id"].to_pylist()[0] == out["user_id"].to_pylist()[1]
    assert key.hex() not in repr(key)
