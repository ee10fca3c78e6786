"""The conductor: from what the observatory shows to the commands it needs, without I/O.

:class:`Conductor` is the majordome's logic as a plain object (the caproto
style: state in, commands out). At every tick the service gives it the time,
the night and an :class:`~pyros.majordome.observatory_view.ObservatoryView`;
it answers with a :class:`TickResult`: the commands to send, the lifecycle
step taken and the alarms raised. The service sends the commands and reports
back the ones that failed (:meth:`Conductor.command_failed`). Nothing here
sleeps, reads a clock or opens a socket, so a whole night can be replayed in
a unit test.

Rules it keeps:

* **Wanted, not commanded.** A command is sent only when the device is not
  already in the state the lifecycle wants, and never again while the same
  command is in flight (until it is done, or its ``command_timeout_s`` is
  over, which raises an alarm for the device).
* **Unknown is not safe.** An unknown shutter is not closed, unknown safety is unsafe.
* **Alarms make safe.** A command that fails, a device that does not finish
  in time, or a required device missing from the service registry (after a
  start-up grace) raises an operator alarm; while any alarm stands the
  observatory is made safe (the lifecycle's device fault). An operator
  acknowledges alarms; a missing device's alarm clears itself when the device
  is back in the registry. Nothing is sent to a service absent from the registry.
* **One sequence at a time.** In ``night_observing``, when the observer is
  idle, the dome open and the telescope unparked, the next entry of the
  current schedule that has not been handed over yet (and starts within
  ``lookahead_s``) goes to the observer.
* **The plan is kept current.** When entries of the current schedule are
  over without having been observed (the dome was closed, or a sequence ran
  long), the conductor asks the scheduler for a replan (``replan
  reason=conditions``) once per schedule, in the states that observe, so a
  sequence whose time passed gets a new place or a reason.
* **The observer's outcome counts.** A sequence the observer refused because
  its place in the plan went stale (it went back to ``to_be_planned``) makes
  the conductor ask the scheduler for a replan (``replan reason=failed``); a
  sequence that failed because a device failed or stopped answering raises
  that device's alarm (an operator acknowledges it), so the observatory is
  made safe. A session already finished when the conductor starts is not
  acted upon again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pyros.majordome.lifecycle import MajordomeState, Step, manual_command_refusal, step
from pyros.majordome.observatory_view import FinishedSequence, ObservatoryView, ScheduledEntry
from pyros.majordome.situation import Mode, Situation, sky_phase

__all__ = ["Alarm", "Command", "Conductor", "ConductorSettings", "DEVICE_FAILURE_REASONS", "TickResult"]

DEVICE_FAILURE_REASONS = frozenset({"device_unavailable", "device_failed"})
"""The observer's reasons for a failed sequence that name a device at fault (docs/observer.md)."""
STALE_PLAN_STATUS = "to_be_planned"
"""The status a refused sequence is left in when its place in the plan went stale."""


@dataclass(frozen=True)
class Command:
    """A call for the service to make.

    Attributes:
        service: The service called.
        command: Its command.
        args: The arguments.
        purpose: Why, for the audit log.
    """

    service: str
    command: str
    args: dict[str, Any]
    purpose: str

    @property
    def key(self) -> tuple[str, str]:
        """What identifies it in flight: (service, command)."""
        return (self.service, self.command)


