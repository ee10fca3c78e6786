"""The filter wheel's device service: ``set_filter`` (an operation under the lease) and its state.

Published under ``/device/<name>/...``: ``filters``, ``slot``, ``filter``, ``target_slot``, ``moving``.
"""

from __future__ import annotations

from typing import Any

from devices.common.device_service import DeviceService, motion, observatory_timing
from devices.common.driver_choice import choose_driver
from devices.filter_wheel.interface import WheelDriver, WheelStatus
from devices.filter_wheel.sim import SimulatedWheel
from pyros.service import Refusal, Session, command, operation

DRIVERS = ("sim", "indi")
"""Drivers a filter wheel can use: the simulator, or a wheel behind an INDI server."""


def make_driver(name: str, driver: str, options: dict[str, Any]) -> WheelDriver:
    """The wheel driver named in the configuration.

    Raises:
        ValueError: For an unknown driver or options it does not take.
    """
    def indi(**settings: Any) -> WheelDriver:
        from devices.filter_wheel.indi import IndiWheel

        return IndiWheel(**settings)

    return choose_driver("filter wheel", driver,
                         {"sim": lambda **s: SimulatedWheel(*observatory_timing(), name=name, **s), "indi": indi},
                         options)


class FilterWheelService(DeviceService):
    """A filter wheel."""

    service_name = "filter_wheel"
    version = "1.0.0"

    def __init__(self, name: str = "filter_wheel", driver: str = "sim", poll_s: float = 0.25,
                 timeout_s: float = 120.0, **driver_options: Any) -> None:
        """Create the service and its driver.

        Args:
            name: Device name (e.g. ``fw_vis``).
            driver: ``sim``.
            poll_s: Observatory seconds between two looks at a moving wheel.
            timeout_s: Observatory seconds a move may take before it is reported failed.
            **driver_options: The driver's own settings (``filters``, ``slot_time_s``, ...).
        """
        super().__init__(name, poll_s=poll_s, timeout_s=timeout_s)
        self.driver = make_driver(name, driver, driver_options)

    def _read(self) -> WheelStatus:
        status: WheelStatus = self.read_status()
        return status

    @command()
    def position(self) -> dict[str, Any]:
        """The filter in the beam and the wheel's filters."""
        return self._read().to_dict()

    @operation(level="operator")
    @motion
    def set_filter(self, session: Session, filter: str) -> dict[str, Any]:  # noqa: A002 - the wire name
        """Put a filter in the beam.

        Args:
            filter: Its name, one of the wheel's filters.
        """
        try:
            slot = self.driver.slot_of(filter)
        except ValueError as exc:
            raise Refusal("BadArgument", str(exc)) from None
        return self.follow_motion(session, lambda: self.driver.start_move(slot), self._read,
                           lambda s: s.slot == slot, lambda: None, f"the move to {filter}")
