"""Tests of the INDI property model (pyros.indi.cache, pyros.indi.vector) driven by def/set/del messages."""

from __future__ import annotations

import logging

import pytest

from pyros.indi import (Blob, Change, DefVector, DelProperty, IndiParser, Permission, PropertyCache, PropertyState,
                        SetVector, SwitchRule, VectorKind)
from pyros.indi.timestamps import parse_timestamp

TELESCOPE = b"""\
<defSwitchVector device="Telescope Simulator" name="CONNECTION" label="Connection" group="Main Control" state="Idle" perm="rw" rule="OneOfMany" timeout="60" timestamp="2026-11-22T06:46:29">
    <defSwitch name="CONNECT" label="Connect">
Off
    </defSwitch>
    <defSwitch name="DISCONNECT" label="Disconnect">
On
    </defSwitch>
</defSwitchVector>
<defNumberVector device="Telescope Simulator" name="EQUATORIAL_EOD_COORD" label="Eq. Coordinates" group="Main Control" state="Idle" perm="rw" timeout="60" timestamp="2026-11-22T06:46:30">
    <defNumber name="RA" label="RA (hh:mm:ss)" format="%010.6m" min="0" max="24" step="0">
0
    </defNumber>
    <defNumber name="DEC" label="DEC (dd:mm:ss)" format="%010.6m" min="-90" max="90" step="0">
0
    </defNumber>
</defNumberVector>
<defBLOBVector device="CCD Simulator" name="CCD1" label="Image Data" group="Image Info" state="Idle" perm="ro" timeout="60" timestamp="2026-11-22T06:46:43">
    <defBLOB name="CCD1" label="Image"/>
</defBLOBVector>
<defLightVector device="Weather Simulator" name="WEATHER_STATUS" label="Status" group="Main Control" state="Idle" timestamp="2026-11-22T06:49:26">
    <defLight name="WEATHER_FORECAST" label="Weather">
Idle
    </defLight>
</defLightVector>
"""


def messages(data: bytes) -> list:
    return IndiParser().feed(data)


def loaded() -> PropertyCache:
    cache = PropertyCache()
    for message in messages(TELESCOPE):
        cache.apply(message)
    return cache


def test_definitions_build_vectors() -> None:
    cache = loaded()
    assert cache.devices() == ["Telescope Simulator", "CCD Simulator", "Weather Simulator"]
    assert cache.sequence == 4
    connection = cache.get("Telescope Simulator", "CONNECTION")
    assert connection is not None
    assert (connection.kind, connection.label, connection.group) == (VectorKind.SWITCH, "Connection", "Main Control")
    assert (connection.state, connection.permission, connection.rule) == (PropertyState.IDLE, Permission.RW,
                                                                          SwitchRule.ONE_OF_MANY)
    assert connection.timeout == 60 and connection.timestamp == parse_timestamp("2026-11-22T06:46:29")
    assert connection.values() == {"CONNECT": False, "DISCONNECT": True}
    assert connection.switches_on() == ("DISCONNECT",)
    assert connection.sequence == 1
    coordinates = cache.get("Telescope Simulator", "EQUATORIAL_EOD_COORD")
    assert coordinates is not None
    assert list(coordinates.members) == ["RA", "DEC"] and len(coordinates) == 2 and "RA" in coordinates
    assert coordinates["DEC"].minimum == -90  # type: ignore[union-attr]
    assert [v.name for v in cache.vectors("Telescope Simulator")] == ["CONNECTION", "EQUATORIAL_EOD_COORD"]
    assert len(cache.vectors()) == 4
    assert cache.get("Telescope Simulator", "NOPE") is None and cache.get("Nobody", "CONNECTION") is None


def test_missing_member_names_the_members() -> None:
    coordinates = loaded().get("Telescope Simulator", "EQUATORIAL_EOD_COORD")
    assert coordinates is not None
    with pytest.raises(KeyError, match=r"EQUATORIAL_EOD_COORD has no member 'ALT' \(members: RA, DEC\)"):
        coordinates["ALT"]


def test_set_updates_values_state_and_timestamp_and_keeps_old_snapshots() -> None:
    cache = loaded()
    before = cache.get("Telescope Simulator", "EQUATORIAL_EOD_COORD")
    (update,) = messages(b'<setNumberVector device="Telescope Simulator" name="EQUATORIAL_EOD_COORD" state="Busy" '
                         b'timestamp="2026-11-22T06:50:00"><oneNumber name="RA">5:30:00</oneNumber></setNumberVector>')
    (event,) = cache.apply(update)
    assert event.change is Change.UPDATED
    after = event.vector
    assert after is cache.get("Telescope Simulator", "EQUATORIAL_EOD_COORD")
    assert after.values() == {"RA": 5.5, "DEC": 0.0}
    assert after.state is PropertyState.BUSY and after.timeout == 60
    assert after.timestamp == parse_timestamp("2026-11-22T06:50:00")
    assert after.sequence == 5 and cache.sequence == 5
    assert before is not None and before.values() == {"RA": 0.0, "DEC": 0.0} and before.state is PropertyState.IDLE
    assert after.label == before.label and after["RA"].format == "%010.6m"  # type: ignore[union-attr]


def test_set_without_state_keeps_the_state_and_may_change_the_timeout() -> None:
    cache = loaded()
    (update,) = messages(b'<setSwitchVector device="Telescope Simulator" name="CONNECTION" timeout="5">'
                         b'<oneSwitch name="CONNECT">On</oneSwitch></setSwitchVector>')
    (event,) = cache.apply(update)
    assert event.vector.state is PropertyState.IDLE and event.vector.timeout == 5
    assert event.vector.values() == {"CONNECT": True, "DISCONNECT": True}  # only what the device sent changes


