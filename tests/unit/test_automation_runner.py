"""The job runner: observatory fire instants armed as APScheduler date triggers at the clock's wall instants.

Most tests drive an APScheduler ``BackgroundScheduler`` that is never started: the runner adds its
one-shot jobs to it, and the test plays the scheduler, running the earliest job at its wall instant
on a fake wall clock. One test lets a started scheduler fire on the real wall clock at 100x.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from pyros.automation.actions import Action, ServiceCall
from pyros.automation.job_runner import JobBusy, JobRunner
from pyros.automation.jobs import parse_jobs
from pyros.clock import Clock

CALL = {"service": "echo", "command": "echo", "args": {"text": "hi"}}
ANCHOR = 1_000_000.0
"""Wall instant of the fake clocks' start."""


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


class FakeWall:
    """A wall clock the test moves."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def fake_nights(instant: float) -> tuple[float, float]:
    """Nights from 20:00 to 04:00 UTC every day."""
    day = int((instant - 4 * 3600) // 86400)
    start = day * 86400 + 20 * 3600
    return start, start + 8 * 3600


class Recorder:
    """An ``execute`` that records the actions with the observatory time they ran at."""

    def __init__(self, clock: Clock, fail: bool = False) -> None:
        self.clock = clock
        self.fail = fail
        self.runs: list[tuple[str, float]] = []

    def __call__(self, action: Action) -> Any:
        self.runs.append((action.describe(), self.clock.now()))
        if self.fail:
            raise ConnectionError("service down")
        return {"done": True}


def pending(scheduler: BackgroundScheduler) -> list[tuple[float, Any]]:
    """The scheduler's jobs with their wall instants, earliest first."""
    return sorted(((job.trigger.run_date.timestamp(), job) for job in scheduler.get_jobs()), key=lambda p: p[0])


def play(scheduler: BackgroundScheduler, wall: FakeWall, until_wall: float, lateness: float = 0.0) -> int:
    """Run the due jobs in time order as APScheduler would, moving the wall clock; return how many ran."""
    ran = 0
    while True:
        jobs = pending(scheduler)
        if not jobs or jobs[0][0] > until_wall:
            wall.t = until_wall
            return ran
        run_at, job = jobs[0]
        wall.t = max(wall.t, run_at + lateness)
        scheduler.remove_job(job.id)  # a date trigger's job leaves the store once run
        job.func(*job.args)
        ran += 1


def runner_at(start: str, speed: float, jobs: list[dict], fail: bool = False,
              ) -> tuple[JobRunner, BackgroundScheduler, FakeWall, Clock, Recorder]:
    wall = FakeWall(ANCHOR)
    clock = Clock.simulated(start, speed, ANCHOR, wall=wall)
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    recorder = Recorder(clock, fail)
    runner = JobRunner(parse_jobs(jobs), recorder, clock=lambda: clock, nights=fake_nights, scheduler=scheduler)
    runner.start()
    return runner, scheduler, wall, clock, recorder


def test_a_cron_job_at_20h_is_armed_at_the_wall_instant_of_20h_at_100x() -> None:
    runner, scheduler, wall, clock, recorder = runner_at(
        "2024-06-01T19:00:00Z", 100.0, [{"name": "eight", "trigger": "cron", "cron": {"hour": 20}, "action": CALL}])
    [(run_at, _)] = pending(scheduler)
    assert run_at == pytest.approx(ANCHOR + 3600 / 100, abs=1e-6)  # one observatory hour = 36 wall seconds
    assert runner.states()[0]["next_fire"] == "2024-06-01T20:00:00Z"
    assert play(scheduler, wall, ANCHOR + 36.0) == 1
    assert recorder.runs == [("echo echo text='hi'", ts("2024-06-01T20:00:00"))]
    [(run_at, _)] = pending(scheduler)  # re-armed for the next day
    assert run_at == pytest.approx(ANCHOR + (3600 + 86400) / 100, abs=1e-6)
    state = runner.states()[0]
    assert state["runs"] == 1 and state["last"]["ok"] and state["last"]["result"] == {"done": True}
    assert state["last_scheduled"] == "2024-06-01T20:00:00Z" and state["next_fire"] == "2024-06-02T20:00:00Z"


