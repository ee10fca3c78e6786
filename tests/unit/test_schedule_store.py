"""The scheduler's storage: the problem read from the rows, plans written back through the lifecycle, atomically."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, select

import pyros.astro  # noqa: F401  (the offline policy, before any astropy work)
from pyros.astro import Sky
from pyros.config import Config
from pyros.db.engine import Database
from pyros.db.errors import DatabaseError
from pyros.db.migrate import alembic_config, upgrade
from pyros.db.models import (
    Album,
    Alert,
    AuditEntry,
    ObservationRequest,
    ObservationSequence,
    ObservingConstraints,
    Plan as PlanRow,
    Schedule,
    ScheduleEntry,
    ScheduleUnplaced,
    Target,
    TimeWindow,
)
from pyros.db.request_workflow import change_request_status, change_sequence_status
from pyros.scheduling import store
from pyros.scheduling.overheads import OverheadModel
from pyros.scheduling.plan import Plan, PlannedEntry, UnplacedReason
from pyros.scheduling.planner import Planner
from pyros.scheduling.store import (
    PlanOutdated,
    current_schedule,
    load_problem,
    night_bounds,
    problem_of_schedule,
    save_plan,
    stored_plan,
)
from pyros.scheduling.visibility import VisibilityCalculator
from tests.db_fixtures import SiteRows, add_site, database, database_url  # noqa: F401
from tests.db_fixtures import postgres_module_database, sqlite_template  # noqa: F401

OVERHEADS = OverheadModel(slew_rate_deg_s=3.0, settle_s=10.0, filter_change_s=10.0)
AFTERNOON = datetime(2026, 10, 15, 0, 0, tzinfo=timezone.utc).timestamp()
"""Before the night of 2026-10-15 at the default site (it starts near 02:04 UTC and ends near 12:52 UTC)."""
M31 = (10.684708, 41.26875)
SOUTH_POLE_STAR = (317.0, -88.9)   # never above the horizon at latitude 31 N
H = 3600.0


@pytest.fixture(scope="module")
def sky() -> Sky:
    return Sky.from_config(Config())


@pytest.fixture(scope="module")
def night(sky: Sky) -> tuple[float, float]:
    return night_bounds(sky, AFTERNOON)


@pytest.fixture(scope="module")
def planner(sky: Sky) -> Planner:
    return Planner(VisibilityCalculator(sky))


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


@dataclass
class Seq:
    """A sequence to create: what the planner will read of it."""

    name: str
    duration_s: float = 1200.0
    priority: float = 1.0
    target: tuple[float, float] | None = M31
    windows: list[tuple[float, float]] = field(default_factory=list)
    preferred_s: float | None = None
    max_airmass: float | None = None
    min_moon_deg: float | None = None
    filters: list[list[str | None]] = field(default_factory=lambda: [["r"]])


def add_request(session: Any, site: SiteRows, sequences: list[Seq], *, accept: bool = True, alert: bool = False,
                name: str = "req") -> list[int]:
    """A request of the site's observer with these sequences, accepted (at AFTERNOON) unless told; their ids."""
    rows = []
    for seq in sequences:
        target = None if seq.target is None else Target(name=f"{seq.name} target", ra_deg=seq.target[0],
                                                         dec_deg=seq.target[1])
        constraints = ObservingConstraints(
            priority=seq.priority, max_airmass=seq.max_airmass, min_moon_distance_deg=seq.min_moon_deg,
            preferred_time=None if seq.preferred_s is None else at(seq.preferred_s),
            time_windows=[TimeWindow(start_at=at(a), end_at=at(b)) for a, b in seq.windows])
        albums = [Album(name=f"album {i}", detector_id=site.camera_id,
                        plans=[PlanRow(name=f"plan {j}", filter_name=f, exposure_s=10.0) for j, f in enumerate(fs)])
                  for i, fs in enumerate(seq.filters)]
        rows.append(ObservationSequence(name=seq.name, target=target, planned_duration_s=seq.duration_s,
                                        constraints=constraints, albums=albums))
    request = ObservationRequest(name=name, user_id=site.user_id, program_id=site.program_id, status="submitted",
                                 sequences=rows)
    session.add(request)
    session.flush()
    if accept:
        change_request_status(session, request.id, "accepted", actor="test", now=at(AFTERNOON))
    if alert:
        session.add(Alert(ivorn=f"ivo://test/alert#{request.id}", request_id=request.id))
    session.flush()
    return [s.id for s in request.sequences]


