"""Titanic (9/TSP): persistent requests, executed asynchronously through the broker.

Three MDP services, speaking the raw frames of 9/TSP:

* ``titanic.request`` — ``[service, body...]`` → ``["200", uuid]``: the request is
  stored durably (:class:`~pyros.titanic.store.TitanicStore`) before the reply.
* ``titanic.reply`` — ``[uuid]`` → ``["200", reply...]``, ``["300"]`` (pending) or
  ``["400"]`` (unknown or closed).
* ``titanic.close`` — ``[uuid]`` → ``["200"]`` (also for unknown UUIDs).
Malformed requests get ``["400", reason]``; storage failures ``["500", reason]``.

A PyROS request body (one msgpack map with ``id``, ``cmd``, ``args``) has its ``id``
replaced by the Titanic UUID when stored, so every dispatch of it carries the same
id and the service's reply cache refuses a second execution.

The :class:`Dispatcher` claims due requests from the store and sends each on its own
DEALER slot (so replies need no id to be matched). A ``ServiceUnavailable`` answer
from the broker puts the request back to pending with backoff; any other reply is
stored (first one wins). A request still unanswered when its next attempt comes is
sent again on a fresh socket — however slow its service, it completes, and it is
never dispatched again once a reply is stored. Closed requests are purged on a
schedule.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from typing import Callable

import zmq

from pyros.errors import MessageError, ProtocolError
from pyros.mdp import constants as c
from pyros.mdp.codec import Dialect, client_request, parse_client_message
from pyros.messages import Reply, decode_reply, decode_request, pack, unpack
from pyros.multipart import recv_multipart, send_multipart
from pyros.titanic.store import TitanicStore, normalise_uuid
from pyros.wakeup import Wakeup
from pyros.worker import SendPartial, Worker

log = logging.getLogger(__name__)

OK, PENDING, UNKNOWN, ERROR = b"200", b"300", b"400", b"500"


def with_titanic_id(body: list[bytes], uid: str) -> list[bytes]:
    """Return the body with its request ``id`` set to ``uid`` when it is a PyROS request; else unchanged."""
    if len(body) != 1:
        return body
    try:
        decode_request(body[0])
        obj = unpack(body[0])
    except MessageError:
        return body
    obj["id"] = uid
    return [pack(obj)]


def _check_request(frames: list[bytes]) -> str | bytes:
    """The target service of a ``titanic.request``, or why the request is malformed (bytes)."""
    if len(frames) < 2:
        return b"titanic.request needs a service name frame and at least one body frame"
    try:
        service = frames[0].decode("utf-8")
    except UnicodeDecodeError:
        return b"service name is not UTF-8"
    if not service or not service.isprintable() or service.startswith("titanic."):
        return b"invalid target service name"
    return service


class TitanicFrontend:
    """The three 9/TSP services over one store (sans sockets: frames in, frames out)."""

    def __init__(self, store: TitanicStore, on_accept: Callable[[], None] = lambda: None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._on_accept = on_accept
        self._clock = clock

    def request(self, frames: list[bytes]) -> list[bytes]:
        """``titanic.request``: store ``[service, body...]`` and answer ``["200", uuid]``."""
        return self.request_many([frames])[0]

    def request_many(self, requests: list[list[bytes]]) -> list[list[bytes]]:
        """``titanic.request`` for several requests at once, stored in one transaction (one fsync).

        Returns:
            One answer per request, in order: ``["200", uuid]``, ``["400", why]``
            for a malformed one, or ``["500", why]`` for all of them when the
            store fails (nothing of the batch is then stored).
        """
        answers: list[list[bytes]] = []
        rows: list[tuple[int, str, list[bytes], str]] = []
        for frames in requests:
            checked = _check_request(frames)
            if isinstance(checked, bytes):
                answers.append([UNKNOWN, checked])
                continue
            uid = self.store.new_uuid()
            rows.append((len(answers), checked, with_titanic_id(frames[1:], uid), uid))
            answers.append([OK, uid.encode()])
        if not rows:
            return answers
        try:
            self.store.accept_many([(service, body, uid) for _, service, body, uid in rows], self._clock())
        except Exception as exc:  # storage failure: 9/TSP says 500, the client retries later
            log.exception("titanic.request: storage failed")
            for position, *_ in rows:
                answers[position] = [ERROR, f"storage failed: {exc}".encode()]
            return answers
        self._on_accept()
        return answers

    def reply(self, frames: list[bytes]) -> list[bytes]:
        """``titanic.reply``: ``["200", reply...]``, ``["300"]`` or ``["400"]``."""
        if len(frames) != 1:
            return [UNKNOWN, b"titanic.reply takes exactly one frame: the UUID"]
        try:
            status, reply = self.store.reply_of(normalise_uuid(frames[0]))
        except MessageError as exc:
            return [UNKNOWN, str(exc).encode()]
        return [status.encode(), *reply]

    def close(self, frames: list[bytes]) -> list[bytes]:
        """``titanic.close``: always ``["200"]`` for a well-formed UUID."""
        if len(frames) != 1:
            return [UNKNOWN, b"titanic.close takes exactly one frame: the UUID"]
        try:
            self.store.close_request(normalise_uuid(frames[0]), self._clock())
        except MessageError as exc:
            return [UNKNOWN, str(exc).encode()]
        return [OK]


class _Slot:
    """One request in flight: its DEALER socket, the request's UUID and when it is due again."""

    __slots__ = ("socket", "uuid", "due")

    def __init__(self) -> None:
        self.socket: zmq.Socket | None = None
        self.uuid: str | None = None
        self.due = 0.0


