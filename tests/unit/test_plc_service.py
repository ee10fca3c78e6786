"""The PLC's device service on a fast simulated clock: commands, the poll's publishing, staleness, recovery."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from devices.plc.service import PlcService, make_driver
from devices.plc.weather_publisher import WeatherPublisher, quantity_key
from pyros.service import ServiceRuntime
from pyros.testing import wait_until
from tests.unit.device_support import fast_device
from tests.unit.test_service_support import call


class Recorder:
    """A K/V publisher stand-in: remembers every value set, by key."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[str, Any] = {}
        self.history: list[tuple[str, Any]] = []

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        with self.lock:
            self.values[key] = value
            self.history.append((key, value))

    def get(self, key: str) -> Any:
        with self.lock:
            return self.values.get(key)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def service(recorder: Recorder) -> Iterator[ServiceRuntime]:
    def make() -> PlcService:
        plc = PlcService(poll_s=10.0, seed=5)
        plc.on_kv_publisher(recorder)  # type: ignore[arg-type]
        return plc
    with fast_device(make, speed=200.0) as runtime:
        yield runtime


def test_read_and_weather(service: ServiceRuntime) -> None:
    status = call(service, "read", token="eng")
    assert status.ok and status.data["name"] == "STATUS" and len(status.data["device"]) == 8
    weather = call(service, "weather").data
    assert weather["rain_rate"] == {"value": 0.0, "unit": "mm/h", "sensor": "WXT520", "valid": True,
                                    "age_s": weather["rain_rate"]["age_s"], "stale": False}
    assert 0 <= weather["rain_rate"]["age_s"] < 200  # read just now: well under 1 s of wall time at 200x
    assert weather["outside_temperature"]["unit"] == "degC" and "inside_temperature" in weather


def test_the_poll_publishes_weather_and_device_state(service: ServiceRuntime, recorder: Recorder) -> None:
    temperature_key = "/device/plc/weather/outside_temperature"
    wait_until(lambda: sum(k == temperature_key for k, _ in list(recorder.history)) >= 3,
               timeout=20, what="three polls published")
    entry = recorder.get("/device/plc/weather/wind_speed")
    assert set(entry) == {"value", "unit", "sensor", "valid", "age_s", "stale"} and entry["valid"] is True
    assert recorder.get("/device/plc/weather/inside_humidity")["unit"] == "percent"
    assert recorder.get("/device/plc/valid") is True and recorder.get("/device/plc/error") is None
    assert recorder.get("/device/plc/status_time").endswith("Z")
    assert recorder.get("/device/plc/lamps") == {"LAMP_FLAT_CAGIRE": False, "LAMP_FLAT_DDRAGO": True}
    assert recorder.get("/device/plc/power")["PDU"]["cam_nir"] is False
    temperatures = [v["value"] for k, v in list(recorder.history) if k == temperature_key]
    assert len(set(temperatures)) > 1  # it evolves from poll to poll


def test_switch_needs_the_lease_and_names_the_choices(service: ServiceRuntime, recorder: Recorder) -> None:
    assert call(service, "switch", {"device": "PDU", "switch": "cam_nir", "on": True}, token="eng").error.type == \
        "NoControl"
    assert call(service, "acquire_control", {"seconds": 600}, token="eng").ok
    done = call(service, "switch", {"device": "PDU", "switch": "cam_nir", "on": True}, token="eng")
    assert done.ok and done.data["status"]["values"][3] == {"name": "cam_nir", "value": True, "unit": "bool",
                                                            "comment": "CAGIRE"}
    lamp = call(service, "switch", {"device": "LAMP_FLAT_CAGIRE", "on": True}, token="eng")
    assert lamp.ok and lamp.data["switch"] == "status"
    assert recorder.get("/device/plc/lamps")["LAMP_FLAT_CAGIRE"] is True
    unknown = call(service, "switch", {"device": "WXT520", "on": True}, token="eng")
    assert unknown.error.type == "BadArgument" and "LAMP_FLAT_CAGIRE, LAMP_FLAT_DDRAGO, PDU" in unknown.error.message
    several = call(service, "switch", {"device": "PDU", "on": True}, token="eng")
    assert several.error.type == "BadArgument" and "telescope, dome, cam_vis, cam_nir, lamps" in several.error.message
    assert call(service, "switch", {"device": "PDU", "switch": "dome", "on": "yes"}, token="eng").error.type == \
        "BadArgument"
    assert call(service, "switch", {"device": "PDU", "switch": "dome", "on": True}).error.type == "AccessDenied"


