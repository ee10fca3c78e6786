"""The ``pyros`` command line (also ``python -m pyros``).

Exit status: 0 success; 1 the command ran and failed (``CommandError``, or a
long operation that ended without success); 2 usage error; 3 transport failure
(timeout, service unavailable, retries exhausted); 4 configuration error.
With ``--json`` every client command prints one JSON document:
``{"ok": true, "data": ...}`` or ``{"ok": false, "error": {"type", "message"}}``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn, TypeVar

import click

from pyros.clock import Clock
from pyros.config import Config, config_to_toml, load_config, use_config
from pyros.errors import CommandError, ConfigError, TransportError

if TYPE_CHECKING:
    from pyros.supervision.daemon import PidFile
    from pyros.supervision.kv_states import ServiceTree
    from pyros.supervision.process_group import ChildSpec
    from servers.supervisor import ConfigSource

EXIT_COMMAND_FAILED = 1
EXIT_TRANSPORT = 3
EXIT_CONFIG = 4


class _State:
    """Options shared by every subcommand."""

    def __init__(self, config_path: str | None, overrides: dict[str, Any]) -> None:
        self.config_path = config_path
        self.overrides = overrides
        self._config: Config | None = None

    def config(self, more: dict[str, Any] | None = None) -> Config:
        """Load the configuration once (file < env < flags); exit 4 on error."""
        if self._config is None or more:
            overrides = {**self.overrides, **(more or {})}
            self._config = _load_or_exit(lambda: load_config(self.config_path, overrides=overrides))
        return self._config


Loaded = TypeVar("Loaded")


def _load_or_exit(load: Callable[[], Loaded]) -> Loaded:
    """Run a configuration loader; on a ``ConfigError`` print it and exit 4."""
    try:
        return load()
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)


def _fail(as_json: bool, status: int, error_type: str, message: str) -> NoReturn:
    if as_json:
        click.echo(json.dumps({"ok": False, "error": {"type": error_type, "message": message}}))
    else:
        click.echo(f"error: {error_type}: {message}", err=True)
    sys.exit(status)


def _print(data: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"ok": True, "data": data}, default=str))
    elif isinstance(data, str):
        click.echo(data)
    else:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse ``name=value``; the value is read as JSON when it parses, else kept as text.

    ``times=2`` gives an int, ``on=true`` a bool, ``ids=[1,2]`` a list, ``text=hello``
    a string; quote to force a string: ``code='"007"'``.

    Raises:
        click.BadParameter: when there is no ``=`` or the name is empty.
    """
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{text!r} is not of the form name=value")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return name, value


def _client_options(func: Any) -> Any:
    for option in reversed([
        click.option("--broker", "endpoint", help="Broker endpoint (default: broker.endpoint of the config)."),
        click.option("--token", help="Access token sent with the request."),
        click.option("--timeout", type=float, help="Seconds per attempt (default: client.timeout)."),
        click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON."),
    ]):
        func = option(func)
    return func


def _client(state: _State, endpoint: str | None, token: str | None, timeout: float | None) -> Any:
    from pyros.client import Client

    config = state.config()
    return Client(endpoint or config.broker.endpoint, timeout=timeout or config.client.timeout,
                  retries=config.client.retries, token=token)


def name_process(*words: str) -> None:
    """Name this process ``pyros <words>`` in ps/top (the supervisor's children are told apart so)."""
    import setproctitle

    setproctitle.setproctitle(" ".join(["pyros", *words]))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="PYROS_CONFIG", type=click.Path(dir_okay=False),
              help="Configuration file (default: $PYROS_CONFIG, else etc/pyros.toml).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override a configuration value, e.g. --set broker.heartbeat_interval=1.0 (repeatable).")
@click.version_option(package_name="pyros")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, settings: tuple[str, ...]) -> None:
    """PyROS: robotic observatory control."""
    overrides: dict[str, Any] = {}
    for item in settings:
        key, value = parse_assignment(item)
        overrides[key] = value
    ctx.obj = _State(config_path, overrides)


# ---------------------------------------------------------------- broker


@main.command("broker")
@click.option("--bind", "binds", multiple=True, help="Endpoint to bind (repeatable; default: broker.bind).")
@click.option("--heartbeat-interval", type=float, help="Seconds between heartbeats.")
@click.option("--heartbeat-liveness", type=int, help="Silent intervals before a worker is dead.")
@click.option("--service-timeout", type=float, help="Seconds a request waits for a service with no worker.")
@click.option("--retry-cap", type=int, help="Requeues of a request whose worker died before RetryExhausted.")
@click.option("--max-queue", type=int, help="Most requests queued per service.")
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
@click.pass_obj
def broker_command(state: _State, binds: tuple[str, ...], heartbeat_interval: float | None,
                   heartbeat_liveness: int | None, service_timeout: float | None, retry_cap: int | None,
                   max_queue: int | None, verbose: bool) -> None:
    """Run the Majordomo broker in the foreground (SIGINT/SIGTERM stop it)."""
    import zmq

    from pyros.mdp.broker_core import BrokerSettings
    from servers.broker import BrokerServer

    flags = {"heartbeat_interval": heartbeat_interval, "heartbeat_liveness": heartbeat_liveness,
             "service_timeout": service_timeout, "retry_cap": retry_cap, "max_queue": max_queue}
    config = state.config({f"broker.{k}": v for k, v in flags.items() if v is not None})
    b = config.broker
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = BrokerSettings(heartbeat_interval=b.heartbeat_interval, heartbeat_liveness=b.heartbeat_liveness,
                              service_timeout=b.service_timeout, retry_cap=b.retry_cap, max_queue=b.max_queue)
    endpoints = list(binds) or [b.bind]
    try:
        server = BrokerServer(endpoints, settings)
    except zmq.ZMQError as exc:
        click.echo(f"error: cannot bind {', '.join(endpoints)}: {exc}", err=True)
        sys.exit(EXIT_COMMAND_FAILED)
    server.install_signal_handlers()
    name_process("broker", *server.bound)
    click.echo(f"broker bound to {', '.join(server.bound)}", err=True)
    server.run()


