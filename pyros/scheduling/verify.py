"""An independent checker of plans: does a list of entries obey every rule of its problem?

The planner, the benchmark's exact optimum and astroplan all produce timed
entries; :func:`verify_plan` tells whether such a list is valid, with code that
shares nothing with the planner's own geometry: altitudes come from astropy's
full ``SkyCoord(...).transform_to(AltAz(...))`` (no refraction: pressure 0),
the Sun and the Moon from ``astropy.coordinates.get_body`` (built-in
ephemeris) in the same ``AltAz`` frame, angular separations from astropy,
transitions are recomputed from the :class:`~pyros.scheduling.overheads.OverheadModel`'s
parameters. Only the definition of airmass is shared
(:func:`pyros.astro.airmass.airmass`), since it is the definition of the limit
itself.

Rules checked, each giving a :class:`Violation` of its ``kind``:

* ``unknown_sequence``: the entry's sequence is neither in the problem nor running;
* ``duplicate``: a sequence appears more than once;
* ``running``: the running sequence is missing, changed or not first, or an
  entry is marked running when it is not the running sequence;
* ``duration``: ``end - start`` differs from the sequence's duration;
* ``outside_horizon``: the run leaves the problem's horizon
  (:attr:`~pyros.scheduling.problem.PlanningProblem.horizon`);
* ``sun``: the Sun is above the night's altitude at a sample of the run;
* ``window``: the sequence has windows and its run is not inside one of them;
* ``airmass``: the airmass exceeds the sequence's maximum at a sample;
* ``moon``: the target is closer to the Moon than the sequence's minimum at a sample;
* ``order``: the entries are not in time order;
* ``overlap``: an entry starts before the previous one ends;
* ``transition``: an entry starts before the previous one (or the origin:
  the running sequence's end, the known pointing at the horizon's start, or
  the unknown origin's transition after it) ended plus the transition between them.

The samples of a run are its start, every ``sample_s`` after it, and its end.
Times are compared with a tolerance of :data:`TIME_TOLERANCE_S`; the airmass
and Moon limits with none. The Sun's altitude is allowed to exceed the night's
altitude by :data:`SUN_MODEL_TOLERANCE_DEG`: the night's bounds are where
:mod:`pyros.astro`'s Sun crosses that altitude, and astropy's Sun differs
from it by about 2e-5 degree there (a few milliseconds of time), which would
otherwise flag every run that ends exactly at the night's end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.coordinates import AltAz, EarthLocation, SkyCoord, get_body
from astropy.time import Time

from pyros.astro.airmass import airmass  # importing pyros.astro applies the offline policy
from pyros.scheduling.overheads import OverheadModel
from pyros.scheduling.plan import PlannedEntry
from pyros.scheduling.problem import PlanningProblem, Pointing, RunningEntry, SequenceToPlan

__all__ = ["SUN_MODEL_TOLERANCE_DEG", "TIME_TOLERANCE_S", "VIOLATION_KINDS", "Violation", "verify_plan"]

TIME_TOLERANCE_S = 1e-6
"""Tolerance on every comparison of instants and durations, seconds."""

SUN_MODEL_TOLERANCE_DEG = 1e-4
"""How far above the night's Sun altitude astropy's Sun may be at a sample (see the module)."""

VIOLATION_KINDS = ("unknown_sequence", "duplicate", "running", "duration", "outside_horizon", "sun", "window",
                   "airmass", "moon", "order", "overlap", "transition")
"""Every :attr:`Violation.kind`, in the order of the module's list."""


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Attributes:
        sequence_id: The sequence whose entry breaks it.
        kind: One of :data:`VIOLATION_KINDS`.
        detail: What is wrong, in a sentence with the figures.
    """

    sequence_id: int
    kind: str
    detail: str


@dataclass(frozen=True)
class _Place:
    """Where the telescope is after (or before) something: target and filter."""

    ra_deg: float | None
    dec_deg: float | None
    filter: str | None


def _check_inputs(problem: object, entries: object, location: object, night_sun_altitude_deg: object,
                  sample_s: object) -> list[PlannedEntry]:
    if not isinstance(problem, PlanningProblem):
        raise TypeError(f"problem must be a PlanningProblem, got {type(problem).__name__}")
    if not isinstance(location, EarthLocation):
        raise TypeError(f"location must be an astropy EarthLocation, got {type(location).__name__}")
    for name, value in (("night_sun_altitude_deg", night_sun_altitude_deg), ("sample_s", sample_s)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if not -90.0 <= float(night_sun_altitude_deg) <= 90.0:  # type: ignore[arg-type]
        raise ValueError(f"night_sun_altitude_deg must be an altitude in [-90, 90], got {night_sun_altitude_deg!r}")
    if float(sample_s) <= 0.0:  # type: ignore[arg-type]
        raise ValueError(f"sample_s must be positive, got {sample_s!r}")
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Iterable):
        raise TypeError(f"entries must be an iterable of PlannedEntry, got {type(entries).__name__}")
    checked: list[PlannedEntry] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, PlannedEntry):
            raise TypeError(f"entries[{index}] must be a PlannedEntry, got {type(entry).__name__}")
        for name in ("start_s", "end_s"):
            value = getattr(entry, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(float(value)):
                raise ValueError(f"entries[{index}] (sequence {entry.sequence_id}): {name} must be a finite "
                                 f"number, got {value!r}")
        checked.append(entry)
    return checked


def _slew_s(model: OverheadModel, before: list[_Place], after: list[_Place]) -> np.ndarray:
    """Slew seconds for each pair (``nan`` where either side has no target), settling excluded."""
    count = len(before)
    result = np.full(count, np.nan)
    both = [i for i in range(count) if before[i].ra_deg is not None and after[i].ra_deg is not None]
    if not both:
        return result
    start = SkyCoord(np.array([before[i].ra_deg for i in both], dtype=float) * u.deg,
                     np.array([before[i].dec_deg for i in both], dtype=float) * u.deg, frame="icrs")
    end = SkyCoord(np.array([after[i].ra_deg for i in both], dtype=float) * u.deg,
                   np.array([after[i].dec_deg for i in both], dtype=float) * u.deg, frame="icrs")
    if model.slew_model == "separation":
        seconds = np.asarray(start.separation(end).deg) / model.slew_rate_deg_s
    elif model.slew_model == "equatorial":
        delta_ra = np.asarray(start.ra.wrap_at(360 * u.deg).deg - end.ra.wrap_at(360 * u.deg).deg)
        delta_ra = np.abs((delta_ra + 180.0) % 360.0 - 180.0)
        delta_dec = np.abs(np.asarray(start.dec.deg - end.dec.deg))
        dec_rate = model.dec_rate_deg_s if model.dec_rate_deg_s is not None else model.slew_rate_deg_s
        seconds = np.maximum(delta_ra / model.slew_rate_deg_s, delta_dec / dec_rate)
    else:
        raise ValueError(f"unknown slew model {model.slew_model!r}")
    result[both] = seconds
    return result


def _transitions_s(model: OverheadModel, before: list[_Place], after: list[_Place]) -> np.ndarray:
    """Transition seconds for each pair: slew and settling if the target moves, filter change if needed."""
    slew = _slew_s(model, before, after)
    moved = np.isfinite(slew) & (np.nan_to_num(slew) > 0.0)
    seconds = np.where(moved, np.nan_to_num(slew) + model.settle_s, 0.0)
    change = np.array([b.filter is not None and a.filter is not None and b.filter != a.filter
                       for b, a in zip(before, after, strict=True)], dtype=bool)
    return seconds + np.where(change, model.filter_change_s, 0.0)


def _entry_place(sequence: SequenceToPlan, end: bool) -> _Place:
    return _Place(sequence.ra_deg, sequence.dec_deg, sequence.last_filter if end else sequence.first_filter)


def _origin(problem: PlanningProblem) -> tuple[float, _Place | None, float]:
    """When the first planned entry may start at the earliest before its transition, from where, and the
    fixed transition charged when the origin is unknown."""
    horizon_start = problem.horizon[0]
    if problem.running is not None:
        return problem.running.end_s, _entry_place(problem.running.sequence, end=True), 0.0
    if problem.origin is not None:
        origin: Pointing = problem.origin
        return horizon_start, _Place(origin.ra_deg, origin.dec_deg, origin.filter), 0.0
    return horizon_start, None, problem.unknown_origin_transition_s


def _samples(starts: np.ndarray, ends: np.ndarray, sample_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample instants of every run (start, every ``sample_s``, end) and the index of the run of each."""
    counts = np.ceil((ends - starts) / sample_s).astype(int)   # start + k * sample_s < end for k < count
    owner = np.repeat(np.arange(starts.size), counts)
    first = np.cumsum(counts) - counts
    step = np.arange(owner.size) - np.repeat(first, counts)
    instants = starts[owner] + step * sample_s
    instants = np.concatenate([instants, ends])
    owner = np.concatenate([owner, np.arange(starts.size)])
    return instants, owner


