"""Unit tests of the supervisor's pid file, readiness pipe and configuration source."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pyros.errors import ConfigError
from pyros.supervision.daemon import AlreadyRunning, PidFile, notify_ready, tail, wait_ready
from servers.supervisor import ConfigSource, read_child_specs


def test_pid_file_is_written_locked_and_removed(tmp_path: Path) -> None:
    path = tmp_path / "run" / "supervisor-node1.pid"
    held = PidFile(path)
    held.check()  # absent: fine
    held.acquire()
    try:
        assert path.read_text() == f"{os.getpid()}\n"
        with pytest.raises(AlreadyRunning) as checked:
            PidFile(path).check()
        assert checked.value.pid == os.getpid() and str(os.getpid()) in str(checked.value)
        with pytest.raises(AlreadyRunning):
            PidFile(path).acquire()
        assert path.read_text() == f"{os.getpid()}\n"  # the refused acquire left it alone
    finally:
        held.release()
    assert not path.exists()
    held.release()  # twice is harmless


def test_a_stale_pid_file_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "supervisor-node1.pid"
    path.write_text("999999\n")  # its process died without removing it: nobody holds the lock
    pid_file = PidFile(path)
    pid_file.check()
    pid_file.acquire()
    try:
        assert path.read_text() == f"{os.getpid()}\n"
    finally:
        pid_file.release()


def test_readiness_pipe_reports_the_pid_an_exit_or_a_timeout() -> None:
    read_fd, write_fd = os.pipe()
    notify_ready(write_fd)
    assert wait_ready(read_fd, timeout=5) == os.getpid()

    read_fd, write_fd = os.pipe()
    os.close(write_fd)  # the daemon died before it was ready
    assert wait_ready(read_fd, timeout=5) is None

    read_fd, write_fd = os.pipe()
    try:
        with pytest.raises(TimeoutError, match="did not report ready"):
            wait_ready(read_fd, timeout=0.05)
    finally:
        os.close(write_fd)


def test_notify_ready_survives_a_parent_that_gave_up() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    notify_ready(write_fd)  # EPIPE is swallowed: the daemon runs on


def test_tail_gives_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "supervisor-node1.log"
    log.write_text("".join(f"line {i}\n" for i in range(30)))
    assert tail(log, 3) == ["line 27\n", "line 28\n", "line 29\n"]
    assert tail(tmp_path / "missing.log", 3) == []


SITE = """
[hosts.node1.services.echo]
class = "servers.echo:EchoService"
instance = "n1"
[hosts.node1.services.kv]
command = ["kv"]
"""


def test_config_source_pins_one_clock_anchor_for_every_load(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[clock]\nmode = "simulated"\nstart = "2024-06-01T03:00:00Z"\nspeed = 100.0\n' + SITE)
    source = ConfigSource(str(config), {"broker.heartbeat_interval": 0.5})
    first, settings = source.load()
    second, again = source.load()
    assert first.clock.anchor == second.clock.anchor == source.anchor
    assert settings == again == ["--set", "broker.heartbeat_interval=0.5", "--set", f"clock.anchor={source.anchor!r}"]
    specs = read_child_specs(source, "node1")
    assert all(f"clock.anchor={source.anchor!r}" in spec.argv for spec in specs)


def test_config_source_leaves_a_real_clock_alone(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(SITE)
    loaded, settings = ConfigSource(str(config)).load()
    assert loaded.clock.anchor is None and settings == []
    kv = next(s for s in read_child_specs(ConfigSource(str(config)), "node1") if s.name == "kv")
    assert list(kv.argv) == [sys.executable, "-m", "pyros", "--config", str(config), "kv"]


def test_read_child_specs_keeps_only_the_chosen_services_that_still_exist(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(SITE)
    source = ConfigSource(str(config))
    assert [s.name for s in read_child_specs(source, "node1", ["echo", "gone"])] == ["echo"]
    assert [s.name for s in read_child_specs(source, "node1")] == ["echo", "kv"]
    with pytest.raises(KeyError, match=r"no \[hosts.node2\]"):
        read_child_specs(source, "node2")
    config.write_text(SITE + "[broker\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        read_child_specs(source, "node1")
