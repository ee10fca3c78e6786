"""Where an image looks and how its pixels are laid out: pointing, rotation, scale, size, binning."""

from __future__ import annotations

import math
from dataclasses import dataclass

from devices.camera.validation import finite_number, whole_number

__all__ = ["MAX_BINNING", "MAX_HALF_DIAGONAL_DEG", "MAX_PIXELS_PER_SIDE", "ImageGeometry"]

MAX_PIXELS_PER_SIDE = 16384
"""Largest detector side accepted, pixels."""

MAX_BINNING = 16
"""Largest binning factor accepted."""

MAX_HALF_DIAGONAL_DEG = 9.0
"""Largest distance from the image centre to a corner, degrees (a field up to about 12 degrees wide)."""


@dataclass(frozen=True)
class ImageGeometry:
    """The geometry of one exposure.

    Sizes and pixel scale are those of the unbinned detector. Binning by ``b``
    reads ``b x b`` pixels as one, so the image has ``nx // b`` columns and
    ``ny // b`` rows (columns and rows left over are not read, as on real
    cameras) of ``b`` times the pixel scale.

    Attributes:
        ra_deg: Right ascension of the image centre (ICRS), degrees in [0, 360]
            (360 is stored as 0).
        dec_deg: Declination of the image centre (ICRS), degrees in [-90, 90].
        rotation_deg: Position angle of the image's +y axis, measured from
            north through east, degrees in [-360, 360] (stored within [0, 360)).
            At 0, north is up (+y) and east left (-x) as on the sky.
        pixel_scale_arcsec: Angular size of an unbinned pixel, arcseconds.
        nx: Unbinned detector width (columns), pixels.
        ny: Unbinned detector height (rows), pixels.
        binning: Binning factor, the same along both axes.

    Raises:
        TypeError: If a field is of the wrong type.
        ValueError: If a field is NaN or out of range, the binning leaves no
            pixel, or the field is wider than :data:`MAX_HALF_DIAGONAL_DEG` allows.
    """

    ra_deg: float
    dec_deg: float
    rotation_deg: float
    pixel_scale_arcsec: float
    nx: int
    ny: int
    binning: int = 1

    def __post_init__(self) -> None:
        ra = finite_number("ra_deg", self.ra_deg, minimum=0.0, maximum=360.0)
        object.__setattr__(self, "ra_deg", 0.0 if ra == 360.0 else ra)
        object.__setattr__(self, "dec_deg", finite_number("dec_deg", self.dec_deg, minimum=-90.0, maximum=90.0))
        rotation = finite_number("rotation_deg", self.rotation_deg, minimum=-360.0, maximum=360.0)
        object.__setattr__(self, "rotation_deg", rotation % 360.0)
        object.__setattr__(self, "pixel_scale_arcsec",
                           finite_number("pixel_scale_arcsec", self.pixel_scale_arcsec, above=0.0, maximum=60.0))
        object.__setattr__(self, "nx", whole_number("nx", self.nx, minimum=1, maximum=MAX_PIXELS_PER_SIDE))
        object.__setattr__(self, "ny", whole_number("ny", self.ny, minimum=1, maximum=MAX_PIXELS_PER_SIDE))
        binning = whole_number("binning", self.binning, minimum=1, maximum=MAX_BINNING)
        if binning > min(self.nx, self.ny):
            raise ValueError(f"binning: {binning} leaves no pixel on a {self.nx} x {self.ny} detector")
        object.__setattr__(self, "binning", binning)
        if self.half_diagonal_deg > MAX_HALF_DIAGONAL_DEG:
            raise ValueError(f"field of view: {self.half_diagonal_deg:.3g} deg from centre to corner is wider than "
                             f"the {MAX_HALF_DIAGONAL_DEG:g} deg simulated (pixel_scale_arcsec or nx, ny too large)")

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the binned image as a numpy array: (rows, columns)."""
        return self.ny // self.binning, self.nx // self.binning

    @property
    def binned_scale_arcsec(self) -> float:
        """Angular size of a binned pixel, arcseconds."""
        return self.pixel_scale_arcsec * self.binning

    @property
    def half_diagonal_deg(self) -> float:
        """Distance from the centre to a corner of the image, degrees (an upper bound on the sky)."""
        rows, columns = self.shape
        return 0.5 * math.hypot(rows, columns) * self.binned_scale_arcsec / 3600.0
