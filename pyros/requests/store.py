"""Storing a parsed observation request: every reference checked, accepted and charged in one transaction.

:func:`store_request` runs inside the caller's transaction
(:meth:`pyros.db.engine.Database.transaction`): it resolves the user, the
program, the cameras and their filters, creates the request, its sequences,
targets, constraints, albums and plans, then submits and accepts it, which
charges the user's and the country's quotas. Any problem raises, the caller's
transaction rolls back, and nothing of the request is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyros.db.lifecycle import RequestStatus
from pyros.db.models.albums import Album, Plan
from pyros.db.models.constraints import ObservingConstraints, TimeWindow
from pyros.db.models.devices import Device
from pyros.db.models.programs import ScientificProgram
from pyros.db.models.requests import ObservationRequest, ObservationSequence
from pyros.db.models.targets import Target
from pyros.db.models.users import User
from pyros.db.request_workflow import change_request_status
from pyros.requests.problems import InvalidRequest, RequestProblem
from pyros.requests.spec import AlbumSpec, PlanSpec, RequestSpec, SequenceSpec

SETUP_S = 60.0
"""Planned seconds per sequence for pointing, dome and settling."""
READOUT_S = 5.0
"""Planned seconds per image for reading the detector out."""
FILTERED_TYPES = frozenset({"light", "flat"})
"""Image types whose filter must be on the camera's wheel (darks and biases see no light)."""


def planned_duration_s(sequence: SequenceSpec) -> float:
    """Seconds a sequence is planned to take: setup, then every image with its readout.

    This is what quotas are charged (the request's total).
    """
    return SETUP_S + sum(plan.count * (plan.exposure_s + READOUT_S) for album in sequence.albums
                         for plan in album.plans)


def _indexed(tag: str, index: int, count: int) -> str:
    return f"{tag}[{index + 1}]" if count > 1 else tag


class _Resolver:
    """Looks up what a request names, collecting a located problem for each thing missing."""

    def __init__(self, session: Session, spec: RequestSpec) -> None:
        self.session = session
        self.spec = spec
        self.problems: list[RequestProblem] = []
        self._cameras: dict[str, Device | None] = {}

    def user(self, username: str) -> User | None:
        user = self.session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            self.problems.append(RequestProblem(f"no active user {username!r} to submit for", self.spec.line,
                                                "/request"))
            return None
        return user

    def program(self) -> ScientificProgram | None:
        program = self.session.scalar(select(ScientificProgram).where(ScientificProgram.name == self.spec.program))
        if program is None:
            known = self.session.scalars(select(ScientificProgram.name).order_by(ScientificProgram.name)).all()
            self.problems.append(RequestProblem(
                f"no scientific program named {self.spec.program!r}; known: {', '.join(known) or 'none'}",
                self.spec.line, "/request", "program"))
        return program

    def camera(self, album: AlbumSpec, path: str) -> Device | None:
        if album.detector not in self._cameras:
            self._cameras[album.detector] = self.session.scalar(
                select(Device).where(Device.name == album.detector, Device.kind == "camera", Device.active))
        camera = self._cameras[album.detector]
        if camera is None:
            known = self.session.scalars(select(Device.name).where(Device.kind == "camera", Device.active)
                                         .order_by(Device.name)).all()
            self.problems.append(RequestProblem(f"no active camera {album.detector!r}; cameras: "
                                                f"{', '.join(known) or 'none'}", album.line, path, "detector"))
        return camera

    def check_filters(self, camera: Device, album: AlbumSpec, path: str) -> None:
        wheel = self.session.scalar(select(Device).where(Device.parent_id == camera.id,
                                                         Device.kind == "filter_wheel", Device.active))
        filters = wheel.properties.get("filters") if wheel is not None else None
        if not isinstance(filters, list):
            return  # a camera without a described wheel takes any filter name
        for index, plan in enumerate(album.plans):
            if plan.image_type in FILTERED_TYPES and plan.filter not in filters:
                self.problems.append(RequestProblem(
                    f"filter {plan.filter!r} is not on {camera.name}'s wheel {wheel.name if wheel else ''} "
                    f"({', '.join(map(str, filters))})", album.line,
                    f"{path}/{_indexed('plan', index, len(album.plans))}", "filter"))


