"""The normalised PLC status as Python values: a status holds devices, a device holds values.

A :class:`PlcStatus` is valid by construction: building one checks it against the JSON Schema and
the rules of :mod:`devices.plc.validation`, whoever builds it (the normaliser, the PLC simulator, a
test). :func:`devices.plc.normalise.normalise_status` is how a status is read from the PLC.
"""

from __future__ import annotations

import json
import math
from dataclasses import InitVar, dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from devices.plc.canonical import (Quantity, find_lamps, find_power_switches, find_quantity, find_rain_detector,
                                   find_sky_temperature, find_weather)
from devices.plc.names import name_key
from devices.plc.problems import InvalidPlcStatus
from devices.plc.readings import (LampReading, PowerSwitchReading, QuantityReading, RainDetectorReading,
                                  SkyTemperatureReading)
from devices.plc.units import UNITS, ValueKind
from devices.plc.validation import find_status_problems


def _require_type(owner: str, field: str, value: Any, *expected: type) -> None:
    """Refuse a field of the wrong Python type (a bool is not taken for a number)."""
    if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
        names = " or ".join(kind.__name__ for kind in expected)
        raise TypeError(f"{owner}: {field} must be a {names}, not {type(value).__name__}")


@dataclass(frozen=True)
class PlcValue:
    """One value a device reports.

    Attributes:
        name: Its name in the device (``OutsideTemp``).
        value: A float for numeric units, a bool for ``bool``, a str for ``string``.
        unit: A unit of :data:`devices.plc.units.UNITS`.
        comment: The PLC's comment (``(N=0, E=90)``), possibly empty.
    """

    name: str
    value: float | bool | str
    unit: str
    comment: str = ""

    def __post_init__(self) -> None:
        _require_type("PlcValue", "name", self.name, str)
        owner = f"value {self.name!r}"
        _require_type(owner, "unit", self.unit, str)
        _require_type(owner, "comment", self.comment, str)
        unit = UNITS.get(self.unit)
        if unit is None:
            raise ValueError(f"{owner}: unknown unit {self.unit!r} (the units are: {', '.join(UNITS)})")
        if unit.kind is ValueKind.NUMBER:
            _require_type(owner, "value", self.value, int, float)
            if not math.isfinite(self.value):  # type: ignore[arg-type]
                raise ValueError(f"{owner}: {self.value} is not a finite number")
            object.__setattr__(self, "value", float(self.value))
        elif unit.kind is ValueKind.BOOLEAN:
            _require_type(owner, "value", self.value, bool)
        else:
            _require_type(owner, "value", self.value, str)

    def to_dict(self) -> dict[str, Any]:
        """The value in the normalised JSON form."""
        return {"name": self.name, "value": self.value, "unit": self.unit, "comment": self.comment}


@dataclass(frozen=True)
class PlcDevice:
    """One device the PLC reads (a sensor, a lamp, a power distributor).

    Attributes:
        name: Its name (``WXT520``), unique in the status.
        kind: Its type in the JSON (``meteo``, ``sky``, ``calib``, ``power``, ``site``, ``safety``).
        serial_number: Its serial number (``Unknown`` if the PLC does not know it).
        valid: Whether the PLC trusts its values now.
        values: What it reports; names unique (compared as :func:`devices.plc.names.name_key` does).
    """

    name: str
    kind: str
    serial_number: str
    valid: bool
    values: tuple[PlcValue, ...] = ()

    def __post_init__(self) -> None:
        _require_type("PlcDevice", "name", self.name, str)
        owner = f"device {self.name!r}"
        _require_type(owner, "kind", self.kind, str)
        _require_type(owner, "serial_number", self.serial_number, str)
        _require_type(owner, "valid", self.valid, bool)
        _require_type(owner, "values", self.values, tuple, list)
        values = tuple(self.values)
        seen: dict[str, PlcValue] = {}
        for value in values:
            _require_type(owner, "each of values", value, PlcValue)
            first = seen.setdefault(name_key(value.name), value)
            if first is not value:
                raise ValueError(f"{owner}: value {value.name!r} repeats {first.name!r}")
        object.__setattr__(self, "values", values)

    def find_value(self, name: str) -> PlcValue | None:
        """The value of that name (compared as :func:`devices.plc.names.name_key` does), or None."""
        key = name_key(name)
        return next((value for value in self.values if name_key(value.name) == key), None)

    def value(self, name: str) -> PlcValue:
        """The value of that name.

        Raises:
            KeyError: If the device has no such value.
        """
        found = self.find_value(name)
        if found is None:
            raise KeyError(f"device {self.name!r} has no value {name!r} (it has: "
                           f"{', '.join(value.name for value in self.values) or 'none'})")
        return found

    def to_dict(self) -> dict[str, Any]:
        """The device in the normalised JSON form."""
        return {"name": self.name, "type": self.kind, "serial_number": self.serial_number, "valid": self.valid,
                "values": [value.to_dict() for value in self.values]}


def format_instant(instant: datetime) -> str:
    """An aware instant as the normalised JSON writes it: UTC, ``Z`` (``2017-03-03T13:45:00Z``)."""
    return instant.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"


