"""The telescope: the simulated mount's axes, limits, tracking and faults, and its device service."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from devices.common import DeviceFault, DeviceSilent
from devices.telescope.horizon import Horizon
from devices.telescope.service import TelescopeService, make_driver
from devices.telescope.sim import SimulatedMount
from pyros.astro import site_location
from pyros.clock import get_clock
from pyros.config import SiteConfig
from pyros.service import ServiceRuntime
from tests.unit.device_support import START, fast_device, run
from tests.unit.test_service_support import call

SITE = site_location(SiteConfig())


class FakeTime:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def high_target(horizon: Horizon, at: float) -> tuple[float, float]:
    """RA/Dec of the point at altitude 60, azimuth 120 at ``at``."""
    return horizon.radec(60.0, 120.0, at)


@pytest.fixture
def mount() -> tuple[SimulatedMount, FakeTime]:
    t = FakeTime()
    return SimulatedMount(SITE, t, t.sleep, slew_rate_deg_s=3.0, altitude_limit_deg=15.0), t


def test_parked_mount_refuses_slews_until_unparked(mount: Any) -> None:
    sim, t = mount
    status = sim.status()
    assert status.parked and (status.altitude_deg, status.azimuth_deg) == (90.0, 0.0)
    with pytest.raises(DeviceFault, match="parked; unpark it first"):
        sim.start_slew_altaz(45.0, 90.0)
    sim.unpark()
    sim.start_slew_altaz(45.0, 90.0)
    t.now += 10
    status = sim.status()
    assert status.slewing and status.altitude_deg == pytest.approx(60.0)  # 30 deg down in 10 s
    assert status.azimuth_deg == pytest.approx(30.0)  # both axes at once
    t.now += 20.001  # the azimuth axis has 90 deg to go
    status = sim.status()
    assert not status.slewing and (status.altitude_deg, status.azimuth_deg) == pytest.approx((45.0, 90.0))


def test_radec_slew_ends_tracking_the_sky(mount: Any) -> None:
    sim, t = mount
    sim.unpark()
    ra, dec = high_target(sim.horizon, START)
    sim.start_slew_radec(ra, dec)
    for _ in range(30):  # look often: the target moves while the mount catches up
        t.now += 2.0
        status = sim.status()
    assert not status.slewing and status.tracking
    assert (status.ra_deg, status.dec_deg) == pytest.approx((ra, dec), abs=0.01)
    t.now += 600.0  # ten minutes later it still points at the target
    status = sim.status()
    assert (status.ra_deg, status.dec_deg) == pytest.approx((ra, dec), abs=0.01)
    assert status.altitude_deg != pytest.approx(60.0, abs=0.5)


def test_targets_below_the_limit_are_refused_and_nothing_moves(mount: Any) -> None:
    sim, t = mount
    sim.unpark()
    low_ra, low_dec = sim.horizon.radec(5.0, 200.0, START)
    with pytest.raises(ValueError, match="below the telescope's limit of 15 deg"):
        sim.start_slew_radec(low_ra, low_dec)
    with pytest.raises(ValueError, match="below the telescope's limit"):
        sim.start_slew_altaz(10.0, 0.0)
    assert not sim.status().slewing and sim.status().altitude_deg == 90.0


def test_park_stop_and_faults(mount: Any) -> None:
    sim, t = mount
    sim.unpark()
    sim.start_slew_altaz(30.0, 180.0)
    t.now += 5
    sim.stop()
    here = sim.status()
    assert not here.slewing and here.altitude_deg == pytest.approx(75.0)
    sim.start_park()
    t.now += 100
    assert sim.status().parked
    sim.inject_fault({"fault": "silence", "seconds": 10})
    with pytest.raises(DeviceSilent):
        sim.status()
    t.now += 10
    sim.inject_fault({"fault": "wrong_value", "property": "altitude_deg", "value": -3.0})
    assert sim.status().altitude_deg == -3.0


def test_bad_settings_and_drivers() -> None:
    with pytest.raises(ValueError, match="altitude_limit_deg"):
        SimulatedMount(SITE, lambda: START, lambda s: None, altitude_limit_deg=95)
    with pytest.raises(ValueError, match="unknown telescope driver 'ascom'"):
        make_driver("ascom", {})


@pytest.fixture
def service() -> Iterator[ServiceRuntime]:
    with fast_device(lambda: TelescopeService(slew_rate_deg_s=3.0, poll_s=2.0), speed=500.0) as runtime:
        yield runtime


def test_slew_track_and_park_through_the_service(service: ServiceRuntime) -> None:
    assert call(service, "unpark", token="eng").error.type == "NoControl"
    assert call(service, "unpark", token="maj").ok
    ra, dec = high_target(service.service.driver.horizon, get_clock().now())
    done = run(service, "slew", {"ra": ra, "dec": dec})
    assert done["success"] and done["result"]["tracking"] and not done["result"]["slewing"]
    assert call(service, "track", {"on": False}, token="eng").data["tracking"] is False  # safety
    assert call(service, "track", {"on": True}, token="eng").error.type == "NoControl"
    low = run(service, "slew_altaz", {"altitude": 5.0, "azimuth": 10.0})
    assert not low["success"] and "BadTarget" in low["message"] and "below the telescope's limit" in low["message"]
    parked = run(service, "park", token="eng")
    assert parked["success"] and parked["result"]["parked"]
    assert service.service.state.snapshot()["parked"] is True
    assert call(service, "slew", {"ra": 10.0, "dec": 95.0}, token="maj").error.type == "BadArgument"


@pytest.fixture
def slow_service() -> Iterator[ServiceRuntime]:
    """A mount whose slews last seconds of wall time, so that commands reach it mid-slew."""
    with fast_device(lambda: TelescopeService(slew_rate_deg_s=0.5, poll_s=2.0), speed=100.0) as runtime:
        yield runtime


def test_a_park_during_a_slew_supersedes_it_and_the_slews_abort_does_not_stop_the_park(
        slow_service: ServiceRuntime) -> None:
    """The majordome parks while the observer's slew runs, then the observer aborts its slew: the park goes on."""
    service = slow_service
    assert call(service, "unpark", token="maj").ok
    ra, dec = high_target(service.service.driver.horizon, get_clock().now())
    slew = call(service, "slew", {"ra": ra, "dec": dec}, token="maj").data["session"]
    park = call(service, "park", token="maj").data["session"]
    call(service, "abort", {"session": slew}, token="maj")
    slewed = call(service, "wait", {"session": slew}, token="maj").data
    # Ended by the park (Superseded) or by the abort, whichever it noticed first; never by stopping the park.
    assert not slewed["success"] and (slewed["message"] == "aborted" or slewed["message"].startswith("Superseded:"))
    parked = call(service, "wait", {"session": park}, token="maj").data
    assert parked["success"] and parked["result"]["parked"], parked
    assert service.service.state.snapshot()["parked"] is True


def test_the_stop_command_supersedes_the_slew_being_followed(slow_service: ServiceRuntime) -> None:
    service = slow_service
    assert call(service, "unpark", token="maj").ok
    ra, dec = high_target(service.service.driver.horizon, get_clock().now())
    slew = call(service, "slew", {"ra": ra, "dec": dec}, token="maj").data["session"]
    assert call(service, "stop", token="eng").ok
    stopped = call(service, "wait", {"session": slew}, token="maj").data
    assert not stopped["success"] and "Superseded" in stopped["message"], stopped
