"""Unit tests of the sans-I/O Majordomo broker core, driven only by frames.

Each test is named after the rule it checks: 7/MDP, 18/MDP, 8/MMI and the rules
PyROS adds beyond the RFCs (ARCHITECTURE.md section 2 and the docstring of
:mod:`pyros.mdp.broker_core`). Frames are written out literally from the RFCs
with the small fake peers below, independently of :mod:`pyros.mdp.codec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack
import pytest

from pyros.mdp.broker_core import BrokerCore, BrokerSettings
from pyros.messages import Reply, Request, decode_reply, pack

Message = list[bytes]

# Protocol bytes, spelled out from 7/MDP and 18/MDP.
MDPC01, MDPW01, MDPC02, MDPW02 = b"MDPC01", b"MDPW01", b"MDPC02", b"MDPW02"

WORKER_PREFIX = {"v1": [b"", MDPW01], "v2": [MDPW02], "v2e": [b"", MDPW02]}
"""Frames before the command byte, per worker dialect (v2e: 0.2 with the empty frame)."""
WORKER_COMMANDS = {
    "v1": {"ready": b"\x01", "request": b"\x02", "reply": b"\x03", "heartbeat": b"\x04", "disconnect": b"\x05"},
    "v2": {"ready": b"\x01", "request": b"\x02", "partial": b"\x03", "reply": b"\x04", "heartbeat": b"\x05",
           "disconnect": b"\x06"},
}
CLIENT_PREFIX = {"v1": [b"", MDPC01], "v1n": [MDPC01], "v2": [MDPC02], "v2e": [b"", MDPC02]}
"""Frames before the service name (v1n: 0.1 without the empty frame)."""

WORKER_DIALECTS = ["v1", "v2", "v2e"]
CLIENT_DIALECTS = ["v1", "v1n", "v2", "v2e"]

INTERVAL = 1.0
LIVENESS = 3
EXPIRY = INTERVAL * LIVENESS
TIMEOUT = 5.0


def make_core(**overrides: Any) -> BrokerCore:
    """Return a broker core at time 0 with test-friendly settings.

    Args:
        **overrides: BrokerSettings fields to change.

    Returns:
        A fresh core (heartbeat 1 s, liveness 3, service timeout 5 s, retry cap 2).
    """
    values: dict[str, Any] = {"heartbeat_interval": INTERVAL, "heartbeat_liveness": LIVENESS,
                              "service_timeout": TIMEOUT, "retry_cap": 2, "max_queue": 100}
    values.update(overrides)
    return BrokerCore(BrokerSettings(**values), now=0.0)


@dataclass
class FakeWorker:
    """Builds the frames a worker sends and the frames it should receive.

    Attributes:
        identity: Routing identity the ROUTER socket sees.
        dialect: ``v1``, ``v2`` or ``v2e`` (18/MDP with a leading empty frame).
    """

    identity: bytes
    dialect: str = "v1"

    def _cmd(self, name: str) -> bytes:
        """Command byte of ``name`` in this worker's dialect."""
        return WORKER_COMMANDS["v1" if self.dialect == "v1" else "v2"][name]

    def _msg(self, name: str, *rest: bytes) -> Message:
        """A full message (identity first) carrying command ``name``."""
        return [self.identity, *WORKER_PREFIX[self.dialect], self._cmd(name), *rest]

    def ready(self, service: bytes) -> Message:
        """READY for ``service``."""
        return self._msg("ready", service)

    def heartbeat(self) -> Message:
        """HEARTBEAT."""
        return self._msg("heartbeat")

    def disconnect(self) -> Message:
        """DISCONNECT."""
        return self._msg("disconnect")

    def reply(self, client: bytes, *body: bytes) -> Message:
        """REPLY (0.1) or FINAL (0.2) to ``client``."""
        return self._msg("reply", client, b"", *body)

    def partial(self, client: bytes, *body: bytes) -> Message:
        """PARTIAL (0.2 only) to ``client``."""
        return self._msg("partial", client, b"", *body)

    def expected_request(self, client: bytes, *body: bytes) -> Message:
        """The REQUEST the broker must send this worker."""
        return self._msg("request", client, b"", *body)

    def expected_heartbeat(self) -> Message:
        """The HEARTBEAT the broker must send this worker."""
        return self._msg("heartbeat")

    def expected_disconnect(self) -> Message:
        """The DISCONNECT the broker must send this worker."""
        return self._msg("disconnect")


@dataclass
class FakeClient:
    """Builds a client's requests and the replies it should receive.

    Attributes:
        identity: Routing identity the ROUTER socket sees.
        dialect: ``v1``, ``v1n`` (0.1 without empty frame), ``v2`` or ``v2e``.
    """

    identity: bytes
    dialect: str = "v1"

    @property
    def v2(self) -> bool:
        """Whether the client speaks 18/MDP."""
        return self.dialect.startswith("v2")

    def request(self, service: bytes, *body: bytes) -> Message:
        """REQUEST to ``service`` with ``body`` frames."""
        command = [b"\x01"] if self.v2 else []
        return [self.identity, *CLIENT_PREFIX[self.dialect], *command, service, *body]

    def expected_reply(self, service: bytes, *body: bytes, final: bool = True) -> Message:
        """The REPLY/FINAL (or PARTIAL) the broker must send this client."""
        command = [b"\x03" if final else b"\x02"] if self.v2 else []
        return [self.identity, *CLIENT_PREFIX[self.dialect], *command, service, *body]

    def body_of(self, message: Message, service: bytes) -> list[bytes]:
        """Check the framing of a final reply to this client and return its body."""
        head = self.expected_reply(service)
        assert message[:len(head)] == head, message
        return message[len(head):]


def error_of(client: FakeClient, message: Message, service: bytes) -> Reply:
    """Decode the error reply the broker sent as a final reply.

    Args:
        client: The client the reply is for.
        message: Output message of the core.
        service: Service name expected in the reply.

    Returns:
        The body decoded with :func:`pyros.messages.decode_reply`, checked to be a
        failed reply of the documented form ``{"id", "ok": False, "data": None, "error"}``.
    """
    body = client.body_of(message, service)
    assert len(body) == 1
    raw = msgpack.unpackb(body[0], raw=False)
    assert set(raw) == {"id", "ok", "data", "error"}
    assert set(raw["error"]) == {"type", "message"}
    reply = decode_reply(body[0])
    assert isinstance(reply, Reply)
    assert reply.ok is False and reply.data is None and reply.error is not None
    assert reply.error.type in {"ServiceUnavailable", "RetryExhausted"} and reply.error.message
    return reply


