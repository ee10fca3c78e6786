"""Schedules: the plan of a night, as timed entries of sequences."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from pyros.db.base import Base
from pyros.db.errors import InvalidField
from pyros.db.field_rules import field_rule
from pyros.db.timestamps import observatory_now

if TYPE_CHECKING:
    from pyros.db.models.requests import ObservationSequence


class Schedule(Base):
    """A schedule computed for one night (the newest for a night is the one to execute).

    Attributes:
        id: Primary key.
        night_start: Start of the period scheduled.
        night_end: End of the period scheduled, after its start.
        created_at: When it was computed (observatory time).
        created_by: What computed it (e.g. ``scheduler``).
        entries: Its entries, by start time.
    """

    __tablename__ = "schedules"
    __table_args__ = (
        CheckConstraint("night_end > night_start", name="ordered", info={"field": "schedules.night_end"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    night_start: Mapped[datetime] = mapped_column(index=True)
    night_end: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=observatory_now)
    created_by: Mapped[str] = mapped_column(String(64), default="scheduler", info=field_rule(non_empty=True))

    entries: Mapped[list[ScheduleEntry]] = relationship(back_populates="schedule", cascade="all, delete-orphan",
                                                        order_by="ScheduleEntry.start_at")

    def check_row(self) -> None:
        """Require the night to end after it starts."""
        if self.night_start is not None and self.night_end is not None and not self.night_end > self.night_start:
            raise InvalidField("schedules.night_end", self.night_end, f"must be after night_start {self.night_start}")

    def __repr__(self) -> str:
        return f"<Schedule {self.id} {self.night_start}..{self.night_end}>"


class ScheduleEntry(Base):
    """When a schedule runs one sequence.

    Attributes:
        id: Primary key.
        schedule_id: The schedule.
        sequence_id: The sequence (at most once per schedule).
        start_at: Planned start.
        end_at: Planned end, after the start, within the schedule's night.
    """

    __tablename__ = "schedule_entries"
    __table_args__ = (
        UniqueConstraint("schedule_id", "sequence_id"),
        CheckConstraint("end_at > start_at", name="ordered", info={"field": "schedule_entries.end_at"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"), index=True)
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"), index=True)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]

    schedule: Mapped[Schedule] = relationship(back_populates="entries")
    sequence: Mapped[ObservationSequence] = relationship()

    def check_row(self) -> None:
        """Require the entry to end after it starts and to lie within its schedule's night."""
        if self.start_at is None or self.end_at is None:
            return
        if not self.end_at > self.start_at:
            raise InvalidField("schedule_entries.end_at", self.end_at, f"must be after start_at {self.start_at}")
        night = self.schedule
        session = object_session(self)
        if night is None and self.schedule_id is not None and session is not None:
            night = session.get(Schedule, self.schedule_id)
        if night is not None and night.night_start is not None and night.night_end is not None and not (
                night.night_start <= self.start_at and self.end_at <= night.night_end):
            raise InvalidField("schedule_entries.start_at", (self.start_at, self.end_at),
                               f"the entry must lie within its schedule's night "
                               f"{night.night_start.isoformat()} .. {night.night_end.isoformat()}")

    def __repr__(self) -> str:
        return f"<ScheduleEntry {self.id} sequence={self.sequence_id} {self.start_at}..{self.end_at}>"
