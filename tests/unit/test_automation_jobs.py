"""Job declarations of the core: validation and next fire instants in observatory time."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pyros.automation.actions import BuiltinAction, ServiceCall, parse_action
from pyros.automation.jobs import CronTiming, IntervalTiming, NightTiming, parse_jobs
from pyros.automation.nights import next_night_event

CALL = {"service": "echo", "command": "echo", "args": {"text": "hi"}}


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def fake_nights(polar_days: frozenset[int] = frozenset()):
    """Nights from 20:00 to 04:00 UTC every day, none on the given day numbers (days since the epoch)."""
    calls: list[float] = []

    def find(instant: float) -> tuple[float, float] | None:
        calls.append(instant)
        day = int((instant - 4 * 3600) // 86400)  # the night of day d runs d 20:00 .. d+1 04:00
        if day in polar_days:
            return None
        start = day * 86400 + 20 * 3600
        return start, start + 8 * 3600

    find.calls = calls  # type: ignore[attr-defined]
    return find


# ---------------------------------------------------------------- parsing

def test_a_full_job_list_parses() -> None:
    jobs = parse_jobs([
        {"name": "thin", "trigger": "cron", "cron": {"hour": 12, "minute": 30},
         "action": {"builtin": "downsample_history", "args": {"older_than_days": 7, "bucket_minutes": 10}}},
        {"name": "poll", "trigger": "interval", "every_s": 600, "action": CALL},
        {"name": "replan", "trigger": "night_start", "offset_s": -300,
         "action": {"service": "scheduler", "command": "replan", "args": {"reason": "night_start"}}},
        {"name": "bye", "trigger": "night_end", "action": CALL, "enabled": False},
    ])
    assert [job.name for job in jobs] == ["thin", "poll", "replan", "bye"]
    assert jobs[0].timing == CronTiming({"hour": 12, "minute": 30})
    assert jobs[0].action == BuiltinAction("downsample_history", {"older_than_days": 7, "bucket_minutes": 10})
    assert jobs[1].timing == IntervalTiming(600.0)
    assert jobs[2].timing == NightTiming("night_start", -300.0)
    assert jobs[2].action == ServiceCall("scheduler", "replan", {"reason": "night_start"})
    assert jobs[3].timing == NightTiming("night_end", 0.0) and not jobs[3].enabled
    assert jobs[2].needs_nights and not jobs[1].needs_nights
    assert parse_jobs(None) == []


@pytest.mark.parametrize(("table", "message"), [
    ({"trigger": "cron", "cron": {"hour": 1}, "action": CALL}, r"jobs\[0\]\.name must be non-empty"),
    ({"name": "j", "cron": {"hour": 1}, "action": CALL}, r"job 'j' \(jobs\[0\]\)\.trigger is missing"),
    ({"name": "j", "trigger": "weekly", "action": CALL}, r"job 'j' .*trigger must be one of"),
    ({"name": "j", "trigger": "cron", "action": CALL}, r"job 'j' .*\.cron must be a table"),
    ({"name": "j", "trigger": "cron", "cron": {"hour": 25}, "action": CALL}, r"job 'j' .*\.cron: .*25"),
    ({"name": "j", "trigger": "cron", "cron": {"hours": 2}, "action": CALL}, r"\.cron\.hours: unknown cron field"),
    ({"name": "j", "trigger": "cron", "cron": {"hour": 2}, "every_s": 3, "action": CALL},
     r"every_s does not apply to trigger 'cron'"),
    ({"name": "j", "trigger": "interval", "action": CALL}, r"\.every_s is missing"),
    ({"name": "j", "trigger": "interval", "every_s": 0, "action": CALL}, r"\.every_s must be > 0"),
    ({"name": "j", "trigger": "interval", "every_s": True, "action": CALL}, r"\.every_s must be a finite number"),
    ({"name": "j", "trigger": "night_start", "offset_s": 90000, "action": CALL}, r"\.offset_s must be within"),
    ({"name": "j", "trigger": "night_end"}, r"job 'j' .*\.action is missing"),
    ({"name": "j", "trigger": "night_end", "action": {"service": "echo"}}, r"\.action\.command must be a name"),
    ({"name": "j", "trigger": "night_end", "action": {**CALL, "code": "import os"}},
     r"\.action: unknown field\(s\) code"),
    ({"name": "j", "trigger": "night_end", "action": {"builtin": "rm_rf"}}, r"unknown built-in action 'rm_rf'"),
    ({"name": "j", "trigger": "night_end",
      "action": {"builtin": "downsample_history", "args": {"older_than_days": 7}}},
     r"\.action\.args\.bucket_minutes is missing"),
    ({"name": "j", "trigger": "night_end", "action": {**CALL, "args": {"when": datetime(2024, 1, 1)}}},
     r"\.action\.args\.when: datetime .* is not a literal"),
    ({"name": "j", "trigger": "night_end", "action": CALL, "enabled": "yes"}, r"\.enabled must be true or false"),
    ({"name": "j", "trigger": "night_end", "action": CALL, "script": "x"}, r"unknown field\(s\) script"),
])
def test_bad_jobs_are_refused_naming_the_job_and_the_field(table: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_jobs([table])


def test_duplicate_job_names_and_non_lists_are_refused() -> None:
    job = {"name": "j", "trigger": "interval", "every_s": 1, "action": CALL}
    with pytest.raises(ValueError, match=r"job 'j' \(jobs\[1\]\): the name is used"):
        parse_jobs([job, job])
    with pytest.raises(ValueError, match="jobs must be a list"):
        parse_jobs({"name": "j"})


def test_scenario_actions_may_not_be_builtins() -> None:
    with pytest.raises(ValueError, match="built-in actions are not allowed here"):
        parse_action("then[0]", {"builtin": "downsample_history"}, builtins=False)


# ---------------------------------------------------------------- fire instants

def test_cron_fires_at_the_next_matching_instant_strictly_after() -> None:
    job = parse_jobs([{"name": "c", "trigger": "cron", "cron": {"hour": 20}, "action": CALL}])[0]
    assert job.next_fire(ts("2024-06-01T12:00:00"), origin=0.0) == ts("2024-06-01T20:00:00")
    assert job.next_fire(ts("2024-06-01T20:00:00"), origin=0.0) == ts("2024-06-02T20:00:00")
    assert job.next_fire(ts("2024-06-01T19:59:59.9999996"), origin=0.0) == ts("2024-06-01T20:00:00")
    every5 = parse_jobs([{"name": "c", "trigger": "cron", "cron": {"minute": "*/5"}, "action": CALL}])[0]
    assert every5.next_fire(ts("2024-06-01T12:07:30"), origin=0.0) == ts("2024-06-01T12:10:00")


def test_interval_counts_from_the_origin_on_a_fixed_grid() -> None:
    job = parse_jobs([{"name": "i", "trigger": "interval", "every_s": 10, "action": CALL}])[0]
    origin = 1000.0
    assert job.next_fire(origin, origin=origin) == 1010.0
    assert job.next_fire(1010.0, origin=origin) == 1020.0
    assert job.next_fire(1033.0, origin=origin) == 1040.0  # late: the missed ones are not replayed
    assert job.next_fire(990.0, origin=origin) == 1010.0   # never before the first period


def test_night_events_with_offsets() -> None:
    nights = fake_nights()
    noon = ts("2024-06-01T12:00:00")
    assert next_night_event(nights, "night_start", 0.0, noon) == ts("2024-06-01T20:00:00")
    assert next_night_event(nights, "night_start", 600.0, noon) == ts("2024-06-01T20:10:00")
    assert next_night_event(nights, "night_start", -3600.0, noon) == ts("2024-06-01T19:00:00")
    assert next_night_event(nights, "night_end", -1800.0, noon) == ts("2024-06-02T03:30:00")
    # inside the night: the start has passed, so the next night's; the end is still ahead
    midnight = ts("2024-06-02T00:00:00")
    assert next_night_event(nights, "night_start", 0.0, midnight) == ts("2024-06-02T20:00:00")
    assert next_night_event(nights, "night_end", 0.0, midnight) == ts("2024-06-02T04:00:00")
    # a large positive offset hanging on a night that has already ended is still ahead
    assert next_night_event(nights, "night_start", 12 * 3600.0, ts("2024-06-02T07:00:00")) == ts("2024-06-02T08:00:00")
    # strictly after
    assert next_night_event(nights, "night_start", 0.0, ts("2024-06-01T20:00:00")) == ts("2024-06-02T20:00:00")


def test_days_without_night_are_skipped_and_the_search_is_bounded() -> None:
    day = int(ts("2024-06-01T00:00:00") // 86400)
    nights = fake_nights(frozenset({day, day + 1}))
    assert next_night_event(nights, "night_start", 0.0, ts("2024-06-01T12:00:00")) == ts("2024-06-03T20:00:00")
    never = fake_nights(frozenset(range(day - 1, day + 1000)))
    assert next_night_event(never, "night_end", 0.0, ts("2024-06-01T12:00:00")) is None
    with pytest.raises(ValueError, match="night edge"):
        next_night_event(nights, "dusk", 0.0, 0.0)  # type: ignore[arg-type]


def test_night_jobs_need_a_night_finder() -> None:
    job = parse_jobs([{"name": "n", "trigger": "night_end", "action": CALL}])[0]
    with pytest.raises(ValueError, match="needs the site's nights"):
        job.next_fire(0.0, origin=0.0)


def test_the_site_night_finder_agrees_with_the_sky() -> None:
    import pyros.astro  # noqa: F401  (offline policy before astropy works)
    from pyros.astro import Sky
    from pyros.automation.nights import sky_night_finder
    from pyros.config import Config

    sky = Sky.from_config(Config())
    noon = ts("2026-10-15T19:00:00")  # afternoon at the default site (UTC-7.7 h)
    night = sky.night(noon)
    finder = sky_night_finder(sky)
    assert next_night_event(finder, "night_start", 900.0, noon) == pytest.approx(night.start.unix + 900.0, abs=1e-6)
    assert next_night_event(finder, "night_end", -900.0, noon) == pytest.approx(night.end.unix - 900.0, abs=1e-6)
