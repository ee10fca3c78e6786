"""Running a call in its own thread and giving up on it at a deadline."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

IDLE_THREAD_LIFETIME = 30.0
"""Seconds an idle call thread waits for another call before it ends."""


class _CallThread:
    """A daemon thread that runs calls handed to it, then offers itself for the next one."""

    def __init__(self, cache: CallThreadCache) -> None:
        self._cache = cache
        self._inbox: queue.SimpleQueue[tuple[Callable[[], None], str]] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name="pyros-cmd-idle", daemon=True)

    def give(self, task: Callable[[], None], name: str) -> None:
        self._inbox.put((task, name))

    def _loop(self) -> None:
        thread = threading.current_thread()
        while True:
            try:
                task, name = self._inbox.get(timeout=self._cache.idle_lifetime)
            except queue.Empty:
                if self._cache.retire(self):
                    return
                continue  # taken for a call at the last moment: its task is on its way
            thread.name = f"pyros-cmd-{name}"
            try:
                task()
            except BaseException:  # noqa: BLE001 - a task must not end the thread; TimedCall catches its own
                logger.exception("call thread task %s failed", name)
            thread.name = "pyros-cmd-idle"
            self._cache.park(self)


class CallThreadCache:
    """Reusable threads for calls: an idle one when there is one, else a new one.

    A call never waits in a queue behind another (an overrunning call keeps
    its thread and the next call gets a fresh one), yet in steady operation no
    thread is created per call. Threads idle for ``idle_lifetime`` seconds end.

    Args:
        idle_lifetime: Seconds an idle thread waits before it ends.
    """

    def __init__(self, idle_lifetime: float = IDLE_THREAD_LIFETIME) -> None:
        self.idle_lifetime = idle_lifetime
        self._lock = threading.Lock()
        self._idle: list[_CallThread] = []

    def submit(self, task: Callable[[], None], name: str) -> None:
        """Run ``task`` in a thread of its own now.

        Raises:
            RuntimeError: No idle thread and no new one can be started.
        """
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _CallThread(self)
            worker.give(task, name)
            worker.thread.start()
        else:
            worker.give(task, name)

    def park(self, worker: _CallThread) -> None:
        """Offer an idle thread for the next call."""
        with self._lock:
            self._idle.append(worker)

    def retire(self, worker: _CallThread) -> bool:
        """Whether an idle thread may end (False: it was just taken for a call)."""
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
                return True
            return False

    @property
    def idle(self) -> int:
        """Threads waiting for a call."""
        with self._lock:
            return len(self._idle)


_THREADS = CallThreadCache()


class CallTimedOut(Exception):
    """The call did not finish in time; it keeps running, its outcome will be discarded."""


class CallNotStarted(Exception):
    """No thread could be started for the call; it did not run."""


class TimedCall:
    """One call run in a daemon thread of its own, waited for at most a given time.

    The thread comes from a cache of reusable threads (:class:`CallThreadCache`),
    so a call costs a hand-off, not a thread start.

    A Python thread cannot be killed: a call that overruns keeps running
    and its late result (or exception) is logged and discarded. The
    optional hooks let the owner count overrunning calls: ``on_give_up``
    runs when the caller gives up, and ``on_late`` when such a call finally
    ends, always in that order.
    """

    def __init__(
        self,
        func: Callable[[], Any],
        name: str,
        *,
        on_give_up: Callable[[], None] | None = None,
        on_late: Callable[[], None] | None = None,
    ) -> None:
        """Prepare the call.

        Args:
            func: What to run, without arguments.
            name: Describes the call in thread names and log records.
            on_give_up: Called when the wait times out with the call running.
            on_late: Called when a call that was given up on ends.
        """
        self._func = func
        self._name = name
        self._on_give_up = on_give_up
        self._on_late = on_late
        self._done = threading.Event()
        self._state_lock = threading.Lock()
        self._finished = False
        self._given_up = False
        self._value: Any = None
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            self._value = self._func()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            self._error = exc
        finally:
            with self._state_lock:
                self._finished = True
                late = self._given_up
                if late and self._on_late is not None:
                    self._on_late()
            self._done.set()
            if late:
                outcome = f"raised {type(self._error).__name__}: {self._error}" if self._error else "returned"
                logger.warning("%s finished after its timeout and %s; the result is discarded", self._name, outcome)
                self._value = None
                self._error = None

    def run(self, timeout: float) -> Any:
        """Run the call and wait for it.

        Args:
            timeout: Seconds to wait.

        Returns:
            The call's return value.

        Raises:
            CallTimedOut: If it did not finish within ``timeout``.
            CallNotStarted: If no thread can be started (the call did not run).
            BaseException: Whatever the call raised.
        """
        try:
            _THREADS.submit(self._run, self._name)
        except RuntimeError as exc:
            raise CallNotStarted(f"{self._name} could not start: {exc}") from exc
        if not self._done.wait(timeout):
            with self._state_lock:
                if not self._finished:
                    self._given_up = True
                    if self._on_give_up is not None:
                        self._on_give_up()
                    raise CallTimedOut(f"{self._name} did not finish within {timeout:g} s")
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._value
