"""Tests of the INDI stream parser (pyros.indi.parser) on messages captured from indiserver 1.9.9.

CAPTURED is verbatim output of ``indiserver indi_simulator_telescope indi_simulator_ccd
indi_simulator_dome indi_simulator_wheel indi_simulator_weather`` (one element of each kind the
simulators send), as a client received it after ``<getProperties version="1.7"/>``.
"""

from __future__ import annotations

import base64
import io
import zlib

import numpy as np
import pytest
from astropy.io import fits

from pyros.indi import (Blob, BlobMember, DefVector, DelProperty, DeviceMessage, IndiLimitError, IndiParser,
                        IndiStreamError, InvalidElement, LightMember, NumberMember, ParserLimits, Permission,
                        PingRequest, PropertyState, SetVector, SwitchMember, SwitchRule, TextMember, VectorKind)
from pyros.indi.timestamps import parse_timestamp

CAPTURED = b"""\
<defSwitchVector device="Telescope Simulator" name="CONNECTION" label="Connection" group="Main Control" state="Idle" perm="rw" rule="OneOfMany" timeout="60" timestamp="2026-11-22T06:46:29">
    <defSwitch name="CONNECT" label="Connect">
Off
    </defSwitch>
    <defSwitch name="DISCONNECT" label="Disconnect">
On
    </defSwitch>
</defSwitchVector>
<message device="Telescope Simulator" timestamp="2026-11-22T06:46:30" message="[INFO] Telescope simulator is online."/>
<setSwitchVector device="Telescope Simulator" name="CONNECTION" state="Ok" timeout="60" timestamp="2026-11-22T06:46:30">
    <oneSwitch name="CONNECT">
On
    </oneSwitch>
    <oneSwitch name="DISCONNECT">
Off
    </oneSwitch>
</setSwitchVector>
<defSwitchVector device="Telescope Simulator" name="ON_COORD_SET" label="On Set" group="Main Control" state="Idle" perm="rw" rule="OneOfMany" timeout="60" timestamp="2026-11-22T06:46:30">
    <defSwitch name="TRACK" label="Track">
On
    </defSwitch>
    <defSwitch name="SLEW" label="Slew">
Off
    </defSwitch>
    <defSwitch name="SYNC" label="Sync">
Off
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
<setNumberVector device="Telescope Simulator" name="EQUATORIAL_EOD_COORD" state="Idle" timeout="60" timestamp="2026-11-22T06:46:30">
    <oneNumber name="RA">
4.8603874032973974906
    </oneNumber>
    <oneNumber name="DEC">
90
    </oneNumber>
</setNumberVector>
<defTextVector device="Dome Simulator" name="DRIVER_INFO" label="Driver Info" group="Connection" state="Idle" perm="ro" timeout="60" timestamp="2026-11-22T06:49:22">
    <defText name="DRIVER_NAME" label="Name">
Dome Simulator
    </defText>
    <defText name="DRIVER_EXEC" label="Exec">
indi_simulator_dome
    </defText>
    <defText name="DRIVER_VERSION" label="Version">
1.0
    </defText>
    <defText name="DRIVER_INTERFACE" label="Interface">
32
    </defText>
</defTextVector>
<defSwitchVector device="Dome Simulator" name="DOME_SHUTTER" label="Shutter" group="Main Control" state="Ok" perm="rw" rule="AtMostOne" timeout="60" timestamp="2026-11-22T06:49:23">
    <defSwitch name="SHUTTER_OPEN" label="Open">
Off
    </defSwitch>
    <defSwitch name="SHUTTER_CLOSE" label="Close">
On
    </defSwitch>
</defSwitchVector>
<defNumberVector device="CCD Simulator" name="CCD_FRAME" label="Frame" group="Image Settings" state="Idle" perm="rw" timeout="60" timestamp="2026-11-22T06:46:43">
    <defNumber name="X" label="Left " format="%4.0f" min="0" max="0" step="0">
0
    </defNumber>
    <defNumber name="Y" label="Top" format="%4.0f" min="0" max="0" step="0">
0
    </defNumber>
    <defNumber name="WIDTH" label="Width" format="%4.0f" min="0" max="0" step="0">
0
    </defNumber>
    <defNumber name="HEIGHT" label="Height" format="%4.0f" min="0" max="0" step="0">
0
    </defNumber>
</defNumberVector>
<setNumberVector device="CCD Simulator" name="CCD_FRAME" state="Idle" timeout="60" timestamp="2026-11-22T06:46:43">
    <oneNumber name="X" min="0" max="1279" step="0">
0
    </oneNumber>
    <oneNumber name="Y" min="0" max="1023" step="0">
0
    </oneNumber>
    <oneNumber name="WIDTH" min="1" max="1280" step="0">
0
    </oneNumber>
    <oneNumber name="HEIGHT" min="1" max="1024" step="0">
0
    </oneNumber>
</setNumberVector>
<defBLOBVector device="CCD Simulator" name="CCD1" label="Image Data" group="Image Info" state="Idle" perm="ro" timeout="60" timestamp="2026-11-22T06:46:43">
    <defBLOB name="CCD1" label="Image"/>
</defBLOBVector>
<defNumberVector device="Filter Simulator" name="FILTER_SLOT" label="Filter Slot" group="Filter Wheel" state="Idle" perm="rw" timeout="60" timestamp="2026-11-22T06:49:25">
    <defNumber name="FILTER_SLOT_VALUE" label="Filter" format="%3.0f" min="1" max="8" step="1">
1
    </defNumber>
</defNumberVector>
<defLightVector device="Weather Simulator" name="WEATHER_STATUS" label="Status" group="Main Control" state="Idle" timestamp="2026-11-22T06:49:26">
    <defLight name="WEATHER_FORECAST" label="Weather">
Idle
    </defLight>
    <defLight name="WEATHER_TEMPERATURE" label="Temperature (C)">
Idle
    </defLight>
    <defLight name="WEATHER_WIND_SPEED" label="Wind (kph)">
Idle
    </defLight>
    <defLight name="WEATHER_RAIN_HOUR" label="Precip (mm)">
Idle
    </defLight>
</defLightVector>
<setLightVector device="Weather Simulator" name="WEATHER_STATUS" state="Ok" timestamp="2026-11-22T06:49:26">
    <oneLight name="WEATHER_FORECAST">
Ok
    </oneLight>
    <oneLight name="WEATHER_TEMPERATURE">
Ok
    </oneLight>
    <oneLight name="WEATHER_WIND_SPEED">
Ok
    </oneLight>
    <oneLight name="WEATHER_RAIN_HOUR">
Ok
    </oneLight>
</setLightVector>
<delProperty device="Filter Simulator" name="FILTER_SLOT" timestamp="2026-11-22T06:49:36"/>
"""


