"""Simulated camera frames and their FITS archive (the image layer of the camera simulators).

Pure functions and small classes, no messaging:

* the sky: :class:`SkyCatalogue` (seeded synthetic stars, queried by cone), :class:`Stars`;
* the frame: :class:`ImageGeometry`, :class:`FilterBand`, :class:`Detector`,
  :class:`ImageType`, :func:`render_image`, :func:`build_wcs`;
* the file: :class:`HeaderValues`, :func:`write_fits`;
* the archive: :class:`ImageArchive`, :class:`ArchiveFull`.

See ``docs/camera-simulation.md``.
"""

from devices.camera.detector import Detector
from devices.camera.field_wcs import build_wcs
from devices.camera.filter_band import FilterBand
from devices.camera.fits_writer import build_hdu, write_fits, write_hdu
from devices.camera.header_values import HeaderValues
from devices.camera.image_archive import ArchiveFull, ImageArchive
from devices.camera.image_geometry import ImageGeometry
from devices.camera.image_type import ImageType
from devices.camera.render import render_image
from devices.camera.sky_catalogue import SkyCatalogue
from devices.camera.star_source import StarSource
from devices.camera.stars import Stars

__all__ = [
    "ArchiveFull",
    "Detector",
    "FilterBand",
    "HeaderValues",
    "ImageArchive",
    "ImageGeometry",
    "ImageType",
    "SkyCatalogue",
    "StarSource",
    "Stars",
    "build_hdu",
    "build_wcs",
    "render_image",
    "write_fits",
    "write_hdu",
]
