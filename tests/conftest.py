"""Shared pytest configuration.

``PYROS_REQUIRE_ALL=1`` (set by ``.ci/run``) turns every skip into a failure,
so CI cannot pass while a test that needs a missing binary was skipped.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=10_000, deadline=None)
settings.register_profile("dev", max_examples=1_000, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") or os.environ.get("PYROS_REQUIRE_ALL") == "1" else "dev")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Fail skipped tests when every part is required."""
    if report.skipped and os.environ.get("PYROS_REQUIRE_ALL") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped while PYROS_REQUIRE_ALL=1: {report.longrepr}"
