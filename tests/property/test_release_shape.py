"""What a caller can observe of a release besides its numbers depends on public inputs only.

For neighbouring tables (one user's rows added or removed, drawn by the
shipped ``audit.strategies``), every aggregation returns the same schema
(names and types), and with public groups the same keys in the same order.
"""

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopkit_privacy as lp
from loopkit_privacy import tables
from loopkit_privacy.audit import strategies as lps
from tests._rng import seeded_rng

PUBLIC = ["home", "pricing", "docs", "never-seen"]


RELEASES = {
    "count": lambda t, **kw: lp.aggregate_count(
        t, by="page", privacy_unit="user_id", max_partitions_per_user=2, **kw
    ),
    "distinct": lambda t, **kw: lp.aggregate_count(
        t, by="page", privacy_unit="user_id", distinct=True, **kw
    ),
    "sum": lambda t, **kw: lp.aggregate_sum(
        t, column="value", bounds=(0, 100), by="page", privacy_unit="user_id", **kw
    ),
    "average": lambda t, **kw: lp.aggregate_average(
        t, column="value", bounds=(0, 100), by="page", privacy_unit="user_id", **kw
    ),
    "top_n": lambda t, **kw: lp.aggregate_top_n(
        t, column="page", n=3, privacy_unit="user_id", **kw
    ),
}


def _schema(result):
    data, _ = tables.as_arrow(result, tables.columns_of(result))
    return [(f.name, str(f.type)) for f in data.schema]


@settings(max_examples=25, deadline=None)
@given(
    pair=st.sampled_from(["arrow", "polars", "pandas"]).flatmap(
        lambda fam: lps.neighbouring_pairs(max_users=6, heavy_rows=(20, 60), family=fam)
    ),
    kind=st.sampled_from(sorted(RELEASES)),
    public=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_neighbours_get_the_same_schema_and_public_keys(pair, kind, public, seed):
    d0, d1 = pair
    # pandas turns null values into NaN: drop them as an untrusted service would.
    kwargs = {"epsilon": 1.0, "invalid": "drop"}
    if public:
        kwargs["public_groups"] = PUBLIC
    else:
        kwargs["delta"] = 1e-6
    out0 = RELEASES[kind](d0, rng=seeded_rng(seed), **kwargs)
    out1 = RELEASES[kind](d1, rng=seeded_rng(seed), **kwargs)
    assert type(out0) is type(out1)
    assert _schema(out0) == _schema(out1)
    if public and kind != "top_n":
        keys0 = tables.as_arrow(out0, ["page"])[0].column("page").to_pylist()
        keys1 = tables.as_arrow(out1, ["page"])[0].column("page").to_pylist()
        assert keys0 == keys1 == PUBLIC


@pytest.mark.parametrize("kind", sorted(RELEASES))
@pytest.mark.parametrize("public", [True, False])
def test_empty_table_gets_the_schema_of_a_full_one(kind, public):
    full = pa.table(
        {
            "user_id": pa.array([1, 2, 3], pa.int32()),
            "page": pa.array(["home", "docs", "home"], pa.large_string()),
            "value": pa.array([1.0, 2.0, 3.0], pa.float32()),
        }
    )
    empty = full.slice(0, 0)
    kwargs = {"epsilon": 1.0}
    if public:
        kwargs["public_groups"] = PUBLIC
    else:
        kwargs["delta"] = 1e-6
    out_full = RELEASES[kind](full, rng=seeded_rng(1), **kwargs)
    out_empty = RELEASES[kind](empty, rng=seeded_rng(1), **kwargs)
    assert out_full.schema.remove_metadata() == out_empty.schema.remove_metadata()
