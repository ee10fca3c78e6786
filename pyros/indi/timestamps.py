"""INDI timestamps: ``YYYY-MM-DDTHH:MM:SS[.s...]`` in UTC, as float UNIX seconds.

INDI 1.7 writes timestamps without a zone; they are UTC by definition. A
trailing ``Z`` is accepted as well. Values are float UNIX seconds, the form
PyROS uses for instants everywhere (ARCHITECTURE.md section 2).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

__all__ = ["format_timestamp", "parse_timestamp"]

_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?Z?")


def parse_timestamp(text: str) -> float:
    """Parse an INDI timestamp into float UNIX seconds (UTC).

    Args:
        text: E.g. ``"2026-11-22T06:46:30"`` or ``"2026-11-22T06:46:30.25"``.

    Returns:
        Seconds since the UNIX epoch.

    Raises:
        ValueError: If ``text`` is not an INDI timestamp or names an impossible date.
    """
    stripped = text.strip()
    match = _TIMESTAMP.fullmatch(stripped)
    if match is None:
        raise ValueError(f"not an INDI timestamp (YYYY-MM-DDTHH:MM:SS): {stripped[:40]!r}")
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        instant = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                           tzinfo=timezone.utc)
    except ValueError as exc:
        raise ValueError(f"impossible INDI timestamp {stripped!r}: {exc}") from None
    return instant.timestamp() + (float("0." + fraction) if fraction else 0.0)


def format_timestamp(seconds: float) -> str:
    """Format float UNIX seconds as an INDI timestamp (UTC, milliseconds when not whole).

    Raises:
        TypeError: If ``seconds`` is not a real number.
        ValueError: If ``seconds`` is not finite or out of the range of dates.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"a timestamp must be float UNIX seconds, not {type(seconds).__name__}")
    if not math.isfinite(seconds):
        raise ValueError(f"a timestamp must be finite, got {seconds}")
    try:
        instant = datetime.fromtimestamp(round(seconds, 3), tz=timezone.utc)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"timestamp {seconds} is out of range: {exc}") from None
    spec = "seconds" if instant.microsecond == 0 else "milliseconds"
    return instant.replace(tzinfo=None).isoformat(timespec=spec)
