"""Behaviour of the planner, after the original PyROS scheduler suite (seed 000 §6.2) and beyond.

Sequences without a target test the pure time logic (windows, priorities,
preferred times, moves); sequences with targets test airmass, the Moon and
the night, checked against astropy's own transformations.
"""

from __future__ import annotations

from datetime import datetime, timezone

import astropy.units as u
import numpy as np
import pytest

from pyros.astro import Sky
from pyros.config import Config
from pyros.scheduling.overheads import OverheadModel
from pyros.scheduling.plan import Plan, UnplacedReason
from pyros.scheduling.planner import Planner
from pyros.scheduling.problem import PlanningProblem, Pointing, RunningEntry, SequenceToPlan
from pyros.scheduling.visibility import VisibilityCalculator

from astropy.coordinates import AltAz, SkyCoord, get_body  # noqa: E402  (after pyros.astro: offline policy)
from astropy.time import Time  # noqa: E402

H = 3600.0
M = 60.0
NO_OVERHEADS = OverheadModel(settle_s=0.0, filter_change_s=0.0)


@pytest.fixture(scope="module")
def sky() -> Sky:
    return Sky.from_config(Config())


@pytest.fixture(scope="module")
def night(sky: Sky) -> tuple[float, float]:
    """Night of 2025-03-01 at the configured site (about 10.7 h, new Moon)."""
    found = sky.night(datetime(2025, 3, 1, 20, tzinfo=timezone.utc))
    return float(found.start.unix), float(found.end.unix)


@pytest.fixture(scope="module")
def planner(sky: Sky) -> Planner:
    return Planner(VisibilityCalculator(sky))


def make_problem(night: tuple[float, float], sequences: list[SequenceToPlan], **options: object) -> PlanningProblem:
    start, end = night
    options.setdefault("overheads", NO_OVERHEADS)
    return PlanningProblem(tuple(sequences), options.pop("start_s", start), end, start, end,  # type: ignore[arg-type]
                           **options)  # type: ignore[arg-type]


def at(night: tuple[float, float], hours: float) -> float:
    return night[0] + hours * H


def window(night: tuple[float, float], first_h: float, last_h: float) -> tuple[tuple[float, float], ...]:
    return ((at(night, first_h), at(night, last_h)),)


def check_consistent(problem: PlanningProblem, plan: Plan) -> None:
    """Every entry in its windows and the night, in order, with its transition before it."""
    by_id = {s.id: s for s in problem.sequences}
    start, end = problem.horizon
    previous = None
    for entry in plan.entries:
        if entry.running:
            previous = entry
            continue
        sequence = by_id[entry.sequence_id]
        assert entry.end_s - entry.start_s == pytest.approx(sequence.duration_s)
        assert start - 1e-6 <= entry.start_s and entry.end_s <= end + 1e-6
        if sequence.windows:
            assert any(a - 1e-6 <= entry.start_s and entry.end_s <= b + 1e-6 for a, b in sequence.windows)
        if previous is not None:
            assert entry.start_s >= previous.end_s + entry.transition_s - 1e-6
        previous = entry
    ids = [e.sequence_id for e in plan.entries]
    assert len(ids) == len(set(ids))
    assert set(ids) | set(plan.unplaced) >= {s.id for s in problem.sequences}


# -- the original suite: moves, priority, preferred times ---------------------------------------

def test_three_sequences_in_disjoint_windows_all_fit(night, planner) -> None:
    sequences = [SequenceToPlan(1, 1 * H, 1, windows=window(night, 0, 2)),
                 SequenceToPlan(2, 1 * H, 1, windows=window(night, 4, 6)),
                 SequenceToPlan(3, 1 * H, 1, windows=window(night, 7, 9))]
    problem = make_problem(night, sequences)
    plan = planner.plan(problem)
    check_consistent(problem, plan)
    assert plan.planned_ids == [1, 2, 3]
    assert plan.objective == pytest.approx(3 * H)


def test_move_right_to_make_room(night, planner) -> None:
    """A flexible sequence placed first must move right for a later, fixed one."""
    flexible = SequenceToPlan(1, 1 * H, 5, windows=window(night, 0, 3))
    fixed = SequenceToPlan(2, 1 * H, 1, windows=window(night, 0.5, 1.5))
    problem = make_problem(night, [flexible, fixed])
    plan = planner.plan(problem)
    check_consistent(problem, plan)
    assert plan.planned_ids == [2, 1]
    assert plan.entry(2).start_s == pytest.approx(at(night, 0.5))
    assert plan.entry(1).start_s >= at(night, 1.5) - 1e-6


