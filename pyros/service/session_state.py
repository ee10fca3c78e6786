"""The framework's record of one run of an operation (OCS-style session)."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

STARTING = "starting"
RUNNING = "running"
STOPPING = "stopping"
DONE = "done"
STATUSES: tuple[str, ...] = (STARTING, RUNNING, STOPPING, DONE)
"""Session status values, in the order a session goes through them."""


class SessionState:
    """The state of one session, shared by its operation thread and the request threads.

    Every change bumps a version number, wakes the threads waiting for a
    change and calls the change hook with a snapshot. Changes are announced
    to the hook in the order they were made. The snapshot is the session
    dict that ``status`` and ``wait`` return::

        {"session", "op", "service", "instance", "args", "status",
         "success", "message", "result", "data", "start_time", "end_time"}

    ``success`` is ``None`` until the session is done. Values held in the
    state are in wire form (already checked to be msgpack-serialisable).
    """

    def __init__(
        self,
        *,
        session_id: str,
        seq: int,
        op: str,
        service: str,
        instance: str,
        args: dict[str, Any],
        start_time: float,
        on_change: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        """Create the state of a session that is starting.

        Args:
            session_id: The session id (``<instance>/<...>``).
            seq: Order of creation within the instance.
            op: The operation (command) name.
            service: The service name.
            instance: The instance name.
            args: The arguments of the request that started it (wire form).
            start_time: Observatory time of the start (UNIX seconds).
            on_change: Called as ``on_change(op, snapshot)`` after every change.
        """
        self.seq = seq
        self._on_change = on_change
        self._cond = threading.Condition(threading.Lock())
        self._announce = threading.RLock()
        self._stop = threading.Event()
        self._version = 0
        self._state: dict[str, Any] = {
            "session": session_id,
            "op": op,
            "service": service,
            "instance": instance,
            "args": args,
            "status": STARTING,
            "success": None,
            "message": "",
            "result": None,
            "data": {},
            "start_time": start_time,
            "end_time": None,
        }

    @property
    def id(self) -> str:
        """The session id."""
        return str(self._state["session"])

    @property
    def op(self) -> str:
        """The operation name."""
        return str(self._state["op"])

    @property
    def stop_event(self) -> threading.Event:
        """Set once an abort has been requested."""
        return self._stop

    @property
    def done(self) -> bool:
        """Whether the session has finished."""
        with self._cond:
            return bool(self._state["status"] == DONE)

    def snapshot(self) -> dict[str, Any]:
        """Return a copy of the session dict."""
        return self.versioned_snapshot()[1]

    def versioned_snapshot(self) -> tuple[int, dict[str, Any]]:
        """Return the current version number and a copy of the session dict."""
        with self._cond:
            return self._version, copy.deepcopy(self._state)

    def publish(self) -> None:
        """Announce the current state to the change hook without changing it."""
        with self._announce:
            self._call_hook(self.snapshot())

    def _change(self, mutate: Callable[[dict[str, Any]], bool]) -> bool:
        with self._announce:
            with self._cond:
                if not mutate(self._state):
                    return False
                self._version += 1
                snap = copy.deepcopy(self._state)
                self._cond.notify_all()
            self._call_hook(snap)
        return True

    def _call_hook(self, snap: dict[str, Any]) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(str(snap["op"]), snap)
        except Exception:  # noqa: BLE001 - a faulty hook must not break the session
            logger.exception("session change hook failed for session %s", snap["session"])

    def set_running(self) -> None:
        """Move from ``starting`` to ``running`` (unless an abort came first)."""

        def mutate(state: dict[str, Any]) -> bool:
            if state["status"] != STARTING:
                return False
            state["status"] = RUNNING
            return True

        self._change(mutate)

    def update_data(self, values: dict[str, Any]) -> bool:
        """Merge wire-form values into the session's ``data``.

        Args:
            values: Already checked to be msgpack-serialisable.

        Returns:
            False when the session is already done (the update is dropped).
        """

        def mutate(state: dict[str, Any]) -> bool:
            if state["status"] == DONE:
                return False
            state["data"].update(values)
            return True

        return self._change(mutate)

    def request_stop(self) -> bool:
        """Ask the operation to stop: sets the stop event, status ``stopping``.

        Returns:
            Whether the status changed (False if done or already stopping).
        """

        def mutate(state: dict[str, Any]) -> bool:
            if state["status"] in (DONE, STOPPING):
                return False
            self._stop.set()
            state["status"] = STOPPING
            return True

        return self._change(mutate)

    def finish(self, *, success: bool, message: str, result: Any, end_time: float) -> None:
        """Mark the session done.

        Args:
            success: The outcome.
            message: A human-readable summary of the outcome.
            result: The operation's return value, in wire form.
            end_time: Observatory time of the end (UNIX seconds).
        """

        def mutate(state: dict[str, Any]) -> bool:
            if state["status"] == DONE:
                return False
            state.update(status=DONE, success=success, message=message, result=result, end_time=end_time)
            return True

        self._change(mutate)

    def wait_for_change(self, seen_version: int, timeout: float | None) -> tuple[int, dict[str, Any]]:
        """Block until the version differs from ``seen_version``, a wake-up, or the timeout.

        Args:
            seen_version: The version the caller has already seen.
            timeout: Longest wait in seconds, or ``None`` for no limit.

        Returns:
            The version and a copy of the session dict at return.
        """
        with self._cond:
            if self._version == seen_version and self._state["status"] != DONE:
                self._cond.wait(timeout)
            return self._version, copy.deepcopy(self._state)

    def wake(self) -> None:
        """Wake every thread blocked in :meth:`wait_for_change`."""
        with self._cond:
            self._cond.notify_all()
