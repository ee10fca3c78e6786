"""The handle an operation receives to report progress and notice aborts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pyros.errors import MessageError
from pyros.messages import pack, unpack
from pyros.service.session_state import SessionState


class Session:
    """What an ``@operation`` method gets as its ``session`` argument.

    Example::

        @operation(level="operator")
        def open(self, session: Session, speed: float = 1.0) -> dict:
            for step in range(10):
                if session.stop_requested:
                    return {"aborted_at": step}
                session.update(progress=step / 10, message="opening")
                session.sleep(0.1)
            return {"shutter": "open"}

    The methods are thread-safe; an operation may hand the session to helper
    threads.
    """

    def __init__(self, state: SessionState) -> None:
        """Wrap the framework's record of the session.

        Args:
            state: The session's state, owned by the runtime.
        """
        self._state = state

    @property
    def id(self) -> str:
        """The session id, ``<instance>/<...>``."""
        return self._state.id

    @property
    def op(self) -> str:
        """The name of the operation this session runs."""
        return self._state.op

    @property
    def stop_requested(self) -> bool:
        """Whether an ``abort`` was requested; the operation should return or raise soon."""
        return self._state.stop_event.is_set()

    @property
    def data(self) -> dict[str, Any]:
        """A copy of the progress data published so far."""
        return dict(self._state.snapshot()["data"])

    def update(self, values: Mapping[str, Any] | None = None, /, **data: Any) -> None:
        """Merge values into the session's ``data`` and announce the change.

        Every update wakes the clients blocked in ``wait``, which receive the
        session dict as a PARTIAL, and calls the runtime's session-change
        hook. Updates arriving faster than a client reads may be coalesced:
        each PARTIAL carries the latest state. Updates after the session is
        done are dropped.

        Args:
            values: Values to merge, as a mapping with string keys.
            **data: Values to merge, as keywords (e.g. ``progress=0.5``).

        Raises:
            TypeError: If a key is not a string or a value cannot be sent
                with msgpack.
        """
        merged: dict[str, Any] = dict(values or {})
        merged.update(data)
        for key in merged:
            if not isinstance(key, str):
                raise TypeError(f"session data keys must be strings, got {key!r}")
        try:
            wire = unpack(pack(merged))
        except (TypeError, ValueError, OverflowError, MessageError) as exc:
            raise TypeError(f"session data must be msgpack-serialisable: {exc}") from exc
        self._state.update_data(wire)

    def sleep(self, seconds: float) -> bool:
        """Sleep for ``seconds`` of wall time, returning early when an abort is requested.

        Args:
            seconds: How long to sleep (a finite number, negative means 0).

        Returns:
            True when an abort was requested (immediately if it already was),
            False when the full time elapsed.

        Raises:
            ValueError: If ``seconds`` is not a finite number.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
            raise ValueError(f"sleep needs a finite number of seconds, got {seconds!r}")
        return self._state.stop_event.wait(max(0.0, float(seconds)))

    def __repr__(self) -> str:
        """Return the session id and operation."""
        return f"Session({self.id!r}, op={self.op!r})"
