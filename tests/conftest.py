import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import loopkit_privacy as lp
from tests._rng import seeded_rng as _seeded_rng

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_addoption(parser):
    parser.addoption(
        "--run-slow", action="store_true", default=False, help="run tests marked slow"
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip_slow = pytest.mark.skip(reason="needs --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["lp"] = lp
    doctest_namespace["np"] = np


@pytest.fixture
def seeded_rng():
    """The factory ``seeded_rng(seed)`` of reproducible sources (tests/_rng.py)."""
    return _seeded_rng


@pytest.fixture
def insecure_rng():
    """One seeded source for reproducible tests (seed 12345)."""
    return _seeded_rng(12345)
