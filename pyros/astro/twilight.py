"""Sunset, sunrise and the civil, nautical and astronomical twilights of one observing day.

Each event is the Sun's centre crossing a standard altitude (geometric,
topocentric):

=====================  ==========  =============================================
event                  altitude    meaning
=====================  ==========  =============================================
sunset / sunrise       -0.833°     upper limb on the horizon: 16' semi-diameter
                                   plus 34' standard refraction
civil dusk / dawn      -6°         end / start of civil twilight
nautical dusk / dawn   -12°        end / start of nautical twilight
astronomical dusk/dawn -18°        end / start of astronomical twilight
=====================  ==========  =============================================

All four are computed as nights (:mod:`pyros.astro.night`) of the same
observing day, the one whose night (at the configured altitude) contains or
follows the given instant, or the day of the given date. An event that does
not happen that day (polar day or polar night for that altitude, or a night
cut at the day's bound) is None; the :class:`~pyros.astro.night.Night` of each
altitude says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from astropy.coordinates import EarthLocation
from astropy.time import Time

from pyros.astro.night import Night, WhenLike, check_sun_altitude, night_in_day, select_night, track_for
from pyros.astro.observing_day import ObservingDay
from pyros.astro.offline import silence_dubious_years
from pyros.astro.topocentric import SiteFrame

__all__ = ["ASTRONOMICAL_DEG", "CIVIL_DEG", "NAUTICAL_DEG", "SUNSET_DEG", "Twilights", "find_twilights"]

SUNSET_DEG = -0.833
"""Altitude of the Sun's centre at sunset and sunrise, degrees."""

CIVIL_DEG = -6.0
"""Altitude of the Sun's centre at the end (start) of evening (morning) civil twilight."""

NAUTICAL_DEG = -12.0
"""Altitude of the Sun's centre at the end (start) of evening (morning) nautical twilight."""

ASTRONOMICAL_DEG = -18.0
"""Altitude of the Sun's centre at the end (start) of evening (morning) astronomical twilight."""


@dataclass(frozen=True)
class Twilights:
    """The Sun's standard events of one observing day.

    Attributes:
        day: The observing day (noon to noon).
        horizon: The night below -0.833° (sunset to sunrise).
        civil: The night below -6°.
        nautical: The night below -12°.
        astronomical: The night below -18°.
    """

    day: ObservingDay
    horizon: Night
    civil: Night
    nautical: Night
    astronomical: Night

    @property
    def sunset(self) -> Time | None:
        """Sunset, or None if the Sun does not set that day."""
        return self.horizon.start if self.horizon.start_is_crossing else None

    @property
    def sunrise(self) -> Time | None:
        """Sunrise, or None if the Sun does not rise that day."""
        return self.horizon.end if self.horizon.end_is_crossing else None

    @property
    def civil_dusk(self) -> Time | None:
        """End of evening civil twilight (Sun at -6°), or None."""
        return self.civil.start if self.civil.start_is_crossing else None

    @property
    def civil_dawn(self) -> Time | None:
        """Start of morning civil twilight (Sun at -6°), or None."""
        return self.civil.end if self.civil.end_is_crossing else None

    @property
    def nautical_dusk(self) -> Time | None:
        """End of evening nautical twilight (Sun at -12°), or None."""
        return self.nautical.start if self.nautical.start_is_crossing else None

    @property
    def nautical_dawn(self) -> Time | None:
        """Start of morning nautical twilight (Sun at -12°), or None."""
        return self.nautical.end if self.nautical.end_is_crossing else None

    @property
    def astronomical_dusk(self) -> Time | None:
        """End of evening astronomical twilight (Sun at -18°), or None."""
        return self.astronomical.start if self.astronomical.start_is_crossing else None

    @property
    def astronomical_dawn(self) -> Time | None:
        """Start of morning astronomical twilight (Sun at -18°), or None."""
        return self.astronomical.end if self.astronomical.end_is_crossing else None


@silence_dubious_years
def find_twilights(when: WhenLike, location: EarthLocation | SiteFrame,
                   night_sun_altitude_deg: float = -12.0) -> Twilights:
    """Sunset, sunrise and twilights of the observing day whose night contains or follows ``when``.

    Args:
        when: An instant or a calendar date, as for :func:`pyros.astro.night.find_night`.
        location: The site, or its :class:`~pyros.astro.topocentric.SiteFrame`.
        night_sun_altitude_deg: The configured night altitude, within [-18, 0]
            degrees; it chooses the observing day for an instant.

    Returns:
        The events of that day.

    Raises:
        TypeError, ValueError: For an invalid instant, date or altitude.
    """
    threshold = check_sun_altitude(night_sun_altitude_deg, "night_sun_altitude_deg")
    frame = location if isinstance(location, SiteFrame) else SiteFrame(location)
    track, day = track_for(frame, when)
    at_s = None if isinstance(when, date) and not isinstance(when, datetime) else 0.0
    sampled, _ = select_night(track, day, at_s, threshold)
    horizon, civil, nautical, astronomical = (night_in_day(track, sampled, altitude)
                                              for altitude in (SUNSET_DEG, CIVIL_DEG, NAUTICAL_DEG, ASTRONOMICAL_DEG))
    return Twilights(day=sampled.day, horizon=horizon, civil=civil, nautical=nautical, astronomical=astronomical)
