"""Property-based tests of the broker core (hypothesis).

Two tests:

* :func:`test_random_traffic_never_breaks_the_broker` feeds random multipart
  messages, biased towards valid headers and commands, from a small pool of
  peers, interleaved with ticks, and checks after each step that the core did
  not raise, that its output is well formed, that its internal structures are
  consistent and that requests are conserved.
* :class:`BrokerMachine` drives the core through worker and client rules and
  keeps an exact model of the broker (LRU, FIFO, requeue at head, retry cap,
  service timeout, heartbeats), comparing every output with the model and
  checking at the end that every request got exactly one final reply or error.

The number of examples comes from the hypothesis profile in ``tests/conftest.py``.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import msgpack
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from pyros.mdp.broker_core import MAX_SERVICE_NAME, BrokerCore, BrokerSettings
from pyros.messages import Reply, decode_reply, pack

Message = list[bytes]

MDPC01, MDPW01, MDPC02, MDPW02 = b"MDPC01", b"MDPW01", b"MDPC02", b"MDPW02"
HEADERS = [MDPC01, MDPW01, MDPC02, MDPW02]
COMMANDS = [bytes([i]) for i in range(1, 8)]

# ============================================================ structural checks


def check_output(out: Any, peers: set[bytes] | None = None) -> None:
    """Check that the core returned a list of messages of bytes frames with a routable identity.

    Args:
        out: What ``handle`` or ``tick`` returned.
        peers: When given, the identities that may legitimately be addressed.
    """
    assert isinstance(out, list)
    for message in out:
        assert isinstance(message, list) and len(message) >= 2, message
        assert all(isinstance(frame, (bytes, bytearray, memoryview)) for frame in message), message
        assert isinstance(message[0], bytes) and message[0] != b"", message
        if peers is not None:
            assert message[0] in peers, message
        head = message[1:3] if message[1] == b"" else message[1:2]
        assert head[-1] in HEADERS, message
        if head[-1] == MDPW01:
            assert message[1] == b"", "7/MDP worker commands start with an empty frame"


def check_invariants(core: BrokerCore) -> None:
    """Check the consistency of the core's services, workers, queues and waiting lists.

    Args:
        core: The broker core to inspect.
    """
    per_service: Counter[bytes] = Counter()
    held: list[int] = []
    for identity, worker in core.workers.items():
        assert worker.identity == identity
        service = worker.service
        assert core.services.get(service.name) is service, "a worker's service is registered"
        per_service[service.name] += 1
        assert not (worker.waiting and worker.request is not None), "never both waiting and busy"
        assert worker.waiting == (worker in service.waiting), "waiting flag matches the deque"
        if worker.request is not None:
            assert worker.request.service == service.name
            held.append(id(worker.request))
    queued: list[int] = []
    for name, service in core.services.items():
        assert service.name == name
        assert service.workers == per_service[name], "workers count matches registered workers"
        assert service.workers >= 0
        for worker in service.waiting:
            assert core.workers.get(worker.identity) is worker, "waiting workers are registered"
            assert worker.waiting and worker.request is None
        assert len({id(w) for w in service.waiting}) == len(service.waiting), "no worker waits twice"
        assert not (service.waiting and service.requests), "no idle worker while requests queue"
        fresh = sum(1 for request in service.requests if request.retries == 0)
        assert fresh <= core.settings.max_queue, "new requests beyond max_queue are refused"
        for request in service.requests:
            assert request.service == name
            assert request.retries <= core.settings.retry_cap
            queued.append(id(request))
    assert len(set(held)) == len(held), "a request is held by one worker at most"
    assert len(set(queued)) == len(queued), "a request is queued once at most"
    assert not set(held) & set(queued), "no request is both queued and held"


def queued_and_held(core: BrokerCore) -> int:
    """Return the number of requests the core holds (queued or at a worker)."""
    return (sum(len(s.requests) for s in core.services.values())
            + sum(1 for w in core.workers.values() if w.request is not None))


def classify_input(frames: Message) -> tuple[str | None, bytes]:
    """Say what kind of client request a message is, as 7/MDP and 18/MDP define it.

    Args:
        frames: Identity followed by the message frames.

    Returns:
        ``("mmi" | "bad_name" | "request", service)`` for a client REQUEST with a
        body, else ``(None, b"")``.
    """
    if len(frames) < 3:
        return None, b""
    h = 2 if frames[1] == b"" else 1
    header = frames[h]
    if header == MDPC01:
        s = h + 1
    elif header == MDPC02 and len(frames) > h + 1 and frames[h + 1] == b"\x01":
        s = h + 2
    else:
        return None, b""
    if len(frames) < s + 2:
        return None, b""
    name = frames[s]
    if name.startswith(b"mmi."):
        return "mmi", name
    if not name or len(name) > MAX_SERVICE_NAME:
        return "bad_name", name
    return "request", name


def check_worker_commands(out: list[Message], core: BrokerCore) -> None:
    """Check that REQUEST and HEARTBEAT only go to workers still registered once the step is done.

    Args:
        out: Output of the step.
        core: The core after the step.
    """
    for message in out:
        h = 2 if message[1] == b"" else 1
        header, command = message[h], message[h + 1]
        if header == MDPW01 and command in (b"\x02", b"\x04") or header == MDPW02 and command in (b"\x02", b"\x05"):
            worker = core.workers.get(message[0])
            assert worker is not None, f"command to a worker the broker no longer knows: {message!r}"
            assert worker.v2 == (header == MDPW02) and worker.envelope == (message[1] == b""), "in its dialect"
            if command == b"\x02":
                request = worker.request
                assert request is not None and request.client == message[h + 2], "REQUEST is what it holds"


def client_finals(out: list[Message]) -> list[Message]:
    """Return the output messages that are final replies to clients (REPLY or FINAL)."""
    finals = []
    for message in out:
        h = 2 if message[1] == b"" else 1
        if message[h] == MDPC01 or (message[h] == MDPC02 and message[h + 1] == b"\x03"):
            finals.append(message)
    return finals


# ============================================================ random traffic

PEERS = [b"A", b"B", b"C", b"D", b"E"]
SERVICES = [b"echo", b"time", b"mmi.service", b"mmi.services", b"mmi.workers", b"mmi.echo", b"mmi.stats",
            b"mmi.nope", b"", b"x" * 256]
WORKER_PREFIXES = [[b"", MDPW01], [MDPW02], [b"", MDPW02]]
CLIENT_PREFIXES = [[b"", MDPC01], [MDPC01], [MDPC02, b"\x01"], [b"", MDPC02, b"\x01"]]
PREFIXES = [*WORKER_PREFIXES, [b"", MDPC01], [MDPC01], [MDPC02], [b"", MDPC02]]
VOCABULARY = [b"", *HEADERS, *COMMANDS, *SERVICES, *PEERS]
"""Frames worth drawing often: real headers, command bytes, service names and peer identities."""
REQUESTED = [b"echo", b"time"] * 4 + SERVICES
"""Service names clients ask for: mostly the two that workers register."""
TICK_STEPS = [0.0, 0.01, 0.3, 0.5, 1.0, 1.0, 2.0, 2.5, 4.0, 7.0]

BLOB_SIZE = 480
blobs = st.binary(min_size=BLOB_SIZE, max_size=BLOB_SIZE)
"""Choices for about 45 steps per example. A fixed size keeps every example long enough to
build up state; the shrinker turns unneeded choices into zeros, which decode as 0 s ticks."""

FUZZ_SETTINGS = BrokerSettings(heartbeat_interval=1.0, heartbeat_liveness=2, service_timeout=2.0, retry_cap=1,
                               max_queue=2)


class _Tape:
    """Reads choices from a byte string drawn by hypothesis (zero once exhausted)."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self.pos = 0

    @property
    def more(self) -> bool:
        """Whether unread bytes remain."""
        return self.pos < len(self.blob)

    def byte(self) -> int:
        """Return the next byte, or 0 at the end of the tape."""
        if self.pos >= len(self.blob):
            return 0
        self.pos += 1
        return self.blob[self.pos - 1]

    def pick(self, choices: list[Any]) -> Any:
        """Return one of ``choices``."""
        return choices[self.byte() % len(choices)]

    def take(self, n: int) -> bytes:
        """Return the next ``n`` bytes (fewer at the end of the tape)."""
        chunk = self.blob[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk

    def frame(self) -> bytes:
        """A frame: mostly from the vocabulary, otherwise 0 to 8 random bytes."""
        b = self.byte()
        return VOCABULARY[b % len(VOCABULARY)] if b < 160 else self.take(b % 9)

    def frames(self, most: int) -> list[bytes]:
        """Between 0 and ``most`` frames."""
        return [self.frame() for _ in range(self.byte() % (most + 1))]


PEER_DIALECT = {b"A": 0, b"B": 1, b"C": 2, b"D": 0, b"E": 1}
"""Index in WORKER_PREFIXES of the dialect each peer uses as a worker, most of the time."""


def next_step(tape: _Tape, core: BrokerCore) -> tuple[str, Any, Any]:
    """Read one step from the tape: ``("tick", dt, None)`` or ``("msg", peer, frames)``.

    Messages are of five shapes so that a good share is valid or nearly so:
    0 to 10 random frames; a real header and command followed by random frames;
    a worker REPLY/PARTIAL/FINAL; a worker READY; a client REQUEST to a name of
    the pool (including ``mmi.*`` and invalid names). The core is only consulted
    to bias choices: a worker usually speaks its own dialect, and a busy worker
    usually replies to the client it serves.

    Args:
        tape: Choices drawn by hypothesis.
        core: The broker being fuzzed.

    Returns:
        The step to play.
    """
    op = tape.byte()
    if op < 30:
        return "tick", tape.pick(TICK_STEPS), None
    peer = tape.pick(PEERS)
    if op < 50:
        return "msg", peer, tape.frames(10)
    if op < 75:
        b = tape.byte()
        command = COMMANDS[b % len(COMMANDS)] if b < 200 else tape.take(b % 3)
        return "msg", peer, [*tape.pick(PREFIXES), command, *tape.frames(5)]
    b = tape.byte()
    dialect = PEER_DIALECT[peer] if b < 192 else b % 3
    if op < 130:
        workers = list(core.workers.values())
        busy = [w for w in workers if w.request is not None]
        b = tape.byte()
        client = tape.pick(PEERS)
        if workers and b < 216:
            worker = (busy or workers)[b % len(busy or workers)]
            peer = worker.identity
            dialect = (2 if worker.envelope else 1) if worker.v2 else 0
            if worker.request is None:  # an idle worker mostly keeps itself alive
                heartbeat = b"\x04" if dialect == 0 else b"\x05"
                return "msg", peer, [*WORKER_PREFIXES[dialect], heartbeat]
            if b < 200:
                client = worker.request.client
        command = b"\x03" if dialect == 0 else tape.pick([b"\x04", b"\x04", b"\x03"])
        return "msg", peer, [*WORKER_PREFIXES[dialect], command, client, b"", tape.frame(), *tape.frames(2)]
    if op < 170:
        command = tape.pick([b"\x01"] * 5 + [b"\x04", b"\x05", b"\x06"])
        service = [tape.pick(SERVICES[:3])] if tape.byte() < 220 else []
        return "msg", peer, [*WORKER_PREFIXES[dialect], command, *service]
    return "msg", peer, [*tape.pick(CLIENT_PREFIXES), tape.pick(REQUESTED), tape.frame(), *tape.frames(2)]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(blobs)
def test_random_traffic_never_breaks_the_broker(blob: bytes) -> None:
    """Random frames and ticks: no exception, well-formed output, consistent state, requests conserved.

    Every accepted request (a client REQUEST for a valid non-``mmi.`` name that
    found room in its queue) is, after each step, in exactly one place: queued,
    held by a worker, or answered by one final reply (from a worker, or an error
    made by the broker).
    """
    tape = _Tape(blob)
    core = BrokerCore(FUZZ_SETTINGS, now=0.0)
    now = 0.0
    accepted = 0
    answered_at_once = 0
    finals = 0
    script: list[tuple[str, Any, Any]] = []
    try:
        while tape.more:
            kind_of_step, arg, frames = step = next_step(tape, core)
            script.append(step)
            if kind_of_step == "tick":
                now += arg
                out = core.tick(now)
            else:
                message = [arg, *frames]
                kind, name = classify_input(message)
                service = core.services.get(name) if kind == "request" else None
                full = service is not None and len(service.requests) >= FUZZ_SETTINGS.max_queue
                queue_full_before = core.counts["queue_full"]
                out = core.handle(message, now)
                assert core.counts["queue_full"] - queue_full_before == int(full)
                if kind in ("mmi", "bad_name") or full:
                    answered_at_once += 1
                    assert len(out) == 1 and out[0][0] == arg, "answered at once, to the sender"
                elif kind == "request":
                    accepted += 1
                    assert len(out) <= 1
            check_output(out, set(PEERS))
            check_invariants(core)
            check_worker_commands(out, core)
            finals += len(client_finals(out))
            assert accepted == finals - answered_at_once + queued_and_held(core), "requests are conserved"
            if kind_of_step == "tick":
                assert all(s.workers or s.requests for s in core.services.values()), "idle services are forgotten"
    finally:
        note(f"steps played: {script!r}")
    for name in sorted({*core.counts, *core.drops}):
        event(name)
    event(f"replies routed: {min(core.replies_routed, 3)}{'+' if core.replies_routed >= 3 else ''}")


# ============================================================ stateful model

M_INTERVAL, M_LIVENESS, M_TIMEOUT, M_RETRY_CAP, M_MAX_QUEUE = 1.0, 4, 2.0, 1, 2
M_EXPIRY = M_INTERVAL * M_LIVENESS
EPSILON = 0.01
"""Time between two messages."""

WORKER_IDS = [b"w0", b"w1", b"w2", b"w3", b"w4"]
CLIENT_IDS = [b"c0", b"c1", b"c2", b"c3", b"c4"]
MODEL_SERVICES = [b"s0", b"s1"]
W_DIALECTS = ["v1", "v2", "v2e"]
C_DIALECTS = ["v1", "v1n", "v2", "v2e"]
W_PREFIX = {"v1": [b"", MDPW01], "v2": [MDPW02], "v2e": [b"", MDPW02]}
W_CMD = {
    "v1": {"ready": b"\x01", "request": b"\x02", "reply": b"\x03", "heartbeat": b"\x04", "disconnect": b"\x05"},
    "v2": {"ready": b"\x01", "request": b"\x02", "partial": b"\x03", "reply": b"\x04", "heartbeat": b"\x05",
           "disconnect": b"\x06"},
}
C_PREFIX = {"v1": [b"", MDPC01], "v1n": [MDPC01], "v2": [MDPC02], "v2e": [b"", MDPC02]}


PICK = st.integers(0, 4)
"""Index into the peers a rule may act on (taken modulo their number)."""


def _pick(candidates: list[bytes], index: int) -> bytes | None:
    """Return one of ``candidates``, or None when there is none (the rule then does nothing)."""
    return candidates[index % len(candidates)] if candidates else None


def _wcmd(dialect: str, name: str) -> bytes:
    """Return the command byte of ``name`` in a worker dialect."""
    return W_CMD["v1" if dialect == "v1" else "v2"][name]


@dataclass
class ModelWorker:
    """What the model knows of a registered worker."""

    service: bytes
    dialect: str
    expiry: float
    holding: bytes | None = None


@dataclass
class ModelRequest:
    """An outstanding client request (its client has at most one, as in 7/MDP)."""

    service: bytes
    dialect: str
    body: list[bytes]
    rid: str
    arrived: float
    retries: int = 0


@dataclass
class Model:
    """Expected broker state, in the core's own orders (LRU waiting lists, FIFO queues)."""

    workers: dict[bytes, ModelWorker] = field(default_factory=dict)
    requests: dict[bytes, ModelRequest] = field(default_factory=dict)
    waiting: dict[bytes, deque[bytes]] = field(default_factory=lambda: {s: deque() for s in MODEL_SERVICES})
    pending: dict[bytes, deque[bytes]] = field(default_factory=lambda: {s: deque() for s in MODEL_SERVICES})
    lost_at: dict[bytes, float] = field(default_factory=dict)
    next_heartbeat: float = M_INTERVAL


class BrokerMachine(RuleBasedStateMachine):
    """Drives a BrokerCore with worker and client rules and compares every output with a model."""

    def __init__(self) -> None:
        super().__init__()
        self.core = BrokerCore(BrokerSettings(heartbeat_interval=M_INTERVAL, heartbeat_liveness=M_LIVENESS,
                                              service_timeout=M_TIMEOUT, retry_cap=M_RETRY_CAP,
                                              max_queue=M_MAX_QUEUE), now=0.0)
        self.m = Model()
        self.now = 0.0
        self.expected: list[tuple[Any, ...]] = []
        self.worker_dialect: dict[bytes, str] = {}
        self.client_dialect: dict[bytes, str] = {}
        self.issued: list[str] = []
        self.answers: Counter[str] = Counter()
        self.serial = 0
        self.ok = True
        self.seen: set[str] = set()

    # ------------------------------------------------------------ plumbing

    @contextmanager
    def _step(self) -> Iterator[None]:
        """Mark the machine inconsistent until the step completes (teardown then skips its checks)."""
        self.ok = False
        yield
        self.ok = True

    def _expect(self, *item: Any) -> None:
        """Record an output event the current step must produce."""
        self.expected.append(item)

    def _normalize(self, message: Message) -> tuple[Any, ...]:
        """Turn an output message into an event tuple, checking its framing against the peer's dialect."""
        dest = message[0]
        h = 2 if message[1] == b"" else 1
        header = message[h]
        if header in (MDPW01, MDPW02):
            assert dest in self.worker_dialect, f"worker command to a peer that never spoke as one: {message!r}"
            dialect = self.worker_dialect[dest]
            prefix = W_PREFIX[dialect]
            assert message[1:1 + len(prefix)] == prefix, f"worker framing {message!r} for {dialect}"
            command = message[len(prefix) + 1]
            names = {v: k for k, v in W_CMD["v1" if dialect == "v1" else "v2"].items()}
            name = names[command]
            if name == "request":
                rest = message[len(prefix) + 2:]
                assert rest[1] == b"", "empty delimiter after the client address"
                return ("req", dest, rest[0], tuple(rest[2:]))
            assert len(message) == len(prefix) + 2, message
            return {"heartbeat": ("hb", dest), "disconnect": ("disc", dest)}[name]
        assert dest in self.client_dialect, f"client reply to a peer that never sent a request: {message!r}"
        dialect = self.client_dialect[dest]
        prefix = C_PREFIX[dialect]
        assert message[1:1 + len(prefix)] == prefix, f"client framing {message!r} for {dialect}"
        rest = message[1 + len(prefix):]
        final = True
        if dialect.startswith("v2"):
            assert rest[0] in (b"\x02", b"\x03")
            final = rest[0] == b"\x03"
            rest = rest[1:]
        service, body = rest[0], rest[1:]
        if not final:
            return ("partial", dest, service, tuple(body))
        if len(body) == 1 and not body[0].startswith(b"F:"):
            reply = decode_reply(body[0])
            assert isinstance(reply, Reply) and reply.error is not None and not reply.ok
            if reply.id is not None:
                self.answers[reply.id] += 1
            return ("error", dest, service, reply.error.type, reply.id)
        self.answers[body[0][2:].decode()] += 1
        return ("final", dest, service, tuple(body))

    def _check(self, out: list[Message]) -> None:
        """Compare what the core sent with the events the model expects (as multisets)."""
        check_output(out, {*WORKER_IDS, *CLIENT_IDS})
        actual = Counter(self._normalize(message) for message in out)
        for kind in actual:
            self.seen.add(kind[0] if kind[0] != "error" else kind[3])
        expected = Counter(self.expected)
        self.expected = []
        assert actual == expected, f"at t={self.now}: got {actual}, expected {expected}"

    def _send(self, message: Message) -> None:
        """Feed one message to the core at the current time and check its output."""
        self._check(self.core.handle(message, self.now))

    # ------------------------------------------------------------ model operations

    def _assign(self, worker: bytes, client: bytes) -> None:
        """The core must send the request of ``client`` to ``worker``."""
        self.m.workers[worker].holding = client
        self._expect("req", worker, client, tuple(self.m.requests[client].body))

    def _dispatch(self, service: bytes) -> None:
        """Pair waiting workers (LRU first) with queued requests (FIFO)."""
        waiting, pending = self.m.waiting[service], self.m.pending[service]
        while waiting and pending:
            self._assign(waiting.popleft(), pending.popleft())

    def _fail(self, client: bytes, error_type: str) -> None:
        """The core must answer the request of ``client`` with an error of ``error_type``."""
        request = self.m.requests.pop(client)
        self._expect("error", client, request.service, error_type, request.rid)

    def _remove(self, identity: bytes, now: float, dispatch: bool = True) -> None:
        """Forget a worker; requeue what it held at the head, or fail it past the retry cap.

        Args:
            identity: The worker.
            now: Current time (the service may have lost its last worker).
            dispatch: Whether to hand the requeued request out at once (a tick
                first forgets every dead worker, then dispatches).
        """
        worker = self.m.workers.pop(identity)
        service = worker.service
        if identity in self.m.waiting[service]:
            self.m.waiting[service].remove(identity)
        if not any(w.service == service for w in self.m.workers.values()):
            self.m.lost_at[service] = now
        if worker.holding is not None:
            request = self.m.requests[worker.holding]
            request.retries += 1
            if request.retries > M_RETRY_CAP:
                self._fail(worker.holding, "RetryExhausted")
            else:
                self.m.pending[service].appendleft(worker.holding)
                if dispatch:
                    self._dispatch(service)

    def _tick(self) -> None:
        """Tick the core now: expiry of silent workers, heartbeats when due, then service timeouts.

        Several workers may expire in one tick: none of them may receive a requeued request.
        """
        t = self.now
        dying = [identity for identity, w in self.m.workers.items() if w.expiry <= t]
        services = {self.m.workers[identity].service: None for identity in dying}
        for identity in dying:
            self._remove(identity, t, dispatch=False)
        for service in services:
            self._dispatch(service)
        if t >= self.m.next_heartbeat:
            for identity in self.m.workers:
                self._expect("hb", identity)
            self.m.next_heartbeat = t + M_INTERVAL
        for service in MODEL_SERVICES:
            if any(w.service == service for w in self.m.workers.values()):
                continue
            lost = self.m.lost_at.get(service, -math.inf)
            for client in list(self.m.pending[service]):
                if max(self.m.requests[client].arrived, lost) + M_TIMEOUT <= t:
                    self.m.pending[service].remove(client)
                    self._fail(client, "ServiceUnavailable")
        self._check(self.core.tick(t))

    def _advance(self, dt: float = EPSILON) -> None:
        """Move time on (messages are EPSILON apart); only the tick rule runs the core's timers."""
        self.now += dt

    def _final(self, identity: bytes, frames: int) -> None:
        """The busy worker ``identity`` sends its final reply (``frames`` body frames, the first naming the request).

        The client gets it; the worker takes the next queued request or waits (LRU: at the back).
        """
        worker = self.m.workers[identity]
        client = worker.holding
        assert client is not None
        request = self.m.requests.pop(client)
        body = [b"F:" + request.rid.encode(), *[b"x%d" % i for i in range(frames - 1)]]
        self._expect("final", client, request.service, tuple(body))
        worker.holding = None
        if self.m.pending[worker.service]:
            self._assign(identity, self.m.pending[worker.service].popleft())
        else:
            self.m.waiting[worker.service].append(identity)
        self._send(self._worker_msg(identity, "reply", client, b"", *body))

    def _worker_msg(self, identity: bytes, name: str, *rest: bytes) -> Message:
        """Build a worker command in the dialect ``identity`` speaks."""
        dialect = self.worker_dialect[identity]
        return [identity, *W_PREFIX[dialect], _wcmd(dialect, name), *rest]

    def _refresh(self, identity: bytes) -> None:
        """Any message from a worker postpones its expiry."""
        self.m.workers[identity].expiry = self.now + M_EXPIRY

    def _busy(self) -> list[bytes]:
        """Workers holding a request."""
        return [i for i, w in self.m.workers.items() if w.holding is not None]

    # ------------------------------------------------------------ rules

    @initialize(workers=st.lists(st.tuples(st.sampled_from(MODEL_SERVICES), st.sampled_from(W_DIALECTS)),
                                 max_size=3),
                requests=st.lists(st.tuples(st.sampled_from(MODEL_SERVICES), st.sampled_from(C_DIALECTS)),
                                  max_size=3))
    def start(self, workers: list[tuple[bytes, str]], requests: list[tuple[bytes, str]]) -> None:
        """Start with a few workers and requests, whichever rules the run then enables."""
        assert self.core.workers == {}
        for service, dialect in workers:
            self.worker_ready(0, service, dialect)
        for service, dialect in requests:
            self.client_request(0, service, dialect, False)

    @rule(pick=PICK, service=st.sampled_from(MODEL_SERVICES), dialect=st.sampled_from(W_DIALECTS))
    def worker_ready(self, pick: int, service: bytes, dialect: str) -> None:
        """A new worker sends READY; it takes the oldest queued request or waits."""
        with self._step():
            identity = _pick([i for i in WORKER_IDS if i not in self.m.workers], pick)
            self._advance()
            if identity is None or identity in self.m.workers:
                return
            self.worker_dialect[identity] = dialect
            self.m.workers[identity] = ModelWorker(service, dialect, self.now + M_EXPIRY)
            if self.m.pending[service]:
                self._assign(identity, self.m.pending[service].popleft())
            else:
                self.m.waiting[service].append(identity)
            self._send(self._worker_msg(identity, "ready", service))

    @rule(pick=PICK, service=st.sampled_from(MODEL_SERVICES), dialect=st.sampled_from(C_DIALECTS),
          extra=st.booleans())
    def client_request(self, pick: int, service: bytes, dialect: str, extra: bool) -> None:
        """A client with nothing outstanding sends a REQUEST (one or three body frames)."""
        with self._step():
            client = _pick([c for c in CLIENT_IDS if c not in self.m.requests], pick)
            self._advance()
            if client is None or client in self.m.requests:
                return
            self.serial += 1
            rid = f"r{self.serial}"
            self.issued.append(rid)
            body = [pack({"id": rid, "cmd": "run", "args": {}}), *([b"", b"tail"] if extra else [])]
            self.client_dialect[client] = dialect
            self.m.requests[client] = ModelRequest(service, dialect, body, rid, self.now)
            waiting, pending = self.m.waiting[service], self.m.pending[service]
            if waiting and not pending:
                self._assign(waiting.popleft(), client)
            elif len(pending) >= M_MAX_QUEUE:
                self._fail(client, "ServiceUnavailable")  # queue full
            else:
                pending.append(client)
            command = [b"\x01"] if dialect.startswith("v2") else []
            self._send([client, *C_PREFIX[dialect], *command, service, *body])

    @rule(pick=PICK, frames=st.integers(1, 3), partial=st.booleans())
    def worker_reply(self, pick: int, frames: int, partial: bool) -> None:
        """A busy worker replies: FINAL (then next queued request or wait), or PARTIAL if it speaks 0.2.

        PARTIAL is forwarded to 0.2 clients only.
        """
        with self._step():
            identity = _pick(self._busy(), pick)
            self._advance()
            if identity not in self.m.workers or self.m.workers[identity].holding is None:
                return  # nobody busy, or expired while time moved on
            worker = self.m.workers[identity]
            client = worker.holding
            assert client is not None
            request = self.m.requests[client]
            self._refresh(identity)
            if partial and worker.dialect != "v1":
                if request.dialect.startswith("v2"):
                    self._expect("partial", client, request.service, (b"progress",))
                self._send(self._worker_msg(identity, "partial", client, b"", b"progress"))
                return
            self._final(identity, frames)

    @rule(pick=PICK)
    def worker_heartbeat(self, pick: int) -> None:
        """A registered worker sends HEARTBEAT: no answer, liveness refreshed."""
        with self._step():
            identity = _pick(list(self.m.workers), pick)
            self._advance()
            if identity not in self.m.workers:
                return
            self._refresh(identity)
            self._send(self._worker_msg(identity, "heartbeat"))

    @rule(pick=PICK)
    def worker_disconnect(self, pick: int) -> None:
        """A registered worker sends DISCONNECT: forgotten, its request requeued at the head."""
        with self._step():
            identity = _pick(list(self.m.workers), pick)
            self._advance()
            if identity not in self.m.workers:
                return
            self._remove(identity, self.now)
            self._send(self._worker_msg(identity, "disconnect"))

    def _misbehave(self, pick: int, kind: str) -> None:
        """A registered worker sends something unexpected or invalid: DISCONNECT, request requeued."""
        with self._step():
            identity = _pick(list(self.m.workers), pick)
            self._advance()
            if identity not in self.m.workers:
                return
            worker = self.m.workers[identity]
            if kind == "reply_wrong_client" and worker.holding is None:
                kind = "reply_when_idle"
            if kind == "reply_when_idle" and worker.holding is not None:
                kind = "ready_again"
            if kind == "ready_again":
                message = self._worker_msg(identity, "ready", worker.service)
            elif kind == "reply_wrong_client":
                other = next(c for c in CLIENT_IDS if c != worker.holding)
                message = self._worker_msg(identity, "reply", other, b"", b"stolen")
            elif kind == "reply_when_idle":
                message = self._worker_msg(identity, "reply", CLIENT_IDS[0], b"", b"F:none")
            elif kind == "malformed_heartbeat":
                message = self._worker_msg(identity, "heartbeat", b"extra")
            elif kind == "unknown_command":
                message = [identity, *W_PREFIX[worker.dialect], b"\x09"]
            else:
                other_dialect = {"v1": "v2", "v2": "v2e", "v2e": "v1"}[worker.dialect]
                message = [identity, *W_PREFIX[other_dialect], _wcmd(other_dialect, "heartbeat")]
            self._remove(identity, self.now)
            self._expect("disc", identity)
            self._send(message)

    def _stranger(self, identity: bytes, dialect: str, kind: str) -> None:
        """A peer that never sent READY: HEARTBEAT or REPLY get DISCONNECT, DISCONNECT gets nothing."""
        with self._step():
            self._advance()
            if identity in self.m.workers:
                return
            self.worker_dialect[identity] = dialect
            rest = [CLIENT_IDS[0], b"", b"F:none"] if kind == "reply" else []
            if kind != "disconnect":
                self._expect("disc", identity)
            self._send(self._worker_msg(identity, kind, *rest))

    @rule(dt=st.sampled_from([0.05, 0.2, 0.5, 1.0, 2.0]) | st.floats(0, 6))
    def tick(self, dt: float) -> None:
        """Time passes: heartbeats, expiries, requeues and service timeouts."""
        with self._step():
            self._advance(dt)
            self._tick()

    @rule(noise=st.one_of(
        st.tuples(st.just("invalid"), st.sampled_from([*WORKER_IDS, *CLIENT_IDS, b"stranger"]),
                  st.lists(st.one_of(st.sampled_from([b"", b"MDPX01", b"mdpc01", b"\x01"]), st.binary(max_size=6)),
                           max_size=6)),
        st.tuples(st.just("misbehave"), PICK, st.sampled_from(
            ["ready_again", "reply_wrong_client", "reply_when_idle", "malformed_heartbeat", "unknown_command",
             "switch_dialect"])),
        st.tuples(st.just("stranger"), st.sampled_from(WORKER_IDS), st.sampled_from(W_DIALECTS),
                  st.sampled_from(["heartbeat", "reply", "disconnect"])),
    ))
    def garbage(self, noise: tuple[Any, ...]) -> None:
        """Invalid frames (dropped and counted), a registered worker misbehaving (DISCONNECT and
        requeue), or a peer that never sent READY (DISCONNECT, or nothing for its DISCONNECT)."""
        kind, *args = noise
        {"invalid": self._invalid, "misbehave": self._misbehave, "stranger": self._stranger}[kind](*args)

    def _invalid(self, identity: bytes, frames: list[bytes]) -> None:
        """Frames with no valid header (or too few): dropped, counted, nothing else changes."""
        with self._step():
            self._advance()
            message = [identity, *frames]
            if len(message) >= 3:
                header = message[2] if message[1] == b"" else message[1]
                if header in HEADERS:
                    message[2 if message[1] == b"" else 1] = b"MDPX01"
            drops = sum(self.core.drops.values())
            self._send(message)
            assert sum(self.core.drops.values()) == drops + 1

    @rule(service=st.sampled_from(MODEL_SERVICES), dialect=st.sampled_from(C_DIALECTS),
          name=st.sampled_from([b"mmi.service", b"mmi.workers", b"mmi.services", b"mmi.other"]))
    def mmi(self, service: bytes, dialect: str, name: bytes) -> None:
        """MMI answers from the broker match the model."""
        with self._step():
            self._advance()
            client = b"c-mmi"
            command = [b"\x01"] if dialect.startswith("v2") else []
            out = self.core.handle([client, *C_PREFIX[dialect], *command, name, service], self.now)
            final = [b"\x03"] if dialect.startswith("v2") else []
            assert len(out) == 1 and out[0][:len(C_PREFIX[dialect]) + 2 + len(final)] == [
                client, *C_PREFIX[dialect], *final, name]
            body = out[0][len(C_PREFIX[dialect]) + 2 + len(final):]
            served = {w.service for w in self.m.workers.values()}
            if name == b"mmi.service":
                assert body == [b"200" if service in served else b"404"]
            elif name == b"mmi.services":
                assert body[0] == b"200"
                assert msgpack.unpackb(body[1], raw=False) == sorted(s.decode() for s in served)
            elif name == b"mmi.workers":
                table = {}
                for s in MODEL_SERVICES:
                    workers = sum(1 for w in self.m.workers.values() if w.service == s)
                    queued = len(self.m.pending[s])
                    if workers or queued:
                        table[s.decode()] = {"workers": workers, "busy": workers - len(self.m.waiting[s]),
                                             "waiting": len(self.m.waiting[s]), "queued": queued}
                assert body[0] == b"200" and msgpack.unpackb(body[1], raw=False) == table
            else:
                assert body == [b"501"]

    # ------------------------------------------------------------ invariants

    @invariant()
    def core_matches_model(self) -> None:
        """The core is consistent, and its workers (in order), what each holds, its queues and
        waiting lists are those of the model."""
        check_invariants(self.core)
        assert list(self.core.workers) == list(self.m.workers)
        for identity, worker in self.m.workers.items():
            held = self.core.workers[identity].request
            assert (held.client if held is not None else None) == worker.holding
        for s in MODEL_SERVICES:
            service = self.core.services.get(s)
            if service is None:
                assert not self.m.pending[s] and not self.m.waiting[s]
                continue
            assert [r.client for r in service.requests] == list(self.m.pending[s])
            assert [w.identity for w in service.waiting] == list(self.m.waiting[s])
        in_flight = {c for q in self.m.pending.values() for c in q} | set(filter(None, (
            w.holding for w in self.m.workers.values())))
        assert in_flight == set(self.m.requests)
        assert queued_and_held(self.core) == len(self.m.requests)

    def teardown(self) -> None:
        """Let workers answer and time pass: every request gets exactly one final reply or error."""
        if not self.ok:
            return
        for kind in sorted(self.seen):
            event(f"output: {kind}")
        while self._busy():
            identity = self._busy()[0]
            self._advance()
            if identity in self.m.workers and self.m.workers[identity].holding is not None:
                self._refresh(identity)
                self._final(identity, 1)
        self._advance(M_EXPIRY + 0.01)
        self._tick()
        self._advance(M_TIMEOUT + 0.01)
        self._tick()
        assert self.m.requests == {} and self.m.workers == {}
        assert queued_and_held(self.core) == 0 and self.core.workers == {}
        assert self.answers == Counter(self.issued), "exactly one final reply or error per request"


STEPS = 15
"""Steps per run of the state machine; with the CI profile's 10,000 runs this keeps the
file within about two minutes."""
BrokerMachine.TestCase.settings = settings(stateful_step_count=STEPS, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.filter_too_much])
test_broker_state_machine = BrokerMachine.TestCase
