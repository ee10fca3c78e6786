"""The scheduler service and `pyros schedule`, with a real broker, K/V server, service process and demo database.

The observatory clock is simulated: the night of 2026-10-15 at the default site starts near 02:03:33 UTC.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pyros.db.demo_site import load_demo_site
from pyros.db.engine import Database
from pyros.db.migrate import upgrade
from pyros.db.models import ObservationRequest, ObservationSequence, ObservingConstraints
from pyros.db.request_workflow import change_request_status
from pyros.kv.server import CloneServer
from pyros.kv.subscriber import KVSubscriber
from pyros.testing import BrokerProcess, ManagedProcess, wait_until
from tests.integration.site import endpoints_toml, run_pyros

pytestmark = pytest.mark.integration

DEMO_BUILT = datetime(2026, 10, 15, 1, 0, tzinfo=timezone.utc)
"""When the demo site is built: its time windows run from 02:00 to 10:00 UTC."""


@dataclass
class Site:
    """A running scheduler: its configuration, database and K/V subscriber."""

    config: Path
    database: Database
    kv: KVSubscriber
    sequences: dict[str, int]


def site_config(tmp_path: Path, broker: BrokerProcess, kv: CloneServer, clock_start: str, speed: float) -> Path:
    config = tmp_path / "site.toml"
    config.write_text(endpoints_toml(broker, kv) + f"""
[database]
url = "sqlite:///{tmp_path / 'pyros.db'}"

[clock]
mode = "simulated"
start = "{clock_start}"
speed = {speed}

[access.tokens]
alice-token = "observer"
olga-token = "operator"

[access.names]
alice-token = "alice"
olga-token = "olga"
""")
    return config


def demo_database(url: str) -> tuple[Database, dict[str, int]]:
    """The demo site, with the submitted Orion request accepted under an airmass limit M42 never meets here."""
    database = Database(url)
    upgrade(database)
    with database.transaction() as session:
        load_demo_site(session, now=DEMO_BUILT)
        sequences = {s.name: s.id for s in session.scalars(select(ObservationSequence))}
        session.get_one(ObservingConstraints, sequences["M42 visible"]).max_airmass = 1.05
        orion = session.scalars(select(ObservationRequest)
                                .where(ObservationRequest.name == "Orion nebula mosaic")).one()
        change_request_status(session, orion.id, "accepted", actor="test", now=DEMO_BUILT)
    return database, sequences


def serve(config: Path, tmp_path: Path, watch_s: float) -> ManagedProcess:
    log = (tmp_path / "scheduler.log").open("wb")
    return ManagedProcess([sys.executable, "-m", "pyros", "--config", str(config), "serve",
                           "servers.scheduler:SchedulerService", "--arg", f"watch_s={watch_s}",
                           "--arg", 'overheads={"slew_rate_deg_s": 3.0, "settle_s": 10.0, "filter_change_s": 10.0}'],
                          stderr=log.fileno())


@pytest.fixture
def site(broker: BrokerProcess, kv_server: CloneServer, tmp_path: Path) -> Iterator[Site]:
    """The scheduler on an afternoon clock (01:00 UTC, real speed): every plan starts at the night's start."""
    config = site_config(tmp_path, broker, kv_server, "2026-10-15T01:00:00Z", 1.0)
    database, sequences = demo_database(f"sqlite:///{tmp_path / 'pyros.db'}")
    with serve(config, tmp_path, watch_s=0.5), broker.client(timeout=5) as client, \
            KVSubscriber(kv_server.snapshot_endpoint, kv_server.publisher_endpoint, "/schedule/") as kv:
        wait_until(lambda: client.service_exists("scheduler"), timeout=60, what="scheduler service up")
        yield Site(config, database, kv, sequences)
    database.dispose()


def ask(site: Site, *args: str, token: str = "alice-token") -> tuple[int, Any]:
    result = run_pyros(site.config, "schedule", *args, "--token", token, "--json")
    return result.returncode, json.loads(result.stdout)


