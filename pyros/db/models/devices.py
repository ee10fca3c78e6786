"""Devices of the observatory: the inventory of hardware that device servers drive."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyros.db.base import Base
from pyros.db.field_rules import field_rule

DEVICE_KINDS: tuple[str, ...] = ("plc", "telescope", "dome", "camera", "filter_wheel")
"""Kinds of device (the interfaces of ``devices/``); the PLC also carries the weather sensors."""


class Device(Base):
    """One piece of hardware, named like its device server (e.g. ``cam_vis``).

    Attributes:
        id: Primary key.
        name: Unique name, the MDP service name of its device server.
        kind: One of :data:`DEVICE_KINDS`.
        description: Free text.
        parent_id: The device it is mounted on, if any (a filter wheel on its camera).
        properties: Fixed characteristics (JSON), e.g. a filter wheel's ``{"filters": [...]}``.
        active: Whether it is in service.
    """

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True, info=field_rule(non_empty=True))
    kind: Mapped[str] = mapped_column(String(16), info=field_rule(choices=DEVICE_KINDS))
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[Device | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Device]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<Device {self.id} {self.name!r} {self.kind}>"
