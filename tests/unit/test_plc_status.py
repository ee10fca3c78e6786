"""The PLC status format: normalising the seed's Beckhoff status, the schema, hostile input, canonical quantities."""

from __future__ import annotations

import copy
import json
import logging
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any, Callable

import pytest
from jsonschema import Draft202012Validator

from devices.plc import (InvalidPlcStatus, PlcDevice, PlcStatus, PlcValue, Quantity, normalise_status)
from devices.plc.bracket_repair import repair_brackets
from devices.plc.json_input import MAX_DEPTH, MAX_INPUT_BYTES
from devices.plc.json_schema import status_schema
from devices.plc.units import UNITS, read_unit

# The status the seed's monitoring agent printed (seed 000, section 6.1.3.3, iteration 22), copied as printed:
# not valid JSON (two devices are not closed, the device list is closed with '}'), a naive date, the
# firmware's unit spellings, and the same lamp twice under two spellings.
SEED_STATUS = (
    '[{"name": "STATUS", "from": "Beckhoff", "version_firmware": "20170809", "site": "OSM-Mexico", '
    '"date": "2017-03-03T13:45:00", "device": [{"name": "WXT520", "type": "meteo", "serial_number": '
    '"14656423", "valid": "yes", "values": [{"name": "OutsideTemp", "value": 12.12, "unit": "Celcius", '
    '"comment": ""}, {"name": "OutsideHumidity", "value": 64.1, "unit": "percent", "comment": ""}, '
    '{"name": "Pressure", "value": 769.2, "unit": "mbar", "comment": "At site elevation"}, {"name": '
    '"RainRate", "value": 12.0, "unit": "mm/h", "comment": ""}, {"name": "WindSpeed", "value": 3.1, '
    '"unit": "m/s", "comment": ""}, {"name": "WindDir", "value": 202.3, "unit": "deg", "comment": "(N=0, '
    'E=90)"}, {"name": "DewPoint", "value": 8.3, "unit": "deg", "comment": ""}], {"name": "DRD11", '
    '"type": "meteo", "serial_number": "RET6789", "valid": "yes", "values": [{"name": "analog", "value": '
    '2.345, "unit": "V", "comment": "3V=Dry <2.5V=Rain"}, {"name": "digital", "value": 1, "unit": "bool",'
    ' "comment": "1=Dry 0=Rain"}]}, {"name": "VantagePro", "type": "meteo", "serial_number": '
    '"ERTRY2344324", "valid": "no", "values": [{"name": "OutsideTemp", "value": 12.45, "unit": "Celcius",'
    ' "comment": ""}, {"name": "InsideTemp", "value": 20.28, "unit": "Celcius", "comment": ""}, {"name": '
    '"OutsideHumidity", "value": 65.3, "unit": "percent", "comment": ""}, {"name": "InsideHumidity", '
    '"value": 45.6, "unit": "percent", "comment": ""}, {"name": "Pressure", "value": 768.7, "unit": '
    '"mbar", "comment": "At site elevation"}, {"name": "RainRate", "value": 12.0, "unit": "mm/h", '
    '"comment": ""}, {"name": "WindSpeed", "value": 2.8, "unit": "m/s", "comment": ""}, {"name": '
    '"WindDir", "value": 207.0, "unit": "deg", "comment": "(N=0, E=90)"}, {"name": "WindDirCardinal", '
    '"value": "SW", "unit": "string", "comment": ""}, {"name": "DewPoint", "value": 8.5, "unit": "deg", '
    '"comment": ""}], {"name": "MLX90614-1", "type": "meteo", "serial_number": "Unknown", "valid": "yes",'
    ' "values": [{"name": "SensorTemperature", "value": 23.56, "unit": "Celcius", "comment": ""}, '
    '{"name": "SkyTemperature", "value": -15.67, "unit": "Celcius", "comment": "Clear<10 '
    'VeryCloudy>4"}]}, {"name": "LAMP_FLAT_CAGIRE", "type": "calib", "serial_number": "REF_3434", '
    '"valid": "yes", "values": [{"name": "status", "value": "on", "unit": "string", "comment": "on or '
    'off"}, {"name": "current", "value": 0.234, "unit": "Ampere", "comment": ""}]}, {"name": "LAMP FLAT '
    'CAGIRE", "type": "calib", "serial_number": "REF_3434", "valid": "yes", "values": [{"name": "status",'
    ' "value": "on", "unit": "string", "comment": "on or off"}, {"name": "current", "value": 0.234, '
    '"unit": "Ampere", "comment": ""}]}}]'
)


