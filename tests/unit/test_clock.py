"""Unit tests of :mod:`pyros.clock`, on fake wall and monotonic clocks."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyros import clock as clock_module
from pyros.clock import Clock, format_instant, get_clock, next_multiple, parse_instant, set_clock
from pyros.config import ClockConfig

START_ISO = "2024-06-01T03:00:00Z"
START = datetime(2024, 6, 1, 3, 0, tzinfo=timezone.utc).timestamp()
ANCHOR = 1_800_000_000.0


class FakeTime:
    """A wall clock, a monotonic clock and a sleeper that advances them both."""

    def __init__(self, wall: float = ANCHOR, monotonic: float = 500.0) -> None:
        self.wall_now = wall
        self.mono_now = monotonic
        self.sleeps: list[float] = []

    def wall(self) -> float:
        return self.wall_now

    def monotonic(self) -> float:
        return self.mono_now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.wall_now += seconds
        self.mono_now += seconds

    def kwargs(self) -> dict[str, Any]:
        return {"wall": self.wall, "monotonic": self.monotonic, "sleeper": self.sleep}


class RecordingEvent:
    """Stands in for threading.Event: records the timeout it was asked to wait."""

    def __init__(self, result: bool = False) -> None:
        self.timeouts: list[float | None] = []
        self.result = result

    def wait(self, timeout: float | None = None) -> bool:
        self.timeouts.append(timeout)
        return self.result


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def sim(fake: FakeTime) -> Clock:
    return Clock.simulated(START_ISO, 100.0, ANCHOR, **fake.kwargs())


@pytest.fixture(autouse=True)
def restore_process_clock() -> Iterator[None]:
    previous = get_clock()
    yield
    set_clock(previous)


# ---------------------------------------------------------------------------- parse_instant / format_instant


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (START, START),
        (1700000000, 1700000000.0),
        ("1700000000.25", 1700000000.25),
        (START_ISO, START),
        ("2024-06-01T03:00:00+00:00", START),
        ("2024-06-01T05:00:00+02:00", START),
        ("  2024-06-01T03:00:00.500000Z ", START + 0.5),
        (datetime(2024, 6, 1, 3, tzinfo=timezone.utc), START),
        (datetime(2024, 6, 1, 4, tzinfo=timezone(timedelta(hours=1))), START),
    ],
)
def test_parse_instant_accepts(value: Any, expected: float) -> None:
    assert parse_instant(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("tomorrow", "not UNIX seconds nor an ISO 8601"),
        ("2024-06-01T03:00:00", "no offset"),
        ("2024-06-01", "no offset"),
        ("nan", "not a finite"),
        ("inf", "not a finite"),
        (math.nan, "not a finite"),
        (-math.inf, "not a finite"),
        (True, "got bool"),
        (None, "got NoneType"),
        ([1], "got list"),
        (datetime(2024, 6, 1, 3), "no time zone"),
    ],
)
def test_parse_instant_rejects_with_the_value_named(value: Any, fragment: str) -> None:
    with pytest.raises(ValueError, match="invalid instant") as info:
        parse_instant(value)
    assert repr(value) in str(info.value)
    assert fragment in str(info.value)


def test_format_instant_writes_z_and_microseconds() -> None:
    assert format_instant(START) == START_ISO
    assert format_instant(START + 0.25) == "2024-06-01T03:00:00.250000Z"
    assert parse_instant(format_instant(START + 0.25)) == START + 0.25


@pytest.mark.parametrize("value", [math.nan, math.inf, True, "1", 1e20])
def test_format_instant_rejects(value: Any) -> None:
    with pytest.raises(ValueError, match="instant"):
        format_instant(value)


@given(st.floats(min_value=-2e9, max_value=4e9))
def test_format_then_parse_is_idempotent_after_one_round(seconds: float) -> None:
    once = parse_instant(format_instant(seconds))
    assert abs(once - seconds) <= 5e-7 + 2 * math.ulp(seconds)
    assert parse_instant(format_instant(once)) == once


# ---------------------------------------------------------------------------- construction


def test_real_clock_reads_the_wall(fake: FakeTime) -> None:
    clock = Clock.real(**fake.kwargs())
    assert not clock.is_simulated
    assert clock.speed == 1.0
    assert clock.start is None and clock.anchor is None
    assert clock.now() == fake.wall_now
    fake.advance(12.5)
    assert clock.now() == fake.wall_now
    assert clock.wall_time_of(123.0) == 123.0
    assert clock.obs_time_of(123.0) == 123.0
    assert clock.wall_delay(7.0) == 7.0 and clock.obs_delay(7.0) == 7.0
    assert clock.to_config() == {"mode": "real", "speed": 1.0}
    assert repr(clock) == "Clock.real()"


def test_default_constructor_is_real() -> None:
    assert not Clock().is_simulated


@pytest.mark.parametrize("speed", [0, 0.0, -1.0, math.nan, math.inf, -math.inf])
def test_speed_must_be_positive_and_finite(speed: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        Clock.simulated(START, speed, ANCHOR)


@pytest.mark.parametrize("speed", [True, "10", None])
def test_speed_must_be_a_number(speed: Any) -> None:
    with pytest.raises(ValueError, match="speed"):
        Clock(START, speed, ANCHOR)


def test_real_clock_refuses_a_speed() -> None:
    with pytest.raises(ValueError, match=r"speed must be 1\.0 for a real clock"):
        Clock(None, 2.0)


def test_real_clock_refuses_an_anchor() -> None:
    with pytest.raises(ValueError, match="anchor"):
        Clock(None, 1.0, ANCHOR)


def test_simulated_needs_a_start() -> None:
    with pytest.raises(ValueError, match="start"):
        Clock.simulated(None, 10.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["yesterday", "2024-06-01T03:00:00", math.nan])
def test_bad_start_or_anchor_is_named(bad: Any) -> None:
    with pytest.raises(ValueError, match="invalid instant"):
        Clock.simulated(bad, 10.0, ANCHOR)
    with pytest.raises(ValueError, match="invalid instant"):
        Clock.simulated(START, 10.0, bad)


def test_anchor_defaults_to_wall_now(fake: FakeTime) -> None:
    clock = Clock.simulated(START_ISO, 10.0, **fake.kwargs())
    assert clock.anchor == fake.wall_now
    assert clock.now() == START


def test_start_and_anchor_accept_iso_datetime_and_float(fake: FakeTime) -> None:
    anchor_iso = format_instant(ANCHOR)
    by_text = Clock.simulated(START_ISO, 10.0, anchor_iso, **fake.kwargs())
    by_float = Clock.simulated(START, 10.0, ANCHOR, **fake.kwargs())
    by_datetime = Clock.simulated(
        datetime.fromtimestamp(START, timezone.utc), 10.0, datetime.fromtimestamp(ANCHOR, timezone.utc), **fake.kwargs()
    )
    assert by_text.start == by_float.start == by_datetime.start == START
    assert by_text.anchor == by_float.anchor == by_datetime.anchor == ANCHOR


def test_start_is_kept_at_microsecond_resolution() -> None:
    clock = Clock.simulated(START + 1e-7, 1.0, ANCHOR)
    assert clock.start == START


# ---------------------------------------------------------------------------- reading simulated time


def test_simulated_time_is_linear_in_wall_time(fake: FakeTime, sim: Clock) -> None:
    assert sim.is_simulated
    assert sim.now() == START
    fake.advance(36.0)
    assert sim.now() == START + 3600.0
    fake.advance(-72.0)  # the linear map holds before the anchor too
    assert sim.now() == START - 3600.0


def test_now_datetime_and_isoformat(fake: FakeTime) -> None:
    sim = Clock.simulated(START_ISO, 4.0, ANCHOR, **fake.kwargs())
    fake.advance(0.0625)  # exact in binary: 0.25 observatory seconds
    moment = sim.now_datetime()
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
    assert moment == datetime(2024, 6, 1, 3, 0, 0, 250000, tzinfo=timezone.utc)
    assert sim.isoformat() == "2024-06-01T03:00:00.250000Z"
    assert parse_instant(sim.isoformat()) == sim.now()


def test_repr_of_simulated_clock(sim: Clock) -> None:
    assert repr(sim) == f"Clock.simulated(start={START_ISO!r}, speed=100.0, anchor={ANCHOR!r})"


# ---------------------------------------------------------------------------- conversions

speeds = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False, allow_infinity=False)
durations = st.floats(min_value=-1e7, max_value=1e7, allow_nan=False, allow_infinity=False)


@given(speed=speeds, obs=durations)
def test_duration_conversions_are_inverse_linear_maps(speed: float, obs: float) -> None:
    clock = Clock.simulated(START, speed, ANCHOR, wall=lambda: ANCHOR)
    assert clock.wall_delay(obs) * speed == pytest.approx(obs, rel=1e-12, abs=1e-12)
    assert clock.obs_delay(clock.wall_delay(obs)) == pytest.approx(obs, rel=1e-12, abs=1e-12)
    assert clock.wall_delay(2 * obs) == pytest.approx(2 * clock.wall_delay(obs), rel=1e-12, abs=1e-12)


@given(speed=speeds, offset=st.floats(min_value=-1e6, max_value=1e6))
def test_wall_time_of_now_is_the_wall(speed: float, offset: float) -> None:
    wall_now = ANCHOR + offset
    clock = Clock.simulated(START, speed, ANCHOR, wall=lambda: wall_now)
    obs_now = clock.now()
    # Float instants near 2e9 carry ~2.4e-7 s of rounding; a clock running at
    # `speed` scales an observatory rounding error by 1/speed in wall time and
    # a wall rounding error by speed in observatory time.
    wall_tolerance = 4 * (math.ulp(obs_now) / speed + math.ulp(wall_now))
    assert clock.wall_time_of(obs_now) == pytest.approx(wall_now, abs=wall_tolerance)
    target = START + 1234.5
    obs_tolerance = 4 * (math.ulp(target) + speed * math.ulp(clock.wall_time_of(target)))
    assert clock.obs_time_of(clock.wall_time_of(target)) == pytest.approx(target, abs=obs_tolerance)


def test_exact_conversions_for_round_speeds(fake: FakeTime, sim: Clock) -> None:
    assert sim.wall_delay(100.0) == 1.0
    assert sim.obs_delay(1.0) == 100.0
    assert sim.wall_time_of(START + 3600.0) == ANCHOR + 36.0
    assert sim.wall_time_of(sim.now()) == fake.wall()


def test_monotonic_deadline(fake: FakeTime, sim: Clock) -> None:
    assert sim.monotonic_deadline(START + 1000.0) == fake.mono_now + 10.0
    fake.advance(4.0)
    assert sim.monotonic_deadline(START + 1000.0) == fake.mono_now + 6.0
    assert sim.monotonic_deadline(START) == fake.mono_now - 4.0  # already past


def test_wall_datetime_of(sim: Clock) -> None:
    obs = datetime(2024, 6, 1, 4, 0, tzinfo=timezone.utc)  # one hour later = 36 wall seconds
    wall = sim.wall_datetime_of(obs)
    assert wall == datetime.fromtimestamp(ANCHOR + 36.0, timezone.utc)
    assert wall.tzinfo is not None
    other_zone = obs.astimezone(timezone(timedelta(hours=-7)))
    assert sim.wall_datetime_of(other_zone) == wall


def test_wall_datetime_of_rejects_naive_and_non_datetimes(sim: Clock) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        sim.wall_datetime_of(datetime(2024, 6, 1, 4))
    with pytest.raises(ValueError, match="expected an aware datetime"):
        sim.wall_datetime_of(START)  # type: ignore[arg-type]


def test_a_night_gives_the_same_instants_at_10x_and_100x() -> None:
    def night(speed: float) -> tuple[list[float], float]:
        fake = FakeTime()
        clock = Clock.simulated(START_ISO, speed, ANCHOR, **fake.kwargs())
        seen = []
        end = START + 8 * 3600.0
        while clock.now() < end - 1.0:
            seen.append(clock.now())
            clock.sleep(300.0)
        clock.sleep_until(end + 60.0)
        return seen, clock.now()

    seen10, last10 = night(10.0)
    seen100, last100 = night(100.0)
    # Same decisions, same instants, up to float rounding of the wall clock
    # (~2.4e-7 s near 2e9) magnified by the speed.
    assert len(seen10) == len(seen100) == 96
    assert seen10 == pytest.approx(seen100, abs=1e-4)
    assert last10 == pytest.approx(last100, abs=1e-4)
    assert last100 == pytest.approx(START + 8 * 3600.0 + 60.0, abs=1e-4)


# ---------------------------------------------------------------------------- configuration round trip


def test_two_clocks_from_the_same_config_agree(fake: FakeTime) -> None:
    original = Clock.simulated(START + 0.123456789, 37.5, ANCHOR + 0.1, **fake.kwargs())
    values = original.to_config()
    assert values == {
        "mode": "simulated",
        "start": "2024-06-01T03:00:00.123457Z",
        "speed": 37.5,
        "anchor": ANCHOR + 0.1,
    }
    first = Clock.from_config(values, **fake.kwargs())
    second = Clock.from_config(dict(values), **fake.kwargs())
    for step in (0.0, 1.0, 1234.5678, -3.0):
        fake.advance(step)
        assert first.now() == second.now() == original.now()


@given(
    start=st.floats(min_value=0, max_value=4e9),
    speed=speeds,
    anchor=st.floats(min_value=1e9, max_value=3e9),
    later=st.floats(min_value=0, max_value=1e6),
)
@settings(max_examples=300)
def test_to_config_reproduces_the_clock_exactly(start: float, speed: float, anchor: float, later: float) -> None:
    wall_now = anchor + later
    original = Clock.simulated(start, speed, anchor, wall=lambda: wall_now)
    rebuilt = Clock.from_config(original.to_config(), wall=lambda: wall_now)
    assert rebuilt.now() == original.now()
    assert rebuilt.to_config() == original.to_config()


def test_from_config_accepts_the_config_section(fake: FakeTime) -> None:
    section = ClockConfig(mode="simulated", start=START_ISO, speed=10.0, anchor=format_instant(ANCHOR))
    clock = Clock.from_config(section, **fake.kwargs())
    assert clock.now() == START and clock.speed == 10.0
    assert not Clock.from_config(ClockConfig()).is_simulated
    assert not Clock.from_config({}).is_simulated


def test_from_config_without_anchor_anchors_now(fake: FakeTime) -> None:
    clock = Clock.from_config({"mode": "simulated", "start": START_ISO, "speed": 5.0}, **fake.kwargs())
    assert clock.anchor == fake.wall_now


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"mode": "fast"}, "clock mode must be 'real' or 'simulated', got 'fast'"),
        ({"mode": "simulated"}, "needs a start"),
        ({"mode": "real", "start": START_ISO}, "given in real mode"),
        ({"mode": "real", "speed": 2.0}, "speed must be 1.0"),
        ({"mode": "real", "anchor": ANCHOR}, "anchor"),
        ({"mode": "simulated", "start": START_ISO, "speed": 0.0}, "speed"),
        ({"mode": "simulated", "start": "soon", "speed": 2.0}, "'soon'"),
        ({"mode": "real", "sped": 1.0}, "unknown clock setting(s): sped"),
    ],
)
def test_from_config_errors(values: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        Clock.from_config(values)


# ---------------------------------------------------------------------------- sleeping and waiting


def test_sleep_sleeps_the_wall_equivalent(fake: FakeTime, sim: Clock) -> None:
    sim.sleep(250.0)
    assert fake.sleeps == [2.5]
    assert sim.now() == START + 250.0
    sim.sleep(0)
    assert fake.sleeps == [2.5]


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, True, "1"])
def test_sleep_rejects_bad_durations(sim: Clock, bad: Any) -> None:
    with pytest.raises(ValueError, match="obs_seconds"):
        sim.sleep(bad)


def test_sleep_until(fake: FakeTime, sim: Clock) -> None:
    sim.sleep_until(START + 500.0)
    assert fake.sleeps == [5.0]
    assert sim.now() == START + 500.0
    sim.sleep_until(START)  # in the past: no sleep
    assert fake.sleeps == [5.0]
    with pytest.raises(ValueError, match="obs_instant"):
        sim.sleep_until(math.nan)


def test_wait_converts_the_timeout(sim: Clock) -> None:
    event = RecordingEvent(result=False)
    assert sim.wait(event, 300.0) is False  # type: ignore[arg-type]
    assert sim.wait(event, None) is False  # type: ignore[arg-type]
    assert event.timeouts == [3.0, None]
    with pytest.raises(ValueError, match="obs_seconds"):
        sim.wait(event, -1.0)  # type: ignore[arg-type]


def test_wait_returns_true_for_a_set_event(sim: Clock) -> None:
    event = threading.Event()
    event.set()
    assert sim.wait(event, 1e9) is True
    assert sim.wait(event, None) is True


def test_wait_until(fake: FakeTime, sim: Clock) -> None:
    event = RecordingEvent(result=True)
    assert sim.wait_until(event, START + 700.0) is True  # type: ignore[arg-type]
    assert sim.wait_until(event, START - 700.0) is True  # type: ignore[arg-type]
    assert event.timeouts == [7.0, 0.0]
    with pytest.raises(ValueError, match="obs_instant"):
        sim.wait_until(event, math.inf)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- timers


def test_call_later_fires_with_arguments(fake: FakeTime) -> None:
    clock = Clock.simulated(START, 1000.0, ANCHOR, **fake.kwargs())
    fired = threading.Event()
    received: list[Any] = []

    def callback(*args: Any, **kwargs: Any) -> None:
        received.append((args, kwargs))
        fired.set()

    timer = clock.call_later(5.0, callback, 1, 2, key="value")
    assert timer.daemon
    assert timer.interval == 0.005
    assert fired.wait(10.0)
    timer.join(10.0)
    assert received == [((1, 2), {"key": "value"})]


def test_call_later_can_be_cancelled(sim: Clock) -> None:
    fired = threading.Event()
    timer = sim.call_later(3600.0 * 1000, fired.set)
    assert timer.interval == 36000.0
    timer.cancel()
    timer.join(10.0)
    assert not timer.is_alive()
    assert not fired.is_set()


def test_call_later_rejects_negative_delays(sim: Clock) -> None:
    with pytest.raises(ValueError, match="obs_seconds"):
        sim.call_later(-1.0, print)


def test_call_at(fake: FakeTime, sim: Clock) -> None:
    timer = sim.call_at(START + 3600.0, print)
    assert timer.interval == 36.0 and timer.daemon
    timer.cancel()
    timer.join(10.0)

    fired = threading.Event()
    past = sim.call_at(START - 10.0, fired.set)  # already passed: runs at once
    assert past.interval == 0.0
    assert fired.wait(10.0)
    past.join(10.0)
    with pytest.raises(ValueError, match="obs_instant"):
        sim.call_at(math.nan, print)


# ---------------------------------------------------------------------------- process-wide clock


def test_process_clock_defaults_to_real() -> None:
    assert not clock_module.Clock.real().is_simulated
    assert isinstance(get_clock(), Clock)


def test_set_clock_installs_and_returns_the_previous(sim: Clock) -> None:
    before = get_clock()
    assert set_clock(sim) is before
    assert get_clock() is sim
    assert set_clock(before) is sim


def test_set_clock_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match="expects a Clock, got str"):
        set_clock("real")  # type: ignore[arg-type]


def test_next_multiple_is_strictly_after_and_on_the_grid() -> None:
    assert next_multiple(1_782_000_003.2, 5.0) == 1_782_000_005.0
    assert next_multiple(1_782_000_005.0, 5.0) == 1_782_000_010.0  # on the grid: the next one
    assert next_multiple(-7.0, 5.0) == -5.0
    for bad_period in (0.0, -1.0, math.nan, math.inf, True):
        with pytest.raises(ValueError, match="period must be a positive number"):
            next_multiple(10.0, bad_period)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="instant must be finite"):
        next_multiple(math.inf, 1.0)


@given(st.floats(min_value=-1e10, max_value=1e10), st.floats(min_value=1e-3, max_value=3600.0))
def test_next_multiple_is_within_one_period(instant: float, period: float) -> None:
    following = next_multiple(instant, period)
    assert instant < following <= instant + period * (1 + 1e-9) + 1e-6
