"""The status lifecycles of observation requests and sequences, as explicit tables.

Requests::

    draft ──► submitted ──► accepted ──► executing ──► completed | failed
                  │             └──────────────────► completed | failed
                  └──► rejected
    draft, submitted, accepted, executing ──► cancelled

Sequences::

    pending ──► to_be_planned ──► planned ──► executing ──► executed | failed
    to_be_planned ──► unplannable ──► to_be_planned   (no slot found; tried again later)
    planned ──► to_be_planned                         (left out of a new schedule)
    executing ──► to_be_planned                       (interrupted, e.g. by the weather)
    every status that is not final ──► cancelled

:data:`REQUEST_TRANSITIONS` and :data:`SEQUENCE_TRANSITIONS` map each status
to the statuses it may move to; a final status maps to nothing.
:func:`check_transition` is the one pure function that decides. The models
refuse any other status change: a new row may start only in one of the
initial statuses, and a stored row changes status only inside
:func:`status_change_allowed`, which :mod:`pyros.db.request_workflow` uses so
that quotas are charged and refunded with the change.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from enum import Enum

from pyros.db.errors import IllegalTransition, InvalidField


class RequestStatus(str, Enum):
    """Where an observation request is in its life."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    EXECUTING = "executing"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"


class SequenceStatus(str, Enum):
    """Where a sequence (one target, one set of constraints) is in its life."""

    PENDING = "pending"
    TO_BE_PLANNED = "to_be_planned"
    PLANNED = "planned"
    UNPLANNABLE = "unplannable"
    EXECUTING = "executing"
    EXECUTED = "executed"
    FAILED = "failed"
    CANCELLED = "cancelled"


_R = RequestStatus
_S = SequenceStatus

REQUEST_TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    _R.DRAFT: frozenset({_R.SUBMITTED, _R.CANCELLED}),
    _R.SUBMITTED: frozenset({_R.ACCEPTED, _R.REJECTED, _R.CANCELLED}),
    _R.ACCEPTED: frozenset({_R.EXECUTING, _R.COMPLETED, _R.FAILED, _R.CANCELLED}),
    _R.EXECUTING: frozenset({_R.COMPLETED, _R.FAILED, _R.CANCELLED}),
    _R.COMPLETED: frozenset(),
    _R.REJECTED: frozenset(),
    _R.CANCELLED: frozenset(),
    _R.FAILED: frozenset(),
}
"""Allowed request status changes: status -> statuses it may become."""

SEQUENCE_TRANSITIONS: Mapping[SequenceStatus, frozenset[SequenceStatus]] = {
    _S.PENDING: frozenset({_S.TO_BE_PLANNED, _S.CANCELLED}),
    _S.TO_BE_PLANNED: frozenset({_S.PLANNED, _S.UNPLANNABLE, _S.CANCELLED}),
    _S.PLANNED: frozenset({_S.TO_BE_PLANNED, _S.EXECUTING, _S.CANCELLED}),
    _S.UNPLANNABLE: frozenset({_S.TO_BE_PLANNED, _S.CANCELLED}),
    _S.EXECUTING: frozenset({_S.EXECUTED, _S.FAILED, _S.TO_BE_PLANNED, _S.CANCELLED}),
    _S.EXECUTED: frozenset(),
    _S.FAILED: frozenset(),
    _S.CANCELLED: frozenset(),
}
"""Allowed sequence status changes: status -> statuses it may become."""

REQUEST_INITIAL: frozenset[RequestStatus] = frozenset({_R.DRAFT, _R.SUBMITTED})
"""Statuses a new request may be created in (acceptance must go through the quota check)."""

SEQUENCE_INITIAL: frozenset[SequenceStatus] = frozenset({_S.PENDING})
"""Status a new sequence is created in (it becomes plannable when its request is accepted)."""

REQUEST_CHARGED: frozenset[RequestStatus] = frozenset({_R.ACCEPTED, _R.EXECUTING})
"""Statuses in which a request holds observing time charged to its quotas."""

