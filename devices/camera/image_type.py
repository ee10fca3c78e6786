"""The kinds of frame a camera takes."""

from __future__ import annotations

import enum

__all__ = ["ImageType"]


class ImageType(enum.Enum):
    """Kind of frame, valued as written in the FITS ``IMAGETYP`` card.

    * ``LIGHT``: the sky through the telescope (stars, sky background).
    * ``DARK``: shutter closed for the exposure time (dark current).
    * ``FLAT``: a uniformly lit screen or twilight sky (the illumination pattern).
    * ``BIAS``: a zero-second read-out (bias level and read noise).
    """

    LIGHT = "LIGHT"
    DARK = "DARK"
    FLAT = "FLAT"
    BIAS = "BIAS"

    @classmethod
    def parse(cls, value: ImageType | str) -> ImageType:
        """The image type named by ``value`` (case-insensitive), or ``value`` itself.

        Raises:
            TypeError: If ``value`` is neither an :class:`ImageType` nor a str.
            ValueError: If the name is unknown; the message lists the known ones.
        """
        if isinstance(value, ImageType):
            return value
        if not isinstance(value, str):
            raise TypeError(f"image_type: expected one of light, dark, flat, bias, got {type(value).__name__} "
                            f"{value!r}")
        try:
            return cls(value.strip().upper())
        except ValueError:
            known = ", ".join(member.value.lower() for member in cls)
            raise ValueError(f"image_type: unknown image type {value!r}; expected one of {known}") from None
