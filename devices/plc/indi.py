"""The site's weather read from an INDI weather device (``driver = "indi"`` of the PLC service).

An INDI weather device (``indi_simulator_weather``'s "Weather Simulator", or a real station's
driver) reports:

* ``WEATHER_PARAMETERS`` (Number): the readings, e.g. ``WEATHER_TEMPERATURE`` (°C),
  ``WEATHER_WIND_SPEED`` and ``WEATHER_WIND_GUST`` (km/h, labelled ``kph``), ``WEATHER_RAIN_HOUR``
  (mm in the last hour), ``WEATHER_FORECAST`` (0 ok, 1 warning, 2 alert);
* ``WEATHER_STATUS`` (Light): one light per critical parameter, Ok inside its safe range, Busy in
  its warning zone, Alert outside.

:class:`IndiWeather` turns them into a PLC status with one ``meteo`` device named after the INDI
device, its values under our names and in our units (docs/plc.md), built through
:func:`~devices.plc.normalise.normalise_status` so the schema and the rules check it. The unit a
parameter's label names (``Wind (kph)``) is the one read, so a driver labelling ``m/s`` is not
misread; a unit we do not know is a :class:`~devices.common.faults.DeviceFault`.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from devices.common.faults import DeviceFault
from devices.common.indi_link import IndiDeviceLink
from devices.plc.normalise import normalise_status
from devices.plc.status import PlcStatus, format_instant
from devices.plc.units import read_unit
from pyros.clock import get_clock
from pyros.indi import PropertyState, PropertyVector

log = logging.getLogger(__name__)

SOURCE = "INDI"
"""The status's ``from``."""
UNKNOWN = "Unknown"
"""What the status says for a serial number or a version the device does not give."""
COMMENT_MAX = 256
"""The longest comment the schema accepts."""
_DEVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.+\-]{0,63}")
_LABEL_UNIT = re.compile(r"\(([^()]*)\)\s*$")


@dataclass(frozen=True)
class WeatherParameter:
    """How one member of ``WEATHER_PARAMETERS`` is reported.

    Attributes:
        value_name: Its name in the PLC status (a canonical name where there is one, docs/plc.md).
        unit: Our unit (a key of :data:`devices.plc.units.UNITS`) it must end up in.
        indi_unit: The unit INDI's standard gives it, read when the label names none.
    """

    value_name: str
    unit: str
    indi_unit: str


PARAMETERS: dict[str, WeatherParameter] = {
    "WEATHER_TEMPERATURE": WeatherParameter("OutsideTemp", "degC", "C"),
    "WEATHER_HUMIDITY": WeatherParameter("OutsideHumidity", "percent", "%"),
    "WEATHER_PRESSURE": WeatherParameter("Pressure", "hPa", "hPa"),
    "WEATHER_DEWPOINT": WeatherParameter("DewPoint", "degC", "C"),
    "WEATHER_WIND_SPEED": WeatherParameter("WindSpeed", "m/s", "kph"),
    "WEATHER_WIND_GUST": WeatherParameter("WindGust", "m/s", "kph"),
    "WEATHER_WIND_DIRECTION": WeatherParameter("WindDir", "deg", "deg"),
    "WEATHER_RAIN_HOUR": WeatherParameter("RainRate", "mm/h", "mm"),
    "WEATHER_SKY_TEMPERATURE": WeatherParameter("SkyTemperature", "degC", "C"),
}
"""The numeric parameters read, by INDI member name; other members are left out (``WEATHER_FORECAST`` is
reported as the ``Forecast`` text)."""
FORECAST_MEMBER = "WEATHER_FORECAST"
FORECASTS = {0: "ok", 1: "warning", 2: "alert"}
"""INDI's forecast levels, as the ``Forecast`` value says them."""
LIGHT_WORDS = {PropertyState.IDLE: "idle", PropertyState.OK: "ok", PropertyState.BUSY: "warning",
               PropertyState.ALERT: "alert"}
