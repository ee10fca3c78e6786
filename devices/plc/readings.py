"""What the PLC's sensors say about the weather, the sky, the lamps and the power, one reading each.

Each reading names the device it comes from and whether the PLC holds that device valid, so a
consumer (the monitor) can publish the value together with its sensor and trust.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuantityReading:
    """One canonical quantity, as one sensor reports it.

    Attributes:
        quantity: The canonical quantity (a :class:`devices.plc.canonical.Quantity` value, e.g. ``rain_rate``).
        value: The value, in :attr:`unit`.
        unit: A unit of the normalised format (``degC``, ``hPa``, ``bool``, ...).
        sensor: The name of the device it comes from (``WXT520``).
        source: The value (or values) of that device it was read from (``RainRate``;
            ``SkyTemperature - SensorTemperature`` for a derived quantity).
        sensor_valid: Whether the PLC holds the device valid.
    """

    quantity: str
    value: float | bool
    unit: str
    sensor: str
    source: str
    sensor_valid: bool


@dataclass(frozen=True)
class RainDetectorReading:
    """A rain detector (Vaisala DRD11A): a digital dry/wet output and the analog voltage behind it.

    Attributes:
        sensor: The device name (``DRD11``).
        sensor_valid: Whether the PLC holds the device valid.
        dry: The digital output (true = dry, as the DRD11 wires it), or None if the device does not report it.
        analog_v: The analog output in volts (about 3 V dry, below about 2.5 V wet), or None.
    """

    sensor: str
    sensor_valid: bool
    dry: bool | None
    analog_v: float | None

    @property
    def rain_detected(self) -> bool | None:
        """Whether the digital output says rain (None if there is no digital output)."""
        return None if self.dry is None else not self.dry


@dataclass(frozen=True)
class SkyTemperatureReading:
    """An infrared sky thermometer (MLX90614): the sky's temperature and the sensor's own.

    The sky's temperature minus the ambient one measures cloudiness: a clear sky is much colder
    than the air (tens of degrees), a cloudy sky nearly as warm.

    Attributes:
        sensor: The device name (``MLX90614-1``).
        sensor_valid: Whether the PLC holds the device valid.
        sky_c: The sky's temperature, °C.
        ambient_c: The sensor's (ambient) temperature, °C, or None if not reported.
    """

    sensor: str
    sensor_valid: bool
    sky_c: float
    ambient_c: float | None

    @property
    def sky_minus_ambient_c(self) -> float | None:
        """Sky minus ambient temperature, °C (more negative is clearer), or None without an ambient temperature."""
        return None if self.ambient_c is None else self.sky_c - self.ambient_c


@dataclass(frozen=True)
class LampReading:
    """A calibration lamp (a device of type ``calib``).

    Attributes:
        name: The device name (``LAMP_FLAT_CAGIRE``).
        serial_number: The lamp's serial number.
        valid: Whether the PLC holds the device valid.
        on: Whether the lamp is lit (its ``status`` value ``on``/``off``), or None if not reported.
        current_a: The current through it, amperes (its ``current`` value), or None if not reported.
    """

    name: str
    serial_number: str
    valid: bool
    on: bool | None
    current_a: float | None


@dataclass(frozen=True)
class PowerSwitchReading:
    """One switch of a power device (a ``bool`` value of a device of type ``power``).

    Attributes:
        device: The power device's name (``PDU``).
        switch: The switch's name (``cam_vis``).
        on: Whether it is on.
        valid: Whether the PLC holds the power device valid.
        comment: The PLC's comment on the switch.
    """

    device: str
    switch: str
    on: bool
    valid: bool
    comment: str
