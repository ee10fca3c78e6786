"""The camera's device service: ``expose`` (an operation: exposure, readout, FITS in the archive), the cooler.

One service per camera (``cam_vis``, ``cam_nir``). ``expose`` is motion in the
lease's sense (it takes the camera), so it needs the majordome or the lease;
aborting its session abandons the exposure. A full archive refuses the exposure
before it starts (``ArchiveFull``, naming the free and the required bytes).
Published under ``/device/<name>/...``: ``state``, ``elapsed_s``, ``remaining_s``,
``cooler_on``, ``setpoint_c``, ``temperature_c``, ``last_image``, ``images``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from devices.camera.image_archive import ArchiveFull, ImageArchive
from devices.camera.indi import IndiCamera
from devices.camera.sim import CameraSite, CameraStatus, ExposureRequest, SimulatedCamera
from devices.common.device_service import DeviceService, motion, observatory_timing
from pyros.config import active_config
from pyros.service import Quantity, Refusal, Session, command, operation

DRIVERS = ("sim", "indi")
"""Drivers a camera can use: the simulator, or a camera behind an INDI server."""
DEFAULT_FILTERS = {"g": (25.0, 2.0), "r": (25.0, 3.0), "i": (24.6, 4.0), "z": (24.0, 5.0)}
"""Filters of the simulated visible camera: name → (zero point mag, sky e-/s/px)."""

ExposureTime = Annotated[float, Quantity("s", minimum=0.0, maximum=3600.0)]
Binning = Annotated[int, Quantity(minimum=1, maximum=16)]
Setpoint = Annotated[float, Quantity("degC", minimum=-100.0, maximum=30.0)]
RightAscension = Annotated[float, Quantity("deg", minimum=0.0, maximum=360.0)]
Declination = Annotated[float, Quantity("deg", minimum=-90.0, maximum=90.0)]


def make_driver(name: str, driver: str, archive: str, min_free_mb: float,
                options: dict[str, Any]) -> SimulatedCamera | IndiCamera:
    """The camera driver named in the configuration (site and observatory from the configuration).

    ``sim`` takes ``filters`` and the simulator's settings; ``indi`` takes ``host``, ``port``,
    ``device``, ``connect_timeout_s``, ``reply_timeout_s``, ``readout_timeout_s``, ``gain_e_per_adu``,
    ``read_noise_e`` and ``pixel_scale_arcsec`` (see :class:`devices.camera.indi.IndiCamera`).

    Raises:
        ValueError: For an unknown driver or options it does not take.
    """
    if driver not in DRIVERS:
        raise ValueError(f"unknown camera driver {driver!r}; available: {', '.join(DRIVERS)}")
    config = active_config()
    site = CameraSite(config.site.name, "PyROS telescope", config.site.latitude_deg, config.site.longitude_deg,
                      config.site.elevation_m)
    store = ImageArchive(archive, int(min_free_mb * 1024 * 1024), site_longitude_deg=config.site.longitude_deg)
    if driver == "indi":
        try:
            return IndiCamera(name, site, store, observatory_timing()[0], **options)
        except TypeError as exc:
            raise ValueError(f"camera driver 'indi': {exc}") from None
    filters = {str(k): (float(v[0]), float(v[1])) for k, v in options.pop("filters", DEFAULT_FILTERS).items()}
    try:
        return SimulatedCamera(name, site, store, *observatory_timing(), filters=filters, **options)
    except TypeError as exc:
        raise ValueError(f"camera driver 'sim': {exc}") from None


class CameraService(DeviceService):
    """A camera: exposures into the image archive, and its cooler."""

    service_name = "camera"
    version = "1.0.0"

    def __init__(self, name: str = "camera", driver: str = "sim", archive: str = "var/images",
                 min_free_mb: float = 500.0, poll_s: float = 0.5, timeout_s: float = 7200.0,
                 **driver_options: Any) -> None:
        """Create the service and its driver.

        Args:
            name: Device name (``cam_vis``, ``cam_nir``).
            driver: ``sim`` (the simulator) or ``indi`` (a CCD behind an INDI server).
            archive: Root directory of the image archive.
            min_free_mb: Free space (MiB) the archive must keep; exposures that would go below are refused.
            poll_s: Observatory seconds between two looks at an exposure.
            timeout_s: Observatory seconds an exposure may take at most.
            **driver_options: The driver's own settings (``filters``, ``nx``, ``ny``, ``readout_s``, ``seed``, ...).
        """
        super().__init__(name, poll_s=poll_s, timeout_s=timeout_s)
        self.driver = make_driver(name, driver, archive, min_free_mb, dict(driver_options))

    def _read(self) -> CameraStatus:
        status: CameraStatus = self.read_status()
        return status

    @command()
    def info(self) -> dict[str, Any]:
        """The camera's state, cooler and last image."""
        return self._read().to_dict()

    @operation(level="operator")
    @motion
    def expose(self, session: Session, exposure: ExposureTime,
               type: Literal["light", "dark", "flat", "bias"] = "light",  # noqa: A002 - the wire name
               binning: Binning = 1, filter: str = "", object: str = "",  # noqa: A002
               ra: RightAscension | None = None, dec: Declination | None = None, airmass: float | None = None,
               program: str | None = None, request_id: int | None = None, sequence_id: int | None = None,
               album_id: int | None = None, plan_id: int | None = None) -> dict[str, Any]:
        """Take one frame and store it in the archive (abort the session to abandon it).

        Args:
            exposure: Exposure time (0 for a bias).
            type: Image type.
            binning: Binning on both axes.
            filter: The filter in the beam (set on the filter wheel beforehand), for the header.
            object: Target name, for the header.
            ra: Where the telescope points (needed for a light frame).
            dec: Where the telescope points.
            airmass: Airmass at the start, for the header.
            program: Scientific program, for the header.
            request_id: Request id, for the header.
            sequence_id: Sequence id, for the header.
            album_id: Album id, for the header.
            plan_id: Plan id, for the header.
        """
        ids = {"program": program, "request_id": request_id, "sequence_id": sequence_id, "album_id": album_id,
               "plan_id": plan_id}
        request = ExposureRequest(exposure, type, binning, filter, object, ra, dec, airmass, ids)
        before = self._read().images

        def start() -> None:
            try:
                self.driver.start_exposure(request)
            except ArchiveFull as exc:
                raise Refusal("ArchiveFull", str(exc)) from None
            except ValueError as exc:
                raise Refusal("BadArgument", str(exc)) from None

        outcome = self.follow_motion(session, start, self._read, lambda s: s.images > before, self.driver.abort,
                              f"the {exposure:g} s {type} exposure")
        return {**outcome, "image": outcome.get("last_image") if not outcome.get("aborted") else None}

    @command(level="operator")
    def cooler(self, on: bool, setpoint: Setpoint = -20.0) -> dict[str, Any]:
        """Switch the cooler and set the detector's target temperature.

        Args:
            on: Whether the cooler runs.
            setpoint: Target temperature.
        """
        self.driver.set_cooler(on, setpoint)
        return self._read().to_dict()
