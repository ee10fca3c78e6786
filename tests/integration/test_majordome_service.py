"""The majordome with real processes: it opens at night when safe, closes on unsafe, reopens, audits.

The environment monitor's verdict (``/env/safety``) is published by the test,
as the monitor would, so that safety can be switched at will; the dome and
the telescope are the real device services on their simulators.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pyros.clock import Clock, format_instant
from pyros.db.engine import Database
from pyros.db.models import AuditEntry
from pyros.kv.publisher import KVPublisher
from pyros.kv.server import CloneServer
from pyros.kv.subscriber import KVSubscriber
from pyros.testing import BrokerProcess, ManagedProcess, wait_until
from tests.integration.site import device_site_toml, run_pyros

pytestmark = pytest.mark.integration

NIGHT_INSTANT = "2025-03-02T07:00:00+00:00"  # midnight at San Pedro Martir


class SafetyPublisher:
    """Publishes ``/env/safety`` every 0.2 s with the observatory time, like the monitor."""

    def __init__(self, collector: str, clock: Clock) -> None:
        self.publisher = KVPublisher(collector)
        self.clock = clock
        self.safe = True
        self.culprit: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SafetyPublisher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.publisher.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.publisher.set("/env/safety", {"safe": self.safe, "culprit": self.culprit,
                                               "time": format_instant(self.clock.now())})
            self._stop.wait(0.2)


def serve(config: Path, target: str, *args: str) -> ManagedProcess:
    command = [sys.executable, "-m", "pyros", "--config", str(config), "serve", target]
    for arg in args:
        command += ["--arg", arg]
    return ManagedProcess(command)


def audited(database: Database, action: str) -> list[dict[str, Any]]:
    with database.session() as session:
        return [row.details for row in session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                                       .order_by(AuditEntry.id))]


def test_opens_when_safe_closes_when_unsafe_and_reopens(broker: BrokerProcess, kv_server: CloneServer,
                                                        tmp_path: Path) -> None:
    kv = kv_server
    anchor = time.time()
    clock = Clock.simulated(NIGHT_INSTANT, 1.0, anchor)
    database_url = f"sqlite:///{tmp_path / 'pyros.db'}"
    config = tmp_path / "site.toml"
    config.write_text(device_site_toml(broker, kv, f"""
[database]
url = "{database_url}"

[clock]
mode = "simulated"
start = "{NIGHT_INSTANT}"
speed = 1.0
anchor = {anchor}
"""))
    dome = serve(config, "devices.dome.service:DomeService", "shutter_time_s=1.0", "rotation_speed_deg_s=90",
                 "poll_s=0.1")
    telescope = serve(config, "devices.telescope.service:TelescopeService", "slew_rate_deg_s=30")
    majordome = serve(config, "servers.majordome:MajordomeService", "token=maj", "tick_s=0.5",
                      "command_timeout_s=60")
    with SafetyPublisher(kv.collector_endpoint, clock) as safety, dome, telescope, majordome, \
            KVSubscriber(kv.snapshot_endpoint, kv.publisher_endpoint) as sub:
        def state() -> str | None:
            value = sub.get("/majordome/state")
            return value.get("state") if isinstance(value, dict) else None

        wait_until(lambda: sub.get("/device/dome/shutter") == "open", timeout=60, what="dome opened")
        wait_until(lambda: sub.get("/device/telescope/parked") is False, timeout=30, what="telescope unparked")
        wait_until(lambda: state() == "night_idle", timeout=10, what="night_idle")

        safety.safe, safety.culprit = False, "rain_rate"
        wait_until(lambda: sub.get("/device/dome/shutter") == "closed", timeout=20, what="dome closed")
        wait_until(lambda: sub.get("/device/telescope/parked") is True, timeout=30, what="telescope parked")
        wait_until(lambda: state() == "closed_unsafe", timeout=10, what="closed_unsafe")

        # A manual open while unsafe is refused (the lease holder is an operator, not an admin).
        run_pyros(config, "call", "--token", "eng", "majordome", "acquire_lease", "seconds=60")
        refused = run_pyros(config, "call", "--token", "eng", "majordome", "manual", "service=dome",
                            "command=open")
        assert refused.returncode != 0 and "rain_rate" in refused.stderr
        run_pyros(config, "call", "--token", "eng", "majordome", "release_lease")

        safety.safe, safety.culprit = True, None
        wait_until(lambda: sub.get("/device/dome/shutter") == "open", timeout=30, what="dome reopened")

    database = Database(database_url)
    transitions = [(t["from"], t["to"]) for t in audited(database, "majordome.transition")]
    assert any("rain_rate" in t["reason"] for t in audited(database, "majordome.transition"))
    assert ("night_idle", "unsafe_closing") in transitions or ("night_idle", "closed_unsafe") in transitions
    commands = [(c["service"], c["command"]) for c in audited(database, "majordome.command")]
    assert commands.count(("dome", "close")) == 1, commands
    assert commands.count(("dome", "open")) == 2, commands
    assert audited(database, "majordome.manual_refused")
    database.dispose()
