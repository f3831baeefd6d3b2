from tests.markdown_examples import ROOT, python_blocks, run_blocks

README = ROOT / "README.md"


def test_readme_example_runs(capsys):
    blocks = python_blocks(README)
    assert blocks, "README must contain a python example"
    namespace = run_blocks(README, blocks[:1])
    # The example's objects behave as the prose claims.
    assert isinstance(namespace["daily_active"], int)
    views = namespace["views"]
    assert views.columns == ["page", "count", "count_ci_low", "count_ci_high"]
    assert set(views["page"].to_list()) <= {"home", "docs", "pricing"}
    assert repr(namespace["budget"].remaining) == "ApproxDP(epsilon=0.5, delta=9e-06)"
    assert len(namespace["budget"].receipts) == 2
    assert capsys.readouterr().out.count("\n") >= 2


def test_readme_names_the_two_commands():
    text = README.read_text()
    assert "loopkit-privacy demo" in text
    assert "python -m pytest" in text