def statuses(database: Database) -> dict[int, str]:
    with database.session() as session:
        return {row[0]: row[1] for row in session.execute(select(ObservationSequence.id, ObservationSequence.status))}


def moves(database: Database, sequence_id: int) -> list[tuple[str, str]]:
    """The status changes of a sequence in the audit log, oldest first."""
    with database.session() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.subject == f"sequence:{sequence_id}")
                               .order_by(AuditEntry.id))
        return [(row.details["from"], row.details["to"]) for row in rows]


def counts(database: Database) -> tuple[int, int, int, int]:
    with database.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))  # type: ignore[return-value]
                     for model in (Schedule, ScheduleEntry, ScheduleUnplaced, AuditEntry))


def test_the_problem_holds_the_plannable_sequences_of_active_requests(database: Database, sky: Sky,
                                                                      night: tuple[float, float]) -> None:
    start, end = night
    window = (start + H, start + 4 * H)
    with database.transaction() as session:
        site = add_site(session)
        deep, darks = add_request(session, site, [
            Seq("deep", 1800.0, priority=2.5, windows=[window], preferred_s=start + 2 * H, max_airmass=1.8,
                min_moon_deg=25.0, filters=[["g", "r"], [None, "J"]]),
            Seq("darks", 600.0, target=None, filters=[[None]])])
        (draft,) = add_request(session, site, [Seq("draft")], accept=False, name="draft")
        (cancelled,) = add_request(session, site, [Seq("cancelled")], name="cancelled")
        change_request_status(session, session.get_one(ObservationSequence, cancelled).request_id, "cancelled",
                              actor="test", now=at(AFTERNOON))
        (burst,) = add_request(session, site, [Seq("burst", 300.0)], alert=True, name="grb")
    with database.session() as session:
        problem = load_problem(session, AFTERNOON, sky, OVERHEADS)
    by_id = {s.id: s for s in problem.sequences}
    assert sorted(by_id) == sorted([deep, darks, burst]) and draft not in by_id and cancelled not in by_id
    first = by_id[deep]
    assert (first.duration_s, first.priority) == (1800.0, 2.5)
    assert first.windows[0] == pytest.approx(window, abs=1e-6) and len(first.windows) == 1  # stored to the µs
    assert first.preferred_s == pytest.approx(start + 2 * H, abs=1e-6)
    assert (first.ra_deg, first.dec_deg, first.max_airmass, first.min_moon_distance_deg) == (*M31, 1.8, 25.0)
    assert (first.first_filter, first.last_filter, first.name, first.urgent) == ("g", "J", "deep", False)
    assert by_id[darks].ra_deg is None and by_id[darks].first_filter is None and by_id[darks].windows == ()
    assert by_id[burst].urgent is True
    assert (problem.start_s, problem.end_s, problem.night_start_s, problem.night_end_s) == (AFTERNOON, end, start, end)
    assert problem.running is None and problem.previous == {} and problem.origin is None
    assert problem.unknown_origin_transition_s == 0.0  # planned from before the night: the telescope moves in twilight


def test_the_executing_sequence_is_kept_until_its_planned_end_or_now(database: Database, sky: Sky,
                                                                     night: tuple[float, float]) -> None:
    start = float(math.ceil(night[0]))  # whole seconds: stored instants keep microseconds
    with database.transaction() as session:
        site = add_site(session)
        running, waiting = add_request(session, site, [Seq("running", 1800.0), Seq("waiting")])
        change_sequence_status(session, running, "planned", actor="test", now=at(start))
        change_sequence_status(session, running, "executing", actor="test", now=at(start + H))
    with database.session() as session:
        during = load_problem(session, start + H + 600.0, sky, OVERHEADS)
        overdue = load_problem(session, start + 2 * H, sky, OVERHEADS)
    assert during.running is not None and during.running.sequence.id == running
    assert (during.running.start_s, during.running.end_s) == (start + H, start + H + 1800.0)
    assert [s.id for s in during.sequences] == [waiting]
    assert overdue.running is not None and overdue.running.end_s == start + 2 * H
    assert during.unknown_origin_transition_s == OVERHEADS.worst_case_s()


