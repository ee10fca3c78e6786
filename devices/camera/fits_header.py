"""The FITS header of a frame: every card with a comment, WCS keywords in the CD-matrix form.

The cards, in order (all in the primary header):

* time: ``DATE-OBS`` (start of exposure, UTC, from the observatory clock),
  ``TIMESYS``, ``MJD-OBS``, ``EXPTIME``;
* frame: ``IMAGETYP``, ``FILTER``, ``OBJECT``, ``BUNIT``;
* pointing: ``RA``, ``DEC`` (degrees, ICRS), ``AIRMASS``;
* hardware and site: ``TELESCOP``, ``INSTRUME``, ``OBSERVAT``, ``SITELAT``,
  ``SITELONG``, ``SITEELEV``;
* detector: ``XBINNING``, ``YBINNING``, ``GAIN``, ``RDNOISE``, ``CCD-TEMP``;
* provenance: ``PROGRAM``, ``REQID``, ``SEQID``, ``ALBUMID``, ``PLANID``, ``ORIGIN``;
* WCS: ``WCSAXES``, ``CTYPEi``, ``CUNITi``, ``CRVALi``, ``CRPIXi``,
  ``CDi_j``, ``RADESYS``, ``LONPOLE``, ``LATPOLE``.

A value that does not apply (no airmass for a dark, a frame outside any
program) is written as an undefined value, so every card is always there.
"""

from __future__ import annotations

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from devices.camera.header_values import HeaderValues

__all__ = ["ORIGIN", "build_header", "wcs_cards"]

ORIGIN = "PyROS"
"""Value of the ``ORIGIN`` card: the software that wrote the file."""

_Card = tuple[str, object, str]


def _value_cards(values: HeaderValues) -> list[_Card]:
    return [
        ("DATE-OBS", values.date_obs_iso, "start of exposure, UTC (observatory clock)"),
        ("TIMESYS", "UTC", "time scale of DATE-OBS and MJD-OBS"),
        ("MJD-OBS", values.date_obs_mjd, "start of exposure, modified Julian date (UTC)"),
        ("EXPTIME", values.exptime_s, "[s] exposure time"),
        ("IMAGETYP", values.image_type.value, "frame type: LIGHT, DARK, FLAT or BIAS"),
        ("FILTER", values.filter_name, "filter in the beam"),
        ("OBJECT", values.object_name, "target name"),
        ("BUNIT", values.bunit, "unit of the pixel values"),
        ("RA", values.ra_deg, "[deg] telescope right ascension, ICRS"),
        ("DEC", values.dec_deg, "[deg] telescope declination, ICRS"),
        ("AIRMASS", values.airmass, "airmass at the start of exposure"),
        ("TELESCOP", values.telescope, "telescope"),
        ("INSTRUME", values.instrument, "camera"),
        ("OBSERVAT", values.observatory, "observatory"),
        ("SITELAT", values.site_latitude_deg, "[deg] site latitude, north positive"),
        ("SITELONG", values.site_longitude_deg, "[deg] site longitude, east positive"),
        ("SITEELEV", values.site_elevation_m, "[m] site elevation above the WGS84 ellipsoid"),
        ("XBINNING", values.xbinning, "binning factor along the columns"),
        ("YBINNING", values.ybinning, "binning factor along the rows"),
        ("GAIN", values.gain_e_per_adu, "[e-/adu] detector gain"),
        ("RDNOISE", values.read_noise_e, "[e-] read noise"),
        ("CCD-TEMP", values.ccd_temperature_c, "[C] detector temperature"),
        ("PROGRAM", values.program, "scientific program"),
        ("REQID", values.request_id, "observation request"),
        ("SEQID", values.sequence_id, "sequence within the request"),
        ("ALBUMID", values.album_id, "album within the sequence"),
        ("PLANID", values.plan_id, "plan within the album"),
        ("ORIGIN", ORIGIN, "software that wrote this file"),
    ]


def wcs_cards(wcs: WCS) -> list[_Card]:
    """The WCS keywords of a two-axis celestial WCS, with the CD matrix written out.

    Args:
        wcs: The world coordinate system (see :func:`devices.camera.field_wcs.build_wcs`).

    Returns:
        (keyword, value, comment) triples.

    Raises:
        TypeError: If ``wcs`` is not an astropy WCS.
        ValueError: If it is not a two-axis celestial WCS without distortion.
    """
    if not isinstance(wcs, WCS):
        raise TypeError(f"wcs: expected an astropy.wcs.WCS, got {type(wcs).__name__}")
    if wcs.naxis != 2 or not wcs.has_celestial:
        raise ValueError(f"wcs: expected a two-axis celestial WCS, got {wcs.naxis} axes {list(wcs.wcs.ctype)}")
    if wcs.has_distortion:
        raise ValueError("wcs: distortion terms (SIP, lookup tables) are not written; give a linear WCS")
    core = wcs.wcs
    core.set()
    cd = np.asarray(wcs.pixel_scale_matrix, dtype=float)
    cards: list[_Card] = [("WCSAXES", 2, "number of world coordinate axes")]
    for axis in (0, 1):
        number = axis + 1
        cards += [
            (f"CTYPE{number}", str(core.ctype[axis]), f"world axis {number}: coordinate and projection"),
            (f"CUNIT{number}", str(core.cunit[axis]), f"unit of world axis {number}"),
        ]
    for axis in (0, 1):
        number = axis + 1
        cards += [
            (f"CRVAL{number}", float(core.crval[axis]), f"[{core.cunit[axis]}] world coordinate at the reference pixel"),
            (f"CRPIX{number}", float(core.crpix[axis]), f"reference pixel along axis {number} (1-based)"),
        ]
    for row in (0, 1):
        for column in (0, 1):
            cards.append((f"CD{row + 1}_{column + 1}", float(cd[row, column]),
                          f"[deg] world axis {row + 1} step per pixel on axis {column + 1}"))
    cards += [
        ("RADESYS", str(core.radesys), "celestial reference system"),
        ("LONPOLE", float(core.lonpole), "[deg] native longitude of the celestial pole"),
        ("LATPOLE", float(core.latpole), "[deg] native latitude of the celestial pole"),
    ]
    if core.radesys in ("FK4", "FK5"):
        cards.append(("EQUINOX", float(core.equinox), "[yr] equinox of the celestial coordinates"))
    return cards


def build_header(values: HeaderValues, wcs: WCS | None) -> fits.Header:
    """The header cards of a frame (without the structural and checksum cards, which the HDU adds).

    Args:
        values: Time, exposure, pointing, site, detector and provenance values.
        wcs: The frame's WCS, or None for a frame that does not image the sky
            (a dark or a bias may go without).

    Returns:
        A header whose every card has a comment.

    Raises:
        TypeError: If ``values`` is not a :class:`HeaderValues` or ``wcs`` not a WCS.
        ValueError: If the WCS cannot be written (see :func:`wcs_cards`).
    """
    if not isinstance(values, HeaderValues):
        raise TypeError(f"header_values: expected a HeaderValues, got {type(values).__name__}")
    cards = _value_cards(values)
    if wcs is not None:
        cards += wcs_cards(wcs)
    header = fits.Header()
    for keyword, value, comment in cards:
        header.append(fits.Card(keyword, value, comment), end=True)
    return header
