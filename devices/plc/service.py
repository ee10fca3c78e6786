"""The PLC's device service: the site's weather and status, its lamps and power switches.

A background poll reads the PLC every ``poll_s`` observatory seconds and publishes:

* the device's state under ``/device/<name>/...``: ``status_time`` (ISO 8601, when the PLC took
  its last good status), ``valid`` (a good status within ``stale_after_s``), ``stale``, ``error``
  (the last reading's error, None when it succeeded), ``lamps`` and ``power``;
* the raw canonical quantities under ``/device/<name>/weather/<quantity>`` as
  :class:`~devices.plc.weather_publisher.WeatherPublisher` writes them (``/env/...`` is the
  environment monitor's, which judges them).

When no reading has succeeded for more than ``stale_after_s`` the last quantities are published
again with ``valid: false`` and ``stale: true``, and this is logged once (and once more on recovery).
The driver is chosen by configuration (``driver = "sim"`` or ``"indi"``).
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

from devices.common.device_service import DeviceService, motion, observatory_timing
from devices.common.driver_choice import choose_driver
from devices.common.faults import DeviceFault
from devices.plc.interface import PlcDriver
from devices.plc.names import name_key
from devices.plc.problems import InvalidPlcStatus
from devices.plc.sim import SimulatedPlc
from devices.plc.status import PlcStatus
from devices.plc.weather_publisher import WeatherPublisher
from pyros.clock import format_instant, get_clock
from pyros.config import active_config
from pyros.kv.publisher import KVPublisher
from pyros.service import Refusal, command
from pyros.service.loop_thread import LoopThread

log = logging.getLogger(__name__)

DRIVERS = ("sim", "indi")
"""Drivers a PLC can use: the simulator, an INDI weather device (a TCP driver for the Beckhoff PLC comes later)."""


def make_driver(name: str, driver: str, options: dict[str, Any]) -> PlcDriver:
    """The PLC driver named in the configuration.

    The simulator's longitude and the INDI weather device's site name come from ``[site]``; ``indi`` takes
    ``host``, ``port``, ``device``, ``connect_timeout_s``, ``reply_timeout_s`` and ``max_age_s``
    (:class:`devices.plc.indi.IndiWeather`).

    Raises:
        ValueError: For an unknown driver or options it does not take.
    """
    site = active_config().site

    def indi(**settings: Any) -> PlcDriver:
        from devices.plc.indi import IndiWeather

        return IndiWeather(**{"site": site.name, **settings})

    def sim(**settings: Any) -> PlcDriver:
        return SimulatedPlc(*observatory_timing(), name=name, **{"longitude_deg": site.longitude_deg, **settings})

    return choose_driver("PLC", driver, {"sim": sim, "indi": indi}, options)


class PlcService(DeviceService):
    """The PLC: weather and site sensors, calibration lamps, power switches."""

    service_name = "plc"
    version = "1.0.0"

    def __init__(self, name: str = "plc", driver: str = "sim", poll_s: float = 10.0,
                 stale_after_s: float | None = None, prefer: list[str] | tuple[str, ...] = (),
                 **driver_options: Any) -> None:
        """Create the service and its driver.

        Args:
            name: Device name (also the MDP service name given by the configuration).
            driver: ``sim`` (the simulator) or ``indi`` (an INDI weather station).
            poll_s: Observatory seconds between two readings of the PLC, in (0, 60].
            stale_after_s: Observatory seconds without a good reading after which the data are stale;
                3 polls by default.
            prefer: Sensor (device) names to believe first for each quantity, in order.
            **driver_options: The driver's own settings (``status_file``, ``seed``, ``scenario``... for ``sim``).
        """
        super().__init__(name, poll_s=poll_s)
        stale = 3 * poll_s if stale_after_s is None else stale_after_s
        if isinstance(stale, bool) or not isinstance(stale, (int, float)) or not math.isfinite(stale) \
                or not poll_s <= stale <= 86400:
            raise ValueError(f"stale_after_s must be in [poll_s, 86400] = [{poll_s:g}, 86400] s, got {stale!r}")
        if isinstance(prefer, str) or not all(isinstance(p, str) for p in prefer):
            raise ValueError(f"prefer must be a list of sensor names, got {prefer!r}")
        self.stale_after_s = float(stale)
        self.prefer = tuple(prefer)
        self.driver: PlcDriver = make_driver(name, driver, driver_options)
        self.weather_publisher = WeatherPublisher(name)
        self._lock = threading.Lock()
        self._last_status: PlcStatus | None = None
        self._last_good = -math.inf       # observatory time of the last good reading
        self._since = math.nan            # observatory time staleness is counted from before any good reading
        self._stale = False
        self._loop = LoopThread(f"poll-{self.name}", f"the poll of {self.name}")

    # ----------------------------------------------------------------- lifecycle

    def on_kv_publisher(self, publisher: KVPublisher) -> None:
        """Publish the device's state and the quantities from now on."""
        super().on_kv_publisher(publisher)
        self.weather_publisher.attach(publisher.set)

    def on_start(self) -> None:
        """Start the poll (its first reading is at once)."""
        with self._lock:
            self._since = get_clock().now()
        self.state.update(valid=False, stale=False, error=None, status_time=None)
        self._loop.start(self._poll_loop)

    def on_stop(self) -> None:
        """Stop any scenario being played, then the poll (waited for, at most ``LoopThread.stop_timeout_s``)."""
        super().on_stop()
        self._loop.stop()

    def _poll_loop(self) -> None:
        while not self._loop.stopping.is_set():
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - a poll that fails unexpectedly must not end the polling
                log.exception("the poll of %s failed", self.name)
            if get_clock().wait(self._loop.stopping, self.poll_s):
                return

    # ----------------------------------------------------------------- reading and publishing

    def poll_once(self) -> PlcStatus | None:
        """Read the PLC once and publish what it says (or that it is stale); the status, None on failure."""
        try:
            return self._read()
        except (DeviceFault, InvalidPlcStatus):
            return None

    def _read(self) -> PlcStatus:
        """Read the PLC, record the outcome and publish it.

        Raises:
            DeviceFault: When the PLC does not answer.
            InvalidPlcStatus: When it sends an invalid status.
        """
        try:
            status = self.driver.read_status()
        except (DeviceFault, InvalidPlcStatus) as exc:
            self._failed(exc)
            raise
        self._succeeded(status)
        return status

    def _succeeded(self, status: PlcStatus) -> None:
        now = get_clock().now()
        with self._lock:
            self._last_status, self._last_good = status, now
            recovered, self._stale = self._stale, False
        if recovered:
            log.warning("%s answers again: its data are fresh", self.name)
        self.state.update(status_time=format_instant(status.date.timestamp()), valid=True, stale=False, error=None,
                          lamps={lamp.name: lamp.on for lamp in status.lamps()},
                          power=_power(status))
        self.weather_publisher.publish(status.weather(self.prefer), status.date.timestamp(), now, False)

    def _failed(self, exc: Exception) -> None:
        now = get_clock().now()
        error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            since = self._last_good if self._last_good > -math.inf else self._since
            stale = not now - since <= self.stale_after_s     # a NaN start (not started) counts as stale
            newly_stale, self._stale = stale and not self._stale, stale
            status = self._last_status
        if newly_stale:
            log.warning("%s: no good reading for more than %g s: its data are stale (%s)", self.name,
                        self.stale_after_s, error)
        self.state.update(error=error, **({"valid": False, "stale": True} if stale else {}))
        if status is not None:
            self.weather_publisher.publish(status.weather(self.prefer), status.date.timestamp(), now, stale)

    def weather_entries(self) -> dict[str, dict[str, Any]]:
        """The quantities as last published (by K/V key), their age counted now; empty before any good reading."""
        with self._lock:
            status, stale = self._last_status, self._stale
        if status is None:
            return {}
        return self.weather_publisher.entries(status.weather(self.prefer), status.date.timestamp(), get_clock().now(),
                                        stale)

    # ----------------------------------------------------------------- commands

    @command()
    def read(self) -> dict[str, Any]:
        """Read the PLC now: its whole status, normalised (docs/plc.md)."""
        return self._read().to_dict()

    @command()
    def weather(self) -> dict[str, Any]:
        """Read the PLC now: the canonical quantities by name, as published under /device/<plc>/weather/."""
        self._read()
        return {key.rsplit("/", 1)[1]: entry for key, entry in self.weather_entries().items()}

    @command(level="operator")
    @motion
    def switch(self, device: str, on: bool, switch: str | None = None) -> dict[str, Any]:
        """Turn a calibration lamp or a power switch on or off.

        Args:
            device: A lamp (``LAMP_FLAT_CAGIRE``) or a power device (``PDU``).
            on: True to switch on.
            switch: The power switch (``cam_nir``); may be left out for a lamp, which has one switch.
        """
        choices = self.driver.switches()
        if switch is None:
            found = next((switches for name, switches in choices.items() if name_key(name) == name_key(device)),
                         None)
            if found is not None and len(found) == 1:
                switch = found[0]
            elif found is not None:
                raise Refusal("BadArgument", f"{device} has several switches: say which (switch=<one of "
                                             f"{', '.join(found)}>)")
            else:
                switch = ""
        try:
            self.driver.switch(device, switch, on)
        except ValueError as exc:
            raise Refusal("BadArgument", str(exc)) from None
        status = self._read()
        return {"device": device, "switch": switch, "on": on, "status": status.device(device).to_dict()}


def _power(status: PlcStatus) -> dict[str, dict[str, bool]]:
    """The power switches by device, then by switch."""
    power: dict[str, dict[str, bool]] = {}
    for reading in status.power_switches():
        power.setdefault(reading.device, {})[reading.switch] = reading.on
    return power
