"""What every telescope (mount) driver provides: start slews, track, park, stop, say where it points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class MountStatus:
    """Where the mount points, at one instant.

    Attributes:
        altitude_deg: Altitude above the horizon.
        azimuth_deg: Azimuth, degrees east of north in [0, 360).
        ra_deg: ICRS right ascension of the pointing.
        dec_deg: ICRS declination of the pointing.
        slewing: Moving to a commanded position.
        tracking: Following the sky (a RA/Dec target, or the current position).
        parked: At the park position, not tracking.
        target: What it was last sent to (``{"ra_deg", "dec_deg"}`` or ``{"altitude_deg", "azimuth_deg"}``), or None.
    """

    altitude_deg: float
    azimuth_deg: float
    ra_deg: float
    dec_deg: float
    slewing: bool
    tracking: bool
    parked: bool
    target: dict[str, float] | None

    def to_dict(self) -> dict[str, Any]:
        """Plain values for replies and the K/V store."""
        return {"altitude_deg": round(self.altitude_deg, 5), "azimuth_deg": round(self.azimuth_deg, 5),
                "ra_deg": round(self.ra_deg, 5), "dec_deg": round(self.dec_deg, 5), "slewing": self.slewing,
                "tracking": self.tracking, "parked": self.parked, "target": self.target}


class MountDriver(Protocol):
    """A mount's driver. Slews start and return at once; :meth:`status` follows them.

    Every method may raise :class:`devices.common.faults.DeviceFault` (no answer,
    refused) and ``ValueError`` for a position it cannot reach (below its
    altitude limit).
    """

    altitude_limit_deg: float

    def status(self) -> MountStatus:
        """Where the mount points now."""

    def start_slew_radec(self, ra_deg: float, dec_deg: float) -> None:
        """Slew to an ICRS position and track it."""

    def start_slew_altaz(self, altitude_deg: float, azimuth_deg: float) -> None:
        """Slew to a fixed horizontal position (tracking stops)."""

    def set_tracking(self, on: bool) -> None:
        """Start or stop following the sky at the current position."""

    def start_park(self) -> None:
        """Slew to the park position and stop there (safety)."""

    def unpark(self) -> None:
        """Leave the parked state (no motion)."""

    def stop(self) -> None:
        """Stop every motion (and tracking) where it is."""
