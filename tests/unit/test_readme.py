import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_runs(capsys):
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README must contain a python example"
    namespace: dict = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    # The example's objects behave as the prose claims.
    assert isinstance(namespace["daily_active"], int)
    release = namespace["release"]
    low, high = release.confidence_interval()
    assert low <= release.value <= high
    assert release.insecure is False
    assert capsys.readouterr().out.count("\n") >= 2


def test_readme_names_the_two_commands():
    text = README.read_text()
    assert "loopkit-privacy demo" in text
    assert "python -m pytest" in text
