"""The ``loopkit-privacy query FILE`` command, end to end on Parquet and CSV files."""

from __future__ import annotations

import pytest

import loopkit_privacy as lp
from loopkit_privacy.cli import main, synthetic_events


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("q")
    events = synthetic_events(20_000, seed=3)
    events.write_parquet(d / "events.parquet")
    events.write_csv(d / "events.csv")
    return d


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_count_by_page_prints_noisy_counts_and_cost(files, capsys, ext):
    code, out, err = _run(
        capsys, "query", str(files / f"events.{ext}"), "--count", "--by", "platform",
        "--privacy-unit", "user_id", "--epsilon", "1", "--delta", "1e-6",
        "--max-partitions", "3", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert "count_ci_low" in out
    for platform in ("android", "ios", "web"):
        assert platform in out
    assert "cost: ApproxDP(epsilon=1.0, delta=1e-06)" in out
    assert "groups: selected" in out
    assert err == ""  # no progress bar when stderr is not a terminal


def test_average_and_top_n(files, capsys):
    code, out, _ = _run(
        capsys, "query", str(files / "events.parquet"), "--average", "time_spent",
        "--bounds", "0", "60", "--privacy-unit", "user_id", "--epsilon", "1", "--quiet",
    )  # fmt: skip
    assert code == 0
    assert "average_ci_high" in out
    code, out, _ = _run(
        capsys, "query", str(files / "events.parquet"), "--top-n", "feature", "--n", "3",
        "--privacy-unit", "user_id", "--epsilon", "1", "--delta", "1e-6",
    )  # fmt: skip
    assert code == 0
    assert "rank" in out


def test_ledger_is_charged(files, capsys, tmp_path):
    ledger = tmp_path / "budget.sqlite"
    for _ in range(2):
        code, out, _ = _run(
            capsys, "query", str(files / "events.parquet"), "--count",
            "--privacy-unit", "user_id", "--epsilon", "0.5", "--ledger", str(ledger),
            "--budget-epsilon", "1",
        )  # fmt: skip
        assert code == 0
    assert "remaining ApproxDP(epsilon=0.0, delta=1e-05)" in out
    code, _, err = _run(
        capsys, "query", str(files / "events.parquet"), "--count",
        "--privacy-unit", "user_id", "--epsilon", "0.5", "--ledger", str(ledger),
        "--budget-epsilon", "1",
    )  # fmt: skip
    assert code == 2
    assert "nothing was spent" in err
    assert lp.verify_ledger(ledger).ok


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["--count", "--privacy-unit", "nope", "--epsilon", "1"], "nope"),
        (["--count", "--by", "zzz", "--privacy-unit", "user_id", "--epsilon", "1", "--delta", "1e-6"], "'page'"),
        (["--sum", "time_spent", "--privacy-unit", "user_id", "--epsilon", "1"], "--bounds"),
        (["--count", "--privacy-unit", "user_id", "--epsilon", "-1"], "epsilon"),
        (["--privacy-unit", "user_id", "--epsilon", "1"], "exactly one"),
    ],
)  # fmt: skip
def test_bad_queries_exit_2_with_a_message(files, capsys, argv, text):
    code, _, err = _run(capsys, "query", str(files / "events.parquet"), *argv)
    assert code == 2
    assert text in err


def test_unknown_extension(files, capsys, tmp_path):
    path = tmp_path / "events.json"
    path.write_text("{}")
    code, _, err = _run(capsys, "query", str(path), "--count", "--epsilon", "1")
    assert code == 2
    assert ".parquet or .csv" in err


def test_polars_reads_only_needed_columns(files, capsys, monkeypatch):
    seen = {}
    original = lp.aggregate.aggregate_count

    def spy(frame, **kw):
        seen["columns"] = frame.collect_schema().names()
        return original(frame, **kw)

    monkeypatch.setattr(lp.aggregate, "aggregate_count", spy)
    code, _, _ = _run(
        capsys, "query", str(files / "events.parquet"), "--count", "--by", "page",
        "--privacy-unit", "user_id", "--epsilon", "1", "--delta", "1e-6",
    )  # fmt: skip
    assert code == 0
    assert seen["columns"] == ["user_id", "page"]
