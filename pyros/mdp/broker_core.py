"""The Majordomo broker as a state machine, with no sockets (sans-I/O).

The core is fed with what a ROUTER socket receives — ``[peer identity, frame,
frame, ...]`` — and the current monotonic time, and returns the messages to send,
each in the same form. Timers advance only through :meth:`BrokerCore.tick`.

It speaks 7/MDP v0.1 (``MDPC01``/``MDPW01``) and 18/MDP v0.2 (``MDPC02``/
``MDPW02``), the latter with or without the leading empty frame; every peer is
answered in the dialect and framing it used. On top of the RFCs:

* a worker that dies (liveness expiry) or disconnects while holding a request has
  that request put back at the head of its service's queue, at most ``retry_cap``
  times; the next loss gives the client a ``RetryExhausted`` error reply (requeued
  requests go back even into a full queue: only new arrivals are refused);
* service names must be printable UTF-8 (1 to 255 bytes): others are refused;
* a request for a service that has no worker waits ``service_timeout`` seconds
  (counted from the later of its arrival and the moment the service lost its last
  worker) and then gets a ``ServiceUnavailable`` error reply;
* busy workers expire like idle ones; dispatch happens after every READY and every
  final reply;
* 0.1 clients may be served by 0.2 workers (they receive only the final reply)
  and 0.2 clients by 0.1 workers;
* malformed input never raises: it is dropped and counted in :attr:`BrokerCore.drops`.

8/MMI: ``mmi.service``, ``mmi.services``, ``mmi.workers``, ``mmi.echo`` and the
extension ``mmi.stats``; any other ``mmi.*`` gets ``501``.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from pyros.mdp import constants as c
from pyros.messages import error_reply, pack, request_id_of

Frame = Any  # ``bytes`` or any buffer (e.g. a zmq.Frame) for opaque body frames.
Message = list[Frame]

MAX_SERVICE_NAME = 255
"""Longest service name accepted, in bytes."""


def valid_service_name(name: bytes) -> bool:
    """True for a printable UTF-8 service name of 1 to :data:`MAX_SERVICE_NAME` bytes.

    The RFCs call the service name a printable string; holding the broker to it
    keeps names lossless in MMI answers and logs.
    """
    if not 0 < len(name) <= MAX_SERVICE_NAME:
        return False
    try:
        return name.decode("utf-8").isprintable()
    except UnicodeDecodeError:
        return False

# Module-level names: the hot path avoids attribute lookups.
_C1, _W1, _C2, _W2 = c.C_CLIENT_V1, c.W_WORKER_V1, c.C_CLIENT_V2, c.W_WORKER_V2
_C2_REQUEST, _C2_PARTIAL, _C2_FINAL = c.C2_REQUEST, c.C2_PARTIAL, c.C2_FINAL
_V1_READY, _V1_REQUEST, _V1_REPLY, _V1_HEARTBEAT, _V1_DISCONNECT = (c.V1_READY, c.V1_REQUEST, c.V1_REPLY,
                                                                    c.V1_HEARTBEAT, c.V1_DISCONNECT)
_V2_READY, _V2_REQUEST, _V2_PARTIAL, _V2_FINAL = c.V2_READY, c.V2_REQUEST, c.V2_PARTIAL, c.V2_FINAL
_V2_HEARTBEAT, _V2_DISCONNECT = c.V2_HEARTBEAT, c.V2_DISCONNECT
_MMI = c.MMI_PREFIX


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """Tunable behaviour of the broker.

    Attributes:
        heartbeat_interval: Seconds between the heartbeats the broker sends; peers
            must use the same value.
        heartbeat_liveness: Intervals of silence after which a worker is dead.
        service_timeout: Seconds a request waits when its service has no worker.
        retry_cap: How many times a request is requeued after its worker died
            before the client gets ``RetryExhausted``.
        max_queue: Most requests queued per service; beyond, new ones are refused.
    """

    heartbeat_interval: float = c.DEFAULT_HEARTBEAT_INTERVAL
    heartbeat_liveness: int = c.DEFAULT_HEARTBEAT_LIVENESS
    service_timeout: float = 5.0
    retry_cap: int = 3
    max_queue: int = 10_000

    def __post_init__(self) -> None:
        if not self.heartbeat_interval > 0:
            raise ValueError("heartbeat_interval must be > 0")
        if self.heartbeat_liveness < 1:
            raise ValueError("heartbeat_liveness must be >= 1")
        if not self.service_timeout >= 0:
            raise ValueError("service_timeout must be >= 0")
        if self.retry_cap < 0:
            raise ValueError("retry_cap must be >= 0")
        if self.max_queue < 1:
            raise ValueError("max_queue must be >= 1")


class _Request:
    """A client request held by the broker."""

    __slots__ = ("client", "v2", "envelope", "service", "body", "retries", "arrived")

    def __init__(self, client: bytes, v2: bool, envelope: bool, service: bytes, body: list[Frame],
                 arrived: float) -> None:
        self.client = client
        self.v2 = v2
        self.envelope = envelope
        self.service = service
        self.body = body
        self.retries = 0
        self.arrived = arrived


class _Worker:
    """A registered worker."""

    __slots__ = ("identity", "service", "v2", "envelope", "expiry", "request", "request_message", "waiting")

    def __init__(self, identity: bytes, service: _Service, v2: bool, envelope: bool, expiry: float) -> None:
        self.identity = identity
        self.service = service
        self.v2 = v2
        self.envelope = envelope
        self.expiry = expiry
        self.request: _Request | None = None
        self.request_message: Message | None = None
        """The message that handed ``request`` to this worker (to recognise it if it cannot be sent)."""
        self.waiting = False


class _Service:
    """A service name with its queue and workers."""

    __slots__ = ("name", "requests", "waiting", "workers", "orphaned_since")

    def __init__(self, name: bytes, now: float) -> None:
        self.name = name
        self.requests: deque[_Request] = deque()
        self.waiting: deque[_Worker] = deque()
        self.workers = 0
        self.orphaned_since = now


class BrokerCore:
    """Majordomo broker logic: frames and time in, frames out.

    Args:
        settings: Heartbeat, timeout and queue settings.
        now: The current monotonic time.
    """

    def __init__(self, settings: BrokerSettings | None = None, now: float = 0.0) -> None:
        self.settings = settings or BrokerSettings()
        s = self.settings
        self._expiry = s.heartbeat_interval * s.heartbeat_liveness
        self.tick_interval = max(0.005, min(s.heartbeat_interval, s.service_timeout or s.heartbeat_interval) / 10)
        self.services: dict[bytes, _Service] = {}
        self.workers: dict[bytes, _Worker] = {}
        self.drops: Counter[str] = Counter()
        """Messages dropped, by reason."""
        self.counts: Counter[str] = Counter()
        """Notable events (expired workers, requeues, error replies, ...)."""
        self.requests_routed = 0
        self.replies_routed = 0
        self._next_heartbeat = now + s.heartbeat_interval
        self.next_tick = now + self.tick_interval
        """Monotonic time at which :meth:`tick` should next be called."""

    # ------------------------------------------------------------------ input

    def handle(self, frames: list[Frame], now: float) -> list[Message]:
        """Process one message received on the ROUTER socket.

        Args:
            frames: The routing identity followed by the message frames. Routing
                frames must be ``bytes``; body frames may be any buffer.
            now: Current monotonic time.

        Returns:
            Messages to send, each starting with the destination identity.
        """
        n = len(frames)
        if n < 3:
            self.drops["too_short"] += 1
            return []
        sender = frames[0]
        first = frames[1]
        if first == b"":
            header = frames[2]
            h = 2
            envelope = True
        else:
            header = first
            h = 1
            envelope = False
        if header == _W1:
            if envelope and n > 3 and frames[3] == _V1_REPLY:
                return self._reply(sender, frames, 2, False, True, True, now)
        elif header == _C1:
            return self._client_request(sender, frames, h + 1, False, envelope, now)
        if header == _W1:
            if not envelope:
                self.drops["v1_worker_without_empty_frame"] += 1
                return []
            return self._worker_message(sender, frames, h, False, envelope, now)
        if header == _C2:
            if n <= h + 1 or frames[h + 1] != _C2_REQUEST:
                self.drops["bad_client_command"] += 1
                return []
            return self._client_request(sender, frames, h + 2, True, envelope, now)
        if header == _W2:
            return self._worker_message(sender, frames, h, True, envelope, now)
        self.drops["unknown_header"] += 1
        return []

    def unreachable(self, message: Message, now: float) -> list[Message]:
        """A message returned by the core could not be routed: its peer's connection is gone.

        The shell learns it from the ROUTER socket (``ROUTER_MANDATORY``) as soon
        as a dead peer's connection has closed, well before its heartbeats would
        expire. The worker is forgotten at once. If the message was the one
        handing it a request, that request never reached a worker: it goes back
        to the head of its queue without counting as a retry and is dispatched
        to the next worker. A request the worker held before (it died with it)
        is requeued as on expiry, counting a retry. For a client, the reply is
        dropped (counted).

        Args:
            message: The message that could not be sent (identity first), as
                returned by :meth:`handle` or :meth:`tick`.
            now: Current monotonic time.

        Returns:
            Messages to send.
        """
        worker = self.workers.get(message[0])
        if worker is None:
            self.drops["unroutable_reply"] += 1
            return []
        self.counts["workers_unreachable"] += 1
        undelivered = None
        if worker.request is not None and message is worker.request_message:
            undelivered, worker.request = worker.request, None
        out = self._remove(worker, now, dispatch=False)
        if undelivered is not None:
            worker.service.requests.appendleft(undelivered)
        out.extend(self._dispatch(worker.service))
        return out

    # ---------------------------------------------------------------- clients

    def _client_request(self, sender: bytes, frames: list[Frame], s: int, v2: bool, envelope: bool,
                        now: float) -> list[Message]:
        if len(frames) < s + 2:
            self.drops["request_without_body"] += 1
            return []
        name = frames[s]
        body = frames[s + 1:]
        if name.startswith(_MMI):
            return [self._to_client(sender, v2, envelope, name, self._mmi(name, body), final=True)]
        service = self.services.get(name)
        if service is None:
            if not valid_service_name(name):
                self.counts["bad_service_name"] += 1
                err = error_reply(request_id_of(bytes(body[0])), "ServiceUnavailable",
                                  f"invalid service name {name[:64]!r}: 1 to {MAX_SERVICE_NAME} bytes of printable "
                                  "UTF-8 required")
                return [self._to_client(sender, v2, envelope, name, [err], final=True)]
            service = self.services[name] = _Service(name, now)
        request = _Request(sender, v2, envelope, name, body, now)
        waiting = service.waiting
        if waiting and not service.requests:
            worker = waiting.popleft()
            worker.waiting = False
            return [self._send_request(worker, request)]
        if len(service.requests) >= self.settings.max_queue:
            self.counts["queue_full"] += 1
            err = error_reply(request_id_of(bytes(body[0])), "ServiceUnavailable",
                              f"queue of service {name.decode(errors='replace')!r} is full "
                              f"({self.settings.max_queue} requests)")
            return [self._to_client(sender, v2, envelope, name, [err], final=True)]
        service.requests.append(request)
        return self._dispatch(service)

    def _to_client(self, client: bytes, v2: bool, envelope: bool, service: bytes, body: list[Frame],
                   final: bool) -> Message:
        if v2:
            cmd = c.C2_FINAL if final else c.C2_PARTIAL
            if envelope:
                return [client, b"", c.C_CLIENT_V2, cmd, service, *body]
            return [client, c.C_CLIENT_V2, cmd, service, *body]
        if envelope:
            return [client, b"", c.C_CLIENT_V1, service, *body]
        return [client, c.C_CLIENT_V1, service, *body]

    def _fail(self, request: _Request, error_type: str, message: str) -> Message:
        self.counts[f"error_{error_type}"] += 1
        body = error_reply(request_id_of(bytes(request.body[0])), error_type, message)
        return self._to_client(request.client, request.v2, request.envelope, request.service, [body], final=True)

    # ---------------------------------------------------------------- workers

    def _worker_message(self, sender: bytes, frames: list[Frame], h: int, v2: bool, envelope: bool,
                        now: float) -> list[Message]:
        n = len(frames)
        if n <= h + 1:
            self.drops["worker_without_command"] += 1
            return []
        command = frames[h + 1]
        if v2:
            if command == _V2_FINAL:
                return self._reply(sender, frames, h, True, envelope, True, now)
            if command == _V2_PARTIAL:
                return self._reply(sender, frames, h, True, envelope, False, now)
            ready, heartbeat, disconnect = _V2_READY, _V2_HEARTBEAT, _V2_DISCONNECT
        else:
            if command == _V1_REPLY:
                return self._reply(sender, frames, h, False, envelope, True, now)
            ready, heartbeat, disconnect = _V1_READY, _V1_HEARTBEAT, _V1_DISCONNECT
        worker = self.workers.get(sender)
        if worker is not None and (worker.v2 is not v2 or worker.envelope is not envelope):
            # A known worker changing dialect is not following the protocol.
            self.drops["worker_changed_dialect"] += 1
            return self._disconnect(worker, now)

        if command == heartbeat:
            if n != h + 2:
                self.drops["malformed_heartbeat"] += 1
                if worker is not None:
                    return self._disconnect(worker, now)
                return []
            if worker is None:
                return self._unexpected(sender, v2, envelope, None, now)
            worker.expiry = now + self._expiry
            return []

        if command == ready:
            if n != h + 3:
                self.drops["malformed_ready"] += 1
                if worker is not None:
                    return self._disconnect(worker, now)
                return []
            if worker is not None:
                self.counts["ready_twice"] += 1
                return self._unexpected(sender, v2, envelope, worker, now)
            name = frames[h + 2]
            if name.startswith(_MMI) or not valid_service_name(name):
                self.counts["ready_refused"] += 1
                return [self._disconnect_frames(sender, v2, envelope)]
            service = self.services.get(name)
            if service is None:
                service = self.services[name] = _Service(name, now)
            worker = _Worker(sender, service, v2, envelope, now + self._expiry)
            self.workers[sender] = worker
            service.workers += 1
            self.counts["workers_registered"] += 1
            if service.requests:
                return [self._send_request(worker, service.requests.popleft())]
            worker.waiting = True
            service.waiting.append(worker)
            return []

        if command == disconnect:
            if worker is None:
                return []
            self.counts["worker_disconnected"] += 1
            return self._remove(worker, now)

        self.drops["unknown_worker_command"] += 1
        if worker is not None:
            return self._disconnect(worker, now)
        return []

    def _reply(self, sender: bytes, frames: list[Frame], h: int, v2: bool, envelope: bool, final: bool,
               now: float) -> list[Message]:
        """A worker's REPLY (0.1) or PARTIAL/FINAL (0.2); ``frames[h]`` is the header."""
        worker = self.workers.get(sender)
        if len(frames) < h + 5 or frames[h + 3] != b"":
            self.drops["malformed_reply"] += 1
            if worker is not None:
                return self._disconnect(worker, now)
            return []
        if worker is None or worker.request is None:
            self.counts["unexpected_reply"] += 1
            return self._unexpected(sender, v2, envelope, worker, now)
        if worker.v2 is not v2 or worker.envelope is not envelope:
            self.drops["worker_changed_dialect"] += 1
            return self._disconnect(worker, now)
        worker.expiry = now + self._expiry
        request = worker.request
        client = request.client
        if frames[h + 2] != client:
            self.drops["reply_to_wrong_client"] += 1
            return self._disconnect(worker, now)
        if request.v2:
            out = [client, b"", _C2, _C2_FINAL if final else _C2_PARTIAL, request.service] if request.envelope \
                else [client, _C2, _C2_FINAL if final else _C2_PARTIAL, request.service]
        elif not final:
            self.counts["partial_withheld_from_v1_client"] += 1
            return []
        else:
            out = [client, b"", _C1, request.service] if request.envelope else [client, _C1, request.service]
        out += frames[h + 4:]
        if not final:
            return [out]
        self.replies_routed += 1
        worker.request = worker.request_message = None
        service = worker.service
        if service.requests:
            return [out, self._send_request(worker, service.requests.popleft())]
        worker.waiting = True
        service.waiting.append(worker)
        return [out]

    def _unexpected(self, sender: bytes, v2: bool, envelope: bool, worker: _Worker | None,
                    now: float) -> list[Message]:
        """A valid command the broker did not expect: answer DISCONNECT (RFC 7, 18)."""
        if worker is not None:
            return self._disconnect(worker, now)
        return [self._disconnect_frames(sender, v2, envelope)]

    def _disconnect(self, worker: _Worker, now: float) -> list[Message]:
        out = self._remove(worker, now)
        out.append(self._disconnect_frames(worker.identity, worker.v2, worker.envelope))
        return out

    @staticmethod
    def _disconnect_frames(identity: bytes, v2: bool, envelope: bool) -> Message:
        if v2:
            return [identity, b"", c.W_WORKER_V2, _V2_DISCONNECT] if envelope else \
                [identity, c.W_WORKER_V2, _V2_DISCONNECT]
        return [identity, b"", c.W_WORKER_V1, _V1_DISCONNECT]

    def _heartbeat_frames(self, worker: _Worker) -> Message:
        if worker.v2:
            return [worker.identity, b"", c.W_WORKER_V2, _V2_HEARTBEAT] if worker.envelope else \
                [worker.identity, c.W_WORKER_V2, _V2_HEARTBEAT]
        return [worker.identity, b"", c.W_WORKER_V1, _V1_HEARTBEAT]

    def _send_request(self, worker: _Worker, request: _Request) -> Message:
        worker.request = request
        self.requests_routed += 1
        if worker.v2:
            if worker.envelope:
                message = [worker.identity, b"", _W2, _V2_REQUEST, request.client, b"", *request.body]
            else:
                message = [worker.identity, _W2, _V2_REQUEST, request.client, b"", *request.body]
        else:
            message = [worker.identity, b"", _W1, _V1_REQUEST, request.client, b"", *request.body]
        worker.request_message = message
        return message

    def _remove(self, worker: _Worker, now: float, dispatch: bool = True) -> list[Message]:
        """Forget a worker; requeue what it held at the head of its queue.

        With ``dispatch`` false the requeued request is not handed out yet (the
        caller dispatches once every dead worker is gone).
        """
        del self.workers[worker.identity]
        service = worker.service
        service.workers -= 1
        if worker.waiting:
            service.waiting.remove(worker)
            worker.waiting = False
        if service.workers == 0:
            service.orphaned_since = now
        out: list[Message] = []
        request = worker.request
        if request is not None:
            worker.request = worker.request_message = None
            request.retries += 1
            if request.retries > self.settings.retry_cap:
                out.append(self._fail(request, "RetryExhausted",
                                      f"workers of service {service.name.decode(errors='replace')!r} died "
                                      f"holding this request {request.retries} times"))
            else:
                self.counts["requeued"] += 1
                service.requests.appendleft(request)
                if dispatch:
                    out.extend(self._dispatch(service))
        return out

    def _dispatch(self, service: _Service) -> list[Message]:
        out: list[Message] = []
        waiting, requests = service.waiting, service.requests
        while waiting and requests:
            worker = waiting.popleft()
            worker.waiting = False
            out.append(self._send_request(worker, requests.popleft()))
        return out

    # ----------------------------------------------------------------- timers

    def tick(self, now: float) -> list[Message]:
        """Advance timers: expire workers and orphaned requests, send heartbeats.

        Args:
            now: Current monotonic time.

        Returns:
            Messages to send.
        """
        out: list[Message] = []
        expired = [w for w in self.workers.values() if w.expiry <= now]
        if expired:
            # Forget every dead worker before dispatching, so that a requeued request
            # is never handed to another worker that is expiring in the same tick.
            for worker in expired:
                self.counts["workers_expired"] += 1
                out.extend(self._remove(worker, now, dispatch=False))
            for service in {id(w.service): w.service for w in expired}.values():
                out.extend(self._dispatch(service))
        if now >= self._next_heartbeat:
            out.extend(self._heartbeat_frames(w) for w in self.workers.values())
            self._next_heartbeat = now + self.settings.heartbeat_interval
        timeout = self.settings.service_timeout
        idle: list[bytes] = []
        for name, service in self.services.items():
            if service.workers:
                continue
            if service.requests:
                keep: deque[_Request] = deque()
                for request in service.requests:
                    if max(request.arrived, service.orphaned_since) + timeout <= now:
                        out.append(self._fail(request, "ServiceUnavailable",
                                              f"no worker for service {name.decode(errors='replace')!r} "
                                              f"within {timeout:g} s"))
                    else:
                        keep.append(request)
                service.requests = keep
            if not service.requests:
                idle.append(name)
        for name in idle:
            del self.services[name]
        self.next_tick = now + self.tick_interval
        return out

    def shutdown(self) -> list[Message]:
        """Return DISCONNECT for every worker and forget them (clean broker stop)."""
        out = [self._disconnect_frames(w.identity, w.v2, w.envelope) for w in self.workers.values()]
        self.workers.clear()
        self.services.clear()
        return out

    # -------------------------------------------------------------------- MMI

    def _mmi(self, name: bytes, body: list[Frame]) -> list[Frame]:
        self.counts["mmi"] += 1
        if name == b"mmi.service":
            service = self.services.get(bytes(body[0]))
            return [c.MMI_FOUND if service is not None and service.workers > 0 else c.MMI_NOT_FOUND]
        if name == b"mmi.echo":
            return body
        if name == b"mmi.services":
            names = sorted(s.name.decode() for s in self.services.values() if s.workers)
            return [c.MMI_FOUND, pack(names)]
        if name == b"mmi.workers":
            return [c.MMI_FOUND, pack(self.worker_table())]
        if name == b"mmi.stats":
            return [c.MMI_FOUND, pack(self.stats())]
        return [c.MMI_NOT_IMPLEMENTED]

    def worker_table(self) -> dict[str, dict[str, int]]:
        """Per service with workers or queued requests: workers, busy, waiting, queued."""
        table = {}
        for s in self.services.values():
            if s.workers or s.requests:
                table[s.name.decode()] = {
                    "workers": s.workers,
                    "busy": s.workers - len(s.waiting),
                    "waiting": len(s.waiting),
                    "queued": len(s.requests),
                }
        return table

    def stats(self) -> dict[str, Any]:
        """Counters of routed, dropped and notable messages."""
        return {
            "requests_routed": self.requests_routed,
            "replies_routed": self.replies_routed,
            "workers": len(self.workers),
            "services": len(self.services),
            "drops": dict(self.drops),
            "events": dict(self.counts),
        }
