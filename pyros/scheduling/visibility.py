"""When each sequence may start: its windows, the night, its airmass limit and the Moon.

For every sequence the planner needs the set of instants at which it may
*start* so that its whole run satisfies every constraint of its own. This
module computes it once per planning:

1. the period planned (the night from "now") is sampled every
   ``grid_step_s`` (120 s) and :meth:`pyros.astro.Sky.targets` gives every
   target's altitude and distance to the Moon at every sample (one
   vectorised call for all targets);
2. for each target, the runs of samples meeting both limits are its visible
   intervals; the edge of a run is placed by linear interpolation between
   the sample inside and the sample outside, then moved ``edge_margin_s``
   inwards. The limits themselves are tightened by ``limit_margin_deg``. Both
   margins absorb the interpolation and the differences with a full astropy
   computation (``docs/scheduler.md`` gives the figures), so a checker that
   samples every few seconds with astropy finds no violation;
3. the visible intervals are cut to the sequence's windows and to the
   period; an interval ``[a, b]`` at least as long as the duration ``d``
   allows starts in ``[a, b - d]``.

A sequence that can never start gets the most basic reason that applies
(:class:`~pyros.scheduling.plan.UnplacedReason`): outside the night, windows
too short, never visible, Moon too close, visible too briefly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pyros.astro import Sky
from pyros.astro.airmass import airmass
from pyros.scheduling.plan import UnplacedReason
from pyros.scheduling.problem import PlanningProblem, SequenceToPlan

__all__ = ["Feasibility", "VisibilityCalculator", "altitude_for_airmass", "intersect"]

Intervals = list[tuple[float, float]]


def altitude_for_airmass(max_airmass: np.ndarray) -> np.ndarray:
    """The geometric altitude (degrees) at which :func:`pyros.astro.airmass.airmass` equals each value.

    Airmass decreases with altitude, so a target meets ``airmass <= X`` exactly
    when its altitude is at least this. Bisection to 1e-9 degree.
    """
    wanted = np.asarray(max_airmass, dtype=float)
    low = np.zeros_like(wanted)
    high = np.full_like(wanted, 90.0)
    for _ in range(40):
        middle = (low + high) / 2.0
        too_low = airmass(middle) > wanted
        low = np.where(too_low, middle, low)
        high = np.where(too_low, high, middle)
    return high


def intersect(first: Intervals, second: Intervals) -> Intervals:
    """Intersection of two sorted lists of disjoint closed intervals."""
    result: Intervals = []
    i = j = 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if start < end:
            result.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return result


def _merged(intervals: list[tuple[float, float]]) -> Intervals:
    ordered = sorted(intervals)
    result: Intervals = []
    for start, end in ordered:
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


@dataclass(frozen=True)
class Feasibility:
    """When one sequence may run.

    Attributes:
        sequence_id: The sequence.
        allowed: Intervals in which its whole run may take place (windows, night,
            airmass and Moon together), in time order.
        starts: Closed intervals of the instants at which it may start, in time order;
            empty if it can never run.
        reason: Why it can never run (``None`` when ``starts`` is not empty).
        detail: The reason in a sentence for people.
        best_s: For a sequence with a target, the allowed start at which its
            airmass is lowest at mid-run (``None`` without target or starts).
    """

    sequence_id: int
    allowed: tuple[tuple[float, float], ...]
    starts: tuple[tuple[float, float], ...]
    reason: UnplacedReason | None
    detail: str
    best_s: float | None = None

    @property
    def first_start(self) -> float:
        """The earliest allowed start (``inf`` if none)."""
        return self.starts[0][0] if self.starts else math.inf

    @property
    def last_start(self) -> float:
        """The latest allowed start (``-inf`` if none)."""
        return self.starts[-1][1] if self.starts else -math.inf

    @property
    def flexibility_s(self) -> float:
        """Total length of the start intervals (0 for a single instant)."""
        return sum(end - start for start, end in self.starts)


class VisibilityCalculator:
    """Computes :class:`Feasibility` for the sequences of a problem at one site.

    Args:
        sky: The site's sky.
        grid_step_s: Sampling step of target altitudes and Moon distances, seconds.
        edge_margin_s: How far inside an interpolated visibility edge a run may start or end.
        limit_margin_deg: How much the airmass (as an altitude) and Moon limits are tightened.
    """

    def __init__(self, sky: Sky, grid_step_s: float = 120.0, edge_margin_s: float = 5.0,
                 limit_margin_deg: float = 0.002) -> None:
        if not math.isfinite(grid_step_s) or grid_step_s <= 0:
            raise ValueError(f"grid_step_s must be positive, got {grid_step_s!r}")
        if not math.isfinite(edge_margin_s) or edge_margin_s < 0:
            raise ValueError(f"edge_margin_s must be >= 0, got {edge_margin_s!r}")
        if not math.isfinite(limit_margin_deg) or limit_margin_deg < 0:
            raise ValueError(f"limit_margin_deg must be >= 0, got {limit_margin_deg!r}")
        self.sky = sky
        self.grid_step_s = float(grid_step_s)
        self.edge_margin_s = float(edge_margin_s)
        self.limit_margin_deg = float(limit_margin_deg)
        self.cache_limit = 20000
        self._cache: dict[tuple[float | None, ...], tuple[Intervals, Intervals, float | None]] = {}
        self._cache_span: tuple[float, float] | None = None

    def grid(self, start_s: float, end_s: float) -> np.ndarray:
        """The sample instants covering ``[start_s, end_s]``: multiples of the step (UNIX seconds).

        Anchoring the samples to multiples of the step makes every planning of a
        night sample the same instants, so a replan reuses what an earlier
        planning computed (see :meth:`feasibility`).
        """
        first = math.floor(start_s / self.grid_step_s)
        last = max(first + 1, math.ceil(end_s / self.grid_step_s))
        return np.arange(first, last + 1, dtype=float) * self.grid_step_s

    def feasibility(self, problem: PlanningProblem,
                    sequences: tuple[SequenceToPlan, ...] | None = None) -> dict[int, Feasibility]:
        """When each sequence of the problem (or of ``sequences``) may start.

        Returns:
            A :class:`Feasibility` per sequence id.
        """
        chosen = problem.sequences if sequences is None else sequences
        start, end = (float(value) for value in problem.horizon)
        if not end > start:
            return {s.id: Feasibility(s.id, (), (), UnplacedReason.OUTSIDE_NIGHT,
                                      "nothing is left of the night to plan") for s in chosen}
        targeted = [s for s in chosen if s.has_target]
        sky_ok: dict[int, tuple[Intervals, Intervals, float | None]] = {}
        if targeted:
            sky_ok = self._cached_sky_intervals(targeted, start, end)
        result: dict[int, Feasibility] = {}
        for sequence in chosen:
            allowed_by_time = self._time_intervals(sequence, start, end)
            if sequence.has_target:
                airmass_ok, both_ok, best = sky_ok[sequence.id]
            else:
                airmass_ok = both_ok = [(start, end)]
                best = None
            result[sequence.id] = self._feasibility(sequence, allowed_by_time, airmass_ok, both_ok, best)
        return result

    @staticmethod
    def _time_intervals(sequence: SequenceToPlan, start: float, end: float) -> Intervals:
        if not sequence.windows:
            return [(start, end)]
        return intersect(_merged([tuple(w) for w in sequence.windows]), [(start, end)])  # type: ignore[misc]

    def _feasibility(self, sequence: SequenceToPlan, by_time: Intervals, airmass_ok: Intervals,
                     both_ok: Intervals, best: float | None) -> Feasibility:
        duration = sequence.duration_s
        if not by_time:
            return Feasibility(sequence.id, (), (), UnplacedReason.OUTSIDE_NIGHT,
                               "none of its time windows meets what is left of the night")
        if all(b - a < duration for a, b in by_time):
            longest = max(b - a for a, b in by_time)
            return Feasibility(sequence.id, (), (), UnplacedReason.WINDOW_TOO_SHORT,
                               f"its windows at night are at most {longest:.0f} s long, "
                               f"shorter than its duration {duration:.0f} s")
        allowed = intersect(by_time, both_ok)
        starts = tuple((a, b - duration) for a, b in allowed if b - a >= duration)
        if starts:
            best_start = None
            if best is not None and math.isfinite(best):
                best_start = min(max(best - duration / 2.0, starts[0][0]), starts[-1][1])
                best_start = _nearest_in(starts, best_start)
            return Feasibility(sequence.id, tuple(allowed), starts, None, "", None if best_start is None else float(best_start))
        if not intersect(by_time, airmass_ok):
            limit = f"airmass {sequence.max_airmass:g}" if sequence.max_airmass is not None else "the horizon"
            return Feasibility(sequence.id, (), (), UnplacedReason.NEVER_VISIBLE,
                               f"its target is never above {limit} in its windows at night")
        if not allowed:
            return Feasibility(sequence.id, (), (), UnplacedReason.MOON_TOO_CLOSE,
                               f"whenever its target is high enough, the Moon is closer than "
                               f"{sequence.min_moon_distance_deg:g} deg")
        longest = max(b - a for a, b in allowed)
        return Feasibility(sequence.id, tuple(allowed), (), UnplacedReason.VISIBLE_TOO_BRIEFLY,
                           f"its target meets its constraints for at most {longest:.0f} s at a time, "
                           f"shorter than its duration {duration:.0f} s")

    def _cached_sky_intervals(self, sequences: list[SequenceToPlan], start: float,
                              end: float) -> dict[int, tuple[Intervals, Intervals, float | None]]:
        """:meth:`_sky_intervals`, reusing the targets already computed for the same night.

        The cache holds the intervals of each (target, airmass limit, Moon limit)
        over the span first computed; a call ending at the same instant and
        starting inside that span (a replan later in the night) computes only
        the new targets and cuts the rest to its start. Another night empties it.
        """
        first, last = self.grid(start, end)[[0, -1]]
        span = self._cache_span
        if span is None or span[1] != last or first < span[0] or len(self._cache) > self.cache_limit:
            self._cache.clear()
            self._cache_span = span = (float(first), float(last))
        keys = [(s.ra_deg, s.dec_deg, s.max_airmass, s.min_moon_distance_deg) for s in sequences]
        missing = {key: s for key, s in zip(keys, sequences, strict=True) if key not in self._cache}
        if missing:
            computed = self._sky_intervals(list(missing.values()), span[0], span[1])
            for key, sequence in missing.items():
                self._cache[key] = computed[sequence.id]
        result: dict[int, tuple[Intervals, Intervals, float | None]] = {}
        for key, sequence in zip(keys, sequences, strict=True):
            airmass_ok, both_ok, peak = self._cache[key]
            result[sequence.id] = (intersect(airmass_ok, [(start, end)]), intersect(both_ok, [(start, end)]), peak)
        return result

    def _sky_intervals(self, sequences: list[SequenceToPlan], start: float,
                       end: float) -> dict[int, tuple[Intervals, Intervals, float | None]]:
        """Per sequence: intervals meeting the airmass limit, both limits, and when it culminates."""
        times = self.grid(start, end)
        ra = np.array([s.ra_deg for s in sequences], dtype=float)
        dec = np.array([s.dec_deg for s in sequences], dtype=float)
        geometry = self.sky.targets(ra, dec, times)
        altitude = geometry.altitude_deg
        max_airmass = np.array([math.inf if s.max_airmass is None else s.max_airmass for s in sequences])
        floor = np.where(np.isinf(max_airmass), 0.0, altitude_for_airmass(np.where(np.isinf(max_airmass), 2.0,
                                                                                     max_airmass)))
        altitude_margin = altitude - (floor + self.limit_margin_deg)[:, None]
        min_moon = np.array([-1.0 if s.min_moon_distance_deg is None else s.min_moon_distance_deg
                             for s in sequences])
        moon_margin = np.where((min_moon >= 0)[:, None],
                               geometry.moon_separation_deg - (min_moon + self.limit_margin_deg)[:, None], 1.0)
        combined = np.minimum(altitude_margin, moon_margin)
        airmass_runs = self._runs(times, altitude_margin, start, end)
        both_runs = self._runs_of_two(times, altitude_margin, moon_margin, combined, start, end)
        peak = times[np.argmax(altitude, axis=1)] if times.size else np.full(len(sequences), np.nan)
        return {s.id: (airmass_runs[i], both_runs[i], float(peak[i])) for i, s in enumerate(sequences)}

    def _runs(self, times: np.ndarray, margin: np.ndarray, start: float, end: float) -> list[Intervals]:
        return self._runs_of_two(times, margin, None, margin, start, end)

    def _runs_of_two(self, times: np.ndarray, first: np.ndarray, second: np.ndarray | None, combined: np.ndarray,
                     start: float, end: float) -> list[Intervals]:
        """Runs of samples where ``combined >= 0``, their edges interpolated on each margin crossing."""
        good = combined >= 0.0
        count, samples = good.shape
        padded = np.zeros((count, samples + 2), dtype=np.int8)
        padded[:, 1:-1] = good
        change = np.diff(padded, axis=1)
        rise_rows, rise_cols = np.nonzero(change == 1)     # first good sample of a run
        fall_rows, fall_cols = np.nonzero(change == -1)    # one past the last good sample
        step = self.grid_step_s
        margins = [first] if second is None else [first, second]

        def crossing(rows: np.ndarray, outside: np.ndarray, inside: np.ndarray) -> np.ndarray:
            """Latest crossing (from the outside sample toward the inside one) over the margins."""
            fraction = np.zeros(rows.size)
            for margin in margins:
                out_value = margin[rows, outside]
                in_value = margin[rows, inside]
                failing = out_value < 0.0
                with np.errstate(divide="ignore", invalid="ignore"):
                    part = np.where(failing & np.isfinite(out_value),
                                    -out_value / (in_value - out_value), np.where(failing, 1.0, 0.0))
                fraction = np.maximum(fraction, np.clip(part, 0.0, 1.0))
            return fraction

        starts = times[np.minimum(rise_cols, samples - 1)].copy()
        interior = rise_cols > 0
        if interior.any():
            rows, cols = rise_rows[interior], rise_cols[interior]
            starts[interior] = times[cols - 1] + crossing(rows, cols - 1, cols) * step + self.edge_margin_s
        ends = times[fall_cols - 1].copy()
        interior_end = fall_cols < samples
        if interior_end.any():
            rows, cols = fall_rows[interior_end], fall_cols[interior_end]
            ends[interior_end] = times[cols] - crossing(rows, cols, cols - 1) * step - self.edge_margin_s
        runs: list[Intervals] = [[] for _ in range(count)]
        for row, a, b in zip(rise_rows.tolist(), starts.tolist(), ends.tolist(), strict=True):
            a = max(a, start)
            b = min(b, end)
            if b > a:
                runs[row].append((a, b))
        return runs


def _nearest_in(intervals: tuple[tuple[float, float], ...], instant: float) -> float:
    best = intervals[0][0]
    for start, end in intervals:
        candidate = min(max(instant, start), end)
        if abs(candidate - instant) < abs(best - instant):
            best = candidate
    return best
