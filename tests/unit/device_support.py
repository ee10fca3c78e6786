"""Helpers for the device service tests (no tests here): a fast simulated clock, running an operation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyros.clock import Clock, get_clock, set_clock
from pyros.service import AccessPolicy, Service, ServiceRuntime
from tests.unit.test_service_support import call

START = 1_780_279_200.0
"""2026-06-01T02:00:00Z: night at the default site."""
TOKENS = {"maj": "admin", "eng": "operator", "root": "admin"}
NAMES = {"maj": "majordome", "eng": "engineer", "root": "root"}
"""``maj`` is the majordome; ``eng`` an operator without a lease; ``root`` an administrator."""


@contextmanager
def fast_device(make: Any, speed: float = 400.0) -> Iterator[ServiceRuntime]:
    """Serve ``make()`` (a device service) in a runtime on a simulated clock running ``speed`` times fast."""
    previous = get_clock()
    set_clock(Clock.simulated(start=START, speed=speed))
    service: Service = make()
    runtime = ServiceRuntime(service, access=AccessPolicy(TOKENS, names=NAMES))
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.close()
        set_clock(previous)


def run(runtime: ServiceRuntime, cmd: str, args: dict[str, Any] | None = None, token: str = "maj") -> Any:
    """Start an operation and wait for its outcome (the session map)."""
    started = call(runtime, cmd, args or {}, token=token)
    assert started.ok, started.error
    return call(runtime, "wait", {"session": started.data["session"]}, token=token).data
