"""The shutter's lifecycle as a transition table: which command is accepted in which state.

::

    closed ──open──► opening ──(done)──► open ──close──► closing ──(done)──► closed
                        │                                    ▲
                        └──────────────close─────────────────┘   (close is always accepted: safety)

``open`` while opening or open, or ``stop`` when nothing moves, are refused
with a message naming the state, so nothing is left half-done by a repeated or
mistaken command.
"""

from __future__ import annotations

from enum import Enum


class ShutterState(str, Enum):
    """Where the shutter is."""

    CLOSED = "closed"
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    STOPPED = "stopped"
    """Stopped part-way (by ``stop`` or a fault)."""


SHUTTER_COMMANDS: dict[ShutterState, frozenset[str]] = {
    ShutterState.CLOSED: frozenset({"open", "close"}),
    ShutterState.OPENING: frozenset({"close", "stop"}),
    ShutterState.OPEN: frozenset({"close"}),
    ShutterState.CLOSING: frozenset({"close", "stop"}),
    ShutterState.STOPPED: frozenset({"open", "close"}),
}
"""Commands accepted in each state (``close`` in every state: it is the safe action)."""


def shutter_refusal(state: ShutterState, command: str) -> str | None:
    """Why ``command`` is refused in ``state``, or None when it is accepted."""
    if command in SHUTTER_COMMANDS[state]:
        return None
    if command == "open":
        return f"the shutter is already {state.value}"
    return f"the shutter cannot {command} while {state.value}"
