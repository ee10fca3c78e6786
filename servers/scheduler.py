"""The ``scheduler`` service: plans the night, stores the schedule, publishes ``/schedule/current``.

::

    pyros schedule plan --token <operator's token>      # a fresh plan from now
    pyros schedule replan --reason alert --token ...    # keeps the running sequence and the previous plan
    pyros schedule show                                 # the night as a timeline, and why the others are not in it
    pyros schedule explain 12                           # why sequence 12 is where it is, or why not

Each plan reads the problem from the database (:func:`pyros.scheduling.store.load_problem`),
is computed by :class:`pyros.scheduling.planner.Planner`, stored with the sequences' status
changes in one transaction (:func:`pyros.scheduling.store.save_plan`), then published as
``/schedule/current``. One plan is computed at a time.

A watcher on the observatory clock (on every multiple of ``watch_s``) plans by itself:

* at the start of the night, when no schedule of the night was made since it started
  (trigger ``night_start``; it keeps what it can of a plan made before the night, if any; also on
  a start in the middle of a night with no schedule);
* when the plannable sequences change (trigger ``sequences_changed``, a replan): a sequence
  appears (a request accepted, an executing sequence put back to be planned), or one leaves
  the plannable and executing sequences other than by being executed (cancelled, failed).
  The status changes the scheduler makes itself, and a planned sequence starting, do not count.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyros.clock import format_instant, get_clock, next_multiple
from pyros.config import active_config
from pyros.db.engine import Database
from pyros.db.errors import DatabaseError
from pyros.db.lifecycle import SequenceStatus
from pyros.db.migrate import upgrade
from pyros.db.models import ObservationRequest, ObservationSequence
from pyros.scheduling.overheads import OverheadModel
from pyros.scheduling.store import (
    ACTIVE_REQUEST_STATUSES,
    PLANNABLE_STATUSES,
    NoNight,
    PlanOutdated,
    current_schedule,
    latest_schedule_of_night,
    load_problem,
    night_bounds,
    problem_of_schedule,
    save_plan,
    schedule_summary,
    stored_plan,
)
from pyros.service import CallContext, Quantity, Refusal, Service, command
from pyros.service.loop_thread import LoopThread

if TYPE_CHECKING:
    from pyros.astro import Sky
    from pyros.kv.publisher import KVPublisher
    from pyros.scheduling.planner import Planner

log = logging.getLogger(__name__)

CURRENT_KEY = "/schedule/current"
"""The K/V key of the schedule being executed."""


PLAN_ATTEMPTS = 3
"""Plans tried in a row when the sequences change while one is computed."""

Trigger = Literal["night_start", "new_request", "cancelled", "alert", "conditions", "failed", "manual",
                  "sequences_changed"]
"""Why a plan is made (:data:`pyros.db.models.SCHEDULE_TRIGGERS`)."""

_EXECUTING = SequenceStatus.EXECUTING.value
_EXECUTED = SequenceStatus.EXECUTED.value


@dataclass(frozen=True)
class _Seen:
    """What the watcher last saw: each plannable or executing sequence, and whether it was executing."""

    executing: dict[int, bool]


def kv_value(summary: dict[str, Any]) -> dict[str, Any]:
    """The small value published as ``/schedule/current`` for a schedule summary.

    Returns:
        ``id``, ``night`` (``start``, ``end``), ``planned_from``, ``trigger``, ``objective``,
        ``entries`` (each ``sequence_id``, ``name``, ``start``, ``end``) and ``unplaced`` (how many).
    """
    return {"id": summary["id"], "night": dict(summary["night"]), "planned_from": summary["planned_from"],
            "trigger": summary["trigger"], "objective": summary["objective"],
            "entries": [{"sequence_id": e["sequence_id"], "name": e["name"], "start": e["start"], "end": e["end"]}
                        for e in summary["entries"]],
            "unplaced": len(summary["unplaced"])}


def _positive(name: str, value: object, maximum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 < value <= maximum:
        raise ValueError(f"{name} must be a number of seconds in (0, {maximum:g}], got {value!r}")
    return float(value)


class SchedulerService(Service):
    """Plans the night: which sequences run when, and why the others do not."""

    service_name = "scheduler"
    version = "1.0.0"

    def __init__(self, database: str | None = None, overheads: dict[str, Any] | None = None,
                 watch_s: float = 10.0, grid_step_s: float = 120.0) -> None:
        """Check the settings and open the database (nothing is read before the service starts).

        Args:
            database: SQLAlchemy URL; default ``database.url`` of the configuration.
            overheads: The transition model (``slew_model``, ``slew_rate_deg_s``,
                ``dec_rate_deg_s``, ``settle_s``, ``filter_change_s``; see
                :class:`pyros.scheduling.overheads.OverheadModel`).
            watch_s: Observatory seconds between two looks at the sequences, in (0, 3600].
            grid_step_s: Sampling step of the targets' altitudes and Moon distances, in (0, 3600].

        Raises:
            ValueError: For an unknown overhead setting or a value out of range.
        """
        if overheads is not None and not isinstance(overheads, dict):
            raise ValueError(f"overheads must be a table of settings, got {overheads!r}")
        self.overheads = OverheadModel.from_mapping(overheads or {})
        self.watch_s = _positive("watch_s", watch_s, 3600.0)
        self.grid_step_s = _positive("grid_step_s", grid_step_s, 3600.0)
        self.database = Database(database if database is not None else active_config().database.url)
        self._sky: Sky | None = None
        self._planner: Planner | None = None
        self._publisher: KVPublisher | None = None
        self._plan_lock = threading.Lock()
        self._night: tuple[float, float] | None = None
        self._night_planned: float | None = None   # start of the night whose night_start plan is done
        self._seen: _Seen | None = None
        self._loop = LoopThread("scheduler-watch", "the scheduler's watcher")

    # ----------------------------------------------------------------- lifecycle

    def on_kv_publisher(self, publisher: KVPublisher) -> None:
        """Publish ``/schedule/current`` through this publisher."""
        self._publisher = publisher

    def on_start(self) -> None:
        """Bring the schema up to date, build the sky and the planner, publish the current schedule, watch."""
        from pyros.astro import Sky
        from pyros.scheduling.planner import Planner
        from pyros.scheduling.visibility import VisibilityCalculator

        upgrade(self.database)
        self._sky = Sky.from_config(active_config())
        self._planner = Planner(VisibilityCalculator(self._sky, grid_step_s=self.grid_step_s))
        with self.database.session() as session:
            summary = current_schedule(session, get_clock().now())
        if summary is not None:
            self._publish(summary)
        self._loop.start(self._watch_loop)

    def on_stop(self) -> None:
        """Stop the watcher (waiting at most :data:`~pyros.service.loop_thread.STOP_TIMEOUT_S`), close the database."""
        self._loop.stop()
        self.database.dispose()

    # ----------------------------------------------------------------- commands

    @command(level="operator", timeout=120.0)
    def plan(self, call: CallContext) -> dict[str, Any]:
        """Plan the rest of the night afresh (the previous schedule is ignored; a running sequence is kept).

        Returns the stored schedule (as ``current`` gives it) and ``stats`` (how the planning went).
        """
        return self._plan_or_refuse("manual", keep_previous=False, actor=call.principal)

    @command(level="operator", timeout=120.0)
    def replan(self, call: CallContext, reason: Trigger = "manual") -> dict[str, Any]:
        """Plan again from now, keeping the running sequence and what it can of the previous schedule.

        Args:
            reason: What changed: night_start, new_request, cancelled, alert, conditions, failed,
                manual or sequences_changed (stored as the schedule's trigger).
        """
        return self._plan_or_refuse(reason, keep_previous=True, actor=call.principal)

    @command(level="observer")
    def current(self) -> dict[str, Any] | None:
        """The newest schedule of the night containing or following now, or null when there is none yet.

        Times are ISO 8601 UTC. ``entries`` in time order (``sequence_id``, ``name``, ``status``,
        ``priority``, ``target``, ``start``, ``end``, ``duration_s``, ``transition_s``, ``running``);
        ``unplaced`` with their ``reason`` code, ``detail`` and ``blockers``.
        """
        with self.database.session() as session:
            return current_schedule(session, get_clock().now())

    @command(level="observer", timeout=60.0)
    def explain(self, sequence_id: Annotated[int, Quantity(minimum=1)]) -> dict[str, Any]:
        """Why a sequence is where it is in the current schedule, or why it is not in it.

        Args:
            sequence_id: The sequence.
        """
        planner = self._ready_planner()
        now = get_clock().now()
        with self.database.session() as session:
            sequence = session.get(ObservationSequence, sequence_id)
            if sequence is None:
                raise Refusal("NotFound", f"no sequence {sequence_id}")
            night = self._night_of(now)
            schedule = latest_schedule_of_night(session, *night)
            if schedule is None:
                raise Refusal("NoSchedule", f"there is no schedule of the night {format_instant(night[0])} .. "
                                            f"{format_instant(night[1])} yet (pyros schedule plan)")
            problem = problem_of_schedule(session, schedule, self.overheads)
            plan = stored_plan(schedule)
            info = planner.explain(problem, plan, sequence_id)
            request_status = sequence.request.status
            result = _explanation(info)
            result.update(name=sequence.name, schedule_id=schedule.id, sequence_status=sequence.status,
                          request_status=request_status)
        if result["status"] == "unknown":
            result["notes"] = [*result["notes"], _why_not_considered(sequence.status, request_status)]
        return result

    # ----------------------------------------------------------------- planning

    def _ready_planner(self) -> Planner:
        if self._planner is None:
            raise Refusal("NotStarted", "the scheduler has not started yet")
        return self._planner

    def _ready_sky(self) -> Sky:
        if self._sky is None:
            raise Refusal("NotStarted", "the scheduler has not started yet")
        return self._sky

    def _night_of(self, now: float) -> tuple[float, float]:
        """The night containing or following ``now`` (cached until it ends)."""
        night = self._night
        if night is None or now >= night[1]:
            night = self._night = night_bounds(self._ready_sky(), now)
        return night

    def _plan_or_refuse(self, trigger: str, *, keep_previous: bool, actor: str) -> dict[str, Any]:
        try:
            with self._plan_lock:
                return self._plan_locked(trigger, keep_previous=keep_previous, actor=actor)
        except NoNight as exc:
            raise Refusal("NoNight", str(exc)) from None
        except PlanOutdated as exc:
            raise Refusal("PlanOutdated", f"the sequences kept changing while planning ({exc}); try again") from None
        except DatabaseError as exc:
            raise Refusal(type(exc).__name__, str(exc)) from None

    def _plan_locked(self, trigger: str, *, keep_previous: bool, actor: str) -> dict[str, Any]:
        """Plan, store and publish (the caller holds the plan lock); the stored schedule's summary and stats."""
        planner = self._ready_planner()
        clock = get_clock()
        attempt = 0
        while True:
            attempt += 1
            now = clock.now()
            night = self._night_of(now)
            with self.database.session() as session:
                seen = self._look(session)  # first: a sequence arriving meanwhile is seen as new next time
                problem = load_problem(session, now, self._ready_sky(), self.overheads,
                                       keep_previous=keep_previous, night=night)
            plan = planner.plan(problem)
            try:
                with self.database.transaction() as session:
                    schedule = save_plan(session, problem, plan, trigger, actor=actor, now_s=clock.now())
                    summary = schedule_summary(schedule)
            except PlanOutdated:
                if attempt >= PLAN_ATTEMPTS:
                    raise
                log.info("sequences changed while planning (attempt %d); planning again", attempt)
                continue
            self._seen = seen
            if trigger == "night_start":
                self._night_planned = night[0]
            self._publish(summary)
            log.info("schedule %s (%s): %d planned, %d left out, objective %.0f, %.2f s",
                     summary["id"], trigger, len(summary["entries"]), len(summary["unplaced"]), plan.objective,
                     plan.stats.get("total_s", math.nan))
            return {**summary, "stats": dict(plan.stats)}

    def _publish(self, summary: dict[str, Any]) -> None:
        if self._publisher is None:
            return
        try:
            self._publisher.set(CURRENT_KEY, kv_value(summary))
        except Exception:  # noqa: BLE001 - the K/V server may be down; the schedule is stored all the same
            log.warning("could not publish %s", CURRENT_KEY, exc_info=True)

    # ----------------------------------------------------------------- the watcher

    def _look(self, session: Session) -> _Seen:
        """The plannable and executing sequences of active requests now."""
        rows = session.execute(
            select(ObservationSequence.id, ObservationSequence.status).join(ObservationSequence.request)
            .where(ObservationSequence.status.in_(sorted(PLANNABLE_STATUSES | {_EXECUTING})),
                   ObservationRequest.status.in_(sorted(ACTIVE_REQUEST_STATUSES))))
        return _Seen({sequence_id: status == _EXECUTING for sequence_id, status in rows})

    def _changed(self, session: Session, before: _Seen, now: _Seen) -> bool:
        """Whether the sequences changed in a way that calls for a replan (see the module docstring)."""
        if set(now.executing) - set(before.executing):
            return True
        if any(before.executing[i] and not now.executing[i] for i in now.executing if i in before.executing):
            return True
        gone = sorted(set(before.executing) - set(now.executing))
        if not gone:
            return False
        statuses = list(session.scalars(select(ObservationSequence.status).where(ObservationSequence.id.in_(gone))))
        return len(statuses) < len(gone) or any(status != _EXECUTED for status in statuses)

    def watch_once(self) -> str | None:
        """Look once at the night and the sequences; plan when needed.

        Returns:
            The trigger of the plan made (``night_start`` or ``sequences_changed``), or ``None``.
        """
        with self._plan_lock:
            now = get_clock().now()
            night = self._night_of(now)
            if now >= night[0] and self._night_planned != night[0]:
                with self.database.session() as session:
                    latest = latest_schedule_of_night(session, *night)
                if latest is not None and latest.created_at.timestamp() >= night[0]:
                    self._night_planned = night[0]
                else:
                    self._plan_locked("night_start", keep_previous=True, actor=self.service_name)
                    return "night_start"
            with self.database.session() as session:
                seen = self._look(session)
                before = self._seen
                if before is None:
                    self._seen = seen
                    return None
                changed = self._changed(session, before, seen)
            if not changed:
                # Remember what was seen (a sequence that started executing, say), so that its return to
                # be planned (an interrupted run) is a change at a later look.
                self._seen = seen
                return None
            self._plan_locked("sequences_changed", keep_previous=True, actor=self.service_name)
            return "sequences_changed"

    def _watch_loop(self) -> None:
        clock = get_clock()
        while not self._loop.stopping.is_set():
            try:
                self.watch_once()
            except NoNight as exc:  # a polar day: nothing to plan, nothing wrong
                log.debug("%s", exc)
            except Exception:  # noqa: BLE001 - a failed look must not end the watching
                log.exception("the scheduler's watcher failed")
            if clock.wait_until(self._loop.stopping, next_multiple(clock.now(), self.watch_s)):
                return


def _explanation(info: dict[str, Any]) -> dict[str, Any]:
    """The planner's explanation with its instants as ISO 8601 UTC text."""

    def iso(value: Any) -> str | None:
        return None if value is None else format_instant(float(value))

    result = {key: value for key, value in info.items() if key not in ("start_s", "end_s", "preferred_s", "allowed")}
    result.update(start=iso(info.get("start_s")), end=iso(info.get("end_s")), preferred=iso(info.get("preferred_s")),
                  allowed=[[iso(a), iso(b)] for a, b in info.get("allowed", [])],
                  blockers=list(info.get("blockers", [])), notes=list(info.get("notes", [])))
    return result


def _why_not_considered(status: str, request_status: str) -> str:
    return (f"it is '{status}' and its request '{request_status}': a plan considers only sequences to be "
            f"planned, planned or unplannable of accepted or executing requests")
