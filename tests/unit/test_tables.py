"""tables.py: family detection, column selection, validation and factorisation."""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from loopkit_privacy import tables
from loopkit_privacy.errors import (
    ColumnNotFoundError,
    ColumnTypeError,
    NonFiniteValueError,
    SchemaError,
)
from tests.families import FAMILIES

EVENTS = pa.table(
    {
        "user_id": [1, 1, 2, 3],
        "page": ["a", "b", "a", None],
        "minutes": [1.5, None, 3.0, 4.0],
    }
)


@pytest.fixture(params=list(FAMILIES))
def family(request):
    return request.param


def test_as_arrow_detects_the_family_and_selects_columns(family):
    data = FAMILIES[family](EVENTS)
    arrow, got = tables.as_arrow(data, ["page", "user_id", "page"])
    assert got == family
    assert isinstance(arrow, pa.Table)
    assert arrow.column_names == ["page", "user_id"]  # duplicates ignored
    assert arrow.column("page").to_pylist() == ["a", "b", "a", None]
    assert arrow.column("user_id").to_pylist() == [1, 1, 2, 3]


def test_as_arrow_unknown_column_lists_available(family):
    data = FAMILIES[family](EVENTS)
    with pytest.raises(
        ColumnNotFoundError,
        match=r"'nope'.*available columns: 'user_id', 'page', 'minutes'",
    ) as err:
        tables.as_arrow(data, ["user_id", "nope"])
    assert err.value.column == "nope"
    assert isinstance(err.value, SchemaError)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("obj", [{"a": [1]}, [[1, 2]], np.zeros((2, 2)), pa.array([1])])
def test_as_arrow_refuses_other_objects(obj):
    with pytest.raises(
        ColumnTypeError,
        match=r"must be a pyarrow.Table, polars DataFrame/LazyFrame or pandas DataFrame",
    ):
        tables.as_arrow(obj, [])


def test_lazy_frame_is_collected_with_only_the_needed_columns():
    lazy = pl.LazyFrame({"u": [1, 2], "k": ["x", "y"], "big": [[1, 2], [3]]})
    arrow, fam = tables.as_arrow(lazy, ["k"])
    assert fam == "polars_lazy"
    assert arrow.column_names == ["k"]


@pytest.mark.parametrize("family_name", list(FAMILIES))
def test_from_arrow_returns_the_family(family_name):
    result = pa.table({"k": ["a", None], "count": pa.array([1, 2], pa.int64())})
    out = tables.from_arrow(result, family_name)
    kind = {
        "arrow": pa.Table,
        "polars": pl.DataFrame,
        "polars_lazy": pl.LazyFrame,
        "pandas": pd.DataFrame,
    }[family_name]
    assert isinstance(out, kind)
    back, _ = tables.as_arrow(out, ["k", "count"])
    assert back.column("k").to_pylist() == ["a", None]
    assert back.column("count").to_pylist() == [1, 2]


# ---------------------------------------------------------------------------
# numeric_column
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arr",
    [
        pa.array([1, 2, 3], pa.int8()),
        pa.array([1, 2, 3], pa.uint64()),
        pa.array([1.0, 2.0, 3.0], pa.float32()),
        pa.array([1.0, 2.0, 3.0], pa.float64()),
        pa.array(
            [decimal.Decimal("1.0"), decimal.Decimal("2"), decimal.Decimal("3.00")]
        ),
    ],
    ids=["int8", "uint64", "float32", "float64", "decimal"],
)
def test_numeric_column_accepts_numbers(arr):
    values, valid = tables.numeric_column(pa.table({"x": arr}), "x")
    assert values.dtype == np.float64
    assert values.tolist() == [1.0, 2.0, 3.0]
    assert valid is None


def test_numeric_column_nulls_are_masked_not_values():
    values, valid = tables.numeric_column(pa.table({"x": [1.5, None, 3.0]}), "x")
    assert valid.tolist() == [True, False, True]
    assert values[valid].tolist() == [1.5, 3.0]


def test_numeric_column_chunked():
    chunked = pa.chunked_array([[1.0, None], [2.0], []])
    values, valid = tables.numeric_column(pa.table({"x": chunked}), "x")
    assert values[valid].tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "arr",
    [
        pa.array([True, False]),
        pa.array(["1", "2"]),
        pa.array([[1], [2]]),
        pa.array([b"a", b"b"]),
    ],
    ids=["bool", "string", "list", "binary"],
)
def test_numeric_column_refuses_non_numeric(arr):
    with pytest.raises(
        ColumnTypeError, match=r"value column 'x' must be numeric"
    ) as err:
        tables.numeric_column(pa.table({"x": arr}), "x")
    assert err.value.column == "x"
    assert isinstance(err.value, TypeError)


@pytest.mark.parametrize(
    "vals",
    [
        [1.0, float("nan"), 2.0],
        [float("inf"), 1.0, float("-inf")],
        [None, 1.0, float("nan")],
    ],
)
def test_numeric_column_refuses_non_finite_without_saying_where(vals):
    # The message names the column and what to do, never how many rows or
    # which: those are facts about individual users.
    with pytest.raises(
        NonFiniteValueError, match=r"value column 'x' contains NaN or infinite values"
    ) as err:
        tables.numeric_column(pa.table({"x": pa.array(vals, pa.float64())}), "x")
    msg = str(err.value)
    assert msg.startswith("value column 'x' contains NaN or infinite values; drop")
    assert "invalid='drop'" in msg
    assert not any(ch.isdigit() for ch in msg.replace("Float64", ""))
    assert (err.value.column, err.value.count, err.value.first_index) == (
        "x",
        None,
        None,
    )


