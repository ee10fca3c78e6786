"""The ``observer`` service: executes one sequence at a time (``docs/observer.md``).

::

    pyros call observer execute sequence_id=12 --wait --token <the majordome's token>
    pyros call observer check sequence_id=12            # the dispatch check alone, nothing moves
    pyros call observer abort session=<id> --token ...  # abort an execution (built-in abort)

``execute`` is an operation (an OCS session, mirrored under ``/op/observer/execute``):

1. **Dispatch check** (:func:`pyros.observing.dispatch.check_dispatch`): the sequence is
   ``planned``; ``/env/safety`` says safe and is fresh; the devices it needs have live services;
   the whole run from now fits in the night and in one of its windows, with the airmass and Moon
   limits met from now to its expected end. A refusal ends the session with a reason code, and a
   sequence whose plan went stale (``night_over``, ``outside_window``, ``below_airmass_limit``,
   ``moon_too_close``) goes back to ``to_be_planned``.
2. The sequence becomes ``executing``; the telescope is unparked if needed and slews to the
   target; the dome is told to follow it and is waited for until its slit faces the telescope.
3. Each camera runs its albums in its own thread (so the visible and near-infrared albums run in
   parallel): for each plan, the filter on the camera's wheel, then the exposures one at a time,
   each recorded as an ``images`` row as soon as the camera stored it. The safety verdict is looked
   at before each exposure.
4. All images taken: ``executed``. Aborted or unsafe: the devices' running operations are aborted
   and the sequence goes back to ``to_be_planned``. A device that failed or did not answer in
   time: ``failed``, naming the device.

The observer moves devices, so its requests carry ``token``, a token whose principal may move them:
the majordome's (``[access.names]`` maps it to ``majordome``).
"""

from __future__ import annotations

import logging
import math
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

from pyros.client import Client
from pyros.clock import Clock, get_clock
from pyros.config import active_config
from pyros.db.engine import Database
from pyros.db.errors import DatabaseError, NotFound
from pyros.db.lifecycle import SequenceStatus
from pyros.db.models import Image, ObservationSequence
from pyros.db.request_workflow import change_sequence_status
from pyros.errors import TransportError
from pyros.kv.subscriber import KVSubscriber
from pyros.observing.device_calls import DeviceCaller
from pyros.observing.dispatch import DispatchRefusal, SafetyVerdict, check_dispatch
from pyros.observing.reasons import Reason, SequenceStopped
from pyros.observing.run_geometry import DEFAULT_STEP_S, run_geometry
from pyros.observing.safety import SAFETY_KEY, safety_verdict
from pyros.observing.sequence_plan import AlbumWork, ExposureStep, SequencePlan, SequencePlanError, load_sequence_plan
from pyros.service import CallContext, Quantity, Refusal, Service, Session, command, operation

if TYPE_CHECKING:
    from pyros.astro import Sky

log = logging.getLogger(__name__)

SequenceId = Annotated[int, Quantity(minimum=1)]

STALE_PLAN_REASONS = frozenset({Reason.NIGHT_OVER, Reason.OUTSIDE_WINDOW, Reason.BELOW_AIRMASS_LIMIT,
                                Reason.MOON_TOO_CLOSE})
"""Refusals that make a planned sequence go back to ``to_be_planned`` (its place in the plan is wrong now)."""

INTERRUPTED_REASONS = frozenset({Reason.ABORTED, Reason.UNSAFE})
"""Early ends after which the sequence goes back to ``to_be_planned``; any other makes it ``failed``."""


