"""Mechanisms at extreme parameters: regressions for the hardening issue.

Each test is a finding of the issue, through the public API; each fails on
the code before the fix (a hang, an exact argmax, ZeroDivisionError,
OverflowError, an infinite release, or an error naming an internal
``scale``). Cases that used to hang run in a subprocess with a timeout, so
a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import textwrap
import warnings
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest

import loopkit_privacy as lp
from loopkit_privacy import _calibration as cal
from tests._rng import seeded_rng

IPE = lp.InvalidParameterError


@pytest.fixture(autouse=True)
def _time_limit():
    """Fail (SIGALRM) rather than hang when a regression brings a loop back."""

    def _raise(signum, frame):
        raise TimeoutError("test did not finish in 180 s (an unbounded loop?)")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, 180.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def _quiet():
    """Silence the large-epsilon PrivacyWarning (warnings are errors here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lp.PrivacyWarning)
        yield


def _names(err: BaseException, *names: str) -> None:
    assert isinstance(err, IPE), f"{type(err).__name__}: {err}"
    assert err.parameter in names, f"parameter={err.parameter!r}: {err}"
    assert f"`{err.parameter}`" in str(err), str(err)


# ---------------------------------------------------------------------------
# 1. Exponential mechanism / report_noisy_max at tiny epsilon
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [1e-13, 2.0**-43, 2.0**-50, 2.0**-60, 1e-300, 5e-324])
@pytest.mark.parametrize("method", ["exponential", "permute_and_flip"])
def test_tiny_epsilon_selection_is_not_an_argmax(eps, method):
    # Before: the grid exponent passed 63, 1 << g wrapped, and [0, 1] gave
    # index 1 every time. Now it is (near) uniform: index 1 in 2000 draws
    # falls outside [800, 1200] with probability below 1e-18.
    em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=eps, method=method)
    assert 0 <= em._grid_bits <= 62
    picks = em.randomize([0.0, 1.0], 2000, rng=seeded_rng(7))
    assert 800 <= int((picks == 1).sum()) <= 1200


def test_tiny_epsilon_report_noisy_max_is_not_an_argmax():
    rng = seeded_rng(3)
    picks = [
        lp.report_noisy_max([0.0, 1.0], sensitivity=1.0, epsilon=1e-13, rng=rng)
        for _ in range(400)
    ]
    # Binomial(400, 1/2) outside [140, 260] has probability below 1e-9.
    assert 140 <= sum(picks) <= 260


@pytest.mark.parametrize("monotonic", [False, True])
@pytest.mark.parametrize(
    "eps", [5e-324, 1e-300, 2.0**-61, 2.0**-59, 1e-13, 2.0**-41, 1e-3, 1.0, 3.0, 512.0]
)
def test_selection_weights_charge_an_upper_bound(eps, monotonic):
    # The proof in the class notes: neighbouring scores move each weight by at
    # most K + 1.5 grid units (+ 2**-40), so the loss is at most
    # (2K + 3)/2**G (non-monotonic) or (K + 3)/2**G, which must not exceed ε.
    with _quiet():
        em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=eps, monotonic=monotonic)
    g = em._grid_bits
    k = Fraction(em._k)
    slack = Fraction(3) + Fraction(1, 2**30)
    loss = ((k if monotonic else 2 * k) + slack) / 2**g
    assert loss <= Fraction(eps) or em._k == 0.0
    rng = np.random.default_rng(1)
    u = rng.uniform(-1e9, 1e9, 64)
    u2 = u + rng.uniform(-1.0, 1.0, 64)
    dw = np.abs(em._weights(u).astype(np.float64) - em._weights(u2))
    assert float(dw.max()) <= float(k) + 1.5 + 2.0**-30


# ---------------------------------------------------------------------------
# 2. No constructor or release may loop unboundedly
# ---------------------------------------------------------------------------

HANGS = {
    "laplace": "lp.LaplaceMechanism(sensitivity=1.0, epsilon=1e-13)",
    "add-noise": "lp.add_noise(1.0, sensitivity=1.0, epsilon=1e-13)",
    "gaussian-rho": "lp.GaussianMechanism(sensitivity=1.0, rho=1e-30)",
    "gaussian-eps": "lp.add_noise(1.0, sensitivity=1.0, epsilon=1e-300, delta=1e-300, mechanism='gaussian')",
    "aggregate-sum": (
        "lp.aggregate_sum(pa.table({'u': [1, 2], 'v': [1.0, 2.0]}), column='v', "
        "privacy_unit='u', bounds=(0.0, 10.0), epsilon=1e-13)"
    ),
    "aggregate-sum-1e-300": (
        "lp.aggregate_sum(pa.table({'u': [1, 2], 'v': [1.0, 2.0]}), column='v', "
        "privacy_unit='u', bounds=(0.0, 10.0), epsilon=1e-300)"
    ),
}

