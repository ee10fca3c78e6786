"""The synthetic sky: determinism, independence from the queries, tiling, magnitude distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from devices.camera.sky_catalogue import COUNT_SLOPE, SkyCatalogue
from devices.camera.sky_tiles import BAND_COUNT, TILE_HEIGHT_DEG, cells_in_band, sky_tile, tiles_in_cone
from devices.camera.sphere import angular_separation_deg
from devices.camera.stars import Stars

# Cones that stress the tiling: plain, across RA 0, at and near both poles, wide.
AWKWARD_CONES = [
    (150.0, 2.2, 0.7),
    (359.8, 10.0, 1.5),
    (0.1, -35.0, 2.0),
    (42.0, 89.6, 1.0),
    (200.0, -90.0, 0.8),
    (300.0, -88.9, 1.5),
    (10.0, 60.0, 6.0),
]


def assert_same_stars(first: Stars, second: Stars) -> None:
    np.testing.assert_array_equal(first.star_id, second.star_id)
    np.testing.assert_array_equal(first.ra_deg, second.ra_deg)
    np.testing.assert_array_equal(first.dec_deg, second.dec_deg)
    np.testing.assert_array_equal(first.mag, second.mag)


def cap_area_deg2(radius_deg: float) -> float:
    return 2.0 * math.pi * (1.0 - math.cos(math.radians(radius_deg))) * (180.0 / math.pi) ** 2


def test_same_seed_gives_the_same_sky_and_another_seed_another() -> None:
    first = SkyCatalogue(7).cone(150.0, 2.2, 0.5)
    again = SkyCatalogue(7).cone(150.0, 2.2, 0.5)
    other = SkyCatalogue(8).cone(150.0, 2.2, 0.5)
    assert len(first) > 500
    assert_same_stars(first, again)
    assert len(other) != len(first) or not np.array_equal(other.ra_deg, first.ra_deg)


def test_order_and_history_of_queries_do_not_change_the_stars() -> None:
    target = (359.9, -20.0, 0.6)
    fresh = SkyCatalogue(11).cone(*target)
    busy = SkyCatalogue(11)
    for ra, dec, radius in AWKWARD_CONES:
        busy.cone(ra, dec, radius)
    assert_same_stars(busy.cone(*target), fresh)
    assert_same_stars(busy.cone(*target), fresh)


@pytest.mark.parametrize("ra, dec, radius", AWKWARD_CONES)
def test_a_small_cone_holds_exactly_the_stars_of_a_large_one_within_its_radius(ra: float, dec: float,
                                                                              radius: float) -> None:
    catalogue = SkyCatalogue(3, density_per_deg2=200.0)
    large = SkyCatalogue(3, density_per_deg2=200.0).cone(ra, dec, min(radius + 2.0, 10.0))
    # Off-centre small cone, still inside the large one.
    small_dec = max(-90.0, min(90.0, dec + 0.3 * radius * (1 if dec < 0 else -1)))
    small_ra, small_radius = ra, radius
    small = catalogue.cone(small_ra, small_dec, small_radius)
    expected = large.select(angular_separation_deg(small_ra, small_dec, large.ra_deg, large.dec_deg) <= small_radius)
    assert len(small) > 0
    assert_same_stars(small, expected)


def test_every_point_of_a_cone_lies_in_one_of_the_tiles_returned() -> None:
    rng = np.random.default_rng(5)
    centres = [(ra, dec, radius) for ra, dec, radius in AWKWARD_CONES]
    centres += [(float(rng.uniform(0, 360)), float(np.degrees(np.arcsin(rng.uniform(-1, 1)))),
                 float(rng.uniform(0.05, 10.0))) for _ in range(150)]
    for ra, dec, radius in centres:
        tiles = {(tile.band, tile.cell) for tile in tiles_in_cone(ra, dec, radius)}
        # Uniform points on the cap around the pole, then rotated to the centre.
        cos_r = np.cos(np.radians(radius))
        z = rng.uniform(cos_r, 1.0, 400)
        phi = rng.uniform(0, 2 * np.pi, 400)
        s = np.sqrt(1 - z * z)
        local = np.stack([s * np.cos(phi), s * np.sin(phi), z])
        theta = np.radians(90.0 - dec)
        alpha = np.radians(ra)
        tilt = np.array([[np.cos(theta), 0, np.sin(theta)], [0, 1, 0], [-np.sin(theta), 0, np.cos(theta)]])
        turn = np.array([[np.cos(alpha), -np.sin(alpha), 0], [np.sin(alpha), np.cos(alpha), 0], [0, 0, 1]])
        x, y, zz = turn @ tilt @ local
        point_dec = np.degrees(np.arcsin(np.clip(zz, -1, 1)))
        point_ra = np.degrees(np.arctan2(y, x)) % 360.0
        assert np.all(angular_separation_deg(ra, dec, point_ra, point_dec) <= radius + 1e-9)
        for p_ra, p_dec in zip(point_ra, point_dec):
            band = min(BAND_COUNT - 1, math.floor((p_dec + 90.0) / TILE_HEIGHT_DEG))
            cells = cells_in_band(band)
            cell = min(cells - 1, math.floor(p_ra / (360.0 / cells)))
            assert (band, cell) in tiles, f"cone ({ra}, {dec}, {radius}) misses tile {band},{cell} of ({p_ra}, {p_dec})"


def test_tiles_cover_the_whole_sky_once() -> None:
    total = sum(sky_tile(band, cell).area_deg2 for band in range(BAND_COUNT) for cell in range(cells_in_band(band)))
    assert total == pytest.approx(4 * math.pi * (180 / math.pi) ** 2, rel=1e-9)
    areas = [sky_tile(band, 0).area_deg2 for band in range(5, BAND_COUNT - 5)]
    assert max(areas) / min(areas) < 1.05  # nearly equal areas away from the poles


def test_star_counts_grow_as_ten_to_the_0_3_m() -> None:
    catalogue = SkyCatalogue(21)
    radius = 2.0
    stars = catalogue.cone(80.0, -30.0, radius)
    expected = catalogue.expected_count(cap_area_deg2(radius))
    assert abs(len(stars) - expected) < 5 * math.sqrt(expected)
    assert stars.mag.min() >= catalogue.bright_limit_mag
    assert stars.mag.max() < catalogue.faint_limit_mag
    limits = np.arange(13.0, 19.51, 0.5)
    counts = np.array([(stars.mag < m).sum() for m in limits])
    slope = np.polyfit(limits, np.log10(counts), 1)[0]
    assert slope == pytest.approx(COUNT_SLOPE, abs=0.02)
    # And the level: the counts per square degree match the model at magnitude 18.
    measured = (stars.mag < 18.0).sum() / cap_area_deg2(radius)
    model = catalogue.cumulative_density(18.0)
    assert measured == pytest.approx(model, rel=5 / math.sqrt(model * cap_area_deg2(radius)))


def test_stars_have_unique_ids_and_lie_on_the_sky() -> None:
    stars = SkyCatalogue(2).cone(0.2, 89.5, 1.5)
    assert len(np.unique(stars.star_id)) == len(stars)
    assert np.all((stars.ra_deg >= 0) & (stars.ra_deg < 360))
    assert np.all(np.abs(stars.dec_deg) <= 90)
    assert np.all(np.diff(stars.star_id) > 0)


def test_fixed_stars_answer_cones_too() -> None:
    stars = Stars(np.array([10.0, 10.0, 200.0]), np.array([0.0, 0.5, 0.0]), np.array([12.0, 13.0, 14.0]),
                  np.array([3, 1, 2]))
    found = stars.cone(10.0, 0.1, 0.2)
    assert list(found.star_id) == [3]
    assert list(stars.cone(10.0, 0.2, 0.5).star_id) == [1, 3]


@pytest.mark.parametrize("args, message", [
    ((float("nan"), 0.0, 1.0), "ra_deg"),
    ((360.0, 0.0, 1.0), "ra_deg"),
    ((10.0, 90.5, 1.0), "dec_deg"),
    ((10.0, 0.0, 0.0), "radius_deg"),
    ((10.0, 0.0, 10.5), "radius_deg"),
    ((10.0, 0.0, float("inf")), "radius_deg"),
])
def test_bad_cones_are_refused_with_the_argument_named(args: tuple[float, float, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SkyCatalogue(1).cone(*args)


def test_bad_catalogue_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="seed"):
        SkyCatalogue(-1)
    with pytest.raises(TypeError, match="seed"):
        SkyCatalogue(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bright_limit_mag"):
        SkyCatalogue(1, faint_limit_mag=12.0, bright_limit_mag=12.0)
    with pytest.raises(ValueError, match="density_per_deg2"):
        SkyCatalogue(1, density_per_deg2=0.0)
    with pytest.raises(TypeError, match="ra_deg"):
        SkyCatalogue(1).cone("10", 0.0, 1.0)  # type: ignore[arg-type]


def test_malformed_star_lists_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        Stars(np.zeros(2), np.zeros(3), np.zeros(2), np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="ra_deg"):
        Stars(np.array([360.0]), np.zeros(1), np.zeros(1), np.zeros(1, dtype=np.int64))
    with pytest.raises(ValueError, match="mag"):
        Stars(np.zeros(1), np.zeros(1), np.array([np.nan]), np.zeros(1, dtype=np.int64))
    with pytest.raises(TypeError, match="star_id"):
        Stars(np.zeros(1), np.zeros(1), np.zeros(1), np.array([0.5]))
