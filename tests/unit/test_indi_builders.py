"""Tests of the INDI message builders: their output parsed back by the INDI parser."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyros.indi import BlobMode, EnableBlob, GetProperties, IndiParser, MemberUpdate, NewVector, VectorKind
from pyros.indi.builders import (enable_blob, get_properties, new_number_vector, new_switch_vector, new_text_vector,
                                 ping_reply)
from pyros.indi.messages import PingReply
from pyros.indi.timestamps import parse_timestamp


def parse_one(data: bytes) -> object:
    assert data.endswith(b"\n")
    (element,) = IndiParser().feed(data)
    return element


def test_get_properties() -> None:
    assert get_properties() == b'<getProperties version="1.7"/>\n'
    assert parse_one(get_properties()) == GetProperties("1.7", None, None)
    assert parse_one(get_properties("CCD Simulator")) == GetProperties("1.7", "CCD Simulator", None)
    assert parse_one(get_properties("CCD Simulator", "CCD1")) == GetProperties("1.7", "CCD Simulator", "CCD1")


def test_new_number_vector() -> None:
    data = new_number_vector("Telescope Simulator", "EQUATORIAL_EOD_COORD", {"RA": 5.5, "DEC": -22},
                             timestamp=parse_timestamp("2026-11-22T06:50:00"))
    assert parse_one(data) == NewVector(VectorKind.NUMBER, "Telescope Simulator", "EQUATORIAL_EOD_COORD",
                                        parse_timestamp("2026-11-22T06:50:00"),
                                        (MemberUpdate("RA", 5.5), MemberUpdate("DEC", -22.0)))


def test_numbers_keep_full_precision() -> None:
    value = 4.8603874032973974906
    (member,) = parse_one(new_number_vector("T", "P", {"RA": value})).members  # type: ignore[attr-defined]
    assert member.value == value


def test_new_switch_vector() -> None:
    data = new_switch_vector("Dome Simulator", "DOME_SHUTTER", {"SHUTTER_OPEN": True, "SHUTTER_CLOSE": False})
    assert data == (b'<newSwitchVector device="Dome Simulator" name="DOME_SHUTTER"><oneSwitch name="SHUTTER_OPEN">On'
                    b'</oneSwitch><oneSwitch name="SHUTTER_CLOSE">Off</oneSwitch></newSwitchVector>\n')
    assert parse_one(data) == NewVector(VectorKind.SWITCH, "Dome Simulator", "DOME_SHUTTER", None,
                                        (MemberUpdate("SHUTTER_OPEN", True), MemberUpdate("SHUTTER_CLOSE", False)))


def test_new_text_vector_escapes_markup() -> None:
    nasty = '</oneText><oneText name="X">pwned</oneText> & "quotes" \'single\' <![CDATA[x]]> &amp;'
    data = new_text_vector('Dev "1" & <2>', "NAME\tWITH\nCONTROL", {"T": nasty, "E": ""})
    element = parse_one(data)
    assert element == NewVector(VectorKind.TEXT, 'Dev "1" & <2>', "NAME\tWITH\nCONTROL", None,
                                (MemberUpdate("T", nasty), MemberUpdate("E", "")))


def test_carriage_return_survives_in_text() -> None:
    element = parse_one(new_text_vector("D", "P", {"T": "line 1\r\nline 2"}))
    assert element.members[0].value == "line 1\r\nline 2"  # type: ignore[attr-defined]


def test_enable_blob() -> None:
    assert parse_one(enable_blob("CCD Simulator")) == EnableBlob("CCD Simulator", None, BlobMode.ALSO)
    assert parse_one(enable_blob("CCD Simulator", "CCD1", BlobMode.ONLY)) == EnableBlob("CCD Simulator", "CCD1",
                                                                                        BlobMode.ONLY)
    assert parse_one(enable_blob("CCD Simulator", mode=BlobMode.NEVER)) == EnableBlob("CCD Simulator", None,
                                                                                      BlobMode.NEVER)


def test_ping_reply() -> None:
    assert parse_one(ping_reply("17.5")) == PingReply("17.5")


xml_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\ufffe\uffff\x00"),
                   max_size=80).filter(lambda s: all(c in "\t\n\r" or ord(c) >= 0x20 for c in s))


@given(device=xml_text.filter(lambda s: s.strip() != ""), value=xml_text)
def test_any_xml_text_round_trips(device: str, value: str) -> None:
    element = parse_one(new_text_vector(device, "P", {"T": value}))
    assert isinstance(element, NewVector)
    assert element.device == device
    assert element.members[0].value == value.strip()  # surrounding whitespace is not significant in INDI


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_finite_number_round_trips(value: float) -> None:
    element = parse_one(new_number_vector("D", "P", {"N": value}))
    assert element.members[0].value == value  # type: ignore[attr-defined]


@pytest.mark.parametrize(("build", "arguments", "options", "error", "match"), [
    (new_number_vector, ("D", "P", {"N": True}), {}, TypeError, r"D\.P\.N must be an int or float, not bool"),
    (new_number_vector, ("D", "P", {"N": "1"}), {}, TypeError, "not str"),
    (new_number_vector, ("D", "P", {"N": math.nan}), {}, ValueError, r"D\.P\.N must be finite"),
    (new_number_vector, ("D", "P", {"N": math.inf}), {}, ValueError, "finite"),
    (new_number_vector, ("D", "P", {}), {}, ValueError, "needs at least one member value"),
    (new_number_vector, ("D", "P", [("N", 1.0)]), {}, TypeError, "must be a mapping"),
    (new_number_vector, ("", "P", {"N": 1}), {}, ValueError, "device must not be empty"),
    (new_number_vector, ("D", "  ", {"N": 1}), {}, ValueError, "property name must not be empty"),
    (new_number_vector, (None, "P", {"N": 1}), {}, TypeError, "device must be a str, not NoneType"),
    (new_number_vector, ("D", "P", {"": 1}), {}, ValueError, "member name of D.P must not be empty"),
    (new_number_vector, ("D", "P", {"N": 1}), {"timestamp": math.inf}, ValueError, "timestamp must be finite"),
    (new_switch_vector, ("D", "P", {"S": "On"}), {}, TypeError, r"D\.P\.S must be a bool \(True for On\)"),
    (new_switch_vector, ("D", "P", {"S": 1}), {}, TypeError, "not int"),
    (new_text_vector, ("D", "P", {"T": 5}), {}, TypeError, r"D\.P\.T must be a str, not int"),
    (new_text_vector, ("D", "P", {"T": "bell\x07"}), {}, ValueError,
     r"D\.P\.T contains the character '\\x07' \(position 4\), which XML 1.0 cannot carry"),
    (new_text_vector, ("D\x00", "P", {"T": "x"}), {}, ValueError, "device contains the character"),
    (new_text_vector, ("D", "P", {"T": "\ud800"}), {}, ValueError, "cannot carry"),
    (get_properties, (), {"name": "P"}, ValueError, "needs its device"),
    (get_properties, ("D",), {"version": 1.7}, TypeError, "version must be a str"),
    (enable_blob, ("D",), {"mode": "Also"}, TypeError, "must be a BlobMode, not str"),
    (enable_blob, ("", "P"), {}, ValueError, "device must not be empty"),
    (ping_reply, ("",), {}, ValueError, "ping uid must not be empty"),
])
def test_bad_arguments_are_refused_with_a_clear_error(build: Callable[..., bytes], arguments: tuple[Any, ...],
                                                      options: dict[str, Any], error: type[Exception],
                                                      match: str) -> None:
    with pytest.raises(error, match=match):
        build(*arguments, **options)
