"""Parameter sweeps: statuses, the broken exponential mechanism, the CLI.

False-failure rates. A sweep point is wrongly reported as a violation with
probability at most 1 - confidence = 1e-6 (the auditor's Clopper-Pearson
bounds); each assertion below that shipped points pass is over the points it
names, so it fails wrongly with probability at most (points) x 1e-6, stated
per test. Assertions that a broken variant is flagged compare an argmax
(index 0 of [Δ, -Δ, 0] always) with a uniform choice: at 2,000 trials the
bound is about 3.6 against a claim of 2**-50, and missing it would need a
binomial deviation of tens of standard errors (probability far below 1e-100).
"""

from __future__ import annotations

import dataclasses
import threading
import warnings

import numpy as np
import pytest

import loopkit_privacy as lp
from loopkit_privacy import _kernels
from loopkit_privacy.audit import _broken
from loopkit_privacy.audit import sweeps as sweep
from loopkit_privacy.audit.builtin import AuditCase, builtin_cases
from loopkit_privacy.cli import main
from loopkit_privacy.errors import InvalidParameterError

pytestmark = pytest.mark.statistical

TINY = sweep.SweepGrid(epsilons=(2.0**-50, 1.0), deltas=(1e-6,), scales=(1.0,))


def _factories(*names):
    by_name = {f.name: f for f in sweep.builtin_factories()}
    return [by_name[n] for n in names]


def test_sweep_catches_the_old_exponential_mechanism():
    # Shipped: 2 cases x 2 points; false-failure rate 4e-6.
    shipped = _factories("ExponentialMechanism", "report_noisy_max (permute-and-flip)")
    report = sweep.sweep(
        [*shipped, *_broken.broken_factories()], grid=TINY, trials=2000
    )
    status = {(p.case, p.point.epsilon): p.status for p in report.points}
    old = "broken: exponential mechanism, old grid"
    assert status[(old, 2.0**-50)] == "violation", report.to_markdown()
    # Correct at ε = 1 (the bug only shows at tiny ε); false-failure rate 1e-6.
    assert status[(old, 1.0)] == "pass", report.to_markdown()
    for f in shipped:
        assert report.counts(f.name) == {"pass": 2}, report.to_markdown()
    assert report.passed
    assert report.verdicts()[old] is True
    assert "broken variant: caught" in report.to_markdown()


def test_the_old_mechanism_crashes_at_subnormal_epsilon():
    # Not statistical: the old code computed 2.0**g with g = 1094.
    grid = sweep.SweepGrid(epsilons=(5e-324,), deltas=(1e-6,), scales=(2.0**-40,))
    report = sweep.sweep(_broken.broken_factories(), grid=grid, trials=100)
    (point,) = report.points
    assert point.status == "crash"
    assert "OverflowError" in point.detail


def _factory(name, fn, *, d0=0, d1=1, build_error=None):
    def build(p):
        if build_error is not None:
            raise build_error
        return AuditCase(name, fn, d0, d1, p.epsilon)

    return sweep.CaseFactory(name, build)


def _geometric(data, n):
    return lp.GeometricMechanism(sensitivity=1, epsilon=1.0).randomize(data, n)


def test_statuses_of_every_kind():
    release = threading.Event()

    def refuse_one_side(data, n):
        if data == 1:
            raise InvalidParameterError("too big", parameter="x", value=data)
        return _geometric(data, n)

    def refuse_later(data, n):
        if n > 4:  # accepted by the probe (n = 4), refused in the audit
            raise InvalidParameterError("later", parameter="n", value=n)
        return _geometric(data, n)

    def overflow(data, n):
        return np.zeros(n) + 1.0 / (data - data)

    def warns(data, n):
        warnings.warn("overflow encountered", RuntimeWarning, stacklevel=1)
        return _geometric(data, n)

    def library_warning(data, n):
        warnings.warn("large epsilon", lp.errors.PrivacyWarning, stacklevel=1)
        return _geometric(data, n)

    def hang(data, n):
        release.wait(30.0)
        return _geometric(data, n)

    def identity(data, n):
        return np.full(n, data)

    factories = [
        _factory("pass", _geometric),
        _factory(
            "refused",
            _geometric,
            build_error=InvalidParameterError("no", parameter="e", value=0),
        ),
        _factory("built badly", _geometric, build_error=ZeroDivisionError("x")),
        _factory("one side", refuse_one_side),
        _factory("later", refuse_later),
        _factory("crash", overflow),
        _factory("warning", warns),
        _factory("library warning", library_warning),
        _factory("hang", hang),
        _factory("identity", identity),
    ]
    grid = sweep.SweepGrid(epsilons=(1.0,), deltas=(1e-6,), scales=(1.0,))
    _geometric(0, 4)  # compile the kernel outside the time limit
    try:
        report = sweep.sweep(factories, grid=grid, trials=1000, time_limit=3.0)
    finally:
        release.set()
    got = {p.case: p.status for p in report.points}
    # "pass" and "library warning": false-failure rate 2e-6.
    assert got == {
        "pass": "pass",
        "refused": "refused",
        "built badly": "crash",
        "one side": "one-sided refusal",
        "later": "error",
        "crash": "crash",
        "warning": "warning",
        "library warning": "pass",
        "hang": "timeout",
        "identity": "violation",
    }, report.to_markdown()
    assert report.stuck_threads == 1
    assert not report.passed
    flagged = {p.case for p in report.flagged()}
    assert flagged == set(got) - {"pass", "refused", "library warning"}
    d = report.to_dict()
    assert {c["name"]: c["ok"] for c in d["cases"]}["refused"] is True