def sample_text() -> str:
    """The shipped sample status (normalised form)."""
    return resources.files("devices.plc").joinpath("samples").joinpath("status_ok.json").read_text(encoding="utf-8")


def sample_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(sample_text())
    return document


def seed_without_duplicate_lamp() -> str:
    """The seed's status minus its second lamp ('LAMP FLAT CAGIRE'), brackets otherwise as printed."""
    assert SEED_STATUS.endswith('"comment": ""}]}}]')
    start = SEED_STATUS.index(', {"name": "LAMP FLAT CAGIRE"')
    return SEED_STATUS[:start] + SEED_STATUS[-2:]


def refused(raw: Any, **options: bool) -> InvalidPlcStatus:
    with pytest.raises(InvalidPlcStatus) as caught:
        normalise_status(raw, **options)
    return caught.value


def device_index(document: dict[str, Any], name: str) -> int:
    return next(index for index, device in enumerate(document["device"]) if device["name"] == name)


def value_index(document: dict[str, Any], device: str, value: str) -> int:
    values = document["device"][device_index(document, device)]["values"]
    return next(index for index, item in enumerate(values) if item["name"] == value)


def set_value(document: dict[str, Any], device: str, value: str, field: str, new: Any) -> str:
    """Change one field of one value; returns the JSON path of the value object."""
    d, v = device_index(document, device), value_index(document, device, value)
    document["device"][d]["values"][v][field] = new
    return f"device[{d}].values[{v}]"


# The seed's status -----------------------------------------------------------------------------


def test_seed_status_is_refused_as_printed_and_says_why() -> None:
    error = refused(SEED_STATUS)
    assert error.problems[0].path == "$"
    assert "not valid JSON" in str(error) and "repair_brackets=True" in str(error)


def test_seed_status_with_repair_still_needs_a_time_zone_and_refuses_the_repeated_lamp() -> None:
    error = refused(SEED_STATUS, repair_brackets=True)
    by_path = {problem.path: problem.message for problem in error.problems}
    assert "no time zone" in by_path["date"] and "assume_utc=True" in by_path["date"]
    assert "'LAMP FLAT CAGIRE' is already device[4] 'LAMP_FLAT_CAGIRE'" in by_path["device[5].name"]


def test_seed_status_with_the_repeated_lamp_is_refused_naming_it() -> None:
    error = refused(SEED_STATUS, repair_brackets=True, assume_utc=True)
    assert [problem.path for problem in error.problems] == ["device[5].name"]
    assert "LAMP FLAT CAGIRE" in str(error) and "LAMP_FLAT_CAGIRE" in str(error)


def test_seed_status_minus_the_repeated_lamp_is_normalised(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="devices.plc.normalise"):
        status = normalise_status(seed_without_duplicate_lamp(), repair_brackets=True, assume_utc=True)
    assert len([r for r in caplog.records if "PLC status repaired" in r.getMessage()]) == 3
    assert status.source == "Beckhoff" and status.firmware_version == "20170809" and status.site == "OSM-Mexico"
    assert status.date == datetime(2017, 3, 3, 13, 45, tzinfo=timezone.utc)
    assert [device.name for device in status.devices] == ["WXT520", "DRD11", "VantagePro", "MLX90614-1",
                                                           "LAMP_FLAT_CAGIRE"]
    wxt = status.device("WXT520")
    assert wxt.valid is True and status.device("VantagePro").valid is False
    assert (wxt.value("OutsideTemp").value, wxt.value("OutsideTemp").unit) == (12.12, "degC")  # Celcius
    assert (wxt.value("Pressure").value, wxt.value("Pressure").unit) == (769.2, "hPa")  # mbar, 1:1
    assert wxt.value("Pressure").comment == "At site elevation"
    assert (wxt.value("DewPoint").value, wxt.value("DewPoint").unit) == (8.3, "degC")  # 'deg' on a temperature
    assert (wxt.value("WindDir").value, wxt.value("WindDir").unit) == (202.3, "deg")  # 'deg' on an angle
    assert status.device("DRD11").value("digital").value is True  # 1 with unit bool
    lamp = status.device("LAMP_FLAT_CAGIRE")
    assert (lamp.value("current").value, lamp.value("current").unit) == (0.234, "A")  # Ampere
    assert status.device("VantagePro").value("WindDirCardinal").value == "SW"
    # The seed's status says it rains (12 mm/h on both stations); VantagePro is invalid, WXT520 is used.
    rain = status.rain_rate()
    assert rain is not None and (rain.value, rain.sensor, rain.sensor_valid) == (12.0, "WXT520", True)
    assert status.to_dict()["date"] == "2017-03-03T13:45:00Z"
    assert normalise_status(status.to_json()) == status


