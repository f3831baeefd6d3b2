"""Throughput of the exact samplers and of the secure word source.

``time_numpy_laplace_baseline`` is numpy's floating-point, *insecure* sampler
on the same size, so the ratio to the secure samplers comes from one run.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

import loopkit_privacy._kernels
from benchmarks import NOISE_SCALE, NOISE_SIZES, SLOW_SIZE, skip_slow
from loopkit_privacy import noise
from loopkit_privacy.random import SecureRandom


class SampleNoise:
    params: ClassVar[list] = [NOISE_SIZES]
    param_names: ClassVar[list[str]] = ["size"]

    def setup(self, size):
        if size >= SLOW_SIZE:
            skip_slow()
        loopkit_privacy._kernels.warmup()
        self.rng = SecureRandom()
        self.numpy_rng = np.random.default_rng(0)
        lap = noise.discrete_laplace_parameters(NOISE_SCALE)
        self.laplace_params = (
            np.array([lap.t], dtype=np.int64),
            np.array([lap.m], dtype=np.int64),
        )
        dg = noise.discrete_gaussian_parameters(NOISE_SCALE)
        self.gaussian_params = tuple(
            np.array([v], dtype=np.int64) for v in (dg.t, dg.c, dg.k)
        )

    def time_discrete_laplace(self, size):
        noise.sample_discrete_laplace(NOISE_SCALE, size=size, rng=self.rng)

    def time_discrete_gaussian(self, size):
        noise.sample_discrete_gaussian(NOISE_SCALE, size=size, rng=self.rng)

    def time_secure_words(self, size):
        self.rng.words(size)

    def time_numpy_laplace_baseline(self, size):
        self.numpy_rng.laplace(0.0, NOISE_SCALE, size=size)

    def track_words_per_sample_laplace(self, size):
        _, used = noise.draw("laplace", self.laplace_params, size, self.rng)
        return used / size

    track_words_per_sample_laplace.unit = "words/sample"

    def track_words_per_sample_gaussian(self, size):
        _, used = noise.draw("gaussian", self.gaussian_params, size, self.rng)
        return used / size

    track_words_per_sample_gaussian.unit = "words/sample"

    def peakmem_discrete_laplace(self, size):
        noise.sample_discrete_laplace(NOISE_SCALE, size=size, rng=self.rng)
