"""The camera service with ``driver = "indi"`` against INDI's CCD simulator.

A real ``indiserver`` (see :mod:`tests.integration.indi_server`) runs ``indi_simulator_ccd`` on a free
loopback port; the camera is driven through :class:`~devices.camera.service.CameraService` in a
:class:`~pyros.service.ServiceRuntime`, as the majordome, on the real clock. A second INDI client with
BLOBs enabled receives the same frames, to check that the archive holds the simulator's pixels.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits

from devices.camera.indi import IndiCamera
from devices.camera.service import CameraService, make_driver
from devices.common.faults import DeviceDisconnected
from pyros.clock import get_clock
from pyros.indi import Blob, BlobMode, IndiClient, PropertyState
from pyros.service import AccessPolicy, ServiceRuntime
from pyros.testing import free_port, wait_until
from tests.integration.indi_server import CCD, MOTION_TIMEOUT, START_TIMEOUT, IndiServer
from tests.integration.indi_server import real_clock  # noqa: F401  (autouse fixture)
from tests.unit.device_support import NAMES, TOKENS
from tests.unit.test_service_support import call

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def indiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndiServer]:
    server = IndiServer(tmp_path_factory.mktemp("indi_camera"), ("indi_simulator_ccd",))
    yield server
    server.stop()


@pytest.fixture()
def watcher(indiserver: IndiServer) -> Iterator[IndiClient]:
    """Another client of the same server, receiving the CCD's frames."""
    client = IndiClient("127.0.0.1", indiserver.port, connect_timeout=START_TIMEOUT)
    client.connect()
    client.connect_device(CCD, timeout=START_TIMEOUT)
    client.wait_for(CCD, "CCD1", None, START_TIMEOUT)
    client.enable_blob(CCD, "CCD1", BlobMode.ALSO)
    yield client
    client.close()


@pytest.fixture()
def camera(indiserver: IndiServer, tmp_path: Path) -> Iterator[tuple[CameraService, ServiceRuntime]]:
    service = CameraService(name="cam_indi", driver="indi", archive=str(tmp_path / "archive"), min_free_mb=1.0,
                            poll_s=0.1, timeout_s=MOTION_TIMEOUT, host="127.0.0.1", port=indiserver.port,
                            device=CCD, connect_timeout_s=START_TIMEOUT, reply_timeout_s=START_TIMEOUT,
                            readout_timeout_s=MOTION_TIMEOUT, gain_e_per_adu=1.5, read_noise_e=8.0)
    runtime = ServiceRuntime(service, access=AccessPolicy(TOKENS, names=NAMES))
    runtime.start()
    yield service, runtime
    runtime.close()
    service.driver.close()


def start(runtime: ServiceRuntime, args: dict[str, Any]) -> str:
    started = call(runtime, "expose", args, token="maj")
    assert started.ok, started.error
    session: str = started.data["session"]
    return session


def wait(runtime: ServiceRuntime, session: str) -> dict[str, Any]:
    waited = call(runtime, "wait", {"session": session, "timeout": MOTION_TIMEOUT}, token="maj")
    assert waited.ok, waited.error
    outcome: dict[str, Any] = waited.data
    assert outcome["status"] != "running", f"expose still running after {MOTION_TIMEOUT} s: {outcome}"
    return outcome


def frame_after(watcher: IndiClient, mark: int) -> np.ndarray:
    vector = watcher.wait_for(CCD, "CCD1", lambda v: v.state is PropertyState.OK, MOTION_TIMEOUT, after=mark)
    blob = vector.value("CCD1")
    assert isinstance(blob, Blob)
    with fits.open(io.BytesIO(blob.data)) as hdus:
        return np.array(hdus[0].data)