# ---------------------------------------------------------------- clients


@main.command("call")
@click.argument("service")
@click.argument("cmd")
@click.argument("assignments", nargs=-1)
@click.option("--wait", is_flag=True, help="For a long command: start it, stream progress, print the outcome.")
@_client_options
@click.pass_obj
def call_command(state: _State, service: str, cmd: str, assignments: tuple[str, ...], wait: bool,
                 endpoint: str | None, token: str | None, timeout: float | None, as_json: bool) -> None:
    """Run CMD of SERVICE with arguments name=value (values read as JSON when they parse)."""
    args = dict(parse_assignment(a) for a in assignments)
    with _client(state, endpoint, token, timeout) as client:
        try:
            data = client.call(service, cmd, args)
            if wait:
                data = _wait(client, service, data, as_json)
        except CommandError as exc:
            _fail(as_json, EXIT_COMMAND_FAILED, exc.type, exc.message)
        except TransportError as exc:
            _fail(as_json, EXIT_TRANSPORT, type(exc).__name__, str(exc))
    _print(data, as_json)
    if wait and isinstance(data, dict) and data.get("success") is False:
        sys.exit(EXIT_COMMAND_FAILED)


def _wait(client: Any, service: str, started: Any, as_json: bool) -> Any:
    """Follow a started operation on its instance until it is done; return its final session."""
    if not (isinstance(started, dict) and isinstance(started.get("session"), str)
            and isinstance(started.get("instance"), str)):
        raise CommandError("NotAnOperation", f"the reply is not a session to wait for: {started!r}")
    suffix = "." + started["instance"]
    address = service if service.endswith(suffix) else service + suffix

    def show(progress: dict[str, Any]) -> None:
        if not as_json:
            click.echo(f"[{progress.get('status', '?')}] {json.dumps(progress.get('data', {}), default=str)}",
                       err=True)

    while True:  # each wait is shorter than the client's timeout, so a quiet operation is no timeout
        outcome = client.call(address, "wait", {"session": started["session"], "timeout": client.timeout / 2},
                              progress=show)
        if outcome.get("status") == "done":
            return outcome


@main.command("services")
@_client_options
@click.pass_obj
def services_command(state: _State, endpoint: str | None, token: str | None, timeout: float | None,
                     as_json: bool) -> None:
    """List the services that have live workers, with their load."""
    with _client(state, endpoint, token, timeout) as client:
        try:
            table = client.workers()
        except TransportError as exc:
            _fail(as_json, EXIT_TRANSPORT, type(exc).__name__, str(exc))
    if as_json:
        _print(table, True)
        return
    if not table:
        click.echo("no services")
        return
    click.echo(f"{'service':<40} {'workers':>7} {'busy':>5} {'queued':>6}")
    for name in sorted(table):
        row = table[name]
        click.echo(f"{name:<40} {row['workers']:>7} {row['busy']:>5} {row['queued']:>6}")


def _quantity_text(param: dict[str, Any]) -> str:
    """`` [deg, 0..360]`` for a parameter with a unit or limits, else nothing."""
    unit, low, high = param.get("unit"), param.get("minimum"), param.get("maximum")
    if not unit and low is None and high is None:
        return ""
    bounds = "" if low is None and high is None else \
        f"{'' if low is None else f'{low:g}'}..{'' if high is None else f'{high:g}'}"
    return f" [{', '.join(part for part in (unit, bounds) if part)}]"


@main.command("describe")
@click.argument("service")
@_client_options
@click.pass_obj
def describe_command(state: _State, service: str, endpoint: str | None, token: str | None, timeout: float | None,
                     as_json: bool) -> None:
    """Show the commands of SERVICE with their parameters and access levels."""
    with _client(state, endpoint, token, timeout) as client:
        try:
            info = client.call(service, "describe")
        except CommandError as exc:
            _fail(as_json, EXIT_COMMAND_FAILED, exc.type, exc.message)
        except TransportError as exc:
            _fail(as_json, EXIT_TRANSPORT, type(exc).__name__, str(exc))
    if as_json:
        _print(info, True)
        return
    click.echo(f"{info['service']} {info.get('version', '')} (instance {info.get('instance', '?')})")
    if info.get("doc"):
        click.echo(f"  {info['doc'].splitlines()[0]}")
    for name, spec in sorted(info.get("commands", {}).items()):
        params = ", ".join(
            f"{p['name']}: {p['type']}" + _quantity_text(p) + ("" if p.get("required") else f" = {p.get('default')!r}")
            for p in spec.get("params", []))
        kind = "operation" if spec.get("long") else "command"
        click.echo(f"  {name}({params}) [{kind}, {spec.get('level')}]")
        if spec.get("doc"):
            click.echo(f"      {spec['doc'].splitlines()[0]}")


# ---------------------------------------------------------------- config and clock


@main.group("config")
def config_group() -> None:
    """Inspect the configuration."""


def redact_tokens(config: Config) -> Config:
    """Return ``config`` with each access token replaced by ``<redacted:N>`` (its level kept)."""
    tokens = {f"<redacted:{i}>": level for i, level in enumerate(config.access.tokens.values(), 1)}
    return dataclasses.replace(config, access=dataclasses.replace(config.access, tokens=tokens))


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of TOML.")
@click.option("--show-secrets", is_flag=True, help="Print access tokens instead of redacting them.")
@click.pass_obj
def config_show(state: _State, as_json: bool, show_secrets: bool) -> None:
    """Print the merged configuration (file < PYROS_* environment < --set); tokens are redacted."""
    config = state.config()
    if not show_secrets:
        config = redact_tokens(config)
    if as_json:
        click.echo(json.dumps(config.to_dict(), indent=2, sort_keys=True))
    else:
        click.echo(config_to_toml(config), nl=False)


