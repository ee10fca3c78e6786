"""Alerts: transient events received from outside (VOEvents, e.g. gamma-ray bursts)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyros.db.base import Base
from pyros.db.errors import InvalidField
from pyros.db.field_rules import field_rule
from pyros.db.timestamps import observatory_now

if TYPE_CHECKING:
    from pyros.db.models.requests import ObservationRequest

ALERT_ROLES: tuple[str, ...] = ("observation", "test", "utility")
"""The VOEvent ``role`` attribute: a real event, a test, or a utility message."""


class Alert(Base):
    """One received alert and the follow-up request it caused, if any.

    Attributes:
        id: Primary key.
        ivorn: The event's unique identifier (VOEvent IVORN).
        role: One of :data:`ALERT_ROLES`.
        received_at: When it arrived (observatory time).
        event_at: When the event itself happened, if given.
        ra_deg: Right ascension of the event (ICRS degrees in [0, 360)), if given.
        dec_deg: Declination of the event (degrees in [-90, 90]), given together with ``ra_deg``.
        error_radius_deg: Radius of the position's error circle in degrees (>= 0).
        payload: The alert as received (VOEvent XML text).
        request_id: The follow-up request created for it.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    ivorn: Mapped[str] = mapped_column(String(255), unique=True, info=field_rule(non_empty=True))
    role: Mapped[str] = mapped_column(String(16), default="observation", info=field_rule(choices=ALERT_ROLES))
    received_at: Mapped[datetime] = mapped_column(default=observatory_now, index=True)
    event_at: Mapped[datetime | None]
    ra_deg: Mapped[float | None] = mapped_column(info=field_rule(ge=0.0, lt=360.0))
    dec_deg: Mapped[float | None] = mapped_column(info=field_rule(ge=-90.0, le=90.0))
    error_radius_deg: Mapped[float | None] = mapped_column(info=field_rule(ge=0.0))
    payload: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="SET NULL"))

    request: Mapped[ObservationRequest | None] = relationship()

    def check_row(self) -> None:
        """Require both coordinates or neither."""
        if (self.ra_deg is None) != (self.dec_deg is None):
            raise InvalidField("alerts.dec_deg" if self.dec_deg is None else "alerts.ra_deg", None,
                               "ra_deg and dec_deg are given together or not at all")

    def __repr__(self) -> str:
        return f"<Alert {self.id} {self.ivorn!r}>"