def _iso(instant: float) -> str:
    return str(Time(instant, format="unix", scale="utc").isot)


def verify_plan(problem: PlanningProblem, entries: Iterable[PlannedEntry], location: EarthLocation,
                night_sun_altitude_deg: float, sample_s: float = 30.0) -> list[Violation]:
    """Every rule of ``problem`` that ``entries`` break (see the module for the list).

    Args:
        problem: The problem the entries answer.
        entries: The plan's entries (any order; the rules say time order), the running one included.
        location: The site.
        night_sun_altitude_deg: The Sun altitude below which it is night (the configured one).
        sample_s: Step of the sky samples within each run, seconds.

    Returns:
        The violations, grouped by rule in the order of the entries; empty for a valid plan.

    Raises:
        TypeError: If an argument or an entry has the wrong type.
        ValueError: For a non-finite number, a non-positive ``sample_s`` or an impossible altitude.
    """
    checked = _check_inputs(problem, entries, location, night_sun_altitude_deg, sample_s)
    step = float(sample_s)
    night_altitude = float(night_sun_altitude_deg)
    tolerance = TIME_TOLERANCE_S
    violations: list[Violation] = []
    known = {sequence.id: sequence for sequence in problem.sequences}
    running = problem.running
    running_id = running.sequence.id if running is not None else None

    seen: set[int] = set()
    planned: list[tuple[PlannedEntry, SequenceToPlan]] = []
    running_entries: list[PlannedEntry] = []
    for entry in checked:
        sequence_id = entry.sequence_id
        if sequence_id in seen:
            violations.append(Violation(sequence_id, "duplicate", f"sequence {sequence_id} is planned more than once"))
            continue
        seen.add(sequence_id)
        if running is not None and sequence_id == running_id:
            running_entries.append(entry)
            continue
        if entry.running:
            violations.append(Violation(sequence_id, "running", f"sequence {sequence_id} is marked running but the "
                                                                "problem's running sequence is "
                                                                f"{running_id if running_id is not None else 'none'}"))
        sequence = known.get(sequence_id)
        if sequence is None:
            violations.append(Violation(sequence_id, "unknown_sequence",
                                        f"sequence {sequence_id} is not in the problem"))
            continue
        planned.append((entry, sequence))

    if running is not None:
        violations.extend(_check_running(running_entries, running, checked, tolerance))

    horizon_start, horizon_end = problem.horizon
    for entry, sequence in planned:
        length = entry.end_s - entry.start_s
        if abs(length - sequence.duration_s) > tolerance:
            violations.append(Violation(sequence.id, "duration", f"runs {length:.6f} s, its duration is "
                                                                 f"{sequence.duration_s:.6f} s"))
        if entry.start_s < horizon_start - tolerance or entry.end_s > horizon_end + tolerance:
            violations.append(Violation(sequence.id, "outside_horizon",
                                        f"runs {_iso(entry.start_s)} .. {_iso(entry.end_s)}, outside the horizon "
                                        f"{_iso(horizon_start)} .. {_iso(horizon_end)}"))
        if sequence.windows and not any(start - tolerance <= entry.start_s and entry.end_s <= end + tolerance
                                         for start, end in sequence.windows):
            violations.append(Violation(sequence.id, "window",
                                        f"runs {_iso(entry.start_s)} .. {_iso(entry.end_s)}, inside none of its "
                                        f"{len(sequence.windows)} window(s)"))

    if planned:
        violations.extend(_check_sky(planned, location, night_altitude, step))
        violations.extend(_check_sequence(problem, planned, tolerance))
    return violations


