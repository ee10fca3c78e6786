"""Running jobs with APScheduler 3.x on observatory time.

APScheduler 3.x reads the wall clock, so a job defined in observatory time cannot be handed to one
of its cron or interval triggers: under a simulated clock (or a speed other than 1) it would fire
at the wrong moments. The :class:`JobRunner` therefore

1. computes each job's next fire instant in **observatory** time (:meth:`JobSpec.next_fire`:
   APScheduler's own cron arithmetic on observatory datetimes, an interval grid, or the site's
   nights);
2. converts it to a **wall** instant through the clock (:meth:`pyros.clock.Clock.wall_time_of`);
3. schedules a one-shot APScheduler ``DateTrigger`` at that wall instant;
4. when it fires, arms the following fire instant first (strictly after the later of the instant
   that fired and the observatory time now: runs missed while the process was late are coalesced
   into one), then runs the action.

Each arming reads the clock again (``clock()``), so a clock installed later (another speed, a new
simulated start) is honoured from the next firing on; :meth:`JobRunner.rearm_all` applies it at
once. Fire instants are the same observatory instants at any speed: a night at 100x fires the same
jobs at the same observatory times as at 10x.

A run that is still going when the job fires again is not doubled: the new firing is counted as
``skipped``. Failures of actions are recorded (:class:`~pyros.automation.actions.Outcome`), never
propagated.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.date import DateTrigger

from pyros.automation.actions import Action, Outcome, perform
from pyros.automation.jobs import JobSpec
from pyros.automation.nights import NightFinder
from pyros.clock import Clock, format_instant, get_clock

__all__ = ["JobBusy", "JobRunner"]

log = logging.getLogger(__name__)


class JobBusy(RuntimeError):
    """A job asked to run while a run of it is still going."""


@dataclass
class _JobState:
    """What the runner knows of one job."""

    spec: JobSpec
    generation: int = 0
    aps_id: str | None = None
    next_fire: float | None = None
    next_fire_wall: float | None = None
    running: bool = False
    runs: int = 0
    skipped: int = 0
    last_scheduled: float | None = None
    last: Outcome | None = None
    timing_error: str | None = None
    history: list[float] = field(default_factory=list)


class JobRunner:
    """Arms declared jobs on an APScheduler 3.x scheduler, in observatory time.

    Args:
        jobs: The jobs (from :func:`~pyros.automation.jobs.parse_jobs`).
        execute: Runs an action and returns its result, raising on failure.
        clock: Returns the observatory clock to use (read again at every arming).
        nights: The site's nights (needed when a job hangs on them).
        scheduler: An APScheduler 3.x scheduler (default: a :class:`BackgroundScheduler` in UTC,
            started and shut down by the runner).
        history_limit: How many past fire instants are kept per job (for inspection and tests).

    Raises:
        ValueError: If a job needs the nights and none are given, or two jobs share a name.
    """

    def __init__(self, jobs: Sequence[JobSpec], execute: Callable[[Action], Any], *,
                 clock: Callable[[], Clock] = get_clock, nights: NightFinder | None = None,
                 scheduler: BaseScheduler | None = None, history_limit: int = 100) -> None:
        self._states: dict[str, _JobState] = {}
        for job in jobs:
            if job.name in self._states:
                raise ValueError(f"job {job.name!r}: the name is used by another job")
            if job.needs_nights and nights is None:
                raise ValueError(f"job {job.name!r}: a {job.timing.describe()} job needs the site's nights")
            self._states[job.name] = _JobState(job)
        self._execute = execute
        self._clock = clock
        self._nights = nights
        self._owns_scheduler = scheduler is None
        self._scheduler = scheduler if scheduler is not None else BackgroundScheduler(timezone=timezone.utc)
        self._history_limit = history_limit
        self._lock = threading.Lock()
        self._origin: float | None = None
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def origin(self) -> float | None:
        """Observatory instant the runner started at (interval jobs count from it)."""
        return self._origin

    def start(self) -> None:
        """Start the scheduler (if the runner owns it) and arm every enabled job."""
        if self._owns_scheduler and not self._scheduler.running:
            self._scheduler.start()
        with self._lock:
            self._origin = self._clock().now()
            for state in self._states.values():
                if state.spec.enabled:
                    self._arm(state, self._origin)

    def stop(self) -> None:
        """Disarm every job and shut the scheduler down (if the runner owns it), without waiting for runs."""
        with self._lock:
            self._stopped = True
            for state in self._states.values():
                self._disarm(state)
        if self._owns_scheduler and self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def rearm_all(self) -> None:
        """Arm every enabled job again from the observatory time now (after the clock was replaced)."""
        with self._lock:
            now = self._clock().now()
            for state in self._states.values():
                self._disarm(state)
                if state.spec.enabled and not self._stopped:
                    self._arm(state, now)

    # ------------------------------------------------------------------ arming

    def _disarm(self, state: _JobState) -> None:
        state.generation += 1
        if state.aps_id is not None:
            try:
                self._scheduler.remove_job(state.aps_id)
            except Exception:  # noqa: BLE001 - already run and removed by the scheduler
                pass
        state.aps_id = None
        state.next_fire = state.next_fire_wall = None

    def _arm(self, state: _JobState, after: float) -> None:
        """Schedule the job's first fire instant strictly after ``after`` (the caller holds the lock)."""
        state.generation += 1
        state.aps_id = None
        state.next_fire = state.next_fire_wall = None
        origin = self._origin if self._origin is not None else after
        try:
            fire = state.spec.next_fire(after, origin=origin, nights=self._nights)
        except Exception as exc:  # noqa: BLE001 - e.g. the astronomy failed: recorded, the job stays unarmed
            state.timing_error = f"{type(exc).__name__}: {exc}"
            log.error("job %s: cannot compute its next fire time: %s", state.spec.name, state.timing_error)
            return
        state.timing_error = None
        if fire is None:
            log.info("job %s will not fire again", state.spec.name)
            return
        wall = self._clock().wall_time_of(fire)
        state.next_fire, state.next_fire_wall = fire, wall
        state.aps_id = f"{state.spec.name}#{state.generation}"
        self._scheduler.add_job(self._fire, DateTrigger(datetime.fromtimestamp(wall, tz=timezone.utc)),
                                args=(state.spec.name, state.generation, fire), id=state.aps_id,
                                name=state.spec.name, misfire_grace_time=None, coalesce=True, max_instances=1)
        log.debug("job %s armed for %s (wall %s)", state.spec.name, format_instant(fire), format_instant(wall))

    def _fire(self, name: str, generation: int, scheduled: float) -> None:
        """APScheduler's callback: re-arm, then run the action unless a run is still going."""
        with self._lock:
            state = self._states[name]
            if state.generation != generation or self._stopped:
                return  # disarmed or re-armed meanwhile
            state.aps_id = None
            state.history = [*state.history, scheduled][-self._history_limit:]
            self._arm(state, max(scheduled, self._clock().now()))
            if state.running:
                state.skipped += 1
                log.warning("job %s fired at %s while its previous run is still going: skipped",
                            name, format_instant(scheduled))
                return
            state.running = True
            state.last_scheduled = scheduled
        self._run(state)

    def _run(self, state: _JobState) -> Outcome:
        try:
            outcome = perform(state.spec.action, self._execute, lambda: self._clock().now())
        finally:
            with self._lock:
                state.running = False
        with self._lock:
            state.runs += 1
            state.last = outcome
        if outcome.ok:
            log.info("job %s: %s -> %r", state.spec.name, outcome.action, outcome.result)
        else:
            log.warning("job %s: %s failed: %s", state.spec.name, outcome.action, outcome.error)
        return outcome

    # ------------------------------------------------------------------ operator's side

    def run_now(self, name: str) -> Outcome:
        """Run a job's action at once, in the calling thread; its schedule does not change.

        Args:
            name: The job's name.

        Returns:
            The outcome.

        Raises:
            KeyError: If there is no such job.
            JobBusy: If a run of it is going.
        """
        with self._lock:
            state = self._state(name)
            if state.running:
                raise JobBusy(f"job {name!r} is running; try again when it has finished")
            state.running = True
            state.last_scheduled = None
        return self._run(state)

    def fired(self, name: str) -> list[float]:
        """The observatory instants the job fired for (latest last, at most ``history_limit``).

        Raises:
            KeyError: If there is no such job.
        """
        with self._lock:
            return list(self._state(name).history)

    def states(self) -> list[dict[str, Any]]:
        """Each job: ``name``, ``trigger``, ``action``, ``enabled``, ``next_fire`` (observatory, ISO 8601, or
        None), ``next_fire_wall``, ``running``, ``runs``, ``skipped``, ``last_scheduled``, ``last`` (the
        outcome of the last run) and ``error`` (why the next fire time could not be computed)."""
        def iso(value: float | None) -> str | None:
            return None if value is None else format_instant(value)

        with self._lock:
            return [{"name": s.spec.name, "trigger": s.spec.timing.describe(), "action": s.spec.action.describe(),
                     "enabled": s.spec.enabled, "next_fire": iso(s.next_fire), "next_fire_wall": iso(s.next_fire_wall),
                     "running": s.running, "runs": s.runs, "skipped": s.skipped,
                     "last_scheduled": iso(s.last_scheduled), "last": None if s.last is None else s.last.to_dict(),
                     "error": s.timing_error}
                    for s in self._states.values()]

    def _state(self, name: str) -> _JobState:
        state = self._states.get(name)
        if state is None:
            raise KeyError(f"no job named {name!r} (known: {', '.join(self._states) or 'none'})")
        return state
