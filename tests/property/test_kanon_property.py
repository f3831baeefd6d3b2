"""Hypothesis: kanon agrees with the independent checker pycanon, and suppression
removes exactly the records of classes smaller than k.

pycanon groups with pandas ``groupby`` (which drops rows with a null key), so
the comparisons with it use tables without nulls; null handling is checked
against a naive reference (a Counter over row tuples, None equal to None).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycanon import anonymity

from loopkit_privacy.kanon import (
    ensure_k_anonymity,
    filter_groups,
    generalize_rare,
    k_anonymity,
    l_diversity,
)

# Each example runs pycanon (a pandas loop per class) or the whole public
# API: a quarter of the profile's examples.
SLOW = settings(
    max_examples=max(10, settings.default.max_examples // 4),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

#: Candidate quasi-identifier columns and their alphabets (strings and ints).
ALPHABETS = {
    "age": ["<18", "18-34", "35-64", "65+"],
    "region": ["north", "south", "east"],
    "plan": [0, 1],
    "zip": [101, 102, 103, 104, 105],
}


@st.composite
def record_tables(draw, *, nulls: bool, min_rows: int = 1, max_rows: int = 40):
    """(table, quasi-identifiers): 1-3 quasi-identifiers with small alphabets,
    a sensitive column ``s`` and a row id ``rid``."""
    n = draw(st.integers(min_rows, max_rows))
    qis = draw(
        st.lists(
            st.sampled_from(sorted(ALPHABETS)), min_size=1, max_size=3, unique=True
        )
    )
    columns: dict[str, list] = {"rid": list(range(n))}
    for name in qis:
        size = draw(st.integers(1, len(ALPHABETS[name])))
        values = ALPHABETS[name][:size] + ([None] if nulls else [])
        columns[name] = draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))
    sensitive = ["flu", "cold", "asthma", "none"][: draw(st.integers(1, 4))]
    columns["s"] = draw(st.lists(st.sampled_from(sensitive), min_size=n, max_size=n))
    return pa.table(columns), qis


def class_sizes(table: pa.Table, qis: list[str]) -> Counter:
    return Counter(tuple(row[q] for q in qis) for row in table.to_pylist())


@SLOW
@given(record_tables(nulls=False))
def test_k_anonymity_agrees_with_pycanon(case):
    table, qis = case
    assert k_anonymity(table, quasi_identifiers=qis) == anonymity.k_anonymity(
        table.to_pandas(), qis
    )


@SLOW
@given(record_tables(nulls=False))
def test_l_diversity_agrees_with_pycanon(case):
    table, qis = case
    df = table.to_pandas()
    assert l_diversity(table, quasi_identifiers=qis, sensitive="s") == (
        anonymity.l_diversity(df, qis, ["s"])
    )
    # pycanon reports the integer part of e^H (computed as e ** H)
    ours = l_diversity(table, quasi_identifiers=qis, sensitive="s", entropy=True)
    theirs = anonymity.entropy_l_diversity(df, qis, ["s"])
    assert theirs in {math.floor(ours - 1e-9), math.floor(ours + 1e-9)}
    assert ours >= 1.0


@SLOW
@given(record_tables(nulls=False), st.integers(1, 8))
def test_ensure_output_is_k_anonymous_by_pycanon(case, k):
    table, qis = case
    out, report = ensure_k_anonymity(table, quasi_identifiers=qis, k=k)
    if out.num_rows:
        measured = anonymity.k_anonymity(out.to_pandas(), qis)
        assert measured >= k
        assert measured == report.k_achieved
    else:
        assert report.k_achieved == 0


@SLOW
@given(record_tables(nulls=True, min_rows=0), st.integers(1, 8))
def test_ensure_removes_exactly_the_small_classes(case, k):
    table, qis = case
    sizes = class_sizes(table, qis)
    out, report = ensure_k_anonymity(table, quasi_identifiers=qis, k=k)
    rows = table.to_pylist()
    want = [r for r in rows if sizes[tuple(r[q] for q in qis)] >= k]
    # no record of a class of size >= k is removed, every other one is, and
    # the kept records keep their order and all their columns
    assert out.to_pylist() == want
    assert report.rows_in == len(rows)
    assert report.rows_kept == len(want)
    assert report.rows_suppressed == len(rows) - len(want)
    assert report.classes_in == len(sizes)
    small = {key: size for key, size in sizes.items() if size < k}
    assert report.classes_suppressed == len(small)
    listed = {
        tuple(r[q] for q in qis): r["class_size"] for r in report.suppressed.to_pylist()
    }
    assert listed == small
    assert sum(listed.values()) == report.rows_suppressed
    assert k_anonymity(table, quasi_identifiers=qis) == min(sizes.values(), default=0)
    assert report.k_achieved == k_anonymity(out, quasi_identifiers=qis)


@SLOW
@given(record_tables(nulls=True, max_rows=25), st.integers(1, 5))
def test_families_agree(case, k):
    table, qis = case
    reference, ref_report = ensure_k_anonymity(table, quasi_identifiers=qis, k=k)
    # pandas: nullable dtypes so that a missing integer stays a null, not NaN
    frames = {
        "polars": pl.from_arrow(table),
        "polars_lazy": pl.from_arrow(table).lazy(),
        "pandas": table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get),
    }
    for name, frame in frames.items():
        out, report = ensure_k_anonymity(frame, quasi_identifiers=qis, k=k)
        if name == "polars_lazy":
            out = out.collect()
        ids = out["rid"].to_list() if name != "pandas" else out["rid"].tolist()
        assert ids == reference.column("rid").to_pylist(), name
        assert (report.rows_kept, report.classes_in, report.k_achieved) == (
            ref_report.rows_kept,
            ref_report.classes_in,
            ref_report.k_achieved,
        )
        assert k_anonymity(frame, quasi_identifiers=qis) == k_anonymity(
            table, quasi_identifiers=qis
        )


@SLOW
@given(record_tables(nulls=True), st.integers(1, 6))
def test_generalize_rare_leaves_no_rare_category_but_other(case, k):
    table, qis = case
    name = qis[0]
    column = table.column(name)
    other = -1 if pa.types.is_integer(column.type) else "other"
    out = generalize_rare(table, column=name, min_count=k, other=other)
    counts = Counter(table.column(name).to_pylist())
    after = out.column(name).to_pylist()
    for before_value, value in zip(table.column(name).to_pylist(), after, strict=True):
        if counts[before_value] >= k:
            assert value == before_value
        else:
            assert value == other
    rare_left = [v for v, c in Counter(after).items() if c < k and v != other]
    assert rare_left == []


@SLOW
@given(
    st.lists(st.one_of(st.none(), st.integers(0, 30)), max_size=30),
    st.integers(1, 20),
)
def test_filter_groups_is_the_seed_filter(counts, k):
    groups = pa.table(
        {"g": list(range(len(counts))), "count": pa.array(counts, pa.int64())}
    )
    out = filter_groups(groups, k=k)
    want = [i for i, c in enumerate(counts) if c is not None and c >= k]
    assert out.column("g").to_pylist() == want
    lazy = filter_groups(pl.from_arrow(groups).lazy(), k=k).collect()
    assert lazy["g"].to_list() == want


def test_pycanon_is_a_real_check():
    # The checker itself: it sees a class of one, so the properties can fail.
    df = pd.DataFrame({"a": ["x", "x", "y"], "s": ["p", "q", "p"]})
    assert anonymity.k_anonymity(df, ["a"]) == 1
    assert anonymity.l_diversity(df, ["a"], ["s"]) == 1
    assert np.isclose(k_anonymity(df, quasi_identifiers="a"), 1)
