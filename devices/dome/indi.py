"""A dome driven through an INDI server (``driver = "indi"``), through :class:`devices.common.indi_link.IndiDeviceLink`.

:class:`IndiDome` maps the standard INDI dome properties to
:class:`~devices.dome.interface.DomeStatus`:

* ``DOME_SHUTTER`` (SHUTTER_OPEN/SHUTTER_CLOSE): the switch that is On is where
  the shutter is (state Ok) or is going (state Busy); Idle with no switch On, or
  Idle after an abort, is ``stopped``.
* ``ABS_DOME_POSITION`` (DOME_ABSOLUTE_POSITION): the azimuth; Busy means rotating.
* ``DOME_PARK`` (PARK/UNPARK): parked when PARK is On and Ok; Busy means parking;
  :meth:`IndiDome.start_park` parks, motions unpark first (INDI refuses them while parked).
* ``DOME_PARK_POSITION`` (PARK_AZ): the park azimuth when the device has it.
* ``DOME_ABORT_MOTION``: stop.

INDI reports no shutter fraction: it is 0 when closed, 1 when open and 0.5
(part-way, amount unknown) otherwise.
"""

from __future__ import annotations

import math

from devices.common.faults import DeviceFault
from devices.common.indi_link import IndiDeviceLink
from devices.dome.interface import DomeStatus
from devices.dome.shutter import ShutterState, shutter_refusal
from pyros.indi import PropertyState, PropertyVector


def _on(vector: PropertyVector | None, switch: str) -> bool:
    return vector is not None and switch in vector.switches_on()


