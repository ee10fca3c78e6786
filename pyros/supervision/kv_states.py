"""Supervised processes and service instances in the K/V store, under ``/service/``.

Each supervisor publishes one key per child process::

    /service/supervisor/<host>/<child name>  ->  the child's status row + host + time

(:class:`ChildStatePublisher`): at once when the child's state changes, every
refresh interval otherwise, with a ttl so that the rows of a supervisor that
died vanish by themselves. Beside them, every :class:`~pyros.serve.ServiceHost`
keeps its registry entry ``/service/<name>/<instance>``.
:func:`read_service_tree` sorts a snapshot of ``/service/`` into both lists,
for ``pyros status``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol, Sequence

from pyros.errors import TransportError

log = logging.getLogger(__name__)

SERVICE_SUBTREE = "/service/"
"""The registry subtree: service instances and supervised processes."""

SUPERVISOR_SUBTREE = "/service/supervisor/"
"""The supervised processes: ``/service/supervisor/<host>/<child name>``."""

STATE_FIELDS = ("state", "target", "pid", "restarts", "last_exit", "reason")
"""Fields of a status row whose change is published at once (uptime, CPU and RSS wait for the refresh)."""


def process_key(host: str, name: str) -> str:
    """The K/V key of the child ``name`` supervised on ``host``."""
    return f"{SUPERVISOR_SUBTREE}{host}/{name}"


class KeyPublisher(Protocol):
    """What :class:`ChildStatePublisher` needs of a :class:`~pyros.kv.publisher.KVPublisher`."""

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Set ``key`` to ``value``, deleted by the server after ``ttl`` seconds without a refresh."""

    def delete(self, key: str) -> None:
        """Delete ``key``."""


class ChildStatePublisher:
    """Mirror a host's child status rows into the K/V store.

    Args:
        publisher: Where keys are set and deleted.
        host: The supervisor's host name.
        refresh_interval: Seconds between two publications of every row (the heartbeat interval).
        ttl: Seconds the K/V server keeps a row that is not refreshed (heartbeat interval × liveness).
        clock: Monotonic clock of the refresh schedule.
        now: Time written in the ``time`` field (observatory time).
    """

    def __init__(self, publisher: KeyPublisher, host: str, *, refresh_interval: float, ttl: float,
                 clock: Callable[[], float] = time.monotonic, now: Callable[[], float] = time.time) -> None:
        self._publisher = publisher
        self.host = host
        self.refresh_interval = refresh_interval
        self.ttl = ttl
        self._clock = clock
        self._now = now
        self._next_refresh: float | None = None
        self._published: dict[str, tuple[Any, ...]] = {}

    def update(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Publish the rows whose state changed (all of them when the refresh is due); delete vanished children.

        Args:
            rows: The status rows of every child, as :meth:`ProcessGroup.status` gives them.
        """
        moment = self._clock()
        refresh = self._next_refresh is None or moment >= self._next_refresh
        if refresh:
            self._next_refresh = moment + self.refresh_interval
        current = {str(row["name"]): row for row in rows}
        for name in [name for name in self._published if name not in current]:
            self._send(process_key(self.host, name), None)
            del self._published[name]
        for name, row in current.items():
            signature = tuple(row.get(f) for f in STATE_FIELDS)
            if refresh or self._published.get(name) != signature:
                self._send(process_key(self.host, name), {**row, "host": self.host, "time": self._now()})
                self._published[name] = signature

    def clear(self) -> None:
        """Delete every key this publisher set (the supervisor stops normally)."""
        for name in list(self._published):
            self._send(process_key(self.host, name), None)
        self._published.clear()
        self._next_refresh = None

    def _send(self, key: str, value: Mapping[str, Any] | None) -> None:
        try:
            if value is None:
                self._publisher.delete(key)
            else:
                self._publisher.set(key, dict(value), ttl=self.ttl)
        except TransportError as exc:  # the K/V store is optional: the next refresh tries again
            log.warning("could not publish %s: %s", key, exc)


@dataclass(frozen=True)
class ServiceTree:
    """What runs where, read from the ``/service/`` subtree of the K/V store.

    Attributes:
        processes: Supervised processes: the status rows with ``host`` and ``name``, by host then name.
        services: Registered service instances: ``name, instance, host, pid, version, age`` (seconds
            since the entry was last refreshed, or None), by name then instance.
    """

    processes: list[dict[str, Any]]
    services: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The tree as plain data (``--json``)."""
        return {"processes": self.processes, "services": self.services}


def _service_entry(name: str, instance: str, value: Mapping[str, Any], now: float | None) -> dict[str, Any]:
    stamp = value.get("time")
    age = None
    if now is not None and isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
        age = round(now - stamp, 1)
    return {"name": name, "instance": instance, "host": value.get("host"), "pid": value.get("pid"),
            "version": value.get("version"), "age": age}


def read_service_tree(contents: Mapping[str, Any], now: float | None) -> ServiceTree:
    """Sort the keys of the ``/service/`` subtree into supervised processes and service instances.

    Keys of another shape, and values that are not maps, are left out: they come from the network.

    Args:
        contents: ``key -> decoded value`` (a :meth:`KVSubscriber.contents` copy).
        now: The current time, on the clock of the entries' ``time`` field; None if unknown (no ages).
    """
    processes: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    for key, value in contents.items():
        if not isinstance(value, Mapping):
            continue
        if key.startswith(SUPERVISOR_SUBTREE):
            host, sep, name = key[len(SUPERVISOR_SUBTREE):].partition("/")
            if host and sep and name and "/" not in name:
                processes.append({**value, "host": host, "name": name})
                continue
        if key.startswith(SERVICE_SUBTREE):
            name, sep, instance = key[len(SERVICE_SUBTREE):].partition("/")
            if name and sep and instance and "/" not in instance:
                services.append(_service_entry(name, instance, value, now))
    processes.sort(key=lambda row: (row["host"], row["name"]))
    services.sort(key=lambda entry: (entry["name"], entry["instance"]))
    return ServiceTree(processes, services)
