"""Supervisors publish their children's states to the K/V store; ``pyros status`` reads every host from it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import psutil
import pytest

from pyros.kv.server import CloneServer
from pyros.kv.subscriber import KVSubscriber
from pyros.testing import PROJECT_ROOT, BrokerProcess, ManagedProcess, child_env, free_endpoint, wait_until

pytestmark = pytest.mark.integration

STATE_FIELDS = {"name", "state", "target", "pid", "uptime", "restarts", "last_exit", "reason", "cpu_s", "rss_mib",
                "host", "time"}


@pytest.fixture
def kv() -> Iterator[CloneServer]:
    server = CloneServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", hugz_interval=0.2).start()
    yield server
    server.stop()


def write_config(path: Path, broker: BrokerProcess, kv_endpoints: tuple[str, str, str], *, liveness: int,
                 hosts: dict[str, str]) -> Path:
    """A site with one echo service per host (``host -> echo instance``)."""
    snapshot, publisher, collector = kv_endpoints
    services = "".join(f'[hosts.{host}.services.echo]\nclass = "servers.echo:EchoService"\ninstance = "{inst}"\n'
                       for host, inst in hosts.items())
    path.write_text(f"""
[broker]
endpoint = "{broker.endpoint}"
heartbeat_interval = {broker.heartbeat_interval}
heartbeat_liveness = {liveness}

[kv]
snapshot = "{snapshot}"
publisher = "{publisher}"
collector = "{collector}"
hugz_interval = 0.2

[access.tokens]
"op-token" = "operator"

