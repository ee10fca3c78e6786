"""ICRS ↔ horizontal coordinates at the site, one position at a time (for a mount)."""

from __future__ import annotations

import time

import astropy.units as u
from astropy.coordinates import AltAz, EarthLocation, SkyCoord
from astropy.time import Time

import pyros.astro  # noqa: F401  (applies the offline IERS policy before any transformation)


class Horizon:
    """Converts between ICRS RA/Dec and geometric altitude/azimuth at a site (no refraction).

    The first transformation in a process costs astropy about 0.8 s (its frame graph, the Earth
    orientation tables); the constructor pays it, so that it falls at the service's start and not
    in the first slew of the night (an alert's, perhaps). The next ones take a few milliseconds.

    Args:
        location: The site.
    """

    def __init__(self, location: EarthLocation) -> None:
        self.location = location
        self.altaz(0.0, 0.0, time.time())

    def _frame(self, unix_s: float) -> AltAz:
        return AltAz(obstime=Time(unix_s, format="unix", scale="utc"), location=self.location)

    def altaz(self, ra_deg: float, dec_deg: float, unix_s: float) -> tuple[float, float]:
        """(altitude, azimuth) in degrees of an ICRS position at an instant."""
        horizontal = SkyCoord(ra=ra_deg * u.deg, dec=dec_deg * u.deg, frame="icrs").transform_to(self._frame(unix_s))
        return float(horizontal.alt.deg), float(horizontal.az.deg) % 360.0

    def radec(self, altitude_deg: float, azimuth_deg: float, unix_s: float) -> tuple[float, float]:
        """(RA, Dec) in degrees of a horizontal position at an instant."""
        sky = SkyCoord(alt=altitude_deg * u.deg, az=azimuth_deg * u.deg, frame=self._frame(unix_s)).icrs
        return float(sky.ra.deg) % 360.0, float(sky.dec.deg)
