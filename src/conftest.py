"""Doctest set-up for the package's docstring examples.

The examples use the explicit seeded source (``InsecureSeededRandom``) so
that their output is reproducible. Creating one warns, as it should for any
user; the examples show the call without wrapping it in a warning filter,
and the doctests ignore that one warning (every other warning is an error).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from loopkit_privacy.errors import InsecureRandomnessWarning


@pytest.fixture(autouse=True)
def _examples_use_the_seeded_source() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=InsecureRandomnessWarning)
        yield
