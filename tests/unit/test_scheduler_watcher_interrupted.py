"""The scheduler's watcher replans when a sequence it saw executing comes back to be planned (an interrupted run),
even when it did not plan in between (the sequence started and was interrupted between two plans)."""

from __future__ import annotations

from datetime import datetime, timezone

from pyros.db.engine import Database
from pyros.db.request_workflow import change_sequence_status
from pyros.testing import wait_until
from servers.scheduler import SchedulerService
from tests.db_fixtures import add_site, database, postgres_module_database, sqlite_template  # noqa: F401
from tests.unit.test_schedule_store import AFTERNOON, Seq, add_request
from tests.unit.test_scheduler_service import RecordingPublisher, clock  # noqa: F401


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def test_an_interrupted_sequence_is_replanned(database: Database, clock: None) -> None:  # noqa: F811
    with database.transaction() as session:
        site = add_site(session)
        (first,) = add_request(session, site, [Seq("first", 1200.0, max_airmass=2.0)])
    service = SchedulerService(database.engine.url.render_as_string(hide_password=False), watch_s=3600.0,
                               overheads={"slew_rate_deg_s": 3.0})
    service.on_kv_publisher(RecordingPublisher())  # type: ignore[arg-type]
    service.on_start()
    try:
        wait_until(lambda: service._seen is not None, timeout=30, what="the watcher's first look")
        with service._plan_lock:
            service._plan_locked("manual", keep_previous=False, actor="test")
        assert service.watch_once() is None
        with database.transaction() as session:  # the observer starts it ...
            change_sequence_status(session, first, "executing", actor="observer", now=at(AFTERNOON))
        assert service.watch_once() is None
        with database.transaction() as session:  # ... and the rain interrupts it
            change_sequence_status(session, first, "to_be_planned", actor="observer", now=at(AFTERNOON))
        assert service.watch_once() == "sequences_changed"
        assert service.watch_once() is None
    finally:
        service.on_stop()
