"""Albums and plans: what a sequence takes with each detector.

An album groups the exposures of one sequence made with one detector (a
camera device); a plan is a series of identical exposures in one filter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyros.db.base import Base
from pyros.db.field_rules import field_rule

if TYPE_CHECKING:
    from pyros.db.models.devices import Device
    from pyros.db.models.requests import ObservationSequence


class Album(Base):
    """The exposures of one sequence with one detector.

    Attributes:
        id: Primary key.
        sequence_id: The sequence it belongs to.
        name: Its name.
        detector_id: The camera (a device) that takes the images.
        plans: Its plans, in creation order.
    """

    __tablename__ = "albums"

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), info=field_rule(non_empty=True))
    detector_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="RESTRICT"), index=True)

    sequence: Mapped[ObservationSequence] = relationship(back_populates="albums")
    detector: Mapped[Device] = relationship()
    plans: Mapped[list[Plan]] = relationship(back_populates="album", cascade="all, delete-orphan",
                                             order_by="Plan.id")

    def __repr__(self) -> str:
        return f"<Album {self.id} {self.name!r}>"


IMAGE_TYPES: tuple[str, ...] = ("light", "dark", "flat", "bias")
"""What a plan's images are: sky, dark frames, flat fields or bias frames."""


class Plan(Base):
    """A series of identical exposures.

    Attributes:
        id: Primary key.
        album_id: The album it belongs to.
        name: Its name.
        filter_name: The filter to put in the beam (``None``: no filter or the detector's default).
        exposure_s: Exposure time of each image in seconds (>= 0; 0 only for bias frames).
        image_count: Number of images (at least 1).
        binning: Binning factor on both axes (1 to 16).
        image_type: ``light``, ``dark``, ``flat`` or ``bias`` (:data:`IMAGE_TYPES`).
    """

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    album_id: Mapped[int] = mapped_column(ForeignKey("albums.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), info=field_rule(non_empty=True))
    filter_name: Mapped[str | None] = mapped_column(String(40))
    exposure_s: Mapped[float] = mapped_column(info=field_rule(ge=0.0))
    image_count: Mapped[int] = mapped_column(default=1, info=field_rule(ge=1))
    binning: Mapped[int] = mapped_column(default=1, server_default="1", info=field_rule(ge=1, le=16))
    image_type: Mapped[str] = mapped_column(String(8), default="light", server_default="light",
                                            info=field_rule(choices=IMAGE_TYPES))

    album: Mapped[Album] = relationship(back_populates="plans")

    def __repr__(self) -> str:
        return f"<Plan {self.id} {self.name!r} {self.image_count} x {self.exposure_s:g} s>"
