"""Status changes of requests and sequences through the workflow, and what they carry along."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from pyros.db.engine import Database
from pyros.db.errors import DatabaseError, IllegalTransition, InactiveRequest, InvalidField, NotFound
from pyros.db.lifecycle import RequestStatus, SequenceStatus
from pyros.db.models import AuditEntry, ObservationRequest, ObservationSequence
from pyros.db.quota_accounting import quota_of
from pyros.db.request_workflow import change_request_status, change_sequence_status
from tests.db_fixtures import add_request, add_site, database, postgres_module_database, sqlite_template  # noqa: F401

NOW = datetime(2030, 6, 1, 22, 0, tzinfo=timezone.utc)


def accepted_request(database: Database, durations: list[float]) -> tuple[int, list[int]]:
    """Add a request with one sequence per duration and accept it; return its id and its sequences' ids."""
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, durations)
    with database.transaction() as session:
        request = change_request_status(session, request_id, RequestStatus.ACCEPTED, actor="olga", now=NOW)
        return request_id, [s.id for s in request.sequences]


def statuses(database: Database, request_id: int) -> tuple[str, list[str]]:
    with database.session() as session:
        request = session.get_one(ObservationRequest, request_id)
        assert request is not None
        return request.status, [s.status for s in request.sequences]


def move(database: Database, sequence_id: int, status: str) -> None:
    with database.transaction() as session:
        change_sequence_status(session, sequence_id, status, actor="observer", now=NOW)


def test_acceptance_makes_the_sequences_plannable(database: Database) -> None:
    request_id, _ = accepted_request(database, [60.0, 60.0])
    assert statuses(database, request_id) == ("accepted", ["to_be_planned", "to_be_planned"])


def test_a_request_runs_while_a_sequence_executes_and_completes_with_the_last(database: Database) -> None:
    request_id, (first, second) = accepted_request(database, [60.0, 60.0])
    move(database, first, "planned")
    move(database, first, "executing")
    assert statuses(database, request_id) == ("executing", ["executing", "to_be_planned"])
    move(database, first, "executed")
    assert statuses(database, request_id) == ("executing", ["executed", "to_be_planned"])
    move(database, second, "planned")
    move(database, second, "executing")
    move(database, second, "failed")
    assert statuses(database, request_id) == ("completed", ["executed", "failed"])


def test_a_request_whose_sequences_all_fail_fails_and_is_refunded(database: Database) -> None:
    request_id, (only,) = accepted_request(database, [900.0])
    for status in ("planned", "executing", "failed"):
        move(database, only, status)
    assert statuses(database, request_id) == ("failed", ["failed"])
    with database.session() as session:
        request = session.get_one(ObservationRequest, request_id)
        quota = quota_of(session, user_id=request.user_id)
        assert quota is not None and quota.used_seconds == 0 and request.charged_seconds == 0


def test_a_request_whose_sequences_are_all_cancelled_is_cancelled_and_refunded(database: Database) -> None:
    request_id, sequences = accepted_request(database, [300.0, 300.0])
    for sequence_id in sequences:
        move(database, sequence_id, "cancelled")
    assert statuses(database, request_id) == ("cancelled", ["cancelled", "cancelled"])
    with database.session() as session:
        quota = quota_of(session, user_id=session.get_one(ObservationRequest, request_id).user_id)
        assert quota is not None and quota.used_seconds == 0


def test_an_interrupted_sequence_goes_back_to_be_planned(database: Database) -> None:
    request_id, (only,) = accepted_request(database, [60.0])
    for status in ("planned", "executing", "to_be_planned", "unplannable", "to_be_planned"):
        move(database, only, status)
    assert statuses(database, request_id) == ("executing", ["to_be_planned"])


def test_sequences_wait_for_their_request_to_be_accepted(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [60.0])
        sequence_id = session.get_one(ObservationRequest, request_id).sequences[0].id
    with pytest.raises(InactiveRequest, match=f"sequence {sequence_id} cannot become 'to_be_planned' while its "
                                              f"request {request_id} is 'submitted'"):
        move(database, sequence_id, "to_be_planned")
    assert statuses(database, request_id) == ("submitted", ["pending"])


