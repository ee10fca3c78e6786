"""Synthetic frames: determinism, WCS positions, noise statistics, binning, saturation, bad input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from devices.camera.detector import Detector
from devices.camera.field_wcs import build_wcs
from devices.camera.filter_band import FilterBand
from devices.camera.illumination import VIGNETTING, illumination_at, illumination_map
from devices.camera.image_geometry import ImageGeometry
from devices.camera.image_type import ImageType
from devices.camera.render import render_image
from devices.camera.sky_catalogue import SkyCatalogue
from devices.camera.sphere import angular_separation_deg
from devices.camera.stars import Stars

DETECTOR = Detector(gain_e_per_adu=2.0, read_noise_e=10.0, bias_adu=1000.0, dark_current_e_per_s=0.1,
                    saturation_adu=60000.0)
BAND = FilterBand("R", zero_point_mag=24.0, sky_background_e_per_s=50.0, flat_rate_e_per_s=20000.0)


def render(geometry: ImageGeometry, seed: int = 1, **overrides: Any) -> np.ndarray:
    arguments: dict[str, Any] = dict(exposure_s=30.0, image_type="light", band=BAND, detector=DETECTOR,
                                     seeing_fwhm_arcsec=2.5, rng=np.random.default_rng(seed))
    arguments.update(overrides)
    return render_image(geometry, **arguments)


def one_star(ra: float, dec: float, mag: float) -> Stars:
    return Stars(np.array([ra]), np.array([dec]), np.array([mag]), np.array([1]))


# ---------------------------------------------------------------------------------------------- determinism


def test_same_seed_same_frame_other_seed_other_noise_same_stars() -> None:
    geometry = ImageGeometry(150.0, 2.2, 15.0, 1.5, 2048, 2048)
    sky = SkyCatalogue(42)
    assert len(sky.cone(150.0, 2.2, geometry.half_diagonal_deg)) > 2000
    first = render(geometry, seed=5, sky=sky)
    second = render(geometry, seed=5, sky=SkyCatalogue(42))
    third = render(geometry, seed=6, sky=sky)
    assert first.dtype == np.uint16 and first.shape == (2048, 2048)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, third)
    # The noise differs, the stars do not: the brightest pixels are in the same places.
    brightest = np.argsort(first, axis=None)[-200:]
    assert np.median(np.abs(first.ravel()[brightest].astype(float) - third.ravel()[brightest])) < \
        0.05 * np.median(first.ravel()[brightest])


# ---------------------------------------------------------------------------------------------- WCS


def test_wcs_orientation_north_up_east_left_and_rotation() -> None:
    scale = 1.0
    north = (10.0, 20.0 + 30.0 / 3600.0)
    east = (10.0 + 30.0 / 3600.0 / math.cos(math.radians(20.0)), 20.0)
    upright = build_wcs(ImageGeometry(10.0, 20.0, 0.0, scale, 201, 201))
    x, y = upright.wcs_world2pix([north[0], east[0]], [north[1], east[1]], 0)
    assert x[0] == pytest.approx(100.0, abs=1e-6) and y[0] == pytest.approx(130.0, abs=1e-3)
    assert x[1] == pytest.approx(70.0, abs=1e-3) and y[1] == pytest.approx(100.0, abs=1e-3)
    turned = build_wcs(ImageGeometry(10.0, 20.0, 90.0, scale, 201, 201))
    x, y = turned.wcs_world2pix([north[0], east[0]], [north[1], east[1]], 0)
    assert x[0] == pytest.approx(130.0, abs=1e-3) and y[0] == pytest.approx(100.0, abs=1e-6)  # north along +x
    # A parallel of declination curves on the tangent plane: 0.0008 px off the axis here.
    assert x[1] == pytest.approx(100.0, abs=0.002) and y[1] == pytest.approx(130.0, abs=1e-3)  # east along +y


def test_wcs_takes_binning_into_account() -> None:
    unbinned = build_wcs(ImageGeometry(83.0, -5.0, 30.0, 0.8, 1000, 600))
    binned = build_wcs(ImageGeometry(83.0, -5.0, 30.0, 0.8, 1000, 600, binning=2))
    assert binned.pixel_shape == (500, 300)
    assert binned.wcs.crpix == pytest.approx([250.5, 150.5])
    np.testing.assert_allclose(binned.pixel_scale_matrix, 2 * unbinned.pixel_scale_matrix)
    # The same sky point: unbinned pixel p (0-based) is binned pixel (p + 0.5) / 2 - 0.5.
    ra, dec = unbinned.wcs_pix2world([[123.0, 456.0]], 0)[0]
    bx, by = binned.wcs_world2pix([[ra, dec]], 0)[0]
    assert bx == pytest.approx((123.0 + 0.5) / 2 - 0.5, abs=1e-6)
    assert by == pytest.approx((456.0 + 0.5) / 2 - 0.5, abs=1e-6)


def find_peaks(image: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Local maxima (row, column) above ``threshold``, away from the edges."""
    core = image[1:-1, 1:-1]
    peak = core > threshold
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                neighbour = image[1 + dy:image.shape[0] - 1 + dy, 1 + dx:image.shape[1] - 1 + dx]
                peak &= core > neighbour if (dy, dx) > (0, 0) else core >= neighbour
    rows, columns = np.nonzero(peak)
    return list(zip(rows + 1, columns + 1))


