"""Seeded, realistic planning problems for the scheduler benchmark (``tests/perf/bench_scheduler.py``).

Each instance is one night at the configured site (``Sky.from_config(Config())``)
with sequences drawn as an observatory receives them:

* targets uniform on the sphere, restricted to the declinations whose
  highest altitude at the site reaches airmass 2 (many are nevertheless
  below it all night: their right ascension is uniform too);
* a duration uniform in 5-60 minutes (whole seconds), an integer priority 1-10,
  airmass at most 2;
* half of them with one time window inside the night, of random start and
  length; one window in ten is shorter than the duration (it cannot be used);
* a minimum Moon distance (0-40 degrees) for 40 %;
* one filter per sequence among g, r, i, z (first = last, which astroplan can express);
* a preferred start for 30 %, inside the window (or the night) where the run fits.

The overheads are those astroplan can model too: great-circle slews at
1 degree/s, no settling, 30 s per filter change. The problem covers the whole
night and charges no transition before the first sequence (astroplan charges
none either).

The five quality instances have fixed seeds and nights spread over 2025 at
different phases of the Moon (full, new, first quarter, waning, waxing
gibbous); the speed instance has 1,000 sequences on another full-Moon night.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from pyros.astro import Sky
from pyros.config import Config
from pyros.scheduling.overheads import OverheadModel
from pyros.scheduling.problem import PlanningProblem, SequenceToPlan
from pyros.scheduling.visibility import altitude_for_airmass

__all__ = ["BENCH_OVERHEADS", "FILTERS", "Instance", "QUALITY_INSTANCES", "bench_sky", "make_instance",
           "quality_instances", "speed_instance", "with_urgent_sequence"]

BENCH_OVERHEADS = OverheadModel(slew_model="separation", slew_rate_deg_s=1.0, settle_s=0.0, filter_change_s=30.0)
"""Transitions of the benchmark: what astroplan's ``Transitioner`` can express."""

FILTERS = ("g", "r", "i", "z")
"""The filters drawn from."""

MAX_AIRMASS = 2.0
"""Every sequence's airmass limit."""

QUALITY_INSTANCES: tuple[tuple[int, date], ...] = (
    (20250113, date(2025, 1, 13)),   # full Moon
    (20250329, date(2025, 3, 29)),   # new Moon
    (20250603, date(2025, 6, 3)),    # first quarter, short summer night
    (20250816, date(2025, 8, 16)),   # waning, after last quarter
    (20251029, date(2025, 10, 29)),  # waxing, after first quarter
)
"""Seed and night (the evening's date at the site) of the five quality instances."""

SPEED_INSTANCE = (20251204, date(2025, 12, 4))
"""Seed and night of the 1,000-sequence speed instance (full Moon, a long night)."""


@dataclass(frozen=True)
class Instance:
    """One benchmark problem.

    Attributes:
        name: Short label for tables (``2025-01-13 #20250113``).
        seed: The generator's seed.
        night_date: The evening's date.
        problem: The planning problem.
    """

    name: str
    seed: int
    night_date: date
    problem: PlanningProblem


@functools.lru_cache(maxsize=1)
def bench_sky() -> Sky:
    """The configured site's sky (the default configuration), built once."""
    return Sky.from_config(Config())


def _lowest_declination_deg(latitude_deg: float) -> tuple[float, float]:
    """Declinations whose highest altitude at the latitude reaches airmass 2: ``[low, high]``."""
    reach = 90.0 - float(altitude_for_airmass(np.array([MAX_AIRMASS]))[0])
    return max(-90.0, latitude_deg - reach), min(90.0, latitude_deg + reach)