@main.command("clock")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def clock_command(state: _State, as_json: bool) -> None:
    """Print the observatory time as every process computes it from the configuration."""
    clock = Clock.from_config(state.config().clock)
    info = {"time": clock.now(), "iso": clock.isoformat(), "simulated": clock.is_simulated, "speed": clock.speed}
    if as_json:
        click.echo(json.dumps(info))
    else:
        click.echo(f"{info['iso']}  ({'simulated x%g' % clock.speed if clock.is_simulated else 'real UTC'})")


# ---------------------------------------------------------------- serving


@main.command("serve")
@click.argument("class_path")
@click.option("--name", help="Service name (default: the class's service_name).")
@click.option("--instance", help="Instance name (default: <host>-<pid>).")
@click.option("--slots", type=int, default=4, show_default=True, help="Concurrent requests per name.")
@click.option("--arg", "arguments", multiple=True, metavar="NAME=VALUE", help="Keyword argument of the class.")
@click.option("--broker", "endpoint", help="Broker endpoint (default: broker.endpoint).")
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
@click.pass_obj
def serve_command(state: _State, class_path: str, name: str | None, instance: str | None, slots: int,
                  arguments: tuple[str, ...], endpoint: str | None, verbose: bool) -> None:
    """Serve CLASS_PATH ("module:Class", a pyros.service.Service) in the foreground."""
    from pyros.clock import set_clock
    from pyros.serve import ServiceHost, load_class

    config = use_config(state.config())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    set_clock(Clock.from_config(config.clock))
    try:
        cls = load_class(class_path)
        service = cls(**dict(parse_assignment(a) for a in arguments))
    except (ValueError, TypeError) as exc:
        raise click.BadParameter(str(exc), param_hint="CLASS_PATH") from None
    host = ServiceHost(service, endpoint or config.broker.endpoint, instance=instance, service_name=name,
                       access=config.access.policy(), slots=slots,
                       heartbeat_interval=config.broker.heartbeat_interval,
                       heartbeat_liveness=config.broker.heartbeat_liveness, kv_collector=config.kv.collector,
                       kv_watch=(config.kv.snapshot, config.kv.publisher))
    name_process("serve", host.names[0], host.runtime.instance)
    click.echo(f"serving {', '.join(host.names)} via {endpoint or config.broker.endpoint}", err=True)
    host.run()


# ---------------------------------------------------------------- supervision


DEFAULT_HOST = "control"
"""The host whose supervisor is asked when ``--host`` is not given."""

DETACH_READY_TIMEOUT = 60.0
"""Seconds ``pyros start --detach`` waits for the supervisor to have started its services."""

LOG_TAIL_LINES = 20
"""Lines of the supervisor's log shown when a detached start fails."""

SHUTDOWN_MARGIN = 15.0
"""Seconds ``pyros stop`` waits for a local supervisor to exit, beyond its grace time."""

RELOAD_OUTCOMES = ("added", "removed", "restarted", "unchanged")
"""The lists of a ``reload`` answer, in display order."""


def _supervisor_file(log_dir: str, host_name: str, suffix: str) -> Path:
    """``<log-dir>/supervisor-<host>.<suffix>``: the supervisor's own log and pid files."""
    return Path(log_dir) / f"supervisor-{host_name}.{suffix}"


@main.command("start")
@click.argument("services", nargs=-1)
@click.option("--host", "host_name", default=DEFAULT_HOST, show_default=True, help="Host section of the config.")
@click.option("--log-dir", default="var/log", show_default=True, type=click.Path(file_okay=False),
              help="Directory of the log files and of the pid file supervisor-<host>.pid.")
@click.option("--broker", "endpoint", help="Broker endpoint (default: broker.endpoint).")
@click.option("--detach", is_flag=True, help="Run in the background, logging to <log-dir>/supervisor-<host>.log; "
                                             "print its pid once the services are started.")
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
@click.pass_obj
def start_command(state: _State, services: tuple[str, ...], host_name: str, log_dir: str, endpoint: str | None,
                  detach: bool, verbose: bool) -> None:
    """Supervise this host's services (or only SERVICES).

    Ctrl-C or SIGTERM stops them all, SIGHUP reloads the configuration. A second supervisor of the
    same host and log directory is refused while the first one holds its pid file.
    """
    from pyros.supervision.daemon import AlreadyRunning, PidFile
    from pyros.supervision.daemon import detach as detach_process
    from pyros.supervision.daemon import notify_ready
    from servers.supervisor import ConfigSource, child_specs

    source = ConfigSource(state.config_path, dict(state.overrides))
    config, settings = _load_or_exit(source.load)
    try:
        specs = child_specs(config, host_name, only=services, config_path=source.path, settings=settings)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="SERVICES/--host") from None
    pid_file = PidFile(_supervisor_file(log_dir, host_name, "pid"))
    try:
        pid_file.check()
    except AlreadyRunning as exc:
        _fail(False, EXIT_COMMAND_FAILED, "AlreadyRunning", f"the supervisor of host {host_name} is running: {exc}")
    on_ready = None
    if detach:
        log_path = _supervisor_file(log_dir, host_name, "log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        side = detach_process(log_path)
        if not side.in_daemon:
            _report_detached_start(side.ready_fd, host_name, log_path)
        on_ready = functools.partial(notify_ready, side.ready_fd)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    _supervise(config, source, specs, host_name=host_name, only=services, log_dir=log_dir, endpoint=endpoint,
               pid_file=pid_file, on_ready=on_ready)


def _report_detached_start(ready_fd: int, host_name: str, log_path: Path) -> NoReturn:
    """In the process that detached the supervisor: print its pid once it is up, else the end of its log."""
    from pyros.supervision.daemon import tail, wait_ready

    try:
        pid = wait_ready(ready_fd, DETACH_READY_TIMEOUT)
        problem = "exited while starting"
    except TimeoutError:
        pid, problem = None, f"did not start its services within {DETACH_READY_TIMEOUT:g} s"
    if pid is not None:
        click.echo(f"supervisor of host {host_name} running in the background; log: {log_path}", err=True)
        click.echo(pid)
        sys.exit(0)
    click.echo(f"error: the supervisor of host {host_name} {problem}; the end of {log_path}:", err=True)
    for line in tail(log_path, LOG_TAIL_LINES):
        click.echo(f"  {line.rstrip()}", err=True)
    sys.exit(EXIT_COMMAND_FAILED)


def _supervise(config: Config, source: ConfigSource, specs: list[ChildSpec], *, host_name: str,
               only: tuple[str, ...], log_dir: str, endpoint: str | None, pid_file: PidFile,
               on_ready: Callable[[], None] | None) -> None:
    """Run the supervisor in this process until it is stopped, holding its pid file meanwhile."""
    import zmq

    from pyros.clock import set_clock
    from pyros.supervision.daemon import AlreadyRunning
    from servers.supervisor import Supervisor, read_child_specs

    try:
        pid_file.acquire()
    except AlreadyRunning as exc:
        _fail(False, EXIT_COMMAND_FAILED, "AlreadyRunning", f"the supervisor of host {host_name} is running: {exc}")
    try:
        set_clock(Clock.from_config(config.clock))
        try:
            supervisor = Supervisor(host_name, specs, endpoint or config.broker.endpoint, log_dir,
                                    access=config.access.policy(),
                                    heartbeat_interval=config.broker.heartbeat_interval,
                                    heartbeat_liveness=config.broker.heartbeat_liveness,
                                    kv_collector=config.kv.collector,
                                    load_specs=lambda: read_child_specs(source, host_name, only))
        except zmq.ZMQError as exc:
            _fail(False, EXIT_COMMAND_FAILED, "ZMQError", f"cannot open the supervisor's sockets: {exc}")
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: supervisor.stop(timeout=0))
        signal.signal(signal.SIGHUP, lambda *_: supervisor.request_reload())
        name_process("supervisor", host_name)
        click.echo(f"supervising {', '.join(s.name for s in specs) or 'nothing'} on host {host_name} "
                   f"(pid {os.getpid()})", err=True)
        supervisor.run(on_ready=on_ready)
    finally:
        pid_file.release()


