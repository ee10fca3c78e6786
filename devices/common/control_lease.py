"""Who may move a device: the majordome always, anyone else only while holding its control lease.

An observatory runs unattended: the majordome moves the telescope and the
dome. An engineer who needs a device for a while (a focus run, a dome test)
takes its lease; while it is held, the lease holder and the majordome may move
the device and nobody else may. A lease lasts a limited time and is renewed by
acquiring it again; it can be released, and an administrator can break it.
Safety actions (close, park, stop) are not motion in this sense: they are
always accepted, from anyone allowed to call them.

The lease is plain state with the time passed in (monotonic seconds), so its
rules are tested without waiting.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from pyros.service import Refusal

MAJORDOME = "majordome"
"""Principal of the observatory's conductor, which may always move devices."""


@dataclass(frozen=True)
class LeaseStatus:
    """Who holds a device's lease.

    Attributes:
        device: The device.
        holder: The principal holding it, or None when free.
        remaining_s: Seconds until it lapses (0 when free).
    """

    device: str
    holder: str | None
    remaining_s: float

    def to_dict(self) -> dict[str, object]:
        """A plain mapping for replies and the K/V store."""
        return {"device": self.device, "holder": self.holder, "remaining_s": round(self.remaining_s, 3)}


class ControlLease:
    """The control lease of one device (thread-safe).

    Args:
        device: Device name, for messages.
        max_duration_s: Longest lease granted at once.
    """

    def __init__(self, device: str, max_duration_s: float = 4 * 3600.0) -> None:
        if not math.isfinite(max_duration_s) or max_duration_s <= 0:
            raise ValueError(f"max_duration_s must be a positive number, got {max_duration_s!r}")
        self.device = device
        self.max_duration_s = max_duration_s
        self._lock = threading.Lock()
        self._holder: str | None = None
        self._expires = 0.0

    def _current(self, now: float) -> str | None:
        if self._holder is not None and now >= self._expires:
            self._holder = None
        return self._holder

    def status(self, now: float) -> LeaseStatus:
        """Who holds the lease now."""
        with self._lock:
            holder = self._current(now)
            return LeaseStatus(self.device, holder, max(0.0, self._expires - now) if holder else 0.0)

    def acquire(self, principal: str, duration_s: float, now: float) -> LeaseStatus:
        """Take (or renew) the lease for ``duration_s`` seconds.

        Raises:
            Refusal: ``LeaseHeld`` naming the holder and when it lapses, if someone else holds it;
                ``BadArgument`` for a duration outside ``(0, max_duration_s]``.
        """
        if not math.isfinite(duration_s) or not 0 < duration_s <= self.max_duration_s:
            raise Refusal("BadArgument", f"a lease of {self.device} lasts more than 0 and at most "
                                         f"{self.max_duration_s:g} s, not {duration_s:g} s")
        with self._lock:
            holder = self._current(now)
            if holder is not None and holder != principal:
                raise Refusal("LeaseHeld", f"{self.device} is leased to {holder} for {self._expires - now:.0f} s more")
            self._holder, self._expires = principal, now + duration_s
        return self.status(now)

    def release(self, principal: str, now: float, *, force: bool = False) -> LeaseStatus:
        """Give the lease back (``force``: break someone else's, for administrators).

        Raises:
            Refusal: ``LeaseHeld`` when someone else holds it and ``force`` is false.
        """
        with self._lock:
            holder = self._current(now)
            if holder is not None and holder != principal and not force:
                raise Refusal("LeaseHeld", f"{self.device} is leased to {holder}, not to {principal}")
            self._holder = None
        return self.status(now)

    def check_motion(self, principal: str, now: float) -> None:
        """Refuse motion from anyone but the majordome and the lease holder.

        Raises:
            Refusal: ``NoControl`` saying who may move the device now.
        """
        if principal == MAJORDOME:
            return
        with self._lock:
            holder = self._current(now)
        if holder == principal:
            return
        if holder is None:
            raise Refusal("NoControl", f"{self.device} moves only for the majordome or the holder of its lease; "
                                       f"{principal} holds none (acquire_control first)")
        raise Refusal("NoControl", f"{self.device} is leased to {holder}; {principal} may not move it")