def test_light_frame_is_archived_with_our_headers_and_the_simulators_pixels(
        camera: tuple[CameraService, ServiceRuntime], watcher: IndiClient) -> None:
    service, runtime = camera
    mark = watcher.sequence
    before = get_clock().now()
    outcome = wait(runtime, start(runtime, {"exposure": 1.0, "type": "light", "filter": "r", "object": "M 42",
                                            "ra": 83.82, "dec": -5.39, "request_id": 17}))
    assert outcome["success"] is True, outcome
    path = Path(outcome["result"]["image"])
    assert path.is_file() and path.suffix == ".fits"
    assert service.driver.archive.root in path.parents
    with fits.open(path) as hdus:
        header, data = hdus[0].header, np.array(hdus[0].data)
    assert header["EXPTIME"] == pytest.approx(1.0)
    assert header["IMAGETYP"].strip().upper() == "LIGHT"
    assert header["INSTRUME"] == "cam_indi"
    assert header["FILTER"] == "r" and header["OBJECT"] == "M 42"
    assert header["RA"] == pytest.approx(83.82) and header["DEC"] == pytest.approx(-5.39)
    date_obs = datetime.fromisoformat(header["DATE-OBS"]).replace(tzinfo=timezone.utc).timestamp()
    assert before - 1.0 <= date_obs <= before + 30.0
    expected = frame_after(watcher, mark)
    assert data.shape == expected.shape == (1024, 1280)
    np.testing.assert_array_equal(data, expected)
    info = call(runtime, "info", token="maj").data
    assert info["state"] == "idle" and info["images"] == 1 and info["last_image"] == str(path)


def test_bias_is_sent_at_the_shortest_exposure(camera: tuple[CameraService, ServiceRuntime]) -> None:
    service, runtime = camera
    outcome = wait(runtime, start(runtime, {"exposure": 0.0, "type": "bias"}))
    assert outcome["success"] is True, outcome
    with fits.open(outcome["result"]["image"]) as hdus:
        header = hdus[0].header
        assert hdus[0].data.shape == (1024, 1280)
    assert header["IMAGETYP"].strip().upper() == "BIAS"
    assert header["EXPTIME"] == pytest.approx(0.01)   # the simulator's minimum exposure
    frame_type = service.driver.link.read("CCD_FRAME_TYPE")
    assert frame_type.switches_on() == ("FRAME_BIAS",)


def test_abort_abandons_the_exposure(camera: tuple[CameraService, ServiceRuntime]) -> None:
    service, runtime = camera
    session = start(runtime, {"exposure": 30.0, "type": "dark"})
    wait_until(lambda: service.driver.status().state == "exposing", timeout=START_TIMEOUT,
               what="the dark exposure running")
    aborted = call(runtime, "abort", {"session": session}, token="maj")
    assert aborted.ok, aborted.error
    outcome = wait(runtime, session)
    assert outcome["result"]["aborted"] is True and outcome["result"]["image"] is None, outcome
    status = service.driver.status()
    assert status.state == "idle" and status.images == 0
    exposure = service.driver.link.read("CCD_EXPOSURE")
    assert exposure.state is not PropertyState.BUSY
    assert not any(service.driver.archive.root.rglob("*.fits"))


def test_light_frame_without_pointing_is_refused(camera: tuple[CameraService, ServiceRuntime]) -> None:
    _service, runtime = camera
    outcome = wait(runtime, start(runtime, {"exposure": 1.0, "type": "light"}))
    assert outcome["success"] is False and "needs the pointing" in outcome["message"], outcome


def test_cooler_sets_the_ccd_temperature(camera: tuple[CameraService, ServiceRuntime]) -> None:
    service, runtime = camera
    reply = call(runtime, "cooler", {"on": True, "setpoint": -5.0}, token="maj")
    assert reply.ok, reply.error
    assert reply.data["cooler_on"] is True and reply.data["setpoint_c"] == -5.0
    wait_until(lambda: service.driver.status().temperature_c < 0.0, timeout=MOTION_TIMEOUT,
               what="the CCD cooling below 0 degC")
    off = call(runtime, "cooler", {"on": False}, token="maj")
    assert off.ok and off.data["cooler_on"] is False, off


def test_unknown_option_and_unreachable_server(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="camera driver 'indi'.*colour"):
        make_driver("cam", "indi", str(tmp_path), 1.0, {"colour": "red"})
    with pytest.raises(ValueError, match="readout_timeout_s"):
        make_driver("cam", "indi", str(tmp_path), 1.0, {"readout_timeout_s": -1.0})
    driver = make_driver("cam", "indi", str(tmp_path), 1.0, {"port": free_port(), "connect_timeout_s": 5.0})
    assert isinstance(driver, IndiCamera)
    with pytest.raises(DeviceDisconnected, match="cannot connect"):
        driver.status()
