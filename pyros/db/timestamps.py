"""Instants stored in the database: aware UTC datetimes, and the observatory's "now".

Every instant in the data model is a timezone-aware :class:`~datetime.datetime`
in UTC. PostgreSQL stores it as ``TIMESTAMP WITH TIME ZONE``; SQLite, which has
no date type, as ISO text of the UTC instant. A naive datetime is refused
(it would be ambiguous), and values read back are always aware UTC.

Rows created by PyROS are stamped with observatory time
(:func:`observatory_now`, from :mod:`pyros.clock`), never with the database
server's clock, so a simulated night writes simulated instants.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from pyros.clock import get_clock


def observatory_now() -> datetime:
    """Return the observatory time now (process-wide clock) as an aware UTC datetime."""
    return get_clock().now_datetime()


def as_utc(value: datetime, what: str) -> datetime:
    """Return ``value`` converted to UTC.

    Args:
        value: An aware datetime.
        what: What the value is, for the error message.

    Raises:
        ValueError: If ``value`` is not a datetime or has no time zone.
    """
    if not isinstance(value, datetime):
        raise ValueError(f"{what}: expected a timezone-aware datetime, got {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what}: datetime {value.isoformat()} has no time zone (give UTC explicitly)")
    return value.astimezone(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """A column type holding aware UTC datetimes on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to what the backend stores (naive UTC on SQLite)."""
        if value is None:
            return None
        utc = as_utc(value, "timestamp")
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return the stored instant as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
