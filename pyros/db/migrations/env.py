"""Alembic environment of the PyROS schema.

:mod:`pyros.db.migrate` runs it with an open connection in
``config.attributes["connection"]``; the migrations then run inside that
connection's transaction. Run from the ``alembic`` command line instead, it
connects to ``sqlalchemy.url`` of the Alembic configuration.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import pyros.db.models  # noqa: F401  (registers every table)
from pyros.db.base import Base
from pyros.db.engine import create_database_engine

config = context.config


def run_migrations(connection: Connection) -> None:
    """Configure the migration context on ``connection`` and run the migrations."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("PyROS migrations run against a database; offline (--sql) mode is not supported")

shared = config.attributes.get("connection")
if shared is not None:
    run_migrations(shared)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: set sqlalchemy.url in the Alembic configuration")
    engine = create_database_engine(url)
    try:
        with engine.begin() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()
