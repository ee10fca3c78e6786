"""A camera behind an INDI server (``driver = "indi"``), through :class:`devices.common.indi_link.IndiDeviceLink`.

:class:`IndiCamera` has the methods of :class:`devices.camera.sim.SimulatedCamera`
(``status``, ``start_exposure``, ``abort``, ``set_cooler``) for an INDI CCD:

* ``CCD_FRAME_TYPE`` (FRAME_LIGHT/FRAME_DARK/FRAME_FLAT/FRAME_BIAS) and
  ``CCD_BINNING`` (HOR_BIN/VER_BIN) are set before each exposure.
* ``CCD_EXPOSURE`` (CCD_EXPOSURE_VALUE) starts it; Busy while exposing, and its
  value counts the seconds left. An exposure shorter than the property's
  minimum (a bias of 0 s) is sent as that minimum, and EXPTIME says so.
* ``CCD_ABORT_EXPOSURE`` (ABORT) abandons it.
* ``CCD1`` carries the frame: BLOBs of ``CCD1`` are enabled on the connection
  before each exposure (so also after a reconnection), and the first ``CCD1``
  update after the exposure was sent is its frame. The frame (``.fits`` or
  ``.fits.fz``) is opened with astropy, and its pixels are stored in the
  :class:`~devices.camera.image_archive.ImageArchive` with our own
  :class:`~devices.camera.header_values.HeaderValues` (DATE-OBS: the start on
  the observatory clock); the device's own header is not kept.
* ``CCD_TEMPERATURE`` (CCD_TEMPERATURE_VALUE) is the detector temperature; a
  new value is the set point. ``CCD_COOLER`` (COOLER_ON/COOLER_OFF) switches
  the cooler when the device has it.

The frame is looked for in :meth:`IndiCamera.status` (the service polls it), so
storing happens in the caller's thread, as with the simulator.
"""

from __future__ import annotations

import io
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from devices.camera.field_wcs import build_wcs
from devices.camera.fits_writer import SUPPORTED_DTYPES
from devices.camera.header_values import HeaderValues
from devices.camera.image_archive import ImageArchive
from devices.camera.image_geometry import ImageGeometry
from devices.camera.image_type import ImageType
from devices.camera.sim import CameraSite, CameraStatus, ExposureRequest
from devices.common.faults import DeviceFault, DeviceSilent
from devices.common.indi_link import IndiDeviceLink
from pyros.indi import Blob, BlobMode, PropertyState

log = logging.getLogger(__name__)

FRAME_SWITCHES = {"light": "FRAME_LIGHT", "dark": "FRAME_DARK", "flat": "FRAME_FLAT", "bias": "FRAME_BIAS"}
"""``CCD_FRAME_TYPE`` switch of each image type."""

_WIDER_TYPES: dict[np.dtype, np.dtype] = {
    np.dtype(np.uint8): np.dtype(np.uint16), np.dtype(np.int8): np.dtype(np.int16),
    np.dtype(np.float16): np.dtype(np.float32)}
"""Pixel types the archive cannot write, widened without loss; other integer types go to float64."""


