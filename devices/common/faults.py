"""Misbehaviour a simulator can be told to show: latency, silence, disconnection, wrong values.

Every simulator owns a :class:`Faults`; its commands call :meth:`Faults.before_command`
and its state passes through :meth:`Faults.reported`. Faults are injected by a
scenario entry (``{"time": 120, "dome": {"fault": "silence", "seconds": 30}}``) or
by the device service's ``inject_fault`` command, and cleared the same way.
Times are observatory seconds (UNIX), so a fault lasts the same in a night run
at 100× speed.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

FAULT_KINDS = ("latency", "silence", "disconnect", "wrong_value", "clear")
"""What can be injected (``clear`` removes everything)."""


class DeviceFault(Exception):
    """The device did not do what it was asked (the hardware's fault, not the caller's)."""


class DeviceSilent(DeviceFault):
    """The device does not answer."""


class DeviceDisconnected(DeviceFault):
    """The device is not connected."""


class Faults:
    """The faults currently injected into one simulated device (thread-safe).

    Args:
        device: Device name, for messages.
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self._lock = threading.Lock()
        self.latency_s = 0.0
        self._silent_until = -math.inf
        self._disconnected = False
        self._wrong: dict[str, Any] = {}

    def inject(self, spec: Mapping[str, Any], now: float) -> None:
        """Apply a fault description, e.g. ``{"fault": "silence", "seconds": 30}``.

        Kinds: ``latency`` (``seconds`` added before each command), ``silence``
        (no answer for ``seconds``), ``disconnect`` (until cleared),
        ``wrong_value`` (``property`` reported as ``value``), ``clear``.

        Raises:
            ValueError: naming what is wrong with ``spec``.
        """
        if not isinstance(spec, Mapping):
            raise ValueError(f"a fault of {self.device} is an object with 'fault', not {spec!r}")
        kind = spec.get("fault")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r} for {self.device}; one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            if kind == "clear":
                self.latency_s, self._silent_until, self._disconnected = 0.0, -math.inf, False
                self._wrong.clear()
            elif kind == "latency":
                self.latency_s = _seconds(spec, self.device)
            elif kind == "silence":
                self._silent_until = now + _seconds(spec, self.device)
            elif kind == "disconnect":
                self._disconnected = True
            else:
                name = spec.get("property")
                if not isinstance(name, str) or not name or "value" not in spec:
                    raise ValueError(f"a wrong_value fault of {self.device} needs 'property' and 'value'")
                self._wrong[name] = spec["value"]

    def before_command(self, now: float, sleep: Callable[[float], None]) -> None:
        """Apply latency, then refuse if the device is silent or disconnected.

        Args:
            now: Observatory time.
            sleep: Sleeps for observatory seconds (converted to wall time by the caller's clock).

        Raises:
            DeviceSilent: While a silence lasts.
            DeviceDisconnected: While disconnected.
        """
        with self._lock:
            latency = self.latency_s
        if latency > 0:
            sleep(latency)
        self.check_alive(now)

    def check_alive(self, now: float) -> None:
        """Raise if the device cannot be reached now (reading its state included)."""
        with self._lock:
            if self._disconnected:
                raise DeviceDisconnected(f"{self.device} is disconnected")
            if now < self._silent_until:
                raise DeviceSilent(f"{self.device} does not answer (silent for {self._silent_until - now:.0f} s more)")

    def reported(self, name: str, value: Any) -> Any:
        """The value the device reports for property ``name`` (a wrong one when injected)."""
        with self._lock:
            return self._wrong.get(name, value)

    def describe(self, now: float) -> dict[str, Any]:
        """The faults in force, for the device's state."""
        with self._lock:
            return {"latency_s": self.latency_s, "silent_s": max(0.0, self._silent_until - now),
                    "disconnected": self._disconnected, "wrong_values": dict(self._wrong)}


def _seconds(spec: Mapping[str, Any], device: str) -> float:
    value = spec.get("seconds")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"fault {spec.get('fault')!r} of {device} needs 'seconds' >= 0, got {value!r}")
    return float(value)
