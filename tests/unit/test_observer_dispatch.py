"""The observer's dispatch check (pure), its reading of /env/safety, and the run's sampled instants."""

from __future__ import annotations

import math

import pytest

from pyros.observing.dispatch import DispatchConstraints, RunGeometry, SafetyVerdict, check_dispatch
from pyros.observing.reasons import Reason
from pyros.observing.run_geometry import run_instants
from pyros.observing.safety import safety_verdict

NOW = 1_780_279_200.0
"""2026-06-01T02:00:00Z."""
NIGHT = (NOW - 3600.0, NOW + 6 * 3600.0)
SAFE = SafetyVerdict(True)


def sequence(**changes: object) -> DispatchConstraints:
    values: dict[str, object] = {"sequence_id": 7, "status": "planned", "duration_s": 1200.0,
                                 "windows": ((NOW - 600.0, NOW + 1800.0),), "max_airmass": 2.0,
                                 "min_moon_distance_deg": 30.0}
    values.update(changes)
    return DispatchConstraints(**values)  # type: ignore[arg-type]


def geometry(airmass: tuple[float, ...] = (1.3, 1.25, 1.2), moon: tuple[float, ...] = (60.0, 60.5, 61.0),
             duration_s: float = 1200.0) -> RunGeometry:
    times = tuple(run_instants(NOW, duration_s, duration_s / (len(airmass) - 1)))
    return RunGeometry(times, airmass, moon)


def check(seq: DispatchConstraints | None = None, *, now: float = NOW, night: tuple[float, float] | None = NIGHT,
          geo: RunGeometry | None = None, safety: SafetyVerdict = SAFE, missing: tuple[str, ...] = ()):
    return check_dispatch(seq or sequence(), now, night, geo if geo is not None else geometry(), safety, missing)


def test_a_planned_sequence_that_fits_may_start() -> None:
    assert check() is None


def test_each_refusal_has_its_reason() -> None:
    cases = {
        Reason.NOT_PLANNED: check(sequence(status="to_be_planned")),
        Reason.UNSAFE: check(safety=SafetyVerdict(False, "unsafe: rain")),
        Reason.DEVICE_UNAVAILABLE: check(missing=("cam_nir (no live service)",)),
        Reason.NIGHT_OVER: check(night=(NOW - 3600.0, NOW + 600.0)),
        Reason.OUTSIDE_WINDOW: check(sequence(windows=((NOW - 600.0, NOW + 1000.0),))),
        Reason.BELOW_AIRMASS_LIMIT: check(geo=geometry(airmass=(1.8, 1.95, 2.1))),
        Reason.MOON_TOO_CLOSE: check(geo=geometry(moon=(31.0, 30.2, 29.5))),
    }
    for reason, refusal in cases.items():
        assert refusal is not None and refusal.reason is reason, (reason, refusal)
        assert refusal.detail and refusal.to_dict() == {"reason": reason.value, "detail": refusal.detail}
    assert "rain" in cases[Reason.UNSAFE].detail
    assert "cam_nir" in cases[Reason.DEVICE_UNAVAILABLE].detail
    assert "2.100" in cases[Reason.BELOW_AIRMASS_LIMIT].detail and "limit is 2" in cases[Reason.BELOW_AIRMASS_LIMIT].detail
    assert "29.5 deg" in cases[Reason.MOON_TOO_CLOSE].detail


def test_the_first_failing_check_wins() -> None:
    refusal = check(sequence(status="executed"), safety=SafetyVerdict(False, "x"), night=None)
    assert refusal is not None and refusal.reason is Reason.NOT_PLANNED
    refusal = check(safety=SafetyVerdict(False, "x"), missing=("dome",))
    assert refusal is not None and refusal.reason is Reason.UNSAFE


def test_the_night_must_have_started_and_hold_the_whole_run() -> None:
    before = check(now=NIGHT[0] - 60.0, geo=geometry())
    assert before is not None and before.reason is Reason.NIGHT_OVER and "not night yet" in before.detail
    assert check(night=None).reason is Reason.NIGHT_OVER  # type: ignore[union-attr]
    exact = check(sequence(windows=()), night=(NOW - 10.0, NOW + 1200.0))
    assert exact is None  # ending exactly at the night's end fits