@main.command("status")
@click.option("--host", "host_name", help="Ask only this host's supervisor, over MDP (default: every host, from "
                                          "the K/V store).")
@_client_options
@click.pass_obj
def status_command(state: _State, host_name: str | None, endpoint: str | None, token: str | None,
                   timeout: float | None, as_json: bool) -> None:
    """Show the supervised processes of every host and the registered service instances.

    They are read from the K/V store (/service/). With --host, that host's supervisor is asked
    instead. If the K/V server does not answer within the timeout, the supervisor of the default
    host is asked (and stderr says so).
    """
    from pyros.supervision.kv_states import ServiceTree

    if host_name is not None:
        with _client(state, endpoint, token, timeout) as client:
            rows = _ask_supervisor(client, host_name, "processes", {}, as_json)
        if as_json:
            _print(rows, True)
        else:
            _echo_processes(rows, with_host=False)
        return
    config = state.config()
    wait = timeout or config.client.timeout
    tree, source = _service_tree_from_kv(config, wait), "kv"
    if tree is None:
        click.echo(f"warning: no snapshot from the K/V server {config.kv.snapshot} within {wait:g} s; "
                   f"asking supervisor.{DEFAULT_HOST} instead", err=True)
        with _client(state, endpoint, token, timeout) as client:
            rows = _ask_supervisor(client, DEFAULT_HOST, "processes", {}, as_json)
        tree = ServiceTree([{**row, "host": DEFAULT_HOST} for row in rows if isinstance(row, dict)], [])
        source = f"supervisor.{DEFAULT_HOST}"
    if as_json:
        _print({"source": source, **tree.to_dict()}, True)
        return
    _echo_processes(tree.processes, with_host=True)
    if tree.services:
        click.echo()
        _echo_services(tree.services)


def _service_tree_from_kv(config: Config, timeout: float) -> ServiceTree | None:
    """The processes and services of the K/V snapshot of /service/, or None if none came within ``timeout``."""
    from pyros.kv.subscriber import KVSubscriber
    from pyros.supervision.kv_states import SERVICE_SUBTREE, read_service_tree

    subscriber = KVSubscriber(config.kv.snapshot, config.kv.publisher, SERVICE_SUBTREE)
    try:
        if not subscriber.wait_synced(timeout):
            return None
        contents = subscriber.contents()
    finally:
        subscriber.stop()
    unanchored = config.clock.mode == "simulated" and config.clock.anchor is None  # the supervisor's is unknown
    return read_service_tree(contents, None if unanchored else Clock.from_config(config.clock).now())


