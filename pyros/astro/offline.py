"""The offline data policy of :mod:`pyros.astro`: astropy never downloads anything.

An observatory computer may have no internet access, and a night's schedule
must not depend on whether a download succeeded. Importing :mod:`pyros.astro`
therefore calls :func:`apply_offline_policy`, which sets, for the whole
process:

* ``astropy.utils.data.conf.allow_internet = False``: astropy refuses every
  download of data files;
* ``astropy.utils.iers.conf.auto_download = False``: the Earth orientation
  tables and the leap-second table come from the files bundled with astropy
  (the ``astropy-iers-data`` package), never from the IERS servers;
* ``astropy.utils.iers.conf.auto_max_age = None``: no age limit on those
  files, so an old bundle neither triggers a download nor a staleness warning;
* a warnings filter that ignores ERFA's "dubious year" warning. ERFA raises it
  for UTC instants beyond the horizon of the leap-second table (about 18
  months after the bundled table expires: late 2028 with the data installed
  today), because nobody knows yet whether a leap second will be inserted;
  such instants are converted assuming none will be. Since test runners and
  ``warnings.catch_warnings`` blocks may reset the process' filters, the public
  functions of :mod:`pyros.astro` also silence that one warning while they run
  (:func:`silence_dubious_years`).

The Earth orientation parameters used by :mod:`pyros.astro` (UT1-UTC and polar
motion) come from the IERS-B (EOP C04) table bundled with astropy, read once by
:func:`earth_orientation_table`. For instants outside that table (before 1962,
or after its last entry, a few weeks before the release date of the installed
``astropy-iers-data``) the table's first or last values are used, silently: the
error that follows is below 1 s of time in UT1 (|UT1-UTC| stays under 0.9 s by
the definition of UTC) and below one arcsecond in polar motion, well inside
what the scheduler needs. Updating ``astropy-iers-data`` moves that horizon
forward.

This module does not replace astropy's own default Earth orientation table: the
IERS-B table would make astropy's own transformations (``AltAz`` and friends)
raise for instants after its last entry, which would surprise other code of the
process. With automatic downloads off, astropy's default is the IERS-A table
bundled with it, which covers the same past and about one year of predictions.
"""

from __future__ import annotations

import functools
import logging
import threading
import warnings
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from astropy.utils import iers
from astropy.utils.data import conf as data_conf
from erfa import ErfaWarning

__all__ = ["apply_offline_policy", "earth_orientation_table", "silence_dubious_years"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

DUBIOUS_YEAR_MESSAGE = r'ERFA function "\w+" yielded .*dubious year'
"""Regular expression of ERFA's warning about UTC beyond the leap-second table."""

log = logging.getLogger(__name__)

_table_lock = threading.Lock()
_table: iers.IERS_B | None = None


def apply_offline_policy() -> None:
    """Forbid astropy every download and every age check of its bundled tables.

    Idempotent; called when :mod:`pyros.astro` is imported. Settings made
    before the first conversion to or from UTC in the process also keep
    astropy's leap-second table from being looked for on the internet.
    """
    data_conf.allow_internet = False
    iers.conf.auto_download = False
    iers.conf.auto_max_age = None
    warnings.filterwarnings("ignore", message=DUBIOUS_YEAR_MESSAGE, category=ErfaWarning)


def silence_dubious_years(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorate ``function`` so that ERFA's "dubious year" warning is ignored while it runs.

    The filter is installed with :class:`warnings.catch_warnings`, which in
    Python 3.11 changes process-wide state: another thread that emits the same
    warning meanwhile does not see it either, nothing else changes.
    """

    @functools.wraps(function)
    def quiet(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=DUBIOUS_YEAR_MESSAGE, category=ErfaWarning)
            return function(*args, **kwargs)

    return quiet


def earth_orientation_table() -> iers.IERS_B:
    """Return the IERS-B table bundled with astropy (read once, then cached).

    Returns:
        The table of UT1-UTC and polar motion. Interpolate it with
        ``return_status=True`` so that instants outside it get the edge values
        instead of an error (see the module documentation).
    """
    global _table
    with _table_lock:
        if _table is None:
            _table = iers.IERS_B.open(iers.IERS_B_FILE)
            log.debug("IERS-B table %s read: MJD %.0f to %.0f", iers.IERS_B_FILE,
                      _table["MJD"][0].value, _table["MJD"][-1].value)
        return _table
