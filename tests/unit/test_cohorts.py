from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from scipy.optimize import isotonic_regression

import loopkit_privacy as lp
from loopkit_privacy import cohorts as C
from loopkit_privacy._kernels import cohorts as K
from tests import reference_cohorts as ref
from tests._rng import seeded_rng

JAN = dt.datetime(2026, 1, 1)


def _events(n_users=300, seed=0):
    """Users in Jan-Mar 2026 cohorts; user u returns in month 1 when u is even."""
    rng = np.random.default_rng(seed)
    users, times = [], []
    for u in range(n_users):
        first = dt.datetime(2026, 1 + u % 3, 1 + int(rng.integers(0, 28)), 10)
        users.append(u)
        times.append(first)
        if u % 2 == 0:
            users.append(u)
            times.append(first + dt.timedelta(days=31))
    return pa.table({"user": users, "ts": pa.array(times, pa.timestamp("us"))})


def _call(table, **kw):
    args = dict(
        privacy_unit="user",
        time="ts",
        start="2026-01-01",
        end="2026-04-01",
        n_periods=3,
        epsilon=1.0,
    )
    args.update(kw)
    return lp.cohort_retention(table, **args)


# ---------------------------------------------------------------------------
# Calendar kernels against the standard library
# ---------------------------------------------------------------------------


def test_months_and_weeks_match_the_calendar():
    days = np.arange(-719_000, 2_900_000, 997, dtype=np.int64)  # years 1 to 9900
    for d in days.tolist():
        date = dt.date(1970, 1, 1) + dt.timedelta(days=d)
        assert K.period_of(np.int64(d), np.int64(1), K.MONTH) == ref.period_index(
            date, "month"
        )
        assert K.period_of(np.int64(d), np.int64(1), K.WEEK) == ref.period_index(
            date, "week"
        )
        assert K.period_of(np.int64(d), np.int64(1), K.QUARTER) == ref.period_index(
            date, "quarter"
        )


@pytest.mark.parametrize("period", ["day", "week", "month", "quarter", "year"])
def test_period_start_days_are_first_days(period):
    idx = np.arange(-30, 700, 7)
    got = C._period_start_days(idx, C._KINDS[period])
    want = [(ref.period_start(int(i), period) - dt.date(1970, 1, 1)).days for i in idx]
    assert got.tolist() == want


def test_weeks_start_on_monday():
    start = C._period_start_days(np.arange(2900, 2920), K.WEEK)
    for d in start.tolist():
        assert (dt.date(1970, 1, 1) + dt.timedelta(days=d)).weekday() == 0


# ---------------------------------------------------------------------------
# True counts against the reference
# ---------------------------------------------------------------------------


def _true(table, **kw):
    budget = lp._release.Budget.of("laplace", 1.0, None, None)
    plan, data, _ = C._setup(
        table,
        privacy_unit=kw.pop("privacy_unit", "user"),
        time=kw.pop("time", "ts"),
        start=kw.pop("start", "2026-01-01"),
        end=kw.pop("end", "2026-04-01"),
        period=kw.pop("period", "month"),
        n_periods=kw.pop("n_periods", 3),
        cohort=kw.pop("cohort", None),
        budget=budget,
        max_active_periods=kw.pop("max_active_periods", None),
        observed_until=kw.pop("observed_until", None),
        purpose=None,
        consent=None,
    )
    return plan, C._true_counts(plan, data, seeded_rng(0))


@pytest.mark.parametrize("period", ["day", "week", "month", "quarter"])
def test_true_counts_match_reference(period):
    t = _events(400, seed=1)
    rows = list(zip(t["user"].to_pylist(), t["ts"].to_pylist(), strict=True))
    start, end = dt.datetime(2026, 1, 1), dt.datetime(2026, 3, 15)
    _, counts = _true(t, period=period, start=start, end=end, n_periods=5)
    labels, want = ref.retention_truth(
        rows, start=start, end=end, period=period, n_periods=5
    )
    assert counts.tolist() == want
    plan, _ = _true(t, period=period, start=start, end=end, n_periods=5)
    assert [
        dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in plan.labels
    ] == labels


