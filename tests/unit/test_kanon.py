"""kanon: k-anonymity, suppression, l-diversity, group filter and generalisation.

Every function is checked on each table family (Arrow, polars eager and lazy,
pandas), on nulls and empty tables, and on bad input. Class sizes are checked
against a naive reference (a Counter over row tuples, None equal to None).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import loopkit_privacy as lp
from loopkit_privacy.errors import (
    ColumnNotFoundError,
    ColumnTypeError,
    InvalidParameterError,
    NonFiniteValueError,
)
from loopkit_privacy.kanon import (
    KAnonymityResult,
    SuppressionReport,
    ensure_k_anonymity,
    filter_groups,
    generalize_dates,
    generalize_numbers,
    generalize_rare,
    k_anonymity,
    l_diversity,
    top_code,
)
from tests.families import FAMILY_TYPE, to_arrow

FAMILIES = {
    "arrow": lambda t: t,
    "polars": pl.from_arrow,
    "polars_lazy": lambda t: pl.from_arrow(t).lazy(),
    "pandas": lambda t: t.to_pandas(),
}


def column(out, name) -> list:
    return to_arrow(out).column(name).to_pylist()


def class_sizes(rows: list[dict], qis: list[str]) -> Counter:
    return Counter(tuple(r[q] for q in qis) for r in rows)


#: 10 rows; over (age, region): 3 classes of sizes 4, 3, 2 and one of size 1.
PEOPLE = pa.table(
    {
        "id": list(range(10)),
        "age": ["20-29"] * 4 + ["30-39"] * 3 + [None, None, "40-49"],
        "region": ["north"] * 4 + ["south"] * 3 + ["east", "east", "west"],
        "disease": ["flu", "cold", "flu", "flu", "flu", "flu", "flu", "x", "y", "z"],
    }
)
QIS = ["age", "region"]


@pytest.fixture(params=list(FAMILIES))
def family(request):
    return request.param


# ---------------------------------------------------------------------------
# k_anonymity
# ---------------------------------------------------------------------------


def test_k_anonymity_each_family(family):
    data = FAMILIES[family](PEOPLE)
    assert k_anonymity(data, quasi_identifiers=QIS) == 1
    assert k_anonymity(data, quasi_identifiers=["region"]) == 1
    assert k_anonymity(data, quasi_identifiers="id") == 1


def test_k_anonymity_matches_reference_class_sizes():
    rows = PEOPLE.to_pylist()
    assert k_anonymity(PEOPLE, quasi_identifiers=QIS) == min(
        class_sizes(rows, QIS).values()
    )
    three = PEOPLE.slice(0, 7)
    assert k_anonymity(three, quasi_identifiers=QIS) == 3


def test_nulls_are_one_value():
    t = pa.table({"a": [None, None, "x", "x"], "b": [1, 1, None, None]})
    assert k_anonymity(t, quasi_identifiers=["a", "b"]) == 2
    assert k_anonymity(t, quasi_identifiers="a") == 2
    t2 = pa.table({"a": [None, "x", "x"]})
    assert k_anonymity(t2, quasi_identifiers="a") == 1


def test_k_anonymity_empty_table_is_zero(family):
    empty = FAMILIES[family](PEOPLE.slice(0, 0))
    assert k_anonymity(empty, quasi_identifiers=QIS) == 0


def test_duplicate_quasi_identifiers_are_ignored():
    assert k_anonymity(PEOPLE, quasi_identifiers=["age", "age", "region"]) == 1


def test_many_distinct_values_take_the_dense_path():
    # 3 columns with 300 values each: the mixed-radix product (2.7e7) is far
    # beyond the slot limit, so the codes are re-factorised pairwise.
    rng = np.random.default_rng(1)
    n = 300
    t = pa.table(
        {
            "a": rng.integers(0, 300, n),
            "b": rng.permutation(n),
            "c": rng.integers(0, 2, n),
        }
    )
    t = pa.concat_tables([t, t.slice(0, 50)])
    rows = t.to_pylist()
    want = min(class_sizes(rows, ["a", "b", "c"]).values())
    assert k_anonymity(t, quasi_identifiers=["a", "b", "c"]) == want
    out, report = ensure_k_anonymity(t, quasi_identifiers=["a", "b", "c"], k=2)
    assert out.num_rows == 100
    assert report.classes_kept == 50
    assert report.k_achieved == 2


@pytest.mark.parametrize("bad", [[], (), ""])
def test_empty_quasi_identifiers_refused(bad):
    if bad == "":
        with pytest.raises(ColumnNotFoundError, match=r"column '' is not in the table"):
            k_anonymity(PEOPLE, quasi_identifiers=bad)
        return
    with pytest.raises(
        InvalidParameterError,
        match=r"`quasi_identifiers` must name at least one column",
    ) as info:
        k_anonymity(PEOPLE, quasi_identifiers=bad)
    assert info.value.parameter == "quasi_identifiers"
    assert "at least one column" in str(info.value)


@pytest.mark.parametrize("bad", [None, 3, ["age", 1]])
def test_quasi_identifiers_must_be_names(bad):
    with pytest.raises(
        InvalidParameterError, match=r"`quasi_identifiers` must"
    ) as info:
        k_anonymity(PEOPLE, quasi_identifiers=bad)
    assert info.value.parameter == "quasi_identifiers"


def test_unknown_column_lists_available(family):
    data = FAMILIES[family](PEOPLE)
    for call in (
        lambda: k_anonymity(data, quasi_identifiers=["age", "zip"]),
        lambda: ensure_k_anonymity(data, quasi_identifiers=["zip"]),
        lambda: l_diversity(data, quasi_identifiers="age", sensitive="salary"),
    ):
        with pytest.raises(
            ColumnNotFoundError, match=r"is not in the table; available columns"
        ) as info:
            call()
        message = str(info.value)
        assert "'region'" in message
        assert "available columns" in message


def test_unknown_column_of_a_lazy_frame_does_not_collect():
    def boom(s):
        raise AssertionError("collected")

    lazy = pl.LazyFrame({"a": [1, 2]}).with_columns(
        pl.col("a").map_batches(boom, return_dtype=pl.Int64)
    )
    with pytest.raises(ColumnNotFoundError, match=r"column 'zip' is not in the table"):
        ensure_k_anonymity(lazy, quasi_identifiers=["zip"])


def test_ungroupable_column_type():
    df = pl.DataFrame({"tags": [[1], [1, 2]], "x": [1, 2]})
    with pytest.raises(ColumnTypeError, match="cannot be grouped"):
        ensure_k_anonymity(df, quasi_identifiers="tags")
    with pytest.raises(ColumnTypeError, match="cannot be grouped"):
        l_diversity(df, quasi_identifiers="x", sensitive="tags")


def test_not_a_table():
    with pytest.raises(ColumnTypeError, match=r"`table` must be a pyarrow.Table"):
        k_anonymity({"age": [1]}, quasi_identifiers="age")


# ---------------------------------------------------------------------------
# ensure_k_anonymity
# ---------------------------------------------------------------------------


def test_ensure_each_family_keeps_type_order_and_columns(family):
    data = FAMILIES[family](PEOPLE)
    result = ensure_k_anonymity(data, quasi_identifiers=QIS, k=2)
    assert isinstance(result, KAnonymityResult)
    out, report = result
    assert isinstance(out, FAMILY_TYPE[family])
    table = to_arrow(out)
    assert table.column_names == PEOPLE.column_names
    assert table.column("id").to_pylist() == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert (
        table.column("disease").to_pylist() == PEOPLE.column("disease").to_pylist()[:9]
    )
    assert isinstance(report, SuppressionReport)
    assert (report.rows_in, report.rows_kept, report.rows_suppressed) == (10, 9, 1)
    assert (report.classes_in, report.classes_kept, report.classes_suppressed) == (
        4,
        3,
        1,
    )
    assert (report.k_input, report.k_achieved) == (1, 2)
    assert report.quasi_identifiers == ("age", "region")
    suppressed = to_arrow(report.suppressed)
    assert suppressed.to_pylist() == [
        {"age": "40-49", "region": "west", "class_size": 1}
    ]
    expected = pl.DataFrame if family == "polars_lazy" else FAMILY_TYPE[family]
    assert isinstance(report.suppressed, expected)


def test_ensure_reports_every_small_class_sorted_nulls_last():
    out, report = ensure_k_anonymity(PEOPLE, quasi_identifiers=QIS, k=4)
    assert out.column("id").to_pylist() == [0, 1, 2, 3]
    assert report.suppressed.to_pylist() == [
        {"age": "30-39", "region": "south", "class_size": 3},
        {"age": "40-49", "region": "west", "class_size": 1},
        {"age": None, "region": "east", "class_size": 2},
    ]
    assert report.rows_suppressed == 6
    assert report.suppression_rate == pytest.approx(0.6)
    assert report.k_achieved == 4


def test_ensure_matches_reference():
    rng = np.random.default_rng(7)
    n = 500
    t = pa.table(
        {
            "a": rng.choice(["x", "y", "z", None], n).tolist(),
            "b": rng.integers(0, 12, n),
            "c": rng.choice([True, False], n),
        }
    )
    rows = t.to_pylist()
    sizes = class_sizes(rows, ["a", "b", "c"])
    for k in (1, 3, 6, 10):
        out, report = ensure_k_anonymity(t, quasi_identifiers=["a", "b", "c"], k=k)
        want = [i for i, r in enumerate(rows) if sizes[(r["a"], r["b"], r["c"])] >= k]
        assert out.num_rows == len(want)
        assert out.to_pylist() == [rows[i] for i in want]
        small = {key: s for key, s in sizes.items() if s < k}
        got = {
            (r["a"], r["b"], r["c"]): r["class_size"]
            for r in report.suppressed.to_pylist()
        }
        assert got == small
        kept = [s for s in sizes.values() if s >= k]
        assert report.k_achieved == (min(kept) if kept else 0)
        assert report.k_input == min(sizes.values())


def test_ensure_k_one_keeps_everything(family):
    data = FAMILIES[family](PEOPLE)
    out, report = ensure_k_anonymity(data, quasi_identifiers=QIS, k=1)
    assert to_arrow(out).to_pylist() == PEOPLE.to_pylist()
    assert report.rows_suppressed == 0
    assert report.classes_suppressed == 0
    assert to_arrow(report.suppressed).num_rows == 0
    assert to_arrow(report.suppressed).column_names == ["age", "region", "class_size"]


def test_ensure_everything_suppressed(family):
    data = FAMILIES[family](PEOPLE)
    out, report = ensure_k_anonymity(data, quasi_identifiers=QIS, k=11)
    assert to_arrow(out).num_rows == 0
    assert to_arrow(out).column_names == PEOPLE.column_names
    assert report.rows_kept == 0
    assert report.k_achieved == 0  # an empty output has no class
    assert report.classes_suppressed == 4


def test_ensure_empty_table(family):
    data = FAMILIES[family](PEOPLE.slice(0, 0))
    out, report = ensure_k_anonymity(data, quasi_identifiers=QIS, k=5)
    assert isinstance(out, FAMILY_TYPE[family])
    assert to_arrow(out).num_rows == 0
    assert report.rows_in == report.rows_kept == report.classes_in == 0
    assert report.k_input == report.k_achieved == 0
    assert report.suppression_rate == 0.0


def test_ensure_keeps_pandas_index_and_dtypes():
    df = pd.DataFrame(
        {
            "plan": pd.Categorical(["free", "free", "pro", None]),
            "visits": pd.array([1, None, 3, 4], dtype="Int64"),
        },
        index=[10, 11, 12, 13],
    )
    out, report = ensure_k_anonymity(df, quasi_identifiers="plan", k=2)
    assert out.index.tolist() == [10, 11]
    assert out["visits"].dtype == "Int64"
    assert out["plan"].dtype == "category"
    assert out is not df
    assert report.suppressed["class_size"].tolist() == [1, 1]


def test_ensure_keeps_polars_categorical():
    df = pl.DataFrame(
        {
            "plan": pl.Series(["a", "a", "b", None], dtype=pl.Categorical),
            "x": [1, 2, 3, 4],
        }
    )
    out, report = ensure_k_anonymity(df, quasi_identifiers="plan", k=2)
    assert out.schema == df.schema
    assert out["x"].to_list() == [1, 2]
    assert report.suppressed["plan"].to_list() == ["b", None]


def test_ensure_size_column_does_not_clash_with_a_quasi_identifier():
    t = pa.table({"class_size": [1, 1, 2]})
    _, report = ensure_k_anonymity(t, quasi_identifiers="class_size", k=2)
    assert report.suppressed.to_pylist() == [{"class_size": 2, "class_size_": 1}]


def test_report_repr_and_immutability():
    _, report = ensure_k_anonymity(PEOPLE, quasi_identifiers=QIS, k=2)
    text = repr(report)
    assert "rows_suppressed=1" in text
    assert "suppressed=" not in text.replace("rows_suppressed", "").replace(
        "classes_suppressed", ""
    )
    with pytest.raises(AttributeError, match=r"cannot assign to field 'k'"):
        report.k = 3  # type: ignore[misc]


@pytest.mark.parametrize("bad", [0, -1, 2.5, 5.0, True, False, "5", None])
def test_bad_k_refused(bad):
    with pytest.raises(
        InvalidParameterError, match=r"`k` must be an integer >= 1"
    ) as info:
        ensure_k_anonymity(PEOPLE, quasi_identifiers=QIS, k=bad)
    assert info.value.parameter == "k"
    assert "k=5" in str(info.value)


def test_numpy_integer_k_accepted():
    _, report = ensure_k_anonymity(PEOPLE, quasi_identifiers=QIS, k=np.int64(3))
    assert report.k == 3
    assert isinstance(report.k, int)


def test_ensure_does_not_touch_the_input():
    df = PEOPLE.to_pandas()
    before = df.copy()
    ensure_k_anonymity(df, quasi_identifiers=QIS, k=3)
    pd.testing.assert_frame_equal(df, before)


# ---------------------------------------------------------------------------
# l_diversity
# ---------------------------------------------------------------------------


def test_l_diversity_each_family(family):
    data = FAMILIES[family](PEOPLE.slice(0, 7))
    # (20-29, north): flu, cold -> 2; (30-39, south): flu only -> 1
    assert l_diversity(data, quasi_identifiers=QIS, sensitive="disease") == 1
    data = FAMILIES[family](PEOPLE.slice(0, 4))
    assert l_diversity(data, quasi_identifiers=QIS, sensitive=["disease"]) == 2


def test_entropy_l_diversity():
    t = pa.table({"q": [1, 1, 1, 1, 2, 2], "s": ["a", "a", "a", "b", "a", "b"]})
    p = np.array([0.75, 0.25])
    want = math.exp(-(p * np.log(p)).sum())
    got = l_diversity(t, quasi_identifiers="q", sensitive="s", entropy=True)
    assert isinstance(got, float)
    assert got == pytest.approx(want, rel=1e-12)
    assert l_diversity(t, quasi_identifiers="q", sensitive="s") == 2
    homogeneous = pa.table({"q": [1, 1], "s": ["a", "a"]})
    assert (
        l_diversity(homogeneous, quasi_identifiers="q", sensitive="s", entropy=True)
        == 1.0
    )


def test_l_diversity_several_sensitive_columns_take_the_minimum():
    t = pa.table({"q": [1, 1, 2, 2], "s1": ["a", "b", "a", "b"], "s2": [1, 2, 3, 3]})
    assert l_diversity(t, quasi_identifiers="q", sensitive="s1") == 2
    assert l_diversity(t, quasi_identifiers="q", sensitive=["s1", "s2"]) == 1


def test_l_diversity_null_is_a_sensitive_value():
    t = pa.table({"q": [1, 1, 2, 2], "s": ["a", None, None, None]})
    assert l_diversity(t, quasi_identifiers="q", sensitive="s") == 1
    t = pa.table({"q": [None, None], "s": ["a", None]})
    assert l_diversity(t, quasi_identifiers="q", sensitive="s") == 2


def test_l_diversity_empty(family):
    data = FAMILIES[family](PEOPLE.slice(0, 0))
    assert l_diversity(data, quasi_identifiers=QIS, sensitive="disease") == 0
    assert (
        l_diversity(data, quasi_identifiers=QIS, sensitive="disease", entropy=True)
        == 0.0
    )


def test_l_diversity_bad_input():
    with pytest.raises(
        InvalidParameterError, match=r"`sensitive` must name at least one column"
    ) as info:
        l_diversity(PEOPLE, quasi_identifiers=QIS, sensitive=[])
    assert info.value.parameter == "sensitive"
    with pytest.raises(
        InvalidParameterError,
        match=r"`quasi_identifiers` must name at least one column",
    ):
        l_diversity(PEOPLE, quasi_identifiers=[], sensitive="disease")


# ---------------------------------------------------------------------------
# filter_groups
# ---------------------------------------------------------------------------

GROUPS = pa.table({"page": ["/a", "/b", "/c", "/d"], "count": [12, 4, 5, None]})


def test_filter_groups_each_family(family):
    data = FAMILIES[family](GROUPS)
    out = filter_groups(data, k=5)
    assert isinstance(out, FAMILY_TYPE[family])
    assert column(out, "page") == ["/a", "/c"]


def test_filter_groups_other_count_column_and_floats():
    t = pa.table({"g": ["x", "y", "z"], "n": [2.5, float("nan"), 7.0]})
    for data in (t, pl.from_arrow(t), pl.from_arrow(t).lazy(), t.to_pandas()):
        assert column(filter_groups(data, count="n", k=3), "g") == ["z"]


def test_filter_groups_lazy_stays_lazy():
    lazy = pl.from_arrow(GROUPS).lazy()
    out = filter_groups(lazy, k=5)
    assert isinstance(out, pl.LazyFrame)
    assert out.collect()["page"].to_list() == ["/a", "/c"]


def test_filter_groups_errors():
    with pytest.raises(ColumnNotFoundError, match="available columns"):
        filter_groups(GROUPS, count="size")
    with pytest.raises(ColumnNotFoundError, match="available columns"):
        filter_groups(pl.from_arrow(GROUPS).lazy(), count="size")
    for data in (GROUPS, pl.from_arrow(GROUPS).lazy(), GROUPS.to_pandas()):
        with pytest.raises(ColumnTypeError, match="numeric"):
            filter_groups(data, count="page")
    with pytest.raises(
        InvalidParameterError, match=r"`k` must be an integer >= 1, got 0"
    ) as info:
        filter_groups(GROUPS, k=0)
    assert info.value.parameter == "k"
    with pytest.raises(
        InvalidParameterError, match=r"`k` must be an integer >= 1, got True"
    ):
        filter_groups(GROUPS, k=True)
    with pytest.raises(InvalidParameterError, match=r"`count` must be a column name"):
        filter_groups(GROUPS, count=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("fam", ["arrow", "polars", "polars_lazy", "pandas"])
def test_filter_groups_keeps_privacy_info(fam, insecure_rng):
    events = pa.table({"user_id": list(range(60)), "page": ["/a"] * 50 + ["/b"] * 10})
    data = FAMILIES[fam](events)
    noisy = lp.aggregate_count(
        data,
        by="page",
        privacy_unit="user_id",
        epsilon=1.0,
        public_groups=["/a", "/b", "/c"],
        rng=insecure_rng,
    )
    before = lp.privacy_info(noisy)
    out = filter_groups(noisy, k=20)
    assert "/a" in column(out, "page")
    assert lp.privacy_info(out) == before


# ---------------------------------------------------------------------------
# generalize_dates
# ---------------------------------------------------------------------------

DATES = pa.table(
    {
        "d": [
            dt.date(2024, 3, 14),  # Thursday
            dt.date(2024, 3, 17),  # Sunday
            dt.date(2024, 3, 18),  # Monday
            dt.date(2023, 12, 31),
            dt.date(1969, 12, 31),
            None,
        ]
    }
)


@pytest.mark.parametrize(
    ("to", "want"),
    [
        (
            "week",
            [
                (2024, 3, 11),
                (2024, 3, 11),
                (2024, 3, 18),
                (2023, 12, 25),
                (1969, 12, 29),
            ],
        ),
        (
            "month",
            [(2024, 3, 1), (2024, 3, 1), (2024, 3, 1), (2023, 12, 1), (1969, 12, 1)],
        ),
        (
            "quarter",
            [(2024, 1, 1), (2024, 1, 1), (2024, 1, 1), (2023, 10, 1), (1969, 10, 1)],
        ),
        (
            "year",
            [(2024, 1, 1), (2024, 1, 1), (2024, 1, 1), (2023, 1, 1), (1969, 1, 1)],
        ),
        (
            "day",
            [
                (2024, 3, 14),
                (2024, 3, 17),
                (2024, 3, 18),
                (2023, 12, 31),
                (1969, 12, 31),
            ],
        ),
    ],
)
def test_generalize_dates_periods(to, want):
    out = generalize_dates(DATES, column="d", to=to)
    assert out.column("d").to_pylist() == [dt.date(*w) for w in want] + [None]
    assert out.schema.field("d").type == pa.date32()


def test_generalize_dates_each_family(family):
    data = FAMILIES[family](DATES)
    out = generalize_dates(data, column="d", to="month")
    assert isinstance(out, FAMILY_TYPE[family])
    assert column(out, "d")[:2] == [dt.date(2024, 3, 1)] * 2
    assert column(out, "d")[-1] is None


def test_generalize_dates_timestamps_and_output():
    t = pa.table(
        {
            "ts": pa.array(
                [dt.datetime(2024, 3, 31, 23, 30), dt.datetime(1969, 12, 31, 23, 0)],
                pa.timestamp("us"),
            ),
            "x": [1, 2],
        }
    )
    out = generalize_dates(t, column="ts", to="month", output="month")
    assert out.column_names == ["ts", "x", "month"]
    assert out.column("ts").equals(t.column("ts"))
    assert out.column("month").to_pylist() == [
        dt.date(2024, 3, 1),
        dt.date(1969, 12, 1),
    ]
    # output naming an existing column replaces it in place
    out = generalize_dates(t, column="ts", to="year", output="x")
    assert out.column_names == ["ts", "x"]
    assert out.column("x").to_pylist() == [dt.date(2024, 1, 1), dt.date(1969, 1, 1)]


def test_generalize_dates_time_zone_is_local():
    utc = pa.array([dt.datetime(2024, 3, 31, 23, 30)], pa.timestamp("us", tz="UTC"))
    berlin = pa.table({"t": utc.cast(pa.timestamp("us", tz="Europe/Berlin"))})
    assert generalize_dates(berlin, column="t", to="month").column("t").to_pylist() == [
        dt.date(2024, 4, 1)
    ]


def test_generalize_dates_pandas_datetimes():
    df = pd.DataFrame({"t": pd.to_datetime(["2024-03-14 10:00", None])}, index=[5, 6])
    out = generalize_dates(df, column="t", to="week")
    assert out["t"].tolist()[0] == dt.date(2024, 3, 11)
    assert out.index.tolist() == [5, 6]
    assert df["t"].iloc[0] == pd.Timestamp("2024-03-14 10:00")  # input untouched


def test_generalize_dates_errors():
    with pytest.raises(ColumnTypeError, match="parse it first"):
        generalize_dates(pa.table({"d": ["2024-01-01"]}), column="d")
    with pytest.raises(
        InvalidParameterError, match=r"`to` must be one of .*got 'fortnight'"
    ) as info:
        generalize_dates(DATES, column="d", to="fortnight")  # type: ignore[arg-type]
    assert info.value.parameter == "to"
    with pytest.raises(ColumnNotFoundError, match=r"column 'date' is not in the table"):
        generalize_dates(DATES, column="date")
    with pytest.raises(InvalidParameterError, match=r"`output` must be a column name"):
        generalize_dates(DATES, column="d", output=1)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# generalize_numbers
# ---------------------------------------------------------------------------

AGES = pa.table({"age": [0, 9, 10, 17, 65, -3, None]})


def test_generalize_numbers_width(family):
    if family == "pandas":  # a nullable Int64 column: NaN would be refused
        data = AGES.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    else:
        data = FAMILIES[family](AGES)
    out = generalize_numbers(data, column="age", width=10)
    assert isinstance(out, FAMILY_TYPE[family])
    assert column(out, "age") == [
        "[0, 10)",
        "[0, 10)",
        "[10, 20)",
        "[10, 20)",
        "[60, 70)",
        "[-10, 0)",
        None,
    ]


def test_generalize_numbers_origin_and_lower():
    out = generalize_numbers(AGES, column="age", width=10, origin=5)
    assert out.column("age").to_pylist()[:4] == [
        "[-5, 5)",
        "[5, 15)",
        "[5, 15)",
        "[15, 25)",
    ]
    lower = generalize_numbers(AGES, column="age", width=10, label="lower")
    assert lower.column("age").type == pa.int64()
    assert lower.column("age").to_pylist() == [0, 0, 10, 10, 60, -10, None]


def test_generalize_numbers_floats():
    t = pa.table({"v": [0.05, 0.15, -0.3, 2.0, None]})
    out = generalize_numbers(t, column="v", width=0.1)
    assert out.column("v").to_pylist() == [
        "[0, 0.1)",
        "[0.1, 0.2)",
        "[-0.3, -0.2)",
        "[2, 2.1)",
        None,
    ]
    lower = generalize_numbers(t, column="v", width=0.5, label="lower")
    assert lower.column("v").to_pylist() == [0.0, 0.0, -0.5, 2.0, None]
    # an integer column with a fractional width is binned in floating point
    out = generalize_numbers(AGES, column="age", width=2.5, label="lower")
    assert out.column("age").type == pa.float64()
    assert out.column("age").to_pylist()[:3] == [0.0, 7.5, 10.0]


def test_generalize_numbers_edges():
    out = generalize_numbers(AGES, column="age", edges=[10, 18, 65])
    assert out.column("age").to_pylist() == [
        "(-inf, 10)",
        "(-inf, 10)",
        "[10, 18)",
        "[10, 18)",
        "[65, inf)",
        "(-inf, 10)",
        None,
    ]
    lower = generalize_numbers(AGES, column="age", edges=[10, 18, 65], label="lower")
    assert lower.column("age").to_pylist() == [
        -math.inf,
        -math.inf,
        10.0,
        10.0,
        65.0,
        -math.inf,
        None,
    ]
    out = generalize_numbers(AGES, column="age", edges=[0.5])
    assert out.column("age").to_pylist()[:2] == ["(-inf, 0.5)", "[0.5, inf)"]


def test_generalize_numbers_pandas_keeps_index_and_input():
    df = pd.DataFrame({"age": [31, 47], "x": ["a", "b"]}, index=["p", "q"])
    out = generalize_numbers(df, column="age", width=10, output="band")
    assert out.columns.tolist() == ["age", "x", "band"]
    assert out["band"].tolist() == ["[30, 40)", "[40, 50)"]
    assert out.index.tolist() == ["p", "q"]
    assert "band" not in df.columns


def test_generalize_numbers_all_null():
    t = pa.table({"v": pa.array([None, None], pa.int64())})
    assert generalize_numbers(t, column="v", width=5).column("v").to_pylist() == [
        None,
        None,
    ]


def test_generalize_numbers_errors():
    with pytest.raises(InvalidParameterError, match="exactly one"):
        generalize_numbers(AGES, column="age")
    with pytest.raises(InvalidParameterError, match="exactly one"):
        generalize_numbers(AGES, column="age", width=5, edges=[1, 2])
    for bad in (0, -1, float("inf"), True, "5"):
        with pytest.raises(InvalidParameterError, match=r"`width` must be a") as info:
            generalize_numbers(AGES, column="age", width=bad)
        assert info.value.parameter == "width"
    for bad in ([], [3, 2], [1, 1], [1, float("nan")], "abc", 5, [True]):
        with pytest.raises(
            InvalidParameterError, match=r"`edges` must be a non-empty list"
        ) as info:
            generalize_numbers(AGES, column="age", edges=bad)
        assert info.value.parameter == "edges"
    with pytest.raises(
        InvalidParameterError, match=r"`label` must be 'interval' or 'lower'"
    ) as info:
        generalize_numbers(AGES, column="age", width=5, label="upper")  # type: ignore[arg-type]
    assert info.value.parameter == "label"
    with pytest.raises(InvalidParameterError, match=r"`origin` must be finite") as info:
        generalize_numbers(AGES, column="age", width=5, origin=float("nan"))
    assert info.value.parameter == "origin"
    with pytest.raises(InvalidParameterError, match="too small"):
        generalize_numbers(pa.table({"v": [1e300]}), column="v", width=1e-300)
    with pytest.raises(ColumnTypeError, match="numeric"):
        generalize_numbers(pa.table({"v": ["1"]}), column="v", width=1)
    with pytest.raises(ColumnTypeError, match=r"column 'v' must be numeric"):
        generalize_numbers(pa.table({"v": [True]}), column="v", width=1)
    with pytest.raises(
        NonFiniteValueError, match=r"column 'v' contains NaN or infinite values"
    ):
        generalize_numbers(pd.DataFrame({"v": [1.0, np.nan]}), column="v", width=1)


# ---------------------------------------------------------------------------
# top_code
# ---------------------------------------------------------------------------


def test_top_code_each_family(family):
    t = pa.table({"n": [1, 7, 250, None]})
    data = FAMILIES[family](t)
    out = top_code(data, column="n", upper=50)
    assert isinstance(out, FAMILY_TYPE[family])
    got = column(out, "n")
    assert got[:3] == [1, 7, 50]
    assert got[3] is None or (isinstance(got[3], float) and math.isnan(got[3]))


def test_top_code_lower_and_both():
    t = pa.table({"n": pa.array([-5, 0, 3, 99], pa.int32())})
    out = top_code(t, column="n", lower=0)
    assert out.column("n").to_pylist() == [0, 0, 3, 99]
    assert out.column("n").type == pa.int32()
    out = top_code(t, column="n", lower=1, upper=10.0, output="m")
    assert out.column("m").to_pylist() == [1, 1, 3, 10]
    assert out.column("n").to_pylist() == [-5, 0, 3, 99]


def test_top_code_floats_keep_nan_and_null():
    t = pa.table({"v": pa.array([1.5, float("nan"), None, 80.25], pa.float32())})
    out = top_code(t, column="v", upper=10.5)
    got = out.column("v").to_pylist()
    assert got[0] == 1.5
    assert math.isnan(got[1])
    assert got[2] is None
    assert got[3] == 10.5
    assert out.column("v").type == pa.float32()


def test_top_code_pandas_nullable_int_stays_nullable():
    df = pd.DataFrame({"n": pd.array([1, None, 300], dtype="Int64")}, index=[3, 4, 5])
    out = top_code(df, column="n", upper=100)
    assert out["n"].dtype == "Int64"
    assert out["n"].isna().tolist() == [False, True, False]
    assert out["n"].dropna().tolist() == [1, 100]
    assert out.index.tolist() == [3, 4, 5]
    assert df["n"].dropna().tolist() == [1, 300]


def test_top_code_errors():
    t = pa.table(
        {"n": pa.array([1, 2], pa.uint8()), "s": ["a", "b"], "b": [True, False]}
    )
    with pytest.raises(InvalidParameterError, match="upper"):
        top_code(t, column="n")
    with pytest.raises(
        InvalidParameterError, match=r"`lower` must not exceed `upper`"
    ) as info:
        top_code(t, column="n", upper=1, lower=2)
    assert info.value.parameter == "lower"
    with pytest.raises(InvalidParameterError, match="not an integer"):
        top_code(t, column="n", upper=1.5)
    with pytest.raises(InvalidParameterError, match="do not fit"):
        top_code(t, column="n", lower=1000)
    with pytest.raises(InvalidParameterError, match=r"`upper` must be finite"):
        top_code(t, column="n", upper=float("inf"))
    with pytest.raises(InvalidParameterError, match=r"`upper` must be a real number"):
        top_code(t, column="n", upper=True)
    for name in ("s", "b"):
        with pytest.raises(ColumnTypeError, match="cast it to a number"):
            top_code(t, column=name, upper=1)
    # a bound beyond the type's range on the clamping side is a no-op
    assert top_code(t, column="n", lower=-5).column("n").to_pylist() == [1, 2]


# ---------------------------------------------------------------------------
# generalize_rare
# ---------------------------------------------------------------------------

BROWSERS = pa.table(
    {"browser": ["chrome"] * 3 + ["firefox"] * 2 + ["lynx", None], "x": list(range(7))}
)


def test_generalize_rare_each_family(family):
    data = FAMILIES[family](BROWSERS)
    out = generalize_rare(data, column="browser", min_count=2)
    assert isinstance(out, FAMILY_TYPE[family])
    assert column(out, "browser") == ["chrome"] * 3 + ["firefox"] * 2 + ["other"] * 2
    assert column(out, "x") == list(range(7))


def test_generalize_rare_frequent_nulls_stay_null():
    t = pa.table({"c": ["a", "a", None, None, "b"]})
    out = generalize_rare(t, column="c", min_count=2, other="rare", output="c2")
    assert out.column("c2").to_pylist() == ["a", "a", None, None, "rare"]
    assert out.column("c").to_pylist() == ["a", "a", None, None, "b"]


def test_generalize_rare_nothing_rare():
    out = generalize_rare(BROWSERS, column="browser", min_count=1)
    assert out.equals(BROWSERS)


def test_generalize_rare_categoricals_stay_categorical():
    df = pl.DataFrame({"c": pl.Series(["a", "a", "b"], dtype=pl.Categorical)})
    out = generalize_rare(df, column="c", min_count=2)
    assert out.schema["c"] == pl.Categorical
    assert out["c"].to_list() == ["a", "a", "other"]
    pdf = pd.DataFrame({"c": pd.Categorical(["a", "a", "b"])}, index=[7, 8, 9])
    out = generalize_rare(pdf, column="c", min_count=2)
    assert out["c"].dtype == "category"
    assert out["c"].tolist() == ["a", "a", "other"]
    assert out.index.tolist() == [7, 8, 9]
    assert pdf["c"].tolist() == ["a", "a", "b"]


def test_generalize_rare_integers_need_an_integer_other():
    t = pa.table({"zip": [101, 101, 102]})
    assert generalize_rare(t, column="zip", min_count=2, other=-1).column(
        "zip"
    ).to_pylist() == [101, 101, -1]
    with pytest.raises(
        InvalidParameterError, match=r"`other`='other' cannot be stored in column 'zip'"
    ) as info:
        generalize_rare(t, column="zip", min_count=2)
    assert info.value.parameter == "other"
    assert "cast the column to string" in str(info.value)


@pytest.mark.parametrize("bad", [0, 1.5, True, None])
def test_generalize_rare_bad_min_count(bad):
    with pytest.raises(
        InvalidParameterError, match=r"`min_count` must be an integer >= 1"
    ) as info:
        generalize_rare(BROWSERS, column="browser", min_count=bad)
    assert info.value.parameter == "min_count"


def test_generalize_then_anonymise():
    # the workflow of docs/k-anonymity.md: generalise, then suppress the rest
    rng = np.random.default_rng(3)
    n = 400
    df = pl.DataFrame(
        {
            "age": rng.integers(16, 90, n),
            "signup": [
                dt.date(2024, 1, 1) + dt.timedelta(days=int(d))
                for d in rng.integers(0, 365, n)
            ],
            "city": rng.choice(
                ["berlin", "paris", "rome", "oslo", "riga", "bern"],
                n,
                p=[0.4, 0.3, 0.2, 0.05, 0.03, 0.02],
            ),
        }
    )
    before = k_anonymity(df, quasi_identifiers=["age", "signup", "city"])
    df = generalize_numbers(df, column="age", edges=[18, 30, 45, 65])
    df = generalize_dates(df, column="signup", to="quarter")
    df = generalize_rare(df, column="city", min_count=20)
    out, report = ensure_k_anonymity(
        df, quasi_identifiers=["age", "signup", "city"], k=5
    )
    assert before == 1
    assert report.k_achieved >= 5
    assert k_anonymity(out, quasi_identifiers=["age", "signup", "city"]) >= 5
    assert report.rows_suppressed < n // 4


def test_docs_example_runs():
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "k-anonymity.md"
    blocks = re.findall(r"```python\n(.*?)```", docs.read_text(), flags=re.S)
    example = next(b for b in blocks if "users = pl.DataFrame" in b)
    namespace: dict = {}
    exec(compile(example, str(docs), "exec"), namespace)
    report = namespace["report"]
    assert namespace["kept"].height == 5
    assert repr(report) == (
        "SuppressionReport(k=2, quasi_identifiers=('age_band', 'region'), "
        "rows_in=6, rows_kept=5, rows_suppressed=1, classes_in=3, classes_kept=2, "
        "classes_suppressed=1, k_input=1, k_achieved=2)"
    )
    assert report.suppressed.rows() == [("65+", "north", 1)]
