"""The image archive: night directories, unique names, the disk guard, bad input."""

from __future__ import annotations

import dataclasses
import shutil
import threading
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest
from astropy.io import fits

from devices.camera import image_archive
from devices.camera.field_wcs import build_wcs
from devices.camera.header_values import HeaderValues
from devices.camera.image_archive import ArchiveFull, ImageArchive
from devices.camera.image_geometry import ImageGeometry
from devices.camera.image_type import ImageType
from pyros.clock import parse_instant

GEOMETRY = ImageGeometry(10.0, 20.0, 0.0, 1.0, 64, 48)
IMAGE = (np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) + 1000)


def values_at(instant: str, **changes: Any) -> HeaderValues:
    values = HeaderValues(
        date_obs=parse_instant(instant), exptime_s=10.0, image_type=ImageType.LIGHT, filter_name="R",
        object_name="field", ra_deg=10.0, dec_deg=20.0, airmass=1.3, telescope="T1", instrument="cam_vis",
        observatory="Site", site_latitude_deg=-30.0, site_longitude_deg=-70.0, site_elevation_m=2000.0,
        xbinning=1, ybinning=1, gain_e_per_adu=1.0, read_noise_e=5.0, ccd_temperature_c=-20.0)
    return dataclasses.replace(values, **changes) if changes else values


class Usage(NamedTuple):
    total: int
    used: int
    free: int


def fake_disk(free: Callable[[], int]) -> Callable[[Any], Usage]:
    return lambda path: Usage(10**12, 10**12 - free(), free())


# ---------------------------------------------------------------------------------------------- layout


def test_frames_go_to_root_night_instrument_name(tmp_path: Path) -> None:
    archive = ImageArchive(tmp_path / "archive", min_free_bytes=0)
    values = values_at("2024-06-02T03:10:00.5Z")
    path = archive.store(IMAGE, values, build_wcs(GEOMETRY))
    assert path == tmp_path / "archive" / "2024-06-01" / "cam_vis" / "cam_vis_20240602T031000.500_LIGHT_R.fits"
    with fits.open(path, checksum=True) as hdus:
        np.testing.assert_array_equal(hdus[0].data, IMAGE)
        assert hdus[0].header["DATE-OBS"] == "2024-06-02T03:10:00.500"


@pytest.mark.parametrize("longitude, instant, night", [
    (0.0, "2024-06-01T13:00:00Z", date(2024, 6, 1)),     # afternoon: tonight
    (0.0, "2024-06-02T11:59:00Z", date(2024, 6, 1)),     # late morning: still last night
    (0.0, "2024-06-02T12:00:00Z", date(2024, 6, 2)),     # noon: the next night's day
    (-70.0, "2024-06-01T23:30:00Z", date(2024, 6, 1)),   # Chile, 19:50 local mean time
    (-70.0, "2024-06-02T09:30:00Z", date(2024, 6, 1)),   # Chile, 04:50 next morning
    (120.0, "2024-06-01T11:00:00Z", date(2024, 6, 1)),   # China, 19:00 local: UTC - 12 h would say May 31
    (120.0, "2024-06-01T21:00:00Z", date(2024, 6, 1)),   # China, 05:00 next morning
])
def test_night_is_the_local_date_of_the_evening(tmp_path: Path, longitude: float, instant: str, night: date) -> None:
    archive = ImageArchive(tmp_path, min_free_bytes=0, site_longitude_deg=longitude)
    assert archive.night_of(parse_instant(instant)) == night


def test_an_explicit_night_and_name_are_used(tmp_path: Path) -> None:
    archive = ImageArchive(tmp_path, min_free_bytes=0)
    path = archive.store(IMAGE, values_at("2024-06-02T03:10:00Z"), None, name="focus-run_01", night=date(2024, 5, 31))
    assert path == tmp_path / "2024-05-31" / "cam_vis" / "focus-run_01.fits"


def test_default_names_replace_unsafe_characters(tmp_path: Path) -> None:
    values = values_at("2024-06-02T03:10:00Z", filter_name="H alpha/6563", image_type="flat")
    assert ImageArchive.default_name(values) == "cam_vis_20240602T031000.000_FLAT_H-alpha-6563"


def test_names_are_never_reused(tmp_path: Path) -> None:
    archive = ImageArchive(tmp_path, min_free_bytes=0)
    values = values_at("2024-06-02T03:10:00Z")
    first = archive.store(IMAGE, values, None, name="frame")
    content = first.read_bytes()
    second = archive.store(IMAGE + 1, values, None, name="frame")
    third = archive.store(IMAGE + 2, values, None, name="frame")
    assert [first.name, second.name, third.name] == ["frame.fits", "frame_2.fits", "frame_3.fits"]
    assert first.read_bytes() == content
    assert int(fits.getdata(third)[0, 0]) == 1002