def test_night_hooks_fire_at_the_night_edges_plus_their_offsets() -> None:
    runner, scheduler, wall, clock, recorder = runner_at("2024-06-01T12:00:00Z", 100.0, [
        {"name": "dusk", "trigger": "night_start", "offset_s": 600, "action": CALL},
        {"name": "dawn", "trigger": "night_end", "offset_s": -1800, "action": CALL},
    ])
    play(scheduler, wall, ANCHOR + 2 * 86400 / 100)
    assert runner.fired("dusk") == [ts("2024-06-01T20:10:00"), ts("2024-06-02T20:10:00")]
    assert runner.fired("dawn") == [ts("2024-06-02T03:30:00"), ts("2024-06-03T03:30:00")]
    assert [at for _, at in recorder.runs] == sorted(runner.fired("dusk") + runner.fired("dawn"))


def _fired_over_a_night(speed: float, lateness_wall_s: float) -> dict[str, list[float]]:
    jobs = [{"name": "poll", "trigger": "interval", "every_s": 900, "action": CALL},
            {"name": "half-hour", "trigger": "cron", "cron": {"minute": "0,30"}, "action": CALL},
            {"name": "dusk", "trigger": "night_start", "offset_s": 60, "action": CALL}]
    runner, scheduler, wall, clock, _ = runner_at("2024-06-01T18:00:00Z", speed, jobs)
    play(scheduler, wall, ANCHOR + 12 * 3600 / speed, lateness=lateness_wall_s)
    return {job["name"]: runner.fired(job["name"]) for job in jobs}


def test_a_night_at_100x_fires_the_same_observatory_instants_as_at_10x() -> None:
    at_10 = _fired_over_a_night(10.0, lateness_wall_s=0.05)   # runs 0.5 observatory s late
    at_100 = _fired_over_a_night(100.0, lateness_wall_s=0.05)  # runs 5 observatory s late
    assert at_10 == at_100
    assert len(at_10["poll"]) == 48 and len(at_10["half-hour"]) == 24 and at_10["dusk"] == [ts("2024-06-01T20:01:00")]


def test_runs_missed_while_late_are_coalesced() -> None:
    runner, scheduler, wall, clock, recorder = runner_at(
        "2024-06-01T00:00:00Z", 10.0, [{"name": "poll", "trigger": "interval", "every_s": 60, "action": CALL}])
    play(scheduler, wall, ANCHOR + 6.0)               # 60 s: the first run
    wall.t = ANCHOR + 35.0                            # the process stalled until 350 s
    play(scheduler, wall, ANCHOR + 35.0)              # the overdue 120 s runs once...
    assert runner.fired("poll") == [ts("2024-06-01T00:01:00"), ts("2024-06-01T00:02:00")]
    assert runner.states()[0]["next_fire"] == "2024-06-01T00:06:00Z"  # ...and the grid resumes after now
    assert len(recorder.runs) == 2


def test_failures_are_recorded_not_raised() -> None:
    runner, scheduler, wall, clock, recorder = runner_at(
        "2024-06-01T00:00:00Z", 1.0, [{"name": "poll", "trigger": "interval", "every_s": 5, "action": CALL}], fail=True)
    play(scheduler, wall, ANCHOR + 10.0)
    state = runner.states()[0]
    assert state["runs"] == 2 and not state["last"]["ok"]
    assert state["last"]["error"] == "ConnectionError: service down"
    assert state["next_fire"] == "2024-06-01T00:00:15Z"  # still armed


