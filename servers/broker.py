"""The broker process: a thin pyzmq shell around :class:`pyros.mdp.broker_core.BrokerCore`.

Run it with ``pyros broker --bind tcp://127.0.0.1:5555`` or
``python -m servers.broker --bind ...``. It binds one ROUTER socket for clients
and workers, drains every ready message per poll, feeds the core, sends what the
core returns and calls the core's timer when due. SIGINT and SIGTERM stop it
cleanly: workers are told DISCONNECT and the socket is closed.
"""

from __future__ import annotations

import logging
import math
import signal
import sys
import threading
import time
from typing import Callable

import zmq

from pyros.mdp.broker_core import BrokerCore, BrokerSettings
from pyros.multipart import recv_multipart, send_multipart
from pyros.wakeup import Wakeup

log = logging.getLogger(__name__)

DRAIN_LIMIT = 4096
"""Most messages handled per poll before timers are checked again."""


class BrokerServer:
    """Own the ROUTER socket and run the core.

    Args:
        bind: Endpoints to bind, e.g. ``["tcp://127.0.0.1:5555"]``.
        settings: Broker settings (heartbeats, timeouts, queues).
        context: ZeroMQ context to use (a new one by default).
        clock: Monotonic clock (injectable for tests).
    """

    def __init__(self, bind: list[str] | str, settings: BrokerSettings | None = None,
                 context: zmq.Context | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoints = [bind] if isinstance(bind, str) else list(bind)
        self.settings = settings or BrokerSettings()
        self._own_context = context is None
        self.context = context or zmq.Context()
        self._clock = clock
        self.core = BrokerCore(self.settings, now=clock())
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 100)
        self.socket.setsockopt(zmq.RCVHWM, 0)
        self.socket.setsockopt(zmq.SNDHWM, 0)
        # A message to a peer whose connection is gone raises EHOSTUNREACH instead of
        # vanishing: a dead worker is forgotten at once (BrokerCore.unreachable).
        self.socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.bound: list[str] = []
        for endpoint in self.endpoints:
            self.socket.bind(endpoint)
            self.bound.append(self.socket.getsockopt_string(zmq.LAST_ENDPOINT))
        self._wakeup = Wakeup()
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Ask the loop to stop (thread- and signal-safe)."""
        self._stopping.set()
        self._wakeup.wake()

    def install_signal_handlers(self) -> None:
        """Stop cleanly on SIGINT and SIGTERM (main thread only)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop())

    def run(self) -> None:
        """Serve until :meth:`stop` is called."""
        sock = self.socket
        core = self.core
        clock = self._clock
        send = self._send
        handle = core.handle
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(self._wakeup.fileno(), zmq.POLLIN)
        noblock = zmq.NOBLOCK
        again = zmq.Again
        log.info("broker serving on %s", ", ".join(self.bound))
        try:
            while not self._stopping.is_set():
                now = clock()
                timeout = max(0.0, core.next_tick - now)
                poller.poll(math.ceil(timeout * 1000.0))
                now = clock()  # one reading per batch: liveness is counted in seconds, not microseconds
                for _ in range(DRAIN_LIMIT):
                    try:
                        frames = recv_multipart(sock, noblock)
                    except again:
                        break
                    send(handle(frames, now), now)
                now = clock()
                if now >= core.next_tick:
                    send(core.tick(now), now)
        finally:
            self._close()

    def _send(self, messages: list[list[bytes]], now: float) -> None:
        """Send what the core returned; tell it about peers that are gone, and send its answer too."""
        pending = messages
        while pending:
            unreachable: list[list[bytes]] = []
            for out in pending:
                try:
                    send_multipart(self.socket, out)
                except zmq.ZMQError as exc:
                    if exc.errno != zmq.EHOSTUNREACH:
                        raise
                    unreachable.append(out)
            pending = [out for failed in unreachable for out in self.core.unreachable(failed, now)]

    def _close(self) -> None:
        for out in self.core.shutdown():
            try:
                self.socket.send_multipart(out, zmq.NOBLOCK)
            except zmq.ZMQError:
                pass
        self.socket.close()
        self._wakeup.close()
        if self._own_context:
            self.context.term()
        log.info("broker stopped; drops: %s", dict(self.core.drops))


def main(argv: list[str] | None = None) -> None:
    """Entry point for ``python -m servers.broker`` (same options as ``pyros broker``)."""
    from pyros.cli import main as pyros_main

    pyros_main.main(args=["broker", *(sys.argv[1:] if argv is None else argv)], prog_name="python -m servers.broker")


if __name__ == "__main__":
    main()
