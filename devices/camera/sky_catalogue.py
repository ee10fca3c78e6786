"""A synthetic, seeded star catalogue covering the whole sky.

The sky is cut into fixed tiles of about one square degree
(:mod:`devices.camera.sky_tiles`). The stars of a tile are drawn from a
random generator seeded with (catalogue seed, band, cell) only, so a star
exists whatever the cone, the order or the number of the queries that find
it: two cameras pointing at the same place with the same seed see the same
sky.

Within a tile, stars are spread uniformly over the sphere, and their
magnitudes follow the cumulative number counts::

    N(< m) = density * 10 ** (0.3 * (m - faint_limit_mag))      per square degree

between ``bright_limit_mag`` and ``faint_limit_mag``. The slope 0.3 is that of
star counts at intermediate galactic latitudes (about twice as many stars per
magnitude step of 1); ``density`` is the number of stars per square degree
brighter than the faint limit (2500 to magnitude 20 by default, a typical
high-latitude field; the Milky Way plane holds ten times more). The number of
stars in a tile is Poisson-distributed around the density times its area.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import numpy as np

from devices.camera.sky_tiles import SkyTile, tiles_in_cone
from devices.camera.sphere import angular_separation_deg
from devices.camera.stars import Stars
from devices.camera.validation import finite_number, whole_number

__all__ = ["COUNT_SLOPE", "MAX_CONE_RADIUS_DEG", "SkyCatalogue"]

COUNT_SLOPE = 0.3
"""d log10 N(<m) / dm of the magnitude distribution."""

MAX_CONE_RADIUS_DEG = 10.0
"""Largest cone radius answered (a 20-degree field is wider than any camera's)."""

_MAX_DENSITY = 100_000.0
_STARS_PER_TILE_ID = 1_000_000
_CELLS_PER_BAND_ID = 1000
_CACHED_TILES = 512


class SkyCatalogue:
    """Seeded synthetic stars, queried by cone (thread-safe).

    Generated tiles are kept in a small cache (the last 512 used); the cache
    changes nothing but speed.

    Args:
        seed: Non-negative integer; the same seed gives the same sky.
        faint_limit_mag: Faintest magnitude generated.
        bright_limit_mag: Brightest magnitude generated (below ``faint_limit_mag``).
        density_per_deg2: Stars per square degree brighter than ``faint_limit_mag``
            (at most 100,000).

    Raises:
        TypeError: If an argument is of the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, seed: int, *, faint_limit_mag: float = 20.0, bright_limit_mag: float = 2.0,
                 density_per_deg2: float = 2500.0) -> None:
        self.seed = whole_number("seed", seed, minimum=0, maximum=2**63 - 1)
        self.faint_limit_mag = finite_number("faint_limit_mag", faint_limit_mag, minimum=-2.0, maximum=30.0)
        self.bright_limit_mag = finite_number("bright_limit_mag", bright_limit_mag, minimum=-2.0,
                                              below=self.faint_limit_mag)
        self.density_per_deg2 = finite_number("density_per_deg2", density_per_deg2, above=0.0,
                                              maximum=_MAX_DENSITY)
        # Fraction of the counts to the faint limit that are fainter than the bright limit.
        self._bright_fraction = 10.0 ** (COUNT_SLOPE * (self.bright_limit_mag - self.faint_limit_mag))
        self._tiles: OrderedDict[tuple[int, int], Stars] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (f"SkyCatalogue(seed={self.seed}, faint_limit_mag={self.faint_limit_mag:g}, "
                f"bright_limit_mag={self.bright_limit_mag:g}, density_per_deg2={self.density_per_deg2:g})")

    def expected_count(self, area_deg2: float) -> float:
        """Mean number of stars generated over ``area_deg2`` square degrees."""
        return float(self.density_per_deg2 * (1.0 - self._bright_fraction) * area_deg2)

    def cumulative_density(self, mag: float) -> float:
        """Mean number of stars per square degree brighter than ``mag`` (within the limits)."""
        mag = min(max(float(mag), self.bright_limit_mag), self.faint_limit_mag)
        brighter = 10.0 ** (COUNT_SLOPE * (mag - self.faint_limit_mag))
        return float(self.density_per_deg2 * (brighter - self._bright_fraction))

    def cone(self, ra_deg: float, dec_deg: float, radius_deg: float) -> Stars:
        """The stars within ``radius_deg`` of (``ra_deg``, ``dec_deg``), in increasing order of identifier.

        Args:
            ra_deg: Right ascension of the centre (ICRS), degrees in [0, 360).
            dec_deg: Declination of the centre (ICRS), degrees in [-90, 90].
            radius_deg: Cone radius, degrees, in (0, 10].

        Returns:
            The stars; the same star always has the same identifier, position
            and magnitude.

        Raises:
            TypeError: If an argument is not a number.
            ValueError: If an argument is NaN or out of range.
        """
        ra = finite_number("ra_deg", ra_deg, minimum=0.0, below=360.0)
        dec = finite_number("dec_deg", dec_deg, minimum=-90.0, maximum=90.0)
        radius = finite_number("radius_deg", radius_deg, above=0.0, maximum=MAX_CONE_RADIUS_DEG)
        parts = [self._tile_stars(tile) for tile in tiles_in_cone(ra, dec, radius)]
        parts = [part for part in parts if len(part)]
        if not parts:
            return Stars.empty()
        stars = Stars(np.concatenate([part.ra_deg for part in parts]),
                      np.concatenate([part.dec_deg for part in parts]),
                      np.concatenate([part.mag for part in parts]),
                      np.concatenate([part.star_id for part in parts]))
        return stars.select(angular_separation_deg(ra, dec, stars.ra_deg, stars.dec_deg) <= radius).sorted_by_id()

    def _tile_stars(self, tile: SkyTile) -> Stars:
        key = (tile.band, tile.cell)
        with self._lock:
            stars = self._tiles.get(key)
            if stars is not None:
                self._tiles.move_to_end(key)
                return stars
        stars = self._generate(tile)
        with self._lock:
            self._tiles[key] = stars
            if len(self._tiles) > _CACHED_TILES:
                self._tiles.popitem(last=False)
        return stars

    def _generate(self, tile: SkyTile) -> Stars:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, tile.band, tile.cell]))
        count = int(rng.poisson(self.expected_count(tile.area_deg2)))
        count = min(count, _STARS_PER_TILE_ID - 1)
        ra = (tile.ra_min_deg + rng.random(count) * (tile.ra_max_deg - tile.ra_min_deg)) % 360.0
        sin_low = math.sin(math.radians(tile.dec_min_deg))
        sin_high = math.sin(math.radians(tile.dec_max_deg))
        dec = np.degrees(np.arcsin(np.clip(sin_low + rng.random(count) * (sin_high - sin_low), -1.0, 1.0)))
        # Inverse of the cumulative counts between the two limits.
        fraction = self._bright_fraction + rng.random(count) * (1.0 - self._bright_fraction)
        mag = self.faint_limit_mag + np.log10(fraction) / COUNT_SLOPE
        first_id = (tile.band * _CELLS_PER_BAND_ID + tile.cell) * _STARS_PER_TILE_ID
        return Stars(ra, dec, mag, first_id + np.arange(count, dtype=np.int64))
