"""Whole nights of the observatory on simulators: every service a real process under `pyros start`.

Each test runs one night (or its decisive part) on a simulated clock at 240x: the monitor judges
the PLC simulator's weather, the majordome opens, hands the scheduler's plan to the observer,
closes and reopens; a recorder timestamps every change of the shutter, the safety verdict, the
majordome's state and the observer's sessions in observatory time, and the audit log gives the
commands the majordome sent. Asserted, as issue 6 asks:

* the shutter is never not-closed while the site is unsafe for longer than it takes to close
  (the shutter's travel, one tick of the majordome, the dome's report, and the processes'
  latency at this speed), and it never starts opening while unsafe;
* the dome is never commanded to close while it is closed;
* observing resumes after the hold time;
* dawn closes and parks (the full night);
* every sequence of the night's plan that was not executed has a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from pyros.clock import format_instant
from pyros.testing import wait_until
from tests.e2e.observatory import (
    DOME_POLL_S,
    MONITOR_PERIOD_S,
    SHUTTER_TIME_S,
    TICK_S,
    NightSettings,
    Observatory,
    clear_since,
    describe,
    executions_started_after,
    night_of,
    rain,
    recommanded_closes,
    unexplained_sequences,
    unsafe_episodes,
    unsafe_exposures,
    wind,
    write_scenario,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(240)]

SPEED = 240.0
HOLD_S = 600.0
LATENCY_WALL_S = 0.15
"""Wall seconds allowed for the chain PLC -> monitor -> K/V -> majordome -> dome -> K/V on a loaded machine."""
CLOSE_BUDGET_S = SHUTTER_TIME_S + TICK_S + DOME_POLL_S + MONITOR_PERIOD_S + SPEED * LATENCY_WALL_S
"""Observatory seconds the shutter may stay not-closed once the site is unsafe."""
SHORTEST_NIGHT = night_of(1782000000.0)  # 2026-06-21 at San Pedro Martir: 03:50 to 11:36 UTC
BEFORE_DUSK_S = 3600.0
"""The clock starts this long before the night: the services start, the monitor's first hold passes."""

Start = Callable[..., AbstractContextManager[Observatory]]


def settings(scenario: Path | None = None, start: float = SHORTEST_NIGHT[0] - BEFORE_DUSK_S) -> NightSettings:
    return NightSettings(clock_start=start, speed=SPEED, hold_s=HOLD_S, plc_scenario=scenario)


def check_safety_kept(site: Observatory, until: float) -> None:
    """No exposure beyond the closing budget, never opened while unsafe, never re-commanded while closed."""
    exposures = unsafe_exposures(site.recorder, until)
    worst = max((e.seconds for e in exposures), default=0.0)
    print(f"\nunsafe with the shutter not closed: {[round(e.seconds, 1) for e in exposures]} s "
          f"(budget {CLOSE_BUDGET_S:g} s, worst {worst:.1f} s)")
    assert not [e for e in exposures if e.opened_while_unsafe], describe(site)
    assert worst <= CLOSE_BUDGET_S, describe(site)
    assert recommanded_closes(site, slack_s=TICK_S + SPEED * LATENCY_WALL_S) == [], describe(site)


def check_reopened_after_hold(site: Observatory, episode: tuple[float, float | None]) -> None:
    """Safe again only a hold after the last reason went, and a sequence handed over after that."""
    began, safe_again = episode
    assert safe_again is not None, describe(site)
    cleared = clear_since(site.recorder, safe_again)
    assert cleared is not None and safe_again - cleared >= HOLD_S - MONITOR_PERIOD_S, describe(site)
    resumed = executions_started_after(site.recorder, safe_again)
    assert resumed, f"no sequence executed after {format_instant(safe_again)}\n{describe(site)}"
    print(f"unsafe {format_instant(began)[11:19]}, clear {format_instant(cleared)[11:19]}, safe "
          f"{format_instant(safe_again)[11:19]}, observing again "
          f"{format_instant(min(float(s['start_time']) for s in resumed))[11:19]}")


