"""The observer executing sequences against the device services on their simulators, all in this process.

A broker (in a thread), a K/V server, the telescope, the dome, both filter wheels, both cameras and
the observer are served here, on a simulated clock 100 times faster than real time, so that
exposures of tens of seconds take a fraction of a second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from devices.camera.service import CameraService
from devices.dome.service import DomeService
from devices.filter_wheel.service import FilterWheelService
from devices.telescope.service import TelescopeService
from pyros.client import Client
from pyros.clock import Clock, get_clock, set_clock
from pyros.config import active_config, load_config, use_config
from pyros.db.engine import Database
from pyros.db.models import Image, ObservationSequence
from pyros.errors import CommandError
from pyros.kv.publisher import KVPublisher
from pyros.kv.server import CloneServer
from pyros.mdp.broker_core import BrokerSettings
from pyros.serve import ServiceHost
from pyros.service import AccessPolicy, Service
from pyros.testing import wait_until
from servers.broker import BrokerServer
from servers.observer import ObserverService
from tests.db_fixtures import SqliteTemplate, sqlite_template  # noqa: F401
from tests.observer_fixtures import M31, NIGHT_START, NIR_FILTERS, VIS_FILTERS, add_planned_sequence, seed_observatory

SPEED = 100.0
HEARTBEAT_S = 0.5
TOKENS = {"maj": "admin", "eng": "operator"}
NAMES = {"maj": "majordome", "eng": "engineer"}


@dataclass
class Observatory:
    """The running services, the database, a client with the majordome's token, the safety publisher."""

    database: Database
    client: Client
    safety: KVPublisher
    archive: Path
    hosts: dict[str, ServiceHost]

    def execute(self, sequence_id: int) -> dict[str, Any]:
        """Start ``observer execute`` and wait for its end; return the session map."""
        started = self.client.call("observer", "execute", sequence_id=sequence_id)
        return self.client.call("observer", "wait", {"session": started["session"], "timeout": 120.0}, timeout=150.0)

    def status(self, sequence_id: int) -> str:
        with self.database.session() as session:
            return session.get_one(ObservationSequence, sequence_id).status

    def images(self, sequence_id: int) -> list[Image]:
        with self.database.session() as session:
            rows = list(session.scalars(select(Image).where(Image.sequence_id == sequence_id).order_by(Image.id)))
            session.expunge_all()
            return rows


def _serve(service: Service, name: str, endpoint: str, kv: CloneServer) -> ServiceHost:
    return ServiceHost(service, endpoint, instance="t", service_name=name, access=AccessPolicy(TOKENS, names=NAMES),
                       heartbeat_interval=HEARTBEAT_S, kv_collector=kv.collector_endpoint).start()


