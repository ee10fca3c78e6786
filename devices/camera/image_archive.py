"""Where frames are kept: one directory per observing night and instrument, guarded against a full disk.

Layout::

    <root>/<YYYY-MM-DD>/<instrument>/<name>.fits

The date is that of the observing night: the local date of the evening on
which the night begins, so that every frame of one night lands in one
directory even when the night crosses midnight in UTC. It is computed as the
UTC date of ``DATE-OBS + longitude / 15 h - 12 h`` (local mean solar time,
shifted by half a day, so that the date changes at local mean noon); with
the default longitude of 0 this is simply the UTC date of ``DATE-OBS - 12 h``.
A caller that knows the night (from :mod:`pyros.astro.night`) may give it
instead.

Names are never reused: if ``<name>.fits`` exists, the frame is written as
``<name>_2.fits``, ``<name>_3.fits``, and so on; the final name is taken by a
hard link that fails when it exists, so two writers cannot collide.

Disk guard: an exposure is refused before it starts when the free space
(:func:`shutil.disk_usage`) would fall under ``min_free_bytes`` once the
frame is written (:meth:`ImageArchive.check_space`), and the check is made
again with the exact file size just before writing.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from astropy.wcs import WCS

from devices.camera.fits_writer import build_hdu, fits_file_bytes, write_hdu
from devices.camera.header_values import HeaderValues
from devices.camera.validation import finite_number, path_component, whole_number
from pyros.errors import PyrosError

__all__ = ["HEADER_CARDS_ALLOWANCE", "MAX_NAME_SUFFIX", "ArchiveFull", "ImageArchive"]

log = logging.getLogger(__name__)

HEADER_CARDS_ALLOWANCE = 179
"""Header cards assumed by :meth:`ImageArchive.expected_bytes` (five FITS blocks; a frame uses about 60)."""

MAX_NAME_SUFFIX = 9999
"""Highest suffix tried to make a name unique."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
_MAX_BYTES = 2**62


class ArchiveFull(PyrosError):
    """There is not enough free disk space in the archive for a new frame.

    Attributes:
        root: The archive's root directory.
        free_bytes: Free space now, bytes.
        required_bytes: Space needed: the frame plus the space kept free, bytes.
        frame_bytes: Size of the frame, bytes.
    """

    def __init__(self, root: Path, free_bytes: int, required_bytes: int, frame_bytes: int) -> None:
        kept = required_bytes - frame_bytes
        super().__init__(f"archive {root} is full: {free_bytes} bytes ({free_bytes / 1e6:.1f} MB) free, "
                         f"{required_bytes} bytes ({required_bytes / 1e6:.1f} MB) required "
                         f"({frame_bytes} for the frame + {kept} kept free)")
        self.root = root
        self.free_bytes = free_bytes
        self.required_bytes = required_bytes
        self.frame_bytes = frame_bytes


