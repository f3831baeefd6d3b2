"""loopkit_privacy: differentially private statistics for product analytics."""
from loopkit_privacy import random
from loopkit_privacy.errors import *  # noqa: F403
