"""The dome: its shutter table, the simulator's motion and faults, and the device service."""

from __future__ import annotations

import math
from typing import Any, Iterator

import pytest

from devices.common import DeviceDisconnected, DeviceFault, DeviceSilent
from devices.dome.service import DomeService, make_driver
from devices.dome.shutter import SHUTTER_COMMANDS, ShutterState, shutter_refusal
from devices.dome.sim import SimulatedDome
from pyros.service import ServiceRuntime
from pyros.testing import wait_until
from tests.unit.device_support import fast_device, run
from tests.unit.test_service_support import call


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def dome() -> tuple[SimulatedDome, FakeTime]:
    t = FakeTime()
    return SimulatedDome(t, t.sleep, rotation_speed_deg_s=4.0, shutter_time_s=40.0, park_azimuth_deg=0.0), t


def test_close_is_accepted_in_every_state_and_open_only_from_rest() -> None:
    assert all("close" in commands for commands in SHUTTER_COMMANDS.values())
    assert shutter_refusal(ShutterState.OPENING, "open") == "the shutter is already opening"
    assert shutter_refusal(ShutterState.OPEN, "stop") == "the shutter cannot stop while open"
    assert shutter_refusal(ShutterState.STOPPED, "open") is None


def test_shutter_travels_in_its_time_and_refuses_a_repeated_open(dome: Any) -> None:
    sim, t = dome
    sim.start_open()
    t.now += 10
    status = sim.status()
    assert status.shutter is ShutterState.OPENING and status.shutter_open_fraction == pytest.approx(0.25)
    with pytest.raises(DeviceFault, match="already opening"):
        sim.start_open()
    t.now += 30
    assert sim.status().shutter is ShutterState.OPEN
    sim.start_close()
    t.now += 20
    sim.stop()  # half closed
    status = sim.status()
    assert status.shutter is ShutterState.STOPPED and status.shutter_open_fraction == pytest.approx(0.5)
    sim.start_close()
    t.now += 20.0001
    assert sim.status().shutter is ShutterState.CLOSED


def test_close_while_opening_reverses_from_where_it_is(dome: Any) -> None:
    sim, t = dome
    sim.start_open()
    t.now += 8  # 20 % open
    sim.start_close()
    t.now += 7.9
    assert sim.status().shutter is ShutterState.CLOSING
    t.now += 0.2
    assert sim.status().shutter is ShutterState.CLOSED


def test_rotation_takes_the_shorter_way_at_its_speed(dome: Any) -> None:
    sim, t = dome
    sim.start_rotation(350.0)  # 10 deg westwards from 0
    t.now += 1.0
    status = sim.status()
    assert status.rotating and status.azimuth_deg == pytest.approx(356.0)
    t.now += 1.5
    status = sim.status()
    assert not status.rotating and status.azimuth_deg == pytest.approx(350.0) and not status.parked
    sim.start_rotation(0.0)
    t.now += 2.5
    assert sim.status().parked
    with pytest.raises(ValueError, match=r"\[0, 360\)"):
        sim.start_rotation(360.0)


def test_faults_silence_latency_wrong_values_disconnect(dome: Any) -> None:
    sim, t = dome
    sim.inject_fault({"fault": "latency", "seconds": 2})
    sim.start_rotation(90.0)
    assert t.slept == [2.0]
    sim.inject_fault({"fault": "silence", "seconds": 30})
    with pytest.raises(DeviceSilent, match="silent for 30 s more"):
        sim.status()
    t.now += 30
    assert sim.status().azimuth_deg == pytest.approx(90.0)  # it kept moving while silent
    sim.inject_fault({"fault": "wrong_value", "property": "azimuth_deg", "value": 12.0})
    assert sim.status().azimuth_deg == 12.0
    sim.inject_fault({"fault": "disconnect"})
    with pytest.raises(DeviceDisconnected):
        sim.stop()
    sim.inject_fault({"fault": "clear"})
    assert sim.status().azimuth_deg == pytest.approx(90.0)
    for bad in ({"fault": "melt"}, {"fault": "silence"}, {"fault": "wrong_value", "property": "x"}, "silence"):
        with pytest.raises(ValueError):
            sim.inject_fault(bad)  # type: ignore[arg-type]


