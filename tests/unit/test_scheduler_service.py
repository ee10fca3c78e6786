"""The scheduler service in-process: commands and access, what makes the watcher plan and what does not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from pyros.clock import Clock, get_clock, set_clock
from pyros.config import Config, active_config, use_config
from pyros.db.engine import Database
from pyros.db.request_workflow import change_sequence_status
from pyros.scheduling.store import night_bounds
from pyros.service import AccessPolicy, ServiceRuntime
from pyros.testing import wait_until
from servers.scheduler import CURRENT_KEY, SchedulerService
from tests.db_fixtures import add_site, database, postgres_module_database, sqlite_template  # noqa: F401
from tests.unit.test_schedule_store import AFTERNOON, Seq, add_request
from tests.unit.test_service_support import call


class RecordingPublisher:
    """Stands for the K/V publisher: keeps what is set."""

    def __init__(self) -> None:
        self.values: list[tuple[str, Any]] = []

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.values.append((key, value))


@pytest.fixture
def clock() -> Iterator[None]:
    previous_clock, previous_config = get_clock(), active_config()
    set_clock(Clock.simulated(start=AFTERNOON, speed=1.0))
    use_config(Config())
    yield
    set_clock(previous_clock)
    use_config(previous_config)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def test_the_watcher_plans_for_the_night_and_for_changes_it_did_not_make(database: Database, clock: None) -> None:
    with database.transaction() as session:
        site = add_site(session)
        first, second = add_request(session, site, [Seq("first", 1200.0, max_airmass=2.0),
                                                    Seq("second", 1200.0, max_airmass=2.0)])
    service = SchedulerService(database.engine.url.render_as_string(hide_password=False), watch_s=3600.0,
                               overheads={"slew_rate_deg_s": 3.0})
    published = RecordingPublisher()
    service.on_kv_publisher(published)  # type: ignore[arg-type]
    runtime = ServiceRuntime(service, access=AccessPolicy({"obs": "observer", "op": "operator"}, names={"op": "olga"}))
    runtime.start()
    try:
        wait_until(lambda: service._seen is not None, timeout=30, what="the watcher's first look")

        refused = call(runtime, "plan", token="obs")
        assert refused.error is not None and refused.error.type == "AccessDenied"
        planned = call(runtime, "plan", token="op")
        assert planned.ok, planned.error
        assert sorted(e["sequence_id"] for e in planned.data["entries"]) == sorted([first, second])
        assert published.values[-1] == (CURRENT_KEY, {
            "id": planned.data["id"], "night": planned.data["night"], "planned_from": planned.data["planned_from"],
            "trigger": "manual", "objective": 2400.0, "unplaced": 0,
            "entries": [{k: e[k] for k in ("sequence_id", "name", "start", "end")} for e in planned.data["entries"]]})
        assert service.watch_once() is None  # its own status changes

        with database.transaction() as session:  # the executor starts the first and finishes it
            change_sequence_status(session, first, "executing", actor="executor", now=at(AFTERNOON))
        assert service.watch_once() is None
        with database.transaction() as session:
            change_sequence_status(session, first, "executed", actor="executor", now=at(AFTERNOON))
        assert service.watch_once() is None

        with database.transaction() as session:  # a new request
            (third,) = add_request(session, site, [Seq("third", 600.0, max_airmass=2.0)], name="new")
        assert service.watch_once() == "sequences_changed"
        assert service.watch_once() is None
        with database.transaction() as session:  # the second starts, then fails
            change_sequence_status(session, second, "executing", actor="executor", now=at(AFTERNOON))
        assert service.watch_once() is None
        with database.transaction() as session:
            change_sequence_status(session, second, "failed", actor="executor", now=at(AFTERNOON))
        assert service.watch_once() == "sequences_changed"
        assert [value["trigger"] for key, value in published.values] == ["manual", "sequences_changed",
                                                                         "sequences_changed"]

        night_start, _ = night_bounds(service._sky, AFTERNOON)  # type: ignore[arg-type]
        set_clock(Clock.simulated(start=night_start + 60.0, speed=1.0))
        assert service.watch_once() == "night_start"
        assert service.watch_once() is None
        current = call(runtime, "current", token="obs")
        assert current.ok and current.data["trigger"] == "night_start"
        assert [e["sequence_id"] for e in current.data["entries"]] == [third]

        missing = call(runtime, "explain", {"sequence_id": 999}, token="obs")
        assert missing.error is not None
        assert (missing.error.type, missing.error.message) == ("NotFound", "no sequence 999")
        why = call(runtime, "explain", {"sequence_id": third}, token="obs")
        assert why.ok and why.data["status"] == "planned" and why.data["start"] == current.data["entries"][0]["start"]
        done = call(runtime, "explain", {"sequence_id": first}, token="obs")
        assert done.ok and done.data["status"] == "unknown" and "'executed'" in done.data["notes"][-1]
    finally:
        runtime.close()


def test_bad_settings_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown overhead setting.*slew_speed"):
        SchedulerService("sqlite://", overheads={"slew_speed": 3.0})
    with pytest.raises(ValueError, match=r"watch_s must be a number of seconds in \(0, 3600\], got 0"):
        SchedulerService("sqlite://", watch_s=0)
    with pytest.raises(ValueError, match="grid_step_s must be"):
        SchedulerService("sqlite://", grid_step_s=float("nan"))
