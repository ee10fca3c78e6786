"""The supervisor of one host: runs its configured services and is the MDP service ``supervisor.<host>``.

It starts every service listed under ``[hosts.<host>.services]`` as its own
process (``python -m pyros serve <class> --name <name> ...``), keeps each in its
target state with the restart policy (:mod:`pyros.supervision.restart_policy`),
writes one log file per service, and answers ``start``, ``stop`` and
``restart`` through the broker, plus ``processes`` (the status table: ``status``
is the built-in session command of every service). ``pyros start`` runs it in the foreground;
``pyros status`` asks it.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any, Sequence

from pyros.config import Config
from pyros.serve import ServiceHost
from pyros.service import AccessPolicy, Service, command
from pyros.supervision.process_group import ChildSpec, ProcessGroup
from pyros.supervision.restart_policy import RestartPolicy

POLL_INTERVAL = 0.1
"""Seconds between two looks at the children (exit detection latency)."""


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


class SupervisorService(Service):
    """Supervisor of one host's service processes."""

    version = "0.1.0"

    def __init__(self, group: ProcessGroup, lock: threading.Lock) -> None:
        self._group = group
        self._lock = lock

    @command()
    def processes(self) -> list[dict[str, Any]]:
        """Each service: state, target, pid, uptime (s), restarts, last exit code, reason.

        (Named ``processes`` because ``status`` is every service's built-in session command.)
        """
        with self._lock:
            return self._group.status()

    @command(level="operator")
    def start(self, service: str) -> list[dict[str, Any]]:
        """Set a service's target state to up and start it (clears FATAL).

        Args:
            service: Service name on this host.
        """
        with self._lock:
            self._group.start(service)
            return self._group.status()

    @command(level="operator")
    def stop(self, service: str) -> list[dict[str, Any]]:
        """Set a service's target state to down: SIGTERM, then SIGKILL after the grace time.

        Args:
            service: Service name on this host.
        """
        with self._lock:
            self._group.stop(service)
            return self._group.status()

    @command(level="operator")
    def restart(self, service: str) -> list[dict[str, Any]]:
        """Stop a service and start it again as soon as it has exited.

        Args:
            service: Service name on this host.
        """
        with self._lock:
            self._group.restart(service)
            return self._group.status()


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
        heartbeat_interval: The site's heartbeat interval.
        heartbeat_liveness: The site's liveness.
    """

    def __init__(self, host: str, specs: Sequence[ChildSpec], endpoint: str, log_dir: str | Path, *,
                 policy: RestartPolicy | None = None, grace: float = 5.0, access: AccessPolicy | None = None,
                 heartbeat_interval: float = 2.5, heartbeat_liveness: int = 3) -> None:
        self.host = host
        self.lock = threading.Lock()
        self.group = ProcessGroup(specs, log_dir, policy=policy, grace=grace)
        self.service = SupervisorService(self.group, self.lock)
        self.host_service = ServiceHost(self.service, endpoint, service_name=f"supervisor.{host}", instance=host,
                                        access=access, slots=2, heartbeat_interval=heartbeat_interval,
                                        heartbeat_liveness=heartbeat_liveness)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Supervisor:
        """Start every service and the supervision loop in a thread."""
        self._thread = threading.Thread(target=self.run, name=f"supervisor-{self.host}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every service (gracefully) and the loop."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def run(self) -> None:
        """Supervise until :meth:`stop` (blocking)."""
        self.host_service.start()
        try:
            with self.lock:
                self.group.start_all()
            while not self._stopping.wait(POLL_INTERVAL):
                with self.lock:
                    self.group.poll()
        finally:
            with self.lock:
                self.group.stop_all()
            self.host_service.stop()
