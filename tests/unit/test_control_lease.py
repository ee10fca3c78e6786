"""The control lease of a device, and device services guarding their motion commands with it."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from devices.common import MAJORDOME, ControlLease, DeviceService, motion
from pyros.service import AccessPolicy, Refusal, ServiceRuntime, Session, command, operation
from tests.unit.test_service_support import call


def refusal(action: Any) -> tuple[str, str]:
    with pytest.raises(Refusal) as raised:
        action()
    return raised.value.error_type, raised.value.message


def test_majordome_always_moves_others_only_with_the_lease() -> None:
    lease = ControlLease("dome")
    lease.check_motion(MAJORDOME, 0.0)
    assert refusal(lambda: lease.check_motion("alice", 0.0)) == (
        "NoControl", "dome moves only for the majordome or the holder of its lease; alice holds none "
                     "(acquire_control first)")
    assert lease.acquire("alice", 60, 0.0).to_dict() == {"device": "dome", "holder": "alice", "remaining_s": 60.0}
    lease.check_motion("alice", 10.0)
    lease.check_motion(MAJORDOME, 10.0)
    assert refusal(lambda: lease.check_motion("bob", 10.0)) == ("NoControl", "dome is leased to alice; "
                                                                             "bob may not move it")
    assert refusal(lambda: lease.acquire("bob", 60, 10.0)) == ("LeaseHeld", "dome is leased to alice for 50 s more")


def test_renew_lapse_release_and_break() -> None:
    lease = ControlLease("telescope")
    lease.acquire("alice", 60, 0.0)
    assert lease.acquire("alice", 120, 50.0).remaining_s == 120.0  # renewed by its holder
    assert lease.status(169.9).holder == "alice"
    assert lease.status(170.0).holder is None  # lapsed
    lease.acquire("bob", 10, 170.0)
    assert refusal(lambda: lease.release("alice", 171.0))[0] == "LeaseHeld"
    assert lease.release("alice", 171.0, force=True).holder is None
    lease.acquire("bob", 10, 172.0)
    assert lease.release("bob", 173.0).holder is None
    assert lease.release("carol", 174.0).holder is None  # releasing a free lease is fine


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), 4 * 3600 + 1])
def test_lease_duration_limits(seconds: float) -> None:
    assert refusal(lambda: ControlLease("dome", max_duration_s=4 * 3600).acquire("a", seconds, 0.0))[0] == \
        "BadArgument"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class LittleDome(DeviceService):
    """A device with one motion operation and one safety command."""

    service_name = "dome"

    def __init__(self, clock: FakeClock) -> None:
        super().__init__("dome", clock=clock)
        self.azimuth = 0.0

    @operation(level="operator")
    @motion
    def rotate(self, session: Session, azimuth: float) -> float:
        """Rotate.

        Args:
            azimuth: Where to.
        """
        self.azimuth = azimuth
        return azimuth

    @command(level="operator")
    def close(self) -> str:
        """Close the shutter (safety: anyone allowed to call it may)."""
        return "closing"


TOKENS = {"maj": "admin", "alice-tok": "operator", "bob-tok": "operator", "root-tok": "admin"}
NAMES = {"maj": MAJORDOME, "alice-tok": "alice", "bob-tok": "bob", "root-tok": "root"}


@pytest.fixture
def dome() -> Iterator[tuple[ServiceRuntime, FakeClock]]:
    clock = FakeClock()
    runtime = ServiceRuntime(LittleDome(clock), access=AccessPolicy(TOKENS, names=NAMES))
    yield runtime, clock
    runtime.close()


def error(reply: Any) -> str:
    assert not reply.ok
    return reply.error.type


def test_device_service_guards_motion_with_the_lease(dome: tuple[ServiceRuntime, FakeClock]) -> None:
    runtime, clock = dome
    assert call(runtime, "rotate", {"azimuth": 90}, token="maj").ok
    assert error(call(runtime, "rotate", {"azimuth": 10}, token="alice-tok")) == "NoControl"
    assert call(runtime, "close", token="bob-tok").data == "closing"  # safety is always accepted
    assert call(runtime, "acquire_control", {"seconds": 300}, token="alice-tok").data["holder"] == "alice"
    assert call(runtime, "rotate", {"azimuth": 10}, token="alice-tok").ok
    assert error(call(runtime, "rotate", {"azimuth": 20}, token="bob-tok")) == "NoControl"
    assert error(call(runtime, "acquire_control", token="bob-tok")) == "LeaseHeld"
    assert call(runtime, "control").data == {"device": "dome", "holder": "alice", "remaining_s": 300.0}
    clock.now = 301.0
    assert call(runtime, "control").data["holder"] is None
    assert call(runtime, "acquire_control", {"seconds": 60}, token="bob-tok").ok
    assert error(call(runtime, "break_control", token="bob-tok")) == "AccessDenied"
    assert call(runtime, "break_control", token="root-tok").data["holder"] is None
    assert error(call(runtime, "acquire_control", {"seconds": 0.5}, token="bob-tok")) == "BadArgument"