def test_plan_show_explain_replan_and_the_watcher(site: Site) -> None:
    ids = site.sequences
    code, empty = ask(site, "show")
    assert (code, empty["data"]) == (0, None)
    assert "No schedule for this night yet" in run_pyros(site.config, "schedule", "show").stdout

    code, refused = ask(site, "plan")
    assert code == 1 and refused["error"]["type"] == "AccessDenied"

    code, planned = ask(site, "plan", token="olga-token")
    assert code == 0, planned
    schedule = planned["data"]
    assert schedule["trigger"] == "manual" and schedule["planned_from"].startswith("2026-10-15T02:03:3")
    assert sorted(e["name"] for e in schedule["entries"]) == ["M31 near-infrared", "M31 visible"]
    assert [(u["sequence_id"], u["reason"]) for u in schedule["unplaced"]] == [(ids["M42 visible"], "never_visible")]
    assert schedule["objective"] == pytest.approx(2.0 * 1800.0 + 1.5 * 1200.0)
    assert schedule["stats"]["total_s"] > 0

    wait_until(lambda: (site.kv.get("/schedule/current") or {}).get("id") == schedule["id"], timeout=30,
               what="/schedule/current of the new schedule")
    published = site.kv.get("/schedule/current")
    assert published["unplaced"] == 1 and published["trigger"] == "manual"
    assert published["night"] == schedule["night"] and published["planned_from"] == schedule["planned_from"]
    assert published["entries"] == [{k: e[k] for k in ("sequence_id", "name", "start", "end")}
                                    for e in schedule["entries"]]

    code, shown = ask(site, "show")
    assert code == 0 and {k: v for k, v in schedule.items() if k != "stats"} == shown["data"]
    timeline = run_pyros(site.config, "schedule", "show", "--token", "alice-token").stdout.splitlines()
    assert timeline[0].startswith(f"Schedule {schedule['id']} of the night 2026-10-15 02:03–12:52 UTC")
    visible = rf"UTC +30 min  #{ids['M31 visible']} M31 visible +priority 2 +M31"
    assert any(re.search(visible, line) for line in timeline)
    assert "Not planned (1):" in timeline
    assert any(line.startswith(f"  #{ids['M42 visible']} M42 visible  priority 1  M42: never_visible — ")
               for line in timeline)

    code, why = ask(site, "explain", str(ids["M42 visible"]))
    assert code == 0 and (why["data"]["status"], why["data"]["reason"]) == ("unplaced", "never_visible")
    assert why["data"]["schedule_id"] == schedule["id"] and why["data"]["allowed"] == []
    code, where = ask(site, "explain", str(ids["M31 visible"]))
    entry = next(e for e in schedule["entries"] if e["sequence_id"] == ids["M31 visible"])
    assert code == 0 and (where["data"]["status"], where["data"]["start"]) == ("planned", entry["start"])
    assert where["data"]["allowed"] and where["data"]["notes"]
    code, draft = ask(site, "explain", str(ids["Vega z"]))
    assert code == 0 and draft["data"]["status"] == "unknown" and "'pending'" in draft["data"]["notes"][-1]
    code, missing = ask(site, "explain", "999")
    assert code == 1 and missing["error"] == {"type": "NotFound", "message": "no sequence 999"}
    human = run_pyros(site.config, "schedule", "explain", str(ids["M42 visible"])).stdout
    assert human.startswith(f"#{ids['M42 visible']} M42 visible: not planned (never_visible) — ")

    code, replanned = ask(site, "replan", "--reason", "alert", token="olga-token")
    assert code == 0 and replanned["data"]["trigger"] == "alert" and replanned["data"]["id"] > schedule["id"]
    assert [(e["sequence_id"], e["start"]) for e in replanned["data"]["entries"]] == \
        [(e["sequence_id"], e["start"]) for e in schedule["entries"]]  # nothing changed: the plan is kept

    with site.database.transaction() as session:  # the Orion request is cancelled: the watcher replans
        orion = session.get_one(ObservationSequence, ids["M42 visible"]).request_id
        change_request_status(session, orion, "cancelled", actor="test", reason="clouds over Orion",
                              now=DEMO_BUILT)
    wait_until(lambda: (site.kv.get("/schedule/current") or {}).get("trigger") == "sequences_changed", timeout=60,
               what="a replan by the watcher")
    assert site.kv.get("/schedule/current")["unplaced"] == 0
    with site.database.session() as session:
        statuses = {s.name: s.status for s in session.scalars(select(ObservationSequence))}
    assert statuses == {"M31 visible": "planned", "M31 near-infrared": "planned", "M42 visible": "cancelled",
                        "Vega z": "pending"}


def test_the_watcher_plans_when_the_night_starts(broker: BrokerProcess, kv_server: CloneServer,
                                                 tmp_path: Path) -> None:
    """Half a minute before the night, ten times faster than real time: the night's plan comes by itself."""
    config = site_config(tmp_path, broker, kv_server, "2026-10-15T02:03:00Z", 10.0)
    database, sequences = demo_database(f"sqlite:///{tmp_path / 'pyros.db'}")
    try:
        with serve(config, tmp_path, watch_s=5.0), \
                KVSubscriber(kv_server.snapshot_endpoint, kv_server.publisher_endpoint, "/schedule/") as kv:
            wait_until(lambda: kv.get("/schedule/current") is not None, timeout=60, what="the night's schedule")
            published = kv.get("/schedule/current")
            assert published["trigger"] == "night_start" and published["planned_from"] >= "2026-10-15T02:03:32"
            assert {e["sequence_id"] for e in published["entries"]} == {sequences["M31 visible"],
                                                                       sequences["M31 near-infrared"]}
            assert published["unplaced"] == 1
    finally:
        database.dispose()
