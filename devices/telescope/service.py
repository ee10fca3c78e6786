"""The telescope's device service: slews, tracking, park.

Operations (sessions with progress, abortable): ``slew`` (to ICRS RA/Dec, then
tracking) and ``slew_altaz`` move the mount and need the majordome or the
control lease, as do ``track`` (on) and ``unpark``; ``park`` and ``stop`` are
safety actions. A target below the altitude limit is refused before anything
moves. The state is published under ``/device/<name>/...``: ``altitude_deg``,
``azimuth_deg``, ``ra_deg``, ``dec_deg``, ``slewing``, ``tracking``, ``parked``, ``target``.
"""

from __future__ import annotations

from typing import Annotated, Any

from devices.common.device_service import DeviceService, motion, observatory_timing
from devices.common.driver_choice import choose_driver
from devices.telescope.interface import MountDriver, MountStatus
from devices.telescope.sim import SimulatedMount
from pyros.config import active_config
from pyros.service import CallContext, Quantity, Refusal, Session, command, operation

RightAscension = Annotated[float, Quantity("deg", minimum=0.0, maximum=360.0)]
Declination = Annotated[float, Quantity("deg", minimum=-90.0, maximum=90.0)]
Altitude = Annotated[float, Quantity("deg", minimum=0.0, maximum=90.0)]
Azimuth = Annotated[float, Quantity("deg", minimum=0.0, maximum=360.0)]
DRIVERS = ("sim", "indi")
"""Drivers a telescope can use: the simulator, or a mount behind an INDI server."""


def make_driver(driver: str, options: dict[str, Any]) -> MountDriver:
    """The mount driver named in the configuration (the site comes from the configuration).

    Raises:
        ValueError: For an unknown driver or options it does not take.
    """
    from pyros.astro import site_location

    def indi(**settings: Any) -> MountDriver:
        from devices.telescope.indi import IndiMount

        return IndiMount(site_location(active_config().site), **settings)

    def sim(**settings: Any) -> MountDriver:
        return SimulatedMount(site_location(active_config().site), *observatory_timing(), **settings)

    return choose_driver("telescope", driver, {"sim": sim, "indi": indi}, options)


class TelescopeService(DeviceService):
    """The telescope mount: slews, tracking, park."""

    service_name = "telescope"
    version = "1.0.0"

    def __init__(self, name: str = "telescope", driver: str = "sim", poll_s: float = 0.5,
                 timeout_s: float = 600.0, **driver_options: Any) -> None:
        """Create the service and its driver.

        Args:
            name: Device name.
            driver: ``sim``.
            poll_s: Observatory seconds between two looks at a slewing mount.
            timeout_s: Observatory seconds a slew may take before it is stopped and reported failed.
            **driver_options: The driver's own settings (``slew_rate_deg_s``, ``altitude_limit_deg``, ...).
        """
        super().__init__(name, poll_s=poll_s, timeout_s=timeout_s)
        self.driver = make_driver(driver, driver_options)

    def _read(self) -> MountStatus:
        status: MountStatus = self.read_status()
        return status

    def _slew(self, session: Session, start: Any, what: str) -> dict[str, Any]:
        try:
            return self.follow_motion(session, start, self._read, lambda s: not s.slewing, self.driver.stop, what)
        except ValueError as exc:  # below the altitude limit, or out of range: nothing moved
            raise Refusal("BadTarget", str(exc)) from None

    @command()
    def position(self) -> dict[str, Any]:
        """Where the telescope points now."""
        return self._read().to_dict()

    @operation(level="operator")
    @motion
    def slew(self, session: Session, ra: RightAscension, dec: Declination) -> dict[str, Any]:
        """Slew to an ICRS position and track it (refused below the altitude limit).

        Args:
            ra: Right ascension (360 is 0).
            dec: Declination.
        """
        target_ra = ra % 360.0
        return self._slew(session, lambda: self.driver.start_slew_radec(target_ra, dec),
                          f"the slew to RA {target_ra:g} Dec {dec:g}")

    @operation(level="operator")
    @motion
    def slew_altaz(self, session: Session, altitude: Altitude, azimuth: Azimuth) -> dict[str, Any]:
        """Slew to a fixed horizontal position; tracking stops (refused below the altitude limit).

        Args:
            altitude: Altitude above the horizon.
            azimuth: Degrees east of north (360 is 0).
        """
        target_az = azimuth % 360.0
        return self._slew(session, lambda: self.driver.start_slew_altaz(altitude, target_az),
                          f"the slew to alt {altitude:g} az {target_az:g}")

    @command(level="operator")
    def track(self, call: CallContext, on: bool) -> dict[str, Any]:
        """Follow the sky from where the telescope points (on: motion, lease needed), or stop following (off).

        Args:
            on: Whether to track.
        """
        if on:
            self.lease.check_motion(call.principal, self._lease_clock())
        self.driver.set_tracking(on)
        return self._read().to_dict()

    @operation(level="operator")
    def park(self, session: Session) -> dict[str, Any]:
        """Slew to the park position and stop tracking (safety)."""
        return self.follow_motion(session, self.driver.start_park, self._read, lambda s: s.parked, self.driver.stop,
                           "parking")

    @command(level="operator")
    @motion
    def unpark(self) -> dict[str, Any]:
        """Leave the park state (the telescope does not move)."""
        self.driver.unpark()
        return self._read().to_dict()

    @command(level="operator")
    def stop(self) -> dict[str, Any]:
        """Stop slewing and tracking (safety)."""
        self.supersede_motion()
        self.driver.stop()
        return self._read().to_dict()
