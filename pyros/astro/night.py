"""Nights: when the Sun is below a given altitude, including the polar cases.

Definition. For a Sun altitude ``h0`` (the configured ``astro.night_sun_altitude_deg``,
or the standard altitudes of :mod:`pyros.astro.twilight`), the night of an
observing day (:mod:`pyros.astro.observing_day`, noon to noon) is the
interval around the Sun's lowest point of that day during which the Sun's
centre is below ``h0``. Its :class:`NightKind` says which case applies:

* ``NIGHT``: the Sun goes below ``h0`` and comes back above it within the day;
  ``start`` and ``end`` are those crossings (to a millisecond of the model).
* ``POLAR_DAY``: the Sun stays above ``h0`` the whole day: there is no night;
  ``start`` and ``end`` are None.
* ``POLAR_NIGHT``: the Sun stays below ``h0`` the whole day (it never rises
  above it): the night is the whole observing day, ``start`` and ``end`` are
  the day's bounds and are not crossings.

On the days when a polar night begins or ends (the Sun's highest point crosses
``h0`` from one noon to the next), the Sun is below ``h0`` at one end of the
observing day and above it at the other: the night then starts (or ends) at
the day's bound, it is still of kind ``NIGHT``, and ``start_is_crossing`` (or
``end_is_crossing``) is False. The same happens within a fraction of a degree
of a pole, where the Sun's altitude hardly depends on the time of day.

The day is sampled every minute and the lowest point refined, so a night
exists whenever the Sun's minimum is below ``h0``, however short the night;
each crossing is then found by bisection.

"The night containing or following an instant" (:func:`find_night`) is the
night of the observing day containing the instant if the instant is before
that night's end (or, for a polar day, before the Sun's lowest point);
otherwise the night of the next observing day. For a calendar date, it is the
night of the observing day that starts at local noon of that date (the night
that begins on the evening of that date).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Union

import numpy as np
from astropy.coordinates import EarthLocation
from astropy.time import Time

from pyros.astro.instants import InstantLike, to_instant
from pyros.astro.observing_day import (DAY_S, DaySpan, ObservingDay, day_containing, day_of_date, day_of_transit,
                                       local_mean_noon)
from pyros.astro.offline import silence_dubious_years
from pyros.astro.sun_track import SunTrack
from pyros.astro.topocentric import SiteFrame

__all__ = ["Night", "NightKind", "SampledDay", "WhenLike", "check_sun_altitude", "find_night", "night_in_day",
           "sample_day", "select_night", "track_for"]

WhenLike = Union[InstantLike, date]
"""An instant (see :mod:`pyros.astro.instants`) or a calendar date (the site's local date)."""

SAMPLE_S = 60.0
"""Step of the Sun's altitude samples within a day, seconds."""

PRECISION_S = 1e-3
"""Precision of the crossings found by bisection, seconds."""

FIRST_DATE = date(1962, 1, 2)
LAST_DATE = date(2099, 11, 27)


class NightKind(enum.Enum):
    """Which case a :class:`Night` is (see the module documentation)."""

    NIGHT = "night"
    POLAR_DAY = "polar_day"
    POLAR_NIGHT = "polar_night"


@dataclass(frozen=True)
class Night:
    """The night of one observing day for one Sun altitude.

    Attributes:
        kind: Normal night, polar day (no night) or polar night (the whole day).
        sun_altitude_deg: The Sun altitude defining the night, degrees.
        day: The observing day (noon to noon) the night belongs to.
        start: When the night starts (UTC); None for a polar day.
        end: When the night ends (UTC); None for a polar day.
        start_is_crossing: True if ``start`` is the Sun going below the
            altitude; False if it is the day's start (polar night, or a night cut
            at the day's bound).
        end_is_crossing: Same for ``end``.
        sun_lowest: When the Sun is lowest in the day (UTC).
        sun_lowest_altitude_deg: The Sun's altitude then, degrees.
    """

    kind: NightKind
    sun_altitude_deg: float
    day: ObservingDay
    start: Time | None
    end: Time | None
    start_is_crossing: bool
    end_is_crossing: bool
    sun_lowest: Time
    sun_lowest_altitude_deg: float

    @property
    def duration_s(self) -> float:
        """Length of the night in seconds (0 for a polar day)."""
        if self.start is None or self.end is None:
            return 0.0
        return float((self.end - self.start).sec)

    @silence_dubious_years
    def contains(self, when: InstantLike) -> bool:
        """True if the instant is within the night (start included, end excluded)."""
        if self.start is None or self.end is None:
            return False
        instant = to_instant(when, "when")
        return bool(self.start <= instant < self.end)


def check_sun_altitude(value: object, name: str = "sun_altitude_deg") -> float:
    """Return ``value`` as a float if it is a Sun altitude within [-18, 0] degrees.

    Raises:
        TypeError: If it is not a number.
        ValueError: If it is not finite or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number of degrees, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number) or not -18.0 <= number <= 0.0:
        raise ValueError(f"{name}: must be between -18 and 0 degrees, got {number!r}")
    return number


def track_for(frame: SiteFrame, when: WhenLike) -> tuple[SunTrack, DaySpan]:
    """Build a Sun track around ``when`` and find the observing day to start from.

    For an instant, the day containing it; for a date, the day starting at the
    local noon of that date. The track covers that day and the next one.

    Raises:
        TypeError, ValueError: For an invalid instant or date.
    """
    if isinstance(when, date) and not isinstance(when, datetime):
        if not FIRST_DATE <= when <= LAST_DATE:
            raise ValueError(f"when: date {when.isoformat()} is outside the supported range "
                             f"{FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}")
        noon = to_instant(local_mean_noon(when, float(frame.location.lon.deg)), "when")
        track = SunTrack(frame, noon, -2.0 * 3600.0, 2.0 * DAY_S + 2.0 * 3600.0)
        return track, day_of_date(track, 0.0)
    instant = to_instant(when, "when")
    track = SunTrack(frame, instant, -DAY_S - 2.0 * 3600.0, 2.0 * DAY_S + 2.0 * 3600.0)
    return track, day_containing(track, 0.0)


def _lowest(track: SunTrack, samples_s: np.ndarray, altitudes: np.ndarray) -> tuple[float, float]:
    """Refine the lowest sample into the Sun's minimum (golden-section search); return (second, altitude)."""
    k = int(np.argmin(altitudes))
    low = samples_s[max(k - 1, 0)]
    high = samples_s[min(k + 1, samples_s.size - 1)]
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = low + (1 - ratio) * (high - low), low + ratio * (high - low)
    fa, fb = track.altitude_deg(np.array([a, b]))
    while high - low > PRECISION_S:
        if fa < fb:
            high, b, fb = b, a, fa
            a = low + (1 - ratio) * (high - low)
            fa = float(track.altitude_deg(a)[0])
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = float(track.altitude_deg(b)[0])
    best = (low + high) / 2.0
    altitude = float(track.altitude_deg(best)[0])
    if altitudes[k] < altitude:
        return float(samples_s[k]), float(altitudes[k])
    return best, altitude


def _bisect(track: SunTrack, above_s: np.ndarray, below_s: np.ndarray, threshold: float) -> np.ndarray:
    """Crossings of ``threshold``: each pair brackets one, the Sun above it at ``above_s``, below at ``below_s``."""
    above, below = above_s.astype(float).copy(), below_s.astype(float).copy()
    while above.size and np.max(np.abs(above - below)) > PRECISION_S:
        middle = (above + below) / 2.0
        is_above = track.altitude_deg(middle) >= threshold
        above = np.where(is_above, middle, above)
        below = np.where(is_above, below, middle)
    crossings: np.ndarray = (above + below) / 2.0
    return crossings


@dataclass(frozen=True)
class SampledDay:
    """An observing day with the Sun's altitude sampled every :data:`SAMPLE_S` and its minimum refined."""

    span: DaySpan
    day: ObservingDay
    samples_s: np.ndarray
    altitudes_deg: np.ndarray
    lowest_s: float
    lowest_altitude_deg: float
    lowest: Time


def sample_day(track: SunTrack, span: DaySpan) -> SampledDay:
    """Sample the Sun's altitude over one observing day and find its minimum."""
    count = max(int(math.ceil((span.end_s - span.start_s) / SAMPLE_S)), 2)
    samples = np.linspace(span.start_s, span.end_s, count + 1)
    altitudes = track.altitude_deg(samples)
    lowest_s, lowest_altitude = _lowest(track, samples, altitudes)
    return SampledDay(span=span, day=span.to_day(track), samples_s=samples, altitudes_deg=altitudes,
                      lowest_s=lowest_s, lowest_altitude_deg=lowest_altitude, lowest=track.time_at(lowest_s))


def night_in_day(track: SunTrack, sampled: SampledDay, sun_altitude_deg: float) -> Night:
    """The night of one observing day for one Sun altitude (see the module documentation).

    Args:
        track: The Sun track the day was sampled from.
        sampled: The sampled observing day.
        sun_altitude_deg: The altitude defining the night, degrees.

    Returns:
        The night.
    """
    samples, lowest_s = sampled.samples_s, sampled.lowest_s
    if sampled.lowest_altitude_deg >= sun_altitude_deg:
        return Night(kind=NightKind.POLAR_DAY, sun_altitude_deg=sun_altitude_deg, day=sampled.day, start=None,
                     end=None, start_is_crossing=False, end_is_crossing=False, sun_lowest=sampled.lowest,
                     sun_lowest_altitude_deg=sampled.lowest_altitude_deg)
    above = sampled.altitudes_deg >= sun_altitude_deg
    before = np.flatnonzero(above & (samples < lowest_s))
    after = np.flatnonzero(above & (samples > lowest_s))
    brackets_above: list[float] = []
    brackets_below: list[float] = []
    if before.size:
        j = int(before[-1])
        brackets_above.append(samples[j])
        brackets_below.append(min(samples[j + 1], lowest_s))
    if after.size:
        j = int(after[0])
        brackets_above.append(samples[j])
        brackets_below.append(max(samples[j - 1], lowest_s))
    crossings = list(_bisect(track, np.array(brackets_above), np.array(brackets_below), sun_altitude_deg))
    start_s = crossings.pop(0) if before.size else sampled.span.start_s
    end_s = crossings.pop(0) if after.size else sampled.span.end_s
    kind = NightKind.NIGHT if before.size or after.size else NightKind.POLAR_NIGHT
    start, end = track.time_at([start_s, end_s])
    return Night(kind=kind, sun_altitude_deg=sun_altitude_deg, day=sampled.day, start=start, end=end,
                 start_is_crossing=bool(before.size), end_is_crossing=bool(after.size), sun_lowest=sampled.lowest,
                 sun_lowest_altitude_deg=sampled.lowest_altitude_deg)


def select_night(track: SunTrack, span: DaySpan, at_s: float | None,
                 sun_altitude_deg: float) -> tuple[SampledDay, Night]:
    """The night of ``span``, or of the next day if ``at_s`` is past it (see :func:`find_night`).

    Args:
        track: A Sun track covering ``span`` and the next day.
        span: The observing day containing ``at_s``, or the day of a date.
        at_s: The instant in TT seconds of the track, or None for a date.
        sun_altitude_deg: The altitude defining the night.

    Returns:
        The chosen observing day, sampled, and its night.
    """
    sampled = sample_day(track, span)
    night = night_in_day(track, sampled, sun_altitude_deg)
    if at_s is None:
        return sampled, night
    past_s = sampled.lowest_s if night.end is None else float(track.seconds(night.end))
    if at_s < past_s:
        return sampled, night
    sampled = sample_day(track, day_of_transit(track, span.end_s))
    return sampled, night_in_day(track, sampled, sun_altitude_deg)


@silence_dubious_years
def find_night(when: WhenLike, location: EarthLocation | SiteFrame, sun_altitude_deg: float = -12.0) -> Night:
    """The night containing or following an instant, or the night of a date.

    Args:
        when: An instant (``Time``, aware ``datetime``, UNIX seconds): the night
            containing it, or the next one if it is daytime or morning twilight;
            or a ``datetime.date``: the night beginning on the evening of that
            local date (local mean time from the site's longitude).
        location: The site, or its :class:`~pyros.astro.topocentric.SiteFrame`.
        sun_altitude_deg: The Sun altitude below which it is night, within
            [-18, 0] degrees.

    Returns:
        The night; check :attr:`Night.kind` for the polar cases.

    Raises:
        TypeError, ValueError: For an invalid instant, date or altitude.
    """
    threshold = check_sun_altitude(sun_altitude_deg)
    frame = location if isinstance(location, SiteFrame) else SiteFrame(location)
    track, day = track_for(frame, when)
    at_s = None if isinstance(when, date) and not isinstance(when, datetime) else 0.0
    return select_night(track, day, at_s, threshold)[1]
