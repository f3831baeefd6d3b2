"""The notebook displays: their HTML carries the values, intervals and budget numbers."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import loopkit_privacy as lp
from tests._rng import seeded_rng

matplotlib.use("Agg")


def _count(acc=None, family="arrow"):
    t = pa.table(
        {"user_id": list(range(300)), "page": ["home", "docs", "pricing"] * 100}
    )
    if family == "polars":
        t = pl.from_arrow(t)
    return lp.aggregate_count(
        t,
        by="page",
        privacy_unit="user_id",
        epsilon=0.5,
        public_groups=["docs", "home", "pricing"],
        accountant=acc,
        rng=seeded_rng(0),
        label="page views",
    )


@pytest.mark.parametrize("family", ["arrow", "polars"])
def test_result_html_shows_each_value_with_its_interval(family):
    acc = lp.Accountant(epsilon=2.0)
    out = _count(acc, family)
    page = lp.show(out)._repr_html_()
    arrow = out if family == "arrow" else out.to_arrow()
    hw = (arrow["count_ci_high"][0].as_py() - arrow["count_ci_low"][0].as_py()) / 2
    for page_name, value, low, high in zip(
        arrow["page"].to_pylist(),
        arrow["count"].to_pylist(),
        arrow["count_ci_low"].to_pylist(),
        arrow["count_ci_high"].to_pylist(),
        strict=True,
    ):
        assert f">{page_name}<" in page
        assert f"{value} ± {hw:g}" in page
        assert f"[{low:g}, {high:g}]" in page
    assert "cost PureDP(epsilon=0.5)" in page
    assert "95% intervals" in page
    assert "INSECURE" in page  # seeded source, said loudly
    receipt = acc.receipts[0]
    assert receipt.id[:8] in page


def test_result_text_repr_and_errors():
    out = _count()
    text = repr(lp.show(out))
    assert text.startswith("Private result (cost PureDP(epsilon=0.5)")
    assert re.search(r"docs: count=-?\d+ ± \d", text)
    with pytest.raises(lp.InvalidParameterError, match="_ci_low"):
        lp.show(pa.table({"a": [1]}))


def test_accountant_html_shows_budget_bar_and_receipts():
    acc = lp.Accountant(epsilon=2.0)
    _count(acc)
    lp.GeometricMechanism(sensitivity=1, epsilon=1.0).release(
        5, rng=seeded_rng(1), accountant=acc, label="signups"
    )
    page = acc._repr_html_()
    assert "PureDP(epsilon=2.0)" in page  # budget
    assert "PureDP(epsilon=1.5)" in page  # spent
    assert "PureDP(epsilon=0.5)" in page  # remaining (and the first cost)
    assert 'aria-valuenow="75.0"' in page
    assert "75.0% used" in page
    assert "page views" in page
    assert "signups" in page
    assert page.index("signups") < page.index("page views")  # newest first
    assert "INSECURE" in page


def test_receipt_and_release_html():
    acc = lp.Accountant(epsilon=1.0)
    rel = lp.GeometricMechanism(sensitivity=1, epsilon=1.0, dimension=2).release(
        np.array([10, 20]), rng=seeded_rng(2), accountant=acc, label="x<y>"
    )
    page = rel._repr_html_()
    lo, hi = rel.confidence_interval()
    assert f"{rel.value[0]} ± 3" in page
    assert f"{rel.value[1]} ± 3" in page
    assert f"[{lo[0]:g}, {hi[0]:g}]" in page
    assert "PureDP(epsilon=1.0)" in page
    r = acc.receipts[0]._repr_html_()
    assert "x&lt;y&gt;" in r  # escaped
    assert "x<y>" not in r
    assert acc.receipts[0].hash[:16] in r


def test_plot_draws_error_bars_with_the_intervals():
    out = _count()
    ax = lp.plot(out, truth={"docs": 100, "home": 100, "pricing": 100})
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["docs", "home", "pricing"]
    container = ax.containers[0]
    segments = container.lines[2][0].get_segments()
    lows = [s[0][0] for s in segments]
    highs = [s[1][0] for s in segments]
    assert lows == pytest.approx(out["count_ci_low"].to_pylist())
    assert highs == pytest.approx(out["count_ci_high"].to_pylist())
    with pytest.raises(lp.InvalidParameterError, match="value"):
        lp.plot(out, value="sum")
    import matplotlib.pyplot as plt

    plt.close("all")
