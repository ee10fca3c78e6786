"""The INDI client driving a real ``indiserver`` with INDI's simulator drivers on a loopback port.

Needs Debian's ``indi-bin`` (``indiserver`` and the ``indi_simulator_*`` drivers); without it the
tests skip, which ``PYROS_REQUIRE_ALL=1`` (CI) turns into failures. Each server runs in its own
process group with ``HOME`` in a temporary directory (the simulators keep configuration and park data
in ``~/.indi``) and its own local socket, and the whole group is killed at the end.
"""

from __future__ import annotations

import io
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from astropy.io import fits

from pyros.indi import Blob, DeviceMessage, IndiClient, IndiConnectionError, PropertyState, PropertyVector
from pyros.testing import wait_until
from tests.integration.indi_server import (CCD, DOME, MOTION_TIMEOUT, START_TIMEOUT, TELESCOPE, WEATHER, WHEEL,
                                          IndiServer)

pytestmark = pytest.mark.integration

SIMULATORS = ("indi_simulator_telescope", "indi_simulator_ccd", "indi_simulator_dome", "indi_simulator_wheel",
              "indi_simulator_weather")


@pytest.fixture(scope="module")
def indiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndiServer]:
    server = IndiServer(tmp_path_factory.mktemp("indi"), SIMULATORS)
    yield server
    server.stop()


@pytest.fixture
def client(indiserver: IndiServer) -> Iterator[IndiClient]:
    indi = IndiClient("127.0.0.1", indiserver.port, connect_timeout=START_TIMEOUT)
    indi.connect()
    yield indi
    indi.close()
    assert indi.invalid_elements == 0, "the real server sent elements our decoder rejected"


def near(vector: PropertyVector, targets: dict[str, float], tolerance: float) -> bool:
    return all(abs(vector.value(member) - value) <= tolerance for member, value in targets.items())


def test_every_simulator_defines_its_properties(client: IndiClient) -> None:
    for device in (TELESCOPE, CCD, DOME, WHEEL, WEATHER):
        info = client.wait_for(device, "DRIVER_INFO", timeout=START_TIMEOUT)
        assert info.value("DRIVER_NAME") == device
        connection = client.wait_for(device, "CONNECTION", timeout=START_TIMEOUT)
        assert set(connection.members) == {"CONNECT", "DISCONNECT"}


def test_telescope_slews_to_a_target_and_reads_it_back(client: IndiClient) -> None:
    messages: list[DeviceMessage] = []
    client.add_message_listener(messages.append)
    connection = client.connect_device(TELESCOPE, timeout=START_TIMEOUT)
    assert connection.switches_on() == ("CONNECT",)
    park = client.wait_for(TELESCOPE, "TELESCOPE_PARK", timeout=START_TIMEOUT)
    if "PARK" in park.switches_on():
        client.wait_state(TELESCOPE, "TELESCOPE_PARK", PropertyState.OK, MOTION_TIMEOUT,
                          after=client.set_switch(TELESCOPE, "TELESCOPE_PARK", {"UNPARK": True}))
    client.wait_for(TELESCOPE, "ON_COORD_SET", timeout=START_TIMEOUT)
    client.wait_for(TELESCOPE, "EQUATORIAL_EOD_COORD", timeout=START_TIMEOUT)
    client.wait_state(TELESCOPE, "ON_COORD_SET", PropertyState.OK, START_TIMEOUT,
                      after=client.set_switch(TELESCOPE, "ON_COORD_SET", {"TRACK": True}))
    coordinates = client.get(TELESCOPE, "EQUATORIAL_EOD_COORD")
    assert coordinates is not None and coordinates["RA"].format == "%010.6m"  # type: ignore[union-attr]
    target = {"RA": 5.5, "DEC": 22.25}  # 5h30m, +22d15m
    mark = client.set_number(TELESCOPE, "EQUATORIAL_EOD_COORD", target)
    busy = client.wait_for(TELESCOPE, "EQUATORIAL_EOD_COORD", lambda v: v.state is PropertyState.BUSY, START_TIMEOUT,
                           after=mark)
    assert busy.state is PropertyState.BUSY
    arrived = client.wait_for(TELESCOPE, "EQUATORIAL_EOD_COORD",
                              lambda v: v.state is PropertyState.OK and near(v, target, 0.02), MOTION_TIMEOUT,
                              after=busy.sequence)
    assert arrived.sequence > mark
    assert arrived["RA"].formatted().strip().startswith("5:3")  # type: ignore[union-attr]
    assert arrived["DEC"].formatted().strip().startswith("22:1")  # type: ignore[union-attr]
    assert any("slew" in m.text.lower() for m in messages if m.device == TELESCOPE)


def settled_on(switch: str) -> Callable[[PropertyVector], bool]:
    """Predicate: the vector is Ok with ``switch`` the only switch On."""
    return lambda vector: vector.state is PropertyState.OK and vector.switches_on() == (switch,)


def test_dome_opens_and_closes_its_shutter_then_parks(client: IndiClient) -> None:
    client.connect_device(DOME, timeout=START_TIMEOUT)
    client.wait_for(DOME, "DOME_SHUTTER", timeout=START_TIMEOUT)
    for switch in ("SHUTTER_OPEN", "SHUTTER_CLOSE"):
        mark = client.set_switch(DOME, "DOME_SHUTTER", {switch: True})
        shutter = client.wait_for(DOME, "DOME_SHUTTER", settled_on(switch), MOTION_TIMEOUT, after=mark)
        assert shutter.switches_on() == (switch,)
    mark = client.set_switch(DOME, "DOME_PARK", {"PARK": True})
    parked = client.wait_for(DOME, "DOME_PARK", settled_on("PARK"), MOTION_TIMEOUT, after=mark)
    assert parked.switches_on() == ("PARK",)
    park_position = client.get(DOME, "DOME_PARK_POSITION")
    position = client.get(DOME, "ABS_DOME_POSITION")
    assert park_position is not None and position is not None
    assert position.value("DOME_ABSOLUTE_POSITION") == pytest.approx(park_position.value("PARK_AZ"), abs=1.0)
    mark = client.set_switch(DOME, "DOME_PARK", {"UNPARK": True})
    client.wait_for(DOME, "DOME_PARK", settled_on("UNPARK"), MOTION_TIMEOUT, after=mark)