def test_concurrent_writers_get_distinct_complete_files(tmp_path: Path) -> None:
    archive = ImageArchive(tmp_path, min_free_bytes=0)
    values = values_at("2024-06-02T03:10:00Z")
    paths: list[Path] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(offset: int) -> None:
        try:
            start.wait(timeout=30)
            paths.append(archive.store(IMAGE + offset, values, None, name="same"))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and not any(thread.is_alive() for thread in threads)
    assert len(set(paths)) == 8
    offsets = sorted(int(fits.getdata(path, checksum=True)[0, 0]) - 1000 for path in paths)
    assert offsets == list(range(8))
    assert sorted(p.name for p in paths[0].parent.iterdir()) == sorted(p.name for p in paths)


# ---------------------------------------------------------------------------------------------- disk guard


def test_check_space_refuses_when_the_frame_would_cross_the_limit(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    archive = ImageArchive(tmp_path, min_free_bytes=1_000_000)
    monkeypatch.setattr(image_archive.shutil, "disk_usage", fake_disk(lambda: 1_500_000))
    assert archive.check_space(500_000) == 1_500_000  # exactly at the limit: accepted
    with pytest.raises(ArchiveFull) as refused:
        archive.check_space(500_001)
    assert refused.value.free_bytes == 1_500_000
    assert refused.value.required_bytes == 1_500_001
    assert "1500000 bytes" in str(refused.value) and "1500001 bytes" in str(refused.value)
    assert str(tmp_path) in str(refused.value)


def test_store_refuses_a_frame_on_a_full_disk_and_writes_nothing(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    archive = ImageArchive(tmp_path, min_free_bytes=10_000_000)
    frame_bytes = ImageArchive.expected_bytes(IMAGE.shape)
    free = [10_000_000 + frame_bytes]
    monkeypatch.setattr(image_archive.shutil, "disk_usage", fake_disk(lambda: free[0]))
    archive.check_space(frame_bytes)  # before the exposure: room enough
    free[0] = 10_000_000 + 100  # the disk filled up during the exposure
    with pytest.raises(ArchiveFull, match="required"):
        archive.store(IMAGE, values_at("2024-06-02T03:10:00Z"), build_wcs(GEOMETRY))
    assert list(tmp_path.iterdir()) == []


def test_expected_bytes_is_never_below_the_file_size(tmp_path: Path) -> None:
    archive = ImageArchive(tmp_path, min_free_bytes=0)
    path = archive.store(IMAGE, values_at("2024-06-02T03:10:00Z"), build_wcs(GEOMETRY))
    size = path.stat().st_size
    assert size <= ImageArchive.expected_bytes(IMAGE.shape) <= size + 5 * 2880


def test_real_disk_usage_is_read(tmp_path: Path) -> None:
    archive = ImageArchive(tmp_path, min_free_bytes=0)
    assert archive.free_bytes() == pytest.approx(shutil.disk_usage(tmp_path).free, rel=0.01)
    with pytest.raises(ArchiveFull):
        ImageArchive(tmp_path, min_free_bytes=2**62).check_space(0)


# ---------------------------------------------------------------------------------------------- bad input


def test_bad_archive_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="min_free_bytes"):
        ImageArchive(tmp_path, min_free_bytes=-1)
    with pytest.raises(TypeError, match="min_free_bytes"):
        ImageArchive(tmp_path, min_free_bytes=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="site_longitude_deg"):
        ImageArchive(tmp_path, min_free_bytes=0, site_longitude_deg=200.0)
    with pytest.raises(TypeError, match="root"):
        ImageArchive(None, min_free_bytes=0)  # type: ignore[arg-type]
    archive = ImageArchive(tmp_path, min_free_bytes=0)
    with pytest.raises(ValueError, match="expected_bytes"):
        archive.check_space(-1)
    with pytest.raises(ValueError, match="date_obs"):
        archive.night_of(float("nan"))
    with pytest.raises(TypeError, match="night"):
        archive.directory(datetime(2024, 6, 1, tzinfo=timezone.utc), "cam_vis")


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "", "x" * 101, "white space"])
def test_unsafe_names_are_refused(tmp_path: Path, name: str) -> None:
    archive = ImageArchive(tmp_path, min_free_bytes=0)
    with pytest.raises(ValueError, match="not a safe file name"):
        archive.store(IMAGE, values_at("2024-06-02T03:10:00Z"), None, name=name)
    assert list(tmp_path.iterdir()) == []


def test_unsafe_instrument_names_are_refused(tmp_path: Path) -> None:
    archive = ImageArchive(tmp_path, min_free_bytes=0)
    with pytest.raises(ValueError, match="instrument"):
        archive.store(IMAGE, values_at("2024-06-02T03:10:00Z", instrument="../cam"), None)
    assert list(tmp_path.iterdir()) == []
