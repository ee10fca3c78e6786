"""The canonical weather quantities as K/V entries: ``/env/weather/<quantity>`` and ``/env/site/<quantity>``.

Each entry is ``{"value", "unit", "sensor", "valid", "age_s", "stale"}`` (ARCHITECTURE.md section 4,
docs/kv-keys.md): ``valid`` is false when the PLC distrusts the sensor or the data are stale,
``age_s`` is how old the PLC's reading is (observatory seconds), ``stale`` whether the PLC has not
been read successfully for too long. The inside of the observatory (``inside_temperature``,
``inside_humidity``) goes under ``/env/site/``, the rest under ``/env/weather/``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from devices.plc.canonical import Quantity
from devices.plc.readings import QuantityReading

log = logging.getLogger(__name__)

WEATHER_PREFIX = "/env/weather/"
"""Where the outside quantities are published."""
SITE_PREFIX = "/env/site/"
"""Where the inside quantities are published."""
SITE_QUANTITIES = frozenset({Quantity.INSIDE_TEMPERATURE, Quantity.INSIDE_HUMIDITY})
"""The quantities of the inside of the observatory."""

Publish = Callable[[str, Any], None]
"""``publish(key, value)``, e.g. :meth:`pyros.kv.publisher.KVPublisher.set`."""


def quantity_key(quantity: Quantity | str) -> str:
    """The K/V key of a canonical quantity (``/env/weather/rain_rate``, ``/env/site/inside_temperature``).

    Raises:
        ValueError: If ``quantity`` is not a canonical quantity, naming them.
    """
    try:
        known = Quantity(quantity)
    except ValueError:
        raise ValueError(f"unknown quantity {quantity!r}; the quantities are: "
                         f"{', '.join(q.value for q in Quantity)}") from None
    return f"{SITE_PREFIX if known in SITE_QUANTITIES else WEATHER_PREFIX}{known.value}"


class WeatherPublisher:
    """Turns quantity readings into K/V entries and publishes them (thread-safe).

    Until a publisher is attached (no K/V server, e.g. in tests) entries are only returned.
    """

    def __init__(self, publish: Publish | None = None) -> None:
        self._lock = threading.Lock()
        self._publish = publish

    def attach(self, publish: Publish | None) -> None:
        """Publish through ``publish`` from now on (None: stop publishing)."""
        with self._lock:
            self._publish = publish

    @staticmethod
    def entries(readings: Mapping[Quantity, QuantityReading], status_time: float, now: float,
                stale: bool) -> dict[str, dict[str, Any]]:
        """The K/V entries of some readings, by key.

        Args:
            readings: The readings by quantity (``PlcStatus.weather()``).
            status_time: When the PLC took them (UNIX seconds, observatory time).
            now: Observatory time of publication.
            stale: Whether the PLC has not been read successfully for too long.
        """
        age = round(max(0.0, now - status_time), 3)
        return {quantity_key(quantity): {"value": reading.value, "unit": reading.unit, "sensor": reading.sensor,
                                         "valid": reading.sensor_valid and not stale, "age_s": age, "stale": stale}
                for quantity, reading in readings.items()}

    def publish(self, readings: Mapping[Quantity, QuantityReading], status_time: float, now: float,
                stale: bool) -> dict[str, dict[str, Any]]:
        """Publish the entries of some readings (see :meth:`entries`) and return them.

        A failing publisher (K/V server away) is logged and does not raise.
        """
        entries = self.entries(readings, status_time, now, stale)
        with self._lock:
            publish = self._publish
        if publish is not None:
            for key, entry in entries.items():
                try:
                    publish(key, entry)
                except Exception:  # noqa: BLE001 - the K/V store being away must not stop the PLC's poll
                    log.warning("could not publish %s", key, exc_info=True)
        return entries
