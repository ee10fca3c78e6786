"""Plans of varied problems pass the independent checker (astropy's own geometry, every 30 s).

This is the planner's safety net: whatever it chooses, no entry may break a
window, the night, an airmass or Moon limit, the order or a transition.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date

import numpy as np
import pytest

from pyros.astro import Sky
from pyros.config import Config
from pyros.scheduling.overheads import OverheadModel
from pyros.scheduling.planner import Planner
from pyros.scheduling.problem import PlanningProblem, Pointing, RunningEntry, SequenceToPlan
from pyros.scheduling.verify import verify_plan
from pyros.scheduling.visibility import VisibilityCalculator

MODELS = [
    OverheadModel(slew_model="separation", slew_rate_deg_s=2.0, settle_s=15.0, filter_change_s=20.0),
    OverheadModel(slew_model="equatorial", slew_rate_deg_s=1.5, dec_rate_deg_s=1.0, settle_s=5.0,
                  filter_change_s=8.0),
]


@pytest.fixture(scope="module")
def sky() -> Sky:
    return Sky.from_config(Config())


def random_problem(sky: Sky, seed: int, night_date: date, model: OverheadModel, count: int = 60) -> PlanningProblem:
    night = sky.night(night_date)
    start, end = float(night.start.unix), float(night.end.unix)
    rng = np.random.default_rng(seed)
    sequences = []
    for index in range(1, count + 1):
        duration = float(rng.uniform(5, 60)) * 60.0
        windows: tuple[tuple[float, float], ...] = ()
        if rng.random() < 0.5:
            first = float(rng.uniform(start - 3600.0, end - duration))
            windows = ((first, first + duration + float(rng.uniform(0, 3 * 3600.0))),)
            if rng.random() < 0.3:
                second = float(rng.uniform(start, end - duration))
                windows = tuple(sorted(windows + ((second, second + duration * 1.5),)))
                if windows[0][1] >= windows[1][0]:
                    windows = ((windows[0][0], max(windows[0][1], windows[1][1])),)
        targeted = rng.random() < 0.9
        filters = ["g", "r", "i", "z"]
        sequences.append(SequenceToPlan(
            id=index, duration_s=duration, priority=float(rng.integers(1, 11)), windows=windows,
            preferred_s=float(rng.uniform(start, end)) if not windows and rng.random() < 0.3 else None,
            ra_deg=float(rng.uniform(0, 360)) if targeted else None,
            dec_deg=math.degrees(math.asin(rng.uniform(-0.7, 1.0))) if targeted else None,
            max_airmass=float(rng.choice([1.3, 1.5, 2.0, 3.0])) if targeted and rng.random() < 0.9 else None,
            min_moon_distance_deg=float(rng.uniform(10, 60)) if targeted and rng.random() < 0.5 else None,
            first_filter=str(rng.choice(filters)), last_filter=str(rng.choice(filters))))
    return PlanningProblem(tuple(sequences), start, end, start, end, overheads=model)


def check(sky: Sky, problem: PlanningProblem, plan) -> None:
    violations = verify_plan(problem, plan.entries, sky.location, sky.night_sun_altitude_deg)
    assert violations == []
    assert plan.objective == pytest.approx(sum(s.value for s in problem.sequences
                                               if plan.entry(s.id) is not None))


@pytest.mark.parametrize("seed, night_date, model", [
    (1, date(2025, 3, 14), MODELS[0]),   # full Moon
    (2, date(2025, 6, 21), MODELS[1]),   # shortest night
    (3, date(2025, 12, 21), MODELS[0]),  # longest night
    (4, date(2026, 9, 7), MODELS[1]),    # full Moon
])
def test_fresh_plans_pass_the_checker(sky: Sky, seed: int, night_date: date, model: OverheadModel) -> None:
    problem = random_problem(sky, seed, night_date, model)
    plan = Planner(VisibilityCalculator(sky)).plan(problem)
    assert len(plan.entries) >= 5
    check(sky, problem, plan)


@pytest.mark.parametrize("seed", [5, 6])
def test_replans_with_running_urgent_and_origin_pass_the_checker(sky: Sky, seed: int) -> None:
    problem = random_problem(sky, seed, date(2025, 10, 20), MODELS[seed % 2])
    planner = Planner(VisibilityCalculator(sky))
    first = planner.plan(problem)
    running_entry = first.entries[2]
    running_sequence = next(s for s in problem.sequences if s.id == running_entry.sequence_id)
    now = running_entry.start_s + 300.0
    alert = SequenceToPlan(900, 1200.0, 10.0, ra_deg=running_sequence.ra_deg, dec_deg=running_sequence.dec_deg,
                           max_airmass=3.0, urgent=True, first_filter="r", last_filter="r")
    rest = tuple(s for s in problem.sequences if s.id != running_sequence.id) + (alert,)
    replan_problem = dataclasses.replace(
        problem, sequences=rest, start_s=now,
        running=RunningEntry(running_sequence, running_entry.start_s, running_entry.end_s),
        previous={e.sequence_id: e.start_s for e in first.entries})
    replan = planner.plan(replan_problem)
    check(sky, replan_problem, replan)
    if replan.entry(900) is not None:
        assert replan.entries[1].sequence_id == 900
    # Nothing running, the telescope somewhere known, in the middle of the night.
    pointed = dataclasses.replace(problem, start_s=now, origin=Pointing(120.0, -10.0, "z"))
    check(sky, pointed, planner.plan(pointed))
    unknown = dataclasses.replace(problem, start_s=now, unknown_origin_transition_s=MODELS[0].worst_case_s())
    check(sky, unknown, planner.plan(unknown))
