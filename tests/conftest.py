"""Shared test configuration: hypothesis profiles (fast by default, `thorough` for `make differential`)."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fast",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))
