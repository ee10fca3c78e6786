"""The ``majordome`` service: the conductor of the observatory (``docs/majordome.md``).

A thin shell around :class:`pyros.majordome.conductor.Conductor`: a K/V
subscriber keeps the live state; a thread ticks the conductor on every multiple
of ``tick_s`` observatory seconds, and at once when the safety verdict, a device
state, the observer's session or the schedule changes; it sends the
conductor's commands with the majordome's token, reports failures back,
writes every transition and alarm to the audit log and publishes them::

    /majordome/state        {state, mode, paused, maintenance, since, reason, time}
    /majordome/mode         "auto" | "manual"
    /majordome/alarm        {alarms: [{device, reason, at}], time}
    /majordome/transition   {from, to, reason, at}

Commands: ``state``; ``pause`` / ``resume`` (stop or resume handing
sequences over); ``maintenance on=...``; ``acknowledge [device]``;
``acquire_lease`` / ``release_lease`` (MANUAL mode for the lease holder);
``manual service=... command=... [override_reason=...]`` (a device command
from the lease holder, refused while unsafe unless an admin overrides it with
a reason, which is audited).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Annotated, Any

from pyros.client import Client
from pyros.clock import format_instant, get_clock, next_multiple
from pyros.config import active_config
from pyros.db.engine import Database
from pyros.db.migrate import upgrade
from pyros.db.models import AuditEntry
from pyros.errors import PyrosError
from pyros.kv.subscriber import KVSubscriber
from pyros.majordome.conductor import Alarm, Command, Conductor, ConductorSettings
from pyros.majordome.observatory_view import ObservatoryView
from pyros.service import CallContext, Quantity, Refusal, Service, command
from pyros.service.loop_thread import LoopThread
from pyros.service.access import level_allows

if TYPE_CHECKING:
    from pyros.astro import Sky
    from pyros.kv.publisher import KVPublisher

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 5.0
"""Wall seconds to wait for a device's reply to a command (operations reply at once with their session)."""
LeaseSeconds = Annotated[float, Quantity("s", minimum=1.0, maximum=4 * 3600.0)]
_WAKING_PREFIXES = ("/env/safety", "/device/", "/op/", "/schedule/current", "/service/")


