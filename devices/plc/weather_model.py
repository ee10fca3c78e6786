"""How the simulated PLC's sensors evolve: a diurnal temperature curve plus seeded smooth noise.

The values of the status file are the site's typical values. At observatory instant ``t`` each
weather value (a value of a ``meteo``, ``sky`` or ``site`` device named after a canonical quantity,
docs/plc.md) is its typical value changed as follows:

* outside temperature: a diurnal cosine (coldest before dawn, warmest at 15 h local solar time)
  of ``temperature_swing_c`` from coldest to warmest, plus slow noise;
* a sky thermometer's own temperature and the sky's temperature follow the outside temperature
  (the sky's with its own noise); the inside temperature follows it at 30 %;
* dew point: slow noise, always at least 0.5 degC below the same device's temperature;
* outside humidity: moves as the dew point and temperature make it move (Magnus formula);
* pressure, wind speed (never below 0), wind direction (wrapped to [0, 360)), sky quality: noise;
* rain rate: not evolved (scenarios make it rain).

Everything is a pure function of the seed and ``t``; the sensors' own small differences come from
noise seeded by the device's name. Values are rounded as sensors report them (0.01).
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Mapping

from devices.plc.canonical import AMBIENT_TEMPERATURE_NAMES, Quantity, expected_unit
from devices.plc.names import name_key
from devices.plc.smooth_noise import SmoothNoise

DIURNAL_PEAK_HOUR = 15.0
"""Local solar hour of the warmest moment of the day."""
MIN_DEW_DEPRESSION_C = 0.5
"""The dew point stays at least this far below the temperature."""
_MAGNUS_A, _MAGNUS_B = 17.62, 243.12
_COMPASS = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")
_AMBIENT_KEYS = frozenset(name_key(name) for name in AMBIENT_TEMPERATURE_NAMES)

Values = dict[str, float | bool | str]
"""One device's values by name."""


def saturation_ratio(temperature_c: float, dew_point_c: float) -> float:
    """Relative humidity in percent for a temperature and a dew point (Magnus formula)."""
    def gamma(t: float) -> float:
        return _MAGNUS_A * t / (_MAGNUS_B + t)
    return 100.0 * math.exp(gamma(dew_point_c) - gamma(temperature_c))


