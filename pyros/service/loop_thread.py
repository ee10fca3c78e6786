"""A service's background loop: one daemon thread, started by ``on_start`` and stopped by ``on_stop``.

The monitor's poll, the scheduler's watcher, the majordome's ticks and the PLC's poll each run a
loop beside the requests. :class:`LoopThread` owns that thread and the event that asks it to stop;
the loop itself checks :attr:`LoopThread.stopping` (usually by waiting on it until its next step).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0
"""Wall seconds :meth:`LoopThread.stop` waits for the loop to end, by default."""


class LoopThread:
    """The thread of one background loop.

    Args:
        name: The thread's name (``monitor-poll``), as shown in thread dumps.
        what: What the loop is, for the warning when it does not stop in time (``the monitor's poll``).
        stop_timeout_s: Wall seconds :meth:`stop` waits for the loop to end (> 0).

    Raises:
        ValueError: For a timeout that is not positive.
    """

    def __init__(self, name: str, what: str, stop_timeout_s: float = STOP_TIMEOUT_S) -> None:
        if not stop_timeout_s > 0:
            raise ValueError(f"stop_timeout_s must be > 0, got {stop_timeout_s!r}")
        self.name = name
        self.what = what
        self.stop_timeout_s = float(stop_timeout_s)
        self.stopping = threading.Event()
        """Set when the loop is asked to end; the loop waits on it between its steps."""
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the loop's thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self, target: Callable[[], None]) -> None:
        """Run ``target`` in a new daemon thread (it should return soon after :attr:`stopping` is set).

        Raises:
            RuntimeError: While a previous loop still runs.
        """
        if self.running:
            raise RuntimeError(f"{self.what} is already running")
        self.stopping.clear()
        self._thread = threading.Thread(target=target, daemon=True, name=self.name)
        self._thread.start()

    def stop(self) -> bool:
        """Ask the loop to end and wait for it (at most ``stop_timeout_s``); whether it ended.

        A loop that does not end in time is left behind (it is a daemon thread) with a warning.
        Stopping a loop that never started does nothing (True); called from the loop itself, it only
        asks (False: the loop has not ended yet).
        """
        self.stopping.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        if thread is threading.current_thread():
            return False
        thread.join(self.stop_timeout_s)
        if thread.is_alive():
            log.warning("%s did not stop within %g s", self.what, self.stop_timeout_s)
            return False
        return True
