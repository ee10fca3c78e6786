"""What the majordome sees at one instant: the sky phase, safety, the devices, the observer, the plan.

The service assembles a :class:`Situation` from the K/V state and its own
bookkeeping at every tick; the lifecycle (:mod:`pyros.majordome.lifecycle`)
decides from it alone, so every decision can be replayed and tested without
processes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Mode", "SkyPhase", "Situation"]


class SkyPhase(str, enum.Enum):
    """Where the observatory is in its day, from the Sun (see :func:`sky_phase`)."""

    DAY = "day"
    """More than the preparation time before the night, or after the night and its closing."""
    DUSK = "dusk"
    """Within the preparation time before the night starts."""
    NIGHT = "night"
    """The Sun is below the night altitude, and the night's end is further than the closing time."""
    DAWN = "dawn"
    """Within the closing time before the night ends, until the next day."""


class Mode(str, enum.Enum):
    """Who drives the observatory."""

    AUTO = "auto"
    """The majordome: opens, observes, closes."""
    MANUAL = "manual"
    """An operator holding the control lease; the majordome only enforces safety."""


def sky_phase(now_s: float, night_start_s: float | None, night_end_s: float | None,
              prepare_s: float, close_before_s: float) -> SkyPhase:
    """The phase at ``now_s`` for the night of the current observing day.

    Args:
        now_s: The instant (UNIX seconds).
        night_start_s: Start of the night of the observing day (``None``: no night, polar day).
        night_end_s: Its end.
        prepare_s: How long before the night starts the dusk phase begins.
        close_before_s: How long before the night ends the dawn phase begins.
    """
    if night_start_s is None or night_end_s is None:
        return SkyPhase.DAY
    if now_s < night_start_s - prepare_s:
        return SkyPhase.DAY
    if now_s < night_start_s:
        return SkyPhase.DUSK
    if now_s < night_end_s - close_before_s:
        return SkyPhase.NIGHT
    if now_s < night_end_s + 3600.0:
        return SkyPhase.DAWN
    return SkyPhase.DAY


@dataclass(frozen=True)
class Situation:
    """Everything the lifecycle decides from.

    Attributes:
        phase: The sky phase.
        mode: AUTO or MANUAL.
        safe: What the environment monitor says now, its hold time applied (``False`` when unknown).
        safety_culprit: The monitor's culprit when unsafe.
        device_fault: A device that failed or stopped answering (its name), if any.
        dome_closed: Whether the dome's shutter is closed (``None``: unknown).
        telescope_parked: Whether the telescope is parked (``None``: unknown).
        observing: Whether the observer is executing a sequence.
        work_available: Whether the plan has a sequence that can start now.
        maintenance: Whether an engineer put the observatory in maintenance.
    """

    phase: SkyPhase
    mode: Mode = Mode.AUTO
    safe: bool = False
    safety_culprit: str | None = None
    device_fault: str | None = None
    dome_closed: bool | None = None
    telescope_parked: bool | None = None
    observing: bool = False
    work_available: bool = False
    maintenance: bool = False

    @property
    def unsafe_reason(self) -> str | None:
        """Why the observatory must be made safe now, or ``None``."""
        if self.device_fault is not None:
            return f"device {self.device_fault} failed or stopped answering"
        if not self.safe:
            return f"unsafe: {self.safety_culprit or 'safety unknown'}"
        return None

    @property
    def secured(self) -> bool:
        """The dome is known closed and the telescope known parked."""
        return self.dome_closed is True and self.telescope_parked is True
