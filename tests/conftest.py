"""Shared pytest configuration.

``PYROS_REQUIRE_ALL=1`` (set by ``.ci/run``) turns every skip into a failure,
so CI cannot pass while a test that needs a missing binary was skipped.
"""

from __future__ import annotations

import os
from typing import Iterator

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=10_000, deadline=None)
settings.register_profile("dev", max_examples=1_000, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") or os.environ.get("PYROS_REQUIRE_ALL") == "1" else "dev")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Turn a skip into a failure when every part is required (xfail is left alone)."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get("PYROS_REQUIRE_ALL") == "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped while PYROS_REQUIRE_ALL=1 (a required part is missing): {reason}"
