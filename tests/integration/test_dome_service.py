"""`pyros call dome open --wait` against the simulated dome, with its state published in the K/V store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pyros.kv.server import CloneServer
from pyros.kv.subscriber import KVSubscriber
from pyros.testing import BrokerProcess, ManagedProcess, wait_until
from tests.integration.site import device_site_toml, run_pyros

pytestmark = pytest.mark.integration


def test_open_and_close_from_the_command_line(broker: BrokerProcess, tmp_path: Path) -> None:
    kv = CloneServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", hugz_interval=0.2).start()
    config = tmp_path / "site.toml"
    config.write_text(device_site_toml(broker, kv))

    dome = ManagedProcess([sys.executable, "-m", "pyros", "--config", str(config), "serve",
                           "devices.dome.service:DomeService", "--arg", "shutter_time_s=1.5",
                           "--arg", "rotation_speed_deg_s=90", "--arg", "poll_s=0.1"])
    try:
        with dome, broker.client(timeout=5) as client, \
                KVSubscriber(kv.snapshot_endpoint, kv.publisher_endpoint, "/device/dome/") as sub:
            wait_until(lambda: client.service_exists("dome"), timeout=30, what="dome service up")
            refused = run_pyros(config, "call", "--token", "eng", "dome", "open")
            assert refused.returncode == 1 and "NoControl" in refused.stderr
            opened = run_pyros(config, "call", "--token", "maj", "--json", "--wait", "dome", "open")
            assert opened.returncode == 0, opened.stderr
            session = json.loads(opened.stdout)["data"]
            assert session["success"] is True and session["result"]["shutter"] == "open"
            wait_until(lambda: sub.get("/device/dome/shutter") == "open", what="shutter state published")
            again = run_pyros(config, "call", "--token", "maj", "--json", "--wait", "dome", "open")
            assert json.loads(again.stdout)["data"]["success"] is False
            assert "the shutter is already open" in json.loads(again.stdout)["data"]["message"]
            closed = run_pyros(config, "call", "--token", "eng", "--json", "--wait", "dome", "park")
            assert json.loads(closed.stdout)["data"]["result"]["parked"] is True
            wait_until(lambda: sub.get("/device/dome/parked") is True, what="parked state published")
    finally:
        kv.stop()
