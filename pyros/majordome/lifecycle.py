"""The majordome's lifecycle: states, an explicit transition table, and what each state wants.

States and transitions (:data:`TRANSITIONS`, checked in order; the first whose
guard holds is taken; safety rules come first in every state)::

    startup ──► closed_unsafe | unsafe_closing       (unsafe: close at once)
            ──► maintenance                          (engineer's flag)
            ──► day | dusk | night_idle | dawn        (by the sky phase)
    day ──► dusk ──► night_idle                       (night starts, safe)
    night_idle ⇄ night_observing                      (work available, dome open / no more work)
    night_idle, night_observing ──► dawn ──► day      (closing time; dome closed and parked)
    any but maintenance ──► unsafe_closing            (unsafe or device fault: abort, close, park)
    unsafe_closing ──► closed_unsafe                  (dome closed and telescope parked)
    closed_unsafe ──► night_idle | dusk | day | dawn  (safe again after the monitor's hold time)
    any ──► maintenance ──► startup                   (engineer's flag set / cleared)

Maintenance is left only when the flag is cleared, but safety still closes
the dome in it: an unsafe situation in maintenance goes to ``unsafe_closing``.

What a state wants of the devices (:func:`wanted_for`) is declarative: the
service compares it with what the devices report and commands only the
difference, so nothing already in the wanted state is ever commanded again.
In MANUAL mode the majordome wants nothing of the devices except in the two
unsafe states, where it closes and parks whoever holds the lease.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pyros.majordome.situation import Mode, SkyPhase, Situation

__all__ = ["MajordomeState", "Step", "TRANSITIONS", "Transition", "Wanted", "manual_command_refusal", "step",
           "wanted_for"]


class MajordomeState(str, enum.Enum):
    """Where the observatory is in its cycle."""

    STARTUP = "startup"
    DAY = "day"
    DUSK = "dusk"
    NIGHT_IDLE = "night_idle"
    NIGHT_OBSERVING = "night_observing"
    DAWN = "dawn"
    UNSAFE_CLOSING = "unsafe_closing"
    CLOSED_UNSAFE = "closed_unsafe"
    MAINTENANCE = "maintenance"


_S = MajordomeState
Guard = Callable[[Situation], bool]


@dataclass(frozen=True)
class Transition:
    """One row of the table.

    Attributes:
        source: The state it leaves.
        target: The state it enters.
        guard: When it applies (a pure predicate on the situation).
        reason: Why, for the audit log (``{culprit}`` is replaced by the unsafe reason).
    """

    source: MajordomeState
    target: MajordomeState
    guard: Guard
    reason: str


def _unsafe(s: Situation) -> bool:
    return s.unsafe_reason is not None


def _maintenance(s: Situation) -> bool:
    return s.maintenance


def _phase(*phases: SkyPhase) -> Guard:
    def guard(s: Situation) -> bool:
        return s.phase in phases
    return guard


def _all(*guards: Guard) -> Guard:
    def guard(s: Situation) -> bool:
        return all(g(s) for g in guards)
    return guard


def _secured(s: Situation) -> bool:
    return s.secured


def _can_observe(s: Situation) -> bool:
    return s.mode is Mode.AUTO and s.dome_closed is False and s.work_available


def _nothing_to_do(s: Situation) -> bool:
    return not s.observing and not s.work_available


def _safety_rows(source: MajordomeState) -> list[Transition]:
    """Every state but the unsafe ones starts with these: unsafe closes, the flag enters maintenance."""
    rows = [Transition(source, _S.UNSAFE_CLOSING, _unsafe, "{culprit}: abort, close the dome, park")]
    if source is not _S.MAINTENANCE:
        rows.append(Transition(source, _S.MAINTENANCE, _maintenance, "maintenance requested"))
    return rows


def _by_phase(source: MajordomeState, why: str) -> list[Transition]:
    return [
        Transition(source, _S.DAY, _phase(SkyPhase.DAY), f"{why}: it is day"),
        Transition(source, _S.DUSK, _phase(SkyPhase.DUSK), f"{why}: the night is near"),
        Transition(source, _S.NIGHT_IDLE, _phase(SkyPhase.NIGHT), f"{why}: it is night"),
        Transition(source, _S.DAWN, _phase(SkyPhase.DAWN), f"{why}: the night is ending"),
    ]


TRANSITIONS: Mapping[MajordomeState, tuple[Transition, ...]] = {
    _S.STARTUP: tuple(_safety_rows(_S.STARTUP) + _by_phase(_S.STARTUP, "started")),
    _S.DAY: tuple(_safety_rows(_S.DAY) + [
        Transition(_S.DAY, _S.DUSK, _phase(SkyPhase.DUSK), "the night is near"),
        Transition(_S.DAY, _S.NIGHT_IDLE, _phase(SkyPhase.NIGHT), "the night has started"),
    ]),
    _S.DUSK: tuple(_safety_rows(_S.DUSK) + [
        Transition(_S.DUSK, _S.NIGHT_IDLE, _phase(SkyPhase.NIGHT), "the night has started"),
        Transition(_S.DUSK, _S.DAY, _phase(SkyPhase.DAY, SkyPhase.DAWN), "no night after all"),
    ]),
    _S.NIGHT_IDLE: tuple(_safety_rows(_S.NIGHT_IDLE) + [
        Transition(_S.NIGHT_IDLE, _S.DAWN, _phase(SkyPhase.DAWN, SkyPhase.DAY), "the night is ending"),
        Transition(_S.NIGHT_IDLE, _S.NIGHT_OBSERVING, _can_observe, "a sequence can start"),
    ]),
    _S.NIGHT_OBSERVING: tuple(_safety_rows(_S.NIGHT_OBSERVING) + [
        Transition(_S.NIGHT_OBSERVING, _S.DAWN, _phase(SkyPhase.DAWN, SkyPhase.DAY), "the night is ending"),
        Transition(_S.NIGHT_OBSERVING, _S.NIGHT_IDLE, lambda s: s.mode is Mode.MANUAL, "manual mode"),
        Transition(_S.NIGHT_OBSERVING, _S.NIGHT_IDLE, _nothing_to_do, "no sequence can start now"),
    ]),
    _S.DAWN: tuple(_safety_rows(_S.DAWN) + [
        Transition(_S.DAWN, _S.DAY, _all(_secured, _phase(SkyPhase.DAY, SkyPhase.DAWN)),
                   "closed and parked for the day"),
        Transition(_S.DAWN, _S.DUSK, _phase(SkyPhase.DUSK), "the next night is near"),
    ]),
    _S.UNSAFE_CLOSING: (
        Transition(_S.UNSAFE_CLOSING, _S.CLOSED_UNSAFE, _secured, "dome closed and telescope parked"),
    ),
    _S.CLOSED_UNSAFE: tuple(
        [Transition(_S.CLOSED_UNSAFE, _S.MAINTENANCE, _all(_maintenance, lambda s: not _unsafe(s)),
                    "maintenance requested")]
        + [Transition(_S.CLOSED_UNSAFE, t.target, _all(lambda s: not _unsafe(s), t.guard), t.reason)
           for t in _by_phase(_S.CLOSED_UNSAFE, "safe again after the hold time")]),
    _S.MAINTENANCE: (
        Transition(_S.MAINTENANCE, _S.UNSAFE_CLOSING, _unsafe, "{culprit}: close the dome and park"),
        Transition(_S.MAINTENANCE, _S.STARTUP, lambda s: not s.maintenance, "maintenance over"),
    ),
}
"""The transition table: for each state, its outgoing transitions in the order they are tried."""


@dataclass(frozen=True)
class Wanted:
    """What a state wants of the devices and of the observer.

    Attributes:
        dome: ``"open"``, ``"closed"`` or ``None`` (no wish: left as it is).
        telescope: ``"parked"``, ``"unparked"`` or ``None``.
        observe: Hand the plan's sequences to the observer.
        abort: Abort the running sequence and every exposure now.
    """

    dome: str | None = None
    telescope: str | None = None
    observe: bool = False
    abort: bool = False


_SECURE = Wanted(dome="closed", telescope="parked")
_WANTED_AUTO: Mapping[MajordomeState, Wanted] = {
    _S.STARTUP: Wanted(),
    _S.DAY: _SECURE,
    _S.DUSK: _SECURE,
    _S.NIGHT_IDLE: Wanted(dome="open", telescope="unparked", observe=True),
    _S.NIGHT_OBSERVING: Wanted(dome="open", telescope="unparked", observe=True),
    _S.DAWN: Wanted(dome="closed", telescope="parked", abort=True),
    _S.UNSAFE_CLOSING: Wanted(dome="closed", telescope="parked", abort=True),
    _S.CLOSED_UNSAFE: _SECURE,
    _S.MAINTENANCE: Wanted(),
}


def wanted_for(state: MajordomeState, mode: Mode) -> Wanted:
    """What ``state`` wants in ``mode``: in MANUAL, only the unsafe states want anything."""
    if mode is Mode.MANUAL and state not in (_S.UNSAFE_CLOSING, _S.CLOSED_UNSAFE):
        return Wanted()
    return _WANTED_AUTO[state]


@dataclass(frozen=True)
class Step:
    """The result of one decision.

    Attributes:
        state: The state after the step.
        transition: The transition taken (``None``: the state stays).
        reason: The transition's reason with its culprit filled in (empty if none).
        wanted: What the new state wants in the situation's mode.
    """

    state: MajordomeState
    transition: Transition | None
    reason: str
    wanted: Wanted


def step(state: MajordomeState, situation: Situation, max_chain: int = 4) -> Step:
    """Take the transitions that apply now (a short chain: startup may go straight to night_idle).

    Args:
        state: The current state.
        situation: What the majordome sees.
        max_chain: Most transitions taken in one step (guards against a cycle in the table).

    Returns:
        The new state, the last transition taken and its reason, and what the state wants.
    """
    taken: Transition | None = None
    reasons: list[str] = []
    for _ in range(max_chain):
        found = next((t for t in TRANSITIONS[state] if t.guard(situation)), None)
        if found is None:
            break
        taken = found
        reasons.append(found.reason.replace("{culprit}", situation.unsafe_reason or "unsafe"))
        state = found.target
    return Step(state, taken, "; ".join(reasons), wanted_for(state, situation.mode))


MANUAL_COMMANDS_NEEDING_SAFETY = frozenset({"open", "unpark", "slew", "expose"})
"""Manual device commands refused while unsafe, unless an admin overrides them with a reason."""


def manual_command_refusal(command: str, situation: Situation, *, admin_override: bool,
                           override_reason: str | None) -> str | None:
    """Why a manual command must be refused now, or ``None`` when it may go.

    Args:
        command: The device command (``open``, ``unpark``, ``slew``, ``close``, ``park`` ...).
        situation: What the majordome sees.
        admin_override: The caller is an admin asking to override safety.
        override_reason: The admin's reason (required, non-blank, to override).
    """
    if command not in MANUAL_COMMANDS_NEEDING_SAFETY:
        return None
    unsafe = situation.unsafe_reason
    if unsafe is None:
        return None
    if admin_override:
        if override_reason is None or not override_reason.strip():
            return "an override needs a reason (it is audited)"
        return None
    return f"refused while {unsafe}; an admin may override with a reason"
