"""Asynchronous client: many requests in flight on one socket, matched by ``id``.

One DEALER socket is shared by every call; a single reader task receives what
the broker sends and resolves the future of the request whose ``id`` the reply
carries (MMI answers, which carry no id, are matched by service name in order).
A request that gets no reply within ``timeout`` is sent again with the same
``id`` — the service answers a duplicate from its reply cache — up to
``retries`` times, then fails with :class:`~pyros.errors.RequestTimeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Mapping

import zmq
import zmq.asyncio

from pyros.client import (DEFAULT_ENDPOINT, DEFAULT_RETRIES, DEFAULT_TIMEOUT, MmiReply, ProgressCallback,
                          build_request, check_retry_options, parse_mmi, reply_outcome)
from pyros.errors import MessageError, ProtocolError, RequestTimeout
from pyros.mdp.codec import ClientMessage, Dialect, client_request, parse_client_message
from pyros.messages import Partial, Reply, Request, decode_reply

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    frames: list[bytes]
    future: asyncio.Future[Any]
    progress: ProgressCallback | None = None
    activity: asyncio.Event = field(default_factory=asyncio.Event)


class AsyncClient:
    """An asyncio MDP client.

    Args:
        endpoint: Broker endpoint.
        timeout: Seconds per attempt.
        retries: Resends after a timeout.
        token: Access token sent with every request.
        dialect: ``Dialect.V2`` (default) or ``Dialect.V1`` (no progress).
        context: An asyncio ZeroMQ context (the process-wide one by default).
    """

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT, *, timeout: float = DEFAULT_TIMEOUT,
                 retries: int = DEFAULT_RETRIES, token: str | None = None, dialect: Dialect = Dialect.V2,
                 context: zmq.asyncio.Context | None = None) -> None:
        check_retry_options(timeout, retries)
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = retries
        self.token = token
        self.dialect = dialect
        self._context = context or zmq.asyncio.Context.instance()
        self._socket: zmq.asyncio.Socket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, _Pending] = {}
        self._mmi: dict[str, deque[_Pending]] = {}
        self.ignored = 0
        """Replies received that matched no pending request (late duplicates, garbage)."""

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _ensure_open(self) -> zmq.asyncio.Socket:
        if self._socket is None:
            sock = self._context.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(self.endpoint)
            self._socket = sock
            self._reader = asyncio.get_running_loop().create_task(self._read_loop())
        return self._socket

    async def close(self) -> None:
        """Stop the reader, fail pending calls and close the socket."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None
        for pending in [*self._pending.values(), *(p for q in self._mmi.values() for p in q)]:
            if not pending.future.done():
                pending.future.set_exception(RequestTimeout("client closed"))
        self._pending.clear()
        self._mmi.clear()

    @property
    def in_flight(self) -> int:
        """Number of requests awaiting their final reply."""
        return len(self._pending) + sum(len(q) for q in self._mmi.values())

    async def call(self, service: str, cmd: str, args: Mapping[str, Any] | None = None, *,
                   timeout: float | None = None, retries: int | None = None, token: str | None = None,
                   progress: ProgressCallback | None = None, request_id: str | None = None, **kwargs: Any) -> Any:
        """Run a command and return its reply data (same errors as :meth:`pyros.client.Client.call`)."""
        request = build_request(cmd, args, kwargs, token if token is not None else self.token, request_id)
        reply = await self.request(service, request, timeout=timeout, retries=retries, progress=progress)
        return reply_outcome(reply)

    async def request(self, service: str, request: Request, *, timeout: float | None = None,
                      retries: int | None = None, progress: ProgressCallback | None = None) -> Reply:
        """Send a request and return its final reply (errors not raised)."""
        if request.id in self._pending:
            raise ValueError(f"request id {request.id!r} is already in flight")
        sock = self._ensure_open()
        frames = client_request(service, [request.encode()], self.dialect)
        pending = _Pending(frames, asyncio.get_running_loop().create_future(), progress)
        self._pending[request.id] = pending
        try:
            reply: Reply = await self._attempts(sock, pending, service, timeout, retries)
            return reply
        finally:
            self._pending.pop(request.id, None)

    async def mmi(self, name: str, body: bytes = b"", *, timeout: float | None = None,
                  retries: int | None = None) -> MmiReply:
        """Ask the broker's management interface."""
        if not name.startswith("mmi."):
            raise ValueError("MMI service names start with 'mmi.'")
        sock = self._ensure_open()
        pending = _Pending(client_request(name, [body], self.dialect), asyncio.get_running_loop().create_future())
        queue = self._mmi.setdefault(name, deque())
        queue.append(pending)
        try:
            message = await self._attempts(sock, pending, name, timeout, retries)
        finally:
            with contextlib.suppress(ValueError):
                queue.remove(pending)
        return parse_mmi(message)

    async def _attempts(self, sock: zmq.asyncio.Socket, pending: _Pending, service: str,
                        timeout: float | None, retries: int | None) -> Any:
        per_try = self.timeout if timeout is None else timeout
        tries = 1 + (self.retries if retries is None else retries)
        for _ in range(tries):
            await sock.send_multipart(pending.frames)
            while True:
                pending.activity.clear()
                waiter = asyncio.ensure_future(pending.activity.wait())
                done, _ = await asyncio.wait({pending.future, waiter}, timeout=per_try,
                                             return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if pending.future in done:
                    return pending.future.result()
                if waiter not in done:
                    break  # silence for a whole attempt: resend
        raise RequestTimeout(f"no reply from {service!r} after {tries} attempt(s) of {per_try:g} s")

    async def _read_loop(self) -> None:
        sock = self._socket
        if sock is None:
            return
        while True:
            frames = await sock.recv_multipart()
            try:
                self._deliver(parse_client_message(frames))
            except (ProtocolError, MessageError, IndexError):
                self.ignored += 1

    def _deliver(self, message: ClientMessage) -> None:
        name = message.service.decode(errors="replace")
        if name.startswith("mmi."):
            queue = self._mmi.get(name)
            if queue and message.final:
                pending = queue.popleft()
                if not pending.future.done():
                    pending.future.set_result(message)
                return
            self.ignored += 1
            return
        decoded = decode_reply(message.body[0])
        waiting = self._pending.get(decoded.id or "")
        if waiting is None or waiting.future.done():
            self.ignored += 1
            return
        if isinstance(decoded, Partial):
            waiting.activity.set()
            if waiting.progress is not None:
                try:
                    waiting.progress(decoded.progress)
                except Exception:  # a faulty callback must not stop the reader
                    log.exception("progress callback failed")
            return
        waiting.future.set_result(decoded)