def _shown(value: Any, spec: str, suffix: str = "") -> str:
    """A table cell: a number formatted with ``spec`` (and ``suffix``), text as it is, ``-`` when absent."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-" if value in (None, "") else str(value)
    return f"{value:{spec}}{suffix}"


def _echo_processes(rows: Any, *, with_host: bool) -> None:
    """Print supervised processes as a table (a ``host`` column first when ``with_host``)."""
    rows = [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []
    if not rows:
        click.echo("no supervised processes")
        return
    host_header = f"{'host':<12} " if with_host else ""
    click.echo(f"{host_header}{'service':<24} {'state':<9} {'target':<6} {'pid':>7} {'uptime':>9} {'restarts':>8} "
               f"{'cpu s':>7} {'rss MiB':>8}  reason")
    for r in rows:
        host = f"{_shown(r.get('host'), ''):<12} " if with_host else ""
        click.echo(f"{host}{_shown(r.get('name'), ''):<24} {_shown(r.get('state'), ''):<9} "
                   f"{_shown(r.get('target'), ''):<6} {_shown(r.get('pid'), ''):>7} "
                   f"{_shown(r.get('uptime'), '.0f', 's'):>9} {_shown(r.get('restarts'), ''):>8} "
                   f"{_shown(r.get('cpu_s'), '.1f'):>7} {_shown(r.get('rss_mib'), '.1f'):>8}  {r.get('reason') or ''}")


def _echo_services(services: list[dict[str, Any]]) -> None:
    """Print registered service instances as a table."""
    click.echo(f"{'service':<28} {'instance':<20} {'host':<16} {'pid':>7} {'version':<10} {'age':>6}")
    for e in services:
        click.echo(f"{_shown(e.get('name'), ''):<28} {_shown(e.get('instance'), ''):<20} "
                   f"{_shown(e.get('host'), ''):<16} {_shown(e.get('pid'), ''):>7} "
                   f"{_shown(e.get('version'), ''):<10} {_shown(e.get('age'), '.1f', 's'):>6}")


@main.command("titanic")
@click.option("--database", default="var/titanic.db", show_default=True, type=click.Path(dir_okay=False),
              help="SQLite file of the stored requests.")
@click.option("--broker", "endpoint", help="Broker endpoint (default: broker.endpoint).")
@click.option("--concurrency", type=int, default=32, show_default=True, help="Requests dispatched at once.")
@click.option("--redispatch", type=float, default=5.0, show_default=True,
              help="Seconds before an unanswered request is sent again (doubling).")
@click.option("--purge-after", type=float, default=3600.0, show_default=True,
              help="Seconds closed requests are kept.")
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
@click.pass_obj
def titanic_command(state: _State, database: str, endpoint: str | None, concurrency: int, redispatch: float,
                    purge_after: float, verbose: bool) -> None:
    """Run Titanic (9/TSP: titanic.request, titanic.reply, titanic.close) in the foreground."""
    from pathlib import Path

    from servers.titanic import TitanicServer

    config = state.config()
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    server = TitanicServer(endpoint or config.broker.endpoint, database, concurrency=concurrency,
                           heartbeat_interval=config.broker.heartbeat_interval,
                           heartbeat_liveness=config.broker.heartbeat_liveness, redispatch_initial=redispatch,
                           purge_after=purge_after)
    name_process("titanic", database)
    click.echo(f"titanic serving from {database}", err=True)
    server.run()


# ---------------------------------------------------------------- key/value store


@main.command("kv")
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
@click.pass_obj
def kv_command(state: _State, verbose: bool) -> None:
    """Run the Clone key/value server (12/CHP) on the [kv] endpoints, in the foreground."""
    from pyros.kv.server import CloneServer

    kv = state.config().kv
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = CloneServer(kv.snapshot, kv.publisher, kv.collector, hugz_interval=kv.hugz_interval)
    server.install_signal_handlers()
    name_process("kv", server.snapshot_endpoint)
    click.echo(f"kv snapshot {server.snapshot_endpoint}, updates {server.publisher_endpoint}, "
               f"collector {server.collector_endpoint}", err=True)
    server.run()


@main.command("watch")
@click.argument("prefix", default="")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line: {key, value}.")
@click.option("--count", type=int, help="Exit after this many changes (the snapshot's keys included).")
@click.option("--timeout", type=float, help="Exit after this many seconds.")
@click.pass_obj
def watch_command(state: _State, prefix: str, as_json: bool, count: int | None, timeout: float | None) -> None:
    """Print the live key/value state under PREFIX, then every change (a deleted key shows null)."""
    import queue

    from pyros.kv.message import valid_subtree
    from pyros.kv.subscriber import KVSubscriber

    kv = state.config().kv
    changes: queue.Queue[tuple[str, Any]] = queue.Queue()
    subscriber = KVSubscriber(kv.snapshot, kv.publisher, prefix if prefix and valid_subtree(prefix) else "",
                              start=False)
    subscriber.add_callback(prefix, lambda key, value: changes.put((key, value)))
    subscriber.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    deadline = None if timeout is None else time.monotonic() + timeout
    shown = 0
    try:
        while not stop.is_set() and (count is None or shown < count):
            wait = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if wait <= 0:
                break
            try:
                key, value = changes.get(timeout=wait)
            except queue.Empty:
                continue
            shown += 1
            if as_json:
                click.echo(json.dumps({"key": key, "value": value}, default=str))
            else:
                click.echo(f"{key} = {json.dumps(value, default=str)}")
    finally:
        subscriber.stop()


def _supervisor_options(func: Any) -> Any:
    """``--host`` (default: the default host) and the client options of a command sent to a supervisor."""
    func = _client_options(func)
    return click.option("--host", "host_name", default=DEFAULT_HOST, show_default=True,
                        help="Host whose supervisor to ask.")(func)


def _ask_supervisor(client: Any, host_name: str, command: str, args: dict[str, Any], as_json: bool) -> Any:
    """Call ``command`` of ``supervisor.<host>``; exit 1 on a command error, 3 on a transport failure."""
    try:
        return client.call(f"supervisor.{host_name}", command, args)
    except CommandError as exc:
        _fail(as_json, EXIT_COMMAND_FAILED, exc.type, exc.message)
    except TransportError as exc:
        _fail(as_json, EXIT_TRANSPORT, type(exc).__name__, str(exc))


def _steer_services(state: _State, host_name: str, command: str, services: tuple[str, ...], endpoint: str | None,
                    token: str | None, timeout: float | None, as_json: bool) -> None:
    """Ask a host's supervisor to ``command`` (start, stop, restart) each service in turn."""
    rows: Any = None
    with _client(state, endpoint, token, timeout) as client:
        for service in services:
            rows = _ask_supervisor(client, host_name, command, {"service": service}, as_json)
    if as_json:
        _print(rows, True)
    else:
        click.echo(f"{command}: {', '.join(services)}")


