"""Moving observation requests and sequences through their lifecycles.

:func:`change_request_status` and :func:`change_sequence_status` are the only
ways a stored request or sequence changes status (the models refuse a bare
assignment). Each one, in the caller's transaction:

1. locks the request's row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite
   the write transaction holds the database's write lock), so two changes of
   one request never interleave;
2. checks the change against :mod:`pyros.db.lifecycle` (an illegal one raises
   :class:`~pyros.db.errors.IllegalTransition` naming both statuses);
3. charges the quotas when a request is accepted and refunds them when a
   charged request is cancelled or fails (:mod:`pyros.db.quota_accounting`);
4. carries the change over to the other level: an accepted request's pending
   sequences become ``to_be_planned``; a cancelled, failed or rejected request
   cancels its unfinished sequences; the first sequence to execute makes its
   request ``executing``; when the last sequence of a running request
   finishes, the request is ``completed`` if any sequence was executed, else
   ``failed`` (refunded), or ``cancelled`` when all were cancelled;
5. writes one audit entry per status change.

If any step fails, an exception leaves the transaction to be rolled back
(:meth:`pyros.db.engine.Database.transaction` does it): the status, the quotas
and the ledger change together or not at all.

Example::

    with db.transaction() as session:
        change_request_status(session, request_id, "accepted", actor="olga")
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyros.db.errors import DatabaseError, InactiveRequest, InvalidField, NotFound
from pyros.db.lifecycle import (
    REQUEST_CHARGED,
    REQUEST_REFUNDED,
    RequestStatus,
    SequenceStatus,
    check_transition,
    is_final,
    status_change_allowed,
)
from pyros.db.models import AuditEntry, ObservationRequest, ObservationSequence
from pyros.db.quota_accounting import charge_request, refund_request
from pyros.db.timestamps import as_utc, observatory_now

# Plain strings: a str-valued Enum member hashes by its name, so it is never found in a set of values.
_CHARGED = frozenset(s.value for s in REQUEST_CHARGED)
_REFUNDED = frozenset(s.value for s in REQUEST_REFUNDED)
_CANCELS_SEQUENCES = frozenset(s.value for s in (RequestStatus.CANCELLED, RequestStatus.FAILED, RequestStatus.REJECTED))


def _lock_request(session: Session, request_id: int) -> ObservationRequest:
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise InvalidField("requests.id", request_id, "must be an integer")
    statement = (select(ObservationRequest).where(ObservationRequest.id == request_id).with_for_update()
                 .execution_options(populate_existing=True))
    request = session.scalars(statement).one_or_none()
    if request is None:
        raise NotFound("request", request_id)
    return request


def _parse(enum: type[RequestStatus] | type[SequenceStatus], value: object, field: str) -> str:
    try:
        return enum(value).value  # type: ignore[arg-type]
    except ValueError:
        raise InvalidField(field, value, "must be one of " + ", ".join(s.value for s in enum)) from None


def _instant(now: datetime | None) -> datetime:
    if now is None:
        return observatory_now()
    try:
        return as_utc(now, "now")
    except ValueError:
        raise InvalidField("now", now, "must be a timezone-aware datetime") from None


def _actor(actor: object) -> str:
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidField("audit_log.actor", actor, "must name who makes the change")
    return actor


def change_request_status(session: Session, request_id: int, status: str | RequestStatus, *, actor: str,
                          reason: str = "", now: datetime | None = None) -> ObservationRequest:
    """Move a request to ``status``, with the quota accounting and the sequences that go with it.

    Args:
        session: The session of the transaction (the caller commits or rolls back).
        request_id: The request.
        status: The new status (a :class:`~pyros.db.lifecycle.RequestStatus` value).
        actor: Who asks (username or service name), for the audit log.
        reason: Why, for the audit log.
        now: When (default: the observatory clock).

    Returns:
        The request, changed.

    Raises:
        NotFound: If there is no such request.
        InvalidField: For an unknown status, a blank actor or a naive ``now``.
        IllegalTransition: If the lifecycle does not allow the change.
        QuotaExceeded: When accepting would overspend the user's or the country's quota.
        DatabaseError: When submitting or accepting a request with no sequence to observe.
    """
    target = _parse(RequestStatus, status, "requests.status")
    who = _actor(actor)
    when = _instant(now)
    request = _lock_request(session, request_id)
    _move_request(session, request, target, who, reason, when)
    session.flush()
    return request


def change_sequence_status(session: Session, sequence_id: int, status: str | SequenceStatus, *, actor: str,
                           reason: str = "", now: datetime | None = None) -> ObservationSequence:
    """Move a sequence to ``status``, updating its request when that follows.

    Args:
        session: The session of the transaction (the caller commits or rolls back).
        sequence_id: The sequence.
        status: The new status (a :class:`~pyros.db.lifecycle.SequenceStatus` value).
        actor: Who asks (username or service name), for the audit log.
        reason: Why, for the audit log.
        now: When (default: the observatory clock).

    Returns:
        The sequence, changed.

    Raises:
        NotFound: If there is no such sequence.
        InvalidField: For an unknown status, a blank actor or a naive ``now``.
        IllegalTransition: If the lifecycle does not allow the change.
        InactiveRequest: If the sequence would do anything but be cancelled while its
            request is not accepted or executing.
    """
    if isinstance(sequence_id, bool) or not isinstance(sequence_id, int):
        raise InvalidField("sequences.id", sequence_id, "must be an integer")
    target = _parse(SequenceStatus, status, "sequences.status")
    who = _actor(actor)
    when = _instant(now)
    request_id = session.scalar(select(ObservationSequence.request_id).where(ObservationSequence.id == sequence_id))
    if request_id is None:
        raise NotFound("sequence", sequence_id)
    request = _lock_request(session, request_id)
    sequence = session.scalars(select(ObservationSequence).where(ObservationSequence.id == sequence_id)
                               .execution_options(populate_existing=True)).one()
    check_transition("sequence", sequence.status, target)
    if target != SequenceStatus.CANCELLED.value and request.status not in _CHARGED:
        raise InactiveRequest(f"sequence {sequence_id} cannot become '{target}' while its request "
                              f"{request.id} is '{request.status}' (sequences move once their request is accepted)")
    _move_sequence(session, sequence, target, who, reason, when)
    if target == SequenceStatus.EXECUTING.value and request.status == RequestStatus.ACCEPTED.value:
        _move_request(session, request, RequestStatus.EXECUTING.value, who, f"sequence {sequence_id} started", when)
    elif request.status in _CHARGED and all(
            is_final("sequence", s.status) for s in request.sequences):
        _move_request(session, request, _outcome(request), who, f"sequence {sequence_id} was the last to end", when)
    session.flush()
    return sequence


def _outcome(request: ObservationRequest) -> str:
    """The final status of a running request whose sequences have all ended."""
    statuses = {s.status for s in request.sequences}
    if SequenceStatus.EXECUTED.value in statuses:
        return RequestStatus.COMPLETED.value
    if statuses <= {SequenceStatus.CANCELLED.value}:
        return RequestStatus.CANCELLED.value
    return RequestStatus.FAILED.value


def _move_request(session: Session, request: ObservationRequest, target: str, actor: str, reason: str,
                  now: datetime) -> None:
    current = request.status
    check_transition("request", current, target)
    details: dict[str, object] = {"from": current, "to": target}
    if target in (RequestStatus.SUBMITTED.value, RequestStatus.ACCEPTED.value) and request.planned_seconds() <= 0:
        raise DatabaseError(f"request {request.id} has no sequence to observe; it cannot become '{target}'")
    if target == RequestStatus.ACCEPTED.value:
        details["charged_seconds"] = charge_request(session, request, now=now)
    elif target in _REFUNDED and request.charged_seconds:
        details["refunded_seconds"] = refund_request(session, request, reason=target, now=now)
    if reason:
        details["reason"] = reason
    with status_change_allowed():
        request.status = target
        request.status_changed_at = now
    session.add(AuditEntry(at=now, actor=actor, action="request.status", subject=f"request:{request.id}",
                           details=details))
    for sequence in request.sequences:
        if target == RequestStatus.ACCEPTED.value and sequence.status == SequenceStatus.PENDING.value:
            _move_sequence(session, sequence, SequenceStatus.TO_BE_PLANNED.value, actor, "request accepted", now)
        elif target in _CANCELS_SEQUENCES and not is_final("sequence", sequence.status):
            _move_sequence(session, sequence, SequenceStatus.CANCELLED.value, actor, f"request {target}", now)


def _move_sequence(session: Session, sequence: ObservationSequence, target: str, actor: str, reason: str,
                   now: datetime) -> None:
    current = sequence.status
    with status_change_allowed():
        sequence.status = target
        sequence.status_changed_at = now
    details: dict[str, object] = {"from": current, "to": target}
    if reason:
        details["reason"] = reason
    session.add(AuditEntry(at=now, actor=actor, action="sequence.status", subject=f"sequence:{sequence.id}",
                           details=details))