@pytest.mark.parametrize("binning", [1, 2])
def test_rendered_stars_are_where_the_wcs_puts_the_catalogue_stars(binning: int) -> None:
    # Across RA 0, rotated, at mid declination.
    geometry = ImageGeometry(359.95, 48.0, 37.0, 1.0, 2048, 1800, binning=binning)
    sky = SkyCatalogue(9)
    dark_sky = FilterBand("Ha", zero_point_mag=24.0, sky_background_e_per_s=5.0)
    image = render(geometry, seed=2, exposure_s=20.0, band=dark_sky, sky=sky).astype(float)
    wcs = build_wcs(geometry)
    stars = sky.cone(geometry.ra_deg, geometry.dec_deg, geometry.half_diagonal_deg + 0.05)
    scale = geometry.binned_scale_arcsec
    sigma = 2.5 / scale / 2.3548
    half = max(3, math.ceil(4 * sigma))
    # Peaks of 2000 ADU hold >= 3e4 electrons: centroids good to about 0.02 px.
    peaks = find_peaks(image, threshold=DETECTOR.bias_adu + 2000.0)
    peaks.sort(key=lambda rc: -image[rc])
    checked, errors = 0, []
    for row, column in peaks:
        if image[row, column] >= DETECTOR.saturation_adu - 1:
            continue
        if not (2 * half <= row < image.shape[0] - 2 * half and 2 * half <= column < image.shape[1] - 2 * half):
            continue
        box = image[row - half:row + half + 1, column - half:column + half + 1]
        frame = image[row - 2 * half:row + 2 * half + 1, column - 2 * half:column + 2 * half + 1]
        ring = np.concatenate([frame[:half].ravel(), frame[-half:].ravel(), frame[:, :half].ravel(),
                               frame[:, -half:].ravel()])
        light = box - np.median(ring)
        offsets = np.arange(-half, half + 1)
        y = row + (light.sum(axis=1) * offsets).sum() / light.sum()
        x = column + (light.sum(axis=0) * offsets).sum() / light.sum()
        ra, dec = wcs.wcs_pix2world([[x, y]], 0)[0]
        distance = angular_separation_deg(ra, dec, stars.ra_deg, stars.dec_deg) * 3600.0 / scale
        nearest = int(np.argmin(distance))
        # Only isolated stars: no other star with 1/1000 of their light whose image touches the window.
        close = (distance < half + 4 * sigma + 2) & (stars.mag < stars.mag[nearest] + 7.5)
        if close.sum() != 1:
            continue
        errors.append(distance[nearest])
        checked += 1
        if checked == 25:
            break
    assert checked >= 10, f"only {checked} isolated unsaturated bright stars found"
    assert max(errors) < 0.1, f"position errors (px): {sorted(errors)}"