def test_move_left_to_make_room(night, planner) -> None:
    """A sequence that prefers the end of its window moves left for a fixed one."""
    flexible = SequenceToPlan(1, 1 * H, 5, windows=window(night, 0, 4), preferred_s=at(night, 3))
    fixed = SequenceToPlan(2, 1.5 * H, 1, windows=window(night, 2.5, 4))
    problem = make_problem(night, [flexible, fixed])
    plan = planner.plan(problem)
    check_consistent(problem, plan)
    assert plan.entry(2).start_s == pytest.approx(at(night, 2.5))
    assert plan.entry(1).end_s <= at(night, 2.5) + 1e-6
    # As close to its preferred time as the fixed one allows.
    assert plan.entry(1).start_s == pytest.approx(at(night, 1.5))


def test_move_both_to_make_room(night, planner) -> None:
    """Neighbours on both sides move apart for a sequence that only fits between them."""
    left = SequenceToPlan(1, 1 * H, 5, windows=window(night, 0, 3), preferred_s=at(night, 1.5))
    right = SequenceToPlan(3, 1 * H, 5, windows=window(night, 2, 6), preferred_s=at(night, 2.6))
    middle = SequenceToPlan(2, 1.5 * H, 1, windows=window(night, 1.8, 3.3))
    problem = make_problem(night, [left, right, middle])
    plan = planner.plan(problem)
    check_consistent(problem, plan)
    assert plan.planned_ids == [1, 2, 3]
    assert plan.entry(1).start_s < at(night, 1.5)        # moved left of its wish
    assert plan.entry(3).start_s > at(night, 2.6)        # moved right of its wish
    assert plan.entry(2).start_s >= at(night, 1.8) - 1e-6 and plan.entry(2).end_s <= at(night, 3.3) + 1e-6


def test_priority_wins_an_overlap(night, planner) -> None:
    low = SequenceToPlan(1, 2 * H, 2, windows=window(night, 1, 3.5))
    high = SequenceToPlan(2, 2 * H, 7, windows=window(night, 1.5, 4))
    problem = make_problem(night, [low, high])
    plan = planner.plan(problem)
    check_consistent(problem, plan)
    assert plan.planned_ids == [2]
    assert plan.unplaced[1].reason is UnplacedReason.LOST_TO_HIGHER_PRIORITY
    assert plan.unplaced[1].blockers == (2,)


def test_two_of_lower_priority_beat_one_when_worth_more(night, planner) -> None:
    """The objective is priority x duration: two 2-h sequences of priority 4 beat one of priority 5."""
    first = SequenceToPlan(1, 2 * H, 4, windows=window(night, 0, 2))
    second = SequenceToPlan(2, 2 * H, 4, windows=window(night, 2, 4))
    greedy_trap = SequenceToPlan(3, 2 * H, 5, windows=window(night, 1, 3))
    problem = make_problem(night, [first, second, greedy_trap])
    plan = planner.plan(problem)
    check_consistent(problem, plan)
    assert sorted(plan.planned_ids) == [1, 2]
    assert plan.objective == pytest.approx(16 * H)
    assert plan.unplaced[3].reason is UnplacedReason.NO_ROOM


def test_preferred_time_honoured_when_free(night, planner) -> None:
    wish = at(night, 5.25)
    sequences = [SequenceToPlan(1, 30 * M, 3, preferred_s=wish),
                 SequenceToPlan(2, 1 * H, 3), SequenceToPlan(3, 1 * H, 2)]
    problem = make_problem(night, sequences)
    plan = planner.plan(problem)
    check_consistent(problem, plan)
    assert plan.entry(1).start_s == pytest.approx(wish)
    assert plan.preference_penalty_s == pytest.approx(0.0)


