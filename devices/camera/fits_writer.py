"""Writing a frame as a FITS file: header, checksums, and an atomic write.

The file is first written in full to a hidden temporary file in the target
directory (``.<name>.<random>.part``), flushed and synced to the disk, and
only then given its name, by a hard link (which fails if the name is taken,
so nothing is ever overwritten) or, when overwriting is asked for, by an
atomic rename. The directory is synced afterwards. A crash or an error at
any point leaves either the complete file under its name or nothing under it
(at worst a ``.part`` file after a crash, never a truncated ``.fits``).

The ``DATASUM`` and ``CHECKSUM`` cards follow the FITS checksum convention;
``astropy.io.fits.open(path, checksum=True)`` verifies them. Their comments
carry no timestamp, so the same frame always gives the same bytes.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from devices.camera.fits_header import build_header
from devices.camera.header_values import HeaderValues

__all__ = ["FILE_MODE", "FITS_BLOCK", "SUPPORTED_DTYPES", "build_hdu", "fits_file_bytes", "write_fits", "write_hdu"]

log = logging.getLogger(__name__)

SUPPORTED_DTYPES = (np.dtype(np.uint16), np.dtype(np.int16), np.dtype(np.int32), np.dtype(np.float32),
                    np.dtype(np.float64))
"""Pixel types that can be written (camera frames are ``uint16``)."""

FITS_BLOCK = 2880
"""FITS files are made of blocks of this many bytes."""

FILE_MODE = 0o644
"""Permissions of the files written: readable by all, writable by the writer."""

_CARD_BYTES = 80
_STRUCTURAL_COMMENTS = {
    "NAXIS1": "number of columns",
    "NAXIS2": "number of rows",
    "BSCALE": "pixel value = BSCALE * stored value + BZERO",
    "BZERO": "offset of stored values (unsigned 16-bit)",
    "EXTEND": "extensions may follow",
}
# Links are not supported on some file systems (FAT, some network shares).
_NO_LINK_ERRNOS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK}


def _check_image(image: object) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image: expected a numpy array, got {type(image).__name__}")
    if image.ndim != 2 or 0 in image.shape:
        raise ValueError(f"image: expected a non-empty two-dimensional array, got shape {image.shape}")
    if image.dtype not in SUPPORTED_DTYPES:
        supported = ", ".join(str(dtype) for dtype in SUPPORTED_DTYPES)
        raise ValueError(f"image: pixel type {image.dtype} cannot be written; expected one of {supported}")
    if image.dtype.kind == "f" and not np.all(np.isfinite(image)):
        raise ValueError("image: every pixel must be finite (no NaN or infinity)")
    return image


def fits_file_bytes(shape: tuple[int, int], dtype: np.dtype | type, header_cards: int) -> int:
    """Size of a single-HDU FITS file, bytes.

    Args:
        shape: (rows, columns) of the image.
        dtype: Pixel type.
        header_cards: Number of header cards, ``END`` excluded.

    Returns:
        Header and data, each padded to whole 2880-byte blocks.
    """
    rows, columns = shape
    header = (header_cards + 1) * _CARD_BYTES
    data = rows * columns * np.dtype(dtype).itemsize
    return -(-header // FITS_BLOCK) * FITS_BLOCK + -(-data // FITS_BLOCK) * FITS_BLOCK


def build_hdu(image: np.ndarray, header_values: HeaderValues, wcs: WCS | None) -> fits.PrimaryHDU:
    """The primary HDU of a frame, checksums included, ready to be written.

    Args:
        image: The frame (rows, columns), of a type in :data:`SUPPORTED_DTYPES`.
        header_values: What the header says about the frame.
        wcs: Its world coordinate system (or None, see :func:`~devices.camera.fits_header.build_header`);
            when the WCS knows the image size, it must match the image.

    Returns:
        The HDU; its ``filebytes()`` is the size of the file.

    Raises:
        TypeError: If an argument is of the wrong type.
        ValueError: If the image is empty, not 2-D, of an unsupported type or
            not finite, or does not match the WCS's image size.
    """
    data = _check_image(image)
    header = build_header(header_values, wcs)
    if wcs is not None and wcs.pixel_shape is not None:
        columns, rows = wcs.pixel_shape
        if (rows, columns) != data.shape:
            raise ValueError(f"image: shape {data.shape} (rows, columns) does not match the WCS's image of "
                             f"{columns} columns x {rows} rows")
    hdu = fits.PrimaryHDU(data=data, header=header)
    for keyword, comment in _STRUCTURAL_COMMENTS.items():
        if keyword in hdu.header:
            hdu.header.comments[keyword] = comment
    hdu.add_datasum(when="data checksum (FITS checksum convention)")
    hdu.add_checksum(when="HDU checksum (FITS checksum convention)", override_datasum=True)
    return hdu


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open a directory; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _publish(temporary: Path, path: Path, overwrite: bool) -> None:
    """Give the complete temporary file its final name."""
    if overwrite:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)
    except OSError as exc:
        if exc.errno not in _NO_LINK_ERRNOS:
            raise
        # No hard links here: check then rename (a concurrent writer could slip in between).
        if path.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(path)) from None
        os.rename(temporary, path)
    else:
        try:
            temporary.unlink()
        except OSError as exc:  # the file is in place; only a stray link to it remains
            log.warning("could not remove %s after writing %s: %s", temporary, path, exc)


def write_hdu(hdu: fits.PrimaryHDU, path: str | os.PathLike[str], *, overwrite: bool = False) -> int:
    """Write an HDU atomically to ``path``.

    Args:
        hdu: The HDU (see :func:`build_hdu`).
        path: Destination; its directory must exist.
        overwrite: Replace an existing file (atomically) instead of refusing.

    Returns:
        The size of the file written, bytes.

    Raises:
        TypeError: If ``hdu`` is not a primary HDU.
        FileExistsError: If ``path`` exists and ``overwrite`` is false.
        OSError: If writing fails; nothing is left under ``path`` nor in temporary files.
    """
    if not isinstance(hdu, fits.PrimaryHDU):
        raise TypeError(f"hdu: expected an astropy.io.fits.PrimaryHDU, got {type(hdu).__name__}")
    destination = Path(path)
    directory = destination.parent
    if not overwrite and destination.exists():
        raise FileExistsError(errno.EEXIST, "file exists", str(destination))
    fd, name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=directory)
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as stream:
            os.fchmod(stream.fileno(), FILE_MODE)
            hdu.writeto(stream)
            stream.flush()
            os.fsync(stream.fileno())
        size = temporary.stat().st_size
        _publish(temporary, destination, overwrite)
    except BaseException:
        try:
            temporary.unlink()
        except FileNotFoundError:
            pass
        raise
    _sync_directory(directory)
    log.debug("wrote %s (%d bytes)", destination, size)
    return size


def write_fits(path: str | os.PathLike[str], image: np.ndarray, header_values: HeaderValues, wcs: WCS | None, *,
               overwrite: bool = False) -> int:
    """Write a frame as a FITS file, atomically, with full header and checksums.

    Args:
        path: Destination; its directory must exist.
        image: The frame (rows, columns), of a type in :data:`SUPPORTED_DTYPES`.
        header_values: What the header says about the frame.
        wcs: Its world coordinate system, or None for a frame that does not image the sky.
        overwrite: Replace an existing file (atomically) instead of refusing.

    Returns:
        The size of the file written, bytes.

    Raises:
        TypeError: If an argument is of the wrong type.
        ValueError: If the image or the WCS cannot be written (see :func:`build_hdu`).
        FileExistsError: If ``path`` exists and ``overwrite`` is false.
        OSError: If writing fails; nothing is left under ``path``.
    """
    return write_hdu(build_hdu(image, header_values, wcs), path, overwrite=overwrite)
