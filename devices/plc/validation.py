"""Everything a normalised PLC status must satisfy: its JSON Schema, and the rules a schema cannot say.

The rules beyond the schema:

* device names are unique under :func:`devices.plc.names.name_key` (case, spaces, ``_`` and ``-``
  ignored), so the seed's ``LAMP_FLAT_CAGIRE`` and ``LAMP FLAT CAGIRE`` are one device named twice,
  and the status is refused;
* value names are unique within a device, by the same comparison;
* on a weather device (type ``meteo``, ``sky`` or ``site``), a value named after a canonical
  quantity carries that quantity's unit (``OutsideTemp`` in ``degC``, ``Pressure`` in ``hPa``...).
"""

from __future__ import annotations

from typing import Any

from devices.plc.canonical import WEATHER_DEVICE_KINDS, expected_unit
from devices.plc.names import name_key
from devices.plc.problems import PlcStatusProblem, path_sort_key
from devices.plc.json_schema import validate_status_document
from devices.plc.units import UNITS


def _rule_problems(document: Any) -> list[PlcStatusProblem]:
    problems: list[PlcStatusProblem] = []
    devices = document.get("device") if isinstance(document, dict) else None
    if not isinstance(devices, list):
        return problems
    seen_devices: dict[str, tuple[int, str]] = {}
    for index, device in enumerate(devices):
        if not isinstance(device, dict):
            continue
        name = device.get("name")
        if isinstance(name, str):
            first = seen_devices.setdefault(name_key(name), (index, name))
            if first[0] != index:
                problems.append(PlcStatusProblem(
                    f"device[{index}].name",
                    f"device {name!r} is already device[{first[0]}] {first[1]!r} (device names are compared "
                    "ignoring case, with spaces, '_' and '-' alike); a device may appear once"))
        values = device.get("values")
        if not isinstance(values, list):
            continue
        seen_values: dict[str, tuple[int, str]] = {}
        for value_index, value in enumerate(values):
            if not isinstance(value, dict) or not isinstance(value.get("name"), str):
                continue
            value_name: str = value["name"]
            first = seen_values.setdefault(name_key(value_name), (value_index, value_name))
            if first[0] != value_index:
                problems.append(PlcStatusProblem(
                    f"device[{index}].values[{value_index}].name",
                    f"value {value_name!r} is already values[{first[0]}] {first[1]!r} of device {name!r}"))
            expected = expected_unit(value_name)
            unit = value.get("unit")
            if expected is not None and device.get("type") in WEATHER_DEVICE_KINDS and unit in UNITS \
                    and unit != expected[1]:
                problems.append(PlcStatusProblem(
                    f"device[{index}].values[{value_index}].unit",
                    f"{value_name!r} is the {expected[0].replace('_', ' ')}, in {expected[1]}; unit {unit!r} "
                    "does not fit"))
    return problems


def find_status_problems(document: Any) -> list[PlcStatusProblem]:
    """Check a normalised status against the schema and the rules of this module.

    Args:
        document: The status as plain JSON values (the normalised form, not the PLC's raw form).

    Returns:
        Every problem, in document order (empty if the status is valid).
    """
    problems = validate_status_document(document) + _rule_problems(document)
    return sorted(problems, key=lambda problem: path_sort_key(problem.path))
