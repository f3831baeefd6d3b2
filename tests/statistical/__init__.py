"""Statistical tests: samplers and mechanisms against their exact distributions.

Every test fails only when its p-value is below ``ALPHA`` (its false-failure
rate), and every sampler test also checks power: the same sample must be
rejected against the distribution with the scale off by
``SCALE_PERTURBATION`` in either direction.
"""

#: False-failure rate of each statistical assertion.
ALPHA = 1e-6
#: Draws per sampler test (more where stated, to keep the power check sure).
SAMPLE_SIZE = 10**6
#: Relative change of the scale that a sampler test must detect.
SCALE_PERTURBATION = 0.05