def mmi(core: BrokerCore, name: bytes, *body: bytes, now: float = 0.0, dialect: str = "v1") -> list[bytes]:
    """Send an MMI request from a fresh client and return the reply body."""
    client = FakeClient(b"mmi-client", dialect)
    out = core.handle(client.request(name, *body), now)
    assert len(out) == 1
    return client.body_of(out[0], name)


def ticks(core: BrokerCore, start: float, stop: float, step: float) -> list[tuple[float, Message]]:
    """Tick the core at ``start``, ``start+step``, ... ``< stop``; return (time, message) pairs."""
    out = []
    n = 0
    while start + n * step < stop:
        t = start + n * step
        out.extend((t, m) for m in core.tick(t))
        n += 1
    return out


# =========================================================== settings


@pytest.mark.parametrize("kwargs", [
    {"heartbeat_interval": 0}, {"heartbeat_liveness": 0}, {"service_timeout": -1}, {"retry_cap": -1},
    {"max_queue": 0}, {"heartbeat_interval": float("nan")}])
def test_settings_reject_invalid_values(kwargs: dict[str, Any]) -> None:
    """BrokerSettings refuses values that would break the timers or queues."""
    with pytest.raises(ValueError):
        BrokerSettings(**kwargs)


# =========================================================== 7/MDP


@pytest.mark.parametrize("dialect", WORKER_DIALECTS)
def test_ready_registers_worker(dialect: str) -> None:
    """READY registers a waiting worker for its service, with no answer."""
    core = make_core()
    assert core.handle(FakeWorker(b"W", dialect).ready(b"echo"), 0.0) == []
    assert core.worker_table() == {"echo": {"workers": 1, "busy": 0, "waiting": 1, "queued": 0}}
    assert mmi(core, b"mmi.service", b"echo") == [b"200"]


@pytest.mark.parametrize("body", [[b"one"], [b"a", b"", b"c", b"\x00" * 10]], ids=["single", "multi"])
def test_request_to_idle_worker_forwarded_with_client_address_and_delimiter(body: list[bytes]) -> None:
    """REQUEST reaches an idle worker as client address, empty delimiter, body (all frames kept)."""
    core = make_core()
    worker, client = FakeWorker(b"W"), FakeClient(b"C")
    core.handle(worker.ready(b"echo"), 0.0)
    out = core.handle(client.request(b"echo", *body), 0.1)
    assert out == [[b"W", b"", b"MDPW01", b"\x02", b"C", b"", *body]]


def test_reply_goes_back_to_right_client_with_service_name() -> None:
    """The REPLY goes to the client named in it, with the service name of its request."""
    core = make_core()
    w1, w2 = FakeWorker(b"W1"), FakeWorker(b"W2")
    c1, c2 = FakeClient(b"C1"), FakeClient(b"C2")
    core.handle(w1.ready(b"alpha"), 0.0)
    core.handle(w2.ready(b"beta"), 0.0)
    assert core.handle(c1.request(b"alpha", b"q1"), 0.1) == [w1.expected_request(b"C1", b"q1")]
    assert core.handle(c2.request(b"beta", b"q2"), 0.1) == [w2.expected_request(b"C2", b"q2")]
    assert core.handle(w2.reply(b"C2", b"r2", b"more"), 0.2) == [[b"C2", b"", b"MDPC01", b"beta", b"r2", b"more"]]
    assert core.handle(w1.reply(b"C1", b"r1"), 0.2) == [c1.expected_reply(b"alpha", b"r1")]
    assert core.replies_routed == 2


def test_lru_dispatch_among_workers() -> None:
    """Requests go to the worker that has waited longest (least recently used)."""
    core = make_core()
    a, b, c = FakeWorker(b"A"), FakeWorker(b"B"), FakeWorker(b"C")
    for w in (a, b, c):
        core.handle(w.ready(b"svc"), 0.0)
    assert core.handle(FakeClient(b"1").request(b"svc", b"x"), 0.1)[0][0] == b"A"
    core.handle(a.reply(b"1", b"ok"), 0.2)  # A is now the most recently used
    targets = [core.handle(FakeClient(bytes([ord("2") + i])).request(b"svc", b"x"), 0.3)[0][0] for i in range(3)]
    assert targets == [b"B", b"C", b"A"]


def test_queued_requests_dispatched_on_ready() -> None:
    """Requests queued for a service without workers go to the next READY, in order."""
    core = make_core()
    c1, c2 = FakeClient(b"C1"), FakeClient(b"C2")
    assert core.handle(c1.request(b"svc", b"first"), 0.0) == []
    assert core.handle(c2.request(b"svc", b"second"), 0.1) == []
    w1, w2 = FakeWorker(b"W1", "v2"), FakeWorker(b"W2", "v2e")
    assert core.handle(w1.ready(b"svc"), 0.2) == [w1.expected_request(b"C1", b"first")]
    assert core.handle(w2.ready(b"svc"), 0.3) == [w2.expected_request(b"C2", b"second")]


def test_queued_requests_dispatched_after_each_reply() -> None:
    """After each final reply the worker gets the next queued request (FIFO)."""
    core = make_core()
    w = FakeWorker(b"W")
    core.handle(w.ready(b"svc"), 0.0)
    clients = [FakeClient(b"C%d" % i) for i in range(3)]
    assert core.handle(clients[0].request(b"svc", b"0"), 0.0) == [w.expected_request(b"C0", b"0")]
    assert core.handle(clients[1].request(b"svc", b"1"), 0.0) == []
    assert core.handle(clients[2].request(b"svc", b"2"), 0.0) == []
    assert core.handle(w.reply(b"C0", b"r0"), 0.1) == [clients[0].expected_reply(b"svc", b"r0"),
                                                       w.expected_request(b"C1", b"1")]
    assert core.handle(w.reply(b"C1", b"r1"), 0.2) == [clients[1].expected_reply(b"svc", b"r1"),
                                                       w.expected_request(b"C2", b"2")]
    assert core.handle(w.reply(b"C2", b"r2"), 0.3) == [clients[2].expected_reply(b"svc", b"r2")]
    assert core.worker_table()["svc"] == {"workers": 1, "busy": 0, "waiting": 1, "queued": 0}


def test_broker_heartbeats_every_worker_each_interval() -> None:
    """Every registered worker (any dialect, idle or busy) gets one HEARTBEAT per interval."""
    core = make_core()
    workers = [FakeWorker(b"W1", "v1"), FakeWorker(b"W2", "v2"), FakeWorker(b"W3", "v2e")]
    for w in workers:
        core.handle(w.ready(b"svc"), 0.0)
    core.handle(FakeClient(b"C").request(b"svc", b"x"), 0.0)  # W1 is busy
    sent: list[tuple[float, Message]] = []
    t = 0.0
    while t < 5.0:
        for w in workers:  # keep them alive
            core.handle(w.heartbeat(), t)
        sent.extend((t, m) for m in core.tick(t))
        t += 0.25
    assert all(t >= INTERVAL for t, _ in sent), "no heartbeat before the first interval"
    for w in workers:
        times = [t for t, m in sent if m == w.expected_heartbeat()]
        assert times == [1.0, 2.0, 3.0, 4.0], w
    assert len(sent) == 12


