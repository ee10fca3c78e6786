"""Database fixtures: every test gets an empty database, on SQLite and on PostgreSQL.

Import the fixtures into a test module explicitly, with those they use::

    from tests.db_fixtures import database, postgres_module_database, sqlite_template  # noqa: F401
    from tests.db_fixtures import database_url  # noqa: F401  (an empty database, no schema)

Both are parametrised over the two backends. PostgreSQL databases are created
with unique names on the server named by ``PYROS_TEST_POSTGRES_URL`` (its role
may CREATE DATABASE) and dropped afterwards, so tests never see each other's
data:

* ``database_url``: an empty database without schema per test (SQLite: a new
  file in the test's directory; PostgreSQL: a new database).
* ``database``: a :class:`~pyros.db.engine.Database` at the newest schema with
  no rows. SQLite: a copy of a file migrated once per session. PostgreSQL: one
  database per test module, migrated once, every table emptied after each test
  (creating and migrating a PostgreSQL database takes about half a second).
Without that variable the PostgreSQL variant is skipped, with the reason (CI
sets it, and ``PYROS_REQUIRE_ALL=1`` turns the skip into a failure).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

import pyros.db.models  # noqa: F401  (registers every table)
from pyros.db.base import Base
from pyros.db.engine import Database
from pyros.db.migrate import upgrade

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

POSTGRES_URL_VARIABLE = "PYROS_TEST_POSTGRES_URL"
"""Environment variable naming a PostgreSQL server (and a database to connect to) for tests."""

BACKENDS = ("sqlite", "postgresql")

CONNECT_TIMEOUT_S = 10


def postgres_server_url() -> str:
    """Return the PostgreSQL URL for tests, or skip the test when there is none."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set, so there is no PostgreSQL server to test against "
                    f"(e.g. postgresql+psycopg://pyros:pyros@127.0.0.1:5432/pyros_test; CI sets it)")
    return url


def _server(server_url: str) -> URL:
    server = make_url(server_url)
    if server.drivername in ("postgresql", "postgres"):
        server = server.set(drivername="postgresql+psycopg")
    return server


def _admin_sql(server: URL, *statements: str) -> None:
    """Run statements outside any transaction on the server (CREATE/DROP DATABASE)."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool,
                          connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    try:
        with admin.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        admin.dispose()


def _database_url(server: URL, name: str) -> str:
    return server.set(database=name).update_query_dict(
        {"connect_timeout": str(CONNECT_TIMEOUT_S)}).render_as_string(hide_password=False)


@contextlib.contextmanager
def fresh_postgres_database(server_url: str, template: str | None = None) -> Iterator[str]:
    """Create a uniquely named database on the server; yield its URL; drop it afterwards.

    Args:
        server_url: URL of the server (and of a database to connect to for administration).
        template: A database to copy (default: an empty database).
    """
    server = _server(server_url)
    name = f"pyros_test_{uuid.uuid4().hex[:16]}"
    _admin_sql(server, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield _database_url(server, name)
    finally:
        _admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def backend_url(backend: str, directory: Path) -> contextlib.AbstractContextManager[str]:
    """Return a context manager giving the URL of an empty database of ``backend``."""
    if backend == "sqlite":
        return contextlib.nullcontext(f"sqlite:///{directory / 'pyros.db'}")
    return fresh_postgres_database(postgres_server_url())


class SqliteTemplate:
    """A SQLite database migrated to the newest schema once per test session, copied for each test."""

    def __init__(self, directory: Path) -> None:
        self._path = directory / "template.db"
        self._migrated = False

    def copy_to(self, destination: Path) -> str:
        """Copy the migrated database to ``destination``; return its URL."""
        if not self._migrated:
            db = Database(f"sqlite:///{self._path}")
            try:
                upgrade(db)
            finally:
                db.dispose()  # the last connection to close folds the write-ahead log into the file
            self._migrated = True
        shutil.copyfile(self._path, destination)
        return f"sqlite:///{destination}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    """The migrated SQLite template of this test session."""
    return SqliteTemplate(tmp_path_factory.mktemp("db-template"))


@pytest.fixture(scope="module")
def postgres_module_database() -> Iterator[str]:
    """URL of a database of this test module on the PostgreSQL test server, migrated to the newest schema."""
    with fresh_postgres_database(postgres_server_url()) as url:
        db = Database(url)
        try:
            upgrade(db)
        finally:
            db.dispose()
        yield url


def empty_all_tables(url: str) -> None:
    """Delete every row of the data model's tables and restart their ids (the schema stays)."""
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    engine = create_engine(_server(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")  # fail, not hang, on a leaked session
            connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database (no schema), SQLite or PostgreSQL (one test each)."""
    with backend_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[Database]:
    """A :class:`Database` at the newest schema with no rows, SQLite or PostgreSQL (one test each).

    SQLite: a copy of the session's migrated template in the test's directory.
    PostgreSQL: the test module's own database, emptied (every table truncated) after each test.
    """
    if request.param == "sqlite":
        db = Database(sqlite_template.copy_to(tmp_path / "pyros.db"))
        try:
            yield db
        finally:
            db.dispose()
        return
    url = request.getfixturevalue("postgres_module_database")
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()
        empty_all_tables(url)


# ---------------------------------------------------------------- a small site to test with

@dataclass(frozen=True)
class SiteRows:
    """Ids of the rows :func:`add_site` creates.

    Attributes:
        country_id: Country ``Testland``.
        user_id: Observer ``obs`` of that country.
        program_id: Program ``Survey``.
        camera_id: Camera device ``cam_vis``.
        target_id: Target ``M31``.
    """

    country_id: int
    user_id: int
    program_id: int
    camera_id: int
    target_id: int


def add_site(session: Session, *, user_hours: float = 10.0, country_hours: float = 100.0) -> SiteRows:
    """Add a country, an observer with quotas, a program, a camera and a target; flush; return their ids."""
    from pyros.db.models import Country, Device, Quota, ScientificProgram, Target, User

    country = Country(name="Testland")
    user = User(username="obs", role="observer", country=country)
    program = ScientificProgram(name="Survey")
    camera = Device(name="cam_vis", kind="camera")
    target = Target(name="M31", ra_deg=10.684708, dec_deg=41.26875)
    session.add_all([country, user, program, camera, target])
    session.flush()
    session.add_all([Quota(user_id=user.id, allocated_hours=user_hours),
                     Quota(country_id=country.id, allocated_hours=country_hours)])
    session.flush()
    return SiteRows(country.id, user.id, program.id, camera.id, target.id)


def add_request(session: Session, site: SiteRows, durations_s: list[float], *, name: str = "req",
                user_id: int | None = None, submit: bool = True) -> int:
    """Add a request of the site's observer with one sequence per duration; return its id.

    With ``submit`` it is created ``submitted`` (ready to be accepted), else ``draft``.
    """
    from pyros.db.models import Album, ObservationRequest, ObservationSequence, Plan

    request = ObservationRequest(
        name=name, user_id=user_id if user_id is not None else site.user_id, program_id=site.program_id,
        status="submitted" if submit else "draft",
        sequences=[ObservationSequence(name=f"{name}-{i}", target_id=site.target_id, planned_duration_s=seconds,
                                       albums=[Album(name="vis", detector_id=site.camera_id,
                                                     plans=[Plan(name="r", filter_name="r", exposure_s=10.0)])])
                   for i, seconds in enumerate(durations_s)])
    session.add(request)
    session.flush()
    return request.id
