"""The PLC simulator: deterministic evolution, scenario events at their times, faults, switching."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devices.common import DeviceDisconnected, DeviceSilent
from devices.plc import InvalidPlcStatus, normalise_status
from devices.plc.sim import SAMPLE_STATUS, SimulatedPlc
from devices.plc.smooth_noise import SmoothNoise
from devices.plc.weather_model import WeatherModel, compass_point, saturation_ratio
from pyros.simulation import ScenarioError

START = 1_780_279_200.0  # 2026-06-01T02:00:00Z


class FakeTime:
    def __init__(self) -> None:
        self.now = START
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def make(t: FakeTime, **options: Any) -> SimulatedPlc:
    return SimulatedPlc(t, t.sleep, longitude_deg=-115.46, **options)


def scenario_file(tmp_path: Path, document: list[Any]) -> Path:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(document))
    return path


def weather(sim: SimulatedPlc) -> dict[str, Any]:
    return {q.value: r.value for q, r in sim.read_status().weather().items()}


def test_it_starts_from_the_sample_with_the_clock_as_date() -> None:
    t = FakeTime()
    status = make(t).read_status()
    sample = normalise_status(SAMPLE_STATUS.read_bytes())
    assert status.date.timestamp() == START
    assert [d.name for d in status.devices] == [d.name for d in sample.devices]
    assert status.device("WXT520").value("OutsideTemp").value != sample.device("WXT520").value("OutsideTemp").value
    assert abs(status.outside_temperature().value - sample.outside_temperature().value) < 10  # type: ignore[union-attr]


def test_the_evolution_depends_only_on_seed_and_time() -> None:
    t1, t2, t3 = FakeTime(), FakeTime(), FakeTime()
    a, b, other = make(t1, seed=7), make(t2, seed=7), make(t3, seed=8)
    a_values = []
    for step in range(0, 7200, 600):  # b is read only at the end, a every 10 minutes
        t1.now = START + step
        a_values.append(a.read_status().to_dict()["device"])
    t2.now = t3.now = START + 6600
    assert b.read_status().to_dict()["device"] == a_values[-1]
    assert other.read_status().to_dict()["device"] != a_values[-1]
    assert len({json.dumps(v) for v in a_values}) == len(a_values)  # it does change


def test_temperature_follows_a_diurnal_curve_and_stays_plausible() -> None:
    t = FakeTime()
    sim = make(t, seed=3, temperature_swing_c=10.0)
    by_hour = {}
    for minute in range(0, 24 * 60, 10):
        t.now = START + minute * 60
        w = weather(sim)
        assert w["dew_point"] <= w["outside_temperature"] - 0.49
        assert 0 < w["outside_humidity"] <= 100 and w["wind_speed"] >= 0 and 0 <= w["wind_direction"] < 360
        local_hour = ((t.now / 3600.0) - 115.46 / 15.0) % 24
        by_hour[round(local_hour, 3)] = w["outside_temperature"]
    afternoon = [v for h, v in by_hour.items() if 13 <= h <= 17]
    before_dawn = [v for h, v in by_hour.items() if 1 <= h <= 5]
    assert min(afternoon) > max(before_dawn)


def test_model_helpers() -> None:
    assert saturation_ratio(10.0, 10.0) == pytest.approx(100.0)
    assert 40 < saturation_ratio(20.0, 6.0) < 45
    assert compass_point(202.5) == "SSW" and compass_point(359.0) == "N" and compass_point(90) == "E"
    import random
    noise = SmoothNoise(random.Random(1), 2.0, 100.0, 1000.0)
    samples = [noise(START + i * 37.0) for i in range(2000)]
    assert 1.0 < (sum(s * s for s in samples) / len(samples)) ** 0.5 < 3.0
    with pytest.raises(ValueError, match="periods"):
        SmoothNoise(random.Random(1), 1.0, 10.0, 5.0)
    with pytest.raises(ValueError, match="longitude_deg"):
        WeatherModel(longitude_deg=200.0)


def test_scenario_events_happen_at_their_times(tmp_path: Path) -> None:
    t = FakeTime()
    sim = make(t)
    path = scenario_file(tmp_path, [600,
                                    {"time": 2, "plcSimulator": {"device_name": "WXT520", "value_name": "RainRate",
                                                                 "value": 12.0}},
                                    {"time": 100, "plc": {"device_name": "VantagePro", "valid": False}},
                                    {"time": 200, "plc": {"device_name": "WXT520", "value_name": "RainRate",
                                                          "value": None}},
                                    {"time": 300, "dome": {"fault": "disconnect"}}])
    loaded = sim.load_scenario(path)
    assert len(loaded.events) == 3  # the dome's event is not the PLC's
    t.now = START + 1.9
    assert sim.read_status().rain_rate().value == 0.0  # type: ignore[union-attr]
    t.now = START + 2.0
    status = sim.read_status()
    assert status.rain_rate().value == 12.0 and status.rain_detector().rain_detected is True  # type: ignore[union-attr]
    assert status.device("DRD11").value("analog").value < 2.5
    t.now = START + 150
    status = sim.read_status()
    assert status.device("VantagePro").valid is False and status.device("WXT520").valid is True
    t.now = START + 250
    status = sim.read_status()
    assert status.rain_rate().value == 0.0 and status.rain_detector().rain_detected is False  # type: ignore[union-attr]
    t.now = START + 400
    sim.read_status()  # the dome's disconnect does not reach the PLC


def test_a_scenario_fault_runs_from_its_own_time_even_if_read_late(tmp_path: Path) -> None:
    t = FakeTime()
    sim = make(t)
    sim.load_scenario(scenario_file(tmp_path, [100, {"time": 10, "plc": {"fault": "silence", "seconds": 30}}]))
    t.now = START + 35  # first look after the event: silent for 5 s more
    with pytest.raises(DeviceSilent, match="5 s more"):
        sim.read_status()
    t.now = START + 40
    sim.read_status()


def test_a_scenario_given_at_start_can_count_from_a_fixed_instant(tmp_path: Path) -> None:
    """``scenario_start`` pins the scenario's times to observatory instants, whenever the simulator starts."""
    t = FakeTime()
    t.now = START + 500.0  # the service started late
    path = scenario_file(tmp_path, [3600, {"time": 600, "plc": {"device_name": "WXT520", "value_name": "RainRate",
                                                                 "value": 4.0}}])
    sim = make(t, scenario=path, scenario_start="2026-06-01T02:00:00Z")
    t.now = START + 599.0
    assert sim.read_status().rain_rate().value == 0.0  # type: ignore[union-attr]
    t.now = START + 600.0
    assert sim.read_status().rain_rate().value == 4.0  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="invalid instant 'dusk'"):
        make(t, scenario=path, scenario_start="dusk")
    with pytest.raises(ValueError, match="scenario_start is given without a scenario"):
        make(t, scenario_start=START)