@dataclass(frozen=True)
class Alarm:
    """An operator alarm: a device failed or stopped answering.

    Attributes:
        device: The device (or service).
        reason: What happened.
        at: When (observatory UNIX seconds).
        clears_itself: An absence alarm, cleared when the service is back in the registry
            (a failed command's alarm waits for an operator).
    """

    device: str
    reason: str
    at: float
    clears_itself: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A msgpack-friendly form."""
        return {"device": self.device, "reason": self.reason, "at": self.at, "clears_itself": self.clears_itself}


@dataclass(frozen=True)
class ConductorSettings:
    """The majordome's settings (the service's arguments).

    Attributes:
        dome: The dome's service name.
        telescope: The telescope's service name.
        observer: The observer's service name.
        scheduler: The scheduler's service name (asked to replan after a stale-plan refusal, or when
            entries of its plan passed without being observed).
        required: Services that must be in the registry (else alarm).
        prepare_s: Dusk starts this long before the night.
        close_before_s: Dawn starts this long before the night's end.
        command_timeout_s: A dome or telescope motion not done after this raises an alarm.
        lookahead_s: A schedule entry starting within this may be handed to the observer now. The
            observer checks a sequence's constraints from the moment it gets it, so handing it over
            before its planned start makes it refuse a sequence whose target rises into its airmass
            limit (or whose window opens) at that start: 0 by default.
        startup_grace_s: After the first tick, how long a required service may be missing from
            the registry before it is an alarm (services start in any order).
    """

    dome: str = "dome"
    telescope: str = "telescope"
    observer: str = "observer"
    scheduler: str = "scheduler"
    required: tuple[str, ...] = ("dome", "telescope")
    prepare_s: float = 1800.0
    close_before_s: float = 600.0
    command_timeout_s: float = 300.0
    lookahead_s: float = 0.0
    startup_grace_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ("prepare_s", "close_before_s", "command_timeout_s", "lookahead_s", "startup_grace_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        for name in ("dome", "telescope", "observer", "scheduler"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a service name, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class TickResult:
    """What one tick decided.

    Attributes:
        step: The lifecycle step (its ``transition`` is ``None`` when the state stayed).
        commands: The commands to send now.
        alarms: Alarms raised during this tick.
        situation: The situation the step was decided from.
    """

    step: Step
    commands: list[Command]
    alarms: list[Alarm]
    situation: Situation


@dataclass
class _Lease:
    owner: str
    expires_s: float


@dataclass
class Conductor:
    """The majordome's state and decisions (see the module)."""

    settings: ConductorSettings = field(default_factory=ConductorSettings)
    state: MajordomeState = MajordomeState.STARTUP
    mode: Mode = Mode.AUTO
    paused: bool = False
    maintenance: bool = False
    alarms: dict[str, Alarm] = field(default_factory=dict)
    _in_flight: dict[tuple[str, str], float] = field(default_factory=dict)
    _handed: set[int] = field(default_factory=set)
    _handing: tuple[int, str | None] | None = None
    _outcome_seen: str | None = None
    _replan_wanted: tuple[str, str] | None = None
    _ever_handed: set[int] = field(default_factory=set)
    _missed_replanned: int | None = None
    _schedule_id: int | None = None
    _lease: _Lease | None = None
    _started_s: float | None = None

    # -- ticks ------------------------------------------------------------------------------

    def tick(self, now_s: float, view: ObservatoryView, night: tuple[float, float] | None) -> TickResult:
        """Decide what to do now.

        Args:
            now_s: Observatory UNIX seconds.
            view: What the observatory shows.
            night: (start, end) of the night of the current observing day, or ``None`` (no night).
        """
        raised: list[Alarm] = []
        first_tick = self._started_s is None
        if self._started_s is None:
            self._started_s = now_s
        self._expire_lease(now_s)
        self._settle_in_flight(now_s, view, raised)
        self._read_outcome(view.observer_finished, now_s, raised, act=not first_tick)
        in_grace = now_s - self._started_s < self.settings.startup_grace_s
        for service in self.settings.required:
            alarm = self.alarms.get(service)
            if service in view.alive:
                if alarm is not None and alarm.clears_itself:
                    del self.alarms[service]
            elif alarm is None and not in_grace:
                raised.append(self._raise(service, "not answering (absent from the service registry)", now_s,
                                          clears_itself=True))
        if view.schedule_id != self._schedule_id:
            self._schedule_id = view.schedule_id
            self._handed.clear()
        following = self._next_entry(now_s, view)
        missed = self._missed_entries(now_s, view)
        phase = sky_phase(now_s, night[0] if night else None, night[1] if night else None,
                          self.settings.prepare_s, self.settings.close_before_s)
        fault = next(iter(self.alarms), None)
        situation = Situation(
            phase=phase, mode=self.mode, safe=view.safe, safety_culprit=view.safety_culprit, device_fault=fault,
            dome_closed=view.dome_closed, telescope_parked=view.telescope_parked,
            observing=view.observer_session is not None or (self.settings.observer, "execute") in self._in_flight,
            work_available=following is not None and not self.paused,
            maintenance=self.maintenance)
        decided = step(self.state, situation)
        self.state = decided.state
        if missed and decided.wanted.observe and self._missed_replanned != view.schedule_id \
                and self._replan_wanted is None:
            self._missed_replanned = view.schedule_id
            self._replan_wanted = ("conditions", f"{len(missed)} entries of schedule {view.schedule_id} passed "
                                                 f"without being observed ({', '.join(map(str, missed[:5]))}): replan")
        commands = self._commands(now_s, view, decided, following)
        return TickResult(decided, commands, raised, situation)

    def _commands(self, now_s: float, view: ObservatoryView, decided: Step,
                  following: ScheduledEntry | None) -> list[Command]:
        wanted = decided.wanted
        settings = self.settings
        commands: list[Command] = []
        if wanted.abort and view.observer_session is not None:
            commands.append(Command(settings.observer, "abort", {"session": view.observer_session},
                                    f"{decided.state.value}: abort the running sequence"))
        if wanted.dome == "closed" and view.dome_closed is not True:
            commands.append(Command(settings.dome, "close", {}, f"{decided.state.value}: close the dome"))
        elif wanted.dome == "open" and view.dome_shutter == "closed":
            commands.append(Command(settings.dome, "open", {}, f"{decided.state.value}: open the dome"))
        if wanted.telescope == "parked" and view.telescope_parked is not True:
            commands.append(Command(settings.telescope, "park", {}, f"{decided.state.value}: park the telescope"))
        elif wanted.telescope == "unparked" and view.telescope_parked is True:
            commands.append(Command(settings.telescope, "unpark", {}, f"{decided.state.value}: unpark the telescope"))
        if (wanted.observe and decided.state is MajordomeState.NIGHT_OBSERVING and following is not None
                and view.observer_session is None and view.dome_open and view.telescope_parked is False
                and not self.paused):
            commands.append(Command(settings.observer, "execute", {"sequence_id": following.sequence_id},
                                    f"observe sequence {following.sequence_id} {following.name}".rstrip()))
        if self._replan_wanted is not None:
            reason, purpose = self._replan_wanted
            commands.append(Command(settings.scheduler, "replan", {"reason": reason}, purpose))
        # Nothing is sent to a service absent from the registry: it would only fail.
        sendable = [c for c in commands if c.key not in self._in_flight and c.service in view.alive]
        for command in sendable:
            self._in_flight[command.key] = now_s
            # The opposite motion (an open while closing, an unpark while parking) is superseded:
            # the device drops it, and it must not time out into an alarm.
            self._in_flight.pop(self._opposite(command.key), None)
            if command.command == "execute":
                self._handed.add(command.args["sequence_id"])
                self._ever_handed.add(command.args["sequence_id"])
                before = view.observer_finished.session if view.observer_finished is not None else None
                self._handing = (command.args["sequence_id"], before)
            elif command.key == (settings.scheduler, "replan"):
                self._replan_wanted = None
        return sendable

    def _read_outcome(self, finished: FinishedSequence | None, now_s: float, raised: list[Alarm], *,
                      act: bool) -> None:
        """Act once on the observer's latest finished session (not on one found at the first tick)."""
        if finished is None or finished.session == self._outcome_seen:
            return
        self._outcome_seen = finished.session
        if not act:
            return
        sequence = f"sequence {finished.sequence_id}" if finished.sequence_id is not None else "a sequence"
        if finished.outcome == "refused" and finished.sequence_status == STALE_PLAN_STATUS:
            self._replan_wanted = ("failed", f"{sequence} refused at dispatch ({finished.reason}): replan")
        elif finished.outcome == "failed" and finished.reason in DEVICE_FAILURE_REASONS and finished.device:
            raised.append(self._raise(finished.device, f"{sequence} failed: {finished.reason}: "
                                                        f"{finished.detail or 'no detail'}", now_s))

    def _next_entry(self, now_s: float, view: ObservatoryView) -> ScheduledEntry | None:
        for entry in view.schedule:
            if entry.sequence_id in self._handed or entry.sequence_id == view.observer_sequence:
                continue
            if entry.end_s <= now_s:
                continue
            if entry.start_s <= now_s + self.settings.lookahead_s:
                return entry
            return None
        return None

    def _missed_entries(self, now_s: float, view: ObservatoryView) -> list[int]:
        """Sequences of the current schedule whose time is over and that were never handed over nor seen running."""
        if view.observer_sequence is not None:
            self._ever_handed.add(view.observer_sequence)
        return [entry.sequence_id for entry in view.schedule
                if entry.end_s <= now_s and entry.sequence_id not in self._ever_handed]

    def _opposite(self, key: tuple[str, str]) -> tuple[str, str] | None:
        """The command that undoes ``key`` (dome open/close, telescope park/unpark), if any."""
        dome, telescope = self.settings.dome, self.settings.telescope
        opposites = {(dome, "open"): (dome, "close"), (dome, "close"): (dome, "open"),
                     (telescope, "park"): (telescope, "unpark"), (telescope, "unpark"): (telescope, "park")}
        return opposites.get(key)

    def _settle_in_flight(self, now_s: float, view: ObservatoryView, raised: list[Alarm]) -> None:
        settings = self.settings
        done = {
            (settings.dome, "close"): view.dome_closed is True,
            (settings.dome, "open"): view.dome_open,
            (settings.telescope, "park"): view.telescope_parked is True,
            (settings.telescope, "unpark"): view.telescope_parked is False,
            (settings.observer, "abort"): view.observer_session is None,
            (settings.observer, "execute"): view.observer_session is not None or self._handed_and_finished(view),
        }
        for key, sent in list(self._in_flight.items()):
            if done.get(key, True):
                del self._in_flight[key]
            elif now_s - sent > settings.command_timeout_s:
                del self._in_flight[key]
                if key[1] == "execute":
                    continue  # the observer refused or finished at once: the next tick decides again
                raised.append(self._raise(key[0], f"'{key[1]}' not done within {settings.command_timeout_s:g} s",
                                          now_s))

    def _handed_and_finished(self, view: ObservatoryView) -> bool:
        """The sequence last handed over has a finished session (e.g. refused at once) that is new."""
        finished = view.observer_finished
        if self._handing is None or finished is None:
            return False
        sequence_id, session_before = self._handing
        return finished.sequence_id == sequence_id and finished.session != session_before

    def _raise(self, device: str, reason: str, now_s: float, *, clears_itself: bool = False) -> Alarm:
        alarm = Alarm(device, reason, now_s, clears_itself)
        self.alarms[device] = alarm
        return alarm

    # -- feedback and operator commands -----------------------------------------------------

    def command_failed(self, command: Command, error: str, now_s: float) -> Alarm | None:
        """A command the service sent was refused or got no answer.

        A failed ``execute`` only frees the sequence (the observer's refusal has
        its reason), and a failed ``replan`` is left to the scheduler's own
        watcher (no hardware is at stake); any other failure raises an alarm
        for the device.
        """
        self._in_flight.pop(command.key, None)
        if command.command == "execute" or command.key == (self.settings.scheduler, "replan"):
            return None
        return self._raise(command.service, f"'{command.command}' failed: {error}", now_s)

    def acknowledge(self, device: str | None = None) -> list[str]:
        """An operator clears the alarm of ``device`` (all when ``None``); returns the devices cleared."""
        cleared = [device] if device is not None and device in self.alarms else (
            list(self.alarms) if device is None else [])
        for name in cleared:
            del self.alarms[name]
        return cleared

    def acquire_lease(self, principal: str, seconds: float, now_s: float) -> dict[str, Any]:
        """Take (or renew) manual control for ``seconds``; the mode becomes MANUAL.

        Raises:
            PermissionError: Someone else holds the lease.
            ValueError: For a duration out of (0, 4 h].
        """
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 14400:
            raise ValueError(f"seconds must be in (0, 14400], got {seconds!r}")
        self._expire_lease(now_s)
        if self._lease is not None and self._lease.owner != principal:
            raise PermissionError(f"the control lease is held by {self._lease.owner} until "
                                  f"{self._lease.expires_s:.0f}")
        self._lease = _Lease(principal, now_s + float(seconds))
        self.mode = Mode.MANUAL
        return self.lease_status(now_s)

    def release_lease(self, principal: str, now_s: float, *, force: bool = False) -> dict[str, Any]:
        """Give manual control back (an admin may ``force``); the mode returns to AUTO.

        Raises:
            PermissionError: The lease is someone else's and ``force`` is not given.
        """
        self._expire_lease(now_s)
        if self._lease is not None and self._lease.owner != principal and not force:
            raise PermissionError(f"the control lease is held by {self._lease.owner}")
        self._lease = None
        self.mode = Mode.AUTO
        return self.lease_status(now_s)

    def lease_status(self, now_s: float) -> dict[str, Any]:
        """``{owner, expires_in_s}`` or owner ``None``."""
        self._expire_lease(now_s)
        if self._lease is None:
            return {"owner": None, "expires_in_s": None}
        return {"owner": self._lease.owner, "expires_in_s": self._lease.expires_s - now_s}

    def _expire_lease(self, now_s: float) -> None:
        if self._lease is not None and now_s >= self._lease.expires_s:
            self._lease = None
            self.mode = Mode.AUTO

    def manual(self, principal: str, service: str, command: str, situation: Situation, *, admin: bool,
               override_reason: str | None, now_s: float) -> Command:
        """A manual device command from the lease holder, checked against safety.

        Raises:
            PermissionError: Not the lease holder, or refused while unsafe (the message says why).
        """
        self._expire_lease(now_s)
        if self._lease is None or self._lease.owner != principal:
            raise PermissionError("manual commands need the majordome's control lease (acquire_lease)")
        refusal = manual_command_refusal(command, situation, admin_override=admin and override_reason is not None,
                                         override_reason=override_reason)
        if refusal is not None:
            raise PermissionError(refusal)
        purpose = f"manual by {principal}"
        if override_reason:
            purpose += f", safety overridden: {override_reason}"
        return Command(service, command, {}, purpose)
