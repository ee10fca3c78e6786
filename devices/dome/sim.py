"""A simulated dome: finite rotation speed and shutter travel time, on the observatory clock, with faults.

Positions are computed from when a motion started and how fast it goes, in
observatory seconds, so a night simulated at 100× speed moves the dome 100×
faster in wall time and ends in the same state.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from devices.common.faults import DeviceFault, Faults
from devices.dome.interface import DomeStatus
from devices.dome.shutter import ShutterState, shutter_refusal


def _wrap(azimuth: float) -> float:
    return azimuth % 360.0


def _signed_distance(start: float, end: float) -> float:
    """The shorter turn from ``start`` to ``end``, in degrees (-180, 180]."""
    d = (end - start) % 360.0
    return d - 360.0 if d > 180.0 else d


class SimulatedDome:
    """A dome that moves at finite speeds on the observatory clock.

    Args:
        now: Observatory time in UNIX seconds (e.g. ``get_clock().now``).
        sleep: Sleeps for observatory seconds (latency faults), e.g. ``lambda s: time.sleep(clock.wall_delay(s))``.
        rotation_speed_deg_s: Rotation speed.
        shutter_time_s: Time to open or close the shutter fully.
        park_azimuth_deg: Where the dome parks.
        start_azimuth_deg: Where it is when the simulator starts.
    """

    def __init__(self, now: Callable[[], float], sleep: Callable[[float], None], *,
                 rotation_speed_deg_s: float = 4.0, shutter_time_s: float = 40.0, park_azimuth_deg: float = 0.0,
                 start_azimuth_deg: float = 0.0) -> None:
        for name, value in (("rotation_speed_deg_s", rotation_speed_deg_s), ("shutter_time_s", shutter_time_s)):
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name, value in (("park_azimuth_deg", park_azimuth_deg), ("start_azimuth_deg", start_azimuth_deg)):
            if not math.isfinite(value) or not 0.0 <= value < 360.0:
                raise ValueError(f"{name} must be in [0, 360), got {value!r}")
        self._now = now
        self._sleep = sleep
        self.rotation_speed_deg_s = rotation_speed_deg_s
        self.shutter_time_s = shutter_time_s
        self.park_azimuth_deg = park_azimuth_deg
        self.faults = Faults("dome")
        self._lock = threading.Lock()
        self._azimuth = start_azimuth_deg       # where the rotation started (or rests)
        self._rotation: tuple[float, float, float] | None = None  # (t0, signed distance, target)
        self._fraction = 0.0                    # shutter open fraction when its motion started (or rests)
        self._shutter_motion: tuple[float, float] | None = None   # (t0, direction +1 open / -1 close)
        self._stopped_part_way = False

    # ----------------------------------------------------------------- motion model

    def _settle(self, now: float) -> None:
        """Bring the rest state up to ``now``: finished motions end."""
        if self._rotation is not None:
            t0, distance, target = self._rotation
            travelled = self.rotation_speed_deg_s * (now - t0)
            if travelled >= abs(distance):
                self._azimuth, self._rotation = target, None
        if self._shutter_motion is not None:
            t0, direction = self._shutter_motion
            fraction = self._fraction + direction * (now - t0) / self.shutter_time_s
            if fraction >= 1.0 or fraction <= 0.0:
                self._fraction, self._shutter_motion = min(1.0, max(0.0, fraction)), None

    def _azimuth_at(self, now: float) -> float:
        if self._rotation is None:
            return self._azimuth
        t0, distance, _ = self._rotation
        return _wrap(self._azimuth + math.copysign(min(abs(distance), self.rotation_speed_deg_s * (now - t0)),
                                                   distance))

    def _fraction_at(self, now: float) -> float:
        if self._shutter_motion is None:
            return self._fraction
        t0, direction = self._shutter_motion
        return min(1.0, max(0.0, self._fraction + direction * (now - t0) / self.shutter_time_s))

    def _shutter_state(self) -> ShutterState:
        if self._shutter_motion is not None:
            return ShutterState.OPENING if self._shutter_motion[1] > 0 else ShutterState.CLOSING
        if self._fraction >= 1.0:
            return ShutterState.OPEN
        if self._fraction <= 0.0:
            return ShutterState.CLOSED
        return ShutterState.STOPPED

    # ----------------------------------------------------------------- driver interface

    def status(self) -> DomeStatus:
        """Where the dome is now (faults: silence raises, wrong values are reported)."""
        now = self._now()
        self.faults.check_alive(now)
        with self._lock:
            self._settle(now)
            azimuth, fraction, shutter = self._azimuth_at(now), self._fraction_at(now), self._shutter_state()
            target = self._rotation[2] if self._rotation is not None else None
        parked = target is None and shutter is ShutterState.CLOSED and \
            abs(_signed_distance(azimuth, self.park_azimuth_deg)) < 1e-6
        return DomeStatus(azimuth_deg=float(self.faults.reported("azimuth_deg", azimuth)),
                          target_azimuth_deg=target, shutter=ShutterState(self.faults.reported("shutter", shutter)),
                          shutter_open_fraction=fraction, parked=parked)

    def _command(self) -> float:
        self.faults.before_command(self._now(), self._sleep)
        return self._now()

    def _move_shutter(self, command: str, direction: float) -> None:
        now = self._command()
        with self._lock:
            self._settle(now)
            refusal = shutter_refusal(self._shutter_state(), command)
            if refusal is not None:
                raise DeviceFault(refusal)
            self._fraction = self._fraction_at(now)
            self._shutter_motion = (now, direction) if (direction > 0 and self._fraction < 1.0) or \
                (direction < 0 and self._fraction > 0.0) else None

    def start_open(self) -> None:
        """Start opening the shutter (refused while opening or open)."""
        self._move_shutter("open", +1.0)

    def start_close(self) -> None:
        """Start closing the shutter (accepted in every state)."""
        self._move_shutter("close", -1.0)

    def start_rotation(self, azimuth_deg: float) -> None:
        """Start turning to ``azimuth_deg`` the shorter way (a new target replaces the old one)."""
        if not math.isfinite(azimuth_deg) or not 0.0 <= azimuth_deg < 360.0:
            raise ValueError(f"azimuth must be in [0, 360), got {azimuth_deg!r}")
        now = self._command()
        with self._lock:
            self._settle(now)
            here = self._azimuth_at(now)
            self._azimuth = here
            distance = _signed_distance(here, azimuth_deg)
            self._rotation = (now, distance, azimuth_deg) if abs(distance) > 1e-9 else None

    def start_park(self) -> None:
        """Start turning to the park azimuth."""
        self.start_rotation(self.park_azimuth_deg)

    def stop(self) -> None:
        """Stop rotation and shutter where they are."""
        now = self._command()
        with self._lock:
            self._settle(now)
            self._azimuth, self._rotation = self._azimuth_at(now), None
            self._fraction, self._shutter_motion = self._fraction_at(now), None

    def inject_fault(self, spec: dict[str, Any]) -> None:
        """Make the simulator misbehave (see :meth:`devices.common.faults.Faults.inject`)."""
        self.faults.inject(spec, self._now())
