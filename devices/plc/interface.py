"""What every PLC driver provides: the normalised status, and the lamps and power switches it can set."""

from __future__ import annotations

from typing import Protocol

from devices.plc.status import PlcStatus

LAMP_SWITCH = "status"
"""The switch of a calibration lamp: its ``status`` value, ``on`` or ``off`` (docs/plc.md)."""


class PlcDriver(Protocol):
    """A PLC's driver: it reads the site's sensors and drives the lamps and the power distribution.

    Every method may raise :class:`devices.common.faults.DeviceFault` when the PLC does not answer,
    and :meth:`read_status` raises :class:`devices.plc.problems.InvalidPlcStatus` when the PLC sends
    a status that is not valid.
    """

    def read_status(self) -> PlcStatus:
        """The PLC's status now, normalised and validated (``date`` is when the PLC took it)."""

    def switches(self) -> dict[str, tuple[str, ...]]:
        """What can be switched: device name -> its switch names.

        A calibration lamp (type ``calib``) has one switch, :data:`LAMP_SWITCH`; a power device
        (type ``power``) has one switch per ``bool`` value.
        """

    def switch(self, device: str, switch_name: str, on: bool) -> None:
        """Turn a lamp or a power switch on or off.

        Args:
            device: A device name of :meth:`switches` (compared as :func:`devices.plc.names.name_key` does).
            switch_name: One of that device's switches.
            on: True to switch on.

        Raises:
            ValueError: For an unknown device or switch, naming the choices.
        """
