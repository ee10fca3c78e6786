"""Observatory time for timestamps made by the service framework.

``pyros.clock`` (written alongside this package) provides ``get_clock()``,
whose ``now()`` is the observatory time in UNIX seconds, real or simulated.
The import is guarded so that the framework also works where that module,
or its ``get_clock`` function, is not available: it then falls back to
:func:`time.time`. This is the only place in :mod:`pyros.service` that reads
the wall clock for observatory timestamps.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


@functools.cache
def _source() -> Callable[[], float]:
    # Imported late and guarded: pyros.clock is optional for this package.
    try:
        from pyros.clock import get_clock  # noqa: PLC0415
    except ImportError:
        logger.debug("pyros.clock.get_clock is not available; observatory time is time.time()")
        return time.time

    def now() -> float:
        return float(get_clock().now())

    return now


def observatory_now() -> float:
    """Return the observatory time now, in float UNIX seconds (UTC).

    Uses ``pyros.clock.get_clock().now()`` when that exists, else
    :func:`time.time`. The clock installed with ``pyros.clock.set_clock`` is
    read at every call, so a simulated clock set later is honoured.
    """
    return _source()()
