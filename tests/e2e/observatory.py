"""A whole observatory on simulators for end-to-end tests: one `pyros start`, a recorder, the checks.

`start_observatory` writes a site configuration (loopback ports, a temporary SQLite database
holding the demo site with its requests accepted plus a meridian survey, a simulated clock
starting before the night), runs the control host's supervisor on it and waits until every
service is registered. A :class:`Recorder` subscribed to the whole K/V tree timestamps, in
observatory time, every change of the shutter, the telescope's parking, the safety verdict, the
majordome's state and the observer's sessions. The functions at the end turn that record and the
audit log into the figures the tests assert on.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pyros.client import Client
from pyros.clock import Clock, format_instant, parse_instant
from pyros.config import toml_text
from pyros.db.demo_site import load_demo_site
from pyros.db.engine import Database
from pyros.db.migrate import upgrade
from pyros.db.models import (
    Album,
    AuditEntry,
    Device,
    ObservationRequest,
    ObservationSequence,
    ObservingConstraints,
    Plan,
    ScientificProgram,
    Target,
    TimeWindow,
    User,
)
from pyros.db.request_workflow import change_request_status
from pyros.errors import TransportError
from pyros.kv.subscriber import KVSubscriber
from pyros.testing import ManagedProcess, free_endpoint, wait_until

SITE_LONGITUDE_DEG = -115.4637
SITE_LATITUDE_DEG = 31.0442
SITE_ELEVATION_M = 2830.0
NIGHT_SUN_ALTITUDE_DEG = -12.0

MAJORDOME_TOKEN = "e2e-majordome"
ADMIN_TOKEN = "e2e-admin"
"""An admin's token (principal ``tester``): faults, scenarios, acknowledgements."""

SHUTTER_TIME_S = 40.0
"""Observatory seconds the simulated shutter takes to open or close."""
TICK_S = 5.0
"""Observatory seconds between two decisions of the majordome when nothing changes."""
MONITOR_PERIOD_S = 5.0
"""Observatory seconds between two polls of the PLC by the monitor."""
DOME_POLL_S = 2.0
"""Observatory seconds between two looks of the dome's service at its moving shutter."""

SERVICES = ("plc", "monitor", "dome", "telescope", "fw_vis", "fw_nir", "cam_vis", "cam_nir", "observer",
            "scheduler", "majordome")

WATCHED = ("/device/dome/shutter", "/device/telescope/parked", "/env/safety", "/majordome/state",
           "/op/observer/execute", "/schedule/current")


@dataclass(frozen=True)
class NightSettings:
    """What a test chooses of its night.

    Attributes:
        clock_start: Observatory instant (UNIX seconds) the clock shows ``anchor_delay_s`` wall
            seconds after the observatory is launched.
        speed: Observatory seconds per wall second.
        hold_s: The monitor's hold time (observatory seconds).
        plc_scenario: A scenario file the PLC simulator follows, or ``None``.
        scenario_start: Observatory instant the scenario's times count from; the PLC's start by default.
        anchor_delay_s: Wall seconds from the launch to the instant the clock shows ``clock_start``:
            long enough for the services to start, a night then begins at the same observatory
            instant whatever the speed (the clock runs, earlier, from before ``clock_start``).
        service_args: Per service, arguments replacing the harness's (``None``: the service's own default).
    """

    clock_start: float
    speed: float
    hold_s: float = 600.0
    plc_scenario: Path | None = None
    scenario_start: float | None = None
    anchor_delay_s: float = 0.0
    service_args: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """One recorded change: when (observatory seconds), which key, its value (projected, see Recorder)."""

    at: float
    key: str
    value: Any


