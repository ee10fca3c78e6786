"""The filter wheel: simulated moves the shorter way, faults, and its service."""

from __future__ import annotations

from typing import Iterator

import pytest

from devices.common import DeviceFault
from devices.filter_wheel.service import FilterWheelService, make_driver
from devices.filter_wheel.sim import SimulatedWheel
from pyros.service import ServiceRuntime
from tests.unit.device_support import fast_device, run
from tests.unit.test_service_support import call


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_780_279_200.0

    def __call__(self) -> float:
        return self.now


def test_moves_take_the_shorter_way_round() -> None:
    t = FakeTime()
    wheel = SimulatedWheel(t, lambda s: None, filters=("u", "g", "r", "i", "z"), slot_time_s=2.0)
    assert wheel.status().filter == "u"
    wheel.start_move(wheel.slot_of("z"))  # 1 -> 5 is one slot backwards
    t.now += 1.9
    assert wheel.status().moving and wheel.status().filter is None
    with pytest.raises(DeviceFault, match="already moving to slot 5"):
        wheel.start_move(2)
    t.now += 0.1
    assert wheel.status().filter == "z"
    wheel.start_move(3)  # 5 -> 3: two slots
    t.now += 4.0
    assert wheel.status().to_dict() == {"filters": ["u", "g", "r", "i", "z"], "slot": 3, "filter": "r",
                                        "target_slot": None, "moving": False}
    wheel.start_move(3)  # already there: nothing to do
    assert not wheel.status().moving


def test_bad_wheels_and_filters() -> None:
    with pytest.raises(ValueError, match="distinct non-empty"):
        SimulatedWheel(lambda: 0.0, lambda s: None, filters=("g", "g"))
    wheel = SimulatedWheel(lambda: 0.0, lambda s: None)
    with pytest.raises(ValueError, match="no filter 'B' in this wheel; it has g, r, i, z"):
        wheel.slot_of("B")
    with pytest.raises(ValueError, match=r"slot must be in 1..4"):
        wheel.start_move(9)
    with pytest.raises(ValueError, match="unknown filter wheel driver"):
        make_driver("fw", "zwo", {})


@pytest.fixture
def service() -> Iterator[ServiceRuntime]:
    with fast_device(lambda: FilterWheelService("fw_vis", filters=["g", "r", "i", "z"], slot_time_s=2.0),
                     speed=200.0) as runtime:
        yield runtime


def test_set_filter_through_the_service(service: ServiceRuntime) -> None:
    done = run(service, "set_filter", {"filter": "i"})
    assert done["success"] and done["result"]["filter"] == "i"
    assert service.service.state.snapshot()["filter"] == "i"
    unknown = run(service, "set_filter", {"filter": "B"})
    assert not unknown["success"] and "no filter 'B' in this wheel" in unknown["message"]
    assert call(service, "set_filter", {"filter": "g"}, token="eng").error.type == "NoControl"
    assert call(service, "position").data["filter"] == "i"
