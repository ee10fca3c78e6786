"""Targets: where on the sky a sequence points."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from pyros.db.base import Base
from pyros.db.field_rules import field_rule


class Target(Base):
    """A fixed position on the sky, in ICRS coordinates.

    Attributes:
        id: Primary key.
        name: Name of the object, e.g. ``M31`` (several targets may share a name).
        ra_deg: Right ascension, degrees in [0, 360).
        dec_deg: Declination, degrees in [-90, 90].
    """

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), index=True, info=field_rule(non_empty=True))
    ra_deg: Mapped[float] = mapped_column(info=field_rule(ge=0.0, lt=360.0))
    dec_deg: Mapped[float] = mapped_column(info=field_rule(ge=-90.0, le=90.0))

    def __repr__(self) -> str:
        return f"<Target {self.id} {self.name!r} RA {self.ra_deg:.5f} Dec {self.dec_deg:+.5f}>"
