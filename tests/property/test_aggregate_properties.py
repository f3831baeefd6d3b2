"""Hypothesis: bounding really bounds, no key released without selection,
outputs keep family and schema, the accountant is charged exactly the stated
cost, and a failed call spends nothing."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopkit_privacy as lp
import loopkit_privacy.bounding
import loopkit_privacy.tables
from loopkit_privacy._kernels import bounding as kb
from loopkit_privacy.accounting import Accountant
from loopkit_privacy.audit import strategies as lps
from loopkit_privacy.errors import PrivacyError
from loopkit_privacy.loss import ZCDP, ApproxDP, PureDP
from tests import reference_aggregate as ref
from tests.families import FAMILIES, FAMILY_TYPE, to_arrow

KEYS = ["a", "b", "c", "d", None]
# Releases through the public API cost milliseconds each: a quarter of the
# profile's examples (the kernel properties run the full count).
SLOW = settings(
    max_examples=max(10, settings.default.max_examples // 4),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def parse_cost(text):
    return eval(text, {"PureDP": PureDP, "ApproxDP": ApproxDP, "ZCDP": ZCDP})


def _with_null_keys(table, null_key):
    page = pa.array(
        [
            None if drop else k
            for k, drop in zip(table["page"].to_pylist(), null_key, strict=True)
        ],
        pa.string(),
    )
    return pa.table({"user_id": table["user_id"], "page": page, "v": table["value"]})


def event_tables(max_rows=40, max_users=8):
    """The shipped ``audit.strategies.event_tables`` over the keys ``KEYS``.

    Some ``page`` keys are made null (a null key is a group of its own, and it
    sorts last), and only ``user_id``, ``page`` and ``value`` (as ``v``, with
    nulls) are kept.
    """
    tables = lps.event_tables(
        max_users=max_users,
        max_rows_per_user=max(1, -(-max_rows // max_users)),
        groups=tuple(k for k in KEYS if k is not None),
    )
    return tables.flatmap(
        lambda t: st.lists(st.booleans(), min_size=t.num_rows, max_size=t.num_rows).map(
            lambda null_key: _with_null_keys(t, null_key)
        )
    )


@st.composite
def code_arrays(draw, max_rows=80):
    n_users = draw(st.integers(1, 10))
    n_groups = draw(st.integers(1, 8))
    n = draw(st.integers(0, max_rows))
    users = draw(st.lists(st.integers(-1, n_users - 1), min_size=n, max_size=n))
    groups = draw(st.lists(st.integers(-1, n_groups - 1), min_size=n, max_size=n))
    return (
        np.array(users, dtype=np.int64),
        np.array(groups, dtype=np.int64),
        n_users,
        n_groups,
    )


def run_kernel(
    users, groups, values, n_users, n_groups, l0, linf, salt, lo=0.0, hi=1.0
):
    rows = np.zeros(n_groups, dtype=np.int64)
    units = np.zeros(n_groups, dtype=np.int64)
    sums = np.zeros(n_groups, dtype=np.int64)
    vals = np.empty(0, dtype=np.float64) if values is None else values
    q = lp.bounding.fixed_point_quantum((lo, hi))
    dropped = kb.bound_reduce(
        users, groups, vals, np.int64(n_users), np.int64(n_groups), np.int64(l0),
        np.int64(linf), lo, hi, 0.0, q, np.uint64(salt), rows, units, sums,
    )  # fmt: skip
    return rows, units, sums, int(dropped), q


l0s = st.integers(1, 4)
linfs = st.integers(1, 4)
salts = st.integers(0, 2**64 - 1)


# ---------------------------------------------------------------------------
# Bounding really bounds
# ---------------------------------------------------------------------------


@given(
    groups=st.lists(st.integers(0, 9), max_size=60),
    l0=l0s,
    linf=linfs,
    salt=salts,
)
def test_single_user_touches_at_most_l0_groups_and_linf_rows(groups, l0, linf, salt):
    g = np.array(groups, dtype=np.int64)
    users = np.zeros(g.size, dtype=np.int64)
    rows, units, _, dropped, _ = run_kernel(users, g, None, 1, 10, l0, linf, salt)
    assert (rows > 0).sum() <= l0
    assert rows.max(initial=0) <= linf
    assert units.max(initial=0) <= 1
    # and it keeps as much as the limits allow
    per_group = np.bincount(g, minlength=10)
    assert (rows > 0).sum() == min(l0, (per_group > 0).sum())
    for k in np.flatnonzero(rows):
        assert rows[k] == min(linf, per_group[k])
    assert dropped + rows.sum() == g.size


@given(codes=code_arrays(), l0=l0s, linf=linfs, salt=salts, data=st.data())
def test_bounding_limits_hold_and_match_reference(codes, l0, linf, salt, data):
    users, groups, n_users, n_groups = codes
    values = np.array(
        data.draw(
            st.lists(
                st.floats(-5, 5, allow_nan=False),
                min_size=users.size,
                max_size=users.size,
            )
        ),
        dtype=np.float64,
    )
    rows, units, sums, dropped, q = run_kernel(
        users, groups, values, n_users, n_groups, l0, linf, salt, lo=-2.0, hi=3.0
    )
    valid = (users >= 0) & (groups >= 0)
    n_present = np.unique(users[valid]).size
    assert units.sum() <= n_present * l0
    assert (rows <= units * linf).all()
    assert (units <= rows).all()
    for g in range(n_groups):
        assert units[g] <= np.unique(users[valid & (groups == g)]).size
    assert dropped + rows.sum() == valid.sum()
    # each kept row adds at most max(|lo|, |hi|) = 3
    assert (np.abs(sums) * q <= rows * 3.0 + 1e-9).all()
    want = ref.bound_reduce(
        users, groups, values, n_groups, l0, linf, -2.0, 3.0, 0.0, q, salt
    )
    assert (rows.tolist(), units.tolist(), sums.tolist(), dropped) == want


@given(table=event_tables(), l0=l0s, linf=linfs, seed=st.integers(0, 2**32))
def test_bounding_glue_over_a_table(table, l0, linf, seed):
    # The path a release takes: codes from the table, null values dropped
    # (-1), then bound_and_reduce. Checked against the limits and against the
    # reference with the salt the source hands out.
    units, n_units = lp.tables.unit_codes(table, "user_id")
    grouped = lp.tables.group_codes(table, ["page"])
    values, valid = lp.tables.numeric_column(table, "v")
    codes = grouped.codes if valid is None else np.where(valid, grouped.codes, -1)
    bounds = lp.ContributionBounds("user_id", l0, linf, (-10.0, 20.0))

    class Words:
        insecure = True

        def words(self, n):
            return np.random.default_rng(seed).integers(
                0, 2**64, size=n, dtype=np.uint64
            )

    agg = lp.bounding.bound_and_reduce(
        units, n_units, codes, grouped.n_groups, bounds, rng=Words(), values=values
    )
    assert agg.units.sum() <= n_units * l0
    assert (agg.rows <= agg.units * linf).all()
    assert (np.abs(agg.sum_units) * agg.quantum <= agg.rows * 20.0).all()
    assert agg.rows.sum() + agg.dropped_rows == (codes >= 0).sum()
    salt = int(Words().words(1)[0])
    want = ref.bound_reduce(
        units,
        codes,
        values,
        grouped.n_groups,
        l0,
        linf,
        -10.0,
        20.0,
        0.0,
        agg.quantum,
        salt,
    )
    assert (
        agg.rows.tolist(),
        agg.units.tolist(),
        agg.sum_units.tolist(),
        agg.dropped_rows,
    ) == want


# ---------------------------------------------------------------------------
# Keys: public groups and selection
# ---------------------------------------------------------------------------


@SLOW
@given(
    table=event_tables(),
    public=st.lists(st.sampled_from([*KEYS, "zz", "yy"]), unique=True, min_size=1),
    family=st.sampled_from(list(FAMILIES)),
    kind=st.sampled_from(["count", "sum", "average", "top_n"]),
)
def test_public_groups_release_no_other_key(table, public, family, kind):
    data = FAMILIES[family](table)
    common = dict(privacy_unit="user_id", epsilon=1.0, public_groups=public)
    if kind == "count":
        out = lp.aggregate_count(data, by="page", **common)
    elif kind == "sum":
        out = lp.aggregate_sum(data, by="page", column="v", bounds=(-1, 1), **common)
    elif kind == "average":
        out = lp.aggregate_average(
            data, by="page", column="v", bounds=(-1, 1), **common
        )
    else:
        out = lp.aggregate_top_n(data, column="page", n=3, **common)
    assert isinstance(out, FAMILY_TYPE[family])
    keys = to_arrow(out).column("page").to_pylist()
    assert set(keys) <= set(public)
    if kind != "top_n":
        assert keys == public


@SLOW
@given(
    table=event_tables(max_rows=60, max_users=40),
    family=st.sampled_from(list(FAMILIES)),
    kind=st.sampled_from(["count", "distinct", "sum", "top_n"]),
    epsilon=st.floats(0.5, 5.0),
)
def test_selection_releases_only_keys_in_the_data(table, family, kind, epsilon):
    data = FAMILIES[family](table)
    common = dict(privacy_unit="user_id", epsilon=epsilon, delta=0.5)  # large δ: low τ
    if kind in ("count", "distinct"):
        out = lp.aggregate_count(data, by="page", distinct=kind == "distinct", **common)
    elif kind == "sum":
        out = lp.aggregate_sum(data, by="page", column="v", bounds=(-1, 1), **common)
    else:
        out = lp.aggregate_top_n(data, column="page", n=5, **common)
    assert isinstance(out, FAMILY_TYPE[family])
    keys = to_arrow(out).column("page").to_pylist()
    # A key is "in the data" when some row carries it, even if all its values
    # are null (those rows drop out of the sum, not out of the key set).
    present = set(table.column("page").to_pylist())
    assert set(keys) <= present
    assert len(keys) == len(set(keys))
    if kind != "top_n":
        non_null = [k for k in keys if k is not None]
        assert non_null == sorted(non_null)
        assert None not in keys[:-1]  # nulls sort last


# ---------------------------------------------------------------------------
# Family and schema
# ---------------------------------------------------------------------------

EXPECTED = {
    "count": ["page", "count", "count_ci_low", "count_ci_high"],
    "sum": ["page", "sum", "sum_ci_low", "sum_ci_high"],
    "average": ["page", "average", "average_ci_low", "average_ci_high"],
    "top_n": ["page", "users", "users_ci_low", "users_ci_high", "rank"],
}


@SLOW
@given(
    table=event_tables(),
    family=st.sampled_from(list(FAMILIES)),
    kind=st.sampled_from(list(EXPECTED)),
    public=st.booleans(),
)
def test_outputs_keep_family_and_schema(table, family, kind, public):
    data = FAMILIES[family](table)
    common = dict(privacy_unit="user_id", epsilon=1.0)
    common.update({"public_groups": ["a", "b"]} if public else {"delta": 1e-3})
    if kind == "count":
        out = lp.aggregate_count(data, by="page", **common)
    elif kind == "sum":
        out = lp.aggregate_sum(data, by="page", column="v", bounds=(0, 9), **common)
    elif kind == "average":
        out = lp.aggregate_average(data, by="page", column="v", bounds=(0, 9), **common)
    else:
        out = lp.aggregate_top_n(data, column="page", **common)
    assert isinstance(out, FAMILY_TYPE[family])
    t = to_arrow(out)
    assert t.column_names == EXPECTED[kind]
    value = EXPECTED[kind][1]
    want_value = pa.int64() if kind in ("count", "top_n") else pa.float64()
    assert t.schema.field(value).type == want_value
    assert t.schema.field(f"{value}_ci_low").type == pa.float64()
    assert t.schema.field(f"{value}_ci_high").type == pa.float64()
    lows = t.column(f"{value}_ci_low").to_pylist()
    highs = t.column(f"{value}_ci_high").to_pylist()
    vals = t.column(value).to_pylist()
    assert all(lo <= v <= hi for lo, v, hi in zip(lows, vals, highs, strict=True))
    if kind == "average":
        assert all(0 <= v <= 9 for v in vals)


# ---------------------------------------------------------------------------
# The accountant: exactly the stated cost, nothing on failure
# ---------------------------------------------------------------------------


@SLOW
@given(
    table=event_tables(),
    calls=st.lists(
        st.tuples(
            st.sampled_from(["count", "count_linf", "sum", "average", "top_n"]),
            st.floats(0.01, 2.0),
            st.sampled_from([None, 1e-9, 1e-6, 1e-3]),
            st.sampled_from(["laplace", "gaussian"]),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_accountant_charged_exactly_the_stated_cost(table, calls):
    acc = Accountant(epsilon=100.0, delta=0.1)
    stated = []
    for kind, epsilon, delta, mechanism in calls:
        if mechanism == "gaussian" and delta is None:
            delta = 1e-6
        common = dict(
            privacy_unit="user_id",
            epsilon=epsilon,
            delta=delta,
            mechanism=mechanism,
            accountant=acc,
        )
        if delta is None:
            common["public_groups"] = ["a", "b"]
        before = len(acc.receipts)
        if kind in ("count", "count_linf"):
            out = lp.aggregate_count(
                table,
                by="page",
                max_contributions_per_partition=1 if kind == "count" else 3,
                **common,
            )
        elif kind == "sum":
            out = lp.aggregate_sum(
                table, by="page", column="v", bounds=(0, 3), **common
            )
        elif kind == "average":
            out = lp.aggregate_average(
                table, by="page", column="v", bounds=(0, 3), **common
            )
        else:
            out = lp.aggregate_top_n(table, column="page", **common)
        info = lp.privacy_info(out)
        assert len(acc.receipts) == before + 1
        receipt = acc.receipts[-1]
        cost = info.cost
        assert receipt.cost == cost
        assert info.receipt == receipt.id
        # never more than asked
        assert cost.epsilon <= epsilon * (1 + 1e-12)
        assert getattr(cost, "delta", 0.0) <= (delta or 0.0) * (1 + 1e-12)
        stated.append(cost)
    total_eps = sum(c.epsilon for c in stated)
    total_delta = sum(getattr(c, "delta", 0.0) for c in stated)
    assert acc.spent.epsilon == pytest.approx(total_eps, rel=1e-12)
    assert acc.spent.delta == pytest.approx(total_delta, rel=1e-12, abs=1e-300)


BAD = {
    "unknown column": dict(by="nope", public_groups=["a"]),
    "null unit": dict(by="page", public_groups=["a"], privacy_unit="maybe"),
    "text value": dict(column="page", bounds=(0, 1)),
    "nan value": dict(column="bad", bounds=(0, 1)),
    "bounds": dict(column="v", bounds=(2, 2)),
    "epsilon": dict(epsilon=-0.5),
    "no delta": dict(by="page"),
    "public duplicates": dict(by="page", public_groups=["a", "a"]),
    "budget": dict(epsilon=4.0),
    "insecure": dict(rng="insecure"),
}
# What each refusal's message must say, so a different error cannot pass.
BAD_MATCH = {
    "unknown column": r"column 'nope' is not in the table",
    "null unit": r"privacy-unit column 'maybe' has nulls",
    "text value": r"value column 'page' must be numeric",
    "nan value": r"value column 'bad' contains NaN or infinite values",
    "bounds": r"`bounds` must be finite with lo < hi",
    "epsilon": r"`epsilon` must be a finite number > 0",
    "no delta": r"partition selection, which costs `delta` > 0",
    "public duplicates": r"`public_groups` contains duplicates",
    "budget": r"needs PureDP\(epsilon=4.0\) but only",
    "insecure": r"uses insecure \(seeded\) randomness",
}


@SLOW
@given(
    table=event_tables(),
    bad=st.sampled_from(list(BAD)),
    family=st.sampled_from(["arrow", "polars", "polars_lazy"]),
    first=st.booleans(),
)
def test_a_failed_call_spends_nothing(table, bad, family, first):
    n = table.num_rows
    table = table.append_column(
        "maybe", pa.array([None if i == 0 else 1 for i in range(n)], pa.int64())
    )
    table = table.append_column("bad", pa.array([float("nan")] * n, pa.float64()))
    if n == 0 and bad in ("null unit", "nan value"):
        bad = "epsilon"  # an empty column has neither nulls nor NaN
    acc = Accountant(epsilon=3.0, delta=1e-3, allow_insecure=False)
    if not first:
        lp.aggregate_count(table, privacy_unit="user_id", epsilon=1.0, accountant=acc)
    before = (repr(acc.spent), acc.receipts)
    kwargs = {"privacy_unit": "user_id", "epsilon": 1.0, "accountant": acc, **BAD[bad]}
    if kwargs.get("rng") == "insecure":
        with pytest.warns(lp.InsecureRandomnessWarning):
            kwargs["rng"] = lp.random.InsecureSeededRandom(1)
    f = lp.aggregate_sum if "column" in kwargs else lp.aggregate_count
    with pytest.raises(PrivacyError, match=BAD_MATCH[bad]):
        f(FAMILIES[family](table), **kwargs)
    assert (repr(acc.spent), acc.receipts) == before
