"""The live state the majordome reads, taken from the K/V store and checked.

Values come from other processes: nothing here trusts their shape. A value
that is missing, malformed or too old reads as *unknown*, and unknown is never
taken as the safe answer (an unknown shutter is not closed; unknown safety is
unsafe).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["FinishedSequence", "ObservatoryView", "ScheduledEntry"]

_BUSY_STATUSES = frozenset({"starting", "running", "stopping"})


def _text(value: Any) -> str | None:
    """``value`` if it is non-empty text, else ``None``."""
    return value if isinstance(value, str) and value else None


def _instant(value: Any) -> float | None:
    """UNIX seconds of an ISO 8601 instant with a time zone, or ``None`` if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


@dataclass(frozen=True)
class ScheduledEntry:
    """One entry of the current schedule (``/schedule/current``)."""

    sequence_id: int
    start_s: float
    end_s: float
    name: str = ""


@dataclass(frozen=True)
class FinishedSequence:
    """The observer's latest ``execute`` session once it is done (from its ``data``, docs/observer.md).

    Attributes:
        session: The session id.
        sequence_id: The sequence it was given.
        outcome: ``refused``, ``executed``, ``interrupted`` or ``failed`` (``None`` if not reported).
        reason: The reason code (``None`` when executed).
        detail: The sentence saying why.
        device: The device at fault, if one is.
        sequence_status: The sequence's status at the end.
    """

    session: str
    sequence_id: int | None
    outcome: str | None
    reason: str | None = None
    detail: str | None = None
    device: str | None = None
    sequence_status: str | None = None

    @classmethod
    def from_session(cls, session: Any) -> FinishedSequence | None:
        """Read a done session map; ``None`` for anything else (running, malformed, no id)."""
        if not isinstance(session, Mapping) or session.get("status") != "done":
            return None
        session_id = _text(session.get("session"))
        if session_id is None:
            return None
        data = session.get("data") if isinstance(session.get("data"), Mapping) else {}
        arguments = session.get("args") if isinstance(session.get("args"), Mapping) else {}
        sequence = data.get("sequence_id", arguments.get("sequence_id"))
        return cls(session=session_id,
                   sequence_id=sequence if isinstance(sequence, int) and not isinstance(sequence, bool) else None,
                   outcome=_text(data.get("outcome")), reason=_text(data.get("reason")),
                   detail=_text(data.get("detail")), device=_text(data.get("device")),
                   sequence_status=_text(data.get("sequence_status")))


@dataclass(frozen=True)
class ObservatoryView:
    """What the majordome knows of the observatory at one instant.

    Attributes:
        safe: The monitor's verdict; ``False`` when missing, malformed or stale.
        safety_culprit: The monitor's culprit, or why the verdict is not trusted.
        dome_shutter: ``open``, ``closed``, ``opening``, ``closing`` ... or ``None``.
        telescope_parked: ``None`` when unknown.
        observer_session: The observer's running ``execute`` session id, or ``None``.
        observer_sequence: The sequence it executes, if known.
        schedule: The current schedule's entries in time order.
        schedule_id: The current schedule's id (``None``: no schedule).
        alive: Services whose registry key is present (``/service/<name>/...``).
        observer_finished: The observer's latest ``execute`` session when it is done, else ``None``.
    """

    safe: bool = False
    safety_culprit: str | None = "no safety data"
    dome_shutter: str | None = None
    telescope_parked: bool | None = None
    observer_session: str | None = None
    observer_sequence: int | None = None
    schedule: tuple[ScheduledEntry, ...] = ()
    schedule_id: int | None = None
    alive: frozenset[str] = field(default_factory=frozenset)
    observer_finished: FinishedSequence | None = None

    @property
    def dome_closed(self) -> bool | None:
        """``True`` closed, ``False`` anything else known, ``None`` unknown."""
        if self.dome_shutter is None:
            return None
        return self.dome_shutter == "closed"

    @property
    def dome_open(self) -> bool:
        """The shutter is known fully open."""
        return self.dome_shutter == "open"

    @classmethod
    def from_kv(cls, values: Mapping[str, Any], now_s: float, *, dome: str = "dome", telescope: str = "telescope",
                observer: str = "observer", safety_stale_s: float = 10.0) -> ObservatoryView:
        """Read the view from K/V values (key -> decoded value).

        Args:
            values: The K/V store's current values.
            now_s: Now (observatory UNIX seconds), to judge the safety verdict's age.
            dome: The dome's device name.
            telescope: The telescope's device name.
            observer: The observer's service name.
            safety_stale_s: A verdict older than this (by its ``time``) is not trusted.
        """
        safe, culprit = False, "no safety data from the monitor"
        safety = values.get("/env/safety")
        if isinstance(safety, Mapping) and isinstance(safety.get("safe"), bool):
            published = _instant(safety.get("time"))
            if published is None or not math.isfinite(published):
                culprit = "the monitor's safety verdict has no valid time"
            elif now_s - published > safety_stale_s:
                culprit = f"the monitor's safety verdict is {now_s - published:.0f} s old"
            else:
                safe = safety["safe"]
                reported = safety.get("culprit")
                culprit = None if safe else (str(reported) if reported else "unsafe")
        elif safety is not None:
            culprit = "malformed safety verdict"
        shutter = values.get(f"/device/{dome}/shutter")
        parked = values.get(f"/device/{telescope}/parked")
        session = values.get(f"/op/{observer}/execute")
        observer_session = observer_sequence = None
        if isinstance(session, Mapping) and session.get("status") in _BUSY_STATUSES:
            observer_session = str(session.get("session")) if session.get("session") else None
            arguments = session.get("args")
            if isinstance(arguments, Mapping) and isinstance(arguments.get("sequence_id"), int):
                observer_sequence = arguments["sequence_id"]
        entries: list[ScheduledEntry] = []
        schedule_id = None
        current = values.get("/schedule/current")
        if isinstance(current, Mapping) and isinstance(current.get("entries"), list):
            schedule_id = current.get("id") if isinstance(current.get("id"), int) else None
            for item in current["entries"]:
                if not isinstance(item, Mapping) or not isinstance(item.get("sequence_id"), int):
                    continue
                start, end = _instant(item.get("start")), _instant(item.get("end"))
                if start is None or end is None or not end > start:
                    continue
                entries.append(ScheduledEntry(item["sequence_id"], start, end, str(item.get("name", ""))))
        entries.sort(key=lambda e: e.start_s)
        alive = frozenset(key.split("/")[2] for key in values
                          if key.startswith("/service/") and key.count("/") == 3)
        return cls(safe=safe, safety_culprit=culprit, dome_shutter=shutter if isinstance(shutter, str) else None,
                   telescope_parked=parked if isinstance(parked, bool) else None, observer_session=observer_session,
                   observer_sequence=observer_sequence, schedule=tuple(entries), schedule_id=schedule_id, alive=alive,
                   observer_finished=FinishedSequence.from_session(session))
