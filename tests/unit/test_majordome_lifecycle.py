"""The majordome's transition table: a night, rain, faults, manual mode, maintenance, and the table's shape."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from pyros.majordome.lifecycle import (TRANSITIONS, MajordomeState, Wanted, manual_command_refusal, step,
                                       wanted_for)
from pyros.majordome.situation import Mode, Situation, SkyPhase, sky_phase

S = MajordomeState
SAFE_DAY = Situation(phase=SkyPhase.DAY, safe=True, dome_closed=True, telescope_parked=True)


def test_a_whole_night_with_a_rain_episode() -> None:
    state = S.STARTUP
    seen = Situation(phase=SkyPhase.DAY, safe=True, dome_closed=True, telescope_parked=True)
    result = step(state, seen)
    assert result.state is S.DAY and result.wanted == Wanted(dome="closed", telescope="parked")
    result = step(result.state, replace(seen, phase=SkyPhase.DUSK))
    assert result.state is S.DUSK and result.wanted.dome == "closed"
    night = replace(seen, phase=SkyPhase.NIGHT)
    result = step(result.state, night)
    assert result.state is S.NIGHT_IDLE
    assert result.wanted == Wanted(dome="open", telescope="unparked", observe=True)
    # Dome still closed: no observing yet, even with work.
    result = step(result.state, replace(night, work_available=True))
    assert result.state is S.NIGHT_IDLE and result.transition is None
    opened = replace(night, dome_closed=False, telescope_parked=False, work_available=True)
    result = step(result.state, opened)
    assert result.state is S.NIGHT_OBSERVING
    result = step(result.state, replace(opened, observing=True))
    assert result.state is S.NIGHT_OBSERVING and result.transition is None
    raining = replace(opened, observing=True, safe=False, safety_culprit="rain_rate")
    result = step(result.state, raining)
    assert result.state is S.UNSAFE_CLOSING
    assert result.wanted == Wanted(dome="closed", telescope="parked", abort=True)
    assert "rain_rate" in result.reason
    # Still raining, not yet closed: stays closing.
    result = step(result.state, replace(raining, observing=False))
    assert result.state is S.UNSAFE_CLOSING and result.transition is None
    closed = replace(raining, observing=False, dome_closed=True, telescope_parked=True)
    result = step(result.state, closed)
    assert result.state is S.CLOSED_UNSAFE and result.wanted == Wanted(dome="closed", telescope="parked")
    # The monitor's hold time over: safe again at night -> idle, wanting to open.
    result = step(result.state, replace(closed, safe=True, safety_culprit=None))
    assert result.state is S.NIGHT_IDLE and result.wanted.dome == "open"
    dawn = replace(opened, phase=SkyPhase.DAWN, observing=True)
    result = step(S.NIGHT_OBSERVING, dawn)
    assert result.state is S.DAWN and result.wanted == Wanted(dome="closed", telescope="parked", abort=True)
    result = step(result.state, replace(dawn, observing=False))
    assert result.state is S.DAWN
    result = step(result.state, replace(dawn, observing=False, dome_closed=True, telescope_parked=True))
    assert result.state is S.DAY


def test_start_up_in_bad_weather_closes_first() -> None:
    result = step(S.STARTUP, Situation(phase=SkyPhase.NIGHT, safe=False, safety_culprit="wind_speed",
                                       dome_closed=True, telescope_parked=True))
    # Closing is instant when already secured: the chain reaches closed_unsafe at once.
    assert result.state is S.CLOSED_UNSAFE
    assert "wind_speed" in result.reason


def test_unknown_device_state_is_not_taken_for_secured() -> None:
    result = step(S.UNSAFE_CLOSING, Situation(phase=SkyPhase.NIGHT, safe=False, dome_closed=None,
                                              telescope_parked=True))
    assert result.state is S.UNSAFE_CLOSING


def test_a_device_fault_makes_the_observatory_safe_even_in_good_weather() -> None:
    situation = Situation(phase=SkyPhase.NIGHT, safe=True, device_fault="cam_nir", dome_closed=False,
                          telescope_parked=False, observing=True, work_available=True)
    result = step(S.NIGHT_OBSERVING, situation)
    assert result.state is S.UNSAFE_CLOSING and "cam_nir" in result.reason and result.wanted.abort


def test_manual_mode_wants_nothing_but_safety() -> None:
    manual = Situation(phase=SkyPhase.NIGHT, mode=Mode.MANUAL, safe=True, dome_closed=False,
                       telescope_parked=False, work_available=True)
    result = step(S.NIGHT_IDLE, manual)
    assert result.state is S.NIGHT_IDLE and result.wanted == Wanted()
    assert step(S.NIGHT_OBSERVING, manual).state is S.NIGHT_IDLE
    unsafe = replace(manual, safe=False, safety_culprit="rain_rate")
    result = step(S.NIGHT_IDLE, unsafe)
    assert result.state is S.UNSAFE_CLOSING and result.wanted.dome == "closed" and result.wanted.abort


def test_maintenance_is_entered_and_left_by_the_flag_but_safety_still_closes() -> None:
    flagged = replace(SAFE_DAY, phase=SkyPhase.NIGHT, maintenance=True)
    result = step(S.NIGHT_IDLE, flagged)
    assert result.state is S.MAINTENANCE and result.wanted == Wanted()
    open_in_rain = replace(flagged, safe=False, safety_culprit="rain_rate", dome_closed=False)
    assert step(S.MAINTENANCE, open_in_rain).state is S.UNSAFE_CLOSING
    back = step(S.MAINTENANCE, replace(flagged, maintenance=False))
    assert back.state is S.NIGHT_IDLE  # through startup, in one step


@pytest.mark.parametrize("command, expected", [("open", True), ("unpark", True), ("close", False), ("park", False)])
def test_manual_commands_refused_while_unsafe(command: str, expected: bool) -> None:
    unsafe = Situation(phase=SkyPhase.NIGHT, mode=Mode.MANUAL, safe=False, safety_culprit="rain_rate")
    refusal = manual_command_refusal(command, unsafe, admin_override=False, override_reason=None)
    assert (refusal is not None) is expected
    if expected:
        assert "rain_rate" in refusal
        assert "reason" in manual_command_refusal(command, unsafe, admin_override=True, override_reason=" ")
        assert manual_command_refusal(command, unsafe, admin_override=True, override_reason="test the shutter") is None
    safe = replace(unsafe, safe=True)
    assert manual_command_refusal(command, safe, admin_override=False, override_reason=None) is None


def test_sky_phases() -> None:
    start, end = 10_000.0, 50_000.0
    assert sky_phase(start - 4000.0, start, end, 1800.0, 600.0) is SkyPhase.DAY
    assert sky_phase(start - 1000.0, start, end, 1800.0, 600.0) is SkyPhase.DUSK
    assert sky_phase(start, start, end, 1800.0, 600.0) is SkyPhase.NIGHT
    assert sky_phase(end - 300.0, start, end, 1800.0, 600.0) is SkyPhase.DAWN
    assert sky_phase(end + 7200.0, start, end, 1800.0, 600.0) is SkyPhase.DAY
    assert sky_phase(start, None, None, 1800.0, 600.0) is SkyPhase.DAY


# -- the table's shape ------------------------------------------------------------------------------

def all_situations() -> list[Situation]:
    flags = [False, True]
    tri = [None, False, True]
    return [Situation(phase=phase, mode=mode, safe=safe, device_fault=fault, dome_closed=dome,
                      telescope_parked=parked, observing=observing, work_available=work, maintenance=maint)
            for phase, mode, safe, fault, dome, parked, observing, work, maint in itertools.product(
                list(SkyPhase), list(Mode), flags, [None, "dome"], tri, tri, flags, flags, flags)]


def test_every_state_has_its_rows_and_every_target_is_a_state() -> None:
    assert set(TRANSITIONS) == set(MajordomeState)
    for state, rows in TRANSITIONS.items():
        for row in rows:
            assert row.source is state and row.target in MajordomeState and row.target is not state


def test_decisions_settle_in_one_step() -> None:
    """For every state and situation, a second step with the same situation changes nothing (no cycles)."""
    for state in MajordomeState:
        for situation in all_situations():
            first = step(state, situation)
            second = step(first.state, situation)
            assert second.transition is None, (state, situation, first, second)


def test_unsafe_always_leads_to_closing_and_never_wants_open() -> None:
    for state in MajordomeState:
        for situation in all_situations():
            if situation.unsafe_reason is None:
                continue
            result = step(state, situation)
            assert result.state in (S.UNSAFE_CLOSING, S.CLOSED_UNSAFE), (state, situation)
            assert result.wanted.dome == "closed" and result.wanted.telescope == "parked"
            assert not result.wanted.observe


def test_every_state_is_reachable_from_startup() -> None:
    reached = {S.STARTUP}
    frontier = [S.STARTUP]
    while frontier:
        state = frontier.pop()
        for row in TRANSITIONS[state]:
            if row.target not in reached:
                reached.add(row.target)
                frontier.append(row.target)
    assert reached == set(MajordomeState)
