"""The scheduler and the database: the problem read from the rows, the plan written back.

* :func:`load_problem` builds the :class:`~pyros.scheduling.problem.PlanningProblem`
  of the night containing or following "now": every sequence ``to_be_planned``,
  ``planned`` or ``unplannable`` of an ``accepted`` or ``executing`` request, the
  sequence being executed (kept as it runs), and the starts of the night's
  latest schedule (for a replan that keeps what it can).
* :func:`save_plan` stores a plan as a :class:`~pyros.db.models.Schedule` with
  its entries and the reasons of the sequences it leaves out, and moves the
  sequences through their lifecycle (:mod:`pyros.db.lifecycle`) with
  :func:`~pyros.db.request_workflow.change_sequence_status`, all in the
  caller's transaction: on any error nothing is kept.
* :func:`current_schedule` reads the newest schedule of the night back, as
  plain data for replies and the command line (instants in ISO 8601 UTC).
* :func:`stored_plan` and :func:`problem_of_schedule` turn a stored schedule
  back into the plan and the problem it answered (to explain it, whenever it
  was made).

Instants are UNIX seconds in the problem and the plan, aware UTC datetimes in
the database.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pyros.clock import format_instant
from pyros.db.errors import DatabaseError
from pyros.db.lifecycle import RequestStatus, SequenceStatus
from pyros.db.models import (
    SCHEDULE_TRIGGERS,
    Alert,
    Album,
    ObservationRequest,
    ObservationSequence,
    ObservingConstraints,
    Schedule,
    ScheduleEntry,
    ScheduleUnplaced,
)
from pyros.db.request_workflow import change_sequence_status
from pyros.db.timestamps import observatory_now
from pyros.scheduling.overheads import OverheadModel
from pyros.scheduling.plan import Plan, PlannedEntry, Unplaced, UnplacedReason
from pyros.scheduling.problem import PlanningProblem, RunningEntry, SequenceToPlan

if TYPE_CHECKING:
    from pyros.astro import Sky

__all__ = [
    "ACTIVE_REQUEST_STATUSES",
    "PLANNABLE_STATUSES",
    "NoNight",
    "PlanOutdated",
    "current_schedule",
    "latest_schedule_of_night",
    "load_problem",
    "night_bounds",
    "problem_of_schedule",
    "save_plan",
    "schedule_summary",
    "stored_plan",
]

PLANNABLE_STATUSES: frozenset[str] = frozenset(s.value for s in (
    SequenceStatus.TO_BE_PLANNED, SequenceStatus.PLANNED, SequenceStatus.UNPLANNABLE))
"""Statuses of the sequences a plan considers."""

ACTIVE_REQUEST_STATUSES: frozenset[str] = frozenset(s.value for s in (
    RequestStatus.ACCEPTED, RequestStatus.EXECUTING))
"""Statuses of the requests whose sequences are planned."""


class NoNight(ValueError):
    """The Sun does not go below the night's altitude on the observing day asked about (polar day)."""


class PlanOutdated(DatabaseError):
    """A sequence of the plan changed status since its problem was read; plan again from fresh rows."""


def _instant(moment: datetime) -> float:
    return moment.timestamp()


def _datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be finite UNIX seconds, got {value!r}")
    return float(value)


def night_bounds(sky: Sky, now_s: float) -> tuple[float, float]:
    """Start and end (UNIX seconds) of the night containing or following ``now_s``.

    Raises:
        ValueError: If ``now_s`` is not finite UNIX seconds.
        NoNight: If the Sun stays above the night's altitude that observing day.
    """
    night = sky.night(_check_seconds("now_s", now_s))
    if night.start is None or night.end is None:
        raise NoNight(f"there is no night at the site on the observing day of {format_instant(now_s)} "
                      f"(the Sun stays above {night.sun_altitude_deg:g} degrees)")
    return float(night.start.unix), float(night.end.unix)


def _filters(sequence: ObservationSequence) -> tuple[str | None, str | None]:
    """The filter of its first and of its last image, over its albums' plans in order (no filter: skipped)."""
    names = [plan.filter_name for album in sequence.albums for plan in album.plans if plan.filter_name]
    return (names[0], names[-1]) if names else (None, None)


