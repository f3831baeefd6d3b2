"""The built-in audit: every mechanism and aggregation passes, every broken variant is caught.

False-failure rate: each case runs at confidence 1 - 1e-6 (ALPHA), so a
correct case fails with probability at most 1e-6; the 20 cases together at
most 2e-5. The broken variants are violations far beyond the bounds'
width at these trial counts (their measured bounds are quoted in
docs/audit.md), so missing one is not a matter of chance.
"""

from __future__ import annotations

import pytest

from loopkit_privacy.audit import _broken, builtin
from tests.statistical import ALPHA

pytestmark = pytest.mark.statistical

TRIALS = 100_000
CASES = {c.name: c for c in builtin.builtin_cases()}
BROKEN = {c.name: c for c in _broken.broken_cases()}


def test_every_mechanism_and_aggregation_is_covered():
    names = set(CASES)
    for needed in (
        "LaplaceMechanism",
        "GeometricMechanism",
        "GaussianMechanism",
        "DiscreteGaussianMechanism",
        "ExponentialMechanism",
        "report_noisy_max (permute-and-flip)",
        "add_noise (integer)",
        "add_noise (float)",
        "aggregate_count (public groups)",
        "aggregate_count distinct (public groups)",
        "aggregate_sum (public groups)",
        "aggregate_average (public groups)",
        "aggregate_count (partition selection)",
        "aggregate_sum (partition selection)",
        "aggregate_average (partition selection)",
        "aggregate_top_n (partition selection)",
        "aggregate_quantiles (public groups)",
        "aggregate_quantiles (partition selection)",
        "aggregate_variance (public groups)",
        "aggregate_std (partition selection)",
        "cohort_retention",
    ):
        assert needed in names


@pytest.mark.parametrize("name", sorted(CASES))
def test_builtin_case_passes(name):
    case = CASES[name]
    report = builtin.run_audit([case], trials=TRIALS)
    result = report.results[0]
    assert result.trials == min(TRIALS, case.max_trials or TRIALS)
    assert result.passed, f"{result.summary()} (false-failure rate alpha={ALPHA})"
    # The claim holds with room to spare: the bound never reaches it.
    assert result.epsilon_lower_bound < case.epsilon, result.summary()


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_variant_is_caught(name):
    case = BROKEN[name]
    report = builtin.run_audit([case], trials=TRIALS)
    result = report.results[0]
    assert not result.passed, f"not detected: {result.summary()}"
    assert report.passed  # a broken case meeting its expectation
    # High confidence: the bound clears the claim by a wide margin.
    assert result.epsilon_lower_bound > 1.15 * case.epsilon, result.summary()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_builtin_case_passes_at_a_million_trials(name):
    case = CASES[name]
    result = builtin.run_audit([case], trials=10**6).results[0]
    assert result.passed, f"{result.summary()} (alpha={ALPHA})"


@pytest.mark.slow
def test_add_noise_at_full_trials():
    for name in ("add_noise (integer)", "add_noise (float)"):
        case = CASES[name]
        result = builtin.run_audit(
            [builtin.AuditCase(**{**case.__dict__, "max_trials": None})],
            trials=TRIALS,
        ).results[0]
        assert result.trials == TRIALS
        assert result.passed, f"{result.summary()} (alpha={ALPHA})"


def test_report_renders(tmp_path):
    case = CASES["GeometricMechanism"]
    bad = BROKEN["broken: Laplace noise scale halved"]
    report = builtin.run_audit([case, bad], trials=20_000)
    md = report.to_markdown()
    assert "| GeometricMechanism | 1 | 0 |" in md
    assert "violation found" in md
    report.write(tmp_path / "a.json")
    report.write(tmp_path / "a.md")
    import json

    data = json.loads((tmp_path / "a.json").read_text())
    assert data["passed"] is True
    assert [c["ok"] for c in data["cases"]] == [True, True]
    assert (tmp_path / "a.md").read_text().startswith("# loopkit_privacy audit report")