def test_bad_settings_and_drivers_are_refused() -> None:
    with pytest.raises(ValueError, match="rotation_speed_deg_s"):
        SimulatedDome(lambda: 0.0, lambda s: None, rotation_speed_deg_s=0)
    with pytest.raises(ValueError, match="unknown dome driver 'ascom'; available: sim"):
        make_driver("ascom", {})
    with pytest.raises(ValueError, match="dome driver 'sim'"):
        make_driver("sim", {"wheels": 4})


# ------------------------------------------------------------------ the service, on a fast simulated clock


@pytest.fixture
def service() -> Iterator[ServiceRuntime]:
    with fast_device(lambda: DomeService(rotation_speed_deg_s=4.0, shutter_time_s=40.0, poll_s=2.0)) as runtime:
        yield runtime


def test_open_rotate_park_through_the_service(service: ServiceRuntime) -> None:
    opened = run(service, "open")
    assert opened["success"] and opened["result"]["shutter"] == "open"
    assert opened["data"]["shutter_open_fraction"] == 1.0  # the last progress report
    turned = run(service, "rotate", {"azimuth": 120.0})
    assert turned["result"]["azimuth_deg"] == pytest.approx(120.0) and not turned["result"]["rotating"]
    parked = run(service, "park", token="eng")  # safety: no lease needed
    assert parked["success"] and parked["result"]["parked"]
    state = service.service.state.snapshot()
    assert state["parked"] is True and state["shutter"] == "closed" and math.isclose(state["azimuth_deg"], 0.0)


def test_motion_needs_the_lease_and_bad_input_is_refused(service: ServiceRuntime) -> None:
    refused = call(service, "open", token="eng")
    assert refused.error.type == "NoControl"
    assert call(service, "rotate", {"azimuth": 400}, token="maj").error.type == "BadArgument"
    assert call(service, "rotate", {"azimuth": -1}, token="maj").error.type == "BadArgument"
    assert run(service, "rotate", {"azimuth": 360})["result"]["azimuth_deg"] == 0.0  # north, as 0
    assert call(service, "inject_fault", {"fault": {"fault": "melt"}}, token="root").error.type == "BadArgument"
    assert call(service, "inject_fault", {"fault": {"fault": "clear"}}, token="eng").error.type == \
        "AccessDenied"


def test_a_silent_dome_fails_the_operation_with_a_clear_message(service: ServiceRuntime) -> None:
    assert call(service, "inject_fault", {"fault": {"fault": "silence", "seconds": 3600}}, token="root").ok
    outcome = run(service, "close", token="eng")
    assert not outcome["success"] and "DeviceSilent" in outcome["message"] and "does not answer" in outcome["message"]
    failed = call(service, "position")
    assert failed.error.type == "DeviceSilent"


def test_a_scenario_delivers_faults_at_their_times(service: ServiceRuntime, tmp_path: Any) -> None:
    path = tmp_path / "faults.json"
    path.write_text('[4000, {"time": 400, "dome": {"fault": "silence", "seconds": 800}},'
                    ' {"time": 10, "telescope": {"fault": "disconnect"}}]')
    assert call(service, "scenario", {"path": str(path)}, token="eng").error.type == "AccessDenied"
    loaded = call(service, "scenario", {"path": str(path)}, token="root").data
    assert loaded["events"] == 1 and loaded["duration_s"] == 4000  # the telescope's entry is not the dome's
    assert call(service, "position").ok  # before 400 s of observatory time (1 s of wall time at 400x)
    wait_until(lambda: not call(service, "position").ok, timeout=30, what="the silence from the scenario")
    assert call(service, "position").error.type == "DeviceSilent"
    bad = tmp_path / "bad.json"
    bad.write_text('[100, {"time": 1, "dome": {"open": true}}]')
    refused = call(service, "scenario", {"path": str(bad)}, token="root").error
    assert refused.type == "BadArgument" and "entry 1: the action for dome must be" in refused.message
