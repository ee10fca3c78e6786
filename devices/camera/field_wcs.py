"""The world coordinate system of a simulated image (gnomonic projection, CD matrix)."""

from __future__ import annotations

import math

import numpy as np
from astropy.wcs import WCS

from devices.camera.image_geometry import ImageGeometry

__all__ = ["build_wcs", "cd_matrix"]


def cd_matrix(scale_deg: float, rotation_deg: float) -> np.ndarray:
    """The CD matrix (degrees per pixel) of a sky-parity image of scale ``scale_deg`` rotated by ``rotation_deg``.

    The columns are the sky directions of the +x and +y pixel axes, in the
    (east, north) tangent plane: +y points at position angle ``rotation_deg``
    (north through east) and +x 90 degrees further clockwise on the sky, so
    east is left of north as seen from the Earth.
    """
    cosine, sine = math.cos(math.radians(rotation_deg)), math.sin(math.radians(rotation_deg))
    return scale_deg * np.array([[-cosine, sine], [sine, cosine]])


def build_wcs(geometry: ImageGeometry) -> WCS:
    """The ICRS TAN world coordinate system of the binned image.

    The reference point is the pointing, at the centre of the binned image
    (FITS pixel ``((columns + 1) / 2, (rows + 1) / 2)``, 1-based); the CD
    matrix carries the binned pixel scale and the rotation.

    Args:
        geometry: Pointing and pixel layout.

    Returns:
        A two-axis celestial WCS whose ``pixel_shape`` is (columns, rows).
    """
    rows, columns = geometry.shape
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.cunit = ["deg", "deg"]
    wcs.wcs.radesys = "ICRS"
    wcs.wcs.crval = [geometry.ra_deg, geometry.dec_deg]
    wcs.wcs.crpix = [(columns + 1) / 2.0, (rows + 1) / 2.0]
    wcs.wcs.cd = cd_matrix(geometry.binned_scale_arcsec / 3600.0, geometry.rotation_deg)
    wcs.wcs.set()
    wcs.pixel_shape = (columns, rows)
    return wcs
