"""The observatory's place on Earth as an astropy ``EarthLocation``."""

from __future__ import annotations

import math
from typing import Any

import astropy.units as u
from astropy.coordinates import EarthLocation

from pyros.config import SiteConfig

__all__ = ["site_location"]

_LIMITS: dict[str, tuple[float, float]] = {
    "longitude_deg": (-180.0, 180.0),
    "latitude_deg": (-90.0, 90.0),
    "elevation_m": (-500.0, 10000.0),
}


def _number(site: Any, name: str) -> float:
    value = getattr(site, name, None)
    if value is None:
        raise TypeError(f"site.{name}: missing")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"site.{name}: expected a number, got {type(value).__name__} {value!r}")
    number = float(value)
    low, high = _LIMITS[name]
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"site.{name}: must be between {low:g} and {high:g}, got {value!r}")
    return number


def site_location(site: SiteConfig) -> EarthLocation:
    """Build the site's ``EarthLocation`` (WGS84 geodetic) from the configuration numbers.

    Args:
        site: The ``[site]`` section (or any object with ``longitude_deg``,
            ``latitude_deg`` and ``elevation_m``). The values are checked here as
            well, since a :class:`~pyros.config.SiteConfig` built in code is not
            validated by :func:`~pyros.config.load_config`.

    Returns:
        The location; nothing is looked up by name, so no network is needed.

    Raises:
        TypeError: If a value is missing or not a number.
        ValueError: If a value is not finite or out of range (longitude within
            [-180, 180], latitude within [-90, 90], elevation within [-500, 10000] m).
    """
    longitude = _number(site, "longitude_deg")
    latitude = _number(site, "latitude_deg")
    elevation = _number(site, "elevation_m")
    return EarthLocation.from_geodetic(lon=longitude * u.deg, lat=latitude * u.deg, height=elevation * u.m,
                                       ellipsoid="WGS84")
