"""The check made when a sequence is dispatched: may it start now and run to its end?

:func:`check_dispatch` is a pure function: the sequence's constraints, the
instant, the night, the target's geometry across the run, the safety verdict
and the devices found missing come in; ``None`` (go) or a
:class:`DispatchRefusal` (a reason code and a sentence) comes out. The whole
run must fit: ``[now, now + duration]`` inside one time window (when the
sequence has windows) and inside the night, and the airmass and Moon limits
met at every sampled instant of the run (at least its start and its end).

The checks are made in this order, and the first that fails is the answer:
``not_planned``, ``unsafe``, ``device_unavailable``, ``night_over``,
``outside_window``, ``below_airmass_limit``, ``moon_too_close``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pyros.clock import format_instant
from pyros.observing.reasons import Reason

__all__ = ["DispatchConstraints", "DispatchRefusal", "RunGeometry", "SafetyVerdict", "check_dispatch"]

PLANNED = "planned"
"""The only sequence status the observer executes."""


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class DispatchConstraints:
    """What the check needs to know of a sequence.

    Attributes:
        sequence_id: The sequence.
        status: Its status now (only ``planned`` may start).
        duration_s: How long the run takes (its planned duration), seconds > 0.
        windows: Time windows ``(start, end)`` in UNIX seconds; empty: any time.
        max_airmass: Largest airmass allowed, or ``None``.
        min_moon_distance_deg: Smallest Moon distance allowed in degrees, or ``None``.
        has_target: Whether it points at the sky (calibrations have no target: no airmass or Moon limit).
    """

    sequence_id: int
    status: str
    duration_s: float
    windows: tuple[tuple[float, float], ...] = ()
    max_airmass: float | None = None
    min_moon_distance_deg: float | None = None
    has_target: bool = True

    def __post_init__(self) -> None:
        """Refuse values that make no sense, naming them."""
        if _finite("duration_s", self.duration_s) <= 0:
            raise ValueError(f"duration_s must be > 0, got {self.duration_s!r}")
        for start, end in self.windows:
            if not _finite("window start", start) < _finite("window end", end):
                raise ValueError(f"a time window must end after it starts, got ({start!r}, {end!r})")
        if self.max_airmass is not None and _finite("max_airmass", self.max_airmass) < 1.0:
            raise ValueError(f"max_airmass must be >= 1, got {self.max_airmass!r}")
        if self.min_moon_distance_deg is not None and \
                not 0.0 <= _finite("min_moon_distance_deg", self.min_moon_distance_deg) <= 180.0:
            raise ValueError(f"min_moon_distance_deg must be in [0, 180], got {self.min_moon_distance_deg!r}")


@dataclass(frozen=True)
class RunGeometry:
    """The target seen from the site at instants across the run (the first is now, the last the run's end).

    Attributes:
        times_s: The instants, UNIX seconds, in increasing order.
        airmass: The target's airmass at each (``inf`` below the horizon).
        moon_distance_deg: The Moon's angular distance from the target at each, degrees.
    """

    times_s: tuple[float, ...]
    airmass: tuple[float, ...]
    moon_distance_deg: tuple[float, ...]

    def __post_init__(self) -> None:
        """Require one airmass and one Moon distance per instant, at least one instant."""
        if not self.times_s or len(self.airmass) != len(self.times_s) or \
                len(self.moon_distance_deg) != len(self.times_s):
            raise ValueError(f"run geometry needs as many airmasses ({len(self.airmass)}) and Moon distances "
                             f"({len(self.moon_distance_deg)}) as instants ({len(self.times_s)}), at least one")


@dataclass(frozen=True)
class SafetyVerdict:
    """Whether it is safe to observe, as the observer understands the monitor's verdict.

    Attributes:
        safe: True only when the monitor says safe and its verdict is fresh.
        detail: Why not (the culprit, or that the verdict is missing or stale); empty when safe.
    """

    safe: bool
    detail: str = ""


@dataclass(frozen=True)
class DispatchRefusal:
    """Why a sequence may not start now.

    Attributes:
        reason: The reason code.
        detail: A sentence for people.
    """

    reason: Reason
    detail: str

    def to_dict(self) -> dict[str, str]:
        """``{"reason": code, "detail": sentence}``."""
        return {"reason": self.reason.value, "detail": self.detail}


def _in_one_window(start: float, end: float, windows: Sequence[tuple[float, float]]) -> bool:
    return any(w_start <= start and end <= w_end for w_start, w_end in windows)


def _windows_text(windows: Sequence[tuple[float, float]]) -> str:
    shown = ", ".join(f"{format_instant(a)} .. {format_instant(b)}" for a, b in windows[:4])
    return shown + (f" and {len(windows) - 4} more" if len(windows) > 4 else "")


def check_dispatch(sequence: DispatchConstraints, now_s: float, night: tuple[float, float] | None,
                   geometry: RunGeometry | None, safety: SafetyVerdict,
                   unavailable_devices: Sequence[str] = ()) -> DispatchRefusal | None:
    """Decide whether a sequence may start now.

    Args:
        sequence: Its status and constraints.
        now_s: The instant of dispatch (observatory time, UNIX seconds).
        night: The night containing or following ``now_s``, ``(start, end)``; ``None`` when there is none.
        geometry: The target across ``[now_s, now_s + duration]``; needed when the sequence has a target
            and an airmass or Moon limit.
        safety: The safety verdict now.
        unavailable_devices: Devices the sequence needs that are found missing, with why
            (e.g. ``"cam_nir (no live service)"``).

    Returns:
        ``None`` when it may start, else the first refusal in the order of the module's docstring.

    Raises:
        ValueError: If ``now_s`` is not finite, or geometry is needed and missing or does not cover the run.
    """
    now = _finite("now_s", now_s)
    end = now + sequence.duration_s
    if sequence.status != PLANNED:
        return DispatchRefusal(Reason.NOT_PLANNED, f"sequence {sequence.sequence_id} is '{sequence.status}', "
                                                   f"not '{PLANNED}'")
    if not safety.safe:
        return DispatchRefusal(Reason.UNSAFE, safety.detail or "the environment is not safe")
    if unavailable_devices:
        return DispatchRefusal(Reason.DEVICE_UNAVAILABLE, "unavailable: " + ", ".join(unavailable_devices))
    if night is None:
        return DispatchRefusal(Reason.NIGHT_OVER, "there is no night at the site today")
    night_start, night_end = night
    if now < night_start:
        return DispatchRefusal(Reason.NIGHT_OVER, f"it is not night yet: the night starts at "
                                                  f"{format_instant(night_start)}")
    if end > night_end:
        return DispatchRefusal(Reason.NIGHT_OVER, f"the run would end at {format_instant(end)}, after the night "
                                                  f"(it ends at {format_instant(night_end)})")
    if sequence.windows and not _in_one_window(now, end, sequence.windows):
        return DispatchRefusal(Reason.OUTSIDE_WINDOW, f"the run {format_instant(now)} .. {format_instant(end)} "
                                                      f"is not inside a window ({_windows_text(sequence.windows)})")
    limited = sequence.max_airmass is not None or sequence.min_moon_distance_deg is not None
    if not sequence.has_target or not limited:
        return None
    if geometry is None:
        raise ValueError(f"sequence {sequence.sequence_id} has sky limits: the run's geometry is needed")
    if geometry.times_s[0] > now + 1.0 or geometry.times_s[-1] < end - 1.0:
        raise ValueError(f"the geometry covers {geometry.times_s[0]:.0f} .. {geometry.times_s[-1]:.0f}, "
                         f"not the run {now:.0f} .. {end:.0f}")
    if sequence.max_airmass is not None:
        for when, airmass in zip(geometry.times_s, geometry.airmass):
            if not airmass <= sequence.max_airmass:
                shown = "below the horizon" if math.isinf(airmass) else f"at airmass {airmass:.3f}"
                return DispatchRefusal(Reason.BELOW_AIRMASS_LIMIT,
                                       f"the target is {shown} at {format_instant(when)}; the limit is "
                                       f"{sequence.max_airmass:g}")
    if sequence.min_moon_distance_deg is not None:
        for when, distance in zip(geometry.times_s, geometry.moon_distance_deg):
            if not distance >= sequence.min_moon_distance_deg:
                return DispatchRefusal(Reason.MOON_TOO_CLOSE,
                                       f"the Moon is {distance:.1f} deg from the target at {format_instant(when)}; "
                                       f"at least {sequence.min_moon_distance_deg:g} deg are needed")
    return None
