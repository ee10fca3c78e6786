"""The Sun's altitude and hour angle as cheap functions of time, for event searches.

Finding sunset or the end of the night takes many evaluations of the Sun's
altitude at instants not known in advance. A :class:`SunTrack` tabulates the
Sun and the Earth's orientation once over a span (:class:`~pyros.astro.ephemeris.Ephemeris`)
and then evaluates altitude and hour angle at any TT second of the span with
numpy only, so bisections and minimum searches cost microseconds per step.
"""

from __future__ import annotations

import numpy as np
from astropy.time import Time
from numpy.typing import ArrayLike

from pyros.astro.ephemeris import Ephemeris
from pyros.astro.topocentric import SiteFrame

__all__ = ["SOLAR_HOUR_ANGLE_RATE", "SunTrack"]

SOLAR_HOUR_ANGLE_RATE = 360.0 / 86400.0
"""Mean rate of the Sun's hour angle, degrees per second (within 0.04 % of the true rate)."""


class SunTrack:
    """The Sun seen from one site over a span of TT seconds from an origin.

    Args:
        frame: The site's frames.
        origin: Origin of the seconds.
        first_s: First second of the span.
        last_s: Last second of the span.
    """

    def __init__(self, frame: SiteFrame, origin: Time, first_s: float, last_s: float) -> None:
        self.frame = frame
        self.ephemeris = Ephemeris.spanning(origin, first_s, last_s, bodies=("sun",))
        self._local = np.concatenate([frame.horizon, frame.equatorial])

    def _local_vectors(self, seconds: np.ndarray) -> np.ndarray:
        """East, north, up, meridian and east-of-meridian components of the Sun's direction; shape (M, 5)."""
        state = self.ephemeris.state(np.atleast_1d(np.asarray(seconds, dtype=float)))
        direction = self.frame.topocentric_gcrs(state.position_m("sun"), state.gcrs_to_itrs)
        local: np.ndarray = np.einsum("ij,mjk,mk->mi", self._local, state.gcrs_to_itrs, direction)
        return local

    def altitude_deg(self, seconds: np.ndarray | float) -> np.ndarray:
        """Geometric altitude of the Sun's centre in degrees at TT seconds; shape (M,)."""
        v = self._local_vectors(np.asarray(seconds, dtype=float))
        altitude: np.ndarray = np.degrees(np.arctan2(v[:, 2], np.hypot(v[:, 0], v[:, 1])))
        return altitude

    def hour_angle_deg(self, seconds: np.ndarray | float) -> np.ndarray:
        """Local hour angle of the Sun in degrees, (-180, 180], positive west; shape (M,)."""
        v = self._local_vectors(np.asarray(seconds, dtype=float))
        hour_angle: np.ndarray = np.degrees(np.arctan2(-v[:, 4], v[:, 3]))
        return hour_angle

    def upper_transit_near(self, guess_s: float) -> float:
        """Return the Sun's upper transit (hour angle 0) nearest to ``guess_s`` (within 12 h of it).

        Newton iterations with the mean rate; converges to a few microseconds.
        """
        seconds = float(guess_s)
        for _ in range(8):
            step = float(self.hour_angle_deg(seconds)[0]) / SOLAR_HOUR_ANGLE_RATE
            seconds -= step
            if abs(step) < 1e-4:
                break
        return seconds

    def time_at(self, seconds: ArrayLike) -> Time:
        """UTC instants at TT seconds."""
        return self.ephemeris.time_at(seconds)

    def seconds(self, times: Time) -> np.ndarray:
        """TT seconds of ``times``."""
        return self.ephemeris.seconds(times)