@pytest.fixture
def observatory(tmp_path: Path, sqlite_template: SqliteTemplate) -> Iterator[Observatory]:  # noqa: F811
    previous_clock = get_clock()
    previous_config = active_config()
    set_clock(Clock.simulated(start=NIGHT_START, speed=SPEED))
    broker = BrokerServer("tcp://127.0.0.1:*", BrokerSettings(heartbeat_interval=HEARTBEAT_S, service_timeout=3.0))
    broker_thread = threading.Thread(target=broker.run, daemon=True)
    broker_thread.start()
    endpoint = broker.bound[0]
    kv = CloneServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", hugz_interval=0.2).start()
    url = sqlite_template.copy_to(tmp_path / "pyros.db")
    config_file = tmp_path / "site.toml"
    config_file.write_text(f"""
[broker]
endpoint = "{endpoint}"
heartbeat_interval = {HEARTBEAT_S}
[kv]
snapshot = "{kv.snapshot_endpoint}"
publisher = "{kv.publisher_endpoint}"
collector = "{kv.collector_endpoint}"
[database]
url = "{url}"
""")
    use_config(load_config(config_file, env={}))
    database = Database(url)
    seed_observatory(database)
    archive = tmp_path / "images"
    archive.mkdir()
    camera: dict[str, Any] = {"archive": str(archive), "min_free_mb": 1.0, "nx": 64, "ny": 64, "readout_s": 2.0, "poll_s": 1.0}
    services: dict[str, Service] = {
        "telescope": TelescopeService(slew_rate_deg_s=10.0, poll_s=1.0),
        "dome": DomeService(rotation_speed_deg_s=10.0, shutter_time_s=10.0, poll_s=1.0),
        "fw_vis": FilterWheelService(name="fw_vis", filters=VIS_FILTERS, slot_time_s=2.0, poll_s=1.0),
        "fw_nir": FilterWheelService(name="fw_nir", filters=NIR_FILTERS, slot_time_s=2.0, poll_s=1.0),
        "cam_vis": CameraService(name="cam_vis", **camera),
        "cam_nir": CameraService(name="cam_nir", filters={"J": [24.0, 50.0], "H": [23.8, 120.0],
                                                          "Ks": [23.2, 300.0]}, **camera),
        "observer": ObserverService(token="maj", database=url, reply_timeout_s=5.0),
    }
    hosts: dict[str, ServiceHost] = {}
    safety = KVPublisher(kv.collector_endpoint)
    client = Client(endpoint, token="maj", timeout=10.0, retries=0)
    try:
        for name, service in services.items():
            hosts[name] = _serve(service, name, endpoint, kv)
        safety.set("/env/safety", {"safe": True, "culprit": None, "since": "2026-06-01T07:00:00Z"})
        wait_until(lambda: all(client.service_exists(name) for name in services), timeout=30,
                   what="every service registered")
        yield Observatory(database, client, safety, archive, hosts)
    finally:
        client.close()
        for host in reversed(list(hosts.values())):
            host.stop()
        safety.close()
        database.dispose()
        kv.stop()
        broker.stop()
        broker_thread.join(10)
        set_clock(previous_clock)
        use_config(previous_config)


def test_vis_and_nir_albums_run_in_parallel_and_every_image_is_recorded(observatory: Observatory) -> None:
    sequence_id = add_planned_sequence(observatory.database, name="Vega both", vis=[("g", 10.0, 2), ("r", 10.0, 1)],
                                       nir=[("J", 5.0, 2), ("H", 5.0, 1)])
    session = observatory.execute(sequence_id)
    assert session["status"] == "done" and session["success"] is True, session["message"]
    result, data = session["result"], session["data"]
    assert (result["outcome"], result["reason"], result["sequence_status"]) == ("executed", None, "executed")
    assert len(result["images"]) == 6 and all(Path(path).is_file() for path in result["images"])
    assert data["phase"] == "done" and (data["images_done"], data["images_total"]) == (6, 6)
    albums = sorted(data["albums"].values(), key=lambda a: a["camera"])
    assert [(a["camera"], a["wheel"], a["done"], a["total"], a["filter"]) for a in albums] == [
        ("cam_nir", "fw_nir", 3, 3, "H"), ("cam_vis", "fw_vis", 3, 3, "r")]
    assert observatory.status(sequence_id) == "executed"

    rows = observatory.images(sequence_id)
    assert sorted(r.path for r in rows) == sorted(result["images"])
    by_camera: dict[str, list[datetime]] = {}
    for row in rows:
        by_camera.setdefault(row.headers["INSTRUME"], []).append(row.taken_at)
        assert row.headers["OBJECT"] == "Vega" and row.request_id is not None and row.album_id is not None
        assert 1.0 <= row.headers["AIRMASS"] < 1.2
    assert [r.filter_name for r in rows if r.headers["INSTRUME"] == "cam_vis"] == ["g", "g", "r"]
    vis, nir = sorted(by_camera["cam_vis"]), sorted(by_camera["cam_nir"])
    assert vis[0] < nir[-1] and nir[0] < vis[-1], "the two cameras' exposures overlap in time"

    telescope = observatory.client.call("telescope", "position")
    assert telescope["ra_deg"] == pytest.approx(279.2347, abs=0.01) and telescope["tracking"] is True
    dome = observatory.client.call("dome", "position")
    assert abs((dome["azimuth_deg"] - telescope["azimuth_deg"] + 180) % 360 - 180) < 6.0


