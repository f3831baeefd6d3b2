"""Hypothesis: quantile and variance releases keep their invariants on any table.

For tables drawn from the shipped ``audit.strategies.event_tables``: the
released quantiles are non-decreasing in ``q`` and inside the bounds and
their intervals; variances lie in [0, h²] inside their intervals; the
bounded histograms respect L0 and L∞ (a unit adds at most L∞ values to at
most L0 groups); no key is released that is not in the data unless it is
public; the family and schema follow the input; the accountant is charged
exactly the stated cost.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopkit_privacy as lp
from loopkit_privacy._release import FixedSalt, request_of
from loopkit_privacy.accounting import Accountant
from loopkit_privacy.audit import strategies as lps
from tests._rng import seeded_rng
from tests.families import FAMILIES, FAMILY_TYPE, to_arrow

SLOW = settings(
    max_examples=max(10, settings.default.max_examples // 4),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
GROUPS = ("a", "b", "c", "d")
BOUNDS = (0.0, 500.0)

quantile_lists = st.lists(
    st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=5, unique=True
).map(sorted)


@SLOW
@given(
    table=lps.event_tables(max_users=25, groups=GROUPS),
    qs=quantile_lists,
    eps=st.floats(0.05, 5.0),
    bins=st.sampled_from([16, 64, 1024]),
    seed=st.integers(0, 2**32),
    public=st.booleans(),
)
def test_quantiles_monotone_bounded_and_inside_intervals(
    table, qs, eps, bins, seed, public
):
    extra = {"public_groups": list(GROUPS)} if public else {"delta": 1e-6}
    out = lp.aggregate_quantiles(
        table, column="value", quantiles=qs, bounds=BOUNDS, by="page", bins=bins,
        privacy_unit="user_id", epsilon=eps, max_partitions_per_user=2,
        rng=seeded_rng(seed), **extra,
    )  # fmt: skip
    rows = out.to_pylist()
    assert out.column_names == [
        "page",
        "quantile",
        "value",
        "value_ci_low",
        "value_ci_high",
    ]
    pages = list(dict.fromkeys(r["page"] for r in rows))
    if public:
        assert pages == list(GROUPS)
    else:
        assert set(pages) <= set(table["page"].to_pylist())
        assert pages == sorted(pages)
    for page in pages:
        mine = [r for r in rows if r["page"] == page]
        assert [r["quantile"] for r in mine] == qs
        values = [r["value"] for r in mine]
        assert values == sorted(values)
        for r in mine:
            assert BOUNDS[0] <= r["value_ci_low"] <= r["value"]
            assert r["value"] <= r["value_ci_high"] <= BOUNDS[1]


@SLOW
@given(
    table=lps.event_tables(max_users=25, groups=GROUPS),
    l0=st.integers(1, 3),
    linf=st.integers(1, 3),
    salt=st.integers(0, 2**64 - 1),
)
def test_histogram_bounds_each_unit(table, l0, linf, salt):
    req = request_of(
        lp.aggregate_quantiles, table, column="value", bounds=BOUNDS, by="page",
        bins=16, privacy_unit="user_id", epsilon=1.0, public_groups=list(GROUPS),
        max_partitions_per_user=l0, max_contributions_per_partition=linf,
    )  # fmt: skip
    plan = req.statistic.plan(req)
    got = req.statistic.bound(plan, FixedSalt(salt))
    hist = got.a.reshape(len(GROUPS), 16)
    # Bin counts add up to the kept rows; kept rows and units obey the limits.
    assert hist.sum(axis=1).tolist() == got.rows.tolist()
    assert got.rows.sum() <= l0 * linf * plan.inp.n_units
    assert (got.rows <= linf * got.units).all()
    assert got.units.sum() <= l0 * plan.inp.n_units


@SLOW
@given(
    table=lps.event_tables(max_users=20, groups=GROUPS, nulls=False),
    heavy=st.lists(
        st.tuples(st.sampled_from(GROUPS), st.floats(-100, 1000)),
        min_size=1,
        max_size=30,
    ),
    l0=st.integers(1, 3),
    linf=st.integers(1, 3),
    salt=st.integers(0, 2**64 - 1),
)
def test_one_more_unit_moves_the_tree_by_at_most_its_sensitivity(
    table, heavy, l0, linf, salt
):
    # A neighbour: the same table plus one new unit's rows at the end (the
    # other units keep their codes). Its histogram is the old one plus at
    # most L∞ values in each of at most L0 groups.
    import pyarrow as pa

    extra = pa.table(
        {
            "user_id": pa.array([10**9] * len(heavy), table["user_id"].type),
            "page": pa.array([g for g, _ in heavy], table["page"].type),
            "value": pa.array([v for _, v in heavy], table["value"].type),
        }
    )
    both = pa.concat_tables([table.select(["user_id", "page", "value"]), extra])
    hists = []
    for t in (table, both):
        req = request_of(
            lp.aggregate_quantiles, t, column="value", bounds=BOUNDS, by="page",
            bins=16, privacy_unit="user_id", epsilon=1.0, public_groups=list(GROUPS),
            max_partitions_per_user=l0, max_contributions_per_partition=linf,
        )  # fmt: skip
        got = req.statistic.bound(req.statistic.plan(req), FixedSalt(salt))
        hists.append(got.a.reshape(len(GROUPS), 16))
    diff = hists[1] - hists[0]
    assert (diff >= 0).all()
    per_group = diff.sum(axis=1)
    assert (per_group <= linf).all()
    assert (per_group > 0).sum() <= l0


@SLOW
@given(
    table=lps.event_tables(max_users=25, groups=GROUPS),
    eps=st.floats(0.05, 5.0),
    seed=st.integers(0, 2**32),
    kind=st.sampled_from(["variance", "std"]),
    family=st.sampled_from(["arrow", "polars", "pandas"]),
)
def test_variance_in_range_inside_interval_and_family_kept(
    table, eps, seed, kind, family
):
    fn = lp.aggregate_variance if kind == "variance" else lp.aggregate_std
    converted = FAMILIES[family](table)
    acc = Accountant(epsilon=10.0)
    out = fn(
        converted, column="value", bounds=BOUNDS, by="page", privacy_unit="user_id",
        epsilon=eps, public_groups=list(GROUPS), rng=seeded_rng(seed), accountant=acc,
    )  # fmt: skip
    assert isinstance(out, FAMILY_TYPE[family])
    assert acc.spent.epsilon == eps
    rows = to_arrow(out).to_pylist()
    assert [r["page"] for r in rows] == list(GROUPS)
    h2 = ((BOUNDS[1] - BOUNDS[0]) / 2) ** 2
    top = h2 if kind == "variance" else math.sqrt(h2)
    for r in rows:
        assert 0.0 <= r[f"{kind}_ci_low"] <= r[kind] <= r[f"{kind}_ci_high"] <= top
