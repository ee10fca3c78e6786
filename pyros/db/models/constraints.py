"""Observing constraints of a sequence: time windows, preferred time, priority, airmass, Moon."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyros.db.base import Base
from pyros.db.errors import InvalidField
from pyros.db.field_rules import field_rule

if TYPE_CHECKING:
    from pyros.db.models.requests import ObservationSequence


class ObservingConstraints(Base):
    """When and how a sequence may be observed (one row per sequence).

    Attributes:
        sequence_id: The sequence constrained (also the primary key).
        priority: A positive number; larger is more important.
        preferred_time: When the observer would like it done, if anywhere in
            particular; it must fall inside one of the time windows when there are any.
        max_airmass: Largest airmass allowed (at least 1), or ``None`` for no limit.
        min_moon_distance_deg: Smallest angular distance to the Moon in degrees
            ([0, 180]), or ``None`` for no limit.
        time_windows: Intervals in which the sequence may run (none: any time).
    """

    __tablename__ = "observing_constraints"

    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"), primary_key=True)
    priority: Mapped[float] = mapped_column(default=1.0, info=field_rule(gt=0.0))
    preferred_time: Mapped[datetime | None]
    max_airmass: Mapped[float | None] = mapped_column(info=field_rule(ge=1.0))
    min_moon_distance_deg: Mapped[float | None] = mapped_column(info=field_rule(ge=0.0, le=180.0))

    sequence: Mapped[ObservationSequence] = relationship(back_populates="constraints")
    time_windows: Mapped[list[TimeWindow]] = relationship(
        back_populates="constraints", cascade="all, delete-orphan", order_by="TimeWindow.start_at")

    def check_row(self) -> None:
        """Require the preferred time to lie inside a time window when windows are given."""
        if self.preferred_time is None or not self.time_windows:
            return
        if not any(w.start_at <= self.preferred_time <= w.end_at for w in self.time_windows
                   if w.start_at is not None and w.end_at is not None):
            raise InvalidField("observing_constraints.preferred_time", self.preferred_time,
                               "must fall inside one of the sequence's time windows")


class TimeWindow(Base):
    """An interval in which a sequence may be observed.

    Attributes:
        id: Primary key.
        sequence_id: The constraints (of a sequence) it belongs to.
        start_at: Start of the window.
        end_at: End of the window, after the start.
    """

    __tablename__ = "time_windows"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="ordered", info={"field": "time_windows.end_at"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_id: Mapped[int] = mapped_column(
        ForeignKey("observing_constraints.sequence_id", ondelete="CASCADE"), index=True)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]

    constraints: Mapped[ObservingConstraints] = relationship(back_populates="time_windows")

    def check_row(self) -> None:
        """Require the window to end after it starts."""
        if self.start_at is not None and self.end_at is not None and not self.end_at > self.start_at:
            raise InvalidField("time_windows.end_at", self.end_at, f"must be after start_at {self.start_at}")