_RUNNER = """
import warnings
warnings.simplefilter("ignore")
import loopkit_privacy as lp, pyarrow as pa
try:
    {call}
    print("OK")
except lp.InvalidParameterError as err:
    print("IPE", err.parameter, "`" + str(err.parameter) + "`" in str(err))
except Exception as err:
    print("ERR", type(err).__name__)
"""


@pytest.mark.parametrize("name", sorted(HANGS))
def test_tiny_budget_is_refused_in_bounded_time(name):
    code = textwrap.dedent(_RUNNER).format(call=HANGS[name])
    env = {
        **os.environ,
        "LOOPKIT_NUMBA_CACHE": os.environ.get("LOOPKIT_NUMBA_CACHE", "1"),
    }
    try:
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}: did not finish in 120 s (an unbounded loop)")
    words = out.stdout.split()
    assert words[:1] == ["IPE"], out.stdout + out.stderr
    assert words[1] in ("epsilon", "rho"), out.stdout
    assert words[2] == "True", out.stdout


def test_refusals_state_the_supported_range():
    with pytest.raises(IPE, match=r"epsilon >= dimension·2\*\*-39") as info:
        lp.LaplaceMechanism(sensitivity=1.0, epsilon=1e-13)
    _names(info.value, "epsilon")
    with pytest.raises(IPE, match=r"ceil\(sensitivity\)·2\*\*-40") as info:
        lp.GeometricMechanism(sensitivity=1, epsilon=1e-13)
    _names(info.value, "epsilon")
    with pytest.raises(IPE, match=r"at most 2\*\*25") as info:
        lp.GaussianMechanism(sensitivity=1.0, rho=1e-30)
    _names(info.value, "rho")
    with pytest.raises(IPE, match=r"at most 2\*\*25") as info:
        lp.DiscreteGaussianMechanism(sensitivity=1, epsilon=1e-13, delta=1e-300)
    _names(info.value, "epsilon")


def test_the_smallest_accepted_laplace_epsilon_works():
    eps = 2.0**-39
    m = lp.LaplaceMechanism(sensitivity=1.0, epsilon=eps)
    assert Fraction(m._units_sensitivity) / Fraction(m._lap.t, 2**m._lap.m) <= Fraction(
        eps
    )
    assert math.isfinite(m.release(0.0, rng=seeded_rng(7)).value)
    with pytest.raises(IPE, match=r"`epsilon`=.* is too small for LaplaceMechanism"):
        lp.LaplaceMechanism(sensitivity=1.0, epsilon=math.nextafter(eps, 0.0))


# ---------------------------------------------------------------------------
# 7. Degenerate sensitivities and epsilons: library errors naming the caller's
#    parameter, or finite releases
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda s: lp.LaplaceMechanism(sensitivity=s, epsilon=1.0),
        lambda s: lp.GaussianMechanism(sensitivity=s, rho=1.0),
        lambda s: lp.GaussianMechanism(sensitivity=s, epsilon=1.0, delta=1e-6),
        lambda s: lp.GeometricMechanism(sensitivity=s, epsilon=1.0),
        lambda s: lp.DiscreteGaussianMechanism(sensitivity=s, rho=1.0),
        lambda s: lp.ExponentialMechanism(sensitivity=s, epsilon=1.0),
        lambda s: lp.add_noise(1.0, sensitivity=s, epsilon=1.0),
        lambda s: lp.report_noisy_max([0.0, 1.0], sensitivity=s, epsilon=1.0),
    ],
)
@pytest.mark.parametrize("sens", [1e-320, 1e-318, 1e308])
def test_degenerate_sensitivity_is_refused(make, sens):
    # Before: ZeroDivisionError (subnormal), or an infinite scale (1e308).
    with pytest.raises(
        IPE, match=r"`sensitivity` must be between 2\*\*-1000 and 2\*\*900"
    ) as info:
        make(sens)
    _names(info.value, "sensitivity")
    assert "2**-1000 and 2**900" in str(info.value)


