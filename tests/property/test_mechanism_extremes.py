"""Hypothesis: every mechanism over extreme parameters refuses clearly or releases safely.

Parameters are drawn log-uniformly over the whole float range (subnormal to
1e308) and from a list of known edges (2**-60, 1e-300, 1e300, 800, the
documented limits). For every mechanism class, :func:`lp.add_noise` and
:func:`lp.report_noisy_max`, a call must either

* raise :class:`~loopkit_privacy.InvalidParameterError` naming one of the
  caller's parameters (``epsilon``, ``delta``, ``rho``, ``sensitivity``,
  ``dimension``) in ``err.parameter`` and in the message, or
* construct within a time limit, release finite values, charge exactly the
  requested cost, and use noise that is at least what that cost needs
  (checked with exact rationals on the sampler's parameters).

Each call runs under a SIGALRM time limit, so an unbounded loop fails the
test instead of hanging it.
"""

from __future__ import annotations

import contextlib
import math
import signal
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopkit_privacy as lp
from loopkit_privacy import _calibration as cal
from tests._rng import seeded_rng

CALLER_PARAMETERS = {"epsilon", "delta", "rho", "sensitivity", "dimension"}
TIME_LIMIT = 20.0  # seconds per call; far above the slowest (about 0.3 s)


@contextlib.contextmanager
def _time_limit(seconds: float):
    def _raise(signum, frame):
        raise TimeoutError(f"did not finish in {seconds} s (an unbounded loop?)")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def _guarded():
    """Time limit, large-ε warnings off, insecure-randomness warnings off."""
    with _time_limit(TIME_LIMIT), warnings.catch_warnings():
        warnings.simplefilter("ignore", lp.PrivacyWarning)
        yield


def _log_uniform(lo_exp: int, hi_exp: int):
    return st.builds(
        math.ldexp, st.floats(0.5, 1.0, exclude_max=True), st.integers(lo_exp, hi_exp)
    )


EDGES = [
    5e-324,
    1e-320,
    2.0**-1000,
    1e-300,
    2.0**-60,
    2.0**-52,
    2.0**-43,
    2.0**-39,
    1e-13,
    1e-6,
    1.0,
    5.0,
    512.0,
    513.0,
    800.0,
    2.0**40,
    1e300,
    1.7e308,
]
# Every positive float is reachable; edges are drawn often.
positives = st.one_of(st.sampled_from(EDGES), _log_uniform(-1073, 1024))
epsilons = positives
sensitivities = positives
rhos = positives
deltas = st.one_of(
    st.sampled_from([5e-324, 1e-300, 1e-100, 1e-10, 1e-6, 0.01, 0.5, 0.9, 1 - 2**-53]),
    _log_uniform(-1073, -1).filter(lambda d: 0.0 < d < 1.0),
)
dimensions = st.sampled_from([1, 2, 3, 16, 1000])


def _refused_properly(err: lp.InvalidParameterError) -> None:
    assert err.parameter in CALLER_PARAMETERS, (
        f"names {err.parameter!r}, not a caller's parameter: {err}"
    )
    assert f"`{err.parameter}`" in str(err), str(err)


def _laplace_loss(m) -> Fraction:
    """ε actually spent: units / (t/2**m) for the sampler's exact scale."""
    return Fraction(m._units_sensitivity) / Fraction(m._lap.t, 2**m._lap.m)


def _check_gaussian_noise(m, units: float, int_units: int) -> None:
    var = Fraction(m._dg.t * m._dg.c, 2**m._dg.k)
    if isinstance(m.cost, lp.ZCDP):
        # ρ-zCDP: units² / (2σ²) <= ρ, exactly.
        assert Fraction(units) ** 2 / (2 * var) <= Fraction(m.cost.rho)
    elif m.dimension > 1:
        rho_eff = float(Fraction(units) ** 2 / (2 * var))
        assert cal.zcdp_log_delta(rho_eff, m.cost.epsilon) <= math.log(m.cost.delta)
    else:
        got = cal.discrete_gaussian_delta(m._dg.sigma, int_units, m.cost.epsilon)
        assert got <= m.cost.delta


