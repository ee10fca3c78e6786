"""The Moon as seen from the site: position and illuminated fraction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.coordinates import EarthLocation
from astropy.time import Time

from pyros.astro.ephemeris import Ephemeris
from pyros.astro.instants import TimesLike, to_times
from pyros.astro.offline import silence_dubious_years
from pyros.astro.topocentric import SiteFrame

__all__ = ["MoonPosition", "illuminated_fraction", "moon_position"]


@dataclass(frozen=True)
class MoonPosition:
    """The Moon at M instants, topocentric (parallax included, refraction not).

    Attributes:
        times: The instants (UTC), shape (M,).
        altitude_deg: Geometric altitude, degrees, shape (M,).
        azimuth_deg: Azimuth from north through east, degrees in [0, 360), shape (M,).
        ra_deg: Topocentric apparent right ascension in the GCRS, degrees in [0, 360).
        dec_deg: Topocentric apparent declination in the GCRS, degrees.
        illumination: Illuminated fraction of the disc, 0 (new) to 1 (full).
    """

    times: Time
    altitude_deg: np.ndarray
    azimuth_deg: np.ndarray
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    illumination: np.ndarray


def illuminated_fraction(sun_m: np.ndarray, moon_m: np.ndarray) -> np.ndarray:
    """Illuminated fraction of the Moon from geocentric positions of the Sun and the Moon.

    The phase angle ``i`` is the angle Sun-Moon-Earth, between the vectors from
    the Moon to the Sun and from the Moon to the Earth; the lit fraction of the
    disc is ``(1 + cos i) / 2``.

    Args:
        sun_m: Geocentric positions of the Sun, shape (M, 3), any length unit.
        moon_m: Geocentric positions of the Moon, same unit and shape.

    Returns:
        Fractions in [0, 1], shape (M,).
    """
    to_sun = sun_m - moon_m
    to_earth = -moon_m
    cos_phase = np.einsum("mi,mi->m", to_sun, to_earth) / (
        np.linalg.norm(to_sun, axis=-1) * np.linalg.norm(to_earth, axis=-1))
    fraction: np.ndarray = (1.0 + np.clip(cos_phase, -1.0, 1.0)) / 2.0
    return fraction


@silence_dubious_years
def moon_position(times: TimesLike, location: EarthLocation | SiteFrame) -> MoonPosition:
    """Position and illuminated fraction of the Moon seen from the site.

    Args:
        times: Instants (see :mod:`pyros.astro.instants`).
        location: The site, or its :class:`~pyros.astro.topocentric.SiteFrame`.

    Returns:
        The Moon at each instant.

    Raises:
        TypeError, ValueError: For invalid instants.
    """
    instants = to_times(times)
    frame = location if isinstance(location, SiteFrame) else SiteFrame(location)
    ephemeris, seconds = Ephemeris.covering(instants, bodies=("sun", "moon"))
    state = ephemeris.state(seconds)
    sun_m, moon_m = state.position_m("sun"), state.position_m("moon")
    direction = frame.topocentric_gcrs(moon_m, state.gcrs_to_itrs)
    altitude, azimuth = frame.altaz_deg(direction, state.gcrs_to_itrs)
    ra = np.degrees(np.arctan2(direction[:, 1], direction[:, 0]))
    ra += 360.0 * (ra < 0.0)
    dec = np.degrees(np.arcsin(np.clip(direction[:, 2], -1.0, 1.0)))
    return MoonPosition(times=instants, altitude_deg=altitude, azimuth_deg=azimuth, ra_deg=ra, dec_deg=dec,
                        illumination=illuminated_fraction(sun_m, moon_m))
