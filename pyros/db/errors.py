"""Exceptions raised by the data model (:mod:`pyros.db`).

Every error names what was wrong: the field (``table.column``), the entity
and its key, both states of a refused transition, or the quota with the
hours needed and remaining. They derive from :class:`DatabaseError`, itself a
:class:`pyros.errors.PyrosError`.
"""

from __future__ import annotations

from typing import Any

from pyros.errors import PyrosError


class DatabaseError(PyrosError):
    """Base class of the data model's errors."""


class InvalidField(DatabaseError, ValueError):
    """A value given for a column is of the wrong type, out of range or inconsistent.

    Attributes:
        field: The column, as ``table.column`` (e.g. ``targets.ra_deg``).
        value: The value that was refused.
        reason: Why it was refused (e.g. ``must be >= 0 and < 360``).
    """

    def __init__(self, field: str, value: Any, reason: str) -> None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}: {reason}, got {shown}")
        self.field = field
        self.value = value
        self.reason = reason


class NotFound(DatabaseError, LookupError):
    """No row of an entity has the given key.

    Attributes:
        entity: The entity (e.g. ``request``).
        key: The key that was looked up.
    """

    def __init__(self, entity: str, key: Any) -> None:
        super().__init__(f"no {entity} with id {key!r}")
        self.entity = entity
        self.key = key


class IllegalTransition(DatabaseError):
    """A status change that the lifecycle of the entity does not allow.

    Attributes:
        entity: ``request`` or ``sequence``.
        current: The status the entity is in.
        requested: The status asked for.
    """

    def __init__(self, entity: str, current: str, requested: str, allowed: tuple[str, ...]) -> None:
        options = ", ".join(allowed) if allowed else "none, it is final"
        super().__init__(f"a {entity} cannot go from '{current}' to '{requested}' (from '{current}': {options})")
        self.entity = entity
        self.current = current
        self.requested = requested
        self.allowed = allowed


class InactiveRequest(DatabaseError):
    """A sequence may only be cancelled while its request is not accepted or executing."""


class QuotaExceeded(DatabaseError):
    """Accepting a request would spend more observing time than a quota has left.

    Attributes:
        quota: Which quota refused, e.g. ``user 'alice'`` or ``country 'France'``.
        needed_hours: Hours the request needs.
        remaining_hours: Hours left on that quota.
    """

    def __init__(self, quota: str, needed_hours: float, remaining_hours: float) -> None:
        super().__init__(f"the {quota} quota has {remaining_hours:.4f} h remaining; "
                         f"the request needs {needed_hours:.4f} h")
        self.quota = quota
        self.needed_hours = needed_hours
        self.remaining_hours = remaining_hours


class ConstraintViolation(DatabaseError):
    """The database refused a write (unique, not-null, check or foreign key constraint).

    Attributes:
        field: The column concerned as ``table.column`` when it is known, else ``None``.
        constraint: The constraint's name when the database reported it, else ``None``.
    """

    def __init__(self, message: str, field: str | None = None, constraint: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.constraint = constraint


class DemoDataError(DatabaseError):
    """The demo site cannot be loaded (the database already holds data)."""