def compass_point(direction_deg: float) -> str:
    """The 16-point compass name of a direction (N=0, E=90): ``SSW`` for 202.5."""
    return _COMPASS[int(((direction_deg % 360.0) + 11.25) // 22.5) % 16]


class WeatherModel:
    """The evolution of the weather values of a PLC status.

    Args:
        seed: Seed of every noise signal.
        longitude_deg: Site longitude, east positive (sets local solar time).
        temperature_swing_c: Diurnal temperature range, coldest to warmest, degC.

    Raises:
        ValueError: For a longitude outside [-180, 180] or a swing outside [0, 40].
    """

    def __init__(self, seed: int = 0, longitude_deg: float = 0.0, temperature_swing_c: float = 8.0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an int, got {seed!r}")
        if not math.isfinite(longitude_deg) or not -180.0 <= longitude_deg <= 180.0:
            raise ValueError(f"longitude_deg must be in [-180, 180], got {longitude_deg!r}")
        if not math.isfinite(temperature_swing_c) or not 0.0 <= temperature_swing_c <= 40.0:
            raise ValueError(f"temperature_swing_c must be in [0, 40], got {temperature_swing_c!r}")
        self.seed = seed
        self.longitude_deg = longitude_deg
        self.temperature_swing_c = temperature_swing_c
        rng = random.Random(seed)
        self._temperature = SmoothNoise(rng, 0.8, 1200.0, 6 * 3600.0)
        self._dew = SmoothNoise(rng, 0.8, 3600.0, 8 * 3600.0)
        self._pressure = SmoothNoise(rng, 1.2, 3 * 3600.0, 24 * 3600.0)
        self._wind = SmoothNoise(rng, 1.2, 120.0, 1800.0)
        self._direction = SmoothNoise(rng, 15.0, 300.0, 7200.0)
        self._sky = SmoothNoise(rng, 1.0, 600.0, 7200.0)
        self._sky_quality = SmoothNoise(rng, 0.05, 600.0, 7200.0)
        self._sensor_noise: dict[str, SmoothNoise] = {}

    def diurnal_c(self, t: float) -> float:
        """The diurnal part of the temperature at ``t``: ``swing / 2 * cos(2 pi (hour - 15) / 24)``."""
        hour = ((t / 3600.0) + self.longitude_deg / 15.0) % 24.0
        return 0.5 * self.temperature_swing_c * math.cos(2.0 * math.pi * (hour - DIURNAL_PEAK_HOUR) / 24.0)

    def temperature_change_c(self, t: float) -> float:
        """How far the outside temperature is from its typical value at ``t`` (diurnal curve plus noise)."""
        return self.diurnal_c(t) + self._temperature(t)

    def _own(self, device: str, value: str, amplitude: float) -> SmoothNoise:
        """A sensor's own small noise, seeded by the seed and the sensor's names (stable across runs)."""
        key = f"{device}/{value}"
        noise = self._sensor_noise.get(key)
        if noise is None:
            rng = random.Random(self.seed * 1_000_003 + zlib.crc32(key.encode("utf-8")))
            noise = self._sensor_noise[key] = SmoothNoise(rng, amplitude, 300.0, 3600.0)
        return noise

    def evolve(self, device: str, typical: Mapping[str, float | bool | str], t: float,
               fixed: Mapping[str, float | bool | str] | None = None) -> Values:
        """The values of one weather device at ``t``.

        Args:
            device: The device's name (seeds its own noise).
            typical: Its values as in the status file, by name.
            t: Observatory instant, UNIX seconds.
            fixed: Values that are not evolved (set by a scenario), by name; the other values stay
                consistent with them (the dew point stays below a fixed temperature).

        Returns:
            Every value of the device by name, evolved where the model knows the quantity.
        """
        fixed = fixed or {}
        change = self.temperature_change_c(t)
        out: Values = dict(typical)
        quantities: dict[str, str] = {}
        for name, value in typical.items():
            known = expected_unit(name)
            if known is None or isinstance(value, (bool, str)):
                continue
            quantity = known[0]
            quantities[quantity] = name
            own = self._own(device, name, 0.05)(t)
            if quantity == Quantity.OUTSIDE_TEMPERATURE or name_key(name) in _AMBIENT_KEYS:
                out[name] = value + change + own
            elif quantity == Quantity.SKY_TEMPERATURE:
                out[name] = value + change + self._sky(t) + own
            elif quantity == Quantity.INSIDE_TEMPERATURE:
                out[name] = value + 0.3 * change + own
            elif quantity == Quantity.DEW_POINT:
                out[name] = value + self._dew(t) + own
            elif quantity == Quantity.PRESSURE:
                out[name] = value + self._pressure(t) + own
            elif quantity == Quantity.WIND_SPEED:
                out[name] = max(0.0, value + self._wind(t) + self._own(device, name, 0.3)(t))
            elif quantity == Quantity.WIND_DIRECTION:
                out[name] = (value + self._direction(t) + 20 * own) % 360.0
            elif quantity == Quantity.SKY_QUALITY:
                out[name] = min(30.0, max(0.0, value + self._sky_quality(t)))
            elif quantity == Quantity.INSIDE_HUMIDITY:
                out[name] = min(100.0, max(0.0, value + 20 * own))
        out.update(fixed)
        self._keep_consistent(device, typical, out, quantities, fixed, t)
        return {name: round(value, 2) if isinstance(value, float) else value for name, value in out.items()}

    def _keep_consistent(self, device: str, typical: Mapping[str, float | bool | str], out: Values,
                         quantities: Mapping[str, str], fixed: Mapping[str, float | bool | str], t: float) -> None:
        temperature = quantities.get(Quantity.OUTSIDE_TEMPERATURE)
        dew = quantities.get(Quantity.DEW_POINT)
        humidity = quantities.get(Quantity.OUTSIDE_HUMIDITY)
        if temperature is not None and dew is not None and dew not in fixed:
            out[dew] = min(float(out[dew]), float(out[temperature]) - MIN_DEW_DEPRESSION_C)
        if humidity is not None and humidity not in fixed:
            if temperature is not None and dew is not None:
                moved = saturation_ratio(float(out[temperature]), float(out[dew])) - \
                    saturation_ratio(float(typical[temperature]), float(typical[dew]))
            else:
                moved = 20 * self._own(device, humidity, 0.05)(t)
            out[humidity] = min(100.0, max(1.0, float(typical[humidity]) + moved))
        direction = quantities.get(Quantity.WIND_DIRECTION)
        for name in typical:
            if name_key(name) == name_key("WindDirCardinal") and name not in fixed and direction is not None \
                    and isinstance(typical[name], str):
                out[name] = compass_point(float(out[direction]))
