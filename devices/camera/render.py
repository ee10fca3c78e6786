"""Synthetic camera frames: stars, sky, dark current, noise, bias and saturation.

The detector model, in electrons per binned pixel (``b`` the binning, ``t``
the exposure time, ``I`` the illumination pattern of
:mod:`devices.camera.illumination`)::

    bias  : 0
    dark  : dark_current * b**2 * t
    flat  : (flat_rate * I + dark_current) * b**2 * t
    light : (sky_background * I + dark_current) * b**2 * t + stars

where each star adds ``10 ** (-0.4 * (mag - zero_point)) * t * I`` electrons
spread by a Gaussian PSF of FWHM the seeing (:mod:`devices.camera.gaussian_psf`)
at the position the WCS (:mod:`devices.camera.field_wcs`) gives. The frame
read out is then::

    ADU = round((Poisson(electrons) + Normal(0, read_noise)) / gain + bias)

clipped to [0, saturation]. Binning sums the charge of ``b x b`` pixels before
the read-out, so read noise is counted once per binned pixel, as on a CCD.
"""

from __future__ import annotations

import math

import numpy as np

from devices.camera.detector import Detector
from devices.camera.field_wcs import build_wcs
from devices.camera.filter_band import FilterBand
from devices.camera.gaussian_psf import add_gaussian_stars, gaussian_fwhm_to_sigma
from devices.camera.illumination import illumination_at, illumination_map
from devices.camera.image_geometry import ImageGeometry
from devices.camera.image_type import ImageType
from devices.camera.star_source import StarSource
from devices.camera.validation import finite_number

__all__ = ["MAX_EXPOSURE_S", "MAX_SEEING_ARCSEC", "render_image"]

MAX_EXPOSURE_S = 86400.0
"""Longest exposure simulated, seconds."""

MAX_SEEING_ARCSEC = 30.0
"""Widest seeing simulated (FWHM), arcseconds."""

_PSF_MARGIN_FWHM = 6.0
# Expected electrons beyond this are far above any saturation; the cap keeps Poisson draws in range.
_MAX_EXPECTED_E = 1e15


def _check_rng(rng: object) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"rng: expected a numpy.random.Generator (numpy.random.default_rng(seed)), "
                    f"got {type(rng).__name__}")


def _star_electrons(geometry: ImageGeometry, sky: StarSource, band: FilterBand, exposure_s: float,
                    seeing_fwhm_arcsec: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (binned pixels, 0-based) and electrons of the stars that fall on or near the image."""
    margin_deg = _PSF_MARGIN_FWHM * seeing_fwhm_arcsec / 3600.0
    stars = sky.cone(geometry.ra_deg, geometry.dec_deg, geometry.half_diagonal_deg + margin_deg)
    if not len(stars):
        empty = np.empty(0)
        return empty, empty, empty
    x, y = build_wcs(geometry).wcs_world2pix(stars.ra_deg, stars.dec_deg, 0)
    rows, columns = geometry.shape
    margin_px = margin_deg * 3600.0 / geometry.binned_scale_arcsec
    near = (x > -margin_px) & (x < columns - 1 + margin_px) & (y > -margin_px) & (y < rows - 1 + margin_px)
    x, y = x[near], y[near]
    rate = 10.0 ** (-0.4 * (stars.mag[near] - band.zero_point_mag))
    electrons = rate * exposure_s * np.maximum(illumination_at(x, y, geometry.shape), 0.0)
    return x, y, electrons


def render_image(geometry: ImageGeometry, *, exposure_s: float, image_type: ImageType | str, band: FilterBand,
                 detector: Detector, seeing_fwhm_arcsec: float, rng: np.random.Generator,
                 sky: StarSource | None = None) -> np.ndarray:
    """Simulate the frame a camera reads out.

    Args:
        geometry: Pointing (image centre, ICRS), rotation, pixel scale, size and binning.
        exposure_s: Exposure time, seconds (0 to 86400; 0 for a bias).
        image_type: ``light``, ``dark``, ``flat`` or ``bias`` (or an :class:`ImageType`).
        band: The filter in the beam: zero point, sky background, flat-field level.
        detector: Gain, read noise, bias level, dark current, saturation.
        seeing_fwhm_arcsec: FWHM of the stars' images, arcseconds (in (0, 30]).
        rng: The random generator that draws the noise; the same generator
            state gives the same frame.
        sky: Where the stars come from (a :class:`~devices.camera.sky_catalogue.SkyCatalogue`
            or fixed :class:`~devices.camera.stars.Stars`); required for light
            frames, ignored otherwise.

    Returns:
        The frame, ``uint16`` of shape ``geometry.shape`` (rows, columns), ADU.

    Raises:
        TypeError: If an argument is of the wrong type.
        ValueError: If a value is out of range, the image type is unknown, a
            bias has a non-zero exposure time, or a light frame has no sky.
    """
    if not isinstance(geometry, ImageGeometry):
        raise TypeError(f"geometry: expected an ImageGeometry, got {type(geometry).__name__}")
    if not isinstance(band, FilterBand):
        raise TypeError(f"band: expected a FilterBand, got {type(band).__name__}")
    if not isinstance(detector, Detector):
        raise TypeError(f"detector: expected a Detector, got {type(detector).__name__}")
    kind = ImageType.parse(image_type)
    exposure = finite_number("exposure_s", exposure_s, minimum=0.0, maximum=MAX_EXPOSURE_S)
    seeing = finite_number("seeing_fwhm_arcsec", seeing_fwhm_arcsec, above=0.0, maximum=MAX_SEEING_ARCSEC)
    generator = _check_rng(rng)
    if kind is ImageType.BIAS and exposure != 0.0:
        raise ValueError(f"exposure_s: a bias frame is read out without exposure, got {exposure:g} s "
                         "(take a dark for a timed exposure with the shutter closed)")
    if kind is ImageType.LIGHT and sky is None:
        raise ValueError("sky: a light frame needs a star source (a SkyCatalogue or Stars)")

    shape = geometry.shape
    pixel_area = geometry.binning ** 2
    electrons = np.full(shape, detector.dark_current_e_per_s * pixel_area * exposure)
    if kind is ImageType.FLAT:
        electrons += band.flat_rate_e_per_s * pixel_area * exposure * illumination_map(shape)
    elif kind is ImageType.LIGHT and sky is not None:
        electrons += band.sky_background_e_per_s * pixel_area * exposure * illumination_map(shape)
        x, y, star_e = _star_electrons(geometry, sky, band, exposure, seeing)
        sigma = gaussian_fwhm_to_sigma(seeing / geometry.binned_scale_arcsec)
        add_gaussian_stars(electrons, x, y, star_e, sigma)

    np.clip(electrons, 0.0, _MAX_EXPECTED_E, out=electrons)
    collected = generator.poisson(electrons).astype(np.float64) if exposure > 0.0 else electrons
    if detector.read_noise_e > 0.0:
        collected += generator.normal(0.0, detector.read_noise_e, shape)
    adu = collected
    adu *= 1.0 / detector.gain_e_per_adu
    adu += detector.bias_adu
    np.rint(adu, out=adu)
    np.clip(adu, 0.0, math.floor(detector.saturation_adu), out=adu)
    return adu.astype(np.uint16)