def test_cohort_column_rule_matches_reference():
    t = _events(200)
    users = t["user"].to_pylist()
    signup = {u: dt.date(2026, 1 + u % 3, 1) for u in set(users)}
    t = t.append_column("signup", pa.array([signup[u] for u in users], pa.date32()))
    rows = list(zip(users, t["ts"].to_pylist(), strict=True))
    _, counts = _true(t, cohort="signup")
    _, want = ref.retention_truth(
        rows, start=JAN, end=dt.datetime(2026, 4, 1), period="month", n_periods=3,
        signup=signup,
    )  # fmt: skip
    assert counts.tolist() == want


def test_cap_keeps_at_most_k_offsets_per_user():
    # 50 users active in every one of 6 months.
    users = [u for u in range(50) for _ in range(6)]
    times = [dt.datetime(2026, 1 + m, 3) for _ in range(50) for m in range(6)]
    t = pa.table({"user": users, "ts": pa.array(times, pa.timestamp("us"))})
    _, full = _true(t, start=JAN, end=dt.datetime(2026, 2, 1), n_periods=6)
    _, capped = _true(
        t, start=JAN, end=dt.datetime(2026, 2, 1), n_periods=6, max_active_periods=2
    )
    assert full[0].tolist() == [50] * 7
    assert capped[0, 0] == 50
    assert capped[0, 1:].sum() == 100  # 2 per user
    assert (capped[0, 1:] <= full[0, 1:]).all()
    # The keyed hash spreads the kept offsets: every offset keeps some users.
    assert (capped[0, 1:] > 0).all()


def test_users_outside_the_range_and_late_rows_are_left_out():
    t = pa.table(
        {
            "user": [1, 1, 2, 3, 3],
            "ts": pa.array(
                [
                    dt.datetime(2025, 12, 31),  # user 1 starts before the range
                    dt.datetime(2026, 1, 5),
                    dt.datetime(2026, 1, 2),
                    dt.datetime(2026, 1, 3),
                    dt.datetime(2026, 3, 3),  # after observed_until: ignored
                ],
                pa.timestamp("us"),
            ),
        }
    )
    plan, counts = _true(
        t, end=dt.datetime(2026, 2, 1), observed_until="2026-03-01", n_periods=3
    )
    assert counts.tolist() == [[2, 2, 0, 0]]
    assert plan.observed.tolist() == [[True, True, False]]


# ---------------------------------------------------------------------------
# The public function
# ---------------------------------------------------------------------------

COLUMNS = [
    "cohort",
    "period",
    "cohort_size",
    "cohort_size_ci_low",
    "cohort_size_ci_high",
    "active",
    "active_ci_low",
    "active_ci_high",
    "retention",
    "retention_ci_low",
    "retention_ci_high",
]


@pytest.mark.parametrize("family", ["arrow", "polars", "lazy", "pandas"])
def test_families_round_trip(family):
    t = _events(600)
    inp = {
        "arrow": t,
        "polars": pl.from_arrow(t),
        "lazy": pl.from_arrow(t).lazy(),
        "pandas": t.to_pandas(),
    }[family]
    out = _call(inp, rng=seeded_rng(5))
    kind = {"arrow": pa.Table, "polars": pl.DataFrame, "lazy": pl.LazyFrame}.get(
        family, pd.DataFrame
    )
    assert isinstance(out, kind)
    arrow = out if family == "arrow" else pa.table(
        out.collect().to_arrow() if family == "lazy" else
        (out.to_arrow() if family == "polars" else pa.Table.from_pandas(out))
    )  # fmt: skip
    assert arrow.column_names[: len(COLUMNS)] == COLUMNS
    cohorts = arrow["cohort"].to_pylist()
    assert sorted(set(cohorts)) == [dt.date(2026, m, 1) for m in (1, 2, 3)]
    info = lp.privacy_info(out)
    assert info.cost == lp.PureDP(1.0)
    assert info.parameters["l1_sensitivity"] == 4


def test_output_sorted_and_rates_in_unit_interval():
    out = _call(_events(900), rng=seeded_rng(5), n_periods=4)
    keys = list(zip(out["cohort"].to_pylist(), out["period"].to_pylist(), strict=True))
    assert keys == sorted(keys)
    r = np.array(out["retention"].to_pylist(), dtype=float)
    lo = np.array(out["retention_ci_low"].to_pylist(), dtype=float)
    hi = np.array(out["retention_ci_high"].to_pylist(), dtype=float)
    ok = ~np.isnan(r)
    assert ((r[ok] >= 0) & (r[ok] <= 1)).all()
    assert ((lo[ok] <= r[ok]) & (r[ok] <= hi[ok])).all()
    assert ((lo[ok] >= 0) & (hi[ok] <= 1)).all()


