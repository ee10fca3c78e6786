"""Runtime lifecycle: on_start/on_stop hooks, start failures, context manager, call context."""

from __future__ import annotations

from typing import Any

from pyros.service import CallContext, Service, ServiceRuntime, command
from tests.unit.test_service_support import PartialSink, call


class Lifecycle(Service):
    """Records its hooks; fails to start while ``broken``."""

    def __init__(self, broken: bool = False) -> None:
        self.broken = broken
        self.events: list[str] = []

    def on_start(self) -> None:
        if self.broken:
            raise OSError("serial port busy")
        self.events.append("start")

    def on_stop(self) -> None:
        self.events.append("stop")

    @command()
    def hello(self) -> str:
        """Say hello."""
        return "hello"

    @command()
    def chatty(self, call: CallContext, count: int = 2) -> dict[str, Any]:
        """Send progress reports, then return who called.

        Args:
            call: Filled by the runtime.
            count: How many reports.
        """
        for n in range(count):
            call.progress({"n": n})
        return {"id": call.request_id, "command": call.command, "level": call.level}


def test_first_request_starts_the_service() -> None:
    service = Lifecycle()
    runtime = ServiceRuntime(service, instance="x")
    assert service.events == []
    assert call(runtime, "hello").data == "hello"
    assert call(runtime, "hello").ok
    runtime.close()
    assert service.events == ["start", "stop"]


def test_failed_start_is_reported_and_retried() -> None:
    service = Lifecycle(broken=True)
    runtime = ServiceRuntime(service, instance="x")
    reply = call(runtime, "hello", rid="a")
    assert reply.error is not None
    assert reply.error.type == "StartFailed"
    assert "serial port busy" in reply.error.message
    service.broken = False
    assert call(runtime, "hello", rid="a").data == "hello"  # the failure was not cached
    runtime.close()
    assert service.events == ["start", "stop"]


def test_close_without_start_does_not_call_on_stop() -> None:
    service = Lifecycle()
    ServiceRuntime(service, instance="x").close()
    assert service.events == []


def test_context_manager() -> None:
    service = Lifecycle()
    with ServiceRuntime(service, instance="x") as runtime:
        assert service.events == ["start"]
        assert call(runtime, "hello").ok
    assert service.events == ["start", "stop"]


def test_call_context_is_injected_and_streams_progress() -> None:
    runtime = ServiceRuntime(Lifecycle(), instance="x")
    sink = PartialSink()
    reply = call(runtime, "chatty", {"count": 3}, rid="ctx-1", partials=sink)
    assert reply.data == {"id": "ctx-1", "command": "chatty", "level": "observer"}
    assert sink.progress == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert sink.ids == ["ctx-1"] * 3
    params = call(runtime, "describe").data["commands"]["chatty"]["params"]
    assert [p["name"] for p in params] == ["count"]
    runtime.close()


def test_failing_partial_transport_does_not_fail_the_command() -> None:
    runtime = ServiceRuntime(Lifecycle(), instance="x")

    def broken(_body: bytes) -> None:
        raise ConnectionError("socket closed")

    assert call(runtime, "chatty", partials=broken).ok
    runtime.close()
