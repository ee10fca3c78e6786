"""A short-lived cache of replies, keyed by request id, so a retried request runs once."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from pyros.messages import pack


def request_fingerprint(cmd: str, args: dict[str, Any], token: str | None) -> bytes:
    """Return a digest identifying what a request asks, independent of map order.

    Two requests with one ``id`` are the same request only if their
    fingerprints are equal.

    Args:
        cmd: The command.
        args: The arguments (wire form).
        token: The access token, or ``None``.
    """
    return hashlib.sha256(pack([cmd, _canonical(args), token])).digest()


def _canonical(value: Any) -> Any:
    # Every container is tagged, so a list can never pass for a map.
    if isinstance(value, dict):
        pairs = [[_canonical(k), _canonical(v)] for k, v in value.items()]
        pairs.sort(key=lambda kv: pack(kv[0]))
        return ["m", pairs]
    if isinstance(value, (list, tuple)):
        return ["l", [_canonical(v) for v in value]]
    return value


class CacheEntry:
    """One request id: pending until its reply is stored, then done."""

    def __init__(self, fingerprint: bytes) -> None:
        """Create a pending entry.

        Args:
            fingerprint: What the request asked (see :func:`request_fingerprint`).
        """
        self.fingerprint = fingerprint
        self._done = threading.Event()
        self._reply = b""
        self.expires = 0.0

    def set_reply(self, reply: bytes) -> None:
        """Store the reply and release the waiters."""
        self._reply = reply
        self._done.set()

    @property
    def reply(self) -> bytes:
        """The reply body (empty while pending)."""
        return self._reply

    @property
    def done(self) -> bool:
        """Whether the reply is stored."""
        return self._done.is_set()

    def wait(self) -> bytes:
        """Block until the reply is stored (the owner always stores one), then return it."""
        self._done.wait()
        return self._reply


class ReplyCache:
    """Replies by request id: pending while running, then kept ``ttl`` seconds.

    The first claimant of an id runs the request and stores its reply;
    later claimants of the same id get the same entry and wait for (or read)
    that reply. Finished entries expire ``ttl`` seconds after they were
    stored, measured on the injected monotonic clock, and the oldest are
    evicted beyond ``max_entries`` entries or ``max_bytes`` of reply bodies.
    Pending entries are never evicted. Thread-safe.
    """

    def __init__(
        self,
        ttl: float = 60.0,
        *,
        max_entries: int = 10_000,
        max_bytes: int = 256 * 1024 * 1024,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create an empty cache.

        Args:
            ttl: Seconds a finished reply is kept (0 keeps none, but still
                joins concurrent duplicates to the running original).
            max_entries: Most finished replies kept.
            max_bytes: Most bytes of finished reply bodies kept.
            monotonic: The clock measuring the TTL.

        Raises:
            ValueError: If a bound is negative.
        """
        if ttl < 0 or max_entries < 0 or max_bytes < 0:
            raise ValueError("reply cache ttl, max_entries and max_bytes must not be negative")
        self._ttl = float(ttl)
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._pending: dict[str, CacheEntry] = {}
        self._done: OrderedDict[str, CacheEntry] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        """Return the number of entries, pending and finished (expired ones included until purged)."""
        with self._lock:
            return len(self._pending) + len(self._done)

    def _purge(self, now: float) -> None:
        while self._done:
            rid, entry = next(iter(self._done.items()))
            if entry.expires > now and len(self._done) <= self._max_entries and self._bytes <= self._max_bytes:
                break
            del self._done[rid]
            self._bytes -= len(entry.reply)

    def claim(self, request_id: str, fingerprint: bytes) -> tuple[CacheEntry, bool]:
        """Find or create the entry of a request id.

        Args:
            request_id: The request's ``id``.
            fingerprint: What the request asks.

        Returns:
            The entry and whether the caller owns it (must run the request
            and call :meth:`complete`). A caller that does not own it
            compares fingerprints and waits for the entry's reply.
        """
        with self._lock:
            self._purge(self._monotonic())
            entry = self._pending.get(request_id) or self._done.get(request_id)
            if entry is not None:
                return entry, False
            entry = CacheEntry(fingerprint)
            self._pending[request_id] = entry
            return entry, True

    def complete(self, request_id: str, entry: CacheEntry, reply: bytes) -> None:
        """Store the reply of an owned entry and release its waiters.

        Args:
            request_id: The request's ``id``.
            entry: The entry returned by :meth:`claim`.
            reply: The reply body.
        """
        with self._lock:
            if self._pending.get(request_id) is entry:
                del self._pending[request_id]
            now = self._monotonic()
            entry.expires = now + self._ttl
            entry.set_reply(reply)
            if self._ttl > 0 and self._max_entries > 0 and len(reply) <= self._max_bytes:
                self._done[request_id] = entry
                self._bytes += len(reply)
            self._purge(now)
