"""The time between two sequences: slew, settling and filter change.

A sequence's own duration covers its images and their readouts (the
``planned_duration_s`` of :mod:`pyros.requests.store`); what the planner adds
between two consecutive sequences is a *transition*::

    transition(a, b) = slew(a, b) + settle_s    (when the target changes)
                     + filter_change_s          (when a's last filter is not b's first)

Slews are time-independent so that a plan can be checked without knowing
when each transition happens:

* ``separation``: the great-circle angle between the targets at
  ``slew_rate_deg_s`` (the model of astroplan's ``Transitioner``; right for a
  mount that moves both axes at once along a short path);
* ``equatorial``: each axis moves at its rate at the same time, so the slew
  takes ``max(|delta RA| / rate_ra, |delta Dec| / rate_dec)`` (the hour-angle
  difference of two targets is their RA difference at any instant).

A sequence without a target costs no slew. Transitions are the model's
worst case when the origin is unknown (:meth:`OverheadModel.worst_case_s`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["OverheadModel", "SLEW_MODELS"]

SLEW_MODELS = ("separation", "equatorial")
"""The slew models :class:`OverheadModel` knows."""


@dataclass(frozen=True)
class OverheadModel:
    """Transition times between sequences.

    Attributes:
        slew_model: ``separation`` or ``equatorial`` (see the module).
        slew_rate_deg_s: Slew speed (``separation``) or the RA axis speed
            (``equatorial``), degrees per second, > 0.
        dec_rate_deg_s: The Dec axis speed for ``equatorial`` (``None``: the same).
        settle_s: Added after every slew (tracking settles, dome catches up), >= 0.
        filter_change_s: Added when the filter changes between two sequences, >= 0.
    """

    slew_model: str = "separation"
    slew_rate_deg_s: float = 3.0
    dec_rate_deg_s: float | None = None
    settle_s: float = 10.0
    filter_change_s: float = 10.0

    def __post_init__(self) -> None:
        if self.slew_model not in SLEW_MODELS:
            raise ValueError(f"slew_model must be one of {', '.join(SLEW_MODELS)}, got {self.slew_model!r}")
        for name in ("slew_rate_deg_s", "dec_rate_deg_s"):
            value = getattr(self, name)
            if value is None and name == "dec_rate_deg_s":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name in ("settle_s", "filter_change_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> OverheadModel:
        """Build from a configuration table (``[scheduler.overheads]``), refusing unknown keys."""
        known = {"slew_model", "slew_rate_deg_s", "dec_rate_deg_s", "settle_s", "filter_change_s"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown overhead setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**dict(values))

    def slew_s(self, ra1: float, dec1: float, ra2: float, dec2: float) -> float:
        """Seconds to slew between two ICRS positions (degrees), settling excluded."""
        return float(self.slew_matrix_s(np.array([ra1]), np.array([dec1]), np.array([ra2]), np.array([dec2]))[0, 0])

    def slew_matrix_s(self, ra_from: np.ndarray, dec_from: np.ndarray,
                      ra_to: np.ndarray, dec_to: np.ndarray) -> np.ndarray:
        """Slew seconds from each of N positions to each of M positions, shape (N, M)."""
        ra1 = np.radians(np.asarray(ra_from, dtype=float))[:, None]
        dec1 = np.radians(np.asarray(dec_from, dtype=float))[:, None]
        ra2 = np.radians(np.asarray(ra_to, dtype=float))[None, :]
        dec2 = np.radians(np.asarray(dec_to, dtype=float))[None, :]
        if self.slew_model == "separation":
            # Haversine form: accurate for small and large angles alike.
            half = (np.sin((dec2 - dec1) / 2.0) ** 2
                    + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2.0) ** 2)
            angle = np.degrees(2.0 * np.arcsin(np.sqrt(np.clip(half, 0.0, 1.0))))
            return angle / self.slew_rate_deg_s
        delta_ra = np.degrees(np.abs((ra2 - ra1 + math.pi) % (2.0 * math.pi) - math.pi))
        delta_dec = np.degrees(np.abs(dec2 - dec1))
        dec_rate = self.dec_rate_deg_s or self.slew_rate_deg_s
        return np.maximum(delta_ra / self.slew_rate_deg_s, delta_dec / dec_rate)

    def transition_matrix_s(self, ra: Sequence[float | None], dec: Sequence[float | None],
                            first_filter: Sequence[str | None], last_filter: Sequence[str | None]) -> np.ndarray:
        """Transition seconds from sequence i (row) to sequence j (column), for N sequences.

        Args:
            ra: Each sequence's right ascension (``None``: no target).
            dec: Each sequence's declination (``None``: no target).
            first_filter: Each sequence's first filter (``None``: no filter needed).
            last_filter: Each sequence's last filter.
        """
        count = len(ra)
        has_target = np.array([value is not None for value in ra], dtype=bool)
        ra_values = np.array([0.0 if value is None else value for value in ra], dtype=float)
        dec_values = np.array([0.0 if value is None else value for value in dec], dtype=float)
        slew = self.slew_matrix_s(ra_values, dec_values, ra_values, dec_values)
        moving = has_target[:, None] & has_target[None, :]
        same_place = slew <= 0.0
        result = np.where(moving & ~same_place, slew + self.settle_s, 0.0)
        codes: dict[str, int] = {}
        first = np.array([-1 if f is None else codes.setdefault(f, len(codes)) for f in first_filter])
        last = np.array([-1 if f is None else codes.setdefault(f, len(codes)) for f in last_filter])
        change = (first[None, :] >= 0) & (last[:, None] >= 0) & (first[None, :] != last[:, None])
        result = result + np.where(change, self.filter_change_s, 0.0)
        if count:
            np.fill_diagonal(result, 0.0)
        return result

    def transition_s(self, ra1: float | None, dec1: float | None, filter1: str | None,
                     ra2: float | None, dec2: float | None, filter2: str | None) -> float:
        """Seconds between a sequence ending at (ra1, dec1) with ``filter1`` and one starting at
        (ra2, dec2) with ``filter2``."""
        seconds = 0.0
        if ra1 is not None and dec1 is not None and ra2 is not None and dec2 is not None:
            slew = self.slew_s(ra1, dec1, ra2, dec2)
            if slew > 0.0:
                seconds += slew + self.settle_s
        if filter1 is not None and filter2 is not None and filter1 != filter2:
            seconds += self.filter_change_s
        return seconds

    def worst_case_s(self) -> float:
        """The longest transition the model can give (a slew of 180 degrees and a filter change)."""
        if self.slew_model == "separation":
            slew = 180.0 / self.slew_rate_deg_s
        else:
            slew = max(180.0 / self.slew_rate_deg_s, 180.0 / (self.dec_rate_deg_s or self.slew_rate_deg_s))
        return slew + self.settle_s + self.filter_change_s
