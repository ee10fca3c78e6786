"""What a FITS frame says about itself besides its pixels and WCS: time, exposure, pointing, site, ids."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from datetime import datetime, timezone

from devices.camera.image_type import ImageType
from devices.camera.validation import finite_number, fits_text, whole_number

__all__ = ["HeaderValues", "Identifier"]

Identifier = str | int | None
"""A program, request, sequence, album or plan identifier; None when the frame belongs to none."""

# DATE-OBS is accepted from 1970 to 2200, the range in which the observatory clock makes sense.
_EARLIEST_S = 0.0
_LATEST_S = datetime(2200, 1, 1, tzinfo=timezone.utc).timestamp()
_MAX_IDENTIFIER = 2**63 - 1


def _identifier(name: str, value: object) -> Identifier:
    if value is None:
        return None
    if isinstance(value, str):
        return fits_text(name, value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return whole_number(name, value, minimum=0, maximum=_MAX_IDENTIFIER)
    raise TypeError(f"{name}: expected text, a non-negative integer or None, got {type(value).__name__} {value!r}")


@dataclass(frozen=True)
class HeaderValues:
    """The values written in the FITS header of a frame, other than the WCS.

    Attributes:
        date_obs: Start of the exposure, UNIX seconds (UTC) of observatory time,
            as given by :meth:`pyros.clock.Clock.now` (never the wall clock).
        exptime_s: Exposure time, seconds (>= 0).
        image_type: Kind of frame (a str such as ``"light"`` is accepted and parsed).
        filter_name: Filter in the beam.
        object_name: Target name (may be empty for calibration frames).
        ra_deg: Right ascension the telescope points at (ICRS), degrees in [0, 360).
        dec_deg: Declination the telescope points at (ICRS), degrees in [-90, 90].
        airmass: Airmass at the start of the exposure (>= 1), or None when not pointing at the sky.
        telescope: Telescope name.
        instrument: Camera name.
        observatory: Observatory (site) name.
        site_latitude_deg: Site latitude, degrees north in [-90, 90].
        site_longitude_deg: Site longitude, degrees east in [-180, 180].
        site_elevation_m: Site elevation above the WGS84 ellipsoid, metres.
        xbinning: Binning along the columns (>= 1).
        ybinning: Binning along the rows (>= 1).
        gain_e_per_adu: Detector gain, electrons per ADU (> 0).
        read_noise_e: Read noise, electrons (>= 0).
        ccd_temperature_c: Detector temperature, degrees Celsius, or None if unknown.
        program: Scientific program, or None.
        request_id: Observation request, or None.
        sequence_id: Sequence within the request, or None.
        album_id: Album within the sequence, or None.
        plan_id: Plan within the album, or None.
        bunit: Unit of the pixel values.

    Raises:
        TypeError: If a field is of the wrong type.
        ValueError: If a field is out of range or cannot be written in a FITS card.
    """

    date_obs: float
    exptime_s: float
    image_type: ImageType
    filter_name: str
    object_name: str
    ra_deg: float
    dec_deg: float
    airmass: float | None
    telescope: str
    instrument: str
    observatory: str
    site_latitude_deg: float
    site_longitude_deg: float
    site_elevation_m: float
    xbinning: int
    ybinning: int
    gain_e_per_adu: float
    read_noise_e: float
    ccd_temperature_c: float | None
    program: Identifier = None
    request_id: Identifier = None
    sequence_id: Identifier = None
    album_id: Identifier = None
    plan_id: Identifier = None
    bunit: str = "adu"

    def __post_init__(self) -> None:
        def store(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        store("date_obs", finite_number("date_obs", self.date_obs, minimum=_EARLIEST_S, below=_LATEST_S))
        store("exptime_s", finite_number("exptime_s", self.exptime_s, minimum=0.0))
        store("image_type", ImageType.parse(self.image_type))
        for name in ("filter_name", "telescope", "instrument", "observatory", "bunit"):
            fits_text(name, getattr(self, name), allow_empty=False)
        fits_text("object_name", self.object_name)
        store("ra_deg", finite_number("ra_deg", self.ra_deg, minimum=0.0, below=360.0))
        store("dec_deg", finite_number("dec_deg", self.dec_deg, minimum=-90.0, maximum=90.0))
        if self.airmass is not None:
            store("airmass", finite_number("airmass", self.airmass, minimum=1.0))
        store("site_latitude_deg",
              finite_number("site_latitude_deg", self.site_latitude_deg, minimum=-90.0, maximum=90.0))
        store("site_longitude_deg",
              finite_number("site_longitude_deg", self.site_longitude_deg, minimum=-180.0, maximum=180.0))
        store("site_elevation_m",
              finite_number("site_elevation_m", self.site_elevation_m, minimum=-500.0, maximum=10000.0))
        store("xbinning", whole_number("xbinning", self.xbinning, minimum=1, maximum=64))
        store("ybinning", whole_number("ybinning", self.ybinning, minimum=1, maximum=64))
        store("gain_e_per_adu", finite_number("gain_e_per_adu", self.gain_e_per_adu, above=0.0))
        store("read_noise_e", finite_number("read_noise_e", self.read_noise_e, minimum=0.0))
        if self.ccd_temperature_c is not None:
            store("ccd_temperature_c",
                  finite_number("ccd_temperature_c", self.ccd_temperature_c, minimum=-273.15, maximum=100.0))
        for name in ("program", "request_id", "sequence_id", "album_id", "plan_id"):
            store(name, _identifier(name, getattr(self, name)))

    @property
    def date_obs_iso(self) -> str:
        """``date_obs`` as FITS writes it: ``YYYY-MM-DDThh:mm:ss.sss`` (UTC, no zone suffix, milliseconds)."""
        moment = datetime.fromtimestamp(round(self.date_obs, 3), tz=timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]

    @property
    def date_obs_mjd(self) -> float:
        """``date_obs`` (to the millisecond, as in :attr:`date_obs_iso`) as a modified Julian date (UTC).

        UNIX seconds count 86400 per day, as MJD in UTC does (MJD 40587 is
        1970-01-01), so the conversion is exact except within a leap second.
        """
        return round(self.date_obs, 3) / 86400.0 + 40587.0

    def __str__(self) -> str:
        return (f"{self.image_type.value} {self.instrument} {self.filter_name} {self.exptime_s:g}s "
                f"at {self.date_obs_iso}")
