"""A device's live state: properties kept in memory and published to the K/V store on change.

Each property ``p`` of device ``d`` is the key ``/device/d/p`` (docs/kv-keys.md);
only values that change are published. Until a publisher is attached (the
service runs without a K/V server, e.g. in tests) the state is kept locally.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Publish = Callable[[str, Any], None]
"""``publish(key, value)``, e.g. :meth:`pyros.kv.publisher.KVPublisher.set`."""


class DeviceState:
    """The published properties of one device (thread-safe).

    Args:
        device: Device name (the key prefix is ``/device/<device>/``).
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {}
        self._publish: Publish | None = None

    def attach(self, publish: Publish | None) -> None:
        """Publish through ``publish`` from now on; every current value is published at once."""
        with self._lock:
            self._publish = publish
            values = dict(self._values)
        if publish is not None:
            for name, value in values.items():
                publish(self.key(name), value)

    def key(self, name: str) -> str:
        """The K/V key of property ``name``."""
        return f"/device/{self.device}/{name}"

    def update(self, **values: Any) -> dict[str, Any]:
        """Set properties; publish those whose value changed; return them."""
        with self._lock:
            changed = {name: value for name, value in values.items() if self._values.get(name, _MISSING) != value}
            self._values.update(changed)
            publish = self._publish
        if publish is not None:
            for name, value in changed.items():
                try:
                    publish(self.key(name), value)
                except Exception:  # noqa: BLE001 - the K/V store being away must not stop the device
                    log.warning("could not publish %s", self.key(name), exc_info=True)
        return changed

    def snapshot(self) -> dict[str, Any]:
        """Every property's current value."""
        with self._lock:
            return dict(self._values)


_MISSING = object()