class Dispatcher:
    """Send stored requests to their services and store their replies.

    Args:
        endpoint: Broker endpoint.
        store: The request store.
        concurrency: Requests in flight at once (one DEALER each).
        unavailable_backoff: Seconds before retrying a request whose service had no worker.
        purge_after: Seconds a closed request is kept before it is deleted.
        clock: Wall clock (UNIX seconds).
        context: ZeroMQ context.
    """

    def __init__(self, endpoint: str, store: TitanicStore, *, concurrency: int = 32,
                 unavailable_backoff: float = 1.0, purge_after: float = 3600.0,
                 clock: Callable[[], float] = time.time, context: zmq.Context | None = None) -> None:
        self.endpoint = endpoint
        self.store = store
        self.unavailable_backoff = unavailable_backoff
        self.purge_after = purge_after
        self._clock = clock
        self._context = context or zmq.Context.instance()
        self._slots = [_Slot() for _ in range(concurrency)]
        self._wakeup = Wakeup()
        self._poller = zmq.Poller()
        self._poller.register(self._wakeup.fileno(), zmq.POLLIN)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.dispatched = 0
        self.replies_stored = 0
        self.duplicate_replies = 0

    def wake(self) -> None:
        """Look for due requests now (called after each accepted request)."""
        self._wakeup.wake()

    def start(self) -> Dispatcher:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="titanic-dispatcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and close its sockets."""
        self._stopping.set()
        self.wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _send(self, slot: _Slot, uid: str, service: str, body: list[bytes]) -> None:
        if slot.socket is not None and slot.uuid is not None:
            # Lazy Pirate: a request still unanswered is re-sent on a fresh socket, so
            # that a late reply to an abandoned send can never be taken for another's.
            self._poller.unregister(slot.socket)
            slot.socket.close(linger=0)
            slot.socket = None
        if slot.socket is None:
            slot.socket = self._context.socket(zmq.DEALER)
            slot.socket.setsockopt(zmq.LINGER, 0)
            slot.socket.connect(self.endpoint)
            self._poller.register(slot.socket, zmq.POLLIN)
        send_multipart(slot.socket, client_request(service, body, Dialect.V1))
        slot.uuid = uid
        self.dispatched += 1

    def _dispatch_due(self, now: float) -> None:
        """Claim as many due requests as there are free slots, plus the in-flight ones due again."""
        in_flight = {s.uuid: s for s in self._slots if s.uuid is not None}
        free = [s for s in self._slots if s.uuid is None]
        limit = len(free) + sum(1 for s in in_flight.values() if s.due <= now)
        if limit == 0:  # every slot busy and none overdue: nothing to ask the store
            return
        for request in self.store.claim_due(now, limit=limit):
            slot = in_flight.pop(request.uuid, None) or (free.pop() if free else None)
            if slot is None:  # no room: let it come due again soon
                self.store.reschedule(request.uuid, now + 0.05, now)
                continue
            self._send(slot, request.uuid, request.service, request.body)
            slot.due = request.next_attempt

    def _receive(self, slot: _Slot, now: float, replies: list[tuple[str, list[bytes]]]) -> None:
        """Take a slot's reply: reschedule on ServiceUnavailable, else add it to ``replies`` to store."""
        sock, uid = slot.socket, slot.uuid
        if sock is None:
            return
        try:
            frames = recv_multipart(sock, zmq.NOBLOCK)
        except zmq.Again:
            return
        if uid is None:  # nothing in flight on this socket: a stray message, read and dropped
            log.warning("titanic: message on an idle dispatch socket dropped")
            return
        try:
            message = parse_client_message(frames)
        except ProtocolError as exc:
            log.warning("titanic: garbled reply for %s dropped: %s", uid, exc)
            return
        if not message.final:
            return
        slot.uuid = None
        if _is_broker_unavailable(message.body):
            self.store.reschedule(uid, now + self.unavailable_backoff, now)
            return
        replies.append((uid, message.body))

    def _store(self, replies: list[tuple[str, list[bytes]]], now: float) -> None:
        """Store the replies of one poll in one transaction (first reply wins)."""
        if not replies:
            return
        stored = self.store.store_replies(replies, now)
        self.replies_stored += sum(stored)
        self.duplicate_replies += len(stored) - sum(stored)

    def run(self) -> None:
        """Dispatch until :meth:`stop`."""
        next_purge = 0.0
        try:
            while not self._stopping.is_set():
                now = self._clock()
                self._dispatch_due(now)
                if now >= next_purge:
                    self.store.purge(now - self.purge_after)
                    next_purge = now + min(60.0, self.purge_after)
                events = dict(self._poller.poll(100))
                if self._wakeup.fileno() in events:
                    self._wakeup.drain()
                now = self._clock()
                replies: list[tuple[str, list[bytes]]] = []
                for slot in self._slots:
                    if slot.socket is not None and slot.socket in events:
                        self._receive(slot, now, replies)
                self._store(replies, now)
        finally:
            for slot in self._slots:
                if slot.socket is not None:
                    slot.socket.close(linger=0)
            self._wakeup.close()


