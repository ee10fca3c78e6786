"""The site's safety as a state machine: unsafe at once, safe again only after a hold time.

Fed with the quantities' syntheses (and whether the PLC is silent) at observatory instants, a
:class:`SafetyTracker`:

* turns **unsafe at once** when any reason appears; the **culprit** is the first reason (the PLC's
  silence first, then the age of its reading, then the quantities in their order) and **since** the
  instant it turned unsafe; both stay while it remains unsafe, whatever else comes and goes;
* turns **safe** only when no reason has been seen for ``hold_s`` without interruption: any reason
  during the hold starts it again, so weather flapping at a limit keeps the site unsafe;
* starts unsafe with the culprit ``no_data``; the first clear judgement starts the hold, or makes
  the site safe at once when ``hold_at_start`` is false.

It never reads a clock: every call carries its instant.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pyros.environment.synthesis import QuantitySynthesis

PLC_SILENT = "plc_silent"
"""The culprit when the PLC does not answer."""
PLC_STALE = "plc_stale"
"""The culprit when the PLC answers with a reading too old to judge (every quantity is stale)."""
NO_DATA = "no_data"
"""The culprit before the first judgement."""


@dataclass(frozen=True)
class UnsafeReason:
    """One reason for the site to be unsafe.

    Attributes:
        quantity: The quantity (``rain_rate``), or ``plc_silent``.
        meaning: Its word (``rain``, ``stale``, ``silent``).
        detail: What was seen (``12 > 0 mm/h``).
    """

    quantity: str
    meaning: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """``{quantity, meaning, detail}``."""
        return {"quantity": self.quantity, "meaning": self.meaning, "detail": self.detail}


@dataclass(frozen=True)
class SafetyState:
    """The site's safety at one instant.

    Attributes:
        safe: Whether the site is safe.
        culprit: What made it unsafe (a quantity, ``plc_silent``, ``plc_stale`` or ``no_data``); None when
            safe.
        since: Observatory instant of the last change between safe and unsafe (or of the start).
        reasons: What is unsafe now (empty during the hold and when safe).
        safe_in_s: While unsafe with no reason left, the hold still to wait; 0 when safe; None while a
            reason remains.
        time: Observatory instant of the judgement.
    """

    safe: bool
    culprit: str | None
    since: float
    reasons: tuple[UnsafeReason, ...]
    safe_in_s: float | None
    time: float

    def same_verdict(self, other: SafetyState | None) -> bool:
        """Whether ``other`` says the same (safe, culprit, since and the reasons' quantities and words)."""
        return other is not None and (self.safe, self.culprit, self.since,
                                      [(r.quantity, r.meaning) for r in self.reasons]) == \
            (other.safe, other.culprit, other.since, [(r.quantity, r.meaning) for r in other.reasons])

    def to_dict(self, format_instant: Any) -> dict[str, Any]:
        """The K/V value of ``/env/safety``: ``{safe, culprit, since, reasons, safe_in_s, time}``.

        Args:
            format_instant: Turns observatory UNIX seconds into ISO 8601 text
                (:func:`pyros.clock.format_instant`).
        """
        return {"safe": self.safe, "culprit": self.culprit, "since": format_instant(self.since),
                "reasons": [reason.to_dict() for reason in self.reasons],
                "safe_in_s": None if self.safe_in_s is None else round(self.safe_in_s, 3),
                "time": format_instant(self.time)}


def unsafe_reasons(syntheses: Iterable[QuantitySynthesis], silent: str | None = None,
                   stale: str | None = None) -> tuple[UnsafeReason, ...]:
    """The reasons in a judgement, the PLC's own first.

    In order: the PLC's silence (if ``silent`` says why), the age of its reading (if ``stale`` says how
    old), then the unsafe quantities in their order.
    """
    reasons = [UnsafeReason(PLC_SILENT, "silent", silent)] if silent is not None else []
    if stale is not None:
        reasons.append(UnsafeReason(PLC_STALE, "stale", stale))
    reasons.extend(UnsafeReason(s.quantity, s.meaning, s.detail or s.meaning)
                   for s in syntheses if s.decision == "unsafe")
    return tuple(reasons)


class SafetyTracker:
    """The safe/unsafe state machine (thread-safe).

    Args:
        hold_s: Observatory seconds with no reason before the site is safe again (>= 0).
        start: Observatory instant the tracker starts at (``since`` of the initial ``no_data``).
        hold_at_start: Whether the first clear judgements must last ``hold_s`` too.

    Raises:
        ValueError: For a negative or non-finite ``hold_s`` or ``start``.
    """

    def __init__(self, hold_s: float, start: float, *, hold_at_start: bool = True) -> None:
        if isinstance(hold_s, bool) or not isinstance(hold_s, (int, float)) or not math.isfinite(hold_s) \
                or hold_s < 0:
            raise ValueError(f"hold_s must be a finite number of seconds >= 0, got {hold_s!r}")
        if isinstance(start, bool) or not isinstance(start, (int, float)) or not math.isfinite(start):
            raise ValueError(f"start must be a finite instant, got {start!r}")
        self.hold_s = float(hold_s)
        self._lock = threading.Lock()
        self._starting = True
        self._hold_at_start = hold_at_start
        self._clear_since: float | None = None
        self._state = SafetyState(False, NO_DATA, float(start), (UnsafeReason(NO_DATA, "no data", "not judged yet"),),
                                  None, float(start))

    @property
    def state(self) -> SafetyState:
        """The latest state."""
        with self._lock:
            return self._state

    def update(self, syntheses: Iterable[QuantitySynthesis], now: float, *, silent: str | None = None,
               stale: str | None = None) -> SafetyState:
        """Judge the site at ``now`` (see :meth:`update_reasons` and :func:`unsafe_reasons`)."""
        return self.update_reasons(unsafe_reasons(syntheses, silent, stale), now)

    def update_reasons(self, reasons: Iterable[UnsafeReason], now: float) -> SafetyState:
        """Judge the site at ``now`` from its reasons (none: clear) and return the new state.

        An instant earlier than the previous one is taken as the previous one (the hold never runs backwards).

        Raises:
            ValueError: For a non-finite ``now``.
        """
        if isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):
            raise ValueError(f"now must be a finite instant, got {now!r}")
        found = tuple(reasons)
        with self._lock:
            previous = self._state
            now = max(float(now), previous.time)
            if found:
                self._clear_since = None
                self._starting = False
                if previous.safe:
                    state = SafetyState(False, found[0].quantity, now, found, None, now)
                else:
                    state = SafetyState(False, previous.culprit, previous.since, found, None, now)
            elif previous.safe:
                state = SafetyState(True, None, previous.since, (), 0.0, now)
            else:
                if self._clear_since is None:
                    self._clear_since = now
                hold = 0.0 if self._starting and not self._hold_at_start else self.hold_s
                remaining = hold - (now - self._clear_since)
                if remaining <= 0:
                    self._clear_since = None
                    self._starting = False
                    state = SafetyState(True, None, now, (), 0.0, now)
                else:
                    state = SafetyState(False, previous.culprit, previous.since, (), remaining, now)
            self._state = state
            return state