def test_ccd_exposure_arrives_as_a_fits_blob(client: IndiClient) -> None:
    client.connect_device(CCD, timeout=START_TIMEOUT)
    client.wait_for(CCD, "CCD1", timeout=START_TIMEOUT)
    info = client.wait_for(CCD, "CCD_INFO", lambda v: v.value("CCD_MAX_X") > 0, START_TIMEOUT)
    client.enable_blob(CCD, "CCD1")
    client.wait_for(CCD, "CCD_EXPOSURE", timeout=START_TIMEOUT)
    mark = client.set_number(CCD, "CCD_EXPOSURE", {"CCD_EXPOSURE_VALUE": 0.5})
    vector = client.wait_for(CCD, "CCD1", lambda v: v.value("CCD1") is not None, MOTION_TIMEOUT, after=mark)
    blob = vector.value("CCD1")
    assert isinstance(blob, Blob)
    assert blob.format == ".fits" and len(blob.data) == blob.size
    with fits.open(io.BytesIO(blob.data)) as hdus:
        header = hdus[0].header
        assert (header["NAXIS1"], header["NAXIS2"]) == (info.value("CCD_MAX_X"), info.value("CCD_MAX_Y"))
        assert header["EXPTIME"] == pytest.approx(0.5)
        assert header["INSTRUME"] == CCD
        assert hdus[0].data.shape == (info.value("CCD_MAX_Y"), info.value("CCD_MAX_X"))
    client.wait_state(CCD, "CCD_EXPOSURE", PropertyState.OK, MOTION_TIMEOUT, after=mark)


def test_filter_wheel_changes_slot(client: IndiClient) -> None:
    client.connect_device(WHEEL, timeout=START_TIMEOUT)
    names = client.wait_for(WHEEL, "FILTER_NAME", timeout=START_TIMEOUT)
    slot = client.wait_for(WHEEL, "FILTER_SLOT", timeout=START_TIMEOUT)
    target = 3 if slot.value("FILTER_SLOT_VALUE") != 3 else 2
    mark = client.set_number(WHEEL, "FILTER_SLOT", {"FILTER_SLOT_VALUE": target})
    slot = client.wait_state(WHEEL, "FILTER_SLOT", PropertyState.OK, MOTION_TIMEOUT, after=mark)
    assert slot.value("FILTER_SLOT_VALUE") == target
    assert names.value(f"FILTER_SLOT_NAME_{target}") in {"Green", "Blue"}


def test_weather_parameters_follow_the_simulator_controls(client: IndiClient) -> None:
    client.connect_device(WEATHER, timeout=START_TIMEOUT)
    parameters = client.wait_for(WEATHER, "WEATHER_PARAMETERS", timeout=START_TIMEOUT)
    assert {"WEATHER_TEMPERATURE", "WEATHER_WIND_SPEED", "WEATHER_RAIN_HOUR"} <= set(parameters.members)
    status = client.wait_for(WEATHER, "WEATHER_STATUS", timeout=START_TIMEOUT)
    assert all(isinstance(value, PropertyState) for value in status.values().values())
    # The simulator defines its properties one after the other once connected: wait for the one we set.
    client.wait_for(WEATHER, "WEATHER_CONTROL", timeout=START_TIMEOUT)
    client.wait_state(WEATHER, "WEATHER_CONTROL", PropertyState.OK, START_TIMEOUT,
                      after=client.set_number(WEATHER, "WEATHER_CONTROL", {"Temperature": 7.5, "Wind": 3.0}))
    client.set_switch(WEATHER, "WEATHER_REFRESH", {"REFRESH": True})
    parameters = client.wait_for(WEATHER, "WEATHER_PARAMETERS",
                                 lambda v: near(v, {"WEATHER_TEMPERATURE": 7.5, "WEATHER_WIND_SPEED": 3.0}, 1e-6),
                                 MOTION_TIMEOUT)
    assert parameters["WEATHER_TEMPERATURE"].formatted() == "7.50"  # type: ignore[union-attr]


def test_dead_server_is_detected(tmp_path: Path) -> None:
    server = IndiServer(tmp_path, ("indi_simulator_weather",))
    try:
        reasons: list[object] = []
        with IndiClient("127.0.0.1", server.port, connect_timeout=START_TIMEOUT) as indi:
            indi.add_disconnect_listener(reasons.append)
            indi.wait_for(WEATHER, "CONNECTION", timeout=START_TIMEOUT)
            server.kill(signal.SIGKILL)
            with pytest.raises(IndiConnectionError, match="closed the connection"):
                indi.wait_for(WEATHER, "CONNECTION", None, START_TIMEOUT, after=indi.sequence)
            assert not indi.connected
            assert isinstance(indi.disconnect_reason, IndiConnectionError)
            wait_until(lambda: bool(reasons), timeout=START_TIMEOUT, what="disconnect listener called")
            assert reasons == [indi.disconnect_reason]
    finally:
        server.stop()
