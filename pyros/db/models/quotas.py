"""Quotas of observing time, per user and per country, and the ledger of what was charged.

A quota belongs to exactly one user or one country. Amounts are whole
seconds, so charges and refunds add up exactly; :attr:`Quota.allocated_hours`
and :attr:`Quota.remaining_hours` give hours. The database itself refuses a
quota whose used time exceeds its allocation. Every charge and refund is one
:class:`QuotaCharge` row (positive: charged, negative: refunded), so a refund
gives back exactly what a request was charged, to the quotas it was charged to.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyros.db.base import Base
from pyros.db.errors import InvalidField
from pyros.db.field_rules import field_rule
from pyros.db.timestamps import observatory_now

if TYPE_CHECKING:
    from pyros.db.models.countries import Country
    from pyros.db.models.users import User

SECONDS_PER_HOUR = 3600


class Quota(Base):
    """Observing time allocated to one user or one country, and how much is used.

    Attributes:
        id: Primary key.
        user_id: The user it belongs to (``None`` for a country quota).
        country_id: The country it belongs to (``None`` for a user quota).
        allocated_seconds: Observing time granted.
        used_seconds: Observing time charged to accepted requests (at most the allocation).
    """

    __tablename__ = "quotas"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (country_id IS NULL)", name="one_owner",
                        info={"field": "quotas.user_id"}),
        CheckConstraint("used_seconds <= allocated_seconds", name="within_allocation",
                        info={"field": "quotas.used_seconds"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    country_id: Mapped[int | None] = mapped_column(ForeignKey("countries.id", ondelete="CASCADE"), unique=True)
    allocated_seconds: Mapped[int] = mapped_column(info=field_rule(ge=0))
    used_seconds: Mapped[int] = mapped_column(default=0, info=field_rule(ge=0))

    user: Mapped[User | None] = relationship()
    country: Mapped[Country | None] = relationship()

    @property
    def remaining_seconds(self) -> int:
        """Observing time still available, in seconds."""
        return self.allocated_seconds - (self.used_seconds or 0)

    @property
    def allocated_hours(self) -> float:
        """Observing time granted, in hours."""
        return self.allocated_seconds / SECONDS_PER_HOUR

    @allocated_hours.setter
    def allocated_hours(self, hours: float) -> None:
        if isinstance(hours, bool) or not isinstance(hours, (int, float)):
            raise InvalidField("quotas.allocated_seconds", hours, "hours must be a number")
        self.allocated_seconds = round(hours * SECONDS_PER_HOUR)

    @property
    def remaining_hours(self) -> float:
        """Observing time still available, in hours."""
        return self.remaining_seconds / SECONDS_PER_HOUR

    @property
    def label(self) -> str:
        """Which quota this is, for messages: ``user 'alice'`` or ``country 'France'``."""
        if self.country_id is not None:
            return f"country {self.country.name!r}" if self.country is not None else f"country #{self.country_id}"
        return f"user {self.user.username!r}" if self.user is not None else f"user #{self.user_id}"

    def check_row(self) -> None:
        """Require exactly one owner and no more used time than allocated."""
        if (self.user_id is None and self.user is None) == (self.country_id is None and self.country is None):
            raise InvalidField("quotas.user_id", (self.user_id, self.country_id),
                               "a quota belongs to exactly one user or one country (user_id, country_id)")
        if (self.used_seconds or 0) > self.allocated_seconds:
            raise InvalidField("quotas.allocated_seconds", self.allocated_seconds,
                               f"must be at least the {self.used_seconds} s already used")

    def __repr__(self) -> str:
        return f"<Quota {self.id} {self.label} {self.used_seconds}/{self.allocated_seconds} s>"


class QuotaCharge(Base):
    """One movement of observing time on a quota: a charge (> 0) or a refund (< 0).

    Attributes:
        id: Primary key.
        quota_id: The quota charged or refunded.
        request_id: The request concerned (``None`` once the request is deleted).
        seconds: Seconds charged (positive) or refunded (negative).
        reason: The request status that caused it (``accepted``, ``cancelled``, ``failed``).
        at: When (observatory time).
    """

    __tablename__ = "quota_charges"

    id: Mapped[int] = mapped_column(primary_key=True)
    quota_id: Mapped[int] = mapped_column(ForeignKey("quotas.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="SET NULL"), index=True)
    seconds: Mapped[int]
    reason: Mapped[str] = mapped_column(String(32), info=field_rule(non_empty=True))
    at: Mapped[datetime] = mapped_column(default=observatory_now)

    quota: Mapped[Quota] = relationship()

    def check_row(self) -> None:
        """Refuse a movement of zero seconds."""
        if self.seconds == 0:
            raise InvalidField("quota_charges.seconds", self.seconds, "must not be zero")

    def __repr__(self) -> str:
        return f"<QuotaCharge {self.id} quota={self.quota_id} request={self.request_id} {self.seconds:+d} s>"
