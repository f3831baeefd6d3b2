"""Whole releases: validation, grid rounding, noise and the result array."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

import loopkit_privacy._kernels
from benchmarks import MECHANISM_SIZE, SELECTION_CANDIDATES
from loopkit_privacy.mechanisms import (
    ExponentialMechanism,
    GeometricMechanism,
    LaplaceMechanism,
)
from loopkit_privacy.random import SecureRandom


class LaplaceRelease:
    """LaplaceMechanism.release of a float array (granular discrete Laplace)."""

    params: ClassVar[list] = [[MECHANISM_SIZE]]
    param_names: ClassVar[list[str]] = ["size"]

    def setup(self, size):
        loopkit_privacy._kernels.warmup()
        self.rng = SecureRandom()
        self.values = np.linspace(0.0, 1000.0, size)
        self.mechanism = LaplaceMechanism(sensitivity=1.0, epsilon=1.0, dimension=size)

    def time_release(self, size):
        self.mechanism.release(self.values, rng=self.rng)

    def peakmem_release(self, size):
        self.mechanism.release(self.values, rng=self.rng)


class GeometricRelease:
    """GeometricMechanism.release of an int64 array (exact discrete Laplace)."""

    params: ClassVar[list] = [[MECHANISM_SIZE]]
    param_names: ClassVar[list[str]] = ["size"]

    def setup(self, size):
        loopkit_privacy._kernels.warmup()
        self.rng = SecureRandom()
        self.values = np.arange(size, dtype=np.int64)
        self.mechanism = GeometricMechanism(sensitivity=1, epsilon=1.0, dimension=size)

    def time_release(self, size):
        self.mechanism.release(self.values, rng=self.rng)


class ExponentialSelect:
    """ExponentialMechanism.select over a fixed list of candidate scores."""

    params: ClassVar[list] = [
        [SELECTION_CANDIDATES],
        ["exponential", "permute_and_flip"],
    ]
    param_names: ClassVar[list[str]] = ["candidates", "method"]

    def setup(self, candidates, method):
        loopkit_privacy._kernels.warmup()
        self.rng = SecureRandom()
        self.scores = np.linspace(0.0, 50.0, candidates)
        self.mechanism = ExponentialMechanism(
            sensitivity=1.0, epsilon=1.0, method=method
        )
        # warmup() does not compile the selection kernels; do it here so the
        # first timed call is not a compile.
        self.mechanism.select(self.scores[:2], rng=self.rng)

    def time_select(self, candidates, method):
        self.mechanism.select(self.scores, rng=self.rng)