def _release_is_finite(m) -> None:
    value = np.array([1] * m.dimension) if m.integer else np.ones(min(m.dimension, 3))
    if m.dimension == 1:
        value = 1 if m.integer else 1.0
    r = m.release(value, rng=seeded_rng(0))
    assert np.all(np.isfinite(np.asarray(r.value, dtype=np.float64)))
    assert math.isfinite(r.half_width)
    assert math.isfinite(m.scale)
    assert m.scale > 0
    ev = m.event
    assert math.isfinite(ev.noise_multiplier)


@settings(max_examples=150, deadline=None)
@given(sensitivities, epsilons, dimensions)
def test_laplace_mechanism(sens, eps, dim):
    with _guarded():
        try:
            m = lp.LaplaceMechanism(sensitivity=sens, epsilon=eps, dimension=dim)
        except lp.InvalidParameterError as err:
            _refused_properly(err)
            return
        assert m.cost == lp.PureDP(eps)
        assert _laplace_loss(m) <= Fraction(eps)
        # The grid rounding is paid for: units >= Δ/g + ... >= floor(Δ/g) + dim.
        assert m._units_sensitivity >= math.floor(sens / m.granularity) + dim
        _release_is_finite(m)


@settings(max_examples=150, deadline=None)
@given(sensitivities, epsilons, dimensions)
def test_geometric_mechanism(sens, eps, dim):
    with _guarded():
        try:
            m = lp.GeometricMechanism(sensitivity=sens, epsilon=eps, dimension=dim)
        except lp.InvalidParameterError as err:
            _refused_properly(err)
            return
        assert m.cost == lp.PureDP(eps)
        assert m._units_sensitivity >= math.ceil(sens)
        assert _laplace_loss(m) <= Fraction(eps)
        _release_is_finite(m)


gaussian_budgets = st.one_of(
    st.builds(lambda r: {"rho": r}, rhos),
    st.builds(lambda e, d: {"epsilon": e, "delta": d}, epsilons, deltas),
)


@settings(max_examples=60, deadline=None)
@given(sensitivities, gaussian_budgets, dimensions)
def test_gaussian_mechanism(sens, budget, dim):
    with _guarded():
        try:
            m = lp.GaussianMechanism(sensitivity=sens, dimension=dim, **budget)
        except lp.InvalidParameterError as err:
            _refused_properly(err)
            return
        want = lp.ZCDP(budget["rho"]) if "rho" in budget else lp.ApproxDP(**budget)
        assert m.cost == want
        q = Fraction(sens) / Fraction(m.granularity)
        int_units = math.floor(q) + 1
        units = m._units_sensitivity
        if dim == 1:
            assert units == int_units
        else:
            # L2 sensitivity in grid units >= Δ/g + √dimension, exactly.
            assert Fraction(units) > q
            assert (Fraction(units) - q) ** 2 >= dim
        _check_gaussian_noise(m, units, int_units)
        _release_is_finite(m)


@settings(max_examples=60, deadline=None)
@given(sensitivities, gaussian_budgets, dimensions)
def test_discrete_gaussian_mechanism(sens, budget, dim):
    with _guarded():
        try:
            m = lp.DiscreteGaussianMechanism(sensitivity=sens, dimension=dim, **budget)
        except lp.InvalidParameterError as err:
            _refused_properly(err)
            return
        want = lp.ZCDP(budget["rho"]) if "rho" in budget else lp.ApproxDP(**budget)
        assert m.cost == want
        int_units = math.ceil(sens)
        units = float(int_units) if dim == 1 else sens
        assert m._units_sensitivity == units
        _check_gaussian_noise(m, units, int_units)
        _release_is_finite(m)


