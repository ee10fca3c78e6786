"""The observing day: from one local apparent noon to the next.

Nights are looked for within observing days, which run from one upper transit
of the Sun (its crossing of the local meridian, local apparent noon) to the
next. The Sun is highest near the start and end of such a day and lowest near
its middle, so a night never straddles two observing days, except in the polar
cases that :mod:`pyros.astro.night` reports as such.

The observing day *of a date* is the one that starts at the upper transit
during that date in local mean solar time (the site's longitude / 15 hours
from UTC): its night is the night that begins on the evening of that date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from astropy.time import Time

from pyros.astro.sun_track import SunTrack

__all__ = ["DAY_S", "DaySpan", "ObservingDay", "day_containing", "day_of_date", "day_of_transit",
           "local_mean_noon"]

DAY_S = 86400.0
"""Seconds in a day."""


@dataclass(frozen=True)
class ObservingDay:
    """One observing day.

    Attributes:
        start: Upper transit of the Sun (local apparent noon), UTC.
        end: The next upper transit, UTC.
    """

    start: Time
    end: Time


@dataclass(frozen=True)
class DaySpan:
    """An observing day as TT seconds of a :class:`~pyros.astro.sun_track.SunTrack`."""

    start_s: float
    end_s: float

    def to_day(self, track: SunTrack) -> ObservingDay:
        """The day as UTC instants."""
        start, end = track.time_at([self.start_s, self.end_s])
        return ObservingDay(start=start, end=end)


def day_of_transit(track: SunTrack, transit_s: float) -> DaySpan:
    """The observing day that starts at the upper transit ``transit_s``."""
    return DaySpan(transit_s, track.upper_transit_near(transit_s + DAY_S))


def day_containing(track: SunTrack, seconds: float) -> DaySpan:
    """The observing day that contains the TT second ``seconds`` (start included, end excluded)."""
    hour_angle = float(track.hour_angle_deg(seconds)[0]) % 360.0
    start = track.upper_transit_near(seconds - hour_angle * DAY_S / 360.0)
    if start > seconds:
        start = track.upper_transit_near(start - DAY_S)
    day = day_of_transit(track, start)
    if day.end_s <= seconds:
        day = day_of_transit(track, day.end_s)
    return day


def local_mean_noon(day: date, longitude_deg: float) -> datetime:
    """Local mean noon of ``day`` at the longitude (east positive), as an aware UTC datetime."""
    return datetime.combine(day, time(12), tzinfo=timezone.utc) - timedelta(seconds=longitude_deg / 360.0 * DAY_S)


def day_of_date(track: SunTrack, noon_s: float) -> DaySpan:
    """The observing day starting at the upper transit nearest to local mean noon ``noon_s`` (TT seconds).

    The equation of time keeps that transit within 17 minutes of local mean noon.
    """
    return day_of_transit(track, track.upper_transit_near(noon_s))
