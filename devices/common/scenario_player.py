"""Delivering a scenario's fault events to a simulated device at their times.

A device's entries in a scenario file (``{"time": 120, "dome": {"fault": "silence",
"seconds": 30}}``) are checked when the scenario is loaded, then applied by a
thread at ``start + time`` on the observatory clock through the driver's
``inject_fault``. Loading another scenario, or stopping the service, stops it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from devices.common.faults import FAULT_KINDS
from pyros.clock import Clock
from pyros.simulation.scenario import Scenario, ScenarioError, ScenarioEvent

log = logging.getLogger(__name__)


def fault_events(scenario: Scenario, device: str) -> tuple[ScenarioEvent, ...]:
    """The scenario's events for ``device``, each checked to be a fault description.

    Raises:
        ScenarioError: naming the entry whose action is not ``{"fault": <kind>, ...}``.
    """
    events = scenario.for_simulator(device).events
    for event in events:
        action = event.action
        if not isinstance(action, Mapping) or action.get("fault") not in FAULT_KINDS:
            raise ScenarioError(f"entry {event.entry}: the action for {device} must be {{\"fault\": one of "
                                f"{', '.join(FAULT_KINDS)}, ...}}, got {action!r}"[:300])
    return events


class ScenarioPlayer:
    """Applies fault events to a device at their times, in a daemon thread.

    Args:
        events: The device's events (see :func:`fault_events`).
        inject: The driver's ``inject_fault``.
        clock: The observatory clock.
        start: Observatory instant of the scenario's time 0.
    """

    def __init__(self, events: tuple[ScenarioEvent, ...], inject: Callable[[Any], None], clock: Clock,
                 start: float) -> None:
        self.events = events
        self._inject = inject
        self._clock = clock
        self.start = start
        self.applied = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scenario-player", daemon=True)

    def begin(self) -> ScenarioPlayer:
        """Start delivering; return self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop delivering (events not yet due are dropped)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        for event in self.events:
            wait = self._clock.wall_delay(self.start + event.time_s - self._clock.now())
            if wait > 0 and self._stop.wait(wait):
                return
            try:
                self._inject(dict(event.action))
                self.applied += 1
            except ValueError as exc:  # checked at load time; a driver may still refuse its values
                log.warning("scenario entry %d refused: %s", event.entry, exc)