def parse_all(data: bytes, limits: ParserLimits | None = None) -> list:
    parser = IndiParser(limits)
    elements = parser.feed(data)
    assert not parser.in_element
    return elements


def test_captured_stream_decodes_to_the_expected_elements() -> None:
    elements = parse_all(CAPTURED)
    assert [type(e).__name__ for e in elements] == [
        "DefVector", "DeviceMessage", "SetVector", "DefVector", "DefVector", "SetVector", "DefVector", "DefVector",
        "DefVector", "SetVector", "DefVector", "DefVector", "DefVector", "SetVector", "DelProperty"]

    connection = elements[0]
    assert isinstance(connection, DefVector)
    assert (connection.kind, connection.device, connection.name) == (VectorKind.SWITCH, "Telescope Simulator",
                                                                     "CONNECTION")
    assert (connection.label, connection.group, connection.state) == ("Connection", "Main Control", PropertyState.IDLE)
    assert (connection.permission, connection.rule, connection.timeout) == (Permission.RW, SwitchRule.ONE_OF_MANY, 60)
    assert connection.timestamp == parse_timestamp("2026-11-22T06:46:29")
    assert connection.members == (SwitchMember("CONNECT", "Connect", False),
                                  SwitchMember("DISCONNECT", "Disconnect", True))

    assert elements[1] == DeviceMessage("Telescope Simulator", parse_timestamp("2026-11-22T06:46:30"),
                                        "[INFO] Telescope simulator is online.")
    connected = elements[2]
    assert isinstance(connected, SetVector)
    assert connected.state is PropertyState.OK and connected.timeout == 60
    assert [(m.name, m.value) for m in connected.members] == [("CONNECT", True), ("DISCONNECT", False)]

    coordinates = elements[4]
    assert isinstance(coordinates, DefVector)
    assert coordinates.members == (NumberMember("RA", "RA (hh:mm:ss)", 0.0, "%010.6m", 0.0, 24.0, 0.0),
                                   NumberMember("DEC", "DEC (dd:mm:ss)", 0.0, "%010.6m", -90.0, 90.0, 0.0))
    update = elements[5]
    assert isinstance(update, SetVector)
    assert [(m.name, m.value) for m in update.members] == [("RA", 4.8603874032973974906), ("DEC", 90.0)]

    driver_info = elements[6]
    assert isinstance(driver_info, DefVector) and driver_info.permission is Permission.RO
    assert driver_info.members[0] == TextMember("DRIVER_NAME", "Name", "Dome Simulator")
    assert [m.value for m in driver_info.members] == ["Dome Simulator", "indi_simulator_dome", "1.0", "32"]

    shutter = elements[7]
    assert isinstance(shutter, DefVector) and shutter.rule is SwitchRule.AT_MOST_ONE

    frame = elements[9]
    assert isinstance(frame, SetVector)
    assert [(m.name, m.minimum, m.maximum, m.step) for m in frame.members] == [
        ("X", 0, 1279, 0), ("Y", 0, 1023, 0), ("WIDTH", 1, 1280, 0), ("HEIGHT", 1, 1024, 0)]

    blob = elements[10]
    assert isinstance(blob, DefVector) and blob.kind is VectorKind.BLOB
    assert blob.members == (BlobMember("CCD1", "Image", None),)

    lights = elements[12]
    assert isinstance(lights, DefVector) and lights.kind is VectorKind.LIGHT and lights.permission is Permission.RO
    assert lights.members[1] == LightMember("WEATHER_TEMPERATURE", "Temperature (C)", PropertyState.IDLE)
    light_update = elements[13]
    assert isinstance(light_update, SetVector)
    assert {m.value for m in light_update.members} == {PropertyState.OK}

    assert elements[14] == DelProperty("Filter Simulator", "FILTER_SLOT", parse_timestamp("2026-11-22T06:49:36"), None)