"""A ``WEATHER_STATUS`` light as the ``Status`` value says it (INDI's Busy is the warning zone)."""
_SEVERITY = (PropertyState.IDLE, PropertyState.OK, PropertyState.BUSY, PropertyState.ALERT)
_INDI_UNIT_SPELLINGS = {"c": "degC", "°c": "degC", "f": "degF", "°f": "degF", "kph": "km/h", "km/h": "km/h",
                        "m/s": "m/s", "mph": "mph", "mm": "mm/h", "mm/h": "mm/h", "mm/hr": "mm/h", "%": "%",
                        "hpa": "hPa", "mbar": "hPa", "deg": "deg", "°": "deg"}
"""Unit spellings of INDI labels, lower case, as :func:`devices.plc.units.read_unit` spells them. A rain
amount "in the last hour" (``mm``) is a rate in mm/h."""


class IndiWeather:
    """A weather station behind an INDI server, as a PLC driver (:class:`~devices.plc.interface.PlcDriver`).

    The status holds one ``meteo`` device named after the INDI device. It is ``valid`` unless the
    parameters have not changed for more than ``max_age_s`` observatory seconds: an Alert of
    ``WEATHER_STATUS`` means dangerous weather (rain, say), not an untrustworthy sensor, and is
    reported as the ``Status`` value (``alert``) beside the readings. The status's ``date`` is the observatory time at which the
    current parameters were first read. Reading sends nothing to the device.

    Args:
        host: INDI server host.
        port: INDI server TCP port.
        device: INDI device name; also the PLC device's name, so letters, digits, spaces and
            ``_ . + -`` only, starting with a letter or digit, at most 64 characters.
        connect_timeout_s: Wall seconds to connect and see ``WEATHER_PARAMETERS`` and ``WEATHER_STATUS``.
        reply_timeout_s: Wall seconds the device may take to acknowledge a command (none is sent today).
        max_age_s: Observatory seconds after which unchanged parameters are no longer valid
            (INDI's weather drivers update every 60 s by default).
        site: The status's ``site`` (the configured site's name).
        now: Observatory time in UNIX seconds; the observatory clock by default.

    Raises:
        ValueError: Naming a bad option.
    """

    REQUIRED = ("WEATHER_PARAMETERS", "WEATHER_STATUS")

    def __init__(self, host: str = "127.0.0.1", port: int = 7624, device: str = "Weather Simulator", *,
                 connect_timeout_s: float = 30.0, reply_timeout_s: float = 10.0, max_age_s: float = 180.0,
                 site: str = UNKNOWN, now: Callable[[], float] | None = None) -> None:
        if isinstance(device, str) and not _DEVICE_NAME.fullmatch(device):
            raise ValueError(f"INDI device {device!r} cannot name a PLC device: use letters, digits, spaces and "
                             "_ . + - only, starting with a letter or digit, at most 64 characters")
        if isinstance(max_age_s, bool) or not isinstance(max_age_s, (int, float)) or not math.isfinite(max_age_s) \
                or not 0 < max_age_s <= 86400:
            raise ValueError(f"max_age_s must be in (0, 86400] s, got {max_age_s!r}")
        if not isinstance(site, str) or not site.strip():
            raise ValueError(f"site must be a non-empty site name, got {site!r}")
        self.link = IndiDeviceLink(host, port, device, self.REQUIRED, connect_timeout_s=connect_timeout_s,
                                   reply_timeout_s=reply_timeout_s)
        self.max_age_s = float(max_age_s)
        self.site = site
        self._now = now if now is not None else (lambda: get_clock().now())
        self._lock = threading.Lock()
        self._seen_sequence: int | None = None
        self._seen_at = math.nan

    @property
    def name(self) -> str:
        """The PLC device's name: the INDI device's."""
        return self.link.device

    def read_status(self) -> PlcStatus:
        """The weather now, as a normalised PLC status.

        Raises:
            DeviceFault: ``WEATHER_PARAMETERS`` is in Alert (the device could not read its sensors) or a
                label names a unit that cannot be read.
            DeviceDisconnected, DeviceSilent: The server or device cannot be reached.
            InvalidPlcStatus: A value is out of its unit's range (or not finite).
        """
        parameters = self.link.read("WEATHER_PARAMETERS")
        lights = self.link.get("WEATHER_STATUS")
        if lights is None:
            raise DeviceFault(f"{self.link.where} does not define WEATHER_STATUS")
        now = self._now()
        with self._lock:
            if parameters.sequence != self._seen_sequence:
                self._seen_sequence, self._seen_at = parameters.sequence, now
            seen_at = self._seen_at
        worst, alerts = _worst_light(lights)
        fresh = now - seen_at <= self.max_age_s
        values = self._values(parameters)
        values.append({"name": "Status", "value": LIGHT_WORDS[worst], "unit": "string",
                       "comment": _clip("WEATHER_STATUS, worst light" + (f"; alert: {', '.join(alerts)}"
                                                                          if alerts else ""))})
        if not fresh:
            log.debug("%s: parameters unchanged for %.0f s", self.link.where, now - seen_at)
        device = {"name": self.link.device, "type": "meteo", "serial_number": UNKNOWN,
                  "valid": fresh, "values": values}
        document = {"name": "STATUS", "from": SOURCE, "version_firmware": self._driver_version(),
                    "site": self.site, "date": format_instant(datetime.fromtimestamp(seen_at, tz=timezone.utc)),
                    "device": [device]}
        return normalise_status(document)

    def _values(self, parameters: PropertyVector) -> list[dict[str, Any]]:
        """The status's values from ``WEATHER_PARAMETERS``, units as spelled for the normaliser."""
        values: list[dict[str, Any]] = []
        for member in parameters:
            number = member.value
            if member.name == FORECAST_MEMBER and isinstance(number, float):
                level = FORECASTS.get(int(number)) if number.is_integer() else None
                values.append({"name": "Forecast", "value": level or f"{number:g}", "unit": "string",
                               "comment": _clip(f"INDI {member.name} ({member.label}): 0 ok, 1 warning, 2 alert")})
                continue
            parameter = PARAMETERS.get(member.name)
            if parameter is None or not isinstance(number, float):
                continue
            values.append({"name": parameter.value_name, "value": number,
                           "unit": self._unit_spelling(member.name, member.label, parameter),
                           "comment": _clip(f"INDI {member.name} ({member.label})")})
        return values

    def _unit_spelling(self, member: str, label: str, parameter: WeatherParameter) -> str:
        """The unit the label names (or INDI's standard one), as :func:`read_unit` spells it.

        Raises:
            DeviceFault: The label names a unit that is not known or not the parameter's kind.
        """
        found = _LABEL_UNIT.search(label)
        said = found.group(1).strip() if found is not None else parameter.indi_unit
        spelling = _INDI_UNIT_SPELLINGS.get(said.casefold())
        reading = read_unit(spelling, parameter.value_name) if spelling is not None else None
        if spelling is None or reading is None or reading.unit != parameter.unit:
            raise DeviceFault(f"{self.link.where}: WEATHER_PARAMETERS.{member} is labelled {label!r}; its unit "
                              f"{said!r} cannot be read as {parameter.unit}")
        return spelling

    def _driver_version(self) -> str:
        """``DRIVER_INFO.DRIVER_VERSION`` if the device gives it, else ``Unknown``."""
        info = self.link.get("DRIVER_INFO")
        version = info.values().get("DRIVER_VERSION") if info is not None else None
        text = version.strip() if isinstance(version, str) else ""
        return _clip(text, 128) if text and text.isprintable() else UNKNOWN

    def switches(self) -> dict[str, tuple[str, ...]]:
        """Nothing: an INDI weather device has no lamps and no power switches."""
        return {}

    def switch(self, device: str, switch_name: str, on: bool) -> None:
        """Refused: an INDI weather device has nothing to switch.

        Raises:
            ValueError: Always, naming the device.
        """
        raise ValueError(f"{self.link.where} is an INDI weather device: it has no lamps or power switches "
                         f"(asked to switch {device!r} {switch_name!r})")

    def close(self) -> None:
        """Close the INDI connection."""
        self.link.close()


def _worst_light(lights: PropertyVector) -> tuple[PropertyState, list[str]]:
    """The most severe ``WEATHER_STATUS`` light (the vector's own state when it has none), and those in Alert."""
    states = {name: value for name, value in lights.values().items() if isinstance(value, PropertyState)}
    if not states:
        return lights.state, []
    worst = max(states.values(), key=_SEVERITY.index)
    return worst, [name for name, state in states.items() if state is PropertyState.ALERT]


def _clip(text: str, limit: int = COMMENT_MAX) -> str:
    """``text`` cut to ``limit`` characters."""
    return text if len(text) <= limit else text[:limit - 3] + "..."
