"""A small observatory in the database for the observer's tests: devices, an observer with a quota, sequences.

:func:`seed_observatory` adds the devices (the telescope, the dome, ``cam_vis`` with ``fw_vis``
mounted on it, ``cam_nir`` with ``fw_nir``), a user with a quota and a program;
:func:`add_planned_sequence` adds an accepted request of one sequence with a visible and a
near-infrared album and moves the sequence to ``planned`` through the workflow.
"""

from __future__ import annotations

from datetime import datetime, timezone

from pyros.db.engine import Database
from pyros.db.models import (
    Album,
    Device,
    ObservationRequest,
    ObservationSequence,
    ObservingConstraints,
    Plan,
    Quota,
    ScientificProgram,
    Target,
    TimeWindow,
    User,
)
from pyros.db.request_workflow import change_request_status, change_sequence_status

NIGHT_START = 1_780_300_800.0
"""2026-06-01T08:00:00Z: the middle of the night at the default site (San Pedro Mártir)."""
VEGA = ("Vega", 279.234735, 38.783689)
"""Airmass 1.08 at :data:`NIGHT_START`, the Moon 70 degrees away."""
M31 = ("M31", 10.684708, 41.26875)
"""Airmass 14 at :data:`NIGHT_START`: far below an airmass limit of 2."""
VIS_FILTERS = ["g", "r", "i", "z"]
NIR_FILTERS = ["J", "H", "Ks"]


def seed_observatory(database: Database) -> None:
    """Add the devices, the user ``obs`` (100 h of quota) and the program ``Survey``."""
    with database.transaction() as session:
        cam_vis = Device(name="cam_vis", kind="camera")
        cam_nir = Device(name="cam_nir", kind="camera")
        user = User(username="obs", role="observer")
        session.add_all([
            Device(name="telescope", kind="telescope"), Device(name="dome", kind="dome"), cam_vis, cam_nir,
            Device(name="fw_vis", kind="filter_wheel", parent=cam_vis, properties={"filters": VIS_FILTERS}),
            Device(name="fw_nir", kind="filter_wheel", parent=cam_nir, properties={"filters": NIR_FILTERS}),
            user, ScientificProgram(name="Survey")])
        session.flush()
        session.add(Quota(user_id=user.id, allocated_hours=100.0))


def add_planned_sequence(database: Database, *, name: str, target: tuple[str, float, float] = VEGA,
                         vis: list[tuple[str, float, int]], nir: list[tuple[str, float, int]],
                         duration_s: float = 900.0, window: tuple[float, float] | None = None,
                         max_airmass: float | None = 2.0, min_moon_distance_deg: float | None = 30.0) -> int:
    """Add an accepted request of one planned sequence; return the sequence's id.

    Args:
        database: The database (seeded with :func:`seed_observatory`).
        name: The request's and the sequence's name.
        target: ``(name, ra_deg, dec_deg)``.
        vis: The visible album's plans, ``(filter, exposure_s, count)``.
        nir: The near-infrared album's plans.
        duration_s: The planned duration.
        window: A time window ``(start, end)`` in UNIX seconds (default: the whole night).
        max_airmass: The airmass limit.
        min_moon_distance_deg: The Moon distance limit.
    """
    start, end = window if window is not None else (NIGHT_START - 3600.0, NIGHT_START + 3 * 3600.0)

    def utc(seconds: float) -> datetime:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)

    with database.transaction() as session:
        cameras = {d.name: d for d in session.query(Device).filter(Device.kind == "camera")}
        user = session.query(User).filter(User.username == "obs").one()
        program = session.query(ScientificProgram).filter(ScientificProgram.name == "Survey").one()
        albums = [Album(name=album, detector=cameras[camera],
                        plans=[Plan(name=f"{band} {count}x{exposure:g}", filter_name=band, exposure_s=exposure,
                                    image_count=count) for band, exposure, count in plans])
                  for album, camera, plans in (("visible", "cam_vis", vis), ("infrared", "cam_nir", nir)) if plans]
        sequence = ObservationSequence(
            name=name, planned_duration_s=duration_s, target=Target(name=target[0], ra_deg=target[1], dec_deg=target[2]),
            constraints=ObservingConstraints(max_airmass=max_airmass, min_moon_distance_deg=min_moon_distance_deg,
                                             time_windows=[TimeWindow(start_at=utc(start), end_at=utc(end))]),
            albums=albums)
        request = ObservationRequest(name=name, user=user, program=program, status="submitted", sequences=[sequence])
        session.add(request)
        session.flush()
        change_request_status(session, request.id, "accepted", actor="test")
        change_sequence_status(session, sequence.id, "planned", actor="test")
        return sequence.id
