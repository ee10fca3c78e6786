"""The ``requests`` service: observation requests in XML, validated, stored, listed and cancelled.

::

    pyros request submit etc/requests/m31_deep.xml
    pyros request list --json
    pyros call requests show id=3

A submitted document is parsed safely (:mod:`pyros.requests`), resolved against
the database (user, program, cameras and their filters), stored and accepted
with its quotas charged, all in one transaction: a refusal leaves nothing
behind. A request belongs to the principal that submits it (the name of its
token, see ``[access.names]``); operators may submit for someone else and
cancel anyone's request.
"""

from __future__ import annotations

from typing import Annotated, Any

from sqlalchemy import select

from pyros.config import active_config
from pyros.db.engine import Database
from pyros.db.errors import DatabaseError, NotFound, QuotaExceeded
from pyros.db.lifecycle import RequestStatus
from pyros.db.migrate import upgrade
from pyros.db.models import ObservationRequest, User
from pyros.db.request_workflow import change_request_status
from pyros.requests import InvalidRequest, parse_request
from pyros.requests.store import request_summary, store_request
from pyros.service import CallContext, Quantity, Refusal, Service, command
from pyros.service.access import level_allows

MAX_LISTED = 1000
"""Most requests one ``list`` returns."""


def _refusal(exc: Exception) -> Refusal:
    """The error reply for what the parser or the database refused."""
    if isinstance(exc, InvalidRequest):
        return Refusal("InvalidRequest", str(exc))
    if isinstance(exc, QuotaExceeded):
        return Refusal("QuotaExceeded", str(exc))
    if isinstance(exc, NotFound):
        return Refusal("NotFound", str(exc))
    return Refusal(type(exc).__name__, str(exc))


class _Validated(Exception):
    """Carries a validated request's summary out of the transaction that must not be kept."""

    def __init__(self, summary: dict[str, Any]) -> None:
        super().__init__("validated")
        self.summary = summary


class RequestService(Service):
    """Observation requests: submit (XML), validate, list, show, cancel."""

    service_name = "requests"
    version = "1.0.0"

    def __init__(self, database: str | None = None) -> None:
        """Open the database.

        Args:
            database: SQLAlchemy URL; default ``database.url`` of the configuration.
        """
        self.database = Database(database if database is not None else active_config().database.url)

    def on_start(self) -> None:
        """Bring the database schema up to date (a no-op when it is)."""
        upgrade(self.database)

    def on_stop(self) -> None:
        """Close the database connections."""
        self.database.dispose()

    def _owner(self, call: CallContext, user: str | None) -> str:
        if user is None or user == call.principal:
            return call.principal
        if not level_allows(call.level, "operator"):
            raise Refusal("AccessDenied", f"submitting for {user!r} needs operator level; you are {call.level}")
        return user

    @command(level="observer", timeout=60.0)
    def submit(self, call: CallContext, document: str, user: str | None = None) -> dict[str, Any]:
        """Submit an XML request: stored and accepted (quotas charged), or refused with nothing stored.

        Args:
            document: The request document (see docs/requests.md).
            user: Whose request it is (default: you; someone else needs operator level).
        """
        owner = self._owner(call, user)
        try:
            spec = parse_request(document)
            with self.database.transaction() as session:
                stored = store_request(session, spec, username=owner, actor=call.principal)
                return request_summary(stored, details=True)
        except (InvalidRequest, DatabaseError) as exc:
            raise _refusal(exc) from None

    @command(level="observer", timeout=60.0)
    def validate(self, call: CallContext, document: str, user: str | None = None) -> dict[str, Any]:
        """Check an XML request as ``submit`` would (quotas included), then store nothing.

        Args:
            document: The request document.
            user: Whose request it would be (default: you).
        """
        owner = self._owner(call, user)
        try:
            spec = parse_request(document)
            with self.database.transaction() as session:
                stored = store_request(session, spec, username=owner, actor=call.principal)
                raise _Validated(request_summary(stored, details=True))  # rolls the transaction back
        except _Validated as done:
            summary = done.summary
        except (InvalidRequest, DatabaseError) as exc:
            raise _refusal(exc) from None
        summary.update(id=None, status="valid")
        return summary

    @command(level="observer", name="list")
    def list_requests(self, status: str | None = None, user: str | None = None,
             limit: Annotated[int, Quantity(minimum=1, maximum=MAX_LISTED)] = 100) -> list[dict[str, Any]]:
        """The most recent requests, newest first.

        Args:
            status: Only those in this status (draft, submitted, accepted, executing, completed,
                rejected, cancelled, failed).
            user: Only those of this user.
            limit: How many at most.
        """
        query = select(ObservationRequest).order_by(ObservationRequest.id.desc()).limit(limit)
        if status is not None:
            if status not in {s.value for s in RequestStatus}:
                raise Refusal("BadArgument", f"unknown status {status!r}; one of "
                                             f"{', '.join(s.value for s in RequestStatus)}")
            query = query.where(ObservationRequest.status == status)
        if user is not None:
            query = query.join(ObservationRequest.user).where(User.username == user)
        with self.database.session() as session:
            return [request_summary(r) for r in session.scalars(query)]

    @command(level="observer")
    def show(self, id: int) -> dict[str, Any]:  # noqa: A002 - the wire name of the argument
        """One request with its sequences, targets, constraints and plans.

        Args:
            id: The request id.
        """
        with self.database.session() as session:
            request = session.get(ObservationRequest, id)
            if request is None:
                raise Refusal("NotFound", f"no request {id}")
            return request_summary(request, details=True)

    @command(level="observer", timeout=60.0)
    def cancel(self, call: CallContext, id: int, reason: str = "") -> dict[str, Any]:  # noqa: A002
        """Cancel a request (yours, or anyone's for operators); its unspent quota is refunded.

        Args:
            id: The request id.
            reason: Why, for the audit log.
        """
        try:
            with self.database.transaction() as session:
                request = session.get(ObservationRequest, id)
                if request is None:
                    raise NotFound("request", id)
                if request.user.username != call.principal and not level_allows(call.level, "operator"):
                    raise Refusal("AccessDenied", f"request {id} is {request.user.username}'s; cancelling it "
                                                  "needs operator level")
                changed = change_request_status(session, id, RequestStatus.CANCELLED, actor=call.principal,
                                                reason=reason or "cancelled")
                return request_summary(changed)
        except DatabaseError as exc:
            raise _refusal(exc) from None
