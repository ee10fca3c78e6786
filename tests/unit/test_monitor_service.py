"""The monitor service in-process, reading a simulated PLC on a fast simulated clock."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from devices.common.device_service import observatory_timing
from devices.plc.sim import SimulatedPlc
from devices.plc.status import PlcStatus
from pyros.clock import Clock, get_clock, parse_instant, set_clock
from pyros.db.engine import Database
from pyros.db.models import EnvironmentSample
from pyros.service import ServiceRuntime
from pyros.testing import wait_until
from servers.monitor import SAFETY_KEY, MonitorService
from tests.unit.device_support import START
from tests.unit.test_service_support import call

HOLD_S = 300.0
SPEED = 100.0
STALE_AFTER_S = 120.0


class Recorder:
    """A K/V publisher stand-in: every value set, by key, and the history of /env/safety."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[str, Any] = {}
        self.safety: list[dict[str, Any]] = []

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        with self.lock:
            self.values[key] = value
            if key == SAFETY_KEY:
                self.safety.append(value)

    def get(self, key: str) -> Any:
        with self.lock:
            return self.values.get(key)


@contextmanager
def running_monitor(tmp_path: Path, reader_of: Callable[[SimulatedPlc], Callable[[], PlcStatus]] | None = None) \
        -> Iterator[tuple[ServiceRuntime, SimulatedPlc, Recorder, str]]:
    """A monitor at 100x reading a simulated PLC (through ``reader_of(plc)`` when given)."""
    previous = get_clock()
    set_clock(Clock.simulated(start=START, speed=SPEED))
    plc = SimulatedPlc(*observatory_timing(), seed=3)
    recorder = Recorder()
    url = f"sqlite:///{tmp_path / 'history.db'}"
    # stale and silent limits generous for 100x (a read of the simulator takes about 2 observatory seconds)
    monitor = MonitorService(hold_s=HOLD_S, hold_at_start=False, history_every_s=60.0, database=url,
                             stale_after_s=STALE_AFTER_S, silent_after_s=60.0,
                             reader=plc.read_status if reader_of is None else reader_of(plc))
    monitor.on_kv_publisher(recorder)  # type: ignore[arg-type]
    runtime = ServiceRuntime(monitor)
    runtime.start()
    try:
        yield runtime, plc, recorder, url
    finally:
        runtime.close()
        set_clock(previous)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[ServiceRuntime, SimulatedPlc, Recorder, str]]:
    with running_monitor(tmp_path) as running:
        yield running


def scenario(tmp_path: Path, name: str, value: float | None) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps([10, {"time": 0, "plcSimulator": {"device_name": "WXT520", "value_name": "RainRate",
                                                                 "value": value}}]))
    return path


def safety(recorder: Recorder) -> dict[str, Any]:
    return recorder.get(SAFETY_KEY) or {}


def test_rain_makes_the_site_unsafe_at_once_and_safe_after_the_hold(
        site: tuple[ServiceRuntime, SimulatedPlc, Recorder, str], tmp_path: Path) -> None:
    runtime, plc, recorder, _ = site
    wait_until(lambda: safety(recorder).get("safe") is True, timeout=20, what="a safe site (no hold at start)")
    assert recorder.get("/env/weather/rain_rate")["meaning"] == "dry"
    assert recorder.get("/env/site/power") == {**recorder.get("/env/site/power"), "meaning": "mains",
                                               "decision": "safe", "unit": "V", "sensor": "PDU", "valid": True}

    rain_at = get_clock().now()
    plc.load_scenario(scenario(tmp_path, "rain.json", 12.0))
    wait_until(lambda: safety(recorder).get("safe") is False, timeout=20, what="unsafe on rain")
    unsafe = safety(recorder)
    assert unsafe["culprit"] == "rain_rate" and unsafe["reasons"][0]["detail"] == "12 > 0 mm/h"
    # within the next poll, give or take the wall time of reading the simulator (~20 ms: 2 s at 100x)
    assert 0 <= parse_instant(unsafe["since"]) - rain_at <= 1.0 + get_clock().obs_delay(0.25)
    # /env/safety goes first; the quantities follow in the same poll
    wait_until(lambda: recorder.get("/env/weather/rain_rate")["value"] == 12.0, timeout=5, what="rain_rate published")
    rain = recorder.get("/env/weather/rain_rate")
    assert (rain["meaning"], rain["decision"]) == ("rain", "unsafe")

    clear_at = get_clock().now()
    plc.load_scenario(scenario(tmp_path, "dry.json", None))
    wait_until(lambda: safety(recorder).get("reasons") == [], timeout=20, what="the rain stopped")
    holding = safety(recorder)
    assert holding["safe"] is False and holding["culprit"] == "rain_rate" and 0 < holding["safe_in_s"] <= HOLD_S
    wait_until(lambda: safety(recorder).get("safe") is True, timeout=30, what="safe after the hold")
    assert parse_instant(safety(recorder)["since"]) - clear_at >= HOLD_S
    # never safe between the rain and the end of the hold: the first safe verdict after the rain is the hold's end
    # (what follows it is not this test's business: a later poll may already be publishing)
    history = list(recorder.safety)
    verdicts = [(s["safe"], s["culprit"], s["time"]) for s in history]
    first_unsafe = next(i for i, s in enumerate(history) if s["safe"] is False and s["culprit"] == "rain_rate")
    first_safe_after = next(i for i in range(first_unsafe, len(history)) if history[i]["safe"] is True)
    assert parse_instant(history[first_safe_after]["since"]) - clear_at >= HOLD_S, verdicts

    answer = call(runtime, "safety")
    assert answer.ok and answer.data["safe"] is True and answer.data["culprit"] is None