# Repair of missing brackets --------------------------------------------------------------------


def test_repair_puts_back_what_the_seed_omits_and_nothing_else() -> None:
    repaired = repair_brackets('[{"a": [1, 2], "b": {"c": 1}, {"d": 2}]')
    assert json.loads(repaired.text) == [{"a": [1, 2], "b": {"c": 1}}, {"d": 2}]
    assert [insertion.bracket for insertion in repaired.insertions] == ["}"]
    repaired = repair_brackets('{"list": [{"x": 1}}')
    assert json.loads(repaired.text) == {"list": [{"x": 1}]}
    assert str(repaired.insertions[0]).startswith("line 1, column 19: inserted ']'")
    assert repair_brackets('{"ok": [1, {"s": "}]{[,"}]}').insertions == ()  # brackets inside strings are text


def test_repair_is_bounded_by_the_depth_limit() -> None:
    # Each missing closer leaves the unrepaired text one level deeper, so at most MAX_DEPTH are ever put back.
    def missing(count: int) -> str:
        return "[" + ", ".join(['{"a": [1}'] * count) + "]"
    assert len(repair_brackets(missing(MAX_DEPTH + 1)).insertions) == MAX_DEPTH + 1
    assert "nests deeper than 16" in str(refused(missing(MAX_DEPTH + 1), repair_brackets=True))
    assert "a list must hold exactly one status object" in str(refused(missing(MAX_DEPTH - 2), repair_brackets=True))


@pytest.mark.parametrize("text", ['{"a": [1, 2', '{"a": 1}}', '[1, 2]]', '{"a": 1, "b": {"c": 2}'])
def test_repair_does_not_guess_truncation_or_extra_closers(text: str) -> None:
    error = refused(text, repair_brackets=True)
    assert error.problems[0].path == "$" and "not valid JSON" in error.problems[0].message


# The sample and the round trip -----------------------------------------------------------------


def test_sample_is_already_normalised_and_round_trips() -> None:
    status = normalise_status(sample_text())
    assert status.to_dict() == sample_document()
    assert normalise_status(status.to_json()) == status
    assert normalise_status(status.to_json(indent=2)) == status
    assert normalise_status(status.to_json().encode("utf-8")) == status
    assert normalise_status(status.to_dict()) == status
    assert normalise_status([status.to_dict()]) == status  # the seed's list of one object
    assert status.to_json() == normalise_status(status.to_json()).to_json()
    assert not list(Draft202012Validator(status_schema()).iter_errors(json.loads(status.to_json())))


def test_sample_holds_the_devices_the_simulator_needs() -> None:
    status = normalise_status(sample_text())
    names = {device.name for device in status.devices}
    assert {"WXT520", "DRD11", "VantagePro", "MLX90614-1", "SQM"} <= names
    assert len(status.devices_of_kind("calib")) == 2 and len(status.devices_of_kind("power")) == 1
    assert all(device.valid for device in status.devices)


def test_round_trip_keeps_converted_values_zones_and_fractions() -> None:
    document = sample_document()
    document["date"] = "2017-03-03T08:45:00.250+02:00"
    set_value(document, "WXT520", "OutsideTemp", "unit", "degF")
    set_value(document, "WXT520", "OutsideTemp", "value", 50)
    set_value(document, "WXT520", "WindSpeed", "unit", "km/h")
    set_value(document, "WXT520", "WindSpeed", "value", 36)
    set_value(document, "VantagePro", "Pressure", "unit", "inHg")
    set_value(document, "VantagePro", "Pressure", "value", 22.7)
    status = normalise_status(document)
    assert status.date == datetime(2017, 3, 3, 6, 45, 0, 250000, tzinfo=timezone.utc)
    assert status.to_dict()["date"] == "2017-03-03T06:45:00.250000Z"
    wxt = status.device("WXT520")
    assert wxt.value("OutsideTemp").value == 10.0 and wxt.value("OutsideTemp").unit == "degC"
    assert wxt.value("WindSpeed").value == 10.0 and wxt.value("WindSpeed").unit == "m/s"
    assert status.device("VantagePro").value("Pressure").value == pytest.approx(768.71, abs=0.01)
    assert normalise_status(status.to_json()) == status


def test_normalising_a_dict_leaves_it_untouched() -> None:
    document = sample_document()
    set_value(document, "WXT520", "Pressure", "unit", "mbar")
    document["device"][0]["valid"] = "yes"
    before = copy.deepcopy(document)
    normalise_status(document)
    assert document == before


