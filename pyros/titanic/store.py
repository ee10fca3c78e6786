"""Durable storage of Titanic (9/TSP) requests and replies in SQLite.

Each request is one row that moves through the states::

    pending ──claim──► dispatched ──store_reply──► replied ──close──► closed ──purge──► (deleted)
       ▲                   │
       └──── reschedule ───┘        (close is allowed from any state; purge deletes closed rows)

Every transition is a single ``UPDATE ... WHERE state IN (...)`` in its own
transaction, so it happens entirely or not at all, and a second reply for the
same request is refused rather than overwriting the first: every accepted
request ends with **exactly one stored reply**. The database runs in WAL mode
with ``synchronous=FULL``: when :meth:`TitanicStore.accept` or a reply-storing
method returns, the request or reply survives a power cut, a SIGKILL or a crash
of any process. Claims and reschedules are scheduling bookkeeping and commit
without their own fsync (a lost one makes a request due again, nothing more).

A claimed (dispatched) request carries the time at which it may be dispatched
again if no reply has been stored by then; the delay doubles with each attempt
up to a cap. Re-dispatch reuses the request's UUID as its MDP request ``id``,
so the service's duplicate cache answers a retry without executing it twice.

Times are wall-clock UNIX seconds passed in by the caller (``now``): schedules
must survive restarts, which a monotonic clock does not.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import uuid as uuid_module
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterator

import msgpack

from pyros.errors import MessageError

_UUID = re.compile(r"^[0-9A-Za-z]{32}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS titanic_request (
    uuid         TEXT PRIMARY KEY,
    service      TEXT NOT NULL,
    body         BLOB NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'dispatched', 'replied', 'closed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    created      REAL NOT NULL,
    updated      REAL NOT NULL,
    reply        BLOB
);
CREATE INDEX IF NOT EXISTS titanic_due ON titanic_request (state, next_attempt);
"""


class RequestState(str, Enum):
    """Where a stored request is in its life."""

    PENDING = "pending"
    DISPATCHED = "dispatched"
    REPLIED = "replied"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A request read back from the store.

    Attributes:
        uuid: 32 lower-case hexadecimal characters.
        service: Target service name.
        body: The request body frames.
        state: Current state.
        attempts: How many times it was dispatched.
        next_attempt: Wall time at which it is (re)dispatched if still unanswered.
    """

    uuid: str
    service: str
    body: list[bytes]
    state: RequestState
    attempts: int
    next_attempt: float


def normalise_uuid(text: str | bytes) -> str:
    """Return a Titanic UUID in lower case.

    9/TSP allows '0'-'9', 'A'-'Z', 'a'-'z'; this store issues only hexadecimal
    UUIDs, so anything else cannot be one of ours but is still well-formed.

    Raises:
        MessageError: when ``text`` is not 32 such characters.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise MessageError("a Titanic UUID is 32 ASCII letters or digits") from None
    if not _UUID.match(text):
        raise MessageError(f"a Titanic UUID is 32 letters or digits, got {text[:40]!r}")
    return text.lower()


def _pack_frames(frames: list[bytes]) -> bytes:
    return msgpack.packb([bytes(f) for f in frames], use_bin_type=True)


def _unpack_frames(blob: bytes) -> list[bytes]:
    frames = msgpack.unpackb(blob, raw=False)
    if not isinstance(frames, list) or not all(isinstance(f, bytes) for f in frames):
        raise MessageError("stored frames are corrupt")
    return frames


class _WriteTicket:
    """One write waiting for a group commit, and what came of it."""

    __slots__ = ("apply", "durable", "done", "result", "error")

    def __init__(self, apply: Callable[[sqlite3.Connection], Any], durable: bool) -> None:
        self.apply = apply
        self.durable = durable
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