def test_huge_sensitivity_release_is_refused_not_infinite():
    # Before: LaplaceMechanism(sensitivity=1e308, epsilon=0.01) released ±inf.
    with pytest.raises(IPE, match=r"`sensitivity` must be between") as info:
        lp.add_noise(0.0, sensitivity=1e308, epsilon=0.01)
    _names(info.value, "sensitivity")
    for sens in (2.0**900, 1e270):
        m = lp.LaplaceMechanism(sensitivity=sens, epsilon=2.0**-39)
        r = m.release(1e300, rng=seeded_rng(7))
        assert math.isfinite(r.value)
        assert math.isfinite(r.half_width)


def test_selection_epsilon_800_is_refused():
    # Before: accepted, or an OverflowError in callers; now a clear range.
    for fn in (
        lambda: lp.ExponentialMechanism(sensitivity=1.0, epsilon=800.0),
        lambda: lp.report_noisy_max([0.0, 1.0], sensitivity=1.0, epsilon=800.0),
    ):
        with _quiet(), pytest.raises(IPE, match=r"at most 512") as info:
            fn()
        _names(info.value, "epsilon")
    with _quiet():
        em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=512.0)
    assert em.select([0.0, 1.0], rng=seeded_rng(7)).index == 1


@pytest.mark.parametrize("eps", [800.0, 1e300])
def test_gaussian_at_huge_epsilon_releases(eps):
    # Before: OverflowError (math.exp(ε)) in the calibration.
    with _quiet():
        for m in (
            lp.GaussianMechanism(sensitivity=1.0, epsilon=eps, delta=1e-6),
            lp.GaussianMechanism(sensitivity=1.0, epsilon=eps, delta=1e-6, dimension=3),
            lp.DiscreteGaussianMechanism(sensitivity=1, epsilon=eps, delta=1e-6),
        ):
            r = m.release(1 if m.integer else 1.0, rng=seeded_rng(7))
            assert np.isfinite(r.value)
            assert math.isfinite(r.half_width)
            assert m.cost == lp.ApproxDP(eps, 1e-6)
        assert math.isfinite(lp.analytic_gaussian_sigma(1.0, epsilon=eps, delta=1e-6))


@pytest.mark.parametrize("eps", [1e300, 800.0])
def test_huge_epsilon_additive_mechanisms_release_and_charge_epsilon(eps):
    # Before: 1e300 raised an error naming the internal `scale`.
    with _quiet():
        lap = lp.LaplaceMechanism(sensitivity=1.0, epsilon=eps)
        geo = lp.GeometricMechanism(sensitivity=1, epsilon=eps)
    for m, v in ((lap, 1.0), (geo, 1)):
        assert m.cost == lp.PureDP(eps)
        r = m.release(v, rng=seeded_rng(7))
        assert np.isfinite(r.value)
        # The noise used is at least what ε needs: true loss <= ε.
        assert Fraction(m._units_sensitivity) / Fraction(
            m._lap.t, 2**m._lap.m
        ) <= Fraction(eps)


TABLE = pa.table({"u": [1, 2, 3], "v": [1.0, 2.0, 3.0]})


@pytest.mark.parametrize("eps", [1e-300, 1e-13])
def test_aggregations_at_tiny_epsilon_name_epsilon(eps):
    # Before: 1e-300 named the internal `scale`; 1e-13 hung (sum).
    for fn in (
        lambda: lp.aggregate_count(TABLE, privacy_unit="u", epsilon=eps),
        lambda: lp.aggregate_sum(
            TABLE, column="v", privacy_unit="u", bounds=(0.0, 10.0), epsilon=eps
        ),
    ):
        with pytest.raises(IPE, match=r"`epsilon`=.* is too small for") as info:
            fn()
        _names(info.value, "epsilon")


def test_aggregations_at_huge_epsilon_release():
    # Before: an error naming the internal `scale`.
    with _quiet():
        c = lp.aggregate_count(TABLE, privacy_unit="u", epsilon=1e300)
        s = lp.aggregate_sum(
            TABLE, column="v", privacy_unit="u", bounds=(0.0, 10.0), epsilon=1e300
        )
    assert c.column("count").to_pylist() == [3]
    assert abs(s.column("sum").to_pylist()[0] - 6.0) < 1e-3


def test_scale_calculators_name_the_callers_parameter():
    with pytest.raises(IPE, match=r"the Laplace scale sensitivity/`epsilon`") as info:
        lp.laplace_scale(1e300, epsilon=1e-10)
    _names(info.value, "epsilon")
    with pytest.raises(IPE, match=r"the analytic Gaussian σ for `sensitivity`") as info:
        lp.analytic_gaussian_sigma(1e300, epsilon=1e-10, delta=1e-10)
    _names(info.value, "sensitivity")
    with pytest.raises(IPE, match=r"σ = sensitivity/√\(2·`rho`\)") as info:
        lp.gaussian_sigma(1e300, rho=1e-300)
    _names(info.value, "rho")