@pytest.mark.parametrize("dialect", WORKER_DIALECTS)
def test_idle_worker_silent_beyond_liveness_expires(dialect: str) -> None:
    """An idle worker silent for interval * liveness is forgotten (and sent nothing more)."""
    core = make_core()
    w = FakeWorker(b"W", dialect)
    core.handle(w.ready(b"svc"), 0.0)
    core.tick(EXPIRY - 0.01)
    assert b"W" in core.workers
    out = core.tick(EXPIRY + 0.01)
    assert b"W" not in core.workers
    assert all(m[0] != b"W" for m in out)
    assert core.counts["workers_expired"] == 1
    assert all(m[0] != b"W" for _, m in ticks(core, EXPIRY + 0.5, 10.0, 0.5)), "no commands to a dead worker"
    assert core.handle(FakeClient(b"C").request(b"svc", b"x"), 10.0) == []


def test_busy_worker_silent_beyond_liveness_expires_and_request_goes_to_next_worker() -> None:
    """A busy worker expires too; its request is sent to another worker."""
    core = make_core()
    a, b = FakeWorker(b"A"), FakeWorker(b"B", "v2")
    core.handle(a.ready(b"svc"), 0.0)
    core.handle(FakeClient(b"C").request(b"svc", b"job"), 0.0)
    core.handle(b.ready(b"svc"), 2.0)
    core.tick(EXPIRY - 0.01)
    assert b"A" in core.workers
    out = core.tick(EXPIRY + 0.01)
    assert b"A" not in core.workers
    assert b.expected_request(b"C", b"job") in out
    assert core.counts["requeued"] == 1


@pytest.mark.parametrize("kind", ["heartbeat", "partial", "reply"])
def test_any_message_from_worker_refreshes_liveness(kind: str) -> None:
    """HEARTBEAT, PARTIAL or REPLY from a worker postpone its expiry."""
    core = make_core()
    w = FakeWorker(b"W", "v2")
    core.handle(w.ready(b"svc"), 0.0)
    core.handle(FakeClient(b"C", "v2").request(b"svc", b"x"), 0.0)
    message = {"heartbeat": w.heartbeat(), "partial": w.partial(b"C", b"p"), "reply": w.reply(b"C", b"r")}[kind]
    core.handle(message, 2.5)
    core.tick(EXPIRY + 0.01)
    assert b"W" in core.workers
    core.tick(2.5 + EXPIRY - 0.01)
    assert b"W" in core.workers
    core.tick(2.5 + EXPIRY + 0.01)
    assert b"W" not in core.workers


@pytest.mark.parametrize("dialect", WORKER_DIALECTS)
def test_disconnect_from_worker_removes_it_and_no_further_commands(dialect: str) -> None:
    """After a worker's DISCONNECT the broker sends it nothing (no heartbeat, no request)."""
    core = make_core()
    w = FakeWorker(b"W", dialect)
    core.handle(w.ready(b"svc"), 0.0)
    assert core.handle(w.disconnect(), 0.5) == []
    assert core.workers == {}
    assert core.counts["worker_disconnected"] == 1
    assert core.handle(FakeClient(b"C").request(b"svc", b"x"), 0.6) == []
    assert all(m[0] != b"W" for _, m in ticks(core, 0.0, 4.0, 0.25))


def test_disconnect_from_unknown_peer_is_ignored() -> None:
    """DISCONNECT before READY is allowed (RFC 7) and answered with nothing."""
    core = make_core()
    assert core.handle(FakeWorker(b"X").disconnect(), 0.0) == []
    assert core.handle(FakeWorker(b"Y", "v2").disconnect(), 0.0) == []
    assert core.workers == {}


@pytest.mark.parametrize("dialect", WORKER_DIALECTS)
def test_reply_when_not_busy_gets_disconnect(dialect: str) -> None:
    """A REPLY from an idle worker is valid but unexpected: DISCONNECT, worker forgotten."""
    core = make_core()
    w = FakeWorker(b"W", dialect)
    core.handle(w.ready(b"svc"), 0.0)
    assert core.handle(w.reply(b"C", b"r"), 0.1) == [w.expected_disconnect()]
    assert core.workers == {}
    assert all(m[0] != b"W" for _, m in ticks(core, 0.0, 3.0, 0.5))


@pytest.mark.parametrize("dialect", WORKER_DIALECTS)
def test_second_ready_gets_disconnect(dialect: str) -> None:
    """A worker MUST NOT send a further READY: DISCONNECT and forget it."""
    core = make_core()
    w = FakeWorker(b"W", dialect)
    core.handle(w.ready(b"svc"), 0.0)
    assert core.handle(w.ready(b"other"), 0.1) == [w.expected_disconnect()]
    assert core.workers == {}
    assert core.worker_table() == {}


def test_second_ready_from_busy_worker_requeues_its_request() -> None:
    """A busy worker disconnected for a second READY loses its request to the queue."""
    core = make_core()
    w = FakeWorker(b"W")
    core.handle(w.ready(b"svc"), 0.0)
    core.handle(FakeClient(b"C").request(b"svc", b"x"), 0.0)
    assert core.handle(w.ready(b"svc"), 0.1) == [w.expected_disconnect()]
    v = FakeWorker(b"V")
    assert core.handle(v.ready(b"svc"), 0.2) == [v.expected_request(b"C", b"x")]


@pytest.mark.parametrize("dialect", WORKER_DIALECTS)
def test_heartbeat_from_unknown_worker_gets_disconnect(dialect: str) -> None:
    """HEARTBEAT is valid only after READY: DISCONNECT in the peer's own framing."""
    core = make_core()
    w = FakeWorker(b"W", dialect)
    assert core.handle(w.heartbeat(), 0.0) == [w.expected_disconnect()]
    assert core.workers == {}


@pytest.mark.parametrize("dialect", WORKER_DIALECTS)
def test_reply_from_unknown_worker_gets_disconnect(dialect: str) -> None:
    """A REPLY from a peer that never sent READY gets DISCONNECT and is not routed."""
    core = make_core()
    w = FakeWorker(b"W", dialect)
    assert core.handle(w.reply(b"C", b"r"), 0.0) == [w.expected_disconnect()]
    assert core.replies_routed == 0


