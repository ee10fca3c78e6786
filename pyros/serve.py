"""Serve a :class:`~pyros.service.Service` through the broker.

:class:`ServiceHost` joins the transport-independent
:class:`~pyros.service.ServiceRuntime` (commands, validation, access, sessions)
to the MDP :class:`~pyros.worker.Worker` (sockets, heartbeats, reconnection).
It registers the service name and the instance-addressed name
``<service>.<instance>``, each with ``slots`` connections, so that several
requests — e.g. a ``wait`` and a ``status`` — run at once.
"""

from __future__ import annotations

import importlib
import signal
from typing import Any

import zmq

from pyros.mdp import constants as c
from pyros.messages import error_reply
from pyros.service import AccessPolicy, Service, ServiceRuntime
from pyros.worker import SendPartial, Worker


def load_class(path: str) -> type:
    """Import ``"package.module:ClassName"`` and return the class.

    Raises:
        ValueError: naming the path when it is malformed, missing or not a class.
    """
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"class path {path!r} must look like 'package.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} for {path!r}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise ValueError(f"module {module_name!r} has no {attr!r}")
    if not isinstance(obj, type):
        raise ValueError(f"{path!r} is not a class")
    return obj


class ServiceHost:
    """Run one service instance as an MDP worker.

    Args:
        service: The service object.
        endpoint: Broker endpoint.
        instance: Instance name (default ``<host>-<pid>``).
        service_name: Override of the service's name.
        access: Token to level mapping and default level.
        slots: Connections per registered name.
        heartbeat_interval: The site's heartbeat interval, seconds.
        heartbeat_liveness: The site's liveness, intervals.
        default_timeout: Timeout of commands that declare none, seconds.
        context: ZeroMQ context.
    """

    def __init__(self, service: Service, endpoint: str, *, instance: str | None = None,
                 service_name: str | None = None, access: AccessPolicy | None = None, slots: int = 4,
                 heartbeat_interval: float = c.DEFAULT_HEARTBEAT_INTERVAL,
                 heartbeat_liveness: int = c.DEFAULT_HEARTBEAT_LIVENESS, default_timeout: float = 30.0,
                 context: zmq.Context | None = None) -> None:
        self.runtime = ServiceRuntime(service, instance=instance, service_name=service_name, access=access,
                                      default_timeout=default_timeout)
        self.worker = Worker(endpoint, self._handle, self.runtime.service_names(), slots=slots,
                             heartbeat_interval=heartbeat_interval, heartbeat_liveness=heartbeat_liveness,
                             context=context)

    @property
    def names(self) -> list[str]:
        """Names registered with the broker: the service and its instance address."""
        return self.runtime.service_names()

    def _handle(self, body: list[bytes], send_partial: SendPartial) -> list[bytes]:
        if len(body) != 1:
            return [error_reply(None, "BadRequest", f"a request body is one msgpack frame, got {len(body)} frames")]
        return [self.runtime.handle(body[0], lambda partial: send_partial([partial]))]

    def start(self) -> ServiceHost:
        """Start the service and its worker thread; return self."""
        self.runtime.start()
        self.worker.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Unregister from the broker, then stop the service (aborting its sessions)."""
        self.worker.stop(timeout)
        self.runtime.close(timeout)

    def __enter__(self) -> ServiceHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run(self) -> None:
        """Serve in the foreground until SIGINT or SIGTERM (main thread only)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.worker.stop(timeout=0))
        self.runtime.start()
        try:
            self.worker.run()
        finally:
            self.runtime.close()
