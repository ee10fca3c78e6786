"""The 12/CHP clone server as a state machine, with no sockets (sans-I/O).

:class:`CloneStore` holds the hashmap. It is fed KVSET commands from the
collector (:meth:`CloneStore.apply`, or :meth:`CloneStore.handle_set` for raw
frames), snapshot requests (:meth:`CloneStore.snapshot`,
:meth:`CloneStore.handle_icanhaz`) and the current monotonic time
(:meth:`CloneStore.tick`); it returns the frames to publish or send back.

On top of the RFC:

* every KVPUB, KTHXBAI and HUGZ carries the property ``epoch``, a random string chosen
  when the store is created, so clients notice a restarted server (whose
  sequence numbers start again at 1); a client-supplied ``epoch`` is replaced;
* KVSYNC commands carry the entry's sequence, UUID and properties (the RFC leaves
  frames 1-3 without significance there) so a client's copy is complete;
* KTHXBAI carries the store's current sequence number (the last one published),
  which a client compares with the KVPUBs it buffered during the snapshot;
* a ``ttl`` property (seconds, finite and > 0) makes the entry expire at
  ``now + ttl``; :meth:`CloneStore.tick` then publishes a deletion for it;
  an unparseable ``ttl`` makes the KVSET dropped;
* a snapshot request may ask for KVBATCH messages (several entries each, see
  :mod:`pyros.kv.message`); a strict ICANHAZ? gets one KVSYNC per key;
* a deletion (empty body) is always published, even for an absent key;
* malformed input never raises: it is dropped and counted in :attr:`CloneStore.drops`.
"""

from __future__ import annotations

import math
import secrets
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from pyros.kv.message import (
    SEQUENCE_BYTES,
    KVMessage,
    KVProtocolError,
    decode_icanhaz,
    encode_hugz,
    encode_kthxbai,
    encode_kvbatch,
    encode_properties,
    valid_subtree,
)

Message = list[bytes]

EPOCH_PROPERTY = "epoch"
"""Property naming the server instance, on every KVPUB and KTHXBAI."""
TTL_PROPERTY = "ttl"
"""Property giving a time-to-live in seconds."""
BATCH_BYTES = 256 * 1024
"""Approximate size at which a KVBATCH is closed even if it has fewer entries than asked."""


@dataclass(frozen=True, slots=True)
class StoreEntry:
    """One key held by the store.

    Attributes:
        body: The value (never empty).
        properties: Properties as published (including ``epoch``).
        sequence: Sequence number of the KVPUB that set it.
        uuid: UUID given by the setter, or ``b""``.
        expiry: Monotonic time at which it expires, or ``None``.
    """

    body: bytes
    properties: dict[str, str]
    sequence: int
    uuid: bytes
    expiry: float | None
    properties_frame: bytes = b""
    """``properties`` encoded as published (kept to answer snapshots without re-encoding)."""


def parse_ttl(text: str) -> float:
    """Parse a ``ttl`` property value (seconds).

    Raises:
        ValueError: If it is not a finite number greater than zero.
    """
    try:
        ttl = float(text)
    except ValueError:
        raise ValueError(f"ttl {text[:40]!r} is not a number") from None
    if not math.isfinite(ttl) or ttl <= 0:
        raise ValueError(f"ttl {text[:40]!r} must be finite and > 0")
    return ttl