def _to_plan(sequence: ObservationSequence, urgent: bool) -> SequenceToPlan:
    constraints = sequence.constraints
    target = sequence.target
    first, last = _filters(sequence)
    windows: tuple[tuple[float, float], ...] = ()
    priority = 1.0
    preferred = max_airmass = min_moon = None
    if constraints is not None:
        priority = constraints.priority
        windows = tuple((_instant(w.start_at), _instant(w.end_at)) for w in constraints.time_windows)
        preferred = None if constraints.preferred_time is None else _instant(constraints.preferred_time)
        max_airmass = constraints.max_airmass
        min_moon = constraints.min_moon_distance_deg
    return SequenceToPlan(
        id=sequence.id, duration_s=sequence.planned_duration_s, priority=priority, windows=windows,
        preferred_s=preferred, ra_deg=None if target is None else target.ra_deg,
        dec_deg=None if target is None else target.dec_deg, max_airmass=max_airmass,
        min_moon_distance_deg=min_moon, first_filter=first, last_filter=last, urgent=urgent, name=sequence.name)


def _sequences_query(statuses: Iterable[str]) -> Any:
    return (select(ObservationSequence).join(ObservationSequence.request)
            .where(ObservationSequence.status.in_(sorted(statuses)),
                   ObservationRequest.status.in_(sorted(ACTIVE_REQUEST_STATUSES)))
            .options(selectinload(ObservationSequence.constraints).selectinload(ObservingConstraints.time_windows),
                     selectinload(ObservationSequence.target),
                     selectinload(ObservationSequence.albums).selectinload(Album.plans))
            .order_by(ObservationSequence.id))


def latest_schedule_of_night(session: Session, night_start_s: float, night_end_s: float) -> Schedule | None:
    """The newest schedule of the night ``[night_start_s, night_end_s]`` (the one overlapping it), or ``None``."""
    query = (select(Schedule)
             .where(Schedule.night_start < _datetime(night_end_s), Schedule.night_end > _datetime(night_start_s))
             .options(selectinload(Schedule.entries), selectinload(Schedule.unplaced))
             .order_by(Schedule.created_at.desc(), Schedule.id.desc()).limit(1))
    return session.scalars(query).first()


def load_problem(session: Session, now_s: float, sky: Sky, overheads: OverheadModel, *,
                 keep_previous: bool = True, night: tuple[float, float] | None = None) -> PlanningProblem:
    """The planning problem of the night containing or following ``now_s``, read from the database.

    Args:
        session: A session (reading is enough).
        now_s: Observatory time now, UNIX seconds: the plan starts then (or at the night's start).
        sky: The site's sky (for the night's bounds).
        overheads: The transition model.
        keep_previous: Put the starts of the night's latest schedule in ``previous``
            (a replan); ``False`` for a fresh plan.
        night: The night's ``(start_s, end_s)`` when the caller already knows it.

    Returns:
        The problem: plannable sequences (sequences of an alert's request are urgent),
        the sequence being executed as ``running``, no known origin (the transition
        before the first entry is 0 at or before the night's start, the model's worst
        case after it).

    Raises:
        ValueError: If ``now_s`` is not finite UNIX seconds, or a row cannot be planned.
        NoNight: If there is no night that observing day.
    """
    now = _check_seconds("now_s", now_s)
    night_start, night_end = night if night is not None else night_bounds(sky, now)
    plannable = list(session.scalars(_sequences_query(PLANNABLE_STATUSES)))
    executing = list(session.scalars(_sequences_query({SequenceStatus.EXECUTING.value})))
    request_ids = {s.request_id for s in plannable + executing}
    alerted = set(session.scalars(select(Alert.request_id).where(Alert.request_id.in_(sorted(request_ids))))) \
        if request_ids else set()
    running: RunningEntry | None = None
    if executing:
        # One telescope: the sequence that started last is the one running (an older one left
        # 'executing' by a crash is not planned again until it is put back to be planned).
        current = max(executing, key=lambda s: (s.status_changed_at, s.id))
        started = _instant(current.status_changed_at)
        running = RunningEntry(_to_plan(current, current.request_id in alerted), started,
                               max(started + current.planned_duration_s, now))
    sequences = tuple(_to_plan(s, s.request_id in alerted) for s in plannable)
    previous: dict[int, float] = {}
    if keep_previous:
        latest = latest_schedule_of_night(session, night_start, night_end)
        if latest is not None:
            wanted = {s.id for s in sequences}
            previous = {e.sequence_id: _instant(e.start_at) for e in latest.entries if e.sequence_id in wanted}
    return PlanningProblem(
        sequences=sequences, start_s=now, end_s=night_end, night_start_s=night_start, night_end_s=night_end,
        overheads=overheads, running=running, origin=None,
        unknown_origin_transition_s=0.0 if now <= night_start else overheads.worst_case_s(), previous=previous)


