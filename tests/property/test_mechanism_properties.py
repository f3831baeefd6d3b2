"""Hypothesis: mechanism invariants (types, shapes, grids, monotone scales, accuracy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

import loopkit_privacy as lp
from tests._rng import seeded_rng

ALPHA = 1e-6


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)
int_dtypes = st.sampled_from(
    [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32]
)
float_dtypes = st.sampled_from([np.float32, np.float64])
finite = st.floats(
    min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False
)
sensitivities = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False)
epsilons = st.floats(min_value=0.01, max_value=5.0, allow_nan=False)
rhos = st.floats(min_value=1e-3, max_value=10.0, allow_nan=False)


@given(
    hnp.arrays(int_dtypes, shapes, elements=st.integers(0, 100)),
    st.sampled_from(["laplace", "gaussian"]),
)
@settings(max_examples=60)
def test_add_noise_integers_in_integers_out(values, mechanism):
    kw = {"epsilon": 1.0} if mechanism == "laplace" else {"rho": 0.5}
    out = lp.add_noise(
        values, sensitivity=1, mechanism=mechanism, rng=seeded_rng(0), **kw
    )
    if values.ndim == 0:
        # A 0-d array is a scalar: a Python int comes back.
        assert type(out) is int
    else:
        assert isinstance(out, np.ndarray)
        assert out.dtype == np.int64
        assert out.shape == values.shape


@given(
    hnp.arrays(float_dtypes, shapes, elements=st.floats(-1e6, 1e6, width=32)),
    st.sampled_from(["laplace", "gaussian"]),
)
@settings(max_examples=60)
def test_add_noise_floats_in_floats_out(values, mechanism):
    kw = {"epsilon": 1.0} if mechanism == "laplace" else {"epsilon": 1.0, "delta": 1e-6}
    out = lp.add_noise(
        values, sensitivity=1.0, mechanism=mechanism, rng=seeded_rng(0), **kw
    )
    if values.ndim == 0:
        assert type(out) is float
    else:
        assert out.dtype == np.float64
        assert out.shape == values.shape


@given(st.one_of(st.integers(-(2**62), 2**62), finite))
def test_add_noise_python_scalars(value):
    out = lp.add_noise(value, sensitivity=1, epsilon=1.0, rng=seeded_rng(0))
    assert type(out) is type(value)


@given(shapes, st.sampled_from(["geometric", "discrete_gaussian"]))
@settings(max_examples=40)
def test_integer_mechanisms_preserve_shape(shape, kind):
    size = max(1, math.prod(shape))
    m = (
        lp.GeometricMechanism(sensitivity=2, epsilon=1.0, dimension=size)
        if kind == "geometric"
        else lp.DiscreteGaussianMechanism(sensitivity=2, rho=1.0, dimension=size)
    )
    x = np.arange(math.prod(shape), dtype=np.int32).reshape(shape)
    r = m.release(x, rng=seeded_rng(0))
    if x.ndim == 0:
        assert type(r.value) is int
    else:
        assert r.value.dtype == np.int64
        assert r.value.shape == shape


def _grid_ok(out, g):
    return bool(np.all(np.fmod(np.asarray(out, dtype=float), g) == 0.0))


@given(
    st.lists(finite, min_size=1, max_size=20),
    sensitivities,
    epsilons,
    st.integers(0, 1000),
)
@settings(max_examples=60)
def test_laplace_outputs_on_grid(values, sensitivity, epsilon, seed):
    m = lp.LaplaceMechanism(
        sensitivity=sensitivity, epsilon=epsilon, dimension=len(values)
    )
    out = m.release(values, rng=seeded_rng(seed)).value
    assert out.shape == (len(values),)
    assert _grid_ok(out, m.granularity)


@given(
    st.lists(finite, min_size=1, max_size=20), sensitivities, rhos, st.integers(0, 1000)
)
@settings(max_examples=40)
def test_gaussian_outputs_on_grid(values, sensitivity, rho, seed):
    m = lp.GaussianMechanism(sensitivity=sensitivity, rho=rho, dimension=len(values))
    out = m.release(values, rng=seeded_rng(seed)).value
    assert _grid_ok(out, m.granularity)


# Monotone scales: more sensitivity never less noise; more budget never more.


def _factories():
    return {
        "laplace": (lambda s, e: lp.LaplaceMechanism(sensitivity=s, epsilon=e), 100),
        "geometric": (
            lambda s, e: lp.GeometricMechanism(sensitivity=s, epsilon=e),
            100,
        ),
        "gaussian-zcdp": (lambda s, e: lp.GaussianMechanism(sensitivity=s, rho=e), 100),
        "dgauss-zcdp": (
            lambda s, e: lp.DiscreteGaussianMechanism(sensitivity=s, rho=e),
            100,
        ),
        "gaussian-approx": (
            lambda s, e: lp.GaussianMechanism(sensitivity=s, epsilon=e, delta=1e-6),
            15,
        ),
        "dgauss-approx": (
            lambda s, e: lp.DiscreteGaussianMechanism(
                sensitivity=s, epsilon=e, delta=1e-6
            ),
            15,
        ),
    }


@pytest.mark.parametrize("kind", sorted(_factories()))
def test_scale_monotone(kind):
    make, examples = _factories()[kind]
    ratio = st.floats(min_value=1.0 + 1e-6, max_value=8.0)
    budget = epsilons if "approx" in kind or kind in ("laplace", "geometric") else rhos
    sens = (
        st.floats(min_value=0.01, max_value=1e3)
        if "approx" not in kind
        else st.floats(min_value=0.5, max_value=20.0)
    )

    @given(sens, ratio, budget, ratio)
    @settings(max_examples=examples, deadline=None)
    def check(s, rs, e, re):
        assume(e * re <= 5.0)
        base = make(s, e).scale
        assert make(s * rs, e).scale >= base, "more sensitivity gave less noise"
        assert make(s, e * re).scale <= base, "more budget gave more noise"

    check()


# Accuracy: the half-width is the smallest valid one (fixed scales, 20k draws).

N_DRAWS = 20_000
LEVEL = 0.95


@pytest.mark.statistical
@pytest.mark.parametrize(
    ("make", "unit_of"),
    [
        (
            lambda: lp.GeometricMechanism(
                sensitivity=1, epsilon=0.5, dimension=N_DRAWS
            ),
            lambda m: 1.0,
        ),
        (
            lambda: lp.GeometricMechanism(
                sensitivity=1, epsilon=3.0, dimension=N_DRAWS
            ),
            lambda m: 1.0,
        ),
        (
            lambda: lp.DiscreteGaussianMechanism(
                sensitivity=1, rho=2.0, dimension=N_DRAWS
            ),
            lambda m: 1.0,
        ),
        (
            lambda: lp.DiscreteGaussianMechanism(
                sensitivity=1, rho=0.01, dimension=N_DRAWS
            ),
            lambda m: 1.0,
        ),
        (
            lambda: lp.LaplaceMechanism(
                sensitivity=1.0, epsilon=1.0, dimension=N_DRAWS
            ),
            lambda m: m.granularity,
        ),
        (
            lambda: lp.GaussianMechanism(sensitivity=1.0, rho=0.5, dimension=N_DRAWS),
            lambda m: m.granularity,
        ),
    ],
    ids=[
        "geometric-0.5",
        "geometric-3",
        "dgauss-rho2",
        "dgauss-rho0.01",
        "laplace",
        "gaussian",
    ],
)
def test_half_width_is_the_empirical_quantile(make, unit_of):
    m = make()
    x = np.zeros(N_DRAWS, dtype=np.int64 if m.integer else np.float64)
    r = m.release(x, rng=seeded_rng(5))
    err = np.abs(np.asarray(r.value, dtype=float))
    lower = stats.binom.ppf(ALPHA, N_DRAWS, LEVEL) / N_DRAWS
    upper = stats.binom.isf(ALPHA, N_DRAWS, LEVEL) / N_DRAWS
    inside = float(np.mean(err <= r.half_width))
    assert inside >= lower, (
        f"coverage {inside:.4f} below {LEVEL} - tolerance; alpha={ALPHA}"
    )
    narrower = float(np.mean(err <= r.half_width - unit_of(m)))
    assert narrower < upper, f"a narrower interval covers {narrower:.4f}; alpha={ALPHA}"