def test_refusals_name_their_reason_and_leave_the_plan_consistent(observatory: Observatory) -> None:
    vega = add_planned_sequence(observatory.database, name="Vega", vis=[("r", 5.0, 1)], nir=[])
    low = add_planned_sequence(observatory.database, name="M31 low", target=M31, vis=[("r", 5.0, 1)], nir=[])

    observatory.safety.set("/env/safety", {"safe": False, "culprit": "rain_rate", "since": "2026-06-01T07:59:00Z"})
    wait_until(lambda: observatory.client.call("observer", "check", sequence_id=vega)["ok"] is False,
               what="the observer sees the unsafe verdict")
    session = observatory.execute(vega)
    assert session["success"] is False and session["message"].startswith("Refused: unsafe: unsafe: rain_rate")
    assert (session["data"]["outcome"], session["data"]["reason"]) == ("refused", "unsafe")
    assert observatory.status(vega) == "planned" and observatory.images(vega) == []

    observatory.safety.set("/env/safety", {"safe": True})
    wait_until(lambda: observatory.client.call("observer", "check", sequence_id=vega) == {"ok": True},
               what="the observer sees the safe verdict")
    session = observatory.execute(low)
    assert session["success"] is False and session["data"]["reason"] == "below_airmass_limit"
    assert "limit is 2" in session["data"]["detail"]
    assert session["data"]["sequence_status"] == "to_be_planned" == observatory.status(low)

    session = observatory.execute(low)  # no longer planned
    assert session["data"]["reason"] == "not_planned"
    assert observatory.client.call("observer", "check", sequence_id=9999) == {
        "ok": False, "reason": "not_planned", "detail": "there is no sequence 9999"}

    observatory.hosts.pop("cam_vis").stop()
    wait_until(lambda: not observatory.client.service_exists("cam_vis"), what="cam_vis gone")
    session = observatory.execute(vega)
    assert session["data"]["reason"] == "device_unavailable" and "cam_vis (no live service)" in session["data"]["detail"]
    assert observatory.status(vega) == "planned"

    with pytest.raises(CommandError) as refused:
        observatory.client.call("observer", "execute", sequence_id=vega, token="nobody")
    assert refused.value.type == "AccessDenied"


def test_abort_mid_sequence_stops_the_cameras_and_puts_the_sequence_back(observatory: Observatory) -> None:
    sequence_id = add_planned_sequence(observatory.database, name="Vega long", vis=[("i", 60.0, 5)],
                                       nir=[("Ks", 60.0, 5)], duration_s=1200.0)
    started = observatory.client.call("observer", "execute", sequence_id=sequence_id)
    wait_until(lambda: (observatory.client.call("observer", "status", session=started["session"])["data"]
                        .get("images_done") or 0) >= 1, timeout=60, what="a first image")
    observatory.client.call("observer", "abort", session=started["session"])
    session = observatory.client.call("observer", "wait", {"session": started["session"], "timeout": 60.0},
                                      timeout=90.0)
    assert session["status"] == "done" and session["success"] is False and session["message"] == "aborted"
    result = session["result"]
    assert (result["outcome"], result["reason"], result["sequence_status"]) == ("interrupted", "aborted",
                                                                                "to_be_planned")
    assert observatory.status(sequence_id) == "to_be_planned"
    assert 1 <= len(result["images"]) < 10
    for camera in ("cam_vis", "cam_nir"):
        assert observatory.client.call(camera, "info")["state"] == "idle"
    rows = observatory.images(sequence_id)
    assert sorted(r.path for r in rows) == sorted(result["images"])
    assert len(list(observatory.archive.rglob("*.fits*"))) == len(rows), "an aborted exposure stores nothing"


def test_a_silent_camera_fails_the_sequence_naming_it(observatory: Observatory) -> None:
    sequence_id = add_planned_sequence(observatory.database, name="Vega", vis=[("r", 5.0, 2)], nir=[("J", 5.0, 2)])
    observatory.client.call("cam_nir", "inject_fault", fault={"fault": "silence", "seconds": 36000})
    session = observatory.execute(sequence_id)
    assert session["success"] is False and session["message"].startswith("SequenceFailed: device_unavailable: cam_nir")
    data = session["data"]
    assert (data["outcome"], data["reason"], data["device"]) == ("failed", "device_unavailable", "cam_nir")
    assert data["sequence_status"] == "failed" == observatory.status(sequence_id)
    assert observatory.client.call("cam_vis", "info")["state"] == "idle"
