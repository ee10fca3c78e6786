"""What the renderer needs from a sky: the stars in a cone."""

from __future__ import annotations

from typing import Protocol

from devices.camera.stars import Stars

__all__ = ["StarSource"]


class StarSource(Protocol):
    """Anything that lists the stars within a cone.

    :class:`~devices.camera.sky_catalogue.SkyCatalogue` (the synthetic sky)
    and :class:`~devices.camera.stars.Stars` (a fixed list) both are.
    """

    def cone(self, ra_deg: float, dec_deg: float, radius_deg: float) -> Stars:
        """The stars within ``radius_deg`` degrees of (``ra_deg``, ``dec_deg``), ICRS."""
        ...
