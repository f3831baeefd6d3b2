"""`loopkit-privacy audit` end to end, on a few fast cases."""

from __future__ import annotations

import json

import pytest

import loopkit_privacy as lp
from loopkit_privacy import _kernels
from loopkit_privacy.audit import _broken, builtin
from loopkit_privacy.cli import main


@pytest.fixture
def few_cases(monkeypatch):
    geo = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
    cases = [builtin.AuditCase("geometric", geo.randomize, 0, 1, 1.0)]
    monkeypatch.setattr(builtin, "builtin_cases", lambda: list(cases))
    monkeypatch.setattr(_broken, "broken_cases", lambda: [_broken.halved_noise()])
    monkeypatch.setattr(_kernels, "warmup", lambda: None)
    return cases


def test_audit_writes_markdown(tmp_path, few_cases, capsys):
    path = tmp_path / "audit.md"
    assert main(["audit", "--trials", "20000", "--report", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ok   geometric" in out
    assert "audit: PASS" in out
    assert "| geometric | 1 | 0 |" in path.read_text()


def test_audit_writes_json_quietly(tmp_path, few_cases, capsys):
    path = tmp_path / "audit.json"
    assert main(["audit", "--trials", "20000", "--quiet", "--report", str(path)]) == 0
    assert capsys.readouterr().out == ""
    data = json.loads(path.read_text())
    assert data["passed"]
    assert data["cases"][0]["name"] == "geometric"


def test_self_test_catches_the_broken_variant(few_cases, capsys):
    assert main(["audit", "--trials", "50000", "--self-test"]) == 0
    assert "ok   broken: Laplace noise scale halved" in capsys.readouterr().out


def test_failure_exits_one(monkeypatch, few_cases):
    monkeypatch.setattr(
        builtin,
        "builtin_cases",
        lambda: [
            _broken.halved_noise().__class__(
                **{**_broken.halved_noise().__dict__, "expect_violation": False}
            )
        ],
    )
    assert main(["audit", "--trials", "50000", "--quiet"]) == 1


def test_too_few_trials(few_cases, capsys):
    assert main(["audit", "--trials", "2", "--quiet"]) == 2
