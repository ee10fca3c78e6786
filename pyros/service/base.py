"""The base class of services."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from pyros.kv.publisher import KVPublisher
    from pyros.service.command import CommandSpec
    from pyros.service.context import CallContext


class Service:
    """Base class of a PyROS service: a plain class whose commands are decorated methods.

    Declare commands with :func:`~pyros.service.command` and long
    operations with :func:`~pyros.service.operation`; serve the instance
    with :class:`~pyros.service.ServiceRuntime`. ``ping``, ``describe``,
    ``status``, ``wait``, ``abort`` and ``sessions`` come for free. The
    class docstring is what ``describe`` shows.

    ``__init__`` is free for authors (configuration keyword arguments).
    Commands may be called concurrently from several threads: a service
    protects its own state.

    Attributes:
        service_name: The MDP service name (the runtime may override it per
            instance); the lower-cased class name when empty.
        version: The service's version, shown by ``ping`` and ``describe``.
    """

    service_name: ClassVar[str] = ""
    version: ClassVar[str] = "0.0.0"

    def on_start(self) -> None:
        """Acquire resources before the first request is served (hook; does nothing by default)."""

    def on_stop(self) -> None:
        """Release resources when the runtime closes (hook; does nothing by default)."""

    def on_kv_publisher(self, publisher: KVPublisher) -> None:
        """Receive the host's K/V publisher, before :meth:`on_start` (hook; ignores it by default).

        A service that publishes live state (a device under ``/device/...``)
        keeps it; the publisher republishes its keys when the K/V server restarts.
        """

    def authorize(self, command: CommandSpec, call: CallContext) -> None:
        """Decide whether this caller may run this command now (hook; allows everything by default).

        Called for the service's own commands and operations (not the built-in
        ones) after the access level and the arguments were checked, before
        the command runs or its session starts. Raise
        :class:`~pyros.service.Refusal` to refuse, e.g. a motion command from a
        caller who does not hold a device's control lease.

        Args:
            command: The command about to run.
            call: Who asks (``call.principal``, ``call.level``).
        """