def wait_for_resumed_observing(site: Observatory, what: str, timeout_s: float = 120.0) -> float:
    """Wait until the site was unsafe, became safe again and a sequence started after that; return that instant."""
    def resumed() -> bool:
        episodes = unsafe_episodes(site.recorder)
        return bool(episodes) and episodes[-1][1] is not None and bool(
            executions_started_after(site.recorder, episodes[-1][1]))

    try:
        wait_until(resumed, timeout=timeout_s, interval=0.1, what=what)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{describe(site)}") from None
    return site.now()


def test_a_night_with_a_rain_episode(observatory: Start, tmp_path: Path) -> None:
    """Open at dusk, observe, close on rain, reopen after the hold, observe, close and park at dawn."""
    night_start, night_end = SHORTEST_NIGHT
    # Rain about two hours into the night (scenario times count from the PLC's start), for 40 minutes.
    scenario = write_scenario(tmp_path / "rain.json", 40000.0,
                              [(BEFORE_DUSK_S + 7200.0, rain(12.0)), (BEFORE_DUSK_S + 9600.0, rain(None))])
    with observatory(settings(scenario)) as site:
        site.wait_for_time(night_end - 600.0 + 300.0, "dawn closing time passed")
        wait_until(lambda: site.state() == "day", timeout=30, what="the majordome back to day after dawn")
        end = site.now()
        check_safety_kept(site, end)
        episodes = unsafe_episodes(site.recorder)
        assert len(episodes) == 1, describe(site)
        check_reopened_after_hold(site, episodes[0])
        states = [c.value for c in site.recorder.history("/majordome/state")]
        for expected in ("night_observing", "unsafe_closing", "closed_unsafe", "dawn", "day"):
            assert expected in states, states
        dawn = next(c.at for c in site.recorder.history("/majordome/state") if c.value == "dawn")
        assert dawn >= night_end - 600.0 - TICK_S - SPEED * LATENCY_WALL_S
        shutter = site.recorder.history("/device/dome/shutter")
        parked = site.recorder.history("/device/telescope/parked")
        closed_at = next(c.at for c in shutter if c.at >= dawn and c.value == "closed")
        parked_at = next(c.at for c in parked if c.at >= dawn and c.value is True)
        assert closed_at - dawn <= CLOSE_BUDGET_S and closed_at < night_end, describe(site)
        assert site.recorder.current("/device/dome/shutter") == "closed"
        assert site.recorder.current("/device/telescope/parked") is True
        print(f"dawn {format_instant(dawn)[11:19]}: closed after {closed_at - dawn:.0f} s, parked after "
              f"{parked_at - dawn:.0f} s")
        assert unexplained_sequences(site, end) == [], describe(site)
        executed = [s for s in site.recorder.finished_sessions() if (s.get("data") or {}).get("outcome") == "executed"]
        print(f"{len(executed)} sequences executed; sessions: "
              f"{[(s['data'].get('sequence_id'), s['data'].get('outcome'), s['data'].get('reason')) for s in site.recorder.finished_sessions()]}")
        assert len(executed) >= 3


def test_a_weather_sensor_going_silent(observatory: Start, tmp_path: Path) -> None:
    """The PLC stops answering for 20 minutes: its readings go stale, the site is unsafe (plc_silent), the
    dome closes; once it answers again the site is safe after the hold and observing resumes."""
    scenario = write_scenario(tmp_path / "silence.json", 40000.0,
                              [(BEFORE_DUSK_S + 5400.0, {"fault": "silence", "seconds": 1200.0})])
    with observatory(settings(scenario)) as site:
        wait_until(lambda: bool(unsafe_episodes(site.recorder)), timeout=90, interval=0.1, what="the PLC silent")
        began = unsafe_episodes(site.recorder)[0][0]
        site.wait_for_time(began + 90.0, "the readings stale")
        conditions = site.client.call("monitor", "conditions")
        assert conditions["plc_error"] is not None
        assert conditions["quantities"]["rain_rate"]["meaning"] == "stale", conditions["quantities"]["rain_rate"]
        assert conditions["quantities"]["rain_rate"]["decision"] == "unsafe"
        end = wait_for_resumed_observing(site, "observing resumed after the PLC answered again")
        culprits = {c.value[1] for c in site.recorder.history("/env/safety")
                    if isinstance(c.value, tuple) and not c.value[0] and c.at >= began}
        assert culprits == {"plc_silent"}, culprits
        check_safety_kept(site, end)
        episodes = unsafe_episodes(site.recorder)
        assert len(episodes) == 1, describe(site)
        check_reopened_after_hold(site, episodes[0])
        assert unexplained_sequences(site, end) == [], describe(site)


