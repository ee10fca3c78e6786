"""astroplan's ``PriorityScheduler`` on a planning problem (benchmark reference).

Each sequence becomes an ``ObservingBlock`` with the same constraints and the
transitions use the same overheads, at astroplan's 1-minute resolution:

* priority: astroplan schedules its smallest priority first, so the block's
  priority is ``11 - priority`` (our 10 becomes its 1);
* duration: astroplan truncates a block to whole resolution steps, so the
  block lasts the duration rounded *up* to a whole minute (it reserves at least
  the run); the entry reported runs the true duration from the block's start;
* airmass: ``AirmassConstraint(max=sec z)`` at the altitude where
  :func:`pyros.astro.airmass.airmass` equals the sequence's maximum
  (:func:`~pyros.scheduling.visibility.altitude_for_airmass`), so the limit is the
  same altitude; astroplan's observer has no refraction (pressure 0), as the
  limit's altitude is geometric;
* Moon: ``MoonSeparationConstraint(min)`` when the sequence has a minimum;
* window and night: astroplan checks a block's constraints at the start of each of
  its minutes, so a ``TimeConstraint`` whose latest instant is
  ``min(window end, night end) - duration + (minutes - 1) * 60 s`` makes the run
  end inside the window and the night, and its earliest instant the window's start;
* transitions: ``Transitioner(slew_rate, {"filter": {"default": filter_change_s}})``
  with each block's ``configuration`` ``{"filter": first filter}``. astroplan has no
  settling time and measures slews on the sky (great circle), so only the
  ``separation`` model without settling can be expressed; other models are refused.

The schedule spans the problem's horizon. Between samples astroplan does not
check the airmass and the Moon; :func:`pyros.scheduling.verify.verify_plan`
reports what that lets through.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import pyros.astro  # noqa: F401  (the offline policy, before astropy and astroplan do anything)

import astropy.units as u  # noqa: E402
import numpy as np  # noqa: E402
from astroplan import (AirmassConstraint, FixedTarget, MoonSeparationConstraint, ObservingBlock,  # noqa: E402
                       Observer, PriorityScheduler, Schedule, TimeConstraint, Transitioner)
from astropy.coordinates import EarthLocation, NonRotationTransformationWarning, SkyCoord  # noqa: E402
from astropy.time import Time  # noqa: E402

from pyros.scheduling.plan import PlannedEntry  # noqa: E402
from pyros.scheduling.problem import PlanningProblem  # noqa: E402
from pyros.scheduling.visibility import altitude_for_airmass  # noqa: E402

__all__ = ["AstroplanResult", "RESOLUTION_S", "run_astroplan"]

RESOLUTION_S = 60.0
"""astroplan's time resolution in the benchmark, seconds."""


@dataclass(frozen=True)
class AstroplanResult:
    """What astroplan planned.

    Attributes:
        objective: Sum of priority x duration over the scheduled sequences.
        entries: The scheduled sequences, in time order, each running its true duration.
        elapsed_s: Seconds to build the blocks and schedule them.
    """

    objective: float
    entries: tuple[PlannedEntry, ...]
    elapsed_s: float


def run_astroplan(problem: PlanningProblem, location: EarthLocation,
                  resolution_s: float = RESOLUTION_S) -> AstroplanResult:
    """Schedule the problem's sequences with astroplan's ``PriorityScheduler``.

    Args:
        problem: A fresh plan whose sequences all have a target.
        location: The site.
        resolution_s: astroplan's time resolution, seconds.

    Raises:
        ValueError: For what astroplan cannot express: a running sequence, a known origin,
            a transition before the first sequence, a sequence without a target or with
            more than one window or two filters, a slew model other than ``separation``,
            a settling time.
    """
    overheads = problem.overheads
    if overheads.slew_model != "separation" or overheads.settle_s != 0.0:
        raise ValueError("astroplan models great-circle slews without settling: use slew_model='separation' "
                         f"and settle_s=0 (got {overheads.slew_model!r}, settle_s={overheads.settle_s!r})")
    if problem.running is not None or problem.origin is not None or problem.unknown_origin_transition_s != 0.0:
        raise ValueError("astroplan plans from the horizon's start with no transition before the first block")
    if not resolution_s > 0:
        raise ValueError(f"resolution_s must be positive, got {resolution_s!r}")
    started = time.perf_counter()
    horizon_start, horizon_end = problem.horizon
    limits = {s.id: float(altitude_for_airmass(np.array([s.max_airmass]))[0])
              for s in problem.sequences if s.max_airmass is not None}
    blocks: list[ObservingBlock] = []
    for sequence in problem.sequences:
        if not sequence.has_target:
            raise ValueError(f"sequence {sequence.id} has no target, which astroplan cannot schedule")
        if len(sequence.windows) > 1 or sequence.first_filter != sequence.last_filter:
            raise ValueError(f"sequence {sequence.id}: astroplan takes one window and one filter per block")
        steps = int(math.ceil(sequence.duration_s / resolution_s - 1e-9))
        earliest = horizon_start
        latest_end = horizon_end
        if sequence.windows:
            earliest = max(earliest, sequence.windows[0][0])
            latest_end = min(latest_end, sequence.windows[0][1])
        latest_sample = latest_end - sequence.duration_s + (steps - 1) * resolution_s
        if latest_sample < earliest:
            continue  # it cannot run: astroplan would be given an empty time constraint
        constraints = [TimeConstraint(Time(earliest, format="unix", scale="utc"),
                                      Time(latest_sample, format="unix", scale="utc"))]
        if sequence.max_airmass is not None:
            constraints.append(AirmassConstraint(max=1.0 / math.sin(math.radians(limits[sequence.id]))))
        if sequence.min_moon_distance_deg is not None:
            constraints.append(MoonSeparationConstraint(min=sequence.min_moon_distance_deg * u.deg,
                                                        ephemeris="builtin"))
        target = FixedTarget(SkyCoord(sequence.ra_deg * u.deg, sequence.dec_deg * u.deg, frame="icrs"),
                             name=str(sequence.id))
        configuration = {} if sequence.first_filter is None else {"filter": sequence.first_filter}
        blocks.append(ObservingBlock(target, steps * resolution_s * u.second, 11 - sequence.priority,
                                     configuration=configuration, constraints=constraints, name=str(sequence.id)))
    transitioner = Transitioner(slew_rate=overheads.slew_rate_deg_s * u.deg / u.second,
                                instrument_reconfig_times={"filter": {"default": overheads.filter_change_s * u.second}})
    scheduler = PriorityScheduler(constraints=[], observer=Observer(location=location), transitioner=transitioner,
                                  time_resolution=resolution_s * u.second)
    schedule = Schedule(Time(horizon_start, format="unix", scale="utc"), Time(horizon_end, format="unix", scale="utc"))
    with warnings.catch_warnings():
        # MoonSeparationConstraint measures the separation in the Moon's topocentric GCRS frame, on purpose;
        # astropy warns about it (with the whole time grid) at every call.
        warnings.simplefilter("ignore", NonRotationTransformationWarning)
        scheduler(blocks, schedule)
    elapsed = time.perf_counter() - started
    by_id = {s.id: s for s in problem.sequences}
    entries: list[PlannedEntry] = []
    for block in schedule.observing_blocks:
        sequence = by_id[int(block.name)]
        start = float(block.start_time.unix)
        entries.append(PlannedEntry(sequence.id, start, start + sequence.duration_s))
    entries.sort(key=lambda entry: entry.start_s)
    objective = float(sum(by_id[entry.sequence_id].value for entry in entries))
    return AstroplanResult(objective, tuple(entries), elapsed)
