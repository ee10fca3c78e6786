"""A simulated filter wheel: a fixed time per slot travelled (the shorter way), on the observatory clock."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

from devices.common.faults import DeviceFault, Faults
from devices.filter_wheel.interface import WheelStatus


class SimulatedWheel:
    """A filter wheel with ``len(filters)`` slots.

    Args:
        now: Observatory time in UNIX seconds.
        sleep: Sleeps for observatory seconds (latency faults).
        filters: Filter names by slot (distinct, non-empty).
        slot_time_s: Seconds to move by one slot.
        start_slot: The slot in the beam at start (1-based).
        name: Device name, for messages.
    """

    def __init__(self, now: Callable[[], float], sleep: Callable[[float], None], *,
                 filters: Sequence[str] = ("g", "r", "i", "z"), slot_time_s: float = 2.0, start_slot: int = 1,
                 name: str = "filter wheel") -> None:
        names = tuple(filters)
        if not names or any(not isinstance(f, str) or not f.strip() for f in names) or len(set(names)) != len(names):
            raise ValueError(f"a filter wheel needs distinct non-empty filter names, got {list(names)!r}")
        if not math.isfinite(slot_time_s) or slot_time_s <= 0:
            raise ValueError(f"slot_time_s must be a positive number, got {slot_time_s!r}")
        if not 1 <= start_slot <= len(names):
            raise ValueError(f"start_slot must be in 1..{len(names)}, got {start_slot!r}")
        self._now = now
        self._sleep = sleep
        self.filters = names
        self.slot_time_s = slot_time_s
        self.faults = Faults(name)
        self._lock = threading.Lock()
        self._slot = start_slot
        self._move: tuple[float, int] | None = None   # (arrival time, target slot)

    def _settle(self, now: float) -> None:
        if self._move is not None and now >= self._move[0]:
            self._slot, self._move = self._move[1], None

    def status(self) -> WheelStatus:
        """Where the wheel is now."""
        now = self._now()
        self.faults.check_alive(now)
        with self._lock:
            self._settle(now)
            slot = None if self._move is not None else self._slot
            target = self._move[1] if self._move is not None else None
        return WheelStatus(self.filters, self.faults.reported("slot", slot), target)

    def slot_of(self, filter_name: str) -> int:
        """The slot holding ``filter_name``.

        Raises:
            ValueError: naming the filters the wheel has.
        """
        if filter_name not in self.filters:
            raise ValueError(f"no filter {filter_name!r} in this wheel; it has {', '.join(self.filters)}")
        return self.filters.index(filter_name) + 1

    def start_move(self, slot: int) -> None:
        """Start turning to ``slot``; refused while moving."""
        if not 1 <= slot <= len(self.filters):
            raise ValueError(f"slot must be in 1..{len(self.filters)}, got {slot}")
        self.faults.before_command(self._now(), self._sleep)
        now = self._now()
        with self._lock:
            self._settle(now)
            if self._move is not None:
                raise DeviceFault(f"the wheel is already moving to slot {self._move[1]}")
            count = len(self.filters)
            steps = min((slot - self._slot) % count, (self._slot - slot) % count)
            if steps:
                self._move = (now + steps * self.slot_time_s, slot)

    def inject_fault(self, spec: dict[str, Any]) -> None:
        """Make the simulator misbehave (see :meth:`devices.common.faults.Faults.inject`)."""
        self.faults.inject(spec, self._now())
