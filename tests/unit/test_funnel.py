"""funnel: exact reach counts against a per-user reference, windows, order, groups, intervals."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pytest

import loopkit_privacy as lp
from loopkit_privacy._kernels import funnel as kf
from loopkit_privacy.funnel import parse_window, sum_half_width
from tests import reference_histogram_funnel as ref
from tests._rng import seeded_rng
from tests.families import FAMILIES, FAMILY_TYPE, to_arrow

EPS = 1.0
STEPS = ["signup", "activate", "buy"]
T0 = dt.datetime(2026, 3, 1)
HOUR = 3600 * 10**6  # microseconds


def _table(rows):
    """(user, step, hours after T0, plan) rows."""
    return pa.table(
        {
            "user": pa.array([r[0] for r in rows], pa.int64()),
            "event": pa.array([r[1] for r in rows], pa.string()),
            "at": pa.array(
                [T0 + dt.timedelta(hours=r[2]) for r in rows], pa.timestamp("us")
            ),
            "plan": pa.array([r[3] for r in rows], pa.string()),
        }
    )


ROWS = [
    # user 1: all three in order within a day
    (1, "signup", 0, "free"), (1, "activate", 2, "free"), (1, "buy", 5, "free"),
    # user 2: activates before signing up (does not count), then buys: stops at 1
    (2, "activate", 0, "pro"), (2, "signup", 1, "pro"), (2, "buy", 3, "pro"),
    # user 3: activates after the 7-day window
    (3, "signup", 0, "free"), (3, "activate", 7 * 24, "free"),
    # user 4: second signup later does not move the anchor; activation inside
    # the window of the first, purchase at the same time as activation
    (4, "signup", 10, "pro"), (4, "signup", 50, "pro"), (4, "activate", 20, "pro"),
    (4, "buy", 20, "free"),  # the plan changes later: the anchor row decides
    # user 5: events of other steps only
    (5, "view", 0, "free"), (5, None, 1, "free"),
    # user 6: an early purchase and a late one; only the later counts
    (6, "buy", 0, "free"), (6, "signup", 1, "free"), (6, "activate", 2, "free"),
    (6, "buy", 3, "free"),
]  # fmt: skip
SMALL = _table(ROWS)
COMMON = dict(privacy_unit="user", step="event", time="at", steps=STEPS, epsilon=EPS)


def _reach(out):
    t = to_arrow(out)
    keys = (
        t.column("plan").to_pylist()
        if "plan" in t.column_names
        else [None] * t.num_rows
    )
    got: dict = {}
    for k, j, u in zip(
        keys, t["step_index"].to_pylist(), t["users"].to_pylist(), strict=True
    ):
        got.setdefault(k, [0] * len(STEPS))[j] = u
    return got


def _truth(table=SMALL, **kwargs):
    """Users reaching each step behind a seeded release (release minus empty release)."""
    kw = {**COMMON, **kwargs}
    noisy = _reach(lp.funnel(table, rng=seeded_rng(7), **kw))
    noise = _reach(lp.funnel(table.slice(0, 0), rng=seeded_rng(7), **kw))
    return {k: [a - b for a, b in zip(noisy[k], noise[k], strict=True)] for k in noisy}


def _ref_rows(rows):
    return [(u, s, h * HOUR, p) for u, s, h, p in rows]


def test_reach_equals_the_per_user_reference():
    got = _truth()
    want = ref.funnel_reach(
        [(u, s, t, None) for u, s, t, _ in _ref_rows(ROWS)], STEPS, 7 * 24 * HOUR
    )
    assert got == {None: want[None]}
    # Spelled out: 1 and 4 buy; 6 buys after activating; 2 and 3 stop at signup.
    assert got == {None: [5, 3, 3]}


def test_window_is_strict_and_accepts_every_spelling():
    rows = [(1, "signup", 0, "a"), (1, "activate", 12, "a"), (1, "buy", 13, "a")]
    t = _table(rows)
    assert _truth(t, within="12h") == {None: [1, 0, 0]}  # exactly 12h: outside
    assert _truth(t, within="721m") == {None: [1, 1, 0]}
    assert _truth(t, within=dt.timedelta(hours=13, seconds=1)) == {None: [1, 1, 1]}
    assert _truth(t, within=np.timedelta64(13 * 3600 + 1, "s")) == {None: [1, 1, 1]}
    assert _truth(t, within="0.55d") == {None: [1, 1, 1]}


def test_date_columns_count_whole_days():
    t = pa.table(
        {
            "user": [1, 1, 1, 2, 2],
            "event": ["signup", "activate", "buy", "signup", "activate"],
            "at": [dt.date(2026, 1, 1), dt.date(2026, 1, 7), dt.date(2026, 1, 8),
                   dt.date(2026, 1, 1), dt.date(2026, 1, 1)],
        }
    )  # fmt: skip
    assert _truth(t, within="7d") == {None: [2, 2, 0]}
    # 12 hours on dates: the same day only.
    assert _truth(t, within="12h") == {None: [2, 1, 0]}


def test_groups_are_read_at_the_anchor_row():
    got = _truth(by="plan", public_groups=["free", "pro", "team"])
    assert got == {"free": [3, 2, 2], "pro": [2, 1, 1], "team": [0, 0, 0]}
    want = ref.funnel_reach(_ref_rows(ROWS), STEPS, 7 * 24 * HOUR)
    assert got["free"] == want["free"]
    assert got["pro"] == want["pro"]


def test_unlisted_groups_leave_their_users_out():
    assert _truth(by="plan", public_groups=["pro"]) == {"pro": [2, 1, 1]}


def test_groups_from_the_data_go_through_selection():
    rows = [
        (u, s, k, "big") for u in range(500) for k, s in enumerate(STEPS[: 1 + u % 3])
    ]
    rows += [(9999, "signup", 0, "lone")]
    out, info = lp.funnel(
        _table(rows),
        by="plan",
        delta=1e-6,
        rng=seeded_rng(2),
        return_info=True,
        **COMMON,
    )
    assert info.groups == "selected"
    assert info.cost == lp.ApproxDP(EPS, 1e-6)
    assert info.noise[1].scale == pytest.approx(2.0)  # half of epsilon, L1 = 1
    assert set(to_arrow(out)["plan"].to_pylist()) == {"big"}
    with pytest.raises(lp.InvalidParameterError, match="delta"):
        lp.funnel(_table(rows), by="plan", **COMMON)


def test_noise_is_calibrated_to_one_cell_per_user():
    out, info = lp.funnel(
        SMALL, return_info=True, rng=seeded_rng(1), **{**COMMON, "epsilon": 0.5}
    )
    assert info.noise[0].scale == pytest.approx(2.0)  # L1 = 1
    assert info.parameters["l1_sensitivity"] == 1
    assert info.cost == lp.PureDP(0.5)
    t = to_arrow(out)
    mech = lp.GeometricMechanism(sensitivity=1, epsilon=0.5)
    hw = np.asarray(t["users_ci_high"]) - np.asarray(t["users"])
    # The last step is one cell: the mechanism's own interval; earlier steps
    # sum more cells and are wider, but narrower than the union bound.
    assert hw[2] == mech.accuracy(0.95)
    assert hw[2] < hw[1] < hw[0]
    assert hw[0] <= 3 * mech.accuracy(1 - 0.05 / 3)


def _convolved_half_width(pmf_at, support, m, level):
    """The plain way: the pmf of a sum of m iid noises by repeated convolution."""
    xs = list(range(-support, support + 1))
    dist = {x: pmf_at(x) for x in xs}
    for _ in range(m - 1):
        new: dict = {}
        for a, pa_ in dist.items():
            for x in xs:
                new[a + x] = new.get(a + x, 0.0) + pa_ * pmf_at(x)
        dist = new
    h = 0
    while sum(p for x, p in dist.items() if abs(x) <= h) < level:
        h += 1
    return h


@pytest.mark.parametrize("m", [2, 3])
def test_sum_intervals_are_exact(m):
    mech = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
    q = math.exp(-1.0 / mech.scale)
    want = _convolved_half_width(
        lambda x: (1 - q) / (1 + q) * q ** abs(x), 40, m, 0.95 + 1e-9
    )
    assert sum_half_width(mech, m, 0.95) == want
    dg = lp.DiscreteGaussianMechanism(sensitivity=1, rho=0.5)
    sigma = dg.scale
    norm = sum(math.exp(-(x * x) / (2 * sigma**2)) for x in range(-60, 61))
    want = _convolved_half_width(
        lambda x: math.exp(-(x * x) / (2 * sigma**2)) / norm, 15, m, 0.95 + 1e-9
    )
    assert sum_half_width(dg, m, 0.95) == want


def test_rates_and_their_intervals():
    rows = [
        (u, s, k, "a") for u in range(3000) for k, s in enumerate(STEPS[: 1 + u % 3])
    ]
    t = to_arrow(lp.funnel(_table(rows), rng=seeded_rng(5), **COMMON))
    users = t["users"].to_pylist()
    conv = t["conversion"].to_pylist()
    assert conv[0] is None
    assert conv[1] == pytest.approx(users[1] / users[0])
    assert t["conversion_from_first"][2].as_py() == pytest.approx(users[2] / users[0])
    for name in ("conversion", "conversion_from_first"):
        lo = t[f"{name}_ci_low"].to_pylist()[1:]
        hi = t[f"{name}_ci_high"].to_pylist()[1:]
        val = t[name].to_pylist()[1:]
        assert all(0 <= a <= v <= b <= 1 for a, v, b in zip(lo, val, hi, strict=True))
    # True rates 2000/3000 and 1000/2000 are inside and the intervals are tight.
    assert (
        t["conversion_ci_low"][1].as_py() < 2 / 3 < t["conversion_ci_high"][1].as_py()
    )
    assert t["conversion_ci_low"][2].as_py() < 0.5 < t["conversion_ci_high"][2].as_py()
    assert t["conversion_ci_high"][1].as_py() - t["conversion_ci_low"][1].as_py() < 0.02


def test_empty_table_gives_noisy_rows():
    t = to_arrow(lp.funnel(SMALL.slice(0, 0), rng=seeded_rng(1), **COMMON))
    assert t["step"].to_pylist() == STEPS
    assert t.num_rows == 3


def test_gaussian_with_rho_and_delta():
    _, info = lp.funnel(
        SMALL, rng=seeded_rng(1), return_info=True,
        **{**COMMON, "epsilon": None}, rho=0.125, mechanism="gaussian",
    )  # fmt: skip
    assert info.cost == lp.ZCDP(0.125)
    assert info.noise[0].scale == pytest.approx(2.0, rel=1e-6)  # σ = 1/√(2ρ)
    _, info = lp.funnel(
        SMALL, rng=seeded_rng(1), return_info=True, **COMMON, delta=1e-6,
        mechanism="gaussian",
    )  # fmt: skip
    assert info.cost == lp.ApproxDP(EPS, 1e-6)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_in_and_out(family):
    out = lp.funnel(FAMILIES[family](SMALL), rng=seeded_rng(1), **COMMON)
    assert isinstance(out, FAMILY_TYPE[family])
    assert lp.privacy_info(out).release == "funnel"


def test_categorical_and_integer_steps():
    cat = SMALL.set_column(1, "event", SMALL["event"].dictionary_encode())
    assert _truth(cat) == {None: [5, 3, 3]}
    codes = {"signup": 0, "activate": 1, "buy": 2, "view": 3, None: None}
    ints = SMALL.set_column(
        1, "event", pa.array([codes[s] for s in SMALL["event"].to_pylist()], pa.int64())
    )
    assert _truth(ints, steps=[0, 1, 2]) == {None: [5, 3, 3]}
    with pytest.raises(lp.InvalidParameterError, match="`steps`"):
        lp.funnel(ints, rng=seeded_rng(1), **COMMON)


def test_null_times_raise_or_drop():
    t = SMALL.set_column(
        2, "at", pa.array([None, *SMALL["at"].to_pylist()[1:]], pa.timestamp("us"))
    )
    with pytest.raises(lp.SchemaError, match="'at'"):
        lp.funnel(t, rng=seeded_rng(1), **COMMON)
    # User 1 loses the signup row, so reaches nothing.
    assert _truth(t, invalid="drop") == {None: [4, 2, 2]}


def test_accountant_is_charged_once():
    acc = lp.Accountant(epsilon=1.5)
    lp.funnel(SMALL, accountant=acc, rng=seeded_rng(1), **COMMON)
    assert acc.spent == lp.PureDP(EPS)
    assert len(acc.receipts) == 1
    with pytest.raises(lp.BudgetExceededError, match="remains"):
        lp.funnel(SMALL, accountant=acc, rng=seeded_rng(1), **COMMON)
    assert len(acc.receipts) == 1


def test_kernel_handles_times_far_apart_without_overflow():
    units = np.zeros(2, dtype=np.int64)
    steps = np.array([0, 1], dtype=np.int64)
    times = np.array([-(2**62), 2**62], dtype=np.int64)
    groups = np.zeros(2, dtype=np.int64)
    level, _ = kf.funnel_levels(units, steps, times, groups, 1, 2, np.int64(2**62))
    assert level.tolist() == [1]  # 2**63 apart: outside a 2**62 window
    level, _ = kf.funnel_levels(units, steps, times, groups, 1, 2, np.int64(2**63 - 1))
    assert level.tolist() == [1]
    times = np.array([-(2**62), 2**62 - 5], dtype=np.int64)
    level, _ = kf.funnel_levels(units, steps, times, groups, 1, 2, np.int64(2**63 - 1))
    assert level.tolist() == [2]


def test_show_and_plots():
    import matplotlib

    matplotlib.use("Agg")
    out = lp.funnel(
        SMALL, by="plan", public_groups=["free", "pro"], rng=seeded_rng(1), **COMMON
    )
    view = lp.show(out)
    assert view.value_columns == ["users", "conversion", "conversion_from_first"]
    assert "step" in view.key_columns
    ax = lp.plot_funnel(out)
    assert [t.get_text() for t in ax.get_xticklabels()] == STEPS
    assert len(ax.patches) == 6
    assert len(lp.plot(out).patches) == 6  # lp.plot draws a funnel result as a funnel
    with pytest.raises(lp.InvalidParameterError, match="funnel returned"):
        lp.plot_funnel(pa.table({"x": [1]}))


@pytest.mark.parametrize(
    ("within", "ns"),
    [("7d", 7 * 86400 * 10**9), ("2w", 14 * 86400 * 10**9), ("1.5h", 5400 * 10**9),
     ("30min", 1800 * 10**9), ("45s", 45 * 10**9), ("10ms", 10**7), (" 3 H ", 3 * 3600 * 10**9)],
)  # fmt: skip
def test_parse_window(within, ns):
    assert parse_window(within) == ns


def test_the_demo_shows_a_funnel(capsys):
    from loopkit_privacy.cli import main, synthetic_funnel

    assert main(["demo", "--users", "500", "--events", "20000", "--seed", "1",
                 "--quiet-warnings"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "funnel(signup -> activate -> purchase, within 7 days)" in out
    assert "signup funnel: PureDP(epsilon=1.0)" in out
    df = synthetic_funnel(300, seed=2)
    got = _truth(
        pa.Table.from_pandas(df.to_pandas()), privacy_unit="user_id", time="ts",
        steps=["signup", "activate", "purchase"],
    )  # fmt: skip
    assert got[None][0] == 300  # every user signs up


def test_consent_filter_leaves_out_users_without_consent():
    consent = pa.table(
        {"user": [1, 2, 3, 4, 6], "productResearch": [False, True, True, True, True]}
    )
    # User 1 (who bought) did not consent; users 4 and 6 still buy.
    got = _truth(purpose="productResearch", consent=consent)
    assert got == {None: [4, 2, 2]}
