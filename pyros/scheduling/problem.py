"""What the planner is asked: the sequences to plan, the night, where the telescope is.

All instants are UNIX seconds (UTC, the form :meth:`pyros.clock.Clock.now`
gives); durations are seconds. These classes are plain immutable values: the
database layer (:mod:`pyros.scheduling.store`) builds them from the rows, the
benchmark builds them from seeded random instances, and the planner never
reads a clock or a database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pyros.scheduling.overheads import OverheadModel

__all__ = ["PlanningProblem", "Pointing", "RunningEntry", "SequenceToPlan"]


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class SequenceToPlan:
    """One sequence as the planner sees it.

    Attributes:
        id: The sequence's id (unique in a problem).
        duration_s: How long it runs once started (its images and readouts), > 0.
        priority: Larger is more important, > 0. Its value in the objective is
            ``priority * duration_s``.
        windows: Intervals ``(start_s, end_s)`` in which the whole sequence must
            run; empty means any time of the night.
        preferred_s: When the observer would like it to start, if anywhere in particular.
        ra_deg: ICRS right ascension of the target, or ``None`` for a sequence
            without a target (darks, biases), which has no sky constraint.
        dec_deg: ICRS declination of the target, or ``None``.
        max_airmass: Largest airmass allowed during the whole sequence, or ``None``.
        min_moon_distance_deg: Smallest distance to the Moon allowed during the
            whole sequence, or ``None``.
        first_filter: The filter of its first image (for the filter change before it).
        last_filter: The filter of its last image (for the filter change after it).
        urgent: An alert sequence: placed first, as early as it can run.
        name: A name for people (timelines, explanations).
    """

    id: int
    duration_s: float
    priority: float
    windows: tuple[tuple[float, float], ...] = ()
    preferred_s: float | None = None
    ra_deg: float | None = None
    dec_deg: float | None = None
    max_airmass: float | None = None
    min_moon_distance_deg: float | None = None
    first_filter: str | None = None
    last_filter: str | None = None
    urgent: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        label = f"sequence {self.id}"
        if _finite(f"{label}: duration_s", self.duration_s) <= 0:
            raise ValueError(f"{label}: duration_s must be positive, got {self.duration_s!r}")
        if _finite(f"{label}: priority", self.priority) <= 0:
            raise ValueError(f"{label}: priority must be positive, got {self.priority!r}")
        for index, window in enumerate(self.windows):
            if not isinstance(window, tuple) or len(window) != 2:
                raise ValueError(f"{label}: windows[{index}] must be a (start_s, end_s) pair, got {window!r}")
            start = _finite(f"{label}: windows[{index}] start", window[0])
            end = _finite(f"{label}: windows[{index}] end", window[1])
            if end <= start:
                raise ValueError(f"{label}: windows[{index}] ends before it starts ({start!r} .. {end!r})")
        if self.preferred_s is not None:
            _finite(f"{label}: preferred_s", self.preferred_s)
        if (self.ra_deg is None) != (self.dec_deg is None):
            raise ValueError(f"{label}: give both ra_deg and dec_deg, or neither")
        if self.ra_deg is not None:
            if not 0.0 <= _finite(f"{label}: ra_deg", self.ra_deg) < 360.0:
                raise ValueError(f"{label}: ra_deg must be in [0, 360), got {self.ra_deg!r}")
            if not -90.0 <= _finite(f"{label}: dec_deg", self.dec_deg) <= 90.0:
                raise ValueError(f"{label}: dec_deg must be in [-90, 90], got {self.dec_deg!r}")
        if self.max_airmass is not None and _finite(f"{label}: max_airmass", self.max_airmass) < 1.0:
            raise ValueError(f"{label}: max_airmass must be at least 1, got {self.max_airmass!r}")
        if self.min_moon_distance_deg is not None and not (
                0.0 <= _finite(f"{label}: min_moon_distance_deg", self.min_moon_distance_deg) <= 180.0):
            raise ValueError(f"{label}: min_moon_distance_deg must be in [0, 180], got {self.min_moon_distance_deg!r}")

    @property
    def value(self) -> float:
        """Its worth in the objective when planned: priority x duration."""
        return self.priority * self.duration_s

    @property
    def has_target(self) -> bool:
        """True if it points somewhere on the sky."""
        return self.ra_deg is not None

    @property
    def label(self) -> str:
        """``#id name`` for messages."""
        return f"#{self.id} {self.name}".rstrip()


@dataclass(frozen=True)
class Pointing:
    """Where the telescope points and which filter is in, for the transition before the first entry.

    Attributes:
        ra_deg: ICRS right ascension, degrees.
        dec_deg: ICRS declination, degrees.
        filter: The filter in the beam, if known.
    """

    ra_deg: float
    dec_deg: float
    filter: str | None = None


@dataclass(frozen=True)
class RunningEntry:
    """The sequence being executed: kept as it is by a replan.

    Attributes:
        sequence: The sequence.
        start_s: When it started.
        end_s: When it is expected to end; the plan continues after it.
    """

    sequence: SequenceToPlan
    start_s: float
    end_s: float


@dataclass(frozen=True)
class PlanningProblem:
    """Everything one planning needs.

    Attributes:
        sequences: The sequences to plan (not the running one), ids unique.
        start_s: Start of the period to plan ("now", or the night's start).
        end_s: End of the period (the night's end).
        night_start_s: Start of the night (Sun below the configured altitude).
        night_end_s: End of the night.
        overheads: The transition model between sequences.
        running: The sequence being executed, kept first; the plan starts after it.
        origin: Where the telescope is at ``start_s`` when nothing runs (``None``: unknown).
        unknown_origin_transition_s: The transition charged before the first entry when
            neither ``running`` nor ``origin`` says where the telescope is: 0 when
            planning from the night's start (the telescope moves in twilight),
            the model's worst case in the middle of a night.
        previous: Start instants of the previous plan's entries by sequence id, for a
            replan that keeps what it can (stability); empty for a fresh plan.
    """

    sequences: tuple[SequenceToPlan, ...]
    start_s: float
    end_s: float
    night_start_s: float
    night_end_s: float
    overheads: OverheadModel = field(default_factory=OverheadModel)
    running: RunningEntry | None = None
    origin: Pointing | None = None
    unknown_origin_transition_s: float = 0.0
    previous: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("start_s", "end_s", "night_start_s", "night_end_s", "unknown_origin_transition_s"):
            _finite(name, getattr(self, name))
        if self.unknown_origin_transition_s < 0:
            raise ValueError(f"unknown_origin_transition_s must not be negative, got {self.unknown_origin_transition_s}")
        seen: set[int] = set()
        for sequence in self.sequences:
            if sequence.id in seen:
                raise ValueError(f"sequence {sequence.id} appears twice in the problem")
            seen.add(sequence.id)
        if self.running is not None and self.running.sequence.id in seen:
            raise ValueError(f"sequence {self.running.sequence.id} is running and cannot be planned again")

    @property
    def horizon(self) -> tuple[float, float]:
        """The instants entries may use: from the later of the start and the night's start to the
        earlier of the end and the night's end."""
        return max(self.start_s, self.night_start_s), min(self.end_s, self.night_end_s)
