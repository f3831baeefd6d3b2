"""The one seeded randomness source of the test suite.

Tests that compare exact values need the same random words on every run, so
they use ``seeded_rng(seed)`` with a fixed seed. It is a plain function, not
only a fixture, because hypothesis tests (``@given``) and module-level
parametrizations cannot take function-scoped fixtures; ``conftest.py`` hands
the same function out as the ``seeded_rng`` fixture. That the seeded source
warns (``InsecureRandomnessWarning``) is tested once, in
``tests/unit/test_random.py``; here the warning is expected and silenced.
"""

from __future__ import annotations

import warnings

import loopkit_privacy as lp


def seeded_rng(seed: int) -> lp.random.InsecureSeededRandom:
    """A reproducible (insecure) source seeded with ``seed``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lp.InsecureRandomnessWarning)
        return lp.random.InsecureSeededRandom(seed)
