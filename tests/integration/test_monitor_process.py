"""The environment monitor as real processes: broker, K/V server, the simulated PLC and the monitor.

Rain from the PLC simulator makes ``/env/safety`` unsafe in the next poll with the culprit
``rain_rate``; it is safe again only after the hold; a killed PLC is ``plc_silent``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pyros.clock import Clock, parse_instant
from pyros.kv.server import CloneServer
from pyros.kv.subscriber import KVSubscriber
from pyros.testing import BrokerProcess, ManagedProcess, wait_until
from tests.integration.site import device_site_toml

pytestmark = pytest.mark.integration

SPEED = 10.0
HOLD_S = 120.0


def rain_scenario(path: Path, value: float | None) -> str:
    path.write_text(json.dumps([60, {"time": 0, "plcSimulator": {"device_name": "WXT520", "value_name": "RainRate",
                                                                 "value": value}}]))
    return str(path)


def test_rain_silence_and_the_hold_through_real_processes(broker: BrokerProcess, tmp_path: Path) -> None:
    kv = CloneServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", hugz_interval=0.2).start()
    anchor = time.time()
    clock = Clock.simulated(start="2026-06-01T02:00:00Z", speed=SPEED, anchor=anchor)
    config = tmp_path / "site.toml"
    config.write_text(device_site_toml(broker, kv, f"""
[clock]
mode = "simulated"
start = "2026-06-01T02:00:00Z"
speed = {SPEED}
anchor = {anchor}
"""))
    serve = [sys.executable, "-m", "pyros", "--config", str(config), "serve"]
    plc = ManagedProcess([*serve, "devices.plc.service:PlcService", "--arg", "poll_s=10"])
    monitor = ManagedProcess([*serve, "servers.monitor:MonitorService", "--arg", f"hold_s={HOLD_S}",
                              "--arg", "hold_at_start=false", "--arg", "silent_after_s=5", "--arg", "plc_timeout_s=1",
                              "--arg", "history_every_s=0"])

    def safety(sub: KVSubscriber) -> dict[str, Any]:
        return sub.get("/env/safety") or {}

    try:
        with plc, monitor, broker.client(timeout=5, token="maj") as client, \
                KVSubscriber(kv.snapshot_endpoint, kv.publisher_endpoint, "/env/") as sub:
            wait_until(lambda: client.service_exists("plc") and client.service_exists("monitor"), timeout=30,
                       what="plc and monitor up")
            wait_until(lambda: safety(sub).get("safe") is True, timeout=30, what="a safe site")
            wait_until(lambda: (sub.get("/env/weather/rain_rate") or {}).get("meaning") == "dry", timeout=10,
                       what="rain_rate published, dry")

            client.call("plc", "scenario", {"path": rain_scenario(tmp_path / "rain.json", 12.0)})
            rain_wall, rain_at = time.time(), clock.now()
            wait_until(lambda: safety(sub).get("safe") is False, timeout=10, what="unsafe on rain")
            seen_wall = time.time()
            state = safety(sub)
            assert state["culprit"] == "rain_rate" and state["reasons"][0]["quantity"] == "rain_rate"
            since = parse_instant(state["since"])
            # at once: the next poll (1 s of observatory time), with a generous margin for loaded machines
            assert -0.5 <= since - rain_at <= 1.0 + clock.obs_delay(1.0)
            assert seen_wall - rain_wall < 3.0
            print(f"\nrain -> /env/safety unsafe: {seen_wall - rain_wall:.3f} s wall, {since - rain_at:.2f} s "
                  f"observatory at {SPEED:g}x")
            assert client.call("monitor", "safety")["culprit"] == "rain_rate"

            client.call("plc", "scenario", {"path": rain_scenario(tmp_path / "dry.json", None)})
            clear_at = clock.now()
            wait_until(lambda: safety(sub).get("reasons") == [], timeout=10, what="the rain stopped")
            assert safety(sub)["safe"] is False and safety(sub)["culprit"] == "rain_rate"
            wait_until(lambda: safety(sub).get("safe") is True, timeout=HOLD_S / SPEED + 30, what="safe after the hold")
            assert parse_instant(safety(sub)["since"]) - clear_at >= HOLD_S

            plc.kill()
            wait_until(lambda: safety(sub).get("safe") is False, timeout=30, what="unsafe when the PLC is gone")
            assert safety(sub)["culprit"] == "plc_silent"
            conditions = client.call("monitor", "conditions")
            assert conditions["plc_error"] is not None
    finally:
        kv.stop()