def test_preferred_time_yields_to_a_fixed_sequence(night, planner) -> None:
    wish = at(night, 2)
    wishing = SequenceToPlan(1, 1 * H, 3, preferred_s=wish)
    fixed = SequenceToPlan(2, 2 * H, 3, windows=window(night, 1.5, 3.5))
    problem = make_problem(night, [wishing, fixed])
    plan = planner.plan(problem)
    check_consistent(problem, plan)
    entry = plan.entry(1)
    assert entry.end_s <= at(night, 1.5) + 1e-6 or entry.start_s >= at(night, 3.5) - 1e-6
    assert min(abs(entry.start_s - wish), abs(entry.end_s - wish)) <= 0.5 * H + 1e-6


# -- windows and the night ----------------------------------------------------------------------

def test_second_window_used_when_first_is_taken(night, planner) -> None:
    two_windows = SequenceToPlan(1, 1 * H, 2, windows=((at(night, 1), at(night, 2)), (at(night, 6), at(night, 8))))
    blocker = SequenceToPlan(2, 1 * H, 9, windows=window(night, 1, 2))
    problem = make_problem(night, [two_windows, blocker])
    plan = planner.plan(problem)
    check_consistent(problem, plan)
    assert at(night, 6) - 1e-6 <= plan.entry(1).start_s <= at(night, 7) + 1e-6


def test_window_shorter_than_duration_is_unplaceable(night, planner) -> None:
    problem = make_problem(night, [SequenceToPlan(1, 2 * H, 5, windows=window(night, 1, 2.5))])
    plan = planner.plan(problem)
    assert plan.entries == ()
    assert plan.unplaced[1].reason is UnplacedReason.WINDOW_TOO_SHORT


def test_window_outside_the_night_is_unplaceable(night, planner) -> None:
    day = ((night[1] + 1 * H, night[1] + 3 * H),)
    problem = make_problem(night, [SequenceToPlan(1, 30 * M, 5, windows=day)])
    assert planner.plan(problem).unplaced[1].reason is UnplacedReason.OUTSIDE_NIGHT


def test_window_across_night_start_is_cut_to_the_night(night, planner) -> None:
    across = ((night[0] - 1 * H, night[0] + 0.75 * H),)
    problem = make_problem(night, [SequenceToPlan(1, 40 * M, 5, windows=across)])
    plan = planner.plan(problem)
    assert plan.entry(1).start_s >= night[0] - 1e-6
    # Only 45 min of the window are at night: a 50-min sequence cannot run.
    problem = make_problem(night, [SequenceToPlan(1, 50 * M, 5, windows=across)])
    assert planner.plan(problem).unplaced[1].reason is UnplacedReason.WINDOW_TOO_SHORT