def test_every_builtin_case_has_a_factory_with_its_claim():
    # Not statistical: the cases are built, not run.
    cases = {c.name: c for c in builtin_cases()}
    factories = {f.name: f for f in sweep.builtin_factories()}
    assert set(factories) == set(cases)
    for name, f in factories.items():
        built = f.build(f.base)
        assert built.name == name
        assert (built.epsilon, built.delta) == (
            cases[name].epsilon,
            cases[name].delta,
        ), name


def test_no_builtin_factory_refuses_its_base_point():
    # A factory that builds a wrong call is refused everywhere, which would
    # hide it: at the base point every case must run. Four trials per input:
    # at that count no bound can exceed ε = 1 (false-failure rate 0).
    report = sweep.sweep(
        [
            sweep.CaseFactory(f.name, f.build, (), f.base)
            for f in sweep.builtin_factories()
        ],
        grid=sweep.SMALL_GRID,
        trials=4,
    )
    refused = [(p.case, p.detail) for p in report.points if p.status != "pass"]
    assert not refused


def test_grid_and_arguments_are_checked():
    with pytest.raises(InvalidParameterError, match=r"`deltas` must lie in"):
        sweep.SweepGrid(epsilons=(1.0,), deltas=(1.0,), scales=(1.0,))
    with pytest.raises(InvalidParameterError, match=r"`epsilons` must be"):
        sweep.SweepGrid(epsilons=(), deltas=(0.1,), scales=(1.0,))
    with pytest.raises(InvalidParameterError, match=r"`factories` must be"):
        sweep.sweep(["nope"])
    with pytest.raises(InvalidParameterError, match=r"`axes` may hold"):
        sweep.CaseFactory("x", lambda p: None, ("rho",))
    assert sweep.DEFAULT_GRID.epsilons[0] == 5e-324
    never = sweep.CaseFactory("x", lambda p: None, applies=lambda p: False)
    assert sweep.sweep([never], grid=TINY).points == []


def test_cli_sweep(tmp_path, monkeypatch, capsys):
    # 2 shipped points (false-failure rate 2e-6) and the broken variant.
    shipped = _factories("ExponentialMechanism")
    monkeypatch.setattr(sweep, "builtin_factories", lambda: list(shipped))
    monkeypatch.setattr(sweep, "DEFAULT_GRID", TINY)
    monkeypatch.setattr(_kernels, "warmup", lambda: None)
    path = tmp_path / "sweep.json"
    assert main(["audit", "--sweep", "--self-test", "--report", str(path)]) == 0
    out = capsys.readouterr().out
    assert "FLAG broken: exponential mechanism, old grid at epsilon=8.88178e-16" in out
    assert "audit sweep: PASS" in out
    assert path.read_text(encoding="utf-8").startswith("{")
    # Without the broken variant nothing is flagged; a shipped flag exits 1.
    assert main(["audit", "--sweep", "--quiet", "--trials", "500"]) == 0
    (old,) = _broken.broken_factories()
    as_shipped = dataclasses.replace(old, expect_violation=False)
    monkeypatch.setattr(sweep, "builtin_factories", lambda: [as_shipped])
    assert main(["audit", "--sweep", "--quiet"]) == 1
    assert main(["audit", "--sweep", "--trials", "2"]) == 2


@pytest.mark.slow
def test_full_sweep_of_every_builtin_case():
    # The default grid, every built-in factory and the broken variant. Each
    # audited point (about 500) is wrongly flagged as a violation with
    # probability at most 1e-6: false-failure rate at most 5e-4.
    report = sweep.sweep(
        [*sweep.builtin_factories(), *_broken.broken_factories()],
        trials=sweep.SWEEP_TRIALS,
    )
    assert report.passed, report.to_markdown()
