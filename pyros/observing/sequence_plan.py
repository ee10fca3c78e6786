"""A stored sequence as the steps the observer executes.

:func:`load_sequence_plan` reads a sequence, its target, constraints, albums and
plans in one session and returns plain frozen values (no ORM object escapes),
so the execution never touches a lazy relationship from another thread.

**Which wheel serves a camera.** An album's detector is a camera device row
(``devices``, kind ``camera``); the camera's filter wheel is the *active*
``filter_wheel`` device whose ``parent_id`` is that camera (as
``pyros db init --demo`` mounts ``fw_vis`` on ``cam_vis`` and ``fw_nir`` on
``cam_nir``). Device rows are named like their device services, so the camera
and wheel names are the MDP services to call. A camera with no wheel has a
fixed filter: its plans' filter names only go to the headers. A camera whose only wheels are
inactive keeps that wheel, listed in :attr:`SequencePlan.inactive_devices` when a plan must move it
(the dispatch check then refuses the sequence: the filter could not be set). Only ``light`` and
``flat`` frames move the wheel; darks and biases are taken in whatever filter
is in the beam.

Albums of one camera are executed one after the other, in album order; albums
of different cameras in parallel (:meth:`SequencePlan.by_camera`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pyros.db.errors import NotFound
from pyros.db.models import Device, ObservationSequence
from pyros.observing.dispatch import DispatchConstraints

__all__ = ["AlbumWork", "ExposureStep", "SequencePlan", "SequencePlanError", "TargetPointing",
           "load_sequence_plan"]

FILTERED_TYPES = frozenset({"light", "flat"})
"""Image types taken through a chosen filter (the wheel moves for them)."""


class SequencePlanError(ValueError):
    """A stored sequence that cannot be executed as it is; the message names the album and plan."""


@dataclass(frozen=True)
class TargetPointing:
    """Where the telescope points for a sequence.

    Attributes:
        name: The target's name (FITS ``OBJECT``).
        ra_deg: ICRS right ascension, degrees.
        dec_deg: ICRS declination, degrees.
    """

    name: str
    ra_deg: float
    dec_deg: float


@dataclass(frozen=True)
class ExposureStep:
    """One plan: identical exposures.

    Attributes:
        plan_id: The plan.
        filter_name: The filter (``None``: none asked).
        exposure_s: Seconds per image.
        count: How many images.
        binning: Binning on both axes.
        image_type: ``light``, ``dark``, ``flat`` or ``bias``.
    """

    plan_id: int
    filter_name: str | None
    exposure_s: float
    count: int
    binning: int
    image_type: str

    @property
    def moves_wheel(self) -> bool:
        """Whether the wheel is set before its exposures (a filtered type with a filter named)."""
        return self.image_type in FILTERED_TYPES and bool(self.filter_name)


@dataclass(frozen=True)
class AlbumWork:
    """One album: a camera's share of the sequence.

    Attributes:
        album_id: The album.
        name: Its name.
        camera: The camera's device (and service) name.
        camera_id: The camera's device row.
        wheel: The camera's filter wheel (device and service name), or ``None`` for a fixed filter.
        steps: Its plans, in order.
    """

    album_id: int
    name: str
    camera: str
    camera_id: int
    wheel: str | None
    steps: tuple[ExposureStep, ...]

    @property
    def image_count(self) -> int:
        """Images the album takes."""
        return sum(step.count for step in self.steps)


@dataclass(frozen=True)
class SequencePlan:
    """Everything the observer needs to run one sequence.

    Attributes:
        sequence_id: The sequence.
        request_id: Its request.
        name: Its name.
        status: Its status when read.
        program: The request's scientific program (for the headers), or ``None``.
        target: Where to point, or ``None`` (calibrations: no slew).
        duration_s: Its planned duration, seconds.
        windows: Its time windows ``(start, end)``, UNIX seconds.
        max_airmass: Its airmass limit, or ``None``.
        min_moon_distance_deg: Its Moon distance limit, or ``None``.
        albums: Its albums, in order.
        inactive_devices: Cameras it uses, and wheels it must move, whose device rows are not active.
    """

    sequence_id: int
    request_id: int
    name: str
    status: str
    program: str | None
    target: TargetPointing | None
    duration_s: float
    windows: tuple[tuple[float, float], ...]
    max_airmass: float | None
    min_moon_distance_deg: float | None
    albums: tuple[AlbumWork, ...]
    inactive_devices: tuple[str, ...] = ()

    @property
    def image_count(self) -> int:
        """Images the sequence takes."""
        return sum(album.image_count for album in self.albums)

    def by_camera(self) -> dict[str, tuple[AlbumWork, ...]]:
        """The albums grouped by camera, each group in album order (cameras in order of first album)."""
        groups: dict[str, list[AlbumWork]] = {}
        for album in self.albums:
            groups.setdefault(album.camera, []).append(album)
        return {camera: tuple(albums) for camera, albums in groups.items()}

    def devices(self) -> tuple[str, ...]:
        """The cameras and wheels it uses, in order of first use, each once."""
        names: list[str] = []
        for album in self.albums:
            for name in (album.camera, album.wheel if any(s.moves_wheel for s in album.steps) else None):
                if name is not None and name not in names:
                    names.append(name)
        return tuple(names)

    def dispatch_constraints(self, status: str | None = None) -> DispatchConstraints:
        """The values the dispatch check needs.

        Args:
            status: The status to check (default: the status read with the plan).
        """
        return DispatchConstraints(sequence_id=self.sequence_id, status=status or self.status,
                                   duration_s=self.duration_s, windows=self.windows, max_airmass=self.max_airmass,
                                   min_moon_distance_deg=self.min_moon_distance_deg,
                                   has_target=self.target is not None)


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


def _wheel_of(session: Session, camera: Device) -> Device | None:
    """The filter wheel mounted on a camera: the active one (lowest id), else an inactive one, else none."""
    wheels = session.scalars(select(Device).where(Device.parent_id == camera.id, Device.kind == "filter_wheel")
                             .order_by(Device.id)).all()
    return next((w for w in wheels if w.active), wheels[0] if wheels else None)


def load_sequence_plan(session: Session, sequence_id: int) -> SequencePlan:
    """Read a sequence and turn it into the steps to execute.

    Args:
        session: A database session (read only).
        sequence_id: The sequence.

    Raises:
        NotFound: If there is no such sequence.
        SequencePlanError: If an album's detector is not a camera, or a light frame has no target to point at.
        TypeError: If ``sequence_id`` is not an integer.
    """
    if isinstance(sequence_id, bool) or not isinstance(sequence_id, int):
        raise TypeError(f"sequence_id must be an integer, got {sequence_id!r}")
    sequence = session.get(ObservationSequence, sequence_id)
    if sequence is None:
        raise NotFound("sequence", sequence_id)
    target = None
    if sequence.target is not None:
        target = TargetPointing(sequence.target.name, sequence.target.ra_deg, sequence.target.dec_deg)
    constraints = sequence.constraints
    windows: tuple[tuple[float, float], ...] = ()
    max_airmass = min_moon = None
    if constraints is not None:
        windows = tuple((_seconds(w.start_at), _seconds(w.end_at)) for w in constraints.time_windows)
        max_airmass, min_moon = constraints.max_airmass, constraints.min_moon_distance_deg
    albums: list[AlbumWork] = []
    inactive: list[str] = []
    for album in sequence.albums:
        camera = album.detector
        if camera.kind != "camera":
            raise SequencePlanError(f"album {album.id} '{album.name}': its detector {camera.name} is a "
                                    f"{camera.kind}, not a camera")
        if not camera.active and camera.name not in inactive:
            inactive.append(camera.name)
        wheel = _wheel_of(session, camera)
        steps = []
        for plan in album.plans:
            if plan.image_type == "light" and target is None:
                raise SequencePlanError(f"album {album.id} '{album.name}', plan {plan.id} '{plan.name}': a light "
                                        f"frame needs a target, and sequence {sequence_id} has none")
            steps.append(ExposureStep(plan_id=plan.id, filter_name=plan.filter_name or None,
                                      exposure_s=plan.exposure_s, count=plan.image_count, binning=plan.binning,
                                      image_type=plan.image_type))
        if wheel is not None and not wheel.active and any(step.moves_wheel for step in steps) \
                and wheel.name not in inactive:
            inactive.append(wheel.name)
        albums.append(AlbumWork(album_id=album.id, name=album.name, camera=camera.name, camera_id=camera.id,
                                wheel=wheel.name if wheel is not None else None, steps=tuple(steps)))
    program = sequence.request.program.name if sequence.request.program is not None else None
    return SequencePlan(sequence_id=sequence.id, request_id=sequence.request_id, name=sequence.name,
                        status=sequence.status, program=program, target=target,
                        duration_s=sequence.planned_duration_s, windows=windows, max_airmass=max_airmass,
                        min_moon_distance_deg=min_moon, albums=tuple(albums), inactive_devices=tuple(inactive))
