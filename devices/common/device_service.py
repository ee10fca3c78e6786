"""The base class of device servers: motion guarded by the control lease, the lease commands, the live state.

A device server is a :class:`~pyros.service.Service` named after its device
instance (``dome``, ``cam_vis``). Its commands that move hardware are marked
:func:`motion`; the framework's :meth:`~pyros.service.Service.authorize` hook
refuses them (``NoControl``) unless the caller is the majordome or holds the
device's lease. Everything else (reading state, and the safety actions close,
park and stop) is unaffected. Its live state (:class:`DeviceState`) is
published under ``/device/<name>/...`` when the host has a K/V publisher.

One motion at a time: a motion started while another is followed (the majordome's ``park``
during the observer's slew, ``close`` while the dome opens) supersedes it, and so does the
``stop`` command. The superseded operation ends at its next look with ``Superseded`` and never
stops the device afterwards, even when it is aborted or times out: only the motion in progress
is ever stopped by its own operation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from devices.common.control_lease import ControlLease
from devices.common.device_state import DeviceState
from devices.common.faults import DeviceFault
from devices.common.scenario_player import ScenarioPlayer, fault_events
from pyros.clock import get_clock
from pyros.simulation.scenario import ScenarioError, load_scenario
from pyros.kv.publisher import KVPublisher
from pyros.service import CallContext, CommandSpec, Quantity, Refusal, Service, Session, command

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger(__name__)

_MOTION_ATTR = "__pyros_motion__"

LeaseSeconds = Annotated[float, Quantity("s", minimum=1.0, maximum=4 * 3600.0)]


def motion(func: F) -> F:
    """Mark a device command or operation as moving hardware (apply it under ``@command``/``@operation``)."""
    setattr(func, _MOTION_ATTR, True)
    return func


def is_motion(command: CommandSpec) -> bool:
    """Whether a command was marked with :func:`motion`."""
    return bool(getattr(command.function, _MOTION_ATTR, False))


def observatory_timing() -> tuple[Callable[[], float], Callable[[float], None]]:
    """``(now, sleep)`` on the observatory clock, for simulators: UNIX seconds, and a sleep in observatory seconds."""
    clock = get_clock()
    return clock.now, lambda seconds: time.sleep(clock.wall_delay(seconds))


class DeviceService(Service):
    """Base of the device services: the control lease and its commands, the state, following motions.

    Args:
        name: The device instance name; also the MDP service name.
        poll_s: Observatory seconds between two looks at a moving device.
        timeout_s: Observatory seconds a motion may take before it is stopped and reported failed.
        clock: Monotonic clock of the lease (injectable for tests).
    """

    def __init__(self, name: str, *, poll_s: float = 0.5, timeout_s: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < poll_s <= 60 or not 0 < timeout_s <= 86400:
            raise ValueError(f"poll_s must be in (0, 60] and timeout_s in (0, 86400], got {poll_s}, {timeout_s}")
        self.name = name
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.lease = ControlLease(name)
        self.state = DeviceState(name)
        self._lease_clock = clock
        self._scenario: ScenarioPlayer | None = None
        self._motion_lock = threading.Lock()
        self._motion_serial = 0

    def read_status(self) -> Any:
        """Read the driver's status, publish it (:attr:`state`) and return it."""
        status = self.driver.status()
        self.state.update(**status.to_dict())
        return status

    driver: Any
    """The device's driver (set by the subclass): ``status()`` with ``to_dict()``, and its commands."""

    def follow_motion(self, session: Session, start: Callable[[], None], read: Callable[[], Any],
                      done: Callable[[Any], bool], stop: Callable[[], None], what: str) -> dict[str, Any]:
        """Start a motion, then report the device's status until it is done.

        The motion is stopped, and the session fails, after :attr:`timeout_s`; an abort stops it
        too and returns the status with ``aborted``. A later motion (or :meth:`supersede_motion`)
        ends this one with ``Superseded``, without stopping the device.

        Args:
            session: The operation's session (progress goes to its ``data``).
            start: Starts the motion (returns at once).
            read: Reads the status (an object with ``to_dict()``) and publishes it.
            done: Whether a status is the end of the motion.
            stop: Stops the device.
            what: What the motion is, for the messages.

        Raises:
            DeviceFault: When the device fails or the motion times out.
            pyros.service.Refusal: ``Superseded`` when another motion took the device.
        """
        clock = get_clock()
        with self._motion_lock:
            mine = self._next_motion()
            start()
        deadline = clock.now() + self.timeout_s
        while True:
            status = read()
            session.update(status.to_dict())
            if self._motion_serial != mine:
                raise Refusal("Superseded", f"{what} was superseded: another motion of {self.name} started, "
                                            "or it was stopped")
            if done(status):
                return dict(status.to_dict())
            if clock.now() > deadline:
                self._stop_if_current(mine, stop)
                raise DeviceFault(f"{self.name} did not finish {what} within {self.timeout_s:g} s; stopped")
            if session.sleep(clock.wall_delay(self.poll_s)):
                self._stop_if_current(mine, stop)
                return {**read().to_dict(), "aborted": True}

    def supersede_motion(self) -> None:
        """End the motion being followed, if any (``Superseded``): for commands that stop or move the device."""
        with self._motion_lock:
            self._next_motion()

    def _next_motion(self) -> int:
        """Number a new motion (under :attr:`_motion_lock`): the one followed before is superseded."""
        self._motion_serial += 1
        return self._motion_serial

    def _stop_if_current(self, serial: int, stop: Callable[[], None]) -> None:
        with self._motion_lock:
            if self._motion_serial == serial:
                stop()

    def on_kv_publisher(self, publisher: KVPublisher) -> None:
        """Publish the device's state under ``/device/<name>/...`` from now on."""
        self.state.attach(publisher.set)

    def authorize(self, command: CommandSpec, call: CallContext) -> None:
        """Refuse a motion command to anyone but the majordome and the lease holder."""
        if is_motion(command):
            self.lease.check_motion(call.principal, self._lease_clock())

    @command(level="operator")
    def acquire_control(self, call: CallContext, seconds: LeaseSeconds = 600.0) -> dict[str, object]:
        """Take (or renew) this device's control lease: while held, only you and the majordome move it.

        Args:
            seconds: How long the lease lasts unless renewed or released.
        """
        return self.lease.acquire(call.principal, seconds, self._lease_clock()).to_dict()

    @command(level="operator")
    def release_control(self, call: CallContext) -> dict[str, object]:
        """Give this device's control lease back."""
        return self.lease.release(call.principal, self._lease_clock()).to_dict()

    @command(level="admin")
    def break_control(self, call: CallContext) -> dict[str, object]:
        """Take the control lease away from whoever holds it (administrators)."""
        return self.lease.release(call.principal, self._lease_clock(), force=True).to_dict()

    @command(level="admin")
    def inject_fault(self, fault: dict[str, Any]) -> dict[str, Any]:
        """Make the simulated device misbehave (simulators only; see docs/devices.md).

        Args:
            fault: E.g. ``{"fault": "silence", "seconds": 30}``, ``{"fault": "latency", "seconds": 2}``,
                ``{"fault": "wrong_value", "property": "azimuth_deg", "value": 12}``, ``{"fault": "clear"}``.
        """
        inject = getattr(getattr(self, "driver", None), "inject_fault", None)
        if inject is None:
            raise Refusal("NotSupported", f"the driver of {self.name} takes no injected faults")
        try:
            inject(fault)
        except ValueError as exc:
            raise Refusal("BadArgument", str(exc)) from None
        return {"injected": fault}

    @command(level="admin")
    def scenario(self, path: str) -> dict[str, Any]:
        """Make the simulated device follow a scenario file from now on (simulators only; see docs/devices.md).

        A driver that reads scenarios itself (the PLC's values) gets the file;
        for the others, the file's entries for this device are faults, applied
        at their times.

        Args:
            path: The scenario file (JSON), as the service's host sees it.
        """
        clock = get_clock()
        start = clock.now()
        load = getattr(self.driver, "load_scenario", None)
        inject = getattr(self.driver, "inject_fault", None)
        try:
            if load is not None:
                loaded = load(path, start)
                return {"path": path, "start": start, "duration_s": loaded.duration_s, "events": len(loaded.events)}
            if inject is None:
                raise Refusal("NotSupported", f"the driver of {self.name} follows no scenarios")
            scenario = load_scenario(path)
            events = fault_events(scenario, self.name)
        except (ScenarioError, ValueError) as exc:
            raise Refusal("BadArgument", str(exc)) from None
        if self._scenario is not None:
            self._scenario.stop()
        self._scenario = ScenarioPlayer(events, inject, clock, start).begin()
        return {"path": path, "start": start, "duration_s": scenario.duration_s, "events": len(events)}

    def on_start(self) -> None:
        """Publish the device's state at once, so that its keys exist before anything moves it.

        A device that does not answer yet is logged; its state appears with the first
        successful reading. A service without a driver has nothing to publish.
        """
        if getattr(self, "driver", None) is None:
            return
        try:
            self.read_status()
        except DeviceFault as exc:
            log.warning("%s does not answer at start: %s", self.name, exc)

    def on_stop(self) -> None:
        """Stop a scenario being played."""
        if self._scenario is not None:
            self._scenario.stop()

    @command()
    def control(self) -> dict[str, object]:
        """Who holds this device's control lease, and for how long."""
        return self.lease.status(self._lease_clock()).to_dict()
