"""The canonical weather and site quantities, and how they are found among the PLC's sensors.

Several sensors may report the same quantity (the WXT520 and the VantagePro both report the rain
rate). A quantity is looked for among the devices of type ``meteo``, ``sky`` and ``site``, in the
caller's order of preference (``prefer``: device names) and then in the status's order; the first
sensor the PLC holds valid wins. If every sensor that reports it is invalid, the first of them is
returned, marked ``sensor_valid=False``, so the caller decides what an invalid reading is worth.

A value counts as a quantity when its name is one of the quantity's names (compared as
:func:`devices.plc.names.name_key` does) and its unit is the quantity's unit; the normaliser refuses
a status where such a name carries another unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Callable, Iterable, Sequence, TypeVar

from devices.plc.names import name_key
from devices.plc.readings import (LampReading, PowerSwitchReading, QuantityReading, RainDetectorReading,
                                  SkyTemperatureReading)

if TYPE_CHECKING:
    from devices.plc.status import PlcDevice, PlcValue

WEATHER_DEVICE_KINDS = frozenset({"meteo", "sky", "site"})
"""Device types searched for canonical quantities."""
RAIN_DETECTOR_MODELS = ("DRD11",)
"""Device name prefixes of rain detectors (digital ``digital`` output true = dry, analog ``analog`` in V)."""
AMBIENT_TEMPERATURE_NAMES = ("SensorTemperature", "AmbientTemperature", "AmbientTemp")
"""Names of a sky thermometer's own (ambient) temperature, in degC."""


class Quantity(StrEnum):
    """A canonical quantity of the weather (outside) or of the site (inside)."""

    OUTSIDE_TEMPERATURE = "outside_temperature"
    OUTSIDE_HUMIDITY = "outside_humidity"
    PRESSURE = "pressure"
    RAIN_RATE = "rain_rate"
    WIND_SPEED = "wind_speed"
    WIND_DIRECTION = "wind_direction"
    DEW_POINT = "dew_point"
    RAIN_DETECTED = "rain_detected"
    SKY_TEMPERATURE = "sky_temperature"
    SKY_MINUS_AMBIENT = "sky_minus_ambient"
    SKY_QUALITY = "sky_quality"
    INSIDE_TEMPERATURE = "inside_temperature"
    INSIDE_HUMIDITY = "inside_humidity"


@dataclass(frozen=True)
class MeasuredQuantity:
    """A quantity that a sensor reports directly as one value.

    Attributes:
        names: The value names that carry it.
        unit: Its unit.
    """

    names: tuple[str, ...]
    unit: str


MEASURED_QUANTITIES: dict[Quantity, MeasuredQuantity] = {
    Quantity.OUTSIDE_TEMPERATURE: MeasuredQuantity(("OutsideTemp", "OutsideTemperature", "AirTemperature"), "degC"),
    Quantity.OUTSIDE_HUMIDITY: MeasuredQuantity(("OutsideHumidity", "Humidity", "RelativeHumidity"), "percent"),
    Quantity.PRESSURE: MeasuredQuantity(("Pressure", "BarometricPressure", "AirPressure"), "hPa"),
    Quantity.RAIN_RATE: MeasuredQuantity(("RainRate", "RainIntensity"), "mm/h"),
    Quantity.WIND_SPEED: MeasuredQuantity(("WindSpeed",), "m/s"),
    Quantity.WIND_DIRECTION: MeasuredQuantity(("WindDir", "WindDirection"), "deg"),
    Quantity.DEW_POINT: MeasuredQuantity(("DewPoint",), "degC"),
    Quantity.SKY_TEMPERATURE: MeasuredQuantity(("SkyTemperature", "SkyTemp"), "degC"),
    Quantity.SKY_QUALITY: MeasuredQuantity(("SkyQuality", "SkyBrightness"), "mag/arcsec2"),
    Quantity.INSIDE_TEMPERATURE: MeasuredQuantity(("InsideTemp", "InsideTemperature"), "degC"),
    Quantity.INSIDE_HUMIDITY: MeasuredQuantity(("InsideHumidity",), "percent"),
}
"""The directly measured quantities (the others are derived: rain_detected, sky_minus_ambient)."""

