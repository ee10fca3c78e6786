"""Thinning the environment history, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from pyros.automation import downsampling
from pyros.automation.downsampling import DownsamplingRule, downsample_history
from pyros.db.engine import Database
from pyros.db.models.history import EnvironmentSample
from tests.db_fixtures import database, postgres_module_database, sqlite_template  # noqa: F401

NOW = datetime(2024, 6, 20, 12, 0, tzinfo=timezone.utc)
RULE = DownsamplingRule(older_than_days=7, bucket_minutes=10)


def add_samples(db: Database, scope: str, quantity: str, start: datetime, count: int, step_s: float) -> None:
    with db.transaction() as session:
        session.add_all(EnvironmentSample(scope=scope, quantity=quantity, value=float(i), unit="",
                                          measured_at=start + timedelta(seconds=i * step_s)) for i in range(count))


def kept(db: Database, scope: str, quantity: str) -> list[tuple[datetime, float]]:
    with db.session() as session:
        return [tuple(row) for row in session.execute(  # type: ignore[misc]
            select(EnvironmentSample.measured_at, EnvironmentSample.value)
            .where(EnvironmentSample.scope == scope, EnvironmentSample.quantity == quantity)
            .order_by(EnvironmentSample.measured_at, EnvironmentSample.id))]


def test_old_rows_keep_one_per_quantity_per_bucket(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(downsampling, "PAGE_ROWS", 7)  # several pages per series
    old_start = NOW - timedelta(days=8)                # 2024-06-12 12:00, a bucket boundary
    add_samples(database, "weather", "wind_speed", old_start, 60, 60.0)      # one hour every minute: 6 buckets
    add_samples(database, "site", "temperature", old_start + timedelta(seconds=30), 30, 120.0)  # 1 h every 2 min
    recent = NOW - timedelta(days=1)
    add_samples(database, "weather", "wind_speed", recent, 20, 60.0)         # recent: untouched
    result = downsample_history(database, RULE, NOW.timestamp())
    assert result == {"cutoff": "2024-06-13T12:00:00Z", "series": 2, "examined": 90, "deleted": 90 - 6 - 6}
    wind = kept(database, "weather", "wind_speed")
    assert [at for at, _ in wind[:6]] == [old_start + timedelta(minutes=10 * i) for i in range(6)]  # earliest each
    assert len(wind) == 6 + 20
    temperature = kept(database, "site", "temperature")
    assert [value for _, value in temperature] == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    again = downsample_history(database, RULE, NOW.timestamp())
    assert again["deleted"] == 0 and again["examined"] == 12   # idempotent


def test_the_cutoff_is_moved_back_to_a_bucket_boundary_and_equal_instants_keep_the_smallest_id(
        database: Database) -> None:  # noqa: F811
    now = NOW - timedelta(minutes=5)                  # now - 7 days = 11:55, so the cut-off is 11:50
    cutoff = NOW - timedelta(days=7, minutes=10)
    add_samples(database, "weather", "rain", cutoff - timedelta(minutes=5), 3, 0.0)  # three at 11:45
    add_samples(database, "weather", "rain", cutoff + timedelta(minutes=3), 1, 0.0)  # 11:53 and 11:58: older than
    add_samples(database, "weather", "rain", cutoff + timedelta(minutes=8), 1, 0.0)  # now - 7 days, but not whole
    with database.session() as session:
        ids = list(session.scalars(select(EnvironmentSample.id).order_by(EnvironmentSample.id)))
    result = downsample_history(database, RULE, now.timestamp())
    assert result["cutoff"] == "2024-06-13T11:50:00Z" and result["deleted"] == 2
    with database.session() as session:
        remaining = list(session.scalars(select(EnvironmentSample.id).order_by(EnvironmentSample.id)))
    assert remaining == [ids[0], ids[3], ids[4]]      # the first of the three equal rows stays


def test_the_scope_limits_what_is_thinned(database: Database) -> None:  # noqa: F811
    old = NOW - timedelta(days=30)
    add_samples(database, "weather", "wind_speed", old, 10, 1.0)
    add_samples(database, "site", "humidity", old, 10, 1.0)
    result = downsample_history(database, DownsamplingRule(7, 10, "site"), NOW.timestamp())
    assert (result["series"], result["deleted"]) == (1, 9)
    assert len(kept(database, "weather", "wind_speed")) == 10 and len(kept(database, "site", "humidity")) == 1


@pytest.mark.parametrize(("table", "message"), [
    ({"bucket_minutes": 10}, r"older_than_days is missing"),
    ({"older_than_days": 7}, r"bucket_minutes is missing"),
    ({"older_than_days": 0, "bucket_minutes": 10}, r"older_than_days must be a number > 0"),
    ({"older_than_days": 7, "bucket_minutes": "10"}, r"bucket_minutes must be a number > 0"),
    ({"older_than_days": 7, "bucket_minutes": 10, "scope": "moon"}, r"scope must be one of weather, site"),
    ({"older_than_days": 7, "bucket_minutes": 10, "keep": "last"}, r"unknown field\(s\) keep"),
])
def test_bad_rules_are_refused(table: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DownsamplingRule.from_mapping(table, where="jobs[0].action.args")