@pytest.mark.parametrize("name", [b"mmi.service", b"mmi.anything", b"mmi."])
@pytest.mark.parametrize("dialect", WORKER_DIALECTS)
def test_ready_for_mmi_service_gets_disconnect(dialect: str, name: bytes) -> None:
    """Workers may not register in the reserved ``mmi.`` namespace (8/MMI)."""
    core = make_core()
    w = FakeWorker(b"W", dialect)
    assert core.handle(w.ready(name), 0.0) == [w.expected_disconnect()]
    assert core.workers == {} and core.services == {}


@pytest.mark.parametrize("name", [b"", b"x" * 256])
def test_ready_with_invalid_service_name_gets_disconnect(name: bytes) -> None:
    """An empty or over-long service name in READY is refused with DISCONNECT."""
    core = make_core()
    w = FakeWorker(b"W")
    assert core.handle(w.ready(name), 0.0) == [w.expected_disconnect()]
    assert core.workers == {}


@pytest.mark.parametrize("name", [b"", b"x" * 256])
def test_request_with_invalid_service_name_gets_error_reply(name: bytes) -> None:
    """A request naming no valid service gets a ServiceUnavailable error at once."""
    core = make_core()
    client = FakeClient(b"C", "v2")
    out = core.handle(client.request(name, b"x"), 0.0)
    assert len(out) == 1
    assert error_of(client, out[0], name).error.type == "ServiceUnavailable"
    assert core.services == {}


INVALID_MESSAGES = [
    ([b"P"], "too_short"),
    ([b"P", b""], "too_short"),
    ([b"P", b"", b"MDPX01", b"svc", b"x"], "unknown_header"),
    ([b"P", b"hello", b"world"], "unknown_header"),
    ([b"P", b"", b"", b"MDPC01", b"svc", b"x"], "unknown_header"),
    ([b"P", b"", b"MDPC01", b"svc"], "request_without_body"),
    ([b"P", b"MDPC01", b"svc"], "request_without_body"),
    ([b"P", b"MDPC02", b"\x01", b"svc"], "request_without_body"),
    ([b"P", b"MDPC02", b"\x03", b"svc", b"x"], "bad_client_command"),
    ([b"P", b"", b"MDPC02"], "bad_client_command"),
    ([b"P", b"MDPW01", b"\x01", b"svc"], "v1_worker_without_empty_frame"),
    ([b"P", b"", b"MDPW01"], "worker_without_command"),
    ([b"P", b"", b"MDPW01", b"\x09"], "unknown_worker_command"),
    ([b"P", b"MDPW02", b"\x02", b"C", b"", b"x"], "unknown_worker_command"),
    ([b"P", b"", b"MDPW01", b"\x03", b"C", b"x"], "malformed_reply"),
    ([b"P", b"", b"MDPW01", b"\x03", b"C", b"not-empty", b"x"], "malformed_reply"),
    ([b"P", b"MDPW02", b"\x04", b"C", b""], "malformed_reply"),
    ([b"P", b"", b"MDPW01", b"\x04", b"extra"], "malformed_heartbeat"),
    ([b"P", b"", b"MDPW01", b"\x01"], "malformed_ready"),
    ([b"P", b"MDPW02", b"\x01", b"svc", b"extra"], "malformed_ready"),
]


@pytest.mark.parametrize(("frames", "reason"), INVALID_MESSAGES, ids=[f"{r}-{i}" for i, (_, r) in
                                                                    enumerate(INVALID_MESSAGES)])
def test_invalid_messages_dropped_and_counted(frames: Message, reason: str) -> None:
    """Invalid messages from an unknown peer are dropped, counted by reason, and change nothing."""
    core = make_core()
    core.handle(FakeWorker(b"W").ready(b"svc"), 0.0)
    before = core.worker_table()
    assert core.handle(frames, 0.1) == []
    assert core.drops == {reason: 1}
    assert core.worker_table() == before


@pytest.mark.parametrize(("tail", "reason"), [
    ([b"\x09"], "unknown_worker_command"),
    ([b"\x03", b"C", b"x"], "malformed_reply"),
    ([b"\x04", b"extra"], "malformed_heartbeat"),
    ([b"\x01", b"svc", b"extra"], "malformed_ready"),
])
def test_invalid_message_from_registered_worker_disconnects_it(tail: list[bytes], reason: str) -> None:
    """A registered worker sending an invalid command is treated as invalid: DISCONNECT."""
    core = make_core()
    w = FakeWorker(b"W")
    core.handle(w.ready(b"svc"), 0.0)
    core.handle(FakeClient(b"C").request(b"svc", b"job"), 0.0)
    assert core.handle([b"W", b"", b"MDPW01", *tail], 0.1) == [w.expected_disconnect()]
    assert core.drops == {reason: 1}
    assert core.workers == {}
    assert core.worker_table()["svc"]["queued"] == 1, "its request is requeued"


def test_reply_without_empty_delimiter_is_not_routed() -> None:
    """A REPLY whose client address is not followed by an empty frame never reaches a client."""
    core = make_core()
    w = FakeWorker(b"W", "v2")
    core.handle(w.ready(b"svc"), 0.0)
    core.handle(FakeClient(b"C").request(b"svc", b"job"), 0.0)
    out = core.handle([b"W", b"MDPW02", b"\x04", b"C", b"body"], 0.1)
    assert out == [w.expected_disconnect()]
    assert core.replies_routed == 0


def test_body_frames_may_be_any_buffer() -> None:
    """Body frames that are not bytes (zmq.Frame-like buffers) pass through untouched, in a tuple too."""
    core = make_core(retry_cap=0)
    w = FakeWorker(b"W", "v2")
    core.handle(tuple(w.ready(b"svc")), 0.0)
    body = [memoryview(pack({"id": "m-1", "cmd": "x", "args": {}})), bytearray(b"second")]
    out = core.handle((b"C", b"", b"MDPC01", b"svc", *body), 0.1)
    assert out == [[b"W", b"MDPW02", b"\x02", b"C", b"", *body]]
    assert out[0][-1] is body[1]
    reply = [memoryview(b"r1"), bytearray(b"r2")]
    assert core.handle((b"W", b"MDPW02", b"\x04", b"C", b"", *reply), 0.2) == [[b"C", b"", b"MDPC01", b"svc", *reply]]
    core.handle((b"C", b"", b"MDPC01", b"svc", *body), 0.3)
    out = core.handle(tuple(w.disconnect()), 0.4)
    assert error_of(FakeClient(b"C"), out[0], b"svc").id == "m-1"


# =========================================================== 18/MDP


