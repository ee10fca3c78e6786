"""`pyros start` brings up the whole configured system under the supervisor (what `make run` does)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pyros.client import Client
from pyros.errors import TransportError
from pyros.kv.subscriber import KVSubscriber
from pyros.testing import PROJECT_ROOT, ManagedProcess, child_env, free_endpoint, wait_until
from pyros.titanic.client import TitanicClient

pytestmark = pytest.mark.integration


def test_start_runs_broker_kv_titanic_and_services(tmp_path: Path) -> None:
    broker, snap, pub, coll = (free_endpoint() for _ in range(4))
    config = tmp_path / "site.toml"
    config.write_text(f"""
[broker]
endpoint = "{broker}"
bind = "{broker}"
heartbeat_interval = 0.5

[kv]
snapshot = "{snap}"
publisher = "{pub}"
collector = "{coll}"

[database]
url = "sqlite:///{tmp_path / 'pyros.db'}"

[hosts.control.services.broker]
command = ["broker"]
[hosts.control.services.kv]
command = ["kv"]
[hosts.control.services.titanic]
command = ["titanic", "--database", "{tmp_path / 'titanic.db'}", "--redispatch", "0.5"]
[hosts.control.services.echo]
class = "servers.echo:EchoService"
[hosts.control.services.requests]
class = "servers.requests:RequestService"
""")
    supervisor = ManagedProcess([sys.executable, "-m", "pyros", "--config", str(config), "start", "--log-dir",
                                 str(tmp_path / "logs")])
    try:
        with Client(broker, timeout=1, retries=0) as client:
            def all_running() -> bool:
                try:
                    rows = client.call("supervisor.control", "processes")
                except TransportError:
                    return False
                return [r["state"] for r in rows] == ["running"] * 5

            wait_until(all_running, timeout=60, what="broker, kv, titanic, echo and requests running")
            wait_until(lambda: all(client.service_exists(s) for s in ("echo", "titanic.request", "requests")),
                       timeout=30, what="services registered")
        with Client(broker, timeout=10) as client:
            assert client.call("echo", "echo", text="night") == "night"
            assert TitanicClient(client).call("echo", "add", {"a": 1, "b": 2}, timeout=30) == 3
            assert client.call("requests", "list") == []  # its database was created at start
        with KVSubscriber(snap, pub) as sub:
            assert sub.wait_synced(20)
        with Client(broker, timeout=10) as client:
            pids = {r["name"]: r["pid"] for r in client.call("supervisor.control", "processes")}
        titles = {name: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                  for name, pid in pids.items()}
        assert titles["echo"].startswith("pyros serve echo"), titles  # named with setproctitle
        assert titles["broker"].startswith("pyros broker") and titles["kv"].startswith("pyros kv")
        assert titles["titanic"].startswith("pyros titanic")
        status = subprocess.run([sys.executable, "-m", "pyros", "--config", str(config), "status"],
                                capture_output=True, text=True, env=child_env(), cwd=str(PROJECT_ROOT), timeout=60)
        assert status.returncode == 0, status.stderr
        for name in ("broker", "kv", "titanic", "echo", "requests"):
            assert name in status.stdout
    finally:
        assert supervisor.stop(timeout=60) == 0
    for name in ("broker", "kv", "titanic", "echo"):
        assert (tmp_path / "logs" / f"{name}.log").exists()
