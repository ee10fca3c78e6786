"""The site's local frames: horizon (east, north, up) and local equatorial (hour angle).

A :class:`SiteFrame` holds two constant rotations from ITRS, both fixed to the
Earth at the site's geodetic longitude and latitude (WGS84):

* the horizon frame (east, north, up), giving altitude and azimuth (from
  north through east);
* the local equatorial frame (x towards the meridian on the equator, y 90°
  east of it, z the celestial pole), giving the hour angle (positive west).

Combined with the GCRS-to-ITRS rotation of :mod:`pyros.astro.ephemeris` they
turn any GCRS direction into topocentric altitude, azimuth and hour angle. The
altitude is geometric: no atmospheric refraction is applied (see
:mod:`pyros.astro.airmass` for the refraction used by the airmass).
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.coordinates import EarthLocation

__all__ = ["SiteFrame"]


class SiteFrame:
    """The horizon and local equatorial frames of one site.

    Args:
        location: The site: a scalar ``EarthLocation`` within 500 m below and
            10 km above the WGS84 ellipsoid.

    Raises:
        TypeError: If ``location`` is not a scalar ``EarthLocation``.
        ValueError: If it is not on the Earth's surface (e.g. the geocentre).

    Attributes:
        location: The site.
        position_m: Geocentric ITRS position of the site in metres, shape (3,).
        horizon: Rows east, north, up of the horizon frame in ITRS, shape (3, 3).
        equatorial: Rows x (meridian) and y (east) of the local equatorial frame
            in ITRS, shape (2, 3).
    """

    def __init__(self, location: EarthLocation) -> None:
        if not isinstance(location, EarthLocation) or not location.isscalar:
            raise TypeError(f"location: expected one astropy EarthLocation, got {type(location).__name__}"
                            + ("" if not isinstance(location, EarthLocation) else f" of shape {location.shape}"))
        height = float(location.height.to_value(u.m))
        if not -500.0 <= height <= 10000.0:
            raise ValueError(f"location: height {height:.0f} m above the WGS84 ellipsoid is not on the Earth's "
                             "surface (expected -500 to 10000 m)")
        self.location = location
        lon = float(location.lon.to_value(u.rad))
        lat = float(location.lat.to_value(u.rad))
        self.position_m = np.array([c.to_value(u.m) for c in location.geocentric], dtype=float)
        slon, clon, slat, clat = np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)
        self.horizon = np.array([
            [-slon, clon, 0.0],
            [-slat * clon, -slat * slon, clat],
            [clat * clon, clat * slon, slat],
        ])
        self.equatorial = np.array([
            [clon, slon, 0.0],
            [-slon, clon, 0.0],
        ])

    def observer_gcrs_m(self, gcrs_to_itrs: np.ndarray) -> np.ndarray:
        """Return the site's geocentric GCRS position at each instant, metres, shape (M, 3)."""
        position: np.ndarray = np.einsum("mji,j->mi", gcrs_to_itrs, self.position_m)
        return position

    def topocentric_gcrs(self, geocentric_m: np.ndarray, gcrs_to_itrs: np.ndarray) -> np.ndarray:
        """Return unit GCRS vectors from the site to bodies at geocentric positions ``geocentric_m`` (M, 3)."""
        vector = geocentric_m - self.observer_gcrs_m(gcrs_to_itrs)
        unit: np.ndarray = vector / np.linalg.norm(vector, axis=-1, keepdims=True)
        return unit

    def altaz_deg(self, directions_gcrs: np.ndarray, gcrs_to_itrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Altitude and azimuth (degrees) of one unit GCRS direction per instant.

        Args:
            directions_gcrs: Unit vectors, shape (M, 3).
            gcrs_to_itrs: Rotations, shape (M, 3, 3).

        Returns:
            Altitude in [-90, 90] and azimuth in [0, 360), each of shape (M,).
        """
        enu = np.einsum("ij,mjk,mk->mi", self.horizon, gcrs_to_itrs, directions_gcrs)
        return altitude_azimuth_deg(enu[:, 0], enu[:, 1], enu[:, 2])


def altitude_azimuth_deg(east: np.ndarray, north: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Altitude and azimuth in degrees of unit horizon-frame vectors (any common shape).

    The altitude is the arcsine of the upward component (accurate to a few
    milliarcseconds even at the zenith for vectors of unit length to rounding).
    """
    altitude = np.arcsin(np.clip(up, -1.0, 1.0))
    np.degrees(altitude, out=altitude)
    azimuth = np.arctan2(east, north)
    np.degrees(azimuth, out=azimuth)
    azimuth += 360.0 * (azimuth < 0.0)
    return altitude, azimuth