scores = st.lists(
    st.one_of(
        st.floats(-1e308, 1e308, allow_nan=False, allow_infinity=False),
        st.sampled_from([0.0, 1.0, -1.0, 1e300, -1e300, 5e-324]),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(
    sensitivities,
    epsilons,
    st.booleans(),
    st.sampled_from(["exponential", "permute_and_flip"]),
    scores,
)
def test_exponential_mechanism(sens, eps, monotonic, method, u):
    with _guarded():
        try:
            em = lp.ExponentialMechanism(
                sensitivity=sens, epsilon=eps, monotonic=monotonic, method=method
            )
        except lp.InvalidParameterError as err:
            _refused_properly(err)
            return
        assert em.cost == lp.PureDP(eps)
        g = em._grid_bits
        assert 0 <= g <= 62
        # The charged ε bounds the loss of the rounded weights (class notes).
        k = Fraction(em._k)
        loss = ((k if monotonic else 2 * k) + 3 + Fraction(1, 2**30)) / 2**g
        assert em._k == 0.0 or loss <= Fraction(eps)
        w = em._weights(u)
        assert np.all(np.abs(w) <= 2**50)
        # Neighbours: every score moved by at most one sensitivity.
        moved = [
            x + sens * f for x, f in zip(u, np.linspace(-1, 1, len(u)), strict=True)
        ]
        if all(math.isfinite(x) for x in moved):
            dw = np.abs(w.astype(np.float64) - em._weights(moved))
            assert float(dw.max()) <= float(k) + 1.5 + 2.0**-30
        idx = em.select(u, rng=seeded_rng(0)).index
        assert 0 <= idx < len(u)


@settings(max_examples=100, deadline=None)
@given(
    sensitivities,
    epsilons,
    st.sampled_from(["laplace", "gaussian"]),
    st.sampled_from([1.0, 7, np.array([1.0, -2.0]), np.array([3, 4, 5]), 1e300]),
    deltas,
)
def test_add_noise(sens, eps, kind, value, delta):
    kw = {"delta": delta} if kind == "gaussian" else {}
    with _guarded():
        try:
            out = lp.add_noise(
                value,
                sensitivity=sens,
                epsilon=eps,
                mechanism=kind,
                rng=seeded_rng(0),
                **kw,
            )
        except lp.InvalidParameterError as err:
            _refused_properly(err)
            return
        assert np.all(np.isfinite(np.asarray(out, dtype=np.float64)))
        assert np.shape(out) == np.shape(value)


@settings(max_examples=100, deadline=None)
@given(sensitivities, epsilons, st.booleans(), scores)
def test_report_noisy_max(sens, eps, monotonic, u):
    acc = lp.Accountant(epsilon=1e308)
    with _guarded():
        try:
            idx = lp.report_noisy_max(
                u,
                sensitivity=sens,
                epsilon=eps,
                monotonic=monotonic,
                rng=seeded_rng(0),
                accountant=acc,
            )
        except lp.InvalidParameterError as err:
            _refused_properly(err)
            assert acc.spent.epsilon == 0
            return
        assert 0 <= idx < len(u)
        assert acc.spent == lp.PureDP(eps)


@pytest.mark.parametrize("eps", [2.0**-60, 1e-300, 5e-324, 1e300, 800.0])
def test_named_edges_for_every_mechanism(eps):
    # The named edges, deterministically: no exception other than a
    # parameter error naming epsilon.
    makers = [
        lambda: lp.LaplaceMechanism(sensitivity=1.0, epsilon=eps),
        lambda: lp.GeometricMechanism(sensitivity=1, epsilon=eps),
        lambda: lp.GaussianMechanism(sensitivity=1.0, epsilon=eps, delta=1e-6),
        lambda: lp.DiscreteGaussianMechanism(sensitivity=1, epsilon=eps, delta=1e-6),
        lambda: lp.ExponentialMechanism(sensitivity=1.0, epsilon=eps),
    ]
    for make in makers:
        with _guarded():
            try:
                m = make()
            except lp.InvalidParameterError as err:
                _refused_properly(err)
                refused = err.parameter
            else:
                refused = None
            if refused is not None:
                assert refused == "epsilon"
                continue
            if isinstance(m, lp.ExponentialMechanism):
                assert 0 <= m.select([0.0, 1.0], rng=seeded_rng(0)).index <= 1
            else:
                _release_is_finite(m)