def test_a_job_still_running_is_not_doubled_and_run_now_refuses() -> None:
    release = threading.Event()
    started = threading.Event()
    wall = FakeWall(ANCHOR)
    clock = Clock.simulated("2024-06-01T00:00:00Z", 1.0, ANCHOR, wall=wall)
    scheduler = BackgroundScheduler(timezone=timezone.utc)

    def slow(action: Action) -> str:
        started.set()
        release.wait(30)
        return "slow"

    runner = JobRunner(parse_jobs([{"name": "slow", "trigger": "interval", "every_s": 5, "action": CALL}]), slow,
                       clock=lambda: clock, scheduler=scheduler)
    runner.start()
    [(_, first)] = pending(scheduler)
    wall.t = ANCHOR + 5
    scheduler.remove_job(first.id)
    worker = threading.Thread(target=first.func, args=first.args)
    worker.start()
    assert started.wait(10)
    [(_, second)] = pending(scheduler)
    wall.t = ANCHOR + 10
    scheduler.remove_job(second.id)
    second.func(*second.args)                       # fires while the first run is going
    with pytest.raises(JobBusy, match="'slow' is running"):
        runner.run_now("slow")
    release.set()
    worker.join(10)
    state = runner.states()[0]
    assert (state["runs"], state["skipped"]) == (1, 1)
    assert runner.run_now("slow").result == "slow"
    with pytest.raises(KeyError, match="no job named 'nope'"):
        runner.run_now("nope")


def test_disabled_jobs_are_not_armed_but_run_on_demand() -> None:
    runner, scheduler, wall, clock, recorder = runner_at(
        "2024-06-01T00:00:00Z", 1.0, [{"name": "off", "trigger": "interval", "every_s": 5, "action": CALL,
                                       "enabled": False}])
    assert pending(scheduler) == [] and runner.states()[0]["next_fire"] is None
    outcome = runner.run_now("off")
    assert outcome.ok and outcome.action == "echo echo text='hi'"


def test_a_new_clock_is_honoured_by_rearm_all_and_stop_disarms() -> None:
    wall = FakeWall(ANCHOR)
    clocks = [Clock.simulated("2024-06-01T19:00:00Z", 10.0, ANCHOR, wall=wall)]
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    runner = JobRunner(parse_jobs([{"name": "eight", "trigger": "cron", "cron": {"hour": 20}, "action": CALL}]),
                       Recorder(clocks[0]), clock=lambda: clocks[-1], scheduler=scheduler)
    runner.start()
    assert pending(scheduler)[0][0] == pytest.approx(ANCHOR + 360.0)
    clocks.append(Clock.simulated("2024-06-01T19:00:00Z", 100.0, ANCHOR, wall=wall))  # speed changed
    runner.rearm_all()
    [(run_at, _)] = pending(scheduler)
    assert run_at == pytest.approx(ANCHOR + 36.0)
    runner.stop()
    assert pending(scheduler) == []


def test_night_jobs_without_nights_are_refused() -> None:
    with pytest.raises(ValueError, match="needs the site's nights"):
        JobRunner(parse_jobs([{"name": "n", "trigger": "night_start", "action": CALL}]), Recorder(Clock.real()))


def test_a_started_scheduler_fires_a_cron_job_at_the_right_wall_time_at_100x() -> None:
    """Real APScheduler thread, real wall clock: observatory 20:00:00 comes 0.5 wall s after the start."""
    anchor = time.time()
    clock = Clock.simulated("2024-06-01T19:59:10Z", 100.0, anchor)
    fired: list[float] = []
    done = threading.Event()

    def execute(action: Action) -> None:
        fired.append(time.time())
        done.set()

    runner = JobRunner(parse_jobs([{"name": "eight", "trigger": "cron", "cron": {"hour": 20}, "action": CALL}]),
                       execute, clock=lambda: clock)
    runner.start()
    try:
        assert done.wait(30), "the job did not fire"
    finally:
        runner.stop()
    expected = anchor + 50 / 100
    assert expected - 0.01 <= fired[0] <= expected + 2.0, (fired[0] - expected)  # never early; late only by load
    assert ts("2024-06-01T20:00:00") - 1 <= clock.obs_time_of(fired[0]) <= ts("2024-06-01T20:00:00") + 200
    assert isinstance(runner.states()[0]["last"]["action"], str)
    assert ServiceCall("echo", "echo", {"text": "hi"}).describe() == runner.states()[0]["action"]
