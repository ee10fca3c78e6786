"""The units of a normalised PLC status, and the spellings the PLC firmware uses for them.

Every value of a normalised status carries one unit from :data:`UNITS`. A unit fixes the JSON type of
the value (number, boolean or string); the shipped JSON Schema also fixes its accepted range.

The PLC does not always spell units our way (the seed's Beckhoff firmware writes ``Celcius``,
``mbar``, ``Ampere``, and ``deg`` for a dew point). :func:`read_unit` maps a spelling to one of our
units together with the conversion of the value, e.g. ``mbar`` → ``hPa`` (1:1), ``degF`` → ``degC``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class ValueKind(Enum):
    """The JSON type a unit gives its values."""

    NUMBER = "number"
    BOOLEAN = "boolean"
    STRING = "string"


@dataclass(frozen=True)
class Unit:
    """One unit of the normalised format.

    Attributes:
        symbol: How the normalised JSON spells it.
        kind: The JSON type of its values.
        meaning: What it measures, for people.
    """

    symbol: str
    kind: ValueKind
    meaning: str


UNITS: dict[str, Unit] = {unit.symbol: unit for unit in (
    Unit("degC", ValueKind.NUMBER, "temperature, degrees Celsius"),
    Unit("percent", ValueKind.NUMBER, "relative humidity or any fraction, 0 to 100"),
    Unit("hPa", ValueKind.NUMBER, "pressure, hectopascals (= millibars)"),
    Unit("mm/h", ValueKind.NUMBER, "rain rate, millimetres per hour"),
    Unit("m/s", ValueKind.NUMBER, "speed, metres per second"),
    Unit("deg", ValueKind.NUMBER, "direction or azimuth, degrees (N=0, E=90)"),
    Unit("V", ValueKind.NUMBER, "voltage, volts"),
    Unit("A", ValueKind.NUMBER, "current, amperes"),
    Unit("W", ValueKind.NUMBER, "power, watts"),
    Unit("mag/arcsec2", ValueKind.NUMBER, "sky brightness, magnitudes per square arcsecond"),
    Unit("bool", ValueKind.BOOLEAN, "a yes/no state (a switch, a detector)"),
    Unit("string", ValueKind.STRING, "free text or a named state (on/off, SW)"),
)}
"""Every unit of the normalised format, by symbol (the schema's closed list)."""


@dataclass(frozen=True)
class UnitReading:
    """How to read a value written with some unit spelling.

    The value in our unit is ``(raw + offset) * scale`` for numbers; other kinds are not converted.

    Attributes:
        unit: Our unit (a key of :data:`UNITS`).
        offset: Added to the raw number first.
        scale: Then multiplied.
    """

    unit: str
    offset: float = 0.0
    scale: float = 1.0

    def convert(self, raw: float) -> float:
        """The raw number in :attr:`unit`.

        Args:
            raw: The number as the PLC wrote it.
        """
        if self.offset == 0.0 and self.scale == 1.0:
            return float(raw)
        return (raw + self.offset) * self.scale


_SYMBOL_SPELLINGS: dict[str, UnitReading] = {
    # Exact spellings (case matters: mA is not MA, K is not k).
    **{symbol: UnitReading(symbol) for symbol in UNITS},
    "°C": UnitReading("degC"), "ºC": UnitReading("degC"),
    "degF": UnitReading("degC", -32.0, 5.0 / 9.0), "°F": UnitReading("degC", -32.0, 5.0 / 9.0),
    "K": UnitReading("degC", -273.15),
    "%": UnitReading("percent"), "%RH": UnitReading("percent"),
    "mbar": UnitReading("hPa"), "mBar": UnitReading("hPa"), "Pa": UnitReading("hPa", scale=0.01),
    "kPa": UnitReading("hPa", scale=10.0), "inHg": UnitReading("hPa", scale=33.8638866667),
    "mmHg": UnitReading("hPa", scale=1.33322387415),
    "mm/hr": UnitReading("mm/h"), "in/h": UnitReading("mm/h", scale=25.4), "in/hr": UnitReading("mm/h", scale=25.4),
    "km/h": UnitReading("m/s", scale=1.0 / 3.6), "kt": UnitReading("m/s", scale=1852.0 / 3600.0),
    "mph": UnitReading("m/s", scale=0.44704),
    "°": UnitReading("deg"),
    "mV": UnitReading("V", scale=0.001), "mA": UnitReading("A", scale=0.001),
    "mag/arcsec^2": UnitReading("mag/arcsec2"), "mag/arcsec²": UnitReading("mag/arcsec2"),
}
_WORD_SPELLINGS: dict[str, UnitReading] = {
    # Words, compared without regard to case.
    "celsius": UnitReading("degC"), "celcius": UnitReading("degC"),
    "fahrenheit": UnitReading("degC", -32.0, 5.0 / 9.0), "kelvin": UnitReading("degC", -273.15),
    "percent": UnitReading("percent"),
    "hectopascal": UnitReading("hPa"), "millibar": UnitReading("hPa"), "mbar": UnitReading("hPa"),
    "degree": UnitReading("deg"), "degrees": UnitReading("deg"),
    "volt": UnitReading("V"), "volts": UnitReading("V"),
    "amp": UnitReading("A"), "amps": UnitReading("A"), "ampere": UnitReading("A"), "amperes": UnitReading("A"),
    "watt": UnitReading("W"), "watts": UnitReading("W"),
    "knot": UnitReading("m/s", scale=1852.0 / 3600.0), "knots": UnitReading("m/s", scale=1852.0 / 3600.0),
    "mpsas": UnitReading("mag/arcsec2"),
    "bool": UnitReading("bool"), "boolean": UnitReading("bool"),
    "string": UnitReading("string"), "text": UnitReading("string"),
}
_ANGLE_SPELLINGS = frozenset({"deg", "°", "degree", "degrees"})
_TEMPERATURE_NAME = re.compile(r"temp|dew", re.IGNORECASE)


def read_unit(spelling: str, value_name: str = "") -> UnitReading | None:
    """Map a unit as the PLC spelled it to one of :data:`UNITS`, with its conversion.

    One rule depends on the value: ``deg`` (or ``degree``, ``°``) on a value whose name speaks of a
    temperature (it contains ``temp`` or ``dew``, in any case) means degrees Celsius. The seed's
    Beckhoff firmware labels ``DewPoint`` so; everywhere else ``deg`` is an angle.

    Args:
        spelling: The unit as written, e.g. ``Celcius``, ``mbar``, ``km/h``.
        value_name: The name of the value it belongs to (for the ``deg`` rule).

    Returns:
        The reading, or None if the spelling is not known (the schema then refuses the unit).
    """
    word = spelling.strip()
    reading = _SYMBOL_SPELLINGS.get(word) or _WORD_SPELLINGS.get(word.casefold())
    if reading is not None and reading.unit == "deg" and word.casefold() in _ANGLE_SPELLINGS \
            and _TEMPERATURE_NAME.search(value_name):
        return UnitReading("degC")
    return reading
