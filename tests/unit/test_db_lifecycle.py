"""The status lifecycles of requests and sequences (pure transition tables)."""

from __future__ import annotations

import itertools

import pytest

from pyros.db.errors import IllegalTransition, InvalidField
from pyros.db.lifecycle import (
    REQUEST_CHARGED,
    REQUEST_INITIAL,
    REQUEST_REFUNDED,
    REQUEST_TRANSITIONS,
    SEQUENCE_INITIAL,
    SEQUENCE_TRANSITIONS,
    RequestStatus,
    SequenceStatus,
    check_transition,
    guard_status_assignment,
    is_final,
    status_change_allowed,
)

TABLES = [("request", RequestStatus, REQUEST_TRANSITIONS, REQUEST_INITIAL),
          ("sequence", SequenceStatus, SEQUENCE_TRANSITIONS, SEQUENCE_INITIAL)]


@pytest.mark.parametrize(("entity", "enum", "table", "initial"), TABLES)
def test_every_status_has_a_row_and_every_status_is_reachable(entity, enum, table, initial) -> None:
    assert set(table) == set(enum)
    reached = set(initial)
    frontier = list(initial)
    while frontier:
        for target in table[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(enum)


@pytest.mark.parametrize(("entity", "enum", "table", "initial"), TABLES)
def test_every_unfinished_status_can_be_cancelled(entity, enum, table, initial) -> None:
    for status, targets in table.items():
        if targets:
            assert enum("cancelled") in targets, status


@pytest.mark.parametrize(("entity", "enum", "table", "initial"), TABLES)
def test_check_transition_agrees_with_the_table_for_every_pair(entity, enum, table, initial) -> None:
    for source, target in itertools.product(enum, repeat=2):
        if target in table[source]:
            check_transition(entity, source.value, target.value)
        else:
            with pytest.raises(IllegalTransition) as caught:
                check_transition(entity, source.value, target.value)
            assert f"'{source.value}'" in str(caught.value) and f"'{target.value}'" in str(caught.value)
            assert (caught.value.current, caught.value.requested) == (source.value, target.value)


def test_illegal_transition_message_names_both_states_and_the_allowed_ones() -> None:
    with pytest.raises(IllegalTransition, match=r"a request cannot go from 'draft' to 'accepted' "
                                                r"\(from 'draft': cancelled, submitted\)"):
        check_transition("request", "draft", "accepted")
    with pytest.raises(IllegalTransition, match=r"from 'executed': none, it is final"):
        check_transition("sequence", "executed", "planned")


def test_final_statuses() -> None:
    assert {s for s in RequestStatus if is_final("request", s.value)} == {
        RequestStatus.COMPLETED, RequestStatus.REJECTED, RequestStatus.CANCELLED, RequestStatus.FAILED}
    assert {s for s in SequenceStatus if is_final("sequence", s.value)} == {
        SequenceStatus.EXECUTED, SequenceStatus.FAILED, SequenceStatus.CANCELLED}


def test_charged_statuses_are_left_only_for_completion_or_a_refund() -> None:
    for status in REQUEST_CHARGED:
        leaving = REQUEST_TRANSITIONS[status] - REQUEST_CHARGED
        assert leaving <= REQUEST_REFUNDED | {RequestStatus.COMPLETED}


@pytest.mark.parametrize(("entity", "current", "requested", "needle"), [
    ("request", "drafted", "submitted", "request current status 'drafted' is unknown"),
    ("request", "draft", "done", "request requested status 'done' is unknown"),
    ("sequence", "planned", "accepted", "sequence requested status 'accepted' is unknown"),
    ("schedule", "a", "b", "unknown entity 'schedule'"),
])
def test_unknown_names_are_refused(entity: str, current: str, requested: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        check_transition(entity, current, requested)


def test_new_rows_start_only_in_an_initial_status() -> None:
    assert guard_status_assignment("request", "requests.status", False, None, RequestStatus.SUBMITTED) == "submitted"
    with pytest.raises(InvalidField, match="requests.status: a new request starts as draft or submitted"):
        guard_status_assignment("request", "requests.status", False, None, "accepted")
    with pytest.raises(InvalidField, match="sequences.status: a new sequence starts as pending"):
        guard_status_assignment("sequence", "sequences.status", False, None, "planned")


def test_stored_rows_change_status_only_inside_the_allowed_block() -> None:
    with pytest.raises(InvalidField, match="changes only through pyros.db.request_workflow"):
        guard_status_assignment("request", "requests.status", True, "submitted", "accepted")
    with status_change_allowed():
        assert guard_status_assignment("request", "requests.status", True, "submitted", "accepted") == "accepted"
        with pytest.raises(IllegalTransition):
            guard_status_assignment("request", "requests.status", True, "completed", "accepted")
    with pytest.raises(InvalidField):
        guard_status_assignment("request", "requests.status", True, "submitted", "accepted")


def test_an_unknown_status_is_an_invalid_field() -> None:
    with pytest.raises(InvalidField, match="sequences.status: must be one of pending, to_be_planned"):
        guard_status_assignment("sequence", "sequences.status", False, None, "lost")
