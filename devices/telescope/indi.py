"""A mount driven through an INDI server (``driver = "indi"``).

Properties used (INDI's standard telescope interface):

* ``EQUATORIAL_EOD_COORD`` (RA in hours, DEC in degrees): where the mount points, and the goto
  target when written; Busy while slewing.
* ``ON_COORD_SET`` (TRACK/SLEW/SYNC): what a new ``EQUATORIAL_EOD_COORD`` does: TRACK (slew, then
  track) for a RA/Dec target, SLEW (slew, then stop) for a horizontal one.
* ``HORIZONTAL_COORD`` (ALT, AZ in degrees), when the device has it: the altitude and azimuth, and
  the target of a horizontal slew if writable.
* ``TELESCOPE_TRACK_STATE`` (TRACK_ON/TRACK_OFF), ``TELESCOPE_PARK`` (PARK/UNPARK; Busy while
  parking), ``TELESCOPE_ABORT_MOTION`` (ABORT).

Coordinates: INDI's "EOD" (epoch of date, "JNow") coordinates are apparent places: true equator
and equinox of date. PyROS speaks ICRS degrees, so RA/Dec go through astropy's ``TETE`` frame at
the observatory clock's instant (:func:`icrs_to_jnow`, :func:`jnow_to_icrs`); they differ from ICRS
by precession since J2000, nutation and aberration (up to tens of arcminutes today). Altitude and
azimuth come from ``HORIZONTAL_COORD`` when the device has it, else from the ICRS position at the
configured site (:class:`~devices.telescope.horizon.Horizon`, geometric: no refraction).
"""

from __future__ import annotations

import math

import astropy.units as u
from astropy.coordinates import TETE, EarthLocation, SkyCoord
from astropy.time import Time

import pyros.astro  # noqa: F401  (applies the offline IERS policy before any transformation)
from devices.common.faults import DeviceFault
from devices.common.indi_link import IndiDeviceLink
from devices.telescope.horizon import Horizon
from devices.telescope.interface import MountStatus
from pyros.clock import get_clock
from pyros.indi import Permission, PropertyState, PropertyVector

ARRIVED_DEG = 0.02
"""A slew's acknowledgement counts as done when the reported position is this close to the target."""


def icrs_to_jnow(ra_deg: float, dec_deg: float, unix_s: float) -> tuple[float, float]:
    """(RA hours, Dec degrees) of date (apparent, astropy ``TETE``) of an ICRS position at an instant."""
    apparent = SkyCoord(ra=ra_deg * u.deg, dec=dec_deg * u.deg, frame="icrs").transform_to(
        TETE(obstime=Time(unix_s, format="unix", scale="utc")))
    return float(apparent.ra.hour) % 24.0, float(apparent.dec.deg)


def jnow_to_icrs(ra_hours: float, dec_deg: float, unix_s: float) -> tuple[float, float]:
    """ICRS (RA, Dec) degrees of an apparent position of date (RA in hours) at an instant."""
    apparent = SkyCoord(ra=ra_hours * u.hourangle, dec=dec_deg * u.deg,
                        frame=TETE(obstime=Time(unix_s, format="unix", scale="utc")))
    icrs = apparent.icrs
    return float(icrs.ra.deg) % 360.0, float(icrs.dec.deg)


def _on(vector: PropertyVector | None, switch: str) -> bool:
    return vector is not None and switch in vector.switches_on()


