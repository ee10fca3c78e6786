"""The dome's device service: ``pyros call dome open --wait`` and the rest.

Operations (sessions with progress, abortable): ``open`` and ``rotate`` move
the dome and need the majordome or the control lease; ``close`` and ``park``
are safety actions, accepted from any operator, and so is ``stop``. The state
is published under ``/device/<name>/...``: ``azimuth_deg``, ``target_azimuth_deg``,
``rotating``, ``shutter``, ``shutter_open_fraction``, ``parked``.

The driver is chosen by configuration (``driver = "sim"``), never by tests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from devices.common.device_service import DeviceService, motion, observatory_timing
from devices.common.driver_choice import choose_driver
from devices.dome.follower import DomeFollower
from devices.dome.interface import DomeDriver, DomeStatus
from devices.dome.shutter import ShutterState
from devices.dome.sim import SimulatedDome
from pyros.clock import get_clock
from pyros.config import active_config
from pyros.kv.subscriber import KVSubscriber
from pyros.service import CallContext, Quantity, Session, command, operation

log = logging.getLogger(__name__)

Azimuth = Annotated[float, Quantity("deg", minimum=0.0, maximum=360.0)]
DRIVERS = ("sim", "indi")
"""Drivers a dome can use: the simulator, or a dome behind an INDI server."""


def make_driver(driver: str, options: dict[str, Any]) -> DomeDriver:
    """The dome driver named in the configuration (``sim`` or ``indi``, see :data:`DRIVERS`).

    Raises:
        ValueError: For an unknown driver or options it does not take.
    """
    def indi(**settings: Any) -> DomeDriver:
        from devices.dome.indi import IndiDome

        return IndiDome(**settings)

    return choose_driver("dome", driver, {"sim": lambda **s: SimulatedDome(*observatory_timing(), **s),
                                          "indi": indi}, options)


class DomeService(DeviceService):
    """The dome: shutter and rotation."""

    service_name = "dome"
    version = "1.0.0"

    def __init__(self, name: str = "dome", driver: str = "sim", poll_s: float = 0.5, timeout_s: float = 600.0,
                 telescope: str = "telescope", follow_tolerance_deg: float = 2.0, **driver_options: Any) -> None:
        """Create the service and its driver.

        Args:
            name: Device name (also the MDP service name given by the configuration).
            driver: ``sim``.
            poll_s: Observatory seconds between two looks at a moving dome.
            timeout_s: Observatory seconds a motion may take before it is stopped and reported failed.
            telescope: The telescope the dome follows (its state is read from the K/V store).
            follow_tolerance_deg: How far the slit may lag behind the telescope while following.
            **driver_options: The driver's own settings (e.g. ``rotation_speed_deg_s`` for ``sim``).
        """
        super().__init__(name, poll_s=poll_s, timeout_s=timeout_s)
        self.driver = make_driver(driver, driver_options)
        self.telescope = telescope
        self._follower = DomeFollower(self.driver, self._telescope_azimuth, tolerance_deg=follow_tolerance_deg)
        self._telescope_state: KVSubscriber | None = None

    def _telescope_azimuth(self) -> float | None:
        if self._telescope_state is None:
            kv = active_config().kv
            self._telescope_state = KVSubscriber(kv.snapshot, kv.publisher, f"/device/{self.telescope}/")
        value = self._telescope_state.get(f"/device/{self.telescope}/azimuth_deg")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def on_stop(self) -> None:
        """Stop following, close the telescope subscription, stop any scenario being played."""
        super().on_stop()
        self._follower.stop()
        if self._telescope_state is not None:
            self._telescope_state.stop()

    @command(level="operator")
    def follow(self, call: CallContext, on: bool) -> dict[str, Any]:
        """Keep the slit in front of the telescope (on: motion, lease needed), or stop following (off: safety).

        Args:
            on: Whether to follow.
        """
        if on:
            self.lease.check_motion(call.principal, self._lease_clock())
            self._follower.poll_s = get_clock().wall_delay(self.poll_s)
            self._follower.start()
        else:
            self._follower.stop()
        self.state.update(following=self._follower.running)
        return {**self._read().to_dict(), "following": self._follower.running}

    def _read(self) -> DomeStatus:
        status: DomeStatus = self.read_status()
        return status

    def _follow(self, session: Session, start: Callable[[], None], done: Callable[[DomeStatus], bool],
                what: str) -> dict[str, Any]:
        return self.follow_motion(session, start, self._read, done, self.driver.stop, what)

    @command()
    def position(self) -> dict[str, Any]:
        """Where the dome is now (azimuth, shutter, motion)."""
        return self._read().to_dict()

    @operation(level="operator")
    @motion
    def open(self, session: Session) -> dict[str, Any]:
        """Open the shutter (refused while opening or open)."""
        return self._follow(session, self.driver.start_open, lambda s: s.shutter is ShutterState.OPEN,
                            "opening the shutter")

    @operation(level="operator")
    def close(self, session: Session) -> dict[str, Any]:
        """Close the shutter (safety: accepted from any operator, in any state)."""
        return self._follow(session, self.driver.start_close, lambda s: s.shutter is ShutterState.CLOSED,
                            "closing the shutter")

    @operation(level="operator")
    @motion
    def rotate(self, session: Session, azimuth: Azimuth) -> dict[str, Any]:
        """Turn the slit to an azimuth, the shorter way.

        Args:
            azimuth: Degrees east of north (360 is north, as 0).
        """
        target = azimuth % 360.0
        return self._follow(session, lambda: self.driver.start_rotation(target), lambda s: not s.rotating,
                            f"turning to {target:g} deg")

    @operation(level="operator")
    def park(self, session: Session) -> dict[str, Any]:
        """Stop following, close the shutter and turn to the park azimuth (safety)."""
        self._follower.stop()
        self.state.update(following=False)
        self._follow(session, self.driver.start_close, lambda s: s.shutter is ShutterState.CLOSED,
                     "closing the shutter")
        return self._follow(session, self.driver.start_park, lambda s: s.parked, "parking")

    @command(level="operator")
    def stop(self) -> dict[str, Any]:
        """Stop every motion where it is, and stop following (safety)."""
        self._follower.stop()
        self.state.update(following=False)
        self.supersede_motion()
        self.driver.stop()
        return self._read().to_dict()