@pytest.mark.parametrize("dialect", ["v2", "v2e"])
def test_v2_worker_answered_in_its_own_framing(dialect: str) -> None:
    """A 0.2 worker gets REQUEST, HEARTBEAT and DISCONNECT with or without the empty frame, as it sent."""
    core = make_core()
    w = FakeWorker(b"W", dialect)
    core.handle(w.ready(b"svc"), 0.0)
    assert core.handle(FakeClient(b"C").request(b"svc", b"a", b"b"), 0.1) == [w.expected_request(b"C", b"a", b"b")]
    assert core.tick(INTERVAL) == [w.expected_heartbeat()]
    assert core.handle(w.reply(b"C", b"r"), 1.1)[0] == FakeClient(b"C").expected_reply(b"svc", b"r")
    assert core.handle(w.heartbeat(), 1.2) == []
    assert core.handle(w.ready(b"svc"), 1.3) == [w.expected_disconnect()]


@pytest.mark.parametrize("client_dialect", CLIENT_DIALECTS)
@pytest.mark.parametrize("worker_dialect", WORKER_DIALECTS)
def test_client_answered_in_its_own_framing(client_dialect: str, worker_dialect: str) -> None:
    """Each client gets its reply in its own dialect and framing, whatever the worker's."""
    core = make_core()
    w, client = FakeWorker(b"W", worker_dialect), FakeClient(b"C", client_dialect)
    core.handle(w.ready(b"svc"), 0.0)
    assert core.handle(client.request(b"svc", b"q", b""), 0.1) == [w.expected_request(b"C", b"q", b"")]
    assert core.handle(w.reply(b"C", b"r", b"", b"s"), 0.2) == [client.expected_reply(b"svc", b"r", b"", b"s")]


@pytest.mark.parametrize("client_dialect", ["v2", "v2e"])
def test_partial_forwarded_to_v2_client(client_dialect: str) -> None:
    """PARTIAL from a 0.2 worker reaches a 0.2 client as MDPC02 PARTIAL, then FINAL."""
    core = make_core()
    w, client = FakeWorker(b"W", "v2"), FakeClient(b"C", client_dialect)
    core.handle(w.ready(b"svc"), 0.0)
    core.handle(client.request(b"svc", b"q"), 0.0)
    assert core.handle(w.partial(b"C", b"10%"), 0.1) == [client.expected_reply(b"svc", b"10%", final=False)]
    assert core.handle(w.partial(b"C", b"50%", b"x"), 0.2) == [
        client.expected_reply(b"svc", b"50%", b"x", final=False)]
    assert core.handle(w.reply(b"C", b"done"), 0.3) == [client.expected_reply(b"svc", b"done")]
    assert client.expected_reply(b"svc", final=False)[-2] == b"\x02"
    assert core.replies_routed == 1


@pytest.mark.parametrize("client_dialect", ["v1", "v1n"])
def test_partial_withheld_from_v1_client_which_gets_final_as_v1_reply(client_dialect: str) -> None:
    """A 0.1 client served by a 0.2 worker sees no PARTIAL, and the FINAL as an MDPC01 reply."""
    core = make_core()
    w, client = FakeWorker(b"W", "v2e"), FakeClient(b"C", client_dialect)
    core.handle(w.ready(b"svc"), 0.0)
    core.handle(client.request(b"svc", b"q"), 0.0)
    assert core.handle(w.partial(b"C", b"10%"), 0.1) == []
    assert core.counts["partial_withheld_from_v1_client"] == 1
    out = core.handle(w.reply(b"C", b"done"), 0.2)
    assert out == [client.expected_reply(b"svc", b"done")]
    assert MDPC01 in out[0][:3]


def test_v2_client_served_by_v1_worker() -> None:
    """A 0.2 client's request reaches a 0.1 worker in 0.1 framing; the REPLY returns as FINAL."""
    core = make_core()
    w, client = FakeWorker(b"W", "v1"), FakeClient(b"C", "v2")
    core.handle(w.ready(b"svc"), 0.0)
    assert core.handle(client.request(b"svc", b"q"), 0.0) == [[b"W", b"", MDPW01, b"\x02", b"C", b"", b"q"]]
    assert core.handle(w.reply(b"C", b"r"), 0.1) == [[b"C", MDPC02, b"\x03", b"svc", b"r"]]


@pytest.mark.parametrize(("first", "then"), [
    ("v2", "v2e"), ("v2e", "v2"), ("v1", "v2e"), ("v1", "v2"), ("v2", "v1"), ("v2e", "v1")])
def test_worker_switching_dialect_is_disconnected(first: str, then: str) -> None:
    """A registered worker that changes dialect or framing gets DISCONNECT (in its first framing)."""
    core = make_core()
    w = FakeWorker(b"W", first)
    core.handle(w.ready(b"svc"), 0.0)
    core.handle(FakeClient(b"C").request(b"svc", b"job"), 0.0)
    assert core.handle(FakeWorker(b"W", then).heartbeat(), 0.1) == [w.expected_disconnect()]
    assert core.workers == {}
    assert core.worker_table()["svc"]["queued"] == 1


# =========================================================== beyond the references


def test_worker_expiry_mid_request_requeues_at_head() -> None:
    """A request held by a worker that expires goes back ahead of later requests."""
    core = make_core()
    a, b = FakeWorker(b"A"), FakeWorker(b"B")
    core.handle(a.ready(b"svc"), 0.0)
    core.handle(b.ready(b"svc"), 0.0)
    core.handle(FakeClient(b"C1").request(b"svc", b"r1"), 0.0)  # -> A
    core.handle(FakeClient(b"C2").request(b"svc", b"r2"), 0.0)  # -> B
    core.handle(FakeClient(b"C3").request(b"svc", b"r3"), 0.0)  # queued
    core.handle(b.heartbeat(), 2.0)
    assert core.tick(EXPIRY + 0.01) == [b.expected_heartbeat()]
    assert b"A" not in core.workers
    out = core.handle(b.reply(b"C2", b"done2"), 3.1)
    assert out == [FakeClient(b"C2").expected_reply(b"svc", b"done2"), b.expected_request(b"C1", b"r1")]
    out = core.handle(b.reply(b"C1", b"done1"), 3.2)
    assert out[1] == b.expected_request(b"C3", b"r3")


def test_worker_disconnect_mid_request_requeues_at_head() -> None:
    """A request held by a worker that sends DISCONNECT goes back ahead of later requests."""
    core = make_core()
    a, b = FakeWorker(b"A", "v2"), FakeWorker(b"B")
    core.handle(a.ready(b"svc"), 0.0)
    core.handle(b.ready(b"svc"), 0.0)
    core.handle(FakeClient(b"C1").request(b"svc", b"r1"), 0.0)  # -> A
    core.handle(FakeClient(b"C2").request(b"svc", b"r2"), 0.0)  # -> B
    core.handle(FakeClient(b"C3").request(b"svc", b"r3"), 0.0)  # queued
    assert core.handle(a.disconnect(), 0.5) == []
    assert core.counts["requeued"] == 1
    out = core.handle(b.reply(b"C2", b"done2"), 0.6)
    assert out[1] == b.expected_request(b"C1", b"r1")


