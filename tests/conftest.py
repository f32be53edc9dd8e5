"""
Shared fixtures: a fixed timeline and a builder of one pair's log.
"""

from __future__ import annotations

import os

import pytest

from hypothesis import HealthCheck, settings

from timeline import Log


settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
settings.register_profile(
    "ci",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    max_examples=200,
    derandomize=True,
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(name="log")
def _log() -> Log:
    return Log()


@pytest.fixture(name="connected")
def _connected() -> Log:
    """
    A log in which the contact accepted a connection on day 0.
    """
    return Log().inbound("connection_accepted", 0)
