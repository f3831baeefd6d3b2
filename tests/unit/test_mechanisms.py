"""Mechanisms: cost, scale, accuracy, output types and grids, validation, charging."""

from __future__ import annotations

import contextlib
import inspect
import math

import numpy as np
import pytest

import loopkit_privacy as lp
from loopkit_privacy import _calibration as cal
from loopkit_privacy import mechanisms as mech_mod
from loopkit_privacy import noise
from tests import reference as ref
from tests._rng import seeded_rng


class CountingRandom(lp.random.InsecureSeededRandom):
    """A seeded source that records how many words were asked for."""

    def __init__(self, seed: int) -> None:
        with pytest.warns(lp.InsecureRandomnessWarning):
            super().__init__(seed)
        self.requested = 0

    def words(self, n):
        self.requested += int(n)
        return super().words(n)


class FakeAccountant:
    """Records every transaction; refuses them all when ``refuse`` is set."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.calls: list[tuple[object, dict]] = []
        self.committed: list[object] = []
        self.receipt = object()

    @contextlib.contextmanager
    def transaction(self, cost, **kw):
        self.calls.append((cost, kw))
        if self.refuse:
            raise lp.BudgetExceededError(
                f"release {kw.get('label')!r} needs {cost!r}; nothing was spent",
                requested=cost,
                label=kw.get("label"),
            )
        yield self.receipt
        self.committed.append(cost)


REAL = [
    pytest.param(
        lambda: lp.LaplaceMechanism(sensitivity=1.0, epsilon=1.0), id="laplace"
    ),
    pytest.param(
        lambda: lp.GaussianMechanism(sensitivity=1.0, epsilon=1.0, delta=1e-6),
        id="gaussian-approx",
    ),
    pytest.param(
        lambda: lp.GaussianMechanism(sensitivity=1.0, rho=0.5), id="gaussian-zcdp"
    ),
]
INTEGER = [
    pytest.param(
        lambda: lp.GeometricMechanism(sensitivity=1, epsilon=1.0), id="geometric"
    ),
    pytest.param(
        lambda: lp.DiscreteGaussianMechanism(sensitivity=1, epsilon=1.0, delta=1e-6),
        id="dgauss-approx",
    ),
    pytest.param(
        lambda: lp.DiscreteGaussianMechanism(sensitivity=1, rho=0.5), id="dgauss-zcdp"
    ),
]
ALL = REAL + INTEGER


# ---------------------------------------------------------------------------
# Cost and scale
# ---------------------------------------------------------------------------


def test_costs():
    assert lp.LaplaceMechanism(sensitivity=2.0, epsilon=0.5).cost == lp.PureDP(0.5)
    assert lp.GeometricMechanism(sensitivity=3, epsilon=0.25).cost == lp.PureDP(0.25)
    assert lp.GaussianMechanism(
        sensitivity=1.0, epsilon=1.0, delta=1e-6
    ).cost == lp.ApproxDP(1.0, 1e-6)
    assert lp.GaussianMechanism(sensitivity=1.0, rho=0.1).cost == lp.ZCDP(0.1)
    assert lp.DiscreteGaussianMechanism(
        sensitivity=1, epsilon=0.5, delta=1e-9
    ).cost == lp.ApproxDP(0.5, 1e-9)
    assert lp.DiscreteGaussianMechanism(sensitivity=1, rho=2.0).cost == lp.ZCDP(2.0)
    assert lp.ExponentialMechanism(sensitivity=1.0, epsilon=0.3).cost == lp.PureDP(0.3)


@pytest.mark.parametrize(
    ("sens", "eps"), [(1, 1.0), (1, 0.5), (3, 0.7), (1, 1 / 3), (10, 0.01)]
)
def test_geometric_scale_is_sensitivity_over_epsilon_rounded_up(sens, eps):
    m = lp.GeometricMechanism(sensitivity=sens, epsilon=eps)
    assert m.scale >= sens / eps
    assert m.scale <= sens / eps * (1 + 2**-29)
    assert m.granularity is None


def test_geometric_rounds_sensitivity_up_to_an_integer():
    assert lp.GeometricMechanism(sensitivity=1.5, epsilon=1.0).scale == 2.0
    assert lp.GeometricMechanism(sensitivity=0.1, epsilon=1.0).scale == 1.0


@pytest.mark.parametrize(
    ("sens", "eps", "dim"),
    [(1.0, 1.0, 1), (0.3, 0.5, 1), (2.0**20, 1.0, 1), (5.0, 2.0, 10), (1e-6, 0.1, 3)],
)
def test_laplace_scale_pays_only_for_rounding(sens, eps, dim):
    m = lp.LaplaceMechanism(sensitivity=sens, epsilon=eps, dimension=dim)
    base = sens / eps
    assert m.scale >= base
    # Rounding to the grid adds at most dimension·g to the sensitivity, and
    # g <= sens / dimension · 2**-20.
    assert m.scale <= (sens + dim * m.granularity) / eps * (1 + 2**-29)
    assert m.scale <= base * (1 + 2**-19)


def test_laplace_granularity_is_a_power_of_two_below_sensitivity():
    for sens, dim in [(1.0, 1), (3.0, 1), (0.7, 1), (1024.0, 4), (2.0**20, 1)]:
        g = lp.LaplaceMechanism(
            sensitivity=sens, epsilon=1.0, dimension=dim
        ).granularity
        assert math.frexp(g)[0] == 0.5, "a power of two"
        assert 2**19 < sens / dim / g <= 2**21


def test_laplace_scale_matches_laplace_scale_helper():
    assert lp.laplace_scale(2.0, epsilon=0.5) == 4.0
    m = lp.LaplaceMechanism(sensitivity=2.0, epsilon=0.5)
    assert m.scale == pytest.approx(lp.laplace_scale(2.0, epsilon=0.5), rel=2**-18)


@pytest.mark.parametrize(("eps", "delta"), [(1.0, 1e-6), (0.5, 1e-9), (3.0, 1e-5)])
def test_gaussian_scale_close_to_analytic(eps, delta):
    analytic = lp.analytic_gaussian_sigma(1.0, epsilon=eps, delta=delta)
    g = lp.GaussianMechanism(sensitivity=1.0, epsilon=eps, delta=delta)
    # The discrete Gaussian's exact curve is within a few percent of the
    # continuous analytic one; the grid adds about 2**-12 of the sensitivity.
    assert analytic * 0.95 < g.scale < analytic * 1.05
    d = lp.DiscreteGaussianMechanism(sensitivity=1, epsilon=eps, delta=delta)
    assert cal.discrete_gaussian_delta(d.scale, 1, eps) <= delta
    # Calibrated close to the smallest valid sigma.
    assert cal.discrete_gaussian_delta(d.scale * 0.99, 1, eps) > delta


def test_zcdp_sigma():
    assert lp.gaussian_sigma(1.0, rho=0.5) == 1.0
    assert lp.gaussian_sigma(2.0, rho=2.0) == 1.0
    d = lp.DiscreteGaussianMechanism(sensitivity=1, rho=0.5)
    assert 1.0 <= d.scale <= 1.0 * (1 + 2**-24)
    g = lp.GaussianMechanism(sensitivity=1.0, rho=0.5)
    assert g.scale >= 1.0
    assert g.scale <= (1.0 + g.granularity) * (1 + 2**-23)


def test_gaussian_sigma_helper():
    assert lp.gaussian_sigma(
        1.0, epsilon=1.0, delta=1e-5
    ) == lp.analytic_gaussian_sigma(1.0, epsilon=1.0, delta=1e-5)
    assert round(lp.analytic_gaussian_sigma(1.0, epsilon=1.0, delta=1e-5), 3) == 3.731
    with pytest.raises(
        lp.InvalidParameterError,
        match=r"needs `epsilon` and `delta` in \(0, 1\), or `rho`",
    ):
        lp.gaussian_sigma(1.0, epsilon=1.0)
    with pytest.raises(
        lp.InvalidParameterError,
        match=r"give either `rho` \(zCDP\) or `epsilon`/`delta`, not both",
    ):
        lp.gaussian_sigma(1.0, epsilon=1.0, rho=0.5)


@pytest.mark.parametrize("factory", ALL)
def test_scale_monotone_in_sensitivity_and_epsilon(factory):
    m = factory()
    cls = type(m)
    kw = {"sensitivity": m.sensitivity}
    if isinstance(m.cost, lp.ZCDP):
        budgets = [{"rho": r} for r in (0.05, 0.1, 0.5, 1.0, 4.0)]
    elif isinstance(m.cost, lp.ApproxDP):
        budgets = [{"epsilon": e, "delta": 1e-6} for e in (0.05, 0.1, 0.5, 1.0, 4.0)]
    else:
        budgets = [{"epsilon": e} for e in (0.05, 0.1, 0.5, 1.0, 4.0)]
    scales = [cls(**kw, **b).scale for b in budgets]
    assert scales == sorted(scales, reverse=True)
    assert len(set(scales)) == len(scales)
    sens = [0.5, 1.0, 1.5, 2.0, 7.0, 100.0]
    scales = [cls(sensitivity=s, **budgets[2]).scale for s in sens]
    assert scales == sorted(scales)


# ---------------------------------------------------------------------------
# Accuracy: the half-width is the smallest valid one for the exact noise
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99])
@pytest.mark.parametrize(("sens", "eps"), [(1, 1.0), (1, 0.1), (2, 3.0), (1, 4.9)])
def test_geometric_accuracy_is_exact(confidence, sens, eps):
    m = lp.GeometricMechanism(sensitivity=sens, epsilon=eps)
    k = m.accuracy(confidence)
    assert k == int(k)
    expected = ref.smallest_half_width(
        lambda y: ref.discrete_laplace_pmf(y, m.scale), confidence
    )
    assert k == expected


@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99])
@pytest.mark.parametrize(
    "kwargs",
    [{"rho": 0.5}, {"rho": 0.01}, {"epsilon": 1.0, "delta": 1e-6}, {"rho": 8.0}],
)
def test_discrete_gaussian_accuracy_is_exact(confidence, kwargs):
    m = lp.DiscreteGaussianMechanism(sensitivity=1, **kwargs)
    k = m.accuracy(confidence)
    expected = ref.smallest_half_width(
        lambda y: ref.discrete_gaussian_pmf(y, m._dg.variance), confidence
    )
    assert k == expected


@pytest.mark.parametrize("factory", REAL)
def test_real_accuracy_in_grid_units(factory):
    m = factory()
    g = m.granularity
    hw = m.accuracy(0.95)
    units = (hw - g / 2) / g
    assert units == int(units)
    if m._lap is not None:
        pmf = lambda y: ref.discrete_laplace_pmf(y, m._lap.scale)  # noqa: E731
    else:
        pmf = lambda y: ref.discrete_gaussian_pmf(y, m._dg.variance)  # noqa: E731
    exact = ref.smallest_half_width(pmf, 0.95, start=max(0, int(units) - 5))
    if m._dg is not None and m._dg.sigma >= cal._EXACT_SUM_SIGMA:
        # Large σ: the tail is bounded (integral + first term), not summed,
        # so the half-width may be one grid step wider than the smallest.
        assert exact <= int(units) <= exact + 1
    else:
        assert int(units) == exact
    # Laplace of scale b: 95% half-width ≈ b·ln(20).
    if m._lap is not None:
        assert hw == pytest.approx(m.scale * math.log(20), rel=1e-5)


def test_accuracy_grows_with_confidence():
    m = lp.LaplaceMechanism(sensitivity=1.0, epsilon=1.0)
    widths = [m.accuracy(c) for c in (0.5, 0.8, 0.95, 0.999)]
    assert widths == sorted(widths)
    assert len(set(widths)) == 4


@pytest.mark.parametrize("bad", [0.0, 1.0, 1.2, -0.1, math.nan, "0.95"])
def test_accuracy_rejects_bad_confidence(bad):
    with pytest.raises(lp.InvalidParameterError, match=r"`confidence` must be") as info:
        lp.LaplaceMechanism(sensitivity=1.0, epsilon=1.0).accuracy(bad)
    assert info.value.parameter == "confidence"


def test_release_confidence_interval():
    m = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
    r = m.release(10, rng=seeded_rng(99))
    assert r.half_width == m.accuracy(0.95) == 3.0
    assert r.confidence == 0.95
    lo, hi = r.confidence_interval()
    assert (lo, hi) == (r.value - 3.0, r.value + 3.0)
    lo99, hi99 = r.confidence_interval(0.99)
    assert hi99 - lo99 == 2 * m.accuracy(0.99)
    assert r.confidence_interval(confidence=0.99) == (lo99, hi99)
    r90 = m.release(10, rng=seeded_rng(99), confidence=0.9)
    assert r90.half_width == m.accuracy(0.9) == m.accuracy(confidence=0.9)
    assert r90.confidence == 0.9
    with pytest.raises(lp.InvalidParameterError, match=r"`confidence` must be"):
        r.confidence_interval(1.5)


def test_level_is_a_deprecated_alias_of_confidence():
    m = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
    with pytest.warns(DeprecationWarning, match=r"`level=` is deprecated"):
        assert m.accuracy(level=0.99) == m.accuracy(0.99)
    with pytest.warns(DeprecationWarning, match=r"`level=` is deprecated"):
        r = m.release(10, rng=seeded_rng(99), level=0.9)
    assert r.confidence == 0.9
    assert r.half_width == m.accuracy(0.9)
    with pytest.warns(DeprecationWarning, match=r"`Release\.level` is deprecated"):
        assert r.level == 0.9
    with pytest.warns(DeprecationWarning, match=r"`level=` is deprecated"):
        assert r.confidence_interval(level=0.99) == r.confidence_interval(0.99)
    with (
        pytest.warns(DeprecationWarning, match=r"`level=` is deprecated"),
        pytest.raises(lp.InvalidParameterError, match=r"`level` must be") as info,
    ):
        m.accuracy(level=1.5)
    assert info.value.parameter == "level"


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.accuracy(0.9, level=0.9),
        lambda m: m.release(10, rng=seeded_rng(99), confidence=0.9, level=0.9),
        lambda m: m.release(10, rng=seeded_rng(99)).confidence_interval(0.9, level=0.9),
    ],
    ids=["accuracy", "release", "confidence_interval"],
)
def test_confidence_and_level_together_refused(call):
    m = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
    with pytest.raises(
        lp.InvalidParameterError,
        match=r"give `confidence` or its deprecated alias `level`, not both",
    ) as info:
        call(m)
    assert info.value.parameter == "level"


def test_scale_calculators_take_privacy_parameters_by_keyword():
    for func in (lp.laplace_scale, lp.analytic_gaussian_sigma, lp.gaussian_sigma):
        params = inspect.signature(func).parameters
        assert params["sensitivity"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        for name in ("epsilon", "delta", "rho"):
            if name in params:
                assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    with pytest.raises(TypeError, match=r"positional argument"):
        lp.laplace_scale(2.0, 0.5)  # type: ignore[misc]


def test_release_records_mechanism_and_scale():
    m = lp.LaplaceMechanism(sensitivity=1.0, epsilon=0.5)
    r = m.release(3.0, rng=seeded_rng(99))
    assert r.mechanism == "LaplaceMechanism"
    assert r.cost == lp.PureDP(0.5)
    assert r.scale == m.scale
    assert r.granularity == m.granularity
    assert r.receipt is None


# ---------------------------------------------------------------------------
# Output types and grids
# ---------------------------------------------------------------------------


def test_add_noise_integers_stay_integers():
    rng = seeded_rng(99)
    out = lp.add_noise(5, sensitivity=1, epsilon=1.0, rng=rng)
    assert type(out) is int
    assert type(lp.add_noise(np.int32(5), sensitivity=1, epsilon=1.0, rng=rng)) is int
    arr = lp.add_noise(
        np.array([1, 2, 3], dtype=np.int32), sensitivity=1, epsilon=1.0, rng=rng
    )
    assert arr.dtype == np.int64
    assert arr.shape == (3,)
    lst = lp.add_noise([[1, 2], [3, 4]], sensitivity=1, epsilon=1.0, rng=rng)
    assert lst.dtype == np.int64
    assert lst.shape == (2, 2)
    g = lp.add_noise(5, sensitivity=1, rho=0.5, mechanism="gaussian", rng=rng)
    assert type(g) is int


def test_add_noise_floats_stay_floats():
    rng = seeded_rng(99)
    out = lp.add_noise(5.0, sensitivity=1.0, epsilon=1.0, rng=rng)
    assert type(out) is float
    arr = lp.add_noise(
        np.array([1.5, 2.5], dtype=np.float32), sensitivity=1.0, epsilon=1.0, rng=rng
    )
    assert arr.dtype == np.float64
    g = lp.add_noise(
        [1.0, 2.0],
        sensitivity=1.0,
        epsilon=1.0,
        delta=1e-6,
        mechanism="gaussian",
        rng=rng,
    )
    assert g.dtype == np.float64
    assert g.shape == (2,)


def test_add_noise_uses_the_matching_mechanism(monkeypatch):
    seen = []
    original = mech_mod.AdditiveMechanism.release

    def spy(self, value, **kw):
        seen.append((type(self).__name__, self.dimension))
        return original(self, value, **kw)

    monkeypatch.setattr(mech_mod.AdditiveMechanism, "release", spy)
    rng = seeded_rng(99)
    lp.add_noise(1, sensitivity=1, epsilon=1.0, rng=rng)
    lp.add_noise(np.ones(4), sensitivity=1, epsilon=1.0, rng=rng)
    lp.add_noise(
        np.ones(3, dtype=int), sensitivity=1, rho=1.0, mechanism="gaussian", rng=rng
    )
    lp.add_noise(
        2.5, sensitivity=1, epsilon=1.0, delta=1e-6, mechanism="gaussian", rng=rng
    )
    lp.add_noise(np.zeros(0), sensitivity=1, epsilon=1.0, rng=rng)
    assert seen == [
        ("GeometricMechanism", 1),
        ("LaplaceMechanism", 4),
        ("DiscreteGaussianMechanism", 3),
        ("GaussianMechanism", 1),
        ("LaplaceMechanism", 1),
    ]


@pytest.mark.parametrize("factory", INTEGER)
def test_integer_mechanisms_keep_integers(factory):
    m = factory()
    r = m.release(7, rng=seeded_rng(99))
    assert type(r.value) is int
    m2 = type(m)(sensitivity=1, dimension=4, **_budget(m))
    r2 = m2.release(np.arange(4, dtype=np.int16).reshape(2, 2), rng=seeded_rng(99))
    assert r2.value.dtype == np.int64
    assert r2.value.shape == (2, 2)


@pytest.mark.parametrize("factory", INTEGER)
def test_integer_mechanisms_refuse_floats(factory):
    with pytest.raises(
        lp.InvalidParameterError,
        match=r"adds integer noise and needs integer values, got dtype float64",
    ) as info:
        factory().release(7.0, rng=seeded_rng(99))
    assert info.value.parameter == "value"


def _budget(m):
    if isinstance(m.cost, lp.ZCDP):
        return {"rho": m.cost.rho}
    if isinstance(m.cost, lp.ApproxDP):
        return {"epsilon": m.cost.epsilon, "delta": m.cost.delta}
    return {"epsilon": m.cost.epsilon}


@pytest.mark.parametrize("factory", REAL)
@pytest.mark.parametrize(
    "value", [0.0, 1.0, 0.1, -3.3, 123456.789, 2.0**52 + 1, -(2.0**60)]
)
def test_real_outputs_on_the_grid(factory, value):
    m = factory()
    g = m.granularity
    r = m.release(value, rng=seeded_rng(99))
    assert type(r.value) is float
    assert math.fmod(r.value, g) == 0.0
    m_vec = type(m)(sensitivity=1.0, dimension=50, **_budget(m))
    vals = np.linspace(-7.3, 9.1, 50)
    out = m_vec.release(vals, rng=seeded_rng(99)).value
    assert out.dtype == np.float64
    assert (np.fmod(out, m_vec.granularity) == 0.0).all()


def test_real_outputs_near_input():
    m = lp.LaplaceMechanism(sensitivity=100.0, epsilon=1.0, dimension=1000)
    x = np.linspace(-50, 50, 1000)
    out = m.release(x, rng=seeded_rng(99)).value
    # Laplace noise of scale ≈ 100 (the sensitivity covers the whole
    # array): mean absolute error ≈ 100 (standard error ≈ 3).
    assert 100.0 <= m.scale < 100.0 * (1 + 2**-10)
    err = np.abs(out - x)
    assert 85 < err.mean() < 115


def test_large_values_do_not_overflow():
    m = lp.LaplaceMechanism(sensitivity=1.0, epsilon=1.0)
    r = m.release(1e308, rng=seeded_rng(99))
    assert math.isfinite(r.value)
    assert r.value == pytest.approx(2.0**1000, rel=1e-12)  # clamped (1-Lipschitz)
    r2 = m.release(-1e308, rng=seeded_rng(99))
    assert r2.value == pytest.approx(-(2.0**1000), rel=1e-12)


def test_tiny_sensitivity_with_huge_value_does_not_warn():
    # Rounding to the grid divides x by g even where np.where later keeps x
    # unrounded, so x = 2**1000 with g = 2**-920 overflows to inf and numpy
    # emits a RuntimeWarning (an error under filterwarnings=error).
    m = lp.LaplaceMechanism(sensitivity=2.0**-900, epsilon=1.0)
    assert m.release(2.0**1000, rng=seeded_rng(99)).value == 2.0**1000


def test_integer_noise_saturates_instead_of_wrapping():
    imax, imin = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    m_vec = lp.GeometricMechanism(sensitivity=1000, epsilon=0.01, dimension=500)
    out = m_vec.release(np.full(500, imax, dtype=np.int64), rng=seeded_rng(99)).value
    assert (out > imax - 10**9).all(), "wrapped around to negative values"
    assert (out == imax).any()
    out = m_vec.release(np.full(500, imin, dtype=np.int64), rng=seeded_rng(99)).value
    assert (out < imin + 10**9).all()
    assert (out == imin).any()


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

BAD_POSITIVE = [0, 0.0, -1.0, math.nan, math.inf, -math.inf, True, "1.0", None]


@pytest.mark.parametrize("bad", BAD_POSITIVE)
@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: lp.LaplaceMechanism(**{"sensitivity": 1.0, "epsilon": 1.0, **kw}),
        lambda **kw: lp.GeometricMechanism(**{"sensitivity": 1, "epsilon": 1.0, **kw}),
        lambda **kw: lp.GaussianMechanism(
            **{"sensitivity": 1.0, "epsilon": 1.0, "delta": 1e-6, **kw}
        ),
        lambda **kw: lp.DiscreteGaussianMechanism(
            **{"sensitivity": 1, "epsilon": 1.0, "delta": 1e-6, **kw}
        ),
        lambda **kw: lp.ExponentialMechanism(
            **{"sensitivity": 1.0, "epsilon": 1.0, **kw}
        ),
        lambda **kw: lp.add_noise(1.0, **{"sensitivity": 1.0, "epsilon": 1.0, **kw}),
        lambda **kw: lp.add_noise(
            1,
            **{
                "sensitivity": 1,
                "epsilon": 1.0,
                "delta": 1e-6,
                "mechanism": "gaussian",
                **kw,
            },
        ),
        lambda **kw: lp.report_noisy_max(
            [1.0, 2.0], **{"sensitivity": 1.0, "epsilon": 1.0, **kw}
        ),
    ],
    ids=[
        "laplace",
        "geometric",
        "gaussian",
        "dgauss",
        "exponential",
        "add_noise",
        "add_noise-gauss",
        "rnm",
    ],
)
@pytest.mark.parametrize("param", ["sensitivity", "epsilon"])
def test_bad_sensitivity_and_epsilon(make, param, bad):
    if bad is None and param == "epsilon":
        # epsilon=None means "not given": still refused, with a message
        # about the missing parameter (see test_missing_epsilon).
        with pytest.raises(lp.InvalidParameterError, match=r"`epsilon`"):
            make(**{param: bad})
        return
    with pytest.raises(lp.InvalidParameterError, match=rf"`{param}` must be") as info:
        make(**{param: bad})
    assert info.value.parameter == param


@pytest.mark.parametrize(
    "bad", [0.0, -1e-9, 1.0, 2.0, math.nan, math.inf, True, "1e-6"]
)
@pytest.mark.parametrize(
    "make",
    [
        lambda d: lp.GaussianMechanism(sensitivity=1.0, epsilon=1.0, delta=d),
        lambda d: lp.DiscreteGaussianMechanism(sensitivity=1, epsilon=1.0, delta=d),
        lambda d: lp.add_noise(
            1.0, sensitivity=1.0, epsilon=1.0, delta=d, mechanism="gaussian"
        ),
    ],
    ids=["gaussian", "dgauss", "add_noise"],
)
def test_bad_delta(make, bad):
    with pytest.raises(lp.InvalidParameterError, match=r"`delta` must be") as info:
        make(bad)
    assert info.value.parameter == "delta"


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, True])
@pytest.mark.parametrize("cls", [lp.GaussianMechanism, lp.DiscreteGaussianMechanism])
def test_bad_rho(cls, bad):
    with pytest.raises(lp.InvalidParameterError, match=r"`rho` must be") as info:
        cls(sensitivity=1.0, rho=bad)
    assert info.value.parameter == "rho"


@pytest.mark.parametrize("cls", [lp.GaussianMechanism, lp.DiscreteGaussianMechanism])
def test_gaussian_needs_delta_or_rho(cls):
    with pytest.raises(
        lp.InvalidParameterError,
        match=r"needs `epsilon` and `delta` in \(0, 1\), or `rho`",
    ) as info:
        cls(sensitivity=1.0, epsilon=1.0)
    assert info.value.parameter == "delta"
    with pytest.raises(lp.InvalidParameterError, match=r"needs `epsilon` and `delta`"):
        cls(sensitivity=1.0)
    with pytest.raises(
        lp.InvalidParameterError,
        match=r"give either `rho` \(zCDP\) or `epsilon`/`delta`, not both",
    ):
        cls(sensitivity=1.0, epsilon=1.0, delta=1e-6, rho=0.5)
    with pytest.raises(lp.InvalidParameterError, match=r"needs `epsilon` and `delta`"):
        lp.add_noise(1.0, sensitivity=1.0, epsilon=1.0, mechanism="gaussian")


def test_add_noise_laplace_refuses_delta_and_rho():
    with pytest.raises(
        lp.InvalidParameterError, match=r"the Laplace mechanism takes only `epsilon`"
    ) as info:
        lp.add_noise(1.0, sensitivity=1.0, epsilon=1.0, delta=1e-6)
    assert info.value.parameter == "delta"
    with pytest.raises(lp.InvalidParameterError, match=r"takes only `epsilon`") as info:
        lp.add_noise(1.0, sensitivity=1.0, rho=0.5)
    assert info.value.parameter == "rho"
    # delta=0 is pure DP and accepted.
    assert (
        type(
            lp.add_noise(
                1.0, sensitivity=1.0, epsilon=1.0, delta=0.0, rng=seeded_rng(99)
            )
        )
        is float
    )


def test_missing_epsilon():
    with pytest.raises(
        lp.InvalidParameterError, match=r"`epsilon` is required"
    ) as info:
        lp.add_noise(1.0, sensitivity=1.0)
    assert info.value.parameter == "epsilon"


def test_unknown_mechanism():
    with pytest.raises(
        lp.InvalidParameterError,
        match=r"`mechanism` must be 'laplace' or 'gaussian', got 'cauchy'",
    ) as info:
        lp.add_noise(1.0, sensitivity=1.0, epsilon=1.0, mechanism="cauchy")  # type: ignore[arg-type]
    assert info.value.parameter == "mechanism"


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
@pytest.mark.parametrize("factory", ALL)
def test_bad_dimension(factory, bad):
    m = factory()
    with pytest.raises(
        lp.InvalidParameterError, match=r"`dimension` must be an integer >= 1"
    ):
        type(m)(sensitivity=1, dimension=bad, **_budget(m))


@pytest.mark.parametrize("factory", ALL)
def test_too_many_coordinates(factory):
    m = factory()
    value = np.arange(2) if m.integer else np.arange(2.0)
    with pytest.raises(
        lp.InvalidParameterError,
        match=r"was calibrated for `dimension`=1 coordinates but got 2 values in `value`; construct it with dimension=2",
    ) as info:
        m.release(value, rng=seeded_rng(99))
    assert info.value.parameter == "value"
    m3 = type(m)(sensitivity=1, dimension=3, **_budget(m))
    assert m3.release(value, rng=seeded_rng(99)).value.shape == (2,)  # fewer is fine


NON_FINITE = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("bad", NON_FINITE)
@pytest.mark.parametrize("factory", REAL)
def test_non_finite_values_refused(factory, bad):
    m = factory()
    with pytest.raises(
        lp.InvalidParameterError, match=r"`value` contains 1 NaN or infinite value"
    ) as info:
        m.release(bad, rng=seeded_rng(99))
    assert info.value.parameter == "value"
    m2 = type(m)(sensitivity=1.0, dimension=3, **_budget(m))
    with pytest.raises(
        lp.NonFiniteValueError,
        match=r"`value` contains 1 NaN or infinite value\(s\) \(first at flat index 1\)",
    ) as info:
        m2.release([1.0, bad, 2.0], rng=seeded_rng(99))
    assert info.value.first_index == 1


@pytest.mark.parametrize("bad", NON_FINITE)
def test_non_finite_values_refused_by_add_noise(bad):
    with pytest.raises(lp.InvalidParameterError, match=r"`value` contains") as info:
        lp.add_noise([1.0, bad], sensitivity=1.0, epsilon=1.0)
    assert info.value.parameter == "value"
    with pytest.raises(lp.InvalidParameterError, match=r"`value` contains"):
        lp.add_noise(bad, sensitivity=1.0, rho=1.0, mechanism="gaussian")


@pytest.mark.parametrize("bad", ["5", True, [1, "a"], np.array([True]), None, {"a": 1}])
@pytest.mark.parametrize("factory", ALL)
def test_non_numeric_values_refused(factory, bad):
    with pytest.raises(
        lp.InvalidParameterError, match=r"`value` must be numeric"
    ) as info:
        factory().release(bad, rng=seeded_rng(99))
    assert info.value.parameter == "value"


@pytest.mark.parametrize("bad", ["5", True, None, 2**70])
def test_non_numeric_values_refused_by_add_noise(bad):
    with pytest.raises(lp.InvalidParameterError, match=r"`value` must be numeric"):
        lp.add_noise(bad, sensitivity=1, epsilon=1.0)


def test_release_confidence_validated():
    with pytest.raises(lp.InvalidParameterError, match=r"`confidence` must be"):
        lp.LaplaceMechanism(sensitivity=1.0, epsilon=1.0).release(
            1.0, confidence=1.0, rng=seeded_rng(99)
        )


def test_large_epsilon_warns():
    with pytest.warns(lp.PrivacyWarning, match=r"`epsilon`=10\.0 is larger than 5\.0"):
        lp.LaplaceMechanism(sensitivity=1.0, epsilon=10.0)


# ---------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["exponential", "permute_and_flip"])
def test_selection_returns_valid_index(method):
    em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=1.0, method=method)
    rng = seeded_rng(99)
    for scores in ([5.0], [0.0, 0.0, 0.0], [1, 2, 3, 4], np.arange(100.0)):
        s = em.select(scores, rng=rng)
        assert isinstance(s.index, int)
        assert 0 <= s.index < len(scores)
        assert s.cost == lp.PureDP(1.0)
        assert s.mechanism == (
            "ExponentialMechanism" if method == "exponential" else "PermuteAndFlip"
        )


@pytest.mark.parametrize("method", ["exponential", "permute_and_flip"])
def test_selection_picks_a_dominant_score(method):
    em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=1.0, method=method)
    rng = seeded_rng(99)
    # exp(-500) is never drawn.
    assert all(em.select([0.0, 1000.0, 3.0], rng=rng).index == 1 for _ in range(50))
    assert all(
        lp.report_noisy_max(
            [-2000.0, 0.0, -1000.0], sensitivity=1.0, epsilon=1.0, rng=rng
        )
        == 1
        for _ in range(50)
    )


def test_selection_is_not_always_the_max():
    em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=1.0)
    rng = seeded_rng(99)
    picks = {em.select([0.0, 0.5, 1.0], rng=rng).index for _ in range(200)}
    assert picks == {0, 1, 2}


def test_selection_weights():
    em = lp.ExponentialMechanism(sensitivity=2.0, epsilon=1.0)
    w = em._weights([0.0, 4.0])
    # weight exp(ε·u/(2Δ)) with ε slightly reduced to absorb rounding.
    assert w[0] == 0
    assert abs(w[1] / 2.0**em._grid_bits - 1.0) < 1e-5
    mono = lp.ExponentialMechanism(sensitivity=2.0, epsilon=1.0, monotonic=True)
    assert abs(mono._weights([0.0, 4.0])[1] / 2.0**mono._grid_bits - 2.0) < 1e-5


def test_selection_clamps_huge_scores():
    em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=1.0)
    w = em._weights([1e300, -1e300, 0.0])
    assert abs(int(w[0])) <= 2**50
    assert abs(int(w[1])) <= 2**50
    assert em.select([1e300, -1e300, 0.0], rng=seeded_rng(99)).index == 0


@pytest.mark.parametrize(
    "bad", [[], [1.0, math.nan], [math.inf], ["a", "b"], [True, False]]
)
def test_selection_bad_scores(bad):
    em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=1.0)
    with pytest.raises(lp.InvalidParameterError, match=r"`scores`") as info:
        em.select(bad, rng=seeded_rng(99))
    assert info.value.parameter == "scores"


def test_selection_bad_method():
    with pytest.raises(
        lp.InvalidParameterError,
        match=r"`method` must be 'exponential' or 'permute_and_flip', got 'gumbel'",
    ) as info:
        lp.ExponentialMechanism(sensitivity=1.0, epsilon=1.0, method="gumbel")  # type: ignore[arg-type]
    assert info.value.parameter == "method"


def test_selection_refills_words(monkeypatch):
    # Many near-equal candidates with a low acceptance rate exhaust the first
    # block of words; the result must be the one a single long stream gives.
    scores = np.linspace(0.0, -40.0, 30)
    em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=1.0)
    a = [em.select(scores, rng=seeded_rng(3)).index for _ in range(1)]
    w = em._weights(scores)
    stream = ref.WordStream(seeded_rng(3).words(100_000))
    assert a[0] == ref.exponential_select(w, em._grid_bits, stream)


# ---------------------------------------------------------------------------
# Accountant
# ---------------------------------------------------------------------------

RELEASES = [
    pytest.param(
        lambda m_rng, acc: lp.LaplaceMechanism(sensitivity=1.0, epsilon=0.5).release(
            1.0, rng=m_rng, accountant=acc, label="x"
        ),
        lp.PureDP(0.5),
        id="laplace",
    ),
    pytest.param(
        lambda m_rng, acc: lp.GeometricMechanism(sensitivity=1, epsilon=0.5).release(
            1, rng=m_rng, accountant=acc, label="x"
        ),
        lp.PureDP(0.5),
        id="geometric",
    ),
    pytest.param(
        lambda m_rng, acc: lp.GaussianMechanism(sensitivity=1.0, rho=0.25).release(
            1.0, rng=m_rng, accountant=acc, label="x"
        ),
        lp.ZCDP(0.25),
        id="gaussian",
    ),
    pytest.param(
        lambda m_rng, acc: lp.DiscreteGaussianMechanism(
            sensitivity=1, epsilon=1.0, delta=1e-6
        ).release(1, rng=m_rng, accountant=acc, label="x"),
        lp.ApproxDP(1.0, 1e-6),
        id="dgauss",
    ),
    pytest.param(
        lambda m_rng, acc: lp.add_noise(
            3, sensitivity=1, epsilon=0.5, rng=m_rng, accountant=acc, label="x"
        ),
        lp.PureDP(0.5),
        id="add_noise",
    ),
    pytest.param(
        lambda m_rng, acc: lp.ExponentialMechanism(sensitivity=1.0, epsilon=0.5).select(
            [1.0, 2.0], rng=m_rng, accountant=acc, label="x"
        ),
        lp.PureDP(0.5),
        id="exponential",
    ),
    pytest.param(
        lambda m_rng, acc: lp.report_noisy_max(
            [1.0, 2.0],
            sensitivity=1.0,
            epsilon=0.5,
            rng=m_rng,
            accountant=acc,
            label="x",
        ),
        lp.PureDP(0.5),
        id="rnm",
    ),
]


@pytest.mark.parametrize(("do", "cost"), RELEASES)
def test_charges_cost_exactly_once(do, cost):
    acc = FakeAccountant()
    out = do(CountingRandom(1), acc)
    assert len(acc.calls) == 1
    charged, kw = acc.calls[0]
    assert charged == cost
    assert kw["insecure"] is True
    assert kw["label"] == "x"
    assert acc.committed == [cost]
    if hasattr(out, "receipt"):
        assert out.receipt is acc.receipt


def test_charge_records_secure_source_and_parameters():
    acc = FakeAccountant()
    m = lp.LaplaceMechanism(sensitivity=1.0, epsilon=0.5)
    m.release(2.0, accountant=acc)
    _, kw = acc.calls[0]
    assert kw["insecure"] is False
    assert kw["mechanism"] == "LaplaceMechanism"
    assert kw["parameters"]["scale"] == m.scale
    assert kw["parameters"]["granularity"] == m.granularity
    assert kw["event"] == lp.loss.NoiseEvent("laplace", kw["event"].noise_multiplier)
    assert kw["event"].noise_multiplier == pytest.approx(1 / 0.5, rel=1e-5)


# What each refusal below must say (keyed by the test id).
FAILED_VALIDATION_MATCH = {
    "nan": r"`value` contains 1 NaN or infinite value",
    "inf-array": r"`value` contains 1 NaN or infinite value",
    "float-to-int": r"needs integer values, got dtype float64 for `value`",
    "too-many": r"calibrated for `dimension`=1 coordinates but got 2 values",
    "confidence": r"`confidence` must be a number strictly between 0 and 1, got 2.0",
    "add_noise-nan": r"`value` contains 1 NaN or infinite value",
    "add_noise-str": r"`value` must be numeric",
    "select-nan": r"`scores` contains 1 NaN or infinite value",
    "rnm-empty": r"`scores` must hold at least one candidate",
    "bad-rng": r"`rng` must be None .* got 7 of type int",
}


@pytest.mark.parametrize(
    "do",
    [
        lambda r, a: lp.LaplaceMechanism(sensitivity=1.0, epsilon=0.5).release(
            math.nan, rng=r, accountant=a
        ),
        lambda r, a: lp.GaussianMechanism(sensitivity=1.0, rho=0.5).release(
            [1.0, math.inf], rng=r, accountant=a
        ),
        lambda r, a: lp.GeometricMechanism(sensitivity=1, epsilon=0.5).release(
            1.5, rng=r, accountant=a
        ),
        lambda r, a: lp.DiscreteGaussianMechanism(sensitivity=1, rho=0.5).release(
            [1, 2], rng=r, accountant=a
        ),
        lambda r, a: lp.LaplaceMechanism(sensitivity=1.0, epsilon=0.5).release(
            1.0, rng=r, accountant=a, confidence=2.0
        ),
        lambda r, a: lp.add_noise(
            math.nan, sensitivity=1.0, epsilon=0.5, rng=r, accountant=a
        ),
        lambda r, a: lp.add_noise(
            "1", sensitivity=1.0, epsilon=0.5, rng=r, accountant=a
        ),
        lambda r, a: lp.ExponentialMechanism(sensitivity=1.0, epsilon=0.5).select(
            [1.0, math.nan], rng=r, accountant=a
        ),
        lambda r, a: lp.report_noisy_max(
            [], sensitivity=1.0, epsilon=0.5, rng=r, accountant=a
        ),
        lambda r, a: lp.LaplaceMechanism(sensitivity=1.0, epsilon=0.5).release(
            1.0, rng=7, accountant=a
        ),
    ],
    ids=[
        "nan",
        "inf-array",
        "float-to-int",
        "too-many",
        "confidence",
        "add_noise-nan",
        "add_noise-str",
        "select-nan",
        "rnm-empty",
        "bad-rng",
    ],
)
def test_failed_validation_spends_nothing(do, request):
    acc = FakeAccountant()
    rng = CountingRandom(1)
    with pytest.raises(
        lp.PrivacyError, match=FAILED_VALIDATION_MATCH[request.node.callspec.id]
    ):
        do(rng, acc)
    assert acc.calls == [], (
        "the accountant was touched by a call that failed validation"
    )
    assert rng.requested == 0


@pytest.mark.parametrize(("do", "cost"), RELEASES)
def test_refused_budget_releases_nothing(do, cost):
    acc = FakeAccountant(refuse=True)
    rng = CountingRandom(1)
    with pytest.raises(lp.BudgetExceededError, match=r"nothing was spent") as info:
        do(rng, acc)
    assert info.value.requested == cost
    assert len(acc.calls) == 1
    assert acc.committed == []
    assert rng.requested == 0, "noise was drawn before the accountant agreed"


def test_error_while_sampling_is_not_committed(monkeypatch):
    acc = FakeAccountant()

    def boom(*args, **kwargs):
        raise RuntimeError("sampler failed")

    monkeypatch.setattr(noise, "draw", boom)
    with pytest.raises(RuntimeError, match="sampler failed"):
        lp.LaplaceMechanism(sensitivity=1.0, epsilon=0.5).release(1.0, accountant=acc)
    assert len(acc.calls) == 1
    assert acc.committed == []


# ---------------------------------------------------------------------------
# Descriptions
# ---------------------------------------------------------------------------


def test_event_and_parameters():
    g = lp.GaussianMechanism(sensitivity=2.0, rho=0.5)
    ev = g.event
    assert ev.kind == "gaussian"
    units = g.parameters()["units_sensitivity"]
    assert ev.noise_multiplier == pytest.approx(g.scale / g.granularity / units)
    # ρ = 1 / (2·multiplier²) for the Gaussian.
    assert 1 / (2 * ev.noise_multiplier**2) <= 0.5 * (1 + 1e-6)
    geo = lp.GeometricMechanism(sensitivity=2, epsilon=0.5)
    assert geo.event == lp.loss.NoiseEvent("laplace", 2.0)
    assert geo.parameters() == {
        "sensitivity": 2.0,
        "scale": 4.0,
        "granularity": None,
        "dimension": 1,
        "units_sensitivity": 2.0,
    }


def test_repr():
    assert (
        repr(lp.GeometricMechanism(sensitivity=1, epsilon=0.5))
        == "GeometricMechanism(sensitivity=1.0, cost=PureDP(epsilon=0.5), scale=2.0)"
    )