def test_night_end_is_respected(night, planner) -> None:
    sequences = [SequenceToPlan(i, 50 * M, 5) for i in range(1, 20)]
    problem = make_problem(night, sequences)
    plan = planner.plan(problem)
    check_consistent(problem, plan)
    assert plan.entries[-1].end_s <= night[1] + 1e-6
    assert len(plan.entries) == int((night[1] - night[0]) // (50 * M))


def test_a_night_already_over_plans_nothing(night, planner) -> None:
    problem = make_problem(night, [SequenceToPlan(1, 10 * M, 5)], start_s=night[1] + 60.0)
    plan = planner.plan(problem)
    assert plan.entries == ()
    assert plan.unplaced[1].reason is UnplacedReason.OUTSIDE_NIGHT


# -- sky constraints, checked with astropy ------------------------------------------------------

def astropy_airmass(sky: Sky, ra: float, dec: float, instants: np.ndarray) -> np.ndarray:
    from pyros.astro.airmass import airmass
    frame = AltAz(obstime=Time(instants, format="unix"), location=sky.location)
    altitude = SkyCoord(ra * u.deg, dec * u.deg).transform_to(frame).alt.deg
    return airmass(altitude)


def test_airmass_limit_holds_for_the_whole_run(sky, night, planner) -> None:
    # A target rising during the night: the run must wait for airmass 1.5.
    ra, dec = 200.0, 10.0
    grid = np.linspace(night[0], night[1], 200)
    curve = astropy_airmass(sky, ra, dec, grid)
    assert curve[0] > 1.5 and curve.min() < 1.5, "test target must rise through airmass 1.5 during the night"
    sequence = SequenceToPlan(1, 1 * H, 5, ra_deg=ra, dec_deg=dec, max_airmass=1.5)
    plan = planner.plan(make_problem(night, [sequence]))
    entry = plan.entry(1)
    samples = np.linspace(entry.start_s, entry.end_s, 121)
    assert astropy_airmass(sky, ra, dec, samples).max() <= 1.5
    # It starts soon after the target reaches the limit (within the edge margin and a grid step).
    first_ok = grid[np.argmax(curve <= 1.5)]
    assert entry.start_s <= first_ok + 3 * M


def test_target_never_high_enough_is_unplaceable(night, planner) -> None:
    sequence = SequenceToPlan(1, 30 * M, 5, ra_deg=100.0, dec_deg=-75.0, max_airmass=2.0)
    assert planner.plan(make_problem(night, [sequence])).unplaced[1].reason is UnplacedReason.NEVER_VISIBLE


def test_target_visible_too_briefly(sky, night, planner) -> None:
    # Dec -38 culminates at 21 deg at latitude 31: below airmass 3 for about an hour only.
    sequence = SequenceToPlan(1, 4 * H, 5, ra_deg=150.0, dec_deg=-38.0, max_airmass=3.0)
    unplaced = planner.plan(make_problem(night, [sequence])).unplaced[1]
    assert unplaced.reason is UnplacedReason.VISIBLE_TOO_BRIEFLY


def test_moon_distance(sky, planner) -> None:
    full_moon = sky.night(datetime(2025, 3, 14, 20, tzinfo=timezone.utc))
    span = (float(full_moon.start.unix), float(full_moon.end.unix))
    middle = (span[0] + span[1]) / 2.0
    moon = get_body("moon", Time(middle, format="unix"), location=sky.location, ephemeris="builtin").icrs
    ra, dec = float(moon.ra.deg), float(moon.dec.deg)
    near = SequenceToPlan(1, 30 * M, 5, ra_deg=ra, dec_deg=dec, min_moon_distance_deg=30.0)
    assert planner.plan(make_problem(span, [near])).unplaced[1].reason is UnplacedReason.MOON_TOO_CLOSE
    # Ten degrees is allowed when the target is 15 degrees from the Moon's path.
    offset = SequenceToPlan(2, 30 * M, 5, ra_deg=ra, dec_deg=max(-90.0, dec - 15.0), min_moon_distance_deg=10.0)
    plan = planner.plan(make_problem(span, [offset]))
    entry = plan.entry(2)
    instants = Time(np.linspace(entry.start_s, entry.end_s, 31), format="unix")
    frame = AltAz(obstime=instants, location=sky.location)
    target = SkyCoord(offset.ra_deg * u.deg, offset.dec_deg * u.deg).transform_to(frame)
    moon_track = get_body("moon", instants, location=sky.location, ephemeris="builtin").transform_to(frame)
    assert target.separation(moon_track).deg.min() >= 10.0


# -- overheads ----------------------------------------------------------------------------------

def test_transitions_separate_entries(night, planner) -> None:
    model = OverheadModel(slew_rate_deg_s=0.5, settle_s=20.0, filter_change_s=45.0)
    south = SequenceToPlan(1, 30 * M, 5, ra_deg=100.0, dec_deg=20.0, first_filter="r", last_filter="r",
                           windows=window(night, 0, 0.75))
    north = SequenceToPlan(2, 30 * M, 5, ra_deg=100.0, dec_deg=80.0, first_filter="g", last_filter="g")
    problem = make_problem(night, [south, north], overheads=model)
    feasible = VisibilityCalculator(planner.visibility.sky).feasibility(problem)
    assert feasible[1].starts and feasible[2].starts
    plan = planner.plan(problem)
    check_consistent(problem, plan)
    first, second = plan.entries
    assert second.transition_s == pytest.approx(60.0 / 0.5 + 20.0 + 45.0)
    assert second.start_s >= first.end_s + second.transition_s - 1e-6


def test_transitions_can_leave_no_room(night, planner) -> None:
    """Two sequences that fill a window exactly do not both fit once a slew is needed."""
    model = OverheadModel(slew_rate_deg_s=1.0, settle_s=5.0, filter_change_s=0.0)
    first = SequenceToPlan(1, 1 * H, 5, windows=window(night, 1, 3), ra_deg=0.0, dec_deg=30.0)
    second = SequenceToPlan(2, 1 * H, 4, windows=window(night, 1, 3), ra_deg=40.0, dec_deg=30.0)
    problem = make_problem(night, [first, second], overheads=model)
    plan = planner.plan(problem)
    planned_without = planner.plan(make_problem(night, [first, second], overheads=NO_OVERHEADS))
    feasible = VisibilityCalculator(planner.visibility.sky).feasibility(problem)
    if feasible[1].starts and feasible[2].starts and len(planned_without.entries) == 2:
        assert plan.planned_ids == [1]
        assert plan.unplaced[2].reason is UnplacedReason.LOST_TO_HIGHER_PRIORITY


def test_unknown_origin_charges_its_transition(night, planner) -> None:
    sequence = SequenceToPlan(1, 30 * M, 5)
    problem = make_problem(night, [sequence], unknown_origin_transition_s=90.0)
    assert planner.plan(problem).entry(1).start_s == pytest.approx(night[0] + 90.0)


def test_origin_pointing_gives_the_first_slew(night, planner) -> None:
    model = OverheadModel(slew_rate_deg_s=1.0, settle_s=0.0, filter_change_s=30.0)
    sequence = SequenceToPlan(1, 30 * M, 5, first_filter="i", last_filter="i")
    problem = make_problem(night, [sequence], overheads=model, origin=Pointing(10.0, 20.0, "r"))
    entry = planner.plan(problem).entry(1)
    assert entry.transition_s == pytest.approx(30.0)     # no target: only the filter change
    assert entry.start_s == pytest.approx(night[0] + 30.0)


# -- replanning ---------------------------------------------------------------------------------

def busy_night(night: tuple[float, float], count: int = 40) -> list[SequenceToPlan]:
    rng = np.random.default_rng(7)
    sequences = []
    for index in range(1, count + 1):
        duration = float(rng.uniform(10, 60)) * M
        first = float(rng.uniform(0, 9))
        sequences.append(SequenceToPlan(index, duration, float(rng.integers(1, 11)),
                                        windows=window(night, first, min(first + rng.uniform(1.5, 4), 10.6))))
    return sequences


def previous_starts(plan: Plan) -> dict[int, float]:
    return {e.sequence_id: e.start_s for e in plan.entries if not e.running}


def disturbed(before: dict[int, float], after: dict[int, float], ignore: int | None = None) -> list[int]:
    """Sequences of the first plan dropped by the second or moved by more than 20 minutes."""
    return [i for i in before if i != ignore and (i not in after or abs(before[i] - after[i]) > 20 * M)]


def test_replan_keeps_the_running_sequence(night, planner) -> None:
    sequences = busy_night(night)
    first = planner.plan(make_problem(night, sequences))
    running_entry = first.entries[0]
    running = RunningEntry(next(s for s in sequences if s.id == running_entry.sequence_id),
                           running_entry.start_s, running_entry.end_s)
    now = running_entry.start_s + 60.0
    rest = [s for s in sequences if s.id != running.sequence.id]
    replan = planner.plan(make_problem(night, rest, start_s=now, running=running,
                                       previous=previous_starts(first)))
    check_consistent(make_problem(night, rest, start_s=now), replan)
    assert replan.entries[0].running and replan.entries[0].sequence_id == running.sequence.id
    assert replan.entries[0].start_s == running_entry.start_s and replan.entries[0].end_s == running_entry.end_s
    assert all(e.start_s >= running_entry.end_s - 1e-6 for e in replan.entries[1:])


def test_small_change_small_difference(night, planner) -> None:
    """Adding one low-priority sequence leaves the rest of the plan where it was."""
    sequences = busy_night(night)
    first = planner.plan(make_problem(night, sequences))
    extra = SequenceToPlan(999, 20 * M, 1, windows=window(night, 0, 10.6))
    replan = planner.plan(make_problem(night, sequences + [extra], previous=previous_starts(first)))
    before, after = previous_starts(first), previous_starts(replan)
    assert len(disturbed(before, after)) <= 2
    assert replan.objective >= first.objective - 1e-6
    # Nothing new: the same plan exactly.
    again = planner.plan(make_problem(night, sequences, previous=before))
    assert previous_starts(again) == pytest.approx(before)


def test_cancelled_sequence_frees_its_time_without_reshuffling(night, planner) -> None:
    sequences = busy_night(night)
    first = planner.plan(make_problem(night, sequences))
    cancelled = first.entries[len(first.entries) // 2].sequence_id
    rest = [s for s in sequences if s.id != cancelled]
    replan = planner.plan(make_problem(night, rest, previous=previous_starts(first)))
    before, after = previous_starts(first), previous_starts(replan)
    assert len(disturbed(before, after, ignore=cancelled)) <= 3
    assert cancelled not in after


def test_urgent_sequence_goes_first(night, planner) -> None:
    sequences = busy_night(night)
    first = planner.plan(make_problem(night, sequences))
    now = night[0] + 2 * H
    alert = SequenceToPlan(500, 20 * M, 10, urgent=True)
    replan = planner.plan(make_problem(night, sequences + [alert], start_s=now, previous=previous_starts(first)))
    assert replan.entries[0].sequence_id == 500
    assert replan.entry(500).start_s == pytest.approx(now)


def test_urgent_sequence_waits_only_for_the_running_one(night, planner) -> None:
    sequences = busy_night(night)
    running = RunningEntry(sequences[0], night[0] + 1 * H, night[0] + 1.5 * H)
    now = night[0] + 1.2 * H
    alert = SequenceToPlan(500, 20 * M, 10, urgent=True)
    replan = planner.plan(make_problem(night, sequences[1:] + [alert], start_s=now, running=running))
    assert replan.entries[1].sequence_id == 500
    assert replan.entry(500).start_s == pytest.approx(night[0] + 1.5 * H)


def test_failed_sequence_replanned_later(night, planner) -> None:
    """A sequence that failed goes back to the pool and may be placed again after now."""
    sequences = busy_night(night)
    first = planner.plan(make_problem(night, sequences))
    failed = first.entries[0]
    now = failed.end_s
    replan = planner.plan(make_problem(night, sequences, start_s=now, previous=previous_starts(first)))
    assert all(e.start_s >= now - 1e-6 for e in replan.entries)
    check_consistent(make_problem(night, sequences, start_s=now), replan)


# -- explanations and determinism ---------------------------------------------------------------

def test_explain_placed_and_unplaced(night, planner) -> None:
    low = SequenceToPlan(1, 2 * H, 2, windows=window(night, 1, 3.5))
    high = SequenceToPlan(2, 2 * H, 7, windows=window(night, 1.5, 4), preferred_s=at(night, 1.5))
    problem = make_problem(night, [low, high])
    plan = planner.plan(problem)
    placed = planner.explain(problem, plan, 2)
    assert placed["status"] == "planned" and placed["start_s"] == pytest.approx(at(night, 1.5))
    assert any("preferred time" in note for note in placed["notes"])
    missing = planner.explain(problem, plan, 1)
    assert missing["status"] == "unplaced" and missing["reason"] == "lost_to_higher_priority"
    assert missing["blockers"] == [2]
    assert planner.explain(problem, plan, 77)["status"] == "unknown"


def test_plans_are_reproducible(night, planner) -> None:
    problem = make_problem(night, busy_night(night, 80))
    assert planner.plan(problem).entries == planner.plan(problem).entries


@pytest.mark.parametrize("bad, message", [
    (dict(duration_s=0.0), "duration_s must be positive"),
    (dict(priority=-1.0), "priority must be positive"),
    (dict(windows=((5.0, 1.0),)), "ends before it starts"),
    (dict(ra_deg=10.0), "give both ra_deg and dec_deg"),
    (dict(ra_deg=400.0, dec_deg=0.0), "ra_deg must be in"),
    (dict(max_airmass=0.5), "max_airmass must be at least 1"),
    (dict(duration_s=float("nan")), "finite number"),
    (dict(priority=True), "finite number"),
])
def test_bad_sequences_are_refused(bad: dict, message: str) -> None:
    fields = dict(id=1, duration_s=60.0, priority=1.0)
    fields.update(bad)
    with pytest.raises(ValueError, match=message):
        SequenceToPlan(**fields)  # type: ignore[arg-type]


def test_duplicate_ids_are_refused(night) -> None:
    with pytest.raises(ValueError, match="appears twice"):
        make_problem(night, [SequenceToPlan(1, 60.0, 1.0), SequenceToPlan(1, 90.0, 2.0)])
