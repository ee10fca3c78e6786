"""A simulated PLC: the sample status brought to life on the observatory clock, with scenarios and faults.

It starts from a normalised status file (``samples/status_ok.json`` by default) and reports, at
each reading, the same devices with their weather values evolved by
:class:`~devices.plc.weather_model.WeatherModel` (a pure function of the seed and the observatory
time) and its ``date`` from the observatory clock. Values a scenario sets, and lamps and power
switches that were switched, read as set until changed again. The rain detector (DRD11) reads wet
while a valid sensor reports rain, unless a scenario sets it.

A scenario (:mod:`pyros.simulation.scenario`) speaks to it under its device name (``plc``) or the
seed's ``plcSimulator``; its actions are checked when it is loaded
(:class:`~devices.plc.scenario_action.PlcScenarioAction`) and applied at their times, counted from
the scenario's start, whenever the simulator is read or switched.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from devices.common.faults import Faults
from devices.plc.canonical import WEATHER_DEVICE_KINDS, is_rain_detector
from devices.plc.interface import LAMP_SWITCH
from devices.plc.names import name_key
from devices.plc.normalise import normalise_status
from devices.plc.problems import InvalidPlcStatus
from devices.plc.scenario_action import PlcScenarioAction
from devices.plc.status import PlcDevice, PlcStatus, PlcValue
from devices.plc.weather_model import WeatherModel
from pyros.clock import parse_instant
from pyros.simulation.scenario import Scenario, load_scenario

SAMPLE_STATUS = Path(__file__).with_name("samples") / "status_ok.json"
"""The status the simulator starts from unless told otherwise."""
SEED_SIMULATOR_NAME = "plcSimulator"
"""The seed's name of the PLC simulator in scenario files (also answered: the device name)."""
WET_ANALOG_V = 2.1
"""The rain detector's analog output while wet (about 3 V dry, below 2.5 V wet)."""


