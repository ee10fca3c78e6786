"""The entities: bad values are refused naming the field; references, row rules and cascades."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete, func, select

from pyros.db.engine import Database
from pyros.db.errors import ConstraintViolation, InvalidField
from pyros.db.models import (
    Album,
    Alert,
    AuditEntry,
    Country,
    Device,
    EnvironmentSample,
    Image,
    ObservationRequest,
    ObservationSequence,
    ObservingConstraints,
    Plan,
    Quota,
    Schedule,
    ScheduleEntry,
    ScientificProgram,
    Target,
    TimeWindow,
    User,
)
from tests.db_fixtures import add_request, add_site, database, postgres_module_database, sqlite_template  # noqa: F401

T0 = datetime(2030, 6, 1, 22, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("model", "values", "field", "reason"), [
    (Target, {"ra_deg": 360.0}, "targets.ra_deg", "must be >= 0 and < 360"),
    (Target, {"ra_deg": -0.001}, "targets.ra_deg", "must be >= 0 and < 360"),
    (Target, {"dec_deg": 90.5}, "targets.dec_deg", "must be >= -90 and <= 90"),
    (Target, {"dec_deg": -91}, "targets.dec_deg", "must be >= -90 and <= 90"),
    (Target, {"dec_deg": "north"}, "targets.dec_deg", "must be a number"),
    (Target, {"ra_deg": float("inf")}, "targets.ra_deg", "must be a finite number"),
    (Target, {"ra_deg": True}, "targets.ra_deg", "must be a number"),
    (Target, {"name": "   "}, "targets.name", "must not be blank"),
    (Target, {"name": "x" * 81}, "targets.name", "must be at most 80 characters long"),
    (Target, {"name": None}, "targets.name", "is required"),
    (Target, {"name": 31}, "targets.name", "must be text"),
    (User, {"role": "guest"}, "users.role", "must be one of observer, operator, admin"),
    (User, {"active": 1}, "users.active", "must be true or false"),
    (User, {"country_id": "France"}, "users.country_id", "must be an integer"),
    (User, {"created_at": datetime(2030, 1, 1)}, "users.created_at", "must be a timezone-aware datetime"),
    (User, {"created_at": "2030-01-01T00:00:00Z"}, "users.created_at", "must be a timezone-aware datetime"),
    (ObservationSequence, {"planned_duration_s": -5.0}, "sequences.planned_duration_s", "must be > 0"),
    (ObservationSequence, {"planned_duration_s": 0}, "sequences.planned_duration_s", "must be > 0"),
    (ObservingConstraints, {"priority": 0.0}, "observing_constraints.priority", "must be > 0"),
    (ObservingConstraints, {"priority": -2}, "observing_constraints.priority", "must be > 0"),
    (ObservingConstraints, {"max_airmass": 0.9}, "observing_constraints.max_airmass", "must be >= 1"),
    (ObservingConstraints, {"min_moon_distance_deg": 181.0}, "observing_constraints.min_moon_distance_deg",
     "must be >= 0 and <= 180"),
    (Plan, {"exposure_s": -1.0}, "plans.exposure_s", "must be >= 0"),
    (Plan, {"binning": 17}, "plans.binning", "must be >= 1 and <= 16"),
    (Plan, {"image_type": "sky"}, "plans.image_type", "must be one of"),
    (Plan, {"image_count": 0}, "plans.image_count", "must be >= 1"),
    (Plan, {"image_count": 2.5}, "plans.image_count", "must be an integer"),
    (Quota, {"allocated_seconds": -1}, "quotas.allocated_seconds", "must be >= 0"),
    (Quota, {"allocated_hours": "ten"}, "quotas.allocated_seconds", "hours must be a number"),
    (Device, {"kind": "spectrograph"}, "devices.kind", "must be one of plc, telescope, dome, camera, filter_wheel"),
    (Device, {"properties": {"when": datetime(2030, 1, 1)}}, "devices.properties", "must be JSON data"),
    (Alert, {"role": "drill"}, "alerts.role", "must be one of observation, test, utility"),
    (Alert, {"error_radius_deg": -1.0}, "alerts.error_radius_deg", "must be >= 0"),
    (EnvironmentSample, {"scope": "space"}, "environment_history.scope", "must be one of weather, site"),
    (EnvironmentSample, {"value": float("nan")}, "environment_history.value", "must be a finite number"),
    (Image, {"exposure_s": -0.1}, "images.exposure_s", "must be >= 0"),
    (AuditEntry, {"actor": ""}, "audit_log.actor", "must not be blank"),
    (ObservationRequest, {"status": "accepted"}, "requests.status", "a new request starts as draft or submitted"),
    (ObservationSequence, {"status": "done"}, "sequences.status", "must be one of pending"),
])
def test_a_bad_value_is_refused_at_once_naming_the_field(model: type, values: dict[str, Any], field: str,
                                                         reason: str) -> None:
    with pytest.raises(InvalidField) as caught:
        model(**values)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: {reason}")


def test_numbers_of_other_types_are_converted_exactly() -> None:
    target = Target(name="M42", ra_deg=np.float32(83.5), dec_deg=np.int64(-5))
    plan = Plan(name="p", exposure_s=np.float64(2.5), image_count=np.int32(3))
    assert (type(target.ra_deg), type(target.dec_deg), target.dec_deg) == (float, float, -5.0)
    assert (type(plan.image_count), plan.image_count) == (int, 3)


def test_good_values_are_stored_and_read_back(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [600.0, 300.5])
        session.add(ObservingConstraints(
            sequence_id=session.scalars(select(ObservationSequence.id).order_by(ObservationSequence.id)).first(),
            priority=2.5, max_airmass=1.8, min_moon_distance_deg=25.0, preferred_time=T0 + timedelta(hours=1),
            time_windows=[TimeWindow(start_at=T0, end_at=T0 + timedelta(hours=3))]))
    with database.session() as session:
        request = session.get_one(ObservationRequest, request_id)
        assert request is not None and request.status == "submitted"
        assert [s.planned_duration_s for s in request.sequences] == [600.0, 300.5]
        assert request.chargeable_seconds() == 901
        first = request.sequences[0]
        assert first.constraints is not None and first.constraints.priority == 2.5
        assert first.constraints.time_windows[0].end_at == T0 + timedelta(hours=3)
        assert first.albums[0].plans[0].filter_name == "r"
        assert first.target is not None and first.target.name == "M31"


@pytest.mark.parametrize(("make", "field"), [
    (lambda site: ObservationRequest(name="r", user_id=999_999, program_id=site.program_id), "requests.user_id"),
    (lambda site: ObservationRequest(name="r", user_id=site.user_id, program_id=424242), "requests.program_id"),
    (lambda site: Quota(user_id=31337, allocated_seconds=10), "quotas.user_id"),
    (lambda site: Album(name="a", sequence_id=5555, detector_id=site.camera_id), "albums.sequence_id"),
    (lambda site: Image(path="/x.fits", taken_at=T0, detector_id=8888), "images.detector_id"),
])
def test_a_reference_to_a_missing_row_names_the_field(database: Database, make: Any, field: str) -> None:
    with database.transaction() as session:
        site = add_site(session)
    with pytest.raises(InvalidField) as caught:
        with database.transaction() as session:
            session.add(Country(name="Written only with the rest"))
            session.add(make(site))
    assert caught.value.field == field
    assert "must name an existing" in str(caught.value) and "row (by id), got" in str(caught.value)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Country)) == 1


def test_a_reference_to_a_row_of_the_same_flush_is_accepted(database: Database) -> None:
    with database.transaction() as session:
        session.add(Country(id=77, name="Explicit"))
        session.add(User(username="u", country_id=77))
    with database.session() as session:
        assert session.scalars(select(User.country_id)).one() == 77


@pytest.mark.parametrize(("make", "field", "reason"), [
    (lambda: TimeWindow(start_at=T0, end_at=T0), "time_windows.end_at", "must be after start_at"),
    (lambda: Schedule(night_start=T0, night_end=T0 - timedelta(hours=1)), "schedules.night_end",
     "must be after night_start"),
    (lambda: Alert(ivorn="ivo://x#1", ra_deg=10.0), "alerts.dec_deg", "ra_deg and dec_deg are given together"),
    (lambda: Quota(allocated_seconds=10), "quotas.user_id", "a quota belongs to exactly one user or one country"),
    (lambda: Quota(allocated_seconds=10, used_seconds=11, country_id=None, user_id=None), "quotas.user_id",
     "a quota belongs to exactly one"),
])
def test_rules_across_columns_are_checked_before_writing(database: Database, make: Any, field: str,
                                                         reason: str) -> None:
    with pytest.raises(InvalidField) as caught:
        with database.transaction() as session:
            session.add(make())
    assert caught.value.field == field and reason in str(caught.value)


def test_a_quota_cannot_be_allocated_below_what_is_used(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
    with pytest.raises(InvalidField, match="quotas.allocated_seconds: must be at least the 100 s already used"):
        with database.transaction() as session:
            quota = session.scalars(select(Quota).where(Quota.user_id == site.user_id)).one()
            quota.used_seconds = 100
            quota.allocated_seconds = 50


def test_the_preferred_time_must_lie_in_a_time_window(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        add_request(session, site, [60.0])
    with pytest.raises(InvalidField, match="observing_constraints.preferred_time: must fall inside one of"):
        with database.transaction() as session:
            sequence_id = session.scalars(select(ObservationSequence.id)).one()
            session.add(ObservingConstraints(sequence_id=sequence_id, preferred_time=T0 + timedelta(hours=5),
                                             time_windows=[TimeWindow(start_at=T0, end_at=T0 + timedelta(hours=1))]))


def test_a_schedule_entry_lies_within_its_night_once_per_sequence(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        add_request(session, site, [60.0])
    with database.transaction() as session:
        sequence_id = session.scalars(select(ObservationSequence.id)).one()
        schedule = Schedule(night_start=T0, night_end=T0 + timedelta(hours=8), entries=[
            ScheduleEntry(sequence_id=sequence_id, start_at=T0 + timedelta(hours=1), end_at=T0 + timedelta(hours=2))])
        session.add(schedule)
    with pytest.raises(InvalidField, match="schedule_entries.start_at: the entry must lie within"):
        with database.transaction() as session:
            session.add(ScheduleEntry(schedule_id=schedule.id, sequence_id=sequence_id,
                                      start_at=T0 + timedelta(hours=7), end_at=T0 + timedelta(hours=9)))
    with pytest.raises(ConstraintViolation, match="schedule_entries.schedule_id, schedule_entries.sequence_id"):
        with database.transaction() as session:
            session.add(ScheduleEntry(schedule_id=schedule.id, sequence_id=sequence_id,
                                      start_at=T0 + timedelta(hours=3), end_at=T0 + timedelta(hours=4)))


def test_deleting_a_request_deletes_its_tree_but_keeps_its_images(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [60.0, 120.0])
        request = session.get_one(ObservationRequest, request_id)
        assert request is not None
        first = request.sequences[0]
        session.add(ObservingConstraints(sequence_id=first.id,
                                         time_windows=[TimeWindow(start_at=T0, end_at=T0 + timedelta(hours=1))]))
        session.add(Image(path="/data/m31-0001.fits", taken_at=T0, detector_id=site.camera_id,
                          request_id=request_id, sequence_id=first.id, album_id=first.albums[0].id,
                          headers={"OBJECT": "M31", "AIRMASS": 1.21}))
    with database.transaction() as session:
        session.delete(session.get_one(ObservationRequest, request_id))
    with database.session() as session:
        for model in (ObservationSequence, Album, Plan, ObservingConstraints, TimeWindow):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model.__name__
        image = session.scalars(select(Image)).one()
        assert (image.request_id, image.sequence_id, image.album_id) == (None, None, None)
        assert image.headers == {"OBJECT": "M31", "AIRMASS": 1.21} and image.detector_id == site.camera_id


def test_the_database_cascades_deletes_itself(database: Database) -> None:
    """ON DELETE rules hold for SQL that bypasses the ORM (foreign keys are on, SQLite included)."""
    with database.transaction() as session:
        site = add_site(session)
        add_request(session, site, [60.0])
    with database.transaction() as session:
        session.execute(delete(ObservationRequest))
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == 0


def test_a_device_in_use_cannot_be_deleted(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        add_request(session, site, [60.0])
    with pytest.raises(ConstraintViolation):
        with database.transaction() as session:
            session.execute(delete(Device).where(Device.id == site.camera_id))


def test_filter_wheels_hang_under_their_camera(database: Database) -> None:
    with database.transaction() as session:
        camera = Device(name="cam_nir", kind="camera")
        session.add(Device(name="fw_nir", kind="filter_wheel", parent=camera, properties={"filters": ["J", "H"]}))
    with database.session() as session:
        camera = session.scalars(select(Device).where(Device.name == "cam_nir")).one()
        assert [(d.name, d.properties) for d in camera.children] == [("fw_nir", {"filters": ["J", "H"]})]


def test_environment_history_is_a_time_series_of_named_quantities(database: Database) -> None:
    with database.transaction() as session:
        session.add_all([EnvironmentSample(scope="weather", quantity="wind_speed", value=v, unit="m/s",
                                           sensor="anemometer", measured_at=T0 + timedelta(minutes=m))
                         for m, v in ((0, 3.5), (1, 4.25), (2, 9.0))])
        session.add(EnvironmentSample(scope="site", quantity="temperature", value=12.5, unit="degC",
                                      measured_at=T0))
    with database.session() as session:
        series = session.execute(
            select(EnvironmentSample.measured_at, EnvironmentSample.value)
            .where(EnvironmentSample.scope == "weather", EnvironmentSample.quantity == "wind_speed",
                   EnvironmentSample.measured_at >= T0 + timedelta(minutes=1))
            .order_by(EnvironmentSample.measured_at)).all()
    assert [v for _, v in series] == [4.25, 9.0]


def test_an_alert_links_to_its_follow_up_request(database: Database) -> None:
    with database.transaction() as session:
        site = add_site(session)
        request_id = add_request(session, site, [300.0])
        session.add(Alert(ivorn="ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1234", ra_deg=123.4, dec_deg=-45.6,
                          error_radius_deg=0.05, event_at=T0, payload="<VOEvent/>", request_id=request_id))
    with pytest.raises(ConstraintViolation, match="alerts.ivorn: the value is already used"):
        with database.transaction() as session:
            session.add(Alert(ivorn="ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_1234"))
    with database.session() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.request is not None and alert.request.name == "req" and alert.role == "observation"


def test_a_program_keeps_its_principal_investigator(database: Database) -> None:
    with database.transaction() as session:
        user = User(username="pi", role="operator")
        session.add(ScientificProgram(name="Transients", principal_investigator=user))
    with database.session() as session:
        program = session.scalars(select(ScientificProgram)).one()
        assert program.principal_investigator is not None and program.principal_investigator.username == "pi"
