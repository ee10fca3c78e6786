"""The K/V (Clone, 12/CHP) server: a thin pyzmq shell around :class:`pyros.kv.store.CloneStore`.

It binds three sockets:

* snapshot (ROUTER): answers ``ICANHAZ?`` with KVSYNCs and a KTHXBAI;
* publisher (XPUB): publishes every KVPUB (with a new sequence) and HUGZ, and
  answers each new subscription with a HUGZ at once (so a subscriber knows its
  subscription is active and asks for its snapshot without delay);
* collector (PULL): receives KVSET commands from :class:`pyros.kv.publisher.KVPublisher`.

The loop polls the three sockets and a wake-up socketpair, drains what is ready,
and calls :meth:`CloneStore.tick` when due (TTL expiries, a HUGZ every interval).
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from typing import Callable

import zmq

from pyros.kv.store import CloneStore
from pyros.multipart import recv_multipart, send_multipart
from pyros.wakeup import Wakeup

log = logging.getLogger(__name__)

DRAIN_LIMIT = 4096
"""Most messages read from one socket per poll before timers are checked again."""


class CloneServer:
    """Own the three Clone sockets and run the store.

    Args:
        snapshot: Endpoint to bind the ROUTER snapshot socket on (port 0 or ``*`` allowed).
        publisher: Endpoint to bind the PUB updates socket on.
        collector: Endpoint to bind the PULL collector socket on.
        hugz_interval: Seconds between two HUGZ (sent busy or idle: subtree subscribers hear only theirs).
        context: ZeroMQ context to use (a new one by default).
        clock: Monotonic clock (injectable for tests).

    Attributes:
        snapshot_endpoint: The snapshot endpoint actually bound.
        publisher_endpoint: The updates endpoint actually bound.
        collector_endpoint: The collector endpoint actually bound.
        store: The sans-I/O store.
    """

    def __init__(self, snapshot: str, publisher: str, collector: str, *, hugz_interval: float = 1.0,
                 context: zmq.Context | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.store = CloneStore(hugz_interval=hugz_interval, now=clock())
        self._own_context = context is None
        self.context: zmq.Context = context or zmq.Context()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._closed = False
        self._running = False
        self._sockets: list[zmq.Socket] = []
        try:
            self._router = self._bind(zmq.ROUTER, snapshot)
            self._pub = self._bind(zmq.XPUB, publisher)
            self._pub.setsockopt(zmq.XPUB_VERBOSE, 1)  # every subscriber's subscription, not only the first
            self._pull = self._bind(zmq.PULL, collector)
        except BaseException:
            self._close_sockets()
            raise
        self.snapshot_endpoint = self._router.getsockopt_string(zmq.LAST_ENDPOINT)
        self.publisher_endpoint = self._pub.getsockopt_string(zmq.LAST_ENDPOINT)
        self.collector_endpoint = self._pull.getsockopt_string(zmq.LAST_ENDPOINT)
        self._wakeup = Wakeup()

    def _bind(self, kind: int, endpoint: str) -> zmq.Socket:
        sock = self.context.socket(kind)
        self._sockets.append(sock)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 0)
        sock.setsockopt(zmq.RCVHWM, 0)
        sock.bind(endpoint)
        return sock

    # ------------------------------------------------------------ control

    def start(self) -> CloneServer:
        """Run the server in a daemon thread and return ``self``."""
        self._thread = threading.Thread(target=self.run, name="pyros-kv-server", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to stop (thread- and signal-safe); join the thread if :meth:`start` made one.

        Args:
            timeout: Seconds to wait for the thread.
        """
        self._stopping.set()
        self._wakeup.wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if thread is None and not self._running:
            self._close()  # never ran: release the ports now

    def install_signal_handlers(self) -> None:
        """Stop cleanly on SIGINT and SIGTERM (main thread only)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop())

    def __enter__(self) -> CloneServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ loop

    def run(self) -> None:
        """Serve until :meth:`stop` is called, then close the sockets."""
        self._running = True
        store = self.store
        clock = self._clock
        router, pub, pull = self._router, self._pub, self._pull
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        poller.register(pull, zmq.POLLIN)
        poller.register(pub, zmq.POLLIN)
        poller.register(self._wakeup.fileno(), zmq.POLLIN)
        noblock = zmq.NOBLOCK
        again = zmq.Again
        log.info("K/V server epoch %s: snapshot %s, updates %s, collector %s", store.epoch,
                 self.snapshot_endpoint, self.publisher_endpoint, self.collector_endpoint)
        try:
            while not self._stopping.is_set():
                timeout = max(0.0, store.next_tick - clock())
                poller.poll(math.ceil(timeout * 1000.0))
                now = clock()
                for _ in range(DRAIN_LIMIT):
                    try:
                        frames = recv_multipart(pull, noblock)
                    except again:
                        break
                    for out in store.handle_set(frames, now):
                        send_multipart(pub, out)
                for _ in range(DRAIN_LIMIT):
                    try:
                        frames = recv_multipart(router, noblock)
                    except again:
                        break
                    for out in store.handle_icanhaz(frames):
                        try:
                            send_multipart(router, out, noblock)
                        except zmq.ZMQError:  # peer gone or unroutable: drop the rest of its snapshot
                            store.drops["snapshot_unsent"] += 1
                            break
                for _ in range(DRAIN_LIMIT):
                    try:
                        subscription = pub.recv(noblock)
                    except again:
                        break
                    for out in store.handle_subscription(subscription):
                        send_multipart(pub, out)
                now = clock()
                if now >= store.next_tick:
                    for out in store.tick(now):
                        send_multipart(pub, out)
                self._drain_wake()
        finally:
            self._close()

    def _drain_wake(self) -> None:
        self._wakeup.drain()

    def _close_sockets(self) -> None:
        for sock in self._sockets:
            sock.close(linger=0)
        self._sockets = []

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._close_sockets()
        self._wakeup.close()
        if self._own_context:
            self.context.term()
        log.info("K/V server stopped; drops: %s", dict(self.store.drops))
