"""Client side of Titanic (9/TSP): submit a request durably, collect its reply later."""

from __future__ import annotations

import time
from typing import Any, Mapping

from pyros.client import Client, reply_outcome
from pyros.errors import MessageError, ProtocolError, PyrosError, RequestTimeout
from pyros.messages import Reply, Request, decode_reply, new_id


class TitanicError(PyrosError):
    """Titanic answered 400 (unknown or closed UUID, malformed request) or 500 (storage failure).

    Attributes:
        status: ``"400"`` or ``"500"``.
    """

    def __init__(self, status: str, message: str) -> None:
        super().__init__(f"titanic {status}: {message}")
        self.status = status


def _status(frames: list[bytes]) -> str:
    """The three-digit status of a 9/TSP answer (text after it is not significant)."""
    if not frames or len(frames[0]) < 3 or not frames[0][:3].isdigit():
        raise ProtocolError("a 9/TSP answer starts with a three-digit status frame")
    return frames[0][:3].decode()


class TitanicClient:
    """Submit requests through Titanic and collect their replies.

    Args:
        client: A connected :class:`~pyros.client.Client`.
    """

    def __init__(self, client: Client) -> None:
        self.client = client

    def submit_raw(self, service: str, body: list[bytes]) -> str:
        """Store ``body`` for ``service``; return the request's UUID once it is on disk."""
        answer = self.client.raw("titanic.request", [service.encode(), *body])
        status = _status(answer)
        if status != "200" or len(answer) < 2:
            raise TitanicError(status, b" ".join(answer[1:]).decode(errors="replace"))
        return answer[1].decode("ascii")

    def submit(self, service: str, cmd: str, args: Mapping[str, Any] | None = None, *,
               token: str | None = None) -> str:
        """Store a PyROS command for ``service``; its request id becomes the returned UUID."""
        body = Request(id=new_id(), cmd=cmd, args=dict(args or {}), token=token or self.client.token).encode()
        return self.submit_raw(service, [body])

    def reply_frames(self, uid: str) -> list[bytes] | None:
        """The stored reply frames, or None while the request is pending."""
        answer = self.client.raw("titanic.reply", [uid.encode()])
        status = _status(answer)
        if status == "200":
            return answer[1:]
        if status == "300":
            return None
        raise TitanicError(status, b" ".join(answer[1:]).decode(errors="replace"))

    def reply(self, uid: str) -> Reply | None:
        """The stored PyROS reply, or None while pending."""
        frames = self.reply_frames(uid)
        if frames is None:
            return None
        try:
            decoded = decode_reply(frames[0])
        except (MessageError, IndexError) as exc:
            raise ProtocolError(f"stored reply of {uid} is not a PyROS reply: {exc}") from None
        if not isinstance(decoded, Reply):
            raise ProtocolError(f"stored reply of {uid} is a progress report")
        return decoded

    def close(self, uid: str) -> None:
        """Tell Titanic the reply was collected (idempotent)."""
        answer = self.client.raw("titanic.close", [uid.encode()])
        status = _status(answer)
        if status != "200":
            raise TitanicError(status, b" ".join(answer[1:]).decode(errors="replace"))

    def call(self, service: str, cmd: str, args: Mapping[str, Any] | None = None, *, timeout: float = 60.0,
             poll_interval: float = 0.05) -> Any:
        """Submit, wait for the reply (polling), close, and return its data (errors raised as by ``Client.call``).

        Raises:
            RequestTimeout: when no reply is stored within ``timeout`` (the request stays
                stored: collect it later with :meth:`reply`).
        """
        uid = self.submit(service, cmd, args)
        deadline = time.monotonic() + timeout
        while True:
            reply = self.reply(uid)
            if reply is not None:
                self.close(uid)
                return reply_outcome(reply)
            if time.monotonic() >= deadline:
                raise RequestTimeout(f"titanic request {uid} to {service!r} has no reply after {timeout:g} s")
            time.sleep(poll_interval)
