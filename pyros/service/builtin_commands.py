"""The commands every service answers without extra code."""

from __future__ import annotations

import math
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from pyros.service.command import command
from pyros.service.context import CallContext
from pyros.service.refusal import Refusal

if TYPE_CHECKING:
    from pyros.service.runtime import ServiceRuntime

BUILTIN_NAMES: frozenset[str] = frozenset({"ping", "describe", "status", "wait", "abort", "sessions"})
"""Command names reserved for the built-in commands."""


class BuiltinCommands:
    """Built-in commands: ``ping``, ``describe`` and the session commands."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        """Bind the built-in commands to a runtime.

        Args:
            runtime: The runtime whose service they describe.
        """
        self._runtime = runtime

    @command()
    def ping(self) -> dict[str, Any]:
        """Tell who answers: service, instance, version, observatory time, pid and host."""
        rt = self._runtime
        return {
            "service": rt.service_name,
            "instance": rt.instance,
            "version": rt.version,
            "time": rt.now(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }

    @command()
    def describe(self) -> dict[str, Any]:
        """Describe the service: its commands, their parameters, levels, timeouts and documentation."""
        return self._runtime.describe()

    @command()
    def status(self, session: str) -> dict[str, Any]:
        """Return the state of a session of this instance.

        Args:
            session: The session id returned when the operation started.
        """
        return self._runtime.sessions.get(session).snapshot()

    @command()
    def wait(self, call: CallContext, session: str, timeout: float | None = None) -> dict[str, Any]:
        """Wait for a session to finish, streaming its state as progress on every change.

        Args:
            call: The request being served (filled by the runtime, not a wire argument).
            session: The session id returned when the operation started.
            timeout: Longest wait in seconds (none when omitted); when it
                expires the current state is returned, its status not done.

        Returns:
            The session dict.
        """
        if timeout is not None and (math.isnan(timeout) or timeout < 0):
            raise Refusal(
                "BadArgument", f"command 'wait': argument 'timeout' must be a non-negative number, got {timeout!r}"
            )
        registry = self._runtime.sessions
        state = registry.get(session)
        deadline = None if timeout is None or math.isinf(timeout) else time.monotonic() + timeout
        version, snap = state.versioned_snapshot()
        if snap["status"] == "done":
            return snap
        call.progress(snap)
        while not registry.closed:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            new_version, snap = state.wait_for_change(version, remaining)
            if snap["status"] == "done":
                return snap
            if new_version != version:
                version = new_version
                call.progress(snap)
        return state.snapshot()

    @command()
    def abort(self, call: CallContext, session: str) -> dict[str, Any]:
        """Ask a running session to stop (status becomes 'stopping'); needs the operation's level.

        Args:
            call: The request being served (filled by the runtime, not a wire argument).
            session: The session id returned when the operation started.

        Returns:
            The session dict after the request.
        """
        rt = self._runtime
        state = rt.sessions.get(session)
        spec = rt.command_spec(state.op)
        if spec is not None:
            rt.access.require(call.level, spec.level, f"aborting operation '{spec.name}'")
        state.request_stop()
        return state.snapshot()

    @command()
    def sessions(self) -> list[dict[str, Any]]:
        """List this instance's running sessions and its recently finished ones, oldest first."""
        return self._runtime.sessions.sessions()