@main.command("stop")
@click.argument("services", nargs=-1)
@_supervisor_options
@click.pass_obj
def stop_command(state: _State, services: tuple[str, ...], host_name: str, endpoint: str | None,
                 token: str | None, timeout: float | None, as_json: bool) -> None:
    """Stop SERVICES on a host (target state down; SIGTERM, then SIGKILL after the grace time).

    With no SERVICES, stop every service of the host gracefully, then its supervisor, which removes
    its pid file. On the supervisor's own machine, wait until it has exited.
    """
    if services:
        _steer_services(state, host_name, "stop", services, endpoint, token, timeout, as_json)
        return
    with _client(state, endpoint, token, timeout) as client:
        reply = _ask_supervisor(client, host_name, "shutdown", {}, as_json)
    if not isinstance(reply, dict):
        _fail(as_json, EXIT_COMMAND_FAILED, "BadReply", f"supervisor.{host_name} answered {reply!r} to shutdown")
    exited = _wait_for_local_exit(reply)
    what = f"supervisor.{host_name} (pid {reply.get('pid')} on {reply.get('hostname')})"
    if exited is False:
        _fail(as_json, EXIT_COMMAND_FAILED, "ShutdownTimeout", f"{what} is still running")
    if as_json:
        _print({**reply, "exited": exited}, True)
        return
    stopping = ", ".join(map(str, reply.get("stopping") or [])) or "no service"
    click.echo(f"{what} stopped {stopping} and exited" if exited else f"{what} is stopping {stopping}, then exits")


def _wait_for_local_exit(reply: dict[str, Any]) -> bool | None:
    """Wait until the supervisor that answered ``shutdown`` has exited, if it runs on this machine.

    Returns:
        True once it has exited, False if it is still running after its grace time and a margin,
        None if it runs on another machine.
    """
    import psutil

    pid, grace = reply.get("pid"), reply.get("grace")
    if reply.get("hostname") != socket.gethostname() or isinstance(pid, bool) or not isinstance(pid, int):
        return None
    patience = grace if isinstance(grace, (int, float)) and not isinstance(grace, bool) else 5.0
    deadline = time.monotonic() + patience + SHUTDOWN_MARGIN

    def gone() -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    while not gone():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)  # the exit of a process that is not our child has no readiness to await: poll it
    return True


@main.command("restart")
@click.argument("services", nargs=-1, required=True)
@_supervisor_options
@click.pass_obj
def restart_command(state: _State, services: tuple[str, ...], host_name: str, endpoint: str | None,
                    token: str | None, timeout: float | None, as_json: bool) -> None:
    """Restart SERVICES on a host (also clears FATAL)."""
    _steer_services(state, host_name, "restart", services, endpoint, token, timeout, as_json)


@main.command("reload")
@_supervisor_options
@click.pass_obj
def reload_command(state: _State, host_name: str, endpoint: str | None, token: str | None, timeout: float | None,
                   as_json: bool) -> None:
    """Make a host's supervisor read its configuration again and apply the difference.

    Services added to the host are started, removed ones stopped, those whose command line changed
    restarted; the others keep running. A configuration that cannot be read changes nothing (exit
    status 1, the error names the problem). Operator level; SIGHUP to the supervisor does the same.
    """
    with _client(state, endpoint, token, timeout) as client:
        summary = _ask_supervisor(client, host_name, "reload", {}, as_json)
    if as_json or not isinstance(summary, dict):
        _print(summary, as_json)
        return
    for outcome in RELOAD_OUTCOMES:
        names = summary.get(outcome) or []
        click.echo(f"{outcome + ':':<11}{', '.join(map(str, names)) or '-'}")


@main.command("logs")
@click.argument("service")
@click.option("--log-dir", default="var/log", show_default=True, type=click.Path(file_okay=False),
              help="Directory of the per-service log files (as given to pyros start).")
@click.option("-n", "--lines", type=int, default=50, show_default=True, help="Lines to show from the end.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until Ctrl-C.")
def logs_command(service: str, log_dir: str, lines: int, follow: bool) -> None:
    """Show the log file of SERVICE written by this host's supervisor (supervisor-<host>: its own, detached)."""
    from pyros.supervision.daemon import read_tail

    path = Path(log_dir) / f"{service}.log"
    if not path.exists():
        known = sorted(p.stem for p in Path(log_dir).glob("*.log")) if Path(log_dir).is_dir() else []
        raise click.BadParameter(f"no log {path}; services with logs: {', '.join(known) or 'none'}",
                                 param_hint="SERVICE")
    with path.open("rb") as handle:
        for line in read_tail(handle, lines):
            click.echo(line, nl=False)
        stop = threading.Event()
        if follow:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
        while follow and not stop.is_set():
            new_line = handle.readline()
            if new_line:
                click.echo(new_line.decode(errors="replace"), nl=False)
            else:
                stop.wait(0.2)  # a file has no readiness to await: poll its end


# ---------------------------------------------------------------- observation requests


@main.group("request")
def request_group() -> None:
    """Observation requests (XML, see docs/requests.md) through the ``requests`` service."""


def _ask_service(service: str, state: _State, endpoint: str | None, token: str | None, timeout: float | None,
                 as_json: bool, cmd: str, args: dict[str, Any]) -> Any:
    """Call ``<service> <cmd>``; a refusal or a transport failure ends the command with its exit code."""
    with _client(state, endpoint, token, timeout) as client:
        try:
            return client.call(service, cmd, args)
        except CommandError as exc:
            _fail(as_json, EXIT_COMMAND_FAILED, exc.type, exc.message)
        except TransportError as exc:
            _fail(as_json, EXIT_TRANSPORT, type(exc).__name__, str(exc))


def _document(path: str) -> str:
    try:
        return Path(path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="FILE") from None


def _request_line(r: dict[str, Any]) -> str:
    return (f"{r['id'] if r.get('id') is not None else '-':>6}  {r['status']:<10} {r['user']:<12} "
            f"{r['charged_hours']:>8.3f} h  {r['program']}: {r['name']}")


@request_group.command("submit")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--user", help="Submit for this user (operators); default: the token's principal.")
@_client_options
@click.pass_obj
def request_submit(state: _State, file: str, user: str | None, endpoint: str | None, token: str | None,
                   timeout: float | None, as_json: bool) -> None:
    """Submit the request in FILE: accepted with its quota charged, or refused with nothing stored."""
    data = _ask_service("requests", state, endpoint, token, timeout, as_json, "submit",
                         {"document": _document(file), **({"user": user} if user else {})})
    _print(data, True) if as_json else click.echo(_request_line(data))