def test_accountant_is_charged_once_with_the_receipt():
    acc = lp.Accountant(epsilon=2.0)
    out = _call(_events(), rng=seeded_rng(5), accountant=acc, epsilon=0.5, label="ret")
    assert acc.spent.epsilon == pytest.approx(0.5)
    (receipt,) = acc.receipts
    assert lp.privacy_info(out).receipt == receipt.id
    assert receipt.mechanism == "cohort_retention"
    assert receipt.privacy_unit == "user"


def test_gaussian_rho_and_epsilon_delta():
    out = _call(
        _events(), rng=seeded_rng(5), mechanism="gaussian", rho=0.5, epsilon=None
    )
    assert lp.privacy_info(out).cost == lp.ZCDP(0.5)
    out = _call(
        _events(), rng=seeded_rng(5), mechanism="gaussian", epsilon=1.0, delta=1e-6
    )
    assert repr(lp.privacy_info(out).cost).startswith("ApproxDP(epsilon=1.0")


def test_min_cohort_size_suppresses_on_noisy_size():
    t = _events(300)
    out = _call(t, rng=seeded_rng(5), min_cohort_size=10**6)
    assert out.num_rows == 0
    assert lp.privacy_info(out).parameters["suppressed_cohorts"] == 3
    out = _call(t, rng=seeded_rng(5), min_cohort_size=None)
    assert out.num_rows == 9


def test_empty_cohorts_and_empty_tables_get_noisy_rows():
    empty = _events().slice(0, 0)
    out = _call(empty, rng=seeded_rng(5), min_cohort_size=None)
    assert out.num_rows == 9  # 3 public cohorts x 3 periods, all noise
    out = _call(empty, rng=seeded_rng(5))  # default suppression: no error either
    assert out.column_names == COLUMNS


def test_observed_until_makes_unobserved_cells_null():
    out = _call(
        _events(900),
        rng=seeded_rng(5),
        observed_until="2026-04-01",
        min_cohort_size=None,
    )
    rows = {
        (c, p): r
        for c, p, r in zip(
            out["cohort"].to_pylist(),
            out["period"].to_pylist(),
            out["active"].to_pylist(),
            strict=True,
        )
    }
    assert rows[(dt.date(2026, 3, 1), 0)] is not None
    assert rows[(dt.date(2026, 3, 1), 1)] is None
    assert rows[(dt.date(2026, 2, 1), 1)] is not None
    assert rows[(dt.date(2026, 2, 1), 2)] is None


def test_monotone_curves_do_not_increase():
    out = _call(
        _events(3000), rng=seeded_rng(5), n_periods=6, epsilon=0.05, monotone=True
    )
    df = out.to_pandas()
    for _, g in df.groupby("cohort"):
        r = g.sort_values("period")["retention"].to_numpy()
        assert (np.diff(r) <= 1e-12).all()


def test_monotone_is_the_isotonic_projection():
    r = np.array([[0.9, 0.95, 0.5, 0.6, 0.1]])
    got, _, _ = C._rates(
        np.array([100]), r * 100, np.ones((1, 5), bool), 1.0, monotone=True
    )
    want = isotonic_regression(r[0], increasing=False).x
    np.testing.assert_allclose(got[0], want)


def test_zoned_timestamps_use_their_local_calendar():
    # 2026-01-31 23:30 in New York is 2026-02-01 04:30 UTC.
    ts = pa.array(
        [dt.datetime(2026, 2, 1, 4, 30)] * 20, pa.timestamp("us", tz="America/New_York")
    )
    t = pa.table({"user": list(range(20)), "ts": ts})
    _, counts = _true(t, start="2026-01-01", end="2026-03-01", n_periods=1)
    assert counts[:, 0].tolist() == [20, 0]  # all in the January cohort