def make_instance(seed: int, night_date: date, count: int, sky: Sky | None = None) -> Instance:
    """Draw ``count`` sequences for the night of ``night_date`` with the generator seeded by ``seed``.

    Args:
        seed: Seed of :func:`numpy.random.default_rng`.
        night_date: The evening's date at the site.
        count: How many sequences (ids 1..count).
        sky: The site (default: :func:`bench_sky`).

    Raises:
        ValueError: If ``count`` is not positive or the date has no night at the site.
    """
    if count < 1:
        raise ValueError(f"count must be positive, got {count}")
    site = sky or bench_sky()
    night = site.night(night_date)
    if night.start is None or night.end is None:
        raise ValueError(f"no night on {night_date} at the configured site")
    night_start, night_end = float(night.start.unix), float(night.end.unix)
    night_length = night_end - night_start
    rng = np.random.default_rng(seed)
    low_dec, high_dec = _lowest_declination_deg(float(site.location.lat.deg))
    sequences: list[SequenceToPlan] = []
    for sequence_id in range(1, count + 1):
        ra = float(rng.uniform(0.0, 360.0))
        dec = math.degrees(math.asin(rng.uniform(math.sin(math.radians(low_dec)), math.sin(math.radians(high_dec)))))
        duration = float(round(rng.uniform(5.0, 60.0) * 60.0))
        priority = float(rng.integers(1, 11))
        windows: tuple[tuple[float, float], ...] = ()
        fits = (night_start, night_end)
        if rng.random() < 0.5:
            if rng.random() < 0.1:
                length = duration * rng.uniform(0.5, 0.95)
            else:
                length = min(night_length, duration + rng.uniform(0.0, 4.0 * 3600.0))
            start = night_start + rng.uniform(0.0, night_length - length)
            windows = ((round(start, 3), round(start + length, 3)),)
            fits = windows[0]
        preferred = None
        if rng.random() < 0.3 and fits[1] - fits[0] >= duration:
            preferred = round(float(rng.uniform(fits[0], fits[1] - duration)), 3)
        min_moon = float(round(rng.uniform(0.0, 40.0))) if rng.random() < 0.4 else None
        band = FILTERS[int(rng.integers(len(FILTERS)))]
        sequences.append(SequenceToPlan(
            id=sequence_id, duration_s=duration, priority=priority, windows=windows, preferred_s=preferred,
            ra_deg=round(ra, 6) % 360.0, dec_deg=round(dec, 6), max_airmass=MAX_AIRMASS,
            min_moon_distance_deg=min_moon, first_filter=band, last_filter=band, name=f"bench-{sequence_id}"))
    problem = PlanningProblem(sequences=tuple(sequences), start_s=night_start, end_s=night_end,
                              night_start_s=night_start, night_end_s=night_end, overheads=BENCH_OVERHEADS,
                              unknown_origin_transition_s=0.0)
    return Instance(f"{night_date.isoformat()} #{seed}", seed, night_date, problem)


def quality_instances(count: int = 100) -> list[Instance]:
    """The five quality instances (100 sequences each by default)."""
    return [make_instance(seed, night_date, count) for seed, night_date in QUALITY_INSTANCES]


def speed_instance(count: int = 1000) -> Instance:
    """The speed instance: 1,000 sequences over one night."""
    seed, night_date = SPEED_INSTANCE
    return make_instance(seed, night_date, count)


def with_urgent_sequence(problem: PlanningProblem, previous: dict[int, float], visible_like: SequenceToPlan,
                         priority: float = 10.0, duration_s: float = 1200.0) -> tuple[PlanningProblem, SequenceToPlan]:
    """A replan of ``problem`` after an alert: one urgent sequence added, the previous plan's starts kept.

    Args:
        problem: The problem planned before.
        previous: The previous plan's start instants by sequence id.
        visible_like: A sequence whose target and limits the alert copies (choose one that can run,
            so the insertion has to displace something).
        priority: The urgent sequence's priority.
        duration_s: Its duration.

    Returns:
        The new problem and the urgent sequence (id one more than the largest).
    """
    urgent = SequenceToPlan(
        id=max(s.id for s in problem.sequences) + 1, duration_s=duration_s, priority=priority,
        ra_deg=visible_like.ra_deg, dec_deg=visible_like.dec_deg, max_airmass=visible_like.max_airmass,
        min_moon_distance_deg=visible_like.min_moon_distance_deg, first_filter="r", last_filter="r",
        urgent=True, name="alert")
    return replace(problem, sequences=problem.sequences + (urgent,), previous=dict(previous)), urgent