def test_a_request_needs_a_sequence_to_be_submitted(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [60.0], submit=False)
        sequence_id = session.get_one(ObservationRequest, request_id).sequences[0].id
    move(database, sequence_id, "cancelled")
    with pytest.raises(DatabaseError, match=f"request {request_id} has no sequence to observe"):
        with database.transaction() as session:
            change_request_status(session, request_id, "submitted", actor="obs")
    assert statuses(database, request_id) == ("draft", ["cancelled"])


def test_rejection_cancels_the_sequences(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [60.0, 30.0])
    with database.transaction() as session:
        change_request_status(session, request_id, "rejected", actor="olga", reason="target below the horizon")
    assert statuses(database, request_id) == ("rejected", ["cancelled", "cancelled"])


def test_an_illegal_change_names_both_statuses_and_changes_nothing(database: Database) -> None:
    request_id, (only,) = accepted_request(database, [60.0])
    with pytest.raises(IllegalTransition, match="a request cannot go from 'accepted' to 'submitted'"):
        with database.transaction() as session:
            change_request_status(session, request_id, "submitted", actor="olga")
    with pytest.raises(IllegalTransition, match="a sequence cannot go from 'to_be_planned' to 'executed'"):
        move(database, only, "executed")
    assert statuses(database, request_id) == ("accepted", ["to_be_planned"])


def test_every_status_change_is_in_the_audit_log(database: Database) -> None:
    request_id, (only,) = accepted_request(database, [60.0])
    move(database, only, "planned")
    with database.session() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.actor, e.action, e.subject, e.details["from"], e.details["to"]) for e in entries] == [
        ("olga", "request.status", f"request:{request_id}", "submitted", "accepted"),
        ("olga", "sequence.status", f"sequence:{only}", "pending", "to_be_planned"),
        ("observer", "sequence.status", f"sequence:{only}", "to_be_planned", "planned"),
    ]
    assert {e.at for e in entries} == {NOW}
    with database.session() as session:
        sequence = session.get_one(ObservationSequence, only)
        assert sequence is not None and sequence.status_changed_at == NOW


def test_a_stored_status_cannot_be_assigned_directly(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [60.0])
    with pytest.raises(InvalidField, match="requests.status: changes only through pyros.db.request_workflow"):
        with database.transaction() as session:
            session.get_one(ObservationRequest, request_id).status = "accepted"
    assert statuses(database, request_id) == ("submitted", ["pending"])


@pytest.mark.parametrize(("call", "error", "needle"), [
    (lambda s: change_request_status(s, 999, "accepted", actor="olga"), NotFound, "no request with id 999"),
    (lambda s: change_sequence_status(s, 999, "planned", actor="olga"), NotFound, "no sequence with id 999"),
    (lambda s: change_request_status(s, "1", "accepted", actor="olga"), InvalidField,  # type: ignore[arg-type]
     "requests.id: must be an integer"),
    (lambda s: change_request_status(s, 1, "approved", actor="olga"), InvalidField,
     "requests.status: must be one of draft, submitted"),
    (lambda s: change_sequence_status(s, 1, "observed", actor="olga"), InvalidField,
     "sequences.status: must be one of pending"),
    (lambda s: change_request_status(s, 1, "accepted", actor=" "), InvalidField,
     "audit_log.actor: must name who makes the change"),
    (lambda s: change_sequence_status(s, 1, "planned", actor="olga", now=datetime(2030, 1, 1)), InvalidField,
     "now: must be a timezone-aware datetime"),
])
def test_bad_arguments_are_named(database: Database, call: object, error: type[Exception], needle: str) -> None:
    with pytest.raises(error, match=needle):
        with database.transaction() as session:
            call(session)  # type: ignore[operator]


def test_status_values_accept_the_enums(database: Database) -> None:
    request_id, (only,) = accepted_request(database, [60.0])
    move(database, only, SequenceStatus.PLANNED)  # type: ignore[arg-type]
    assert statuses(database, request_id) == ("accepted", ["planned"])