class CloneStore:
    """The clone server's hashmap: KVSETs and time in, KVPUBs out.

    Args:
        hugz_interval: Seconds between two HUGZ returned by :meth:`tick`.
        now: The current monotonic time.
        epoch: The server epoch; a random 16-hex-digit string if ``None``.
    """

    def __init__(self, hugz_interval: float = 1.0, now: float = 0.0, epoch: str | None = None) -> None:
        if not hugz_interval > 0:
            raise ValueError("hugz_interval must be > 0")
        self.hugz_interval = hugz_interval
        self.epoch: str = secrets.token_hex(8) if epoch is None else epoch
        if not self.epoch or "\n" in self.epoch:
            raise ValueError("epoch must be a non-empty string without newline")
        self._epoch_frame = encode_properties({EPOCH_PROPERTY: self.epoch})
        self.sequence = 0
        """Sequence number of the last KVPUB (0 before any)."""
        self.entries: dict[str, StoreEntry] = {}
        self.drops: Counter[str] = Counter()
        """Input dropped, by reason."""
        self.counts: Counter[str] = Counter()
        """Notable events (sets, deletes, expiries, hugz, snapshots)."""
        self._last_hugz = now

    # ------------------------------------------------------------ queries

    def contents(self) -> dict[str, bytes]:
        """Return a ``key -> body`` copy of the hashmap."""
        return {key: entry.body for key, entry in self.entries.items()}

    @property
    def next_tick(self) -> float:
        """Monotonic time at which :meth:`tick` next has something to do."""
        when = self._last_hugz + self.hugz_interval
        for entry in self.entries.values():
            if entry.expiry is not None and entry.expiry < when:
                when = entry.expiry
        return when

    # ------------------------------------------------------------ updates

    def handle_set(self, frames: list[Any], now: float) -> list[Message]:
        """Process a raw KVSET received on the collector socket.

        Args:
            frames: The five frames of the KVSET.
            now: Current monotonic time.

        Returns:
            The KVPUB to publish (at most one), or nothing if the input was dropped.
        """
        try:
            message = KVMessage.decode(frames)
        except KVProtocolError:
            self.drops["malformed"] += 1
            return []
        return self.apply(message, now)

    def apply(self, message: KVMessage, now: float) -> list[Message]:
        """Apply a KVSET: store or delete the key and publish it with a new sequence.

        Args:
            message: The KVSET (its sequence is ignored).
            now: Current monotonic time, for ``ttl``.

        Returns:
            The KVPUB to publish, or nothing if the ``ttl`` property is invalid.
        """
        expiry: float | None = None
        if message.properties:
            properties = dict(message.properties)
            if message.body and TTL_PROPERTY in properties:
                try:
                    expiry = now + parse_ttl(properties[TTL_PROPERTY])
                except ValueError:
                    self.drops["bad_ttl"] += 1
                    return []
            properties[EPOCH_PROPERTY] = self.epoch
            properties_frame = encode_properties(properties)
        else:  # the common case: only the epoch, encoded once
            properties = {EPOCH_PROPERTY: self.epoch}
            properties_frame = self._epoch_frame
        if self.sequence >= 2**64 - 1:  # pragma: no cover - would take centuries
            self.drops["sequence_exhausted"] += 1
            return []
        self.sequence += 1
        if message.body:
            self.entries[message.key] = StoreEntry(message.body, properties, self.sequence, message.uuid, expiry,
                                                   properties_frame)
            self.counts["set"] += 1
        else:
            self.entries.pop(message.key, None)
            self.counts["delete"] += 1
        return [[message.key.encode("utf-8"), self.sequence.to_bytes(SEQUENCE_BYTES, "big"), message.uuid,
                 properties_frame, message.body]]

    def tick(self, now: float) -> list[Message]:
        """Expire TTL entries (publishing deletions) and send a HUGZ every ``hugz_interval``.

        Args:
            now: Current monotonic time.

        Returns:
            One deletion KVPUB per expired key (in expiry order), then a HUGZ if
            ``hugz_interval`` seconds passed since the last one; possibly nothing.
        """
        expired = sorted((entry.expiry, key) for key, entry in self.entries.items()
                         if entry.expiry is not None and entry.expiry <= now)
        out: list[Message] = []
        for _expiry, key in expired:
            del self.entries[key]
            self.sequence += 1
            self.counts["expired"] += 1
            out.append(KVMessage(key, self.sequence, b"", {EPOCH_PROPERTY: self.epoch}, b"").encode())
        if now - self._last_hugz >= self.hugz_interval:
            # Every interval, busy or not: a subscriber of one subtree hears nothing of the
            # updates of others, and must not take a busy server for a silent one.
            self._last_hugz = now
            self.counts["hugz"] += 1
            out.append(self.hugz())
        return out

    def hugz(self) -> Message:
        """A HUGZ carrying the epoch (also sent at once to each new subscription by the server)."""
        return encode_hugz({EPOCH_PROPERTY: self.epoch})

    def handle_subscription(self, frame: bytes) -> list[Message]:
        """React to a subscription message read from the XPUB updates socket.

        A new subscription is answered with a HUGZ at once: the subscriber then
        knows its subscription is active and can ask for its snapshot without
        waiting for the next idle HUGZ (it must not ask earlier, or updates
        published in between could be missed). Unsubscriptions need nothing.

        Args:
            frame: ``b"\x01" + prefix`` (subscribe) or ``b"\x00" + prefix``.

        Returns:
            A HUGZ for a subscription; nothing otherwise.
        """
        if frame[:1] == b"\x01":
            self.counts["subscriptions"] += 1
            return [self.hugz()]
        return []

    # ------------------------------------------------------------ snapshots

    def snapshot(self, subtree: str = "", batch: int = 0) -> list[Message]:
        """Return the KVSYNCs (or KVBATCHes) for the keys under ``subtree``, then a KTHXBAI.

        Args:
            subtree: Key prefix, ``""`` for every key; otherwise it must start
                and end with ``/``.
            batch: 0 for one KVSYNC per key (12/CHP), sorted by key; else
                KVBATCH messages of at most ``batch`` entries and about
                :data:`BATCH_BYTES` bytes, in no particular order.

        Returns:
            Messages without routing identity, KTHXBAI last (it carries the
            current sequence and the ``epoch`` property).

        Raises:
            ValueError: If ``subtree`` is malformed or ``batch`` negative.
        """
        return list(self.iter_snapshot(subtree, batch))

    def iter_snapshot(self, subtree: str = "", batch: int = 0) -> Iterator[Message]:
        """:meth:`snapshot` one message at a time (the server sends each as soon as it is built).

        The store must not change until the iterator is exhausted.
        """
        if not valid_subtree(subtree):
            raise ValueError(f"subtree must be '' or start and end with '/', not {subtree!r}")
        if batch < 0:
            raise ValueError("batch must be >= 0")
        self.counts["snapshot"] += 1
        if batch:
            yield from self._batches(subtree, batch)
        else:
            for key, entry in sorted(self.entries.items()):
                if key.startswith(subtree):
                    yield [key.encode("utf-8"), entry.sequence.to_bytes(SEQUENCE_BYTES, "big"), entry.uuid,
                           entry.properties_frame or encode_properties(entry.properties), entry.body]
        yield encode_kthxbai(self.sequence, subtree, {EPOCH_PROPERTY: self.epoch})

    def _batches(self, subtree: str, batch: int) -> Iterator[Message]:
        group: list[list[Any]] = []
        size = 0
        for key, entry in self.entries.items():
            if not key.startswith(subtree):
                continue
            group.append([key, entry.sequence, entry.uuid, entry.properties_frame or
                          encode_properties(entry.properties), entry.body])
            size += len(key) + len(entry.body) + 40
            if len(group) >= batch or size >= BATCH_BYTES:
                yield encode_kvbatch(group)
                group, size = [], 0
        if group:
            yield encode_kvbatch(group)

    def handle_icanhaz(self, frames: list[Any]) -> Iterable[Message]:
        """Answer a raw ICANHAZ? received on the ROUTER snapshot socket.

        Args:
            frames: ``[identity, b"ICANHAZ?", subtree]``.

        Returns:
            The snapshot messages, each prefixed with the identity, produced as
            they are sent (the store must not change meanwhile), or nothing if
            the request was malformed (counted in :attr:`drops`).
        """
        if not isinstance(frames, (list, tuple)) or len(frames) < 1 or not isinstance(frames[0], bytes):
            self.drops["no_identity"] += 1
            return []
        try:
            request = decode_icanhaz(list(frames[1:]))
        except KVProtocolError:
            self.drops["malformed_icanhaz"] += 1
            return []
        identity = frames[0]
        return ([identity, *message] for message in self.iter_snapshot(request.subtree, request.batch))