@pytest.mark.parametrize(("action", "message"), [
    ({"device_name": "WXT999", "value_name": "RainRate", "value": 1.0}, "unknown PLC device 'WXT999'.*WXT520"),
    ({"device_name": "WXT520", "value_name": "Snow", "value": 1.0}, "WXT520 has no value 'Snow'.*RainRate"),
    ({"device_name": "WXT520", "value_name": "RainRate", "value": "lots"}, "RainRate cannot read 'lots'"),
    ({"device_name": "WXT520", "value_name": "RainRate", "value": 5000.0}, "RainRate cannot read 5000"),
    ({"device_name": "WXT520", "valid": "no"}, "must be true or false"),
    ({"fault": "melt"}, "unknown fault 'melt'"),
    ({"device": "WXT520"}, "a PLC action is one of"),
    ("rain", "a PLC action is an object"),
])
def test_bad_scenario_actions_are_refused_naming_the_entry(tmp_path: Path, action: Any, message: str) -> None:
    sim = make(FakeTime())
    with pytest.raises(ValueError, match=f"entry 1 \\(plc\\): .*{message}"):
        sim.load_scenario(scenario_file(tmp_path, [10, {"time": 1, "plc": action}]))
    with pytest.raises(ScenarioError, match="not valid JSON"):
        (tmp_path / "bad.json").write_text("[10, {")
        sim.load_scenario(tmp_path / "bad.json")


