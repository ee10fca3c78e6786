"""Countries: the partners whose observers share a country quota of observing hours."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyros.db.base import Base
from pyros.db.field_rules import field_rule

if TYPE_CHECKING:
    from pyros.db.models.users import User


class Country(Base):
    """A partner country; its users' accepted requests are charged to its quota too.

    Attributes:
        id: Primary key.
        name: Unique name, e.g. ``France``.
        description: Free text.
        users: The users belonging to the country.
    """

    __tablename__ = "countries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, info=field_rule(non_empty=True))
    description: Mapped[str] = mapped_column(Text, default="")

    users: Mapped[list[User]] = relationship(back_populates="country")

    def __repr__(self) -> str:
        return f"<Country {self.id} {self.name!r}>"
