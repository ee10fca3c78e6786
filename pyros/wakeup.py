"""A self-pipe that wakes a ``zmq.Poller`` from another thread or from a signal handler."""

from __future__ import annotations

import socket


class Wakeup:
    """Register :meth:`fileno` in a poller; :meth:`wake` makes the poll return; :meth:`drain` resets it.

    Both ends are non-blocking: waking never blocks (a full pipe already means "awake"), and
    waking after :meth:`close` is harmless.
    """

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)

    def fileno(self) -> int:
        """The descriptor to register for POLLIN."""
        return self._reader.fileno()

    def wake(self) -> None:
        """Make the poll return (thread- and signal-safe)."""
        try:
            self._writer.send(b"\0")
        except OSError:
            pass

    def drain(self) -> None:
        """Consume pending wake-ups."""
        try:
            while self._reader.recv(4096):
                pass
        except OSError:  # BlockingIOError once empty; closed sockets too
            pass

    def close(self) -> None:
        """Close both ends."""
        self._reader.close()
        self._writer.close()