def test_silence_makes_the_data_stale_then_they_recover(service: ServiceRuntime, recorder: Recorder,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    wait_until(lambda: recorder.get("/device/plc/valid") is True, timeout=20, what="a first good poll")
    assert call(service, "inject_fault", {"fault": {"fault": "silence", "seconds": 120}}, token="root").ok
    assert call(service, "read").error.type == "DeviceSilent"
    wait_until(lambda: (recorder.get("/device/plc/weather/rain_rate") or {}).get("stale") is True,
               timeout=20,
               what="stale quantities")
    entry = recorder.get("/device/plc/weather/rain_rate")
    assert entry["valid"] is False and entry["age_s"] > 30
    assert recorder.get("/device/plc/valid") is False and recorder.get("/device/plc/stale") is True
    assert "DeviceSilent" in recorder.get("/device/plc/error")
    wait_until(lambda: (recorder.get("/device/plc/weather/rain_rate") or {}).get("stale") is False,
               timeout=30,
               what="fresh quantities after the silence")
    assert recorder.get("/device/plc/weather/rain_rate")["valid"] is True
    assert recorder.get("/device/plc/valid") is True
    assert sum("data are stale" in r.getMessage() for r in caplog.records) == 1  # logged once


def test_scenario_command_makes_it_rain(service: ServiceRuntime, tmp_path: Path, recorder: Recorder) -> None:
    path = tmp_path / "rain.json"
    path.write_text(json.dumps([100, {"time": 20, "plcSimulator": {"device_name": "WXT520",
                                                                   "value_name": "RainRate", "value": 12.0}}]))
    assert call(service, "scenario", {"path": str(path)}, token="eng").error.type == "AccessDenied"
    loaded = call(service, "scenario", {"path": str(path)}, token="root")
    assert loaded.ok and loaded.data["events"] == 1 and loaded.data["duration_s"] == 100
    wait_until(lambda: (recorder.get("/device/plc/weather/rain_rate") or {}).get("value") == 12.0,
               timeout=20,
               what="rain published")
    assert recorder.get("/device/plc/weather/rain_detected")["value"] is True
    bad = call(service, "scenario", {"path": str(tmp_path / "missing.json")}, token="root")
    assert bad.error.type == "BadArgument" and "cannot be read" in bad.error.message


def test_publisher_keys_and_bad_settings() -> None:
    assert quantity_key("plc", "rain_rate") == "/device/plc/weather/rain_rate"
    assert quantity_key("plc2", "inside_temperature") == "/device/plc2/weather/inside_temperature"
    with pytest.raises(ValueError, match="unknown quantity 'snow'"):
        quantity_key("plc", "snow")
    with pytest.raises(ValueError, match="device name"):
        WeatherPublisher("a/b")
    assert WeatherPublisher("plc").entries({}, 0.0, 1.0, False) == {}
    with pytest.raises(ValueError, match="unknown PLC driver 'tcp'; available: sim"):
        make_driver("plc", "tcp", {})
    with pytest.raises(ValueError, match="PLC driver 'sim'"):
        make_driver("plc", "sim", {"wheels": 4})
    with pytest.raises(ValueError, match="stale_after_s"):
        PlcService(poll_s=10.0, stale_after_s=5.0)
    with pytest.raises(ValueError, match="prefer"):
        PlcService(prefer="WXT520")  # type: ignore[arg-type]
