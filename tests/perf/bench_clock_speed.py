"""Clock speed benchmark: the fastest simulated clock at which a scripted night ends as it does at 10x (``make bench``).

The second figure of issue 6. One scripted hour of a night is run on the whole control host on
simulators (every service a real process under ``pyros start``, the harness of the end-to-end
tests), first at 10x (the reference), then at each speed of a ladder, twice, alternating. The
script, in observatory time from the night's start N (the evening twilight at -12 degrees on
2026-06-20/21 at San Pedro Martir):

* the clock shows N - 10 min once the services had time to start (its anchor is set that far
  ahead), so the same instants of the night happen at every speed, however long the start took;
  the monitor judges the weather from its first poll (no hold at start);
* from N the majordome opens and observes a meridian survey (a sequence planned for 10 minutes
  every 10 minutes: one 400 s visible and one 400 s near-infrared exposure in parallel, so that
  the majordome waits a few minutes between two sequences) and the demo site's requests;
* at N + 1000 s, four minutes into the second survey sequence, it rains for 5 minutes (a PLC
  scenario pinned to N): the sequence is aborted, the dome closed; a 5-minute hold after the
  rain the majordome reopens and observing resumes;
* at N + 2800 s the majordome's dawn begins (``close_before_s`` is set to end the night there),
  a few minutes into a sequence: abort, close and park; the window ends at N + 3100 s.

At 10x, the events fall three minutes or more from the edges of the exposures and of the waits
between sequences, so the outcome changes only when the services' delays, counted in
observatory seconds, grow that large: a run at a higher speed is the same night with every
wall-clock delay of the processes multiplied by the speed.
The observatory seconds each executed sequence took are reported too (not compared): they show
that stretching directly.

The outcome compared (:class:`NightOutcome`): the majordome's state when the window opens and
its transitions in it, every observer session begun in the window (sequence, outcome, reason,
images per camera), the sequences executed, the images written per camera, and the dome's
closings (the state for which the majordome sent each ``close``). A speed passes when both of its
runs give the reference's outcome; the figure is the highest speed of the ladder such that it
and every lower one pass. Target: >= 100x. Results go to ``docs/performance.md`` between
``<!-- bench:clock_speed:start -->`` and ``<!-- bench:clock_speed:end -->``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pyros.clock import format_instant
from tests.e2e.observatory import (
    NightSettings,
    Observatory,
    Survey,
    night_of,
    rain,
    describe,
    start_observatory,
    value_at,
    write_scenario,
)
from tests.perf.doc_section import machine_line, replace_section

HEADING = "## Clock speed"
REFERENCE_SPEED = 10.0
TARGET_SPEED = 100.0
LADDER = (50.0, 100.0, 200.0, 400.0, 800.0)
NIGHT = night_of(1782000000.0)
"""The night of 2026-06-20/21 at the test site (UNIX seconds)."""
START_AHEAD_S = 25.0
"""Wall seconds from the launch to the instant the clock shows the window's start."""
WINDOW_BEFORE_S = 600.0
RAIN_FROM_S, RAIN_UNTIL_S = 1000.0, 1300.0
HOLD_S = 300.0
DAWN_AT_S = 2800.0
WINDOW_AFTER_S = 3100.0
SURVEY = Survey(every_s=600.0, sequence_s=600.0, visible=(1, 400.0), infrared=(1, 400.0))


@dataclass(frozen=True)
class NightOutcome:
    """What a scripted night did, compared between speeds.

    Attributes:
        start_state: The majordome's state when the window opened.
        transitions: Its states in the window, in order (each change once).
        sessions: Every observer session begun in the window, in order: (sequence id, outcome,
            reason, ((camera, images), ...)).
        executed: The sequences executed, in order.
        images: Images written, per camera.
        closings: The state for which the majordome sent each dome ``close``, in order (from its audit log).
    """

    start_state: str | None
    transitions: tuple[str, ...]
    sessions: tuple[tuple[Any, ...], ...]
    executed: tuple[int, ...]
    images: tuple[tuple[str, int], ...]
    closings: tuple[str, ...]

    def differences(self, reference: NightOutcome) -> list[str]:
        """What differs from ``reference``, one line per field."""
        return [f"{f.name}: {getattr(self, f.name)!r} instead of {getattr(reference, f.name)!r}"
                for f in fields(self) if getattr(self, f.name) != getattr(reference, f.name)]