def test_rates_interval_is_conservative_box():
    size = np.array([100, 2])
    active = np.array([[50.0], [1.0]])
    rate, lo, hi = C._rates(size, active, np.ones((2, 1), bool), 10.0, monotone=False)
    assert rate[0, 0] == 0.5
    assert lo[0, 0] == pytest.approx(40 / 110)
    assert hi[0, 0] == pytest.approx(60 / 90)
    assert (lo[1, 0], hi[1, 0]) == (0.0, 1.0)  # size interval reaches 0


def test_plot_retention_draws_a_heat_map():
    import matplotlib

    matplotlib.use("Agg")
    out = _call(_events(900), rng=seeded_rng(5), observed_until="2026-04-01")
    ax = lp.plot_retention(out)
    assert ax.get_ylabel() == "cohort"
    image = ax.get_images()[0].get_array()
    assert image.shape == (3, 3)
    assert image.mask[2, 1]  # unobserved cell left blank
    ax2 = lp.plot_retention(out, value="active")
    assert "active" in ax2.get_title()
    import matplotlib.pyplot as plt

    plt.close("all")


# ---------------------------------------------------------------------------
# Bad input: clear errors, nothing spent
# ---------------------------------------------------------------------------


def _bad_cases():
    t = _events(30)
    users = t["user"].to_pylist()
    two = t.append_column(
        "signup",
        pa.array(
            [
                dt.date(2026, 1, 1) if i % 2 else dt.date(2026, 2, 1)
                for i in range(len(users))
            ],
            pa.date32(),
        ),
    )
    late = t.append_column(
        "signup", pa.array([dt.date(2026, 6, 1)] * len(users), pa.date32())
    )
    null_ts = pa.table(
        {"user": [1, 2], "ts": pa.array([JAN, None], pa.timestamp("us"))}
    )
    str_ts = pa.table({"user": [1], "ts": ["2026-01-01"]})
    return [
        (two, {"cohort": "signup"}, lp.SchemaError, "more than one cohort"),
        (late, {"cohort": "signup"}, lp.SchemaError, "before their user's cohort"),
        (t, {"time": "nope"}, lp.ColumnNotFoundError, "nope"),
        (t, {"privacy_unit": "nope"}, lp.ColumnNotFoundError, "nope"),
        (t, {"epsilon": 0.0}, lp.InvalidParameterError, "epsilon"),
        (t, {"epsilon": -1.0}, lp.InvalidParameterError, "epsilon"),
        (t, {"epsilon": math.nan}, lp.InvalidParameterError, "epsilon"),
        (t, {"end": "2025-12-01"}, lp.InvalidParameterError, "after `start`"),
        (t, {"start": "yesterday"}, lp.InvalidParameterError, "ISO"),
        (t, {"period": "fortnight"}, lp.InvalidParameterError, "period"),
        (t, {"n_periods": 0}, lp.InvalidParameterError, "n_periods"),
        (t, {"max_active_periods": 0}, lp.InvalidParameterError, "max_active_periods"),
        (t, {"min_cohort_size": math.inf}, lp.InvalidParameterError, "min_cohort_size"),
        (t, {"observed_until": "2026-02-01"}, lp.InvalidParameterError, "observed_until"),
        (t, {"start": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, lp.InvalidParameterError, "time zone"),
        (t, {"confidence": 1.5}, lp.InvalidParameterError, "confidence"),
        (null_ts, {}, lp.SchemaError, "null"),
        (str_ts, {}, lp.ColumnTypeError, "dates or timestamps"),
        (t, {"purpose": "marketing"}, lp.InvalidParameterError, "marketing"),
    ]  # fmt: skip


@pytest.mark.parametrize("case", range(19))
def test_bad_input_raises_and_spends_nothing(case):
    table, kw, exc, text = _bad_cases()[case]
    acc = lp.Accountant(epsilon=10.0)
    with pytest.raises(exc, match=text):
        _call(table, accountant=acc, **kw)
    assert acc.spent.epsilon == 0
    assert len(acc.receipts) == 0


def test_budget_refusal_spends_nothing():
    acc = lp.Accountant(epsilon=0.5)
    with pytest.raises(
        lp.BudgetExceededError,
        match=r"release 'cohort_retention' needs PureDP\(epsilon=1.0\)",
    ):
        _call(_events(), accountant=acc, epsilon=1.0)
    assert len(acc.receipts) == 0
