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
import logging
import os
import signal
import socket
import threading
from typing import Any

import zmq

from pyros.kv.publisher import KVPublisher
from pyros.mdp import constants as c
from pyros.messages import error_reply
from pyros.service import AccessPolicy, Service, ServiceRuntime
from pyros.worker import SendPartial, Worker

log = logging.getLogger(__name__)


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
        kv_collector: Collector endpoint of the K/V server. When given, the host
            publishes its registry entry ``/service/<name>/<instance>`` (version,
            host, pid; ttl of ``heartbeat_liveness`` intervals, refreshed every
            interval, so a dead instance vanishes within its ttl and a restarted
            K/V server has it again within one interval) and mirrors every
            session change under ``/op/<service>/<op>``.
        kv_watch: The K/V server's ``(snapshot, updates)`` endpoints: watch its
            epoch and republish the ``/op/`` keys (which have no ttl) as soon
            as a restarted server is noticed.
    """

    def __init__(self, service: Service, endpoint: str, *, instance: str | None = None,
                 service_name: str | None = None, access: AccessPolicy | None = None, slots: int = 4,
                 heartbeat_interval: float = c.DEFAULT_HEARTBEAT_INTERVAL,
                 heartbeat_liveness: int = c.DEFAULT_HEARTBEAT_LIVENESS, default_timeout: float = 30.0,
                 context: zmq.Context | None = None, kv_collector: str | None = None,
                 kv_watch: tuple[str, str] | None = None) -> None:
        self._publisher = KVPublisher(kv_collector, context=context, watch_epoch=kv_watch) \
            if kv_collector else None
        self._heartbeat_interval = heartbeat_interval
        self._registry_ttl = heartbeat_interval * heartbeat_liveness
        self._registry_stop = threading.Event()
        self._registry_thread: threading.Thread | None = None
        self.runtime = ServiceRuntime(service, instance=instance, service_name=service_name, access=access,
                                      default_timeout=default_timeout,
                                      on_session_change=self._mirror_session if self._publisher else None)
        if self._publisher is not None:
            service.on_kv_publisher(self._publisher)
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

    @property
    def registry_key(self) -> str:
        """This instance's key in the K/V service registry."""
        return f"/service/{self.runtime.service_name}/{self.runtime.instance}"

    def _registry_entry(self) -> dict[str, object]:
        return {"service": self.runtime.service_name, "instance": self.runtime.instance,
                "version": self.runtime.version, "host": socket.gethostname(), "pid": os.getpid(),
                "time": self.runtime.now()}

    def _mirror_session(self, op: str, session: dict[str, object]) -> None:
        if self._publisher is not None:
            self._publisher.set(f"/op/{self.runtime.service_name}/{op}", session)

    def _publish_registry(self) -> None:
        while True:
            if self._publisher is not None:
                try:
                    self._publisher.set(self.registry_key, self._registry_entry(), ttl=self._registry_ttl)
                except Exception:  # the K/V server may be down: try again next interval
                    log.warning("could not publish %s", self.registry_key, exc_info=True)
            if self._registry_stop.wait(self._heartbeat_interval):
                return

    def _start_registry(self) -> None:
        if self._publisher is not None and self._registry_thread is None:
            self._registry_thread = threading.Thread(target=self._publish_registry, daemon=True,
                                                     name=f"registry-{self.registry_key}")
            self._registry_thread.start()

    def _stop_registry(self) -> None:
        self._registry_stop.set()
        if self._registry_thread is not None:
            self._registry_thread.join(5)
        if self._publisher is not None:
            try:
                self._publisher.delete(self.registry_key)
            finally:
                self._publisher.close()

    def start(self) -> ServiceHost:
        """Start the service, its worker thread and its registry entry; return self."""
        self.runtime.start()
        self.worker.start()
        self._start_registry()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Unregister from the broker and the registry, then stop the service (aborting its sessions)."""
        self.worker.stop(timeout)
        self.runtime.close(timeout)
        self._stop_registry()

    def __enter__(self) -> ServiceHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run(self) -> None:
        """Serve in the foreground until SIGINT or SIGTERM (main thread only)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.worker.stop(timeout=0))
        self.runtime.start()
        self._start_registry()
        try:
            self.worker.run()
        finally:
            self.runtime.close()
            self._stop_registry()