def test_weather_flapping_at_the_wind_limit(observatory: Start, tmp_path: Path) -> None:
    """The wind crosses its 14 m/s limit every 200 s for 40 minutes: the dome closes once, stays closed
    (each gust restarts the hold), and reopens once a whole hold has passed without a gust."""
    flapping_from = BEFORE_DUSK_S + 3600.0
    events = [(flapping_from + 200.0 * k, wind(15.0 if k % 2 == 0 else 13.0)) for k in range(12)]
    scenario = write_scenario(tmp_path / "flapping.json", 40000.0, [*events, (flapping_from + 2400.0, wind(None))])
    with observatory(settings(scenario)) as site:
        end = wait_for_resumed_observing(site, "observing resumed after the flapping")
        episodes = unsafe_episodes(site.recorder)
        assert len(episodes) == 1, describe(site)
        began, safe_again = episodes[0]
        assert {c.value[1] for c in site.recorder.history("/env/safety")
                if isinstance(c.value, tuple) and not c.value[0] and c.at >= began} == {"wind_speed"}
        # The gusts came back five times within the hold: the hold restarted each time.
        assert safe_again is not None and safe_again - began >= 2000.0 + HOLD_S - 2 * MONITOR_PERIOD_S, \
            describe(site)
        shutter = site.recorder.history("/device/dome/shutter")
        closings = [c.at for c in shutter if c.value == "closing"]
        openings = [c.at for c in shutter if c.value == "opening"]
        assert len([t for t in closings if began <= t <= safe_again]) == 1, describe(site)
        assert not [t for t in openings if began <= t < safe_again], describe(site)
        assert all(b - a >= HOLD_S for a, b in zip(closings, closings[1:])), closings
        assert len([t for t in site.commands("dome", "close") if t >= began]) == 1
        check_safety_kept(site, end)
        check_reopened_after_hold(site, episodes[0])
        assert unexplained_sequences(site, end) == [], describe(site)


