"""FITS files of frames: complete headers, WCS, checksums, atomic writes, bad input."""

from __future__ import annotations

import dataclasses
import os
import stat
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS

from devices.camera.detector import Detector
from devices.camera.field_wcs import build_wcs
from devices.camera.filter_band import FilterBand
from devices.camera.fits_writer import build_hdu, fits_file_bytes, write_fits
from devices.camera.header_values import HeaderValues
from devices.camera.image_geometry import ImageGeometry
from devices.camera.image_type import ImageType
from devices.camera.render import render_image
from devices.camera.stars import Stars
from pyros.clock import Clock

GEOMETRY = ImageGeometry(202.4696, 47.1952, 12.0, 0.9, 320, 240, binning=2)
DETECTOR = Detector(gain_e_per_adu=1.6, read_noise_e=9.0, bias_adu=900.0, dark_current_e_per_s=0.02)
BAND = FilterBand("V", zero_point_mag=23.5, sky_background_e_per_s=20.0)
# A simulated observatory clock, years away from the wall clock.
CLOCK = Clock.simulated("2031-03-04T22:15:30.125Z", speed=50.0)


def make_values(**changes: Any) -> HeaderValues:
    values = HeaderValues(
        date_obs=CLOCK.now(), exptime_s=30.0, image_type=ImageType.LIGHT, filter_name="V", object_name="M 51",
        ra_deg=202.4696, dec_deg=47.1952, airmass=1.0712, telescope="PyROS-1m", instrument="cam_vis",
        observatory="Test Site", site_latitude_deg=43.6, site_longitude_deg=1.44, site_elevation_m=2870.0,
        xbinning=2, ybinning=2, gain_e_per_adu=1.6, read_noise_e=9.0, ccd_temperature_c=-60.0,
        program="P42", request_id=1234, sequence_id=5, album_id="A1", plan_id=7)
    return dataclasses.replace(values, **changes) if changes else values


def make_image(seed: int = 3) -> np.ndarray:
    star = Stars(np.array([202.47]), np.array([47.195]), np.array([13.0]), np.array([1]))
    return render_image(GEOMETRY, exposure_s=30.0, image_type="light", band=BAND, detector=DETECTOR,
                        seeing_fwhm_arcsec=2.0, rng=np.random.default_rng(seed), sky=star)


@pytest.fixture(autouse=True)
def _fits_warnings_are_errors() -> Any:
    """A truncated comment or a failed verification is a bug here, not a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", fits.verify.VerifyWarning)
        yield


def read_strictly(path: Path) -> fits.HDUList:
    """Open with checksum verification; any verification warning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fits.open(path, checksum=True)


def test_header_is_complete_and_correct(tmp_path: Path) -> None:
    values = make_values()
    image = make_image()
    path = tmp_path / "frame.fits"
    write_fits(path, image, values, build_wcs(GEOMETRY))
    with read_strictly(path) as hdus:
        header = hdus[0].header
        np.testing.assert_array_equal(hdus[0].data, image)
        assert hdus[0].data.dtype == np.uint16
    expected = {
        "DATE-OBS": values.date_obs_iso, "TIMESYS": "UTC", "EXPTIME": 30.0, "IMAGETYP": "LIGHT", "FILTER": "V",
        "OBJECT": "M 51", "RA": 202.4696, "DEC": 47.1952, "AIRMASS": 1.0712, "TELESCOP": "PyROS-1m",
        "INSTRUME": "cam_vis", "OBSERVAT": "Test Site", "SITELAT": 43.6, "SITELONG": 1.44, "SITEELEV": 2870.0,
        "XBINNING": 2, "YBINNING": 2, "GAIN": 1.6, "RDNOISE": 9.0, "CCD-TEMP": -60.0, "PROGRAM": "P42",
        "REQID": 1234, "SEQID": 5, "ALBUMID": "A1", "PLANID": 7, "BUNIT": "adu", "ORIGIN": "PyROS",
        "NAXIS1": 160, "NAXIS2": 120, "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "RADESYS": "ICRS",
        "CRPIX1": 80.5, "CRPIX2": 60.5, "CRVAL1": 202.4696, "CRVAL2": 47.1952,
    }
    for keyword, value in expected.items():
        assert header[keyword] == value, keyword
    for keyword in ("CD1_1", "CD1_2", "CD2_1", "CD2_2", "MJD-OBS", "CHECKSUM", "DATASUM", "LONPOLE", "LATPOLE"):
        assert keyword in header, keyword
    assert "PC1_1" not in header and "CDELT1" not in header
    for card in header.cards:
        assert card.comment.strip(), f"card {card.keyword} has no comment"


