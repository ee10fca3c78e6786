"""A simulated alt-azimuth mount: two axes at finite speeds on the observatory clock, an altitude limit, faults.

The mount advances each time it is looked at or commanded: each axis moves
toward the commanded position at most ``slew_rate_deg_s`` times the elapsed
observatory seconds. While tracking a RA/Dec target the commanded position is
the target's position at that instant, so the mount follows the sky. The
azimuth axis takes the shorter way round.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from astropy.coordinates import EarthLocation

from devices.common.faults import DeviceFault, Faults
from devices.telescope.horizon import Horizon
from devices.telescope.interface import MountStatus

ARRIVED_DEG = 1e-3
"""An axis within this of its commanded position has arrived."""


def _toward(position: float, goal: float, step: float, *, circular: bool) -> float:
    delta = goal - position
    if circular:
        delta = (delta + 180.0) % 360.0 - 180.0
    moved = position + math.copysign(min(abs(delta), step), delta)
    return moved % 360.0 if circular else moved


def _separation(a: float, b: float, *, circular: bool) -> float:
    delta = abs(a - b)
    return min(delta, 360.0 - delta) if circular else delta


class SimulatedMount:
    """An alt-azimuth mount on the observatory clock.

    Args:
        location: The site.
        now: Observatory time in UNIX seconds.
        sleep: Sleeps for observatory seconds (latency faults).
        slew_rate_deg_s: Top speed of each axis.
        altitude_limit_deg: Lowest altitude it may point at (targets below are refused).
        park_altitude_deg: Park position altitude.
        park_azimuth_deg: Park position azimuth.
    """

    def __init__(self, location: EarthLocation, now: Callable[[], float], sleep: Callable[[float], None], *,
                 slew_rate_deg_s: float = 3.0, altitude_limit_deg: float = 15.0, park_altitude_deg: float = 90.0,
                 park_azimuth_deg: float = 0.0) -> None:
        if not math.isfinite(slew_rate_deg_s) or slew_rate_deg_s <= 0:
            raise ValueError(f"slew_rate_deg_s must be a positive number, got {slew_rate_deg_s!r}")
        if not math.isfinite(altitude_limit_deg) or not 0.0 <= altitude_limit_deg < 90.0:
            raise ValueError(f"altitude_limit_deg must be in [0, 90), got {altitude_limit_deg!r}")
        if not altitude_limit_deg <= park_altitude_deg <= 90.0 or not 0.0 <= park_azimuth_deg < 360.0:
            raise ValueError("the park position must be above the altitude limit, with azimuth in [0, 360)")
        self.horizon = Horizon(location)
        self._now = now
        self._sleep = sleep
        self.slew_rate_deg_s = slew_rate_deg_s
        self.altitude_limit_deg = altitude_limit_deg
        self.park_altitude_deg = park_altitude_deg
        self.park_azimuth_deg = park_azimuth_deg
        self.faults = Faults("telescope")
        self._lock = threading.Lock()
        self._alt, self._az = park_altitude_deg, park_azimuth_deg
        self._last = now()
        self._goal: tuple[str, float, float] | None = None   # ("radec", ra, dec) or ("altaz", alt, az)
        self._tracking = False
        self._slewing = False
        self._parked = True
        self._park_when_there = False
        self.limit_stops = 0
        """Times tracking stopped because the target went below the altitude limit."""

    # ------------------------------------------------------------------ motion model

    def _commanded(self, now: float) -> tuple[float, float] | None:
        if self._goal is None:
            return None
        kind, a, b = self._goal
        return self.horizon.altaz(a, b, now) if kind == "radec" else (a, b)

    def _advance(self, now: float) -> None:
        step = self.slew_rate_deg_s * max(0.0, now - self._last)
        self._last = now
        commanded = self._commanded(now) if (self._slewing or self._tracking) else None
        if commanded is None:
            return
        alt_goal, az_goal = commanded
        if alt_goal < self.altitude_limit_deg:  # the tracked target set below the limit: stop there (safety)
            self._slewing = self._tracking = self._park_when_there = False
            self._goal = None
            self.limit_stops += 1
            return
        self._alt = _toward(self._alt, alt_goal, step, circular=False)
        self._az = _toward(self._az, az_goal, step, circular=True)
        arrived = _separation(self._alt, alt_goal, circular=False) < ARRIVED_DEG and \
            _separation(self._az, az_goal, circular=True) < ARRIVED_DEG
        if self._slewing and arrived:
            self._slewing = False
            if self._park_when_there:
                self._park_when_there, self._parked, self._goal = False, True, None

    def _command(self) -> float:
        self.faults.before_command(self._now(), self._sleep)
        return self._now()

    def _check_reachable(self, altitude_deg: float) -> None:
        if altitude_deg < self.altitude_limit_deg:
            raise ValueError(f"altitude {altitude_deg:.2f} deg is below the telescope's limit of "
                             f"{self.altitude_limit_deg:g} deg")

    # ------------------------------------------------------------------ driver interface

    def status(self) -> MountStatus:
        """Where the mount points now (faults: silence raises, wrong values are reported)."""
        now = self._now()
        self.faults.check_alive(now)
        with self._lock:
            self._advance(now)
            alt, az = self._alt, self._az
            slewing, tracking, parked = self._slewing, self._tracking, self._parked
            goal = self._goal
        ra, dec = self.horizon.radec(alt, az, now)
        target = None
        if goal is not None:
            target = {"ra_deg": goal[1], "dec_deg": goal[2]} if goal[0] == "radec" else \
                {"altitude_deg": goal[1], "azimuth_deg": goal[2]}
        return MountStatus(altitude_deg=float(self.faults.reported("altitude_deg", alt)),
                           azimuth_deg=float(self.faults.reported("azimuth_deg", az)), ra_deg=ra, dec_deg=dec,
                           slewing=slewing, tracking=tracking, parked=parked, target=target)

    def _refuse_if_parked(self) -> None:
        if self._parked:
            raise DeviceFault("the telescope is parked; unpark it first")

    def start_slew_radec(self, ra_deg: float, dec_deg: float) -> None:
        """Slew to an ICRS position and track it (refused below the altitude limit, or while parked)."""
        if not (math.isfinite(ra_deg) and 0.0 <= ra_deg < 360.0 and math.isfinite(dec_deg) and -90 <= dec_deg <= 90):
            raise ValueError(f"RA must be in [0, 360) and Dec in [-90, 90], got {ra_deg!r}, {dec_deg!r}")
        now = self._command()
        altitude, _ = self.horizon.altaz(ra_deg, dec_deg, now)
        self._check_reachable(altitude)
        with self._lock:
            self._refuse_if_parked()
            self._advance(now)
            self._goal, self._slewing, self._tracking, self._park_when_there = ("radec", ra_deg, dec_deg), True, \
                True, False

    def start_slew_altaz(self, altitude_deg: float, azimuth_deg: float) -> None:
        """Slew to a fixed horizontal position; tracking stops."""
        if not (math.isfinite(altitude_deg) and altitude_deg <= 90.0 and math.isfinite(azimuth_deg)
                and 0.0 <= azimuth_deg < 360.0):
            raise ValueError(f"altitude must be <= 90 and azimuth in [0, 360), got {altitude_deg!r}, {azimuth_deg!r}")
        self._check_reachable(altitude_deg)
        now = self._command()
        with self._lock:
            self._refuse_if_parked()
            self._advance(now)
            self._goal, self._slewing, self._tracking, self._park_when_there = ("altaz", altitude_deg, azimuth_deg), \
                True, False, False

    def set_tracking(self, on: bool) -> None:
        """Follow the sky from where the mount points (on), or stop following it (off)."""
        now = self._command()
        with self._lock:
            self._advance(now)
            if on:
                self._refuse_if_parked()
                ra, dec = self.horizon.radec(self._alt, self._az, now)
                self._goal, self._tracking = ("radec", ra, dec), True
            else:
                self._tracking = False
                if not self._slewing:
                    self._goal = None

    def start_park(self) -> None:
        """Slew to the park position and stop tracking (safety: always accepted)."""
        now = self._command()
        with self._lock:
            self._advance(now)
            self._goal = ("altaz", self.park_altitude_deg, self.park_azimuth_deg)
            self._slewing, self._tracking, self._parked, self._park_when_there = True, False, False, True

    def unpark(self) -> None:
        """Leave the parked state; the mount stays where it is."""
        self._command()
        with self._lock:
            self._parked = False

    def stop(self) -> None:
        """Stop slewing and tracking where the mount is."""
        now = self._command()
        with self._lock:
            self._advance(now)
            self._slewing = self._tracking = self._park_when_there = False
            self._goal = None

    def inject_fault(self, spec: dict[str, Any]) -> None:
        """Make the simulator misbehave (see :meth:`devices.common.faults.Faults.inject`)."""
        self.faults.inject(spec, self._now())