# ---------------------------------------------------------------------------------------------- noise


def test_bias_frame_is_bias_level_plus_read_noise() -> None:
    geometry = ImageGeometry(0.0, 0.0, 0.0, 1.0, 512, 512)
    frame = render(geometry, exposure_s=0.0, image_type="bias").astype(float)
    expected_std = math.sqrt((DETECTOR.read_noise_e / DETECTOR.gain_e_per_adu) ** 2 + 1 / 12)  # + rounding
    assert frame.mean() == pytest.approx(DETECTOR.bias_adu, abs=0.05)
    assert frame.std() == pytest.approx(expected_std, rel=0.02)
    assert frame.std() == pytest.approx(DETECTOR.read_noise_e / DETECTOR.gain_e_per_adu, rel=0.03)


def test_dark_frame_adds_dark_current_with_poisson_noise() -> None:
    geometry = ImageGeometry(0.0, 0.0, 0.0, 1.0, 512, 512)
    exposure = 300.0
    frame = render(geometry, exposure_s=exposure, image_type="dark").astype(float)
    dark_e = DETECTOR.dark_current_e_per_s * exposure
    gain = DETECTOR.gain_e_per_adu
    assert frame.mean() == pytest.approx(DETECTOR.bias_adu + dark_e / gain, abs=0.1)
    expected_std = math.sqrt((dark_e + DETECTOR.read_noise_e ** 2) / gain ** 2 + 1 / 12)
    assert frame.std() == pytest.approx(expected_std, rel=0.03)


def test_binning_halves_the_size_and_sums_the_charge() -> None:
    exposure = 300.0
    unbinned = render(ImageGeometry(0.0, 0.0, 0.0, 1.0, 512, 256), exposure_s=exposure, image_type="dark")
    binned = render(ImageGeometry(0.0, 0.0, 0.0, 1.0, 512, 256, binning=2), exposure_s=exposure, image_type="dark")
    assert unbinned.shape == (256, 512)
    assert binned.shape == (128, 256)
    signal = (unbinned.mean() - DETECTOR.bias_adu, binned.mean() - DETECTOR.bias_adu)
    assert signal[1] == pytest.approx(4 * signal[0], rel=0.02)
    # Read noise is counted once per binned pixel.
    dark_e = 4 * DETECTOR.dark_current_e_per_s * exposure
    expected_std = math.sqrt((dark_e + DETECTOR.read_noise_e ** 2) / DETECTOR.gain_e_per_adu ** 2 + 1 / 12)
    assert binned.astype(float).std() == pytest.approx(expected_std, rel=0.03)


def test_flat_is_a_smooth_illumination_pattern_without_stars() -> None:
    geometry = ImageGeometry(150.0, 2.2, 0.0, 1.0, 512, 512)
    exposure = 2.0
    frame = render(geometry, exposure_s=exposure, image_type="flat", sky=SkyCatalogue(42)).astype(float)
    gain = DETECTOR.gain_e_per_adu
    centre_e = BAND.flat_rate_e_per_s * exposure
    centre = frame[246:266, 246:266].mean() - DETECTOR.bias_adu
    corner = frame[:20, :20].mean() - DETECTOR.bias_adu
    assert centre == pytest.approx(centre_e / gain, rel=0.01)
    assert corner / centre == pytest.approx(illumination_at(10, 10, (512, 512)) / 1.0, rel=0.01)
    assert corner / centre < 1 - 0.8 * VIGNETTING
    # Divided by the pattern, only shot and read noise are left: no stars, no structure.
    level = illumination_map(geometry.shape) * (centre_e + DETECTOR.dark_current_e_per_s * exposure)
    residual = (frame - DETECTOR.bias_adu) * gain - level
    expected_e = np.sqrt(level + DETECTOR.read_noise_e ** 2)
    normalised = residual / expected_e
    assert normalised.std() == pytest.approx(1.0, abs=0.03)
    assert np.abs(normalised).max() < 6.0


