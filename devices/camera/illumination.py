"""The smooth illumination pattern of the optics: vignetting and a slight gradient.

Light reaching the detector falls off towards the corners (vignetting) and,
through a small tilt of the flat-field screen or the twilight sky, changes
slowly across the field. The relative illumination at a point is::

    (1 - VIGNETTING * r**2) * (1 + GRADIENT * u)

where ``r`` is the distance from the detector centre divided by the
half-diagonal (1 at the corners) and ``u`` the column position scaled to
[-1, 1]. It is 1 at the centre, 1 - VIGNETTING (about) at the corners. The
pattern is fixed by the detector, so it is the same at any binning: flats
record it, light frames (sky and stars) are multiplied by it, and dividing
a light frame by a flat removes it.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["GRADIENT", "VIGNETTING", "illumination_at", "illumination_map"]

VIGNETTING = 0.12
"""Relative loss of light at the corners of the detector."""

GRADIENT = 0.02
"""Relative change of light from the centre to the left and right edges (brighter to the right)."""


def illumination_at(x: ArrayLike, y: ArrayLike, shape: tuple[int, int]) -> np.ndarray:
    """Relative illumination at pixel positions of an image.

    Args:
        x: Column positions, 0-based pixel centres (any shape, broadcast with ``y``).
        y: Row positions, 0-based pixel centres.
        shape: (rows, columns) of the image the positions refer to.

    Returns:
        The illumination (1 at the centre), broadcast shape of ``x`` and ``y``.
    """
    rows, columns = shape
    half_x, half_y = columns / 2.0, rows / 2.0
    half_diagonal = math.hypot(half_x, half_y)
    dx = np.asarray(x, dtype=float) + 0.5 - half_x
    dy = np.asarray(y, dtype=float) + 0.5 - half_y
    radius2 = (dx * dx + dy * dy) / (half_diagonal * half_diagonal)
    relative: np.ndarray = (1.0 - VIGNETTING * radius2) * (1.0 + GRADIENT * dx / half_x)
    return relative


def illumination_map(shape: tuple[int, int]) -> np.ndarray:
    """Relative illumination of every pixel of an image of ``shape`` (rows, columns)."""
    rows, columns = shape
    return illumination_at(np.arange(columns)[np.newaxis, :], np.arange(rows)[:, np.newaxis], shape)
