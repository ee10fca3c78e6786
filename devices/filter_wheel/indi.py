"""A filter wheel driven through an INDI server (``driver = "indi"``).

Properties used (INDI's standard filter wheel interface):

* ``FILTER_NAME`` (Text, ``FILTER_SLOT_NAME_1`` … ``FILTER_SLOT_NAME_n``): the filters, slot 1 first.
* ``FILTER_SLOT`` (Number, ``FILTER_SLOT_VALUE``): the slot in the beam; Busy while the wheel turns,
  and a move is a new ``FILTER_SLOT_VALUE``.
"""

from __future__ import annotations

import re

from devices.common.faults import DeviceFault
from devices.common.indi_link import IndiDeviceLink
from devices.filter_wheel.interface import WheelStatus
from pyros.indi import PropertyState, PropertyVector

_SLOT_NAME = re.compile(r"FILTER_SLOT_NAME_(\d+)")


class IndiWheel:
    """A filter wheel behind an INDI server (a :class:`~devices.filter_wheel.interface.WheelDriver`).

    Args:
        host: INDI server host.
        port: INDI server TCP port.
        device: INDI device name.
        connect_timeout_s: Wall seconds to connect and see the wheel's properties.
        reply_timeout_s: Wall seconds the wheel may take to acknowledge a move.

    Raises:
        ValueError: Naming a bad option.
    """

    REQUIRED = ("FILTER_SLOT", "FILTER_NAME")

    def __init__(self, host: str = "127.0.0.1", port: int = 7624, device: str = "Filter Simulator", *,
                 connect_timeout_s: float = 30.0, reply_timeout_s: float = 10.0) -> None:
        self.link = IndiDeviceLink(host, port, device, self.REQUIRED, connect_timeout_s=connect_timeout_s,
                                   reply_timeout_s=reply_timeout_s)
        self._target: int | None = None

    @property
    def filters(self) -> tuple[str, ...]:
        """Filter names by slot, from ``FILTER_NAME``.

        Raises:
            DeviceFault: The names are not numbered 1..n, or the wheel cannot be reached.
        """
        return self._filters(self.link.read("FILTER_NAME"))

    def _filters(self, names: PropertyVector) -> tuple[str, ...]:
        by_slot: dict[int, str] = {}
        for member, value in names.values().items():
            match = _SLOT_NAME.fullmatch(member)
            if match is not None:
                by_slot[int(match.group(1))] = str(value).strip()
        if not by_slot or sorted(by_slot) != list(range(1, len(by_slot) + 1)):
            raise DeviceFault(f"{self.link.where}: FILTER_NAME does not name slots 1..n: {sorted(by_slot)}")
        return tuple(by_slot[slot] for slot in range(1, len(by_slot) + 1))

    def status(self) -> WheelStatus:
        """Where the wheel is now, from the INDI properties (no request is sent).

        Raises:
            DeviceFault: ``FILTER_SLOT`` is in Alert (with the device's message), or malformed properties.
            DeviceDisconnected, DeviceSilent: The server or device cannot be reached.
        """
        filters = self.filters
        slot_vector = self.link.read("FILTER_SLOT")
        value = slot_vector.value("FILTER_SLOT_VALUE")
        slot = int(round(value))
        if not 1 <= slot <= len(filters):
            raise DeviceFault(f"{self.link.where}: FILTER_SLOT {value:g} is not one of the {len(filters)} slots")
        if slot_vector.state is PropertyState.BUSY:
            return WheelStatus(filters, None, self._target if self._target is not None else slot)
        return WheelStatus(filters, slot, None)

    def slot_of(self, filter_name: str) -> int:
        """The slot holding ``filter_name``.

        Raises:
            ValueError: Naming the filters the wheel has.
        """
        filters = self.filters
        if filter_name not in filters:
            raise ValueError(f"no filter {filter_name!r} in this wheel; it has {', '.join(filters)}")
        return filters.index(filter_name) + 1

    def start_move(self, slot: int) -> None:
        """Start turning to ``slot`` (1-based); refused while moving.

        Raises:
            ValueError: For a slot the wheel does not have.
            DeviceFault: Moving already, refused by the wheel, or no answer.
        """
        count = len(self.filters)
        if isinstance(slot, bool) or not isinstance(slot, int) or not 1 <= slot <= count:
            raise ValueError(f"slot must be an integer in 1..{count}, got {slot!r}")
        current = self.status()
        if current.moving:
            raise DeviceFault(f"the wheel is already moving to slot {current.target_slot}")
        self._target = slot
        self.link.command("FILTER_SLOT", {"FILTER_SLOT_VALUE": float(slot)},
                          lambda v: v.state is PropertyState.OK and int(round(v.value("FILTER_SLOT_VALUE"))) == slot)

    def close(self) -> None:
        """Close the INDI connection."""
        self.link.close()
