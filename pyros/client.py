"""Synchronous client API: ``Client(endpoint).call(service, cmd, **args)``.

The client speaks 18/MDP (``MDPC02``) by default so that long commands can
stream PARTIAL progress; ``dialect=Dialect.V1`` speaks 7/MDP. Recovery follows
the Lazy Pirate pattern: when no reply arrives within ``timeout`` the socket is
closed, a fresh one is opened and the same request — same ``id`` — is sent
again, up to ``retries`` times. A PARTIAL progress report restarts the timer.

Outcomes are kept apart: :class:`~pyros.errors.TransportError` subclasses mean
the request did not complete; :class:`~pyros.errors.CommandError` means the
service ran the command (or refused it) and reported a failure.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import zmq

from pyros.errors import BROKER_ERRORS, CommandError, MessageError, ProtocolError, RequestTimeout
from pyros.mdp import constants as c
from pyros.mdp.codec import ClientMessage, Dialect, client_request, parse_client_message
from pyros.messages import ErrorInfo, Partial, Reply, Request, decode_reply, new_id, unpack

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5555"
DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 2

ProgressCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class MmiReply:
    """Answer of the broker to an ``mmi.*`` request.

    Attributes:
        status: ``"200"``, ``"404"`` or ``"501"``.
        data: The decoded msgpack frame that follows the status, if any.
    """

    status: str
    data: Any = None


def check_retry_options(timeout: float, retries: int) -> None:
    """Validate the per-attempt timeout and retry count of a client.

    Raises:
        ValueError: naming the bad option.
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries!r}")


def build_request(cmd: str, args: Mapping[str, Any] | None, kwargs: Mapping[str, Any], token: str | None,
                  request_id: str | None) -> Request:
    """Make the request of a call: ``args`` merged with keyword arguments, a fresh id unless one is given."""
    merged = dict(args or {})
    merged.update(kwargs)
    return Request(id=request_id or new_id(), cmd=cmd, args=merged, token=token)


def reply_outcome(reply: Reply) -> Any:
    """Return a reply's data or raise the exception its error stands for.

    Raises:
        ServiceUnavailable, RetryExhausted: errors made by the broker.
        CommandError: errors reported by the service.
    """
    if reply.ok:
        return reply.data
    error = reply.error or ErrorInfo("CommandFailed", "failed reply without an error")
    broker_error = BROKER_ERRORS.get(error.type)
    if broker_error is not None:
        raise broker_error(error.message)
    raise CommandError(error.type, error.message, reply.data)


def parse_mmi(message: ClientMessage) -> MmiReply:
    """Decode an MMI answer: a status frame, optionally followed by one msgpack frame."""
    status = message.body[0].decode("ascii", errors="replace")
    data = None
    if len(message.body) > 1:
        try:
            data = unpack(message.body[1])
        except MessageError as exc:
            raise ProtocolError(f"bad MMI payload: {exc}") from None
    return MmiReply(status, data)


