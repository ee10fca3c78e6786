"""Keeping the dome's slit in front of the telescope.

:class:`DomeFollower` looks at the telescope's azimuth (from the K/V store, key
``/device/<telescope>/azimuth_deg``) every ``poll_s`` observatory seconds and
starts a rotation when the slit is more than ``tolerance_deg`` away and the dome
is still. :meth:`DomeFollower.step` is one look (tested without threads); the
thread of :meth:`DomeFollower.start` repeats it until :meth:`DomeFollower.stop`.
A telescope whose azimuth is unknown (no data yet, K/V server away) leaves the
dome where it is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from devices.common.faults import DeviceFault
from devices.dome.interface import DomeDriver
from devices.dome.sim import _signed_distance

log = logging.getLogger(__name__)


class DomeFollower:
    """Turns the dome after the telescope.

    Args:
        driver: The dome.
        telescope_azimuth: The telescope's azimuth now, or None when unknown.
        tolerance_deg: How far the slit may be from the telescope before the dome turns.
        poll_s: Wall seconds between two looks (the caller converts observatory time).
    """

    def __init__(self, driver: DomeDriver, telescope_azimuth: Callable[[], float | None], *,
                 tolerance_deg: float = 2.0, poll_s: float = 1.0) -> None:
        if not 0.0 < tolerance_deg < 90.0:
            raise ValueError(f"tolerance_deg must be in (0, 90), got {tolerance_deg!r}")
        self.driver = driver
        self.telescope_azimuth = telescope_azimuth
        self.tolerance_deg = tolerance_deg
        self.poll_s = poll_s
        self.rotations = 0
        """Rotations started so far."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> bool:
        """Look once; start a rotation if needed. Return whether one was started."""
        azimuth = self.telescope_azimuth()
        if azimuth is None:
            return False
        status = self.driver.status()
        if status.rotating or abs(_signed_distance(status.azimuth_deg, azimuth)) <= self.tolerance_deg:
            return False
        self.driver.start_rotation(azimuth % 360.0)
        self.rotations += 1
        return True

    @property
    def running(self) -> bool:
        """Whether the following thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Follow in a daemon thread (idempotent)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="dome-follower", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following (the dome stays where it is)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except DeviceFault as exc:  # keep following: the next look may succeed
                log.warning("dome follower: %s", exc)
            self._stop.wait(self.poll_s)
