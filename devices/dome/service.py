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
from devices.common.faults import DeviceFault
from devices.dome.interface import DomeDriver, DomeStatus
from devices.dome.shutter import ShutterState
from devices.dome.sim import SimulatedDome
from pyros.service import Quantity, Session, command, operation

log = logging.getLogger(__name__)

Azimuth = Annotated[float, Quantity("deg", minimum=0.0, maximum=360.0)]
DRIVERS = ("sim",)
"""Drivers a dome can use (``indi`` comes with the INDI device drivers)."""


def make_driver(driver: str, options: dict[str, Any]) -> DomeDriver:
    """The dome driver named in the configuration.

    Raises:
        ValueError: For an unknown driver or options it does not take.
    """
    if driver == "sim":
        try:
            return SimulatedDome(*observatory_timing(), **options)
        except TypeError as exc:
            raise ValueError(f"dome driver 'sim': {exc}") from None
    raise ValueError(f"unknown dome driver {driver!r}; available: {', '.join(DRIVERS)}")


class DomeService(DeviceService):
    """The dome: shutter and rotation."""

    service_name = "dome"
    version = "1.0.0"

    def __init__(self, name: str = "dome", driver: str = "sim", poll_s: float = 0.5, timeout_s: float = 600.0,
                 **driver_options: Any) -> None:
        """Create the service and its driver.

        Args:
            name: Device name (also the MDP service name given by the configuration).
            driver: ``sim``.
            poll_s: Observatory seconds between two looks at a moving dome.
            timeout_s: Observatory seconds a motion may take before it is stopped and reported failed.
            **driver_options: The driver's own settings (e.g. ``rotation_speed_deg_s`` for ``sim``).
        """
        super().__init__(name, poll_s=poll_s, timeout_s=timeout_s)
        self.driver = make_driver(driver, driver_options)

    def on_start(self) -> None:
        """Publish the dome's state at once."""
        try:
            self._read()
        except DeviceFault as exc:  # the state appears with the first successful reading
            log.warning("%s does not answer at start: %s", self.name, exc)

    def _read(self) -> DomeStatus:
        status: DomeStatus = self.read_status()
        return status

    def _follow(self, session: Session, start: Callable[[], None], done: Callable[[DomeStatus], bool],
                what: str) -> dict[str, Any]:
        return self.follow(session, start, self._read, done, self.driver.stop, what)

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
        """Close the shutter and turn to the park azimuth (safety)."""
        self._follow(session, self.driver.start_close, lambda s: s.shutter is ShutterState.CLOSED,
                     "closing the shutter")
        return self._follow(session, lambda: self.driver.start_rotation(self.driver.park_azimuth_deg),
                            lambda s: s.parked, "parking")

    @command(level="operator")
    def stop(self) -> dict[str, Any]:
        """Stop every motion where it is (safety)."""
        self.driver.stop()
        return self._read().to_dict()
