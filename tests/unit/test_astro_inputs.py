"""Bad input to :mod:`pyros.astro` gets a clear error naming what is wrong; good input in every accepted form."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Any

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import EarthLocation
from astropy.time import Time

from pyros.astro import Sky, find_night, find_twilights, site_location, target_geometry, to_datetime, to_instant, \
    to_times
from pyros.astro.night import check_sun_altitude
from pyros.config import Config, SiteConfig, load_config

LA_SILLA = EarthLocation.from_geodetic(-70.7346 * u.deg, -29.2584 * u.deg, 2400.0 * u.m)
NIGHT = Time(["2025-01-10T04:00:00", "2025-01-10T05:00:00"])


# ---------------------------------------------------------------------------- site


def test_site_from_config_numbers() -> None:
    location = site_location(SiteConfig(longitude_deg=-70.7346, latitude_deg=-29.2584, elevation_m=2400.0))
    assert location.lon.deg == pytest.approx(-70.7346, abs=1e-9)
    assert location.lat.deg == pytest.approx(-29.2584, abs=1e-9)
    assert location.height.to_value(u.m) == pytest.approx(2400.0, abs=1e-6)
    sky = Sky.from_config(load_config(env={"PYROS_ASTRO__NIGHT_SUN_ALTITUDE_DEG": "-15"}))
    assert sky.night_sun_altitude_deg == -15.0
    assert sky.location.lat.deg == pytest.approx(SiteConfig().latitude_deg, abs=1e-9)


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"latitude_deg": 91.0}, ValueError, "site.latitude_deg: must be between -90 and 90, got 91.0"),
        ({"latitude_deg": -90.5}, ValueError, "site.latitude_deg: must be between -90 and 90, got -90.5"),
        ({"longitude_deg": 180.1}, ValueError, "site.longitude_deg: must be between -180 and 180, got 180.1"),
        ({"longitude_deg": math.nan}, ValueError, "site.longitude_deg: must be between -180 and 180, got nan"),
        ({"elevation_m": 1e6}, ValueError, "site.elevation_m: must be between -500 and 10000, got 1000000.0"),
        ({"elevation_m": "high"}, TypeError, "site.elevation_m: expected a number, got str 'high'"),
        ({"latitude_deg": True}, TypeError, "site.latitude_deg: expected a number, got bool True"),
    ],
)
def test_bad_site(fields: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        site_location(SiteConfig(**fields))


def test_bad_location_for_sky() -> None:
    with pytest.raises(TypeError, match="location: expected one astropy EarthLocation, got str"):
        Sky("La Silla")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not on the Earth's surface"):
        Sky(EarthLocation.from_geocentric(0.0, 0.0, 0.0, unit=u.m))
    several = EarthLocation.from_geodetic([0.0, 1.0] * u.deg, [0.0, 1.0] * u.deg)
    with pytest.raises(TypeError, match=r"of shape \(2,\)"):
        Sky(several)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (-18.5, ValueError, "must be between -18 and 0 degrees, got -18.5"),
        (0.1, ValueError, "must be between -18 and 0 degrees, got 0.1"),
        (math.nan, ValueError, "must be between -18 and 0 degrees, got nan"),
        ("-12", TypeError, "expected a number of degrees, got str '-12'"),
        (None, TypeError, "expected a number of degrees, got NoneType None"),
    ],
)
def test_bad_night_altitude(value: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=f"night_sun_altitude_deg: {message}"):
        Sky(LA_SILLA, night_sun_altitude_deg=value)
    with pytest.raises(error, match=f"sun_altitude_deg: {message}"):
        find_night(date(2025, 1, 10), LA_SILLA, value)


def test_night_altitude_bounds() -> None:
    assert check_sun_altitude(-18) == -18.0 and check_sun_altitude(0) == 0.0
    assert check_sun_altitude(np.float32(-6.5)) == -6.5


# ---------------------------------------------------------------------------- coordinates


@pytest.mark.parametrize(
    ("ra", "dec", "error", "message"),
    [
        ([10.0, math.nan], [0.0, 0.0], ValueError, r"ra_deg: every value must be finite, got nan at index 1"),
        ([10.0], [math.inf], ValueError, r"dec_deg: every value must be finite, got inf at index 0"),
        ([10.0, 20.0], [0.0, 90.5], ValueError, r"dec_deg: must be within \[-90, 90\] degrees, got 90.5 at index 1"),
        ([360.0], [0.0], ValueError, r"ra_deg: must be within \[0, 360\) degrees, got 360.0 at index 0"),
        ([-0.5], [0.0], ValueError, r"ra_deg: must be within \[0, 360\) degrees, got -0.5 at index 0"),
        ([10.0, 20.0], [0.0], ValueError, "ra_deg and dec_deg must have the same length, got 2 and 1"),
        ([[10.0, 20.0]], [[0.0, 0.0]], ValueError, r"ra_deg: expected a scalar or a 1-D array, got shape \(1, 2\)"),
        ("10.0", 0.0, TypeError, "ra_deg: expected numbers \\(degrees\\), got str '10.0'"),
        ([True], [0.0], TypeError, r"ra_deg: expected numbers \(degrees\), got booleans"),
        ([10.0], [None], TypeError, r"dec_deg: expected numbers \(degrees\), got NoneType None at index 0"),
        (["a", "b"], [0.0, 1.0], TypeError, r"ra_deg: expected numbers \(degrees\), got <U1 values"),
        ([1.0] * u.m, [0.0], ValueError, "ra_deg: expected an angle, got a Quantity in m"),
    ],
)
def test_bad_coordinates(ra: Any, dec: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        target_geometry(ra, dec, NIGHT, LA_SILLA)


def test_coordinates_accept_angles_and_integers() -> None:
    in_degrees = target_geometry([15.0], [-30.0], NIGHT, LA_SILLA)
    in_hours = target_geometry([1.0] * u.hourangle, np.array([-30]), NIGHT, LA_SILLA)
    np.testing.assert_allclose(in_hours.altitude_deg, in_degrees.altitude_deg, atol=1e-12)


# ---------------------------------------------------------------------------- instants


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (datetime(2025, 1, 10, 4, 0), ValueError, r"times: datetime 2025-01-10T04:00:00 is naive \(no time zone\)"),
        ([datetime(2025, 1, 10, 4, tzinfo=timezone.utc), datetime(2025, 1, 10, 5)], ValueError,
         r"times\[1\]: datetime 2025-01-10T05:00:00 is naive"),
        (np.array(["2025-01-10T04:00"], dtype="datetime64[s]"), TypeError, "numpy datetime64 carries no time zone"),
        (np.datetime64("2025-01-10T04:00"), TypeError, "numpy datetime64 carries no time zone"),
        ("2025-01-10T04:00:00", TypeError, "times: expected a Time, an aware datetime or UNIX seconds, got str"),
        (True, TypeError, "times: expected a Time, an aware datetime or UNIX seconds, got bool"),
        ([True, False], TypeError, "times: expected instants, got booleans"),
        (math.nan, ValueError, "times: UNIX seconds must be finite numbers, got nan"),
        ([1.7e9, math.inf], ValueError, "times: UNIX seconds must be finite numbers, got inf"),
        ([], ValueError, "times: no instants given"),
        ([[1.7e9, 1.8e9]], ValueError, r"times: expected a scalar or a 1-D sequence of instants, got shape \(1, 2\)"),
        (Time([["2025-01-10T04:00:00"]]), ValueError, r"times: expected a scalar or 1-D Time, got shape \(1, 1\)"),
        ([1.7e9, datetime(2025, 1, 10, tzinfo=timezone.utc)], TypeError,
         r"expected aware datetimes or UNIX seconds \(all of one kind\), got datetime, float"),
        (Time("1950-06-01T00:00:00"), ValueError, "instant 1950-06-01T00:00:00.000 is outside the supported range"),
        (Time("2099-12-15T00:00:00"), ValueError, "instant 2099-12-15T00:00:00.000 is outside the supported range"),
        ({"when": 1.7e9}, TypeError, "times: expected a Time, an aware datetime or UNIX seconds, got dict"),
    ],
)
def test_bad_instants(value: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        to_times(value)
    with pytest.raises(error, match=message.replace("times", "times", 1)):
        target_geometry([10.0], [0.0], value, LA_SILLA)


def test_instant_forms_are_the_same_instant() -> None:
    aware = datetime(2025, 1, 10, 4, 0, 0, 250000, tzinfo=timezone.utc)
    forms = [
        aware,
        aware.astimezone(timezone(timedelta(hours=-3))),
        aware.timestamp(),
        np.float64(aware.timestamp()),
        Time("2025-01-10T04:00:00.25"),
        Time("2025-01-10T04:01:09.434", scale="tt"),
    ]
    reference = Time("2025-01-10T04:00:00.25")
    for form in forms:
        converted = to_times(form)
        assert converted.shape == (1,) and converted.scale == "utc"
        assert abs((converted[0] - reference).sec) < 1e-5
        assert abs((to_instant(form) - reference).sec) < 1e-5
    several = to_times([aware, aware + timedelta(hours=1)])
    assert several.shape == (2,) and abs((several[1] - several[0]).sec - 3600.0) < 1e-6
    assert to_times([aware.timestamp(), aware.timestamp() + 60]).shape == (2,)


def test_results_convert_to_aware_datetimes() -> None:
    night = find_night(date(2025, 1, 10), LA_SILLA)
    assert night.start is not None and night.start.scale == "utc"
    start = to_datetime(night.start)
    assert isinstance(start, datetime) and start.tzinfo is timezone.utc
    assert abs(start.timestamp() - night.start.unix) < 1e-3
    assert [d.tzinfo for d in to_datetime(NIGHT)] == [timezone.utc, timezone.utc]  # type: ignore[union-attr]


def test_bad_when_for_nights() -> None:
    with pytest.raises(ValueError, match="when: datetime 2025-01-10T04:00:00 is naive"):
        find_night(datetime(2025, 1, 10, 4), LA_SILLA)
    with pytest.raises(ValueError, match="when: expected one instant, got 2 of them"):
        find_night(NIGHT, LA_SILLA)
    with pytest.raises(ValueError, match="when: date 1961-05-01 is outside the supported range"):
        find_twilights(date(1961, 5, 1), LA_SILLA)
    with pytest.raises(TypeError, match="when: expected a Time, an aware datetime or UNIX seconds, got str"):
        find_night("tonight", LA_SILLA)  # type: ignore[arg-type]
    night = find_night(date(2025, 1, 10), LA_SILLA)
    with pytest.raises(ValueError, match="when: datetime 2025-01-10T04:00:00 is naive"):
        night.contains(datetime(2025, 1, 10, 4))


def test_sky_reads_no_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every instant is an argument: a Sky works with the wall clock unavailable.
    import time as time_module

    def no_wall_clock() -> float:
        raise AssertionError("pyros.astro must not read the wall clock")

    monkeypatch.setattr(time_module, "time", no_wall_clock)
    sky = Sky.from_config(Config())
    assert sky.night(Time("2025-01-10T04:00:00")).start is not None
    assert sky.targets([10.0], [0.0], NIGHT).altitude_deg.shape == (1, 2)
