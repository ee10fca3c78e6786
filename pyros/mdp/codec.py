"""Encode and decode Majordomo frames for clients and workers (sans-I/O).

The broker core parses its input inline for speed (see :mod:`pyros.mdp.broker_core`);
this module serves the two other roles: a client building requests and reading
what the broker sends back, and a worker building its commands and reading the
broker's. Frames are lists of ``bytes`` as a DEALER socket sends and receives
them (no routing identity).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Sequence

from pyros.errors import ProtocolError
from pyros.mdp import constants as c

Frames = list[bytes]


class Dialect(Enum):
    """Protocol version (and framing style) a peer speaks."""

    V1 = "0.1"
    """7/MDP: every command starts with an empty frame."""
    V2 = "0.2"
    """18/MDP as specified: no leading empty frame."""
    V2_ENVELOPE = "0.2+empty"
    """18/MDP with a leading empty frame, as majortomo and other 0.2 peers send it."""

    @property
    def envelope(self) -> tuple[bytes, ...]:
        """Frames that precede the protocol header."""
        return () if self is Dialect.V2 else (b"",)


# ---------------------------------------------------------------------------
# Client side
# ---------------------------------------------------------------------------


def client_request(service: str | bytes, body: Sequence[bytes], dialect: Dialect = Dialect.V2) -> Frames:
    """Build a client REQUEST as a DEALER sends it.

    Args:
        service: Service name.
        body: One or more body frames.
        dialect: V1 (``MDPC01``) or V2/V2_ENVELOPE (``MDPC02``).
    """
    name = service.encode() if isinstance(service, str) else service
    if dialect is Dialect.V1:
        return [b"", c.C_CLIENT_V1, name, *body]
    return [*dialect.envelope, c.C_CLIENT_V2, c.C2_REQUEST, name, *body]


@dataclass(frozen=True, slots=True)
class ClientMessage:
    """What the broker sent to a client."""

    service: bytes
    body: Frames
    final: bool


def _without_envelope(frames: Sequence[bytes], role: str) -> Frames:
    """Drop the leading empty frame, if any; at least a header and a command must remain.

    Raises:
        ProtocolError: when fewer than two frames remain.
    """
    f = list(frames)
    if f and f[0] == b"":
        f = f[1:]
    if len(f) < 2:
        raise ProtocolError(f"{role} message too short ({len(frames)} frames)")
    return f


def parse_client_message(frames: Sequence[bytes]) -> ClientMessage:
    """Parse a broker-to-client message received on a DEALER socket.

    Raises:
        ProtocolError: naming what is wrong with the frames.
    """
    f = _without_envelope(frames, "client")
    header = f[0]
    if header == c.C_CLIENT_V1:
        if len(f) < 3:
            raise ProtocolError("MDPC01 reply without body")
        return ClientMessage(service=f[1], body=f[2:], final=True)
    if header == c.C_CLIENT_V2:
        if len(f) < 4:
            raise ProtocolError("MDPC02 message too short")
        command = f[1]
        if command == c.C2_FINAL:
            return ClientMessage(service=f[2], body=f[3:], final=True)
        if command == c.C2_PARTIAL:
            return ClientMessage(service=f[2], body=f[3:], final=False)
        raise ProtocolError(f"unknown MDPC02 command {command!r}")
    raise ProtocolError(f"unknown client protocol header {header[:16]!r}")


# ---------------------------------------------------------------------------
# Worker side
# ---------------------------------------------------------------------------


def _header(dialect: Dialect) -> bytes:
    return c.W_WORKER_V1 if dialect is Dialect.V1 else c.W_WORKER_V2


def worker_ready(service: str | bytes, dialect: Dialect = Dialect.V2) -> Frames:
    """Build a worker READY."""
    name = service.encode() if isinstance(service, str) else service
    cmd = c.V1_READY if dialect is Dialect.V1 else c.V2_READY
    return [*dialect.envelope, _header(dialect), cmd, name]


def worker_heartbeat(dialect: Dialect = Dialect.V2) -> Frames:
    """Build a worker HEARTBEAT."""
    cmd = c.V1_HEARTBEAT if dialect is Dialect.V1 else c.V2_HEARTBEAT
    return [*dialect.envelope, _header(dialect), cmd]


def worker_disconnect(dialect: Dialect = Dialect.V2) -> Frames:
    """Build a worker DISCONNECT."""
    cmd = c.V1_DISCONNECT if dialect is Dialect.V1 else c.V2_DISCONNECT
    return [*dialect.envelope, _header(dialect), cmd]


def worker_reply(client: bytes, body: Sequence[bytes], dialect: Dialect = Dialect.V2, *, final: bool = True) -> Frames:
    """Build a worker REPLY (v0.1) or PARTIAL/FINAL (v0.2).

    Raises:
        ValueError: for a partial reply in 7/MDP, which has none.
    """
    if dialect is Dialect.V1:
        if not final:
            raise ValueError("7/MDP has no PARTIAL command")
        cmd = c.V1_REPLY
    else:
        cmd = c.V2_FINAL if final else c.V2_PARTIAL
    return [*dialect.envelope, _header(dialect), cmd, client, b"", *body]


class WorkerCommand(Enum):
    """Commands a broker sends to a worker."""

    REQUEST = "request"
    HEARTBEAT = "heartbeat"
    DISCONNECT = "disconnect"


@dataclass(frozen=True, slots=True)
class WorkerMessage:
    """What the broker sent to a worker."""

    command: WorkerCommand
    client: bytes = b""
    body: Frames | None = None


_V1_COMMANDS = {c.V1_REQUEST: WorkerCommand.REQUEST, c.V1_HEARTBEAT: WorkerCommand.HEARTBEAT,
                c.V1_DISCONNECT: WorkerCommand.DISCONNECT}
_V2_COMMANDS = {c.V2_REQUEST: WorkerCommand.REQUEST, c.V2_HEARTBEAT: WorkerCommand.HEARTBEAT,
                c.V2_DISCONNECT: WorkerCommand.DISCONNECT}


def parse_worker_message(frames: Sequence[bytes], dialect: Dialect = Dialect.V2) -> WorkerMessage:
    """Parse a broker-to-worker message received on a DEALER socket.

    Raises:
        ProtocolError: naming what is wrong with the frames.
    """
    f = _without_envelope(frames, "worker")
    expected = _header(dialect)
    if f[0] != expected:
        raise ProtocolError(f"expected header {expected!r}, got {f[0][:16]!r}")
    table = _V1_COMMANDS if dialect is Dialect.V1 else _V2_COMMANDS
    command = table.get(f[1])
    if command is None:
        raise ProtocolError(f"unknown or unexpected worker command {f[1][:8]!r}")
    if command is WorkerCommand.REQUEST:
        if len(f) < 5 or f[3] != b"":
            raise ProtocolError("REQUEST must carry a client address, an empty delimiter and a body")
        return WorkerMessage(command, client=f[2], body=f[4:])
    return WorkerMessage(command)