def test_a_plan_is_stored_read_back_and_kept_by_the_next_replan(database: Database, sky: Sky, planner: Planner,
                                                               night: tuple[float, float]) -> None:
    start, _ = night
    with database.transaction() as session:
        site = add_site(session)
        visible, other, short, south = add_request(session, site, [
            Seq("visible", 1800.0, priority=2.0, max_airmass=2.0, filters=[["g", "r"]]),
            Seq("other", 1200.0, priority=1.0, max_airmass=2.0, filters=[["r"]]),
            Seq("short", 1800.0, windows=[(start + H, start + H + 600.0)]),
            Seq("south", 600.0, target=SOUTH_POLE_STAR)])
    with database.session() as session:
        problem = load_problem(session, AFTERNOON, sky, OVERHEADS)
    plan = planner.plan(problem)
    assert sorted(plan.planned_ids) == sorted([visible, other])
    with database.transaction() as session:
        schedule = save_plan(session, problem, plan, "night_start", now_s=AFTERNOON)
        schedule_id = schedule.id
    with database.session() as session:
        summary = current_schedule(session, AFTERNOON)
    assert summary is not None and summary["id"] == schedule_id and summary["trigger"] == "night_start"
    assert summary["planned_from"] == store.format_instant(start) and summary["objective"] == plan.objective
    assert [(e["sequence_id"], e["start"], e["end"], e["transition_s"]) for e in summary["entries"]] == [
        (e.sequence_id, store.format_instant(e.start_s), store.format_instant(e.end_s), e.transition_s)
        for e in plan.entries]
    assert {e["name"]: (e["priority"], e["target"], e["status"]) for e in summary["entries"]} == {
        "visible": (2.0, "visible target", "planned"), "other": (1.0, "other target", "planned")}
    reasons = {u["sequence_id"]: (u["reason"], u["status"]) for u in summary["unplaced"]}
    assert reasons == {short: (UnplacedReason.WINDOW_TOO_SHORT.value, "unplannable"),
                       south: (UnplacedReason.NEVER_VISIBLE.value, "unplannable")}
    assert all(u["detail"] for u in summary["unplaced"])
    with database.session() as session:
        again = load_problem(session, start + 600.0, sky, OVERHEADS)
        fresh = load_problem(session, start + 600.0, sky, OVERHEADS, keep_previous=False)
    assert again.previous == pytest.approx({e.sequence_id: e.start_s for e in plan.entries}, abs=1e-6)
    assert fresh.previous == {}
    assert sorted(s.id for s in again.sequences) == sorted([visible, other, short, south])  # unplannable: tried again


def test_statuses_follow_the_lifecycle(database: Database, sky: Sky, planner: Planner,
                                       night: tuple[float, float]) -> None:
    start, _ = night
    with database.transaction() as session:
        site = add_site(session)
        revived, dropped, hopeless, kept = add_request(session, site, [
            Seq("revived", 1200.0, max_airmass=2.0), Seq("dropped", 1200.0, max_airmass=2.0),
            Seq("hopeless", 600.0, target=SOUTH_POLE_STAR), Seq("kept", 1200.0, max_airmass=2.0, priority=2.0)])
        change_sequence_status(session, revived, "unplannable", actor="test", now=at(AFTERNOON))
        for sequence_id in (dropped, kept):
            change_sequence_status(session, sequence_id, "planned", actor="test", now=at(AFTERNOON))
        # 'dropped' was planned, but its only window is now too short for it.
        constraints = session.get_one(ObservingConstraints, dropped)
        constraints.time_windows = [TimeWindow(start_at=at(start + H), end_at=at(start + H + 60.0))]
    with database.session() as session:
        problem = load_problem(session, AFTERNOON, sky, OVERHEADS)
    plan = planner.plan(problem)
    assert sorted(plan.planned_ids) == sorted([revived, kept]) and sorted(plan.unplaced) == sorted([dropped, hopeless])
    before = {i: len(moves(database, i)) for i in (revived, dropped, hopeless, kept)}
    with database.transaction() as session:
        save_plan(session, problem, plan, "manual", actor="olga", now_s=AFTERNOON + 60.0)
    assert statuses(database)[revived] == "planned" and statuses(database)[kept] == "planned"
    assert statuses(database)[dropped] == "unplannable" and statuses(database)[hopeless] == "unplannable"
    assert moves(database, revived)[before[revived]:] == [("unplannable", "to_be_planned"),
                                                          ("to_be_planned", "planned")]
    assert moves(database, dropped)[before[dropped]:] == [("planned", "to_be_planned"),
                                                          ("to_be_planned", "unplannable")]
    assert moves(database, hopeless)[before[hopeless]:] == [("to_be_planned", "unplannable")]
    assert moves(database, kept)[before[kept]:] == []
    with database.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.subject == f"sequence:{hopeless}")
                                .order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.actor == "olga" and "never_visible" in entry.details["reason"]
        assert entry.at == at(AFTERNOON + 60.0)