def test_captured_stream_split_at_every_byte_boundary_gives_the_same_elements() -> None:
    expected = parse_all(CAPTURED)
    for cut in range(1, len(CAPTURED)):
        parser = IndiParser()
        elements = parser.feed(CAPTURED[:cut])
        elements += parser.feed(CAPTURED[cut:])
        assert elements == expected, f"cut at byte {cut}"


def test_captured_stream_fed_one_byte_at_a_time() -> None:
    parser = IndiParser()
    elements = []
    completed_at = []
    for offset in range(len(CAPTURED)):
        new = parser.feed(CAPTURED[offset:offset + 1])
        if new:
            completed_at.append(offset)
        elements += new
    assert elements == parse_all(CAPTURED)
    # Each element is delivered as soon as its last byte ('>') arrives, not later.
    assert all(CAPTURED[offset:offset + 1] == b">" for offset in completed_at)


def test_chunks_of_random_sizes() -> None:
    rng = np.random.default_rng(7)
    stream = CAPTURED * 20
    expected = parse_all(stream)
    for _ in range(20):
        parser = IndiParser()
        elements = []
        offset = 0
        while offset < len(stream):
            size = int(rng.integers(1, 3000))
            elements += parser.feed(stream[offset:offset + size])
            offset += size
        assert elements == expected


def test_utf8_character_split_between_feeds() -> None:
    text = "Température 12°C – ciel dégagé"
    data = f'<message device="Weather Simulator" message="{text}"/>'.encode()
    split = data.index("°".encode()) + 1  # inside the two bytes of the degree sign
    parser = IndiParser()
    assert parser.feed(data[:split]) == []
    assert parser.feed(data[split:]) == [DeviceMessage("Weather Simulator", None, text)]


def test_entities_and_character_references_are_replaced() -> None:
    data = (b'<defTextVector device="A &amp; B" name="T" state="Idle" perm="rw" label="&lt;x&gt; &quot;q&quot;">'
            b'<defText name="t">1 &lt; 2 &amp;&amp; caf&#233; &#x263A;</defText></defTextVector>')
    (element,) = parse_all(data)
    assert isinstance(element, DefVector)
    assert element.device == "A & B" and element.label == '<x> "q"'
    assert element.members[0].value == "1 < 2 && caf\u00e9 \u263a"


def test_whitespace_comments_and_processing_instructions_between_elements_are_skipped() -> None:
    data = b'\n  <!-- a comment --> <?pi data?>\r\n<message message="x"/>\t'
    assert parse_all(data) == [DeviceMessage(None, None, "x")]


def test_ping_request() -> None:
    assert parse_all(b'<pingRequest uid="1700000000.5"/>') == [PingRequest("1700000000.5")]


def fits_bytes() -> bytes:
    image = np.arange(64 * 48, dtype=np.uint16).reshape(48, 64)
    buffer = io.BytesIO()
    fits.PrimaryHDU(image).writeto(buffer)
    return buffer.getvalue()


