"""Tests of INDI numbers (decimal and sexagesimal) and timestamps."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyros.indi import NumberMember, format_number, parse_number
from pyros.indi.timestamps import format_timestamp, parse_timestamp


@pytest.mark.parametrize(("text", "value"), [
    ("0", 0.0),
    ("4.8603874032973974906", 4.8603874032973974906),
    ("  -12.5\n    ", -12.5),
    ("+3.", 3.0),
    (".25", 0.25),
    ("1e-3", 0.001),
    ("5.2000000000000001776", 5.2),
    ("12:30:00", 12.5),
    ("12:30", 12.5),
    ("-0:30:00", -0.5),
    ("-0:30", -0.5),
    ("- 5:30", -5.5),
    ("23:59:59.5", 23 + 59 / 60 + 59.5 / 3600),
    ("359 59 60", 360.0),
    ("12;30;36", 12.51),
    ("  6:00:00  ", 6.0),
    ("89:59:59.99", 89 + 59 / 60 + 59.99 / 3600),
])
def test_parse_number(text: str, value: float) -> None:
    assert parse_number(text) == pytest.approx(value, abs=1e-12)


def test_parse_number_special_values() -> None:
    assert math.isnan(parse_number("nan"))
    assert parse_number("-inf") == -math.inf


@pytest.mark.parametrize("text", ["", "   ", "abc", "12:", ":30", "1:2:3:4", "12:-30", "1_000", "0x10", "12h30m",
                                  "1,5", "--1"])
def test_parse_number_refuses_what_is_not_a_number(text: str) -> None:
    with pytest.raises(ValueError, match="not an INDI number"):
        parse_number(text)


def test_parse_number_needs_text() -> None:
    with pytest.raises(TypeError, match="must be given as text, not float"):
        parse_number(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "number_format", "text"), [
    (12.5, "%010.6m", "  12:30:00"),
    (-0.5, "%010.6m", "  -0:30:00"),
    (-12.5, "%010.6m", " -12:30:00"),
    (4.8603874032973974906, "%010.6m", "   4:51:37"),
    (359.99999, "%010.6m", " 360:00:00"),  # rounding carries into the whole part
    (0.0, "%010.6m", "   0:00:00"),
    (45.25, "%012.8m", "  45:15:00.0"),
    (-33.8569, "%012.8m", " -33:51:24.8"),
    (5.5 + 1.234 / 3600, "%.9m", "5:30:01.23"),
    (5.5 + 1.234 / 3600, "%12.9m", "  5:30:01.23"),
    (90.0 - 0.1 / 60, "%9.5m", "  89:59.9"),
    (90.0 - 0.04 / 60, "%9.5m", "  90:00.0"),
    (12.5, "%6.3m", " 12:30"),
    (12.5, "%6.2m", "  12:30"),  # unknown precision: minutes, as INDI does
    (3.14159, "%5.2f", " 3.14"),
    (1280.0, "%4.0f", "1280"),
    (0.1, "%g", "0.1"),
    (1e-7, "%g", "1e-07"),
    (7.0, "%.f", "7"),
    (3.7, "%d", "3"),
    (-3.7, "%i", "-3"),
    (255.0, "%x", "ff"),
    (12345.678, "%e", "1.234568e+04"),
    (3.0, "%.1f s", "3.0 s"),
    (50.0, "%.0f%%", "50%"),
    (12.5, "RA %010.6m h", "RA   12:30:00 h"),
])
def test_format_number(value: float, number_format: str, text: str) -> None:
    assert format_number(value, number_format) == text
    if number_format.startswith("%0") and number_format.endswith("m"):
        assert len(text) == int(number_format[1:].split(".")[0])  # the width is that of the whole field


@pytest.mark.parametrize(("value", "number_format", "error", "match"), [
    (1.0, "no conversion", ValueError, "exactly one conversion, found 0"),
    (1.0, "%f %f", ValueError, "exactly one conversion, found 2"),
    (1.0, "%s", ValueError, "unsupported conversion %s"),
    (1.0, "%10m", ValueError, "needs a precision"),
    (math.nan, "%010.6m", ValueError, "sexagesimal"),
    (math.inf, "%d", ValueError, "integer format"),
    ("1", "%f", TypeError, "must be int or float, not str"),
    (True, "%f", TypeError, "not bool"),
    (1.0, 5, TypeError, "format must be a string"),
])
def test_format_number_errors(value: object, number_format: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        format_number(value, number_format)  # type: ignore[arg-type]


@given(st.floats(min_value=-360, max_value=360, allow_nan=False),
       st.sampled_from([("%010.6m", 3600), ("%012.8m", 36000), ("%013.9m", 360000), ("%9.5m", 600), ("%6.3m", 60)]))
def test_sexagesimal_output_parses_back_within_its_resolution(value: float, spec: tuple[str, int]) -> None:
    number_format, units = spec
    assert parse_number(format_number(value, number_format)) == pytest.approx(value, abs=0.5 / units + 1e-9)


def test_member_formatted_uses_its_format() -> None:
    member = NumberMember("RA", "RA (hh:mm:ss)", 5.5, "%010.6m", 0, 24, 0)
    assert member.formatted() == "   5:30:00"


@pytest.mark.parametrize(("text", "seconds"), [
    ("2026-11-22T06:46:30", 1795329990.0),
    ("2026-11-22T06:46:30.25", 1795329990.25),
    ("2026-11-22T06:46:30Z", 1795329990.0),
    ("2026-11-22T06:46", 1795329960.0),
    ("1970-01-01T00:00:00", 0.0),
])
def test_parse_timestamp(text: str, seconds: float) -> None:
    assert parse_timestamp(text) == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize(("text", "match"), [
    ("yesterday", "not an INDI timestamp"),
    ("2026-11-22 06:46:30", "not an INDI timestamp"),
    ("2026-13-22T06:46:30", "impossible INDI timestamp"),
    ("2026-02-30T06:46:30", "impossible INDI timestamp"),
])
def test_parse_timestamp_errors(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_timestamp(text)


def test_format_timestamp() -> None:
    assert format_timestamp(1795329990.0) == "2026-11-22T06:46:30"
    assert format_timestamp(1795329990.25) == "2026-11-22T06:46:30.250"
    assert parse_timestamp(format_timestamp(1795329990.125)) == pytest.approx(1795329990.125, abs=1e-3)
    with pytest.raises(ValueError, match="finite"):
        format_timestamp(math.nan)
    with pytest.raises(TypeError, match="float UNIX seconds"):
        format_timestamp("now")  # type: ignore[arg-type]
