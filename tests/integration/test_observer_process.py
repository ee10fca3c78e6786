"""The observer in a real system: `pyros start` runs the broker, the K/V server, the devices on their
simulators and the observer, each in its own process, on a simulated clock 20 times faster than real time.

The test publishes `/env/safety` itself (the environment monitor's key) and drives the observer as the
majordome would: execute a sequence with a visible and a near-infrared album, abort one mid-way, and
see one refused while the weather is unsafe.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pyros.client import Client
from pyros.clock import format_instant
from pyros.db.engine import Database
from pyros.db.migrate import upgrade
from pyros.db.models import Image, ObservationSequence
from pyros.errors import TransportError
from pyros.kv.publisher import KVPublisher
from pyros.kv.subscriber import KVSubscriber
from pyros.testing import ManagedProcess, free_endpoint, wait_until
from tests.observer_fixtures import NIGHT_START, add_planned_sequence, seed_observatory

pytestmark = pytest.mark.integration

SERVICES = ("telescope", "dome", "fw_vis", "fw_nir", "cam_vis", "cam_nir", "observer")


@dataclass
class Site:
    """The running system: a client with the majordome's token, the database, the archive, K/V access."""

    client: Client
    database: Database
    archive: Path
    safety: KVPublisher
    ops: KVSubscriber

    def start(self, sequence_id: int) -> str:
        return str(self.client.call("observer", "execute", sequence_id=sequence_id)["session"])

    def wait(self, session: str) -> dict[str, Any]:
        return dict(self.client.call("observer", "wait", {"session": session, "timeout": 180.0}, timeout=200.0))

    def status(self, sequence_id: int) -> str:
        with self.database.session() as session:
            return session.get_one(ObservationSequence, sequence_id).status

    def image_paths(self, sequence_id: int) -> list[str]:
        with self.database.session() as session:
            return sorted(session.scalars(select(Image.path).where(Image.sequence_id == sequence_id)))


