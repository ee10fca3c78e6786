"""Reading the environment monitor's verdict, ``/env/safety``, the way the observer must: doubt means unsafe.

The monitor publishes ``{"safe": bool, "culprit": ..., "since": ..., ...}``.
The observer believes a ``safe: true`` only when it is fresh: the K/V mirror
is live, the value is a map with a boolean ``safe``, it is not marked
``stale``, and, when it carries the instant it was made (``time``, UNIX
seconds or ISO 8601 on the observatory clock), that instant is no older than
``max_age_s``. Anything else (no value, a K/V server away, a malformed or old
value) is unsafe, with a sentence saying which.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pyros.clock import parse_instant
from pyros.observing.dispatch import SafetyVerdict

__all__ = ["SAFETY_KEY", "safety_verdict"]

SAFETY_KEY = "/env/safety"
"""The K/V key of the environment monitor's verdict."""


def _instant(value: Any) -> float | None:
    try:
        instant = parse_instant(value)
    except (TypeError, ValueError):
        return None
    return instant if math.isfinite(instant) else None


def safety_verdict(value: Any, *, live: bool, now_s: float, max_age_s: float) -> SafetyVerdict:
    """Interpret the value of ``/env/safety``.

    Args:
        value: The decoded value, or ``None`` when the key is absent.
        live: Whether the K/V mirror is in step with the server now.
        now_s: Observatory time now (UNIX seconds).
        max_age_s: Oldest verdict believed, by its ``time`` field, seconds > 0.

    Returns:
        Safe only for a fresh ``safe: true``; otherwise unsafe with the reason.

    Raises:
        ValueError: If ``max_age_s`` is not a positive number.
    """
    if isinstance(max_age_s, bool) or not isinstance(max_age_s, (int, float)) or not max_age_s > 0:
        raise ValueError(f"max_age_s must be a positive number of seconds, got {max_age_s!r}")
    if not live:
        return SafetyVerdict(False, "the K/V store is not reachable: the safety verdict is unknown")
    if value is None:
        return SafetyVerdict(False, f"no safety verdict is published ({SAFETY_KEY} is absent)")
    if not isinstance(value, Mapping) or not isinstance(value.get("safe"), bool):
        return SafetyVerdict(False, f"the safety verdict is malformed: {str(value)[:120]}")
    if value.get("stale") is True:
        return SafetyVerdict(False, "the safety verdict is marked stale")
    if "time" in value:
        made = _instant(value["time"])
        if made is None:
            return SafetyVerdict(False, f"the safety verdict has an unreadable time {value['time']!r}")
        if now_s - made > max_age_s:
            return SafetyVerdict(False, f"the safety verdict is {now_s - made:.0f} s old (more than "
                                        f"{max_age_s:g} s)")
    if value["safe"]:
        return SafetyVerdict(True)
    culprit = value.get("culprit")
    since = value.get("since")
    text = f"unsafe: {culprit}" if culprit else "the environment monitor says unsafe"
    return SafetyVerdict(False, text + (f" (since {since})" if since else ""))
