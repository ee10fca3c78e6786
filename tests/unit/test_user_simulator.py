"""The user simulator submits each scenario file on time, records refusals, and checks its files first."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from pyros.clock import Clock
from pyros.simulation import ScenarioError, UserSimulator, load_scenario


def write_scenario(directory: Path, entries: list[Any], duration: float = 100.0) -> Path:
    (directory / "a.xml").write_text("<request>a</request>")
    (directory / "b.xml").write_text("<request>b</request>")
    path = directory / "scenario.json"
    path.write_text(json.dumps([duration, *entries]))
    return path


def test_files_are_submitted_at_their_times_and_refusals_recorded(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, [{"time": 20, "userSimulator": {"file": "b.xml", "user": "bruno"}},
                                     {"time": 10, "userSimulator": "a.xml"},
                                     {"time": 5, "plcSimulator": {"device_name": "WXT520"}}])
    clock = Clock.simulated(start=1_780_279_200.0, speed=1000.0)
    seen: list[tuple[float, str, str | None]] = []

    def submit(document: str, user: str | None) -> Any:
        seen.append((clock.now(), document, user))
        if user == "bruno":
            raise RuntimeError("QuotaExceeded: no hours left")
        return {"id": 1, "status": "accepted"}

    simulator = UserSimulator(load_scenario(path), tmp_path, submit, clock, start=clock.now())
    submissions = simulator.run()
    assert [(s.file.endswith("a.xml"), s.ok) for s in submissions] == [(True, True), (False, False)]
    assert submissions[1].outcome == "QuotaExceeded: no hours left" and submissions[1].user == "bruno"
    assert [doc for _, doc, _ in seen] == ["<request>a</request>", "<request>b</request>"]
    start = simulator.start
    assert seen[0][0] - start >= 10.0 and seen[1][0] - start >= 20.0


def test_missing_files_and_bad_actions_are_refused_before_anything_is_sent(tmp_path: Path) -> None:
    clock = Clock.simulated(start=1_780_279_200.0, speed=1000.0)
    missing = write_scenario(tmp_path, [{"time": 1, "userSimulator": "nowhere.xml"}])
    with pytest.raises(ScenarioError, match="request files not found: .*nowhere.xml"):
        UserSimulator(load_scenario(missing), tmp_path, lambda d, u: None, clock)
    bad = write_scenario(tmp_path, [{"time": 1, "userSimulator": {"name": "a.xml"}}])
    with pytest.raises(ScenarioError, match="entry 1: a userSimulator action is a file name"):
        UserSimulator(load_scenario(bad), tmp_path, lambda d, u: None, clock)


def test_stop_ends_the_wait(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, [{"time": 3600, "userSimulator": "a.xml"}], duration=7200)
    simulator = UserSimulator(load_scenario(path), tmp_path, lambda d, u: pytest.fail("submitted"),
                              Clock.simulated(start=1_780_279_200.0, speed=1.0))
    timer = threading.Timer(0.1, simulator.stop)
    timer.start()
    assert simulator.run() == []
    timer.join()