class Recorder:
    """Timestamps (observatory time) every change of the watched keys, from the K/V store.

    Values are projected to what the checks need: ``/env/safety`` to ``(safe, culprit, clear)``
    (``clear``: no reason left, the hold running), ``/majordome/state`` to its state,
    ``/op/observer/execute`` to the session map itself, ``/schedule/current`` to its id.
    """

    def __init__(self, snapshot: str, publisher: str, clock: Clock) -> None:
        self.clock = clock
        self.changes: list[Change] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self._last: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.subscriber = KVSubscriber(snapshot, publisher)
        for key in WATCHED:
            self.subscriber.add_callback(key, self._changed)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.subscriber.stop()

    @staticmethod
    def project(key: str, value: Any) -> Any:
        """The part of a value the checks look at."""
        if key == "/env/safety":
            if not isinstance(value, Mapping):
                return None
            return (value.get("safe") is True, value.get("culprit"), value.get("reasons") == [])
        if key == "/majordome/state":
            return value.get("state") if isinstance(value, Mapping) else None
        if key == "/schedule/current":
            return value.get("id") if isinstance(value, Mapping) else None
        if key == "/op/observer/execute":
            if not isinstance(value, Mapping):
                return None
            data = value.get("data") if isinstance(value.get("data"), Mapping) else {}
            return (value.get("session"), value.get("status"), data.get("sequence_id"), data.get("outcome"),
                    data.get("reason"))
        return value

    def _changed(self, key: str, value: Any) -> None:
        now = self.clock.now()
        projected = self.project(key, value)
        with self._lock:
            if key == "/op/observer/execute" and isinstance(value, Mapping) and value.get("session"):
                self.sessions[str(value["session"])] = dict(value)
            if key in self._last and self._last[key] == projected:
                return
            self._last[key] = projected
            self.changes.append(Change(now, key, projected))

    def history(self, key: str) -> list[Change]:
        """The changes of one key, in time order."""
        with self._lock:
            return [c for c in self.changes if c.key == key]

    def current(self, key: str) -> Any:
        """The latest projected value of a key (``None`` if never seen)."""
        with self._lock:
            return self._last.get(key)

    def all_sessions(self) -> list[dict[str, Any]]:
        """The latest state of every observer session seen."""
        with self._lock:
            return list(self.sessions.values())

    def finished_sessions(self) -> list[dict[str, Any]]:
        """The observer's sessions seen done, in the order they started."""
        with self._lock:
            done = [s for s in self.sessions.values() if s.get("status") == "done"]
        return sorted(done, key=lambda s: float(s.get("start_time") or 0.0))


@dataclass
class Observatory:
    """A running observatory: its configuration, clock, night, database, recorder, an admin's client, and the
    endpoints (``broker``, ``snapshot``, ``publisher``, ``collector``)."""

    config: Path
    clock: Clock
    night: tuple[float, float]
    database: Database
    recorder: Recorder
    client: Client
    settings: NightSettings
    log_dir: Path
    endpoints: dict[str, str] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def now(self) -> float:
        """Observatory time now."""
        return self.clock.now()

    def wait_for_time(self, instant: float, what: str, slack_s: float = 30.0) -> None:
        """Wait (an event-free wait on the clock) until observatory time reaches ``instant``."""
        wall = max(0.0, self.clock.wall_delay(instant - self.clock.now()))
        wait_until(lambda: self.clock.now() >= instant, timeout=wall + slack_s, interval=0.05, what=what)

    def state(self) -> str | None:
        """The majordome's state as last recorded."""
        return self.recorder.current("/majordome/state")

    def audit(self, action: str) -> list[tuple[float, dict[str, Any]]]:
        """Audit entries of ``action`` as (observatory seconds, details), in order."""
        with self.database.session() as session:
            rows = session.execute(select(AuditEntry.at, AuditEntry.details).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)).all()
        return [(_seconds(at), dict(details)) for at, details in rows]

    def commands(self, service: str, command: str) -> list[float]:
        """When the majordome sent ``service command`` (observatory seconds), from the audit log."""
        return [at for at, details in self.audit("majordome.command")
                if details.get("service") == service and details.get("command") == command]

    def logs(self, name: str) -> str:
        """A service's log so far (for failure messages)."""
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else f"(no log {path})"