@request_group.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--user", help="Check for this user (operators); default: the token's principal.")
@_client_options
@click.pass_obj
def request_validate(state: _State, file: str, user: str | None, endpoint: str | None, token: str | None,
                     timeout: float | None, as_json: bool) -> None:
    """Check the request in FILE as submit would (quotas included) without storing it."""
    data = _ask_service("requests", state, endpoint, token, timeout, as_json, "validate",
                         {"document": _document(file), **({"user": user} if user else {})})
    _print(data, True) if as_json else click.echo(_request_line(data))


@request_group.command("list")
@click.option("--status", help="Only requests in this status.")
@click.option("--user", help="Only requests of this user.")
@click.option("--limit", type=int, default=100, show_default=True, help="How many at most.")
@_client_options
@click.pass_obj
def request_list(state: _State, status: str | None, user: str | None, limit: int, endpoint: str | None,
                 token: str | None, timeout: float | None, as_json: bool) -> None:
    """List requests, newest first."""
    args: dict[str, Any] = {"limit": limit, **({"status": status} if status else {}), **({"user": user} if user else {})}
    rows = _ask_service("requests", state, endpoint, token, timeout, as_json, "list", args)
    if as_json:
        _print(rows, True)
        return
    for row in rows:
        click.echo(_request_line(row))


@request_group.command("show")
@click.argument("request_id", type=int)
@_client_options
@click.pass_obj
def request_show(state: _State, request_id: int, endpoint: str | None, token: str | None, timeout: float | None,
                 as_json: bool) -> None:
    """Show request REQUEST_ID with its sequences and plans."""
    data = _ask_service("requests", state, endpoint, token, timeout, as_json, "show", {"id": request_id})
    if as_json:
        _print(data, True)
        return
    click.echo(_request_line(data))
    for s in data["sequences"]:
        target = s["target"] or {}
        click.echo(f"  sequence {s['id']} {s['name']!r} [{s['status']}] {target.get('name')} "
                   f"ra={target.get('ra_deg')} dec={target.get('dec_deg')} priority={s['priority']} "
                   f"planned {s['planned_duration_s']:.0f} s")
        for album in s["albums"]:
            for p in album["plans"]:
                click.echo(f"    {album['detector']}: {p['count']} x {p['exposure_s']:g} s {p['type']} "
                           f"filter {p['filter']} bin {p['binning']}")


@request_group.command("cancel")
@click.argument("request_id", type=int)
@click.option("--reason", default="", help="Why, for the audit log.")
@_client_options
@click.pass_obj
def request_cancel(state: _State, request_id: int, reason: str, endpoint: str | None, token: str | None,
                   timeout: float | None, as_json: bool) -> None:
    """Cancel request REQUEST_ID; its unspent quota is refunded."""
    data = _ask_service("requests", state, endpoint, token, timeout, as_json, "cancel",
                        {"id": request_id, "reason": reason})
    _print(data, True) if as_json else click.echo(_request_line(data))


# ---------------------------------------------------------------- the night's schedule


SCHEDULE_TRIGGERS = ("night_start", "new_request", "cancelled", "alert", "conditions", "failed", "manual",
                     "sequences_changed")
"""The reasons ``pyros schedule replan --reason`` accepts (the schedule's trigger)."""

IDLE_SHOWN_S = 60.0
"""Idle time between entries shorter than this is not given a line of its own."""


@main.group("schedule")
def schedule_group() -> None:
    """The night's schedule through the ``scheduler`` service (see docs/scheduler.md)."""


def _clock_time(iso: str) -> str:
    """``HH:MM`` (UTC) of an ISO 8601 instant."""
    from datetime import datetime, timezone

    from pyros.clock import parse_instant

    return datetime.fromtimestamp(parse_instant(iso), tz=timezone.utc).strftime("%H:%M")


def duration_text(seconds: float) -> str:
    """A duration for people: ``45 s``, ``20 min``, ``2 h 05 min``."""
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    minutes = int(round(seconds / 60.0))
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _idle_line(start: float, end: float) -> str | None:
    from pyros.clock import format_instant

    if end - start < IDLE_SHOWN_S:
        return None
    return (f"  {_clock_time(format_instant(start))}–{_clock_time(format_instant(end))} UTC  "
            f"{duration_text(end - start):>10}  (idle)")


def schedule_timeline(data: dict[str, Any] | None) -> list[str]:
    """The lines ``pyros schedule show`` prints for the ``current`` reply of the scheduler.

    One line per entry (``HH:MM–HH:MM UTC``, duration, ``#id name``, priority, target, the
    transition before it), a line for each idle stretch of a minute or more, then the
    sequences not planned with their reason code and detail.
    """
    from pyros.clock import parse_instant

    if data is None:
        return ["No schedule for this night yet (pyros schedule plan makes one)."]
    night_start, night_end = parse_instant(data["night"]["start"]), parse_instant(data["night"]["end"])
    lines = [f"Schedule {data['id']} of the night {data['night']['start'][:10]} "
             f"{_clock_time(data['night']['start'])}–{_clock_time(data['night']['end'])} UTC "
             f"({duration_text(night_end - night_start)}), planned from {_clock_time(data['planned_from'])} UTC "
             f"({data['trigger']}), objective {data['objective']:.0f}"]
    cursor = parse_instant(data["planned_from"])
    labels = [f"#{e['sequence_id']} {e['name']}" for e in data["entries"]]
    width = max((len(label) for label in labels), default=0)
    for entry, label in zip(data["entries"], labels):
        start, end = parse_instant(entry["start"]), parse_instant(entry["end"])
        idle = _idle_line(cursor, start - entry["transition_s"]) if not entry["running"] else None
        if idle:
            lines.append(idle)
        notes = []
        if entry["transition_s"] > 0:
            notes.append(f"transition {entry['transition_s']:.0f} s before")
        if entry["running"]:
            notes.append("running")
        target = entry["target"] or "no target"
        lines.append(f"  {_clock_time(entry['start'])}–{_clock_time(entry['end'])} UTC  "
                     f"{duration_text(end - start):>10}  {label:<{width}}  priority {entry['priority']:<4g} "
                     f"{target}" + (f"  ({', '.join(notes)})" if notes else ""))
        cursor = max(cursor, end)
    tail = _idle_line(cursor, night_end)
    if tail:
        lines.append(tail)
    if not data["entries"]:
        lines.append("  (nothing planned)")
    unplaced = data["unplaced"]
    lines.append(f"Not planned ({len(unplaced)})" + (":" if unplaced else ""))
    for row in unplaced:
        held = f" [held by {', '.join(f'#{b}' for b in row['blockers'])}]" if row["blockers"] else ""
        lines.append(f"  #{row['sequence_id']} {row['name']}  priority {row['priority']:g}  "
                     f"{row['target'] or 'no target'}: {row['reason']} — {row['detail']}{held}")
    return lines


