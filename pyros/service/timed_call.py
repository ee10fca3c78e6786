"""Running a call in its own thread and giving up on it at a deadline."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


class CallTimedOut(Exception):
    """The call did not finish in time; it keeps running, its outcome will be discarded."""


class CallNotStarted(Exception):
    """No thread could be started for the call; it did not run."""


class TimedCall:
    """One call run in a daemon thread, waited for at most a given time.

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
        thread = threading.Thread(target=self._run, name=f"pyros-cmd-{self._name}", daemon=True)
        try:
            thread.start()
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
