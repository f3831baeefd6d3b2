"""aggregate_histogram: exact bounded counts per bin, bounds, bins, groups, families."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

import loopkit_privacy as lp
from tests import reference_histogram_funnel as ref
from tests._rng import seeded_rng
from tests.families import FAMILIES, FAMILY_TYPE, to_arrow

EPS = 1.0
EDGES = [0.0, 10.0, 20.0, 30.0]


def _table(rows):
    return pa.table(
        {
            "user_id": pa.array([r[0] for r in rows], pa.int64()),
            "page": pa.array([r[1] for r in rows], pa.string()),
            "secs": pa.array([r[2] for r in rows], pa.float64()),
        }
    )


# (user, page, seconds): values on edges, beyond them, nulls, a user in many bins.
ROWS = [
    (1, "home", 0.0),
    (1, "home", 10.0),
    (2, "home", 9.999),
    (2, "docs", 30.0),  # the last edge belongs to the last bin
    (3, "docs", 35.0),  # beyond the last edge
    (3, "docs", -1.0),  # below the first edge
    (4, "home", None),  # null: dropped
    (5, "docs", 15.0),
    (5, "home", 25.0),
    (6, "home", 20.0),
]
SMALL = _table(ROWS)


def _cells(out):
    t = to_arrow(out)
    keys = (
        t.column("page").to_pylist()
        if "page" in t.column_names
        else [None] * t.num_rows
    )
    return {
        (k, b): c
        for k, b, c in zip(
            keys, t["bin"].to_pylist(), t["count"].to_pylist(), strict=True
        )
    }


def _truth(table=SMALL, **kwargs):
    """The bounded counts behind a seeded release: release minus the empty-table release.

    With public groups (or none) the noise depends on public inputs only, so
    the same call on the empty table draws the same noise.
    """
    noisy = _cells(lp.aggregate_histogram(table, rng=seeded_rng(7), **kwargs))
    noise = _cells(
        lp.aggregate_histogram(table.slice(0, 0), rng=seeded_rng(7), **kwargs)
    )
    assert noisy.keys() == noise.keys()
    return {k: noisy[k] - noise[k] for k in noisy}


COMMON = dict(column="secs", bins=EDGES, privacy_unit="user_id", epsilon=EPS)
WIDE = dict(max_partitions_per_user=12, max_contributions_per_partition=10)


@pytest.mark.parametrize("outside", ["clip", "drop"])
def test_counts_equal_the_reference_when_bounds_keep_every_row(outside):
    got = _truth(
        by="page", public_groups=["home", "docs"], outside=outside, **COMMON, **WIDE
    )
    want = ref.histogram_counts(ROWS, EDGES, clip=outside == "clip")
    assert got == {k: want.get(k, 0) for k in got}
    # The edge rules, spelled out: 10.0 opens bin 1, 30.0 closes bin 2.
    assert got[("home", 1)] == 1
    assert got[("docs", 2)] == (2 if outside == "clip" else 1)
    assert got[("docs", 0)] == (1 if outside == "clip" else 0)


def test_without_groups_one_histogram_of_every_row():
    got = _truth(**COMMON, **WIDE)
    want = ref.histogram_counts([(u, None, v) for u, _, v in ROWS], EDGES, clip=True)
    assert got == {(None, j): want.get((None, j), 0) for j in range(3)}


def test_linf_one_counts_distinct_users_per_bin():
    rows = [(1, "a", 1.0)] * 5 + [(2, "a", 2.0), (2, "a", 12.0)]
    got = _truth(_table(rows), **COMMON, max_partitions_per_user=3)
    want = ref.histogram_distinct_users(
        [(u, None, v) for u, _, v in rows], EDGES, clip=True
    )
    assert got == {(None, j): want.get((None, j), 0) for j in range(3)}


def test_heavy_user_is_bounded_by_linf_and_l0():
    heavy = [(9, "a", float(v % 30)) for v in range(3000)]
    rows = [*heavy, (1, "a", 5.0), (2, "a", 25.0)]
    for l0, linf in ((1, 1), (2, 3), (3, 2)):
        got = _truth(
            _table(rows), **COMMON, max_partitions_per_user=l0,
            max_contributions_per_partition=linf,
        )  # fmt: skip
        # The heavy user adds exactly l0 cells of linf rows (it has 1000 rows
        # in each bin); the two light users one row each.
        assert sum(got.values()) == l0 * linf + 2
        assert max(got.values()) <= linf + 1


def test_every_bin_gets_a_noisy_count_also_empty_ones_and_empty_tables():
    out = to_arrow(
        lp.aggregate_histogram(SMALL.slice(0, 0), rng=seeded_rng(1), **COMMON)
    )
    assert out["bin"].to_pylist() == [0, 1, 2]
    out = to_arrow(
        lp.aggregate_histogram(
            SMALL, by="page", public_groups=["home", "docs", "blog"],
            rng=seeded_rng(1), **COMMON,
        )
    )  # fmt: skip
    assert out["page"].to_pylist() == ["home"] * 3 + ["docs"] * 3 + ["blog"] * 3
    assert out["bin_low"].to_pylist() == EDGES[:-1] * 3
    assert out["bin_high"].to_pylist() == EDGES[1:] * 3


def test_noise_scale_is_l0_times_linf_over_epsilon():
    out, info = lp.aggregate_histogram(
        SMALL, column="secs", bins=EDGES, privacy_unit="user_id", epsilon=0.5,
        max_partitions_per_user=2, max_contributions_per_partition=3,
        return_info=True, rng=seeded_rng(1),
    )  # fmt: skip
    assert info.noise[0].scale == pytest.approx(2 * 3 / 0.5)
    assert info.parameters["l1_sensitivity"] == 6
    assert info.max_partitions_per_user == 2
    assert info.max_contributions_per_partition == 3
    t = to_arrow(out)
    hw = lp.GeometricMechanism(sensitivity=6, epsilon=0.5).accuracy(0.95)
    assert np.allclose(np.asarray(t["count_ci_high"]) - np.asarray(t["count"]), hw)


def test_l0_is_capped_at_the_number_of_public_cells():
    _, info = lp.aggregate_histogram(
        SMALL, **COMMON, max_partitions_per_user=100, return_info=True,
        rng=seeded_rng(1),
    )  # fmt: skip
    assert info.max_partitions_per_user == 3  # three bins, no groups
    assert info.noise[0].scale == pytest.approx(3 / EPS)


def test_gaussian_and_rho():
    _, info = lp.aggregate_histogram(
        SMALL, **{**COMMON, "epsilon": None}, rho=0.5, mechanism="gaussian",
        return_info=True, rng=seeded_rng(1),
    )  # fmt: skip
    assert info.cost == lp.ZCDP(0.5)
    assert info.noise[0].mechanism == "DiscreteGaussianMechanism"


def test_groups_from_the_data_go_through_selection():
    rows = [(u, "big", float(u % 30)) for u in range(400)] + [(999, "lone", 3.0)]
    out, info = lp.aggregate_histogram(
        _table(rows),
        by="page",
        delta=1e-6,
        return_info=True,
        rng=seeded_rng(3),
        **COMMON,
    )
    assert info.groups == "selected"
    assert info.selection_threshold is not None
    assert info.cost == lp.ApproxDP(EPS, 1e-6)
    # Half of epsilon for the counts, the other half and delta for selection.
    assert info.noise[1].scale == pytest.approx(1 / (EPS / 2))
    assert set(to_arrow(out)["page"].to_pylist()) == {"big"}


def test_selection_needs_delta():
    with pytest.raises(lp.InvalidParameterError, match="delta"):
        lp.aggregate_histogram(SMALL, by="page", **COMMON)


def test_date_and_timestamp_columns():
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(59)]
    t = pa.table({"u": list(range(59)), "d": days})
    bins = ["2026-01-01", dt.date(2026, 2, 1), np.datetime64("2026-03-01")]
    got = _truth(t, column="d", bins=bins, privacy_unit="u", epsilon=EPS)
    assert got == {(None, 0): 31, (None, 1): 28}
    zoned = pa.table(
        {
            "u": [1, 2, 3],
            "ts": pa.array(
                [
                    dt.datetime(2026, 1, 1, 22, 30, tzinfo=dt.UTC),  # 23:30 in Paris
                    dt.datetime(2026, 1, 1, 23, 30, tzinfo=dt.UTC),  # 00:30 on the 2nd
                    dt.datetime(2026, 1, 2, 12, 0, tzinfo=dt.UTC),
                ],
                pa.timestamp("us", tz="Europe/Paris"),
            ),
        }
    )
    kw = dict(column="ts", bins=["2026-01-01", "2026-01-02", "2026-01-03"],
              privacy_unit="u", epsilon=EPS)  # fmt: skip
    assert _truth(zoned, **kw) == {(None, 0): 1, (None, 1): 2}
    out = to_arrow(lp.aggregate_histogram(zoned, rng=seeded_rng(1), **kw))
    assert out.schema.field("bin_low").type == pa.timestamp("us", tz="Europe/Paris")
    assert out["bin_low"][1].as_py() == dt.datetime(2026, 1, 1, 23, tzinfo=dt.UTC)


def test_number_bins_for_a_date_column_and_dates_for_numbers_are_refused():
    t = pa.table({"u": [1], "d": [dt.date(2026, 1, 1)], "x": [1.0]})
    with pytest.raises(lp.InvalidParameterError, match="`bins`"):
        lp.aggregate_histogram(
            t, column="d", bins=[0, 1], privacy_unit="u", epsilon=1.0
        )
    with pytest.raises(lp.InvalidParameterError, match="`bins` must be numbers"):
        lp.aggregate_histogram(
            t,
            column="x",
            bins=["2026-01-01", "2026-02-01"],
            privacy_unit="u",
            epsilon=1.0,
        )
    with pytest.raises(lp.InvalidParameterError, match="strictly increasing"):
        lp.aggregate_histogram(
            t,
            column="d",
            bins=["2026-02-01", "2026-01-01"],
            privacy_unit="u",
            epsilon=1.0,
        )


def test_nan_is_refused_or_dropped():
    t = pa.table({"u": [1, 2], "x": [1.0, float("nan")]})
    with pytest.raises(lp.NonFiniteValueError, match="'x'"):
        lp.aggregate_histogram(
            t, column="x", bins=[0, 2], privacy_unit="u", epsilon=1.0
        )
    got = _truth(
        t, column="x", bins=[0, 2], privacy_unit="u", epsilon=1.0, invalid="drop"
    )
    assert got == {(None, 0): 1}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_in_and_out(family):
    out = lp.aggregate_histogram(FAMILIES[family](SMALL), rng=seeded_rng(1), **COMMON)
    assert isinstance(out, FAMILY_TYPE[family])
    assert lp.privacy_info(out).release == "aggregate_histogram"


def test_accountant_is_charged_once():
    acc = lp.Accountant(epsilon=2.0)
    lp.aggregate_histogram(
        SMALL, accountant=acc, label="h", rng=seeded_rng(1), **COMMON
    )
    assert acc.spent == lp.PureDP(EPS)
    assert len(acc.receipts) == 1
    with pytest.raises(lp.BudgetExceededError, match="remains"):
        lp.aggregate_histogram(
            SMALL, accountant=acc, rng=seeded_rng(1), **{**COMMON, "epsilon": 1.5}
        )
    assert len(acc.receipts) == 1


def test_event_level_counts_rows():
    got = _truth(column="secs", bins=EDGES, privacy_unit=None, epsilon=EPS)
    want = ref.histogram_counts([(0, None, v) for _, _, v in ROWS], EDGES, clip=True)
    assert got == {(None, j): want.get((None, j), 0) for j in range(3)}


def test_show_and_plots():
    import matplotlib

    matplotlib.use("Agg")
    out = lp.aggregate_histogram(
        SMALL, by="page", public_groups=["home", "docs"], rng=seeded_rng(1), **COMMON
    )
    view = lp.show(out)
    assert view.value_columns == ["count"]
    assert "bin" in view.key_columns
    ax = lp.plot_histogram(out)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "[0, 10)",
        "[10, 20)",
        "[20, 30]",
    ]
    assert len(ax.patches) == 6  # two groups of three bars
    ax = lp.plot(out)  # lp.plot draws a histogram result as a histogram
    assert len(ax.patches) == 6
    with pytest.raises(lp.InvalidParameterError, match="aggregate_histogram returned"):
        lp.plot_histogram(pa.table({"x": [1]}))


def test_consent_filter_leaves_out_users_without_consent():
    consent = pa.table(
        {
            "user_id": [1, 2, 3, 5, 6],
            "productResearch": [True, True, False, True, True],
        }
    )
    # User 3 (the two rows outside the edges) did not consent; 4 has no record.
    got = _truth(purpose="productResearch", consent=consent, **COMMON, **WIDE)
    kept = [r for r in ROWS if r[0] not in (3, 4)]
    want = ref.histogram_counts([(u, None, v) for u, _, v in kept], EDGES, clip=True)
    assert got == {(None, j): want.get((None, j), 0) for j in range(3)}
