"""The Moon in :mod:`pyros.astro` against astropy's own ``get_body('moon', ...)``."""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.coordinates import AltAz, EarthLocation, SkyCoord, get_body
from astropy.time import Time

from pyros.astro import moon_position, target_geometry

SAN_PEDRO_MARTIR = EarthLocation.from_geodetic(-115.4637 * u.deg, 31.0442 * u.deg, 2830.0 * u.m)
LA_SILLA = EarthLocation.from_geodetic(-70.7346 * u.deg, -29.2584 * u.deg, 2400.0 * u.m)


def reference_illumination(times: Time) -> np.ndarray:
    """Illuminated fraction from astropy's geocentric Sun and Moon, through the elongation.

    The phase angle i follows from the elongation E (Sun-Earth-Moon angle) and the
    distances: tan i = r_sun sin E / (r_moon - r_sun cos E); the lit fraction is (1 + cos i) / 2.
    """
    sun = get_body("sun", times)
    moon = get_body("moon", times)
    elongation = sun.separation(moon).rad
    r_sun, r_moon = sun.distance.to_value(u.km), moon.distance.to_value(u.km)
    phase = np.arctan2(r_sun * np.sin(elongation), r_moon - r_sun * np.cos(elongation))
    return np.asarray((1.0 + np.cos(phase)) / 2.0)


def test_moon_position_matches_astropy() -> None:
    rng = np.random.default_rng(21)
    times = Time("2024-01-01T00:00:00") + np.sort(rng.uniform(0.0, 990.0, 30)) * u.day
    for location in (SAN_PEDRO_MARTIR, LA_SILLA):
        ours = moon_position(times, location)
        moon = get_body("moon", times, location)
        altaz = moon.transform_to(AltAz(obstime=times, location=location))
        assert np.abs(ours.altitude_deg - altaz.alt.deg).max() < 0.001
        azimuth_error = ((ours.azimuth_deg - altaz.az.deg + 180.0) % 360.0 - 180.0) * np.cos(altaz.alt.rad)
        assert np.abs(azimuth_error).max() < 0.001
        # Topocentric apparent RA/Dec (GCRS seen from the site): parallax up to a degree is included.
        direction = SkyCoord(ours.ra_deg * u.deg, ours.dec_deg * u.deg, frame=moon.frame)
        assert direction.separation(moon).deg.max() < 0.001


def test_moon_separation_matches_astropy() -> None:
    rng = np.random.default_rng(22)
    ra = rng.uniform(0.0, 360.0, 60)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, 60)))
    times = Time("2025-04-10T02:00:00") + np.linspace(0.0, 0.4, 8) * u.day
    ours = target_geometry(ra, dec, times, SAN_PEDRO_MARTIR)
    targets = SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")
    for i in range(len(times)):
        moon = get_body("moon", times[i], SAN_PEDRO_MARTIR)
        reference = moon.separation(targets.transform_to(moon.frame)).deg
        assert np.abs(ours.moon_separation_deg[:, i] - reference).max() < 0.001
    # A target at the Moon's own position is at separation ~0.
    moon = moon_position(times[3], SAN_PEDRO_MARTIR)
    icrs = SkyCoord(moon.ra_deg[0] * u.deg, moon.dec_deg[0] * u.deg,
                    frame=get_body("moon", times[3], SAN_PEDRO_MARTIR).frame).transform_to("icrs")
    onto = target_geometry(icrs.ra.deg, icrs.dec.deg, times[3], SAN_PEDRO_MARTIR)
    assert onto.moon_separation_deg[0, 0] < 0.01


def test_moon_illumination_matches_astropy_phase_angle() -> None:
    rng = np.random.default_rng(23)
    times = Time("2024-01-01T00:00:00") + np.sort(rng.uniform(0.0, 990.0, 50)) * u.day
    ours = moon_position(times, LA_SILLA).illumination
    np.testing.assert_allclose(ours, reference_illumination(times), atol=1e-6)
    assert ours.min() < 0.2 and ours.max() > 0.8  # the sample covers several phases


def test_moon_illumination_at_known_phases() -> None:
    # Full Moon 2024-01-25 17:54 UTC, new Moon 2024-02-09 22:59 UTC, first quarter 2024-02-16 15:01 UTC.
    times = Time(["2024-01-25T17:54:00", "2024-02-09T22:59:00", "2024-02-16T15:01:00"])
    illumination = target_geometry([0.0], [0.0], times, SAN_PEDRO_MARTIR).moon_illumination
    assert illumination[0] > 0.99
    assert illumination[1] < 0.01
    assert abs(illumination[2] - 0.5) < 0.03