@dataclass(frozen=True)
class Run:
    """One scripted night at one speed.

    Attributes:
        speed: Observatory seconds per wall second.
        outcome: What it did (``None`` if the run could not be judged).
        wall_s: Wall seconds, start-up and shut-down included.
        started_late: The services were not all registered when the window opened.
        error: Why the run could not be judged.
        executions_s: Observatory seconds each executed sequence took (not compared: how timing
            stretches with speed).
        timeline: The recorded changes, printed when the run differs from the reference.
        closing_reasons: Why the majordome went to ``unsafe_closing`` in the window (its audit log).
    """

    speed: float
    outcome: NightOutcome | None
    wall_s: float
    started_late: bool = False
    error: str | None = None
    executions_s: tuple[float, ...] = ()
    timeline: str = ""
    closing_reasons: tuple[str, ...] = ()


def outcome_of(site: Observatory, begin: float, end: float, archive: Path) -> NightOutcome:
    """Read the outcome of the window [begin, end] from the recorder, the audit log and the archive."""
    states = site.recorder.history("/majordome/state")
    start_state = value_at(states, begin)
    transitions: list[str] = []
    for change in states:
        if begin < change.at <= end and (not transitions or transitions[-1] != change.value):
            transitions.append(str(change.value))
    sessions = sorted((s for s in site.recorder.all_sessions() if begin <= float(s.get("start_time") or 0.0) <= end),
                      key=lambda s: float(s["start_time"]))
    described = []
    for session in sessions:
        data = session.get("data") or {}
        per_camera: Counter[str] = Counter()
        for album in (data.get("albums") or {}).values():
            per_camera[str(album.get("camera"))] += int(album.get("done") or 0)
        described.append((data.get("sequence_id"), data.get("outcome"), data.get("reason"),
                          tuple(sorted(per_camera.items()))))
    executed = tuple(int(d[0]) for d in described if d[1] == "executed" and isinstance(d[0], int))
    images = Counter(path.parent.name for path in archive.rglob("*.fits"))
    closings = tuple(str(details.get("purpose", "")).split(":")[0] for at, details in site.audit("majordome.command")
                     if begin <= at <= end and (details.get("service"), details.get("command")) == ("dome", "close"))
    return NightOutcome(None if start_state is None else str(start_state), tuple(transitions), tuple(described),
                        executed, tuple(sorted(images.items())), closings)


def run_night(speed: float, folder: Path) -> Run:
    """The scripted night at ``speed``, in ``folder``."""
    night_start, night_end = NIGHT
    began = night_start - WINDOW_BEFORE_S
    end = night_start + WINDOW_AFTER_S
    scenario = write_scenario(folder / "rain.json", 4 * 3600.0,
                              [(RAIN_FROM_S, rain(12.0)), (RAIN_UNTIL_S, rain(None))])
    settings = NightSettings(
        clock_start=began, speed=speed, hold_s=HOLD_S, plc_scenario=scenario, scenario_start=night_start,
        anchor_delay_s=START_AHEAD_S,
        service_args={"majordome": {"close_before_s": (night_end - night_start) - DAWN_AT_S},
                      "monitor": {"hold_at_start": False}})
    wall = time.monotonic()
    with start_observatory(folder, settings, SURVEY) as site:
        started_late = site.now() >= began
        site.wait_for_time(end, "the end of the scripted window", slack_s=60.0)
        outcome = outcome_of(site, began, end, folder / "images")
        executions = tuple(float(s["end_time"]) - float(s["start_time"]) for s in site.recorder.finished_sessions()
                           if (s.get("data") or {}).get("outcome") == "executed" and begin_in(s, began, end))
        timeline = describe(site)
        reasons = tuple(str(details.get("reason")) for at, details in site.audit("majordome.transition")
                        if began <= at <= end and details.get("to") == "unsafe_closing")
    return Run(speed, outcome, time.monotonic() - wall, started_late, executions_s=executions, timeline=timeline,
               closing_reasons=reasons)


def begin_in(session: dict[str, Any], begin: float, end: float) -> bool:
    """Whether an observer session started in [begin, end]."""
    return begin <= float(session.get("start_time") or 0.0) <= end


def run_safely(speed: float) -> Run:
    """:func:`run_night` in a fresh folder; a failure is kept as the run's error."""
    wall = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"pyros-bench-speed-{speed:g}x-") as tmp:
        try:
            run = run_night(speed, Path(tmp))
        except Exception as exc:  # noqa: BLE001 - a broken run is a result, not the end of the benchmark
            return Run(speed, None, time.monotonic() - wall, error=f"{type(exc).__name__}: {exc}")
    outcome = run.outcome
    print(f"{speed:g}x: {run.wall_s:.0f} s wall{', started late' if run.started_late else ''}; "
          f"{outcome.transitions if outcome else None}; executed {outcome.executed if outcome else None}; "
          f"images {outcome.images if outcome else None}; closings {outcome.closings if outcome else None}; "
          f"sequences took {[round(x) for x in run.executions_s]} s; sessions {outcome.sessions if outcome else None}",
          flush=True)
    return run


