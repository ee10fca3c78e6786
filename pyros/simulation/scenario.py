"""Scenario files: what the simulators do, and when, in seconds of observatory time.

A scenario is a JSON array whose first element is its duration in seconds and
whose other elements are timed entries, each naming one or more simulators and
what they should do (ARCHITECTURE.md §7; the seed counted loop iterations, we
count seconds from the scenario's start)::

    [600,
     {"time": 1, "userSimulator": "m31_deep.xml"},
     {"time": 80, "plcSimulator": {"device_name": "WXT520", "value_name": "RainRate", "value": 12.0}},
     {"time": 90, "plcSimulator": {"device_name": "WXT520", "value_name": "RainRate", "value": 0.0}},
     {"time": 120, "dome": {"fault": "silence", "seconds": 30}}]

:func:`load_scenario` validates the whole file and reports the first problem
with the entry's position and key; what each simulator makes of its actions is
its own business (it validates them when it receives them).
"""

from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyros.errors import PyrosError

MAX_SCENARIO_BYTES = 10 * 1024 * 1024
"""Largest scenario file read."""
_SIMULATOR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


class ScenarioError(PyrosError):
    """A scenario file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class ScenarioEvent:
    """One action for one simulator.

    Attributes:
        time_s: Seconds from the scenario's start (observatory time).
        simulator: The simulator it is for (e.g. ``plcSimulator``, ``dome``).
        action: What to do: any JSON value, interpreted by the simulator.
        entry: Position of its entry in the file (1 = the first entry after the duration).
    """

    time_s: float
    simulator: str
    action: Any
    entry: int


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: its duration and its events, by time then file order.

    Attributes:
        duration_s: Length of the scenario in seconds.
        events: Every event, sorted by time; events at the same time keep their file order.
    """

    duration_s: float
    events: tuple[ScenarioEvent, ...]

    @property
    def simulators(self) -> frozenset[str]:
        """The simulators the scenario speaks to."""
        return frozenset(event.simulator for event in self.events)

    def for_simulator(self, simulator: str) -> Scenario:
        """The same scenario with only the events of ``simulator``."""
        return Scenario(self.duration_s, tuple(e for e in self.events if e.simulator == simulator))

    def due(self, after_s: float, until_s: float) -> tuple[ScenarioEvent, ...]:
        """Events with ``after_s < time <= until_s`` (what a simulator must do between two looks).

        Use ``after_s = -1`` (or any negative number) to include the events at time 0.
        """
        times = [event.time_s for event in self.events]
        return self.events[bisect.bisect_right(times, after_s):bisect.bisect_right(times, until_s)]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScenarioError(f"{where} must be a finite number of seconds, got {json.dumps(value)[:40]}")
    if value < 0:
        raise ScenarioError(f"{where} must be >= 0 s, got {value:g}")
    return float(value)


def _parse(text: str, source: str) -> Scenario:
    try:
        document = json.loads(text, parse_constant=lambda name: _reject_constant(name, source))
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(document, list) or not document:
        raise ScenarioError(f"{source}: a scenario is a JSON array [duration_s, {{\"time\": t_s, ...}}, ...]")
    duration = _number(document[0], f"{source}: the duration (first element)")
    events: list[ScenarioEvent] = []
    for entry, item in enumerate(document[1:], start=1):
        where = f"{source}: entry {entry}"
        if not isinstance(item, dict):
            raise ScenarioError(f"{where} must be an object {{\"time\": t_s, \"<simulator>\": action}}")
        if "time" not in item:
            raise ScenarioError(f"{where} has no \"time\"")
        time_s = _number(item["time"], f"{where} \"time\"")
        if time_s > duration:
            raise ScenarioError(f"{where} \"time\" {time_s:g} s is after the scenario's end ({duration:g} s)")
        actions = {key: value for key, value in item.items() if key != "time"}
        if not actions:
            raise ScenarioError(f"{where} names no simulator")
        for simulator, action in actions.items():
            if not _SIMULATOR_NAME.match(simulator):
                raise ScenarioError(f"{where}: {simulator[:40]!r} is not a simulator name (letters, digits, _ . -)")
            events.append(ScenarioEvent(time_s, simulator, action, entry))
    events.sort(key=lambda event: (event.time_s, event.entry))
    return Scenario(duration, tuple(events))


def _reject_constant(name: str, source: str) -> float:
    raise ScenarioError(f"{source}: {name} is not allowed in a scenario (JSON has no such number)")


def load_scenario(source: str | Path | bytes) -> Scenario:
    """Read and validate a scenario.

    Args:
        source: A path to a JSON file, or the JSON document itself as bytes.

    Returns:
        The scenario.

    Raises:
        ScenarioError: naming the file, the entry and what is wrong; also for
            a file that cannot be read or is larger than :data:`MAX_SCENARIO_BYTES`.
    """
    if isinstance(source, bytes):
        data, name = source, "scenario"
    else:
        path = Path(source)
        name = str(path)
        try:
            if path.stat().st_size > MAX_SCENARIO_BYTES:
                raise ScenarioError(f"{name}: larger than {MAX_SCENARIO_BYTES:,} bytes")
            data = path.read_bytes()
        except OSError as exc:
            raise ScenarioError(f"{name}: cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{name}: larger than {MAX_SCENARIO_BYTES:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{name}: not UTF-8 (byte {exc.start})") from None
    return _parse(text, name)
