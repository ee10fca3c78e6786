"""Fixtures of the end-to-end tests: a whole observatory started for one night, and its wall time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.e2e.observatory import NightSettings, Observatory, Survey, start_observatory

WALL_BUDGET_S = 180.0
"""Each night test must take less than this many wall seconds, start-up and shut-down included."""


@pytest.fixture
def observatory(tmp_path: Path) -> Iterator[Callable[..., AbstractContextManager[Observatory]]]:
    """Start the observatory of a night: ``with observatory(NightSettings(...)) as site:``.

    The test fails if the whole night, start-up and shut-down included, took 3 minutes of wall time or more.
    """
    began = time.monotonic()

    def start(settings: NightSettings, survey_every_s: float = 1800.0) -> AbstractContextManager[Observatory]:
        return start_observatory(tmp_path, settings, Survey(every_s=survey_every_s))

    yield start
    elapsed = time.monotonic() - began
    print(f"\nnight test wall time: {elapsed:.1f} s")
    assert elapsed < WALL_BUDGET_S, f"the night took {elapsed:.0f} s of wall time (budget {WALL_BUDGET_S:g} s)"
