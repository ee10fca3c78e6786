"""The 12/CHP clone client as a state machine, with no sockets (sans-I/O).

:class:`CloneCache` keeps a local copy of (a subtree of) the server's hashmap.
The I/O layer subscribes first, then calls :meth:`CloneCache.request_snapshot`
and sends the returned ICANHAZ?; it feeds what the subscriber socket receives to
:meth:`CloneCache.on_update`, what the snapshot socket receives to
:meth:`CloneCache.on_snapshot`, and calls :meth:`CloneCache.tick` regularly.

States: ``SUBSCRIBING`` (no snapshot asked) → ``SNAPSHOT`` (KVSYNCs arriving,
updates buffered) → ``LIVE`` (updates applied). A :class:`Resync` action puts the
cache back in ``SUBSCRIBING`` (its data kept until the next snapshot replaces
it): the I/O layer should reconnect if needed and call ``request_snapshot``.

Rules:

* updates received before KTHXBAI are buffered; after it, those with a sequence
  greater than the KTHXBAI's are applied in order, the others discarded;
* an update whose sequence is not greater than the last one is stale: discarded;
* an update whose sequence skips one (gap) asks for a resync — only when the
  cache holds the whole map (``subtree == ""``), since a subscriber filtered on a
  subtree never sees the other keys' sequence numbers (``detect_gaps`` overrides);
* an update or HUGZ whose ``epoch`` property differs from the snapshot's asks
  for a resync (the server restarted); updates from an epoch already left are
  ignored (a HUGZ without ``epoch``, from a strict server, tells nothing);
* no message at all for ``silence`` seconds while waiting for a snapshot or
  live asks for a resync;
* values are decoded with ``decoder`` (msgpack by default); an undecodable
  value is counted in :attr:`CloneCache.drops` and its key removed locally.
"""

from __future__ import annotations

import enum
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from pyros.errors import MessageError
from pyros.kv.message import (
    Hugz,
    Kthxbai,
    KVMessage,
    KVProtocolError,
    decode_snapshot_reply,
    decode_update,
    encode_icanhaz,
    valid_subtree,
)
from pyros.kv.store import EPOCH_PROPERTY
from pyros.messages import unpack

_log = logging.getLogger(__name__)

ChangeCallback = Callable[[str, Any], None]
"""``on_change(key, value_or_None)``."""

MAX_DEAD_EPOCHS = 8
"""How many abandoned server epochs are remembered (and their updates ignored)."""


class CacheState(enum.Enum):
    """Where the cache is in its synchronisation."""

    SUBSCRIBING = "subscribing"
    SNAPSHOT = "snapshot"
    LIVE = "live"


@dataclass(frozen=True, slots=True)
class Resync:
    """Action: the cache lost track; request a new snapshot.

    Attributes:
        reason: ``"gap"``, ``"epoch"`` or ``"silence"``.
    """

    reason: str


class CacheEntry(NamedTuple):
    """One key as known by the cache (a named tuple: cheap to create for a 100,000-key snapshot).

    Attributes:
        value: The decoded value.
        properties: The properties the server published with it.
        sequence: Sequence number of the message that set it.
        body: The raw value.
    """

    value: Any
    properties: dict[str, str]
    sequence: int
    body: bytes


