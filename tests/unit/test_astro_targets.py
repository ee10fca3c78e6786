"""The vectorised target geometry of :mod:`pyros.astro` against astropy's full ``AltAz`` transformation."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import AltAz, EarthLocation, HADec, SkyCoord, get_body
from astropy.time import Time

from pyros.astro import Sky, airmass, sun_altitude, target_geometry
from pyros.astro.topocentric import SiteFrame

SITES = {
    "san_pedro_martir": EarthLocation.from_geodetic(-115.4637 * u.deg, 31.0442 * u.deg, 2830.0 * u.m),
    "la_silla": EarthLocation.from_geodetic(-70.7346 * u.deg, -29.2584 * u.deg, 2400.0 * u.m),
    "svalbard_78n": EarthLocation.from_geodetic(15.6 * u.deg, 78.0 * u.deg, 10.0 * u.m),
    "equator_sea_level": EarthLocation.from_geodetic(0.0 * u.deg, 0.0 * u.deg, 0.0 * u.m),
}
ANGLE_TOLERANCE_DEG = 0.001  # 3.6"; the measured agreement is about 0.4"


def random_targets(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets spread uniformly over the sphere."""
    return rng.uniform(0.0, 360.0, count), np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, count)))


def random_night_times(rng: np.random.Generator, count: int, span_days: float = 0.5) -> Time:
    """Sorted instants within ``span_days`` from a random start in 2024-2026 (inside the IERS-B table)."""
    start = Time("2024-01-01T00:00:00") + rng.uniform(0.0, 990.0) * u.day
    return start + np.sort(rng.uniform(0.0, span_days, count)) * u.day


def wrapped(difference_deg: np.ndarray) -> np.ndarray:
    return (np.asarray(difference_deg) + 180.0) % 360.0 - 180.0


@pytest.mark.parametrize("site", sorted(SITES))
def test_altitude_azimuth_hour_angle_match_astropy(site: str) -> None:
    location = SITES[site]
    rng = np.random.default_rng(abs(hash(site)) % 2**32)
    ra, dec = random_targets(rng, 40)
    times = random_night_times(rng, 30)
    ours = target_geometry(ra, dec, times, location)
    assert ours.altitude_deg.shape == ours.azimuth_deg.shape == ours.hour_angle_deg.shape == (40, 30)
    assert ours.airmass.shape == ours.moon_separation_deg.shape == (40, 30)
    assert ours.sun_altitude_deg.shape == ours.moon_altitude_deg.shape == ours.moon_illumination.shape == (30,)

    targets = SkyCoord(ra[:, None] * u.deg, dec[:, None] * u.deg, frame="icrs")
    altaz = targets.transform_to(AltAz(obstime=times[None, :], location=location))
    hadec = targets.transform_to(HADec(obstime=times[None, :], location=location))
    alt_error = np.abs(ours.altitude_deg - altaz.alt.deg)
    az_error = np.abs(wrapped(ours.azimuth_deg - altaz.az.deg)) * np.cos(altaz.alt.rad)
    ha_error = np.abs(wrapped(ours.hour_angle_deg - hadec.ha.deg)) * np.cos(hadec.dec.rad)
    assert alt_error.max() < ANGLE_TOLERANCE_DEG
    assert az_error.max() < ANGLE_TOLERANCE_DEG
    assert ha_error.max() < ANGLE_TOLERANCE_DEG
    assert np.all((ours.azimuth_deg >= 0.0) & (ours.azimuth_deg < 360.0))
    assert np.all((ours.hour_angle_deg > -180.0) & (ours.hour_angle_deg <= 180.0))


def test_instants_spanning_several_days_match_astropy() -> None:
    # Each day of instants gets its own apparent places: still within tolerance 3 days later.
    location = SITES["la_silla"]
    rng = np.random.default_rng(7)
    ra, dec = random_targets(rng, 25)
    times = random_night_times(rng, 24, span_days=3.5)
    ours = target_geometry(ra, dec, times, location)
    altaz = SkyCoord(ra[:, None] * u.deg, dec[:, None] * u.deg).transform_to(
        AltAz(obstime=times[None, :], location=location))
    assert np.abs(ours.altitude_deg - altaz.alt.deg).max() < ANGLE_TOLERANCE_DEG
    assert (np.abs(wrapped(ours.azimuth_deg - altaz.az.deg)) * np.cos(altaz.alt.rad)).max() < ANGLE_TOLERANCE_DEG


