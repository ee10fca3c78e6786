"""One INDI device seen through its own INDI client, with INDI failures turned into device faults.

:class:`IndiDeviceLink` is what every INDI driver (dome, telescope, filter
wheel) talks through: the client is opened on first use and reopened on the
next use after a loss; connection loss becomes
:class:`~devices.common.faults.DeviceDisconnected`, no answer in time
:class:`~devices.common.faults.DeviceSilent`, and a property in Alert
:class:`~devices.common.faults.DeviceFault` with the device's last message.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping

from devices.common.faults import DeviceDisconnected, DeviceFault, DeviceSilent
from pyros.indi import (IndiClient, IndiConnectionError, IndiError, IndiPropertyAlert, IndiTimeout,
                        IndiUnknownProperty, PropertyState, PropertyVector)

log = logging.getLogger(__name__)


def _positive_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


class IndiDeviceLink:
    """One INDI device on one INDI server, with INDI errors mapped to device faults.

    The connection is opened on first use (TCP, then the device's ``CONNECTION``
    switch, then the ``required`` properties must be defined) and opened again
    on the next use after it was lost.

    Args:
        host: INDI server host.
        port: INDI server TCP port.
        device: INDI device name (e.g. ``Dome Simulator``).
        required: Properties the driver cannot work without.
        connect_timeout_s: Wall seconds to connect to the server, connect the device and see ``required``.
        reply_timeout_s: Wall seconds a device may take to acknowledge a command (Busy, or done).

    Raises:
        ValueError: Naming a bad host, port, device name or timeout.
    """

    def __init__(self, host: str, port: int, device: str, required: tuple[str, ...], *,
                 connect_timeout_s: float = 30.0, reply_timeout_s: float = 10.0) -> None:
        if not isinstance(host, str) or not host.strip():
            raise ValueError(f"INDI host must be a non-empty string, got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"INDI port must be an integer in 1..65535, got {port!r}")
        if not isinstance(device, str) or not device.strip():
            raise ValueError(f"INDI device must be a non-empty device name, got {device!r}")
        self.host = host
        self.port = port
        self.device = device
        self.required = required
        self.connect_timeout_s = _positive_seconds("connect_timeout_s", connect_timeout_s)
        self.reply_timeout_s = _positive_seconds("reply_timeout_s", reply_timeout_s)
        self._lock = threading.Lock()
        self._client: IndiClient | None = None

    @property
    def where(self) -> str:
        """``device@host:port``, for messages."""
        return f"{self.device}@{self.host}:{self.port}"

    def client(self) -> IndiClient:
        """The connected client, connecting first if needed.

        Raises:
            DeviceDisconnected: The server cannot be reached or closed the connection.
            DeviceSilent: The device did not connect or define its properties in time.
            DeviceFault: The device refused to connect.
        """
        with self._lock:
            if self._client is not None and self._client.connected:
                return self._client
            client = self._client or IndiClient(self.host, self.port, connect_timeout=self.connect_timeout_s)
            self._client = client
            with self.faults("connecting"):
                client.connect()
                try:
                    client.connect_device(self.device, timeout=self.connect_timeout_s)
                    for name in self.required:
                        client.wait_for(self.device, name, None, self.connect_timeout_s)
                except IndiError:
                    client.close()
                    raise
            log.info("INDI device %s connected", self.where)
            return client

    def close(self) -> None:
        """Close the connection (the next use opens it again)."""
        with self._lock:
            if self._client is not None:
                self._client.close()

    def faults(self, doing: str) -> _FaultMapping:
        """A context manager turning INDI errors raised while ``doing`` something into device faults."""
        return _FaultMapping(self, doing)

    def last_message(self) -> str:
        """The device's last message, or an empty string."""
        client = self._client
        recent = client.messages(self.device) if client is not None else []
        return recent[-1].text if recent else ""

    def get(self, name: str) -> PropertyVector | None:
        """The property's current snapshot (None if the device does not define it).

        Raises:
            DeviceFault: As :meth:`client`.
        """
        return self.client().get(self.device, name)

    def read(self, name: str) -> PropertyVector:
        """The property's current snapshot, which must be defined and not in Alert.

        Raises:
            DeviceFault: The property is in Alert (with the device's last message) or not defined.
            DeviceDisconnected, DeviceSilent: As :meth:`client`.
        """
        vector = self.get(name)
        if vector is None:
            raise DeviceFault(f"{self.where} does not define {name}")
        self.check_alert(vector)
        return vector

    def check_alert(self, vector: PropertyVector) -> None:
        """Raise :class:`DeviceFault` if ``vector`` is in Alert."""
        if vector.state is PropertyState.ALERT:
            said = self.last_message()
            raise DeviceFault(f"{self.where}: {vector.name} is in Alert" + (f": {said}" if said else ""))

    def command(self, name: str, values: Mapping[str, float] | Mapping[str, bool],
                done: Callable[[PropertyVector], bool] | None = None) -> PropertyVector:
        """Send new values for a Number or Switch property and wait for the device to take them.

        Taken means the property's next update is Busy (under way) or satisfies
        ``done`` (already there); Alert is a refusal.

        Args:
            name: Property name.
            values: Members to set (floats for a Number vector, booleans for a Switch vector).
            done: Whether an update shows the command already completed (default: state Ok).

        Returns:
            The acknowledging update.

        Raises:
            DeviceFault: Refused (Alert, with the device's message), or a property the device lacks.
            DeviceSilent: No acknowledgement within ``reply_timeout_s``.
            DeviceDisconnected: The connection is lost.
        """
        finished = done if done is not None else (lambda v: v.state is PropertyState.OK)
        client = self.client()
        with self.faults(f"setting {name}"):
            vector = client.get(self.device, name)
            if vector is None:
                raise IndiUnknownProperty(f"{self.where} does not define {name}")
            if all(isinstance(v, bool) for v in values.values()):
                mark = client.set_switch(self.device, name, values)  # type: ignore[arg-type]
            else:
                mark = client.set_number(self.device, name, values)  # type: ignore[arg-type]
            answer = client.wait_for(
                self.device, name,
                lambda v: v.state in (PropertyState.BUSY, PropertyState.ALERT) or finished(v),
                self.reply_timeout_s, after=mark)
        self.check_alert(answer)
        return answer


class _FaultMapping:
    """Context manager: INDI errors become device faults naming the device and what was being done."""

    def __init__(self, link: IndiDeviceLink, doing: str) -> None:
        self.link = link
        self.doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: object) -> None:
        if error is None or not isinstance(error, IndiError):
            return
        where = f"{self.link.where} ({self.doing})"
        if isinstance(error, IndiConnectionError):
            raise DeviceDisconnected(f"{where}: {error}") from error
        if isinstance(error, IndiTimeout):
            raise DeviceSilent(f"{where} does not answer: {error}") from error
        if isinstance(error, IndiPropertyAlert):
            raise DeviceFault(f"{where}: {error}") from error
        raise DeviceFault(f"{where}: {error}") from error