_EXPECTED_UNITS: dict[str, tuple[str, str]] = {
    **{name_key(name): (quantity.value, measured.unit)
       for quantity, measured in MEASURED_QUANTITIES.items() for name in measured.names},
    **{name_key(name): ("ambient_temperature", "degC") for name in AMBIENT_TEMPERATURE_NAMES},
}

_Found = TypeVar("_Found")


def expected_unit(value_name: str) -> tuple[str, str] | None:
    """The quantity a value name stands for on a weather device, and the unit it must carry.

    Args:
        value_name: A value's name, e.g. ``OutsideTemp``.

    Returns:
        ``(quantity, unit)``, e.g. ``("outside_temperature", "degC")``, or None for a name of no quantity.
    """
    return _EXPECTED_UNITS.get(name_key(value_name))


def is_rain_detector(device: PlcDevice) -> bool:
    """Whether a device is a rain detector (its name starts with a model of :data:`RAIN_DETECTOR_MODELS`)."""
    key = name_key(device.name)
    return device.kind in WEATHER_DEVICE_KINDS and any(key.startswith(name_key(model))
                                                       for model in RAIN_DETECTOR_MODELS)


def _in_preferred_order(devices: Sequence[PlcDevice], prefer: Iterable[str]) -> list[PlcDevice]:
    if isinstance(prefer, str):
        raise TypeError(f"prefer is a sequence of device names, not one str ({prefer!r})")
    by_key = {name_key(device.name): device for device in devices}
    ordered: list[PlcDevice] = []
    for name in prefer:
        device = by_key.get(name_key(name))
        if device is not None and all(device is not chosen for chosen in ordered):
            ordered.append(device)
    chosen_ids = {id(device) for device in ordered}
    ordered.extend(device for device in devices if id(device) not in chosen_ids)
    return ordered


def _first_valid(devices: Sequence[PlcDevice], prefer: Iterable[str],
                 read: Callable[[PlcDevice], _Found | None]) -> _Found | None:
    """What ``read`` finds in the first valid device that has it, else in the first invalid one."""
    fallback: _Found | None = None
    for device in _in_preferred_order(devices, prefer):
        if device.kind not in WEATHER_DEVICE_KINDS:
            continue
        found = read(device)
        if found is None:
            continue
        if device.valid:
            return found
        if fallback is None:
            fallback = found
    return fallback


def _value_of(device: PlcDevice, names: Iterable[str], unit: str) -> PlcValue | None:
    for name in names:
        value = device.find_value(name)
        if value is not None and value.unit == unit:
            return value
    return None


def find_rain_detector(devices: Sequence[PlcDevice], prefer: Iterable[str] = ()) -> RainDetectorReading | None:
    """The rain detector to believe (see the module's rule), or None if there is none.

    Args:
        devices: The status's devices.
        prefer: Device names to try first, in order.
    """
    def read(device: PlcDevice) -> RainDetectorReading | None:
        if not is_rain_detector(device):
            return None
        digital = _value_of(device, ("digital",), "bool")
        analog = _value_of(device, ("analog",), "V")
        if digital is None and analog is None:
            return None
        return RainDetectorReading(device.name, device.valid, None if digital is None else bool(digital.value),
                                   None if analog is None else float(analog.value))
    return _first_valid(devices, prefer, read)


def find_sky_temperature(devices: Sequence[PlcDevice], prefer: Iterable[str] = ()) -> SkyTemperatureReading | None:
    """The sky thermometer to believe (see the module's rule), or None if there is none.

    Args:
        devices: The status's devices.
        prefer: Device names to try first, in order.
    """
    sky_names = MEASURED_QUANTITIES[Quantity.SKY_TEMPERATURE].names

    def read(device: PlcDevice) -> SkyTemperatureReading | None:
        sky = _value_of(device, sky_names, "degC")
        if sky is None:
            return None
        ambient = _value_of(device, AMBIENT_TEMPERATURE_NAMES, "degC")
        return SkyTemperatureReading(device.name, device.valid, float(sky.value),
                                     None if ambient is None else float(ambient.value))
    return _first_valid(devices, prefer, read)