def _positive(name: str, value: object, maximum: float = 86400.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 < value <= maximum:
        raise ValueError(f"{name} must be a number in (0, {maximum:g}], got {value!r}")
    return float(value)


def _angle_between(a_deg: float, b_deg: float) -> float:
    """Smallest angle between two azimuths, degrees."""
    return abs((a_deg - b_deg + 180.0) % 360.0 - 180.0)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


class ObserverService(Service):
    """Executes one sequence: slew, dome, filters and exposures of each camera in parallel, images recorded."""

    service_name = "observer"
    version = "1.0.0"

    def __init__(self, token: str | None = None, database: str | None = None, broker: str | None = None,
                 telescope: str = "telescope", dome: str = "dome", follow_dome: bool = True,
                 dome_tolerance_deg: float = 5.0, reply_timeout_s: float = 10.0, slew_timeout_s: float = 600.0,
                 dome_timeout_s: float = 600.0, filter_timeout_s: float = 120.0,
                 readout_allowance_s: float = 120.0, safety_max_age_s: float = 120.0,
                 kv_grace_s: float = 10.0, geometry_step_s: float = DEFAULT_STEP_S) -> None:
        """Check the settings (nothing is opened before the service starts).

        Args:
            token: The token sent with every device request; its principal must be allowed to move the
                devices (the majordome's token, see ``[access.names]``). Without it, devices refuse motion.
            database: SQLAlchemy URL; default ``[database] url``.
            broker: Broker endpoint; default ``[broker] endpoint``.
            telescope: The telescope's service name.
            dome: The dome's service name.
            follow_dome: Whether the dome is made to follow the telescope and waited for.
            dome_tolerance_deg: How far the slit may be from the telescope's azimuth to start exposing.
            reply_timeout_s: Wall seconds a device has to answer one request.
            slew_timeout_s: Observatory seconds a slew may take.
            dome_timeout_s: Observatory seconds the dome may take to face the telescope.
            filter_timeout_s: Observatory seconds a filter change may take.
            readout_allowance_s: Observatory seconds an exposure may take beyond its exposure time.
            safety_max_age_s: Oldest ``/env/safety`` verdict believed (by its ``time`` field), seconds.
            kv_grace_s: Wall seconds the observer waits for its K/V mirror to be live again (after the
                server went quiet) before it takes the safety verdict as unknown, hence unsafe.
            geometry_step_s: Largest gap between the instants of a run checked at dispatch, seconds.

        Raises:
            ValueError: For a value out of range or a blank name, naming it.
        """
        if token is not None and (not isinstance(token, str) or not token):
            raise ValueError("token must be a non-empty string (the majordome's token) or left out")
        for name, value in (("telescope", telescope), ("dome", dome)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must name a device service, got {value!r}")
        if not 0 < dome_tolerance_deg < 90:
            raise ValueError(f"dome_tolerance_deg must be in (0, 90), got {dome_tolerance_deg!r}")
        self.token = token
        self.telescope = telescope
        self.dome = dome
        self.follow_dome = bool(follow_dome)
        self.dome_tolerance_deg = float(dome_tolerance_deg)
        self.reply_timeout_s = _positive("reply_timeout_s", reply_timeout_s, 600.0)
        self.slew_timeout_s = _positive("slew_timeout_s", slew_timeout_s)
        self.dome_timeout_s = _positive("dome_timeout_s", dome_timeout_s)
        self.filter_timeout_s = _positive("filter_timeout_s", filter_timeout_s)
        self.readout_allowance_s = _positive("readout_allowance_s", readout_allowance_s)
        self.safety_max_age_s = _positive("safety_max_age_s", safety_max_age_s)
        self.kv_grace_s = _positive("kv_grace_s", kv_grace_s, 600.0)
        self.geometry_step_s = _positive("geometry_step_s", geometry_step_s, 3600.0)
        config = active_config()
        self.broker = broker if broker is not None else config.broker.endpoint
        self.database = Database(database if database is not None else config.database.url)
        self._sky: Sky | None = None
        self._kv: KVSubscriber | None = None

    # ----------------------------------------------------------------- lifecycle

    def on_start(self) -> None:
        """Build the sky and start mirroring ``/env/`` from the K/V store.

        The sky computes one position now: the first computation of a day costs about half a
        second, better spent at the start than in the first dispatch of the night.
        """
        from pyros.astro import Sky

        config = active_config()
        sky = Sky.from_config(config)
        sky.targets([0.0], [0.0], [get_clock().now()])
        self._sky = sky
        self._kv = KVSubscriber(config.kv.snapshot, config.kv.publisher, "/env/")

    def on_stop(self) -> None:
        """Stop the K/V mirror and close the database."""
        if self._kv is not None:
            self._kv.stop()
            self._kv = None
        self.database.dispose()

    # ----------------------------------------------------------------- helpers

    def client(self) -> Client:
        """A new client to the broker carrying the observer's token (one per thread)."""
        return Client(self.broker, timeout=self.reply_timeout_s, retries=1, token=self.token)

    def safety(self, now_s: float) -> SafetyVerdict:
        """The safety verdict now (unsafe when unknown or stale).

        A mirror resynchronising (the K/V server was quiet for a moment) is waited for, up to
        ``kv_grace_s``, before the verdict is taken as unknown.
        """
        kv = self._kv
        if kv is None:
            return SafetyVerdict(False, "the observer has not started")
        live = kv.synced or kv.wait_synced(self.kv_grace_s)
        return safety_verdict(kv.get(SAFETY_KEY), live=live, now_s=now_s, max_age_s=self.safety_max_age_s)

    def ready_sky(self) -> Sky:
        """The site's sky (refused before the service started)."""
        if self._sky is None:
            raise Refusal("NotStarted", "the observer has not started yet")
        return self._sky

    def _unavailable(self, plan: SequencePlan, client: Client) -> list[str]:
        """The devices the sequence needs that are inactive or have no live service."""
        needed = list(plan.devices())
        if plan.target is not None:
            needed[:0] = [self.telescope] + ([self.dome] if self.follow_dome else [])
        missing = [f"{name} (inactive)" for name in plan.inactive_devices]
        for name in needed:
            try:
                alive = client.service_exists(name, timeout=self.reply_timeout_s, retries=0)
            except TransportError as exc:
                missing.append(f"{name} (the broker did not answer: {exc})")
                continue
            if not alive:
                missing.append(f"{name} (no live service)")
        return missing

    def dispatch_check(self, plan: SequencePlan, client: Client, now_s: float) -> DispatchRefusal | None:
        """The dispatch check of a sequence now (:func:`pyros.observing.dispatch.check_dispatch`)."""
        sky = self.ready_sky()
        constraints = plan.dispatch_constraints()
        from pyros.scheduling.store import NoNight, night_bounds

        try:
            night: tuple[float, float] | None = night_bounds(sky, now_s)
        except NoNight:
            night = None
        geometry = None
        if plan.target is not None and (plan.max_airmass is not None or plan.min_moon_distance_deg is not None):
            geometry = run_geometry(sky, plan.target.ra_deg, plan.target.dec_deg, now_s, plan.duration_s,
                                    self.geometry_step_s)
        unavailable = self._unavailable(plan, client) if constraints.status == "planned" else []
        return check_dispatch(constraints, now_s, night, geometry, self.safety(now_s), unavailable)

    def load_plan(self, sequence_id: int) -> SequencePlan:
        """Read a sequence's plan; a missing or malformed one is a :class:`SequenceStopped` with its reason."""
        try:
            with self.database.session() as session:
                return load_sequence_plan(session, sequence_id)
        except NotFound:
            raise SequenceStopped(Reason.NOT_PLANNED, f"there is no sequence {sequence_id}") from None
        except SequencePlanError as exc:
            raise SequenceStopped(Reason.INVALID_SEQUENCE, str(exc)) from None

    def change_status(self, sequence_id: int, status: SequenceStatus, reason: str) -> str:
        """Move the sequence through the workflow in one transaction; return its status afterwards."""
        with self.database.transaction() as session:
            return change_sequence_status(session, sequence_id, status, actor=self.service_name,
                                          reason=reason[:500]).status

    def current_status(self, sequence_id: int) -> str | None:
        """The sequence's status in the database now."""
        with self.database.session() as session:
            sequence = session.get(ObservationSequence, sequence_id)
            return None if sequence is None else sequence.status

    # ----------------------------------------------------------------- commands

    @command(level="observer", timeout=60.0)
    def check(self, sequence_id: SequenceId) -> dict[str, Any]:
        """Make the dispatch check of a sequence now, without executing it or changing anything.

        Returns ``{"ok": true}`` or ``{"ok": false, "reason": code, "detail": sentence}``.

        Args:
            sequence_id: The sequence.
        """
        now = get_clock().now()
        try:
            plan = self.load_plan(sequence_id)
        except SequenceStopped as exc:
            return {"ok": False, "reason": exc.reason.value, "detail": exc.detail}
        with self.client() as client:
            refusal = self.dispatch_check(plan, client, now)
        return {"ok": True} if refusal is None else {"ok": False, **refusal.to_dict()}

    @operation(level="operator")
    def execute(self, session: Session, call: CallContext, sequence_id: SequenceId) -> dict[str, Any]:
        """Execute a planned sequence: dispatch check, slew, dome, then every album's filters and exposures.

        Progress and the outcome are in the session's ``data`` (``phase``, ``albums``, ``outcome``,
        ``reason``, ``detail``, ``sequence_status``; see docs/observer.md). A refusal or a failure ends
        the session with an error naming the reason code; an abort ends it with the result.

        Args:
            sequence_id: The sequence (it must be ``planned``).
        """
        return SequenceRun(self, session, sequence_id, call.principal).run()


class SequenceRun:
    """One execution of one sequence, in the thread of an ``execute`` session.

    Args:
        observer: The service (settings, database, clients).
        session: The ``execute`` session (progress, abort).
        sequence_id: The sequence.
        principal: Who asked, for the audit log.
    """

    def __init__(self, observer: ObserverService, session: Session, sequence_id: int, principal: str) -> None:
        self.observer = observer
        self.session = session
        self.sequence_id = sequence_id
        self.principal = principal
        self.clock: Clock = get_clock()
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._stopped: SequenceStopped | None = None
        self._albums: dict[str, dict[str, Any]] = {}
        self._images: list[str] = []

    # ----------------------------------------------------------------- outline

    def run(self) -> dict[str, Any]:
        """Check, execute, conclude; return the result or raise a :class:`Refusal` with the reason."""
        self.session.update(sequence_id=self.sequence_id, phase="checking", outcome=None, reason=None, detail=None)
        plan = self._dispatch()
        self._albums = {str(a.album_id): {"name": a.name, "camera": a.camera, "wheel": a.wheel, "done": 0,
                                          "total": a.image_count, "filter": None, "last_image": None}
                        for a in plan.albums}
        try:
            status = self.observer.change_status(self.sequence_id, SequenceStatus.EXECUTING,
                                                 f"observer session {self.session.id}, for {self.principal}")
        except DatabaseError as exc:  # it changed since the check (cancelled, replanned)
            self._refuse(SequenceStopped(Reason.NOT_PLANNED, f"it could not start: {exc}"), None)
        self.session.update(sequence_status=status, images_total=plan.image_count, images_done=0,
                            albums=self._albums, last_image=None)
        log.info("sequence %d '%s' executing (%d images)", plan.sequence_id, plan.name, plan.image_count)
        try:
            self._execute(plan)
        except SequenceStopped as exc:
            self._stop_with(exc)
        except Exception as exc:  # noqa: BLE001 - the sequence must not stay 'executing'
            log.exception("sequence %d: the observer failed", self.sequence_id)
            self._stop_with(SequenceStopped(Reason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"))
        if self.session.stop_requested and self._stopped is None:
            self._stopped = SequenceStopped(Reason.ABORTED, "the execution was aborted")
        return self._conclude()

    def _dispatch(self) -> SequencePlan:
        now = self.clock.now()
        try:
            plan = self.observer.load_plan(self.sequence_id)
        except SequenceStopped as exc:
            self._refuse(exc, None)
        with self.observer.client() as client:
            refusal = self.observer.dispatch_check(plan, client, now)
        if refusal is not None:
            self._refuse(SequenceStopped(refusal.reason, refusal.detail), plan)
        return plan

    def _refuse(self, stopped: SequenceStopped, plan: SequencePlan | None) -> NoReturn:
        """Record a refusal (a stale plan's sequence goes back to be planned) and end the session."""
        status = plan.status if plan is not None else self.observer.current_status(self.sequence_id)
        if plan is not None and stopped.reason in STALE_PLAN_REASONS and plan.status == SequenceStatus.PLANNED.value:
            try:
                status = self.observer.change_status(self.sequence_id, SequenceStatus.TO_BE_PLANNED,
                                                     f"refused at dispatch: {stopped.reason.value}: {stopped.detail}")
            except DatabaseError as exc:
                log.warning("sequence %d: could not put it back to be planned: %s", self.sequence_id, exc)
                status = self.observer.current_status(self.sequence_id)
        self.session.update(phase="refused", outcome="refused", reason=stopped.reason.value, detail=stopped.detail,
                            sequence_status=status)
        log.info("sequence %d refused: %s", self.sequence_id, stopped)
        raise Refusal("Refused", f"{stopped.reason.value}: {stopped.detail}")

    def _conclude(self) -> dict[str, Any]:
        """Write the sequence's final status; return the result, or raise for a failure."""
        stopped = self._stopped
        self.session.update(phase="finishing")
        if stopped is None:
            target, outcome, why = SequenceStatus.EXECUTED, "executed", "all images taken"
        elif stopped.reason in INTERRUPTED_REASONS:
            target, outcome = SequenceStatus.TO_BE_PLANNED, "interrupted"
            why = f"{stopped.reason.value}: {stopped.detail}"
        else:
            target, outcome, why = SequenceStatus.FAILED, "failed", f"{stopped.reason.value}: {stopped.detail}"
        status: str | None
        try:
            status = self.observer.change_status(self.sequence_id, target, why)
        except DatabaseError as exc:  # e.g. its request was cancelled meanwhile: the status is not ours to set
            log.warning("sequence %d: could not record '%s': %s", self.sequence_id, target.value, exc)
            status = self.observer.current_status(self.sequence_id)
        result = {"sequence_id": self.sequence_id, "outcome": outcome,
                  "reason": None if stopped is None else stopped.reason.value,
                  "detail": None if stopped is None else stopped.detail,
                  "device": None if stopped is None else stopped.device,
                  "sequence_status": status, "images": list(self._images)}
        self.session.update(phase="done", outcome=outcome, reason=result["reason"], detail=result["detail"],
                            device=result["device"], sequence_status=status)
        log.info("sequence %d %s (%s), %d images", self.sequence_id, outcome, why, len(self._images))
        if stopped is None or stopped.reason is Reason.ABORTED:
            return result
        kind = "SequenceInterrupted" if outcome == "interrupted" else "SequenceFailed"
        raise Refusal(kind, f"{stopped.reason.value}: {stopped.detail}")

    # ----------------------------------------------------------------- execution

    def _should_stop(self) -> bool:
        return self.session.stop_requested or self._halt.is_set()

    def _stop_with(self, stopped: SequenceStopped) -> None:
        """Keep the first reason to stop (an abort caused by another's failure does not replace it); halt all."""
        with self._lock:
            if self._stopped is None or (self._stopped.reason is Reason.ABORTED and stopped.reason
                                         is not Reason.ABORTED and not self.session.stop_requested):
                self._stopped = stopped
        self._halt.set()

    def _caller(self, client: Client) -> DeviceCaller:
        return DeviceCaller(client, self.clock, reply_timeout_s=self.observer.reply_timeout_s)

    def _execute(self, plan: SequencePlan) -> None:
        observer = self.observer
        if plan.target is not None:
            with observer.client() as client:
                caller = self._caller(client)
                self.session.update(phase="slewing")
                position = caller.command(observer.telescope, "position")
                if isinstance(position, dict) and position.get("parked"):
                    caller.command(observer.telescope, "unpark")
                caller.operation(observer.telescope, "slew",
                                 {"ra": plan.target.ra_deg, "dec": plan.target.dec_deg},
                                 limit_s=observer.slew_timeout_s, should_stop=self._should_stop)
                if observer.follow_dome:
                    self.session.update(phase="dome")
                    self._align_dome(caller)
        self.session.update(phase="exposing")
        threads = [threading.Thread(target=self._camera_thread, args=(plan, camera, albums), daemon=True,
                                    name=f"observer-{camera}")
                   for camera, albums in plan.by_camera().items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _align_dome(self, caller: DeviceCaller) -> None:
        """Make the dome follow the telescope and wait until its slit faces it."""
        observer = self.observer
        caller.command(observer.dome, "follow", on=True)
        deadline = self.clock.now() + observer.dome_timeout_s
        pause = max(0.02, self.clock.wall_delay(1.0))
        while True:
            telescope = caller.command(observer.telescope, "position")
            dome = caller.command(observer.dome, "position")
            apart = _angle_between(float(dome["azimuth_deg"]), float(telescope["azimuth_deg"]))
            self.session.update(dome_offset_deg=round(apart, 2))
            if not dome.get("rotating") and apart <= observer.dome_tolerance_deg:
                return
            if self.clock.now() > deadline:
                raise SequenceStopped(Reason.DEVICE_UNAVAILABLE,
                                      f"{observer.dome} did not face the telescope within "
                                      f"{observer.dome_timeout_s:g} s ({apart:.1f} deg apart)", observer.dome)
            if self.session.sleep(pause) or self._halt.is_set():
                raise SequenceStopped(Reason.ABORTED, "aborted while the dome turned")

    def _camera_thread(self, plan: SequencePlan, camera: str, albums: tuple[AlbumWork, ...]) -> None:
        try:
            with self.observer.client() as client:
                caller = self._caller(client)
                for album in albums:
                    self._expose_album(plan, album, caller)
        except SequenceStopped as exc:
            self._stop_with(exc)
        except Exception as exc:  # noqa: BLE001 - reported as the sequence's failure
            log.exception("sequence %d: camera %s failed", self.sequence_id, camera)
            self._stop_with(SequenceStopped(Reason.INTERNAL_ERROR, f"{camera}: {type(exc).__name__}: {exc}", camera))

    def _expose_album(self, plan: SequencePlan, album: AlbumWork, caller: DeviceCaller) -> None:
        observer = self.observer
        filter_set: str | None = None
        for step in album.steps:
            if step.moves_wheel and album.wheel is not None and step.filter_name != filter_set:
                caller.operation(album.wheel, "set_filter", {"filter": step.filter_name},
                                 limit_s=observer.filter_timeout_s, should_stop=self._should_stop)
                filter_set = step.filter_name
                self._album_progress(album, filter=step.filter_name)
            for _ in range(step.count):
                if self._should_stop():
                    raise SequenceStopped(Reason.ABORTED, f"{album.camera} stopped before an exposure", album.camera)
                verdict = observer.safety(self.clock.now())
                if not verdict.safe:
                    raise SequenceStopped(Reason.UNSAFE, verdict.detail)
                args = self._exposure_args(plan, album, step)
                done = caller.operation(album.camera, "expose", args,
                                        limit_s=step.exposure_s + observer.readout_allowance_s,
                                        should_stop=self._should_stop)
                self._record(plan, album, step, args, done)

    def _exposure_args(self, plan: SequencePlan, album: AlbumWork, step: ExposureStep) -> dict[str, Any]:
        args: dict[str, Any] = {"exposure": step.exposure_s, "type": step.image_type, "binning": step.binning,
                                "filter": step.filter_name or "", "object": plan.target.name if plan.target else "",
                                "program": plan.program, "request_id": plan.request_id,
                                "sequence_id": plan.sequence_id, "album_id": album.album_id,
                                "plan_id": step.plan_id}
        if plan.target is not None:
            args.update(ra=plan.target.ra_deg, dec=plan.target.dec_deg, airmass=self._airmass(plan))
        return args

    def _airmass(self, plan: SequencePlan) -> float | None:
        if plan.target is None:
            return None
        sky = self.observer.ready_sky()
        value = float(sky.targets([plan.target.ra_deg], [plan.target.dec_deg], [self.clock.now()]).airmass[0][0])
        return round(value, 4) if math.isfinite(value) else None

    def _record(self, plan: SequencePlan, album: AlbumWork, step: ExposureStep, args: dict[str, Any],
                done: dict[str, Any]) -> None:
        """Record the stored image as an ``images`` row (its own transaction) and report progress."""
        result = done.get("result") or {}
        path = result.get("image") if isinstance(result, dict) else None
        if not isinstance(path, str) or not path:
            raise SequenceStopped(Reason.DEVICE_FAILED, f"{album.camera} reported no image for its exposure",
                                  album.camera)
        started = done.get("start_time")
        taken_at = _utc(float(started) if isinstance(started, (int, float)) else self.clock.now())
        headers = {"OBJECT": args["object"], "IMAGETYP": step.image_type, "FILTER": args["filter"],
                   "EXPTIME": step.exposure_s, "XBINNING": step.binning, "YBINNING": step.binning,
                   "INSTRUME": album.camera, "RA": args.get("ra"), "DEC": args.get("dec"),
                   "AIRMASS": args.get("airmass"), "PROGRAM": plan.program, "PLANID": step.plan_id}
        with self.observer.database.transaction() as session:
            session.add(Image(path=path, taken_at=taken_at, exposure_s=step.exposure_s,
                              filter_name=step.filter_name, headers=headers, detector_id=album.camera_id,
                              request_id=plan.request_id, sequence_id=plan.sequence_id, album_id=album.album_id))
        with self._lock:
            self._images.append(path)
            images_done = len(self._images)
        self._album_progress(album, done_increment=1, last_image=path, images_done=images_done)

    def _album_progress(self, album: AlbumWork, *, done_increment: int = 0, filter: str | None = None,  # noqa: A002
                        last_image: str | None = None, images_done: int | None = None) -> None:
        with self._lock:
            entry = self._albums[str(album.album_id)]
            entry["done"] += done_increment
            if filter is not None:
                entry["filter"] = filter
            if last_image is not None:
                entry["last_image"] = last_image
            albums = {key: dict(value) for key, value in self._albums.items()}
        update: dict[str, Any] = {"albums": albums}
        if last_image is not None:
            update.update(last_image=last_image, images_done=images_done)
        self.session.update(update)
