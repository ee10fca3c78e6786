"""Calling device services for the observer: plain commands, and operations followed to their end.

A :class:`DeviceCaller` wraps one :class:`pyros.client.Client` (one per
thread: clients are not thread-safe). :meth:`DeviceCaller.command` runs a
plain command; :meth:`DeviceCaller.operation` starts an operation, then waits
for its session in short rounds of the built-in ``wait`` (addressed to the
instance that owns the session), so that between rounds it can notice that it
must stop (then it aborts the device's session and waits for it to end) and
that the device took longer than allowed (observatory time; then it aborts it
too). An operation that had already done its work when the abort reached it (an
exposure whose frame was stored meanwhile) is returned as done, so that its
product is recorded; the caller notices the stop before its next step.

Every failure becomes a :class:`~pyros.observing.reasons.SequenceStopped`
naming the device:

* ``device_unavailable``: no worker, no reply in time, the device silent or
  disconnected (``DeviceSilent``, ``DeviceDisconnected``), or an operation
  running longer than allowed;
* ``device_failed``: the device answered that it failed or refused
  (``DeviceFault``, ``BadTarget``, ``ArchiveFull``, ``NoControl``, ...);
* ``aborted``: the caller asked to stop, or another motion of the device superseded the
  operation (``Superseded``: the majordome parked the telescope during the slew).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pyros.client import Client
from pyros.clock import Clock
from pyros.errors import CommandError, TransportError
from pyros.observing.reasons import Reason, SequenceStopped

__all__ = ["UNAVAILABLE_ERRORS", "DeviceCaller"]

log = logging.getLogger(__name__)

UNAVAILABLE_ERRORS = frozenset({"DeviceSilent", "DeviceDisconnected", "ShuttingDown", "StartFailed",
                                "CommandTimeout"})
"""Error types that mean the device is not answering (rather than answering that it failed)."""

ABORT_GRACE_S = 15.0
"""Wall seconds given to a device's session to end after it was aborted."""


def _failure(device: str, what: str, error_type: str, message: str) -> SequenceStopped:
    if error_type == "Superseded":  # someone else moved the device (the majordome parking): not its fault
        return SequenceStopped(Reason.ABORTED, f"{device} {what}: {message}", device)
    reason = Reason.DEVICE_UNAVAILABLE if error_type in UNAVAILABLE_ERRORS else Reason.DEVICE_FAILED
    return SequenceStopped(reason, f"{device} {what}: {error_type}: {message}", device)


def _session_failure(device: str, what: str, session: dict[str, Any]) -> SequenceStopped:
    message = str(session.get("message") or "failed")
    error_type, _, rest = message.partition(": ")
    if rest and error_type.isidentifier():
        return _failure(device, what, error_type, rest)
    return SequenceStopped(Reason.DEVICE_FAILED, f"{device} {what}: {message}", device)


