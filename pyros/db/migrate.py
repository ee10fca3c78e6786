"""Running the schema migrations (Alembic) from Python, with no ``alembic.ini`` on disk.

The migration scripts live in the package (``pyros/db/migrations``);
:func:`alembic_config` builds the Alembic configuration pointing at them.
:func:`upgrade` runs the migrations inside one transaction on both backends,
holding a lock for the whole of it (SQLite's write lock, taken by ``BEGIN
IMMEDIATE``; a transaction-level advisory lock on PostgreSQL), so that
processes upgrading at the same time run one after the other and the later
ones find nothing left to do. On SQLite, foreign keys are switched off for the
upgrade (a migration may have to rebuild a table that others refer to) and
checked with ``PRAGMA foreign_key_check`` before the commit, then switched on
again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, text

import pyros.db.models  # noqa: F401  (registers every table)
from pyros.db.base import Base
from pyros.db.engine import SQLITE_BEGIN_OPTION, Database
from pyros.db.errors import DatabaseError

SCRIPT_LOCATION = "pyros.db:migrations"
"""Where the migration scripts are, as an Alembic package resource."""

MIGRATION_LOCK_KEY = 0x7079726F73  # "pyros"
"""Key of the PostgreSQL advisory lock held while migrating."""


def alembic_config(connection: Connection | None = None, script_location: str = SCRIPT_LOCATION) -> Config:
    """Return an Alembic configuration for the package's migrations.

    Args:
        connection: An open connection for the migrations to use (their
            transaction is then the caller's).
        script_location: Where the scripts are (another copy of them, for tests).
    """
    config = Config()
    config.set_main_option("script_location", script_location)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision(script_location: str = SCRIPT_LOCATION) -> str:
    """Return the newest revision of the migration scripts.

    Raises:
        DatabaseError: If the scripts have several heads (a branch to merge).
    """
    heads = ScriptDirectory.from_config(alembic_config(script_location=script_location)).get_heads()
    if len(heads) != 1:
        raise DatabaseError(f"the migration scripts have {len(heads)} heads ({', '.join(heads)}); merge them")
    return heads[0]


def current_revision(database: Database) -> str | None:
    """Return the revision the database is at, or ``None`` for a database never migrated."""
    with database.engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    if len(heads) > 1:
        raise DatabaseError(f"the database is at several revisions: {', '.join(heads)}")
    return heads[0] if heads else None


def upgrade(database: Database, revision: str = "head") -> str | None:
    """Migrate the database up to ``revision`` in one transaction.

    Args:
        database: The database.
        revision: Target revision id, or ``head`` for the newest.

    Returns:
        The revision the database is at afterwards.

    Raises:
        DatabaseError: If the revision is unknown, or (SQLite) the migrated data
            breaks a foreign key; nothing is changed then.
    """
    with database.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _set_sqlite_foreign_keys(connection, on=False)
            connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        try:
            with connection.begin():
                if not sqlite:
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                _run(command.upgrade, alembic_config(connection), revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise DatabaseError(f"the migration left rows with dangling foreign keys "
                                            f"(table, rowid, parent, key): {broken[:10]}")
        finally:
            if sqlite:
                _set_sqlite_foreign_keys(connection, on=True)
    return current_revision(database)


def schema_differences(database: Database) -> list[Any]:
    """Return what autogenerate finds different between the models and the database (empty if none)."""
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def create_revision(database: Database, message: str, *, autogenerate: bool = True,
                    script_location: str = SCRIPT_LOCATION) -> Path:
    """Write a new migration script (for developers), from the difference between models and database.

    Review the script before committing it: autogenerate does not see every
    change (CHECK constraints, for one), and it renders SQLite batch operations
    when the database is SQLite.

    Args:
        database: A database at the current head (e.g. a scratch SQLite file after :func:`upgrade`).
        message: What the revision does; it names the file.
        autogenerate: Fill the script from the differences found; otherwise it is empty.
        script_location: Where the scripts are (default: the package's).

    Returns:
        The path of the new script; its revision id is the head's number plus one (``0002``, ...).

    Raises:
        DatabaseError: If the message is blank or the database is not at the head revision.
    """
    if not isinstance(message, str) or not message.strip():
        raise DatabaseError("a revision needs a message saying what it changes")
    head = head_revision(script_location)
    if current_revision(database) != head:
        raise DatabaseError("the database is not at the head revision: run pyros db upgrade on it first")
    number = f"{int(head) + 1:04d}" if head.isdigit() else None
    with database.engine.begin() as connection:
        script = _run(command.revision, alembic_config(connection, script_location), message=message,
                      autogenerate=autogenerate, rev_id=number)
    if script is None or isinstance(script, list):
        raise DatabaseError("Alembic wrote no single revision script")
    return Path(script.path)


def _run(action: Any, *args: Any, **kwargs: Any) -> Any:
    """Run an Alembic command, turning its errors into :class:`DatabaseError`."""
    try:
        return action(*args, **kwargs)
    except CommandError as exc:
        raise DatabaseError(f"migration: {exc}") from None


def _set_sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    """Switch SQLite's foreign key enforcement outside any transaction (it is ignored inside one)."""
    driver_connection: Any = connection.connection.dbapi_connection
    driver_connection.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