class CloneCache:
    """A subscriber's copy of the clone hashmap: frames and time in, actions out.

    Args:
        subtree: The subtree to mirror (``""`` for everything, else ``/.../``).
        silence: Seconds without any message after which the server is
            presumed dead (should exceed the server's HUGZ interval).
        now: The current monotonic time.
        decoder: Turns a body into a value; may raise to reject it.
        detect_gaps: Whether a skipped sequence number asks for a resync;
            defaults to ``subtree == ""``.
        snapshot_batch: Ask the server for snapshot entries this many per
            KVBATCH message (a PyROS extension); 0 for strict 12/CHP KVSYNCs.
    """

    def __init__(self, subtree: str = "", silence: float = 5.0, now: float = 0.0,
                 decoder: Callable[[bytes], Any] = unpack, detect_gaps: bool | None = None,
                 snapshot_batch: int = 0) -> None:
        if not valid_subtree(subtree):
            raise ValueError(f"subtree must be '' or start and end with '/', not {subtree!r}")
        if not silence > 0:
            raise ValueError("silence must be > 0")
        self.subtree = subtree
        self.silence = silence
        self.decoder = decoder
        self.detect_gaps = subtree == "" if detect_gaps is None else detect_gaps
        self.snapshot_batch = snapshot_batch
        self.state = CacheState.SUBSCRIBING
        self.data: dict[str, CacheEntry] = {}
        self.sequence = 0
        """Sequence of the last KTHXBAI or update applied."""
        self.epoch: str | None = None
        """Epoch of the server the data came from (``None`` before a snapshot)."""
        self.drops: Counter[str] = Counter()
        """Input discarded, by reason."""
        self.counts: Counter[str] = Counter()
        """Notable events (resyncs by reason, snapshots, callback errors)."""
        self._callbacks: list[tuple[str, ChangeCallback]] = []
        self._buffer: list[KVMessage] = []
        self._staged: dict[str, KVMessage] = {}
        self._dead_epochs: list[str] = []
        self._last_heard = now

    # ------------------------------------------------------------ queries

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value of ``key``, or ``default`` if absent."""
        entry = self.data.get(key)
        return default if entry is None else entry.value

    def contents(self) -> dict[str, bytes]:
        """Return a ``key -> body`` copy of the local map."""
        return {key: entry.body for key, entry in self.data.items()}

    @property
    def next_tick(self) -> float:
        """Monotonic time at which :meth:`tick` may next detect silence."""
        return self._last_heard + self.silence

    # ------------------------------------------------------------ callbacks

    def add_callback(self, prefix: str, callback: ChangeCallback) -> None:
        """Call ``callback(key, value_or_None)`` on every change of a key starting with ``prefix``.

        ``None`` means the key was deleted. Exceptions from callbacks are logged
        and counted, never propagated.
        """
        self._callbacks.append((prefix, callback))

    def remove_callback(self, prefix: str, callback: ChangeCallback) -> None:
        """Remove a callback registered with :meth:`add_callback` (no error if absent)."""
        try:
            self._callbacks.remove((prefix, callback))
        except ValueError:
            pass

    def _notify(self, key: str, value: Any) -> None:
        if not self._callbacks:
            return
        for prefix, callback in list(self._callbacks):
            if key.startswith(prefix):
                try:
                    callback(key, value)
                except Exception:  # noqa: BLE001 - a callback must not break the cache
                    self.counts["callback_error"] += 1
                    _log.exception("K/V change callback for %r failed", key)

    # ------------------------------------------------------------ transitions

    def request_snapshot(self, now: float) -> list[bytes]:
        """Start (or restart) synchronisation; the subscription must already be open.

        Args:
            now: Current monotonic time (starts the silence timer).

        Returns:
            The ICANHAZ? frames to send on the snapshot connection.
        """
        self.state = CacheState.SNAPSHOT
        self._staged = {}
        self._last_heard = now
        return encode_icanhaz(self.subtree, self.snapshot_batch)

    def _resync(self, reason: str) -> Resync:
        self.state = CacheState.SUBSCRIBING
        self._buffer = []
        self._staged = {}
        self.counts[f"resync_{reason}"] += 1
        return Resync(reason)

    def _leave_epoch(self) -> None:
        if self.epoch is not None and self.epoch not in self._dead_epochs:
            self._dead_epochs.append(self.epoch)
            del self._dead_epochs[:-MAX_DEAD_EPOCHS]

    def tick(self, now: float) -> Resync | None:
        """Detect a silent server.

        Returns:
            :class:`Resync` if nothing arrived for ``silence`` seconds while
            waiting for a snapshot or live; else ``None``.
        """
        if self.state is not CacheState.SUBSCRIBING and now - self._last_heard >= self.silence:
            return self._resync("silence")
        return None

    # ------------------------------------------------------------ input

    def on_snapshot(self, frames: list[Any], now: float) -> Resync | None:
        """Process a KVSYNC, KVBATCH or KTHXBAI received on the snapshot connection.

        Args:
            frames: The message frames (no routing identity).
            now: Current monotonic time.

        Returns:
            :class:`Resync` if merging the buffered updates revealed a gap or a
            new epoch; else ``None``.
        """
        try:
            message = decode_snapshot_reply(frames)
        except KVProtocolError:
            self.drops["malformed_snapshot"] += 1
            return None
        if self.state is not CacheState.SNAPSHOT:
            self.drops["unexpected_snapshot"] += 1
            return None
        self._last_heard = now
        if isinstance(message, KVMessage):
            self._stage(message)
            return None
        if isinstance(message, list):
            for entry in message:
                self._stage(entry)
            return None
        return self._finish_snapshot(message)

    def _stage(self, message: KVMessage) -> None:
        if not message.key.startswith(self.subtree):
            self.drops["outside_subtree"] += 1
        elif message.body:
            self._staged[message.key] = message
        else:
            self._staged.pop(message.key, None)

    def _finish_snapshot(self, end: Kthxbai) -> Resync | None:
        staged, self._staged = self._staged, {}
        epoch = end.properties.get(EPOCH_PROPERTY, "")
        if self.epoch is not None and epoch != self.epoch:
            self._leave_epoch()
        if epoch in self._dead_epochs:
            self._dead_epochs.remove(epoch)
        self.epoch = epoch
        self.sequence = end.sequence
        self.state = CacheState.LIVE
        self.counts["snapshot"] += 1
        for key in [k for k in self.data if k not in staged]:
            self._delete(key)
        for message in staged.values():
            self._set(message)
        buffered, self._buffer = self._buffer, []
        for message in buffered:
            action = self._apply(message)
            if action is not None:
                return action
        return None

    def on_update(self, frames: list[Any], now: float) -> Resync | None:
        """Process a KVPUB or HUGZ received on the subscriber connection.

        Args:
            frames: The message frames.
            now: Current monotonic time.

        Returns:
            :class:`Resync` on a sequence gap or a new server epoch; else ``None``.
        """
        try:
            message = decode_update(frames)
        except KVProtocolError:
            self.drops["malformed_update"] += 1
            return None
        self._last_heard = now
        if isinstance(message, Hugz):
            epoch = message.properties.get(EPOCH_PROPERTY)
            if epoch is not None and self.state is CacheState.LIVE and epoch != self.epoch \
                    and epoch not in self._dead_epochs:
                self._leave_epoch()  # an idle server restarted: its HUGZ tell before any update does
                return self._resync("epoch")
            return None
        if self.state is not CacheState.LIVE:
            self._buffer.append(message)
            return None
        return self._apply(message)

    def _apply(self, message: KVMessage) -> Resync | None:
        epoch = message.properties.get(EPOCH_PROPERTY, "")
        if epoch != self.epoch:
            if epoch in self._dead_epochs:
                self.drops["dead_epoch"] += 1
                return None
            self._leave_epoch()
            return self._resync("epoch")
        if message.sequence <= self.sequence:
            self.drops["stale"] += 1
            return None
        if self.detect_gaps and message.sequence != self.sequence + 1:
            return self._resync("gap")
        self.sequence = message.sequence
        if not message.key.startswith(self.subtree):
            self.drops["outside_subtree"] += 1
        elif message.body:
            self._set(message)
        else:
            self._delete(message.key)
        return None

    def _set(self, message: KVMessage) -> None:
        try:
            value = self.decoder(message.body)
        except (MessageError, ValueError, TypeError):
            self.drops["bad_value"] += 1
            self._delete(message.key)
            return
        old = self.data.get(message.key)
        self.data[message.key] = CacheEntry(value, message.properties, message.sequence, message.body)
        if old is None or old.body != message.body:
            self._notify(message.key, value)

    def _delete(self, key: str) -> None:
        if self.data.pop(key, None) is not None:
            self._notify(key, None)