def _is_broker_unavailable(body: list[bytes]) -> bool:
    """True when the reply is the broker's own ``ServiceUnavailable`` error (retry later)."""
    if len(body) != 1:
        return False
    try:
        reply = decode_reply(body[0])
    except MessageError:
        return False
    return isinstance(reply, Reply) and not reply.ok and reply.error is not None \
        and reply.error.type == "ServiceUnavailable"


class TitanicServer:
    """Titanic's three services and its dispatcher.

    Args:
        endpoint: Broker endpoint.
        database: SQLite file of the store.
        concurrency: Requests dispatched at once.
        heartbeat_interval: The site's heartbeat interval.
        heartbeat_liveness: The site's liveness.
        redispatch_initial: Seconds before an unanswered request is sent again (doubling).
        purge_after: Seconds closed requests are kept.
    """

    def __init__(self, endpoint: str, database: str, *, concurrency: int = 32,
                 heartbeat_interval: float = c.DEFAULT_HEARTBEAT_INTERVAL,
                 heartbeat_liveness: int = c.DEFAULT_HEARTBEAT_LIVENESS, redispatch_initial: float = 5.0,
                 purge_after: float = 3600.0) -> None:
        self.store = TitanicStore(database, redispatch_initial=redispatch_initial)
        self.dispatcher = Dispatcher(endpoint, self.store, concurrency=concurrency, purge_after=purge_after)
        self.frontend = TitanicFrontend(self.store, on_accept=self.dispatcher.wake)
        # Everything runs in the I/O threads, with no hand-off to a pool: titanic.request
        # takes most of the load, so it has one slot per expected concurrent client and
        # stores every request that arrived in one poll in one transaction (one fsync);
        # titanic.reply and titanic.close are one quick statement each.
        self.workers = [
            Worker(endpoint, _adapt(self.frontend.request), ["titanic.request"], slots=8,
                   batch_handler=self.frontend.request_many,
                   heartbeat_interval=heartbeat_interval, heartbeat_liveness=heartbeat_liveness),
            Worker(endpoint, _adapt(self.frontend.reply), ["titanic.reply"], slots=4, inline=True,
                   heartbeat_interval=heartbeat_interval, heartbeat_liveness=heartbeat_liveness),
            Worker(endpoint, _adapt(self.frontend.close), ["titanic.close"], slots=2, inline=True,
                   heartbeat_interval=heartbeat_interval, heartbeat_liveness=heartbeat_liveness),
        ]

    def start(self) -> TitanicServer:
        """Start the dispatcher and the three services in threads."""
        self.dispatcher.start()
        for worker in self.workers:
            worker.start()
        return self

    def stop(self) -> None:
        """Stop everything and close the store."""
        for worker in self.workers:
            worker.stop()
        self.dispatcher.stop()
        self.store.close()

    def run(self) -> None:
        """Serve in the foreground until SIGINT or SIGTERM."""
        done = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
        self.start()
        try:
            done.wait()
        finally:
            self.stop()


def _adapt(handler: Callable[[list[bytes]], list[bytes]]) -> Callable[[list[bytes], SendPartial], list[bytes]]:
    def handle(body: list[bytes], send_partial: SendPartial) -> list[bytes]:
        return handler(list(body))

    return handle


def main() -> None:
    """``python -m servers.titanic``: same options as ``pyros titanic``."""
    from pyros.cli import main as pyros_main

    pyros_main.main(args=["titanic", *sys.argv[1:]], prog_name="python -m servers.titanic")


if __name__ == "__main__":
    main()