def blob_message(payload: bytes, *, size: int, length: int | None, blob_format: str = ".fits",
                 line: int = 0) -> bytes:
    """A setBLOBVector laid out as indiserver sends it (base64, optionally folded every ``line`` chars)."""
    encoded = base64.b64encode(payload)
    if line:
        encoded = b"\n".join(encoded[i:i + line] for i in range(0, len(encoded), line))
    length_attribute = f' len="{length}"' if length is not None else ""
    return (f'<setBLOBVector device="CCD Simulator" name="CCD1" state="Ok" timeout="60" '
            f'timestamp="2026-11-22T06:46:46">\n    <oneBLOB name="CCD1" size="{size}" format="{blob_format}"'
            f'{length_attribute}>\n').encode() + encoded + b"\n    </oneBLOB>\n</setBLOBVector>\n"


def the_blob(elements: list) -> Blob:
    (element,) = elements
    assert isinstance(element, SetVector), element
    value = element.members[0].value
    assert isinstance(value, Blob)
    return value


@pytest.mark.parametrize("line", [0, 76])
def test_blob_is_decoded_from_base64_into_a_valid_fits_file(line: int) -> None:
    payload = fits_bytes()
    data = blob_message(payload, size=len(payload), length=len(payload), line=line)
    parser = IndiParser()
    elements = []
    for offset in range(0, len(data), 997):
        elements += parser.feed(data[offset:offset + 997])
    blob = the_blob(elements)
    assert blob == Blob(payload, ".fits", len(payload))
    with fits.open(io.BytesIO(blob.data)) as hdus:
        assert hdus[0].data.shape == (48, 64)
        assert int(hdus[0].data[47, 63]) == 64 * 48 - 1


def test_blob_padded_beyond_its_len_is_cut_to_len() -> None:
    # indiserver 1.9.9's CCD simulator sends .fits.fz images padded with zeros to its buffer size.
    payload = fits_bytes()
    blob = the_blob(parse_all(blob_message(payload + bytes(4096), size=len(payload) * 2, length=len(payload),
                                           blob_format=".fits.fz")))
    assert blob == Blob(payload, ".fits.fz", len(payload) * 2)


def test_blob_shorter_than_its_len_is_invalid() -> None:
    payload = fits_bytes()
    (element,) = parse_all(blob_message(payload, size=len(payload), length=len(payload) + 1))
    assert isinstance(element, InvalidElement)
    assert "declared len" in element.reason and element.name == "CCD1"


def test_blob_with_bad_base64_is_invalid_and_the_stream_goes_on() -> None:
    bad = blob_message(b"", size=3, length=3).replace(b"\n    </oneBLOB>", b"QUJD*==\n    </oneBLOB>")
    elements = parse_all(bad + b'<message message="after"/>')
    assert isinstance(elements[0], InvalidElement) and "base64" in elements[0].reason
    assert elements[1] == DeviceMessage(None, None, "after")


def test_legacy_zlib_blob_is_inflated() -> None:
    payload = fits_bytes()
    packed = zlib.compress(payload)
    blob = the_blob(parse_all(blob_message(packed, size=len(payload), length=len(packed), blob_format=".fits.z")))
    assert blob == Blob(payload, ".fits", len(payload))


def test_zlib_bomb_is_refused() -> None:
    bomb = zlib.compress(bytes(50 * 1024 * 1024), 9)  # 50 MiB of zeros in about 50 KiB
    parser = IndiParser(ParserLimits(max_blob_bytes=1024 * 1024))
    with pytest.raises(IndiLimitError, match="inflates beyond ParserLimits.max_blob_bytes"):
        parser.feed(blob_message(bomb, size=50 * 1024 * 1024, length=len(bomb), blob_format=".fits.z"))


def test_blob_larger_than_the_limit_is_refused_while_it_streams() -> None:
    limits = ParserLimits(max_element_bytes=4096, max_blob_bytes=100_000)
    parser = IndiParser(limits)
    parser.feed(blob_message(b"", size=10**9, length=10**9).split(b"\n    </oneBLOB>")[0])
    chunk = b"A" * 4096
    fed = 0
    with pytest.raises(IndiLimitError, match="setBLOBVector.*max_blob_bytes"):
        while fed < 10**7:
            parser.feed(chunk)
            fed += len(chunk)
    assert fed <= limits.max_blob_element_bytes


