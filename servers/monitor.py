"""The ``monitor`` service: the environment monitor (docs/monitor.md).

Every ``period_s`` observatory seconds, on multiples of it, it reads the PLC's whole status through
its service (``plc read``, one MDP call bounded by ``plc_timeout_s`` wall seconds), judges every
quantity (:mod:`pyros.environment.synthesis`), feeds the safety state machine
(:class:`pyros.environment.tracker.SafetyTracker`) and publishes, in this order:

* ``/env/safety`` = ``{safe, culprit, since, reasons, safe_in_s, time}`` at every poll, so a change
  is published in the poll that sees it;
* ``/env/weather/<quantity>`` and ``/env/site/<quantity>`` = ``{value, unit, meaning, decision,
  sensor, valid, age_s}``.

A PLC that has not answered for ``silent_after_s`` makes the site unsafe (culprit ``plc_silent``);
one that answers with a reading older than ``stale_after_s`` too (culprit ``plc_stale``, before the
quantities, each ``stale``).
Every ``history_every_s`` the valid values are stored in ``environment_history`` in one transaction.
Commands: ``safety``, ``conditions``, ``thresholds``.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from devices.plc.normalise import normalise_status
from devices.plc.status import PlcStatus
from pyros.client import Client
from pyros.clock import format_instant, get_clock, next_multiple
from pyros.config import active_config
from pyros.db.engine import Database
from pyros.db.errors import DatabaseError
from pyros.db.migrate import upgrade
from pyros.db.models import EnvironmentSample
from pyros.environment.readings import Reading
from pyros.environment.settings import MonitorSettings
from pyros.environment.synthesis import STALE, QuantitySynthesis, synthesise_all
from pyros.environment.tracker import SafetyState, SafetyTracker
from pyros.errors import PyrosError
from pyros.service import Service, command
from pyros.service.loop_thread import LoopThread
from servers.monitor_readings import readings_from_status

if TYPE_CHECKING:
    from pyros.kv.publisher import KVPublisher

log = logging.getLogger(__name__)

SAFETY_KEY = "/env/safety"
"""The K/V key of the site's safety."""

StatusReader = Callable[[], PlcStatus]
"""Reads the PLC's status now; raises when it cannot (the monitor counts that as no answer)."""


class PlcServiceReader:
    """Reads the PLC's status through its MDP service (``<plc> read``), one client for the poll thread.

    Args:
        endpoint: The broker's endpoint.
        service: The PLC's service name.
        timeout_s: Wall seconds to wait for the answer (no retry: the next poll is the retry).
        token: Access token sent with the request, if any.
    """

    def __init__(self, endpoint: str, service: str, timeout_s: float, token: str | None = None) -> None:
        self.endpoint = endpoint
        self.service = service
        self.timeout_s = timeout_s
        self.token = token
        self._client: Client | None = None

    def __call__(self) -> PlcStatus:
        """The PLC's status now.

        Raises:
            pyros.errors.PyrosError: When the request fails or the PLC reports a failure.
            devices.plc.problems.InvalidPlcStatus: When the answer is not a valid status.
        """
        if self._client is None:
            self._client = Client(self.endpoint, timeout=self.timeout_s, retries=0, token=self.token)
        try:
            raw = self._client.call(self.service, "read")
        except PyrosError:
            self.close()  # a fresh socket for the next poll
            raise
        return normalise_status(raw)

    def close(self) -> None:
        """Close the client (a new one is opened by the next call)."""
        if self._client is not None:
            self._client.close()
            self._client = None