class DeviceCaller:
    """Runs device commands and operations through the broker for one thread.

    Args:
        client: The thread's client (its token must let it move the devices: the majordome's).
        clock: The observatory clock (deadlines of operations).
        reply_timeout_s: Wall seconds a device has to answer one request.
        round_s: Wall seconds of one round of ``wait`` (how quickly a stop is noticed).
    """

    def __init__(self, client: Client, clock: Clock, *, reply_timeout_s: float = 10.0, round_s: float = 0.25) -> None:
        if not reply_timeout_s > 0 or not round_s > 0:
            raise ValueError(f"reply_timeout_s and round_s must be > 0, got {reply_timeout_s!r}, {round_s!r}")
        self.client = client
        self.clock = clock
        self.reply_timeout_s = float(reply_timeout_s)
        self.round_s = float(round_s)

    def command(self, device: str, cmd: str, **args: Any) -> Any:
        """Run a plain command of a device and return its data.

        Raises:
            SequenceStopped: ``device_unavailable`` or ``device_failed``, naming the device.
        """
        what = f"'{cmd}'"
        try:
            return self.client.call(device, cmd, args, timeout=self.reply_timeout_s, retries=1)
        except TransportError as exc:
            raise SequenceStopped(Reason.DEVICE_UNAVAILABLE, f"{device} did not answer {what}: {exc}",
                                  device) from None
        except CommandError as exc:
            raise _failure(device, what, exc.type, exc.message) from None

    def operation(self, device: str, op: str, args: dict[str, Any], *, limit_s: float,
                  should_stop: Callable[[], bool],
                  on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Start an operation of a device and follow it to its end.

        Args:
            device: The device service.
            op: The operation.
            args: Its arguments.
            limit_s: Observatory seconds it may take; then it is aborted.
            should_stop: Asked between rounds; when true the device's session is aborted.
            on_progress: Given the device's session map at each round.

        Returns:
            The device's session map, done and successful.

        Raises:
            SequenceStopped: ``aborted`` after a stop, ``device_unavailable`` or ``device_failed``.
        """
        what = f"'{op}'"
        started = self.command(device, op, **args)
        if not isinstance(started, dict) or not isinstance(started.get("session"), str):
            raise SequenceStopped(Reason.DEVICE_FAILED, f"{device} {what} answered no session: {started!r}", device)
        session_id = started["session"]
        address = f"{device}.{started['instance']}" if started.get("instance") else device
        deadline = self.clock.now() + limit_s
        while True:
            ending: SequenceStopped | None = None
            if should_stop():
                ending = SequenceStopped(Reason.ABORTED, f"{device} {what} was aborted", device)
            elif self.clock.now() > deadline:
                ending = SequenceStopped(Reason.DEVICE_UNAVAILABLE,
                                         f"{device} did not finish {what} within {limit_s:g} s; aborted", device)
            if ending is not None:
                final = self._abort(address, device, session_id)
                if final is not None and finished_its_work(final):
                    return final
                raise ending
            session = self._wait(address, device, session_id, self.round_s)
            if on_progress is not None:
                on_progress(session)
            if session.get("status") == "done":
                if session.get("success"):
                    return session
                raise _session_failure(device, what, session)

    def _wait(self, address: str, device: str, session_id: str, seconds: float) -> dict[str, Any]:
        try:
            session = self.client.call(address, "wait", {"session": session_id, "timeout": seconds},
                                       timeout=self.reply_timeout_s + seconds, retries=1)
        except TransportError as exc:
            raise SequenceStopped(Reason.DEVICE_UNAVAILABLE, f"{device} stopped answering: {exc}", device) from None
        except CommandError as exc:
            raise _failure(device, "session", exc.type, exc.message) from None
        if not isinstance(session, dict):
            raise SequenceStopped(Reason.DEVICE_FAILED, f"{device} answered {session!r} for its session", device)
        return session

    def _abort(self, address: str, device: str, session_id: str) -> dict[str, Any] | None:
        """Abort a device's session and wait a little for it to end; its last state, ``None`` if not known.

        A device that does not answer is left (logged).
        """
        try:
            self.client.call(address, "abort", {"session": session_id}, timeout=self.reply_timeout_s, retries=0)
        except CommandError as exc:
            log.info("session %s of %s could not be aborted (%s: %s): it may have ended", session_id, device,
                     exc.type, exc.message)
        except TransportError as exc:
            log.warning("could not abort session %s of %s: %s", session_id, device, exc)
            return None
        try:
            final = self.client.call(address, "wait", {"session": session_id, "timeout": ABORT_GRACE_S},
                                     timeout=self.reply_timeout_s + ABORT_GRACE_S, retries=0)
        except (TransportError, CommandError) as exc:
            log.warning("session %s of %s: no end seen after its abort: %s", session_id, device, exc)
            return None
        return final if isinstance(final, dict) else None


def finished_its_work(session: dict[str, Any]) -> bool:
    """Whether a device's session, aborted or not, ended after doing its work.

    True when it succeeded (the abort came after its end), or when it ended ``aborted`` only
    because the abort arrived while it was returning a normal result (a result without
    ``aborted``: the motion was done, the frame stored). An operation that noticed the abort
    returns a result with ``aborted`` set, or fails.
    """
    if session.get("status") != "done":
        return False
    if session.get("success") is True:
        return True
    result = session.get("result")
    return session.get("message") == "aborted" and isinstance(result, dict) and not result.get("aborted")
