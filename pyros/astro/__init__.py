"""Astronomy for the scheduler and the observatory logic, on astropy.

Importing this package applies the offline data policy
(:mod:`pyros.astro.offline`): astropy never downloads anything. Start from
:class:`Sky` (``Sky.from_config(config)``); ``docs/astronomy.md`` describes
what is computed, the frames, the accuracy and the night definition.

Modules:

* :mod:`~pyros.astro.offline`: no downloads; the bundled IERS-B table.
* :mod:`~pyros.astro.instants`: instants accepted and returned.
* :mod:`~pyros.astro.site`: the configured site as an ``EarthLocation``.
* :mod:`~pyros.astro.ephemeris`: Earth orientation, Sun and Moon, interpolated.
* :mod:`~pyros.astro.topocentric`: the site's horizon and hour-angle frames.
* :mod:`~pyros.astro.airmass`: airmass down to the horizon.
* :mod:`~pyros.astro.sun`, :mod:`~pyros.astro.moon`: the Sun's altitude; the Moon.
* :mod:`~pyros.astro.targets`: N targets x M instants, vectorised.
* :mod:`~pyros.astro.sun_track`, :mod:`~pyros.astro.observing_day`,
  :mod:`~pyros.astro.night`, :mod:`~pyros.astro.twilight`: nights and twilights.
* :mod:`~pyros.astro.sky`: everything bound to one site.
"""

from pyros.astro.offline import apply_offline_policy

apply_offline_policy()

from pyros.astro.airmass import airmass  # noqa: E402
from pyros.astro.instants import to_datetime, to_instant, to_times  # noqa: E402
from pyros.astro.moon import MoonPosition, moon_position  # noqa: E402
from pyros.astro.night import Night, NightKind, find_night  # noqa: E402
from pyros.astro.observing_day import ObservingDay  # noqa: E402
from pyros.astro.site import site_location  # noqa: E402
from pyros.astro.sky import Sky  # noqa: E402
from pyros.astro.sun import sun_altitude  # noqa: E402
from pyros.astro.targets import TargetGeometry, target_geometry  # noqa: E402
from pyros.astro.twilight import Twilights, find_twilights  # noqa: E402

__all__ = [
    "MoonPosition",
    "Night",
    "NightKind",
    "ObservingDay",
    "Sky",
    "TargetGeometry",
    "Twilights",
    "airmass",
    "find_night",
    "find_twilights",
    "moon_position",
    "site_location",
    "sun_altitude",
    "target_geometry",
    "to_datetime",
    "to_instant",
    "to_times",
]