class MonitorService(Service):
    """The environment monitor: what the weather means, and whether the site is safe."""

    service_name = "monitor"
    version = "1.0.0"

    def __init__(self, plc: str = "plc", period_s: float = 1.0, plc_timeout_s: float = 2.0,
                 stale_after_s: float = 30.0, silent_after_s: float = 10.0, hold_s: float = 1200.0,
                 hold_at_start: bool = True, history_every_s: float = 60.0, database: str | None = None,
                 prefer: list[str] | tuple[str, ...] = (), unsafe_if: dict[str, Any] | None = None,
                 scales: dict[str, Any] | None = None, token: str | None = None,
                 reader: StatusReader | None = None) -> None:
        """Check the settings (nothing is read before the service starts).

        Args:
            plc: The PLC's service name.
            period_s: Observatory seconds between two polls, in (0, 3600].
            plc_timeout_s: Wall seconds to wait for the PLC's answer to a poll.
            stale_after_s: Age of the PLC's reading (observatory seconds) beyond which it is stale.
            silent_after_s: Observatory seconds without an answer after which the PLC is silent.
            hold_s: Observatory seconds everything must stay safe before the site is safe again.
            hold_at_start: Whether the hold also applies after the monitor starts.
            history_every_s: Observatory seconds between two history rows (0: no history).
            database: SQLAlchemy URL of the history; default ``database.url`` of the configuration.
            prefer: Sensor names to believe first.
            unsafe_if: Limits by quantity (``{rain_rate = {above = 0.0}}``), over the defaults.
            scales: Bounds of the words by quantity (``{wind_speed = [8.0, 14.0]}``), over the defaults.
            token: Access token for the PLC's service, if the default level cannot read it.
            reader: Reads the PLC's status (tests); by default the PLC's service through the broker.

        Raises:
            ValueError: For a setting out of range, an unknown quantity or key.
        """
        self.settings = MonitorSettings.from_args(
            plc=plc, period_s=period_s, plc_timeout_s=plc_timeout_s, stale_after_s=stale_after_s,
            silent_after_s=silent_after_s, hold_s=hold_s, hold_at_start=hold_at_start,
            history_every_s=history_every_s, prefer=prefer, unsafe_if=unsafe_if, scales=scales)
        if token is not None and not isinstance(token, str):
            raise ValueError(f"token must be text, got {token!r}")
        self.token = token
        self.database: Database | None = None
        if self.settings.history_every_s > 0:
            self.database = Database(database if database is not None else active_config().database.url)
        self._reader = reader
        self._publisher: KVPublisher | None = None
        self._lock = threading.Lock()
        self._tracker: SafetyTracker | None = None
        self._readings: dict[str, Reading] = {}
        self._measured_at: float | None = None
        self._last_answer: float | None = None
        self._started_at = math.nan
        self._error: str | None = None
        self._syntheses: tuple[QuantitySynthesis, ...] = ()
        self._next_history = -math.inf
        self._loop = LoopThread("monitor-poll", "the monitor's poll")

    # ----------------------------------------------------------------- lifecycle

    def on_kv_publisher(self, publisher: KVPublisher) -> None:
        """Publish ``/env/...`` through this publisher."""
        self._publisher = publisher

    def on_start(self) -> None:
        """Bring the history's schema up to date, publish the initial (unsafe) state, start polling."""
        if self.database is not None:
            upgrade(self.database)
        now = get_clock().now()
        with self._lock:
            self._started_at = now
            self._tracker = SafetyTracker(self.settings.hold_s, now, hold_at_start=self.settings.hold_at_start)
        self._publish(SAFETY_KEY, self._tracker.state.to_dict(format_instant))
        self._loop.start(self._poll_loop)

    def on_stop(self) -> None:
        """Stop polling (waiting at most :data:`~pyros.service.loop_thread.STOP_TIMEOUT_S`), close the database."""
        self._loop.stop()
        if self.database is not None:
            self.database.dispose()

    def _poll_loop(self) -> None:
        clock = get_clock()
        reader = self._reader
        owned: PlcServiceReader | None = None
        if reader is None:
            owned = PlcServiceReader(active_config().broker.endpoint, self.settings.plc, self.settings.plc_timeout_s,
                                     self.token)
            reader = owned
        period = self.settings.period_s
        try:
            while not self._loop.stopping.is_set():
                try:
                    self.poll_once(reader)
                except Exception:  # noqa: BLE001 - a poll that fails unexpectedly must not end the monitoring
                    log.exception("the monitor's poll failed")
                if clock.wait_until(self._loop.stopping, next_multiple(clock.now(), period)):
                    return
        finally:
            if owned is not None:
                owned.close()

    # ----------------------------------------------------------------- one poll

    def poll_once(self, reader: StatusReader) -> SafetyState:
        """Read the PLC once, judge, publish (safety first) and store history when due; the new state.

        Raises:
            RuntimeError: Before the service has started.
        """
        tracker = self._tracker
        if tracker is None:
            raise RuntimeError("the monitor has not started")
        try:
            status: PlcStatus | None = reader()
            error = None
        except Exception as exc:  # noqa: BLE001 - whatever the reason, the PLC did not answer
            status, error = None, f"{type(exc).__name__}: {exc}"
        now = get_clock().now()
        settings = self.settings
        with self._lock:
            if status is not None:
                self._readings = readings_from_status(status, settings.prefer)
                self._measured_at = status.date.timestamp()
                self._last_answer = now
            recovered = status is not None and self._error is not None
            failed = error is not None and self._error is None
            self._error = error
            last = self._last_answer if self._last_answer is not None else self._started_at
            silent_for = now - last
            silent = None
            if error is not None and not silent_for <= settings.silent_after_s:
                silent = f"no answer from {settings.plc} for {silent_for:g} s (limit {settings.silent_after_s:g} s): " \
                         f"{error}"
            syntheses = synthesise_all(self._readings, self._measured_at, now, settings)
            self._syntheses = syntheses
            # every quantity comes from the same reading: the synthesis's staleness is the reading's
            aged = next((s for s in syntheses if s.meaning == STALE), None)
            stale = None if aged is None else \
                f"the reading of {settings.plc} is {aged.age_s:g} s old (limit {settings.stale_after_s:g} s)"
        if failed:
            log.warning("the PLC (%s) does not answer: %s", settings.plc, error)
        if recovered:
            log.warning("the PLC (%s) answers again", settings.plc)
        previous = tracker.state
        state = tracker.update(syntheses, now, silent=silent, stale=stale)
        self._publish(SAFETY_KEY, state.to_dict(format_instant))
        if previous.safe != state.safe:
            log.warning("the site is %s (%s)", "safe" if state.safe else "unsafe",
                        "; ".join(f"{r.quantity}: {r.detail}" for r in state.reasons) or "hold over")
        for synthesis in syntheses:
            self._publish(synthesis.key, synthesis.to_kv())
        if settings.history_every_s > 0 and now >= self._next_history:
            self._next_history = next_multiple(now, settings.history_every_s)
            self._store_history(syntheses)
        return state

    def _publish(self, key: str, value: Any) -> None:
        publisher = self._publisher
        if publisher is None:
            return
        try:
            publisher.set(key, value)
        except Exception:  # noqa: BLE001 - the K/V server being away must not stop the monitoring
            log.warning("could not publish %s", key, exc_info=True)

    def _store_history(self, syntheses: tuple[QuantitySynthesis, ...]) -> None:
        """One row per valid value, measured when the PLC took the status, in one transaction."""
        database, measured_at = self.database, self._measured_at
        if database is None or measured_at is None:
            return
        when = datetime.fromtimestamp(measured_at, tz=timezone.utc)
        rows = [EnvironmentSample(scope=s.scope, quantity=s.quantity, value=float(s.value), unit=s.unit,
                                  sensor=s.sensor, measured_at=when)
                for s in syntheses if s.valid and s.value is not None]
        if not rows:
            return
        try:
            with database.transaction() as session:
                session.add_all(rows)
        except DatabaseError:
            log.warning("could not store %d history rows", len(rows), exc_info=True)

    # ----------------------------------------------------------------- commands

    @command()
    def safety(self) -> dict[str, Any]:
        """Whether the site is safe: safe, culprit, since, reasons, safe_in_s (hold left) and time (ISO 8601)."""
        tracker = self._tracker
        if tracker is None:
            return {"safe": False, "culprit": "no_data", "since": None, "reasons": [], "safe_in_s": None,
                    "time": format_instant(get_clock().now())}
        return tracker.state.to_dict(format_instant)

    @command()
    def conditions(self) -> dict[str, Any]:
        """Every quantity as last judged: value, unit, meaning, decision, sensor, valid, age_s, counts, detail.

        Also ``time`` (of the judgement), ``measured_at`` (when the PLC took the values) and
        ``plc_error`` (the last poll's failure, null when the PLC answered).
        """
        with self._lock:
            syntheses, measured_at, error = self._syntheses, self._measured_at, self._error
        state = self._tracker.state if self._tracker is not None else None
        return {"time": None if state is None else format_instant(state.time),
                "measured_at": None if measured_at is None else format_instant(measured_at),
                "plc_error": error, "quantities": {s.quantity: s.to_dict() for s in syntheses}}

    @command()
    def thresholds(self) -> dict[str, Any]:
        """The effective configuration: periods, stale/silent limits, hold time, each quantity's limit and words."""
        return self.settings.to_dict()
