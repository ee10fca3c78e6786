"""What every dome driver provides: start motions, stop them, and say where the dome is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from devices.dome.shutter import ShutterState


@dataclass(frozen=True)
class DomeStatus:
    """Where the dome is, at one instant.

    Attributes:
        azimuth_deg: Azimuth of the slit, degrees east of north in [0, 360).
        target_azimuth_deg: Where it is rotating to, or None when still.
        shutter: The shutter's state.
        shutter_open_fraction: 0 closed … 1 open.
        parked: At the park azimuth with the shutter closed and no motion.
    """

    azimuth_deg: float
    target_azimuth_deg: float | None
    shutter: ShutterState
    shutter_open_fraction: float
    parked: bool

    @property
    def rotating(self) -> bool:
        """Whether the dome is turning."""
        return self.target_azimuth_deg is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain values for replies and the K/V store."""
        return {"azimuth_deg": round(self.azimuth_deg, 3), "target_azimuth_deg": self.target_azimuth_deg,
                "rotating": self.rotating, "shutter": self.shutter.value,
                "shutter_open_fraction": round(self.shutter_open_fraction, 4), "parked": self.parked}


class DomeDriver(Protocol):
    """A dome's driver. Motions are started and return at once; :meth:`status` follows them.

    Every method may raise :class:`devices.common.faults.DeviceFault` when the
    hardware does not answer or refuses.
    """

    park_azimuth_deg: float

    def status(self) -> DomeStatus:
        """Where the dome is now."""

    def start_open(self) -> None:
        """Start opening the shutter."""

    def start_close(self) -> None:
        """Start closing the shutter (always accepted: safety)."""

    def start_rotation(self, azimuth_deg: float) -> None:
        """Start turning to ``azimuth_deg`` (the shorter way)."""

    def start_park(self) -> None:
        """Start turning to the park position (the caller closes the shutter first)."""

    def stop(self) -> None:
        """Stop every motion where it is."""
