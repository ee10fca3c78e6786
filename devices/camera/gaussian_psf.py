"""Stars drawn as circular Gaussian point-spread functions, integrated over each pixel.

Each star is drawn in a square stamp around its position, as the product of
two one-dimensional profiles: the fraction of a Gaussian of standard
deviation ``sigma`` falling within each pixel column and each pixel row
(differences of the error function at the pixel edges). The light is thus
conserved exactly, whatever the position within the pixel or how narrow
the PSF, and the centroid of a star is its position.

A stamp reaches as far as the star's light is still above
:data:`NEGLIGIBLE_E` electrons per pixel (at least 3 sigma, at most 12), so
faint stars cost little and bright stars have no visible cut edge. Stars are
processed in groups of equal stamp size, all at once with numpy.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["NEGLIGIBLE_E", "add_gaussian_stars", "gaussian_fwhm_to_sigma"]

NEGLIGIBLE_E = 0.5
"""Light per pixel (electrons) below which a star's wings are not drawn."""

_MIN_REACH_SIGMA = 3.0
_MAX_REACH_SIGMA = 12.0
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

_erf = np.frompyfunc(math.erf, 1, 1)


def gaussian_fwhm_to_sigma(fwhm: float) -> float:
    """Standard deviation of a Gaussian of full width at half maximum ``fwhm``."""
    return fwhm / _FWHM_PER_SIGMA


def _stamp_reach(electrons: np.ndarray, sigma: float) -> np.ndarray:
    """Half-width in pixels of each star's stamp."""
    peak = electrons / (2.0 * math.pi * sigma * sigma)
    with np.errstate(divide="ignore"):
        ratio = np.log(np.maximum(peak, 1e-300) / NEGLIGIBLE_E)
    reach_sigma = np.sqrt(2.0 * np.clip(ratio, _MIN_REACH_SIGMA ** 2 / 2.0, _MAX_REACH_SIGMA ** 2 / 2.0))
    return np.ceil(reach_sigma * sigma).astype(np.int64)


def _pixel_fractions(position: np.ndarray, first: np.ndarray, width: int, sigma: float) -> np.ndarray:
    """Fraction of each star's Gaussian in each of ``width`` pixels starting at ``first`` (one axis)."""
    edges = first[:, np.newaxis] + np.arange(width + 1) - 0.5 - position[:, np.newaxis]
    cumulative = np.asarray(_erf((edges / (sigma * math.sqrt(2.0))).ravel()), dtype=float).reshape(edges.shape)
    fractions: np.ndarray = np.maximum(np.diff(cumulative, axis=1) * 0.5, 0.0)
    return fractions


def add_gaussian_stars(image: np.ndarray, x: np.ndarray, y: np.ndarray, electrons: np.ndarray,
                       sigma: float) -> None:
    """Add stars to ``image`` in place.

    Args:
        image: Two-dimensional float array (rows, columns), electrons.
        x: Column positions of the stars, 0-based (the centre of pixel 0 is 0.0).
        y: Row positions, 0-based.
        electrons: Total light of each star, electrons (>= 0).
        sigma: Standard deviation of the PSF, pixels (> 0).

    Raises:
        ValueError: If the image is not a 2-D float array, the star arrays
            differ in length, or a value is not finite or out of range.
    """
    if image.ndim != 2 or not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"image: expected a two-dimensional float array, got {image.dtype} of shape {image.shape}")
    x, y, electrons = (np.asarray(a, dtype=float).ravel() for a in (x, y, electrons))
    if not x.size == y.size == electrons.size:
        raise ValueError(f"stars: x, y and electrons differ in length ({x.size}, {y.size}, {electrons.size})")
    if not (math.isfinite(sigma) and sigma > 0.0):
        raise ValueError(f"sigma: must be a positive number of pixels, got {sigma!r}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and np.all(np.isfinite(electrons))):
        raise ValueError("stars: positions and electrons must be finite")
    if np.any(electrons < 0.0):
        raise ValueError("stars: electrons must be >= 0")
    if x.size == 0:
        return
    rows, columns = image.shape
    reach = _stamp_reach(electrons, sigma)
    indices, weights = [], []
    for half_width in np.unique(reach):
        group = reach == half_width
        width = 2 * int(half_width) + 1
        first_x = np.rint(x[group]).astype(np.int64) - half_width
        first_y = np.rint(y[group]).astype(np.int64) - half_width
        fraction_x = _pixel_fractions(x[group], first_x, width, sigma)
        fraction_y = _pixel_fractions(y[group], first_y, width, sigma)
        columns_hit = first_x[:, np.newaxis] + np.arange(width)
        rows_hit = first_y[:, np.newaxis] + np.arange(width)
        light = electrons[group][:, np.newaxis, np.newaxis] * fraction_y[:, :, np.newaxis] \
            * fraction_x[:, np.newaxis, :]
        inside = ((rows_hit >= 0) & (rows_hit < rows))[:, :, np.newaxis] \
            & ((columns_hit >= 0) & (columns_hit < columns))[:, np.newaxis, :]
        flat = rows_hit[:, :, np.newaxis] * columns + columns_hit[:, np.newaxis, :]
        indices.append(flat[inside])
        weights.append(light[inside])
    image += np.bincount(np.concatenate(indices), weights=np.concatenate(weights),
                         minlength=rows * columns).reshape(rows, columns)
