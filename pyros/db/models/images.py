"""Images: the files the cameras wrote, with a summary of their headers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyros.db.base import Base
from pyros.db.field_rules import field_rule
from pyros.db.timestamps import observatory_now

if TYPE_CHECKING:
    from pyros.db.models.devices import Device


class Image(Base):
    """An image file and where it came from.

    The request, sequence and album ids stay ``None`` for images taken outside
    a request (e.g. manual exposures), and become ``None`` if those rows are
    deleted: the record of a file outlives the request that made it.

    Attributes:
        id: Primary key.
        path: Where the file is (unique).
        taken_at: Start of the exposure (``DATE-OBS``).
        exposure_s: Exposure time in seconds (>= 0), if known.
        filter_name: Filter in the beam, if any.
        headers: Summary of the FITS headers (JSON), e.g. ``{"OBJECT": "M31", "AIRMASS": 1.2}``.
        detector_id: The camera that took it.
        request_id: The request it was taken for.
        sequence_id: The sequence it was taken for.
        album_id: The album it belongs to.
        recorded_at: When the record was made (observatory time).
    """

    __tablename__ = "images"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), unique=True, info=field_rule(non_empty=True))
    taken_at: Mapped[datetime] = mapped_column(index=True)
    exposure_s: Mapped[float | None] = mapped_column(info=field_rule(ge=0.0))
    filter_name: Mapped[str | None] = mapped_column(String(40))
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    detector_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="SET NULL"), index=True)
    sequence_id: Mapped[int | None] = mapped_column(ForeignKey("sequences.id", ondelete="SET NULL"), index=True)
    album_id: Mapped[int | None] = mapped_column(ForeignKey("albums.id", ondelete="SET NULL"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(default=observatory_now)

    detector: Mapped[Device | None] = relationship()

    def __repr__(self) -> str:
        return f"<Image {self.id} {self.path!r}>"