def _check_number(name: str, value: object, low: float, high: float, high_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high or (high_open and value == high):
        bracket = ")" if high_open else "]"
        raise ValueError(f"{name} must be in [{low:g}, {high:g}{bracket}, got {value!r}")
    return float(value)


class IndiMount:
    """A mount behind an INDI server (a :class:`~devices.telescope.interface.MountDriver`).

    Args:
        location: The site (for altitude and azimuth, and the altitude limit).
        host: INDI server host.
        port: INDI server TCP port.
        device: INDI device name.
        altitude_limit_deg: Lowest altitude a target may have (checked before anything is sent).
        connect_timeout_s: Wall seconds to connect and see the mount's properties.
        reply_timeout_s: Wall seconds the mount may take to acknowledge a command.

    Raises:
        ValueError: Naming a bad option.
    """

    REQUIRED = ("EQUATORIAL_EOD_COORD", "ON_COORD_SET", "TELESCOPE_PARK", "TELESCOPE_ABORT_MOTION")

    def __init__(self, location: EarthLocation, host: str = "127.0.0.1", port: int = 7624,
                 device: str = "Telescope Simulator", *, altitude_limit_deg: float = 15.0,
                 connect_timeout_s: float = 30.0, reply_timeout_s: float = 10.0) -> None:
        self.altitude_limit_deg = _check_number("altitude_limit_deg", altitude_limit_deg, 0.0, 90.0, high_open=True)
        self.horizon = Horizon(location)
        self.link = IndiDeviceLink(host, port, device, self.REQUIRED, connect_timeout_s=connect_timeout_s,
                                   reply_timeout_s=reply_timeout_s)
        self._target: dict[str, float] | None = None

    def status(self) -> MountStatus:
        """Where the mount points now, from the INDI properties (no request is sent).

        Raises:
            DeviceFault: A property is in Alert (with the device's message).
            DeviceDisconnected, DeviceSilent: The server or device cannot be reached.
        """
        now = get_clock().now()
        equatorial = self.link.read("EQUATORIAL_EOD_COORD")
        park = self.link.read("TELESCOPE_PARK")
        track = self.link.get("TELESCOPE_TRACK_STATE")
        horizontal = self.link.get("HORIZONTAL_COORD")
        ra_deg, dec_deg = jnow_to_icrs(equatorial.value("RA"), equatorial.value("DEC"), now)
        if horizontal is not None:
            altitude, azimuth = float(horizontal.value("ALT")), float(horizontal.value("AZ")) % 360.0
        else:
            altitude, azimuth = self.horizon.altaz(ra_deg, dec_deg, now)
        parked = _on(park, "PARK") and park.state is PropertyState.OK
        slewing = equatorial.state is PropertyState.BUSY or park.state is PropertyState.BUSY
        tracking = _on(track, "TRACK_ON") and not parked
        return MountStatus(altitude_deg=altitude, azimuth_deg=azimuth, ra_deg=ra_deg, dec_deg=dec_deg,
                           slewing=slewing, tracking=tracking, parked=parked,
                           target=dict(self._target) if self._target is not None else None)

    def _check_reachable(self, altitude_deg: float) -> None:
        if altitude_deg < self.altitude_limit_deg:
            raise ValueError(f"altitude {altitude_deg:.2f} deg is below the telescope's limit of "
                             f"{self.altitude_limit_deg:g} deg")

    def _refuse_if_parked(self) -> None:
        if _on(self.link.read("TELESCOPE_PARK"), "PARK"):
            raise DeviceFault("the telescope is parked; unpark it first")

    def _goto(self, mode: str, ra_hours: float, dec_deg: float) -> None:
        """``ON_COORD_SET`` = ``mode``, then the target in ``EQUATORIAL_EOD_COORD``."""
        if not _on(self.link.read("ON_COORD_SET"), mode):
            self.link.command("ON_COORD_SET", {mode: True}, lambda v: _on(v, mode))

        def arrived(vector: PropertyVector) -> bool:
            ra_error = abs((vector.value("RA") - ra_hours + 12.0) % 24.0 - 12.0) * 15.0
            return vector.state is PropertyState.OK and max(ra_error, abs(vector.value("DEC") - dec_deg)) < ARRIVED_DEG

        self.link.command("EQUATORIAL_EOD_COORD", {"RA": ra_hours, "DEC": dec_deg}, arrived)

    def start_slew_radec(self, ra_deg: float, dec_deg: float) -> None:
        """Slew to an ICRS position and track it (refused below the altitude limit, or while parked).

        Raises:
            ValueError: Out of range, or below the altitude limit now (nothing is sent).
            DeviceFault: Parked, refused by the mount, or no answer.
        """
        _check_number("RA", ra_deg, 0.0, 360.0, high_open=True)
        _check_number("Dec", dec_deg, -90.0, 90.0)
        now = get_clock().now()
        self._check_reachable(self.horizon.altaz(ra_deg, dec_deg, now)[0])
        self._refuse_if_parked()
        ra_hours, dec_of_date = icrs_to_jnow(ra_deg, dec_deg, now)
        self._target = {"ra_deg": float(ra_deg), "dec_deg": float(dec_deg)}
        self._goto("TRACK", ra_hours, dec_of_date)

    def start_slew_altaz(self, altitude_deg: float, azimuth_deg: float) -> None:
        """Slew to a fixed horizontal position; tracking stops.

        Uses ``HORIZONTAL_COORD`` when the device has it writable, else the
        position's apparent RA/Dec now with ``ON_COORD_SET`` = SLEW.

        Raises:
            ValueError: Out of range, or below the altitude limit (nothing is sent).
            DeviceFault: Parked, refused by the mount, or no answer.
        """
        _check_number("altitude", altitude_deg, -90.0, 90.0)
        _check_number("azimuth", azimuth_deg, 0.0, 360.0, high_open=True)
        self._check_reachable(altitude_deg)
        self._refuse_if_parked()
        self._target = {"altitude_deg": float(altitude_deg), "azimuth_deg": float(azimuth_deg)}
        horizontal = self.link.get("HORIZONTAL_COORD")
        if horizontal is not None and horizontal.permission is not Permission.RO:
            self.link.command("HORIZONTAL_COORD", {"ALT": float(altitude_deg), "AZ": float(azimuth_deg)})
            return
        now = get_clock().now()
        ra_deg, dec_deg = self.horizon.radec(altitude_deg, azimuth_deg, now)
        self._goto("SLEW", *icrs_to_jnow(ra_deg, dec_deg, now))

    def set_tracking(self, on: bool) -> None:
        """Start (refused while parked) or stop following the sky (``TELESCOPE_TRACK_STATE``).

        Raises:
            TypeError: ``on`` is not a bool.
            DeviceFault: Parked, no tracking property, refused, or no answer.
        """
        if not isinstance(on, bool):
            raise TypeError(f"tracking is on (True) or off (False), not {on!r}")
        if on:
            self._refuse_if_parked()
        switch = "TRACK_ON" if on else "TRACK_OFF"
        if self.link.get("TELESCOPE_TRACK_STATE") is None:
            raise DeviceFault(f"{self.link.where} has no TELESCOPE_TRACK_STATE: tracking cannot be switched")
        self.link.command("TELESCOPE_TRACK_STATE", {switch: True},
                          lambda v: v.state is not PropertyState.BUSY and _on(v, switch))

    def start_park(self) -> None:
        """Slew to the device's park position and stop there (safety: always sent)."""
        self._target = None
        self.link.command("TELESCOPE_PARK", {"PARK": True}, lambda v: v.state is PropertyState.OK and _on(v, "PARK"))

    def unpark(self) -> None:
        """Leave the parked state (waits until the mount reports it unparked)."""
        if not _on(self.link.read("TELESCOPE_PARK"), "PARK"):
            return
        done = self.link.command("TELESCOPE_PARK", {"UNPARK": True},
                                 lambda v: v.state is PropertyState.OK and _on(v, "UNPARK"))
        if not (done.state is PropertyState.OK and _on(done, "UNPARK")):
            with self.link.faults("unparking"):
                self.link.client().wait_for(self.link.device, "TELESCOPE_PARK",
                                            lambda v: v.state is not PropertyState.BUSY, self.link.reply_timeout_s)
            self.link.check_alert(self.link.read("TELESCOPE_PARK"))

    def stop(self) -> None:
        """Stop slewing (``TELESCOPE_ABORT_MOTION``) and tracking (``TELESCOPE_TRACK_STATE`` off)."""
        self.link.command("TELESCOPE_ABORT_MOTION", {"ABORT": True}, lambda v: v.state is not PropertyState.BUSY)
        if _on(self.link.get("TELESCOPE_TRACK_STATE"), "TRACK_ON"):
            self.link.command("TELESCOPE_TRACK_STATE", {"TRACK_OFF": True},
                              lambda v: v.state is not PropertyState.BUSY and _on(v, "TRACK_OFF"))

    def close(self) -> None:
        """Close the INDI connection."""
        self.link.close()
