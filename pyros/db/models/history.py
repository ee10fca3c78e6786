"""History of the environment: time series of weather and site quantities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from pyros.db.base import Base
from pyros.db.field_rules import field_rule

ENVIRONMENT_SCOPES: tuple[str, ...] = ("weather", "site")
"""``weather``: outside the observatory; ``site``: inside it (the K/V ``/env/weather`` and ``/env/site``)."""


class EnvironmentSample(Base):
    """One measurement of a named quantity, with its unit.

    Attributes:
        id: Primary key.
        scope: One of :data:`ENVIRONMENT_SCOPES`.
        quantity: Name of the quantity, e.g. ``wind_speed``.
        value: The measured value.
        unit: Its unit, e.g. ``m/s`` (empty for dimensionless values).
        sensor: The sensor that measured it, if known.
        measured_at: When it was measured.
    """

    __tablename__ = "environment_history"
    __table_args__ = (
        Index(None, "scope", "quantity", "measured_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16), info=field_rule(choices=ENVIRONMENT_SCOPES))
    quantity: Mapped[str] = mapped_column(String(64), info=field_rule(non_empty=True))
    value: Mapped[float]
    unit: Mapped[str] = mapped_column(String(32), default="")
    sensor: Mapped[str | None] = mapped_column(String(64))
    measured_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<EnvironmentSample {self.scope}/{self.quantity}={self.value:g} {self.unit} at {self.measured_at}>"