def test_faults_latency_silence_disconnect_wrong_values() -> None:
    t = FakeTime()
    sim = make(t)
    sim.inject_fault({"fault": "latency", "seconds": 2})
    assert sim.read_status().date.timestamp() == START + 2 and t.slept == [2.0]
    sim.inject_fault({"fault": "clear"})
    sim.inject_fault({"fault": "silence", "seconds": 30})
    with pytest.raises(DeviceSilent):
        sim.read_status()
    with pytest.raises(DeviceSilent):
        sim.switch("PDU", "cam_nir", True)
    t.now += 30
    sim.read_status()
    sim.inject_fault({"fault": "wrong_value", "property": "WXT520/RainRate", "value": 3.5})
    assert sim.read_status().rain_rate().value == 3.5  # type: ignore[union-attr]
    sim.inject_fault({"fault": "wrong_value", "property": "WXT520/OutsideHumidity", "value": 140.0})
    with pytest.raises(InvalidPlcStatus, match=r"device\[0\]\.values\[1\]\.value"):
        sim.read_status()
    sim.inject_fault({"fault": "wrong_value", "property": "WXT520/OutsideHumidity", "value": "wet"})
    with pytest.raises(InvalidPlcStatus, match="must be a int or float"):
        sim.read_status()
    sim.inject_fault({"fault": "disconnect"})
    with pytest.raises(DeviceDisconnected):
        sim.read_status()
    sim.inject_fault({"fault": "clear"})
    assert sim.read_status().rain_rate().value == 0.0  # type: ignore[union-attr]


def test_switching_lamps_and_power_changes_the_status() -> None:
    t = FakeTime()
    sim = make(t)
    assert sim.switches() == {"LAMP_FLAT_CAGIRE": ("status",), "LAMP_FLAT_DDRAGO": ("status",),
                              "PDU": ("telescope", "dome", "cam_vis", "cam_nir", "lamps")}
    before = {lamp.name: (lamp.on, lamp.current_a) for lamp in sim.read_status().lamps()}
    assert before == {"LAMP_FLAT_CAGIRE": (False, 0.0), "LAMP_FLAT_DDRAGO": (True, 0.234)}
    sim.switch("lamp flat cagire", "status", True)
    sim.switch("LAMP_FLAT_DDRAGO", "status", False)
    sim.switch("pdu", "CAM_NIR", True)
    status = sim.read_status()
    assert {lamp.name: (lamp.on, lamp.current_a) for lamp in status.lamps()} == \
        {"LAMP_FLAT_CAGIRE": (True, 0.25), "LAMP_FLAT_DDRAGO": (False, 0.0)}
    assert {(s.switch, s.on) for s in status.power_switches()} >= {("cam_nir", True), ("telescope", True)}
    with pytest.raises(ValueError, match="no switchable device 'WXT520'.*LAMP_FLAT_CAGIRE, LAMP_FLAT_DDRAGO, PDU"):
        sim.switch("WXT520", "status", True)
    with pytest.raises(ValueError, match="PDU has no switch 'heater'.*telescope, dome, cam_vis, cam_nir, lamps"):
        sim.switch("PDU", "heater", True)
    with pytest.raises(ValueError, match="on must be true or false"):
        sim.switch("PDU", "dome", 1)  # type: ignore[arg-type]


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be read"):
        make(FakeTime(), status_file=tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"name": "STATUS"}')
    with pytest.raises(ValueError, match="bad.json: invalid PLC status"):
        make(FakeTime(), status_file=tmp_path / "bad.json")
    with pytest.raises(ValueError, match="lamp_current_a"):
        make(FakeTime(), lamp_current_a=0)
    with pytest.raises(ValueError, match="temperature_swing_c"):
        make(FakeTime(), temperature_swing_c=-1)
