"""The dome follows the telescope: one look at a time, then through the service with a real K/V server."""

from __future__ import annotations

import dataclasses
from typing import Iterator

import pytest

from devices.dome.follower import DomeFollower
from devices.dome.service import DomeService
from devices.dome.sim import SimulatedDome
from pyros.config import Config, KVConfig, active_config, use_config
from pyros.kv.publisher import KVPublisher
from pyros.kv.server import CloneServer
from pyros.testing import wait_until
from tests.unit.device_support import fast_device
from tests.unit.test_service_support import call


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_780_279_200.0

    def __call__(self) -> float:
        return self.now


def test_the_dome_turns_only_when_the_telescope_is_beyond_the_tolerance() -> None:
    t = FakeTime()
    dome = SimulatedDome(t, lambda s: None, rotation_speed_deg_s=10.0)
    telescope = {"az": None}
    follower = DomeFollower(dome, lambda: telescope["az"], tolerance_deg=2.0)
    assert not follower.step()  # unknown telescope azimuth: stay
    telescope["az"] = 1.5
    assert not follower.step()  # within tolerance
    telescope["az"] = 350.0
    assert follower.step() and dome.status().target_azimuth_deg == 350.0
    telescope["az"] = 340.0
    assert not follower.step()  # still turning: no new command
    t.now += 1.0
    assert follower.step() and dome.status().target_azimuth_deg == 340.0
    t.now += 10.0
    assert not follower.step() and dome.status().azimuth_deg == pytest.approx(340.0)
    assert follower.rotations == 2
    with pytest.raises(ValueError, match="tolerance_deg"):
        DomeFollower(dome, lambda: None, tolerance_deg=0)


@pytest.fixture
def kv_config() -> Iterator[tuple[CloneServer, KVPublisher]]:
    server = CloneServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", hugz_interval=0.2).start()
    previous = active_config()
    use_config(dataclasses.replace(Config(), kv=KVConfig(server.snapshot_endpoint, server.publisher_endpoint,
                                                          server.collector_endpoint)))
    publisher = KVPublisher(server.collector_endpoint)
    yield server, publisher
    publisher.close()
    use_config(previous)
    server.stop()


def test_follow_through_the_service(kv_config: tuple[CloneServer, KVPublisher]) -> None:
    _, publisher = kv_config
    with fast_device(lambda: DomeService(rotation_speed_deg_s=4.0, poll_s=2.0), speed=100.0) as runtime:
        assert call(runtime, "follow", {"on": True}, token="eng").error.type == "NoControl"
        followed = call(runtime, "follow", {"on": True}, token="maj").data
        assert followed["following"] is True
        publisher.set("/device/telescope/azimuth_deg", 90.0)
        wait_until(lambda: abs(call(runtime, "position").data["azimuth_deg"] - 90.0) < 0.01, timeout=30,
                   what="the dome in front of the telescope")
        stopped = call(runtime, "follow", {"on": False}, token="eng").data  # stopping is safety
        assert stopped["following"] is False and runtime.service.state.snapshot()["following"] is False
