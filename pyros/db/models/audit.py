"""The audit log: who did what, when, with which details."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from pyros.db.base import Base
from pyros.db.field_rules import field_rule
from pyros.db.timestamps import observatory_now


class AuditEntry(Base):
    """One action worth remembering (a status change, a quota movement, an operator's command).

    Attributes:
        id: Primary key.
        at: When (observatory time).
        actor: Who: a username or a service name.
        action: What, as ``<entity>.<verb>``, e.g. ``request.status``.
        subject: What it was done to, as ``<entity>:<id>``, e.g. ``request:12``.
        details: Anything else (JSON), e.g. ``{"from": "submitted", "to": "accepted"}``.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=observatory_now, index=True)
    actor: Mapped[str] = mapped_column(String(64), info=field_rule(non_empty=True))
    action: Mapped[str] = mapped_column(String(64), index=True, info=field_rule(non_empty=True))
    subject: Mapped[str] = mapped_column(String(128), default="", index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.at} {self.actor} {self.action} {self.subject}>"
