"""``pyros reload`` and SIGHUP: the supervisor applies the difference of a changed configuration."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

from pyros.testing import BrokerProcess, ManagedProcess, wait_until
from tests.integration.site import echo_service, run_pyros, site_toml

pytestmark = pytest.mark.integration


def pids(broker: BrokerProcess) -> dict[str, int | None]:
    """Service name -> pid of the running ones (None while not running)."""
    with broker.client(timeout=5) as client:
        rows = client.call("supervisor.node1", "processes")
    return {r["name"]: r["pid"] if r["state"] == "running" else None for r in rows}


def all_running(broker: BrokerProcess, names: list[str]) -> bool:
    table = pids(broker)
    return list(table) == names and all(table.values())


def test_reload_starts_added_stops_removed_and_restarts_changed_services(broker: BrokerProcess,
                                                                         tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    client_config = tmp_path / "client.toml"  # what the operator's pyros reads, kept valid throughout
    config.write_text(site_toml(broker, echo_service("keep", "k"), echo_service("change", "c"), echo_service("drop", "d")))
    client_config.write_text(config.read_text())
    supervisor = ManagedProcess([sys.executable, "-m", "pyros", "--config", str(config), "start", "--host", "node1",
                                 "--log-dir", str(tmp_path / "logs")])
    try:
        wait_until(lambda: all_running(broker, ["keep", "change", "drop"]), timeout=40, what="three echoes running")
        before = pids(broker)

        config.write_text(site_toml(broker, echo_service("keep", "k"), echo_service("change", "c", "bonjour"), echo_service("new", "n")))
        denied = run_pyros(client_config, "reload", "--host", "node1")
        assert denied.returncode == 1 and "AccessDenied" in denied.stderr
        reloaded = run_pyros(client_config, "reload", "--host", "node1", "--token", "op-token", "--json")
        assert reloaded.returncode == 0, reloaded.stderr
        assert json.loads(reloaded.stdout)["data"] == {"added": ["new"], "removed": ["drop"],
                                                        "restarted": ["change"], "unchanged": ["keep"]}
        wait_until(lambda: all_running(broker, ["keep", "change", "new"]), timeout=40,
                   what="drop gone, change restarted, new started")
        after = pids(broker)
        assert after["keep"] == before["keep"]  # left alone
        assert after["change"] != before["change"]
        with broker.client(timeout=5) as client:
            wait_until(lambda: client.service_exists("new.n"), timeout=20, what="new echo registered")
            wait_until(lambda: client.service_exists("change.c"), timeout=20, what="changed echo registered")
            assert client.call("change.c", "greet", {"name": "ann"}, token="op-token") == "bonjour, ann"
            wait_until(lambda: not client.service_exists("drop.d"), timeout=20, what="dropped echo gone")

        config.write_text(site_toml(broker, echo_service("keep", "k")) + "[broker\n")  # a typo: nothing may change
        broken = run_pyros(client_config, "reload", "--host", "node1", "--token", "op-token")
        assert broken.returncode == 1
        assert "ConfigError" in broken.stderr and str(config) in broken.stderr and "invalid TOML" in broken.stderr
        # Valid, but without [hosts.node1]:
        config.write_text(site_toml(broker, echo_service("other", "o")).replace("hosts.node1", "hosts.node9"))
        no_host = run_pyros(client_config, "reload", "--host", "node1", "--token", "op-token", "--json")
        assert no_host.returncode == 1
        assert "no [hosts.node1]" in json.loads(no_host.stdout)["error"]["message"]
        assert pids(broker) == after

        config.write_text(site_toml(broker, echo_service("keep", "k"), echo_service("change", "c", "bonjour")))
        os.kill(supervisor.pid, signal.SIGHUP)  # the same as pyros reload
        wait_until(lambda: all_running(broker, ["keep", "change"]), timeout=40, what="new removed after SIGHUP")
        assert pids(broker) == {"keep": after["keep"], "change": after["change"]}
        unchanged = run_pyros(client_config, "reload", "--host", "node1", "--token", "op-token")
        assert unchanged.returncode == 0, unchanged.stderr
        assert "unchanged: keep, change" in unchanged.stdout and "added:     -" in unchanged.stdout
    finally:
        assert supervisor.stop(timeout=30) == 0
