"""Altitude of the Sun seen from the site."""

from __future__ import annotations

import numpy as np
from astropy.coordinates import EarthLocation

from pyros.astro.ephemeris import Ephemeris
from pyros.astro.instants import TimesLike, to_times
from pyros.astro.offline import silence_dubious_years
from pyros.astro.topocentric import SiteFrame

__all__ = ["sun_altitude"]


@silence_dubious_years
def sun_altitude(times: TimesLike, location: EarthLocation | SiteFrame) -> np.ndarray:
    """Geometric altitude of the Sun's centre (parallax included, refraction not).

    Args:
        times: Instants (see :mod:`pyros.astro.instants`).
        location: The site, or its :class:`~pyros.astro.topocentric.SiteFrame`.

    Returns:
        Altitudes in degrees, shape (M,) (M = 1 for a single instant).

    Raises:
        TypeError, ValueError: For invalid instants.
    """
    instants = to_times(times)
    frame = location if isinstance(location, SiteFrame) else SiteFrame(location)
    ephemeris, seconds = Ephemeris.covering(instants, bodies=("sun",))
    state = ephemeris.state(seconds)
    direction = frame.topocentric_gcrs(state.position_m("sun"), state.gcrs_to_itrs)
    altitude, _ = frame.altaz_deg(direction, state.gcrs_to_itrs)
    return altitude