def _plan(spec: PlanSpec) -> Plan:
    name = spec.name or f"{spec.filter} {spec.count}x{spec.exposure_s:g}s"
    return Plan(name=name, filter_name=spec.filter, exposure_s=spec.exposure_s, image_count=spec.count,
                binning=spec.binning, image_type=spec.image_type)


def _sequence(spec: SequenceSpec, priority: float, cameras: list[Device]) -> ObservationSequence:
    constraints = spec.constraints
    albums = [Album(name=album.name or album.detector, detector=camera, plans=[_plan(p) for p in album.plans])
              for album, camera in zip(spec.albums, cameras)]
    return ObservationSequence(
        name=spec.name,
        target=Target(name=spec.target.name, ra_deg=spec.target.ra_deg, dec_deg=spec.target.dec_deg),
        planned_duration_s=planned_duration_s(spec),
        constraints=ObservingConstraints(
            priority=priority, preferred_time=constraints.preferred, max_airmass=constraints.max_airmass,
            min_moon_distance_deg=constraints.min_moon_distance_deg,
            time_windows=[TimeWindow(start_at=w.start, end_at=w.end) for w in constraints.windows]),
        albums=albums)


def store_request(session: Session, spec: RequestSpec, *, username: str, actor: str,
                  now: datetime | None = None) -> ObservationRequest:
    """Store ``spec`` for ``username``, then submit and accept it (its quotas are charged).

    Args:
        session: A write transaction's session; the caller commits, or rolls back on any exception.
        spec: The parsed request (:func:`pyros.requests.parse_request`).
        username: Whose request it is (charged to their quota and their country's).
        actor: Who submits it, for the audit log.
        now: When (default: the observatory clock).

    Returns:
        The accepted request, flushed (it has its id).

    Raises:
        InvalidRequest: For an unknown or inactive user, program or camera, or a
            filter that is not on a camera's wheel; each problem located.
        pyros.db.errors.QuotaExceeded: Naming the quota, the hours needed and the hours left.
        pyros.db.errors.DatabaseError: For anything else the database refuses.
    """
    resolver = _Resolver(session, spec)
    user = resolver.user(username)
    program = resolver.program()
    cameras_by_sequence: list[list[Device]] = []
    for s_index, sequence in enumerate(spec.sequences):
        sequence_path = f"/request/{_indexed('sequence', s_index, len(spec.sequences))}"
        cameras = []
        for a_index, album in enumerate(sequence.albums):
            path = f"{sequence_path}/{_indexed('album', a_index, len(sequence.albums))}"
            camera = resolver.camera(album, path)
            if camera is not None:
                resolver.check_filters(camera, album, path)
                cameras.append(camera)
        cameras_by_sequence.append(cameras)
    if resolver.problems:
        raise InvalidRequest(resolver.problems)
    request = ObservationRequest(name=spec.name, user=user, program=program,
                                 sequences=[_sequence(sequence, spec.priority, cameras) for sequence, cameras
                                            in zip(spec.sequences, cameras_by_sequence)])
    session.add(request)
    session.flush()
    change_request_status(session, request.id, RequestStatus.SUBMITTED, actor=actor, reason="submitted", now=now)
    change_request_status(session, request.id, RequestStatus.ACCEPTED, actor=actor, reason="valid and within quota",
                          now=now)
    return request


def request_summary(request: ObservationRequest, *, details: bool = False) -> dict[str, Any]:
    """A plain mapping of a stored request (for replies and ``--json``); ``details`` adds its sequences."""
    summary: dict[str, Any] = {
        "id": request.id, "name": request.name, "user": request.user.username, "program": request.program.name,
        "status": request.status, "created_at": request.created_at.isoformat(),
        "charged_hours": round(request.charged_seconds / 3600.0, 4),
        "sequences": len(request.sequences),
    }
    if details:
        summary["sequences"] = [
            {"id": s.id, "name": s.name, "status": s.status, "planned_duration_s": s.planned_duration_s,
             "target": {"name": s.target.name, "ra_deg": s.target.ra_deg, "dec_deg": s.target.dec_deg}
             if s.target is not None else None,
             "priority": s.constraints.priority if s.constraints is not None else None,
             "albums": [{"detector": a.detector.name, "plans": [
                 {"filter": p.filter_name, "exposure_s": p.exposure_s, "count": p.image_count,
                  "binning": p.binning, "type": p.image_type} for p in a.plans]} for a in s.albums]}
            for s in request.sequences]
    return summary
