"""The sessions of one service instance: starting, finding, aborting, retaining."""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from pyros.errors import MessageError
from pyros.messages import pack, unpack
from pyros.service.command import CommandSpec
from pyros.service.context import CallContext
from pyros.service.refusal import Refusal
from pyros.service.session import Session
from pyros.service.session_state import SessionState

logger = logging.getLogger(__name__)

SessionHook = Callable[[str, dict[str, Any]], None]
"""``on_session_change(op, session_dict)``."""


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SessionRegistry:
    """Owns the sessions of one instance.

    Session ids are ``<instance>/<epoch>-<n>``: the instance name lets a
    wrongly addressed request be told where to go, and the random epoch
    (fresh for each registry) keeps an id from naming a different session
    after the instance restarts. Running sessions are always kept; the last
    ``keep_finished`` finished ones are kept for ``status``/``wait``.
    """

    def __init__(
        self,
        *,
        service_name: str,
        instance: str,
        now: Callable[[], float],
        keep_finished: int = 100,
        on_change: SessionHook | None = None,
    ) -> None:
        """Create an empty registry.

        Args:
            service_name: The service name (for messages and session dicts).
            instance: The instance name, prefix of every session id.
            now: Observatory time, for start and end times.
            keep_finished: How many finished sessions are kept.
            on_change: Called as ``on_change(op, session_dict)`` on every change.
        """
        if keep_finished < 0:
            raise ValueError("keep_finished must not be negative")
        self._service = service_name
        self._instance = instance
        self._now = now
        self._keep = keep_finished
        self._on_change = on_change
        self._epoch = secrets.token_hex(3)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._running: dict[str, SessionState] = {}
        self._running_ops: dict[str, SessionState] = {}
        self._finished: OrderedDict[str, SessionState] = OrderedDict()
        self._threads: dict[str, threading.Thread] = {}
        self._accepting = True
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def start(
        self, spec: CommandSpec, target: object, kwargs: dict[str, Any], raw_args: dict[str, Any],
        context: CallContext | None = None,
    ) -> dict[str, Any]:
        """Start an operation in its own thread.

        Args:
            spec: The operation's specification.
            target: The service instance.
            kwargs: Validated arguments (see :meth:`CommandSpec.bind`).
            raw_args: The request's arguments, kept in the session dict.
            context: The starting request, for an operation that declares a ``CallContext`` parameter.

        Returns:
            ``{"session": id, "instance": name, "status": "starting"}``.

        Raises:
            Refusal: ``Busy`` when an exclusive operation is already running,
                ``ShuttingDown`` after :meth:`stop_all` or :meth:`close`, ``CommandFailed`` when no
                thread can be started.
        """
        with self._lock:
            if not self._accepting:
                raise Refusal("ShuttingDown", f"instance '{self._instance}' is shutting down")
            if spec.exclusive:
                running = self._running_ops.get(spec.name)
                if running is not None:
                    raise Refusal(
                        "Busy",
                        f"operation '{spec.name}' is already running as session '{running.id}'; "
                        "wait for it or abort it",
                    )
            seq = next(self._counter)
            state = SessionState(
                session_id=f"{self._instance}/{self._epoch}-{seq}",
                seq=seq,
                op=spec.name,
                service=self._service,
                instance=self._instance,
                args=raw_args,
                start_time=self._now(),
                on_change=self._on_change,
            )
            self._running[state.id] = state
            if spec.exclusive:
                self._running_ops[spec.name] = state
            thread = threading.Thread(
                target=self._run, args=(state, spec, target, kwargs, context), name=f"pyros-op-{state.id}",
                daemon=True
            )
            self._threads[state.id] = thread
        state.publish()
        try:
            thread.start()
        except RuntimeError as exc:
            self._retire(state)
            state.finish(success=False, message=f"could not start a thread: {exc}", result=None, end_time=self._now())
            raise Refusal("CommandFailed", f"operation '{spec.name}' could not start: {exc}") from None
        return {"session": state.id, "instance": self._instance, "status": "starting"}

    def _run(self, state: SessionState, spec: CommandSpec, target: object, kwargs: dict[str, Any],
             context: CallContext | None) -> None:
        success = False
        message = ""
        result: Any = None
        try:
            state.set_running()
            value = spec.invoke(target, kwargs, session=Session(state), context=context)
            try:
                result = unpack(pack(value))
            except (TypeError, ValueError, OverflowError, MessageError) as exc:
                message = f"BadResult: the result of '{spec.name}' is not msgpack-serialisable: {exc}"
            else:
                if state.stop_event.is_set():
                    message = "aborted"
                else:
                    success = True
                    message = "done"
        except Refusal as exc:
            message = f"{exc.error_type}: {exc.message}"
        except BaseException as exc:  # noqa: BLE001 - every failure ends the session, none escapes the thread
            kind = "CommandFailed" if type(exc) is Exception else type(exc).__name__
            message = f"{kind}: {exc}" if str(exc) else kind
            if state.stop_event.is_set():
                message = f"aborted ({message})"
            logger.warning("operation %s (session %s) failed", spec.name, state.id, exc_info=True)
        finally:
            self._retire(state)
            state.finish(success=success, message=message, result=result, end_time=self._now())

    def _retire(self, state: SessionState) -> None:
        with self._lock:
            self._running.pop(state.id, None)
            self._threads.pop(state.id, None)
            if self._running_ops.get(state.op) is state:
                del self._running_ops[state.op]
            if self._keep > 0:
                self._finished[state.id] = state
                while len(self._finished) > self._keep:
                    self._finished.popitem(last=False)

    def get(self, session_id: str) -> SessionState:
        """Return a session of this instance.

        Args:
            session_id: The id given by the request (untrusted).

        Raises:
            Refusal: ``UnknownSession`` naming the id and, when the id names
                another instance, the address to use.
        """
        with self._lock:
            state = self._running.get(session_id) or self._finished.get(session_id)
        if state is not None:
            return state
        shown = _short(session_id)
        owner = session_id.rsplit("/", 1)[0] if "/" in session_id else ""
        if owner == self._instance:
            raise Refusal(
                "UnknownSession",
                f"unknown session '{shown}': instance '{self._instance}' keeps only its running sessions "
                f"and its last {self._keep} finished ones",
            )
        if owner:
            raise Refusal(
                "UnknownSession",
                f"session '{shown}' is not owned by instance '{self._instance}'; it belongs to instance "
                f"'{_short(owner)}': address '{self._service}.{_short(owner)}'",
            )
        raise Refusal(
            "UnknownSession",
            f"unknown session '{shown}': session ids have the form '<instance>/<n>'; address "
            f"'{self._service}.<instance>' of the instance that started it",
        )

    def sessions(self) -> list[dict[str, Any]]:
        """Return the session dicts of the running and retained sessions, oldest first."""
        with self._lock:
            states = list(self._running.values()) + list(self._finished.values())
        states.sort(key=lambda s: s.seq)
        return [s.snapshot() for s in states]

    def stop_all(self) -> None:
        """Refuse new sessions from now on and request every running session to stop."""
        with self._lock:
            self._accepting = False
            states = list(self._running.values())
        for state in states:
            state.request_stop()

    def join(self, timeout: float) -> bool:
        """Wait for the operation threads to end.

        Args:
            timeout: Longest total wait in seconds.

        Returns:
            Whether every operation thread ended in time.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    def close(self) -> None:
        """Refuse new sessions and wake every thread waiting on a session (``wait`` then returns)."""
        with self._lock:
            self._accepting = False
            self._closed = True
            states = list(self._running.values()) + list(self._finished.values())
        for state in states:
            state.wake()
