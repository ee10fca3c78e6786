"""What the planner answers: timed entries, and a machine-readable reason for each sequence left out."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Plan", "PlannedEntry", "Unplaced", "UnplacedReason"]


class UnplacedReason(str, enum.Enum):
    """Why a sequence is not in the plan (stored as its value).

    The first five depend on the sequence alone; the others on the rest of the plan.
    """

    OUTSIDE_NIGHT = "outside_night"
    """None of its windows meets what is left of the night."""
    WINDOW_TOO_SHORT = "window_too_short"
    """Its windows, cut to the night, are all shorter than its duration."""
    NEVER_VISIBLE = "never_visible"
    """Its target never meets its airmass limit in its windows at night."""
    MOON_TOO_CLOSE = "moon_too_close"
    """Whenever its target meets its airmass limit, the Moon is too close."""
    VISIBLE_TOO_BRIEFLY = "visible_too_briefly"
    """Its target meets its constraints, but never for as long as its duration."""
    LOST_TO_HIGHER_PRIORITY = "lost_to_higher_priority"
    """It could run alone, but its time is taken by sequences of higher priority."""
    NO_ROOM = "no_room"
    """It could run alone, but the plan is worth more with sequences of the same or lower
    priority (and the transitions) where it could run."""


@dataclass(frozen=True)
class PlannedEntry:
    """One sequence in the plan.

    Attributes:
        sequence_id: The sequence.
        start_s: When it starts (UNIX seconds).
        end_s: When it ends (``start_s + duration``).
        transition_s: The transition before it (slew, settling, filter change),
            which ends at or before ``start_s``.
        running: True for the sequence being executed, which a replan keeps.
    """

    sequence_id: int
    start_s: float
    end_s: float
    transition_s: float = 0.0
    running: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A msgpack/JSON-friendly form."""
        return {"sequence_id": self.sequence_id, "start_s": self.start_s, "end_s": self.end_s,
                "transition_s": self.transition_s, "running": self.running}


@dataclass(frozen=True)
class Unplaced:
    """A sequence left out, and why.

    Attributes:
        sequence_id: The sequence.
        reason: The machine-readable reason.
        detail: One sentence for people.
        blockers: For the reasons that depend on the plan, the planned sequences
            occupying the time where it could have run.
    """

    sequence_id: int
    reason: UnplacedReason
    detail: str
    blockers: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A msgpack/JSON-friendly form."""
        return {"sequence_id": self.sequence_id, "reason": self.reason.value, "detail": self.detail,
                "blockers": list(self.blockers)}


@dataclass(frozen=True)
class Plan:
    """A schedule for the rest of a night.

    Attributes:
        start_s: Start of the period planned.
        end_s: End of the period planned.
        entries: The entries in time order (the running sequence first, if any).
        unplaced: The sequences left out, by id.
        objective: Sum of priority x duration over the planned sequences (the running one excluded).
        preference_penalty_s: The secondary term: sum over planned sequences with a preferred
            time of priority x |start - preferred| (smaller is better).
        stats: How the planning went (timings in seconds, counts).
    """

    start_s: float
    end_s: float
    entries: tuple[PlannedEntry, ...]
    unplaced: dict[int, Unplaced]
    objective: float
    preference_penalty_s: float
    stats: dict[str, float] = field(default_factory=dict)

    def entry(self, sequence_id: int) -> PlannedEntry | None:
        """The entry of a sequence, or ``None`` if it is not planned."""
        for entry in self.entries:
            if entry.sequence_id == sequence_id:
                return entry
        return None

    @property
    def planned_ids(self) -> list[int]:
        """Ids of the planned sequences in time order."""
        return [entry.sequence_id for entry in self.entries]

    def to_dict(self) -> dict[str, Any]:
        """A msgpack/JSON-friendly form."""
        return {"start_s": self.start_s, "end_s": self.end_s,
                "entries": [entry.to_dict() for entry in self.entries],
                "unplaced": [self.unplaced[key].to_dict() for key in sorted(self.unplaced)],
                "objective": self.objective, "preference_penalty_s": self.preference_penalty_s,
                "stats": dict(self.stats)}
