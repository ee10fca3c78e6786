"""The reason codes the observer gives when it refuses or ends a sequence early.

They are part of the observer's API (``docs/observer.md``): the majordome
decides from the code, people read the detail sentence that comes with it.
"""

from __future__ import annotations

import enum

__all__ = ["Reason", "SequenceStopped"]


class Reason(str, enum.Enum):
    """Why a sequence was refused at dispatch, or why its execution ended early."""

    NOT_PLANNED = "not_planned"
    """The sequence is not ``planned`` (or does not exist): only planned sequences are executed."""
    UNSAFE = "unsafe"
    """The environment monitor says unsafe, or its verdict is missing or stale."""
    DEVICE_UNAVAILABLE = "device_unavailable"
    """A device the sequence needs has no live service, is inactive, or stopped answering."""
    NIGHT_OVER = "night_over"
    """It is not night now, or the night ends before the whole run would."""
    OUTSIDE_WINDOW = "outside_window"
    """The whole run, from now, does not fit in one of the sequence's time windows."""
    BELOW_AIRMASS_LIMIT = "below_airmass_limit"
    """The target is too low (its airmass over the limit) now or before the run would end."""
    MOON_TOO_CLOSE = "moon_too_close"
    """The Moon is closer to the target than allowed, now or before the run would end."""
    INVALID_SEQUENCE = "invalid_sequence"
    """The stored sequence cannot be executed as it is (e.g. a light frame without a target)."""
    ABORTED = "aborted"
    """The execution was aborted (the session's ``abort``)."""
    DEVICE_FAILED = "device_failed"
    """A device answered that it failed (a fault, a refused target, a full archive, ...)."""
    INTERNAL_ERROR = "internal_error"
    """The observer itself failed (a bug, the database away); the detail says what happened."""


class SequenceStopped(Exception):
    """The execution of a sequence ends early, for a reason.

    Attributes:
        reason: The reason code.
        detail: A sentence saying what happened.
        device: The device at fault, if one is.
    """

    def __init__(self, reason: Reason, detail: str, device: str | None = None) -> None:
        """Record why.

        Args:
            reason: The reason code.
            detail: A sentence saying what happened.
            device: The device at fault, if one is.
        """
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.device = device
