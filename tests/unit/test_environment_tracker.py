"""The safety state machine on a fake clock: unsafe at once, safe after the hold, culprit and since kept."""

from __future__ import annotations

import pytest

from pyros.environment import MonitorSettings, Reading, SafetyTracker, synthesise_all
from pyros.environment.synthesis import QuantitySynthesis
from pyros.environment.tracker import NO_DATA, PLC_SILENT, PLC_STALE

T0 = 1_780_279_200.0
SETTINGS = MonitorSettings.from_args()
HOLD = 1200.0


class FakeClock:
    """Observatory time that moves only when told."""

    def __init__(self) -> None:
        self.now = T0

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def weather(now: float, *, rain: float = 0.0, wind: float = 3.0, valid: bool = True,
            measured_at: float | None = None) -> tuple[QuantitySynthesis, ...]:
    """The syntheses of a site that is safe except for what is given."""
    readings = {"rain_rate": Reading("rain_rate", rain, "WXT520", valid),
                "rain_detected": Reading("rain_detected", rain > 0, "DRD11", True),
                "wind_speed": Reading("wind_speed", wind, "WXT520", True),
                "outside_humidity": Reading("outside_humidity", 60.0, "WXT520", True),
                "power": Reading("power", 230.0, "PDU", True)}
    return synthesise_all(readings, now if measured_at is None else measured_at, now, SETTINGS)


def started(clock: FakeClock, *, hold_at_start: bool = False) -> SafetyTracker:
    tracker = SafetyTracker(HOLD, clock.now, hold_at_start=hold_at_start)
    assert tracker.state.culprit == NO_DATA and not tracker.state.safe
    assert tracker.update(weather(clock.now), clock.now).safe is (not hold_at_start)
    return tracker


def test_unsafe_at_once_then_safe_only_after_the_hold() -> None:
    clock = FakeClock()
    tracker = started(clock)
    rain_at = clock.advance(10.0)
    state = tracker.update(weather(rain_at, rain=2.0), rain_at)
    assert (state.safe, state.culprit, state.since) == (False, "rain_rate", rain_at)
    assert [r.quantity for r in state.reasons] == ["rain_rate", "rain_detected"]
    assert state.reasons[0].detail == "2 > 0 mm/h" and state.safe_in_s is None
    clear_at = clock.advance(60.0)
    state = tracker.update(weather(clear_at), clear_at)
    assert (state.safe, state.culprit, state.since, state.reasons, state.safe_in_s) == \
        (False, "rain_rate", rain_at, (), HOLD)
    for _ in range(119):
        state = tracker.update(weather(clock.advance(10.0)), clock.now)
        assert not state.safe
    assert state.safe_in_s == pytest.approx(10.0)
    state = tracker.update(weather(clock.advance(10.0)), clock.now)
    assert (state.safe, state.culprit, state.since, state.safe_in_s) == (True, None, clear_at + HOLD, 0.0)