def test_set_with_min_max_step_changes_the_bounds() -> None:
    cache = loaded()
    (update,) = messages(b'<setNumberVector device="Telescope Simulator" name="EQUATORIAL_EOD_COORD">'
                         b'<oneNumber name="DEC" min="-30" max="60" step="0.5">10</oneNumber></setNumberVector>')
    (event,) = cache.apply(update)
    dec = event.vector["DEC"]
    assert (dec.value, dec.minimum, dec.maximum, dec.step) == (10, -30, 60, 0.5)  # type: ignore[union-attr]
    assert event.vector["RA"].maximum == 24  # type: ignore[union-attr]


def test_light_and_blob_updates() -> None:
    cache = loaded()
    (lights,) = messages(b'<setLightVector device="Weather Simulator" name="WEATHER_STATUS" state="Alert">'
                         b'<oneLight name="WEATHER_FORECAST">Alert</oneLight></setLightVector>')
    (event,) = cache.apply(lights)
    assert event.vector.value("WEATHER_FORECAST") is PropertyState.ALERT
    (blob,) = messages(b'<setBLOBVector device="CCD Simulator" name="CCD1" state="Ok">'
                       b'<oneBLOB name="CCD1" size="3" format=".fits" len="3">QUJD</oneBLOB></setBLOBVector>')
    (event,) = cache.apply(blob)
    assert event.vector.value("CCD1") == Blob(b"ABC", ".fits", 3)
    assert event.vector.state is PropertyState.OK


def test_updates_that_do_not_fit_are_ignored_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    cache = loaded()
    undefined, wrong_kind, unknown_member = messages(
        b'<setNumberVector device="Telescope Simulator" name="UNDEFINED"><oneNumber name="X">1</oneNumber>'
        b'</setNumberVector>'
        b'<setNumberVector device="Telescope Simulator" name="CONNECTION"><oneNumber name="CONNECT">1</oneNumber>'
        b'</setNumberVector>'
        b'<setNumberVector device="Telescope Simulator" name="EQUATORIAL_EOD_COORD"><oneNumber name="ALT">1'
        b'</oneNumber><oneNumber name="RA">2</oneNumber></setNumberVector>')
    with caplog.at_level(logging.DEBUG, logger="pyros.indi.cache"):
        assert cache.apply(undefined) == []
        assert cache.apply(wrong_kind) == []
        (event,) = cache.apply(unknown_member)
    assert event.vector.values() == {"RA": 2.0, "DEC": 0.0}
    assert cache.sequence == 5
    text = caplog.text
    assert "UNDEFINED ignored" in text
    assert "setNumberVector for Telescope Simulator.CONNECTION ignored: the property is a Switch vector" in text
    assert "names the unknown member 'ALT'" in text


def test_redefinition_replaces_the_vector() -> None:
    cache = loaded()
    (redefinition,) = messages(b'<defNumberVector device="Telescope Simulator" name="EQUATORIAL_EOD_COORD" '
                               b'state="Ok" perm="ro"><defNumber name="RA" format="%g" min="0" max="24" step="0">3'
                               b'</defNumber></defNumberVector>')
    (event,) = cache.apply(redefinition)
    assert event.change is Change.DEFINED
    assert event.vector.values() == {"RA": 3.0} and event.vector.permission is Permission.RO
    assert event.vector.label == "EQUATORIAL_EOD_COORD" and event.vector.group == ""
    assert [v.name for v in cache.vectors("Telescope Simulator")] == ["CONNECTION", "EQUATORIAL_EOD_COORD"]


def test_del_property_removes_one_property_then_the_empty_device() -> None:
    cache = loaded()
    (delete,) = messages(b'<delProperty device="Weather Simulator" name="WEATHER_STATUS"/>')
    (event,) = cache.apply(delete)
    assert event.change is Change.DELETED and event.vector.name == "WEATHER_STATUS"
    assert "Weather Simulator" not in cache.devices()
    assert cache.apply(delete) == []


def test_del_property_without_name_removes_the_device() -> None:
    cache = loaded()
    events = cache.apply(DelProperty("Telescope Simulator", None, None, None))
    assert [(e.change, e.vector.name) for e in events] == [(Change.DELETED, "CONNECTION"),
                                                          (Change.DELETED, "EQUATORIAL_EOD_COORD")]
    assert cache.devices() == ["CCD Simulator", "Weather Simulator"]
    assert cache.apply(DelProperty("Nobody", None, None, None)) == []


def test_clear_keeps_the_sequence_going() -> None:
    cache = loaded()
    cache.clear()
    assert cache.devices() == [] and cache.sequence == 4
    (definition,) = [m for m in messages(TELESCOPE) if isinstance(m, DefVector)][:1]
    assert cache.apply(definition)[0].vector.sequence == 5


def test_apply_refuses_other_messages() -> None:
    with pytest.raises(TypeError, match="not DeviceMessage"):
        PropertyCache().apply(messages(b'<message message="x"/>')[0])


def test_set_vector_dataclass_round_trip_through_the_cache() -> None:
    cache = loaded()
    update = SetVector(VectorKind.SWITCH, "Telescope Simulator", "CONNECTION", PropertyState.OK, None, None, None, ())
    (event,) = cache.apply(update)
    assert event.vector.state is PropertyState.OK and event.vector.values() == {"CONNECT": False, "DISCONNECT": True}