def test_blob_at_the_limit_is_accepted() -> None:
    payload = bytes(range(256)) * 400
    limits = ParserLimits(max_element_bytes=4096, max_blob_bytes=len(payload))
    blob = the_blob(parse_all(blob_message(payload, size=len(payload), length=len(payload), line=72), limits))
    assert blob.data == payload


@pytest.mark.parametrize(("data", "reason"), [
    (b'<defSwitchVector device="D" name="P" state="Idle" perm="rw"><defSwitch name="S">On</defSwitch>'
     b'</defSwitchVector>', "lacks the required attribute 'rule'"),
    (b'<defSwitchVector device="D" name="P" state="Fine" perm="rw" rule="OneOfMany"><defSwitch name="S">On'
     b'</defSwitch></defSwitchVector>', "state 'Fine' is not one of Idle, Ok, Busy, Alert"),
    (b'<defTextVector name="P" state="Idle" perm="rw"><defText name="T">x</defText></defTextVector>',
     "lacks the required attribute 'device'"),
    (b'<defTextVector device="D" name="P" state="Idle" perm="xx"><defText name="T">x</defText></defTextVector>',
     "perm 'xx' is not one of ro, wo, rw"),
    (b'<setSwitchVector device="D" name="P"><oneSwitch name="S">Maybe</oneSwitch></setSwitchVector>',
     "switch value 'Maybe' is not On or Off"),
    (b'<setNumberVector device="D" name="P"><oneNumber name="N">12:ab</oneNumber></setNumberVector>',
     "not an INDI number"),
    (b'<setNumberVector device="D" name="P"><oneNumber name="N">1</oneNumber><oneNumber name="N">2</oneNumber>'
     b'</setNumberVector>', "names member 'N' twice"),
    (b'<setNumberVector device="D" name="P"><oneText name="N">1</oneText></setNumberVector>',
     "may only contain <oneNumber>, found <oneText>"),
    (b'<setTextVector device="D" name="P" state="Idle"></setTextVector>', "has no <oneText> member"),
    (b'<setTextVector device="D" name="P" timestamp="yesterday"><oneText name="T">x</oneText></setTextVector>',
     "not an INDI timestamp"),
    (b'<setTextVector device="D" name="P" timeout="-1"><oneText name="T">x</oneText></setTextVector>',
     "timeout must be a number of seconds >= 0"),
    (b'<defNumberVector device="D" name="P" state="Idle" perm="rw"><defNumber name="N" format="%g">1'
     b'</defNumber></defNumberVector>', "lacks min, max or step"),
    (b'<setLightVector device="D" name="P"><oneLight name="L">Red</oneLight></setLightVector>',
     "light 'L' 'Red' is not one of"),
    (b'<newLightVector device="D" name="P"><oneLight name="L">Ok</oneLight></newLightVector>', "read-only"),
    (b'<enableBLOB device="D">Sometimes</enableBLOB>', "BLOB mode 'Sometimes' is not one of Never, Also, Only"),
    (b'<getProperties version="1.7" name="P"/>', "names a property without a device"),
    (b'<delProperty name="P"/>', "lacks the required attribute 'device'"),
    (b'<message device="D" message="m"><b/></message>', "must not contain elements"),
    (b'<frobnicate device="D"/>', "unknown INDI element <frobnicate>"),
    (b'<defSwitchVectorX device="D"/>', "unknown INDI element"),
])
def test_schema_violations_become_invalid_elements(data: bytes, reason: str) -> None:
    elements = parse_all(data + b'<message device="D" message="next"/>')
    assert len(elements) == 2
    invalid, following = elements
    assert isinstance(invalid, InvalidElement), invalid
    assert reason in invalid.reason
    assert following == DeviceMessage("D", None, "next")


def test_feed_rejects_non_bytes() -> None:
    with pytest.raises(TypeError, match="takes bytes, not str"):
        IndiParser().feed("<message/>")  # type: ignore[arg-type]


def test_parser_refuses_input_after_a_stream_error() -> None:
    parser = IndiParser()
    with pytest.raises(IndiStreamError, match="malformed XML"):
        parser.feed(b"<message message='a'/><<<>>>")
    assert isinstance(parser.error, IndiStreamError)
    with pytest.raises(IndiStreamError, match="stopped earlier"):
        parser.feed(b'<message message="b"/>')


def test_empty_feed_returns_nothing() -> None:
    parser = IndiParser()
    assert parser.feed(b"") == []
    assert parser.feed(b"<message ") == []
    assert parser.feed(b'message="x">') == [] and parser.in_element is True
    assert parser.feed(b"</message>") == [DeviceMessage(None, None, "x")]