def test_date_obs_comes_from_the_observatory_clock(tmp_path: Path) -> None:
    values = make_values(date_obs=Clock.simulated("2031-03-04T22:15:30.125Z", speed=1.0, anchor=0.0,
                                                  wall=lambda: 0.0).now())
    path = tmp_path / "frame.fits"
    write_fits(path, make_image(), values, build_wcs(GEOMETRY))
    header = fits.getheader(path)
    assert header["DATE-OBS"] == "2031-03-04T22:15:30.125"
    mjd = (datetime(2031, 3, 4, 22, 15, 30, 125000) - datetime(1858, 11, 17)).total_seconds() / 86400.0
    assert header["MJD-OBS"] == pytest.approx(mjd, abs=1e-9)


def test_wcs_read_back_from_the_file_matches_the_rendering_wcs(tmp_path: Path) -> None:
    wcs = build_wcs(GEOMETRY)
    path = tmp_path / "frame.fits"
    write_fits(path, make_image(), make_values(), wcs)
    read = WCS(fits.getheader(path))
    pixels = np.array([[0.0, 0.0], [159.0, 119.0], [80.3, 10.7], [-5.0, 130.0]])
    np.testing.assert_allclose(read.wcs_pix2world(pixels, 0), wcs.wcs_pix2world(pixels, 0), rtol=0, atol=1e-10)


def test_checksum_verifies_and_detects_a_corrupted_byte(tmp_path: Path) -> None:
    path = tmp_path / "frame.fits"
    size = write_fits(path, make_image(), make_values(), build_wcs(GEOMETRY))
    assert size == path.stat().st_size
    with read_strictly(path) as hdus:
        assert hdus[0].verify_checksum() == 1 and hdus[0].verify_datasum() == 1
    raw = bytearray(path.read_bytes())
    raw[-2880 * 2] ^= 0x01  # a byte of pixel data
    path.write_bytes(bytes(raw))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fits.open(path, checksum=True):
            pass
    failures = [str(warning.message) for warning in caught if issubclass(warning.category, AstropyUserWarning)]
    assert any("Checksum verification failed" in message for message in failures), failures
    assert any("Datasum verification failed" in message for message in failures), failures


def test_same_frame_gives_the_same_bytes(tmp_path: Path) -> None:
    image, values, wcs = make_image(), make_values(), build_wcs(GEOMETRY)
    write_fits(tmp_path / "a.fits", image, values, wcs)
    write_fits(tmp_path / "b.fits", image, values, wcs)
    assert (tmp_path / "a.fits").read_bytes() == (tmp_path / "b.fits").read_bytes()


def test_predicted_size_is_the_file_size(tmp_path: Path) -> None:
    image = make_image()
    hdu = build_hdu(image, make_values(), build_wcs(GEOMETRY))
    cards = len(hdu.header.cards)
    size = write_fits(tmp_path / "frame.fits", image, make_values(), build_wcs(GEOMETRY))
    assert size == hdu.filebytes() == fits_file_bytes(image.shape, image.dtype, cards)


def test_calibration_frames_need_no_wcs_nor_airmass(tmp_path: Path) -> None:
    image = render_image(GEOMETRY, exposure_s=0.0, image_type="bias", band=BAND, detector=DETECTOR,
                         seeing_fwhm_arcsec=2.0, rng=np.random.default_rng(1))
    values = make_values(image_type="bias", exptime_s=0.0, airmass=None, object_name="", program=None,
                         request_id=None, sequence_id=None, album_id=None, plan_id=None, ccd_temperature_c=None)
    path = tmp_path / "bias.fits"
    write_fits(path, image, values, None)
    with read_strictly(path) as hdus:
        header = hdus[0].header
        assert header["IMAGETYP"] == "BIAS"
        for keyword in ("AIRMASS", "PROGRAM", "REQID", "SEQID", "ALBUMID", "PLANID", "CCD-TEMP"):
            assert keyword in header and header[keyword] is None, keyword  # undefined value
        assert "CTYPE1" not in header