def _check_running(running_entries: list[PlannedEntry], running: RunningEntry, entries: list[PlannedEntry],
                   tolerance: float) -> list[Violation]:
    """The running sequence is in the plan, first and unchanged."""
    sequence_id = running.sequence.id
    if not running_entries:
        return [Violation(sequence_id, "running", f"the running sequence {sequence_id} is missing from the plan")]
    entry = running_entries[0]
    result: list[Violation] = []
    if abs(entry.start_s - running.start_s) > tolerance or abs(entry.end_s - running.end_s) > tolerance:
        result.append(Violation(sequence_id, "running",
                                f"the running sequence {sequence_id} was changed: it runs {_iso(entry.start_s)} .. "
                                f"{_iso(entry.end_s)} instead of {_iso(running.start_s)} .. {_iso(running.end_s)}"))
    if min(e.start_s for e in entries) < entry.start_s:
        result.append(Violation(sequence_id, "running", f"the running sequence {sequence_id} is not first"))
    return result


def _check_sky(planned: list[tuple[PlannedEntry, SequenceToPlan]], location: EarthLocation,
               night_altitude: float, sample_s: float) -> list[Violation]:
    """Sun, airmass and Moon at every sample of every run, in one vectorised astropy computation."""
    starts = np.array([entry.start_s for entry, _ in planned], dtype=float)
    ends = np.maximum(np.array([entry.end_s for entry, _ in planned], dtype=float), starts)
    instants, owner = _samples(starts, ends, sample_s)
    times = Time(instants, format="unix", scale="utc")
    frame = AltAz(obstime=times, location=location)  # pressure 0: no refraction
    sequences = [sequence for _, sequence in planned]
    has_target = np.array([s.has_target for s in sequences], dtype=bool)
    ra = np.array([s.ra_deg if s.has_target else 0.0 for s in sequences], dtype=float)
    dec = np.array([s.dec_deg if s.has_target else 0.0 for s in sequences], dtype=float)
    targets = SkyCoord(ra[owner] * u.deg, dec[owner] * u.deg, frame="icrs").transform_to(frame)
    altitude = np.asarray(targets.alt.deg)
    sun_altitude = np.asarray(get_body("sun", times, location, ephemeris="builtin").transform_to(frame).alt.deg)
    min_moon = np.array([-1.0 if s.min_moon_distance_deg is None else s.min_moon_distance_deg for s in sequences])
    moon_distance = np.full(owner.size, np.inf)
    if np.any(has_target & (min_moon >= 0.0)):
        moon = get_body("moon", times, location, ephemeris="builtin").transform_to(frame)
        moon_distance = np.asarray(targets.separation(moon).deg)
    max_airmass = np.array([np.inf if s.max_airmass is None else s.max_airmass for s in sequences])
    sample_airmass = airmass(altitude)

    violations: list[Violation] = []
    checks: tuple[tuple[str, np.ndarray, np.ndarray, Callable[[float, SequenceToPlan], str]], ...] = (
        ("sun", sun_altitude > night_altitude + SUN_MODEL_TOLERANCE_DEG, sun_altitude,
         lambda value, s: f"the Sun is at {value:.4f} deg, above the night's {night_altitude:g} deg"),
        ("airmass", has_target[owner] & (sample_airmass > max_airmass[owner]), sample_airmass,
         lambda value, s: f"airmass {value:.5f} > its maximum {s.max_airmass:g}"),
        ("moon", has_target[owner] & (min_moon[owner] >= 0.0) & (moon_distance < min_moon[owner]), moon_distance,
         lambda value, s: f"the Moon is {value:.4f} deg away, closer than its minimum {s.min_moon_distance_deg:g} deg"),
    )
    for kind, failing, values, describe in checks:
        for run in np.unique(owner[failing]).tolist():
            at = np.flatnonzero(failing & (owner == run))
            worst = at[np.argmin(values[at])] if kind == "moon" else at[np.argmax(values[at])]
            sequence = sequences[run]
            violations.append(Violation(sequence.id, kind, f"{describe(float(values[worst]), sequence)} at "
                                                           f"{_iso(float(instants[worst]))} "
                                                           f"({at.size} sample(s) fail)"))
    return violations


