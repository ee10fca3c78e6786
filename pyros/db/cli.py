"""``pyros db``: create and migrate the database, load the demo site.

Commands read the database URL from ``[database] url`` of the configuration
(``--set database.url=...`` overrides it). Exit status as for every ``pyros``
command: 0 success, 1 the database refused or could not be reached, 4
configuration error.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from pyros.db.errors import DatabaseError

if TYPE_CHECKING:
    from pyros.db.engine import Database

Result = TypeVar("Result")


def _exit_failed(as_json: bool, error: Exception) -> NoReturn:
    from pyros.cli import EXIT_COMMAND_FAILED

    error_type = type(error).__name__
    message = str(error).splitlines()[0] if str(error) else error_type
    if as_json:
        click.echo(json.dumps({"ok": False, "error": {"type": error_type, "message": message}}))
    else:
        click.echo(f"error: {error_type}: {message}", err=True)
    sys.exit(EXIT_COMMAND_FAILED)


def _run(as_json: bool, action: Callable[[], Result]) -> Result:
    """Run ``action``; on a database error print it and exit 1 (SQLAlchemy is imported only now)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return action()
    except (DatabaseError, SQLAlchemyError) as exc:
        _exit_failed(as_json, exc)


def _print(data: dict[str, Any], text: str, as_json: bool) -> None:
    click.echo(json.dumps({"ok": True, "data": data}) if as_json else text)


def _open(state: Any) -> Database:
    from pyros.db.engine import Database

    return Database(state.config().database.url)


def _describe(database: Database) -> dict[str, Any]:
    from pyros.db.migrate import current_revision, head_revision

    current, head = current_revision(database), head_revision()
    return {"url": database.url, "backend": database.backend, "current": current, "head": head,
            "up_to_date": current == head}


def _status_line(info: dict[str, Any]) -> str:
    if info["current"] is None:
        state = f"no schema (head is {info['head']}: run pyros db upgrade)"
    elif info["up_to_date"]:
        state = f"{info['current']} (head)"
    else:
        state = f"{info['current']} (head is {info['head']}: run pyros db upgrade)"
    return f"{info['url']}: {state}"


@click.group("db")
def db_group() -> None:
    """The database: schema migrations and demo data."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Revision to migrate to.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_obj
def upgrade_command(state: Any, revision: str, as_json: bool) -> None:
    """Migrate the database's schema up to REVISION (creating it in an empty database)."""
    from pyros.db.migrate import upgrade

    def migrate() -> dict[str, Any]:
        with _open(state) as database:
            upgrade(database, revision)
            return _describe(database)

    info = _run(as_json, migrate)
    _print(info, _status_line(info), as_json)


@db_group.command("current")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_obj
def current_command(state: Any, as_json: bool) -> None:
    """Print the revision the database's schema is at, and whether it is the newest."""
    def inspect() -> dict[str, Any]:
        with _open(state) as database:
            return _describe(database)

    info = _run(as_json, inspect)
    _print(info, _status_line(info), as_json)


@db_group.command("init")
@click.option("--demo", is_flag=True, help="Then load the demo site (users, countries, quotas, devices, requests).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_obj
def init_command(state: Any, demo: bool, as_json: bool) -> None:
    """Migrate the database to the newest schema; with --demo, load the demo site into it (if empty)."""
    from pyros.db.demo_site import load_demo_site
    from pyros.db.migrate import upgrade

    from pyros.clock import Clock

    def initialise() -> tuple[dict[str, Any], dict[str, int] | None]:
        loaded: dict[str, int] | None = None
        with _open(state) as database:
            upgrade(database)
            if demo:
                # Built around the configured observatory time (a simulated night's start, say), not the wall clock.
                now = Clock.from_config(state.config().clock).now_datetime()
                with database.transaction() as session:
                    loaded = load_demo_site(session, now=now)
            return _describe(database), loaded

    info, loaded = _run(as_json, initialise)
    info["demo"] = loaded
    text = _status_line(info)
    if loaded is not None:
        text += "\ndemo site loaded: " + ", ".join(f"{count} {kind}" for kind, count in loaded.items())
    _print(info, text, as_json)


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the new revision changes (names the file).")
@click.option("--empty", is_flag=True, help="Write an empty script instead of comparing the models with the schema.")
def revision_command(message: str, empty: bool) -> None:
    """For developers: write a new migration script from what the models add to the newest schema.

    The comparison runs against a scratch SQLite database migrated to the
    newest revision; review the script (autogenerate misses CHECK constraints).
    """
    from pyros.db.engine import Database
    from pyros.db.migrate import create_revision, upgrade

    def write() -> Path:
        with tempfile.TemporaryDirectory(prefix="pyros-revision-") as scratch:
            with Database(f"sqlite:///{Path(scratch) / 'schema.db'}") as database:
                upgrade(database)
                return create_revision(database, message, autogenerate=not empty)

    click.echo(f"wrote {_run(False, write)}")