class IndiDome:
    """A dome behind an INDI server (a :class:`~devices.dome.interface.DomeDriver`).

    Args:
        host: INDI server host.
        port: INDI server TCP port.
        device: INDI device name.
        park_azimuth_deg: Park azimuth used when the device has no ``DOME_PARK_POSITION``.
        connect_timeout_s: Wall seconds to connect and see the dome's properties.
        reply_timeout_s: Wall seconds the dome may take to acknowledge a command.

    Raises:
        ValueError: Naming a bad option.
    """

    REQUIRED = ("DOME_SHUTTER", "ABS_DOME_POSITION")

    def __init__(self, host: str = "127.0.0.1", port: int = 7624, device: str = "Dome Simulator", *,
                 park_azimuth_deg: float = 0.0, connect_timeout_s: float = 30.0,
                 reply_timeout_s: float = 10.0) -> None:
        if isinstance(park_azimuth_deg, bool) or not isinstance(park_azimuth_deg, (int, float)) \
                or not math.isfinite(park_azimuth_deg) or not 0.0 <= park_azimuth_deg < 360.0:
            raise ValueError(f"park_azimuth_deg must be in [0, 360), got {park_azimuth_deg!r}")
        self.link = IndiDeviceLink(host, port, device, self.REQUIRED, connect_timeout_s=connect_timeout_s,
                                   reply_timeout_s=reply_timeout_s)
        self.park_azimuth_deg = float(park_azimuth_deg)
        """Where the dome parks: the device's ``DOME_PARK_POSITION`` (read with each status) if it has one,
        else the configured value."""
        self._target: float | None = None

    def _refresh_park_azimuth(self) -> float:
        """Update :attr:`park_azimuth_deg` from ``DOME_PARK_POSITION.PARK_AZ`` when the device has it."""
        position = self.link.get("DOME_PARK_POSITION")
        if position is not None and "PARK_AZ" in position:
            self.park_azimuth_deg = float(position.value("PARK_AZ")) % 360.0
        return self.park_azimuth_deg

    def _shutter_state(self, shutter: PropertyVector) -> ShutterState:
        opening, closing = _on(shutter, "SHUTTER_OPEN"), _on(shutter, "SHUTTER_CLOSE")
        if shutter.state is PropertyState.BUSY:
            return ShutterState.OPENING if opening else ShutterState.CLOSING if closing else ShutterState.STOPPED
        if shutter.state is PropertyState.OK:
            return ShutterState.OPEN if opening else ShutterState.CLOSED if closing else ShutterState.STOPPED
        return ShutterState.STOPPED

    def status(self) -> DomeStatus:
        """Where the dome is now, from the INDI properties (no request is sent).

        Raises:
            DeviceFault: A property is in Alert (with the device's message), or the dome lacks one.
            DeviceDisconnected, DeviceSilent: The server or device cannot be reached.
        """
        shutter = self.link.read("DOME_SHUTTER")
        position = self.link.read("ABS_DOME_POSITION")
        park = self.link.get("DOME_PARK")
        if park is not None:
            self.link.check_alert(park)
        azimuth = float(position.value("DOME_ABSOLUTE_POSITION")) % 360.0
        self._refresh_park_azimuth()
        state = self._shutter_state(shutter)
        parking = park is not None and park.state is PropertyState.BUSY
        target: float | None = None
        if parking and _on(park, "PARK"):
            target = self.park_azimuth_deg
        elif position.state is PropertyState.BUSY:
            target = self._target if self._target is not None else azimuth
        parked = park is not None and _on(park, "PARK") and park.state is PropertyState.OK
        fraction = {ShutterState.OPEN: 1.0, ShutterState.CLOSED: 0.0}.get(state, 0.5)
        return DomeStatus(azimuth_deg=azimuth, target_azimuth_deg=target, shutter=state,
                          shutter_open_fraction=fraction, parked=parked)

    def _leave_park(self) -> None:
        """Unpark the dome if INDI has it parked (INDI refuses motions while parked)."""
        park = self.link.get("DOME_PARK")
        if park is not None and _on(park, "PARK"):
            self.link.command("DOME_PARK", {"UNPARK": True},
                              lambda v: v.state is PropertyState.OK and _on(v, "UNPARK"))
            with self.link.faults("unparking"):
                self.link.client().wait_for(self.link.device, "DOME_PARK",
                                            lambda v: v.state is not PropertyState.BUSY, self.link.reply_timeout_s)
            self.link.check_alert(self.link.read("DOME_PARK"))

    def _move_shutter(self, command: str, switch: str) -> None:
        refusal = shutter_refusal(self._shutter_state(self.link.read("DOME_SHUTTER")), command)
        if refusal is not None:
            raise DeviceFault(refusal)
        if command == "open":
            self._leave_park()
        self.link.command("DOME_SHUTTER", {switch: True},
                          lambda v: v.state is PropertyState.OK and _on(v, switch))

    def start_open(self) -> None:
        """Start opening the shutter (refused while opening or open, as the simulator does)."""
        self._move_shutter("open", "SHUTTER_OPEN")

    def start_close(self) -> None:
        """Start closing the shutter (always accepted: safety)."""
        self._move_shutter("close", "SHUTTER_CLOSE")

    def start_rotation(self, azimuth_deg: float) -> None:
        """Start turning to ``azimuth_deg`` (unparking first if INDI has the dome parked).

        Raises:
            ValueError: For an azimuth outside [0, 360].
            DeviceFault: Refused by the dome, or no answer.
        """
        if isinstance(azimuth_deg, bool) or not isinstance(azimuth_deg, (int, float)) \
                or not math.isfinite(azimuth_deg) or not 0.0 <= azimuth_deg <= 360.0:
            raise ValueError(f"azimuth must be in [0, 360], got {azimuth_deg!r}")
        target = float(azimuth_deg) % 360.0
        self._leave_park()
        self._target = target
        self.link.command("ABS_DOME_POSITION", {"DOME_ABSOLUTE_POSITION": target},
                          lambda v: v.state is PropertyState.OK and
                          abs((v.value("DOME_ABSOLUTE_POSITION") - target + 180.0) % 360.0 - 180.0) < 0.1)

    def start_park(self) -> None:
        """Park the dome: ``DOME_PARK`` when the device has it, else a rotation to the park azimuth."""
        if self.link.get("DOME_PARK") is None:
            self._target = self._refresh_park_azimuth()
            self.link.command("ABS_DOME_POSITION", {"DOME_ABSOLUTE_POSITION": self._target},
                              lambda v: v.state is PropertyState.OK)
            return
        self._target = self._refresh_park_azimuth()
        self.link.command("DOME_PARK", {"PARK": True}, lambda v: v.state is PropertyState.OK and _on(v, "PARK"))

    def stop(self) -> None:
        """Stop every motion where it is (``DOME_ABORT_MOTION``)."""
        self.link.command("DOME_ABORT_MOTION", {"ABORT": True}, lambda v: v.state is not PropertyState.BUSY)

    def close(self) -> None:
        """Close the INDI connection."""
        self.link.close()