def test_worker_disconnect_mid_request_dispatches_to_next_worker() -> None:
    """With an idle worker available, the lost request is sent to it at once."""
    core = make_core()
    a, b = FakeWorker(b"A"), FakeWorker(b"B", "v2e")
    core.handle(a.ready(b"svc"), 0.0)
    core.handle(b.ready(b"svc"), 0.0)
    core.handle(FakeClient(b"C").request(b"svc", b"r", b"2"), 0.0)  # -> A (LRU)
    assert core.handle(a.disconnect(), 0.5) == [b.expected_request(b"C", b"r", b"2")]


def test_unroutable_request_goes_to_the_next_worker_without_counting_a_retry() -> None:
    """ROUTER_MANDATORY tells the shell a dead worker's connection is gone: the request never left."""
    core = make_core(retry_cap=0)
    dead = [FakeWorker(b"D%d" % i) for i in range(3)]
    live = FakeWorker(b"L", "v2")
    for worker in [*dead, live]:
        core.handle(worker.ready(b"svc"), 0.0)
    client = FakeClient(b"C", "v2")
    out = core.handle(client.request(b"svc", b"r"), 0.5)
    assert out == [dead[0].expected_request(b"C", b"r")]
    for i in range(3):  # each dead worker in turn: forgotten, the request passed on
        nxt = dead[i + 1] if i < 2 else live
        out = core.unreachable(out[0], 0.5)
        assert out == [nxt.expected_request(b"C", b"r")]
    assert core.worker_table() == {"svc": {"workers": 1, "busy": 1, "waiting": 0, "queued": 0}}
    assert core.counts["workers_unreachable"] == 3 and core.counts["requeued"] == 0
    assert core.handle(live.reply(b"C", b"done"), 0.6) == [client.expected_reply(b"svc", b"done")]


def test_unroutable_heartbeat_forgets_a_worker_that_died_holding_a_request() -> None:
    """A worker that got the request and died: the request is requeued as on expiry, counting a retry."""
    core = make_core(retry_cap=1)
    holder, other = FakeWorker(b"H"), FakeWorker(b"O")
    core.handle(holder.ready(b"svc"), 0.0)
    core.handle(FakeClient(b"C").request(b"svc", b"r"), 0.0)
    core.handle(other.ready(b"svc"), 0.1)
    beats = core.tick(INTERVAL)
    assert holder.expected_heartbeat() in beats
    out = core.unreachable(holder.expected_heartbeat(), INTERVAL)
    assert out == [other.expected_request(b"C", b"r")]
    assert core.counts["requeued"] == 1 and b"H" not in core.workers


def test_unroutable_reply_to_a_gone_client_is_dropped() -> None:
    core = make_core()
    assert core.unreachable(FakeClient(b"gone").expected_reply(b"svc", b"x"), 0.0) == []
    assert core.drops["unroutable_reply"] == 1


def test_retry_cap_exhausted_gives_retry_exhausted_error() -> None:
    """The request is requeued retry_cap times; the next loss fails it with RetryExhausted."""
    core = make_core(retry_cap=2)
    client = FakeClient(b"C", "v2")
    core.handle(client.request(b"svc", b"poison"), 0.0)
    for i in range(2):
        w = FakeWorker(b"W%d" % i)
        assert core.handle(w.ready(b"svc"), 0.1) == [w.expected_request(b"C", b"poison")]
        assert core.handle(w.disconnect(), 0.2) == []
    assert core.counts["requeued"] == 2
    last = FakeWorker(b"W9", "v2")
    core.handle(last.ready(b"svc"), 0.3)
    out = core.tick(0.3 + EXPIRY)
    assert len(out) == 1
    err = error_of(client, out[0], b"svc")
    assert err.id is None  # the body was not a msgpack map
    assert err.error.type == "RetryExhausted"
    assert core.worker_table() == {}
    assert core.counts["error_RetryExhausted"] == 1


def test_retry_cap_zero_fails_on_first_loss() -> None:
    """With retry_cap 0 the first worker loss fails the request."""
    core = make_core(retry_cap=0)
    client, w = FakeClient(b"C"), FakeWorker(b"W")
    core.handle(w.ready(b"svc"), 0.0)
    core.handle(client.request(b"svc", b"x"), 0.0)
    out = core.handle(w.disconnect(), 0.1)
    assert len(out) == 1 and error_of(client, out[0], b"svc").error.type == "RetryExhausted"


@pytest.mark.parametrize("client_dialect", CLIENT_DIALECTS)
def test_request_without_worker_waits_service_timeout_then_service_unavailable(client_dialect: str) -> None:
    """No error before service_timeout; ServiceUnavailable (in the client's framing) once it passed."""
    core = make_core()
    client = FakeClient(b"C", client_dialect)
    assert core.handle(client.request(b"nobody", b"x"), 1.0) == []
    assert ticks(core, 1.0, 1.0 + TIMEOUT - 0.01, 0.1) == []
    out = core.tick(1.0 + TIMEOUT + 0.01)
    assert len(out) == 1
    err = error_of(client, out[0], b"nobody")
    assert err.error.type == "ServiceUnavailable"
    assert core.tick(20.0) == [] and core.services == {}


def test_worker_arriving_in_time_serves_waiting_request() -> None:
    """A worker that registers before the deadline gets the waiting request; no error is sent."""
    core = make_core()
    client, w = FakeClient(b"C"), FakeWorker(b"W")
    core.handle(client.request(b"svc", b"x"), 0.0)
    core.tick(TIMEOUT - 1)
    assert core.handle(w.ready(b"svc"), TIMEOUT - 0.5) == [w.expected_request(b"C", b"x")]
    core.handle(w.heartbeat(), TIMEOUT + 1)
    assert core.tick(TIMEOUT + 1.5) == [w.expected_heartbeat()]
    assert core.handle(w.reply(b"C", b"r"), TIMEOUT + 2) == [client.expected_reply(b"svc", b"r")]


def test_service_wait_counts_from_loss_of_last_worker() -> None:
    """Requests queued behind a busy worker wait service_timeout from the moment it is gone."""
    core = make_core()
    w = FakeWorker(b"W")
    c1, c2 = FakeClient(b"C1"), FakeClient(b"C2", "v2")
    core.handle(w.ready(b"svc"), 0.0)
    core.handle(c1.request(b"svc", b"1"), 0.0)  # held by W
    core.handle(c2.request(b"svc", b"2"), 0.0)  # queued
    for t in range(1, 11):
        core.handle(w.heartbeat(), float(t))
        assert core.tick(float(t)) == [w.expected_heartbeat()]
    assert core.handle(w.disconnect(), 10.0) == []
    assert core.tick(10.0 + TIMEOUT - 0.01) == [], "deadline counts from the loss at t=10, not arrival at 0"
    out = core.tick(10.0 + TIMEOUT + 0.01)
    assert sorted(m[0] for m in out) == [b"C1", b"C2"]
    assert error_of(c1, next(m for m in out if m[0] == b"C1"), b"svc").error.type == "ServiceUnavailable"
    assert error_of(c2, next(m for m in out if m[0] == b"C2"), b"svc").error.type == "ServiceUnavailable"


