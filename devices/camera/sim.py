"""A simulated camera: exposures and readout on the observatory clock, a cooler, frames into the archive.

An exposure runs for its exposure time then its readout time, in observatory
seconds. When it ends, the frame is rendered (:func:`devices.camera.render_image`,
the same sky at the same pointing for the same seed) and stored in the archive
with full headers. The archive's free space is checked before the exposure
starts and again before the file is written. The cooler brings the detector
towards its set point exponentially.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from devices.camera.detector import Detector
from devices.camera.field_wcs import build_wcs
from devices.camera.filter_band import FilterBand
from devices.camera.header_values import HeaderValues
from devices.camera.image_archive import ImageArchive
from devices.camera.image_geometry import ImageGeometry
from devices.camera.image_type import ImageType
from devices.camera.render import render_image
from devices.camera.sky_catalogue import SkyCatalogue
from devices.common.faults import DeviceFault, Faults

AMBIENT_C = 10.0
"""Detector temperature with the cooler off, degrees Celsius."""
COOLING_TIME_CONSTANT_S = 120.0
"""Seconds for the detector to cover 63 % of the way to its set point."""


@dataclass(frozen=True)
class ExposureRequest:
    """What to take, and what to write in the header.

    Attributes:
        exposure_s: Exposure time (0 for a bias).
        image_type: ``light``, ``dark``, ``flat`` or ``bias``.
        binning: Binning on both axes.
        filter_name: The filter in the beam (the filter wheel's business; written in the header).
        object_name: Target name.
        ra_deg: Where the telescope points (ICRS); needed for light frames.
        dec_deg: Where the telescope points (ICRS).
        airmass: Airmass at the start, or None.
        ids: ``program``, ``request_id``, ``sequence_id``, ``album_id``, ``plan_id`` for the header.
    """

    exposure_s: float
    image_type: str = "light"
    binning: int = 1
    filter_name: str = ""
    object_name: str = ""
    ra_deg: float | None = None
    dec_deg: float | None = None
    airmass: float | None = None
    ids: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class CameraStatus:
    """The camera at one instant.

    Attributes:
        state: ``idle``, ``exposing`` or ``reading``.
        elapsed_s: Seconds since the exposure started (0 when idle).
        remaining_s: Seconds until the frame is stored (0 when idle).
        cooler_on: Whether the cooler runs.
        setpoint_c: Cooler set point.
        temperature_c: Detector temperature.
        last_image: Path of the last frame stored, or None.
        images: Frames stored since start.
    """

    state: str
    elapsed_s: float
    remaining_s: float
    cooler_on: bool
    setpoint_c: float
    temperature_c: float
    last_image: str | None
    images: int

    def to_dict(self) -> dict[str, Any]:
        """Plain values for replies and the K/V store."""
        return {"state": self.state, "elapsed_s": round(self.elapsed_s, 3), "remaining_s": round(self.remaining_s, 3),
                "cooler_on": self.cooler_on, "setpoint_c": self.setpoint_c,
                "temperature_c": round(self.temperature_c, 2), "last_image": self.last_image, "images": self.images}


@dataclass(frozen=True)
class CameraSite:
    """Where the camera is, for its headers: observatory, telescope and site coordinates."""

    observatory: str
    telescope: str
    latitude_deg: float
    longitude_deg: float
    elevation_m: float


class SimulatedCamera:
    """A camera that takes (simulated) frames on the observatory clock.

    Args:
        name: Instrument name (FITS ``INSTRUME``, archive directory).
        site: Observatory, telescope and site, for the headers.
        archive: Where frames go.
        now: Observatory time in UNIX seconds.
        sleep: Sleeps for observatory seconds (latency faults).
        filters: The filters it knows: name → (zero point mag, sky e-/s/px).
        nx: Detector columns.
        ny: Detector rows.
        pixel_scale_arcsec: Unbinned pixel scale.
        readout_s: Readout time of a full frame (binning divides it).
        detector: Gain, noise, bias, dark current, saturation.
        seeing_fwhm_arcsec: Stars' FWHM.
        seed: The sky's and the noise's seed.
    """

    def __init__(self, name: str, site: CameraSite, archive: ImageArchive, now: Callable[[], float],
                 sleep: Callable[[float], None], *, filters: Mapping[str, tuple[float, float]],
                 nx: int = 1024, ny: int = 1024, pixel_scale_arcsec: float = 0.8, readout_s: float = 5.0,
                 detector: Detector | None = None, seeing_fwhm_arcsec: float = 1.5, seed: int = 1) -> None:
        if not filters:
            raise ValueError(f"camera {name}: needs at least one filter")
        if not math.isfinite(readout_s) or readout_s < 0:
            raise ValueError(f"camera {name}: readout_s must be >= 0, got {readout_s!r}")
        self.name = name
        self.site = site
        self.archive = archive
        self._now = now
        self._sleep = sleep
        self.bands = {f: FilterBand(f, float(zp), float(sky)) for f, (zp, sky) in filters.items()}
        self.nx, self.ny, self.pixel_scale_arcsec = nx, ny, pixel_scale_arcsec
        self.readout_s = readout_s
        self.detector = detector or Detector(gain_e_per_adu=1.5, read_noise_e=8.0, bias_adu=500.0,
                                             dark_current_e_per_s=0.02)
        self.seeing_fwhm_arcsec = seeing_fwhm_arcsec
        self.sky = SkyCatalogue(seed)
        self._rng = np.random.default_rng(seed)
        self.faults = Faults(name)
        self._lock = threading.Lock()
        self._exposure: tuple[float, float, ExposureRequest] | None = None  # (start, end of readout, request)
        self._cooler_on = False
        self._setpoint = -20.0
        self._temperature = AMBIENT_C
        self._temperature_at = now()
        self._last_image: str | None = None
        self._images = 0

    # ---------------------------------------------------------------- cooler

    def _temperature_now(self, now: float) -> float:
        goal = self._setpoint if self._cooler_on else AMBIENT_C
        decay = math.exp(-max(0.0, now - self._temperature_at) / COOLING_TIME_CONSTANT_S)
        return goal + (self._temperature - goal) * decay

    def set_cooler(self, on: bool, setpoint_c: float) -> None:
        """Switch the cooler and set its target temperature."""
        if not math.isfinite(setpoint_c) or not -100.0 <= setpoint_c <= 30.0:
            raise ValueError(f"setpoint must be in [-100, 30] degC, got {setpoint_c!r}")
        self.faults.before_command(self._now(), self._sleep)
        now = self._now()
        with self._lock:
            self._temperature, self._temperature_at = self._temperature_now(now), now
            self._cooler_on, self._setpoint = bool(on), float(setpoint_c)

    # ---------------------------------------------------------------- exposures

    def readout_time(self, binning: int) -> float:
        """Seconds to read a frame out at this binning."""
        return self.readout_s / (binning * binning)

    def start_exposure(self, request: ExposureRequest) -> None:
        """Start an exposure; the frame is stored when it ends (see :meth:`status`).

        Raises:
            DeviceFault: While another exposure runs.
            ValueError: For a filter it does not have, a light frame without pointing, bad values.
            devices.camera.ArchiveFull: When the archive has not the room for the frame.
        """
        if request.filter_name not in self.bands and request.image_type in ("light", "flat"):
            raise ValueError(f"camera {self.name} has no filter {request.filter_name!r}; it has "
                             f"{', '.join(self.bands)}")
        if request.image_type == "light" and (request.ra_deg is None or request.dec_deg is None):
            raise ValueError("a light frame needs the pointing (ra, dec)")
        ImageType.parse(request.image_type)
        if not 1 <= request.binning <= 16:
            raise ValueError(f"binning must be in 1..16, got {request.binning}")
        geometry = self._geometry(request)
        self.archive.check_space(self.archive.expected_bytes(geometry.shape))
        self.faults.before_command(self._now(), self._sleep)
        now = self._now()
        with self._lock:
            if self._exposure is not None:
                raise DeviceFault(f"camera {self.name} is already exposing")
            self._exposure = (now, now + request.exposure_s + self.readout_time(request.binning), request)

    def abort(self) -> None:
        """Abandon the exposure running (nothing is stored)."""
        with self._lock:
            self._exposure = None

    def _geometry(self, request: ExposureRequest) -> ImageGeometry:
        return ImageGeometry(ra_deg=request.ra_deg if request.ra_deg is not None else 0.0,
                             dec_deg=request.dec_deg if request.dec_deg is not None else 0.0, rotation_deg=0.0,
                             pixel_scale_arcsec=self.pixel_scale_arcsec, nx=self.nx, ny=self.ny,
                             binning=request.binning)

    def _finish(self, start: float, request: ExposureRequest) -> str:
        """Render and store the frame of a finished exposure; return its path."""
        geometry = self._geometry(request)
        band = self.bands.get(request.filter_name) or next(iter(self.bands.values()))
        image = render_image(geometry, exposure_s=request.exposure_s, image_type=request.image_type, band=band,
                             detector=self.detector, seeing_fwhm_arcsec=self.seeing_fwhm_arcsec, rng=self._rng,
                             sky=self.sky)
        ids = dict(request.ids or {})
        header = HeaderValues(
            date_obs=start, exptime_s=request.exposure_s, image_type=request.image_type,
            filter_name=request.filter_name or "none", object_name=request.object_name,
            ra_deg=request.ra_deg if request.ra_deg is not None else 0.0,
            dec_deg=request.dec_deg if request.dec_deg is not None else 0.0, airmass=request.airmass,
            telescope=self.site.telescope, instrument=self.name, observatory=self.site.observatory,
            site_latitude_deg=self.site.latitude_deg, site_longitude_deg=self.site.longitude_deg,
            site_elevation_m=self.site.elevation_m, xbinning=request.binning, ybinning=request.binning,
            gain_e_per_adu=self.detector.gain_e_per_adu, read_noise_e=self.detector.read_noise_e,
            ccd_temperature_c=self._temperature_now(start), **ids)
        wcs = build_wcs(geometry) if request.image_type in ("light",) else None
        return str(self.archive.store(image, header, wcs))

    def status(self) -> CameraStatus:
        """The camera now; a finished exposure is stored first (so this may take the time of a write)."""
        now = self._now()
        self.faults.check_alive(now)
        with self._lock:
            exposure = self._exposure
            finished = exposure is not None and now >= exposure[1]
            if finished:
                self._exposure = None
        if finished and exposure is not None:
            path = self._finish(exposure[0], exposure[2])
            with self._lock:
                self._last_image, self._images = path, self._images + 1
        with self._lock:
            state, elapsed, remaining = "idle", 0.0, 0.0
            if self._exposure is not None:
                start, end, request = self._exposure
                elapsed, remaining = now - start, end - now
                state = "exposing" if elapsed < request.exposure_s else "reading"
            return CameraStatus(state, elapsed, remaining, self._cooler_on, self._setpoint,
                                float(self.faults.reported("temperature_c", self._temperature_now(now))),
                                self._last_image, self._images)

    def inject_fault(self, spec: dict[str, Any]) -> None:
        """Make the simulator misbehave (see :meth:`devices.common.faults.Faults.inject`)."""
        self.faults.inject(spec, self._now())