class TitanicStore:
    """SQLite-backed request and reply store (thread-safe).

    Every write goes through one group commit: the writes queued by all
    threads while the previous commit ran (accepts from the frontend, replies
    and claims from the dispatcher) share one transaction and one fsync. Each
    write runs in its own savepoint, so one that fails (a duplicate UUID, say)
    is undone alone and raises in its caller, while the others are committed;
    none returns before its change is on disk.

    Args:
        path: Database file (``":memory:"`` for tests that need no durability).
        redispatch_initial: Seconds before an unanswered request is dispatched again.
        redispatch_max: Longest delay between dispatches of one request.
    """

    def __init__(self, path: str | Path, *, redispatch_initial: float = 5.0, redispatch_max: float = 300.0) -> None:
        if not redispatch_initial > 0 or redispatch_max < redispatch_initial:
            raise ValueError("need 0 < redispatch_initial <= redispatch_max")
        self.path = str(path)
        self.redispatch_initial = redispatch_initial
        self.redispatch_max = redispatch_max
        self._lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._write_queue: list[_WriteTicket] = []
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> TitanicStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, apply: Callable[[sqlite3.Connection], Any], *, durable: bool = True) -> Any:
        """Run ``apply`` in the next group commit and return its result.

        Args:
            apply: Executes the write's statements on the connection it is given.
            durable: False for bookkeeping that may be lost in a power cut
                without breaking a guarantee (a claim or a reschedule only sets
                when a request is due again). A batch made only of such writes
                commits without an fsync (``synchronous=NORMAL``); in WAL mode the
                next durable commit syncs its pages, so the order on disk is kept.

        Raises:
            Exception: whatever ``apply`` raised (its changes are undone), or the
                error that made the whole commit fail.
        """
        ticket = _WriteTicket(apply, durable)
        with self._queue_lock:
            self._write_queue.append(ticket)
        # Whoever takes the database lock first writes every queued ticket; the
        # others find theirs done when they get the lock in turn.
        with self._lock:
            if not ticket.done:
                with self._queue_lock:
                    batch, self._write_queue = self._write_queue, []
                self._commit(batch)
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    def _commit(self, batch: list[_WriteTicket]) -> None:
        """Write ``batch`` in one transaction, each ticket in a savepoint; caller holds ``_lock``."""
        relaxed = not any(t.durable for t in batch)
        db = self._db
        try:
            if relaxed:
                db.execute("PRAGMA synchronous=NORMAL")
            db.execute("BEGIN IMMEDIATE")
            for ticket in batch:
                db.execute("SAVEPOINT write")
                try:
                    ticket.result = ticket.apply(db)
                except Exception as exc:  # noqa: BLE001 - handed to the ticket's caller
                    db.execute("ROLLBACK TO write")
                    ticket.error = exc
                db.execute("RELEASE write")
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            for ticket in batch:
                if ticket.error is None:
                    ticket.error, ticket.result = exc, None
            if not isinstance(exc, Exception):
                raise
        finally:
            if relaxed:
                db.execute("PRAGMA synchronous=FULL")
            for ticket in batch:
                ticket.done = True

    # ------------------------------------------------------------- transitions

    @staticmethod
    def new_uuid() -> str:
        """A fresh Titanic UUID (32 lower-case hexadecimal characters)."""
        return uuid_module.uuid4().hex

    def accept(self, service: str, body: list[bytes], now: float, uid: str | None = None) -> str:
        """Store a new request durably and return its UUID.

        Args:
            service: Target service.
            body: Request body frames.
            now: Wall time.
            uid: The UUID to use (from :meth:`new_uuid`), when the caller needed it
                before storing; a fresh one by default.

        Raises:
            ValueError: for an empty service name or an empty body.
            MessageError: for a malformed ``uid``.
            sqlite3.IntegrityError: when ``uid`` is already stored.
        """
        new = normalise_uuid(uid) if uid is not None else self.new_uuid()
        self.accept_many([(service, body, new)], now)
        return new

    def accept_many(self, requests: list[tuple[str, list[bytes], str]], now: float) -> None:
        """Store several requests durably in one transaction: all of them, or none.

        Args:
            requests: ``(service, body, uid)`` each, ``uid`` from :meth:`new_uuid`.
            now: Wall time.

        Raises:
            ValueError: for an empty service name or body (nothing is stored).
            MessageError: for a malformed ``uid`` (nothing is stored).
            sqlite3.IntegrityError: when a ``uid`` is already stored (nothing is stored).
        """
        rows = []
        for service, body, uid in requests:
            if not service:
                raise ValueError("a Titanic request needs a service name")
            if not body:
                raise ValueError("a Titanic request needs at least one body frame")
            rows.append((normalise_uuid(uid), service, _pack_frames(body), now, now, now))
        if rows:
            self._write(lambda db: db.executemany(
                "INSERT INTO titanic_request (uuid, service, body, state, attempts, next_attempt, created, updated)"
                " VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)", rows))

    def claim_due(self, now: float, limit: int = 100) -> list[StoredRequest]:
        """Mark up to ``limit`` due requests dispatched and return them.

        A request is due when it is pending, or dispatched without a stored
        reply, and its ``next_attempt`` has come. Each claim counts one attempt
        and sets the next attempt to ``now`` plus a delay doubling per attempt.
        """
        def claim(db: sqlite3.Connection) -> list[StoredRequest]:
            rows = db.execute(
                "SELECT uuid, service, body, attempts FROM titanic_request"
                " WHERE state IN ('pending', 'dispatched') AND next_attempt <= ?"
                " ORDER BY next_attempt, created LIMIT ?", (now, limit)).fetchall()
            claimed = []
            for uid, service, body, attempts in rows:
                attempts += 1
                due = now + self.redispatch_delay(attempts)
                db.execute("UPDATE titanic_request SET state = 'dispatched', attempts = ?, next_attempt = ?,"
                           " updated = ? WHERE uuid = ?", (attempts, due, now, uid))
                claimed.append(StoredRequest(uid, service, _unpack_frames(body), RequestState.DISPATCHED,
                                             attempts, due))
            return claimed

        result: list[StoredRequest] = self._write(claim, durable=False)
        return result

    def redispatch_delay(self, attempts: int) -> float:
        """Delay before dispatching again a request dispatched ``attempts`` times."""
        return min(self.redispatch_max, self.redispatch_initial * 2.0 ** max(0, attempts - 1))

    def reschedule(self, uid: str, at: float, now: float) -> bool:
        """Put an unanswered request back to pending, due at ``at`` (e.g. after ServiceUnavailable)."""
        key = normalise_uuid(uid)
        cur = self._write(lambda db: db.execute(
            "UPDATE titanic_request SET state = 'pending', next_attempt = ?, updated = ?"
            " WHERE uuid = ? AND state IN ('pending', 'dispatched')", (at, now, key)), durable=False)
        return bool(cur.rowcount == 1)

    def store_reply(self, uid: str, reply: list[bytes], now: float) -> bool:
        """Store the reply of a request; False if it already has one, was closed, or is unknown.

        The first reply wins: a late duplicate (the service answering a
        re-dispatch) never replaces it.
        """
        return self.store_replies([(uid, reply)], now)[0]

    def store_replies(self, replies: list[tuple[str, list[bytes]]], now: float) -> list[bool]:
        """Store several replies in one transaction (one fsync); each as :meth:`store_reply` would.

        Returns:
            For each reply, whether it was stored (False: already replied, closed or unknown).
        """
        rows = [(_pack_frames(reply), now, normalise_uuid(uid)) for uid, reply in replies]

        def store(db: sqlite3.Connection) -> list[bool]:
            return [db.execute("UPDATE titanic_request SET state = 'replied', reply = ?, updated = ?"
                               " WHERE uuid = ? AND state IN ('pending', 'dispatched')", row).rowcount == 1
                    for row in rows]

        result: list[bool] = self._write(store)
        return result

    def close_request(self, uid: str, now: float) -> None:
        """Close a request (idempotent; unknown UUIDs are fine, as 9/TSP requires)."""
        key = normalise_uuid(uid)
        self._write(lambda db: db.execute(
            "UPDATE titanic_request SET state = 'closed', reply = NULL, body = X'', updated = ?"
            " WHERE uuid = ? AND state != 'closed'", (now, key)))

    def purge(self, closed_before: float) -> int:
        """Delete closed requests last changed before ``closed_before``; return how many."""
        cur = self._write(lambda db: db.execute(
            "DELETE FROM titanic_request WHERE state = 'closed' AND updated < ?", (closed_before,)), durable=False)
        return int(cur.rowcount)

    # ------------------------------------------------------------------ reads

    def get(self, uid: str) -> StoredRequest | None:
        """The request with this UUID, or None if unknown (closed ones included until purged)."""
        with self._lock:
            row = self._db.execute("SELECT uuid, service, body, state, attempts, next_attempt FROM titanic_request"
                                   " WHERE uuid = ?", (normalise_uuid(uid),)).fetchone()
        if row is None:
            return None
        uid_, service, body, state, attempts, next_attempt = row
        return StoredRequest(uid_, service, _unpack_frames(body) if body else [], RequestState(state), attempts,
                             next_attempt)

    def reply_of(self, uid: str) -> tuple[str, list[bytes]]:
        """The 9/TSP answer to ``titanic.reply``: ``("200", reply)``, ``("300", [])`` or ``("400", [])``."""
        with self._lock:
            row = self._db.execute("SELECT state, reply FROM titanic_request WHERE uuid = ?",
                                   (normalise_uuid(uid),)).fetchone()
        if row is None or row[0] == RequestState.CLOSED.value:
            return "400", []
        if row[0] == RequestState.REPLIED.value:
            return "200", _unpack_frames(row[1])
        return "300", []

    def counts(self) -> dict[str, int]:
        """Number of requests in each state."""
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM titanic_request GROUP BY state").fetchall()
        table = {s.value: 0 for s in RequestState}
        table.update({state: n for state, n in rows})
        return table

    def uuids(self, state: RequestState | None = None) -> Iterator[str]:
        """UUIDs of all requests, or of those in ``state``."""
        with self._lock:
            if state is None:
                rows = self._db.execute("SELECT uuid FROM titanic_request").fetchall()
            else:
                rows = self._db.execute("SELECT uuid FROM titanic_request WHERE state = ?", (state.value,)).fetchall()
        return iter([r[0] for r in rows])

    def integrity_ok(self) -> bool:
        """True when SQLite's integrity check passes."""
        with self._lock:
            return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