def find_quantity(devices: Sequence[PlcDevice], quantity: Quantity | str,
                  prefer: Iterable[str] = ()) -> QuantityReading | None:
    """One canonical quantity, from the sensor to believe (see the module's rule).

    Args:
        devices: The status's devices.
        quantity: Which quantity (a :class:`Quantity` or its value, e.g. ``"rain_rate"``).
        prefer: Device names to try first, in order.

    Returns:
        The reading, or None if no sensor reports the quantity.

    Raises:
        ValueError: If ``quantity`` is not a canonical quantity.
    """
    try:
        wanted = Quantity(quantity)
    except ValueError:
        raise ValueError(f"unknown quantity {quantity!r}; the quantities are: "
                         f"{', '.join(q.value for q in Quantity)}") from None
    return _first_valid(devices, prefer, _QUANTITY_READERS.get(wanted) or _measured_reader(wanted))


def _measured_reader(quantity: Quantity) -> Callable[[PlcDevice], QuantityReading | None]:
    measured = MEASURED_QUANTITIES[quantity]

    def read(device: PlcDevice) -> QuantityReading | None:
        value = _value_of(device, measured.names, measured.unit)
        if value is None:
            return None
        number = value.value
        return QuantityReading(quantity.value, number if isinstance(number, bool) else float(number), measured.unit,
                               device.name, value.name, device.valid)
    return read


def _read_rain_detected(device: PlcDevice) -> QuantityReading | None:
    digital = _value_of(device, ("digital",), "bool") if is_rain_detector(device) else None
    if digital is None:
        return None
    return QuantityReading(Quantity.RAIN_DETECTED.value, not digital.value, "bool", device.name, digital.name,
                           device.valid)


def _read_sky_minus_ambient(device: PlcDevice) -> QuantityReading | None:
    sky = _value_of(device, MEASURED_QUANTITIES[Quantity.SKY_TEMPERATURE].names, "degC")
    ambient = _value_of(device, AMBIENT_TEMPERATURE_NAMES, "degC")
    if sky is None or ambient is None:
        return None
    return QuantityReading(Quantity.SKY_MINUS_AMBIENT.value, float(sky.value) - float(ambient.value), "degC",
                           device.name, f"{sky.name} - {ambient.name}", device.valid)


_QUANTITY_READERS: dict[Quantity, Callable[[PlcDevice], QuantityReading | None]] = {
    Quantity.RAIN_DETECTED: _read_rain_detected,
    Quantity.SKY_MINUS_AMBIENT: _read_sky_minus_ambient,
}


def find_weather(devices: Sequence[PlcDevice], prefer: Iterable[str] = ()) -> dict[Quantity, QuantityReading]:
    """Every canonical quantity that some sensor reports.

    Args:
        devices: The status's devices.
        prefer: Device names to try first, in order.

    Returns:
        The readings by quantity (quantities that no sensor reports are absent).
    """
    prefer = prefer if isinstance(prefer, str) else tuple(prefer)  # a str is refused by find_quantity
    readings = {quantity: find_quantity(devices, quantity, prefer) for quantity in Quantity}
    return {quantity: reading for quantity, reading in readings.items() if reading is not None}


def find_lamps(devices: Sequence[PlcDevice]) -> tuple[LampReading, ...]:
    """The calibration lamps: every device of type ``calib``, in status order."""
    lamps = []
    for device in devices:
        if device.kind != "calib":
            continue
        status = device.find_value("status")
        current = _value_of(device, ("current",), "A")
        lamps.append(LampReading(device.name, device.serial_number, device.valid,
                                 None if status is None else status.value == "on",
                                 None if current is None else float(current.value)))
    return tuple(lamps)


def find_power_switches(devices: Sequence[PlcDevice]) -> tuple[PowerSwitchReading, ...]:
    """The power switches: every ``bool`` value of every device of type ``power``, in status order."""
    return tuple(PowerSwitchReading(device.name, value.name, bool(value.value), device.valid, value.comment)
                 for device in devices if device.kind == "power"
                 for value in device.values if value.unit == "bool")
