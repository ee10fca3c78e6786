"""The supervisor of one host: runs its configured services and is the MDP service ``supervisor.<host>``.

It starts every service listed under ``[hosts.<host>.services]`` as its own
process (``python -m pyros serve <class> --name <name> ...``), keeps each in its
target state with the restart policy (:mod:`pyros.supervision.restart_policy`),
writes one log file per service, and answers through the broker: ``processes``
(the status table: ``status`` is the built-in session command of every
service), and at operator level ``start``, ``stop``, ``restart``, ``reload``
(read the configuration again and apply the difference) and ``shutdown`` (stop
every service, then exit).

With a K/V collector it publishes each child's status row under
``/service/supervisor/<host>/<child>`` (see :mod:`pyros.supervision.kv_states`),
and ``supervisor.<host>`` has its registry entry like every served service.
``pyros start`` runs it (in the foreground, or detached); ``pyros status`` asks it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection, Mapping, Sequence

from pyros.config import Config, load_config
from pyros.errors import ConfigError
from pyros.kv.publisher import KVPublisher
from pyros.serve import ServiceHost
from pyros.service import AccessPolicy, Refusal, Service, command
from pyros.supervision.kv_states import ChildStatePublisher
from pyros.supervision.process_group import ChildSpec, ProcessGroup
from pyros.supervision.restart_policy import RestartPolicy
from pyros.supervision.spec_diff import diff_specs

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.1
"""Seconds between two looks at the children (exit detection latency)."""


@dataclass(frozen=True)
class ConfigSource:
    """The configuration a supervisor was started with, read again by ``reload``.

    Attributes:
        path: Configuration file (None: ``$PYROS_CONFIG``, else ``etc/pyros.toml``).
        overrides: The ``--set`` overrides, dotted path → value.
        anchor: Wall time used as ``clock.anchor`` when the configuration asks for a simulated clock
            without one, so that every child, at every reload, computes the same observatory time.
    """

    path: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    anchor: float = field(default_factory=time.time)

    def load(self) -> tuple[Config, list[str]]:
        """Read the configuration (file < environment < overrides).

        Returns:
            The configuration and the ``--set`` options that give the children the same overrides
            (the pinned clock anchor included).

        Raises:
            ConfigError: naming what is wrong.
        """
        overrides = dict(self.overrides)
        config = load_config(self.path, overrides=overrides)
        if config.clock.mode == "simulated" and config.clock.anchor is None:
            overrides["clock.anchor"] = self.anchor
            config = load_config(self.path, overrides=overrides)
        return config, [arg for key, value in overrides.items() for arg in ("--set", f"{key}={json.dumps(value)}")]


def child_specs(config: Config, host: str, *, only: Sequence[str] = (), config_path: str | None = None,
                settings: Sequence[str] = (), python: str = sys.executable) -> list[ChildSpec]:
    """The processes to run for ``host``, from its services in the configuration.

    Args:
        config: The merged configuration.
        host: Host section to read.
        only: Restrict to these service names (default: all).
        config_path: Configuration file the children should read.
        settings: Extra ``pyros`` options for the children (e.g. ``--set k=v`` pairs).
        python: Interpreter of the children.

    Raises:
        KeyError: naming the host or a service that the configuration does not have.
    """
    section = config.hosts.get(host)
    if section is None:
        raise KeyError(f"no [hosts.{host}] in the configuration; hosts: {', '.join(config.hosts) or 'none'}")
    unknown = sorted(set(only) - set(section.services))
    if unknown:
        raise KeyError(f"no service {', '.join(unknown)} on host {host!r}; known: {', '.join(section.services)}")
    base = [python, "-m", "pyros", *(["--config", config_path] if config_path else []), *settings]
    specs = []
    for name, svc in section.services.items():
        if only and name not in only:
            continue
        if svc.command is not None:
            specs.append(ChildSpec(name, [*base, *svc.command]))
            continue
        argv = [*base, "serve", str(svc.class_), "--name", name]
        if svc.instance:
            argv += ["--instance", svc.instance]
        for key, value in svc.args.items():
            argv += ["--arg", f"{key}={json.dumps(value)}"]
        specs.append(ChildSpec(name, argv))
    return specs


def read_child_specs(source: ConfigSource, host: str, only: Collection[str] = ()) -> list[ChildSpec]:
    """The host's processes from a fresh read of the configuration (what a reload wants running).

    Args:
        source: Where the configuration comes from.
        host: Host section to read.
        only: Keep only these service names; names no longer configured are left out, not refused.

    Raises:
        ConfigError: if the configuration cannot be loaded.
        KeyError: if it has no section for ``host``.
    """
    config, settings = source.load()
    specs = child_specs(config, host, config_path=source.path, settings=settings)
    return [spec for spec in specs if not only or spec.name in only]


class SupervisorService(Service):
    """Supervisor of one host's service processes."""

    version = "0.2.0"

    def __init__(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor

    def _steer(self, action: Callable[[str], None], service: str) -> list[dict[str, Any]]:
        with self._supervisor.lock:
            action(service)
            return self._supervisor.group.status()

    @command()
    def processes(self) -> list[dict[str, Any]]:
        """Each service: state, target, pid, uptime (s), restarts, last exit code, reason.

        (Named ``processes`` because ``status`` is every service's built-in session command.)
        """
        with self._supervisor.lock:
            return self._supervisor.group.status()

    @command(level="operator")
    def start(self, service: str) -> list[dict[str, Any]]:
        """Set a service's target state to up and start it (clears FATAL).

        Args:
            service: Service name on this host.
        """
        return self._steer(self._supervisor.group.start, service)

    @command(level="operator")
    def stop(self, service: str) -> list[dict[str, Any]]:
        """Set a service's target state to down: SIGTERM, then SIGKILL after the grace time.

        Args:
            service: Service name on this host.
        """
        return self._steer(self._supervisor.group.stop, service)

    @command(level="operator")
    def restart(self, service: str) -> list[dict[str, Any]]:
        """Stop a service and start it again as soon as it has exited.

        Args:
            service: Service name on this host.
        """
        return self._steer(self._supervisor.group.restart, service)

    @command(level="operator")
    def reload(self) -> dict[str, list[str]]:
        """Read the configuration again; start added services, stop removed ones, restart changed ones.

        A configuration that cannot be read changes nothing and is answered with a ``ConfigError``.
        """
        return self._supervisor.reload()

    @command(level="operator")
    def shutdown(self) -> dict[str, Any]:
        """Stop every service gracefully, then the supervisor exits (answered before it starts stopping)."""
        return self._supervisor.shutdown()


class Supervisor:
    """Run a host's services and serve ``supervisor.<host>``.

    Args:
        host: Host name (a ``[hosts.<host>]`` section).
        specs: Processes to supervise.
        endpoint: Broker endpoint.
        log_dir: Directory of the per-service log files.
        policy: Restart policy.
        grace: Seconds between SIGTERM and SIGKILL.
        access: Access policy of the MDP service.
        heartbeat_interval: The site's heartbeat interval (also the refresh interval of the K/V keys).
        heartbeat_liveness: The site's liveness (K/V keys live ``interval × liveness`` seconds unrefreshed).
        kv_collector: Collector endpoint of the K/V server: publish the children's states there and the
            registry entry of ``supervisor.<host>``; None publishes nothing.
        load_specs: Reads the wanted processes again, for :meth:`reload` (e.g. :func:`read_child_specs`);
            it raises ``ConfigError`` or ``KeyError`` when the configuration cannot be used.
    """

    def __init__(self, host: str, specs: Sequence[ChildSpec], endpoint: str, log_dir: str | Path, *,
                 policy: RestartPolicy | None = None, grace: float = 5.0, access: AccessPolicy | None = None,
                 heartbeat_interval: float = 2.5, heartbeat_liveness: int = 3, kv_collector: str | None = None,
                 load_specs: Callable[[], Sequence[ChildSpec]] | None = None) -> None:
        self.host = host
        self.lock = threading.Lock()
        self.group = ProcessGroup(specs, log_dir, policy=policy, grace=grace)
        self.service = SupervisorService(self)
        self.host_service = ServiceHost(self.service, endpoint, service_name=f"supervisor.{host}", instance=host,
                                        access=access, slots=2, heartbeat_interval=heartbeat_interval,
                                        heartbeat_liveness=heartbeat_liveness, kv_collector=kv_collector)
        self._kv_publisher = KVPublisher(kv_collector) if kv_collector else None
        self.states = None if self._kv_publisher is None else ChildStatePublisher(
            self._kv_publisher, host, refresh_interval=heartbeat_interval,
            ttl=heartbeat_interval * heartbeat_liveness, now=self.host_service.runtime.now)
        self._load_specs = load_specs
        self._stopping = threading.Event()
        self._shutdown_after: float | None = None
        self._reload_requested = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Supervisor:
        """Start every service and the supervision loop in a thread."""
        self._thread = threading.Thread(target=self.run, name=f"supervisor-{self.host}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every service (gracefully) and the loop; safe in a signal handler with ``timeout=0``."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def request_reload(self) -> None:
        """Have the loop :meth:`reload` at its next tick (safe in a signal handler: SIGHUP)."""
        self._reload_requested.set()

    def shutdown(self) -> dict[str, Any]:
        """Leave :meth:`run` at the loop's next tick, stopping every service; return what will stop.

        Returns:
            ``host``, ``hostname`` (of the machine), ``pid`` (of the supervisor), ``stopping``
            (service names) and ``grace`` (seconds before a stubborn service is killed).
        """
        with self.lock:
            names = self.group.names
            # One full tick later, so that the answer has left the worker before the worker is stopped.
            self._shutdown_after = time.monotonic() + POLL_INTERVAL
        return {"host": self.host, "hostname": socket.gethostname(), "pid": os.getpid(), "stopping": names,
                "grace": self.group.grace}

    def reload(self) -> dict[str, list[str]]:
        """Read the configuration again and apply the difference to the children.

        Added services are started, removed ones stopped (and dropped once they have exited), changed
        ones (another command line) restarted if their target state is up; the others are left alone.

        Returns:
            Service names by what happened: ``added``, ``removed``, ``restarted``, ``unchanged``.

        Raises:
            Refusal: ``ReloadUnavailable`` without ``load_specs``; ``ConfigError`` naming the problem when
                the configuration cannot be used, in which case nothing was changed.
        """
        if self._load_specs is None:
            raise Refusal("ReloadUnavailable", f"supervisor.{self.host} has no configuration to read again")
        try:
            wanted = list(self._load_specs())
        except (ConfigError, KeyError) as exc:
            problem = exc.args[0] if isinstance(exc, KeyError) else str(exc)
            log.warning("supervisor.%s: configuration not reloaded, nothing changed: %s", self.host, problem)
            raise Refusal("ConfigError", f"configuration not reloaded, nothing changed: {problem}") from None
        with self.lock:
            diff = diff_specs(self.group.specs(), wanted)
            for spec in diff.removed:
                self.group.remove(spec.name)
            for spec in diff.changed:
                self.group.replace(spec)
            for spec in diff.added:
                self.group.add(spec)
                self.group.start(spec.name)
            self._publish_states()
        touched = {spec.name for spec in (*diff.added, *diff.changed)}
        summary = {"added": [s.name for s in diff.added], "removed": [s.name for s in diff.removed],
                   "restarted": [s.name for s in diff.changed],
                   "unchanged": [s.name for s in wanted if s.name not in touched]}
        log.info("supervisor.%s reloaded its configuration: %s", self.host, summary)
        return summary

    def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Supervise until :meth:`stop` or :meth:`shutdown` (blocking).

        Args:
            on_ready: Called once every service has been started.
        """
        self.host_service.start()
        try:
            with self.lock:
                self.group.start_all()
                self._publish_states()
            if on_ready is not None:
                on_ready()
            while not self._stopping.wait(POLL_INTERVAL) and not self._shutdown_due():
                if self._reload_requested.is_set():
                    self._reload_requested.clear()
                    self._reload_on_signal()
                with self.lock:
                    self.group.poll()
                    self._publish_states()
        finally:
            with self.lock:
                self.group.stop_all()
            self._withdraw_states()
            self.host_service.stop()

    def _shutdown_due(self) -> bool:
        with self.lock:
            return self._shutdown_after is not None and time.monotonic() >= self._shutdown_after

    def _reload_on_signal(self) -> None:
        try:
            self.reload()
        except Refusal:  # logged by reload(): a signal has nobody to answer
            pass

    def _publish_states(self) -> None:
        if self.states is not None:
            self.states.update(self.group.status())

    def _withdraw_states(self) -> None:
        if self.states is not None and self._kv_publisher is not None:
            self.states.clear()
            self._kv_publisher.close()
