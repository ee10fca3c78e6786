"""What a scenario may tell the PLC simulator, checked when the scenario is loaded.

Three forms (``pyros.simulation`` scenario entries addressed to the PLC)::

    {"device_name": "WXT520", "value_name": "RainRate", "value": 12.0}   # the value reads 12.0 from then on
    {"device_name": "WXT520", "value_name": "RainRate", "value": null}   # back to the simulated value
    {"device_name": "VantagePro", "valid": false}                         # the PLC distrusts the device
    {"fault": "silence", "seconds": 30}                                   # a fault (devices.common.faults)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from devices.common.faults import Faults
from devices.plc.problems import InvalidPlcStatus
from devices.plc.status import PlcDevice, PlcStatus, PlcValue

_FORMS = ('{"device_name": D, "value_name": V, "value": x}', '{"device_name": D, "valid": true|false}',
          '{"fault": ...}')


@dataclass(frozen=True)
class PlcScenarioAction:
    """One checked scenario action for the PLC simulator.

    Attributes:
        kind: ``value`` (set or release a value), ``valid`` (a device's validity) or ``fault``.
        device: The device's name as the status spells it (``value`` and ``valid``).
        value_name: The value's name as the status spells it (``value``).
        value: The value to report (None releases it), or the validity, or the fault's description.
    """

    kind: str
    device: str | None
    value_name: str | None
    value: Any

    @classmethod
    def parse(cls, action: Any, status: PlcStatus, where: str) -> PlcScenarioAction:
        """Check one action against the simulator's status.

        Args:
            action: The action as the scenario file gives it.
            status: The simulator's status (which devices and values exist, their units).
            where: Where the action is, for messages (``scenario.json: entry 3``).

        Raises:
            ValueError: Naming ``where`` and what is wrong (unknown device or value, with the choices;
                a value that does not fit its unit or range; an unknown form or fault).
        """
        if not isinstance(action, dict):
            raise ValueError(f"{where}: a PLC action is an object, one of {'; '.join(_FORMS)}; got {action!r:.60}")
        if "fault" in action:
            try:
                Faults("plc").inject(action, 0.0)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
            return cls("fault", None, None, dict(action))
        name = action.get("device_name")
        if not isinstance(name, str):
            raise ValueError(f"{where}: a PLC action is one of {'; '.join(_FORMS)}; got keys {sorted(action)}")
        device = status.find_device(name)
        if device is None:
            raise ValueError(f"{where}: unknown PLC device {name!r} (the devices are: "
                             f"{', '.join(d.name for d in status.devices)})")
        if set(action) == {"device_name", "valid"}:
            if not isinstance(action["valid"], bool):
                raise ValueError(f"{where}: 'valid' of {device.name} must be true or false, got {action['valid']!r}")
            return cls("valid", device.name, None, action["valid"])
        if set(action) != {"device_name", "value_name", "value"}:
            raise ValueError(f"{where}: a PLC action is one of {'; '.join(_FORMS)}; got keys {sorted(action)}")
        value_name = action["value_name"]
        known = device.find_value(value_name) if isinstance(value_name, str) else None
        if known is None:
            raise ValueError(f"{where}: device {device.name} has no value {value_name!r} (its values are: "
                             f"{', '.join(v.name for v in device.values) or 'none'})")
        value = action["value"]
        if value is not None:
            value = _checked_value(device, known, value, where)
        return cls("value", device.name, known.name, value)


def _checked_value(device: PlcDevice, known: PlcValue, value: Any, where: str) -> float | bool | str:
    """The value if it fits the value's unit and range (checked as part of a one-value status)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: {device.name}.{known.name} must be finite, got {value!r}")
    try:
        checked = PlcValue(known.name, value, known.unit, known.comment)
        PlcStatus("scenario", "check", "check", datetime(2000, 1, 1, tzinfo=timezone.utc),
                  (PlcDevice(device.name, device.kind, device.serial_number, True, (checked,)),))
    except (TypeError, ValueError, InvalidPlcStatus) as exc:
        message = exc.problems[0].message if isinstance(exc, InvalidPlcStatus) else str(exc)
        raise ValueError(f"{where}: {device.name}.{known.name} cannot read {value!r}: {message}") from None
    return checked.value
