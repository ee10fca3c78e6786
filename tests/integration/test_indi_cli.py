"""`pyros call dome open --wait` against INDI: a served dome process with driver = "indi" and a real indiserver."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterator

import pytest

from pyros.testing import BrokerProcess, ManagedProcess, wait_until
from tests.integration.indi_server import DOME, IndiServer
from tests.integration.site import run_pyros

pytestmark = pytest.mark.integration


@pytest.fixture
def indiserver(tmp_path: Path) -> Iterator[IndiServer]:
    server = IndiServer(tmp_path / "indi", ("indi_simulator_dome",))
    yield server
    server.stop()


def test_open_and_close_an_indi_dome_from_the_command_line(broker: BrokerProcess, indiserver: IndiServer,
                                                           tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(f"""
[broker]
endpoint = "{broker.endpoint}"
heartbeat_interval = {broker.heartbeat_interval}

[access.tokens]
maj = "admin"

[access.names]
maj = "majordome"
""")
    dome = ManagedProcess([sys.executable, "-m", "pyros", "--config", str(config), "serve",
                           "devices.dome.service:DomeService", "--arg", 'driver="indi"', "--arg", 'host="127.0.0.1"',
                           "--arg", f"port={indiserver.port}", "--arg", f'device="{DOME}"', "--arg", "poll_s=0.2"])
    with dome, broker.client(timeout=5) as client:
        wait_until(lambda: client.service_exists("dome"), timeout=30, what="the dome service up")
        for command, shutter in (("open", "open"), ("close", "closed")):
            result = run_pyros(config, "call", "--token", "maj", "--json", "--wait", "dome", command)
            assert result.returncode == 0, result.stderr
            session = json.loads(result.stdout)["data"]
            assert session["success"] is True, session
            assert session["result"]["shutter"] == shutter
