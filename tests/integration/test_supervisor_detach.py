"""``pyros start --detach``: a daemonised supervisor with a pid file, stopped by ``pyros stop``."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from pyros.testing import BrokerProcess, wait_until
from tests.integration.site import echo_service, run_pyros, site_toml

pytestmark = pytest.mark.integration


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def terminate(pid: int | None) -> None:
    """Clean up after a failed test: SIGTERM the daemon this test started, by its pid."""
    if pid is not None and not gone(pid):
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: gone(pid), timeout=30, what=f"pid {pid} stopped")


def test_detached_supervisor_runs_alone_holds_its_pid_file_and_stops_on_request(broker: BrokerProcess,
                                                                                tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(site_toml(broker, echo_service(instance="d1")))
    log_dir = tmp_path / "logs"
    pid_path, log_path = log_dir / "supervisor-node1.pid", log_dir / "supervisor-node1.log"
    daemon_pid = None
    try:
        started = run_pyros(config, "start", "--detach", "--host", "node1", "--log-dir", str(log_dir))
        assert started.returncode == 0, started.stderr
        daemon_pid = int(started.stdout.strip())
        assert pid_path.read_text() == f"{daemon_pid}\n"
        daemon = psutil.Process(daemon_pid)
        assert daemon.ppid() != os.getpid() and daemon.terminal() is None
        assert os.getsid(daemon_pid) not in (os.getsid(0), daemon_pid)  # its own session, not its leader
        assert str(log_path) in started.stderr

        with broker.client(timeout=5) as client:
            wait_until(lambda: client.service_exists("echo.d1"), timeout=30, what="echo started by the daemon")
            echo_pid = client.call("supervisor.node1", "processes")[0]["pid"]
        assert psutil.Process(echo_pid).ppid() == daemon_pid

        again = run_pyros(config, "start", "--detach", "--host", "node1", "--log-dir", str(log_dir))
        assert again.returncode == 1 and "AlreadyRunning" in again.stderr and str(daemon_pid) in again.stderr
        foreground = run_pyros(config, "start", "--host", "node1", "--log-dir", str(log_dir))
        assert foreground.returncode == 1 and str(daemon_pid) in foreground.stderr
        assert pid_path.read_text() == f"{daemon_pid}\n"

        denied = run_pyros(config, "stop", "--host", "node1")
        assert denied.returncode == 1 and "AccessDenied" in denied.stderr
        stopped = run_pyros(config, "stop", "--host", "node1", "--token", "op-token")
        assert stopped.returncode == 0, stopped.stderr
        assert f"pid {daemon_pid}" in stopped.stdout and "stopped echo and exited" in stopped.stdout
        assert gone(daemon_pid) and gone(echo_pid) and not pid_path.exists()
        assert "supervising echo on host node1" in log_path.read_text()
        logs = run_pyros(config, "logs", "--log-dir", str(log_dir), "supervisor-node1")
        assert logs.returncode == 0 and "supervising echo" in logs.stdout
    finally:
        terminate(daemon_pid)


def test_a_daemon_that_fails_to_start_is_reported_with_its_log(broker: BrokerProcess, tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(site_toml(broker, echo_service(instance="d1"), collector="tcp://127.0.0.1:notaport"))
    log_dir = tmp_path / "logs"
    result = run_pyros(config, "start", "--detach", "--host", "node1", "--log-dir", str(log_dir))
    assert result.returncode == 1
    assert "exited while starting" in result.stderr and "supervisor-node1.log" in result.stderr
    assert "cannot open the supervisor's sockets" in result.stderr  # the end of the log, shown
    assert result.stdout == "" and not (log_dir / "supervisor-node1.pid").exists()


def test_a_stale_pid_file_does_not_stop_a_start(broker: BrokerProcess, tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(site_toml(broker, echo_service(instance="d1")))
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "supervisor-node1.pid").write_text("999999\n")  # left by a supervisor that was killed
    daemon_pid = None
    try:
        started = run_pyros(config, "start", "--detach", "--host", "node1", "--log-dir", str(log_dir))
        assert started.returncode == 0, started.stderr
        daemon_pid = int(started.stdout.strip())
        os.kill(daemon_pid, signal.SIGTERM)  # SIGTERM stops a detached supervisor too
        wait_until(lambda: gone(daemon_pid), timeout=30, what="daemon stopped by SIGTERM")
        assert not (log_dir / "supervisor-node1.pid").exists()
    finally:
        terminate(daemon_pid)
