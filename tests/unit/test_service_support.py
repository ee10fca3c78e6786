"""Helpers shared by the service framework tests (no tests here).

Tests drive :meth:`ServiceRuntime.handle` with encoded request bodies and
decode the replies, exactly as the MDP worker layer will.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from pyros.messages import Partial, Reply, Request, decode_reply
from pyros.service import ServiceRuntime

TIMEOUT = 10.0
"""Generous bound for anything a test waits for."""


class PartialSink:
    """Collects PARTIAL bodies sent by a runtime and lets a test wait for one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.progress: list[dict[str, Any]] = []
        self.ids: list[str] = []

    def __call__(self, body: bytes) -> None:
        decoded = decode_reply(body)
        if not isinstance(decoded, Partial):
            raise TypeError(f"a PARTIAL was expected, got {decoded!r}")
        with self._cond:
            self.progress.append(decoded.progress)
            self.ids.append(decoded.id)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT) -> dict[str, Any]:
        """Return the first collected progress map satisfying ``predicate``, waiting for it."""
        with self._cond:
            found: list[dict[str, Any]] = []

            def ready() -> bool:
                found[:] = [p for p in self.progress if predicate(p)]
                return bool(found)

            if not self._cond.wait_for(ready, timeout):
                raise AssertionError(f"no matching progress within {timeout} s; got {self.progress}")
            return found[0]


def call(
    runtime: ServiceRuntime,
    cmd: str,
    args: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    rid: str | None = None,
    partials: Callable[[bytes], None] | None = None,
) -> Reply:
    """Send one request through ``runtime.handle`` and return the decoded final reply."""
    body = Request(id=rid or uuid.uuid4().hex, cmd=cmd, args=args or {}, token=token).encode()
    decoded = decode_reply(runtime.handle(body, partials or (lambda _body: None)))
    if not isinstance(decoded, Reply):
        raise TypeError(f"a final reply was expected, got {decoded!r}")
    return decoded


def call_raw(runtime: ServiceRuntime, body: Any) -> Reply:
    """Send an arbitrary body and return the decoded reply."""
    decoded = decode_reply(runtime.handle(body, lambda _body: None))
    if not isinstance(decoded, Reply):
        raise TypeError(f"a final reply was expected, got {decoded!r}")
    return decoded


class Background:
    """Runs a function in a thread and hands back its result."""

    def __init__(self, func: Callable[[], Any]) -> None:
        self._func = func
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._func()
        except BaseException as exc:  # noqa: BLE001 - re-raised in get()
            self.error = exc
        finally:
            self.done.set()

    def get(self, timeout: float = TIMEOUT) -> Any:
        """Wait for the function and return its result (or raise its exception)."""
        if not self.done.wait(timeout):
            raise AssertionError(f"background call did not finish within {timeout} s")
        if self.error is not None:
            raise self.error
        return self.result


class CountingClock:
    """A manual monotonic clock that also signals every time it is read."""

    def __init__(self, start: float = 1000.0) -> None:
        self._cond = threading.Condition()
        self.value = start
        self.reads = 0

    def __call__(self) -> float:
        with self._cond:
            self.reads += 1
            self._cond.notify_all()
            return self.value

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._cond:
            self.value += seconds

    def wait_reads(self, count: int, timeout: float = TIMEOUT) -> None:
        """Block until the clock has been read at least ``count`` times in total."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.reads >= count, timeout):
                raise AssertionError(f"clock read {self.reads} times, expected {count} within {timeout} s")
