"""The demo night of `make run` (etc/demo-night.toml): a valid configuration whose night, rain and
demo requests fit together — the requests accepted at `pyros db init --demo` are planned that night,
and the rain falls while they are observed."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

import pyros.astro  # noqa: F401 - the offline policy before astropy work
from pyros.astro import Sky
from pyros.clock import parse_instant
from pyros.config import load_config
from pyros.db.demo_site import load_demo_site
from pyros.db.engine import Database
from pyros.db.migrate import upgrade
from pyros.db.models import ObservationRequest
from pyros.scheduling.overheads import OverheadModel
from pyros.scheduling.planner import Planner
from pyros.scheduling.store import load_problem, night_bounds
from pyros.scheduling.visibility import VisibilityCalculator
from pyros.simulation.scenario import load_scenario
from pyros.testing import PROJECT_ROOT

DEMO = PROJECT_ROOT / "etc" / "demo-night.toml"
MAKEFILE = PROJECT_ROOT / "Makefile"


@pytest.fixture(scope="module")
def demo() -> tuple[object, Sky, float, tuple[float, float]]:
    config = load_config(DEMO, env={})
    sky = Sky.from_config(config)
    start = parse_instant(config.clock.start)
    return config, sky, start, night_bounds(sky, start)


def test_the_demo_night_is_a_simulated_night_starting_an_hour_before_dusk(demo: tuple) -> None:
    config, _sky, start, night = demo
    assert config.clock.mode == "simulated" and config.clock.anchor is None  # the supervisor anchors it
    assert 30.0 <= config.clock.speed <= 120.0
    assert 1800.0 <= night[0] - start <= 2 * 3600.0
    # The whole night fits in a quarter of an hour of wall time.
    assert (night[1] - start) / config.clock.speed < 15 * 60
    assert config.database.url.endswith("var/demo-night.db")
    services = config.hosts["control"].services
    for name in ("plc", "monitor", "majordome", "observer", "scheduler", "dome", "telescope", "cam_vis", "cam_nir"):
        assert name in services, name


def test_the_rain_falls_in_the_night_and_the_hold_is_short(demo: tuple) -> None:
    config, _sky, start, night = demo
    plc = config.hosts["control"].services["plc"].args
    scenario = load_scenario(PROJECT_ROOT / plc["scenario"])
    times = [event.time_s for event in scenario.for_simulator("plcSimulator").events]
    assert len(times) == 2
    rain_from, rain_to = (start + t for t in times)
    assert night[0] + 600.0 <= rain_from < rain_to <= night[0] + 3 * 3600.0
    hold = config.hosts["control"].services["monitor"].args["hold_s"]
    assert hold <= 900.0
    assert (rain_to + hold - start) / config.clock.speed < 5 * 60  # reopened within five minutes of wall time


def test_the_demo_requests_accepted_at_init_are_planned_that_night_before_the_rain(demo: tuple,
                                                                                     tmp_path: Path) -> None:
    config, sky, start, night = demo
    database = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(database)
    with database.transaction() as session:
        load_demo_site(session, now=datetime.fromtimestamp(start, tz=timezone.utc))  # as `pyros db init --demo`
    with database.session() as session:
        accepted = {s.id for r in session.scalars(select(ObservationRequest)
                                                  .where(ObservationRequest.status == "accepted"))
                    for s in r.sequences}
        problem = load_problem(session, start, sky, OverheadModel())
    database.dispose()
    plan = Planner(VisibilityCalculator(sky)).plan(problem)
    planned = {entry.sequence_id: entry for entry in plan.entries}
    assert accepted and set(planned) == accepted, plan.unplaced
    plc = config.hosts["control"].services["plc"].args
    first_rain = start + load_scenario(PROJECT_ROOT / plc["scenario"]).for_simulator("plcSimulator").events[0].time_s
    assert night[0] <= min(e.start_s for e in planned.values()) < first_rain  # observing when the rain comes


def test_make_run_starts_the_demo_night_on_a_fresh_demo_database() -> None:
    text = MAKEFILE.read_text()
    run = text.split("\nrun: install\n", 1)[1].split("\n\n", 1)[0]
    assert "db init --demo" in run and "$(DEMO_CONFIG) start" in run and "rm -f $(DEMO_DATABASE)" in run
    assert "DEMO_CONFIG := etc/demo-night.toml" in text
    readme = (PROJECT_ROOT / "README.md").read_text().splitlines()
    assert readme[0].split("#")[0].strip() == "make run" and readme[1].split("#")[0].strip() == "make test"


def test_db_init_demo_builds_the_requests_around_the_configured_observatory_time(tmp_path: Path) -> None:
    """`pyros --config etc/demo-night.toml db init --demo` (what `make run` does) dates the demo's windows from
    the simulated clock's start, not from the wall clock."""
    from click.testing import CliRunner

    from pyros.cli import main
    from pyros.db.models import TimeWindow

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = CliRunner().invoke(main, ["--config", str(DEMO), "--set", f"database.url={url}", "db", "init", "--demo"])
    assert result.exit_code == 0, result.output
    start = parse_instant(load_config(DEMO, env={}).clock.start)
    database = Database(url)
    with database.session() as session:
        opens = {w.start_at.replace(tzinfo=w.start_at.tzinfo or timezone.utc).timestamp()
                 for w in session.scalars(select(TimeWindow))}
    database.dispose()
    assert opens and all(abs(instant - (start + 3600.0)) < 300.0 for instant in opens), (opens, start)
