"""The quantities the monitor knows: where each is published, its unit, its words and default limit.

The list follows the seed's synthesis: rain (rate and detector), wind and gusts, humidity, the
dew-point margin, the sky temperature as clouds, the sky quality, light, temperatures outside and
inside, mains power and doors. Defaults are in docs/monitor.md; the configuration may change the
bounds of the words (``scales``) and the limits (``unsafe_if``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyros.environment.scale import Scale
from pyros.environment.thresholds import Threshold

Scope = Literal["weather", "site"]
"""``weather``: outside (``/env/weather/``); ``site``: the observatory itself (``/env/site/``)."""
Kind = Literal["number", "yes_no"]
"""What a quantity's value is: a float in its unit, or true/false (unit ``bool``)."""


@dataclass(frozen=True)
class QuantitySpec:
    """One quantity of the monitor.

    Attributes:
        name: Its name (the last part of its K/V key), e.g. ``wind_speed``.
        scope: ``weather`` or ``site``.
        unit: Its unit (a unit of docs/plc.md; ``bool`` for a yes/no quantity).
        scale: The default words of its values.
        unsafe_if: The default limit (an empty :class:`Threshold`: informative).
        description: What it is, in a few words.
    """

    name: str
    scope: Scope
    unit: str
    scale: Scale
    unsafe_if: Threshold
    description: str

    @property
    def kind(self) -> Kind:
        """``yes_no`` for a true/false quantity, else ``number``."""
        return "yes_no" if self.unit == "bool" else "number"

    @property
    def key(self) -> str:
        """The K/V key, ``/env/<scope>/<name>``."""
        return f"/env/{self.scope}/{self.name}"


_NONE = Threshold()
_TEMPERATURE = Scale(("freezing", "cold", "mild", "warm"), (0.0, 10.0, 25.0))
_COMPASS = Scale(("N", "NE", "E", "SE", "S", "SW", "W", "NW", "N"),
                 (22.5, 67.5, 112.5, 157.5, 202.5, 247.5, 292.5, 337.5))

QUANTITIES: tuple[QuantitySpec, ...] = (
    QuantitySpec("rain_rate", "weather", "mm/h", Scale(("dry", "rain"), (0.0,)), Threshold(above=0.0),
                 "rain rate of the weather station"),
    QuantitySpec("rain_detected", "weather", "bool", Scale(("dry", "rain")), Threshold(is_=True),
                 "the rain detector (DRD11) says wet"),
    QuantitySpec("wind_speed", "weather", "m/s", Scale(("calm", "windy", "too windy"), (8.0, 14.0)),
                 Threshold(above=14.0), "mean wind speed"),
    QuantitySpec("wind_gust", "weather", "m/s", Scale(("calm", "gusty", "too gusty"), (12.0, 20.0)), _NONE,
                 "wind gusts (a value named WindGust)"),
    QuantitySpec("wind_direction", "weather", "deg", _COMPASS, _NONE, "where the wind comes from (N=0, E=90)"),
    QuantitySpec("outside_humidity", "weather", "percent", Scale(("dry", "humid", "too humid"), (70.0, 90.0)),
                 Threshold(above=90.0), "relative humidity outside"),
    QuantitySpec("dew_point", "weather", "degC", Scale(("below freezing", "above freezing"), (0.0,)), _NONE,
                 "dew point outside"),
    QuantitySpec("dew_point_margin", "weather", "degC", Scale(("dew risk", "ok"), (2.0,)), _NONE,
                 "outside temperature minus dew point"),
    QuantitySpec("outside_temperature", "weather", "degC", _TEMPERATURE, _NONE, "air temperature outside"),
    QuantitySpec("pressure", "weather", "hPa", Scale(("measured",)), _NONE, "air pressure at the site"),
    QuantitySpec("sky_temperature", "weather", "degC", Scale(("clear", "cloudy", "overcast"), (-10.0, 4.0)), _NONE,
                 "infrared sky temperature (clouds)"),
    QuantitySpec("sky_minus_ambient", "weather", "degC", Scale(("clear", "cloudy", "overcast"), (-20.0, -8.0)),
                 _NONE, "sky temperature minus the sensor's ambient temperature (clouds)"),
    QuantitySpec("sky_quality", "weather", "mag/arcsec2", Scale(("poor", "fair", "good"), (18.0, 20.0)), _NONE,
                 "sky brightness from the sky-quality meter (larger is darker)"),
    QuantitySpec("light", "weather", "mag/arcsec2", Scale(("daylight", "twilight", "dark"), (10.0, 17.5)), _NONE,
                 "how dark the sky is, from the sky-quality meter"),
    QuantitySpec("inside_temperature", "site", "degC", _TEMPERATURE, _NONE, "air temperature inside"),
    QuantitySpec("inside_humidity", "site", "percent", Scale(("dry", "humid", "too humid"), (60.0, 85.0)), _NONE,
                 "relative humidity inside"),
    QuantitySpec("power", "site", "V", Scale(("on battery", "mains"), (180.0,)), Threshold(below=180.0),
                 "mains voltage of the power distribution"),
    QuantitySpec("doors", "site", "bool", Scale(("closed", "open")), _NONE, "a door of the observatory is open"),
)
"""Every quantity, in the order reasons are listed (the first unsafe one is the culprit)."""

QUANTITY_NAMES: tuple[str, ...] = tuple(spec.name for spec in QUANTITIES)
"""The quantities' names, in order."""

BY_NAME: dict[str, QuantitySpec] = {spec.name: spec for spec in QUANTITIES}
"""The quantities by name."""


def spec_of(name: str) -> QuantitySpec:
    """The quantity of a name.

    Raises:
        ValueError: For an unknown name, naming the quantities.
    """
    spec = BY_NAME.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"unknown quantity {name!r} (the quantities are: {', '.join(QUANTITY_NAMES)})")
    return spec
