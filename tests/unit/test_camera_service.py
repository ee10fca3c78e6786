"""The camera device service on its simulator: exposures into the archive, refusals, abort, cooler."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from astropy.io import fits

from devices.camera.service import CameraService
from pyros.clock import get_clock
from pyros.service import ServiceRuntime
from tests.unit.device_support import START, fast_device, run
from tests.unit.test_service_support import call


@pytest.fixture
def camera(tmp_path: Path) -> Iterator[ServiceRuntime]:
    with fast_device(lambda: CameraService("cam_vis", archive=str(tmp_path / "images"), min_free_mb=1.0, nx=256,
                                           ny=256, readout_s=4.0, poll_s=1.0), speed=200.0) as runtime:
        yield runtime


def test_a_light_frame_lands_in_the_archive_with_its_headers(camera: ServiceRuntime) -> None:
    before = get_clock().now()
    done = run(camera, "expose", {"exposure": 30.0, "filter": "r", "object": "M31", "ra": 10.68, "dec": 41.27,
                                  "airmass": 1.2, "program": "Nearby galaxies", "request_id": 7})
    assert done["success"], done["message"]
    path = Path(done["result"]["image"])
    assert path.is_file() and path.parent.name == "cam_vis"
    with fits.open(path, checksum=True) as hdul:
        header = hdul[0].header
        assert (header["EXPTIME"], header["FILTER"], header["IMAGETYP"], header["OBJECT"]) == (30.0, "r", "LIGHT",
                                                                                              "M31")
        assert header["INSTRUME"] == "cam_vis" and header["REQID"] == 7 and header["CTYPE1"].startswith("RA---TAN")
        assert hdul[0].data.shape == (256, 256)
    assert header["DATE-OBS"] >= "2026-06-01" and get_clock().now() - before >= 34.0  # exposure + readout


def test_calibrations_binning_and_bad_input(camera: ServiceRuntime) -> None:
    bias = run(camera, "expose", {"exposure": 0.0, "type": "bias", "binning": 2})
    assert bias["success"]
    with fits.open(bias["result"]["image"]) as hdul:
        assert hdul[0].data.shape == (128, 128) and hdul[0].header["IMAGETYP"] == "BIAS"
    no_pointing = run(camera, "expose", {"exposure": 5.0, "filter": "r"})
    assert not no_pointing["success"] and "needs the pointing" in no_pointing["message"]
    unknown_filter = run(camera, "expose", {"exposure": 5.0, "filter": "B", "ra": 1.0, "dec": 1.0})
    assert "has no filter 'B'" in unknown_filter["message"]
    assert call(camera, "expose", {"exposure": -1.0}, token="maj").error.type == "BadArgument"
    assert call(camera, "expose", {"exposure": 1.0, "type": "sky"}, token="maj").error.type == "BadArgument"
    assert call(camera, "expose", {"exposure": 1.0, "type": "dark"}, token="eng").error.type == "NoControl"


def test_busy_abort_and_cooler(camera: ServiceRuntime) -> None:
    started = call(camera, "expose", {"exposure": 600.0, "type": "dark"}, token="maj")
    assert started.ok
    assert call(camera, "expose", {"exposure": 1.0, "type": "dark"}, token="maj").error.type == "Busy"
    assert call(camera, "abort", {"session": started.data["session"]}, token="maj").ok
    outcome = call(camera, "wait", {"session": started.data["session"]}, token="maj").data
    assert outcome["result"]["aborted"] is True and outcome["result"]["image"] is None
    assert call(camera, "info").data["state"] == "idle"
    cooled = call(camera, "cooler", {"on": True, "setpoint": -25.0}, token="eng").data
    assert cooled["cooler_on"] and cooled["setpoint_c"] == -25.0


def test_a_full_archive_refuses_the_exposure(tmp_path: Path) -> None:
    huge = 10 ** 12  # MiB: more than any disk has free
    with fast_device(lambda: CameraService("cam_nir", archive=str(tmp_path / "nir"), min_free_mb=huge, nx=64, ny=64,
                                           filters={"J": (24.0, 50.0)})) as runtime:
        refused = run(runtime, "expose", {"exposure": 1.0, "type": "dark"})
        assert not refused["success"] and refused["message"].startswith("ArchiveFull:")
        assert not (tmp_path / "nir").exists() or not any((tmp_path / "nir").rglob("*.fits"))


def test_clock_start_is_the_simulated_night() -> None:
    assert START == 1_780_279_200.0