REQUEST_REFUNDED: frozenset[RequestStatus] = frozenset({_R.CANCELLED, _R.FAILED})
"""Statuses that give a charged request's observing time back."""

_TABLES: dict[str, Mapping[Enum, frozenset[Enum]]] = {
    "request": REQUEST_TRANSITIONS,  # type: ignore[dict-item]
    "sequence": SEQUENCE_TRANSITIONS,  # type: ignore[dict-item]
}
_ENUMS: dict[str, type[Enum]] = {"request": RequestStatus, "sequence": SequenceStatus}


def is_final(entity: str, status: str) -> bool:
    """Return whether ``status`` of ``entity`` (``request`` or ``sequence``) allows no further change.

    Raises:
        ValueError: For an unknown entity or status.
    """
    return not _TABLES[_entity(entity)][_status(entity, status, "status")]


def check_transition(entity: str, current: str, requested: str) -> None:
    """Decide whether ``entity`` may go from ``current`` to ``requested``.

    Args:
        entity: ``request`` or ``sequence``.
        current: Its status now.
        requested: The status asked for.

    Raises:
        ValueError: If the entity or a status is unknown.
        IllegalTransition: If the table does not allow the change; the message
            names both statuses and the allowed ones.
    """
    table = _TABLES[_entity(entity)]
    source = _status(entity, current, "current status")
    target = _status(entity, requested, "requested status")
    if target not in table[source]:
        allowed = tuple(sorted(s.value for s in table[source]))
        raise IllegalTransition(entity, source.value, target.value, allowed)


def _entity(entity: str) -> str:
    if entity not in _TABLES:
        raise ValueError(f"unknown entity {entity!r}: expected one of {', '.join(_TABLES)}")
    return entity


def _status(entity: str, value: str, what: str) -> Enum:
    try:
        return _ENUMS[entity](value)
    except ValueError:
        names = ", ".join(s.value for s in _ENUMS[entity])
        raise ValueError(f"{entity} {what} {value!r} is unknown: expected one of {names}") from None


_CHANGES_ALLOWED: contextvars.ContextVar[bool] = contextvars.ContextVar("pyros_db_status_changes", default=False)


@contextlib.contextmanager
def status_change_allowed() -> Iterator[None]:
    """Let stored requests and sequences change status (checked against the tables) in this block."""
    token = _CHANGES_ALLOWED.set(True)
    try:
        yield
    finally:
        _CHANGES_ALLOWED.reset(token)


def guard_status_assignment(entity: str, field: str, stored: bool, current: str | None, requested: str) -> str:
    """Check an assignment to the ``status`` attribute of a request or sequence.

    Args:
        entity: ``request`` or ``sequence``.
        field: The column, for messages (``requests.status``).
        stored: Whether the row is already in the database.
        current: Its status before the assignment (``None`` for a new row not yet given one).
        requested: The status assigned.

    Returns:
        The status as plain text (an enum member is turned into its value).

    Raises:
        InvalidField: If ``requested`` is not a status of the entity, or a new
            row is given a status it cannot start in, or a stored row's status is
            assigned outside :func:`status_change_allowed`.
        IllegalTransition: If the lifecycle does not allow the change.
    """
    enum = _ENUMS[_entity(entity)]
    try:
        target = enum(requested)
    except ValueError:
        raise InvalidField(field, requested, "must be one of " + ", ".join(s.value for s in enum)) from None
    if not stored:
        initial = REQUEST_INITIAL if entity == "request" else SEQUENCE_INITIAL
        if target not in initial:
            raise InvalidField(field, requested, "a new " + entity + " starts as "
                               + " or ".join(sorted(s.value for s in initial)))
        return target.value
    if not _CHANGES_ALLOWED.get():
        raise InvalidField(field, requested, "changes only through pyros.db.request_workflow "
                           "(which keeps quotas and the lifecycle consistent)")
    if current is not None and current != target.value:
        check_transition(entity, current, target.value)
    return target.value
