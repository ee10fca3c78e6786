"""MDP worker I/O: serve service names through the broker with a handler.

A :class:`Worker` owns one I/O thread and several *slots*. A slot is one DEALER
connection that registered one service name with READY; since a Majordomo
worker holds at most one request at a time, a service that must answer
``status`` while a ``wait`` is blocked needs several slots. Requests are run by
a thread pool so that the I/O thread keeps heartbeating while a command runs.

Each slot watches the broker's liveness. When the broker falls silent for
``heartbeat_interval * heartbeat_liveness`` seconds, or sends DISCONNECT, the
slot closes its socket and registers again on a new one, waiting between
attempts with an exponential backoff (``reconnect_min`` doubling up to
``reconnect_max``) that is reset as soon as the broker is heard again.

A broker that has not been heard yet is not *silent*, only not there yet (a worker often starts
before its broker, e.g. under the supervisor that launches both): those attempts are logged at
debug level, and one warning is given if no slot has heard the broker ``absent_warning_s``
after the start.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

import zmq

from pyros.errors import ProtocolError
from pyros.mdp import constants as c
from pyros.mdp.codec import (Dialect, WorkerCommand, parse_worker_message, worker_disconnect, worker_heartbeat,
                             worker_ready, worker_reply)
from pyros.messages import error_reply, request_id_of
from pyros.multipart import recv_multipart, send_multipart
from pyros.wakeup import Wakeup

log = logging.getLogger(__name__)

SendPartial = Callable[[list[bytes]], None]
Handler = Callable[[list[bytes], SendPartial], list[bytes]]
"""``handler(body_frames, send_partial) -> reply_frames``, run in a pool thread."""
BatchHandler = Callable[[list[list[bytes]]], list[list[bytes]]]
"""``batch_handler([body_frames, ...]) -> [reply_frames, ...]``, one reply per request, in order."""


class _Slot:
    __slots__ = ("index", "name", "socket", "generation", "busy", "broker_expiry", "next_heartbeat",
                 "reconnect_at", "backoff", "heard")

    def __init__(self, index: int, name: bytes) -> None:
        self.index = index
        self.name = name
        self.socket: zmq.Socket | None = None
        self.generation = 0
        self.busy: bytes | None = None
        self.broker_expiry = 0.0
        self.next_heartbeat = 0.0
        self.reconnect_at = 0.0
        self.backoff = 0.0
        self.heard = False
        """Whether the broker has ever answered this slot."""


class Worker:
    """Serve service names with a handler over MDP.

    Args:
        endpoint: Broker endpoint.
        handler: Called for each request with its body frames and a function that
            sends PARTIAL replies; returns the body frames of the final reply.
        names: Service names to register.
        slots: Connections (concurrent requests) per name.
        heartbeat_interval: Seconds between heartbeats; the broker's value.
        heartbeat_liveness: Silent intervals before the broker is deemed gone.
        reconnect_min: First wait before registering again.
        reconnect_max: Longest wait between attempts.
        dialect: Worker dialect (``Dialect.V2`` streams progress).
        context: ZeroMQ context (the process-wide instance by default).
        inline: Run the handler in the I/O thread instead of the pool: no thread
            hand-off per request, for handlers that finish in well under a
            heartbeat interval (several slots still let the broker pipeline).
        batch_handler: Instead of ``handler`` one request at a time, run this
            in the I/O thread once per poll with every request that arrived on
            any slot (e.g. to store them all in one transaction). Implies
            ``inline``; it must return exactly one reply per request.
        absent_warning_s: Seconds after the start without hearing the broker on any slot before a
            warning says it is absent (until then the attempts are logged at debug level).
    """

    def __init__(self, endpoint: str, handler: Handler, names: Sequence[str], *, slots: int = 4,
                 heartbeat_interval: float = c.DEFAULT_HEARTBEAT_INTERVAL,
                 heartbeat_liveness: int = c.DEFAULT_HEARTBEAT_LIVENESS, reconnect_min: float = 0.05,
                 reconnect_max: float = 5.0, dialect: Dialect = Dialect.V2,
                 context: zmq.Context | None = None, inline: bool = False,
                 batch_handler: BatchHandler | None = None, absent_warning_s: float = 10.0) -> None:
        if slots < 1:
            raise ValueError("slots must be >= 1")
        if not absent_warning_s >= 0:
            raise ValueError(f"absent_warning_s must be >= 0, got {absent_warning_s!r}")
        if not names:
            raise ValueError("a worker needs at least one service name")
        for name in names:
            if not name or name.startswith("mmi."):
                raise ValueError(f"invalid service name {name!r}")
        self.endpoint = endpoint
        self.handler = handler
        self.names = list(names)
        self.heartbeat_interval = heartbeat_interval
        self.liveness = heartbeat_interval * heartbeat_liveness
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.absent_warning_s = float(absent_warning_s)
        self.dialect = dialect
        self.inline = inline or batch_handler is not None
        self.batch_handler = batch_handler
        self._batch: list[tuple[int, int, bytes, list[bytes]]] = []
        self._context = context or zmq.Context.instance()
        self._slots = [_Slot(i, name.encode()) for i, name in enumerate(n for n in self.names for _ in range(slots))]
        self._pool = ThreadPoolExecutor(max_workers=len(self._slots), thread_name_prefix="pyros-worker")
        self._results: deque[tuple[int, int, bytes, list[bytes], bool]] = deque()
        self._wakeup = Wakeup()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.counts: Counter[str] = Counter()
        """Requests served, reconnections, dropped frames, late results."""
        self._started_at = math.nan
        self._absence_reported = False

    # -------------------------------------------------------------- lifecycle

    def start(self) -> Worker:
        """Run the I/O loop in a daemon thread and return self."""
        self._thread = threading.Thread(target=self.run, name=f"pyros-worker-{self.names[0]}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Send DISCONNECT on every slot, close the sockets and stop the loop."""
        self._stopping.set()
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _wake(self) -> None:
        self._wakeup.wake()

    # ---------------------------------------------------------------- the loop

    def run(self) -> None:
        """Serve until :meth:`stop` is called (blocking)."""
        now = time.monotonic()
        self._started_at = now
        for slot in self._slots:
            self._connect(slot, now)
        try:
            while not self._stopping.is_set():
                poller = zmq.Poller()
                poller.register(self._wakeup.fileno(), zmq.POLLIN)
                by_socket: dict[zmq.Socket, _Slot] = {}
                for slot in self._slots:
                    if slot.socket is not None:
                        poller.register(slot.socket, zmq.POLLIN)
                        by_socket[slot.socket] = slot
                self._serve(poller, by_socket)
        finally:
            self._shutdown()

    def _serve(self, poller: zmq.Poller, by_socket: dict[zmq.Socket, _Slot]) -> None:
        """Poll until a socket is replaced (then the caller rebuilds the poller)."""
        while not self._stopping.is_set():
            now = time.monotonic()
            deadline = min(min(s.next_heartbeat, s.broker_expiry) if s.socket is not None else s.reconnect_at
                           for s in self._slots)
            events = dict(poller.poll(math.ceil(max(0.0, deadline - now) * 1000.0)))
            if self._wakeup.fileno() in events:
                self._wakeup.drain()
            self._send_results()
            replaced = False
            for sock, slot in by_socket.items():
                if sock in events:
                    replaced |= self._receive(slot)
            if self._batch:
                self._execute_batch()
            now = time.monotonic()
            for slot in self._slots:
                if slot.socket is None:
                    if now >= slot.reconnect_at:
                        self._connect(slot, now)
                        replaced = True
                    continue
                if now >= slot.broker_expiry:
                    self._broker_not_heard(slot, now)
                    self._drop_connection(slot, now)
                    replaced = True
                elif now >= slot.next_heartbeat:
                    send_multipart(slot.socket, worker_heartbeat(self.dialect))
                    slot.next_heartbeat = now + self.heartbeat_interval
            if replaced:
                return

    def _receive(self, slot: _Slot) -> bool:
        """Handle everything pending on a slot; True if its socket was replaced."""
        sock = slot.socket
        while sock is not None:
            try:
                frames = recv_multipart(sock, zmq.NOBLOCK)
            except zmq.Again:
                return False
            now = time.monotonic()
            try:
                message = parse_worker_message(frames, self.dialect)
            except ProtocolError as exc:
                self.counts["dropped_frames"] += 1
                log.warning("dropped a malformed message from the broker: %s", exc)
                continue
            slot.broker_expiry = now + self.liveness
            slot.backoff = 0.0
            if not slot.heard:
                slot.heard = True
                if self._absence_reported:
                    self._absence_reported = False
                    log.warning("the broker at %s answers %s at last", self.endpoint, slot.name.decode())
            if message.command is WorkerCommand.DISCONNECT:
                self.counts["disconnected_by_broker"] += 1
                self._drop_connection(slot, now, immediately=True)
                return True
            if message.command is WorkerCommand.REQUEST:
                if slot.busy is not None:
                    self.counts["request_while_busy"] += 1
                    log.warning("broker sent a request to a busy slot; dropped")
                    continue
                slot.busy = message.client
                self.counts["requests"] += 1
                if self.batch_handler is not None:
                    self._batch.append((slot.index, slot.generation, message.client, message.body or []))
                elif self.inline:
                    self._execute(slot.index, slot.generation, message.client, message.body or [])
                    self._send_results()
                else:
                    self._pool.submit(self._execute, slot.index, slot.generation, message.client,
                                      message.body or [])
        return False

    def _execute(self, index: int, generation: int, client: bytes, body: list[bytes]) -> None:
        def send_partial(frames: list[bytes]) -> None:
            self._results.append((index, generation, client, list(frames), False))
            self._wake()

        try:
            reply = self.handler(body, send_partial)
        except Exception as exc:  # the handler's failure must still answer the client
            log.exception("handler failed")
            reply = [error_reply(request_id_of(body[0]) if body else None, "WorkerError",
                                 f"{type(exc).__name__}: {exc}")]
        self._results.append((index, generation, client, list(reply), True))
        self._wake()

    def _execute_batch(self) -> None:
        """Run the batch handler on the requests received in this poll and send its replies."""
        batch, self._batch = self._batch, []
        handler = self.batch_handler
        if handler is None:  # only filled when there is one
            return
        bodies = [body for _, _, _, body in batch]
        try:
            replies = handler(bodies)
            if len(replies) != len(bodies):
                raise RuntimeError(f"batch handler returned {len(replies)} replies for {len(bodies)} requests")
        except Exception as exc:  # every client in the batch must still be answered
            log.exception("batch handler failed")
            replies = [[error_reply(request_id_of(body[0]) if body else None, "WorkerError",
                                    f"{type(exc).__name__}: {exc}")] for body in bodies]
        for (index, generation, client, _), reply in zip(batch, replies):
            self._results.append((index, generation, client, list(reply), True))
        self._send_results()

    def _send_results(self) -> None:
        while self._results:
            index, generation, client, frames, final = self._results.popleft()
            slot = self._slots[index]
            if slot.generation != generation or slot.socket is None or slot.busy != client:
                self.counts["late_results"] += 1
                continue
            if not final and self.dialect is Dialect.V1:
                continue
            send_multipart(slot.socket, worker_reply(client, frames, self.dialect, final=final))
            slot.next_heartbeat = time.monotonic() + self.heartbeat_interval
            if final:
                slot.busy = None

    # ---------------------------------------------------------- connections

    def _broker_not_heard(self, slot: _Slot, now: float) -> None:
        """Log a slot's broker liveness running out: silent if it was heard before, else absent (yet)."""
        if slot.heard:
            self.counts["broker_silent"] += 1
            log.warning("broker silent for %.1f s on %s; reconnecting", self.liveness, slot.name.decode())
            return
        self.counts["broker_absent"] += 1
        log.debug("no broker at %s yet for %s; registering again", self.endpoint, slot.name.decode())
        if not self._absence_reported and not any(s.heard for s in self._slots) \
                and now - self._started_at >= self.absent_warning_s:
            self._absence_reported = True
            log.warning("no broker has answered at %s for %.0f s (%s); still trying", self.endpoint,
                        now - self._started_at, ", ".join(self.names))

    def _connect(self, slot: _Slot, now: float) -> None:
        sock = self._context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.endpoint)
        sock.send_multipart(worker_ready(slot.name, self.dialect))
        slot.socket = sock
        slot.generation += 1
        slot.busy = None
        slot.broker_expiry = now + self.liveness
        slot.next_heartbeat = now + self.heartbeat_interval
        self.counts["connections"] += 1

    def _drop_connection(self, slot: _Slot, now: float, *, immediately: bool = False) -> None:
        if slot.socket is not None:
            slot.socket.close(linger=0)
            slot.socket = None
        slot.generation += 1
        slot.busy = None
        if immediately:
            slot.reconnect_at = now
        else:
            slot.backoff = min(self.reconnect_max, max(self.reconnect_min, slot.backoff * 2))
            slot.reconnect_at = now + slot.backoff

    def _shutdown(self) -> None:
        for slot in self._slots:
            if slot.socket is not None:
                try:
                    slot.socket.send_multipart(worker_disconnect(self.dialect), zmq.NOBLOCK)
                except zmq.ZMQError:
                    pass
                slot.socket.close(linger=100)
                slot.socket = None
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._wakeup.close()
