"""Scientific programs: the science cases that observation requests belong to."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyros.db.base import Base
from pyros.db.field_rules import field_rule
from pyros.db.timestamps import observatory_now

if TYPE_CHECKING:
    from pyros.db.models.users import User


class ScientificProgram(Base):
    """A science program (e.g. GRB follow-up) under which requests are made.

    Attributes:
        id: Primary key.
        name: Unique name.
        description: Free text.
        principal_investigator_id: The user responsible for the program, if any.
        created_at: When it was created (observatory time).
    """

    __tablename__ = "scientific_programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True, info=field_rule(non_empty=True))
    description: Mapped[str] = mapped_column(Text, default="")
    principal_investigator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=observatory_now)

    principal_investigator: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<ScientificProgram {self.id} {self.name!r}>"
