"""Users of the observatory and their roles."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyros.db.base import Base
from pyros.db.field_rules import field_rule
from pyros.db.timestamps import observatory_now
from pyros.service.access import LEVELS

if TYPE_CHECKING:
    from pyros.db.models.countries import Country
    from pyros.db.models.requests import ObservationRequest

ROLES: tuple[str, ...] = LEVELS
"""User roles, the same names as the access levels: observer < operator < admin."""


class User(Base):
    """A person (or robot account) who submits requests or runs the observatory.

    Attributes:
        id: Primary key.
        username: Unique login name.
        full_name: Name for display.
        email: Contact address, if any.
        role: One of :data:`ROLES`.
        country_id: The country whose quota the user's requests are also charged to
            (``None`` for staff who bill no country).
        active: Whether the account may be used.
        created_at: When the account was created (observatory time).
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, info=field_rule(non_empty=True))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16), default="observer", info=field_rule(choices=ROLES))
    country_id: Mapped[int | None] = mapped_column(ForeignKey("countries.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=observatory_now)

    country: Mapped[Country | None] = relationship(back_populates="users")
    requests: Mapped[list[ObservationRequest]] = relationship(back_populates="user")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r} {self.role}>"
