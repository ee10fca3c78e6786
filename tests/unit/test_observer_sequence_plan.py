"""A stored sequence as the observer's steps: cameras, their wheels, plans in order, constraints."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pyros.db.engine import Database
from pyros.db.errors import NotFound
from pyros.db.models import (
    Album,
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
from pyros.observing.sequence_plan import SequencePlanError, load_sequence_plan
from tests.db_fixtures import database, postgres_module_database, sqlite_template  # noqa: F401

START = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
END = datetime(2026, 6, 1, 5, 0, tzinfo=timezone.utc)


def add_observatory(session) -> dict[str, Device]:  # type: ignore[no-untyped-def]
    cam_vis = Device(name="cam_vis", kind="camera")
    cam_nir = Device(name="cam_nir", kind="camera")
    cam_fixed = Device(name="cam_fixed", kind="camera")
    devices = {
        "cam_vis": cam_vis, "cam_nir": cam_nir, "cam_fixed": cam_fixed,
        "fw_old": Device(name="fw_old", kind="filter_wheel", parent=cam_vis, active=False),
        "fw_vis": Device(name="fw_vis", kind="filter_wheel", parent=cam_vis, properties={"filters": ["g", "r"]}),
        "fw_nir": Device(name="fw_nir", kind="filter_wheel", parent=cam_nir),
        "telescope": Device(name="telescope", kind="telescope"),
    }
    session.add_all(devices.values())
    session.flush()
    return devices


def add_sequence(session, devices: dict[str, Device], *, target: bool = True,  # type: ignore[no-untyped-def]
                 albums: list[Album] | None = None, owner: str = "obs") -> int:
    user = User(username=owner, role="observer")
    program = ScientificProgram(name=f"Survey of {owner}" if owner != "obs" else "Survey")
    sequence = ObservationSequence(
        name="M31 both", planned_duration_s=900.0,
        target=Target(name="M31", ra_deg=10.684708, dec_deg=41.26875) if target else None,
        constraints=ObservingConstraints(max_airmass=1.8, min_moon_distance_deg=40.0,
                                         time_windows=[TimeWindow(start_at=START, end_at=END)]),
        albums=albums if albums is not None else [
            Album(name="visible", detector=devices["cam_vis"], plans=[
                Plan(name="g", filter_name="g", exposure_s=30.0, image_count=2),
                Plan(name="r", filter_name="r", exposure_s=20.0, image_count=3, binning=2),
                Plan(name="dark", filter_name="r", exposure_s=20.0, image_count=1, image_type="dark")]),
            Album(name="infrared", detector=devices["cam_nir"], plans=[
                Plan(name="J", filter_name="J", exposure_s=10.0, image_count=4)]),
            Album(name="more visible", detector=devices["cam_vis"], plans=[
                Plan(name="bias", exposure_s=0.0, image_type="bias")]),
        ])
    request = ObservationRequest(name="req", user=user, program=program, sequences=[sequence])
    session.add(request)
    session.flush()
    return sequence.id


def test_albums_cameras_wheels_and_constraints(database: Database) -> None:  # noqa: F811
    with database.transaction() as session:
        devices = add_observatory(session)
        sequence_id = add_sequence(session, devices)
    with database.session() as session:
        plan = load_sequence_plan(session, sequence_id)
    assert (plan.sequence_id, plan.name, plan.status, plan.program) == (sequence_id, "M31 both", "pending", "Survey")
    assert plan.target is not None and (plan.target.name, plan.target.ra_deg) == ("M31", 10.684708)
    assert plan.windows == ((START.timestamp(), END.timestamp()),)
    assert (plan.max_airmass, plan.min_moon_distance_deg, plan.duration_s) == (1.8, 40.0, 900.0)
    assert [(a.name, a.camera, a.wheel) for a in plan.albums] == [
        ("visible", "cam_vis", "fw_vis"), ("infrared", "cam_nir", "fw_nir"), ("more visible", "cam_vis", "fw_vis")]
    visible = plan.albums[0]
    assert [(s.filter_name, s.exposure_s, s.count, s.binning, s.image_type, s.moves_wheel) for s in visible.steps] == [
        ("g", 30.0, 2, 1, "light", True), ("r", 20.0, 3, 2, "light", True), ("r", 20.0, 1, 1, "dark", False)]
    assert plan.albums[2].steps[0].filter_name is None and not plan.albums[2].steps[0].moves_wheel
    assert (visible.image_count, plan.image_count) == (6, 11)
    grouped = plan.by_camera()
    assert list(grouped) == ["cam_vis", "cam_nir"]
    assert [a.name for a in grouped["cam_vis"]] == ["visible", "more visible"]
    assert plan.devices() == ("cam_vis", "fw_vis", "cam_nir", "fw_nir")
    constraints = plan.dispatch_constraints()
    assert (constraints.status, constraints.has_target, constraints.windows) == ("pending", True, plan.windows)
    assert plan.dispatch_constraints("planned").status == "planned"
    assert plan.inactive_devices == ()


def test_a_camera_without_wheel_and_an_inactive_camera(database: Database) -> None:  # noqa: F811
    with database.transaction() as session:
        devices = add_observatory(session)
        devices["cam_fixed"].active = False
        sequence_id = add_sequence(session, devices, albums=[
            Album(name="fixed", detector=devices["cam_fixed"],
                  plans=[Plan(name="V", filter_name="V", exposure_s=5.0)])])
    with database.session() as session:
        plan = load_sequence_plan(session, sequence_id)
    assert plan.albums[0].wheel is None and plan.albums[0].steps[0].moves_wheel
    assert plan.devices() == ("cam_fixed",)
    assert plan.inactive_devices == ("cam_fixed",)
    with database.transaction() as session:
        stored = {d.name: d for d in session.query(Device)}
        stored["fw_vis"].active = stored["fw_nir"].active = False
        broken_wheel = add_sequence(session, stored, owner="obs2")
    with database.session() as session:
        plan = load_sequence_plan(session, broken_wheel)
    assert [a.wheel for a in plan.albums] == ["fw_old", "fw_nir", "fw_old"]
    assert plan.inactive_devices == ("fw_old", "fw_nir")


def test_what_cannot_be_executed_is_named(database: Database) -> None:  # noqa: F811
    with database.transaction() as session:
        devices = add_observatory(session)
        no_target = add_sequence(session, devices, target=False, albums=[
            Album(name="vis", detector=devices["cam_vis"], plans=[Plan(name="r", filter_name="r", exposure_s=5.0)])])
    with database.transaction() as session:
        telescope = session.merge(devices["telescope"])
        telescope_album = add_sequence(session, devices, owner="obs2", albums=[
            Album(name="odd", detector=telescope, plans=[Plan(name="r", filter_name="r", exposure_s=5.0)])])
    with database.session() as session:
        with pytest.raises(SequencePlanError, match="a light frame needs a target"):
            load_sequence_plan(session, no_target)
        with pytest.raises(SequencePlanError, match="is a telescope, not a camera"):
            load_sequence_plan(session, telescope_album)
        with pytest.raises(NotFound):
            load_sequence_plan(session, 9999)
        with pytest.raises(TypeError, match="sequence_id"):
            load_sequence_plan(session, "3")  # type: ignore[arg-type]


def test_calibrations_without_target_are_fine(database: Database) -> None:  # noqa: F811
    with database.transaction() as session:
        devices = add_observatory(session)
        sequence_id = add_sequence(session, devices, target=False, albums=[
            Album(name="darks", detector=devices["cam_nir"],
                  plans=[Plan(name="d", exposure_s=60.0, image_count=3, image_type="dark")])])
    with database.session() as session:
        plan = load_sequence_plan(session, sequence_id)
    assert plan.target is None and not plan.dispatch_constraints().has_target
    assert plan.devices() == ("cam_nir",)  # a dark does not move the wheel
