"""The PLC's raw canonical quantities as K/V entries: ``/device/<plc>/weather/<quantity>``.

Each entry is ``{"value", "unit", "sensor", "valid", "age_s", "stale"}`` (docs/kv-keys.md): ``valid``
is false when the PLC distrusts the sensor or the data are stale, ``age_s`` is how old the PLC's
reading is (observatory seconds), ``stale`` whether the PLC has not been read successfully for too
long. Every quantity, inside ones included, goes under the device's own subtree: ``/env/...`` belongs
to the environment monitor (``servers/monitor.py``), which judges these values.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from devices.plc.canonical import Quantity
from devices.plc.readings import QuantityReading

log = logging.getLogger(__name__)

WEATHER_SUBTREE = "weather"
"""The device property under which the quantities are published: ``/device/<plc>/weather/<quantity>``."""

Publish = Callable[[str, Any], None]
"""``publish(key, value)``, e.g. :meth:`pyros.kv.publisher.KVPublisher.set`."""


def quantity_key(device: str, quantity: Quantity | str) -> str:
    """The K/V key of a canonical quantity of a PLC (``/device/plc/weather/rain_rate``).

    Args:
        device: The PLC's device name (``plc``).
        quantity: A canonical quantity.

    Raises:
        ValueError: If ``quantity`` is not a canonical quantity, naming them, or ``device`` is not a name.
    """
    if not isinstance(device, str) or not device or "/" in device:
        raise ValueError(f"a device name is non-empty text without '/', got {device!r}")
    try:
        known = Quantity(quantity)
    except ValueError:
        raise ValueError(f"unknown quantity {quantity!r}; the quantities are: "
                         f"{', '.join(q.value for q in Quantity)}") from None
    return f"/device/{device}/{WEATHER_SUBTREE}/{known.value}"


class WeatherPublisher:
    """Turns quantity readings into K/V entries and publishes them (thread-safe).

    Until a publisher is attached (no K/V server, e.g. in tests) entries are only returned.

    Args:
        device: The PLC's device name (the keys' ``/device/<device>/``).
        publish: Where to publish; None until :meth:`attach`.
    """

    def __init__(self, device: str, publish: Publish | None = None) -> None:
        quantity_key(device, Quantity.RAIN_RATE)  # checks the name
        self.device = device
        self._lock = threading.Lock()
        self._publish = publish

    def attach(self, publish: Publish | None) -> None:
        """Publish through ``publish`` from now on (None: stop publishing)."""
        with self._lock:
            self._publish = publish

    def entries(self, readings: Mapping[Quantity, QuantityReading], status_time: float, now: float,
                stale: bool) -> dict[str, dict[str, Any]]:
        """The K/V entries of some readings, by key.

        Args:
            readings: The readings by quantity (``PlcStatus.weather()``).
            status_time: When the PLC took them (UNIX seconds, observatory time).
            now: Observatory time of publication.
            stale: Whether the PLC has not been read successfully for too long.
        """
        age = round(max(0.0, now - status_time), 3)
        return {quantity_key(self.device, quantity): {"value": reading.value, "unit": reading.unit,
                                                      "sensor": reading.sensor,
                                                      "valid": reading.sensor_valid and not stale, "age_s": age,
                                                      "stale": stale}
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