def test_windows_the_run_must_fit_in_one() -> None:
    two_halves = ((NOW - 100.0, NOW + 700.0), (NOW + 700.0, NOW + 2000.0))
    assert check(sequence(windows=two_halves)).reason is Reason.OUTSIDE_WINDOW  # type: ignore[union-attr]
    assert check(sequence(windows=())) is None  # no window: any time
    later = check(sequence(windows=((NOW + 60.0, NOW + 4000.0),)))
    assert later is not None and later.reason is Reason.OUTSIDE_WINDOW


def test_limits_hold_at_the_end_of_the_run_too() -> None:
    setting = geometry(airmass=(1.5, 1.9, math.inf))
    refusal = check(geo=setting)
    assert refusal is not None and refusal.reason is Reason.BELOW_AIRMASS_LIMIT and "below the horizon" in refusal.detail


def test_no_target_or_no_limit_needs_no_geometry() -> None:
    assert check_dispatch(sequence(has_target=False), NOW, NIGHT, None, SAFE) is None
    assert check_dispatch(sequence(max_airmass=None, min_moon_distance_deg=None), NOW, NIGHT, None, SAFE) is None
    with pytest.raises(ValueError, match="geometry is needed"):
        check_dispatch(sequence(), NOW, NIGHT, None, SAFE)
    with pytest.raises(ValueError, match="not the run"):
        check_dispatch(sequence(), NOW, NIGHT, geometry(duration_s=600.0), SAFE)


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="duration_s"):
        sequence(duration_s=0.0)
    with pytest.raises(ValueError, match="window must end after"):
        sequence(windows=((NOW, NOW),))
    with pytest.raises(ValueError, match="max_airmass"):
        sequence(max_airmass=0.5)
    with pytest.raises(ValueError, match="min_moon_distance_deg"):
        sequence(min_moon_distance_deg=200.0)
    with pytest.raises(ValueError, match="now_s"):
        check(now=math.nan)
    with pytest.raises(ValueError, match="as many airmasses"):
        RunGeometry((NOW,), (1.0, 1.1), (50.0,))


def test_run_instants_cover_start_and_end() -> None:
    assert run_instants(NOW, 1200.0, 600.0) == [NOW, NOW + 600.0, NOW + 1200.0]
    assert run_instants(NOW, 100.0, 600.0) == [NOW, NOW + 100.0]
    instants = run_instants(NOW, 1300.0, 600.0)
    assert len(instants) == 4 and instants[-1] == NOW + 1300.0
    assert max(b - a for a, b in zip(instants, instants[1:])) <= 600.0
    with pytest.raises(ValueError, match="step_s"):
        run_instants(NOW, 100.0, 0.0)


def test_safety_doubt_means_unsafe() -> None:
    def verdict(value: object, live: bool = True) -> SafetyVerdict:
        return safety_verdict(value, live=live, now_s=NOW, max_age_s=60.0)

    assert verdict({"safe": True}) == SafetyVerdict(True)
    assert verdict({"safe": True, "time": NOW - 30.0}).safe
    assert verdict({"safe": True, "time": "2026-06-01T01:59:30Z"}).safe
    unsafe = {
        "K/V store is not reachable": verdict({"safe": True}, live=False),
        "absent": verdict(None),
        "malformed": verdict({"safe": "yes"}),
        "marked stale": verdict({"safe": True, "stale": True}),
        "120 s old": verdict({"safe": True, "time": NOW - 120.0}),
        "unreadable time": verdict({"safe": True, "time": "yesterday"}),
        "unsafe: rain_rate (since 2026-06-01T01:00:00Z)": verdict(
            {"safe": False, "culprit": "rain_rate", "since": "2026-06-01T01:00:00Z"}),
        "monitor says unsafe": verdict({"safe": False}),
    }
    for words, result in unsafe.items():
        assert not result.safe and words in result.detail, (words, result)
    with pytest.raises(ValueError, match="max_age_s"):
        safety_verdict({"safe": True}, live=True, now_s=NOW, max_age_s=0)
