"""Serving a :class:`~pyros.service.Service` instance: request bodies in, reply bodies out.

The runtime knows nothing of sockets. The MDP worker layer creates it,
registers :meth:`ServiceRuntime.service_names` with the broker and, for each
REQUEST, calls from a thread pool::

    reply_body = runtime.handle(body, send_partial)

Processing of one request, in order:

1. decode the body (``BadRequest`` if it is not a request; the reply's ``id``
   is the request's when it can be read, else ``None``);
2. join the reply cache: a request id already answered gets the cached reply,
   one still running is waited for, the same id asking something else gets
   ``DuplicateId``;
3. map the token to an access level (``AccessDenied`` for an unknown token);
4. find the command (``UnknownCommand``), check the level (``AccessDenied``);
5. validate the arguments (``BadArgument``);
6. run it: a plain command in its own thread with its timeout
   (``CommandTimeout``), an operation as a new session, a built-in inline;
7. encode the result (``BadResult`` if msgpack cannot carry it).

A command that raises gets ``ok: false`` with the exception's class name as
``error.type`` (``CommandFailed`` for a bare ``Exception``) and ``str(exc)``
as message; a :class:`~pyros.service.Refusal` chooses its own type.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from pyros.errors import MessageError
from pyros.messages import MAX_BODY_BYTES, Request, decode_request, error_reply, ok_reply, request_id_of, unpack
from pyros.service.access import AccessPolicy
from pyros.service.base import Service
from pyros.service.builtin_commands import BUILTIN_NAMES, BuiltinCommands
from pyros.service.command import CommandSpec, collect_commands
from pyros.service.context import CallContext
from pyros.service.docstring import parse_docstring
from pyros.service.refusal import Refusal
from pyros.service.reply_cache import ReplyCache, request_fingerprint
from pyros.service.session_registry import SessionHook, SessionRegistry
from pyros.service.timed_call import CallNotStarted, CallTimedOut, TimedCall
from pyros.service.timesource import observatory_now

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
_INSTANCE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error_type(exc: BaseException) -> str:
    if isinstance(exc, Refusal):
        return exc.error_type
    if type(exc) is Exception:
        return "CommandFailed"
    return type(exc).__name__


def _error_message(exc: BaseException, cmd: str) -> str:
    if isinstance(exc, Refusal):
        return exc.message
    text = str(exc)
    return text if text else f"command '{cmd}' raised {type(exc).__name__}"


def default_instance_name() -> str:
    """Return ``<hostname>-<pid>``, the default instance name (dots of the hostname kept)."""
    host = re.sub(r"[^A-Za-z0-9_.\-]", "_", socket.gethostname()) or "host"
    return f"{host}-{os.getpid()}"


class ServiceRuntime:
    """Serves one service instance; thread-safe, transport-independent.

    Example::

        runtime = ServiceRuntime(Dome(), access=AccessPolicy({"s3cret": "operator"}))
        names = runtime.service_names()        # ["dome", "dome.<host>-<pid>"]
        reply = runtime.handle(body, send_partial)
        runtime.close()
    """

    def __init__(
        self,
        service: Service,
        *,
        instance: str | None = None,
        service_name: str | None = None,
        access: AccessPolicy | None = None,
        default_timeout: float = 30.0,
        reply_cache_ttl: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
        reply_cache_size: int = 10_000,
        keep_sessions: int = 100,
        on_session_change: SessionHook | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        """Prepare to serve ``service``.

        Args:
            service: The service instance.
            instance: Instance name (default ``<hostname>-<pid>``).
            service_name: Service name (default: the service's
                ``service_name``, else its lower-cased class name).
            access: Token-to-level policy (default: no tokens, level observer).
            default_timeout: Timeout of commands that declare none, seconds.
            reply_cache_ttl: Seconds a reply is kept for duplicate requests.
            monotonic: Clock of the reply cache's TTL.
            reply_cache_size: Most replies kept in the reply cache.
            keep_sessions: How many finished sessions are kept.
            on_session_change: Called as ``hook(op, session_dict)`` on every
                change of a session (K/V mirror under ``/op/<service>/<op>``).
                It runs in the thread making the change: it must be quick and
                must not raise (exceptions are logged and ignored).
            now: Observatory time (default ``pyros.clock``, else ``time.time``).

        Raises:
            TypeError: If ``service`` is not a :class:`Service` or one of its
                commands cannot be served.
            ValueError: If a name or a number is invalid.
        """
        if not isinstance(service, Service):
            raise TypeError(f"ServiceRuntime serves a pyros.service.Service, not {type(service).__name__}")
        name = service_name or getattr(service, "service_name", "") or type(service).__name__.lower()
        if not isinstance(name, str) or not _NAME.match(name) or name.startswith("mmi."):
            raise ValueError(f"invalid service name {name!r}: letters, digits, '_', '.', '-', not starting with 'mmi.'")
        inst = instance if instance is not None else default_instance_name()
        if not isinstance(inst, str) or not _INSTANCE.match(inst):
            raise ValueError(f"invalid instance name {inst!r}: letters, digits, '_', '.', '-'")
        if isinstance(default_timeout, bool) or not math.isfinite(default_timeout) or default_timeout <= 0:
            raise ValueError(f"default_timeout must be a positive number of seconds, got {default_timeout!r}")
        self._service = service
        self._name = name
        self._instance = inst
        self._access = access if access is not None else AccessPolicy()
        self._default_timeout = float(default_timeout)
        self._now = now if now is not None else observatory_now
        commands = collect_commands(type(service))
        clash = sorted(set(commands) & BUILTIN_NAMES)
        if clash:
            raise TypeError(
                f"{type(service).__name__}: command name(s) {', '.join(clash)} are reserved for built-in commands"
            )
        self._builtin_target = BuiltinCommands(self)
        self._commands: dict[str, CommandSpec] = {**collect_commands(BuiltinCommands, builtin=True), **commands}
        self._cache = ReplyCache(reply_cache_ttl, max_entries=reply_cache_size, monotonic=monotonic)
        self._sessions = SessionRegistry(
            service_name=name, instance=inst, now=self._now, keep_finished=keep_sessions, on_change=on_session_change
        )
        self._lifecycle = threading.Lock()
        self._started = False
        self._closed = False
        self._overrun_lock = threading.Lock()
        self._overrunning = 0

    # -- identity ---------------------------------------------------------

    @property
    def service(self) -> Service:
        """The served instance."""
        return self._service

    @property
    def service_name(self) -> str:
        """The service name."""
        return self._name

    @property
    def instance(self) -> str:
        """The instance name."""
        return self._instance

    @property
    def version(self) -> str:
        """The service's version string."""
        return str(getattr(self._service, "version", "0.0.0"))

    @property
    def access(self) -> AccessPolicy:
        """The access policy."""
        return self._access

    @property
    def sessions(self) -> SessionRegistry:
        """The sessions of this instance."""
        return self._sessions

    @property
    def overrunning_commands(self) -> int:
        """Commands that passed their timeout and are still running (threads cannot be killed)."""
        with self._overrun_lock:
            return self._overrunning

    def now(self) -> float:
        """Return the observatory time, UNIX seconds."""
        return float(self._now())

    def service_names(self) -> list[str]:
        """Return the names the worker registers: ``[service, "service.instance"]``."""
        return [self._name, f"{self._name}.{self._instance}"]

    def command_spec(self, name: str) -> CommandSpec | None:
        """Return the specification of a command (built-ins included), or ``None``."""
        return self._commands.get(name)

    def describe(self) -> dict[str, Any]:
        """Return what the ``describe`` command answers."""
        service_doc = type(self._service).__dict__.get("__doc__") or ""
        return {
            "service": self._name,
            "instance": self._instance,
            "version": self.version,
            "doc": parse_docstring(service_doc).description,
            "commands": {name: spec.describe(self._default_timeout) for name, spec in sorted(self._commands.items())},
        }

    # -- lifecycle --------------------------------------------------------

    def start(self) -> None:
        """Call the service's ``on_start`` hook once (also done by the first request).

        Raises:
            RuntimeError: If the runtime is closed.
            Exception: Whatever ``on_start`` raised (it will be tried again).
        """
        with self._lifecycle:
            if self._closed:
                raise RuntimeError("the runtime is closed")
            if not self._started:
                self._service.on_start()
                self._started = True

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving: refuse new requests, abort sessions, wait briefly, call ``on_stop``.

        Running sessions are asked to stop and waited for up to ``timeout``
        seconds; then clients blocked in ``wait`` are released with the
        current state. Idempotent.

        Args:
            timeout: Longest wait for the operations to end, seconds.
        """
        with self._lifecycle:
            if self._closed:
                return
            self._closed = True
            started = self._started
        self._sessions.stop_all()
        if not self._sessions.join(timeout):
            logger.warning("service %s.%s: operations still running after close", self._name, self._instance)
        self._sessions.close()
        if started:
            try:
                self._service.on_stop()
            except Exception:  # noqa: BLE001 - closing goes on
                logger.exception("service %s.%s: on_stop failed", self._name, self._instance)

    def __enter__(self) -> ServiceRuntime:
        """Start the runtime (see :meth:`start`)."""
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the runtime (see :meth:`close`)."""
        self.close()

    # -- requests ---------------------------------------------------------

    def handle(self, body: bytes, send_partial: Callable[[bytes], None] | None = None) -> bytes:
        """Serve one request body and return the reply body; never raises.

        Thread-safe; blocks until the command finishes or times out.

        Args:
            body: The msgpack request body (untrusted).
            send_partial: Sends a PARTIAL body to the requester; may be
                called any number of times before this returns.

        Returns:
            The msgpack reply body.
        """
        try:
            return self._handle(body, send_partial)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            logger.exception("service %s: internal error while handling a request", self._name)
            rid = request_id_of(body) if isinstance(body, (bytes, bytearray, memoryview)) else None
            return error_reply(rid, "InternalError", f"internal error in service '{self._name}': {exc}")

    def _handle(self, body: bytes, send_partial: Callable[[bytes], None] | None) -> bytes:
        if not isinstance(body, (bytes, bytearray, memoryview)):
            return error_reply(None, "BadRequest", f"request body must be bytes, got {type(body).__name__}")
        data = bytes(body)
        try:
            request = decode_request(data)
        except MessageError as exc:
            return error_reply(request_id_of(data), "BadRequest", str(exc))
        if self._closed:
            return error_reply(request.id, "ShuttingDown", f"instance '{self._instance}' is shutting down")
        if not self._started:
            try:
                self.start()
            except Exception as exc:  # noqa: BLE001 - reported to the caller
                logger.exception("service %s: on_start failed", self._name)
                return error_reply(request.id, "StartFailed", f"service '{self._name}' could not start: {exc}")
        fingerprint = request_fingerprint(request.cmd, request.args, request.token)
        entry, owner = self._cache.claim(request.id, fingerprint)
        if not owner:
            if entry.fingerprint != fingerprint:
                return error_reply(
                    request.id,
                    "DuplicateId",
                    f"request id '{_short(request.id)}' was already used for a different request",
                )
            return entry.wait()
        reply = error_reply(request.id, "InternalError", f"internal error in service '{self._name}'")
        try:
            reply = self._execute(request, send_partial)
        finally:
            self._cache.complete(request.id, entry, reply)
        return reply

    def _execute(self, request: Request, send_partial: Callable[[bytes], None] | None) -> bytes:
        name = request.cmd
        try:
            level = self._access.level_for(request.token)
            spec = self._commands.get(request.cmd)
            if spec is None:
                raise Refusal(
                    "UnknownCommand",
                    f"service '{self._name}' has no command '{_short(request.cmd)}'; "
                    f"available: {', '.join(sorted(self._commands))}",
                )
            name = spec.name
            self._access.require(level, spec.level, f"command '{name}'")
            kwargs = spec.bind(request.args)
            context = CallContext(request_id=request.id, command=spec.name, level=level, send_partial=send_partial,
                                  principal=self._access.principal_for(request.token))
            if not spec.builtin:
                self._service.authorize(spec, context)
            if spec.long:
                result = self._sessions.start(spec, self._service, kwargs, request.args, context)
            elif spec.builtin:
                result = spec.invoke(self._builtin_target, kwargs, context=context)
            else:
                result = self._run_command(spec, kwargs, context)
        except Refusal as exc:
            return error_reply(request.id, exc.error_type, exc.message)
        except Exception as exc:  # noqa: BLE001 - the command's failure is the reply
            logger.warning("service %s: command %r (id %s) failed", self._name, name, request.id, exc_info=True)
            return error_reply(request.id, _error_type(exc), _error_message(exc, name))
        return self._ok(request.id, name, result)

    def _run_command(self, spec: CommandSpec, kwargs: dict[str, Any], context: CallContext) -> Any:
        timeout = spec.timeout if spec.timeout is not None else self._default_timeout
        call = TimedCall(
            lambda: spec.invoke(self._service, kwargs, context=context),
            f"{self._name}.{spec.name}[{_short(context.request_id, 40)}]",
            on_give_up=self._overrun_started,
            on_late=self._overrun_ended,
        )
        try:
            return call.run(timeout)
        except CallTimedOut:
            raise Refusal("CommandTimeout", f"command '{spec.name}' did not finish within {timeout:g} s") from None
        except CallNotStarted as exc:
            raise Refusal("CommandFailed", f"command '{spec.name}' could not start: {exc}") from None

    def _overrun_started(self) -> None:
        with self._overrun_lock:
            self._overrunning += 1

    def _overrun_ended(self) -> None:
        with self._overrun_lock:
            self._overrunning -= 1

    def _ok(self, rid: str, cmd: str, result: Any) -> bytes:
        try:
            body = ok_reply(rid, result)
            if len(body) > MAX_BODY_BYTES:
                raise ValueError(f"the reply would be {len(body)} bytes, over the {MAX_BODY_BYTES}-byte limit")
            unpack(body)  # what the client will do: catches non-string map keys too
        except (TypeError, ValueError, OverflowError, MessageError) as exc:
            logger.warning("service %s: command %r returned an unserialisable result: %s", self._name, cmd, exc)
            return error_reply(rid, "BadResult", f"the result of command '{cmd}' cannot be sent with msgpack: {exc}")
        return body
