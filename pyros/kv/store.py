"""The 12/CHP clone server as a state machine, with no sockets (sans-I/O).

:class:`CloneStore` holds the hashmap. It is fed KVSET commands from the
collector (:meth:`CloneStore.apply`, or :meth:`CloneStore.handle_set` for raw
frames), snapshot requests (:meth:`CloneStore.snapshot`,
:meth:`CloneStore.handle_icanhaz`) and the current monotonic time
(:meth:`CloneStore.tick`); it returns the frames to publish or send back.

On top of the RFC:

* every KVPUB and KTHXBAI carries the property ``epoch``, a random string chosen
  when the store is created, so clients notice a restarted server (whose
  sequence numbers start again at 1); a client-supplied ``epoch`` is replaced;
* KVSYNC commands carry the entry's sequence, UUID and properties (the RFC leaves
  frames 1-3 without significance there) so a client's copy is complete;
* KTHXBAI carries the store's current sequence number (the last one published),
  which a client compares with the KVPUBs it buffered during the snapshot;
* a ``ttl`` property (seconds, finite and > 0) makes the entry expire at
  ``now + ttl``; :meth:`CloneStore.tick` then publishes a deletion for it;
  an unparseable ``ttl`` makes the KVSET dropped;
* a deletion (empty body) is always published, even for an absent key;
* malformed input never raises: it is dropped and counted in :attr:`CloneStore.drops`.
"""

from __future__ import annotations

import math
import secrets
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pyros.kv.message import (
    KVMessage,
    KVProtocolError,
    decode_icanhaz,
    encode_hugz,
    encode_kthxbai,
    valid_subtree,
)

Message = list[bytes]

EPOCH_PROPERTY = "epoch"
"""Property naming the server instance, on every KVPUB and KTHXBAI."""
TTL_PROPERTY = "ttl"
"""Property giving a time-to-live in seconds."""


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
        hugz_interval: Seconds without publication after which :meth:`tick`
            returns a HUGZ.
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
        self.sequence = 0
        """Sequence number of the last KVPUB (0 before any)."""
        self.entries: dict[str, StoreEntry] = {}
        self.drops: Counter[str] = Counter()
        """Input dropped, by reason."""
        self.counts: Counter[str] = Counter()
        """Notable events (sets, deletes, expiries, hugz, snapshots)."""
        self._last_sent = now

    # ------------------------------------------------------------ queries

    def contents(self) -> dict[str, bytes]:
        """Return a ``key -> body`` copy of the hashmap."""
        return {key: entry.body for key, entry in self.entries.items()}

    @property
    def next_tick(self) -> float:
        """Monotonic time at which :meth:`tick` next has something to do."""
        when = self._last_sent + self.hugz_interval
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
        properties = dict(message.properties)
        expiry: float | None = None
        if message.body and TTL_PROPERTY in properties:
            try:
                expiry = now + parse_ttl(properties[TTL_PROPERTY])
            except ValueError:
                self.drops["bad_ttl"] += 1
                return []
        properties[EPOCH_PROPERTY] = self.epoch
        if self.sequence >= 2**64 - 1:  # pragma: no cover - would take centuries
            self.drops["sequence_exhausted"] += 1
            return []
        self.sequence += 1
        if message.body:
            self.entries[message.key] = StoreEntry(message.body, properties, self.sequence, message.uuid, expiry)
            self.counts["set"] += 1
        else:
            self.entries.pop(message.key, None)
            self.counts["delete"] += 1
        self._last_sent = now
        return [KVMessage(message.key, self.sequence, message.uuid, properties, message.body).encode()]

    def tick(self, now: float) -> list[Message]:
        """Expire TTL entries (publishing deletions) and send HUGZ when idle.

        Args:
            now: Current monotonic time.

        Returns:
            One deletion KVPUB per expired key (in expiry order), or a HUGZ if
            nothing was published for ``hugz_interval`` seconds, or nothing.
        """
        expired = sorted((entry.expiry, key) for key, entry in self.entries.items()
                         if entry.expiry is not None and entry.expiry <= now)
        out: list[Message] = []
        for _expiry, key in expired:
            del self.entries[key]
            self.sequence += 1
            self.counts["expired"] += 1
            out.append(KVMessage(key, self.sequence, b"", {EPOCH_PROPERTY: self.epoch}, b"").encode())
        if out:
            self._last_sent = now
        elif now - self._last_sent >= self.hugz_interval:
            self._last_sent = now
            self.counts["hugz"] += 1
            out.append(encode_hugz())
        return out

    # ------------------------------------------------------------ snapshots

    def snapshot(self, subtree: str = "") -> list[Message]:
        """Return the KVSYNCs for the keys under ``subtree``, then a KTHXBAI.

        Args:
            subtree: Key prefix, ``""`` for every key; otherwise it must start
                and end with ``/``.

        Returns:
            Messages without routing identity, sorted by key, KTHXBAI last (it
            carries the current sequence and the ``epoch`` property).

        Raises:
            ValueError: If ``subtree`` is malformed.
        """
        if not valid_subtree(subtree):
            raise ValueError(f"subtree must be '' or start and end with '/', not {subtree!r}")
        out = [KVMessage(key, entry.sequence, entry.uuid, entry.properties, entry.body).encode()
               for key, entry in sorted(self.entries.items()) if key.startswith(subtree)]
        out.append(encode_kthxbai(self.sequence, subtree, {EPOCH_PROPERTY: self.epoch}))
        self.counts["snapshot"] += 1
        return out

    def handle_icanhaz(self, frames: list[Any]) -> list[Message]:
        """Answer a raw ICANHAZ? received on the ROUTER snapshot socket.

        Args:
            frames: ``[identity, b"ICANHAZ?", subtree]``.

        Returns:
            The snapshot messages, each prefixed with the identity, or nothing
            if the request was malformed (counted in :attr:`drops`).
        """
        if not isinstance(frames, (list, tuple)) or len(frames) < 1 or not isinstance(frames[0], bytes):
            self.drops["no_identity"] += 1
            return []
        try:
            subtree = decode_icanhaz(list(frames[1:]))
        except KVProtocolError:
            self.drops["malformed_icanhaz"] += 1
            return []
        identity = frames[0]
        return [[identity, *message] for message in self.snapshot(subtree)]
