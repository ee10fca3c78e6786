"""The observer's device calls: an operation aborted after it had done its work keeps its product."""

from __future__ import annotations

from typing import Any

import pytest

from pyros.clock import Clock
from pyros.errors import TransportError
from pyros.observing.device_calls import DeviceCaller, finished_its_work
from pyros.observing.reasons import Reason, SequenceStopped

STORED = "/archive/2026-06-20/cam_vis/frame.fits"


class ScriptedDevice:
    """A client answering ``expose``, ``wait`` and ``abort`` of one camera session as the test scripts."""

    def __init__(self, final: dict[str, Any] | None, running_rounds: int = 0) -> None:
        self.final = final
        self.running_rounds = running_rounds
        self.calls: list[str] = []

    def call(self, service: str, command: str, args: dict[str, Any] | None = None, **_: Any) -> Any:
        self.calls.append(command)
        if command == "expose":
            return {"session": "s-1", "instance": "", "status": "starting"}
        if command == "abort":
            return {"session": "s-1", "status": "stopping"}
        if command == "wait":
            if "abort" in self.calls:
                if self.final is None:
                    raise TransportError("cam_vis: no reply")
                return self.final
            if self.running_rounds > 0:
                self.running_rounds -= 1
                return {"session": "s-1", "status": "running"}
            return {"session": "s-1", "status": "done", "success": True, "result": {"image": STORED}}
        raise AssertionError(f"unexpected {command}")


def expose(device: ScriptedDevice, *, stop_after: int) -> dict[str, Any]:
    rounds = iter(range(1000))
    caller = DeviceCaller(device, Clock.simulated(1_782_000_000.0, 1.0), round_s=0.01)  # type: ignore[arg-type]
    return caller.operation("cam_vis", "expose", {"exposure": 60.0}, limit_s=3600.0,
                            should_stop=lambda: next(rounds) >= stop_after)


def done(success: bool, message: str, result: Any) -> dict[str, Any]:
    return {"session": "s-1", "status": "done", "success": success, "message": message, "result": result}


def test_a_frame_stored_while_the_abort_arrived_is_returned_as_done() -> None:
    final = done(False, "aborted", {"state": "idle", "image": STORED})
    device = ScriptedDevice(final, running_rounds=5)
    assert expose(device, stop_after=2)["result"]["image"] == STORED
    assert device.calls[-2:] == ["abort", "wait"]


def test_an_exposure_that_ended_before_the_abort_is_returned_as_done() -> None:
    final = done(True, "done", {"image": STORED})
    assert expose(ScriptedDevice(final, running_rounds=5), stop_after=1)["result"]["image"] == STORED


@pytest.mark.parametrize("final", [
    done(False, "aborted", {"state": "idle", "aborted": True, "image": None}),
    done(False, "aborted (DeviceFault: shutter stuck)", None),
    {"session": "s-1", "status": "stopping"},
    None,
], ids=["noticed the abort", "failed while stopping", "still stopping", "no answer"])
def test_an_exposure_abandoned_by_the_abort_stops_the_sequence(final: dict[str, Any] | None) -> None:
    with pytest.raises(SequenceStopped) as stopped:
        expose(ScriptedDevice(final, running_rounds=5), stop_after=2)
    assert stopped.value.reason is Reason.ABORTED and stopped.value.device == "cam_vis"


def test_finished_its_work_reads_only_done_sessions() -> None:
    assert not finished_its_work({"status": "running", "success": True})
    assert not finished_its_work(done(False, "aborted", ["not", "a", "map"]))
    assert not finished_its_work(done(False, "DeviceFault: cooler", {"image": STORED}))


def test_a_slew_superseded_by_the_majordomes_park_is_an_abort_not_a_device_failure() -> None:
    class Superseded(ScriptedDevice):
        def call(self, service: str, command: str, args: dict[str, Any] | None = None, **_: Any) -> Any:
            if command == "wait":
                self.calls.append(command)
                return done(False, "Superseded: the slew was superseded: another motion of telescope started", None)
            return super().call(service, command, args)

    with pytest.raises(SequenceStopped) as stopped:
        expose(Superseded(None), stop_after=1000)
    assert stopped.value.reason is Reason.ABORTED and "superseded" in stopped.value.detail
