"""The target's airmass and Moon distance across a run, sampled for the dispatch check.

The run ``[start, start + duration]`` is sampled at its start, its end and
evenly in between, at most ``step_s`` apart, in one vectorised call of
:meth:`pyros.astro.Sky.targets`. Over a run of an hour or two the airmass is
monotonic except near the meridian (where it is lowest, so the ends decide) and
the Moon distance changes by a degree or so, so a 10-minute step is ample.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from pyros.observing.dispatch import RunGeometry

if TYPE_CHECKING:
    from pyros.astro import Sky

__all__ = ["DEFAULT_STEP_S", "run_instants", "run_geometry"]

DEFAULT_STEP_S = 600.0
"""Largest gap between two sampled instants of a run, seconds."""


def run_instants(start_s: float, duration_s: float, step_s: float = DEFAULT_STEP_S) -> list[float]:
    """The sampled instants of a run: its start, its end, and evenly in between at most ``step_s`` apart.

    Raises:
        ValueError: For a non-finite start, a duration that is not > 0, or a step that is not > 0.
    """
    if not math.isfinite(start_s):
        raise ValueError(f"start_s must be finite, got {start_s!r}")
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration_s must be > 0, got {duration_s!r}")
    if not (math.isfinite(step_s) and step_s > 0):
        raise ValueError(f"step_s must be > 0, got {step_s!r}")
    gaps = max(1, math.ceil(duration_s / step_s))
    return [start_s + duration_s * i / gaps for i in range(gaps + 1)]


def run_geometry(sky: Sky, ra_deg: float, dec_deg: float, start_s: float, duration_s: float,
                 step_s: float = DEFAULT_STEP_S) -> RunGeometry:
    """The target's airmass and Moon distance at the run's sampled instants.

    Args:
        sky: The site's sky.
        ra_deg: ICRS right ascension, degrees.
        dec_deg: ICRS declination, degrees.
        start_s: The run's start (UNIX seconds).
        duration_s: Its duration, seconds.
        step_s: Largest gap between samples.
    """
    times = run_instants(start_s, duration_s, step_s)
    geometry = sky.targets([ra_deg], [dec_deg], np.asarray(times))
    return RunGeometry(times_s=tuple(times), airmass=tuple(float(a) for a in geometry.airmass[0]),
                       moon_distance_deg=tuple(float(d) for d in geometry.moon_separation_deg[0]))