def _seconds(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def night_of(clock_start: float) -> tuple[float, float]:
    """The night containing or following ``clock_start`` at the test site, UNIX seconds."""
    from astropy.coordinates import EarthLocation
    import astropy.units as u

    from pyros.astro import Sky

    sky = Sky(EarthLocation(lon=SITE_LONGITUDE_DEG * u.deg, lat=SITE_LATITUDE_DEG * u.deg,
                            height=SITE_ELEVATION_M * u.m), NIGHT_SUN_ALTITUDE_DEG)
    night = sky.night(clock_start)
    if night.start is None or night.end is None:
        raise ValueError(f"no night after {format_instant(clock_start)} at the test site")
    return float(night.start.unix), float(night.end.unix)


def write_scenario(path: Path, duration_s: float, events: list[tuple[float, dict[str, Any]]]) -> Path:
    """A PLC scenario file: ``events`` are (seconds from the PLC's start, action for ``plcSimulator``)."""
    path.write_text(json.dumps([duration_s, *({"time": t, "plcSimulator": action} for t, action in events)]))
    return path


def rain(rate_mm_h: float | None) -> dict[str, Any]:
    """The scenario action setting the WXT520's rain rate (``None``: back to the simulation, dry)."""
    return {"device_name": "WXT520", "value_name": "RainRate", "value": rate_mm_h}


def wind(speed_m_s: float | None) -> dict[str, Any]:
    """The scenario action setting the WXT520's wind speed (``None``: back to the simulation)."""
    return {"device_name": "WXT520", "value_name": "WindSpeed", "value": speed_m_s}


def service_table(settings: NightSettings, archive: Path) -> dict[str, dict[str, Any]]:
    """The control host's services (``class`` and ``args``), with the settings' overrides applied."""
    camera = {"driver": "sim", "archive": str(archive), "min_free_mb": 1.0, "nx": 64, "ny": 64, "readout_s": 2.0,
              "poll_s": 5.0}
    plc: dict[str, Any] = {"driver": "sim", "poll_s": 10.0}
    if settings.plc_scenario is not None:
        plc["scenario"] = str(settings.plc_scenario)
        if settings.scenario_start is not None:
            plc["scenario_start"] = settings.scenario_start
    services: dict[str, dict[str, Any]] = {
        "broker": {"command": ["broker"]},
        "kv": {"command": ["kv"]},
        "plc": {"class": "devices.plc.service:PlcService", "args": plc},
        "monitor": {"class": "servers.monitor:MonitorService", "args": {
            "period_s": MONITOR_PERIOD_S, "plc_timeout_s": 0.25, "stale_after_s": 60.0, "silent_after_s": 30.0,
            "hold_s": settings.hold_s, "hold_at_start": True, "history_every_s": 0.0}},
        "dome": {"class": "devices.dome.service:DomeService", "args": {
            "driver": "sim", "rotation_speed_deg_s": 6.0, "shutter_time_s": SHUTTER_TIME_S, "poll_s": DOME_POLL_S}},
        "telescope": {"class": "devices.telescope.service:TelescopeService", "args": {
            "driver": "sim", "slew_rate_deg_s": 3.0, "altitude_limit_deg": 15.0, "poll_s": 2.0}},
        "fw_vis": {"class": "devices.filter_wheel.service:FilterWheelService", "args": {
            "name": "fw_vis", "driver": "sim", "filters": ["g", "r", "i", "z"], "slot_time_s": 2.0, "poll_s": 2.0}},
        "fw_nir": {"class": "devices.filter_wheel.service:FilterWheelService", "args": {
            "name": "fw_nir", "driver": "sim", "filters": ["J", "H", "Ks"], "slot_time_s": 3.0, "poll_s": 2.0}},
        "cam_vis": {"class": "devices.camera.service:CameraService", "args": {"name": "cam_vis", **camera}},
        "cam_nir": {"class": "devices.camera.service:CameraService", "args": {
            "name": "cam_nir", **camera, "filters": {"J": [24.0, 50.0], "H": [23.8, 120.0], "Ks": [23.2, 300.0]}}},
        "observer": {"class": "servers.observer:ObserverService", "args": {
            "token": MAJORDOME_TOKEN, "reply_timeout_s": 10.0, "safety_max_age_s": 300.0}},
        "scheduler": {"class": "servers.scheduler:SchedulerService", "args": {"watch_s": 60.0}},
        "majordome": {"class": "servers.majordome:MajordomeService", "args": {
            "token": MAJORDOME_TOKEN, "tick_s": TICK_S, "safety_stale_s": 120.0, "startup_grace_s": 900.0}},
    }
    for name, overrides in settings.service_args.items():
        if name not in services or "args" not in services[name]:
            raise ValueError(f"no service {name!r} with arguments to override; known: {', '.join(SERVICES)}")
        args = services[name]["args"]
        for key, value in overrides.items():
            if value is None:
                args.pop(key, None)  # the service's own default
            else:
                args[key] = value
    return services


def site_config(tmp_path: Path, settings: NightSettings, anchor: float) -> tuple[Path, dict[str, str]]:
    """Write the site's configuration; return its path and the endpoints."""
    endpoints = {name: free_endpoint() for name in ("broker", "snapshot", "publisher", "collector")}
    archive = tmp_path / "images"
    archive.mkdir(exist_ok=True)
    document = {
        "site": {"name": "PyROS end-to-end site", "longitude_deg": SITE_LONGITUDE_DEG,
                 "latitude_deg": SITE_LATITUDE_DEG, "elevation_m": SITE_ELEVATION_M},
        "astro": {"night_sun_altitude_deg": NIGHT_SUN_ALTITUDE_DEG},
        "broker": {"endpoint": endpoints["broker"], "bind": endpoints["broker"], "heartbeat_interval": 0.5},
        "client": {"timeout": 10.0, "retries": 1},
        "kv": {"snapshot": endpoints["snapshot"], "publisher": endpoints["publisher"],
               "collector": endpoints["collector"], "hugz_interval": 0.2},
        "database": {"url": f"sqlite:///{tmp_path / 'pyros.db'}"},
        "clock": {"mode": "simulated", "start": format_instant(settings.clock_start), "speed": settings.speed,
                  "anchor": anchor},
        "access": {"tokens": {MAJORDOME_TOKEN: "admin", ADMIN_TOKEN: "admin"},
                   "names": {MAJORDOME_TOKEN: "majordome", ADMIN_TOKEN: "tester"}},
        "hosts": {"control": {"services": service_table(settings, archive)}},
    }
    config = tmp_path / "site.toml"
    config.write_text(toml_text(document))
    return config, endpoints


def meridian_field(instant: float) -> tuple[float, float]:
    """(RA, Dec) in degrees of the field at the site's zenith at ``instant``: a target for any date."""
    import pyros.astro  # noqa: F401 - the offline policy before astropy work
    from astropy.time import Time
    import astropy.units as u

    sidereal = Time(instant, format="unix").sidereal_time("apparent", longitude=SITE_LONGITUDE_DEG * u.deg)
    return float(sidereal.deg) % 360.0, SITE_LATITUDE_DEG


@dataclass(frozen=True)
class Survey:
    """The meridian survey added to the demo site.

    Attributes:
        every_s: One sequence per this many seconds of the night, on the field crossing the zenith then.
        sequence_s: Each sequence's planned duration.
        visible: Images and exposure time (s) of its visible album (filter r on ``cam_vis``).
        infrared: Images and exposure time (s) of its near-infrared album (filter J on ``cam_nir``).
    """

    every_s: float = 3600.0
    sequence_s: float = 1200.0
    visible: tuple[int, float] = (8, 120.0)
    infrared: tuple[int, float] = (12, 60.0)


def fill_database(url: str, clock_start: float, night: tuple[float, float], survey: Survey) -> None:
    """The demo site built at the clock's start, its requests accepted, and a meridian survey.

    The survey has one sequence per ``survey.every_s`` of the night, on the field crossing the
    zenith then (so some sequence can run at any moment, whatever the date), each with a visible
    and a near-infrared album exposed in parallel.
    """
    database = Database(url)
    upgrade(database)
    built = datetime.fromtimestamp(clock_start, tz=timezone.utc)
    with database.transaction() as session:
        load_demo_site(session, now=built)
        for request in session.scalars(select(ObservationRequest).order_by(ObservationRequest.id)):
            if request.status == "draft":
                change_request_status(session, request.id, "submitted", actor="e2e", now=built)
            if request.status == "submitted":
                change_request_status(session, request.id, "accepted", actor="e2e", now=built)
        user = session.scalars(select(User).where(User.username == "bruno")).one()
        program = session.scalars(select(ScientificProgram).where(ScientificProgram.name == "Variable stars")).one()
        cameras = {d.name: d for d in session.scalars(select(Device).where(Device.kind == "camera"))}
        window = TimeWindow(start_at=datetime.fromtimestamp(night[0], tz=timezone.utc),
                            end_at=datetime.fromtimestamp(night[1], tz=timezone.utc))
        sequences = []
        instant, index = night[0] + 0.5 * survey.every_s, 1
        while instant < night[1]:
            ra, dec = meridian_field(instant)
            target = Target(name=f"Meridian {index}", ra_deg=ra, dec_deg=dec)
            constraints = ObservingConstraints(priority=1.0, max_airmass=1.6, min_moon_distance_deg=10.0,
                                               time_windows=[TimeWindow(start_at=window.start_at,
                                                                        end_at=window.end_at)])
            albums = [Album(name=f"Meridian {index} visible", detector=cameras["cam_vis"],
                            plans=[Plan(name=f"r x{survey.visible[0]}", filter_name="r",
                                        exposure_s=survey.visible[1], image_count=survey.visible[0])]),
                      Album(name=f"Meridian {index} near-infrared", detector=cameras["cam_nir"],
                            plans=[Plan(name=f"J x{survey.infrared[0]}", filter_name="J",
                                        exposure_s=survey.infrared[1], image_count=survey.infrared[0])])]
            sequences.append(ObservationSequence(name=f"Meridian {index}", target=target,
                                                 planned_duration_s=survey.sequence_s, constraints=constraints,
                                                 albums=albums))
            instant += survey.every_s
            index += 1
        request = ObservationRequest(name="Meridian survey", user=user, program=program, sequences=sequences)
        session.add(request)
        session.flush()
        change_request_status(session, request.id, "submitted", actor="e2e", now=built)
        change_request_status(session, request.id, "accepted", actor="e2e", now=built)
    database.dispose()


@contextmanager
def start_observatory(tmp_path: Path, settings: NightSettings, survey: Survey = Survey()) -> Iterator[Observatory]:
    """Start the whole control host with `pyros start`; stop it (and check it stopped cleanly) after."""
    night = night_of(settings.clock_start)
    url = f"sqlite:///{tmp_path / 'pyros.db'}"
    fill_database(url, settings.clock_start, night, survey)
    anchor = time.time() + settings.anchor_delay_s
    config, endpoints = site_config(tmp_path, settings, anchor)
    clock = Clock.simulated(settings.clock_start, settings.speed, anchor)
    log_dir = tmp_path / "logs"
    supervisor = ManagedProcess([sys.executable, "-m", "pyros", "--config", str(config), "start", "--log-dir",
                                 str(log_dir)])
    database = Database(url)
    try:
        with Recorder(endpoints["snapshot"], endpoints["publisher"], clock) as recorder, \
                Client(endpoints["broker"], token=ADMIN_TOKEN, timeout=10.0, retries=1) as client:
            def all_registered() -> bool:
                try:
                    return all(client.service_exists(name, timeout=1.0, retries=0) for name in SERVICES)
                except TransportError:
                    return False

            wait_until(all_registered, timeout=90, interval=0.1, what="every service registered")
            yield Observatory(config, clock, night, database, recorder, client, settings, log_dir, endpoints)
    finally:
        database.dispose()
        status = supervisor.stop(timeout=60)
        if status != 0:
            print(f"the supervisor exited with status {status}", file=sys.stderr)


# --------------------------------------------------------------------------------- the checks


def value_at(changes: list[Change], instant: float, default: Any = None) -> Any:
    """The value a key had at ``instant`` (its last change at or before it)."""
    value = default
    for change in changes:
        if change.at > instant:
            break
        value = change.value
    return value


@dataclass(frozen=True)
class Exposure:
    """A stretch during which the site was unsafe while the shutter was not closed.

    Attributes:
        start: When it began (the site turned unsafe, or the shutter left ``closed`` while unsafe).
        end: When it ended (the shutter closed, or the site became safe).
        opened_while_unsafe: The shutter left ``closed`` while the site was unsafe.
    """

    start: float
    end: float
    opened_while_unsafe: bool

    @property
    def seconds(self) -> float:
        """How long, observatory seconds."""
        return self.end - self.start


def unsafe_exposures(recorder: Recorder, until: float) -> list[Exposure]:
    """Every stretch, up to ``until``, with the site unsafe (or not yet judged) and the shutter not closed.

    Counted from the dome's first report of its shutter; a missing verdict counts as unsafe.
    """
    shutter = recorder.history("/device/dome/shutter")
    safety = recorder.history("/env/safety")
    if not shutter:
        return []
    instants = sorted({c.at for c in shutter + safety if shutter[0].at <= c.at <= until} | {until})
    exposures: list[Exposure] = []
    start: float | None = None
    opened = False
    previous_shutter: Any = None
    for instant in instants:
        verdict = value_at(safety, instant)
        position = value_at(shutter, instant)
        unsafe = not (isinstance(verdict, tuple) and verdict[0])
        exposed = unsafe and position != "closed"
        if exposed and start is None:
            start = instant
            opened = previous_shutter == "closed"
        elif not exposed and start is not None:
            exposures.append(Exposure(start, instant, opened))
            start = None
        previous_shutter = position
    if start is not None:
        exposures.append(Exposure(start, until, opened))
    return exposures


def recommanded_closes(observatory: Observatory, slack_s: float) -> list[float]:
    """Dome close commands sent while the shutter had been ``closed`` for longer than ``slack_s``."""
    shutter = observatory.recorder.history("/device/dome/shutter")
    wrong = []
    for at in observatory.commands("dome", "close"):
        closed_since = None
        for change in shutter:
            if change.at > at:
                break
            closed_since = change.at if change.value == "closed" else None
        if closed_since is not None and at - closed_since > slack_s:
            wrong.append(at)
    return wrong


def unsafe_episodes(recorder: Recorder) -> list[tuple[float, float | None]]:
    """(turned unsafe, safe again or ``None``) for every episode after the first safe verdict."""
    episodes: list[tuple[float, float | None]] = []
    seen_safe = False
    began: float | None = None
    for change in recorder.history("/env/safety"):
        safe = isinstance(change.value, tuple) and change.value[0]
        if safe and not seen_safe:
            seen_safe = True
        if not seen_safe:
            continue
        if not safe and began is None:
            began = change.at
        elif safe and began is not None:
            episodes.append((began, change.at))
            began = None
    if began is not None:
        episodes.append((began, None))
    return episodes


def clear_since(recorder: Recorder, safe_again: float) -> float | None:
    """When the last reason went away before the site became safe again at ``safe_again`` (the hold's start)."""
    cleared = None
    for change in recorder.history("/env/safety"):
        if change.at > safe_again:
            break
        value = change.value
        if not isinstance(value, tuple) or value[0]:
            continue
        reasons_left = not value[2]
        if reasons_left:
            cleared = None
        elif cleared is None:
            cleared = change.at
    return cleared


def executions_started_after(recorder: Recorder, instant: float) -> list[dict[str, Any]]:
    """The observer's sessions that started after ``instant`` (observatory seconds)."""
    return [s for s in recorder.all_sessions() if float(s.get("start_time") or 0.0) > instant]


def unexplained_sequences(observatory: Observatory, until: float) -> list[str]:
    """Sequences the night's plans gave up on (or meant to run before ``until``) without a reason.

    A sequence of an accepted request that is not ``executed`` is explained by a reason of the
    latest schedule (``unplaced``), or by an observer session that ended with a reason for it.
    Sequences the latest schedule means to finish after ``until``, and the one executing, are not due yet.
    """
    current = observatory.client.call("scheduler", "current")
    reasons: dict[int, str] = {}
    for item in (current or {}).get("unplaced", []):
        if item.get("reason"):
            reasons[int(item["sequence_id"])] = str(item["reason"])
    later = {int(e["sequence_id"]) for e in (current or {}).get("entries", [])
             if parse_instant(e["end"]) > until}
    for finished in observatory.recorder.finished_sessions():
        data = finished.get("data") or {}
        if isinstance(data.get("sequence_id"), int) and data.get("reason"):
            reasons.setdefault(data["sequence_id"], str(data["reason"]))
    missing = []
    with observatory.database.session() as db:
        rows = db.execute(select(ObservationSequence.id, ObservationSequence.name, ObservationSequence.status)
                          .join(ObservationRequest)
                          .where(ObservationRequest.status.in_(("accepted", "executing", "completed", "failed")))).all()
    for sequence_id, name, status in rows:
        if status in ("executed", "executing") or sequence_id in reasons or sequence_id in later:
            continue
        missing.append(f"#{sequence_id} {name} ({status})")
    return missing


def describe(observatory: Observatory) -> str:
    """A summary of the record, for assertion messages."""
    lines = []
    for change in observatory.recorder.changes:
        if change.key == "/schedule/current":
            continue
        lines.append(f"{format_instant(change.at)[11:19]} {change.key} {change.value}")
    return "\n".join(lines[-150:])