def test_float_frames_can_be_written(tmp_path: Path) -> None:
    image = np.linspace(0.0, 1.0, 12, dtype=np.float32).reshape(3, 4)
    path = tmp_path / "float.fits"
    write_fits(path, image, make_values(), None)
    with read_strictly(path) as hdus:
        np.testing.assert_array_equal(hdus[0].data, image)


def test_files_are_readable_by_everyone(tmp_path: Path) -> None:
    path = tmp_path / "frame.fits"
    write_fits(path, make_image(), make_values(), build_wcs(GEOMETRY))
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# ---------------------------------------------------------------------------------------------- atomicity


def test_existing_file_is_not_overwritten_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "frame.fits"
    write_fits(path, make_image(1), make_values(), build_wcs(GEOMETRY))
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        write_fits(path, make_image(2), make_values(), build_wcs(GEOMETRY))
    assert path.read_bytes() == before
    write_fits(path, make_image(2), make_values(), build_wcs(GEOMETRY), overwrite=True)
    with read_strictly(path) as hdus:
        np.testing.assert_array_equal(hdus[0].data, make_image(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frame.fits"]


def test_failure_while_writing_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def write_half_then_fail(self: fits.PrimaryHDU, stream: Any, *args: Any, **kwargs: Any) -> None:
        stream.write(b"SIMPLE  =                    T" + b" " * 2000)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fits.PrimaryHDU, "writeto", write_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        write_fits(tmp_path / "frame.fits", make_image(), make_values(), build_wcs(GEOMETRY))
    assert list(tmp_path.iterdir()) == []


def test_failure_to_sync_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="Input/output"):
        write_fits(tmp_path / "frame.fits", make_image(), make_values(), build_wcs(GEOMETRY))
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "frame.fits"
    write_fits(path, make_image(1), make_values(), build_wcs(GEOMETRY))
    before = path.read_bytes()

    def write_half_then_fail(self: fits.PrimaryHDU, stream: Any, *args: Any, **kwargs: Any) -> None:
        stream.write(b"X" * 2880)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fits.PrimaryHDU, "writeto", write_half_then_fail)
    with pytest.raises(OSError):
        write_fits(path, make_image(2), make_values(), build_wcs(GEOMETRY), overwrite=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["frame.fits"]


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("image, message", [
    (np.zeros((2, 3, 4), dtype=np.uint16), "two-dimensional"),
    (np.zeros((0, 4), dtype=np.uint16), "non-empty"),
    (np.zeros((3, 4), dtype=np.int64), "pixel type int64"),
    (np.full((3, 4), np.nan, dtype=np.float32), "finite"),
])
def test_bad_images_are_refused(tmp_path: Path, image: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_fits(tmp_path / "frame.fits", image, make_values(), None)
    assert list(tmp_path.iterdir()) == []


def test_image_must_match_the_wcs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not match the WCS"):
        write_fits(tmp_path / "frame.fits", np.zeros((240, 320), dtype=np.uint16), make_values(), build_wcs(GEOMETRY))


def test_wcs_with_distortion_or_wrong_axes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="two-axis celestial"):
        write_fits(tmp_path / "frame.fits", make_image(), make_values(), WCS(naxis=3))
    with pytest.raises(TypeError, match="wcs"):
        write_fits(tmp_path / "frame.fits", make_image(), make_values(), "RA---TAN")  # type: ignore[arg-type]


@pytest.mark.parametrize("changes, error, message", [
    ({"exptime_s": -1.0}, ValueError, "exptime_s"),
    ({"image_type": "object"}, ValueError, "unknown image type"),
    ({"ra_deg": float("nan")}, ValueError, "ra_deg"),
    ({"dec_deg": -91.0}, ValueError, "dec_deg"),
    ({"airmass": 0.9}, ValueError, "airmass"),
    ({"filter_name": "Hα"}, ValueError, "filter_name"),
    ({"object_name": "x" * 69}, ValueError, "object_name"),
    ({"instrument": ""}, ValueError, "instrument"),
    ({"xbinning": 0}, ValueError, "xbinning"),
    ({"request_id": -3}, ValueError, "request_id"),
    ({"plan_id": 1.5}, TypeError, "plan_id"),
    ({"date_obs": float("inf")}, ValueError, "date_obs"),
    ({"date_obs": "2031-03-04T22:15:30Z"}, TypeError, "date_obs"),
    ({"site_latitude_deg": 100.0}, ValueError, "site_latitude_deg"),
])
def test_bad_header_values_are_refused(changes: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make_values(**changes)
