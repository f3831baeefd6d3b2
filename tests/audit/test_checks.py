"""Key checks, sampler checks and the ledger verification wired into the audit."""

from __future__ import annotations

import os
import sqlite3

import numpy as np
import pyarrow as pa
import pytest

import loopkit_privacy as lp
from loopkit_privacy import audit, noise
from tests._rng import seeded_rng
from tests.statistical import ALPHA


def test_check_keys_accepts_public_groups(insecure_rng):
    t = pa.table({"user_id": [1, 2, 3], "page": ["a", "secret", "a"]})
    out = lp.aggregate_count(
        t,
        by="page",
        privacy_unit="user_id",
        epsilon=1.0,
        public_groups=["a", "b"],
        rng=insecure_rng,
    )
    audit.check_keys(out, allowed=["a", "b"])


def test_check_keys_flags_a_leak():
    released = pa.table({"page": ["a", "secret"], "count": [3, 1]})
    with pytest.raises(audit.KeyLeakError, match="secret") as info:
        audit.check_keys(released, allowed=["a", "b"])
    assert info.value.keys == ["secret"]
    assert isinstance(info.value, AssertionError)


def test_check_keys_several_columns():
    released = pa.table(
        {"page": ["a", "b"], "country": ["de", "fr"], "sum": [1.0, 2.0]}
    )
    audit.check_keys(released, allowed=[("a", "de"), ("b", "fr")])
    with pytest.raises(
        audit.KeyLeakError, match=r"released keys not allowed: \[\('b', 'fr'\)\]"
    ):
        audit.check_keys(released, allowed=[("a", "de")])
    audit.check_keys(released, allowed=["a", "b"], by="page")


@pytest.mark.statistical
@pytest.mark.parametrize(
    ("distribution", "scale"), [("laplace", 1.0), ("laplace", 7.5), ("gaussian", 3.0)]
)
def test_check_sampler_accepts_the_true_law_and_rejects_a_wrong_scale(
    distribution, scale
):

    rng = seeded_rng(int(scale * 10))
    if distribution == "laplace":
        x = noise.sample_discrete_laplace(scale, size=200_000, rng=rng)
        eff = noise.discrete_laplace_parameters(scale).scale
    else:
        x = noise.sample_discrete_gaussian(scale, size=200_000, rng=rng)
        eff = noise.discrete_gaussian_parameters(scale).sigma
    ok = audit.check_sampler(x, distribution=distribution, scale=eff)
    assert ok.passed, f"rejected the true law (p={ok.p_value:.3g}); alpha={ALPHA}"
    # Power: a 30 % error in the scale is rejected at 200,000 draws.
    for factor in (0.7, 1.3):
        bad = audit.check_sampler(x, distribution=distribution, scale=eff * factor)
        assert not bad.passed, f"x{factor} not rejected (p={bad.p_value:.3g})"


def test_check_sampler_validates():
    with pytest.raises(lp.InvalidParameterError, match="distribution"):
        audit.check_sampler(np.zeros(10, dtype=int), distribution="cauchy", scale=1.0)


def test_pmfs_sum_to_one():
    y = np.arange(-500, 501)
    assert audit.discrete_laplace_pmf(y, 3.0).sum() == pytest.approx(1.0)
    assert audit.discrete_gaussian_pmf(y, 3.0).sum() == pytest.approx(1.0)


def test_verify_ledger_is_wired(tmp_path):
    assert audit.verify_ledger is lp.verify_ledger
    path = os.path.join(tmp_path, "l.ledger")
    acc = lp.Accountant.open(path, dataset="events", epsilon=1.0)
    acc.spend(lp.PureDP(0.25), label="q")
    acc.close()
    assert audit.verify_ledger(path).ok
    con = sqlite3.connect(path)
    con.execute("UPDATE entries SET body = replace(body, '0.25', '0.025')")
    con.commit()
    con.close()
    assert not audit.verify_ledger(path).ok