def test_light_frame_sky_level_and_star_flux_follow_the_zero_point() -> None:
    geometry = ImageGeometry(100.0, -30.0, 0.0, 1.0, 256, 256)
    exposure = 10.0
    gain = DETECTOR.gain_e_per_adu
    empty = render(geometry, exposure_s=exposure, sky=Stars.empty()).astype(float)
    sky_e = (BAND.sky_background_e_per_s + DETECTOR.dark_current_e_per_s) * exposure
    assert empty[118:138, 118:138].mean() == pytest.approx(DETECTOR.bias_adu + sky_e / gain, abs=0.5)
    mag = 14.0
    star = render(geometry, exposure_s=exposure, sky=one_star(100.0, -30.0, mag)).astype(float)
    x, y = build_wcs(geometry).wcs_world2pix([[100.0, -30.0]], 0)[0]
    row, column = round(y), round(x)
    aperture = (slice(row - 10, row + 11), slice(column - 10, column + 11))
    flux_adu = (star[aperture] - empty[aperture]).sum()
    expected_e = 10 ** (-0.4 * (mag - BAND.zero_point_mag)) * exposure * illumination_at(x, y, geometry.shape)
    assert flux_adu == pytest.approx(expected_e / gain, rel=0.02)


def test_saturation_clips_bright_stars() -> None:
    geometry = ImageGeometry(100.0, -30.0, 0.0, 1.0, 128, 128)
    frame = render(geometry, exposure_s=60.0, sky=one_star(100.0, -30.0, 6.0))
    assert frame.max() == DETECTOR.saturation_adu
    assert (frame == DETECTOR.saturation_adu).sum() > 9
    full_range = Detector(gain_e_per_adu=1.0, read_noise_e=5.0, bias_adu=500.0, dark_current_e_per_s=0.0)
    frame = render(geometry, exposure_s=60.0, detector=full_range, sky=one_star(100.0, -30.0, 3.0))
    assert frame.max() == 65535 and frame.dtype == np.uint16


def test_stars_outside_the_image_still_spill_light_over_the_edge() -> None:
    geometry = ImageGeometry(100.0, 0.0, 0.0, 1.0, 128, 128)
    # Two pixels beyond the left edge (east is left): part of its light falls on column 0.
    ra = 100.0 + (64.0 + 2.0) / 3600.0
    frame = render(geometry, exposure_s=10.0, sky=one_star(ra, 0.0, 10.0)).astype(float)
    assert frame[60:68, 0].mean() > frame[60:68, 20].mean() + 1000


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("overrides, error, message", [
    ({"exposure_s": -1.0}, ValueError, "exposure_s"),
    ({"exposure_s": float("nan")}, ValueError, "exposure_s"),
    ({"image_type": "science"}, ValueError, "unknown image type 'science'"),
    ({"image_type": 3}, TypeError, "image_type"),
    ({"image_type": "bias", "exposure_s": 1.0}, ValueError, "bias"),
    ({"seeing_fwhm_arcsec": 0.0}, ValueError, "seeing_fwhm_arcsec"),
    ({"rng": 5}, TypeError, "rng"),
    ({"sky": None}, ValueError, "light frame needs a star source"),
    ({"band": "R"}, TypeError, "band"),
    ({"detector": None}, TypeError, "detector"),
])
def test_bad_render_arguments_are_refused(overrides: dict[str, Any], error: type[Exception], message: str) -> None:
    geometry = ImageGeometry(10.0, 10.0, 0.0, 1.0, 64, 64)
    arguments: dict[str, Any] = {"sky": Stars.empty()}
    arguments.update(overrides)
    with pytest.raises(error, match=message):
        render(geometry, **arguments)


