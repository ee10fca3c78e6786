"""Quotas: charged on acceptance, refunded on cancellation or failure, never overspent (threads included)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from pyros.db.engine import Database
from pyros.db.errors import IllegalTransition, QuotaExceeded
from pyros.db.models import AuditEntry, Country, ObservationRequest, Quota, QuotaCharge, User
from pyros.db.quota_accounting import quota_of
from pyros.db.request_workflow import change_request_status
from tests.db_fixtures import add_request, add_site, database, postgres_module_database, sqlite_template  # noqa: F401

THREAD_TIMEOUT_S = 120.0


def used(database: Database, **owner: int) -> int:
    with database.session() as session:
        quota = quota_of(session, **owner)
        assert quota is not None
        return quota.used_seconds


def test_acceptance_charges_the_user_and_the_country(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [600.0, 299.2])
    with database.transaction() as session:
        request = change_request_status(session, request_id, "accepted", actor="olga")
        assert request.charged_seconds == 900
    assert used(database, user_id=site.user_id) == 900
    assert used(database, country_id=site.country_id) == 900
    with database.session() as session:
        charges = session.execute(select(QuotaCharge.quota_id, QuotaCharge.seconds, QuotaCharge.reason)
                                  .where(QuotaCharge.request_id == request_id)).all()
        assert sorted(s for _, s, _ in charges) == [900, 900] and {r for *_, r in charges} == {"accepted"}
        audit = session.scalars(select(AuditEntry).where(AuditEntry.subject == f"request:{request_id}")).one()
        assert (audit.actor, audit.details["to"], audit.details["charged_seconds"]) == ("olga", "accepted", 900)


@pytest.mark.parametrize(("user_hours", "country_hours", "which"), [
    (0.25, 100.0, "user 'obs'"),
    (100.0, 0.25, "country 'Testland'"),
])
def test_a_request_over_a_quota_is_refused_with_both_numbers(database: Database, user_hours: float,
                                                             country_hours: float, which: str) -> None:
    with database.transaction() as session:
        site = add_site(session, user_hours=user_hours, country_hours=country_hours)
        small = add_request(session, site, [540.0], name="small")
        large = add_request(session, site, [720.0], name="large")
    with database.transaction() as session:
        change_request_status(session, small, "accepted", actor="olga")
    with pytest.raises(QuotaExceeded) as caught:
        with database.transaction() as session:
            change_request_status(session, large, "accepted", actor="olga")
    assert str(caught.value) == f"the {which} quota has 0.1000 h remaining; the request needs 0.2000 h"
    assert (caught.value.quota, caught.value.needed_hours, caught.value.remaining_hours) == (which, 0.2, 0.1)
    with database.session() as session:
        assert session.get_one(ObservationRequest, large).status == "submitted"
        assert session.scalar(select(func.count()).select_from(QuotaCharge)
                              .where(QuotaCharge.request_id == large)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.subject == f"request:{large}")) == 0
    assert used(database, user_id=site.user_id) == used(database, country_id=site.country_id) == 540


def test_a_user_or_country_without_a_quota_row_has_no_time(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        nowhere = Country(name="Nowhere")
        session.add(User(username="stranger", country=nowhere))
        session.flush()
        stranger = session.scalars(select(User.id).where(User.username == "stranger")).one()
        session.add(Quota(user_id=stranger, allocated_hours=5.0))
        request_id = add_request(session, site, [60.0], user_id=stranger)
    with pytest.raises(QuotaExceeded, match="the country 'Nowhere' quota has 0.0000 h remaining"):
        with database.transaction() as session:
            change_request_status(session, request_id, "accepted", actor="olga")


def test_staff_without_a_country_are_charged_on_their_own_quota_only(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        staff = User(username="adam", role="admin")
        session.add(staff)
        session.flush()
        session.add(Quota(user_id=staff.id, allocated_hours=1.0))
        request_id = add_request(session, site, [1800.0], user_id=staff.id)
    with database.transaction() as session:
        change_request_status(session, request_id, "accepted", actor="adam")
    assert used(database, user_id=staff.id) == 1800
    assert used(database, country_id=site.country_id) == 0


@pytest.mark.parametrize("outcome", ["cancelled", "failed"])
def test_cancelling_or_failing_refunds_what_was_charged(database: Database, outcome: str) -> None:
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [1000.0, 200.0])
    with database.transaction() as session:
        change_request_status(session, request_id, "accepted", actor="olga")
    with database.transaction() as session:
        request = change_request_status(session, request_id, outcome, actor="olga", reason="clouds all week")
        assert request.charged_seconds == 0
        assert {s.status for s in request.sequences} == {"cancelled"}
    assert used(database, user_id=site.user_id) == used(database, country_id=site.country_id) == 0
    with database.session() as session:
        ledger = session.execute(select(QuotaCharge.seconds, QuotaCharge.reason)
                                 .where(QuotaCharge.request_id == request_id)).all()
        assert sorted(ledger) == [(-1200, outcome), (-1200, outcome), (1200, "accepted"), (1200, "accepted")]
        audit = session.scalars(select(AuditEntry).where(AuditEntry.subject == f"request:{request_id}")
                                .order_by(AuditEntry.id)).all()[-1]
        assert audit.details == {"from": "accepted", "to": outcome, "refunded_seconds": 1200,
                                 "reason": "clouds all week"}


def test_completion_keeps_the_charge(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [100.0])
    for status in ("accepted", "completed"):
        with database.transaction() as session:
            change_request_status(session, request_id, status, actor="observer-service")
    assert used(database, user_id=site.user_id) == 100


def test_cancelling_an_uncharged_request_moves_no_time(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [100.0])
    with database.transaction() as session:
        change_request_status(session, request_id, "cancelled", actor="obs")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(QuotaCharge)) == 0


def test_the_refund_goes_to_the_quotas_that_were_charged(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [600.0])
        elsewhere = Country(name="Elsewhere")
        session.add(elsewhere)
        session.flush()
        session.add(Quota(country_id=elsewhere.id, allocated_hours=10.0))
    with database.transaction() as session:
        change_request_status(session, request_id, "accepted", actor="olga")
    with database.transaction() as session:
        session.get_one(User, site.user_id).country_id = elsewhere.id
    with database.transaction() as session:
        change_request_status(session, request_id, "cancelled", actor="olga")
    assert used(database, country_id=site.country_id) == 0
    assert used(database, country_id=elsewhere.id) == 0


def test_cancelled_sequences_are_not_charged_and_durations_round_up(database: Database) -> None:
    from pyros.db.request_workflow import change_sequence_status

    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [100.25, 5000.0, 0.5], submit=False)
        dropped = session.get_one(ObservationRequest, request_id).sequences[1].id
    with database.transaction() as session:
        change_sequence_status(session, dropped, "cancelled", actor="obs")
    for status in ("submitted", "accepted"):
        with database.transaction() as session:
            change_request_status(session, request_id, status, actor="obs")
    assert used(database, user_id=site.user_id) == 101


def _run_threads(count: int, work: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(count, timeout=THREAD_TIMEOUT_S)
    outcomes: list[object] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = work(index)
        except Exception as exc:  # noqa: BLE001  (the outcome is what the test checks)
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,), name=f"accept-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_TIMEOUT_S)
        assert not thread.is_alive(), f"{thread.name} still running after {THREAD_TIMEOUT_S} s"
    return outcomes


@pytest.mark.parametrize("limit", ["user", "country"])
def test_concurrent_acceptances_never_overspend(database: Database, limit: str) -> None:
    """Eight threads accept eight 10-minute requests at once against a one-hour quota: six succeed."""
    with database.transaction() as session:
        site = add_site(session, user_hours=1.0 if limit == "user" else 50.0,
                        country_hours=1.0 if limit == "country" else 50.0)
        users = [site.user_id]
        if limit == "country":  # two users of one country share its quota
            other = User(username="obs2", country_id=site.country_id)
            session.add(other)
            session.flush()
            session.add(Quota(user_id=other.id, allocated_hours=50.0))
            users.append(other.id)
        request_ids = [add_request(session, site, [600.0], name=f"r{i}", user_id=users[i % len(users)])
                       for i in range(8)]

    def accept(index: int) -> int:
        with database.transaction() as session:
            return change_request_status(session, request_ids[index], "accepted", actor=f"t{index}").charged_seconds

    outcomes = _run_threads(8, accept)
    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"int": 6, "QuotaExceeded": 2}, outcomes
    owner = {"user_id": site.user_id} if limit == "user" else {"country_id": site.country_id}
    assert used(database, **owner) == 3600
    with database.session() as session:
        charged = session.scalar(select(func.sum(QuotaCharge.seconds)).join(Quota)
                                 .where(getattr(Quota, next(iter(owner))) == next(iter(owner.values()))))
        accepted = session.scalar(select(func.count()).select_from(ObservationRequest)
                                  .where(ObservationRequest.status == "accepted"))
    assert (charged, accepted) == (3600, 6)


def test_one_request_accepted_twice_at_once_is_charged_once(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [600.0])

    def accept(index: int) -> str:
        with database.transaction() as session:
            return change_request_status(session, request_id, "accepted", actor=f"t{index}").status

    outcomes = _run_threads(4, accept)
    assert sorted(type(o).__name__ for o in outcomes) == ["IllegalTransition"] * 3 + ["str"]
    assert all("from 'accepted' to 'accepted'" in str(o) for o in outcomes if isinstance(o, IllegalTransition))
    assert used(database, user_id=site.user_id) == 600
