"""Airmass from geometric altitude, valid down to the horizon.

The secant of the zenith angle diverges at the horizon, where the real airmass
is about 38. :func:`airmass` uses instead the formula of Pickering (2002,
*The Southern Limits of the Ancient Star Catalog*, DIO 12, 1):

    X = 1 / sin(h + 244 / (165 + 47 h^1.1))        (h in degrees)

which is within a few tenths of a percent of the tabulated airmass from the
zenith to the horizon. Pickering's ``h`` is the *apparent* altitude, so the
geometric altitude is first raised by the standard refraction of Sæmundsson
(1986, *Sky & Telescope* 72, 70) for 1010 hPa and 10 °C:

    R = 1.02 / tan(h + 10.3 / (h + 5.11))          (arcminutes, h in degrees)

(0.48° at the horizon, 1' at 45°). Below the geometric horizon (altitude < 0)
the airmass is ``inf``: the target is not observable. The airmass therefore
jumps from about 32 at altitude 0 to ``inf`` just below it. ``NaN`` stays
``NaN``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["airmass", "standard_refraction_deg"]


def standard_refraction_deg(altitude_deg: ArrayLike) -> np.ndarray:
    """Standard atmospheric refraction (Sæmundsson 1986) at a geometric altitude.

    Args:
        altitude_deg: Geometric altitudes in degrees, >= 0 (the formula is
            meant for the sky above the horizon).

    Returns:
        Refraction in degrees, to add to the geometric altitude.
    """
    h = np.asarray(altitude_deg, dtype=float)
    return (1.02 / 60.0) / np.tan(np.radians(h + 10.3 / (h + 5.11)))


def airmass(altitude_deg: ArrayLike) -> np.ndarray:
    """Relative airmass (1 at the zenith) at geometric altitudes.

    Args:
        altitude_deg: Geometric (unrefracted) altitudes in degrees, any shape.

    Returns:
        The airmass, same shape: Pickering (2002) at the apparent altitude,
        ``inf`` where the altitude is negative, ``NaN`` where it is ``NaN``.
    """
    h = np.asarray(altitude_deg, dtype=float)
    above = np.maximum(h, 0.0)
    apparent = np.minimum(above + standard_refraction_deg(above), 90.0)
    x = 1.0 / np.sin(np.radians(apparent + 244.0 / (165.0 + 47.0 * apparent ** 1.1)))
    return np.where(h < 0.0, np.inf, x)