def test_a_device_fault_mid_sequence(observatory: Start) -> None:
    """The near-infrared camera disconnects while a sequence exposes: the sequence fails naming it, the
    majordome raises its alarm and makes the observatory safe; once the camera is back and an operator
    acknowledges, the dome reopens and observing resumes."""
    with observatory(settings()) as site:
        def exposing_with_cam_nir() -> bool:
            return any(s.get("status") == "running" and (s.get("data") or {}).get("phase") == "exposing"
                       and any(a.get("camera") == "cam_nir" for a in ((s.get("data") or {}).get("albums") or {})
                               .values())
                       for s in site.recorder.all_sessions())

        wait_until(exposing_with_cam_nir, timeout=90, interval=0.05, what="a sequence exposing on cam_nir")
        fault_at = site.now()
        site.client.call("cam_nir", "inject_fault", {"fault": {"fault": "disconnect"}})
        wait_until(lambda: site.state() == "closed_unsafe", timeout=30, interval=0.05, what="closed on the fault")
        failed = [s for s in site.recorder.finished_sessions() if float(s.get("end_time") or 0.0) >= fault_at]
        assert failed and failed[0]["data"]["outcome"] == "failed", failed
        data = failed[0]["data"]
        assert (data["reason"], data["device"], data["sequence_status"]) == ("device_unavailable", "cam_nir",
                                                                             "failed"), data
        alarms = [details for at, details in site.audit("majordome.alarm") if at >= fault_at]
        assert [a["device"] for a in alarms] == ["cam_nir"], alarms
        assert "device_unavailable" in alarms[0]["reason"]
        states = site.recorder.history("/majordome/state")
        closing = next(c.at for c in states if c.at >= fault_at and c.value == "unsafe_closing")
        closed = next(c.at for c in site.recorder.history("/device/dome/shutter")
                      if c.at >= closing and c.value == "closed")
        print(f"\nfault {format_instant(fault_at)[11:19]}, closing {closing - fault_at:.0f} s later, closed after "
              f"{closed - closing:.0f} s")
        assert closed - closing <= CLOSE_BUDGET_S, describe(site)
        # No sequence is handed over while the alarm stands.
        site.wait_for_time(closed + 1200.0, "twenty minutes closed")
        assert not executions_started_after(site.recorder, closing), describe(site)
        assert site.state() == "closed_unsafe"

        site.client.call("cam_nir", "inject_fault", {"fault": {"fault": "clear"}})
        acknowledged = site.now()
        site.client.call("majordome", "acknowledge", {"device": "cam_nir"})
        wait_until(lambda: bool(executions_started_after(site.recorder, acknowledged)), timeout=60, interval=0.1,
                   what="observing resumed after the acknowledgement")
        end = site.now()
        check_safety_kept(site, end)
        assert recommanded_closes(site, slack_s=TICK_S + SPEED * LATENCY_WALL_S) == []
        assert unexplained_sequences(site, end) == [], describe(site)


def test_a_start_up_in_bad_weather(observatory: Start, tmp_path: Path) -> None:
    """It rains from before the start until an hour into the night: the dome never opens; it opens only a
    hold after the rain stopped, and observing starts."""
    scenario = write_scenario(tmp_path / "rain.json", 40000.0, [(0.0, rain(8.0)),
                                                                 (BEFORE_DUSK_S + 3600.0, rain(None))])
    with observatory(settings(scenario)) as site:
        night_start = SHORTEST_NIGHT[0]
        site.wait_for_time(night_start + 600.0, "the night started")
        assert site.state() == "closed_unsafe"
        assert site.recorder.current("/device/dome/shutter") == "closed"
        safety = site.recorder.history("/env/safety")

        def first_safe_verdict() -> float | None:
            return next((c.at for c in site.recorder.history("/env/safety")
                         if isinstance(c.value, tuple) and c.value[0]), None)

        wait_until(lambda: first_safe_verdict() is not None
                   and bool(executions_started_after(site.recorder, first_safe_verdict() or 0.0)),
                   timeout=90, interval=0.1, what="observing after the rain")
        end = site.now()
        safety = site.recorder.history("/env/safety")
        first_safe = first_safe_verdict()
        assert first_safe is not None
        assert {c.value[1] for c in safety if c.at < first_safe and isinstance(c.value, tuple)} <= {
            "no_data", "rain_rate"}
        shutter = site.recorder.history("/device/dome/shutter")
        assert all(c.value == "closed" for c in shutter if c.at < first_safe), describe(site)
        # The majordome may hear the verdict a few milliseconds before the recorder does.
        opened = site.commands("dome", "open")
        assert opened and min(opened) >= first_safe - SPEED * LATENCY_WALL_S, (opened, first_safe, describe(site))
        print(f"\nfirst safe verdict {format_instant(first_safe)[11:19]}, dome opened "
              f"{min(opened) - first_safe:+.1f} s after it")
        cleared = clear_since(site.recorder, first_safe)
        assert cleared is not None and first_safe - cleared >= HOLD_S - MONITOR_PERIOD_S
        assert first_safe > night_start + 3600.0 - BEFORE_DUSK_S  # the rain lasted into the night
        check_safety_kept(site, end)
        assert unexplained_sequences(site, end) == [], describe(site)