def test_nothing_is_written_when_saving_fails(database: Database, sky: Sky, planner: Planner,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with database.transaction() as session:
        site = add_site(session)
        first, second = add_request(session, site, [Seq("first", max_airmass=2.0), Seq("second", max_airmass=2.0)])
    with database.session() as session:
        problem = load_problem(session, AFTERNOON, sky, OVERHEADS)
    plan = planner.plan(problem)
    assert len(plan.entries) == 2
    before_counts, before_statuses = counts(database), statuses(database)
    calls: list[int] = []
    real = store.change_sequence_status

    def fail_the_second(session: Any, sequence_id: int, *args: Any, **kwargs: Any) -> Any:
        calls.append(sequence_id)
        if len(calls) == 2:
            raise DatabaseError("disk on fire")
        return real(session, sequence_id, *args, **kwargs)

    monkeypatch.setattr(store, "change_sequence_status", fail_the_second)
    with pytest.raises(DatabaseError, match="disk on fire"):
        with database.transaction() as session:
            save_plan(session, problem, plan, "manual")
    assert len(calls) == 2
    assert counts(database) == before_counts and statuses(database) == before_statuses
    monkeypatch.setattr(store, "change_sequence_status", real)
    with database.transaction() as session:  # a request cancelled since the problem was read
        change_request_status(session, session.get_one(ObservationSequence, second).request_id, "cancelled",
                              actor="test", now=at(AFTERNOON))
    before_counts, before_statuses = counts(database), statuses(database)
    with pytest.raises(PlanOutdated, match=f"sequence {first} is now 'cancelled'"):
        with database.transaction() as session:
            save_plan(session, problem, plan, "manual")
    assert counts(database) == before_counts and statuses(database) == before_statuses


def test_bad_triggers_and_foreign_plans_are_refused(database: Database, sky: Sky,
                                                    night: tuple[float, float]) -> None:
    start, _ = night
    with database.transaction() as session:
        site = add_site(session)
        (only,) = add_request(session, site, [Seq("only")])
    with database.session() as session:
        problem = load_problem(session, AFTERNOON, sky, OVERHEADS)
    empty = Plan(start, start + H, (), {}, 0.0, 0.0)
    stranger = Plan(start, start + H, (PlannedEntry(only + 99, start, start + 60.0),), {}, 1.0, 0.0)
    with database.transaction() as session:
        with pytest.raises(ValueError, match="unknown schedule trigger 'whim'; one of night_start"):
            save_plan(session, problem, empty, "whim")
        with pytest.raises(ValueError, match=f"plan entry of sequence {only + 99}: not a sequence of the problem"):
            save_plan(session, problem, stranger, "manual")
    with pytest.raises(ValueError, match="now_s must be finite UNIX seconds"):
        with database.session() as session:
            load_problem(session, float("nan"), sky, OVERHEADS)


def test_the_current_schedule_is_the_newest_of_the_night_not_over(database: Database, sky: Sky,
                                                                  night: tuple[float, float]) -> None:
    start, end = night
    with database.transaction() as session:
        site = add_site(session)
        (sequence_id,) = add_request(session, site, [Seq("one")])
        session.add_all([
            Schedule(night_start=at(start - 24 * H), night_end=at(end - 24 * H), trigger="manual",
                     created_at=at(start - 30 * H)),
            Schedule(night_start=at(start), night_end=at(end), planned_from=at(start), trigger="night_start",
                     created_at=at(start - H),
                     entries=[ScheduleEntry(sequence_id=sequence_id, start_at=at(start), end_at=at(start + 600.0))]),
            Schedule(night_start=at(start + 0.0004), night_end=at(end), planned_from=at(start + H), trigger="alert",
                     objective=3.0, created_at=at(start + H)),
        ])
    with database.session() as session:
        assert current_schedule(session, start - 25 * H)["trigger"] == "manual"  # type: ignore[index]
        newest = current_schedule(session, start + 2 * H)
        assert current_schedule(session, end + 1.0) is None
        default = session.scalars(select(Schedule).where(Schedule.trigger == "night_start")).one()
        assert default.planned_from == default.night_start
    assert newest is not None and newest["trigger"] == "alert" and newest["entries"] == []
    assert newest["night"]["end"] == store.format_instant(end)


def test_a_stored_schedule_explains_itself(database: Database, sky: Sky, planner: Planner,
                                           night: tuple[float, float]) -> None:
    start, _ = night
    with database.transaction() as session:
        site = add_site(session)
        running, visible, south = add_request(session, site, [
            Seq("running", 1800.0), Seq("visible", 1200.0, max_airmass=2.0), Seq("south", 600.0,
                                                                                 target=SOUTH_POLE_STAR)])
        change_sequence_status(session, running, "planned", actor="test", now=at(start))
        change_sequence_status(session, running, "executing", actor="test", now=at(start + 600.0))
    with database.session() as session:
        problem = load_problem(session, start + 900.0, sky, OVERHEADS)
    plan = planner.plan(problem)
    assert plan.entries[0].running and plan.entries[0].sequence_id == running
    with database.transaction() as session:
        schedule_id = save_plan(session, problem, plan, "conditions").id
    with database.session() as session:
        schedule = session.get_one(Schedule, schedule_id)
        rebuilt, again = problem_of_schedule(session, schedule, OVERHEADS), stored_plan(schedule)
    assert rebuilt.running is not None and rebuilt.running.sequence.id == running
    assert (rebuilt.running.start_s, rebuilt.running.end_s) == pytest.approx((start + 600.0, start + 2400.0))
    assert sorted(s.id for s in rebuilt.sequences) == sorted([visible, south])
    assert rebuilt.start_s == pytest.approx(start + 900.0)
    assert [(e.sequence_id, e.running) for e in again.entries] == [(e.sequence_id, e.running) for e in plan.entries]
    assert again.unplaced[south].reason is UnplacedReason.NEVER_VISIBLE
    assert planner.explain(rebuilt, again, visible)["status"] == "planned"
    assert planner.explain(rebuilt, again, running)["status"] == "running"
    why = planner.explain(rebuilt, again, south)
    assert (why["status"], why["reason"]) == ("unplaced", "never_visible")


def test_the_migration_fills_the_schedules_stored_before_it(database_url: str, night: tuple[float, float]) -> None:
    start, end = night
    with Database(database_url) as db:
        upgrade(db)
        with db.transaction() as session:
            site = add_site(session)
            (sequence_id,) = add_request(session, site, [Seq("one")])
            session.add(Schedule(night_start=at(start), night_end=at(end), planned_from=at(start + H),
                                 trigger="alert", objective=5.0, entries=[ScheduleEntry(
                                     sequence_id=sequence_id, start_at=at(start + H), end_at=at(start + 2 * H),
                                     transition_s=12.0, running=True)],
                                 unplaced=[ScheduleUnplaced(sequence_id=sequence_id, reason="no_room", blockers=[1])]))
        with db.engine.connect() as connection:
            if db.backend == "sqlite":  # as pyros.db.migrate does: rebuilding a table must not cascade
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
            with connection.begin():
                command.downgrade(alembic_config(connection), "0002")
        db.dispose()
        upgrade(db)
        with db.session() as session:
            schedule = session.scalars(select(Schedule)).one()
            assert (schedule.planned_from, schedule.trigger, schedule.objective) == (at(start), "manual", 0.0)
            assert [(e.transition_s, e.running) for e in schedule.entries] == [(0.0, False)]
            assert schedule.unplaced == []