@pytest.mark.parametrize("fields, error, message", [
    ((float("nan"), 0.0, 0.0, 1.0, 64, 64), ValueError, "ra_deg"),
    ((10.0, float("nan"), 0.0, 1.0, 64, 64), ValueError, "dec_deg"),
    ((10.0, 95.0, 0.0, 1.0, 64, 64), ValueError, "dec_deg"),
    ((10.0, 0.0, float("inf"), 1.0, 64, 64), ValueError, "rotation_deg"),
    ((10.0, 0.0, 0.0, 0.0, 64, 64), ValueError, "pixel_scale_arcsec"),
    ((10.0, 0.0, 0.0, 1.0, 0, 64), ValueError, "nx"),
    ((10.0, 0.0, 0.0, 1.0, 64, 0), ValueError, "ny"),
    ((10.0, 0.0, 0.0, 1.0, 64.0, 64), TypeError, "nx"),
    ((10.0, 0.0, 0.0, 1.0, 64, 64, 0), ValueError, "binning"),
    ((10.0, 0.0, 0.0, 1.0, 64, 4, 8), ValueError, "binning"),
    ((10.0, 0.0, 0.0, 30.0, 4096, 4096), ValueError, "field of view"),
    (("10", 0.0, 0.0, 1.0, 64, 64), TypeError, "ra_deg"),
])
def test_bad_geometry_is_refused(fields: tuple[Any, ...], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        ImageGeometry(*fields)


def test_bad_detector_and_filter_values_are_refused() -> None:
    with pytest.raises(ValueError, match="saturation_adu"):
        Detector(gain_e_per_adu=1.0, read_noise_e=5.0, bias_adu=500.0, dark_current_e_per_s=0.0, saturation_adu=70000)
    with pytest.raises(ValueError, match="saturation_adu"):
        Detector(gain_e_per_adu=1.0, read_noise_e=5.0, bias_adu=500.0, dark_current_e_per_s=0.0, saturation_adu=400)
    with pytest.raises(ValueError, match="gain_e_per_adu"):
        Detector(gain_e_per_adu=0.0, read_noise_e=5.0, bias_adu=500.0, dark_current_e_per_s=0.0)
    with pytest.raises(ValueError, match="read_noise_e"):
        Detector(gain_e_per_adu=1.0, read_noise_e=-5.0, bias_adu=500.0, dark_current_e_per_s=0.0)
    with pytest.raises(ValueError, match="sky_background_e_per_s"):
        FilterBand("R", 24.0, -1.0)
    with pytest.raises(ValueError, match="name"):
        FilterBand("", 24.0, 1.0)
    with pytest.raises(ValueError, match="zero_point_mag"):
        FilterBand("R", float("nan"), 1.0)


def test_image_types_parse_case_insensitively() -> None:
    assert ImageType.parse("Light") is ImageType.LIGHT
    assert ImageType.parse(" bias ") is ImageType.BIAS
    assert ImageType.parse(ImageType.FLAT) is ImageType.FLAT
    with pytest.raises(ValueError, match="expected one of light, dark, flat, bias"):
        ImageType.parse("object")


def test_geometry_normalises_angles_and_gives_binned_sizes() -> None:
    geometry = ImageGeometry(360.0, -90.0, -90.0, 0.5, 1001, 777, binning=3)
    assert geometry.ra_deg == 0.0 and geometry.rotation_deg == 270.0
    assert geometry.shape == (259, 333)
    assert geometry.binned_scale_arcsec == 1.5
    assert geometry.half_diagonal_deg == pytest.approx(0.5 * math.hypot(259, 333) * 1.5 / 3600)