# ---------------------------------------------------------------------------
# analytic_gaussian_sigma is rounded up: >= the exact σ, and close to it
# ---------------------------------------------------------------------------

# Points where the previous solver returned a σ below the exact one (it
# stopped one float step short: relative -1e-12 to -1e-14), and extremes.
AGS_POINTS = [
    (0.004023825129062865, 0.00029808311045168056),
    (0.00264464961023538, 1.920767351884367e-12),
    (0.10098162921980512, 1.6421027311254225e-05),
    (0.011191286814873393, 2.0354733255266301e-10),
    (0.020138043083598803, 1.6402009256651725e-12),
    (1.0, 1e-5),
    (0.5, 1e-9),
    (3.0, 1e-5),
    (1e-13, 1e-6),
    (1e-9, 1e-100),
    (800.0, 1e-6),
    (1e300, 1e-6),
    (1e-300, 1e-6),
    (0.1, 0.9),
    (2.0, 0.999999),
    (50.0, 1e-300),
    (1e-13, 1e-300),
]


def _exact_sigma_ratio(eps: float, delta: float):
    """σ/Δ solving Balle & Wang's δ(σ) = δ, by bisection at 80 digits."""
    mp = pytest.importorskip("mpmath")
    with mp.workdps(80):
        e, d = mp.mpf(eps), mp.mpf(delta)

        def curve(x):  # δ at the curve parameter x = εs - 1/(2s)
            y = mp.sqrt(x * x + 2 * e)
            return mp.ncdf(-x) - mp.exp(e) * mp.ncdf(-y)

        lo, hi = mp.mpf(-40), mp.mpf(40)
        for _ in range(400):
            mid = (lo + hi) / 2
            if curve(mid) > d:
                lo = mid
            else:
                hi = mid
        x = hi
        y = mp.sqrt(x * x + 2 * e)
        return (x + y) / (2 * e) if x >= 0 else 1 / (y - x), mp


@pytest.mark.parametrize(("eps", "delta"), AGS_POINTS)
def test_analytic_gaussian_sigma_is_one_sided(eps, delta):
    ratio, mp = _exact_sigma_ratio(eps, delta)
    with _quiet():
        got = lp.analytic_gaussian_sigma(1.0, epsilon=eps, delta=delta)
    assert mp.mpf(got) >= ratio, "rounded below the exact σ"
    assert mp.mpf(got) <= ratio * (1 + mp.mpf("1e-9")), "too far above the exact σ"
    # Scale invariance σ(Δ) = Δ·σ(1), still rounded up.
    got3 = (
        lp.analytic_gaussian_sigma(3.0, epsilon=eps, delta=delta) if eps <= 5 else None
    )
    if got3 is not None:
        assert mp.mpf(got3) >= 3 * ratio


def test_calibration_helpers_are_bounded_and_safe():
    # discrete_gaussian_sigma refuses (inf) rather than searching forever.
    assert cal.discrete_gaussian_sigma(1, 1e-13, 1e-300) == math.inf
    assert cal.discrete_gaussian_delta(1.0, 1, 1e300) == 0.0
    rho = cal.zcdp_rho_for(1e-20, 1e-6)
    assert rho > 0.0
    assert cal.zcdp_log_delta(rho, 1e-20) <= math.log(1e-6)


# ---------------------------------------------------------------------------
# The accountant argument is validated before anything is spent
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda acc: lp.LaplaceMechanism(sensitivity=1.0, epsilon=1.0).release(
            1.0, accountant=acc
        ),
        lambda acc: lp.GeometricMechanism(sensitivity=1, epsilon=1.0).release(
            1, accountant=acc
        ),
        lambda acc: lp.GaussianMechanism(sensitivity=1.0, rho=1.0).release(
            1.0, accountant=acc
        ),
        lambda acc: lp.ExponentialMechanism(sensitivity=1.0, epsilon=1.0).select(
            [0.0, 1.0], accountant=acc
        ),
        lambda acc: lp.add_noise(1.0, sensitivity=1.0, epsilon=1.0, accountant=acc),
        lambda acc: lp.report_noisy_max(
            [0.0, 1.0], sensitivity=1.0, epsilon=1.0, accountant=acc
        ),
    ],
)
@pytest.mark.parametrize("bad", ["acc", 1.0, object()])
def test_bad_accountant_is_refused(call, bad):
    with pytest.raises(IPE, match=r"`accountant` must be an Accountant") as info:
        call(bad)
    _names(info.value, "accountant")
