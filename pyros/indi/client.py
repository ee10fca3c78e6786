"""Threaded TCP client of an INDI server.

:class:`IndiClient` opens one TCP connection (with a timeout), asks for every
property (``getProperties``), and runs a reader thread that feeds the bounded
parser (:class:`~pyros.indi.parser.IndiParser`) and applies what it decodes to
a :class:`~pyros.indi.cache.PropertyCache`. Callers read snapshots from the
cache, send commands, and wait for the properties to reach a condition::

    with IndiClient("127.0.0.1", 7624) as indi:
        indi.connect_device("Telescope Simulator")
        mark = indi.set_number("Telescope Simulator", "EQUATORIAL_EOD_COORD", {"RA": 5.5, "DEC": 22.0})
        vector = indi.wait_state("Telescope Simulator", "EQUATORIAL_EOD_COORD", PropertyState.OK,
                                 timeout=60, after=mark)

Threads: the reader thread applies messages, evaluates the predicates of
waiting callers against every new version of their property (so a short-lived
state such as Busy is not missed), then calls the listeners in the order the
messages arrived. Listeners and predicates run in the reader thread: they
must be quick and must not wait for the client. An exception in a listener is
logged and does not stop the client; an exception in a predicate is raised in
the caller of :meth:`IndiClient.wait_for`.

Failure: end of stream (the server died or closed), a socket error, a parser
error (malformed or hostile input, a safety limit) or a send that failed or
timed out all end the connection. Waiting callers get
:class:`~pyros.indi.errors.IndiConnectionError` at once, disconnect listeners
are called with the reason, and :attr:`IndiClient.disconnect_reason` keeps
it. :meth:`IndiClient.connect` may then be called again (the cache starts
empty; listeners stay registered).
"""

from __future__ import annotations

import collections
import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pyros.indi.builders import enable_blob, get_properties, new_number_vector, new_switch_vector, new_text_vector, \
    ping_reply
from pyros.indi.cache import Change, PropertyCache, PropertyEvent
from pyros.indi.errors import (IndiConnectionError, IndiError, IndiPropertyAlert, IndiStreamError, IndiTimeout,
                               IndiUnknownProperty)
from pyros.indi.limits import ParserLimits
from pyros.indi.members import NumberMember
from pyros.indi.messages import DefVector, DelProperty, DeviceMessage, IndiElement, InvalidElement, PingRequest, \
    SetVector
from pyros.indi.parser import IndiParser
from pyros.indi.vector import PropertyVector
from pyros.indi.vocabulary import BlobMode, Permission, PropertyState, SwitchRule, VectorKind

