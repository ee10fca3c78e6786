"""The PLC: its status format (normalised JSON with a shipped JSON Schema) and what it says.

``normalise_status`` reads a status as the PLC sends it (including the seed's Beckhoff shapes) and
returns a validated :class:`PlcStatus`, whose helpers pick the canonical weather quantities, the
rain detector, the sky thermometer, the lamps and the power switches. See docs/plc.md.
"""

from devices.plc.canonical import Quantity
from devices.plc.normalise import normalise_status
from devices.plc.problems import InvalidPlcStatus, PlcStatusProblem
from devices.plc.readings import (LampReading, PowerSwitchReading, QuantityReading, RainDetectorReading,
                                  SkyTemperatureReading)
from devices.plc.status import PlcDevice, PlcStatus, PlcValue

__all__ = ["InvalidPlcStatus", "LampReading", "PlcDevice", "PlcStatus", "PlcStatusProblem", "PlcValue",
           "PowerSwitchReading", "Quantity", "QuantityReading", "RainDetectorReading", "SkyTemperatureReading",
           "normalise_status"]
