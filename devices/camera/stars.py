"""A list of stars: positions (ICRS), magnitudes and stable identifiers, as numpy columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices.camera.sphere import angular_separation_deg
from devices.camera.validation import finite_number

__all__ = ["Stars"]


@dataclass(frozen=True, eq=False)
class Stars:
    """Stars as parallel one-dimensional arrays.

    A ``Stars`` is itself a star source: :meth:`cone` selects the stars it
    holds within a cone, so hand-made fields (one star at a known place) can
    be rendered like the synthetic sky.

    Attributes:
        ra_deg: Right ascensions (ICRS), degrees in [0, 360).
        dec_deg: Declinations (ICRS), degrees in [-90, 90].
        mag: Magnitudes (the same in every filter: the stars are grey).
        star_id: Identifiers, unique within one catalogue and the same for
            the same star whatever the query that found it.
    """

    ra_deg: np.ndarray
    dec_deg: np.ndarray
    mag: np.ndarray
    star_id: np.ndarray

    def __post_init__(self) -> None:
        columns = {}
        for name, dtype in (("ra_deg", np.float64), ("dec_deg", np.float64), ("mag", np.float64),
                            ("star_id", np.int64)):
            column = np.asarray(getattr(self, name))
            if column.ndim != 1:
                raise ValueError(f"Stars.{name}: expected a one-dimensional array, got shape {column.shape}")
            if dtype is np.int64 and column.size and not np.issubdtype(column.dtype, np.integer):
                raise TypeError(f"Stars.star_id: expected integers, got {column.dtype}")
            column = column.astype(dtype, copy=False)
            if dtype is np.float64 and not np.all(np.isfinite(column)):
                raise ValueError(f"Stars.{name}: every value must be finite")
            columns[name] = column
        lengths = {name: column.size for name, column in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"Stars: columns differ in length: {lengths}")
        ra = columns["ra_deg"]
        dec = columns["dec_deg"]
        if np.any((ra < 0.0) | (ra >= 360.0)):
            raise ValueError("Stars.ra_deg: every value must be in [0, 360)")
        if np.any(np.abs(dec) > 90.0):
            raise ValueError("Stars.dec_deg: every value must be in [-90, 90]")
        for name, column in columns.items():
            column.setflags(write=False)
            object.__setattr__(self, name, column)

    @classmethod
    def empty(cls) -> Stars:
        """No star at all."""
        return cls(np.empty(0), np.empty(0), np.empty(0), np.empty(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.ra_deg.size)

    def select(self, mask: np.ndarray) -> Stars:
        """The stars where ``mask`` (boolean, one per star) is true, or at the given indices."""
        return Stars(self.ra_deg[mask], self.dec_deg[mask], self.mag[mask], self.star_id[mask])

    def sorted_by_id(self) -> Stars:
        """The same stars in increasing order of identifier."""
        return self.select(np.argsort(self.star_id, kind="stable"))

    def cone(self, ra_deg: float, dec_deg: float, radius_deg: float) -> Stars:
        """The stars within ``radius_deg`` of (``ra_deg``, ``dec_deg``), in increasing order of identifier.

        Raises:
            TypeError: If an argument is not a number.
            ValueError: If the centre is not on the sky or the radius not in (0, 180].
        """
        ra = finite_number("ra_deg", ra_deg, minimum=0.0, below=360.0)
        dec = finite_number("dec_deg", dec_deg, minimum=-90.0, maximum=90.0)
        radius = finite_number("radius_deg", radius_deg, above=0.0, maximum=180.0)
        inside = angular_separation_deg(ra, dec, self.ra_deg, self.dec_deg) <= radius
        return self.select(inside).sorted_by_id()
