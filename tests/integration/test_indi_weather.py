"""The PLC service with ``driver = "indi"`` against INDI's weather simulator.

A real ``indiserver`` (see :mod:`tests.integration.indi_server`) runs ``indi_simulator_weather`` on a free
loopback port. The simulator's weather is set through its ``WEATHER_CONTROL`` by a second INDI client, then
read through the PLC service in a :class:`~pyros.service.ServiceRuntime`, on the real clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devices.common.faults import DeviceDisconnected, DeviceFault
from devices.plc.indi import PARAMETERS, IndiWeather
from devices.plc.service import PlcService
from pyros.indi import IndiClient, PropertyState, PropertyVector
from pyros.service import AccessPolicy, ServiceRuntime
from pyros.testing import free_port, wait_until
from tests.integration.indi_server import START_TIMEOUT, WEATHER, IndiServer
from tests.integration.indi_server import real_clock  # noqa: F401  (autouse fixture)
from tests.unit.device_support import NAMES, TOKENS
from tests.unit.test_service_support import call

pytestmark = pytest.mark.integration

KPH = 1.0 / 3.6
"""m/s in one km/h."""


@pytest.fixture(scope="module")
def indiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndiServer]:
    server = IndiServer(tmp_path_factory.mktemp("indi_weather"), ("indi_simulator_weather",))
    yield server
    server.stop()


@pytest.fixture()
def controls(indiserver: IndiServer) -> Iterator[IndiClient]:
    """A second INDI client, connected to the weather simulator, to set its weather."""
    with IndiClient("127.0.0.1", indiserver.port, connect_timeout=START_TIMEOUT) as client:
        client.connect_device(WEATHER, timeout=START_TIMEOUT)
        client.wait_for(WEATHER, "WEATHER_CONTROL", timeout=START_TIMEOUT)
        yield client


def set_weather(client: IndiClient, temperature: float, wind_kph: float, rain_mm: float) -> PropertyVector:
    """Make the simulator report this weather now; its parameters once they show it."""
    client.wait_state(WEATHER, "WEATHER_CONTROL", PropertyState.OK, START_TIMEOUT,
                      after=client.set_number(WEATHER, "WEATHER_CONTROL",
                                              {"Weather": 0.0, "Temperature": temperature, "Wind": wind_kph,
                                               "Gust": wind_kph, "Precip": rain_mm}))
    client.set_switch(WEATHER, "WEATHER_REFRESH", {"REFRESH": True})
    wanted = {"WEATHER_TEMPERATURE": temperature, "WEATHER_WIND_SPEED": wind_kph, "WEATHER_RAIN_HOUR": rain_mm}
    return client.wait_for(WEATHER, "WEATHER_PARAMETERS",
                           lambda v: all(abs(v.value(name) - value) < 1e-6 for name, value in wanted.items()),
                           START_TIMEOUT)


def plc_service(server: IndiServer) -> PlcService:
    return PlcService(name="plc_indi", driver="indi", poll_s=1.0, host="127.0.0.1", port=server.port,
                      device=WEATHER, connect_timeout_s=START_TIMEOUT, reply_timeout_s=START_TIMEOUT)


def serve(service: PlcService) -> ServiceRuntime:
    runtime = ServiceRuntime(service, access=AccessPolicy(TOKENS, names=NAMES))
    runtime.start()
    return runtime


def values_of(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (device,) = status["device"]
    return {value["name"]: value for value in device["values"]}


def test_read_gives_a_valid_status_with_the_temperature(indiserver: IndiServer, controls: IndiClient) -> None:
    set_weather(controls, temperature=12.5, wind_kph=9.0, rain_mm=0.0)
    service = plc_service(indiserver)
    runtime = serve(service)
    try:
        reply = call(runtime, "read", token="maj")
        assert reply.ok, reply.error
        status = reply.data
        assert status["from"] == "INDI"
        (device,) = status["device"]
        assert (device["name"], device["type"], device["valid"]) == (WEATHER, "meteo", True)
        values = values_of(status)
        assert values["OutsideTemp"]["value"] == pytest.approx(12.5) and values["OutsideTemp"]["unit"] == "degC"
        assert values["WindSpeed"]["value"] == pytest.approx(2.5) and values["WindSpeed"]["unit"] == "m/s"
        assert values["WindGust"]["value"] == pytest.approx(9.0 * KPH)
        assert values["RainRate"] == {"name": "RainRate", "value": 0.0, "unit": "mm/h",
                                      "comment": "INDI WEATHER_RAIN_HOUR (Precip (mm))"}
        assert values["Status"]["value"] == "ok" and values["Forecast"]["value"] == "ok"
        refused = call(runtime, "switch", {"device": WEATHER, "on": True, "switch": "heater"}, token="maj")
        assert not refused.ok and "no lamps or power switches" in str(refused.error)
    finally:
        runtime.close()
        service.driver.close()  # type: ignore[attr-defined]


def test_rain_is_reported_and_makes_the_reading_invalid(indiserver: IndiServer, controls: IndiClient) -> None:
    set_weather(controls, temperature=9.0, wind_kph=9.0, rain_mm=4.0)
    service = plc_service(indiserver)
    runtime = serve(service)
    try:
        reply = call(runtime, "weather", token="maj")
        assert reply.ok, reply.error
        weather = reply.data
        assert weather["rain_rate"]["value"] == pytest.approx(4.0) and weather["rain_rate"]["unit"] == "mm/h"
        assert weather["rain_rate"]["sensor"] == WEATHER
        assert weather["wind_speed"]["value"] == pytest.approx(2.5)
        assert weather["outside_temperature"]["value"] == pytest.approx(9.0)
        assert weather["rain_rate"]["valid"] is True   # rain is weather, not a broken sensor
        status = call(runtime, "read", token="maj").data
        values = values_of(status)
        assert status["device"][0]["valid"] is True
        assert values["Status"] == {"name": "Status", "value": "alert", "unit": "string",
                                    "comment": "WEATHER_STATUS, worst light; alert: WEATHER_RAIN_HOUR"}
    finally:
        runtime.close()
        service.driver.close()  # type: ignore[attr-defined]
        set_weather(controls, temperature=15.0, wind_kph=0.0, rain_mm=0.0)


def test_unchanged_parameters_become_invalid_after_max_age(indiserver: IndiServer, controls: IndiClient) -> None:
    controls.wait_state(WEATHER, "WEATHER_UPDATE", PropertyState.OK, START_TIMEOUT,
                        after=controls.set_number(WEATHER, "WEATHER_UPDATE", {"PERIOD": 0.0}))  # no periodic updates
    set_weather(controls, temperature=15.0, wind_kph=0.0, rain_mm=0.0)
    instant = [1_800_000_000.0]
    weather = IndiWeather("127.0.0.1", indiserver.port, WEATHER, connect_timeout_s=START_TIMEOUT, max_age_s=60.0,
                          site="test site", now=lambda: instant[0])
    try:
        first = weather.read_status()
        assert first.devices[0].valid and first.date.timestamp() == instant[0]
        instant[0] += 59.0
        assert weather.read_status().devices[0].valid
        instant[0] += 2.0
        stale = weather.read_status()
        assert not stale.devices[0].valid and stale.date == first.date
        controls.set_switch(WEATHER, "WEATHER_REFRESH", {"REFRESH": True})  # a new reading is fresh again
        wait_until(lambda: weather.read_status().devices[0].valid, timeout=START_TIMEOUT, what="a fresh reading")
        assert weather.read_status().date.timestamp() == instant[0]
    finally:
        weather.close()
        controls.set_number(WEATHER, "WEATHER_UPDATE", {"PERIOD": 60.0})


def test_unreachable_server_is_a_disconnected_device() -> None:
    weather = IndiWeather("127.0.0.1", free_port(), WEATHER, connect_timeout_s=5.0)
    with pytest.raises(DeviceDisconnected, match="cannot connect"):
        weather.read_status()


@pytest.mark.parametrize(("options", "message"), [
    ({"device": "Weather/Station"}, "cannot name a PLC device"),
    ({"device": ""}, "cannot name a PLC device"),
    ({"max_age_s": 0}, "max_age_s must be in"),
    ({"max_age_s": float("nan")}, "max_age_s must be in"),
    ({"port": 0}, "INDI port must be"),
    ({"site": " "}, "site must be"),
])
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IndiWeather(**options)


def test_nothing_can_be_switched() -> None:
    weather = IndiWeather(device=WEATHER)
    assert weather.switches() == {}
    with pytest.raises(ValueError, match="no lamps or power switches"):
        weather.switch("LAMP", "status", True)


def test_service_refuses_unknown_indi_options() -> None:
    with pytest.raises(ValueError, match="PLC driver 'indi'"):
        PlcService(name="plc_indi", driver="indi", lamp_current_a=1.0)


@pytest.mark.parametrize(("member", "label", "spelling"), [
    ("WEATHER_WIND_SPEED", "Wind (kph)", "km/h"),
    ("WEATHER_WIND_SPEED", "Wind (m/s)", "m/s"),
    ("WEATHER_WIND_SPEED", "Wind", "km/h"),          # no unit in the label: INDI's standard one
    ("WEATHER_TEMPERATURE", "Temperature (F)", "degF"),
    ("WEATHER_RAIN_HOUR", "Precip (mm)", "mm/h"),
])
def test_the_unit_is_read_from_the_label(member: str, label: str, spelling: str) -> None:
    assert IndiWeather(device=WEATHER)._unit_spelling(member, label, PARAMETERS[member]) == spelling


@pytest.mark.parametrize(("member", "label"), [
    ("WEATHER_WIND_SPEED", "Wind (furlongs)"),
    ("WEATHER_WIND_SPEED", "Wind (C)"),
    ("WEATHER_TEMPERATURE", "Temperature (kph)"),
])
def test_a_label_unit_that_cannot_be_read_is_a_device_fault(member: str, label: str) -> None:
    with pytest.raises(DeviceFault, match=f"WEATHER_PARAMETERS.{member} is labelled"):
        IndiWeather(device=WEATHER)._unit_spelling(member, label, PARAMETERS[member])
