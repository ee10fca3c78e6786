"""The supervisor process: runs configured services, restarts them, answers through the broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pyros.errors import CommandError
from pyros.testing import PROJECT_ROOT, BrokerProcess, ManagedProcess, child_env, wait_until
from tests.integration.site import site_toml

pytestmark = pytest.mark.integration


def site_config(tmp_path: Path, broker: BrokerProcess) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(site_toml(broker))
    return path


def processes(broker: BrokerProcess) -> list[dict]:
    with broker.client(timeout=5) as client:
        return client.call("supervisor.node1", "processes")


def test_supervisor_runs_restarts_and_stops_services(broker: BrokerProcess, tmp_path: Path) -> None:
    config = site_config(tmp_path, broker)
    log_dir = tmp_path / "logs"
    supervisor = ManagedProcess([sys.executable, "-m", "pyros", "--config", str(config), "start", "--host", "node1",
                                 "--log-dir", str(log_dir)])
    try:
        with broker.client(timeout=5) as client:
            wait_until(lambda: client.service_exists("echo.n1"), timeout=20, what="echo started by the supervisor")
            assert client.call("echo", "echo", text="supervised") == "supervised"
        first = processes(broker)[0]
        assert first["name"] == "echo" and first["state"] == "running" and first["restarts"] == 0

        os.kill(first["pid"], signal.SIGKILL)  # a crash
        wait_until(lambda: processes(broker)[0]["pid"] not in (None, first["pid"]), timeout=20, what="restarted")
        assert processes(broker)[0]["restarts"] == 1

        status = subprocess.run([sys.executable, "-m", "pyros", "--config", str(config), "status", "--host", "node1",
                                 "--json"], capture_output=True, text=True, env=child_env(), cwd=str(PROJECT_ROOT),
                                timeout=60)
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["data"][0]["state"] == "running"

        with broker.client(timeout=5) as client:
            with pytest.raises(CommandError) as denied:
                client.call("supervisor.node1", "stop", {"service": "echo"})
            assert denied.value.type == "AccessDenied"
            client.call("supervisor.node1", "stop", {"service": "echo"}, token="op-token")
            wait_until(lambda: processes(broker)[0]["state"] == "stopped", timeout=20, what="stopped on request")
            with pytest.raises(CommandError) as unknown:
                client.call("supervisor.node1", "start", {"service": "nope"}, token="op-token")
            assert "no service 'nope'" in unknown.value.message
        assert (log_dir / "echo.log").exists()

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "pyros", "--config", str(config), *args],
                                  capture_output=True, text=True, env=child_env(), cwd=str(PROJECT_ROOT), timeout=60)

        restarted = cli("restart", "--host", "node1", "--token", "op-token", "echo")
        assert restarted.returncode == 0, restarted.stderr
        wait_until(lambda: processes(broker)[0]["state"] == "running", timeout=20, what="running after restart")
        stopped = cli("stop", "--host", "node1", "--token", "op-token", "--json", "echo")
        assert stopped.returncode == 0 and json.loads(stopped.stdout)["ok"] is True
        denied_cli = cli("stop", "--host", "node1", "echo")
        assert denied_cli.returncode == 1 and "AccessDenied" in denied_cli.stderr
        logs = cli("logs", "--log-dir", str(log_dir), "-n", "5", "echo")
        assert logs.returncode == 0 and "serving echo" in logs.stdout
        missing = cli("logs", "--log-dir", str(log_dir), "ghost")
        assert missing.returncode == 2 and "echo" in missing.stderr
    finally:
        assert supervisor.stop(timeout=30) == 0
    assert not supervisor.alive()


def test_start_refuses_an_unknown_host_or_service(broker: BrokerProcess, tmp_path: Path) -> None:
    config = site_config(tmp_path, broker)
    for extra in (["--host", "nowhere"], ["--host", "node1", "ghost"]):
        result = subprocess.run([sys.executable, "-m", "pyros", "--config", str(config), "start", *extra],
                                capture_output=True, text=True, env=child_env(), cwd=str(PROJECT_ROOT), timeout=60)
        assert result.returncode == 2 and ("nowhere" in result.stderr or "ghost" in result.stderr)


def test_the_old_plain_launcher_is_gone() -> None:
    result = subprocess.run([sys.executable, "-m", "pyros", "run"], capture_output=True, text=True, env=child_env(),
                            cwd=str(PROJECT_ROOT), timeout=60)
    assert result.returncode == 2 and "No such command 'run'" in result.stderr
