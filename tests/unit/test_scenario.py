"""Scenario files: timed simulator actions, validated with located errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyros.simulation import MAX_SCENARIO_BYTES, ScenarioError, ScenarioEvent, load_scenario

SEED_LIKE = [200,
             {"time": 1, "userSimulator": "routine_request_01.xml"},
             {"time": 80, "plcSimulator": {"device_name": "WXT520", "value_name": "RainRate", "value": 12.0}},
             {"time": 80, "plcSimulator": {"device_name": "VantagePro", "value_name": "RainRate", "value": 12.0}},
             {"time": 0, "dome": {"fault": "silence", "seconds": 5}, "telescope": {"fault": "latency", "s": 0.5}},
             {"time": 90.5, "plcSimulator": {"device_name": "WXT520", "value_name": "RainRate", "value": 0.0}}]


def test_events_sorted_by_time_then_file_order(tmp_path: Path) -> None:
    path = tmp_path / "night.json"
    path.write_text(json.dumps(SEED_LIKE))
    scenario = load_scenario(path)
    assert scenario.duration_s == 200.0
    assert [(e.time_s, e.simulator, e.entry) for e in scenario.events] == [
        (0.0, "dome", 4), (0.0, "telescope", 4), (1.0, "userSimulator", 1), (80.0, "plcSimulator", 2),
        (80.0, "plcSimulator", 3), (90.5, "plcSimulator", 5)]
    assert scenario.simulators == {"dome", "telescope", "userSimulator", "plcSimulator"}
    plc = scenario.for_simulator("plcSimulator")
    assert [e.action["device_name"] for e in plc.events] == ["WXT520", "VantagePro", "WXT520"]


def test_due_gives_each_event_exactly_once_over_consecutive_looks() -> None:
    scenario = load_scenario(json.dumps(SEED_LIKE).encode())
    looks = [-1.0, 0.0, 0.5, 1.0, 79.99, 80.0, 100.0, 200.0]
    seen: list[ScenarioEvent] = []
    for after, until in zip(looks, looks[1:]):
        seen.extend(scenario.due(after, until))
    assert tuple(seen) == scenario.events
    assert scenario.due(80.0, 90.0) == ()


@pytest.mark.parametrize("document, message", [
    ("{", "not valid JSON at line 1, column 2"),
    ("[]", "a scenario is a JSON array"),
    ('{"time": 1}', "a scenario is a JSON array"),
    ('["long"]', "the duration (first element) must be a finite number"),
    ("[-5]", "the duration (first element) must be >= 0 s, got -5"),
    ("[10, 3]", "entry 1 must be an object"),
    ('[10, {"dome": {}}]', 'entry 1 has no "time"'),
    ('[10, {"time": true, "dome": {}}]', 'entry 1 "time" must be a finite number'),
    ('[10, {"time": 11, "dome": {}}]', "entry 1 \"time\" 11 s is after the scenario's end (10 s)"),
    ('[10, {"time": 1}]', "entry 1 names no simulator"),
    ('[10, {"time": 1, "dome": 1}, {"time": 2, "no spaces": 1}]', "entry 2: 'no spaces' is not a simulator name"),
    ('[10, {"time": NaN, "dome": 1}]', "NaN is not allowed"),
    ('[Infinity]', "Infinity is not allowed"),
])
def test_problems_name_the_entry_and_what_is_wrong(document: str, message: str) -> None:
    with pytest.raises(ScenarioError, match="^scenario: ") as raised:
        load_scenario(document.encode())
    assert message in str(raised.value)


def test_unreadable_oversized_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot be read"):
        load_scenario(tmp_path / "missing.json")
    big = tmp_path / "big.json"
    big.write_bytes(b"[1" + b" " * MAX_SCENARIO_BYTES + b"]")
    with pytest.raises(ScenarioError, match="larger than"):
        load_scenario(big)
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(b"[1, \xff]")
