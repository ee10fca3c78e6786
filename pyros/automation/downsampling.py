"""Thinning the environment history: one sample per quantity per time bucket for old rows.

The rule ``{older_than_days = 7, bucket_minutes = 10}`` keeps, for each ``(scope, quantity)``
and each 10-minute bucket older than 7 days, the earliest sample (the smallest id among equal
instants) and deletes the others. Buckets are aligned on the UNIX epoch, and only whole buckets
older than the cut-off are thinned (the cut-off is moved back to a bucket boundary), so running
the rule again deletes nothing new until time moves on: it is idempotent.

Rows are read series by series, page by page (keyset pagination on ``(measured_at, id)``), and
deleted by id in the same transaction as the page, so memory stays bounded on millions of rows
and the same code runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, or_, select

from pyros.clock import format_instant
from pyros.db.models.history import ENVIRONMENT_SCOPES, EnvironmentSample

if TYPE_CHECKING:
    from pyros.db.engine import Database

__all__ = ["PAGE_ROWS", "DownsamplingRule", "downsample_history"]

PAGE_ROWS = 5000
"""Rows read per query."""

_KEYS = {"older_than_days", "bucket_minutes", "scope"}


def _positive(where: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{where}.{name} must be a number > 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class DownsamplingRule:
    """Which rows are thinned, and how much.

    Attributes:
        older_than_days: Only samples older than this many days (observatory time) are thinned.
        bucket_minutes: One sample is kept per quantity per bucket of this many minutes.
        scope: Only this scope (``weather`` or ``site``); ``None`` for both.
    """

    older_than_days: float
    bucket_minutes: float
    scope: str | None = None

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], *, where: str = "downsampling") -> DownsamplingRule:
        """Read the rule from ``{older_than_days, bucket_minutes, scope?}``.

        Args:
            table: The rule's table.
            where: Where the table is, for error messages.

        Raises:
            ValueError: Naming ``where`` and the field at fault.
        """
        if not isinstance(table, Mapping):
            raise ValueError(f"{where} must be a table, got {type(table).__name__} {table!r}")
        unknown = set(table) - _KEYS
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))} "
                             f"(allowed: {', '.join(sorted(_KEYS))})")
        for name in ("older_than_days", "bucket_minutes"):
            if name not in table:
                raise ValueError(f"{where}.{name} is missing")
        scope = table.get("scope")
        if scope is not None and scope not in ENVIRONMENT_SCOPES:
            raise ValueError(f"{where}.scope must be one of {', '.join(ENVIRONMENT_SCOPES)}, got {scope!r}")
        return cls(_positive(where, "older_than_days", table["older_than_days"]),
                   _positive(where, "bucket_minutes", table["bucket_minutes"]), scope)

    @property
    def bucket_s(self) -> float:
        """Length of a bucket in seconds."""
        return self.bucket_minutes * 60.0

    def cutoff(self, now: float) -> float:
        """The instant before which rows are thinned: ``now - older_than_days``, moved back to a bucket boundary."""
        return math.floor((now - self.older_than_days * 86400.0) / self.bucket_s) * self.bucket_s


def downsample_history(database: Database, rule: DownsamplingRule, now: float) -> dict[str, Any]:
    """Apply a rule to the environment history.

    Args:
        database: The database holding ``environment_history``.
        rule: What to thin.
        now: Observatory UNIX seconds now.

    Returns:
        ``cutoff`` (ISO 8601), ``series`` (quantities looked at), ``examined`` (old rows read) and
        ``deleted`` (rows removed).
    """
    cutoff_s = rule.cutoff(now)
    cutoff = datetime.fromtimestamp(cutoff_s, tz=timezone.utc)
    old = EnvironmentSample.measured_at < cutoff
    series_query = select(EnvironmentSample.scope, EnvironmentSample.quantity).where(old).distinct()
    if rule.scope is not None:
        series_query = series_query.where(EnvironmentSample.scope == rule.scope)
    with database.session() as session:
        series = sorted((scope, quantity) for scope, quantity in session.execute(series_query))
    examined = deleted = 0
    for scope, quantity in series:
        last_bucket: int | None = None
        position: tuple[datetime, int] | None = None
        while True:
            with database.transaction() as session:
                query = (select(EnvironmentSample.id, EnvironmentSample.measured_at)
                         .where(EnvironmentSample.scope == scope, EnvironmentSample.quantity == quantity, old)
                         .order_by(EnvironmentSample.measured_at, EnvironmentSample.id).limit(PAGE_ROWS))
                if position is not None:
                    at, row_id = position
                    query = query.where(or_(EnvironmentSample.measured_at > at,
                                            and_(EnvironmentSample.measured_at == at, EnvironmentSample.id > row_id)))
                rows = [(row_id, at) for row_id, at in session.execute(query)]
                if not rows:
                    break
                doomed: list[int] = []
                for row_id, measured_at in rows:
                    bucket = math.floor(measured_at.timestamp() / rule.bucket_s)
                    if bucket == last_bucket:
                        doomed.append(row_id)
                    last_bucket = bucket
                if doomed:
                    session.execute(delete(EnvironmentSample).where(EnvironmentSample.id.in_(doomed)))
                examined += len(rows)
                deleted += len(doomed)
                position = rows[-1][1], rows[-1][0]
            if len(rows) < PAGE_ROWS:
                break
    return {"cutoff": format_instant(cutoff_s), "series": len(series), "examined": examined, "deleted": deleted}
