"""A small demonstration site to load into an empty database (``pyros db init --demo``).

It holds a user of each role, two countries with quotas, two scientific
programs, the devices of the observatory (PLC, telescope, dome, the visible
and near-infrared cameras with their filter wheels), three targets and three
observation requests: one accepted (its time charged), one submitted, one
draft. Requests go through :mod:`pyros.db.request_workflow`, so quotas, the
ledger and the audit log are as real use would leave them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pyros.db.errors import DemoDataError
from pyros.db.models import (
    Album,
    Country,
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
from pyros.db.request_workflow import change_request_status
from pyros.db.timestamps import observatory_now

DEMO_ACTOR = "demo"
"""The actor named in the audit log for what the demo loader does."""

COUNTRIES: tuple[tuple[str, str, float], ...] = (
    ("France", "Partner country of the demo site", 200.0),
    ("Mexico", "Partner country of the demo site, host of the telescope", 150.0),
)
"""(name, description, quota in hours)."""

USERS: tuple[tuple[str, str, str, str | None, float], ...] = (
    ("alice", "Alice Martin", "observer", "France", 40.0),
    ("bruno", "Bruno Sánchez", "observer", "Mexico", 25.0),
    ("olga", "Olga Durand", "operator", "France", 10.0),
    ("adam", "Adam Reyes", "admin", None, 5.0),
)
"""(username, full name, role, country, quota in hours)."""

PROGRAMS: tuple[tuple[str, str, str], ...] = (
    ("GRB follow-up", "Rapid photometry of gamma-ray burst afterglows", "alice"),
    ("Variable stars", "Light curves of bright variable stars", "bruno"),
    ("Nearby galaxies", "Deep multi-band imaging of nearby galaxies", "alice"),
    ("Calibrations", "Bias, dark and flat frames of the cameras", "olga"),
)
"""(name, description, principal investigator)."""

DEVICES: tuple[tuple[str, str, str, str | None, dict[str, Any]], ...] = (
    ("plc", "plc", "Programmable logic controller: power, lights, weather sensors", None, {}),
    ("telescope", "telescope", "Alt-azimuth mount and optical tube", None, {"aperture_m": 1.3}),
    ("dome", "dome", "Rotating dome with shutter", None, {}),
    ("cam_vis", "camera", "Visible camera", None, {"band": "visible"}),
    ("cam_nir", "camera", "Near-infrared camera", None, {"band": "near-infrared"}),
    ("fw_vis", "filter_wheel", "Filter wheel of the visible camera", "cam_vis",
     {"filters": ["g", "r", "i", "z"]}),
    ("fw_nir", "filter_wheel", "Filter wheel of the near-infrared camera", "cam_nir",
     {"filters": ["J", "H", "Ks"]}),
)
"""(name, kind, description, mounted on, properties)."""

TARGETS: tuple[tuple[str, float, float], ...] = (
    ("M31", 10.684708, 41.268750),
    ("M42", 83.822083, -5.391111),
    ("Vega", 279.234735, 38.783689),
)
"""(name, ICRS right ascension in degrees, ICRS declination in degrees)."""


def database_is_empty(session: Session) -> bool:
    """Return whether the database has no users, countries, devices and requests."""
    return not any(session.scalar(select(func.count()).select_from(model))
                   for model in (User, Country, Device, ObservationRequest))


def load_demo_site(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Fill an empty database with the demo site, in the session's transaction.

    Args:
        session: A session in a write transaction (the caller commits).
        now: The instant the demo is built around (default: the observatory clock);
            time windows start one hour later.

    Returns:
        How many rows of each kind were added, e.g. ``{"users": 4, ...}``.

    Raises:
        DemoDataError: If the database already holds users, countries, devices or requests.
    """
    if not database_is_empty(session):
        raise DemoDataError("the database already holds data; the demo site loads only into an empty one")
    when = now or observatory_now()
    countries = {name: Country(name=name, description=text) for name, text, _ in COUNTRIES}
    users = {login: User(username=login, full_name=full, role=role, country=countries[country] if country else None,
                         email=f"{login}@demo.invalid") for login, full, role, country, _ in USERS}
    session.add_all([*countries.values(), *users.values()])
    session.flush()
    session.add_all([Quota(country_id=countries[name].id, allocated_hours=hours) for name, _, hours in COUNTRIES])
    session.add_all([Quota(user_id=users[login].id, allocated_hours=hours) for login, *_, hours in USERS])
    programs = {name: ScientificProgram(name=name, description=text, principal_investigator=users[pi])
                for name, text, pi in PROGRAMS}
    devices: dict[str, Device] = {}
    for name, kind, text, parent, properties in DEVICES:
        devices[name] = Device(name=name, kind=kind, description=text, properties=properties,
                               parent=devices[parent] if parent else None)
    targets = {name: Target(name=name, ra_deg=ra, dec_deg=dec) for name, ra, dec in TARGETS}
    session.add_all([*programs.values(), *devices.values(), *targets.values()])
    window = (when + timedelta(hours=1), when + timedelta(hours=9))

    def sequence(name: str, target: str, seconds: float, camera: str, plans: list[tuple[str, float, int]],
                 priority: float) -> ObservationSequence:
        constraints = ObservingConstraints(priority=priority, max_airmass=2.0, min_moon_distance_deg=30.0,
                                           time_windows=[TimeWindow(start_at=window[0], end_at=window[1])])
        album = Album(name=f"{name} {camera}", detector=devices[camera],
                      plans=[Plan(name=f"{band} x{count}", filter_name=band, exposure_s=exposure, image_count=count)
                             for band, exposure, count in plans])
        return ObservationSequence(name=name, target=targets[target], planned_duration_s=seconds,
                                   constraints=constraints, albums=[album])

    requests = [
        ObservationRequest(name="M31 deep field", user=users["alice"], program=programs["GRB follow-up"], sequences=[
            sequence("M31 visible", "M31", 1800.0, "cam_vis", [("g", 60.0, 10), ("r", 60.0, 10)], 2.0),
            sequence("M31 near-infrared", "M31", 1200.0, "cam_nir", [("J", 30.0, 20)], 1.5),
        ]),
        ObservationRequest(name="Orion nebula mosaic", user=users["bruno"], program=programs["Variable stars"],
                           sequences=[sequence("M42 visible", "M42", 2400.0, "cam_vis", [("r", 120.0, 15)], 1.0)]),
        ObservationRequest(name="Vega photometric standard", user=users["alice"], program=programs["Variable stars"],
                           sequences=[sequence("Vega z", "Vega", 600.0, "cam_vis", [("z", 5.0, 50)], 3.0)]),
    ]
    session.add_all(requests)
    session.flush()
    accepted, submitted, _draft = requests
    for request in (accepted, submitted):
        change_request_status(session, request.id, "submitted", actor=DEMO_ACTOR, reason="demo site", now=when)
    change_request_status(session, accepted.id, "accepted", actor=DEMO_ACTOR, reason="demo site", now=when)
    return {"countries": len(countries), "users": len(users), "quotas": len(countries) + len(users),
            "programs": len(programs), "devices": len(devices), "targets": len(targets), "requests": len(requests),
            "sequences": sum(len(r.sequences) for r in requests)}
