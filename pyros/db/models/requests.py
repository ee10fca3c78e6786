"""Observation requests and their sequences.

A request (by a user, under a scientific program) holds sequences; a
sequence points at one target under one set of constraints and holds albums
(one per detector), which hold plans (exposures). The ``status`` of both
follows :mod:`pyros.db.lifecycle`: a new row starts in an initial status and a
stored row changes status only through :mod:`pyros.db.request_workflow`.

The classes are called ``ObservationRequest`` and ``ObservationSequence``
(tables ``requests`` and ``sequences``) to keep them apart from MDP requests
and from SQLAlchemy's ``Sequence``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyros.db.base import Base
from pyros.db.field_rules import field_rule
from pyros.db.lifecycle import RequestStatus, SequenceStatus, guard_status_assignment
from pyros.db.timestamps import observatory_now

if TYPE_CHECKING:
    from pyros.db.models.albums import Album
    from pyros.db.models.constraints import ObservingConstraints
    from pyros.db.models.programs import ScientificProgram
    from pyros.db.models.targets import Target
    from pyros.db.models.users import User


class ObservationRequest(Base):
    """An observation request.

    Attributes:
        id: Primary key.
        name: Title given by its author.
        user_id: The user who made it (whose quota, and whose country's, pay for it).
        program_id: The scientific program it belongs to.
        status: A :class:`~pyros.db.lifecycle.RequestStatus` value (``draft`` when created).
        created_at: When it was created (observatory time).
        status_changed_at: When its status last changed.
        charged_seconds: Observing time charged to the quotas while it is accepted
            or executing (0 otherwise).
        sequences: Its sequences, in creation order.
    """

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), info=field_rule(non_empty=True))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("scientific_programs.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.DRAFT.value, index=True,
                                        active_history=True,
                                        info=field_rule(choices=tuple(s.value for s in RequestStatus)))
    created_at: Mapped[datetime] = mapped_column(default=observatory_now)
    status_changed_at: Mapped[datetime] = mapped_column(default=observatory_now)
    charged_seconds: Mapped[int] = mapped_column(default=0, info=field_rule(ge=0))

    user: Mapped[User] = relationship(back_populates="requests")
    program: Mapped[ScientificProgram] = relationship()
    sequences: Mapped[list[ObservationSequence]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="ObservationSequence.id")

    def planned_seconds(self) -> float:
        """Return the total planned duration of its sequences that are not cancelled, in seconds."""
        return sum(s.planned_duration_s for s in self.sequences if s.status != SequenceStatus.CANCELLED.value)

    def chargeable_seconds(self) -> int:
        """Return the observing time accepting it costs: :meth:`planned_seconds` rounded up to whole seconds."""
        return math.ceil(self.planned_seconds())

    def __repr__(self) -> str:
        return f"<ObservationRequest {self.id} {self.name!r} {self.status}>"


class ObservationSequence(Base):
    """A block of observations of one target under one set of constraints.

    Attributes:
        id: Primary key.
        request_id: The request it belongs to.
        name: Its name.
        status: A :class:`~pyros.db.lifecycle.SequenceStatus` value (``pending`` when created).
        target_id: Where it points (``None`` for calibrations that need no target).
        planned_duration_s: Planned duration in seconds (> 0); what quotas are charged.
        created_at: When it was created (observatory time).
        status_changed_at: When its status last changed.
        constraints: Its observing constraints (optional).
        albums: Its albums (one per detector).
    """

    __tablename__ = "sequences"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), info=field_rule(non_empty=True))
    status: Mapped[str] = mapped_column(String(16), default=SequenceStatus.PENDING.value, index=True,
                                        active_history=True,
                                        info=field_rule(choices=tuple(s.value for s in SequenceStatus)))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("targets.id", ondelete="RESTRICT"), index=True)
    planned_duration_s: Mapped[float] = mapped_column(info=field_rule(gt=0.0))
    created_at: Mapped[datetime] = mapped_column(default=observatory_now)
    status_changed_at: Mapped[datetime] = mapped_column(default=observatory_now)

    request: Mapped[ObservationRequest] = relationship(back_populates="sequences")
    target: Mapped[Target | None] = relationship()
    constraints: Mapped[ObservingConstraints | None] = relationship(
        back_populates="sequence", cascade="all, delete-orphan", uselist=False)
    albums: Mapped[list[Album]] = relationship(back_populates="sequence", cascade="all, delete-orphan",
                                               order_by="Album.id")

    def __repr__(self) -> str:
        return f"<ObservationSequence {self.id} {self.name!r} {self.status}>"


def _status_guard(entity: str, field: str) -> Any:
    def guard(target: Base, value: Any, oldvalue: Any, initiator: Any) -> str:
        state = inspect(target)
        current = oldvalue if isinstance(oldvalue, str) else None
        return guard_status_assignment(entity, field, state.has_identity, current, value)
    return guard


event.listen(ObservationRequest.status, "set", _status_guard("request", "requests.status"), retval=True)
event.listen(ObservationSequence.status, "set", _status_guard("sequence", "sequences.status"), retval=True)
