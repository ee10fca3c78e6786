"""Mirror (a subtree of) the K/V (Clone) server in a background thread.

A :class:`KVSubscriber` opens a SUB socket on the updates endpoint, subscribed to
its subtree and to HUGZ, *before* sending ``ICANHAZ?`` on a DEALER to the
snapshot endpoint (it waits for the SUB to hear anything, at most ``silence``
seconds, and asks again if it had to give up waiting); it feeds both to a :class:`pyros.kv.cache.CloneCache`. When
the cache asks for a :class:`~pyros.kv.cache.Resync` (sequence gap, new server
epoch, silence) the DEALER is recreated and a new snapshot requested (after a
silence, once the server is heard again). After a
snapshot from a new epoch (a restarted server) the ``on_epoch_change`` callbacks
run, so that publishers can republish their keys.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Callable

import zmq

from pyros.kv.cache import CacheState, ChangeCallback, CloneCache, Resync
from pyros.kv.message import HUGZ
from pyros.multipart import recv_multipart
from pyros.wakeup import Wakeup

log = logging.getLogger(__name__)

EpochCallback = Callable[[str | None, str], None]
"""``on_epoch_change(old_epoch, new_epoch)``."""

DRAIN_LIMIT = 4096
"""Most messages read from one socket per poll before timers are checked again."""
SNAPSHOT_BATCH = 1000
"""Snapshot entries asked for per KVBATCH message by default."""


def _drain(sock: zmq.Socket) -> list[list[bytes]]:
    """Read what a socket has ready, at most :data:`DRAIN_LIMIT` messages, without blocking."""
    messages: list[list[bytes]] = []
    try:
        for _ in range(DRAIN_LIMIT):
            messages.append(recv_multipart(sock, zmq.NOBLOCK))
    except zmq.Again:
        pass
    return messages


class KVSubscriber:
    """A live local copy of the K/V store, kept by a background thread.

    Args:
        snapshot_endpoint: The server's snapshot (ROUTER) endpoint.
        publisher_endpoint: The server's updates (PUB) endpoint.
        subtree: ``""`` for every key, else a prefix starting and ending with ``/``.
        silence: Seconds without any message (HUGZ included) after which the
            server is presumed dead and a new snapshot is requested.
        context: ZeroMQ context to use (the process-wide instance by default).
        start: Whether to start the thread at once.
        snapshot_batch: Snapshot entries per KVBATCH message (PyROS servers);
            0 asks for strict 12/CHP KVSYNCs, one message per key.
    """

    def __init__(self, snapshot_endpoint: str, publisher_endpoint: str, subtree: str = "", *,
                 silence: float = 3.0, context: zmq.Context | None = None, start: bool = True,
                 snapshot_batch: int = SNAPSHOT_BATCH) -> None:
        self.snapshot_endpoint = snapshot_endpoint
        self.publisher_endpoint = publisher_endpoint
        self._clock = time.monotonic
        self.cache = CloneCache(subtree, silence=silence, now=self._clock(), snapshot_batch=snapshot_batch)
        self._context = context or zmq.Context.instance()
        self._lock = threading.RLock()
        self._synced = threading.Event()
        self._stopping = threading.Event()
        self._epoch_callbacks: list[EpochCallback] = []
        self._known_epoch: str | None = None
        self._wakeup = Wakeup()
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    # ------------------------------------------------------------ public API

    @property
    def subtree(self) -> str:
        """The mirrored subtree."""
        return self.cache.subtree

    @property
    def epoch(self) -> str | None:
        """Epoch of the server the data came from (``None`` before the first snapshot)."""
        with self._lock:
            return self.cache.epoch

    def get(self, key: str, default: Any = None) -> Any:
        """Return the decoded value of ``key``, or ``default`` if absent."""
        with self._lock:
            return self.cache.get(key, default)

    def contents(self) -> dict[str, Any]:
        """Return a ``key -> decoded value`` copy of the local map."""
        with self._lock:
            return {key: entry.value for key, entry in self.cache.data.items()}

    def raw_contents(self) -> dict[str, bytes]:
        """Return a ``key -> packed value`` copy of the local map."""
        with self._lock:
            return self.cache.contents()

    def add_callback(self, prefix: str, callback: ChangeCallback) -> None:
        """Call ``callback(key, value_or_None)`` (in the I/O thread) on every change under ``prefix``."""
        with self._lock:
            self.cache.add_callback(prefix, callback)

    def remove_callback(self, prefix: str, callback: ChangeCallback) -> None:
        """Remove a callback registered with :meth:`add_callback`."""
        with self._lock:
            self.cache.remove_callback(prefix, callback)

    def on_epoch_change(self, callback: EpochCallback) -> None:
        """Call ``callback(old_epoch, new_epoch)`` (in the I/O thread) after a snapshot from a new server epoch.

        Not called for the first snapshot. Exceptions are logged, never propagated.
        """
        with self._lock:
            self._epoch_callbacks.append(callback)

    def wait_synced(self, timeout: float | None = None) -> bool:
        """Wait until the cache is live (a snapshot was received); return whether it is."""
        return self._synced.wait(timeout)

    @property
    def synced(self) -> bool:
        """True while the cache is live."""
        return self._synced.is_set()

    def start(self) -> KVSubscriber:
        """Start the background thread (idempotent) and return ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"pyros-kv-sub{self.subtree}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and close its sockets.

        Args:
            timeout: Seconds to wait for the thread.
        """
        self._stopping.set()
        self._wakeup.wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    close = stop

    def __enter__(self) -> KVSubscriber:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ I/O thread

    def _new_dealer(self, old: zmq.Socket | None) -> zmq.Socket:
        if old is not None:
            old.close(linger=0)
        dealer = self._context.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.setsockopt(zmq.RCVHWM, 0)
        dealer.connect(self.snapshot_endpoint)
        return dealer

    def _run(self) -> None:
        sub = self._context.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVHWM, 0)
        sub.setsockopt(zmq.SUBSCRIBE, self.subtree.encode("utf-8"))
        if self.subtree:
            sub.setsockopt(zmq.SUBSCRIBE, HUGZ)
        sub.connect(self.publisher_endpoint)
        dealer: zmq.Socket | None = None
        poller = zmq.Poller()
        poller.register(sub, zmq.POLLIN)
        poller.register(self._wakeup.fileno(), zmq.POLLIN)
        # Ask for a snapshot only once the SUB socket has received something (the
        # subscription is then known to be active on the server) or after
        # ``silence`` seconds at the latest: updates published between the snapshot
        # and the subscription taking effect would otherwise be lost unnoticed (a
        # snapshot asked at the deadline is asked again once the SUB hears anything).
        awaiting: float | None = self._clock() + self.cache.silence
        unconfirmed = False
        try:
            while not self._stopping.is_set():
                deadline = awaiting if awaiting is not None else self.cache.next_tick
                poller.poll(math.ceil(max(0.0, deadline - self._clock()) * 1000.0))
                action: Resync | None = None
                heard = False
                if dealer is not None:
                    action = self._feed(self.cache.on_snapshot, _drain(dealer))
                if action is None:
                    updates = _drain(sub)
                    heard = bool(updates)
                    action = self._feed(self.cache.on_update, updates)
                now = self._clock()
                if awaiting is not None:
                    if heard or now >= awaiting:
                        awaiting = None
                        unconfirmed = not heard
                        dealer = self._request(dealer, poller)
                elif heard and unconfirmed and action is None:
                    # The snapshot was asked before the subscription was known to be
                    # active: ask again now that it is, so nothing can have slipped by.
                    unconfirmed = False
                    dealer = self._request(dealer, poller)
                elif action is None and now >= self.cache.next_tick:
                    with self._lock:
                        action = self.cache.tick(now)
                if action is not None:
                    # Said once when a live cache loses the server; a server that stays away
                    # (silence after silence) is not worth a line every few seconds.
                    log.log(logging.INFO if self._synced.is_set() else logging.DEBUG,
                            "K/V subscriber%s resync (%s)", f" {self.subtree}" if self.subtree else "",
                            action.reason)
                    self._synced.clear()
                    if action.reason == "silence":  # wait to hear from a (restarted) server first
                        awaiting = now + self.cache.silence
                    else:
                        awaiting = None
                        unconfirmed = False
                        dealer = self._request(dealer, poller)
                self._drain_wake()
        except Exception:  # noqa: BLE001 - report, never die silently
            log.exception("K/V subscriber thread failed")
        finally:
            self._synced.clear()
            sub.close(linger=0)
            if dealer is not None:
                dealer.close(linger=0)
            self._wakeup.close()

    def _feed(self, handler: Callable[[list[bytes], float], Resync | None],
              messages: list[list[bytes]]) -> Resync | None:
        """Pass messages to the cache, in one hold of the lock; run epoch callbacks after a snapshot from a new epoch.

        Messages after one that asks for a resync are dropped: they were sent
        before the snapshot the resync asks for, which covers them.
        """
        if not messages:
            return None
        with self._lock:
            now = self._clock()
            action = None
            for frames in messages:
                action = handler(frames, now)
                if action is not None:
                    break
            live = self.cache.state is CacheState.LIVE
            epoch = self.cache.epoch
            old = self._known_epoch
            changed = live and epoch is not None and epoch != old
            if changed:
                self._known_epoch = epoch
            callbacks = list(self._epoch_callbacks) if changed and old is not None else []
        if action is None and live:
            self._synced.set()
        if changed:
            log.info("K/V server epoch is now %s (was %s)", epoch, old)
        for callback in callbacks:
            try:
                callback(old, epoch)  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001 - a callback must not break the subscriber
                log.exception("K/V epoch-change callback failed")
        return action

    def _request(self, dealer: zmq.Socket | None, poller: zmq.Poller) -> zmq.Socket:
        """Recreate the snapshot DEALER (dropping any half-received snapshot) and send ICANHAZ?."""
        self._synced.clear()
        if dealer is not None:
            poller.unregister(dealer)
        dealer = self._new_dealer(dealer)
        poller.register(dealer, zmq.POLLIN)
        with self._lock:
            request = self.cache.request_snapshot(self._clock())
        dealer.send_multipart(request, zmq.NOBLOCK)
        return dealer

    def _drain_wake(self) -> None:
        self._wakeup.drain()