def test_service_wait_counts_from_arrival_when_later_than_loss() -> None:
    """A request arriving after the service lost its worker waits service_timeout from its arrival."""
    core = make_core()
    w = FakeWorker(b"W")
    core.handle(w.ready(b"svc"), 0.0)
    core.handle(w.disconnect(), 1.0)
    core.handle(FakeClient(b"C").request(b"svc", b"x"), 4.0)
    assert core.tick(4.0 + TIMEOUT - 0.01) == []
    assert len(core.tick(4.0 + TIMEOUT + 0.01)) == 1


@pytest.mark.parametrize("with_busy_worker", [False, True])
def test_queue_full_gives_service_unavailable(with_busy_worker: bool) -> None:
    """Beyond max_queue queued requests, new ones get ServiceUnavailable at once."""
    core = make_core(max_queue=3)
    if with_busy_worker:
        core.handle(FakeWorker(b"W").ready(b"svc"), 0.0)
        core.handle(FakeClient(b"C-held").request(b"svc", b"x"), 0.0)
    for i in range(3):
        assert core.handle(FakeClient(b"C%d" % i).request(b"svc", b"x"), 0.0) == []
    client = FakeClient(b"late", "v2e")
    out = core.handle(client.request(b"svc", pack({"id": "r-9", "cmd": "x", "args": {}})), 0.0)
    assert len(out) == 1
    assert error_of(client, out[0], b"svc").error.type == "ServiceUnavailable"
    assert core.worker_table()["svc"]["queued"] == 3


def test_reply_for_different_client_disconnects_and_requeues() -> None:
    """A reply addressed to another client than the one whose request the worker holds is not routed."""
    core = make_core()
    a = FakeWorker(b"A")
    core.handle(a.ready(b"svc"), 0.0)
    core.handle(FakeClient(b"C1").request(b"svc", b"x"), 0.0)
    assert core.handle(a.reply(b"C2", b"stolen"), 0.1) == [a.expected_disconnect()]
    assert core.drops["reply_to_wrong_client"] == 1
    assert core.replies_routed == 0
    b = FakeWorker(b"B", "v2")
    assert core.handle(b.ready(b"svc"), 0.2) == [b.expected_request(b"C1", b"x")]


# =========================================================== 8/MMI


def test_mmi_service_200_with_live_worker_404_otherwise() -> None:
    """mmi.service: 404 before READY, 200 while a worker lives, 404 once the last one expired."""
    core = make_core()
    assert mmi(core, b"mmi.service", b"svc") == [b"404"]
    core.handle(FakeWorker(b"W").ready(b"svc"), 0.0)
    assert mmi(core, b"mmi.service", b"svc", now=0.1) == [b"200"]
    assert mmi(core, b"mmi.service", b"other", now=0.1) == [b"404"]
    core.tick(EXPIRY + 0.01)
    assert mmi(core, b"mmi.service", b"svc", now=EXPIRY + 0.02) == [b"404"]


def test_mmi_service_404_for_service_with_only_queued_requests() -> None:
    """A service known only from waiting requests has no worker: 404."""
    core = make_core()
    core.handle(FakeClient(b"C").request(b"svc", b"x"), 0.0)
    assert mmi(core, b"mmi.service", b"svc") == [b"404"]


def test_mmi_services_lists_services_with_workers() -> None:
    """mmi.services: "200" then a msgpack sorted list of names having a worker."""
    core = make_core()
    assert msgpack.unpackb(mmi(core, b"mmi.services", b"")[1]) == []
    core.handle(FakeWorker(b"W1").ready(b"zeta"), 0.0)
    core.handle(FakeWorker(b"W2", "v2").ready(b"alpha"), 0.0)
    core.handle(FakeWorker(b"W3").ready(b"alpha"), 0.0)
    core.handle(FakeClient(b"C").request(b"queued-only", b"x"), 0.0)
    body = mmi(core, b"mmi.services", b"ignored")
    assert body[0] == b"200" and len(body) == 2
    assert msgpack.unpackb(body[1], raw=False) == ["alpha", "zeta"]


def test_mmi_workers_table() -> None:
    """mmi.workers: per service its workers, busy, waiting and queued counts."""
    core = make_core()
    for i in range(3):
        core.handle(FakeWorker(b"A%d" % i).ready(b"a"), 0.0)
    core.handle(FakeWorker(b"B").ready(b"b"), 0.0)
    core.handle(FakeClient(b"C1").request(b"a", b"x"), 0.0)
    core.handle(FakeClient(b"C2").request(b"b", b"x"), 0.0)
    core.handle(FakeClient(b"C3").request(b"b", b"x"), 0.0)
    core.handle(FakeClient(b"C4").request(b"c", b"x"), 0.0)
    body = mmi(core, b"mmi.workers", b"")
    assert body[0] == b"200"
    assert msgpack.unpackb(body[1], raw=False) == {
        "a": {"workers": 3, "busy": 1, "waiting": 2, "queued": 0},
        "b": {"workers": 1, "busy": 1, "waiting": 0, "queued": 1},
        "c": {"workers": 0, "busy": 0, "waiting": 0, "queued": 1},
    }


def test_mmi_echo_returns_body() -> None:
    """mmi.echo answers with the request body, every frame."""
    core = make_core()
    assert mmi(core, b"mmi.echo", b"a", b"", b"c") == [b"a", b"", b"c"]


def test_mmi_stats() -> None:
    """mmi.stats: "200" then a msgpack map of the broker counters."""
    core = make_core()
    core.handle(FakeWorker(b"W").ready(b"svc"), 0.0)
    core.handle([b"X", b"junk", b"junk"], 0.0)
    body = mmi(core, b"mmi.stats", b"")
    assert body[0] == b"200"
    stats = msgpack.unpackb(body[1], raw=False)
    assert stats["workers"] == 1 and stats["services"] == 1
    assert stats["drops"] == {"unknown_header": 1}
    assert stats == core.stats() | {"events": stats["events"]}


@pytest.mark.parametrize("name", [b"mmi.", b"mmi.unknown", b"mmi.SERVICE", b"mmi.service.x"])
def test_other_mmi_gets_501(name: bytes) -> None:
    """Any unimplemented mmi.* service gets "501"."""
    assert mmi(make_core(), name, b"x") == [b"501"]