{services}""")
    return path


def endpoints(server: CloneServer) -> tuple[str, str, str]:
    return server.snapshot_endpoint, server.publisher_endpoint, server.collector_endpoint


def supervise(config: Path, host: str, log_dir: Path) -> ManagedProcess:
    return ManagedProcess([sys.executable, "-m", "pyros", "--config", str(config), "start", "--host", host,
                           "--log-dir", str(log_dir)])


def pyros(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyros", "--config", str(config), *args], capture_output=True,
                          text=True, env=child_env(), cwd=str(PROJECT_ROOT), timeout=120)


def state_of(sub: KVSubscriber, host: str, name: str) -> dict[str, Any]:
    return sub.get(f"/service/supervisor/{host}/{name}") or {}


def kill_orphan(pid: int | None) -> None:
    """SIGKILL a child left behind by a supervisor that was killed (it runs in its own session)."""
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_states_of_every_host_are_published_and_shown_by_status(broker: BrokerProcess, kv: CloneServer,
                                                                 tmp_path: Path) -> None:
    # A ttl of 0.5 s x 40 = 20 s: keys that vanish sooner after a stop were deleted, not expired.
    config = write_config(tmp_path / "site.toml", broker, endpoints(kv), liveness=40,
                          hosts={"node1": "n1", "node2": "n2"})
    node1 = supervise(config, "node1", tmp_path / "logs1")
    node2 = supervise(config, "node2", tmp_path / "logs2")
    try:
        with KVSubscriber(kv.snapshot_endpoint, kv.publisher_endpoint, "/service/") as sub:
            for host in ("node1", "node2"):
                wait_until(lambda: state_of(sub, host, "echo").get("state") == "running", timeout=30,
                           what=f"echo of {host} published as running")
            row = state_of(sub, "node1", "echo")
            assert set(row) == STATE_FIELDS and row["host"] == "node1" and row["target"] == "up"
            assert row["restarts"] == 0 and row["pid"] > 0
            wait_until(lambda: sub.get("/service/supervisor.node1/node1") is not None, what="supervisor registered")
            wait_until(lambda: sub.get("/service/echo/n1") is not None, what="echo child registered")
            first_time = state_of(sub, "node1", "echo")["time"]
            wait_until(lambda: state_of(sub, "node1", "echo")["time"] > first_time, what="row refreshed")

            os.kill(row["pid"], signal.SIGKILL)  # a crash: the new state is published
            wait_until(lambda: state_of(sub, "node1", "echo").get("pid") not in (None, row["pid"])
                       and state_of(sub, "node1", "echo").get("state") == "running", timeout=20,
                       what="restart published")
            assert state_of(sub, "node1", "echo")["restarts"] == 1
            assert "killed by signal 9" in state_of(sub, "node1", "echo")["reason"]
            wait_until(lambda: sub.get("/service/echo/n1") is not None, timeout=20, what="echo registered again")

            as_json = pyros(config, "status", "--json")
            assert as_json.returncode == 0, as_json.stderr
            data = json.loads(as_json.stdout)["data"]
            assert data["source"] == "kv"
            assert [(p["host"], p["name"], p["state"]) for p in data["processes"]] == [
                ("node1", "echo", "running"), ("node2", "echo", "running")]
            instances = {(s["name"], s["instance"]) for s in data["services"]}
            assert {("echo", "n1"), ("echo", "n2"), ("supervisor.node1", "node1"),
                    ("supervisor.node2", "node2")} <= instances
            echo_n1 = next(s for s in data["services"] if (s["name"], s["instance"]) == ("echo", "n1"))
            assert echo_n1["version"] == "1.0.0" and echo_n1["pid"] > 0 and 0 <= echo_n1["age"] < 5
            text = pyros(config, "status")
            assert text.returncode == 0, text.stderr
            assert "node1" in text.stdout and "node2" in text.stdout and "n2" in text.stdout and "1.0.0" in text.stdout

            assert node2.stop(timeout=30) == 0  # SIGTERM: a normal stop deletes the rows
            wait_until(lambda: sub.get("/service/supervisor/node2/echo") is None, timeout=8,
                       what="node2 rows deleted well before their ttl")

            stopped = pyros(config, "stop", "--host", "node1", "--token", "op-token")
            assert stopped.returncode == 0, stopped.stderr
            assert "exited" in stopped.stdout and "echo" in stopped.stdout
            assert node1.proc.wait(30) == 0
            wait_until(lambda: sub.get("/service/supervisor/node1/echo") is None, timeout=8,
                       what="node1 rows deleted on shutdown")
            assert not (tmp_path / "logs1" / "supervisor-node1.pid").exists()
    finally:
        node1.stop(timeout=30)
        node2.stop(timeout=30)


def test_a_dead_supervisor_rows_vanish_within_their_ttl(broker: BrokerProcess, kv: CloneServer,
                                                         tmp_path: Path) -> None:
    config = write_config(tmp_path / "site.toml", broker, endpoints(kv), liveness=3, hosts={"node3": "n3"})
    supervisor = supervise(config, "node3", tmp_path / "logs")
    orphan = None
    try:
        with KVSubscriber(kv.snapshot_endpoint, kv.publisher_endpoint, "/service/") as sub:
            wait_until(lambda: state_of(sub, "node3", "echo").get("state") == "running", timeout=30,
                       what="echo published as running")
            orphan = state_of(sub, "node3", "echo")["pid"]
            supervisor.kill()  # no goodbye: only the ttl (0.5 s x 3) removes the rows
            wait_until(lambda: sub.get("/service/supervisor/node3/echo") is None, timeout=10,
                       what="rows of the dead supervisor expired")
            wait_until(lambda: sub.get("/service/supervisor.node3/node3") is None, timeout=10,
                       what="registry entry of the dead supervisor expired")
    finally:
        supervisor.stop(timeout=30)
        kill_orphan(orphan)


def test_status_falls_back_to_the_control_supervisor_without_kv(broker: BrokerProcess, tmp_path: Path) -> None:
    nowhere = (free_endpoint(), free_endpoint(), free_endpoint())  # no K/V server there
    config = write_config(tmp_path / "site.toml", broker, nowhere, liveness=3, hosts={"control": "c1"})
    no_supervisor = pyros(config, "status", "--timeout", "1", "--json")
    assert no_supervisor.returncode == 3, no_supervisor.stderr
    assert json.loads(no_supervisor.stdout)["ok"] is False
    supervisor = supervise(config, "control", tmp_path / "logs")
    try:
        with broker.client(timeout=5) as client:
            wait_until(lambda: client.service_exists("echo.c1"), timeout=30, what="echo started")
        result = pyros(config, "status", "--timeout", "1", "--json")
        assert result.returncode == 0, result.stderr
        assert "supervisor.control" in result.stderr and "K/V" in result.stderr
        data = json.loads(result.stdout)["data"]
        assert data["source"] == "supervisor.control" and data["services"] == []
        assert [(p["host"], p["name"], p["state"]) for p in data["processes"]] == [("control", "echo", "running")]
        assert psutil.pid_exists(data["processes"][0]["pid"])
    finally:
        assert supervisor.stop(timeout=30) == 0
