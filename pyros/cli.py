"""The ``pyros`` command line (also ``python -m pyros``)."""

from __future__ import annotations

import logging

import click

from pyros.mdp.broker_core import BrokerSettings


@click.group()
def main() -> None:
    """PyROS observatory control."""


@main.command("broker")
@click.option("--bind", "binds", multiple=True, default=["tcp://127.0.0.1:5555"], show_default=True,
              help="Endpoint to bind (repeatable).")
@click.option("--heartbeat-interval", type=float, default=2.5, show_default=True, help="Seconds between heartbeats.")
@click.option("--heartbeat-liveness", type=int, default=3, show_default=True,
              help="Silent intervals before a worker is dead.")
@click.option("--service-timeout", type=float, default=5.0, show_default=True,
              help="Seconds a request waits for a service with no worker.")
@click.option("--retry-cap", type=int, default=3, show_default=True,
              help="Requeues of a request whose worker died before RetryExhausted.")
@click.option("--max-queue", type=int, default=10_000, show_default=True, help="Most requests queued per service.")
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
def broker_command(binds: tuple[str, ...], heartbeat_interval: float, heartbeat_liveness: int,
                   service_timeout: float, retry_cap: int, max_queue: int, verbose: bool) -> None:
    """Run the Majordomo broker in the foreground."""
    from servers.broker import BrokerServer

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = BrokerSettings(heartbeat_interval=heartbeat_interval, heartbeat_liveness=heartbeat_liveness,
                              service_timeout=service_timeout, retry_cap=retry_cap, max_queue=max_queue)
    server = BrokerServer(list(binds), settings)
    server.install_signal_handlers()
    click.echo(f"broker bound to {', '.join(server.bound)}", err=True)
    server.run()
