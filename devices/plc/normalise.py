"""Read a PLC status in whatever shape the PLC sends it, and return it normalised and validated.

What the seed's Beckhoff firmware sends (seed 000, section 6.1.3.3) differs from the normalised
format (``schema/plc-status-1.json``, docs/plc.md) in ways that are read as follows:

* the status wrapped in a list of one object → the object (paths in errors are inside it);
* ``"valid": "yes"`` / ``"no"`` (or ``"true"`` / ``"false"`` as text; any case) → ``true`` / ``false``;
* unit spellings (``Celcius``, ``mbar``, ``Ampere``, ``km/h``...) → our units, the value converted
  (:func:`devices.plc.units.read_unit`), including ``deg`` on a temperature (the seed's ``DewPoint``)
  → ``degC``;
* ``bool`` values written ``1`` / ``0`` → ``true`` / ``false``; numbers of numeric units → floats;
* a missing ``comment`` → ``""``;
* a date without a time zone → refused, unless the caller says the PLC's clock is UTC
  (``assume_utc=True``); any zone → converted to UTC;
* missing closing brackets → refused, unless the caller accepts the seed-era firmware's
  (``repair_brackets=True``; :mod:`devices.plc.bracket_repair`), each repair logged as a warning;
* a device named twice, even with other spelling (``LAMP_FLAT_CAGIRE`` / ``LAMP FLAT CAGIRE``) →
  refused, naming both: which copy is right cannot be known, and the PLC's configuration must be
  fixed.

Anything else that does not fit is left as it is and refused by the schema, with its JSON path.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import datetime, timezone
from typing import Any, Mapping

from devices.plc.bracket_repair import BracketInsertion
from devices.plc.json_input import check_plain_json, read_json
from devices.plc.problems import ROOT_PATH, InvalidPlcStatus, PlcStatusProblem, path_sort_key
from devices.plc.status import PlcDevice, PlcStatus, PlcValue
from devices.plc.units import UNITS, ValueKind, read_unit
from devices.plc.validation import find_status_problems

log = logging.getLogger(__name__)

_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}:?\d{2})?$", re.ASCII)
_YES = frozenset({"yes", "true"})
_NO = frozenset({"no", "false"})
_CONVERTED_DIGITS = 12
"""Significant digits kept after a unit conversion (drops binary noise such as 10.000000000000002)."""


def normalise_status(raw: bytes | bytearray | str | Mapping[str, Any] | list[Any], *, assume_utc: bool = False,
                     repair_brackets: bool = False) -> PlcStatus:
    """Read a PLC status and return it normalised and validated.

    Args:
        raw: The status as JSON text (str, or UTF-8 bytes) or as decoded JSON values; either the status
            object or a list holding exactly that one object (the seed's shape).
        assume_utc: Read a date without a time zone as UTC (the seed's PLC sends such dates); without it,
            such a date is refused.
        repair_brackets: Put back the closing brackets that seed-era firmware leaves out.

    Returns:
        The status.

    Raises:
        InvalidPlcStatus: Naming every problem by its JSON path and saying what is wrong.
        TypeError: If ``raw`` is none of the accepted Python types.
    """
    if isinstance(raw, (bytes, bytearray, str)):
        document = read_json(raw, repair=repair_brackets, on_repair=_log_repair)
        check_plain_json(document)  # JSON text may still spell a lone surrogate (\ud800)
    elif isinstance(raw, (Mapping, list)):
        check_plain_json(raw)
        document = raw
    else:
        raise TypeError(f"a PLC status is JSON text (str or bytes) or decoded JSON (dict or list), "
                        f"not {type(raw).__name__}")
    status = _unwrap(document)
    problems: list[PlcStatusProblem] = []
    normalised = _normalise_status_object(status, assume_utc, problems)
    reported = {problem.path for problem in problems}
    problems.extend(problem for problem in find_status_problems(normalised) if problem.path not in reported)
    if problems:
        raise InvalidPlcStatus(sorted(problems, key=lambda problem: path_sort_key(problem.path)))
    return _build(normalised)


def _log_repair(insertion: BracketInsertion) -> None:
    log.warning("PLC status repaired: %s", insertion)


def _unwrap(document: Any) -> Any:
    if not isinstance(document, list):
        return document
    if len(document) == 1 and isinstance(document[0], Mapping):
        return document[0]
    raise InvalidPlcStatus.at(ROOT_PATH, f"a list must hold exactly one status object; this one holds "
                                         f"{len(document)} item(s)" + ("" if len(document) != 1 else
                                                                      f", a {type(document[0]).__name__}"))


def _normalise_status_object(status: Any, assume_utc: bool, problems: list[PlcStatusProblem]) -> Any:
    if not isinstance(status, Mapping):
        return status
    normalised = dict(status)
    if isinstance(status.get("date"), str):
        normalised["date"] = _normalise_date(status["date"], assume_utc, problems)
    devices = status.get("device")
    if isinstance(devices, list):
        normalised["device"] = [_normalise_device(device) for device in devices]
    return normalised


def _normalise_date(text: str, assume_utc: bool, problems: list[PlcStatusProblem]) -> str:
    shown = text if len(text) <= 40 else text[:37] + "..."
    if not _INSTANT.match(text):
        problems.append(PlcStatusProblem("date", f"{shown!r} is not an ISO 8601 date and time "
                                                 "(e.g. 2017-03-03T13:45:00Z)"))
        return text
    try:
        instant = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        problems.append(PlcStatusProblem("date", f"{shown!r} is not a valid date and time: {exc}"))
        return text
    if instant.utcoffset() is None:
        if not assume_utc:
            problems.append(PlcStatusProblem("date", f"{shown!r} has no time zone; give one (e.g. Z) or read the "
                                                     "PLC's clock as UTC with assume_utc=True"))
            return text
        instant = instant.replace(tzinfo=timezone.utc)
    instant = instant.astimezone(timezone.utc)
    return instant.replace(tzinfo=None).isoformat() + "Z"


def _normalise_device(device: Any) -> Any:
    if not isinstance(device, Mapping):
        return device
    normalised = dict(device)
    valid = device.get("valid")
    if isinstance(valid, str):
        word = valid.strip().casefold()
        if word in _YES or word in _NO:
            normalised["valid"] = word in _YES
    values = device.get("values")
    if isinstance(values, list):
        normalised["values"] = [_normalise_value(value) for value in values]
    return normalised


def _normalise_value(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    normalised = dict(value)
    normalised.setdefault("comment", "")
    spelling = value.get("unit")
    name = value.get("name")
    reading = read_unit(spelling, name if isinstance(name, str) else "") if isinstance(spelling, str) else None
    if reading is None:
        return normalised
    normalised["unit"] = reading.unit
    number = value.get("value")
    kind = UNITS[reading.unit].kind
    if kind is ValueKind.NUMBER and isinstance(number, (int, float)) and not isinstance(number, bool):
        converted = reading.convert(number)
        if converted != float(number) and math.isfinite(converted):
            converted = float(f"{converted:.{_CONVERTED_DIGITS}g}")
        normalised["value"] = converted
    elif kind is ValueKind.BOOLEAN and type(number) is int and number in (0, 1):
        normalised["value"] = bool(number)
    return normalised


def _build(document: Mapping[str, Any]) -> PlcStatus:
    """The status from a document that passed :func:`~devices.plc.validation.find_status_problems`."""
    devices = tuple(
        PlcDevice(device["name"], device["type"], device["serial_number"], device["valid"],
                  tuple(PlcValue(value["name"], value["value"], value["unit"], value["comment"])
                        for value in device["values"]))
        for device in document["device"])
    return PlcStatus(document["from"], document["version_firmware"], document["site"],
                     datetime.fromisoformat(document["date"]), devices, _checked=True)
