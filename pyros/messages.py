"""Message bodies exchanged between clients and services (msgpack, one frame).

The forms are those of ARCHITECTURE.md section 2::

    request : {"id": str, "cmd": str, "args": {name: value}, "token"?: str}
    reply   : {"id": str, "ok": bool, "data": any, "error"?: {"type": str, "message": str}}
    partial : {"id": str, "progress": {...}}

Every decoder checks the shape of what it is given and raises
:class:`~pyros.errors.MessageError` naming what is wrong; nothing received
from a peer is trusted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import msgpack

from pyros.errors import MessageError

MAX_BODY_BYTES = 64 * 1024 * 1024
"""Largest body the decoders accept."""


def new_id() -> str:
    """Return a fresh request identifier (32 hexadecimal characters)."""
    return uuid.uuid4().hex


def pack(obj: Any) -> bytes:
    """Serialise ``obj`` with msgpack (binary and text kept apart)."""
    data: bytes = msgpack.packb(obj, use_bin_type=True)
    return data


def unpack(data: bytes) -> Any:
    """Deserialise one msgpack object, raising :class:`MessageError` on garbage."""
    if len(data) > MAX_BODY_BYTES:
        raise MessageError(f"body of {len(data)} bytes exceeds the {MAX_BODY_BYTES}-byte limit")
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True)
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise MessageError(f"body is not valid msgpack: {exc}") from None


@dataclass(frozen=True)
class Request:
    """A decoded request body."""

    id: str
    cmd: str
    args: dict[str, Any] = field(default_factory=dict)
    token: str | None = None

    def encode(self) -> bytes:
        """Return the msgpack body of this request."""
        body: dict[str, Any] = {"id": self.id, "cmd": self.cmd, "args": self.args}
        if self.token is not None:
            body["token"] = self.token
        return pack(body)


@dataclass(frozen=True)
class ErrorInfo:
    """The ``error`` member of a failed reply."""

    type: str
    message: str


@dataclass(frozen=True)
class Reply:
    """A decoded final reply body."""

    id: str | None
    ok: bool
    data: Any = None
    error: ErrorInfo | None = None

    def encode(self) -> bytes:
        """Return the msgpack body of this reply."""
        body: dict[str, Any] = {"id": self.id, "ok": self.ok, "data": self.data}
        if self.error is not None:
            body["error"] = {"type": self.error.type, "message": self.error.message}
        return pack(body)


@dataclass(frozen=True)
class Partial:
    """A decoded PARTIAL (progress) body."""

    id: str
    progress: dict[str, Any]

    def encode(self) -> bytes:
        """Return the msgpack body of this progress report."""
        return pack({"id": self.id, "progress": self.progress})


def _map(body: bytes, what: str) -> dict[str, Any]:
    obj = unpack(body)
    if not isinstance(obj, dict):
        raise MessageError(f"{what} must be a map, got {type(obj).__name__}")
    return obj


def decode_request(body: bytes) -> Request:
    """Decode and check a request body.

    Raises:
        MessageError: naming the first member that is missing or of the wrong type.
    """
    obj = _map(body, "request")
    rid = obj.get("id")
    if not isinstance(rid, str) or not rid:
        raise MessageError("request 'id' must be a non-empty string")
    cmd = obj.get("cmd")
    if not isinstance(cmd, str) or not cmd:
        raise MessageError("request 'cmd' must be a non-empty string")
    args = obj.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise MessageError(f"request 'args' must be a map, got {type(args).__name__}")
    token = obj.get("token")
    if token is not None and not isinstance(token, str):
        raise MessageError("request 'token' must be a string")
    unknown = set(obj) - {"id", "cmd", "args", "token"}
    if unknown:
        raise MessageError(f"request has unknown member(s): {', '.join(sorted(unknown))}")
    return Request(id=rid, cmd=cmd, args=args, token=token)


def request_id_of(body: bytes) -> str | None:
    """Return the ``id`` of a body if it can be read, else ``None`` (never raises)."""
    try:
        obj = unpack(body)
    except MessageError:
        return None
    rid = obj.get("id") if isinstance(obj, dict) else None
    return rid if isinstance(rid, str) else None


def decode_reply(body: bytes) -> Reply | Partial:
    """Decode a final reply or a progress report.

    Raises:
        MessageError: when the body is neither.
    """
    obj = _map(body, "reply")
    rid = obj.get("id")
    if rid is not None and not isinstance(rid, str):
        raise MessageError("reply 'id' must be a string or nil")
    if "progress" in obj and "ok" not in obj:
        progress = obj["progress"]
        if not isinstance(rid, str):
            raise MessageError("partial 'id' must be a string")
        if not isinstance(progress, dict):
            raise MessageError("partial 'progress' must be a map")
        return Partial(id=rid, progress=progress)
    ok = obj.get("ok")
    if not isinstance(ok, bool):
        raise MessageError("reply 'ok' must be a boolean")
    error = None
    err = obj.get("error")
    if err is not None:
        if not (isinstance(err, dict) and isinstance(err.get("type"), str) and isinstance(err.get("message"), str)):
            raise MessageError("reply 'error' must be a map with string 'type' and 'message'")
        error = ErrorInfo(err["type"], err["message"])
    if not ok and error is None:
        raise MessageError("failed reply carries no 'error'")
    return Reply(id=rid, ok=ok, data=obj.get("data"), error=error)


def error_reply(rid: str | None, type: str, message: str, data: Any = None) -> bytes:  # noqa: A002
    """Return the body of a failed reply."""
    return Reply(id=rid, ok=False, data=data, error=ErrorInfo(type, message)).encode()


def ok_reply(rid: str | None, data: Any = None) -> bytes:
    """Return the body of a successful reply."""
    return Reply(id=rid, ok=True, data=data).encode()
