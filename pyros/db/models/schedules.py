"""Schedules: the plan of a night, as timed entries of sequences and the sequences left out.

A schedule is computed by the ``scheduler`` service (:mod:`pyros.scheduling.store`
writes it): its entries say when each planned sequence runs, its unplaced rows
say why each other plannable sequence is not in it (a machine-readable reason
of :class:`pyros.scheduling.plan.UnplacedReason`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from pyros.db.base import Base
from pyros.db.errors import InvalidField
from pyros.db.field_rules import field_rule
from pyros.db.timestamps import observatory_now

if TYPE_CHECKING:
    from pyros.db.models.requests import ObservationSequence


SCHEDULE_TRIGGERS: tuple[str, ...] = ("night_start", "new_request", "cancelled", "alert", "conditions", "failed",
                                      "manual", "sequences_changed")
"""Why a schedule was computed: the night started; a request arrived or was cancelled; an alert;
the conditions changed; a sequence failed; an operator asked; the plannable sequences changed."""


def _night_start_of_row(context: DefaultExecutionContext) -> datetime:
    """Default of ``schedules.planned_from``: the night's start of the row being inserted."""
    night_start: datetime = context.get_current_parameters()["night_start"]
    return night_start


class Schedule(Base):
    """A schedule computed for one night (the newest for a night is the one to execute).

    Attributes:
        id: Primary key.
        night_start: Start of the night scheduled.
        night_end: End of the night, after its start.
        planned_from: The instant the plan starts (the night's start, or "now" for a
            plan made during the night), within the night; the night's start when not given.
        trigger: Why it was computed, one of :data:`SCHEDULE_TRIGGERS` (``manual`` when not given).
        objective: What the plan is worth (sum of priority x duration of its planned
            sequences, the running one excluded), >= 0.
        created_at: When it was computed (observatory time).
        created_by: What computed it (e.g. ``scheduler``).
        entries: Its entries, by start time.
        unplaced: The plannable sequences it leaves out, with the reason, by sequence id.
    """

    __tablename__ = "schedules"
    __table_args__ = (
        CheckConstraint("night_end > night_start", name="ordered", info={"field": "schedules.night_end"}),
        CheckConstraint("planned_from >= night_start AND planned_from <= night_end", name="planned_in_night",
                        info={"field": "schedules.planned_from"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    night_start: Mapped[datetime] = mapped_column(index=True)
    night_end: Mapped[datetime]
    planned_from: Mapped[datetime] = mapped_column(default=_night_start_of_row)
    trigger: Mapped[str] = mapped_column(String(32), default="manual", info=field_rule(choices=SCHEDULE_TRIGGERS))
    objective: Mapped[float] = mapped_column(default=0.0, info=field_rule(ge=0.0))
    created_at: Mapped[datetime] = mapped_column(default=observatory_now)
    created_by: Mapped[str] = mapped_column(String(64), default="scheduler", info=field_rule(non_empty=True))

    entries: Mapped[list[ScheduleEntry]] = relationship(back_populates="schedule", cascade="all, delete-orphan",
                                                        order_by="ScheduleEntry.start_at")
    unplaced: Mapped[list[ScheduleUnplaced]] = relationship(back_populates="schedule", cascade="all, delete-orphan",
                                                            order_by="ScheduleUnplaced.sequence_id")

    def check_row(self) -> None:
        """Require the night to end after it starts, and the plan to start within it."""
        if self.night_start is None or self.night_end is None:
            return
        if not self.night_end > self.night_start:
            raise InvalidField("schedules.night_end", self.night_end, f"must be after night_start {self.night_start}")
        if self.planned_from is not None and not self.night_start <= self.planned_from <= self.night_end:
            raise InvalidField("schedules.planned_from", self.planned_from,
                               f"must lie within the night {self.night_start.isoformat()} .. "
                               f"{self.night_end.isoformat()}")

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
        transition_s: Seconds of slew, settling and filter change before it (they end
            at or before ``start_at``), >= 0.
        running: True for the sequence that was being executed when the schedule was
            made (kept as it was; an entry running since before the night is stored
            from the night's start).
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
    transition_s: Mapped[float] = mapped_column(default=0.0, info=field_rule(ge=0.0))
    running: Mapped[bool] = mapped_column(default=False)

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


class ScheduleUnplaced(Base):
    """A plannable sequence that a schedule leaves out, and why.

    Attributes:
        id: Primary key.
        schedule_id: The schedule.
        sequence_id: The sequence (at most once per schedule).
        reason: The machine-readable reason, a :class:`pyros.scheduling.plan.UnplacedReason`
            value (``never_visible``, ``window_too_short``, ``lost_to_higher_priority``...).
        detail: The reason in one sentence for people.
        blockers: Ids of the planned sequences holding the time where it could have run
            (for the reasons that depend on the rest of the plan; empty otherwise).
    """

    __tablename__ = "schedule_unplaced"
    __table_args__ = (UniqueConstraint("schedule_id", "sequence_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"), index=True)
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(32), info=field_rule(non_empty=True))
    detail: Mapped[str] = mapped_column(Text, default="")
    blockers: Mapped[list[int]] = mapped_column(JSON, default=list)

    schedule: Mapped[Schedule] = relationship(back_populates="unplaced")
    sequence: Mapped[ObservationSequence] = relationship()

    def check_row(self) -> None:
        """Require the blockers to be a list of sequence ids."""
        if self.blockers is not None and (not isinstance(self.blockers, list) or not all(
                isinstance(b, int) and not isinstance(b, bool) for b in self.blockers)):
            raise InvalidField("schedule_unplaced.blockers", self.blockers, "must be a list of sequence ids")

    def __repr__(self) -> str:
        return f"<ScheduleUnplaced {self.id} sequence={self.sequence_id} {self.reason}>"
