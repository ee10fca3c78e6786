"""What every filter wheel driver provides: its filters, a move to one of them, and where it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class WheelStatus:
    """Where the wheel is, at one instant.

    Attributes:
        filters: Filter names by slot (slot 1 first).
        slot: The slot in the beam (1-based), or None while moving.
        target_slot: The slot it is moving to, or None when still.
    """

    filters: tuple[str, ...]
    slot: int | None
    target_slot: int | None

    @property
    def filter(self) -> str | None:
        """The filter in the beam, or None while moving."""
        return self.filters[self.slot - 1] if self.slot is not None else None

    @property
    def moving(self) -> bool:
        """Whether the wheel is turning."""
        return self.target_slot is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain values for replies and the K/V store."""
        return {"filters": list(self.filters), "slot": self.slot, "filter": self.filter,
                "target_slot": self.target_slot, "moving": self.moving}


class WheelDriver(Protocol):
    """A filter wheel's driver. A move starts and returns at once; :meth:`status` follows it."""

    def status(self) -> WheelStatus:
        """Where the wheel is now."""

    def start_move(self, slot: int) -> None:
        """Start turning to ``slot`` (1-based)."""

    def slot_of(self, filter_name: str) -> int:
        """The slot holding ``filter_name``; ``ValueError`` naming the wheel's filters if none does."""