def explanation_lines(data: dict[str, Any]) -> list[str]:
    """The lines ``pyros schedule explain`` prints for the ``explain`` reply of the scheduler."""
    label = f"#{data['sequence_id']} {data.get('name', '')}".rstrip()
    if data["status"] in ("planned", "running"):
        head = f"{label}: {data['status']} {_clock_time(data['start'])}–{_clock_time(data['end'])} UTC"
        if data.get("transition_s"):
            head += f", transition {data['transition_s']:.0f} s before"
    elif data["status"] == "unplaced":
        head = f"{label}: not planned ({data['reason']}) — {data['detail']}"
        if data["blockers"]:
            head += f" [held by {', '.join(f'#{b}' for b in data['blockers'])}]"
    else:
        head = f"{label}: not in schedule {data.get('schedule_id')}"
        if data["detail"]:
            head += f" — {data['detail']}"
    lines = [head]
    if data.get("preferred"):
        lines.append(f"  preferred start {_clock_time(data['preferred'])} UTC")
    if data["allowed"]:
        spans = ", ".join(f"{_clock_time(a)}–{_clock_time(b)}" for a, b in data["allowed"])
        lines.append(f"  may run within {spans} UTC")
    elif data["status"] != "unknown":
        lines.append("  may run at no time of the night")
    lines.extend(f"  - {note}" for note in data["notes"])
    return lines


@schedule_group.command("show")
@_client_options
@click.pass_obj
def schedule_show(state: _State, endpoint: str | None, token: str | None, timeout: float | None,
                  as_json: bool) -> None:
    """Show the night's schedule as a timeline, then the sequences not planned and why."""
    data = _ask_service("scheduler", state, endpoint, token, timeout, as_json, "current", {})
    if as_json:
        _print(data, True)
        return
    for line in schedule_timeline(data):
        click.echo(line)


@schedule_group.command("plan")
@_client_options
@click.pass_obj
def schedule_plan(state: _State, endpoint: str | None, token: str | None, timeout: float | None,
                  as_json: bool) -> None:
    """Plan the rest of the night afresh (operators); print the new schedule."""
    data = _ask_service("scheduler", state, endpoint, token, timeout or 120.0, as_json, "plan", {})
    if as_json:
        _print(data, True)
        return
    for line in schedule_timeline(data):
        click.echo(line)


@schedule_group.command("replan")
@click.option("--reason", type=click.Choice(SCHEDULE_TRIGGERS), default="manual", show_default=True,
              help="What changed (stored as the schedule's trigger).")
@_client_options
@click.pass_obj
def schedule_replan(state: _State, reason: str, endpoint: str | None, token: str | None, timeout: float | None,
                    as_json: bool) -> None:
    """Plan again from now, keeping the running sequence and what it can of the schedule (operators)."""
    data = _ask_service("scheduler", state, endpoint, token, timeout or 120.0, as_json, "replan", {"reason": reason})
    if as_json:
        _print(data, True)
        return
    for line in schedule_timeline(data):
        click.echo(line)


@schedule_group.command("explain")
@click.argument("sequence_id", type=int)
@_client_options
@click.pass_obj
def schedule_explain(state: _State, sequence_id: int, endpoint: str | None, token: str | None,
                     timeout: float | None, as_json: bool) -> None:
    """Say why sequence SEQUENCE_ID is where it is in the schedule, or why it is not in it."""
    data = _ask_service("scheduler", state, endpoint, token, timeout, as_json, "explain", {"sequence_id": sequence_id})
    if as_json:
        _print(data, True)
        return
    for line in explanation_lines(data):
        click.echo(line)


@main.group("simulate")
def simulate_group() -> None:
    """Simulators that act on the running observatory."""


@simulate_group.command("users")
@click.argument("scenario", type=click.Path(dir_okay=False, exists=True))
@_client_options
@click.pass_obj
def simulate_users(state: _State, scenario: str, endpoint: str | None, token: str | None, timeout: float | None,
                   as_json: bool) -> None:
    """Submit the request files of SCENARIO's userSimulator entries at their times (observatory clock)."""
    from pyros.simulation import ScenarioError, UserSimulator, load_scenario

    config = state.config()
    clock = Clock.from_config(config.clock)
    with _client(state, endpoint, token, timeout) as client:
        def submit(document: str, user: str | None) -> Any:
            return client.call("requests", "submit", {"document": document, **({"user": user} if user else {})})

        try:
            simulator = UserSimulator(load_scenario(scenario), Path(scenario).resolve().parent, submit, clock)
        except ScenarioError as exc:
            raise click.BadParameter(str(exc), param_hint="SCENARIO") from None
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: simulator.stop())
        submissions = simulator.run()
    if as_json:
        _print([{"time_s": s.time_s, "file": s.file, "user": s.user, "ok": s.ok, "outcome": s.outcome}
                for s in submissions], True)
    else:
        for s in submissions:
            outcome = f"request {s.outcome['id']} {s.outcome['status']}" if s.ok else f"refused: {s.outcome}"
            click.echo(f"t={s.time_s:>8g} s  {Path(s.file).name}: {outcome}")


from pyros.db.cli import db_group  # noqa: E402  (the db commands live with the data model)
main.add_command(db_group)