def test_unsorted_instants_give_the_same_columns() -> None:
    location = SITES["san_pedro_martir"]
    rng = np.random.default_rng(3)
    ra, dec = random_targets(rng, 10)
    times = random_night_times(rng, 12)
    order = rng.permutation(12)
    sorted_result = target_geometry(ra, dec, times, location)
    shuffled = target_geometry(ra, dec, times[order], location)
    np.testing.assert_allclose(shuffled.altitude_deg, sorted_result.altitude_deg[:, order], atol=1e-9)
    np.testing.assert_allclose(shuffled.moon_separation_deg, sorted_result.moon_separation_deg[:, order], atol=1e-9)


@pytest.mark.parametrize("site", ["san_pedro_martir", "svalbard_78n"])
def test_sun_altitude_matches_astropy(site: str) -> None:
    location = SITES[site]
    rng = np.random.default_rng(11)
    times = Time("2024-01-01T00:00:00") + np.sort(rng.uniform(0.0, 990.0, 40)) * u.day
    reference = get_body("sun", times, location).transform_to(AltAz(obstime=times, location=location)).alt.deg
    ours = sun_altitude(times, location)
    assert ours.shape == (40,)
    assert np.abs(ours - reference).max() < ANGLE_TOLERANCE_DEG
    frame = SiteFrame(location)
    np.testing.assert_allclose(sun_altitude(times[:5], frame), ours[:5], atol=1e-9)


def test_scalars_and_empty_target_lists() -> None:
    location = SITES["la_silla"]
    one = target_geometry(83.8221, -5.3911, Time("2025-01-10T04:00:00"), location)
    assert one.altitude_deg.shape == (1, 1) and one.times.shape == (1,)
    reference = SkyCoord(83.8221 * u.deg, -5.3911 * u.deg).transform_to(
        AltAz(obstime=Time("2025-01-10T04:00:00"), location=location))
    assert abs(one.altitude_deg[0, 0] - reference.alt.deg) < ANGLE_TOLERANCE_DEG
    none = target_geometry([], [], Time(["2025-01-10T04:00:00", "2025-01-10T05:00:00"]), location)
    assert none.altitude_deg.shape == none.airmass.shape == (0, 2)
    assert none.sun_altitude_deg.shape == (2,)


def test_airmass_in_the_geometry_follows_altitude() -> None:
    sky = Sky(SITES["san_pedro_martir"])
    rng = np.random.default_rng(5)
    ra, dec = random_targets(rng, 200)
    geometry = sky.targets(ra, dec, random_night_times(rng, 20))
    below = geometry.altitude_deg < 0.0
    assert below.any() and (~below).any()
    assert np.all(np.isinf(geometry.airmass[below]))
    above = geometry.airmass[~below]
    assert np.all(np.isfinite(above)) and above.min() >= 0.999 and above.max() < 40.0
    high = geometry.altitude_deg > 30.0
    secant = 1.0 / np.sin(np.radians(geometry.altitude_deg[high]))
    np.testing.assert_allclose(geometry.airmass[high], secant, rtol=0.005)


def test_airmass_formula() -> None:
    altitudes = np.linspace(0.0, 90.0, 901)
    values = airmass(altitudes)
    assert np.all(np.diff(values) < 0.0), "airmass decreases with altitude"
    assert values[-1] == pytest.approx(1.0, abs=1e-4)
    assert 30.0 < values[0] < 34.0  # refracted horizon (0.48°), Pickering's formula
    assert airmass(30.0) == pytest.approx(2.0, rel=0.005)
    assert airmass(60.0) == pytest.approx(1.0 / np.sin(np.radians(60.0)), rel=0.001)
    # Independent check: Kasten & Young (1989) at the same apparent altitude agrees within 1 %
    # from 2° up (both fit the same tabulated airmass).
    refracted = altitudes[20:] + (1.02 / 60.0) / np.tan(np.radians(altitudes[20:] + 10.3 / (altitudes[20:] + 5.11)))
    kasten_young = 1.0 / (np.sin(np.radians(refracted)) + 0.50572 * (refracted + 6.07995) ** -1.6364)
    np.testing.assert_allclose(values[20:], kasten_young, rtol=0.01)
    assert np.isinf(airmass(-0.001)) and np.isinf(airmass(-45.0))
    assert np.isnan(airmass(np.nan))
    assert airmass([[10.0, -1.0], [90.0, 45.0]]).shape == (2, 2)
