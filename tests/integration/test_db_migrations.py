"""Migrations on SQLite and PostgreSQL: they build the models' schema exactly; ``pyros db`` runs them."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select

import pyros.db.models  # noqa: F401  (registers every table)
from pyros.db.base import Base
from pyros.db.demo_site import DEVICES, TARGETS, USERS, load_demo_site
from pyros.db.engine import Database
from pyros.db.errors import DatabaseError, DemoDataError
from pyros.db.migrate import (
    alembic_config,
    create_revision,
    current_revision,
    head_revision,
    schema_differences,
    upgrade,
)
from pyros.db.models import Device, ObservationRequest, Quota, User
from pyros.testing import PROJECT_ROOT, child_env
from tests.db_fixtures import database, database_url, postgres_module_database, sqlite_template  # noqa: F401

pytestmark = pytest.mark.integration


def tables(db: Database) -> set[str]:
    with db.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def pyros_db(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pyros --set database.url=URL db ARGS``."""
    return subprocess.run([sys.executable, "-m", "pyros", "--set", f"database.url={url}", "db", *args],
                          capture_output=True, text=True, timeout=120, env=child_env(), cwd=str(PROJECT_ROOT))


def test_the_initial_migration_creates_every_table(database_url: str) -> None:
    with Database(database_url) as db:
        assert current_revision(db) is None
        assert tables(db) == set()
        assert upgrade(db) == head_revision()
        assert tables(db) == set(Base.metadata.tables) | {"alembic_version"}


def test_models_and_migrations_agree(database_url: str) -> None:
    """Autogenerate finds nothing to change between the migrated schema and the models."""
    with Database(database_url) as db:
        upgrade(db)
        assert schema_differences(db) == []


def test_upgrading_again_changes_nothing(database: Database) -> None:
    assert current_revision(database) == head_revision()
    with database.transaction() as session:
        load_demo_site(session)
    assert upgrade(database) == head_revision()
    with database.session() as session:
        assert len(session.scalars(select(User)).all()) == len(USERS)


def test_downgrade_to_base_and_back(database_url: str) -> None:
    with Database(database_url) as db:
        upgrade(db)
        with db.engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert tables(db) == {"alembic_version"} and current_revision(db) is None
        upgrade(db)
        assert tables(db) == set(Base.metadata.tables) | {"alembic_version"}


def test_an_unknown_revision_is_refused_and_nothing_is_created(database_url: str) -> None:
    with Database(database_url) as db:
        with pytest.raises(DatabaseError, match="migration: .*'9999'"):
            upgrade(db, "9999")
        assert tables(db) == set()


def test_the_demo_site(database: Database) -> None:
    with database.transaction() as session:
        counts = load_demo_site(session)
    assert counts == {"countries": 2, "users": 4, "quotas": 6, "programs": 4, "devices": 7, "targets": 3,
                      "requests": 3, "sequences": 4}
    with database.session() as session:
        assert {u.role for u in session.scalars(select(User))} == {"observer", "operator", "admin"}
        devices = {d.name: d for d in session.scalars(select(Device))}
        assert set(devices) == {name for name, *_ in DEVICES}
        assert {"plc", "telescope", "dome", "cam_vis", "cam_nir"} <= set(devices)
        assert devices["fw_vis"].parent is not None and devices["fw_vis"].parent.name == "cam_vis"
        requests = {r.name: r for r in session.scalars(select(ObservationRequest))}
        assert sorted(r.status for r in requests.values()) == ["accepted", "draft", "submitted"]
        accepted = requests["M31 deep field"]
        assert accepted.charged_seconds == 3000
        assert {s.target.name for r in requests.values() for s in r.sequences if s.target} == {n for n, *_ in TARGETS}
        used = {q.label: q.used_seconds for q in session.scalars(select(Quota))}
        assert used["user 'alice'"] == used["country 'France'"] == 3000 and used["user 'bruno'"] == 0
    with pytest.raises(DemoDataError, match="already holds data"):
        with database.transaction() as session:
            load_demo_site(session)


def test_pyros_db_commands(database_url: str) -> None:
    before = pyros_db(database_url, "current", "--json")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["data"]["current"] is None

    done = pyros_db(database_url, "upgrade")
    assert done.returncode == 0, done.stderr
    assert f": {head_revision()} (head)" in done.stdout

    init = pyros_db(database_url, "init", "--demo", "--json")
    assert init.returncode == 0, init.stderr
    data = json.loads(init.stdout)["data"]
    assert data["up_to_date"] is True and data["demo"]["devices"] == len(DEVICES)

    again = pyros_db(database_url, "init", "--demo")
    assert again.returncode == 1
    assert "DemoDataError: the database already holds data" in again.stderr

    now = pyros_db(database_url, "current")
    assert now.returncode == 0 and now.stdout.strip().endswith(f"{head_revision()} (head)")
    with Database(database_url) as db, db.session() as session:
        assert len(session.scalars(select(Device)).all()) == len(DEVICES)


def test_pyros_db_creates_the_directory_of_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "var" / "deep" / "pyros.db"
    done = pyros_db(f"sqlite:///{path}", "upgrade")
    assert done.returncode == 0, done.stderr
    assert path.is_file()


def test_pyros_db_reports_an_unreachable_server(tmp_path: Path) -> None:
    failed = pyros_db("postgresql://nobody@127.0.0.1:1/none?connect_timeout=5", "current", "--json")
    assert failed.returncode == 1
    error = json.loads(failed.stdout)["error"]
    assert error["type"] == "OperationalError" and "127.0.0.1" in error["message"]


def test_a_new_revision_of_an_unchanged_model_is_empty(tmp_path: Path) -> None:
    """What ``pyros db revision`` writes: here, against the head schema, nothing to do."""
    scripts = tmp_path / "migrations"
    shutil.copytree(PROJECT_ROOT / "pyros" / "db" / "migrations", scripts,
                    ignore=shutil.ignore_patterns("__pycache__"))
    with Database(f"sqlite:///{tmp_path / 'scratch.db'}") as db:
        upgrade(db)
        path = create_revision(db, "nothing new", script_location=str(scripts))
    assert path.parent == scripts / "versions" and path.name.startswith(f"{int(head_revision()) + 1:04d}_")
    module = ast.parse(path.read_text())
    functions = {node.name: node for node in module.body if isinstance(node, ast.FunctionDef)}
    for name in ("upgrade", "downgrade"):
        body = functions[name].body[1:]  # after the docstring
        assert [type(node) for node in body] == [ast.Pass], f"{name} is not empty: {ast.unparse(functions[name])}"
    assigned = {ast.unparse(node.target): node.value for node in module.body if isinstance(node, ast.AnnAssign)}
    down = assigned["down_revision"]
    assert down is not None and ast.literal_eval(down) == head_revision()


def test_simultaneous_upgrades_run_one_after_the_other(database_url: str) -> None:
    """Processes starting together may all upgrade: the first migrates, the others find nothing to do."""
    import threading

    outcomes: list[object] = []
    barrier = threading.Barrier(4, timeout=60)

    def run() -> None:
        with Database(database_url) as db:
            try:
                barrier.wait()
                outcomes.append(upgrade(db))
            except Exception as exc:  # noqa: BLE001  (the outcome is what the test checks)
                outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
        assert not thread.is_alive()
    assert outcomes == [head_revision()] * 4