@pytest.mark.parametrize(("spelling", "value_name", "raw", "unit", "value"), [
    ("Celcius", "OutsideTemp", 12.5, "degC", 12.5),
    ("celsius", "OutsideTemp", 12.5, "degC", 12.5),
    ("°C", "OutsideTemp", -3, "degC", -3.0),
    ("Fahrenheit", "OutsideTemp", 212, "degC", 100.0),
    ("K", "SkyTemperature", 253.15, "degC", -20.0),
    ("deg", "DewPoint", 8.3, "degC", 8.3),
    ("degrees", "InsideTemp", 20, "degC", 20.0),
    ("deg", "WindDir", 207, "deg", 207.0),
    ("percent", "OutsideHumidity", 64.1, "percent", 64.1),
    ("%", "OutsideHumidity", 64.1, "percent", 64.1),
    ("mbar", "Pressure", 769.2, "hPa", 769.2),
    ("Pa", "Pressure", 76920, "hPa", 769.2),
    ("kt", "WindSpeed", 10, "m/s", 5.14444444444),
    ("Ampere", "current", 0.234, "A", 0.234),
    ("mA", "current", 234, "A", 0.234),
    ("mag/arcsec^2", "SkyQuality", 21.4, "mag/arcsec2", 21.4),
])
def test_unit_spellings_are_read_with_their_conversion(spelling: str, value_name: str, raw: float, unit: str,
                                                        value: float) -> None:
    reading = read_unit(spelling, value_name)
    assert reading is not None and reading.unit == unit
    assert reading.convert(raw) == pytest.approx(value, abs=1e-9)


def test_unknown_unit_spellings_are_not_guessed() -> None:
    assert read_unit("furlong") is None and read_unit("MA") is None and read_unit("") is None


@pytest.mark.parametrize(("written", "normalised"), [("yes", True), ("no", False), ("YES", True), (" No ", False),
                                                     (True, True), (False, False)])
def test_validity_spellings(written: Any, normalised: bool) -> None:
    document = sample_document()
    document["device"][0]["valid"] = written
    assert normalise_status(document).devices[0].valid is normalised


def test_bool_values_written_as_numbers_and_missing_comments() -> None:
    document = sample_document()
    path = set_value(document, "DRD11", "digital", "value", 0)
    index = value_index(document, "DRD11", "analog")
    del document["device"][device_index(document, "DRD11")]["values"][index]["comment"]
    status = normalise_status(document)
    assert status.device("DRD11").value("digital").value is False
    assert status.device("DRD11").value("analog").comment == ""
    set_value(document, "DRD11", "digital", "value", 2)
    error = refused(document)
    assert error.problems[0].path == f"{path}.value" and "not of type 'boolean'" in error.problems[0].message


def test_naive_date_is_utc_only_when_told() -> None:
    document = sample_document()
    document["date"] = "2017-03-03T13:45:00"
    error = refused(document)
    assert error.problems[0].path == "date" and "no time zone" in error.problems[0].message
    assert normalise_status(document, assume_utc=True).date == datetime(2017, 3, 3, 13, 45, tzinfo=timezone.utc)


@pytest.mark.parametrize("date", ["yesterday", "2017-02-30T13:45:00Z", "2017-03-03", "13:45:00Z", ""])
def test_bad_dates_are_refused(date: str) -> None:
    document = sample_document()
    document["date"] = date
    error = refused(document, assume_utc=True)
    assert [problem.path for problem in error.problems] == ["date"]


# What the schema refuses, located --------------------------------------------------------------


Mutation = Callable[[dict[str, Any]], str]


def _mutate_value(device: str, value: str, field: str, new: Any, suffix: str = "") -> Mutation:
    def mutate(document: dict[str, Any]) -> str:
        return set_value(document, device, value, field, new) + suffix
    return mutate


