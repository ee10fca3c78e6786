"""`pyros serve` of the simulated PLC: a scenario makes it rain, and the K/V store shows it."""

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


def test_a_scenario_makes_it_rain_in_the_kv_store(broker: BrokerProcess, tmp_path: Path) -> None:
    kv = CloneServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", hugz_interval=0.2).start()
    scenario = tmp_path / "rain.json"
    scenario.write_text(json.dumps([60, {"time": 2, "plcSimulator": {"device_name": "WXT520",
                                                                     "value_name": "RainRate", "value": 12.0}}]))
    config = tmp_path / "site.toml"
    config.write_text(device_site_toml(broker, kv, """
[clock]
mode = "simulated"
start = "2026-06-01T02:00:00Z"
speed = 4.0
"""))

    plc = ManagedProcess([sys.executable, "-m", "pyros", "--config", str(config), "serve",
                          "devices.plc.service:PlcService", "--arg", "poll_s=0.5", "--arg", f"scenario={scenario}"])
    try:
        with plc, broker.client(timeout=5) as client, \
                KVSubscriber(kv.snapshot_endpoint, kv.publisher_endpoint, "/device/plc/weather/") as sub:
            wait_until(lambda: client.service_exists("plc"), timeout=30, what="plc service up")
            wait_until(lambda: (sub.get("/device/plc/weather/rain_rate") or {}).get("value") == 12.0,
                       timeout=30,
                       what="rain_rate 12 mm/h published")
            rain = sub.get("/device/plc/weather/rain_rate")
            assert rain["unit"] == "mm/h" and rain["sensor"] == "WXT520" and rain["valid"] is True
            wait_until(lambda: (sub.get("/device/plc/weather/rain_detected") or {}).get("value") is True,
                       timeout=30,
                       what="the rain detector wet")
            weather = run_pyros(config, "call", "--json", "plc", "weather")
            assert weather.returncode == 0, weather.stderr
            assert json.loads(weather.stdout)["data"]["rain_rate"]["value"] == 12.0
    finally:
        kv.stop()