class ImageArchive:
    """The FITS archive of one host.

    Args:
        root: Root directory (created if missing).
        min_free_bytes: Free space to leave on the disk, bytes (>= 0).
        site_longitude_deg: Site longitude, degrees east in [-180, 180], used
            to date frames by observing night.

    Raises:
        TypeError: If an argument is of the wrong type.
        ValueError: If an argument is out of range.
        OSError: If the root directory cannot be created.
    """

    def __init__(self, root: str | os.PathLike[str], min_free_bytes: int, *, site_longitude_deg: float = 0.0) -> None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root: expected a path, got {type(root).__name__} {root!r}")
        self.root = Path(root)
        self.min_free_bytes = whole_number("min_free_bytes", min_free_bytes, minimum=0, maximum=_MAX_BYTES)
        self.site_longitude_deg = finite_number("site_longitude_deg", site_longitude_deg, minimum=-180.0,
                                                maximum=180.0)
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return (f"ImageArchive({str(self.root)!r}, min_free_bytes={self.min_free_bytes}, "
                f"site_longitude_deg={self.site_longitude_deg:g})")

    def night_of(self, date_obs: float) -> date:
        """The observing night of a frame taken at ``date_obs`` (UNIX seconds, observatory time).

        Raises:
            TypeError: If ``date_obs`` is not a number.
            ValueError: If it is not finite.
        """
        instant = finite_number("date_obs", date_obs)
        shift = timedelta(hours=self.site_longitude_deg / 15.0 - 12.0)
        return (datetime.fromtimestamp(instant, tz=timezone.utc) + shift).date()

    def directory(self, night: date, instrument: str) -> Path:
        """The directory of an instrument's frames of one night.

        Raises:
            TypeError: If ``night`` is not a date (a datetime is refused: give its night).
            ValueError: If ``instrument`` is not a safe directory name.
        """
        if not isinstance(night, date) or isinstance(night, datetime):
            raise TypeError(f"night: expected a datetime.date, got {type(night).__name__} {night!r}")
        return self.root / night.isoformat() / path_component("instrument", instrument)

    def free_bytes(self) -> int:
        """Free space on the archive's disk, bytes."""
        return int(shutil.disk_usage(self.root).free)

    @staticmethod
    def expected_bytes(shape: tuple[int, int], dtype: np.dtype | type = np.uint16) -> int:
        """Size of the file of a frame of ``shape`` (rows, columns), for :meth:`check_space` before exposing.

        The header is counted generously (:data:`HEADER_CARDS_ALLOWANCE` cards), so the
        estimate is never below the real size.
        """
        rows, columns = shape
        rows = whole_number("rows", rows, minimum=1, maximum=2**31)
        columns = whole_number("columns", columns, minimum=1, maximum=2**31)
        return fits_file_bytes((rows, columns), dtype, HEADER_CARDS_ALLOWANCE)

    def check_space(self, expected_bytes: int) -> int:
        """Make sure a frame of ``expected_bytes`` leaves at least ``min_free_bytes`` free.

        Call it before an exposure starts (with :meth:`expected_bytes`); :meth:`store`
        calls it again with the exact size before writing.

        Returns:
            The free space now, bytes.

        Raises:
            ArchiveFull: If free space minus ``expected_bytes`` is under ``min_free_bytes``;
                the message names the free and the required bytes.
            TypeError: If ``expected_bytes`` is not an integer.
            ValueError: If it is negative.
        """
        frame = whole_number("expected_bytes", expected_bytes, minimum=0, maximum=_MAX_BYTES)
        free = self.free_bytes()
        required = frame + self.min_free_bytes
        if free < required:
            raise ArchiveFull(self.root, free, required, frame)
        return free

    @staticmethod
    def default_name(header_values: HeaderValues) -> str:
        """``<instrument>_<YYYYMMDDThhmmss.sss>_<IMAGETYP>_<filter>``, with unsafe characters replaced by ``-``."""
        stamp = header_values.date_obs_iso.replace("-", "").replace(":", "")
        parts = (header_values.instrument, stamp, header_values.image_type.value, header_values.filter_name)
        name = "_".join(_UNSAFE.sub("-", part).strip("-") or "none" for part in parts)
        return name[:90]

    def store(self, image: np.ndarray, header_values: HeaderValues, wcs: WCS | None, *, name: str | None = None,
              night: date | None = None) -> Path:
        """Write a frame into the archive under a name not used before.

        Args:
            image: The frame (rows, columns).
            header_values: Its header values; ``instrument`` names the directory.
            wcs: Its WCS, or None for a frame that does not image the sky.
            name: File name without ``.fits`` (letters, digits, ``.``, ``_``,
                ``+``, ``-``); by default :meth:`default_name`.
            night: The observing night; by default :meth:`night_of` ``DATE-OBS``.

        Returns:
            The path of the file written.

        Raises:
            ArchiveFull: If the frame would leave less than ``min_free_bytes`` free.
            TypeError: If an argument is of the wrong type.
            ValueError: If an argument cannot be written (see
                :func:`~devices.camera.fits_writer.build_hdu`) or the name is unsafe.
            FileExistsError: If every suffix up to :data:`MAX_NAME_SUFFIX` is taken.
            OSError: If writing fails; no partial file is left.
        """
        if not isinstance(header_values, HeaderValues):
            raise TypeError(f"header_values: expected a HeaderValues, got {type(header_values).__name__}")
        stem = self.default_name(header_values) if name is None else path_component("name", name)
        if night is None:
            night = self.night_of(header_values.date_obs)
        directory = self.directory(night, header_values.instrument)
        hdu = build_hdu(image, header_values, wcs)
        self.check_space(int(hdu.filebytes()))
        directory.mkdir(parents=True, exist_ok=True)
        for suffix in range(1, MAX_NAME_SUFFIX + 1):
            path = directory / (f"{stem}.fits" if suffix == 1 else f"{stem}_{suffix}.fits")
            if path.exists():
                continue
            try:
                write_hdu(hdu, path)
            except FileExistsError:
                continue
            log.info("archived %s", path)
            return path
        raise FileExistsError(f"archive: every name from {stem}.fits to {stem}_{MAX_NAME_SUFFIX}.fits is taken in "
                              f"{directory}")
