"""The fixed division of the sky into tiles of about one square degree.

The synthetic sky is generated tile by tile, each tile from its own seed, so
that a star exists independently of the query that finds it. The tiles are
declination bands one degree high (band 0 runs from -90 to -89 degrees, band
179 from +89 to +90), each cut in right ascension into as many equal cells as
make them about one degree wide at the band's middle declination (one cell at
least). Cells are thus of nearly equal area, as in HEALPix, but the scheme is
simpler to index and to intersect with a cone.

Changing :data:`TILE_HEIGHT_DEG` changes every synthetic star: it is part of
the definition of the sky, not a tuning knob.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["BAND_COUNT", "TILE_HEIGHT_DEG", "SkyTile", "cells_in_band", "sky_tile", "tiles_in_cone"]

TILE_HEIGHT_DEG = 1.0
"""Height of a declination band, degrees."""

BAND_COUNT = 180
"""Number of declination bands from pole to pole."""


@dataclass(frozen=True)
class SkyTile:
    """One tile: a declination band crossed with a right-ascension cell.

    Attributes:
        band: Band index, 0 (south pole) to ``BAND_COUNT - 1`` (north pole).
        cell: Cell index within the band, from right ascension 0 eastwards.
        ra_min_deg: Western edge (included), degrees.
        ra_max_deg: Eastern edge (excluded), degrees.
        dec_min_deg: Southern edge, degrees.
        dec_max_deg: Northern edge, degrees.
    """

    band: int
    cell: int
    ra_min_deg: float
    ra_max_deg: float
    dec_min_deg: float
    dec_max_deg: float

    @property
    def area_deg2(self) -> float:
        """Solid angle of the tile in square degrees."""
        width = math.radians(self.ra_max_deg - self.ra_min_deg)
        height = math.sin(math.radians(self.dec_max_deg)) - math.sin(math.radians(self.dec_min_deg))
        return width * height * (180.0 / math.pi) ** 2


def cells_in_band(band: int) -> int:
    """Number of right-ascension cells of a band.

    Raises:
        ValueError: If ``band`` is not in ``[0, BAND_COUNT)``.
    """
    if not 0 <= band < BAND_COUNT:
        raise ValueError(f"band: must be in [0, {BAND_COUNT}), got {band!r}")
    middle = -90.0 + (band + 0.5) * TILE_HEIGHT_DEG
    return max(1, round(360.0 * math.cos(math.radians(middle)) / TILE_HEIGHT_DEG))


def sky_tile(band: int, cell: int) -> SkyTile:
    """The tile at (``band``, ``cell``).

    Raises:
        ValueError: If the band or the cell does not exist.
    """
    cells = cells_in_band(band)
    if not 0 <= cell < cells:
        raise ValueError(f"cell: band {band} has cells 0 to {cells - 1}, got {cell!r}")
    width = 360.0 / cells
    dec_min = -90.0 + band * TILE_HEIGHT_DEG
    return SkyTile(band, cell, cell * width, (cell + 1) * width, dec_min, dec_min + TILE_HEIGHT_DEG)


def _band_range(dec_low: float, dec_high: float) -> range:
    first = max(0, math.floor((dec_low + 90.0) / TILE_HEIGHT_DEG))
    last = min(BAND_COUNT - 1, math.floor((dec_high + 90.0) / TILE_HEIGHT_DEG))
    return range(first, last + 1)


def tiles_in_cone(ra_deg: float, dec_deg: float, radius_deg: float) -> list[SkyTile]:
    """Every tile that may hold a point within the cone (a few more near its edge).

    Args:
        ra_deg: Right ascension of the centre, degrees in [0, 360).
        dec_deg: Declination of the centre, degrees in [-90, 90].
        radius_deg: Radius, degrees, in (0, 90).

    Returns:
        The tiles, by band then cell, each once.
    """
    margin = 1e-9
    dec_low, dec_high = dec_deg - radius_deg - margin, dec_deg + radius_deg + margin
    holds_pole = dec_high >= 90.0 or dec_low <= -90.0
    half_width = 180.0
    if not holds_pole:
        ratio = math.sin(math.radians(radius_deg)) / math.cos(math.radians(dec_deg))
        half_width = math.degrees(math.asin(min(1.0, ratio))) + margin
    tiles: list[SkyTile] = []
    for band in _band_range(dec_low, dec_high):
        cells = cells_in_band(band)
        width = 360.0 / cells
        first = math.floor((ra_deg - half_width) / width)
        last = math.floor((ra_deg + half_width) / width)
        if holds_pole or last - first + 1 >= cells:
            indices = list(range(cells))
        else:
            indices = sorted({index % cells for index in range(first, last + 1)})
        tiles.extend(sky_tile(band, cell) for cell in indices)
    return tiles