def site_config(tmp_path: Path, broker: str, kv: tuple[str, str, str], database: str, archive: Path) -> str:
    camera = f'driver = "sim", archive = "{archive}", min_free_mb = 1.0, nx = 64, ny = 64, readout_s = 2.0, poll_s = 1.0'
    return f"""
[broker]
endpoint = "{broker}"
bind = "{broker}"
heartbeat_interval = 0.5

[kv]
snapshot = "{kv[0]}"
publisher = "{kv[1]}"
collector = "{kv[2]}"
hugz_interval = 0.2

[database]
url = "{database}"

[clock]
mode = "simulated"
start = "{format_instant(NIGHT_START)}"
speed = 20.0

[access.tokens]
maj = "admin"

[access.names]
maj = "majordome"

[hosts.control.services.broker]
command = ["broker"]
[hosts.control.services.kv]
command = ["kv"]
[hosts.control.services.telescope]
class = "devices.telescope.service:TelescopeService"
args = {{ driver = "sim", slew_rate_deg_s = 10.0, altitude_limit_deg = 15.0, poll_s = 1.0 }}
[hosts.control.services.dome]
class = "devices.dome.service:DomeService"
args = {{ driver = "sim", rotation_speed_deg_s = 10.0, shutter_time_s = 10.0, poll_s = 1.0 }}
[hosts.control.services.fw_vis]
class = "devices.filter_wheel.service:FilterWheelService"
args = {{ name = "fw_vis", driver = "sim", filters = ["g", "r", "i", "z"], slot_time_s = 2.0, poll_s = 1.0 }}
[hosts.control.services.fw_nir]
class = "devices.filter_wheel.service:FilterWheelService"
args = {{ name = "fw_nir", driver = "sim", filters = ["J", "H", "Ks"], slot_time_s = 2.0, poll_s = 1.0 }}
[hosts.control.services.cam_vis]
class = "devices.camera.service:CameraService"
args = {{ name = "cam_vis", {camera} }}
[hosts.control.services.cam_nir]
class = "devices.camera.service:CameraService"
args = {{ name = "cam_nir", {camera}, filters = {{ J = [24.0, 50.0], H = [23.8, 120.0], Ks = [23.2, 300.0] }} }}
[hosts.control.services.observer]
class = "servers.observer:ObserverService"
args = {{ token = "maj", reply_timeout_s = 10.0 }}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp_path = tmp_path_factory.mktemp("observer-site")
    broker, snapshot, updates, collector = (free_endpoint() for _ in range(4))
    url = f"sqlite:///{tmp_path / 'pyros.db'}"
    database = Database(url)
    upgrade(database)
    seed_observatory(database)
    archive = tmp_path / "images"
    archive.mkdir()
    config = tmp_path / "site.toml"
    config.write_text(site_config(tmp_path, broker, (snapshot, updates, collector), url, archive))
    supervisor = ManagedProcess([sys.executable, "-m", "pyros", "--config", str(config), "start", "--log-dir",
                                 str(tmp_path / "logs")])
    safety = KVPublisher(collector)
    try:
        with Client(broker, token="maj", timeout=10.0, retries=0) as client, \
                KVSubscriber(snapshot, updates, "/op/observer/") as ops:
            def all_registered() -> bool:
                try:
                    return all(client.service_exists(name, timeout=1.0) for name in SERVICES)
                except TransportError:
                    return False

            wait_until(all_registered, timeout=120, what="the devices and the observer registered")
            safety.set("/env/safety", {"safe": True, "culprit": None})
            yield Site(client, database, archive, safety, ops)
    finally:
        safety.close()
        database.dispose()
        assert supervisor.stop(timeout=60) == 0


def test_a_sequence_is_executed_with_both_cameras_in_parallel(site: Site) -> None:
    sequence_id = add_planned_sequence(site.database, name="Vega demo", vis=[("g", 10.0, 2), ("r", 10.0, 1)],
                                       nir=[("J", 10.0, 2), ("Ks", 5.0, 1)])
    assert site.client.call("observer", "check", sequence_id=sequence_id) == {"ok": True}
    session_id = site.start(sequence_id)
    session = site.wait(session_id)
    assert session["success"] is True, session["message"]
    result = session["result"]
    assert (result["outcome"], result["sequence_status"]) == ("executed", "executed")
    assert site.status(sequence_id) == "executed"
    assert sorted(result["images"]) == site.image_paths(sequence_id) and len(result["images"]) == 6
    assert all(Path(path).is_file() and Path(path).is_relative_to(site.archive) for path in result["images"])
    assert {Path(p).parent.name for p in result["images"]} == {"cam_vis", "cam_nir"}
    with site.database.session() as session_db:
        rows = list(session_db.scalars(select(Image).where(Image.sequence_id == sequence_id)))
        starts = {camera: sorted(r.taken_at for r in rows if r.headers["INSTRUME"] == camera)
                  for camera in ("cam_vis", "cam_nir")}
    assert starts["cam_vis"][0] < starts["cam_nir"][-1] and starts["cam_nir"][0] < starts["cam_vis"][-1]
    wait_until(lambda: (site.ops.get("/op/observer/execute") or {}).get("session") == session_id
               and site.ops.get("/op/observer/execute")["status"] == "done", timeout=30,
               what="the session mirrored under /op/observer/execute")
    assert site.ops.get("/op/observer/execute")["data"]["images_done"] == 6


def test_an_execution_is_aborted_mid_sequence(site: Site) -> None:
    sequence_id = add_planned_sequence(site.database, name="Vega long", vis=[("i", 60.0, 4)], nir=[("H", 60.0, 4)],
                                       duration_s=1200.0)
    session_id = site.start(sequence_id)
    wait_until(lambda: (site.client.call("observer", "status", session=session_id)["data"].get("images_done")
                        or 0) >= 1, timeout=120, what="a first image")
    site.client.call("observer", "abort", session=session_id)
    session = site.wait(session_id)
    assert (session["success"], session["message"]) == (False, "aborted")
    assert (session["result"]["reason"], session["result"]["sequence_status"]) == ("aborted", "to_be_planned")
    assert site.status(sequence_id) == "to_be_planned"
    taken = site.image_paths(sequence_id)
    assert sorted(session["result"]["images"]) == taken and 1 <= len(taken) < 8
    for camera in ("cam_vis", "cam_nir"):
        assert site.client.call(camera, "info")["state"] == "idle"


def test_an_unsafe_night_refuses_the_sequence(site: Site) -> None:
    sequence_id = add_planned_sequence(site.database, name="Vega unsafe", vis=[("r", 5.0, 1)], nir=[("J", 5.0, 1)])
    site.safety.set("/env/safety", {"safe": False, "culprit": "wind_speed", "since": "2026-06-01T07:55:00Z"})
    try:
        wait_until(lambda: site.client.call("observer", "check", sequence_id=sequence_id).get("reason") == "unsafe",
                   timeout=30, what="the observer sees the unsafe verdict")
        session = site.wait(site.start(sequence_id))
        assert session["success"] is False and session["message"].startswith("Refused: unsafe: unsafe: wind_speed")
        assert (session["data"]["reason"], session["data"]["sequence_status"]) == ("unsafe", "planned")
        assert site.status(sequence_id) == "planned" and site.image_paths(sequence_id) == []
    finally:
        site.safety.set("/env/safety", {"safe": True})
