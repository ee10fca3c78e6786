"""The dome, telescope and filter wheel services with ``driver = "indi"`` against INDI's simulators.

One real ``indiserver`` (see :mod:`tests.integration.indi_server`) runs the dome, telescope and
filter wheel simulators on a free loopback port; each device is driven through its device service
in a :class:`~pyros.service.ServiceRuntime`, as the majordome, on the real clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devices.common.faults import DeviceDisconnected
from devices.dome.indi import IndiDome
from devices.dome.service import DomeService
from devices.filter_wheel.service import FilterWheelService
from devices.telescope.horizon import Horizon
from devices.telescope.service import TelescopeService
from pyros.astro import site_location
from pyros.clock import get_clock
from pyros.config import active_config
from pyros.service import AccessPolicy, Service, ServiceRuntime
from pyros.testing import free_port
from tests.integration.indi_server import DOME, MOTION_TIMEOUT, START_TIMEOUT, TELESCOPE, WHEEL, IndiServer
from tests.integration.indi_server import real_clock  # noqa: F401  (autouse fixture)
from tests.unit.device_support import NAMES, TOKENS
from tests.unit.test_service_support import call

pytestmark = pytest.mark.integration

SIMULATORS = ("indi_simulator_dome", "indi_simulator_telescope", "indi_simulator_wheel")
TOLERANCE_DEG = 0.2
"""How close a finished slew must read back (ICRS, both axes): INDI's telescope simulator ends a slew up to
about 0.07 deg (15 s) short in RA, the sky having turned under it while it slewed."""


@pytest.fixture(scope="module")
def indiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndiServer]:
    server = IndiServer(tmp_path_factory.mktemp("indi_devices"), SIMULATORS)
    yield server
    server.stop()


def serve(service: Service) -> ServiceRuntime:
    runtime = ServiceRuntime(service, access=AccessPolicy(TOKENS, names=NAMES))
    runtime.start()
    return runtime


def run(runtime: ServiceRuntime, cmd: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    """Start an operation as the majordome and wait (bounded) for its outcome."""
    started = call(runtime, cmd, args or {}, token="maj")
    assert started.ok, started.error
    waited = call(runtime, "wait", {"session": started.data["session"], "timeout": MOTION_TIMEOUT}, token="maj")
    assert waited.ok, waited.error
    session: dict[str, Any] = waited.data
    assert session["status"] != "running", f"{cmd} still running after {MOTION_TIMEOUT} s: {session}"
    return session


def indi_options(server: IndiServer, device: str) -> dict[str, Any]:
    return {"driver": "indi", "host": "127.0.0.1", "port": server.port, "device": device,
            "connect_timeout_s": START_TIMEOUT, "reply_timeout_s": START_TIMEOUT}


def test_dome_opens_closes_and_parks(indiserver: IndiServer) -> None:
    service = DomeService(poll_s=0.2, timeout_s=MOTION_TIMEOUT, **indi_options(indiserver, DOME))
    runtime = serve(service)
    try:
        assert service.driver.park_azimuth_deg == pytest.approx(90.0)  # the simulator's DOME_PARK_POSITION
        opened = run(runtime, "open")
        assert opened["success"] is True, opened
        assert opened["result"]["shutter"] == "open" and opened["result"]["shutter_open_fraction"] == 1.0
        again = run(runtime, "open")
        assert again["success"] is False and "the shutter is already open" in again["message"]
        closed = run(runtime, "close")
        assert closed["success"] is True and closed["result"]["shutter"] == "closed", closed
        parked = run(runtime, "park")
        assert parked["success"] is True, parked
        position = call(runtime, "position", token="maj").data
        assert position["parked"] is True and position["shutter"] == "closed"
        assert position["azimuth_deg"] == pytest.approx(90.0, abs=1.0)
        rotated = run(runtime, "rotate", {"azimuth": 120.0})  # leaves the park first
        assert rotated["success"] is True, rotated
        assert rotated["result"]["azimuth_deg"] == pytest.approx(120.0, abs=1.0)
        assert rotated["result"]["parked"] is False
    finally:
        runtime.close()
        service.driver.close()


def test_telescope_unparks_slews_reads_back_and_parks(indiserver: IndiServer) -> None:
    service = TelescopeService(poll_s=0.2, timeout_s=MOTION_TIMEOUT, altitude_limit_deg=15.0,
                               **indi_options(indiserver, TELESCOPE))
    runtime = serve(service)
    try:
        unparked = call(runtime, "unpark", token="maj")
        assert unparked.ok and unparked.data["parked"] is False, unparked
        horizon = Horizon(site_location(active_config().site))
        ra, dec = horizon.radec(60.0, 200.0, get_clock().now())   # 60 deg up now, at the configured site
        slewed = run(runtime, "slew", {"ra": ra, "dec": dec})
        assert slewed["success"] is True, slewed
        result = slewed["result"]
        assert result["slewing"] is False and result["tracking"] is True
        assert abs((result["ra_deg"] - ra + 180.0) % 360.0 - 180.0) < TOLERANCE_DEG
        assert result["dec_deg"] == pytest.approx(dec, abs=TOLERANCE_DEG)
        assert result["altitude_deg"] == pytest.approx(60.0, abs=1.0)
        low_ra, low_dec = horizon.radec(5.0, 200.0, get_clock().now())
        refused = call(runtime, "slew", {"ra": low_ra, "dec": low_dec}, token="maj")
        outcome = refused.data if refused.ok else None
        if outcome is not None:
            outcome = call(runtime, "wait", {"session": outcome["session"], "timeout": MOTION_TIMEOUT},
                           token="maj").data
        assert (not refused.ok and "below" in str(refused.error)) or \
            (outcome is not None and outcome["success"] is False and "below" in outcome["message"]), (refused, outcome)
        parked = run(runtime, "park")
        assert parked["success"] is True and parked["result"]["parked"] is True, parked
        assert parked["result"]["tracking"] is False
        again = call(runtime, "unpark", token="maj")
        assert again.ok and again.data["parked"] is False, again
    finally:
        runtime.close()
        service.driver.close()


def test_filter_wheel_changes_filter(indiserver: IndiServer) -> None:
    service = FilterWheelService(name="fw_indi", poll_s=0.2, timeout_s=MOTION_TIMEOUT,
                                 **indi_options(indiserver, WHEEL))
    runtime = serve(service)
    try:
        before = call(runtime, "position", token="maj").data
        assert before["filters"][:3] == ["Red", "Green", "Blue"]
        target = "Blue" if before["filter"] != "Blue" else "Green"
        moved = run(runtime, "set_filter", {"filter": target})
        assert moved["success"] is True, moved
        after = call(runtime, "position", token="maj").data
        assert after["filter"] == target and after["slot"] == before["filters"].index(target) + 1
        assert after["moving"] is False
        unknown = run(runtime, "set_filter", {"filter": "Purple"})
        assert unknown["success"] is False and "no filter 'Purple'" in unknown["message"], unknown
    finally:
        runtime.close()
        service.driver.close()


def test_unreachable_server_is_a_disconnected_device() -> None:
    dome = IndiDome("127.0.0.1", free_port(), DOME, connect_timeout_s=5.0)
    with pytest.raises(DeviceDisconnected, match="cannot connect"):
        dome.status()