def _number(name: str, value: object, *, minimum: float | None = None, above: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum:g}, got {value!r}")
    if above is not None and value <= above:
        raise ValueError(f"{name} must be > {above:g}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class _Exposure:
    """An exposure sent to the device and not yet stored."""

    request: ExposureRequest
    start: float          # observatory time it was sent
    exptime_s: float      # the exposure time sent (the device's minimum at least)
    mark: int             # the client's sequence number before it was sent
    temperature_c: float  # detector temperature at the start
    sent_at: float        # time.monotonic() when it was sent (wall timeout of the readout)


def _pixels(blob: Blob) -> np.ndarray:
    """The 2-D pixel array of a FITS (or tile-compressed FITS) BLOB, in a type the archive can write.

    Raises:
        ValueError: If the BLOB is not a FITS file with a 2-D image.
    """
    if "fits" not in blob.format.lower():
        raise ValueError(f"the frame is in format {blob.format!r}, not FITS (set CCD_TRANSFER_FORMAT to FITS)")
    try:
        with fits.open(io.BytesIO(blob.data), memmap=False) as hdus:
            images = [hdu for hdu in hdus if hdu.is_image and hdu.data is not None]
            if not images:
                raise ValueError(f"the {blob.format} frame of {len(blob.data)} bytes holds no image")
            data = np.array(images[0].data)
    except (OSError, TypeError) as exc:
        raise ValueError(f"the {blob.format} frame of {len(blob.data)} bytes cannot be read as FITS: {exc}") from exc
    if data.ndim != 2:
        raise ValueError(f"the frame is not a 2-D image: shape {data.shape} (colour frames are not supported)")
    if data.dtype.byteorder not in ("=", "|"):
        data = data.astype(data.dtype.newbyteorder("="))
    if data.dtype not in SUPPORTED_DTYPES:
        data = data.astype(_WIDER_TYPES.get(data.dtype, np.dtype(np.float64)))
    return data


class IndiCamera:
    """A camera behind an INDI server (the interface of :class:`~devices.camera.sim.SimulatedCamera`).

    Args:
        name: Instrument name (FITS ``INSTRUME``, archive directory).
        site: Observatory, telescope and site, for the headers.
        archive: Where frames go.
        now: Observatory time in UNIX seconds (DATE-OBS, elapsed time).
        host: INDI server host.
        port: INDI server TCP port.
        device: INDI device name.
        connect_timeout_s: Wall seconds to connect and see the camera's properties.
        reply_timeout_s: Wall seconds the camera may take to acknowledge a command.
        readout_timeout_s: Wall seconds, after the exposure time, for the frame to arrive.
        gain_e_per_adu: Detector gain written in the header.
        read_noise_e: Read noise written in the header.
        pixel_scale_arcsec: Unbinned pixel scale; when given, light frames get a TAN WCS centred on the
            pointing, north up (the camera's rotation is not known).

    Raises:
        ValueError: Naming a bad option.
    """

    REQUIRED = ("CCD_EXPOSURE", "CCD1", "CCD_TEMPERATURE")

    def __init__(self, name: str, site: CameraSite, archive: ImageArchive, now: Callable[[], float], *,
                 host: str = "127.0.0.1", port: int = 7624, device: str = "CCD Simulator",
                 connect_timeout_s: float = 30.0, reply_timeout_s: float = 10.0, readout_timeout_s: float = 120.0,
                 gain_e_per_adu: float = 1.0, read_noise_e: float = 0.0,
                 pixel_scale_arcsec: float | None = None) -> None:
        self.name = name
        self.site = site
        self.archive = archive
        self._now = now
        self.link = IndiDeviceLink(host, port, device, self.REQUIRED, connect_timeout_s=connect_timeout_s,
                                   reply_timeout_s=reply_timeout_s)
        self.readout_timeout_s = _number("readout_timeout_s", readout_timeout_s, above=0.0)
        self.gain_e_per_adu = _number("gain_e_per_adu", gain_e_per_adu, above=0.0)
        self.read_noise_e = _number("read_noise_e", read_noise_e, minimum=0.0)
        self.pixel_scale_arcsec = (None if pixel_scale_arcsec is None
                                   else _number("pixel_scale_arcsec", pixel_scale_arcsec, above=0.0))
        self._lock = threading.Lock()
        self._exposure: _Exposure | None = None
        self._setpoint = -20.0
        self._last_image: str | None = None
        self._images = 0

    # ---------------------------------------------------------------- cooler

    def _temperature(self) -> float:
        return float(self.link.read("CCD_TEMPERATURE").value("CCD_TEMPERATURE_VALUE"))

    def _cooler_on(self) -> bool:
        cooler = self.link.get("CCD_COOLER")
        return cooler is not None and "COOLER_ON" in cooler.switches_on()

    def set_cooler(self, on: bool, setpoint_c: float) -> None:
        """Switch the cooler (``CCD_COOLER``) and, when on, send the set point (``CCD_TEMPERATURE``).

        Raises:
            ValueError: For a set point outside [-100, 30] degC.
            DeviceFault: Refused by the camera (with its message).
            DeviceSilent, DeviceDisconnected: No answer, or the server cannot be reached.
        """
        if not isinstance(on, bool):
            raise ValueError(f"on must be true or false, got {on!r}")
        setpoint = _number("setpoint", setpoint_c)
        if not -100.0 <= setpoint <= 30.0:
            raise ValueError(f"setpoint must be in [-100, 30] degC, got {setpoint_c!r}")
        if self.link.get("CCD_COOLER") is not None:
            switch = "COOLER_ON" if on else "COOLER_OFF"
            self.link.command("CCD_COOLER", {switch: True}, lambda v: switch in v.switches_on())
        if on:
            self.link.command("CCD_TEMPERATURE", {"CCD_TEMPERATURE_VALUE": setpoint})
        self._setpoint = setpoint

    # ---------------------------------------------------------------- exposures

    def _expected_shape(self, binning: int) -> tuple[int, int] | None:
        """(rows, columns) of the binned frame from ``CCD_FRAME`` or ``CCD_INFO``, or None if unknown."""
        frame = self.link.get("CCD_FRAME")
        if frame is not None and "WIDTH" in frame and "HEIGHT" in frame:
            columns, rows = frame.value("WIDTH"), frame.value("HEIGHT")
        else:
            info = self.link.get("CCD_INFO")
            if info is None or "CCD_MAX_X" not in info or "CCD_MAX_Y" not in info:
                return None
            columns, rows = info.value("CCD_MAX_X"), info.value("CCD_MAX_Y")
        shape = (int(rows) // binning, int(columns) // binning)
        return shape if min(shape) > 0 else None

    def _exposure_time(self, requested: float) -> float:
        """The time to send: the request, raised to ``CCD_EXPOSURE``'s minimum."""
        member = self.link.read("CCD_EXPOSURE")["CCD_EXPOSURE_VALUE"]
        minimum = float(getattr(member, "minimum", 0.0))
        maximum = float(getattr(member, "maximum", math.inf))
        if requested > maximum > 0:
            raise ValueError(f"camera {self.name}: {requested:g} s is longer than the {maximum:g} s "
                             f"{self.link.where} takes")
        return max(requested, minimum)

    def start_exposure(self, request: ExposureRequest) -> None:
        """Set the frame type and binning, then start the exposure; the frame is stored by :meth:`status`.

        Raises:
            DeviceFault: While another exposure runs, or refused by the camera (with its message).
            ValueError: For a light frame without pointing, or bad values.
            devices.camera.ArchiveFull: When the archive has not the room for the frame.
            DeviceSilent, DeviceDisconnected: No answer, or the server cannot be reached.
        """
        image_type = ImageType.parse(request.image_type).value.lower()
        if image_type not in FRAME_SWITCHES:
            raise ValueError(f"image type {request.image_type!r} cannot be taken; "
                             f"expected one of {', '.join(FRAME_SWITCHES)}")
        if image_type == "light" and (request.ra_deg is None or request.dec_deg is None):
            raise ValueError("a light frame needs the pointing (ra, dec)")
        if isinstance(request.binning, bool) or not isinstance(request.binning, int) or not 1 <= request.binning <= 16:
            raise ValueError(f"binning must be an integer in 1..16, got {request.binning!r}")
        exposure_s = _number("exposure", request.exposure_s, minimum=0.0)
        with self._lock:
            if self._exposure is not None:
                raise DeviceFault(f"camera {self.name} is already exposing")
        shape = self._expected_shape(request.binning)
        if shape is not None:
            self.archive.check_space(self.archive.expected_bytes(shape))
        exptime = self._exposure_time(exposure_s)
        switch = FRAME_SWITCHES[image_type]
        if self.link.get("CCD_FRAME_TYPE") is not None:
            self.link.command("CCD_FRAME_TYPE", {switch: True}, lambda v: switch in v.switches_on())
        elif image_type != "light":
            raise DeviceFault(f"{self.link.where} has no CCD_FRAME_TYPE: it cannot take a {image_type} frame")
        if self.link.get("CCD_BINNING") is not None:
            binning = float(request.binning)
            self.link.command("CCD_BINNING", {"HOR_BIN": binning, "VER_BIN": binning},
                              lambda v: v.value("HOR_BIN") == binning and v.value("VER_BIN") == binning)
        elif request.binning != 1:
            raise DeviceFault(f"{self.link.where} has no CCD_BINNING: it cannot bin {request.binning}x")
        temperature = self._temperature()
        client = self.link.client()
        with self.link.faults("enabling the frame BLOBs"):
            client.enable_blob(self.link.device, "CCD1", BlobMode.ALSO)
        with self._lock:
            if self._exposure is not None:
                raise DeviceFault(f"camera {self.name} is already exposing")
            exposure = _Exposure(request, self._now(), exptime, client.sequence, temperature, time.monotonic())
            self._exposure = exposure
        try:
            self.link.command("CCD_EXPOSURE", {"CCD_EXPOSURE_VALUE": exptime})
        except BaseException:
            with self._lock:
                if self._exposure is exposure:
                    self._exposure = None
            raise
        log.info("camera %s: %g s %s exposure started on %s", self.name, exptime, image_type, self.link.where)

    def _frame(self, exposure: _Exposure) -> Blob | None:
        """The frame of ``exposure`` if it has arrived (the first ``CCD1`` update after it was sent)."""
        vector = self.link.client().get(self.link.device, "CCD1")
        if vector is None or vector.sequence <= exposure.mark:
            return None
        self.link.check_alert(vector)
        if vector.state is not PropertyState.OK:
            return None
        blob = vector.value("CCD1") if "CCD1" in vector else None
        return blob if isinstance(blob, Blob) else None

    def abort(self) -> None:
        """Abandon the exposure running: ``CCD_ABORT_EXPOSURE``, then wait for ``CCD_EXPOSURE`` to leave Busy.

        Nothing is stored, even if the frame arrives later.

        Raises:
            DeviceFault: Refused by the camera (with its message).
            DeviceSilent: Still exposing after ``reply_timeout_s``.
        """
        with self._lock:
            exposure, self._exposure = self._exposure, None
        if exposure is None:
            return
        self.link.command("CCD_ABORT_EXPOSURE", {"ABORT": True}, lambda v: v.state is not PropertyState.BUSY)
        with self.link.faults("aborting the exposure"):
            self.link.client().wait_for(self.link.device, "CCD_EXPOSURE",
                                        lambda v: v.state is not PropertyState.BUSY, self.link.reply_timeout_s)

    def _wcs(self, request: ExposureRequest, shape: tuple[int, int]) -> WCS | None:
        light = ImageType.parse(request.image_type) is ImageType.LIGHT
        if self.pixel_scale_arcsec is None or not light or request.ra_deg is None or request.dec_deg is None:
            return None
        rows, columns = shape
        geometry = ImageGeometry(ra_deg=request.ra_deg, dec_deg=request.dec_deg, rotation_deg=0.0,
                                 pixel_scale_arcsec=self.pixel_scale_arcsec, nx=columns * request.binning,
                                 ny=rows * request.binning, binning=request.binning)
        return build_wcs(geometry)

    def _store(self, exposure: _Exposure, blob: Blob) -> str:
        """Store the frame of a finished exposure with our headers; return its path."""
        try:
            image = _pixels(blob)
        except ValueError as exc:
            raise DeviceFault(f"{self.link.where}: {exc}") from exc
        request = exposure.request
        ids = dict(request.ids or {})
        header = HeaderValues(
            date_obs=exposure.start, exptime_s=exposure.exptime_s, image_type=ImageType.parse(request.image_type),
            filter_name=request.filter_name or "none", object_name=request.object_name,
            ra_deg=request.ra_deg if request.ra_deg is not None else 0.0,
            dec_deg=request.dec_deg if request.dec_deg is not None else 0.0, airmass=request.airmass,
            telescope=self.site.telescope, instrument=self.name, observatory=self.site.observatory,
            site_latitude_deg=self.site.latitude_deg, site_longitude_deg=self.site.longitude_deg,
            site_elevation_m=self.site.elevation_m, xbinning=request.binning, ybinning=request.binning,
            gain_e_per_adu=self.gain_e_per_adu, read_noise_e=self.read_noise_e,
            ccd_temperature_c=exposure.temperature_c, **ids)
        return str(self.archive.store(image, header, self._wcs(request, image.shape)))

    def status(self) -> CameraStatus:
        """The camera now; a frame that has arrived is stored first (so this may take the time of a write).

        Raises:
            DeviceFault: The exposure or the frame went to Alert, the frame cannot be read, or a property is in Alert.
            DeviceSilent: The frame did not arrive within ``readout_timeout_s`` after the exposure time.
            DeviceDisconnected: The server cannot be reached.
        """
        temperature = self._temperature()
        cooler_on = self._cooler_on()
        with self._lock:
            exposure = self._exposure
        state, elapsed, remaining = "idle", 0.0, 0.0
        if exposure is not None:
            try:
                blob = self._frame(exposure)
                progress = self.link.read("CCD_EXPOSURE")
            except DeviceFault:
                self._drop(exposure)
                raise
            if blob is not None:
                self._drop(exposure)
                path = self._store(exposure, blob)
                with self._lock:
                    self._last_image, self._images = path, self._images + 1
                log.info("camera %s: frame stored in %s", self.name, path)
            elif time.monotonic() - exposure.sent_at > exposure.exptime_s + self.readout_timeout_s:
                self._drop(exposure)
                raise DeviceSilent(f"{self.link.where}: no frame {self.readout_timeout_s:g} s after the end of "
                                   f"the {exposure.exptime_s:g} s exposure")
            else:
                elapsed = max(0.0, self._now() - exposure.start)
                left = float(progress.value("CCD_EXPOSURE_VALUE")) if progress.state is PropertyState.BUSY else 0.0
                state = "exposing" if progress.state is PropertyState.BUSY and left > 0 else "reading"
                remaining = left
        with self._lock:
            return CameraStatus(state, elapsed, remaining, cooler_on, self._setpoint, temperature,
                                self._last_image, self._images)

    def _drop(self, exposure: _Exposure) -> None:
        with self._lock:
            if self._exposure is exposure:
                self._exposure = None

    def close(self) -> None:
        """Close the INDI connection."""
        self.link.close()


__all__ = ["FRAME_SWITCHES", "IndiCamera"]
