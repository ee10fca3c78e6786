"""Observation request documents: the shipped examples, located errors, and hostile input."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from pyros.requests import MAX_DEPTH, MAX_SIZE, InvalidRequest, RequestProblem, parse_request
from pyros.testing import PROJECT_ROOT

EXAMPLES = sorted((Path(PROJECT_ROOT) / "etc" / "requests").glob("*.xml"))

MINIMAL = """<?xml version="1.0"?>
<request version="1" name="r" program="P1" priority="2">
  <sequence name="s">
    <target name="t" ra="10" dec="-5"/>
    {constraints}
    <album detector="cam_vis">
      <plan filter="V" exposure="{exposure}" count="3" type="{type}"/>
    </album>
  </sequence>
  {more}
</request>
"""


def doc(constraints: str = "", exposure: str = "10", type: str = "light", more: str = "") -> str:  # noqa: A002
    return MINIMAL.format(constraints=constraints, exposure=exposure, type=type, more=more)


def problems(data: str | bytes) -> list[RequestProblem]:
    with pytest.raises(InvalidRequest) as raised:
        parse_request(data)
    return raised.value.problems


def test_every_shipped_example_is_valid() -> None:
    assert len(EXAMPLES) >= 3
    for path in EXAMPLES:
        spec = parse_request(path.read_bytes())
        assert spec.sequences and spec.priority > 0, path


def test_a_request_becomes_typed_values() -> None:
    spec = parse_request(doc(constraints="""<constraints>
        <window start="2026-11-23T02:00:00Z" end="2026-11-23T05:00:00+01:00"/>
        <preferred time="2026-11-23T03:00:00Z"/><airmass max="2"/><moon min_distance="25.5"/></constraints>"""))
    assert (spec.name, spec.program, spec.priority) == ("r", "P1", 2.0)
    sequence = spec.sequences[0]
    assert (sequence.target.ra_deg, sequence.target.dec_deg) == (10.0, -5.0)
    window = sequence.constraints.windows[0]
    assert window.start == datetime(2026, 11, 23, 2, tzinfo=timezone.utc)
    assert window.end == datetime(2026, 11, 23, 4, tzinfo=timezone.utc)
    assert sequence.constraints.max_airmass == 2.0 and sequence.constraints.min_moon_distance_deg == 25.5
    plan = sequence.albums[0].plans[0]
    assert (plan.filter, plan.exposure_s, plan.count, plan.binning, plan.image_type) == ("V", 10.0, 3, 1, "light")
    assert sequence.exposure_total_s == 30.0 and sequence.image_count == 3


def test_schema_errors_are_located_and_all_reported() -> None:
    found = problems(doc().replace('ra="10"', 'ra="360"').replace('count="3"', 'count="-1"')
                     .replace('priority="2"', 'priority="0"'))
    by_attribute = {p.attribute: p for p in found}
    assert set(by_attribute) == {"ra", "count", "priority"}
    assert by_attribute["ra"].line == 4 and by_attribute["ra"].element == "/request/sequence/target"
    assert by_attribute["count"].element == "/request/sequence/album/plan"
    assert "line 4, /request/sequence/target, @ra" in str(by_attribute["ra"])


@pytest.mark.parametrize("change, attribute", [
    (('dec="-5"', 'dec="NaN"'), "dec"), (('ra="10"', 'ra="INF"'), "ra"), (('exposure="10"', 'exposure="ten"'), "exposure"),
    (('type="light"', 'type="sky"'), "type"), (('version="1"', 'version="2"'), "version"),
    (('program="P1"', 'program=" leading space"'), "program"), (('name="t" ', ''), "name"),
    (('detector="cam_vis"', 'detector="cam vis"'), "detector")])
def test_bad_values_are_refused(change: tuple[str, str], attribute: str) -> None:
    assert attribute in {p.attribute for p in problems(doc().replace(*change))}


def test_unknown_and_missing_elements_are_refused() -> None:
    assert "not expected" in problems(doc(more="<note/>"))[0].message
    assert problems(doc().replace('<target name="t" ra="10" dec="-5"/>', ""))[0].element == "/request/sequence/album"
    assert problems('<?xml version="1.0"?><observation/>')[0].message.startswith("Element 'observation'")


def test_what_the_schema_cannot_say() -> None:
    found = problems(doc(constraints="""<constraints>
        <window start="2026-11-23T05:00:00Z" end="2026-11-23T02:00:00Z"/>
        <preferred time="2026-11-24T03:00:00Z"/></constraints>""",
                         more='<sequence name="s"><target name="t" ra="1" dec="1"/><album detector="d">'
                              '<plan filter="V" exposure="1" count="1"/></album></sequence>'))
    messages = {(p.element, p.attribute): p.message for p in found}
    assert "before or when it starts" in messages[("/request/sequence[1]/constraints/window", "end")]
    assert "outside every window" in messages[("/request/sequence[1]/constraints/preferred", "time")]
    assert "already used on line 3" in messages[("/request/sequence[2]", "name")]
    assert "no exposure time" in problems(doc(type="bias"))[0].message
    assert "needs an exposure time" in problems(doc(exposure="0"))[0].message
    parse_request(doc(type="bias", exposure="0"))  # the right way


def test_times_must_carry_a_time_zone() -> None:
    found = problems(doc(constraints='<constraints><window start="2026-11-23T02:00:00" '
                                     'end="2026-11-23T05:00:00Z"/></constraints>'))
    assert found[0].attribute == "start"


# ------------------------------------------------------------------ hostile input

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<request version="1" name="&lol3;" program="P" priority="1"/>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<request version="1" name="&xxe;" program="P" priority="1"/>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE request SYSTEM "http://127.0.0.1:9/request.dtd">
<request version="1" name="x" program="P" priority="1"/>"""

XINCLUDE = """<?xml version="1.0"?>
<request xmlns:xi="http://www.w3.org/2001/XInclude" version="1" name="x" program="P" priority="1">
<xi:include href="file:///etc/passwd" parse="text"/></request>"""


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_declarations_are_refused_before_parsing(hostile: str) -> None:
    found = problems(hostile)
    assert len(found) == 1 and "not allowed" in found[0].message and found[0].line == 2


def test_xinclude_is_never_processed() -> None:
    found = problems(XINCLUDE)
    assert all("root:" not in p.message for p in found)
    assert any("include" in p.message for p in found)


def test_size_depth_and_garbage_limits() -> None:
    assert "limit" in problems(b" " * (MAX_SIZE + 1))[0].message
    deep = doc().replace("<target", "<x>" * MAX_DEPTH + "</x>" * MAX_DEPTH + "<target")
    assert "deeper" in problems(deep)[0].message
    wide = doc(more="<x/>" * 60_000)
    assert "elements" in problems(wide)[0].message
    garbage = problems(b"\x00\xff<request")
    assert garbage[0].message.startswith("not well-formed XML")
    assert problems(doc().replace("</request>", ""))[0].line is not None


def test_wrong_argument_type() -> None:
    with pytest.raises(TypeError, match="bytes or str"):
        parse_request(42)  # type: ignore[arg-type]
