"""Publish keys to the K/V (Clone) server's collector.

A :class:`KVPublisher` sends KVSET commands on a PUSH socket. It remembers the
keys it owns (last value and ttl) so that :meth:`KVPublisher.republish_all` can
restore them on a restarted server; wire it to
:meth:`pyros.kv.subscriber.KVSubscriber.on_epoch_change`.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import zmq

from pyros.errors import TransportError
from pyros.kv.message import RESERVED_KEYS, KVMessage, encode_properties, encode_sequence
from pyros.kv.store import TTL_PROPERTY
from pyros.kv.subscriber import KVSubscriber
from pyros.messages import pack
from pyros.multipart import send_multipart

_NO_SEQUENCE = encode_sequence(0)
"""A KVSET's sequence frame: the server assigns the sequence."""


EPOCH_WATCH_SUBTREE = "/kv/epoch/"
"""Subtree an epoch watcher mirrors: nothing is published there, so it hears only HUGZ and snapshots."""


class KVPublisher:
    """Set and delete keys through the collector socket; thread-safe.

    Args:
        collector_endpoint: The server's collector endpoint.
        context: ZeroMQ context to use (the process-wide instance by default).
        watch_epoch: The server's ``(snapshot, updates)`` endpoints. When given,
            a small subscriber watches the server's epoch and the publisher
            republishes every key it owns as soon as a restarted server is
            noticed (its first HUGZ, within the HUGZ interval).
    """

    def __init__(self, collector_endpoint: str, *, context: zmq.Context | None = None,
                 watch_epoch: tuple[str, str] | None = None) -> None:
        self.endpoint = collector_endpoint
        self._context = context or zmq.Context.instance()
        self._lock = threading.Lock()
        self._owned: dict[str, tuple[bytes, float | None]] = {}
        self._socket: zmq.Socket | None = self._context.socket(zmq.PUSH)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.SNDHWM, 0)
        self._socket.connect(collector_endpoint)
        self._watcher: KVSubscriber | None = None
        if watch_epoch is not None:
            snapshot, updates = watch_epoch
            self._watcher = KVSubscriber(snapshot, updates, EPOCH_WATCH_SUBTREE, context=self._context,
                                         start=False)
            self._watcher.on_epoch_change(self.republish_all)
            self._watcher.start()

    def owned(self) -> dict[str, bytes]:
        """Return a ``key -> packed value`` copy of the keys this publisher set and did not delete."""
        with self._lock:
            return {key: body for key, (body, _ttl) in self._owned.items()}

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Set ``key`` to ``value`` (msgpack-packed).

        Args:
            key: Non-empty key, not a command name.
            value: Any msgpack-serialisable value; ``None`` is allowed (packed, not a delete).
            ttl: Seconds after which the server deletes the key, or ``None``.

        Raises:
            ValueError: Invalid key or ttl.
            TransportError: The publisher is closed or the message could not be queued.
        """
        if ttl is not None and (isinstance(ttl, bool) or not math.isfinite(ttl) or ttl <= 0):
            raise ValueError(f"ttl must be finite and > 0, not {ttl!r}")
        body = pack(value)
        message = self._message(key, body, ttl)
        with self._lock:
            self._send(message)
            self._owned[key] = (body, ttl)

    def delete(self, key: str) -> None:
        """Delete ``key`` on the server (and forget it).

        Raises:
            ValueError: Invalid key.
            TransportError: The publisher is closed or the message could not be queued.
        """
        message = KVMessage(key).encode()
        with self._lock:
            self._send(message)
            self._owned.pop(key, None)

    def republish_all(self, *_args: Any) -> int:
        """Send again every key this publisher owns (after a server restart).

        Accepts and ignores arguments so it can be used directly as an epoch-change
        callback. A key with a ttl gets its full ttl again.

        Returns:
            How many keys were sent.
        """
        with self._lock:
            for key, (body, ttl) in self._owned.items():
                self._send(self._message(key, body, ttl))
            return len(self._owned)

    def close(self) -> None:
        """Close the socket (LINGER 0: unsent messages are dropped) and stop the epoch watcher."""
        if self._watcher is not None:
            self._watcher.stop()
        with self._lock:
            if self._socket is not None:
                self._socket.close(linger=0)
                self._socket = None

    def __enter__(self) -> KVPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _message(key: str, body: bytes, ttl: float | None) -> list[bytes]:
        """The KVSET frames (sequence 0, no UUID); the key is checked as :class:`KVMessage` would."""
        if type(key) is not str or not key or key in RESERVED_KEYS:
            KVMessage(key)  # raises the ValueError naming what is wrong with the key
        properties = b"" if ttl is None else encode_properties({TTL_PROPERTY: repr(float(ttl))})
        return [key.encode("utf-8"), _NO_SEQUENCE, b"", properties, body]

    def _send(self, frames: list[bytes]) -> None:
        if self._socket is None:
            raise TransportError("K/V publisher is closed")
        try:
            send_multipart(self._socket, frames, zmq.NOBLOCK)
        except zmq.ZMQError as exc:
            raise TransportError(f"cannot queue KVSET to {self.endpoint}: {exc}") from exc
