"""Opening the database: URLs, SQLite settings, transactions, timestamps, refused writes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text

from pyros.db.engine import Database, create_database_engine, database_url as parse_database_url
from pyros.db.errors import ConstraintViolation, DatabaseError, InvalidField
from pyros.db.models import AuditEntry, Country, Target, User
from tests.db_fixtures import database, postgres_module_database, sqlite_template  # noqa: F401


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "still" / "pyros.db"
    engine = create_database_engine(f"sqlite:///{path}", busy_timeout_s=2.5)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500
        assert path.exists()
    finally:
        engine.dispose()


def test_sqlite_transactions_are_real_transactions_ddl_included(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 't.db'}")
    try:
        with pytest.raises(RuntimeError):
            with engine.begin() as connection:
                connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
                connection.exec_driver_sql("INSERT INTO t VALUES (1)")
                raise RuntimeError("roll back")
        with engine.connect() as connection:
            assert connection.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 't'").scalar() == 0
    finally:
        engine.dispose()


def test_a_bare_postgresql_url_is_served_by_psycopg_3() -> None:
    assert parse_database_url("postgresql://pyros@dbhost/pyros").drivername == "postgresql+psycopg"
    assert parse_database_url("sqlite:///var/pyros.db").drivername == "sqlite"


@pytest.mark.parametrize(("url", "needle"), [
    ("not a url", "invalid database URL 'not a url'"),
    ("mysql://u:secret@h/db", "unsupported database 'mysql'"),
])
def test_bad_urls_are_refused_by_name(url: str, needle: str) -> None:
    with pytest.raises(DatabaseError, match=needle) as caught:
        Database(url)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("timeout", [-1.0, "5", True])
def test_a_bad_busy_timeout_is_refused(tmp_path: Path, timeout: object) -> None:
    with pytest.raises(DatabaseError, match="busy_timeout_s must be a number of seconds >= 0"):
        create_database_engine(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_s=timeout)  # type: ignore[arg-type]


def test_url_hides_the_password() -> None:
    db = Database("postgresql://pyros:secret@127.0.0.1:1/pyros")
    assert "secret" not in db.url and "***" in db.url
    assert db.backend == "postgresql"
    db.dispose()


def test_transaction_commits_at_the_end(database: Database) -> None:
    with database.transaction() as session:
        session.add(Country(name="France"))
    with database.session() as session:
        assert session.scalars(select(Country.name)).all() == ["France"]


def test_transaction_rolls_back_everything_on_an_exception(database: Database) -> None:
    with pytest.raises(KeyError):
        with database.transaction() as session:
            session.add(Country(name="France"))
            session.flush()
            raise KeyError("abandon")
    with database.session() as session:
        assert session.scalars(select(Country)).all() == []


def test_objects_stay_readable_after_their_transaction(database: Database) -> None:
    with database.transaction() as session:
        country = Country(name="Chile")
        session.add(country)
    assert country.name == "Chile" and isinstance(country.id, int)


def test_a_duplicate_is_reported_with_its_field(database: Database) -> None:
    with database.transaction() as session:
        session.add(User(username="alice"))
    with pytest.raises(ConstraintViolation, match="users.username: the value is already used") as caught:
        with database.transaction() as session:
            session.add(Country(name="Kept only if the whole transaction commits"))
            session.add(User(username="alice"))
    assert caught.value.field == "users.username"
    with database.session() as session:
        assert session.scalars(select(Country)).all() == []


def test_a_check_refused_by_the_database_names_its_field(database: Database) -> None:
    """Rows written without the ORM's checks are held to the same rules by CHECK constraints."""
    with pytest.raises(ConstraintViolation, match=r"targets.ra_deg: must be >= 0 and < 360") as caught:
        with database.transaction() as session:
            session.execute(text("INSERT INTO targets (name, ra_deg, dec_deg) VALUES ('bad', 400.0, 0.0)"))
    assert caught.value.constraint == "ck_targets_ra_deg"


def test_a_missing_value_refused_by_the_database_names_its_field(database: Database) -> None:
    with pytest.raises(ConstraintViolation, match=r"targets.dec_deg: is required"):
        with database.transaction() as session:
            session.execute(text("INSERT INTO targets (name, ra_deg) VALUES ('bad', 10.0)"))


def test_a_dangling_reference_written_directly_is_refused(database: Database) -> None:
    with pytest.raises(ConstraintViolation, match="FOREIGN KEY|users.country_id"):
        with database.transaction() as session:
            session.execute(text("INSERT INTO users (username, full_name, role, country_id, active, created_at) "
                                 "VALUES ('x', '', 'observer', 999, true, '2030-01-01 00:00:00')"))


def test_instants_come_back_as_aware_utc(database: Database) -> None:
    paris = timezone(timedelta(hours=2))
    written = datetime(2030, 6, 1, 23, 30, 15, 123456, tzinfo=paris)
    with database.transaction() as session:
        session.add(AuditEntry(at=written, actor="t", action="test.write"))
    with database.session() as session:
        read = session.scalars(select(AuditEntry.at)).one()
    assert read == written and read.tzinfo == timezone.utc and read.hour == 21


def test_instants_compare_in_sql_as_instants(database: Database) -> None:
    base = datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc)
    with database.transaction() as session:
        session.add_all([AuditEntry(at=base + timedelta(minutes=m), actor="t", action=f"a{m}") for m in (5, 1, 30)])
    with database.session() as session:
        later = session.scalars(select(AuditEntry.action).where(AuditEntry.at > base + timedelta(minutes=2))
                                .order_by(AuditEntry.at)).all()
    assert later == ["a5", "a30"]


def test_a_naive_datetime_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidField, match="audit_log.at: must be a timezone-aware datetime"):
        AuditEntry(at=datetime(2030, 1, 1), actor="t", action="x")


def test_rows_are_stamped_with_observatory_time(database: Database) -> None:
    from pyros.clock import Clock, set_clock

    start = datetime(2031, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    previous = set_clock(Clock.simulated(start=start.timestamp(), speed=1.0))
    try:
        with database.transaction() as session:
            session.add(Target(name="Vega", ra_deg=279.23, dec_deg=38.78))
            session.add(AuditEntry(actor="t", action="stamp"))
    finally:
        set_clock(previous)
    with database.session() as session:
        stamped = session.scalars(select(AuditEntry.at)).one()
    assert timedelta(0) <= stamped - start < timedelta(minutes=5)