def _check_plan(problem: PlanningProblem, plan: Plan) -> None:
    known = {s.id for s in problem.sequences}
    running_id = None if problem.running is None else problem.running.sequence.id
    for entry in plan.entries:
        if entry.running and entry.sequence_id != running_id:
            raise ValueError(f"plan entry of sequence {entry.sequence_id} is marked running, but the problem's "
                             f"running sequence is {running_id}")
        if not entry.running and entry.sequence_id not in known:
            raise ValueError(f"plan entry of sequence {entry.sequence_id}: not a sequence of the problem")
    for sequence_id in plan.unplaced:
        if sequence_id not in known:
            raise ValueError(f"unplaced sequence {sequence_id}: not a sequence of the problem")


def _current_statuses(session: Session, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Sequence id -> (its status, its request's status), read afresh."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(select(ObservationSequence.id, ObservationSequence.status, ObservationRequest.status)
                           .join(ObservationSequence.request).where(ObservationSequence.id.in_(wanted))
                           .execution_options(populate_existing=True))
    return {sequence_id: (status, request_status) for sequence_id, status, request_status in rows}


def save_plan(session: Session, problem: PlanningProblem, plan: Plan, trigger: str, *, actor: str = "scheduler",
              now_s: float | None = None) -> Schedule:
    """Store a plan as the night's newest schedule and move its sequences' statuses, in the caller's transaction.

    Planned sequences become ``planned`` (an ``unplannable`` one through ``to_be_planned``);
    ``planned`` ones left out go back to ``to_be_planned``; then every left-out one that is
    ``to_be_planned`` becomes ``unplannable``. Each change goes through
    :func:`~pyros.db.request_workflow.change_sequence_status` (lifecycle checked, audit entry).

    Args:
        session: The session of a write transaction (the caller commits or rolls back).
        problem: The problem the plan answers (from :func:`load_problem`).
        plan: The plan.
        trigger: Why it was made, one of :data:`~pyros.db.models.SCHEDULE_TRIGGERS`.
        actor: Who makes it, for the schedule and the audit log.
        now_s: When (default: the observatory clock), for ``created_at`` and the status changes.

    Returns:
        The schedule, flushed (it has its id).

    Raises:
        ValueError: For an unknown trigger, or a plan whose sequences are not the problem's.
        PlanOutdated: If a sequence of the problem is no longer plannable (cancelled,
            started...) or one planned is already executing.
        DatabaseError: When the rows are refused (e.g. an entry outside the night).
    """
    if trigger not in SCHEDULE_TRIGGERS:
        raise ValueError(f"unknown schedule trigger {trigger!r}; one of {', '.join(SCHEDULE_TRIGGERS)}")
    if not isinstance(actor, str) or not actor.strip():
        raise ValueError(f"actor must name who makes the schedule, got {actor!r}")
    _check_plan(problem, plan)
    now = observatory_now() if now_s is None else _datetime(_check_seconds("now_s", now_s))
    statuses = _current_statuses(session, (s.id for s in problem.sequences))
    for sequence in problem.sequences:
        status, request_status = statuses.get(sequence.id, ("deleted", "deleted"))
        if status not in PLANNABLE_STATUSES or request_status not in ACTIVE_REQUEST_STATUSES:
            raise PlanOutdated(f"sequence {sequence.id} is now '{status}' (request '{request_status}'); "
                               "its plan was made from older rows")
    night_start, night_end = problem.night_start_s, problem.night_end_s
    schedule = Schedule(night_start=_datetime(night_start), night_end=_datetime(night_end),
                        planned_from=_datetime(min(max(problem.start_s, night_start), night_end)), trigger=trigger,
                        objective=float(plan.objective), created_at=now, created_by=actor)
    for entry in plan.entries:
        start, end = entry.start_s, entry.end_s
        if entry.running:
            start, end = max(start, night_start), min(end, night_end)
            if not end > start:
                continue
        schedule.entries.append(ScheduleEntry(sequence_id=entry.sequence_id, start_at=_datetime(start),
                                              end_at=_datetime(end), transition_s=float(entry.transition_s),
                                              running=entry.running))
    for sequence_id in sorted(plan.unplaced):
        unplaced = plan.unplaced[sequence_id]
        schedule.unplaced.append(ScheduleUnplaced(sequence_id=sequence_id, reason=unplaced.reason.value,
                                                  detail=unplaced.detail, blockers=[int(b) for b in unplaced.blockers]))
    session.add(schedule)
    session.flush()
    label = f"schedule {schedule.id} ({trigger})"

    def move(sequence_id: int, status: SequenceStatus, why: str) -> None:
        change_sequence_status(session, sequence_id, status, actor=actor, reason=f"{label}: {why}", now=now)
        statuses[sequence_id] = (status.value, statuses[sequence_id][1])

    planned = [e.sequence_id for e in plan.entries if not e.running]
    for sequence_id in planned:
        if statuses[sequence_id][0] == SequenceStatus.UNPLANNABLE.value:
            move(sequence_id, SequenceStatus.TO_BE_PLANNED, "it fits again")
        if statuses[sequence_id][0] == SequenceStatus.TO_BE_PLANNED.value:
            move(sequence_id, SequenceStatus.PLANNED, "planned")
    chosen = set(planned)
    for sequence in problem.sequences:
        if sequence.id not in chosen and statuses[sequence.id][0] == SequenceStatus.PLANNED.value:
            move(sequence.id, SequenceStatus.TO_BE_PLANNED, "left out")
    for sequence_id in sorted(plan.unplaced):
        if statuses[sequence_id][0] == SequenceStatus.TO_BE_PLANNED.value:
            move(sequence_id, SequenceStatus.UNPLANNABLE, plan.unplaced[sequence_id].reason.value)
    session.flush()
    return schedule


def _target_name(sequence: ObservationSequence) -> str | None:
    return None if sequence.target is None else sequence.target.name


def _priority(sequence: ObservationSequence) -> float:
    return 1.0 if sequence.constraints is None else sequence.constraints.priority


def schedule_summary(schedule: Schedule) -> dict[str, Any]:
    """A stored schedule as plain data (instants as ISO 8601 UTC text).

    Returns:
        ``id``, ``night`` (``start``, ``end``), ``planned_from``, ``trigger``, ``objective``,
        ``created_at``, ``created_by``; ``entries`` in time order, each with ``sequence_id``,
        ``name``, ``request_id``, ``status`` (the sequence's status now), ``priority``,
        ``target`` (name or ``None``), ``start``, ``end``, ``duration_s``, ``transition_s``,
        ``running``; ``unplaced`` by sequence id, each with ``sequence_id``, ``name``,
        ``request_id``, ``status``, ``priority``, ``target``, ``reason``, ``detail``, ``blockers``.
    """
    def described(sequence: ObservationSequence) -> dict[str, Any]:
        return {"sequence_id": sequence.id, "name": sequence.name, "request_id": sequence.request_id,
                "status": sequence.status, "priority": _priority(sequence), "target": _target_name(sequence)}

    entries = [{
        **described(entry.sequence),
        "start": format_instant(_instant(entry.start_at)), "end": format_instant(_instant(entry.end_at)),
        "duration_s": (entry.end_at - entry.start_at).total_seconds(), "transition_s": entry.transition_s,
        "running": entry.running} for entry in schedule.entries]
    unplaced = [{**described(row.sequence), "reason": row.reason, "detail": row.detail,
                 "blockers": list(row.blockers)} for row in schedule.unplaced]
    return {"id": schedule.id,
            "night": {"start": format_instant(_instant(schedule.night_start)),
                      "end": format_instant(_instant(schedule.night_end))},
            "planned_from": format_instant(_instant(schedule.planned_from)), "trigger": schedule.trigger,
            "objective": schedule.objective, "created_at": format_instant(_instant(schedule.created_at)),
            "created_by": schedule.created_by, "entries": entries, "unplaced": unplaced}


def _schedule_query() -> Any:
    return select(Schedule).options(
        selectinload(Schedule.entries).selectinload(ScheduleEntry.sequence).selectinload(ObservationSequence.target),
        selectinload(Schedule.entries).selectinload(ScheduleEntry.sequence)
        .selectinload(ObservationSequence.constraints),
        selectinload(Schedule.unplaced).selectinload(ScheduleUnplaced.sequence)
        .selectinload(ObservationSequence.target),
        selectinload(Schedule.unplaced).selectinload(ScheduleUnplaced.sequence)
        .selectinload(ObservationSequence.constraints))


def current_schedule(session: Session, now_s: float) -> dict[str, Any] | None:
    """The newest schedule of the night containing or following ``now_s``, as :func:`schedule_summary` gives it.

    The night is the earliest one stored that has not ended at ``now_s``; ``None`` when there is none.

    Raises:
        ValueError: If ``now_s`` is not finite UNIX seconds.
    """
    now = _datetime(_check_seconds("now_s", now_s))
    first = session.scalars(select(Schedule).where(Schedule.night_end > now)
                            .order_by(Schedule.night_start, Schedule.id).limit(1)).first()
    if first is None:
        return None
    newest = session.scalars(_schedule_query()
                             .where(Schedule.night_start < first.night_end, Schedule.night_end > first.night_start)
                             .order_by(Schedule.created_at.desc(), Schedule.id.desc()).limit(1)).one()
    return schedule_summary(newest)


def stored_plan(schedule: Schedule) -> Plan:
    """A stored schedule as a :class:`~pyros.scheduling.plan.Plan` (without statistics and preference penalty,
    which are not stored).

    Raises:
        ValueError: If a stored reason is not an :class:`~pyros.scheduling.plan.UnplacedReason`.
    """
    entries = tuple(PlannedEntry(e.sequence_id, _instant(e.start_at), _instant(e.end_at), e.transition_s, e.running)
                    for e in schedule.entries)
    unplaced: dict[int, Unplaced] = {}
    for row in schedule.unplaced:
        try:
            reason = UnplacedReason(row.reason)
        except ValueError:
            raise ValueError(f"schedule {schedule.id}: sequence {row.sequence_id} has an unknown reason "
                             f"{row.reason!r}") from None
        unplaced[row.sequence_id] = Unplaced(row.sequence_id, reason, row.detail, tuple(row.blockers))
    return Plan(start_s=_instant(schedule.planned_from), end_s=_instant(schedule.night_end), entries=entries,
                unplaced=unplaced, objective=schedule.objective, preference_penalty_s=0.0)


def problem_of_schedule(session: Session, schedule: Schedule, overheads: OverheadModel) -> PlanningProblem:
    """The problem a stored schedule answered, rebuilt from the rows of its sequences as they are now.

    Its sequences are those the schedule places or leaves out (whatever their status now),
    its running sequence the entry stored as running, its start ``planned_from``; the
    previous plan it kept is not stored (``previous`` is empty).
    """
    running_entry = next((e for e in schedule.entries if e.running), None)
    ids = {e.sequence_id for e in schedule.entries} | {u.sequence_id for u in schedule.unplaced}
    rows = {s.id: s for s in session.scalars(
        select(ObservationSequence).where(ObservationSequence.id.in_(sorted(ids)))
        .options(selectinload(ObservationSequence.constraints).selectinload(ObservingConstraints.time_windows),
                 selectinload(ObservationSequence.target),
                 selectinload(ObservationSequence.albums).selectinload(Album.plans)))} if ids else {}
    request_ids = {s.request_id for s in rows.values()}
    alerted = set(session.scalars(select(Alert.request_id).where(Alert.request_id.in_(sorted(request_ids))))) \
        if request_ids else set()
    running = None
    if running_entry is not None:
        row = rows[running_entry.sequence_id]
        running = RunningEntry(_to_plan(row, row.request_id in alerted), _instant(running_entry.start_at),
                               _instant(running_entry.end_at))
    sequences = tuple(_to_plan(rows[i], rows[i].request_id in alerted) for i in sorted(ids)
                      if running_entry is None or i != running_entry.sequence_id)
    start, night_start = _instant(schedule.planned_from), _instant(schedule.night_start)
    return PlanningProblem(
        sequences=sequences, start_s=start, end_s=_instant(schedule.night_end), night_start_s=night_start,
        night_end_s=_instant(schedule.night_end), overheads=overheads, running=running, origin=None,
        unknown_origin_transition_s=0.0 if start <= night_start else overheads.worst_case_s())