class Client:
    """A blocking MDP client with Lazy Pirate retries.

    A client owns one socket and is not thread-safe: give each thread its own
    (they are cheap), or use :class:`pyros.aio_client.AsyncClient` for many
    concurrent requests.

    Args:
        endpoint: Broker endpoint, e.g. ``tcp://127.0.0.1:5555``.
        timeout: Seconds to wait for a reply before each retry.
        retries: How many times a request is resent after a timeout.
        token: Access token sent with every request (see ARCHITECTURE.md §3).
        dialect: ``Dialect.V2`` (default, receives progress) or ``Dialect.V1``.
        context: ZeroMQ context (the process-wide instance by default).
    """

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT, *, timeout: float = DEFAULT_TIMEOUT,
                 retries: int = DEFAULT_RETRIES, token: str | None = None, dialect: Dialect = Dialect.V2,
                 context: zmq.Context[zmq.Socket[bytes]] | None = None) -> None:
        check_retry_options(timeout, retries)
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = retries
        self.token = token
        self.dialect = dialect
        self._context = context or zmq.Context.instance()
        self._socket: zmq.Socket[bytes] | None = None

    # -------------------------------------------------------------- lifecycle

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the socket; the client may be used again afterwards."""
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def _fresh_socket(self) -> zmq.Socket[bytes]:
        self.close()
        sock: zmq.Socket[bytes] = self._context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.endpoint)
        self._socket = sock
        return sock

    # ------------------------------------------------------------------- calls

    def call(self, service: str, cmd: str, args: Mapping[str, Any] | None = None, *,
             timeout: float | None = None, retries: int | None = None, token: str | None = None,
             progress: ProgressCallback | None = None, request_id: str | None = None, **kwargs: Any) -> Any:
        """Run a command of a service and return the data of its reply.

        Command arguments whose names clash with this method's own parameters
        (``service``, ``cmd``, ``args``, ``timeout``, ``retries``, ``token``,
        ``progress``, ``request_id``) must go in ``args``:
        ``client.call("supervisor.node1", "stop", {"service": "echo"})``.

        Args:
            service: Service name (or ``<service>.<instance>``).
            cmd: Command name.
            args: Command arguments; keyword arguments are merged into them.
            timeout: Seconds per attempt (default: the client's).
            retries: Resends after a timeout (default: the client's).
            token: Access token for this call (default: the client's).
            progress: Called with each PARTIAL progress map.
            request_id: Reuse this request id (default: a fresh one).

        Raises:
            ServiceUnavailable: no worker served the service in time.
            RetryExhausted: workers kept dying while holding the request.
            RequestTimeout: no reply after every retry.
            ProtocolError: the broker answered with frames that make no sense.
            CommandError: the service reported a failure.
        """
        request = build_request(cmd, args, kwargs, token if token is not None else self.token, request_id)
        reply = self.request(service, request, timeout=timeout, retries=retries, progress=progress)
        return reply_outcome(reply)

    def request(self, service: str, request: Request, *, timeout: float | None = None, retries: int | None = None,
                progress: ProgressCallback | None = None) -> Reply:
        """Send a request and return its final :class:`~pyros.messages.Reply` (errors not raised)."""
        frames = client_request(service, [request.encode()], self.dialect)
        final: list[Reply] = []

        def classify(message: ClientMessage) -> bool:
            try:
                decoded = decode_reply(message.body[0])
            except MessageError as exc:
                raise ProtocolError(f"undecodable reply from {service!r}: {exc}") from None
            if decoded.id is not None and decoded.id != request.id:
                return False  # a late reply to an earlier request: ignore it
            if isinstance(decoded, Partial):
                if progress is not None:
                    progress(decoded.progress)
                return False
            if not message.final:
                raise ProtocolError("final reply body sent as PARTIAL")
            final.append(decoded)
            return True

        self._exchange(frames, service, timeout, retries, classify)
        return final[0]

    def raw(self, service: str, body: list[bytes], *, timeout: float | None = None,
            retries: int | None = None) -> list[bytes]:
        """Send raw body frames to ``service`` and return the body frames of its final reply.

        For services that do not speak PyROS msgpack bodies (8/MMI, 9/TSP). With
        no request id to match, a reply is taken as the answer when it names the
        same service; a fresh socket per retry keeps earlier replies away.
        """
        frames = client_request(service, body, self.dialect)
        result: list[ClientMessage] = []

        def classify(message: ClientMessage) -> bool:
            if message.service.decode(errors="replace") != service or not message.final:
                return False
            result.append(message)
            return True

        self._exchange(frames, service, timeout, retries, classify)
        return result[0].body

    def mmi(self, name: str, body: bytes = b"", *, timeout: float | None = None,
            retries: int | None = None) -> MmiReply:
        """Ask the broker's management interface (8/MMI), e.g. ``mmi("mmi.service", b"dome")``."""
        if not name.startswith(c.MMI_PREFIX.decode()):
            raise ValueError("MMI service names start with 'mmi.'")
        frames = self.raw(name, [body], timeout=timeout, retries=retries)
        return parse_mmi(ClientMessage(service=name.encode(), body=frames, final=True))

    def service_exists(self, service: str, **kw: Any) -> bool:
        """True iff the broker has at least one live worker for ``service``."""
        return self.mmi("mmi.service", service.encode(), **kw).status == "200"

    def services(self, **kw: Any) -> list[str]:
        """Names of the services that have live workers."""
        return list(self.mmi("mmi.services", **kw).data or [])

    def workers(self, **kw: Any) -> dict[str, dict[str, int]]:
        """Per service: workers, busy, waiting, queued."""
        return dict(self.mmi("mmi.workers", **kw).data or {})

    def _exchange(self, frames: list[bytes], service: str, timeout: float | None, retries: int | None,
                  done: Callable[[ClientMessage], bool]) -> None:
        per_try = self.timeout if timeout is None else timeout
        tries = 1 + (self.retries if retries is None else retries)
        sock = self._socket or self._fresh_socket()
        for attempt in range(tries):
            if attempt:
                sock = self._fresh_socket()
            sock.send_multipart(frames)
            deadline = time.monotonic() + per_try
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sock.poll(math.ceil(remaining * 1000.0), zmq.POLLIN):
                    break
                try:
                    message = parse_client_message(sock.recv_multipart())
                except ProtocolError:
                    continue
                if done(message):
                    return
                if not message.final:
                    deadline = time.monotonic() + per_try  # progress proves the service is alive
        self.close()
        raise RequestTimeout(f"no reply from {service!r} after {tries} attempt(s) of {per_try:g} s")