def test_numeric_column_casts_integers_beyond_float_precision():
    # 2**60 + 1 has no exact float: it is rounded (and clamped later), never an
    # Arrow error that only some tables would raise.
    values, _ = tables.numeric_column(pa.table({"x": [1, 2**60 + 1]}), "x")
    assert values.tolist() == [1.0, float(2**60)]


def test_drop_invalid_removes_null_units_and_non_finite_values():
    t = pa.table(
        {
            "u": [1, None, 2, 3, 4],
            "x": [1.0, 2.0, float("nan"), None, float("-inf")],
        }
    )
    out = tables.drop_invalid(t, units=["u"], values=["x"])
    assert out.to_pylist() == [{"u": 1, "x": 1.0}, {"u": 3, "x": None}]


# ---------------------------------------------------------------------------
# unit_codes and group_codes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arr",
    [
        pa.array([10, 20, 10, 30]),
        pa.array(["x", "y", "x", "z"]),
        pa.array(["x", "y", "x", "z"]).dictionary_encode(),
        pa.array(["x", "y", "x", "z"], pa.large_string()),
        pa.array([b"x", b"y", b"x", b"z"]),
    ],
    ids=["int", "string", "dictionary", "large_string", "binary"],
)
def test_unit_codes_identify_units(arr):
    codes, n = tables.unit_codes(pa.table({"u": arr}), "u")
    assert codes.dtype == np.int64
    # Same unit <=> same code, and every code is below n.
    assert codes[0] == codes[2]
    assert len({codes[0], codes[1], codes[3]}) == 3
    assert codes.min() >= 0
    assert codes.max() < n
    # Dense codes in order of first appearance for every id type: the work
    # never depends on the id values.
    assert codes.tolist() == [0, 1, 0, 2]
    assert n == 3


def test_unit_codes_hash_sparse_integer_ids():
    ids = pa.array([5, 2**40, 5, -(2**50)])
    codes, n = tables.unit_codes(pa.table({"u": ids}), "u")
    assert codes.tolist() == [0, 1, 0, 2]
    assert n == 3


def test_unit_codes_of_uint64_ids_beyond_int64():
    ids = pa.array([2**63 + 5, 1, 2**64 - 1, 2**63 + 5], pa.uint64())
    codes, n = tables.unit_codes(pa.table({"u": ids}), "u")
    assert codes.tolist() == [0, 1, 2, 0]
    assert n == 3


def test_unit_codes_refuse_nulls():
    with pytest.raises(
        SchemaError, match=r"privacy-unit column 'u' has nulls; every row"
    ) as err:
        tables.unit_codes(pa.table({"u": [1, None, 2]}), "u")
    assert err.value.column == "u"


def test_group_codes_no_keys_is_one_group():
    g = tables.group_codes(pa.table({"x": [1, 2, 3]}), [])
    assert g.codes.tolist() == [0, 0, 0]
    assert g.n_groups == 0  # the driver treats "no by" as one total


def test_group_codes_null_keys_are_their_own_group():
    t = pa.table({"k": ["a", None, "b", None, "a"]})
    g = tables.group_codes(t, ["k"])
    assert g.codes.tolist() == [0, 1, 2, 1, 0]
    assert g.keys.column("k").to_pylist() == ["a", None, "b"]


def test_group_codes_integer_keys_with_nulls():
    t = pa.table({"k": pa.array([3, None, 3, 7], pa.int32())})
    g = tables.group_codes(t, ["k"])
    assert g.codes.tolist() == [0, 1, 0, 2]
    assert g.keys.column("k").to_pylist() == [3, None, 7]
    assert g.keys.schema.field("k").type == pa.int32()


@pytest.mark.parametrize("seed", range(4))
def test_group_codes_two_columns(seed):
    gen = np.random.default_rng(seed)
    a = gen.choice(["x", "y", None], size=200).tolist()
    b = gen.integers(0, 4, size=200).tolist()
    b = [None if v == 3 else v for v in b]
    t = pa.table({"a": pa.array(a, pa.string()), "b": pa.array(b, pa.int64())})
    g = tables.group_codes(t, ["a", "b"])
    pairs = list(zip(a, b, strict=True))
    distinct = list(dict.fromkeys(pairs))  # order of first appearance
    assert g.n_groups == len(distinct)
    assert [tuple(r.values()) for r in g.keys.to_pylist()] == distinct
    assert g.codes.tolist() == [distinct.index(p) for p in pairs]
    assert g.keys.column_names == ["a", "b"]


def test_group_codes_dictionary_column():
    t = pa.table({"k": pa.array(["b", "a", "b", None]).dictionary_encode()})
    g = tables.group_codes(t, ["k"])
    assert g.codes.tolist() == [0, 1, 0, 2]
    assert g.keys.column("k").to_pylist() == ["b", "a", None]


def test_group_codes_polars_string_view_round_trip():
    # polars hands Arrow string_view columns to pyarrow; they factorise as strings
    arrow, _ = tables.as_arrow(pl.DataFrame({"k": ["x", "y", "x", None]}), ["k"])
    g = tables.group_codes(arrow, ["k"])
    assert g.codes.tolist() == [0, 1, 0, 2]
    assert g.keys.column("k").to_pylist() == ["x", "y", None]
