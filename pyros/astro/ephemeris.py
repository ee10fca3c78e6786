"""Earth orientation and the geocentric Sun and Moon, tabulated hourly and interpolated.

Everything in :mod:`pyros.astro` that depends on time goes through an
:class:`Ephemeris`: it evaluates the expensive quantities with astropy and
ERFA on a grid of nodes one hour apart in TT, and interpolates them (cubic
Lagrange, four nodes) at any instant of the span it covers:

* TT - UT1 (from UT1-UTC in the bundled IERS-B table, see
  :mod:`pyros.astro.offline`), polar motion x, y, and the TIO locator s';
* the GCRS-to-CIRS matrix (IAU 2006/2000A precession-nutation, ``erfa.c2i06a``);
* optionally the geocentric GCRS positions of the Sun and the Moon from
  astropy's built-in ephemeris (``get_body(..., ephemeris="builtin")``), which
  include light time and aberration.

At the requested instants, the Earth rotation angle is computed exactly from
UT1 and combined with the interpolated quantities into the GCRS-to-ITRS
rotation (``erfa.c2tcio``). All these quantities are smooth on a scale of days
(the fastest, the Moon's position, has an interpolation error far below a
milliarcsecond with one-hour nodes), so interpolation costs no accuracy while
astropy does its work on a few dozen nodes instead of every instant.

Instants are handled as TT seconds from the ephemeris' origin, a uniform time
scale in which leap seconds are no discontinuity.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import astropy.units as u
import erfa
import numpy as np
from astropy.coordinates import get_body
from astropy.time import Time
from numpy.typing import ArrayLike

from pyros.astro.offline import earth_orientation_table

__all__ = ["BODIES", "Ephemeris", "EphemerisState"]

STEP_S = 3600.0
"""Seconds between nodes."""

BODIES = ("sun", "moon")
"""Bodies an ephemeris can tabulate."""

_ARCSEC = math.pi / (180.0 * 3600.0)
_DAY_S = 86400.0

# Columns of the node table.
_DT, _XP, _YP, _SP = 0, 1, 2, 3
_C2I = slice(4, 13)
_FIRST_BODY = 13


@dataclass(frozen=True)
class EphemerisState:
    """The interpolated quantities at M instants.

    Attributes:
        gcrs_to_itrs: Rotation matrices from GCRS to ITRS, shape (M, 3, 3).
        bodies_m: Body name -> geocentric GCRS positions in metres, shape (M, 3),
            for the bodies the ephemeris tabulates.
    """

    gcrs_to_itrs: np.ndarray
    bodies_m: dict[str, np.ndarray]

    def position_m(self, body: str) -> np.ndarray:
        """Geocentric GCRS positions of ``body`` in metres, shape (M, 3).

        Raises:
            KeyError: If the ephemeris was built without that body.
        """
        if body not in self.bodies_m:
            raise KeyError(f"{body!r} is not tabulated by this ephemeris (it has {sorted(self.bodies_m)})")
        return self.bodies_m[body]


def _lagrange_weights(u_frac: np.ndarray) -> np.ndarray:
    """Cubic Lagrange weights of nodes -1, 0, 1, 2 for fractions ``u_frac`` in [0, 1]; shape (M, 4)."""
    um1, u0, up1, up2 = u_frac + 1.0, u_frac, u_frac - 1.0, u_frac - 2.0
    return np.stack([
        -u0 * up1 * up2 / 6.0,
        um1 * up1 * up2 / 2.0,
        -um1 * u0 * up2 / 2.0,
        um1 * u0 * up1 / 6.0,
    ], axis=-1)


class Ephemeris:
    """Earth orientation (and optionally the Sun and the Moon) at nodes one hour apart in TT.

    Build it with :meth:`spanning` (every node of a span: any instant of the
    span can then be evaluated) or :meth:`covering` (only the nodes around given
    instants, however far apart they are).

    Args:
        origin: Origin of the seconds (any scale; converted to TT).
        nodes: Indices of the nodes (node k is at ``k * STEP_S`` seconds from
            the origin), sorted and unique.
        bodies: Bodies to tabulate, among :data:`BODIES`.

    Raises:
        ValueError: For an unknown body or no nodes.
    """

    def __init__(self, origin: Time, nodes: np.ndarray, bodies: Collection[str] = ()) -> None:
        unknown = set(bodies) - set(BODIES)
        if unknown:
            raise ValueError(f"bodies: unknown {sorted(unknown)}, expected some of {list(BODIES)}")
        if len(nodes) == 0:
            raise ValueError("nodes: at least one node is needed")
        tt = origin.tt
        self._origin = (float(tt.jd1), float(tt.jd2))
        self.bodies = tuple(body for body in BODIES if body in bodies)
        self._nodes = np.asarray(nodes, dtype=np.int64)
        self._table = self._tabulate(self._nodes * STEP_S)

    @classmethod
    def spanning(cls, origin: Time, first_s: float, last_s: float, bodies: Collection[str] = ()) -> Ephemeris:
        """Tabulate every node needed to evaluate any instant from ``first_s`` to ``last_s``.

        Raises:
            ValueError: For a reversed or non-finite span, or an unknown body.
        """
        if not (math.isfinite(first_s) and math.isfinite(last_s) and first_s <= last_s):
            raise ValueError(f"span: expected finite first_s <= last_s, got {first_s!r}, {last_s!r}")
        nodes = np.arange(math.floor(first_s / STEP_S) - 1, math.floor(last_s / STEP_S) + 3)
        return cls(origin, nodes, bodies)

    @classmethod
    def covering(cls, times: Time, bodies: Collection[str] = ()) -> tuple[Ephemeris, np.ndarray]:
        """Tabulate the nodes around ``times`` only, and return the ephemeris with their TT seconds.

        Args:
            times: A 1-D ``Time`` with at least one element.
            bodies: Bodies to tabulate.

        Returns:
            The ephemeris (origin: the earliest instant) and the instants as TT seconds.
        """
        tt = times.tt
        earliest = int(np.argmin(tt.jd1 + tt.jd2))
        ephemeris_origin = tt[earliest]
        o1, o2 = float(ephemeris_origin.jd1), float(ephemeris_origin.jd2)
        seconds = np.asarray(((tt.jd1 - o1) + (tt.jd2 - o2)) * _DAY_S, dtype=float)
        left = np.floor(seconds / STEP_S).astype(np.int64)
        nodes = np.unique((left[:, None] + np.arange(-1, 3)).ravel())
        return cls(ephemeris_origin, nodes, bodies), seconds

    def seconds(self, times: Time) -> np.ndarray:
        """Return ``times`` as TT seconds from the origin."""
        tt = times.tt
        return np.asarray(((tt.jd1 - self._origin[0]) + (tt.jd2 - self._origin[1])) * _DAY_S, dtype=float)

    def time_at(self, seconds: ArrayLike) -> Time:
        """Return the UTC instants at TT seconds from the origin."""
        tt = Time(self._origin[0], self._origin[1] + np.asarray(seconds, dtype=float) / _DAY_S, format="jd",
                  scale="tt")
        utc = tt.utc
        return Time(utc.jd1, utc.jd2, format="jd", scale="utc", precision=3).replicate(format="isot")

    def _tabulate(self, node_s: np.ndarray) -> np.ndarray:
        """Evaluate every tabulated quantity at the nodes; shape (K, columns)."""
        tt = Time(self._origin[0], self._origin[1] + node_s / _DAY_S, format="jd", scale="tt")
        utc = tt.utc
        table = earth_orientation_table()
        dut1, _ = table.ut1_utc(utc.jd1, utc.jd2, return_status=True)
        xp, yp, _ = table.pm_xy(utc.jd1, utc.jd2, return_status=True)
        ut1_1, ut1_2 = erfa.utcut1(utc.jd1, utc.jd2, np.asarray(dut1.to_value(u.s), dtype=float))
        columns = [
            ((tt.jd1 - ut1_1) + (tt.jd2 - ut1_2)) * _DAY_S,
            np.asarray(xp.to_value(u.arcsec), dtype=float) * _ARCSEC,
            np.asarray(yp.to_value(u.arcsec), dtype=float) * _ARCSEC,
            erfa.sp00(tt.jd1, tt.jd2),
        ]
        c2i = erfa.c2i06a(tt.jd1, tt.jd2).reshape(len(node_s), 9)
        parts = [np.stack(columns, axis=-1), c2i]
        for body in self.bodies:
            gcrs = get_body(body, tt, ephemeris="builtin")
            parts.append(np.asarray(gcrs.cartesian.xyz.to_value(u.m), dtype=float).T)
        return np.concatenate(parts, axis=-1)

    def state(self, seconds: np.ndarray) -> EphemerisState:
        """Interpolate at TT seconds from the origin.

        Args:
            seconds: 1-D array of TT seconds, each with its four surrounding nodes tabulated.

        Returns:
            The state at each instant.

        Raises:
            ValueError: If the nodes around an instant are not tabulated.
        """
        seconds = np.asarray(seconds, dtype=float)
        left = np.floor(seconds / STEP_S).astype(np.int64)
        first = np.searchsorted(self._nodes, left - 1)
        last = np.minimum(first + 3, len(self._nodes) - 1)
        present = (self._nodes[np.minimum(first, len(self._nodes) - 1)] == left - 1) & (self._nodes[last] == left + 2)
        if not np.all(present):
            bad = float(seconds[np.flatnonzero(~present)[0]])
            raise ValueError(f"instant at {bad:g} s from the ephemeris origin is outside its tabulated nodes")
        weights = _lagrange_weights(seconds / STEP_S - left)
        values = np.einsum("mk,mkd->md", weights, self._table[first[:, None] + np.arange(4)])
        ut1_2 = self._origin[1] + (seconds - values[:, _DT]) / _DAY_S
        era = erfa.era00(self._origin[0], ut1_2)
        polar_motion = erfa.pom00(values[:, _XP], values[:, _YP], values[:, _SP])
        gcrs_to_itrs = erfa.c2tcio(values[:, _C2I].reshape(-1, 3, 3), era, polar_motion)
        bodies = {body: values[:, _FIRST_BODY + 3 * k:_FIRST_BODY + 3 * k + 3] for k, body in enumerate(self.bodies)}
        return EphemerisState(gcrs_to_itrs=gcrs_to_itrs, bodies_m=bodies)
