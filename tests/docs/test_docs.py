"""The documentation site's pages: their code runs, and the API reference is complete."""

from __future__ import annotations

import re

import polars as pl
import pytest

import loopkit_privacy as lp
from tests.markdown_examples import ROOT, python_blocks, run_blocks

DOCS = ROOT / "docs"
GETTING_STARTED = DOCS / "getting-started.md"
HOWTOS = sorted((DOCS / "howto").glob("*.md"))
API_MODULES = [
    "accounting",
    "audit",
    "cohorts",
    "controls",
    "errors",
    "funnel",
    "histogram",
    "kanon",
    "loss",
    "mechanisms",
    "noise",
    "quantiles",
    "random",
]


@pytest.fixture
def in_tmp_dir(tmp_path, monkeypatch):
    """Run a page's code in an empty directory (it writes a ledger or a PNG)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOOPKIT_PRIVACY_FORBID_INSECURE", raising=False)
    yield tmp_path
    import matplotlib.pyplot as plt

    plt.close("all")


def test_getting_started_runs_and_says_what_it_shows(in_tmp_dir, capsys):
    ns = run_blocks(GETTING_STARTED)
    events, views = ns["events"], ns["views"]
    assert views.columns == ["page", "count", "count_ci_low", "count_ci_high"]
    assert views["page"].to_list() == ["home", "pricing", "docs", "blog"]
    # "every count above gets the same ± 60"
    half = (views["count_ci_high"] - views["count_ci_low"]) / 2
    assert half.to_list() == [60.0] * 4
    # "the raw count of home views is 11,896 and the bounded one 11,393"
    home = pl.col("page") == "home"
    assert events.filter(home).height == 11_896
    bounded = (
        events.filter(home).group_by("user_id").len()["len"].clip(upper_bound=5).sum()
    )
    assert bounded == 11_393
    assert repr(ns["budget"].remaining) == "ApproxDP(epsilon=0.5, delta=1e-06)"
    assert [r.label for r in ns["budget"].receipts] == [
        "views per page",
        "distinct visitors",
    ]
    assert ns["report"].ok
    assert (in_tmp_dir / "analytics.ledger").is_file()
    out = capsys.readouterr().out
    assert "nothing was spent" in out
    assert "± 60" in out


@pytest.mark.parametrize("page", HOWTOS, ids=[p.stem for p in HOWTOS])
def test_howto_page_runs(page, in_tmp_dir):
    assert python_blocks(page), f"{page.name} has no python example"
    ns = run_blocks(page)
    budget = ns["budget"]
    assert budget.receipts, f"{page.name} charges nothing to its budget"
    assert all(not r.insecure for r in budget.receipts)


def test_howto_pages_are_the_five_use_cases():
    assert [p.stem for p in HOWTOS] == [
        "cohorts",
        "feature-usage",
        "funnels",
        "histograms",
        "page-views",
        "quantiles",
        "session-duration",
        "top-features",
    ]


@pytest.mark.parametrize("module", API_MODULES)
def test_api_page_renders_the_module(module):
    text = (DOCS / "api" / f"{module}.md").read_text(encoding="utf-8")
    assert re.search(rf"^::: loopkit_privacy\.{module}$", text, flags=re.M)


def test_api_index_names_every_top_level_name():
    from loopkit_privacy import display, errors

    text = (DOCS / "api" / "loopkit_privacy.md").read_text(encoding="utf-8")
    rendered = set(re.findall(r"^\s+- (\w+)$", text, flags=re.M))  # members: lists
    rendered |= set(re.findall(r"^::: [\w.]+\.([A-Za-z]\w*)$", text, flags=re.M))
    assert "::: loopkit_privacy.display" in text
    rendered |= set(display.__all__)  # the display module is rendered whole
    assert "[`errors`](errors.md)" in text
    rendered |= set(errors.__all__)  # the table sends every exception there
    missing = [
        name
        for name in lp.__all__
        if name != "__version__" and f"`{name}`" not in text and name not in rendered
    ]
    assert missing == [], "add these names to docs/api/loopkit_privacy.md"


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = [
        p.relative_to(DOCS).as_posix()
        for p in DOCS.rglob("*.md")
        if not p.relative_to(DOCS).as_posix().startswith("_")
    ]
    assert [p for p in pages if f": {p}\n" not in nav] == []
