"""The monitor's readings taken from a PLC status (docs/plc.md): the canonical quantities and a few more.

Besides the canonical quantities (:mod:`devices.plc.canonical`), the monitor takes from the status:

* ``wind_gust``: a value named ``WindGust``, ``WindGusts`` or ``Gust`` in m/s on a weather device;
* ``dew_point_margin``: ``outside_temperature`` minus ``dew_point``;
* ``light``: the sky-quality meter's brightness again (judged on its own word scale);
* ``power``: the mains voltage, a value named ``Voltage`` or ``MainsVoltage`` in V on a ``power`` device;
* ``doors``: whether a door is open, from the values whose name starts with ``Door`` on ``site`` or
  ``safety`` devices: a ``bool`` is true when open (true when closed if its name says ``Closed``), a
  ``string`` is open unless it reads ``closed``.

As for the canonical quantities, the first sensor the PLC holds valid wins (``prefer`` first).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from devices.plc.canonical import WEATHER_DEVICE_KINDS, Quantity
from devices.plc.names import name_key
from devices.plc.status import PlcDevice, PlcStatus, PlcValue
from pyros.environment.readings import Reading

GUST_NAMES = ("WindGust", "WindGusts", "Gust")
"""Value names of the wind gusts (m/s)."""
MAINS_NAMES = ("Voltage", "MainsVoltage")
"""Value names of the mains voltage on a power device (V)."""
DOOR_DEVICE_KINDS = frozenset({"site", "safety"})
"""Device types whose ``Door...`` values are doors."""


def _ordered(devices: Sequence[PlcDevice], prefer: Iterable[str]) -> list[PlcDevice]:
    """The devices, those named in ``prefer`` first (in that order)."""
    rank = {name_key(name): index for index, name in enumerate(prefer)}
    return sorted(devices, key=lambda device: rank.get(name_key(device.name), len(rank)))


def _first_value(devices: Sequence[PlcDevice], names: Iterable[str], unit: str,
                 prefer: Iterable[str]) -> tuple[PlcDevice, PlcValue] | None:
    """The first value of those names and unit in a valid device (else in an invalid one)."""
    keys = {name_key(name) for name in names}
    fallback = None
    for device in _ordered(devices, prefer):
        value = next((v for v in device.values if name_key(v.name) in keys and v.unit == unit), None)
        if value is None:
            continue
        if device.valid:
            return device, value
        fallback = fallback or (device, value)
    return fallback


def _door_open(value: PlcValue) -> bool | None:
    """Whether a ``Door...`` value says open (None for a value of another unit)."""
    if value.unit == "bool":
        return bool(value.value) != ("closed" in name_key(value.name))
    if value.unit == "string":
        return str(value.value).strip().casefold() != "closed"
    return None


def _doors(status: PlcStatus) -> Reading | None:
    sensors: list[str] = []
    valid, open_ = True, False
    for device in status.devices:
        if device.kind not in DOOR_DEVICE_KINDS:
            continue
        for value in device.values:
            is_open = _door_open(value) if name_key(value.name).startswith("door") else None
            if is_open is None:
                continue
            if device.name not in sensors:
                sensors.append(device.name)
            valid = valid and device.valid
            open_ = open_ or is_open
    return Reading("doors", open_, "+".join(sensors), valid) if sensors else None


def readings_from_status(status: PlcStatus, prefer: Iterable[str] = ()) -> dict[str, Reading]:
    """Every quantity of the monitor that the status reports, by name.

    Args:
        status: A normalised PLC status.
        prefer: Sensor names to believe first.
    """
    prefer = tuple(prefer)
    readings = {quantity.value: Reading(quantity.value, reading.value, reading.sensor, reading.sensor_valid)
                for quantity, reading in status.weather(prefer).items()}
    weather_devices = [device for device in status.devices if device.kind in WEATHER_DEVICE_KINDS]
    gust = _first_value(weather_devices, GUST_NAMES, "m/s", prefer)
    if gust is not None:
        readings["wind_gust"] = Reading("wind_gust", float(gust[1].value), gust[0].name, gust[0].valid)
    temperature, dew = readings.get(Quantity.OUTSIDE_TEMPERATURE.value), readings.get(Quantity.DEW_POINT.value)
    if temperature is not None and dew is not None:
        sensor = temperature.sensor if temperature.sensor == dew.sensor else f"{temperature.sensor}+{dew.sensor}"
        margin = round(float(temperature.value) - float(dew.value), 3)
        readings["dew_point_margin"] = Reading("dew_point_margin", margin, sensor, temperature.valid and dew.valid)
    sky_quality = readings.get(Quantity.SKY_QUALITY.value)
    if sky_quality is not None:
        readings["light"] = Reading("light", sky_quality.value, sky_quality.sensor, sky_quality.valid)
    mains = _first_value(status.devices_of_kind("power"), MAINS_NAMES, "V", prefer)
    if mains is not None:
        readings["power"] = Reading("power", float(mains[1].value), mains[0].name, mains[0].valid)
    doors = _doors(status)
    if doors is not None:
        readings["doors"] = doors
    return readings