__all__ = ["DEFAULT_PORT", "DisconnectListener", "IndiClient", "MessageListener", "PropertyListener"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 7624
"""The INDI server's registered TCP port."""
RECV_BYTES = 256 * 1024
"""Most bytes read from the socket at once."""
KEEPALIVE_IDLE = 30
"""Seconds of silence before TCP keepalive probes start (detects a vanished host)."""
KEEPALIVE_INTERVAL = 10
"""Seconds between keepalive probes."""
KEEPALIVE_PROBES = 3
"""Unanswered probes after which the kernel drops the connection."""

PropertyListener = Callable[[PropertyEvent], None]
"""Called with each definition, update or deletion of a property."""
MessageListener = Callable[[DeviceMessage], None]
"""Called with each device message (``message`` elements and messages attached to vectors)."""
DisconnectListener = Callable[[IndiError | None], None]
"""Called once when a connection ends: with the reason, or None after :meth:`IndiClient.close`."""
Predicate = Callable[[PropertyVector], bool]
"""A condition on a property vector, for :meth:`IndiClient.wait_for`."""


@dataclass
class _Connection:
    """One TCP connection and what belongs to it alone."""

    sock: socket.socket
    parser: IndiParser
    reader: threading.Thread | None = None
    closing: bool = False
    failure: IndiError | None = None


@dataclass(eq=False)
class _Waiter:
    """A caller blocked in :meth:`IndiClient.wait_for`."""

    device: str
    name: str
    predicate: Predicate | None
    after: int
    done: threading.Event = field(default_factory=threading.Event)
    result: PropertyVector | None = None
    error: BaseException | None = None
    disconnected: bool = False


def _check_seconds(what: str, value: object) -> float:
    """A positive finite number of seconds, or a clear error naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds, not {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a positive finite number of seconds, got {value}")
    return float(value)


class IndiClient:
    """Client of one INDI server over TCP.

    Args:
        host: Server host name or address.
        port: Server TCP port.
        connect_timeout: Seconds allowed to establish the TCP connection.
        send_timeout: Seconds a send may block (the server not reading)
            before the connection is declared dead.
        limits: Parser safety limits (defaults of :class:`ParserLimits` if None).
        message_history: How many device messages :meth:`messages` keeps.
        keepalive: Whether to enable TCP keepalive, so that a server host that
            vanished without closing the connection is detected in about
            ``KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_PROBES`` seconds.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, connect_timeout: float = 5.0,
                 send_timeout: float = 10.0, limits: ParserLimits | None = None, message_history: int = 1000,
                 keepalive: bool = True) -> None:
        if not isinstance(host, str) or not host.strip():
            raise ValueError(f"INDI server host must be a non-empty string, got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"INDI server port must be an int in 1..65535, got {port!r}")
        if isinstance(message_history, bool) or not isinstance(message_history, int) or message_history < 0:
            raise ValueError(f"message_history must be an int >= 0, got {message_history!r}")
        if limits is not None and not isinstance(limits, ParserLimits):
            raise TypeError(f"limits must be a ParserLimits, not {type(limits).__name__}")
        self.host = host
        self.port = port
        self.connect_timeout = _check_seconds("connect_timeout", connect_timeout)
        self.send_timeout = _check_seconds("send_timeout", send_timeout)
        self.limits = limits if limits is not None else ParserLimits()
        self.keepalive = bool(keepalive)
        self._lock = threading.RLock()
        self._send_lock = threading.Lock()
        self._cache = PropertyCache()
        self._messages: collections.deque[DeviceMessage] = collections.deque(maxlen=message_history)
        self._waiters: list[_Waiter] = []
        self._property_listeners: list[PropertyListener] = []
        self._message_listeners: list[MessageListener] = []
        self._disconnect_listeners: list[DisconnectListener] = []
        self._connection: _Connection | None = None
        self._disconnect_reason: IndiError | None = None
        self._invalid_elements = 0

    @property
    def address(self) -> str:
        """``host:port`` of the server."""
        return f"{self.host}:{self.port}"

    # ------------------------------------------------------------------ connection

    def connect(self) -> None:
        """Connect, start the reader thread and ask for every property.

        Raises:
            IndiConnectionError: If already connected, or the server cannot be
                reached within ``connect_timeout``.
        """
        with self._lock:
            if self._connection is not None:
                raise IndiConnectionError(f"already connected to the INDI server {self.address}")
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise IndiConnectionError(f"cannot connect to the INDI server {self.address} "
                                      f"within {self.connect_timeout:g} s: {exc}") from exc
        try:
            sock.settimeout(self.send_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.keepalive:
                self._enable_keepalive(sock)
        except OSError as exc:
            sock.close()
            raise IndiConnectionError(f"cannot configure the socket to {self.address}: {exc}") from exc
        connection = _Connection(sock, IndiParser(self.limits))
        with self._lock:
            if self._connection is not None:
                sock.close()
                raise IndiConnectionError(f"already connected to the INDI server {self.address}")
            self._cache.clear()
            self._disconnect_reason = None
            self._connection = connection
            connection.reader = threading.Thread(target=self._read_loop, args=(connection,), daemon=True,
                                                 name=f"indi-reader-{self.address}")
            connection.reader.start()
        log.info("connected to INDI server %s", self.address)
        self.send(get_properties())

    @staticmethod
    def _enable_keepalive(sock: socket.socket) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in (("TCP_KEEPIDLE", KEEPALIVE_IDLE), ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
                              ("TCP_KEEPCNT", KEEPALIVE_PROBES)):
            if hasattr(socket, option):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)

    def close(self, timeout: float = 5.0) -> None:
        """Close the connection and wait (at most ``timeout`` seconds) for the reader thread to end.

        Closing a client that is not connected does nothing.
        """
        timeout = _check_seconds("timeout", timeout)
        with self._lock:
            connection = self._connection
            if connection is None:
                return
            connection.closing = True
        self._shutdown(connection)
        reader = connection.reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout)
            if reader.is_alive():
                log.warning("INDI reader thread for %s still running %g s after close", self.address, timeout)

    def __enter__(self) -> IndiClient:
        if not self.connected:
            self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """True while the connection is up."""
        with self._lock:
            return self._connection is not None and not self._connection.closing

    @property
    def disconnect_reason(self) -> IndiError | None:
        """Why the last connection ended, or None (still connected, or closed by :meth:`close`)."""
        with self._lock:
            return self._disconnect_reason

    @staticmethod
    def _shutdown(connection: _Connection) -> None:
        """Wake the reader thread: shutting the socket down makes its ``recv`` return."""
        try:
            connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already disconnected

    # ------------------------------------------------------------------ reader thread

    def _read_loop(self, connection: _Connection) -> None:
        reason: IndiError | None = None
        try:
            while True:
                try:
                    data = connection.sock.recv(RECV_BYTES)
                except TimeoutError:
                    if connection.closing:
                        break
                    continue  # an idle server is normal; the timeout only bounds each wait
                except OSError as exc:
                    if not connection.closing:
                        reason = IndiConnectionError(f"connection to the INDI server {self.address} failed: {exc}")
                    break
                if not data:
                    if not connection.closing:
                        partial = " in the middle of an element" if connection.parser.in_element else ""
                        reason = IndiConnectionError(f"the INDI server {self.address} closed the connection{partial}")
                    break
                try:
                    elements = connection.parser.feed(data)
                except IndiStreamError as exc:
                    reason = exc
                    log.error("disconnecting from the INDI server %s: %s", self.address, exc)
                    break
                self._dispatch(connection, elements)
        except Exception as exc:  # noqa: BLE001 - a bug must end the connection visibly, not kill the thread silently
            log.exception("INDI reader thread for %s failed", self.address)
            reason = IndiError(f"the INDI reader thread for {self.address} failed: {exc!r}")
        finally:
            self._finish(connection, reason)

    def _dispatch(self, connection: _Connection, elements: list[IndiElement]) -> None:
        """Apply decoded elements, wake matching waiters, then notify listeners in arrival order."""
        notifications: list[PropertyEvent | DeviceMessage] = []
        pings: list[str] = []
        with self._lock:
            for element in elements:
                if isinstance(element, (DefVector, SetVector, DelProperty)):
                    for event in self._cache.apply(element):
                        notifications.append(event)
                        if event.change is not Change.DELETED:
                            self._offer(event.vector)
                    if element.message:
                        notifications.append(DeviceMessage(element.device, element.timestamp, element.message))
                elif isinstance(element, DeviceMessage):
                    notifications.append(element)
                elif isinstance(element, PingRequest):
                    pings.append(element.uid)
                elif isinstance(element, InvalidElement):
                    self._invalid_elements += 1
                    log.warning("invalid INDI element from %s ignored: %s", self.address, element.reason)
                else:
                    log.debug("INDI element %s from %s ignored (not for a client)", type(element).__name__,
                              self.address)
            for item in notifications:
                if isinstance(item, DeviceMessage):
                    self._messages.append(item)
                    log.debug("INDI message from %s: %s", item.device or "server", item.text)
            property_listeners = list(self._property_listeners)
            message_listeners = list(self._message_listeners)
        for uid in pings:
            try:
                self._send_on(connection, ping_reply(uid))
            except IndiConnectionError:
                return  # the connection is failing; the reader sees it next
        for item in notifications:
            for listener in (property_listeners if isinstance(item, PropertyEvent) else message_listeners):
                try:
                    listener(item)  # type: ignore[arg-type]
                except Exception:  # noqa: BLE001 - a listener's bug must not stop the client
                    log.exception("INDI listener %r failed on %r", listener, item)

    def _offer(self, vector: PropertyVector) -> None:
        """Give a new version of a property to the waiters that watch it (lock held)."""
        for waiter in self._waiters:
            if waiter.done.is_set() or waiter.device != vector.device or waiter.name != vector.name:
                continue
            if vector.sequence <= waiter.after:
                continue
            try:
                matched = waiter.predicate is None or bool(waiter.predicate(vector))
            except Exception as exc:  # noqa: BLE001 - raised in the waiting caller's thread instead
                waiter.error = exc
                waiter.done.set()
                continue
            if matched:
                waiter.result = vector
                waiter.done.set()

    def _finish(self, connection: _Connection, reason: IndiError | None) -> None:
        """End of a connection: record why, wake every waiter, close, tell the listeners."""
        reason = connection.failure or reason
        with self._lock:
            if self._connection is connection:
                self._connection = None
            self._disconnect_reason = reason
            for waiter in self._waiters:
                waiter.disconnected = True
                waiter.done.set()
            listeners = list(self._disconnect_listeners)
        connection.sock.close()
        if reason is None:
            log.info("disconnected from INDI server %s", self.address)
        else:
            log.warning("connection to INDI server %s lost: %s", self.address, reason)
        for listener in listeners:
            try:
                listener(reason)
            except Exception:  # noqa: BLE001 - a listener's bug must not hide the disconnection
                log.exception("INDI disconnect listener %r failed", listener)

    # ------------------------------------------------------------------ listeners

    def add_property_listener(self, listener: PropertyListener) -> None:
        """Call ``listener(event)`` for each definition, update and deletion (in the reader thread)."""
        self._add(self._property_listeners, listener)

    def remove_property_listener(self, listener: PropertyListener) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        self._remove(self._property_listeners, listener)

    def add_message_listener(self, listener: MessageListener) -> None:
        """Call ``listener(message)`` for each device message (in the reader thread)."""
        self._add(self._message_listeners, listener)

    def remove_message_listener(self, listener: MessageListener) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        self._remove(self._message_listeners, listener)

    def add_disconnect_listener(self, listener: DisconnectListener) -> None:
        """Call ``listener(reason)`` when a connection ends (reason None after :meth:`close`)."""
        self._add(self._disconnect_listeners, listener)

    def remove_disconnect_listener(self, listener: DisconnectListener) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        self._remove(self._disconnect_listeners, listener)

    def _add(self, listeners: list, listener: object) -> None:  # type: ignore[type-arg]
        if not callable(listener):
            raise TypeError(f"an INDI listener must be callable, not {type(listener).__name__}")
        with self._lock:
            listeners.append(listener)

    def _remove(self, listeners: list, listener: object) -> None:  # type: ignore[type-arg]
        with self._lock:
            if listener in listeners:
                listeners.remove(listener)

    # ------------------------------------------------------------------ reading the cache

    @property
    def sequence(self) -> int:
        """Sequence number of the latest property change; pass it as ``after`` to wait for a later one."""
        with self._lock:
            return self._cache.sequence

    @property
    def invalid_elements(self) -> int:
        """How many malformed or unknown elements the server sent (each was logged and ignored)."""
        with self._lock:
            return self._invalid_elements

    def get(self, device: str, name: str) -> PropertyVector | None:
        """The current snapshot of a property, or None if it is not defined."""
        with self._lock:
            return self._cache.get(device, name)

    def devices(self) -> list[str]:
        """Names of the devices that have properties."""
        with self._lock:
            return self._cache.devices()

    def vectors(self, device: str | None = None) -> list[PropertyVector]:
        """Snapshots of every property of ``device`` (of every device if None)."""
        with self._lock:
            return self._cache.vectors(device)

    def messages(self, device: str | None = None) -> list[DeviceMessage]:
        """The recent device messages, oldest first (only those of ``device`` if given)."""
        with self._lock:
            return [m for m in self._messages if device is None or m.device == device]

    # ------------------------------------------------------------------ waiting

    def wait_for(self, device: str, name: str, predicate: Predicate | None = None, timeout: float = 10.0, *,
                 after: int | None = None) -> PropertyVector:
        """Wait until the property ``device.name`` satisfies ``predicate``.

        The current snapshot is tested first, then every new version as it
        arrives (none is skipped, however fast they come).

        Args:
            device: Device name.
            name: Property name.
            predicate: Condition on the vector; None accepts any version.
            timeout: Seconds to wait at most.
            after: Only versions with a sequence number above this count
                (e.g. the mark returned by :meth:`set_number`); None accepts the
                current snapshot too.

        Returns:
            The first version that satisfies the predicate.

        Raises:
            IndiTimeout: If none did within ``timeout``.
            IndiConnectionError: If the connection is down or ends meanwhile.
            RuntimeError: If called from a listener or predicate (the reader
                thread would wait for itself).
            Exception: Whatever ``predicate`` raised.
        """
        timeout = _check_seconds("timeout", timeout)
        if predicate is not None and not callable(predicate):
            raise TypeError(f"predicate must be callable, not {type(predicate).__name__}")
        waiter = _Waiter(device, name, predicate, -1 if after is None else after)
        with self._lock:
            current = self._cache.get(device, name)
            if current is not None and current.sequence > waiter.after and (predicate is None or predicate(current)):
                return current
            connection = self._connection
            if connection is None or connection.closing:
                raise IndiConnectionError(self._not_connected(f"cannot wait for {device}.{name}"))
            if connection.reader is threading.current_thread():
                raise RuntimeError(f"cannot wait for {device}.{name} in a listener or predicate: they run in the "
                                   f"reader thread, which would wait for itself")
            self._waiters.append(waiter)
        try:
            waiter.done.wait(timeout)
        finally:
            with self._lock:
                self._waiters.remove(waiter)
        if waiter.result is not None:
            return waiter.result
        if waiter.error is not None:
            raise waiter.error
        if waiter.disconnected:
            raise IndiConnectionError(self._not_connected(f"lost while waiting for {device}.{name}"))
        last = self.get(device, name)
        seen = "it is not defined" if last is None else f"last: {last!r}"
        raise IndiTimeout(f"{device}.{name} did not reach the expected condition within {timeout:g} s ({seen})")

    def wait_state(self, device: str, name: str, state: PropertyState = PropertyState.OK, timeout: float = 10.0, *,
                   after: int | None = None) -> PropertyVector:
        """Wait until the property is in ``state``; raise if the device sets it to Alert instead.

        Args:
            device: Device name.
            name: Property name.
            state: The state to wait for.
            timeout: Seconds to wait at most.
            after: As for :meth:`wait_for`.

        Raises:
            IndiPropertyAlert: If the property went to Alert first (carrying
                the vector and the device's last message).
            IndiTimeout, IndiConnectionError: As for :meth:`wait_for`.
        """
        if not isinstance(state, PropertyState):
            raise TypeError(f"state must be a PropertyState, not {type(state).__name__}")
        vector = self.wait_for(device, name, lambda v: v.state is state or v.state is PropertyState.ALERT, timeout,
                               after=after)
        if vector.state is PropertyState.ALERT and state is not PropertyState.ALERT:
            raise self._alert(vector, f"while waiting for {state.value}")
        return vector

    def _alert(self, vector: PropertyVector, doing: str) -> IndiPropertyAlert:
        recent = self.messages(vector.device)
        said = f"; last message: {recent[-1].text}" if recent else ""
        return IndiPropertyAlert(f"{vector.device}.{vector.name} went to Alert {doing}{said}", vector)

    def _not_connected(self, doing: str) -> str:
        with self._lock:
            reason = self._disconnect_reason
        return f"not connected to the INDI server {self.address} ({doing})" + (f": {reason}" if reason else "")

    # ------------------------------------------------------------------ sending

    def send(self, data: bytes) -> None:
        """Send raw protocol bytes (use the builders of :mod:`pyros.indi.builders`).

        Raises:
            TypeError: If ``data`` is not bytes.
            IndiConnectionError: If not connected, or the send failed or timed
                out (the connection is then closed: a partial message would
                corrupt the stream).
        """
        if not isinstance(data, bytes):
            raise TypeError(f"IndiClient.send takes bytes, not {type(data).__name__}")
        with self._lock:
            connection = self._connection
            if connection is None or connection.closing:
                raise IndiConnectionError(self._not_connected("cannot send"))
        self._send_on(connection, data)

    def _send_on(self, connection: _Connection, data: bytes) -> None:
        with self._send_lock:
            try:
                connection.sock.sendall(data)
            except OSError as exc:
                failure = IndiConnectionError(f"sending to the INDI server {self.address} failed: {exc}")
                connection.failure = connection.failure or failure
                self._shutdown(connection)
                raise failure from exc

    def get_properties(self, device: str | None = None, name: str | None = None) -> None:
        """Ask the server to (re)send definitions: of everything, of a device, or of one property."""
        self.send(get_properties(device, name))

    def enable_blob(self, device: str, name: str | None = None, mode: BlobMode = BlobMode.ALSO) -> None:
        """Choose whether BLOBs of ``device`` (or of its property ``name``) come on this connection."""
        self.send(enable_blob(device, name, mode))

    def set_number(self, device: str, name: str, values: Mapping[str, float]) -> int:
        """Ask ``device`` to set Number members.

        The property must be defined, writable, hold these members, and each
        value must lie in the member's [min, max] range when it has one.

        Returns:
            The sequence mark before sending: pass it as ``after`` to
            :meth:`wait_for` or :meth:`wait_state` to see only the answer.

        Raises:
            IndiUnknownProperty: If the property is not defined.
            TypeError, ValueError: Naming what is wrong with the request.
            IndiConnectionError: If not connected or the send failed.
        """
        with self._lock:
            vector = self._writable(device, name, VectorKind.NUMBER, values)
            for member_name, value in values.items():
                member = vector[member_name]
                if (isinstance(member, NumberMember) and isinstance(value, (int, float)) and not isinstance(value, bool)
                        and member.minimum < member.maximum and not member.minimum <= value <= member.maximum):
                    raise ValueError(f"{device}.{name}.{member_name} = {value} is outside "
                                     f"[{member.minimum:g}, {member.maximum:g}]")
            mark = self._cache.sequence
        self.send(new_number_vector(device, name, values))
        return mark

    def set_switch(self, device: str, name: str, values: Mapping[str, bool]) -> int:
        """Ask ``device`` to set switches (True is On); see :meth:`set_number` for checks and the mark.

        A OneOfMany or AtMostOne vector accepts at most one switch turned On.
        """
        with self._lock:
            vector = self._writable(device, name, VectorKind.SWITCH, values)
            turned_on = [member for member, value in values.items() if value is True]
            if vector.rule in (SwitchRule.ONE_OF_MANY, SwitchRule.AT_MOST_ONE) and len(turned_on) > 1:
                raise ValueError(f"{device}.{name} is {vector.rule.value}: only one switch may be On, "
                                 f"got {', '.join(turned_on)}")
            mark = self._cache.sequence
        self.send(new_switch_vector(device, name, values))
        return mark

    def set_text(self, device: str, name: str, values: Mapping[str, str]) -> int:
        """Ask ``device`` to set Text members; see :meth:`set_number` for checks and the mark."""
        with self._lock:
            self._writable(device, name, VectorKind.TEXT, values)
            mark = self._cache.sequence
        self.send(new_text_vector(device, name, values))
        return mark

    def _writable(self, device: str, name: str, kind: VectorKind, values: Mapping[str, object]) -> PropertyVector:
        """The defined vector a command is for, checked for kind, permission and member names (lock held)."""
        vector = self._cache.get(device, name)
        if vector is None:
            known = self._cache.vectors(device)
            hint = (f"{device} defines {', '.join(v.name for v in known)}" if known
                    else f"no device {device!r} (devices: {', '.join(self._cache.devices()) or 'none'})")
            raise IndiUnknownProperty(f"{device}.{name} is not defined by the INDI server {self.address}: {hint}")
        if vector.kind is not kind:
            raise TypeError(f"{device}.{name} is a {vector.kind.value} vector, not a {kind.value} vector")
        if vector.permission is Permission.RO:
            raise ValueError(f"{device}.{name} is read-only")
        if not isinstance(values, Mapping):
            raise TypeError(f"values of {device}.{name} must be a mapping of member name to value, "
                            f"not {type(values).__name__}")
        unknown = [member for member in values if member not in vector]
        if unknown:
            raise ValueError(f"{device}.{name} has no member {', '.join(map(repr, unknown))} "
                             f"(members: {', '.join(vector.members)})")
        return vector

    # ------------------------------------------------------------------ device helpers

    def connect_device(self, device: str, timeout: float = 30.0) -> PropertyVector:
        """Connect a device (``CONNECTION.CONNECT`` On) and wait until it reports being connected.

        Waits first for the device to define ``CONNECTION``; does nothing more
        if it is already connected.

        Returns:
            The ``CONNECTION`` vector, connected and Ok.

        Raises:
            IndiPropertyAlert: If the device refused (Alert).
            IndiTimeout, IndiConnectionError: As for :meth:`wait_for`.
        """
        return self._switch_connection(device, "CONNECT", timeout)

    def disconnect_device(self, device: str, timeout: float = 30.0) -> PropertyVector:
        """Disconnect a device (``CONNECTION.DISCONNECT`` On) and wait until it reports it."""
        return self._switch_connection(device, "DISCONNECT", timeout)

    def _switch_connection(self, device: str, switch: str, timeout: float) -> PropertyVector:
        deadline = time.monotonic() + _check_seconds("timeout", timeout)
        settled = (PropertyState.OK,) if switch == "CONNECT" else (PropertyState.IDLE, PropertyState.OK)

        def reached(vector: PropertyVector) -> bool:
            return switch in vector.switches_on() and vector.state in settled

        vector = self.wait_for(device, "CONNECTION", None, timeout)
        if reached(vector):
            return vector
        mark = self.set_switch(device, "CONNECTION", {switch: True})
        remaining = max(deadline - time.monotonic(), 0.001)
        vector = self.wait_for(device, "CONNECTION", lambda v: reached(v) or v.state is PropertyState.ALERT,
                               remaining, after=mark)
        if vector.state is PropertyState.ALERT and not reached(vector):
            raise self._alert(vector, f"on {switch}")
        return vector