def _delete_value_field(device: str, value: str, field: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> str:
        d, v = device_index(document, device), value_index(document, device, value)
        del document["device"][d]["values"][v][field]
        return f"device[{d}].values[{v}].{field}"
    return mutate


def _set_device_field(device: str, field: str, new: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> str:
        d = device_index(document, device)
        document["device"][d][field] = new
        return f"device[{d}].{field}"
    return mutate


def _delete_device_field(device: str, field: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> str:
        d = device_index(document, device)
        del document["device"][d][field]
        return f"device[{d}].{field}"
    return mutate


def _set_top(field: str, new: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> str:
        document[field] = new
        return field
    return mutate


def _delete_top(field: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> str:
        del document[field]
        return field
    return mutate


@pytest.mark.parametrize(("mutate", "says"), [
    (_mutate_value("WXT520", "OutsideHumidity", "value", 140, ".value"), "140.0 is greater than the maximum of 100"),
    (_mutate_value("WXT520", "WindDir", "value", 400, ".value"), "400.0 is greater than the maximum of 360"),
    (_mutate_value("WXT520", "RainRate", "value", -1, ".value"), "less than the minimum of 0"),
    (_mutate_value("VantagePro", "Pressure", "value", 1200, ".value"), "greater than the maximum of 1100"),
    (_mutate_value("MLX90614-1", "SkyTemperature", "value", -300, ".value"), "less than the minimum of -100"),
    (_mutate_value("SQM", "SkyQuality", "value", 31, ".value"), "greater than the maximum of 30"),
    (_mutate_value("WXT520", "OutsideTemp", "value", "warm", ".value"), "'warm' is not of type 'number'"),
    (_mutate_value("WXT520", "OutsideTemp", "value", True, ".value"), "True is not of type 'number'"),
    (_mutate_value("WXT520", "OutsideTemp", "value", None, ".value"), "None is not of type"),
    (_mutate_value("PDU", "telescope", "value", "on", ".value"), "'on' is not of type 'boolean'"),
    (_mutate_value("VantagePro", "WindDirCardinal", "value", 5, ".value"), "5 is not of type 'string'"),
    (_mutate_value("WXT520", "WindSpeed", "unit", "furlong/fortnight", ".unit"), "unknown unit 'furlong/fortnight'"),
    (_mutate_value("WXT520", "WindSpeed", "unit", 3, ".unit"), "unknown unit 3"),
    (_mutate_value("WXT520", "OutsideTemp", "unit", "percent", ".unit"), "is the outside temperature, in degC"),
    (_mutate_value("LAMP_FLAT_DDRAGO", "status", "value", "dim", ".value"), "must be on or off"),
    (_mutate_value("WXT520", "OutsideTemp", "name", "", ".name"), "must be 1 to 64 letters"),
    (_mutate_value("WXT520", "OutsideTemp", "comment", "bell\x07", ".comment"), "no control characters"),
    (_mutate_value("WXT520", "OutsideTemp", "colour", "blue", ".colour"), "unknown field"),
    (_mutate_value("WXT520", "OutsideHumidity", "name", "OutsideTemp", ".name"), "is already values[0]"),
    (_delete_value_field("WXT520", "Pressure", "value"), "missing (required)"),
    (_delete_value_field("WXT520", "Pressure", "unit"), "missing (required)"),
    (_delete_value_field("WXT520", "Pressure", "name"), "missing (required)"),
    (_set_device_field("WXT520", "valid", "maybe"), "'maybe' is not of type 'boolean'"),
    (_set_device_field("WXT520", "type", "weather"), "unknown device type 'weather'"),
    (_set_device_field("WXT520", "serial_number", 14656423), "is not of type 'string'"),
    (_set_device_field("WXT520", "values", {}), "is not of type 'array'"),
    (_set_device_field("PDU", "name", "LAMP-FLAT-DDRAGO"), "is already device[6] 'LAMP_FLAT_DDRAGO'"),
    (_delete_device_field("DRD11", "valid"), "missing (required)"),
    (_delete_device_field("DRD11", "serial_number"), "missing (required)"),
    (_set_top("name", "STATE"), "'STATUS' was expected"),
    (_set_top("device", []), "should be non-empty"),
    (_set_top("site", ""), "must be 1 to 128 characters"),
    (_set_top("from", None), "None is not of type 'string'"),
    (_set_top("extra", 1), "unknown field"),
    (_delete_top("site"), "missing (required)"),
    (_delete_top("version_firmware"), "missing (required)"),
    (_delete_top("device"), "missing (required)"),
])
def test_schema_refusals_name_the_path_and_the_fault(mutate: Mutation, says: str) -> None:
    document = sample_document()
    path = mutate(document)
    error = refused(document)
    messages = {problem.path: problem.message for problem in error.problems}
    assert path in messages, f"expected a problem at {path}, got {error}"
    assert says in messages[path]
    assert f"{path}: " in str(error)


def test_every_problem_is_reported_in_document_order() -> None:
    document = sample_document()
    humidity = set_value(document, "WXT520", "OutsideHumidity", "value", 140)
    direction = set_value(document, "VantagePro", "WindDir", "value", 400)
    document["device"][device_index(document, "PDU")]["type"] = "mains"
    error = refused(document)
    assert [problem.path for problem in error.problems] == [f"{humidity}.value", f"{direction}.value", "device[7].type"]


def test_paths_inside_a_list_of_one_status_are_the_status_paths() -> None:
    document = sample_document()
    path = set_value(document, "WXT520", "OutsideHumidity", "value", 140)
    assert refused([document]).problems[0].path == f"{path}.value"


@pytest.mark.parametrize(("raw", "says"), [
    ([], "holds 0 item(s)"),
    ([{}, {}], "holds 2 item(s)"),
    (["STATUS"], "holds 1 item(s), a str"),
    ("5", "is not of type 'object'"),
    ("null", "is not of type 'object'"),
])
def test_not_a_status_object(raw: Any, says: str) -> None:
    error = refused(raw)
    assert error.problems[0].path == "$" and says in error.problems[0].message


# Hostile input ---------------------------------------------------------------------------------


def test_huge_input_is_refused_before_parsing() -> None:
    huge = '{"name": "STATUS", "site": "' + "x" * MAX_INPUT_BYTES + '"}'
    for raw in (huge, huge.encode("utf-8")):
        error = refused(raw)
        assert error.problems[0].path == "$" and "the limit is 1,048,576" in error.problems[0].message
    multibyte = "é" * (MAX_INPUT_BYTES // 2 + 1)  # fewer characters than the limit, more bytes
    assert "the limit is" in str(refused(multibyte))


def test_deep_nesting_is_refused_without_recursion() -> None:
    for raw in ("[" * 100_000 + "]" * 100_000, '{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)):
        error = refused(raw)
        assert "nests deeper than 16" in str(error) and "column" in str(error)
    assert "nests deeper" not in str(refused("[" * MAX_DEPTH + "]" * MAX_DEPTH))
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    assert "nests deeper than 16" in str(refused({"device": deep}))


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    document = sample_document()
    set_value(document, "VantagePro", "WindDirCardinal", "comment", "[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{\\\"")
    assert normalise_status(json.dumps(document)).device("VantagePro").value("WindDirCardinal").comment.startswith("[[")


def test_non_utf8_bytes_are_refused_naming_the_byte() -> None:
    raw = sample_text().encode("utf-8").replace(b"Beckhoff", b"Beckh\xf6ff")
    error = refused(raw)
    assert "not UTF-8" in str(error) and "0xf6" in str(error) and f"byte {raw.index(bytes([0xf6]))}" in str(error)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
def test_non_finite_numbers_are_refused(literal: str) -> None:
    text = sample_text().replace('"value": 12.12', f'"value": {literal}')
    assert literal in text
    error = refused(text)
    assert error.problems[0].path == "$" and "not accepted JSON" in str(error)


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_in_decoded_input_are_refused_with_their_path(number: float) -> None:
    document = sample_document()
    path = set_value(document, "WXT520", "OutsideTemp", "value", number)
    error = refused(document)
    assert error.problems[0].path == f"{path}.value" and "not a finite number" in str(error)


def test_other_hostile_json() -> None:
    assert "appears twice" in str(refused('{"name": "STATUS", "name": "STATUS"}'))
    assert "digits" in str(refused('{"value": ' + "9" * 5000 + "}"))
    assert "not valid JSON" in str(refused(sample_text()[:-10]))
    assert "not valid JSON" in str(refused(""))
    assert "not valid JSON" in str(refused(b"\xef\xbb\xbf" + sample_text().encode()))  # no byte order mark
    text = sample_text().replace('"comment": "(N=0, E=90)"', '"comment": "\\ud800"', 1)
    assert "lone surrogate" in str(refused(text))
    document = sample_document()
    document["device"][0]["values"][0]["comment"] = "\ud800"
    assert "lone surrogate" in str(refused(document))
    document = sample_document()
    document["device"][0]["values"][0]["value"] = b"12"
    assert "a bytes is not a JSON value" in str(refused(document))
    assert "not a string" in str(refused({1: "STATUS"}))


def test_wrong_python_types_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="not int"):
        normalise_status(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not NoneType"):
        normalise_status(None)  # type: ignore[arg-type]


# Canonical quantities --------------------------------------------------------------------------


def _status(**validity: bool) -> PlcStatus:
    document = sample_document()
    for device in document["device"]:
        device["valid"] = validity.get(device["name"].replace("-", "_"), device["valid"])
    return normalise_status(document)


def test_canonical_quantities_from_the_first_valid_sensor() -> None:
    status = _status()
    expected = {
        "outside_temperature": (12.12, "degC", "WXT520", "OutsideTemp"),
        "outside_humidity": (64.1, "percent", "WXT520", "OutsideHumidity"),
        "pressure": (769.2, "hPa", "WXT520", "Pressure"),
        "rain_rate": (0.0, "mm/h", "WXT520", "RainRate"),
        "wind_speed": (3.1, "m/s", "WXT520", "WindSpeed"),
        "wind_direction": (202.3, "deg", "WXT520", "WindDir"),
        "dew_point": (8.3, "degC", "WXT520", "DewPoint"),
        "rain_detected": (False, "bool", "DRD11", "digital"),
        "sky_temperature": (-15.67, "degC", "MLX90614-1", "SkyTemperature"),
        "sky_minus_ambient": (pytest.approx(-27.23), "degC", "MLX90614-1", "SkyTemperature - SensorTemperature"),
        "sky_quality": (21.42, "mag/arcsec2", "SQM", "SkyQuality"),
        "inside_temperature": (20.28, "degC", "VantagePro", "InsideTemp"),
        "inside_humidity": (45.6, "percent", "VantagePro", "InsideHumidity"),
    }
    weather = status.weather()
    assert set(weather) == set(Quantity) == {Quantity(name) for name in expected}
    for quantity, (value, unit, sensor, source) in expected.items():
        reading = weather[Quantity(quantity)]
        assert (reading.value, reading.unit, reading.sensor, reading.source, reading.sensor_valid) == (
            value, unit, sensor, source, True), quantity
        assert status.quantity(quantity) == reading
    assert status.outside_temperature() == weather[Quantity.OUTSIDE_TEMPERATURE]
    assert status.outside_humidity() == weather[Quantity.OUTSIDE_HUMIDITY]
    assert status.pressure() == weather[Quantity.PRESSURE]
    assert status.wind_speed() == weather[Quantity.WIND_SPEED]
    assert status.wind_direction() == weather[Quantity.WIND_DIRECTION]
    assert status.dew_point() == weather[Quantity.DEW_POINT]
    assert status.sky_quality() == weather[Quantity.SKY_QUALITY]


def test_an_invalid_sensor_gives_way_to_a_valid_one() -> None:
    status = _status(WXT520=False)
    for reading in (status.rain_rate(), status.outside_temperature(), status.pressure(), status.wind_direction()):
        assert reading is not None and reading.sensor == "VantagePro" and reading.sensor_valid is True
    rain = status.rain_rate()
    assert rain is not None and rain.value == 0.0
    temperature = status.outside_temperature()
    assert temperature is not None and temperature.value == 12.45


def test_when_every_sensor_is_invalid_the_first_is_returned_marked_invalid() -> None:
    status = _status(WXT520=False, VantagePro=False, DRD11=False, MLX90614_1=False)
    rain = status.rain_rate()
    assert rain is not None and (rain.sensor, rain.sensor_valid) == ("WXT520", False)
    detector = status.rain_detector()
    assert detector is not None and (detector.sensor, detector.sensor_valid) == ("DRD11", False)
    sky = status.sky_temperature()
    assert sky is not None and sky.sensor_valid is False


def test_preferred_sensor_first_and_missing_quantities() -> None:
    status = _status()
    rain = status.rain_rate(prefer=["VantagePro"])
    assert rain is not None and rain.sensor == "VantagePro"
    assert status.rain_rate(prefer=["vantagepro", "NoSuchStation"]) == rain  # names compared loosely
    invalid = _status(VantagePro=False)
    preferred_but_invalid = invalid.rain_rate(prefer=["VantagePro"])
    assert preferred_but_invalid is not None and preferred_but_invalid.sensor == "WXT520"
    document = sample_document()
    document["device"] = [device for device in document["device"] if device["name"] not in ("SQM", "DRD11")]
    without = normalise_status(document)
    assert without.sky_quality() is None and without.rain_detector() is None
    assert Quantity.SKY_QUALITY not in without.weather() and Quantity.RAIN_DETECTED not in without.weather()
    with pytest.raises(ValueError, match="unknown quantity 'cloudiness'"):
        status.quantity("cloudiness")
    with pytest.raises(TypeError, match="not one str"):
        status.rain_rate(prefer="VantagePro")
    with pytest.raises(TypeError, match="not one str"):
        status.weather(prefer="VantagePro")


def test_rain_detector_and_sky_thermometer() -> None:
    document = sample_document()
    set_value(document, "DRD11", "digital", "value", False)
    set_value(document, "DRD11", "analog", "value", 2.1)
    status = normalise_status(document)
    detector = status.rain_detector()
    assert detector is not None
    assert (detector.dry, detector.rain_detected, detector.analog_v) == (False, True, 2.1)
    rain = status.quantity(Quantity.RAIN_DETECTED)
    assert rain is not None and rain.value is True
    sky = status.sky_temperature()
    assert sky is not None and sky.sensor == "MLX90614-1"
    assert (sky.sky_c, sky.ambient_c) == (-15.67, 11.56)
    assert sky.sky_minus_ambient_c == pytest.approx(-27.23)


def test_lamps_and_power_switches() -> None:
    status = _status()
    lamps = {lamp.name: lamp for lamp in status.lamps()}
    assert (lamps["LAMP_FLAT_CAGIRE"].on, lamps["LAMP_FLAT_CAGIRE"].current_a) == (False, 0.0)
    assert (lamps["LAMP_FLAT_DDRAGO"].on, lamps["LAMP_FLAT_DDRAGO"].current_a) == (True, 0.234)
    assert lamps["LAMP_FLAT_DDRAGO"].serial_number == "REF_3435" and lamps["LAMP_FLAT_DDRAGO"].valid
    switches = {switch.switch: switch.on for switch in status.power_switches()}
    assert switches == {"telescope": True, "dome": True, "cam_vis": True, "cam_nir": False, "lamps": True}
    assert all(switch.device == "PDU" for switch in status.power_switches())


def test_lookup_by_name() -> None:
    status = _status()
    assert status.device("lamp flat cagire").name == "LAMP_FLAT_CAGIRE"
    assert status.find_device("nothing") is None
    with pytest.raises(KeyError, match="no device 'nothing'"):
        status.device("nothing")
    wxt = status.device("WXT520")
    assert wxt.value("outsidetemp").name == "OutsideTemp" and wxt.find_value("Nothing") is None
    with pytest.raises(KeyError, match="has no value 'Nothing'"):
        wxt.value("Nothing")


# Building a status by hand (the simulator will) ------------------------------------------------


def _hand_built(humidity: float = 50.0, date: datetime | None = None,
                second_name: str = "VantagePro") -> PlcStatus:
    when = date or datetime(2024, 5, 1, 3, 0, tzinfo=timezone(timedelta(hours=-6)))
    return PlcStatus("PyROS simulator", "1", "test site", when, (
        PlcDevice("WXT520", "meteo", "1", True, (PlcValue("OutsideHumidity", humidity, "percent"),)),
        # A list of values becomes a tuple; an int of a numeric unit becomes a float.
        PlcDevice(second_name, "meteo", "2", False,
                  [PlcValue("RainRate", 0, "mm/h", "int becomes float")]),  # type: ignore[arg-type]
    ))


def test_a_hand_built_status_is_validated_and_round_trips() -> None:
    status = _hand_built()
    assert status.date == datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc) and status.date.tzinfo is timezone.utc
    assert isinstance(status.devices[1].values, tuple) and status.devices[1].values[0].value == 0.0
    assert normalise_status(status.to_json()) == status
    with pytest.raises(InvalidPlcStatus, match=r"device\[0\]\.values\[0\]\.value: 140.0 is greater"):
        _hand_built(humidity=140)
    with pytest.raises(InvalidPlcStatus, match="no time zone"):
        _hand_built(date=datetime(2024, 5, 1, 3, 0))
    with pytest.raises(InvalidPlcStatus, match=r"device\[1\]\.name: device 'wxt520' is already device\[0\] 'WXT520'"):
        _hand_built(second_name="wxt520")


def test_hand_built_parts_refuse_wrong_types_and_units() -> None:
    with pytest.raises(ValueError, match="unknown unit 'furlong'"):
        PlcValue("x", 1.0, "furlong")
    with pytest.raises(TypeError, match="value must be a bool, not int"):
        PlcValue("digital", 1, "bool")
    with pytest.raises(TypeError, match="value must be a int or float, not bool"):
        PlcValue("RainRate", True, "mm/h")
    with pytest.raises(ValueError, match="not a finite number"):
        PlcValue("RainRate", float("nan"), "mm/h")
    with pytest.raises(TypeError, match="valid must be a bool, not str"):
        PlcDevice("WXT520", "meteo", "1", "yes", ())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="repeats"):
        PlcDevice("WXT520", "meteo", "1", True, (PlcValue("a", 1.0, "V"), PlcValue("A", 2.0, "V")))
    with pytest.raises(TypeError, match="each of devices must be a PlcDevice"):
        PlcStatus("x", "1", "s", datetime(2024, 1, 1, tzinfo=timezone.utc), ({"name": "WXT520"},))  # type: ignore


# The schema file -------------------------------------------------------------------------------


def test_schema_is_valid_draft_2020_12_and_matches_the_code() -> None:
    schema = status_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$defs"]["value"]["properties"]["unit"]["enum"] == list(UNITS)
    ranged = {branch["if"]["properties"]["unit"]["const"] for branch in schema["$defs"]["value"]["allOf"]}
    assert ranged == set(UNITS)  # every unit fixes its value type
