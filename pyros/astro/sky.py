"""The sky seen from the observatory: the one object the scheduler needs.

:class:`Sky` binds the site and the configured night altitude to the
functions of :mod:`pyros.astro`. It reads no clock: every instant is an
argument (take it from :mod:`pyros.clock`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from astropy.coordinates import EarthLocation

from pyros.astro.instants import TimesLike
from pyros.astro.moon import MoonPosition, moon_position
from pyros.astro.night import Night, WhenLike, check_sun_altitude, find_night
from pyros.astro.site import site_location
from pyros.astro.sun import sun_altitude
from pyros.astro.targets import TargetGeometry, target_geometry
from pyros.astro.topocentric import SiteFrame
from pyros.astro.twilight import Twilights, find_twilights
from pyros.config import Config

__all__ = ["Sky"]


class Sky:
    """Sun, Moon, nights and target geometry for one site.

    Args:
        location: The site.
        night_sun_altitude_deg: Sun altitude below which it is night, within
            [-18, 0] degrees (``astro.night_sun_altitude_deg``).

    Raises:
        TypeError, ValueError: For an invalid location or altitude.
    """

    def __init__(self, location: EarthLocation, night_sun_altitude_deg: float = -12.0) -> None:
        self.frame = SiteFrame(location)
        self.night_sun_altitude_deg = check_sun_altitude(night_sun_altitude_deg, "night_sun_altitude_deg")

    @classmethod
    def from_config(cls, config: Config) -> Sky:
        """Build from the ``[site]`` and ``[astro]`` sections of the configuration."""
        return cls(site_location(config.site), config.astro.night_sun_altitude_deg)

    @property
    def location(self) -> EarthLocation:
        """The site."""
        return self.frame.location

    def sun_altitude(self, times: TimesLike) -> np.ndarray:
        """Altitude of the Sun in degrees at the instants; see :func:`pyros.astro.sun.sun_altitude`."""
        return sun_altitude(times, self.frame)

    def moon(self, times: TimesLike) -> MoonPosition:
        """The Moon at the instants; see :func:`pyros.astro.moon.moon_position`."""
        return moon_position(times, self.frame)

    def targets(self, ra_deg: Any, dec_deg: Any, times: TimesLike) -> TargetGeometry:
        """Geometry of N targets at M instants; see :func:`pyros.astro.targets.target_geometry`."""
        return target_geometry(ra_deg, dec_deg, times, self.frame)

    def night(self, when: WhenLike, sun_altitude_deg: float | None = None) -> Night:
        """The night containing or following ``when`` (or of a date); see :func:`pyros.astro.night.find_night`.

        Args:
            when: An instant or a calendar date.
            sun_altitude_deg: The night's Sun altitude; default: the configured one.
        """
        altitude = self.night_sun_altitude_deg if sun_altitude_deg is None else sun_altitude_deg
        return find_night(when, self.frame, altitude)

    def twilights(self, when: WhenLike) -> Twilights:
        """Sunset, sunrise and twilights; see :func:`pyros.astro.twilight.find_twilights`."""
        return find_twilights(when, self.frame, self.night_sun_altitude_deg)