def judge(run: Run, reference: Run) -> list[str]:
    """Why ``run`` does not count as the reference's outcome (empty: it does)."""
    if run.error is not None:
        return [f"failed: {run.error}"]
    if run.started_late:
        return ["the services were not all registered when the window opened"]
    if run.outcome is None or reference.outcome is None:
        return ["no outcome"]
    return run.outcome.differences(reference.outcome)


def highest_passing(results: dict[float, list[list[str]]]) -> float | None:
    """The highest speed such that it and every lower one had no difference in any run."""
    best = None
    for speed in sorted(results):
        if any(results[speed]):
            break
        best = speed
    return best


def report(reference: Run, runs: list[Run], results: dict[float, list[list[str]]], seconds: float) -> str:
    """The Markdown section."""
    outcome = reference.outcome
    if outcome is None:
        raise ValueError("no report without the reference's outcome")
    best = highest_passing(results)
    night_start = NIGHT[0]
    lines = [
        f"`make bench` (`.venv/bin/python -m tests.perf.bench_clock_speed`), run on "
        f"{time.strftime('%Y-%m-%d at %H:%M UTC', time.gmtime())}, {seconds / 60:.1f} min: the scripted window "
        f"{format_instant(night_start - WINDOW_BEFORE_S)[11:16]}–{format_instant(night_start + WINDOW_AFTER_S)[11:16]}"
        f" UTC of the night of 2026-06-20/21 (rain {RAIN_FROM_S:g}–{RAIN_UNTIL_S:g} s into the night, "
        f"hold {HOLD_S:g} s, dawn closing {DAWN_AT_S:g} s into it) on the whole control host; see the "
        "module's docstring. A speed passes when every one of its runs has the reference's outcome.",
        "",
        f"Reference at {REFERENCE_SPEED:g}x ({reference.wall_s:.0f} s wall): transitions "
        f"{' → '.join((outcome.start_state or '?',) + outcome.transitions)}; {len(outcome.sessions)} observer "
        f"sessions, {len(outcome.executed)} sequences executed ({', '.join(f'#{i}' for i in outcome.executed)}); "
        f"images {', '.join(f'{c} {n}' for c, n in outcome.images)}; dome closings by state: "
        f"{', '.join(outcome.closings) or 'none'}; its executed sequences took "
        f"{', '.join(f'{x:.0f}' for x in reference.executions_s)} s.",
        "",
        "| speed | run | wall s | executed sequences took (s) | same outcome as 10x | differences |",
        "|---:|---:|---:|---|---|---|",
    ]
    rounds: Counter[float] = Counter()
    for run in runs:
        rounds[run.speed] += 1
        differences = list(results[run.speed][rounds[run.speed] - 1])
        if differences and run.closing_reasons != reference.closing_reasons:
            differences.append(f"closed because: {' / '.join(run.closing_reasons)}")
        stretch = " ".join(f"{x:.0f}" for x in run.executions_s) or "—"
        lines.append(f"| {run.speed:g}x | {rounds[run.speed]} | {run.wall_s:.0f} | {stretch} | "
                     f"{'yes' if not differences else 'no'} | {'; '.join(differences).replace('|', '/') or '—'} |")
    lines += ["", "| target | measured | limit | result |", "|---|---:|---:|---|",
              f"| highest speed with the 10x outcome (every run, every lower speed) | "
              f"{'none' if best is None else f'{best:g}x'} | ≥ {TARGET_SPEED:g}x | "
              f"{'PASS' if best is not None and best >= TARGET_SPEED else 'FAIL'} |",
              "", machine_line("tests.perf.bench_clock_speed")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--rounds``, ``--speeds``, ``--no-doc``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="runs of each speed of the ladder")
    parser.add_argument("--speeds", type=float, nargs="+", default=list(LADDER))
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    args = parser.parse_args(argv)
    began = time.monotonic()
    reference = run_safely(REFERENCE_SPEED)
    if reference.outcome is None or reference.started_late:
        raise SystemExit(f"the reference run at {REFERENCE_SPEED:g}x failed: "
                         f"{reference.error or 'the services started too late'}")
    print(f"the reference's timeline:\n{reference.timeline}", flush=True)
    runs: list[Run] = []
    results: dict[float, list[list[str]]] = {speed: [] for speed in args.speeds}
    for _ in range(args.rounds):
        for speed in args.speeds:
            run = run_safely(speed)
            runs.append(run)
            results[speed].append(judge(run, reference))
            if results[speed][-1]:
                print(f"  differs: {results[speed][-1]}\n{run.timeline}", flush=True)
    section = report(reference, runs, results, time.monotonic() - began)
    print(section)
    if not args.no_doc:
        replace_section("clock_speed", section, HEADING)


if __name__ == "__main__":
    main()
