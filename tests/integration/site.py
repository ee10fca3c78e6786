"""A site configuration for the supervisor tests, and running the ``pyros`` CLI on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pyros.kv.server import CloneServer
from pyros.testing import PROJECT_ROOT, BrokerProcess, child_env, free_endpoint


def echo_service(name: str = "echo", instance: str = "n1", greeting: str | None = None) -> str:
    """The ``[hosts.node1.services.<name>]`` table of an echo service."""
    args = f'args = {{ greeting = "{greeting}" }}\n' if greeting is not None else ""
    return f'[hosts.node1.services.{name}]\nclass = "servers.echo:EchoService"\ninstance = "{instance}"\n{args}'


def site_toml(broker: BrokerProcess, *services: str, collector: str | None = None) -> str:
    """A configuration: the test broker, K/V endpoints on free ports (no server: publishing is
    optional), an operator token ``op-token``, and ``services`` on host ``node1`` (one echo by default).
    """
    return f"""
[broker]
endpoint = "{broker.endpoint}"
heartbeat_interval = {broker.heartbeat_interval}

[kv]
snapshot = "{free_endpoint()}"
publisher = "{free_endpoint()}"
collector = "{collector or free_endpoint()}"

[access.tokens]
"op-token" = "operator"

{''.join(services or (echo_service(),))}"""


def run_pyros(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``pyros --config CONFIG ARGS...`` to completion (120 s at most)."""
    return subprocess.run([sys.executable, "-m", "pyros", "--config", str(config), *args], capture_output=True,
                          text=True, env=child_env(), cwd=str(PROJECT_ROOT), timeout=120)


def endpoints_toml(broker: BrokerProcess, kv: CloneServer) -> str:
    """The ``[broker]`` and ``[kv]`` sections pointing at the test broker and a running K/V server."""
    return f"""
[broker]
endpoint = "{broker.endpoint}"
heartbeat_interval = {broker.heartbeat_interval}

[kv]
snapshot = "{kv.snapshot_endpoint}"
publisher = "{kv.publisher_endpoint}"
collector = "{kv.collector_endpoint}"
"""


def device_site_toml(broker: BrokerProcess, kv: CloneServer, extra: str = "") -> str:
    """A configuration for device tests: the test broker, a running K/V server, the majordome's token
    ``maj`` and an engineer's ``eng`` (operator), then ``extra`` TOML."""
    return endpoints_toml(broker, kv) + f"""
[access.tokens]
maj = "admin"
eng = "operator"

[access.names]
maj = "majordome"
eng = "engineer"
{extra}"""
