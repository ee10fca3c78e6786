"""Charging and refunding observing time to the quotas of a request's user and country.

Accepting a request charges its chargeable time
(:meth:`~pyros.db.models.ObservationRequest.chargeable_seconds`) to the quota
of its user and, when the user belongs to a country, to the country's quota;
if either has less time left than needed, nothing is charged and
:class:`~pyros.db.errors.QuotaExceeded` names that quota, the hours needed and
the hours remaining. A user or country without a quota row has no time at all.
Cancelling or failing a charged request refunds, to each quota, exactly what
the ledger (:class:`~pyros.db.models.QuotaCharge`) says it was charged.

These functions change rows in the caller's transaction (the status change
goes in the same one, see :mod:`pyros.db.request_workflow`). Quota rows are
read with ``SELECT ... FOR UPDATE`` in id order, so on PostgreSQL concurrent
acceptances charging the same quota wait for each other and each sees what
the previous one charged; on SQLite the write transaction
(:meth:`pyros.db.engine.Database.transaction`) already holds the database's
single write lock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from pyros.db.errors import NotFound, QuotaExceeded
from pyros.db.models import SECONDS_PER_HOUR, Country, ObservationRequest, Quota, QuotaCharge, User


def _locked_quotas(session: Session, condition: object) -> list[Quota]:
    statement = (select(Quota).where(condition).order_by(Quota.id).with_for_update()  # type: ignore[arg-type]
                 .execution_options(populate_existing=True))
    return list(session.scalars(statement))


def charge_request(session: Session, request: ObservationRequest, *, now: datetime) -> int:
    """Charge a request's chargeable time to its user's and country's quotas.

    Args:
        session: The session whose transaction also changes the request's status.
        request: The request being accepted (its row already locked by the caller).
        now: When (observatory time), for the ledger.

    Returns:
        The seconds charged (also stored in ``request.charged_seconds``).

    Raises:
        QuotaExceeded: If a quota has less time left than the request needs; nothing is charged.
        NotFound: If the request's user does not exist.
    """
    seconds = request.chargeable_seconds()
    user = session.get(User, request.user_id)
    if user is None:
        raise NotFound("user", request.user_id)
    owners = [Quota.user_id == user.id]
    if user.country_id is not None:
        owners.append(Quota.country_id == user.country_id)
    quotas = _locked_quotas(session, or_(*owners))
    needed = [("user", user.id, f"user {user.username!r}")]
    if user.country_id is not None:
        country = session.get(Country, user.country_id)
        needed.append(("country", user.country_id, f"country {country.name if country else user.country_id!r}"))
    for owner, owner_id, label in needed:
        quota = next((q for q in quotas if getattr(q, f"{owner}_id") == owner_id), None)
        remaining = quota.remaining_seconds if quota is not None else 0
        if remaining < seconds:
            raise QuotaExceeded(label, seconds / SECONDS_PER_HOUR, remaining / SECONDS_PER_HOUR)
    for quota in quotas:
        quota.used_seconds += seconds
        session.add(QuotaCharge(quota_id=quota.id, request_id=request.id, seconds=seconds, reason="accepted",
                                at=now))
    request.charged_seconds = seconds
    return seconds


def refund_request(session: Session, request: ObservationRequest, *, reason: str, now: datetime) -> int:
    """Give back to each quota what a request was charged (by the ledger).

    Args:
        session: The session whose transaction also changes the request's status.
        request: The request being cancelled or failed (its row already locked by the caller).
        reason: The new status, recorded in the ledger.
        now: When (observatory time), for the ledger.

    Returns:
        The seconds refunded to each quota at most (``request.charged_seconds`` before).
    """
    balance = (select(QuotaCharge.quota_id, func.sum(QuotaCharge.seconds))
               .where(QuotaCharge.request_id == request.id).group_by(QuotaCharge.quota_id))
    owed = {quota_id: total for quota_id, total in session.execute(balance) if total}
    refunded = request.charged_seconds
    if owed:
        for quota in _locked_quotas(session, Quota.id.in_(owed)):
            quota.used_seconds -= owed[quota.id]
            session.add(QuotaCharge(quota_id=quota.id, request_id=request.id, seconds=-owed[quota.id],
                                    reason=reason, at=now))
    request.charged_seconds = 0
    return refunded


def quota_of(session: Session, *, user_id: int | None = None, country_id: int | None = None) -> Quota | None:
    """Return the quota of a user or of a country (exactly one of the two), or ``None`` if it has none.

    Raises:
        ValueError: Unless exactly one of ``user_id`` and ``country_id`` is given.
    """
    if (user_id is None) == (country_id is None):
        raise ValueError("give exactly one of user_id and country_id")
    condition = Quota.user_id == user_id if user_id is not None else Quota.country_id == country_id
    return session.scalars(select(Quota).where(condition)).one_or_none()
