"""A filter as the image simulator sees it: throughput, sky brightness and flat-field lamp level."""

from __future__ import annotations

from dataclasses import dataclass

from devices.camera.validation import finite_number, fits_text

__all__ = ["FilterBand"]


@dataclass(frozen=True)
class FilterBand:
    """One filter of a camera.

    Rates are per unbinned pixel; binning adds the pixels it merges.

    Attributes:
        name: Filter name, as written in the FITS ``FILTER`` card (e.g. ``"R"``, ``"J"``).
        zero_point_mag: Magnitude of a star that yields 1 electron per second
            in the whole image of the star (throughput of telescope, filter and
            detector together). A star of magnitude ``m`` yields
            ``10 ** (-0.4 * (m - zero_point_mag))`` electrons per second.
        sky_background_e_per_s: Sky background, electrons per second per pixel.
        flat_rate_e_per_s: Flat-field illumination at the centre of the
            detector, electrons per second per pixel.

    Raises:
        TypeError: If a field is of the wrong type.
        ValueError: If a field is out of range (zero point within [0, 40] mag,
            rates >= 0, flat rate > 0).
    """

    name: str
    zero_point_mag: float
    sky_background_e_per_s: float
    flat_rate_e_per_s: float = 10_000.0

    def __post_init__(self) -> None:
        fits_text("FilterBand.name", self.name, allow_empty=False)
        object.__setattr__(self, "zero_point_mag",
                           finite_number("FilterBand.zero_point_mag", self.zero_point_mag, minimum=0.0, maximum=40.0))
        object.__setattr__(self, "sky_background_e_per_s",
                           finite_number("FilterBand.sky_background_e_per_s", self.sky_background_e_per_s,
                                         minimum=0.0))
        object.__setattr__(self, "flat_rate_e_per_s",
                           finite_number("FilterBand.flat_rate_e_per_s", self.flat_rate_e_per_s, above=0.0))

    def star_rate_e_per_s(self, mag: float) -> float:
        """Electrons per second from a star of magnitude ``mag`` (all of its light)."""
        return float(10.0 ** (-0.4 * (mag - self.zero_point_mag)))