class SimulatedPlc:
    """A PLC that reports evolving weather, obeys switches, follows scenarios and shows faults.

    Args:
        now: Observatory time in UNIX seconds (e.g. ``get_clock().now``).
        sleep: Sleeps for observatory seconds (latency faults).
        name: The device name (faults' messages; answered in scenarios besides ``plcSimulator``).
        status_file: A normalised status (JSON) to start from; the sample by default.
        seed: Seed of the weather's noise.
        longitude_deg: Site longitude, east positive (the diurnal curve follows local solar time).
        temperature_swing_c: Diurnal temperature range, coldest to warmest.
        lamp_current_a: Current of a lit lamp whose status file shows it off (a lamp shown lit keeps its current).
        scenario: A scenario file to follow from now on.
        scenario_start: Observatory instant (UNIX seconds or ISO 8601 text) the times of ``scenario``
            count from, instead of now: a night replayed against the clock, whenever the service starts.

    Raises:
        ValueError: For a status file that cannot be read or is not a valid status, or bad settings.
    """

    def __init__(self, now: Callable[[], float], sleep: Callable[[float], None], *, name: str = "plc",
                 status_file: str | Path | None = None, seed: int = 0, longitude_deg: float = 0.0,
                 temperature_swing_c: float = 8.0, lamp_current_a: float = 0.25,
                 scenario: str | Path | None = None, scenario_start: float | str | None = None) -> None:
        if not isinstance(lamp_current_a, (int, float)) or isinstance(lamp_current_a, bool) or \
                not math.isfinite(lamp_current_a) or not 0 < lamp_current_a <= 100:
            raise ValueError(f"lamp_current_a must be in (0, 100] A, got {lamp_current_a!r}")
        path = Path(status_file) if status_file is not None else SAMPLE_STATUS
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"PLC status file {path} cannot be read: {exc.strerror or exc}") from None
        try:
            self.typical = normalise_status(text)
        except InvalidPlcStatus as exc:
            raise ValueError(f"PLC status file {path}: {exc}") from None
        self._now = now
        self._sleep = sleep
        self.name = name
        self.model = WeatherModel(seed, longitude_deg, temperature_swing_c)
        self.lamp_current_a = float(lamp_current_a)
        self.faults = Faults(name)
        self._lock = threading.Lock()
        self._set: dict[tuple[str, str], float | bool | str] = {}   # (device key, value key) -> value
        self._valid: dict[str, bool] = {}                            # device key -> validity
        self._scenario: Scenario | None = None
        self._scenario_actions: dict[int, PlcScenarioAction] = {}
        self._scenario_start = 0.0
        self._applied_until = -1.0
        if scenario_start is not None and scenario is None:
            raise ValueError("scenario_start is given without a scenario")
        if scenario is not None:
            begin = None if scenario_start is None else parse_instant(scenario_start)
            self.load_scenario(scenario, begin)

    # ----------------------------------------------------------------- scenarios

    def load_scenario(self, source: str | Path | Scenario, start: float | None = None) -> Scenario:
        """Follow a scenario from ``start`` (observatory time; now by default), replacing any other.

        Only the events addressed to this simulator are kept; each is checked now.

        Raises:
            pyros.simulation.ScenarioError: For a file that cannot be read or is not a scenario.
            ValueError: For an action this simulator cannot do, naming its entry.
        """
        scenario = source if isinstance(source, Scenario) else load_scenario(source)
        label = "scenario" if isinstance(source, Scenario) else str(source)
        mine = Scenario(scenario.duration_s, tuple(e for e in scenario.events
                                                   if e.simulator in (self.name, SEED_SIMULATOR_NAME)))
        actions = {id(event): PlcScenarioAction.parse(event.action, self.typical,
                                                      f"{label}: entry {event.entry} ({event.simulator})")
                   for event in mine.events}
        begin = self._now() if start is None else float(start)
        if not math.isfinite(begin):
            raise ValueError(f"a scenario start must be a finite time, got {start!r}")
        with self._lock:
            self._scenario, self._scenario_actions = mine, actions
            self._scenario_start, self._applied_until = begin, -1.0
        return mine

    def _advance(self, now: float) -> None:
        """Apply the scenario's events due since the last look (called under the lock)."""
        if self._scenario is None:
            return
        until = now - self._scenario_start
        if until <= self._applied_until:
            return
        for event in self._scenario.due(self._applied_until, until):
            action = self._scenario_actions[id(event)]
            if action.kind == "fault":
                self.faults.inject(action.value, self._scenario_start + event.time_s)
            elif action.kind == "valid":
                self._valid[name_key(str(action.device))] = bool(action.value)
            else:
                key = (name_key(str(action.device)), name_key(str(action.value_name)))
                if action.value is None:
                    self._set.pop(key, None)
                else:
                    self._set[key] = action.value
        self._applied_until = until

    # ----------------------------------------------------------------- driver interface

    def read_status(self) -> PlcStatus:
        """The status now (faults: latency waits, silence and disconnection raise, wrong values are reported).

        Raises:
            DeviceSilent, DeviceDisconnected: While such a fault lasts.
            InvalidPlcStatus: When a wrong value injected makes the status invalid.
        """
        now = self._now()
        with self._lock:
            self._advance(now)
        self.faults.before_command(now, self._sleep)
        now = self._now()
        with self._lock:
            self._advance(now)
            set_values, validity = dict(self._set), dict(self._valid)
        return self._build(now, set_values, validity)

    def switches(self) -> dict[str, tuple[str, ...]]:
        """The lamps (switch ``status``) and the power devices' ``bool`` values, by device name."""
        found: dict[str, tuple[str, ...]] = {}
        for device in self.typical.devices:
            if device.kind == "calib" and device.find_value(LAMP_SWITCH) is not None:
                found[device.name] = (LAMP_SWITCH,)
            elif device.kind == "power":
                names = tuple(value.name for value in device.values if value.unit == "bool")
                if names:
                    found[device.name] = names
        return found

    def switch(self, device: str, switch_name: str, on: bool) -> None:
        """Turn a lamp or a power switch on or off (faults apply as to any command).

        Raises:
            ValueError: For an unknown device or switch, naming the choices; for ``on`` not a bool.
            DeviceSilent, DeviceDisconnected: While such a fault lasts.
        """
        if not isinstance(on, bool):
            raise ValueError(f"on must be true or false, got {on!r}")
        choices = self.switches()
        by_key = {name_key(name): name for name in choices}
        device_name = by_key.get(name_key(device)) if isinstance(device, str) else None
        if device_name is None:
            raise ValueError(f"{self.name} has no switchable device {device!r} (the lamps and power devices are: "
                             f"{', '.join(choices) or 'none'})")
        switch_key = name_key(switch_name) if isinstance(switch_name, str) else None
        matched = next((s for s in choices[device_name] if name_key(s) == switch_key), None)
        if matched is None:
            raise ValueError(f"{device_name} has no switch {switch_name!r} (its switches are: "
                             f"{', '.join(choices[device_name])})")
        now = self._now()
        with self._lock:
            self._advance(now)
        self.faults.before_command(now, self._sleep)
        kind = self.typical.device(device_name).kind
        with self._lock:
            self._advance(self._now())
            self._set[(name_key(device_name), name_key(matched))] = ("on" if on else "off") if kind == "calib" else on

    def inject_fault(self, spec: dict[str, Any]) -> None:
        """Make the simulator misbehave (see :meth:`devices.common.faults.Faults.inject`).

        A wrong value names its property ``<device>/<value>``, e.g. ``WXT520/RainRate``.
        """
        self.faults.inject(spec, self._now())

    # ----------------------------------------------------------------- building the status

    def _build(self, now: float, set_values: dict[tuple[str, str], float | bool | str],
               validity: dict[str, bool]) -> PlcStatus:
        values_by_device: list[dict[str, float | bool | str]] = []
        for device in self.typical.devices:
            key = name_key(device.name)
            typical = {value.name: value.value for value in device.values}
            fixed = {value.name: set_values[(key, name_key(value.name))] for value in device.values
                     if (key, name_key(value.name)) in set_values}
            if device.kind in WEATHER_DEVICE_KINDS:
                values = self.model.evolve(device.name, typical, now, fixed)
            else:
                values = {**typical, **fixed}
            if device.kind == "calib":
                self._light(device, values, fixed)
            values_by_device.append(values)
        self._rain_detectors(values_by_device, set_values, validity)
        devices = []
        for index, (device, values) in enumerate(zip(self.typical.devices, values_by_device)):
            reported = []
            for value_index, value in enumerate(device.values):
                shown = self.faults.reported(f"{device.name}/{value.name}", values[value.name])
                try:
                    reported.append(PlcValue(value.name, shown, value.unit, value.comment))
                except (TypeError, ValueError) as exc:
                    raise InvalidPlcStatus.at(f"device[{index}].values[{value_index}].value", str(exc)) from None
            devices.append(PlcDevice(device.name, device.kind, device.serial_number,
                                     validity.get(name_key(device.name), device.valid), tuple(reported)))
        return PlcStatus(self.typical.source, self.typical.firmware_version, self.typical.site,
                         datetime.fromtimestamp(now, tz=timezone.utc), tuple(devices))

    def _light(self, device: PlcDevice, values: dict[str, float | bool | str],
               fixed: dict[str, float | bool | str]) -> None:
        """A lamp's current follows its status (unless a scenario set the current)."""
        status, current = device.find_value(LAMP_SWITCH), device.find_value("current")
        if status is None or current is None or current.name in fixed or current.unit != "A":
            return
        typical_current = float(current.value)
        lit_current = typical_current if typical_current > 0 else self.lamp_current_a
        values[current.name] = lit_current if values[status.name] == "on" else 0.0

    def _rain_detectors(self, values_by_device: list[dict[str, float | bool | str]],
                        set_values: dict[tuple[str, str], float | bool | str], validity: dict[str, bool]) -> None:
        """A rain detector reads wet while a valid weather sensor reports rain (unless set by a scenario)."""
        raining = False
        for device, values in zip(self.typical.devices, values_by_device):
            if device.kind not in WEATHER_DEVICE_KINDS or not validity.get(name_key(device.name), device.valid):
                continue
            rate = next((v for n, v in values.items() if name_key(n) in ("rainrate", "rainintensity")), None)
            raining = raining or (isinstance(rate, float) and rate > 0)
        if not raining:
            return
        for device, values in zip(self.typical.devices, values_by_device):
            if not is_rain_detector(device):
                continue
            key = name_key(device.name)
            for value in device.values:
                if (key, name_key(value.name)) in set_values:
                    continue
                if name_key(value.name) == "digital" and value.unit == "bool":
                    values[value.name] = False
                elif name_key(value.name) == "analog" and value.unit == "V":
                    values[value.name] = WET_ANALOG_V