@pytest.mark.parametrize("dialect", CLIENT_DIALECTS)
def test_mmi_works_for_every_client_dialect(dialect: str) -> None:
    """MMI is answered as a final reply in the client's own framing."""
    core = make_core()
    core.handle(FakeWorker(b"W").ready(b"svc"), 0.0)
    client = FakeClient(b"C", dialect)
    assert core.handle(client.request(b"mmi.service", b"svc"), 0.0) == [client.expected_reply(b"mmi.service",
                                                                                             b"200")]
    assert core.handle(client.request(b"mmi.nope", b"svc"), 0.0) == [client.expected_reply(b"mmi.nope", b"501")]


# =========================================================== memory


def test_idle_services_forgotten_at_tick() -> None:
    """Services with no worker and no request are dropped at tick: random names do not leak."""
    core = make_core(service_timeout=1.0)
    for i in range(500):
        core.handle(FakeClient(b"C%d" % i, "v2").request(b"random-%d" % i, b"x"), 0.0)
    assert len(core.services) == 500
    out = core.tick(1.0)
    assert len(out) == 500
    assert core.services == {}
    w = FakeWorker(b"W")
    core.handle(w.ready(b"svc"), 2.0)
    core.tick(2.1)
    assert list(core.services) == [b"svc"]
    core.handle(w.disconnect(), 2.2)
    core.tick(2.3)
    assert core.services == {} and core.workers == {}


def test_shutdown_disconnects_every_worker() -> None:
    """shutdown() sends DISCONNECT to every worker in its framing and forgets them."""
    core = make_core()
    workers = [FakeWorker(b"W1", "v1"), FakeWorker(b"W2", "v2"), FakeWorker(b"W3", "v2e")]
    for w in workers:
        core.handle(w.ready(b"svc"), 0.0)
    assert sorted(core.shutdown()) == sorted(w.expected_disconnect() for w in workers)
    assert core.workers == {} and core.services == {}


# =========================================================== error replies


def _retry_exhausted_reply(body: bytes) -> Message:
    """Return the RetryExhausted reply (retry cap 0) to a v0.1 client ``C`` whose request had ``body``."""
    core = make_core(retry_cap=0)
    w = FakeWorker(b"W")
    core.handle(w.ready(b"svc"), 0.0)
    core.handle(FakeClient(b"C").request(b"svc", body), 0.0)
    out = core.handle(w.disconnect(), 0.1)
    assert len(out) == 1
    return out[0]


@pytest.mark.parametrize("kind", ["RetryExhausted", "ServiceUnavailable", "queue_full", "bad_name"])
def test_error_reply_carries_request_id(kind: str) -> None:
    """Broker error replies carry the id of a request whose body is a msgpack map with an id."""
    body = pack({"id": "req-42", "cmd": "ping", "args": {}})
    client = FakeClient(b"C")
    service = b"svc"
    if kind == "RetryExhausted":
        out = _retry_exhausted_reply(body)
    elif kind == "ServiceUnavailable":
        core = make_core()
        core.handle(client.request(b"svc", body), 0.0)
        out = core.tick(TIMEOUT + 1)[0]
    elif kind == "queue_full":
        core = make_core(max_queue=1)
        core.handle(FakeClient(b"X").request(b"svc", b"x"), 0.0)
        out = core.handle(client.request(b"svc", body), 0.0)[0]
    else:
        service = b""
        out = make_core().handle(client.request(service, body), 0.0)[0]
    assert error_of(client, out, service).id == "req-42"


@pytest.mark.parametrize("body", [b"not msgpack", pack([1, 2]), pack({"id": 7}), pack({"cmd": "x"}), b"\xc1"])
def test_error_reply_id_is_nil_when_body_has_no_readable_id(body: bytes) -> None:
    """Without a decodable map holding a string id, the error reply's id is nil."""
    assert error_of(FakeClient(b"C"), _retry_exhausted_reply(body), b"svc").id is None


# =========================================================== regressions


def test_requeued_request_not_sent_to_worker_expiring_in_same_tick() -> None:
    """A request lost by an expired worker goes to a live worker, not to one expiring in the same tick.

    Found while writing these tests: tick() used to expire workers one by one, so
    the request requeued from the first was sent to another worker already past
    its expiry, which was then expired too (a REQUEST to a dead peer, a retry
    burnt, and RetryExhausted although a live worker was waiting).
    """
    core = make_core(retry_cap=1)
    a, b, c = FakeWorker(b"A"), FakeWorker(b"B"), FakeWorker(b"C")
    client = FakeClient(b"client")
    core.handle(a.ready(b"svc"), 0.0)
    core.handle(client.request(b"svc", b"job"), 0.0)  # -> A
    core.handle(b.ready(b"svc"), 0.0)  # idle, silent from now on
    core.handle(c.ready(b"svc"), 0.5)
    core.handle(c.heartbeat(), 2.9)  # C stays alive
    out = core.tick(EXPIRY + 0.01)  # A and B both expire
    assert set(core.workers) == {b"C"}
    assert [m for m in out if m != c.expected_heartbeat()] == [c.expected_request(b"client", b"job")]


@pytest.mark.parametrize("name", [b"\xff", b"\xfe\xfd", b"tab\tname", b"nul\x00", b"x" * 256])
def test_non_printable_service_names_are_refused(name: bytes) -> None:
    """Service names are printable UTF-8 (RFC: 'printable string'), so MMI answers stay lossless."""
    core = make_core()
    worker = FakeWorker(b"W1")
    assert core.handle(worker.ready(name), 0.0) == [worker.expected_disconnect()]
    client = FakeClient(b"C1")
    out = core.handle(client.request(name, Request(id="r1", cmd="x").encode()), 0.0)
    error = error_of(client, out[0], name)
    assert error.error is not None and error.error.type == "ServiceUnavailable"
    assert "invalid service name" in error.error.message and error.id == "r1"
    assert core.worker_table() == {} and name not in core.services


def test_mmi_lists_distinct_utf8_names_apart() -> None:
    """Two distinct (printable, non-ASCII) names never share a row of mmi.workers or mmi.services."""
    core = make_core()
    core.handle(FakeWorker(b"W1").ready("coupole".encode()), 0.0)
    core.handle(FakeWorker(b"W2").ready("télescope".encode()), 0.0)
    core.handle(FakeWorker(b"W3").ready("télescope".encode()), 0.0)
    table = msgpack.unpackb(mmi(core, b"mmi.workers", b"")[1], raw=False)
    names = msgpack.unpackb(mmi(core, b"mmi.services", b"")[1], raw=False)
    assert {k: v["workers"] for k, v in table.items()} == {"coupole": 1, "télescope": 2}
    assert names == ["coupole", "télescope"]
