"""Opening the database: engines, sessions and transactions, on SQLite or PostgreSQL.

The URL comes from ``[database] url`` of the configuration (default
``sqlite:///var/pyros.db``, relative to the working directory; the parent
directory is created). A ``postgresql://`` URL is served by psycopg 3
(``postgresql+psycopg://``); add ``?connect_timeout=10`` to bound how long a
connection attempt may take.

SQLite connections are set up by an engine ``connect`` event: write-ahead
logging (readers never block the writer), foreign keys enforced, and a busy
timeout (a writer waits for the lock instead of failing at once). SQLAlchemy,
not the ``sqlite3`` module, emits ``BEGIN``, so every transaction, DDL
included, is a real SQLite transaction. Reading sessions begin with a plain
(deferred) ``BEGIN``; :meth:`Database.transaction` begins with ``BEGIN
IMMEDIATE``, which takes SQLite's single write lock at once: write
transactions run one after the other, each seeing the data the previous one
committed. On PostgreSQL the code that must serialise (quota accounting)
locks its rows with ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pyros.db.base import Base
from pyros.db.errors import DatabaseError
from pyros.db.flush_checks import check_before_flush
from pyros.db.integrity import explain_integrity_error

log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite writer waits for the write lock before failing."""

SQLITE_BEGIN_OPTION = "pyros_sqlite_begin"
"""Execution option choosing how SQLite transactions begin: ``DEFERRED`` (default) or ``IMMEDIATE``."""

_SQLITE_BEGIN_MODES = ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")


def database_url(url: str | URL) -> URL:
    """Parse a database URL, choosing psycopg 3 for a bare ``postgresql://``.

    Raises:
        DatabaseError: If the URL cannot be parsed or names an unsupported backend.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise DatabaseError(f"invalid database URL {str(url)!r}: {exc}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(f"unsupported database {parsed.get_backend_name()!r} in URL "
                            f"{parsed.render_as_string(hide_password=True)!r}: use sqlite:/// or postgresql://")
    return parsed


def _sqlite_file(url: URL) -> Path | None:
    """Return the file of a SQLite URL, or ``None`` for an in-memory or URI database."""
    name = url.database
    if not name or name == ":memory:" or name.startswith("file:") or url.query.get("uri"):
        return None
    return Path(name)


def create_database_engine(url: str | URL, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
                           echo: bool = False) -> Engine:
    """Create an engine for ``url`` set up as the module docstring says.

    Args:
        url: SQLAlchemy URL (``sqlite:///path`` or ``postgresql://...``).
        busy_timeout_s: SQLite only: seconds a connection waits for a lock.
        echo: Log every SQL statement (at INFO, logger ``sqlalchemy.engine``).

    Raises:
        DatabaseError: For a bad URL or busy timeout, or a SQLite directory that cannot be created.
    """
    parsed = database_url(url)
    if isinstance(busy_timeout_s, bool) or not isinstance(busy_timeout_s, (int, float)) or not busy_timeout_s >= 0:
        raise DatabaseError(f"busy_timeout_s must be a number of seconds >= 0, got {busy_timeout_s!r}")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    path = _sqlite_file(parsed)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the directory of the database {str(path)!r}: {exc}") from None
    engine = create_engine(parsed, echo=echo)
    timeout_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see "begin" below)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if path is not None:
                _use_write_ahead_log(cursor, path, busy_timeout_s)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def begin_sqlite(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        if mode not in _SQLITE_BEGIN_MODES:
            raise DatabaseError(f"{SQLITE_BEGIN_OPTION} must be one of {', '.join(_SQLITE_BEGIN_MODES)}, got {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _use_write_ahead_log(cursor: Any, path: Path, busy_timeout_s: float) -> None:
    """Put a SQLite database file in WAL mode (once: the mode is stored in the file).

    Switching needs the database to itself; SQLite reports "database is
    locked" at once, without its busy handler, while another connection is
    switching too (several processes opening a new database), so that case is
    retried until the busy timeout.
    """
    mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    deadline = time.monotonic() + busy_timeout_s
    while str(mode).lower() != "wal":
        try:
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)  # nothing to wait on: the other connection gives no signal when it is done
            continue
        if str(mode).lower() != "wal":
            log.warning("SQLite database %s stays in journal mode %s, not WAL", path, mode)
            return


class Database:
    """An open database: its engine and its sessions.

    Example::

        db = Database(config.database.url)
        with db.transaction() as session:
            session.add(Country(name="France"))
        with db.session() as session:
            countries = session.scalars(select(Country)).all()

    Objects stay readable after their session ends (they are not expired on commit).
    """

    def __init__(self, url: str | URL, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S, echo: bool = False) -> None:
        """Create the engine (no connection is made yet).

        Raises:
            DatabaseError: As :func:`create_database_engine`.
        """
        self.engine = create_database_engine(url, busy_timeout_s=busy_timeout_s, echo=echo)
        writer = self.engine
        if self.backend == "sqlite":
            writer = self.engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        self._reading = sessionmaker(self.engine, expire_on_commit=False)
        self._writing = sessionmaker(writer, expire_on_commit=False)
        for factory in (self._reading, self._writing):
            event.listen(factory, "before_flush", check_before_flush)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        """The URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def session(self) -> Session:
        """Return a new session for reading (the caller closes it; use it as a context manager).

        On SQLite its transactions begin deferred: it can write too, but a write
        that meets another writer may fail with "database is locked" instead of
        waiting. Write with :meth:`transaction`.
        """
        return self._reading()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """Run a block as one write transaction: commit at the end, roll back on any exception.

        Raises:
            ConstraintViolation: When the database refuses the writes (naming the
                field when it can); nothing of the block is kept.
        """
        session = self._writing()
        try:
            yield session
            session.commit()
        except IntegrityError as exc:
            session.rollback()
            raise explain_integrity_error(exc, Base.metadata) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"<Database {self.url}>"
