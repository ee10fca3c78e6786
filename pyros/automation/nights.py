"""The nights of the site as the jobs see them: the next night start or end, plus an offset.

A :data:`NightFinder` answers "which night contains or follows this instant?" with its start and
end in observatory UNIX seconds, or ``None`` on a day without night (polar day). The astronomy
package provides the real one (:func:`sky_night_finder`); tests give simple fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pyros.astro import Sky

__all__ = ["DAY_S", "MAX_DAYS_SEARCHED", "NightEdge", "NightFinder", "next_night_event", "sky_night_finder"]

NightFinder = Callable[[float], "tuple[float, float] | None"]
"""``finder(instant)`` → ``(start, end)`` of the night containing or following ``instant``, or None."""

NightEdge = Literal["night_start", "night_end"]
"""Which end of the night a job hangs on."""

DAY_S = 86400.0
"""Seconds in a day: how far the search moves on a day without night."""

MAX_DAYS_SEARCHED = 400
"""Days searched for the next night before giving up (more than a polar day lasts)."""


def sky_night_finder(sky: Sky) -> NightFinder:
    """A night finder computing the site's nights with :meth:`pyros.astro.Sky.night`.

    Args:
        sky: The site's sky (its configured night Sun altitude defines the night).

    Returns:
        The finder; ``None`` for a polar day.
    """

    def find(instant: float) -> tuple[float, float] | None:
        night = sky.night(instant)
        if night.start is None or night.end is None:
            return None
        return float(night.start.unix), float(night.end.unix)

    return find


def next_night_event(finder: NightFinder, edge: NightEdge, offset_s: float, after: float) -> float | None:
    """The first instant strictly after ``after`` that is a night's start (or end) plus ``offset_s``.

    Searching from the night containing or following ``after - offset_s`` finds it without missing
    one: a night whose edge plus offset comes later than ``after`` cannot end before that instant.

    Args:
        finder: Gives the nights.
        edge: ``night_start`` or ``night_end``.
        offset_s: Observatory seconds added to the edge (negative: before it).
        after: Observatory UNIX seconds.

    Returns:
        The instant, or ``None`` when no night is found within :data:`MAX_DAYS_SEARCHED` days.

    Raises:
        ValueError: For an unknown ``edge``.
    """
    if edge not in ("night_start", "night_end"):
        raise ValueError(f"night edge must be 'night_start' or 'night_end', got {edge!r}")
    probe = after - offset_s
    for _ in range(MAX_DAYS_SEARCHED):
        night = finder(probe)
        if night is None:
            probe += DAY_S
            continue
        start, end = night
        instant = (start if edge == "night_start" else end) + offset_s
        if instant > after:
            return instant
        probe = max(end, probe) + 1.0
    return None
