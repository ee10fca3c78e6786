"""The core service with a real broker, K/V server, echo service and core process on a fast simulated clock."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyros.client import Client
from pyros.errors import CommandError
from pyros.kv.publisher import KVPublisher
from pyros.kv.server import CloneServer
from pyros.testing import BrokerProcess, ManagedProcess, wait_until
from tests.integration.site import endpoints_toml

pytestmark = pytest.mark.integration

SPEED = 200.0
"""Observatory seconds per wall second: the 60 s interval job fires every 0.3 wall seconds."""

JOBS = [{"name": "tick", "trigger": "interval", "every_s": 60,
         "action": {"service": "echo", "command": "echo", "args": {"text": "tick"}}},
        {"name": "broken", "trigger": "interval", "every_s": 60,
         "action": {"service": "echo", "command": "no_such_command"}}]
SCENARIOS = [{"name": "flag-on", "when": {"key": "/test/flag", "field": "on", "op": "eq", "value": True},
              "then": [{"service": "echo", "command": "echo", "args": {"text": "flag is on"}}]},
             {"name": "n-changed", "when": {"key": "/test/flag", "field": "n", "op": "changed"},
              "then": [{"service": "echo", "command": "echo", "args": {"text": "n changed"}}]}]


@pytest.fixture
def site(broker: BrokerProcess, kv_server: CloneServer, tmp_path: Path) -> Iterator[Client]:
    """Echo and core served on a simulated clock at :data:`SPEED`; yields a client of the broker."""
    config = tmp_path / "site.toml"
    config.write_text(endpoints_toml(broker, kv_server) + f"""
[clock]
mode = "simulated"
start = "2024-06-01T18:00:00Z"
speed = {SPEED}

[access.tokens]
op-token = "operator"
""")
    base = [sys.executable, "-m", "pyros", "--config", str(config), "serve"]
    echo_log = (tmp_path / "echo.log").open("wb")
    core_log = (tmp_path / "core.log").open("wb")
    with ManagedProcess([*base, "servers.echo:EchoService"], stderr=echo_log.fileno()), \
            ManagedProcess([*base, "servers.core:CoreService", "--arg", f"jobs={json.dumps(JOBS)}",
                            "--arg", f"scenarios={json.dumps(SCENARIOS)}", "--arg", "token=op-token"],
                           stderr=core_log.fileno()), \
            broker.client(timeout=5) as client:
        wait_until(lambda: client.service_exists("core") and client.service_exists("echo"), timeout=60,
                   what="core and echo services up")
        yield client
    echo_log.close()
    core_log.close()


def job(client: Client, name: str) -> dict[str, Any]:
    return next(j for j in client.call("core", "jobs") if j["name"] == name)


def scenario(client: Client, name: str) -> dict[str, Any]:
    return next(s for s in client.call("core", "scenarios") if s["name"] == name)


def test_an_interval_job_calls_the_echo_service(site: Client) -> None:
    wait_until(lambda: job(site, "tick")["runs"] >= 3, timeout=60, what="three runs of the tick job")
    tick = job(site, "tick")
    assert tick["last"]["ok"] and tick["last"]["result"] == "tick"
    assert tick["last"]["action"] == "echo echo text='tick'"
    assert tick["next_fire"] > tick["last_scheduled"] and tick["trigger"] == "every 60 s"
    wait_until(lambda: job(site, "broken")["runs"] >= 2, timeout=60, what="two runs of the broken job")
    broken = job(site, "broken")
    assert not broken["last"]["ok"] and broken["last"]["error"].startswith("UnknownCommand")
    assert broken["next_fire"] is not None                  # the failure did not stop it
    with pytest.raises(CommandError, match="operator"):
        site.call("core", "run_job", {"name": "tick"})       # observer by default
    outcome = site.call("core", "run_job", {"name": "tick"}, token="op-token")
    assert outcome["ok"] and outcome["result"] == "tick"
    with pytest.raises(CommandError, match="no job named 'nope'"):
        site.call("core", "run_job", {"name": "nope"}, token="op-token")


def test_a_scenario_fires_on_a_matching_kv_value_once_while_it_stays_matching(
        site: Client, kv_server: CloneServer) -> None:
    with KVPublisher(kv_server.collector_endpoint) as publisher:
        publisher.set("/test/flag", {"on": False, "n": 0})
        wait_until(lambda: scenario(site, "flag-on")["matching"] == [] and
                   scenario(site, "n-changed")["matching"] == [], timeout=30, what="the first value seen")
        publisher.set("/test/flag", {"on": True, "n": 1})
        wait_until(lambda: scenario(site, "flag-on")["fired"] == 1, timeout=30, what="the scenario fired")
        wait_until(lambda: len(scenario(site, "flag-on")["calls"]) == 1, timeout=30, what="its call made")
        call = scenario(site, "flag-on")["calls"][0]
        assert call["ok"] and call["result"] == "flag is on" and call["key"] == "/test/flag"
        publisher.set("/test/flag", {"on": True, "n": 2})   # still matching
        # n-changed fires on this update: once it has, the core has seen it
        wait_until(lambda: scenario(site, "n-changed")["fired"] == 2, timeout=30, what="the update seen")
        assert scenario(site, "flag-on")["fired"] == 1
        site.call("core", "disable", {"rule": "flag-on"}, token="op-token")
        publisher.set("/test/flag", {"on": False, "n": 3})
        publisher.set("/test/flag", {"on": True, "n": 4})
        wait_until(lambda: scenario(site, "n-changed")["fired"] == 4, timeout=30, what="the updates seen")
        assert scenario(site, "flag-on")["fired"] == 1       # disabled
        state = site.call("core", "enable", {"rule": "flag-on"}, token="op-token")
        assert state["enabled"]
        publisher.set("/test/flag", {"on": False, "n": 5})
        publisher.set("/test/flag", {"on": True, "n": 6})
        wait_until(lambda: scenario(site, "flag-on")["fired"] == 2, timeout=30, what="a new edge fired")