def test_flapping_at_the_limit_never_flaps_the_verdict() -> None:
    clock = FakeClock()
    tracker = started(clock)
    first = clock.advance(1.0)
    verdicts = []
    for step in range(3600):  # an hour of wind around the limit, changing every 30 s
        wind = 14.5 if (step // 30) % 2 == 0 else 13.5
        verdicts.append(tracker.update(weather(clock.now, wind=wind), clock.now))
        clock.advance(1.0)
    assert not any(v.safe for v in verdicts)
    assert {(v.culprit, v.since) for v in verdicts} == {("wind_speed", first)}
    assert not tracker.update(weather(clock.now, wind=14.5), clock.now).safe  # the last gust
    clock.advance(1.0)
    for _ in range(int(HOLD)):
        assert not tracker.update(weather(clock.now), clock.now).safe
        clock.advance(1.0)
    assert tracker.update(weather(clock.now), clock.now).safe


def test_the_first_culprit_stays_while_others_come_and_go() -> None:
    clock = FakeClock()
    tracker = started(clock)
    windy_at = clock.advance(5.0)
    tracker.update(weather(windy_at, wind=20.0), windy_at)
    state = tracker.update(weather(clock.advance(5.0), wind=20.0, rain=1.0), clock.now)
    assert state.culprit == "wind_speed" and {r.quantity for r in state.reasons} == \
        {"wind_speed", "rain_rate", "rain_detected"}
    state = tracker.update(weather(clock.advance(5.0), rain=1.0), clock.now)
    assert (state.culprit, state.since) == ("wind_speed", windy_at)
    assert [r.quantity for r in state.reasons] == ["rain_rate", "rain_detected"]


def test_stale_invalid_and_silent_count_as_unsafe() -> None:
    clock = FakeClock()
    tracker = started(clock)
    state = tracker.update(weather(clock.advance(40.0), measured_at=T0), clock.now)
    assert not state.safe and state.culprit == "rain_rate" and state.reasons[0].meaning == "stale"

    tracker = started(clock)
    state = tracker.update(weather(clock.advance(1.0), valid=False), clock.now)
    assert state.culprit == "rain_rate" and state.reasons[0].meaning == "invalid"

    tracker = started(clock)
    state = tracker.update(weather(clock.advance(1.0), rain=3.0), clock.now, silent="no answer for 11 s")
    assert state.culprit == PLC_SILENT and state.reasons[0].detail == "no answer for 11 s"


def test_an_old_reading_is_named_plc_stale_after_the_silence_and_before_the_quantities() -> None:
    clock = FakeClock()
    tracker = started(clock)
    state = tracker.update(weather(clock.advance(40.0), measured_at=T0), clock.now, stale="reading 40 s old")
    assert state.culprit == PLC_STALE and (state.reasons[0].meaning, state.reasons[0].detail) == \
        ("stale", "reading 40 s old")
    assert [r.quantity for r in state.reasons[1:]] == ["rain_rate", "rain_detected", "wind_speed",
                                                       "outside_humidity", "power"]

    tracker = started(clock)
    state = tracker.update(weather(clock.advance(40.0), measured_at=T0), clock.now, silent="no answer for 40 s",
                           stale="reading 40 s old")
    assert state.culprit == PLC_SILENT and [r.quantity for r in state.reasons[:2]] == [PLC_SILENT, PLC_STALE]

    # a fresh reading again: the reason goes, the hold starts
    state = tracker.update(weather(clock.advance(1.0)), clock.now)
    assert (state.safe, state.culprit, state.reasons, state.safe_in_s) == (False, PLC_SILENT, (), HOLD)


def test_the_hold_applies_at_start_unless_told_otherwise() -> None:
    clock = FakeClock()
    tracker = started(clock, hold_at_start=True)
    state = tracker.update(weather(clock.advance(HOLD - 1.0)), clock.now)
    assert (state.safe, state.culprit, state.safe_in_s) == (False, NO_DATA, pytest.approx(1.0))
    assert tracker.update(weather(clock.advance(1.0)), clock.now).safe


def test_time_never_runs_backwards_and_bad_settings_are_refused() -> None:
    clock = FakeClock()
    tracker = started(clock)
    tracker.update(weather(clock.now, rain=1.0), clock.now)
    state = tracker.update(weather(clock.now), clock.now - 100.0)
    assert state.time == clock.now and state.safe_in_s == HOLD
    with pytest.raises(ValueError, match="hold_s"):
        SafetyTracker(-1.0, T0)
    with pytest.raises(ValueError, match="now must be a finite instant"):
        tracker.update((), float("nan"))
    same = tracker.update(weather(clock.advance(1.0)), clock.now)
    assert same.same_verdict(tracker.state) and not same.same_verdict(None)
    assert same.to_dict(lambda t: f"t{t:g}")["since"] == f"t{clock.now - 1.0:g}"
