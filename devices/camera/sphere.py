"""Angular distances on the celestial sphere."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["angular_separation_deg"]


def angular_separation_deg(ra1_deg: ArrayLike, dec1_deg: ArrayLike, ra2_deg: ArrayLike,
                           dec2_deg: ArrayLike) -> np.ndarray:
    """Great-circle distance between two sets of directions (broadcast together).

    Uses the Vincenty form of the great-circle formula, accurate at every
    distance from 0 to 180 degrees.

    Args:
        ra1_deg: Right ascensions of the first directions, degrees.
        dec1_deg: Declinations of the first directions, degrees.
        ra2_deg: Right ascensions of the second directions, degrees.
        dec2_deg: Declinations of the second directions, degrees.

    Returns:
        The separations in degrees.
    """
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(a, dtype=float)) for a in (ra1_deg, dec1_deg, ra2_deg, dec2_deg))
    delta = ra2 - ra1
    sin_delta, cos_delta = np.sin(delta), np.cos(delta)
    sin1, cos1 = np.sin(dec1), np.cos(dec1)
    sin2, cos2 = np.sin(dec2), np.cos(dec2)
    across = np.hypot(cos2 * sin_delta, cos1 * sin2 - sin1 * cos2 * cos_delta)
    along = sin1 * sin2 + cos1 * cos2 * cos_delta
    separation: np.ndarray = np.degrees(np.arctan2(across, along))
    return separation
