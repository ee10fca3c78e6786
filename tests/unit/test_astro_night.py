"""Nights and twilights of :mod:`pyros.astro` against a brute-force search with astropy's full transform.

The reference samples the Sun's altitude over the whole observing day every
two minutes with ``get_body("sun", ..., location)`` transformed to ``AltAz``
(astropy's complete chain: topocentric light time, aberration, precession-
nutation, Earth rotation, polar motion), then every five seconds across each
sign change, and interpolates linearly between the two five-second samples
that bracket the crossing. Nothing of :mod:`pyros.astro` is used by the
reference except the day's bounds, which are checked separately against
astropy's hour angle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import AltAz, EarthLocation, HADec, get_body
from astropy.time import Time

from pyros.astro import NightKind, Sky, find_night, find_twilights
from pyros.astro.night import Night

SITES = {
    "san_pedro_martir": EarthLocation.from_geodetic(-115.4637 * u.deg, 31.0442 * u.deg, 2830.0 * u.m),
    "la_silla": EarthLocation.from_geodetic(-70.7346 * u.deg, -29.2584 * u.deg, 2400.0 * u.m),
    "svalbard_78n": EarthLocation.from_geodetic(15.6 * u.deg, 78.0 * u.deg, 10.0 * u.m),
}
DATES = [date(2024, 3, 20), date(2024, 6, 21), date(2024, 10, 5), date(2024, 12, 21), date(2026, 2, 14)]
ALTITUDES = (-0.833, -6.0, -12.0, -18.0)
TOLERANCE_S = 5.0


def same(a: Time | None, b: Time | None, seconds: float = 0.01) -> bool:
    """True if both instants are None or within ``seconds`` of each other (different searches differ by µs)."""
    if a is None or b is None:
        return a is None and b is None
    return abs(float((a - b).sec)) <= seconds


def astropy_sun_altitude(times: Time, location: EarthLocation) -> np.ndarray:
    """The Sun's altitude with astropy's full transformation (no refraction)."""
    sun = get_body("sun", times, location)
    return np.asarray(sun.transform_to(AltAz(obstime=times, location=location)).alt.deg)


@dataclass
class Crossing:
    time: Time
    downwards: bool


@dataclass
class BruteDay:
    grid: Time
    altitudes: np.ndarray
    location: EarthLocation

    def crossings(self, altitude: float) -> list[Crossing]:
        above = self.altitudes >= altitude
        found = []
        for k in np.flatnonzero(above[:-1] != above[1:]):
            fine = self.grid[k] + np.arange(0.0, 125.0, 5.0) * u.s
            values = astropy_sun_altitude(fine, self.location) - altitude
            j = int(np.flatnonzero((values[:-1] >= 0) != (values[1:] >= 0))[0])
            fraction = values[j] / (values[j] - values[j + 1])
            found.append(Crossing(fine[j] + fraction * 5.0 * u.s, downwards=bool(values[j] >= 0)))
        return found


def brute_day(night: Night, location: EarthLocation) -> BruteDay:
    span = (night.day.end - night.day.start).sec
    grid = night.day.start + np.linspace(0.0, span, int(np.ceil(span / 120.0)) + 1) * u.s
    return BruteDay(grid, astropy_sun_altitude(grid, location), location)


def check_against_brute_force(night: Night, brute: BruteDay) -> list[float]:
    """Assert that the night matches the brute force; return the time differences in seconds."""
    reference = brute.crossings(night.sun_altitude_deg)
    if night.kind is NightKind.POLAR_DAY:
        assert reference == [] and brute.altitudes.min() >= night.sun_altitude_deg
        assert night.start is None and night.end is None and night.duration_s == 0.0
        return []
    if night.kind is NightKind.POLAR_NIGHT:
        assert reference == [] and brute.altitudes.max() < night.sun_altitude_deg
        assert night.start == night.day.start and night.end == night.day.end
        assert not night.start_is_crossing and not night.end_is_crossing
        return []
    ours = []
    if night.start_is_crossing:
        ours.append(Crossing(night.start, downwards=True))
    else:
        assert night.start == night.day.start and brute.altitudes[0] < night.sun_altitude_deg
    if night.end_is_crossing:
        ours.append(Crossing(night.end, downwards=False))
    else:
        assert night.end == night.day.end and brute.altitudes[-1] < night.sun_altitude_deg
    assert [c.downwards for c in reference] == [c.downwards for c in ours]
    differences = [abs(float((a.time - b.time).sec)) for a, b in zip(reference, ours)]
    assert max(differences) <= TOLERANCE_S, differences
    return differences


@pytest.mark.parametrize("site", sorted(SITES))
def test_nights_and_twilights_match_brute_force(site: str) -> None:
    location = SITES[site]
    kinds = set()
    worst = 0.0
    for day in DATES:
        twilights = find_twilights(day, location)
        nights = [twilights.horizon, twilights.civil, twilights.nautical, twilights.astronomical]
        assert [n.sun_altitude_deg for n in nights] == list(ALTITUDES)
        brute = brute_day(nights[0], location)
        # The observing day runs from one upper transit of the Sun to the next.
        bounds = Time([twilights.day.start, twilights.day.end])
        hour_angle = get_body("sun", bounds, location).transform_to(HADec(obstime=bounds, location=location)).ha
        assert np.all(np.abs(hour_angle.wrap_at(180 * u.deg).deg) < 1e-3)
        assert abs((twilights.day.start - Time(f"{day.isoformat()}T12:00:00")).sec
                   + location.lon.deg / 360.0 * 86400.0) < 20 * 60
        for night in nights:
            kinds.add(night.kind)
            assert night.day == twilights.day
            assert abs(night.sun_lowest_altitude_deg - brute.altitudes.min()) < 0.05
            worst = max([worst, *check_against_brute_force(night, brute)])
            alone = find_night(day, location, night.sun_altitude_deg)
            assert alone.start == night.start and alone.end == night.end and alone.kind is night.kind
    if site == "svalbard_78n":
        assert kinds == {NightKind.NIGHT, NightKind.POLAR_DAY, NightKind.POLAR_NIGHT}
    else:
        assert kinds == {NightKind.NIGHT}
    assert worst < TOLERANCE_S


def test_polar_day_at_78n_in_june() -> None:
    location = SITES["svalbard_78n"]
    for when in (date(2025, 6, 21), datetime(2025, 6, 21, 23, 0, tzinfo=timezone.utc)):
        for altitude in ALTITUDES:
            night = find_night(when, location, altitude)
            assert night.kind is NightKind.POLAR_DAY
            assert night.start is None and night.end is None and night.duration_s == 0.0
            assert night.sun_lowest_altitude_deg > 10.0
            assert not night.contains(datetime(2025, 6, 22, 0, 0, tzinfo=timezone.utc))
    twilights = find_twilights(date(2025, 6, 21), location)
    assert (twilights.sunset, twilights.sunrise, twilights.civil_dusk, twilights.astronomical_dawn) == (
        None, None, None, None)


def test_polar_night_at_78n_in_december() -> None:
    location = SITES["svalbard_78n"]
    instant = Time("2025-12-21T18:00:00")
    night = find_night(instant, location, -6.0)
    assert night.kind is NightKind.POLAR_NIGHT
    assert night.start == night.day.start and night.end == night.day.end
    assert night.contains(instant)
    assert 86300.0 < night.duration_s < 86500.0
    # The Sun stays below -6° over the whole day (astropy, every 10 minutes).
    grid = night.day.start + np.linspace(0.0, night.duration_s, 145) * u.s
    assert astropy_sun_altitude(grid, location).max() < -6.0
    twilights = find_twilights(instant, location)
    assert twilights.sunset is None and twilights.sunrise is None
    assert twilights.horizon.kind is NightKind.POLAR_NIGHT
    assert twilights.nautical_dusk is not None and twilights.nautical_dawn is not None  # noon reaches -11.4°


def test_night_cut_at_the_day_bound_when_polar_night_ends() -> None:
    # 2026-02-14 at 78° N: the Sun stays below -0.833° at noon, rises above it at the next noon.
    location = SITES["svalbard_78n"]
    twilights = find_twilights(date(2026, 2, 14), location)
    night = twilights.horizon
    assert night.kind is NightKind.NIGHT
    assert not night.start_is_crossing and night.end_is_crossing
    assert twilights.sunset is None and twilights.sunrise == night.end
    assert twilights.civil_dusk is not None and twilights.civil_dawn is not None


def test_night_containing_or_following_an_instant() -> None:
    sky = Sky(SITES["san_pedro_martir"], night_sun_altitude_deg=-12.0)
    evening = sky.night(date(2025, 3, 1))
    assert evening.kind is NightKind.NIGHT and evening.start is not None and evening.end is not None
    # Local afternoon (before the night): the night that follows.
    afternoon = evening.start - 3 * u.hour
    assert same(sky.night(afternoon).start, evening.start)
    # Within the night, at its very start and just before its end: that night.
    for inside in (evening.start, evening.start + 4 * u.hour, evening.end - 1 * u.s):
        assert same(sky.night(inside).end, evening.end)
        assert evening.contains(inside)
    # At its end and in the morning: the next night, a day later.
    for after in (evening.end, evening.end + 2 * u.hour):
        following = sky.night(after)
        assert following.start is not None and following.start > evening.end
        assert 86000.0 < (following.start - evening.start).sec < 86800.0
        assert not evening.contains(after)
    assert same(sky.night(date(2025, 3, 2)).start, sky.night(evening.end).start)


def test_instant_forms_agree() -> None:
    location = SITES["la_silla"]
    aware_utc = datetime(2025, 5, 4, 21, 30, tzinfo=timezone.utc)
    chile = datetime(2025, 5, 4, 17, 30, tzinfo=timezone(timedelta(hours=-4)))
    forms = (aware_utc, chile, Time("2025-05-04T21:30:00"), aware_utc.timestamp(), 1746394200,
             Time("2025-05-04T21:30:37", scale="tai"))
    starts = [find_night(when, location).start for when in forms]
    assert all(same(start, starts[0]) for start in starts)


def test_configured_altitude_is_used_and_nights_nest() -> None:
    location = SITES["san_pedro_martir"]
    when = Time("2024-10-05T20:00:00")
    nights = [Sky(location, altitude).night(when) for altitude in (0.0, -0.833, -6.0, -12.0, -18.0)]
    for wider, narrower in zip(nights, nights[1:]):
        assert wider.start < narrower.start and narrower.end < wider.end
    assert Sky(location).night(when).sun_altitude_deg == -12.0
    assert same(Sky(location).night(when, sun_altitude_deg=-18.0).start, nights[-1].start)
    twilights = Sky(location).twilights(when)
    assert same(twilights.sunset, nights[1].start) and same(twilights.sunrise, nights[1].end)
    assert same(twilights.civil_dusk, nights[2].start) and same(twilights.civil_dawn, nights[2].end)
    assert same(twilights.nautical_dusk, nights[3].start) and same(twilights.nautical_dawn, nights[3].end)
    assert same(twilights.astronomical_dusk, nights[4].start) and same(twilights.astronomical_dawn, nights[4].end)
