"""The scheduler benchmark's references on tiny problems: the 5-minute MILP and astroplan's PriorityScheduler.

scipy and astroplan are benchmark dependencies: without them these tests are
skipped, with the reason.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import date

import astropy.units as u
import pytest
from astropy.coordinates import AltAz, SkyCoord
from astropy.time import Time

from pyros.astro import Sky
from pyros.config import Config
from pyros.scheduling.overheads import OverheadModel
from pyros.scheduling.problem import PlanningProblem, SequenceToPlan
from pyros.scheduling.verify import verify_plan
from pyros.scheduling.visibility import VisibilityCalculator

NIGHT = date(2025, 3, 29)
OVERHEADS = OverheadModel(slew_model="separation", slew_rate_deg_s=1.0, settle_s=0.0, filter_change_s=30.0)


@functools.lru_cache(maxsize=1)
def sky() -> Sky:
    return Sky.from_config(Config())


@functools.lru_cache(maxsize=1)
def night() -> tuple[float, float]:
    found = sky().night(NIGHT)
    if found.start is None or found.end is None:
        raise RuntimeError(f"no night on {NIGHT} at the configured site")
    return float(found.start.unix), float(found.end.unix)


def one_hour_problem(filter_change_s: float) -> PlanningProblem:
    """Twelve 5-minute slots at the start of the night and three dark-like sequences (no target).

    A (30 min, r) and B (30 min, g) fill the hour exactly; C (25 min, r) leaves one slot.
    Each is worth 2 x its duration: A+B 7,200, A+C or B+C 6,600.
    """
    start, _ = night()
    sequences = (
        SequenceToPlan(id=1, duration_s=1800.0, priority=2, first_filter="r", last_filter="r"),
        SequenceToPlan(id=2, duration_s=1800.0, priority=2, first_filter="g", last_filter="g"),
        SequenceToPlan(id=3, duration_s=1500.0, priority=2, first_filter="r", last_filter="r"),
    )
    overheads = replace(OVERHEADS, filter_change_s=filter_change_s)
    return PlanningProblem(sequences=sequences, start_s=start, end_s=start + 3600.0, night_start_s=start,
                           night_end_s=night()[1], overheads=overheads)


def test_milp_optimum_of_a_hand_solved_case() -> None:
    pytest.importorskip("scipy", reason="scipy is a benchmark dependency (pip install scipy)")
    from tests.perf.scheduler_milp import solve_milp

    calculator = VisibilityCalculator(sky())
    free = solve_milp(one_hour_problem(filter_change_s=0.0), calculator, time_limit_s=30.0)
    assert free.status == "optimal"
    assert free.objective == pytest.approx(7200.0)
    assert sorted(e.sequence_id for e in free.entries) == [1, 2]
    # A filter change of 30 s does not fit between A and B (no slack): one of them gives way to C.
    problem = one_hour_problem(filter_change_s=30.0)
    changed = solve_milp(problem, calculator, time_limit_s=30.0)
    assert changed.status == "optimal"
    assert changed.objective == pytest.approx(6600.0)
    assert changed.bound == pytest.approx(6600.0)
    assert 3 in {e.sequence_id for e in changed.entries} and len(changed.entries) == 2
    assert verify_plan(problem, changed.entries, sky().location, sky().night_sun_altitude_deg) == []
    # The relaxation ignores transitions: A and B fit again, a bound above the optimum.
    relaxed = solve_milp(problem, calculator, time_limit_s=30.0, relaxed=True)
    assert relaxed.status == "optimal" and relaxed.bound == pytest.approx(7200.0) and relaxed.entries == ()


def test_milp_relaxation_bounds_starts_between_slots() -> None:
    pytest.importorskip("scipy", reason="scipy is a benchmark dependency (pip install scipy)")
    from tests.perf.scheduler_milp import solve_milp

    # One sequence of 20 minutes in a window of 21 minutes that starts 2 minutes after a slot boundary:
    # no slot boundary is an allowed start, but a plan exists.
    start, _ = night()
    sequence = SequenceToPlan(id=1, duration_s=1200.0, priority=1, windows=((start + 120.0, start + 1380.0),))
    problem = PlanningProblem(sequences=(sequence,), start_s=start, end_s=start + 3600.0, night_start_s=start,
                              night_end_s=night()[1], overheads=OVERHEADS)
    calculator = VisibilityCalculator(sky())
    assert solve_milp(problem, calculator, time_limit_s=30.0).objective == 0.0
    assert solve_milp(problem, calculator, time_limit_s=30.0, relaxed=True).bound == pytest.approx(1200.0)


def test_milp_refuses_what_it_cannot_model() -> None:
    pytest.importorskip("scipy", reason="scipy is a benchmark dependency (pip install scipy)")
    from tests.perf.scheduler_milp import solve_milp

    calculator = VisibilityCalculator(sky())
    with pytest.raises(ValueError, match="more than one slot"):
        solve_milp(one_hour_problem(filter_change_s=400.0), calculator)
    with pytest.raises(ValueError, match="positive"):
        solve_milp(one_hour_problem(filter_change_s=0.0), calculator, time_limit_s=0.0)


def meridian_target(instant: float, altitude_deg: float) -> tuple[float, float]:
    frame = AltAz(obstime=Time(instant, format="unix", scale="utc"), location=sky().location)
    icrs = SkyCoord(alt=altitude_deg * u.deg, az=180.0 * u.deg, frame=frame).icrs
    return float(icrs.ra.deg) % 360.0, float(icrs.dec.deg)


def test_astroplan_keeps_priorities_windows_and_constraints() -> None:
    pytest.importorskip("astroplan", reason="astroplan is a benchmark dependency (pip install astroplan)")
    from tests.perf.scheduler_astroplan import run_astroplan

    start, end = night()
    middle = (start + end) / 2.0
    ra1, dec1 = meridian_target(middle, 80.0)
    ra2, dec2 = meridian_target(middle, 70.0)
    window = ((middle - 900.0, middle + 900.0),)   # 30 minutes: room for one of the two 20-minute sequences
    sequences = (
        SequenceToPlan(id=1, duration_s=1200.0, priority=3, windows=window, ra_deg=ra1, dec_deg=dec1,
                       max_airmass=2.0, first_filter="r", last_filter="r"),
        SequenceToPlan(id=2, duration_s=1200.0, priority=8, windows=window, ra_deg=ra2, dec_deg=dec2,
                       max_airmass=2.0, first_filter="g", last_filter="g"),
        SequenceToPlan(id=3, duration_s=1250.0, priority=1, ra_deg=ra1, dec_deg=dec1, max_airmass=1.2,
                       first_filter="r", last_filter="r"),
    )
    problem = PlanningProblem(sequences=sequences, start_s=start, end_s=end, night_start_s=start, night_end_s=end,
                              overheads=OVERHEADS)
    result = run_astroplan(problem, sky().location)
    planned = {e.sequence_id: e for e in result.entries}
    assert set(planned) == {2, 3}     # the window holds one: the higher priority (8) wins
    assert result.objective == pytest.approx(8 * 1200.0 + 1 * 1250.0)
    assert planned[3].end_s - planned[3].start_s == pytest.approx(1250.0)
    assert verify_plan(problem, result.entries, sky().location, sky().night_sun_altitude_deg) == []


def test_astroplan_refuses_what_it_cannot_model() -> None:
    pytest.importorskip("astroplan", reason="astroplan is a benchmark dependency (pip install astroplan)")
    from tests.perf.scheduler_astroplan import run_astroplan

    start, end = night()
    problem = PlanningProblem(sequences=(SequenceToPlan(id=1, duration_s=600.0, priority=1),), start_s=start,
                              end_s=end, night_start_s=start, night_end_s=end, overheads=OVERHEADS)
    with pytest.raises(ValueError, match="no target"):
        run_astroplan(problem, sky().location)
    with pytest.raises(ValueError, match="settling"):
        run_astroplan(replace(problem, overheads=replace(OVERHEADS, settle_s=5.0)), sky().location)