class MajordomeService(Service):
    """Opens at night when safe, observes the plan, closes on bad weather and at dawn."""

    service_name = "majordome"
    version = "1.0.0"

    def __init__(self, token: str | None = None, tick_s: float = 1.0, database: str | None = None,
                 safety_stale_s: float = 10.0, **settings: Any) -> None:
        """Check the settings.

        Args:
            token: The token sent with the majordome's own commands (its principal should be
                ``majordome``, see ``[access.names]``).
            tick_s: Observatory seconds between two decisions when nothing changes.
            database: SQLAlchemy URL of the audit log; default ``database.url``.
            safety_stale_s: Observatory seconds after which the monitor's verdict is not trusted.
            **settings: :class:`ConductorSettings` fields (``dome``, ``telescope``, ``observer``, ``scheduler``,
                ``required``, ``prepare_s``, ``close_before_s``, ``command_timeout_s``, ``lookahead_s``).

        Raises:
            ValueError: For an unknown or invalid setting.
        """
        known = set(ConductorSettings.__dataclass_fields__)
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown majordome setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if "required" in settings:
            settings["required"] = tuple(settings["required"])
        for name, value in (("tick_s", tick_s), ("safety_stale_s", safety_stale_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 3600:
                raise ValueError(f"{name} must be a number of seconds in (0, 3600], got {value!r}")
        self.token = token
        self.tick_s = float(tick_s)
        self.safety_stale_s = float(safety_stale_s)
        self.conductor = Conductor(ConductorSettings(**settings))
        self.database = Database(database if database is not None else active_config().database.url)
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._loop = LoopThread("majordome-ticks", "the majordome's ticks")
        self._subscriber: KVSubscriber | None = None
        self._publisher: KVPublisher | None = None
        self._client: Client | None = None
        self._sky: Sky | None = None
        self._night: tuple[float, float] | None = None
        self._night_valid_until = -1.0
        self._since = 0.0
        self._reason = "started"

    # ----------------------------------------------------------------- lifecycle

    def on_kv_publisher(self, publisher: KVPublisher) -> None:
        """Publish ``/majordome/...`` through this publisher."""
        self._publisher = publisher

    def on_start(self) -> None:
        """Open the audit log, subscribe to the live state, start ticking."""
        from pyros.astro import Sky

        config = active_config()
        upgrade(self.database)
        self._sky = Sky.from_config(config)
        self._client = Client(config.broker.endpoint, timeout=COMMAND_TIMEOUT_S, retries=0, token=self.token)
        self._subscriber = KVSubscriber(config.kv.snapshot, config.kv.publisher)
        for prefix in _WAKING_PREFIXES:
            self._subscriber.add_callback(prefix, self._changed)
        self._since = get_clock().now()
        self._loop.start(self._run)

    def on_stop(self) -> None:
        """Stop ticking and close what was opened."""
        self._loop.stopping.set()
        self._wake.set()
        self._loop.stop()
        if self._subscriber is not None:
            self._subscriber.stop()
        if self._client is not None:
            self._client.close()
        self.database.dispose()

    def _changed(self, *_: Any) -> None:
        self._wake.set()

    def _run(self) -> None:
        clock = get_clock()
        if self._subscriber is not None:
            self._subscriber.wait_synced(timeout=5.0)
        while not self._loop.stopping.is_set():
            self._wake.clear()
            try:
                self.tick_once()
            except Exception:  # noqa: BLE001 - one failed tick must not stop the conductor
                log.exception("a majordome tick failed")
            clock.wait_until(self._wake, next_multiple(clock.now(), self.tick_s))

    # ----------------------------------------------------------------- ticks

    def _night_bounds(self, now: float) -> tuple[float, float] | None:
        if now <= self._night_valid_until or self._sky is None:
            return self._night
        night = self._sky.night(now)
        if night.start is None or night.end is None:
            self._night, self._night_valid_until = None, now + 3600.0
        else:
            self._night = (float(night.start.unix), float(night.end.unix))
            self._night_valid_until = self._night[1]
        return self._night

    def tick_once(self) -> None:
        """One decision: read, decide, record, command."""
        now = get_clock().now()
        values = self._subscriber.contents() if self._subscriber is not None else {}
        view = ObservatoryView.from_kv(values, now, dome=self.conductor.settings.dome,
                                       telescope=self.conductor.settings.telescope,
                                       observer=self.conductor.settings.observer, safety_stale_s=self.safety_stale_s)
        with self._lock:
            before = self.conductor.state
            result = self.conductor.tick(now, view, self._night_bounds(now))
        if result.step.transition is not None:
            self._since, self._reason = now, result.step.reason
            self._audit("majordome.transition", {"from": before.value, "to": result.step.state.value,
                                                 "reason": result.step.reason}, now)
            self._set("/majordome/transition", {"from": before.value, "to": result.step.state.value,
                                                "reason": result.step.reason, "at": format_instant(now)})
            log.info("majordome: %s -> %s (%s)", before.value, result.step.state.value, result.step.reason)
        for alarm in result.alarms:
            self._alarm(alarm)
        for order in result.commands:
            self._send(order, now)
        self._publish_state(now)

    def _send(self, order: Command, now: float) -> None:
        self._audit("majordome.command", {"service": order.service, "command": order.command, "args": order.args,
                                          "purpose": order.purpose}, now)
        try:
            if self._client is None:
                raise RuntimeError("not started")
            self._client.call(order.service, order.command, order.args)
        except (PyrosError, RuntimeError, OSError) as exc:
            with self._lock:
                alarm = self.conductor.command_failed(order, f"{type(exc).__name__}: {exc}", now)
            if alarm is not None:
                self._alarm(alarm)
            else:
                log.info("majordome: %s %s refused: %s", order.service, order.command, exc)

    def _alarm(self, alarm: Alarm) -> None:
        log.warning("majordome alarm: %s: %s", alarm.device, alarm.reason)
        self._audit("majordome.alarm", alarm.to_dict(), alarm.at)

    def _audit(self, action: str, details: dict[str, Any], now: float) -> None:
        try:
            with self.database.transaction() as session:
                session.add(AuditEntry(actor="majordome", action=action, subject="majordome",
                                       details=details, at=get_clock().now_datetime()))
        except Exception:  # noqa: BLE001 - the conductor goes on without its log, loudly
            log.exception("the majordome could not write %s to the audit log", action)

    def _set(self, key: str, value: Any) -> None:
        if self._publisher is not None:
            self._publisher.set(key, value)

    def _publish_state(self, now: float) -> None:
        with self._lock:
            state = self._status(now)
        self._set("/majordome/state", {key: state[key] for key in
                                       ("state", "mode", "paused", "maintenance", "since", "reason", "time")})
        self._set("/majordome/mode", state["mode"])
        self._set("/majordome/alarm", {"alarms": state["alarms"], "time": state["time"]})

    def _status(self, now: float) -> dict[str, Any]:
        conductor = self.conductor
        return {"state": conductor.state.value, "mode": conductor.mode.value, "paused": conductor.paused,
                "maintenance": conductor.maintenance, "since": format_instant(self._since), "reason": self._reason,
                "alarms": [a.to_dict() for a in conductor.alarms.values()], "lease": conductor.lease_status(now),
                "time": format_instant(now)}

    def _after_change(self) -> None:
        self._wake.set()

    # ----------------------------------------------------------------- commands

    @command()
    def state(self) -> dict[str, Any]:
        """The state, mode, pause, maintenance flag, alarms and lease (``status`` is the built-in one)."""
        with self._lock:
            return self._status(get_clock().now())

    @command(level="operator")
    def pause(self, call: CallContext) -> dict[str, Any]:
        """Stop handing sequences to the observer (the running one goes on)."""
        return self._flag(call, "paused", True)

    @command(level="operator")
    def resume(self, call: CallContext) -> dict[str, Any]:
        """Hand sequences to the observer again."""
        return self._flag(call, "paused", False)

    @command(level="operator")
    def maintenance(self, call: CallContext, on: bool) -> dict[str, Any]:
        """Enter (``on=true``) or leave maintenance: no automatic action but safety."""
        return self._flag(call, "maintenance", on)

    def _flag(self, call: CallContext, name: str, value: bool) -> dict[str, Any]:
        now = get_clock().now()
        with self._lock:
            setattr(self.conductor, name, value)
        self._audit(f"majordome.{name}", {"value": value, "by": call.principal}, now)
        self._after_change()
        return self.state()

    @command(level="operator")
    def acknowledge(self, call: CallContext, device: str | None = None) -> dict[str, Any]:
        """Clear the alarm of a device (every alarm without ``device``); the observatory may then reopen."""
        now = get_clock().now()
        with self._lock:
            cleared = self.conductor.acknowledge(device)
        if device is not None and not cleared:
            raise Refusal("NotFound", f"no alarm for {device!r}")
        self._audit("majordome.acknowledge", {"devices": cleared, "by": call.principal}, now)
        self._after_change()
        return {"cleared": cleared, **self.state()}

    @command(level="operator")
    def acquire_lease(self, call: CallContext,
                      seconds: LeaseSeconds = 600.0) -> dict[str, Any]:
        """Take (or renew) manual control: the mode becomes MANUAL until released or lapsed."""
        now = get_clock().now()
        try:
            with self._lock:
                lease = self.conductor.acquire_lease(call.principal, seconds, now)
        except PermissionError as exc:
            raise Refusal("LeaseHeld", str(exc)) from None
        self._audit("majordome.lease", {"owner": call.principal, "seconds": seconds}, now)
        self._after_change()
        return lease

    @command(level="operator")
    def release_lease(self, call: CallContext, force: bool = False) -> dict[str, Any]:
        """Give manual control back (an admin may ``force`` it from someone else); the mode returns to AUTO."""
        now = get_clock().now()
        if force and not level_allows(call.level, "admin"):
            raise Refusal("Forbidden", "only an admin may force the release of someone else's lease")
        try:
            with self._lock:
                lease = self.conductor.release_lease(call.principal, now, force=force)
        except PermissionError as exc:
            raise Refusal("LeaseHeld", str(exc)) from None
        self._audit("majordome.lease_released", {"by": call.principal, "force": force}, now)
        self._after_change()
        return lease

    @command(level="operator", timeout=30.0)
    def manual(self, call: CallContext, service: str, command: str,
               override_reason: str | None = None) -> dict[str, Any]:
        """A device command from the lease holder (e.g. ``service=dome command=open``).

        ``open``, ``unpark``, ``slew`` and ``expose`` are refused while unsafe, unless an admin
        gives ``override_reason``; the override is written to the audit log.
        """
        now = get_clock().now()
        values = self._subscriber.contents() if self._subscriber is not None else {}
        view = ObservatoryView.from_kv(values, now, safety_stale_s=self.safety_stale_s)
        with self._lock:
            situation = self.conductor.tick(now, view, self._night_bounds(now)).situation
            try:
                order = self.conductor.manual(call.principal, service, command, situation,
                                              admin=level_allows(call.level, "admin"),
                                              override_reason=override_reason, now_s=now)
            except PermissionError as exc:
                self._audit("majordome.manual_refused", {"service": service, "command": command,
                                                         "by": call.principal, "why": str(exc)}, now)
                raise Refusal("Refused", str(exc)) from None
        self._audit("majordome.manual", {"service": service, "command": command, "by": call.principal,
                                         "override_reason": override_reason}, now)
        config = active_config()
        with Client(config.broker.endpoint, timeout=COMMAND_TIMEOUT_S, retries=0, token=self.token) as client:
            try:
                reply = client.call(order.service, order.command, order.args)
            except PyrosError as exc:
                raise Refusal(type(exc).__name__, str(exc)) from None
        return {"sent": {"service": service, "command": command}, "reply": reply}