@dataclass(frozen=True)
class PlcStatus:
    """A PLC status in its normalised form (JSON Schema ``plc-status-1.json``).

    Attributes:
        source: Who made the PLC or its program (the JSON's ``from``, e.g. ``Beckhoff``).
        firmware_version: The PLC program's version (``version_firmware``).
        site: The site it serves.
        date: When the PLC took the status (aware; kept in UTC).
        devices: What the PLC reads (the JSON's ``device``), names unique.

    Raises:
        InvalidPlcStatus: On construction, naming every problem by its JSON path.
        TypeError: If a field has the wrong Python type.
    """

    source: str
    firmware_version: str
    site: str
    date: datetime
    devices: tuple[PlcDevice, ...]
    _checked: InitVar[bool] = False
    """Internal: the normaliser sets it when it has just checked the very same document (validation costs
    about 13 ms, so it is not done twice)."""

    def __post_init__(self, _checked: bool) -> None:
        for field in ("source", "firmware_version", "site"):
            _require_type("PlcStatus", field, getattr(self, field), str)
        _require_type("PlcStatus", "date", self.date, datetime)
        if self.date.utcoffset() is None:
            raise InvalidPlcStatus.at("date", f"{self.date.isoformat()} has no time zone")
        _require_type("PlcStatus", "devices", self.devices, tuple, list)
        for device in self.devices:
            _require_type("PlcStatus", "each of devices", device, PlcDevice)
        object.__setattr__(self, "date", self.date.astimezone(timezone.utc))
        object.__setattr__(self, "devices", tuple(self.devices))
        problems = [] if _checked else find_status_problems(self.to_dict())
        if problems:
            raise InvalidPlcStatus(problems)

    # The normalised JSON ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The status in the normalised JSON form, as plain values (keys in the documented order)."""
        return {"name": "STATUS", "from": self.source, "version_firmware": self.firmware_version, "site": self.site,
                "date": format_instant(self.date), "device": [device.to_dict() for device in self.devices]}

    def to_json(self, indent: int | None = None) -> str:
        """The normalised JSON text; :func:`~devices.plc.normalise.normalise_status` reads it back equal.

        Args:
            indent: Indentation for people; None for one compact line.
        """
        separators = (",", ": ") if indent is not None else (",", ":")
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False, indent=indent, separators=separators)

    # Devices by name ----------------------------------------------------------------------------

    def find_device(self, name: str) -> PlcDevice | None:
        """The device of that name (compared as :func:`devices.plc.names.name_key` does), or None."""
        key = name_key(name)
        return next((device for device in self.devices if name_key(device.name) == key), None)

    def device(self, name: str) -> PlcDevice:
        """The device of that name.

        Raises:
            KeyError: If there is no such device.
        """
        found = self.find_device(name)
        if found is None:
            raise KeyError(f"the PLC status has no device {name!r} (it has: "
                           f"{', '.join(device.name for device in self.devices)})")
        return found

    def devices_of_kind(self, kind: str) -> tuple[PlcDevice, ...]:
        """The devices of one type (``meteo``, ``calib``...), in status order."""
        return tuple(device for device in self.devices if device.kind == kind)

    # Canonical quantities (see devices.plc.canonical for the choice among sensors) -------------

    def quantity(self, quantity: Quantity | str, prefer: Iterable[str] = ()) -> QuantityReading | None:
        """One canonical quantity from the sensor to believe, or None if no sensor reports it.

        Args:
            quantity: A :class:`~devices.plc.canonical.Quantity` or its value (``"rain_rate"``).
            prefer: Device names to try first, in order.
        """
        return find_quantity(self.devices, quantity, prefer)

    def weather(self, prefer: Iterable[str] = ()) -> dict[Quantity, QuantityReading]:
        """Every canonical quantity some sensor reports, by quantity."""
        return find_weather(self.devices, prefer)

    def outside_temperature(self, prefer: Iterable[str] = ()) -> QuantityReading | None:
        """Outside air temperature, degC."""
        return self.quantity(Quantity.OUTSIDE_TEMPERATURE, prefer)

    def outside_humidity(self, prefer: Iterable[str] = ()) -> QuantityReading | None:
        """Outside relative humidity, percent."""
        return self.quantity(Quantity.OUTSIDE_HUMIDITY, prefer)

    def pressure(self, prefer: Iterable[str] = ()) -> QuantityReading | None:
        """Air pressure at the site's elevation, hPa."""
        return self.quantity(Quantity.PRESSURE, prefer)

    def rain_rate(self, prefer: Iterable[str] = ()) -> QuantityReading | None:
        """Rain rate, mm/h."""
        return self.quantity(Quantity.RAIN_RATE, prefer)

    def wind_speed(self, prefer: Iterable[str] = ()) -> QuantityReading | None:
        """Wind speed, m/s."""
        return self.quantity(Quantity.WIND_SPEED, prefer)

    def wind_direction(self, prefer: Iterable[str] = ()) -> QuantityReading | None:
        """Direction the wind blows from, deg (N=0, E=90)."""
        return self.quantity(Quantity.WIND_DIRECTION, prefer)

    def dew_point(self, prefer: Iterable[str] = ()) -> QuantityReading | None:
        """Dew point, degC."""
        return self.quantity(Quantity.DEW_POINT, prefer)

    def sky_quality(self, prefer: Iterable[str] = ()) -> QuantityReading | None:
        """Sky brightness from a sky-quality meter, mag/arcsec2 (larger is darker)."""
        return self.quantity(Quantity.SKY_QUALITY, prefer)

    def rain_detector(self, prefer: Iterable[str] = ()) -> RainDetectorReading | None:
        """The rain detector (DRD11) to believe, or None."""
        return find_rain_detector(self.devices, prefer)

    def sky_temperature(self, prefer: Iterable[str] = ()) -> SkyTemperatureReading | None:
        """The infrared sky thermometer (MLX90614) to believe, or None."""
        return find_sky_temperature(self.devices, prefer)

    def lamps(self) -> tuple[LampReading, ...]:
        """The calibration lamps (devices of type ``calib``), in status order."""
        return find_lamps(self.devices)

    def power_switches(self) -> tuple[PowerSwitchReading, ...]:
        """The power switches (``bool`` values of devices of type ``power``), in status order."""
        return find_power_switches(self.devices)
