"""The aggregations' trials path runs the same release code as the public functions."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import loopkit_privacy as lp
from loopkit_privacy._release import request_of
from loopkit_privacy.audit import aggregation_trials
from tests._rng import seeded_rng


def _table():
    gen = np.random.default_rng(3)
    users = np.repeat(np.arange(400), 3)
    pages = np.array(list("abcdefg"))[gen.integers(0, 7, users.size)]
    return pa.table(
        {"user_id": users, "page": pages, "minutes": gen.uniform(0, 30, users.size)}
    )


CALLS = [
    (lp.aggregate_count, {"by": "page", "epsilon": 1.0, "delta": 1e-6}),
    (
        lp.aggregate_count,
        {"by": "page", "epsilon": 1.0, "public_groups": list("abcdefgz")},
    ),
    (
        lp.aggregate_sum,
        {
            "by": "page",
            "column": "minutes",
            "bounds": (0, 30),
            "epsilon": 1.0,
            "delta": 1e-6,
            "max_partitions_per_user": 2,
            "max_contributions_per_partition": 2,
            "min_threshold": 900.0,
        },
    ),
    (
        lp.aggregate_average,
        {
            "by": "page",
            "column": "minutes",
            "bounds": (0, 30),
            "epsilon": 1.0,
            "delta": 1e-6,
            "mechanism": "gaussian",
        },
    ),
    (
        lp.aggregate_top_n,
        {
            "column": "page",
            "n": 3,
            "epsilon": 1.0,
            "delta": 1e-6,
            "max_partitions_per_user": 3,
        },
    ),
    (lp.aggregate_count, {"epsilon": 1.0, "distinct": True}),
]


@pytest.mark.parametrize(
    ("func", "kwargs"), CALLS, ids=lambda x: getattr(x, "__name__", "")
)
def test_one_trial_equals_one_release(func, kwargs):
    # The public call reads its bounding salt as the first word of the source,
    # then noise; the trials path takes the salt as an argument and then
    # draws noise from the same source. With the same seed they agree.
    table = _table()
    public = func(table, privacy_unit="user_id", rng=seeded_rng(11), **kwargs)
    source = seeded_rng(11)
    salt = int(source.words(1)[0])
    request = request_of(func, table, privacy_unit="user_id", rng=source, **kwargs)
    trial = request.trials(1, salt=salt)
    value_col = {
        "aggregate_count": "count",
        "aggregate_sum": "sum",
        "aggregate_average": "average",
        "aggregate_top_n": "users",
    }[func.__name__]
    keys = [tuple(k.values()) for k in trial.keys]
    released = {keys[g]: trial.values[0, g] for g in np.flatnonzero(trial.present[0])}
    by = [
        c
        for c in public.column_names
        if c not in (value_col, f"{value_col}_ci_low", f"{value_col}_ci_high", "rank")
    ]
    expected = {tuple(row[c] for c in by): row[value_col] for row in public.to_pylist()}
    assert released.keys() == expected.keys()
    for key, value in expected.items():
        assert released[key] == pytest.approx(value, rel=0, abs=0)


def test_many_trials_have_the_right_shape_and_spread():
    fn = aggregation_trials(
        lp.aggregate_count,
        by="page",
        privacy_unit="user_id",
        epsilon=1.0,
        public_groups=list("abcdefg"),
    )
    out = fn(_table(), 50_000)
    assert out.present.shape == (50_000, 7)
    assert out.present.all()
    # Variance of the discrete Laplace with scale 1: 2q/(1-q)^2, q = e^-1.
    q = np.exp(-1.0)
    var = 2 * q / (1 - q) ** 2
    got = out.values.var(axis=0)
    # 50,000 draws: the sample variance is within 10 % with overwhelming
    # probability (its relative sd is about 1.5 %; 10 % is over 6 sd).
    assert np.all(np.abs(got / var - 1) < 0.1), got


def test_trials_refuse_an_accountant():
    acc = lp.Accountant(epsilon=10.0)
    request = request_of(
        lp.aggregate_count,
        _table(),
        privacy_unit="user_id",
        epsilon=1.0,
        accountant=acc,
    )
    with pytest.raises(lp.InvalidParameterError, match="never charged"):
        request.trials(3, salt=1)
    assert acc.receipts == ()


def test_a_request_releases_what_the_public_function_returns():
    # The public function is the request's release: the same table and the
    # same receipt, and asking for the request spends nothing.
    acc = lp.Accountant(epsilon=10.0, delta=1e-5)
    kwargs = {"by": "page", "privacy_unit": "user_id", "epsilon": 1.0, "delta": 1e-6}
    request = request_of(
        lp.aggregate_count, _table(), rng=seeded_rng(4), accountant=acc, **kwargs
    )
    assert acc.receipts == ()
    out = request.release()
    assert len(acc.receipts) == 1
    assert acc.receipts[0].cost == lp.ApproxDP(1.0, 1e-6)
    expected = lp.aggregate_count(_table(), rng=seeded_rng(4), **kwargs)
    assert isinstance(out, pa.Table)
    assert out.to_pylist() == expected.to_pylist()