def test_a_silent_plc_is_unsafe_with_plc_silent(site: tuple[ServiceRuntime, SimulatedPlc, Recorder, str]) -> None:
    runtime, plc, recorder, _ = site
    wait_until(lambda: safety(recorder).get("safe") is True, timeout=20, what="a safe site")
    plc.inject_fault({"fault": "silence", "seconds": 600})
    wait_until(lambda: safety(recorder).get("safe") is False, timeout=20, what="unsafe on silence")
    state = safety(recorder)
    assert state["culprit"] == "plc_silent" and "DeviceSilent" in state["reasons"][0]["detail"]
    wait_until(lambda: (recorder.get("/env/weather/rain_rate") or {}).get("meaning") == "stale", timeout=20,
               what="stale values")
    conditions = call(runtime, "conditions").data
    assert "DeviceSilent" in conditions["plc_error"] and conditions["quantities"]["rain_rate"]["valid"] is False


def test_a_plc_answering_with_an_old_reading_is_unsafe_with_plc_stale(tmp_path: Path) -> None:
    frozen: list[PlcStatus] = []

    def frozen_when_asked(plc: SimulatedPlc) -> Callable[[], PlcStatus]:
        return lambda: frozen[0] if frozen else plc.read_status()

    with running_monitor(tmp_path, frozen_when_asked) as (runtime, plc, recorder, _):
        wait_until(lambda: safety(recorder).get("safe") is True, timeout=20, what="a safe site")
        frozen.append(plc.read_status())  # from now on the PLC answers, always with this reading
        wait_until(lambda: safety(recorder).get("safe") is False, timeout=20, what="unsafe on an old reading")
        state = safety(recorder)
        assert state["culprit"] == "plc_stale", state
        first = state["reasons"][0]
        assert first["meaning"] == "stale" and first["detail"].startswith("the reading of plc is ") and \
            first["detail"].endswith(f" s old (limit {STALE_AFTER_S:g} s)"), first
        assert all(r["meaning"] == "stale" for r in state["reasons"][1:]) and len(state["reasons"]) > 1
        conditions = call(runtime, "conditions").data
        assert conditions["plc_error"] is None  # it answers: not silent
        frozen.clear()  # fresh readings again: the reason goes and the hold begins
        wait_until(lambda: safety(recorder).get("reasons") == [], timeout=20, what="fresh readings")
        assert safety(recorder)["culprit"] == "plc_stale" and safety(recorder)["safe"] is False


def test_commands_and_history(site: tuple[ServiceRuntime, SimulatedPlc, Recorder, str]) -> None:
    runtime, _, recorder, url = site
    wait_until(lambda: safety(recorder).get("safe") is True, timeout=20, what="a safe site")
    conditions = call(runtime, "conditions").data
    quantities = conditions["quantities"]
    assert {"rain_rate", "rain_detected", "wind_speed", "outside_humidity", "dew_point_margin", "sky_temperature",
            "sky_minus_ambient", "sky_quality", "light", "inside_temperature", "power"} <= set(quantities)
    assert quantities["sky_minus_ambient"]["meaning"] == "clear" and quantities["light"]["meaning"] == "dark"
    assert quantities["dew_point_margin"]["sensor"] == "WXT520" and conditions["plc_error"] is None
    thresholds = call(runtime, "thresholds").data
    assert thresholds["hold_s"] == HOLD_S and thresholds["quantities"]["power"]["unsafe_if"] == {"below": 180.0}

    database = Database(url)
    try:
        def samples() -> list[EnvironmentSample]:
            with database.session() as session:
                return list(session.scalars(select(EnvironmentSample)))
        wait_until(lambda: len({s.measured_at for s in samples()}) >= 3, timeout=30, what="three history rounds")
        rows = samples()
        first = min(s.measured_at for s in rows)
        round_one = [s for s in rows if s.measured_at == first]
        assert {(s.scope, s.quantity) for s in round_one} >= {("weather", "rain_rate"), ("site", "power")}
        assert all(s.value == s.value for s in round_one)  # no NaN
        rain_detected = next(s for s in round_one if s.quantity == "rain_detected")
        assert (rain_detected.value, rain_detected.unit) == (0.0, "bool")
        stamps = sorted({s.measured_at.timestamp() for s in rows})
        # a round at start, then one per multiple of 60 s, not one every poll (about 1 s apart)
        assert len(stamps) <= (stamps[-1] - stamps[0]) / 60.0 + 2
    finally:
        database.dispose()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="unsafe_if: unknown quantity 'snow'"):
        MonitorService(unsafe_if={"snow": {"above": 1.0}}, history_every_s=0)
    with pytest.raises(ValueError, match="token must be text"):
        MonitorService(token=5, history_every_s=0)  # type: ignore[arg-type]