def _check_sequence(problem: PlanningProblem, planned: list[tuple[PlannedEntry, SequenceToPlan]],
                    tolerance: float) -> list[Violation]:
    """Time order, overlaps and transitions, from the origin through every entry."""
    violations: list[Violation] = []
    for (previous, _), (entry, sequence) in zip(planned, planned[1:]):
        if entry.start_s < previous.start_s:
            violations.append(Violation(sequence.id, "order", f"starts {_iso(entry.start_s)}, before the entry "
                                                              f"listed before it (sequence {previous.sequence_id}, "
                                                              f"{_iso(previous.start_s)})"))
    ordered = sorted(planned, key=lambda pair: (pair[0].start_s, pair[0].end_s))
    origin_s, origin_place, unknown_origin_s = _origin(problem)
    before: list[_Place] = []
    after: list[_Place] = []
    free_s: list[float] = []
    for index, (entry, sequence) in enumerate(ordered):
        if index == 0:
            before.append(origin_place if origin_place is not None else _Place(None, None, None))
            free_s.append(origin_s)
        else:
            previous_entry, previous_sequence = ordered[index - 1]
            before.append(_entry_place(previous_sequence, end=True))
            free_s.append(previous_entry.end_s)
        after.append(_entry_place(sequence, end=False))
    needed = _transitions_s(problem.overheads, before, after)
    if origin_place is None:
        needed[0] = unknown_origin_s
    for index, (entry, sequence) in enumerate(ordered):
        earliest = free_s[index] + float(needed[index])
        if index == 0:
            source = ("the running sequence's end" if problem.running is not None
                      else "the horizon's start")
        else:
            source = f"the end of sequence {ordered[index - 1][0].sequence_id}"
        if (index > 0 or problem.running is not None) and entry.start_s < free_s[index] - tolerance:
            violations.append(Violation(sequence.id, "overlap", f"starts {_iso(entry.start_s)}, before {source} "
                                                                f"({_iso(free_s[index])})"))
        elif index == 0 and problem.running is None and entry.start_s < origin_s - tolerance:
            continue  # before the horizon's start: reported as outside_horizon
        elif entry.start_s < earliest - tolerance:
            violations.append(Violation(sequence.id, "transition",
                                        f"starts {entry.start_s - free_s[index]:.3f} s after {source}, its transition "
                                        f"takes {float(needed[index]):.3f} s"))
    return violations
