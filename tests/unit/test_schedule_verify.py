"""The independent plan checker :func:`pyros.scheduling.verify.verify_plan`.

Plans are made by hand at the configured site: targets are placed with
astropy at a chosen altitude and azimuth at a chosen instant, so that each
test knows where its targets are; each invalid plan breaks one rule.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from datetime import date
from typing import Any

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import AltAz, SkyCoord, get_body
from astropy.time import Time

from pyros.astro import Sky
from pyros.config import Config
from pyros.scheduling.overheads import OverheadModel
from pyros.scheduling.plan import PlannedEntry
from pyros.scheduling.problem import PlanningProblem, Pointing, RunningEntry, SequenceToPlan
from pyros.scheduling.verify import VIOLATION_KINDS, Violation, verify_plan
from pyros.scheduling.visibility import altitude_for_airmass

NEW_MOON_NIGHT = date(2025, 3, 29)     # night 02:52 to 12:40 UTC, Moon below the horizon
FULL_MOON_NIGHT = date(2025, 1, 13)    # the Moon high around 08:00 UTC
OVERHEADS = OverheadModel(slew_model="separation", slew_rate_deg_s=1.0, settle_s=5.0, filter_change_s=30.0)


@functools.lru_cache(maxsize=1)
def sky() -> Sky:
    return Sky.from_config(Config())


@functools.lru_cache(maxsize=4)
def night(when: date) -> tuple[float, float]:
    found = sky().night(when)
    if found.start is None or found.end is None:
        raise RuntimeError(f"no night on {when} at the configured site")
    return float(found.start.unix), float(found.end.unix)


def target_at(instant: float, altitude_deg: float, azimuth_deg: float) -> tuple[float, float]:
    """ICRS (ra, dec) of the point at that altitude and azimuth at that instant (astropy, no refraction)."""
    frame = AltAz(obstime=Time(instant, format="unix", scale="utc"), location=sky().location)
    icrs = SkyCoord(alt=altitude_deg * u.deg, az=azimuth_deg * u.deg, frame=frame).icrs
    return float(icrs.ra.deg) % 360.0, float(icrs.dec.deg)


def check(problem: PlanningProblem, entries: list[PlannedEntry], sample_s: float = 60.0) -> list[Violation]:
    return verify_plan(problem, entries, sky().location, sky().night_sun_altitude_deg, sample_s=sample_s)


def kinds(violations: list[Violation]) -> set[str]:
    return {violation.kind for violation in violations}


def problem_with(sequences: list[SequenceToPlan], when: date = NEW_MOON_NIGHT, **changes: Any) -> PlanningProblem:
    start, end = night(when)
    problem = PlanningProblem(sequences=tuple(sequences), start_s=start, end_s=end, night_start_s=start,
                              night_end_s=end, overheads=OVERHEADS)
    return replace(problem, **changes) if changes else problem


def valid_plan() -> tuple[PlanningProblem, list[PlannedEntry]]:
    """Three sequences near the meridian, in a row with room for their transitions."""
    start, _ = night(NEW_MOON_NIGHT)
    t0 = start + 3 * 3600.0
    ra1, dec1 = target_at(t0 + 600.0, 75.0, 180.0)
    ra2, dec2 = target_at(t0 + 1800.0, 70.0, 170.0)
    ra3, dec3 = target_at(t0 + 3600.0, 65.0, 200.0)
    sequences = [
        SequenceToPlan(id=1, duration_s=1200.0, priority=3, ra_deg=ra1, dec_deg=dec1, max_airmass=1.5,
                       first_filter="r", last_filter="r"),
        SequenceToPlan(id=2, duration_s=900.0, priority=5, ra_deg=ra2, dec_deg=dec2, max_airmass=2.0,
                       min_moon_distance_deg=30.0, first_filter="r", last_filter="g",
                       windows=((t0 + 1200.0, t0 + 2700.0),)),
        SequenceToPlan(id=3, duration_s=600.0, priority=1, ra_deg=ra3, dec_deg=dec3, max_airmass=2.0,
                       first_filter="i", last_filter="i"),
        SequenceToPlan(id=4, duration_s=300.0, priority=1),    # a dark: no target, no filter
    ]
    entries = [
        PlannedEntry(1, t0, t0 + 1200.0),
        PlannedEntry(2, t0 + 1300.0, t0 + 2200.0),     # 100 s for a slew of at most ~15 deg + 5 s settling
        PlannedEntry(3, t0 + 3000.0, t0 + 3600.0),
        PlannedEntry(4, t0 + 3600.0, t0 + 3900.0),     # no target, no filter: no transition
    ]
    return problem_with(sequences), entries


def test_a_valid_plan_has_no_violation() -> None:
    problem, entries = valid_plan()
    assert check(problem, entries, sample_s=30.0) == []
    assert check(problem, []) == []


def test_unknown_and_duplicate_sequences() -> None:
    problem, entries = valid_plan()
    late = entries[-1].end_s + 600.0
    found = check(problem, entries + [PlannedEntry(99, late, late + 60.0)])
    assert [(v.sequence_id, v.kind) for v in found] == [(99, "unknown_sequence")]
    found = check(problem, entries + [PlannedEntry(3, late, late + 600.0)])
    assert [(v.sequence_id, v.kind) for v in found] == [(3, "duplicate")]


def test_duration_must_match_to_a_microsecond() -> None:
    problem, entries = valid_plan()
    changed = entries[:2] + [replace(entries[2], end_s=entries[2].end_s - 1e-3)] + entries[3:]
    found = check(problem, changed)
    assert [(v.sequence_id, v.kind) for v in found] == [(3, "duration")]
    within = entries[:2] + [replace(entries[2], end_s=entries[2].end_s + 2e-7)] + entries[3:]
    assert check(problem, within) == []


def test_outside_the_horizon() -> None:
    problem, entries = valid_plan()
    start, end = problem.horizon
    early = PlannedEntry(4, start - 300.0, start)
    assert "outside_horizon" in kinds(check(problem, [early]))
    late = PlannedEntry(4, end - 299.0, end + 1.0)
    assert kinds(check(problem, [late])) == {"outside_horizon", "sun"}   # the Sun rises ~0.003 deg/s
    assert check(problem, [PlannedEntry(4, end - 300.0, end)]) == []
    later_start = replace(problem, start_s=entries[0].start_s + 1.0)
    found = check(later_start, entries)
    assert [(v.sequence_id, v.kind) for v in found] == [(1, "outside_horizon")]


def test_the_sun_is_checked_independently_of_the_problem_night() -> None:
    start, end = night(NEW_MOON_NIGHT)
    twilight = start - 1800.0
    ra, dec = target_at(twilight, 80.0, 90.0)
    sequence = SequenceToPlan(id=1, duration_s=600.0, priority=1, ra_deg=ra, dec_deg=dec, max_airmass=2.0)
    lying = problem_with([sequence], start_s=start - 3600.0, night_start_s=start - 3600.0)
    found = check(lying, [PlannedEntry(1, twilight, twilight + 600.0)])
    assert [(v.sequence_id, v.kind) for v in found] == [(1, "sun")]
    assert check(lying, [PlannedEntry(1, start + 1.0, start + 601.0)]) == []


def test_window() -> None:
    problem, entries = valid_plan()
    moved = [entries[0], replace(entries[1], start_s=entries[1].start_s + 600.0, end_s=entries[1].end_s + 600.0),
             entries[2], entries[3]]
    found = check(problem, moved)
    assert [(v.sequence_id, v.kind) for v in found] == [(2, "window")]


def test_airmass_is_checked_between_the_ends() -> None:
    start, _ = night(NEW_MOON_NIGHT)
    t0 = start + 2 * 3600.0
    limit = float(altitude_for_airmass(np.array([2.0]))[0])
    # Setting in the west: at the limit + 0.3 deg at the start, well below it 20 minutes later.
    ra, dec = target_at(t0, limit + 0.3, 280.0)
    sequence = SequenceToPlan(id=1, duration_s=1200.0, priority=1, ra_deg=ra, dec_deg=dec, max_airmass=2.0)
    problem = problem_with([sequence])
    found = check(problem, [PlannedEntry(1, t0, t0 + 1200.0)])
    assert [(v.sequence_id, v.kind) for v in found] == [(1, "airmass")]
    assert check(problem_with([replace(sequence, max_airmass=3.0)]), [PlannedEntry(1, t0, t0 + 1200.0)]) == []
    # Rising in the east: below the limit only at the start.
    ra, dec = target_at(t0, limit - 0.01, 80.0)
    rising = SequenceToPlan(id=2, duration_s=1200.0, priority=1, ra_deg=ra, dec_deg=dec, max_airmass=2.0)
    found = check(problem_with([rising]), [PlannedEntry(2, t0, t0 + 1200.0)])
    assert [(v.sequence_id, v.kind) for v in found] == [(2, "airmass")]


def test_moon_distance_is_topocentric() -> None:
    start, end = night(FULL_MOON_NIGHT)
    t0 = start + 6 * 3600.0
    middle = Time(t0 + 600.0, format="unix", scale="utc")
    frame = AltAz(obstime=middle, location=sky().location)
    moon = get_body("moon", middle, sky().location, ephemeris="builtin").transform_to(frame)
    assert moon.alt.deg > 45.0
    ra, dec = target_at(t0 + 600.0, float(moon.alt.deg) - 8.0, float(moon.az.deg))
    sequence = SequenceToPlan(id=1, duration_s=1200.0, priority=1, ra_deg=ra, dec_deg=dec, max_airmass=2.0,
                              min_moon_distance_deg=10.0)
    entry = PlannedEntry(1, t0, t0 + 1200.0)
    found = check(problem_with([sequence], FULL_MOON_NIGHT), [entry])
    assert [(v.sequence_id, v.kind) for v in found] == [(1, "moon")]
    assert check(problem_with([replace(sequence, min_moon_distance_deg=6.0)], FULL_MOON_NIGHT), [entry]) == []
    # The geocentric Moon is up to a degree away from the topocentric one: 8 deg +- 1 separates the two.
    assert check(problem_with([replace(sequence, min_moon_distance_deg=None)], FULL_MOON_NIGHT), [entry]) == []


def test_order_overlap_and_transition() -> None:
    problem, entries = valid_plan()
    found = check(problem, [entries[1], entries[0], entries[2], entries[3]])
    assert [(v.sequence_id, v.kind) for v in found] == [(1, "order")]
    overlapping = [entries[0], PlannedEntry(2, entries[0].end_s - 10.0, entries[0].end_s + 890.0), entries[2],
                   entries[3]]
    problem_free = replace(problem, sequences=tuple(replace(s, windows=()) for s in problem.sequences))
    found = check(problem_free, overlapping)
    assert [(v.sequence_id, v.kind) for v in found] == [(2, "overlap")]
    # 1 -> 2: same filter, a slew plus 5 s of settling; starting 2 s after the end is too early.
    tight = PlannedEntry(2, entries[0].end_s + 2.0, entries[0].end_s + 902.0)
    found = check(problem_free, [entries[0], tight, entries[2], entries[3]])
    assert [(v.sequence_id, v.kind) for v in found] == [(2, "transition")]


def test_transition_is_recomputed_exactly() -> None:
    start, _ = night(NEW_MOON_NIGHT)
    t0 = start + 3 * 3600.0
    ra1, dec1 = target_at(t0, 70.0, 180.0)
    ra2, dec2 = target_at(t0, 80.0, 180.0)     # 10 deg further up: a 10 s slew, 5 s settling
    first = SequenceToPlan(id=1, duration_s=600.0, priority=1, ra_deg=ra1, dec_deg=dec1, first_filter="r",
                           last_filter="g")
    second = SequenceToPlan(id=2, duration_s=600.0, priority=1, ra_deg=ra2, dec_deg=dec2, first_filter="r",
                            last_filter="r")
    problem = problem_with([first, second])
    angle = SkyCoord(ra1 * u.deg, dec1 * u.deg).separation(SkyCoord(ra2 * u.deg, dec2 * u.deg)).deg
    assert math.isclose(angle, 10.0, abs_tol=0.01)   # AltAz is not exactly a rotation of ICRS (aberration)
    needed = angle / 1.0 + 5.0 + 30.0
    end = t0 + 600.0
    ok = [PlannedEntry(1, t0, end), PlannedEntry(2, end + needed, end + needed + 600.0)]
    assert check(problem, ok) == []
    short = [PlannedEntry(1, t0, end), PlannedEntry(2, end + needed - 1e-3, end + needed - 1e-3 + 600.0)]
    assert [(v.sequence_id, v.kind) for v in check(problem, short)] == [(2, "transition")]
    # Equatorial mounts: each axis at its rate, at the same time.
    equatorial = replace(problem, overheads=OverheadModel(slew_model="equatorial", slew_rate_deg_s=2.0,
                                                          dec_rate_deg_s=0.5, settle_s=0.0, filter_change_s=0.0))
    delta_ra = abs((ra2 - ra1 + 180.0) % 360.0 - 180.0)
    axis_s = max(delta_ra / 2.0, abs(dec2 - dec1) / 0.5)
    fits = [PlannedEntry(1, t0, end), PlannedEntry(2, end + axis_s, end + axis_s + 600.0)]
    assert check(equatorial, fits) == []
    early = [PlannedEntry(1, t0, end), PlannedEntry(2, end + axis_s - 1e-3, end + axis_s - 1e-3 + 600.0)]
    assert [(v.sequence_id, v.kind) for v in check(equatorial, early)] == [(2, "transition")]


def test_the_first_entry_follows_the_origin() -> None:
    problem, entries = valid_plan()
    first = PlannedEntry(1, problem.horizon[0], problem.horizon[0] + 1200.0)
    sequence = problem.sequences[0]
    assert sequence.ra_deg is not None and sequence.dec_deg is not None
    assert check(problem, [first]) == []   # unknown origin, no transition charged
    found = check(replace(problem, unknown_origin_transition_s=60.0), [first])
    assert [(v.sequence_id, v.kind) for v in found] == [(1, "transition")]
    later = PlannedEntry(1, problem.horizon[0] + 60.0, problem.horizon[0] + 1260.0)
    assert check(replace(problem, unknown_origin_transition_s=60.0), [later]) == []
    # A known origin 20 deg away with another filter: 20 s + 5 s + 30 s.
    origin = Pointing(ra_deg=sequence.ra_deg, dec_deg=sequence.dec_deg - 20.0, filter="z")
    too_early = PlannedEntry(1, problem.horizon[0] + 55.0 - 1e-3, problem.horizon[0] + 1255.0 - 1e-3)
    found = check(replace(problem, origin=origin), [too_early])
    assert [(v.sequence_id, v.kind) for v in found] == [(1, "transition")]
    in_time = PlannedEntry(1, problem.horizon[0] + 55.0 + 1e-3, problem.horizon[0] + 1255.0 + 1e-3)
    assert check(replace(problem, origin=origin), [in_time]) == []


def test_the_running_sequence_is_kept_first_and_unchanged() -> None:
    problem, entries = valid_plan()
    running_sequence = SequenceToPlan(id=50, duration_s=1800.0, priority=2, first_filter="r", last_filter="r")
    now = entries[0].start_s - 300.0
    running = RunningEntry(running_sequence, now - 1500.0, now + 300.0)
    replan = replace(problem, start_s=now, running=running)
    kept = PlannedEntry(50, running.start_s, running.end_s, running=True)
    assert check(replan, [kept] + entries) == []
    found = check(replan, entries)
    assert [(v.sequence_id, v.kind) for v in found] == [(50, "running")]
    found = check(replan, [replace(kept, end_s=kept.end_s - 60.0)] + entries)
    assert [(v.sequence_id, v.kind) for v in found] == [(50, "running")]
    clash = PlannedEntry(1, running.end_s - 60.0, running.end_s + 1140.0)
    found = check(replan, [kept, clash] + entries[1:])
    assert ("overlap" in kinds(found)) and {v.sequence_id for v in found if v.kind == "overlap"} == {1}
    found = check(problem, [replace(entries[0], running=True)] + entries[1:])
    assert [(v.sequence_id, v.kind) for v in found] == [(1, "running")]


def test_every_kind_is_listed() -> None:
    assert set(VIOLATION_KINDS) == {"unknown_sequence", "duplicate", "running", "duration", "outside_horizon", "sun",
                                    "window", "airmass", "moon", "order", "overlap", "transition"}


def test_bad_input_is_refused() -> None:
    problem, entries = valid_plan()
    location = sky().location
    with pytest.raises(TypeError, match="PlanningProblem"):
        verify_plan("problem", entries, location, -12.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="entries\\[1\\]"):
        verify_plan(problem, [entries[0], (2, 0.0, 1.0)], location, -12.0)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="entries must be"):
        verify_plan(problem, 3, location, -12.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="EarthLocation"):
        verify_plan(problem, entries, "site", -12.0)
    with pytest.raises(ValueError, match="sample_s"):
        verify_plan(problem, entries, location, -12.0, sample_s=0.0)
    with pytest.raises(ValueError, match="night_sun_altitude_deg"):
        verify_plan(problem, entries, location, float("nan"))
    with pytest.raises(ValueError, match="start_s"):
        verify_plan(problem, [replace(entries[0], start_s=float("inf"))], location, -12.0)
