"""The user simulator: submits request files at the times a scenario gives (seed 000, section 10.4).

Its scenario entries name a request file, relative to the scenario's directory
(or absolute)::

    [600, {"time": 1, "userSimulator": "m31_deep.xml"},
          {"time": 30, "userSimulator": {"file": "grb_followup.xml", "user": "bruno"}}]

Each event is submitted once, when the observatory clock reaches the
scenario's start plus its time; what the ``requests`` service answers
(accepted or refused, and why) is recorded and logged, and a refusal never
stops the simulation.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyros.clock import Clock
from pyros.simulation.scenario import Scenario, ScenarioError, ScenarioEvent

log = logging.getLogger(__name__)

SIMULATOR_NAME = "userSimulator"
"""The name the scenario entries use."""

Submit = Callable[[str, "str | None"], Any]
"""``submit(document, user_or_None) -> reply data``; raises on refusal."""


@dataclass(frozen=True)
class Submission:
    """What became of one scenario event.

    Attributes:
        time_s: The event's time in the scenario.
        file: The request file.
        user: Whom it was submitted for (None: the submitter's own principal).
        ok: Whether the service accepted it.
        outcome: The reply data, or the error message.
    """

    time_s: float
    file: str
    user: str | None
    ok: bool
    outcome: Any


def _what(event: ScenarioEvent, directory: Path) -> tuple[Path, str | None]:
    action = event.action
    if isinstance(action, str):
        name, user = action, None
    elif isinstance(action, dict) and isinstance(action.get("file"), str) and \
            isinstance(action.get("user", ""), (str, type(None))):
        name, user = action["file"], action.get("user")
    else:
        raise ScenarioError(f"entry {event.entry}: a {SIMULATOR_NAME} action is a file name or "
                            "{\"file\": ..., \"user\": ...}")
    path = Path(name)
    return (path if path.is_absolute() else directory / path), user


class UserSimulator:
    """Submit the scenario's request files on time.

    Args:
        scenario: The scenario (only its ``userSimulator`` events are used).
        directory: Where relative file names are found.
        submit: Sends one request document (e.g. to the ``requests`` service).
        clock: The observatory clock.
        start: Observatory instant of the scenario's time 0 (default: now).

    Raises:
        ScenarioError: If an event names no file, or a file does not exist.
    """

    def __init__(self, scenario: Scenario, directory: Path, submit: Submit, clock: Clock,
                 start: float | None = None) -> None:
        self.events = [(event, *_what(event, directory)) for event in scenario.for_simulator(SIMULATOR_NAME).events]
        missing = [str(path) for _, path, _ in self.events if not path.is_file()]
        if missing:
            raise ScenarioError(f"request files not found: {', '.join(missing)}")
        self._submit = submit
        self._clock = clock
        self.start = clock.now() if start is None else start
        self.submissions: list[Submission] = []
        self._stop = threading.Event()

    def run(self) -> list[Submission]:
        """Submit every event at its time (blocking); return what became of each."""
        for event, path, user in self.events:
            wall_wait = self._clock.wall_delay(self.start + event.time_s - self._clock.now())
            if wall_wait > 0 and self._stop.wait(wall_wait):
                break
            try:
                outcome = self._submit(path.read_text(encoding="utf-8"), user)
                submission = Submission(event.time_s, str(path), user, True, outcome)
                log.info("t=%g s: %s submitted", event.time_s, path.name)
            except Exception as exc:  # noqa: BLE001 - a refused request is an outcome, not the end of the run
                submission = Submission(event.time_s, str(path), user, False, str(exc))
                log.warning("t=%g s: %s refused: %s", event.time_s, path.name, exc)
            self.submissions.append(submission)
        return self.submissions

    def stop(self) -> None:
        """Stop waiting for the next event (from another thread or a signal handler)."""
        self._stop.set()
