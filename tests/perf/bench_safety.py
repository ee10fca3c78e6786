"""Safety latency benchmark: from the PLC simulator reporting rain to the dome receiving ``close`` (``make bench``).

The figure of issue 6, measured on the whole control host on simulators (every service a real
process under ``pyros start``, the harness of the end-to-end tests) with the clock at 1x, in the
middle of a night, while the observatory observes the meridian survey. Each episode:

1. waits until the shutter is open at night (the majordome observing, or waiting for the next
   sequence of its plan);
2. has the PLC simulator follow a scenario (``plc scenario``): rain (12 mm/h) from ``d`` seconds
   after the scenario's start, ``d`` drawn uniformly in [0.5, 1.5] s so that the rain falls at
   every phase of the monitor's poll, and dry again a few seconds later;
3. times, in observatory seconds (one clock for every process), from the instant the simulator
   reports rain (the scenario's start, as the PLC's service returns it, plus ``d``) to the start
   of the dome's ``close`` operation (its ``start_time`` under ``/op/dome/close``: the dome service
   received the command and began to close). Two parts are timed too: the wait for the monitor's
   next poll (rain to the ``time`` of its first unsafe ``/env/safety``), and the rest of the chain
   (the monitor's K/V publication, the majordome's decision, its MDP call through the broker).

The monitor and the majordome run with their defaults (a poll every 1 s, a decision at least every
1 s and at once on every change); only the hold time (4 s) and the shutter's travel (2 s) are
shortened so that episodes follow each other quickly. Target: p99 < 2 s over 50 episodes.
Results go to ``docs/performance.md`` between ``<!-- bench:safety:start -->`` and
``<!-- bench:safety:end -->``.
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyros.clock import format_instant, parse_instant
from pyros.kv.subscriber import KVSubscriber
from pyros.testing import wait_until
from servers.monitor import MonitorService
from servers.majordome import MajordomeService
from tests.e2e.observatory import (
    SERVICES,
    NightSettings,
    Observatory,
    Survey,
    describe,
    night_of,
    rain,
    start_observatory,
    write_scenario,
)
from tests.perf.doc_section import machine_line, replace_section

HEADING = "## Safety latency"
TARGET_P99_S = 2.0
HOLD_S = 4.0
"""The monitor's hold time in this benchmark (observatory seconds; its default is 1200)."""
SHUTTER_TIME_S = 2.0
"""The simulated shutter's travel in this benchmark (observatory seconds)."""
RAIN_S = 3.0
"""How long each shower lasts (observatory seconds)."""
EPISODE_TIMEOUT_S = 30.0
"""Wall seconds an episode may take (reopened, rained on, closed) before it is counted as lost."""
NIGHT = night_of(1782000000.0)
SURVEY_EVERY_S = 1800.0
"""The meridian survey's spacing; the clock starts a minute before its first sequence."""


@dataclass(frozen=True)
class Episode:
    """One shower: when the simulator reported rain, when the monitor saw it, when the dome got ``close``.

    Attributes:
        rain_at: Observatory instant the PLC simulator started reporting rain.
        unsafe_at: The ``time`` of the monitor's first unsafe verdict after it (``nan`` if none).
        close_at: The ``start_time`` of the dome's ``close`` operation (``nan`` if none in time).
        culprit: The culprit of that verdict.
        observing: Whether a sequence was being executed when the rain came.
    """

    rain_at: float
    unsafe_at: float
    close_at: float
    culprit: str | None
    observing: bool

    @property
    def latency_s(self) -> float:
        """Rain reported to close received, observatory (= wall) seconds."""
        return self.close_at - self.rain_at

    @property
    def poll_wait_s(self) -> float:
        """Rain reported to the monitor's poll that saw it."""
        return self.unsafe_at - self.rain_at

    @property
    def chain_s(self) -> float:
        """The monitor's poll to the dome receiving ``close``."""
        return self.close_at - self.unsafe_at


class CloseWatch:
    """Records, from the K/V store, every unsafe verdict's time and every dome ``close`` operation's start."""

    def __init__(self, snapshot: str, publisher: str) -> None:
        self._lock = threading.Lock()
        self.unsafe: list[tuple[float, str | None]] = []
        self.closes: list[float] = []
        self._seen_sessions: set[str] = set()
        self._subscriber = KVSubscriber(snapshot, publisher)
        self._subscriber.add_callback("/env/safety", self._safety)
        self._subscriber.add_callback("/op/dome/close", self._close)

    def stop(self) -> None:
        """Stop listening."""
        self._subscriber.stop()

    def _safety(self, _key: str, value: Any) -> None:
        if isinstance(value, dict) and value.get("safe") is False and value.get("time"):
            with self._lock:
                self.unsafe.append((parse_instant(value["time"]), value.get("culprit")))

    def _close(self, _key: str, value: Any) -> None:
        if not isinstance(value, dict) or not value.get("session") or value.get("start_time") is None:
            return
        with self._lock:
            if value["session"] not in self._seen_sessions:
                self._seen_sessions.add(value["session"])
                self.closes.append(float(value["start_time"]))

    def first_unsafe_after(self, instant: float) -> tuple[float, str | None] | None:
        """The first unsafe verdict at or after ``instant``."""
        with self._lock:
            return next(((t, c) for t, c in self.unsafe if t >= instant), None)

    def first_close_after(self, instant: float) -> float | None:
        """The start of the first dome ``close`` at or after ``instant``."""
        with self._lock:
            return next((t for t in self.closes if t >= instant), None)


def open_at_night(site: Observatory) -> bool:
    """The majordome works the night (observing or waiting for the next sequence), the shutter is open and
    the site is safe."""
    verdict = site.recorder.current("/env/safety")
    return (site.state() in ("night_idle", "night_observing")
            and site.recorder.current("/device/dome/shutter") == "open" and isinstance(verdict, tuple) and verdict[0])


def run_episode(site: Observatory, watch: CloseWatch, folder: Path, index: int, rng: random.Random) -> Episode:
    """One shower on an open dome; its timings (``nan`` where something did not happen in time)."""
    try:
        wait_until(lambda: open_at_night(site), timeout=EPISODE_TIMEOUT_S, interval=0.02,
                   what=f"episode {index}: open at night")
    except TimeoutError as exc:
        state = site.client.call("majordome", "state")
        raise TimeoutError(f"{exc}; the majordome: {state}\n{describe(site)}") from None
    delay = rng.uniform(0.5, 1.5)
    scenario = write_scenario(folder / f"shower-{index}.json", 60.0,
                              [(delay, rain(12.0)), (delay + RAIN_S, rain(None))])
    loaded = site.client.call("plc", "scenario", {"path": str(scenario)})
    rain_at = float(loaded["start"]) + delay
    try:
        wait_until(lambda: watch.first_close_after(rain_at) is not None, timeout=EPISODE_TIMEOUT_S, interval=0.02,
                   what=f"episode {index}: the dome's close")
    except TimeoutError:
        pass
    unsafe = watch.first_unsafe_after(rain_at)
    close_at = watch.first_close_after(rain_at)
    observing = any(float(s.get("start_time") or math.inf) <= rain_at <= float(s.get("end_time") or math.inf)
                    for s in site.recorder.all_sessions())
    return Episode(rain_at, math.nan if unsafe is None else unsafe[0], math.nan if close_at is None else close_at,
                   None if unsafe is None else unsafe[1], observing)


def measure(episodes: int, seed: int) -> tuple[list[Episode], dict[str, Any]]:
    """Start the observatory at 1x in the night, run the showers; the episodes and the settings used."""
    settings = NightSettings(
        clock_start=NIGHT[0] + SURVEY_EVERY_S / 2 - 60.0, speed=1.0, hold_s=HOLD_S,
        service_args={
            "monitor": {"period_s": None, "plc_timeout_s": None, "stale_after_s": None, "silent_after_s": None,
                        "hold_at_start": False},
            "majordome": {"tick_s": None, "safety_stale_s": None},
            "dome": {"shutter_time_s": SHUTTER_TIME_S, "poll_s": None},
        })
    rng = random.Random(seed)
    results: list[Episode] = []
    with tempfile.TemporaryDirectory(prefix="pyros-bench-safety-") as tmp:
        folder = Path(tmp)
        with start_observatory(folder, settings, Survey(every_s=SURVEY_EVERY_S)) as site:
            watch = CloseWatch(site.endpoints["snapshot"], site.endpoints["publisher"])
            try:
                for index in range(1, episodes + 1):
                    episode = run_episode(site, watch, folder, index, rng)
                    results.append(episode)
                    print(f"episode {index:3d}: rain {format_instant(episode.rain_at)[11:23]}  poll wait "
                          f"{episode.poll_wait_s:6.3f} s  chain {episode.chain_s:6.3f} s  total "
                          f"{episode.latency_s:6.3f} s  ({episode.culprit}{', observing' if episode.observing else ''})",
                          flush=True)
            finally:
                watch.stop()
    used = {"monitor period_s": default_of(MonitorService, "period_s"),
            "majordome tick_s": default_of(MajordomeService, "tick_s"), "hold_s": HOLD_S,
            "shutter_time_s": SHUTTER_TIME_S}
    return results, used


def default_of(cls: type, name: str) -> Any:
    """The default of an argument of ``cls.__init__``."""
    import inspect

    return inspect.signature(cls).parameters[name].default


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (linear interpolation between ranks); ``nan`` counts as infinitely late."""
    ranked = sorted(v if math.isfinite(v) else math.inf for v in values)
    position = q / 100.0 * (len(ranked) - 1)
    low, high = math.floor(position), math.ceil(position)
    if ranked[high] == math.inf:
        return math.inf
    return ranked[low] + (position - low) * (ranked[high] - ranked[low])


def report(results: list[Episode], used: dict[str, Any], seconds: float) -> str:
    """The Markdown section."""
    total = [e.latency_s for e in results]
    poll = [e.poll_wait_s for e in results]
    chain = [e.chain_s for e in results]
    lost = sum(1 for v in total if not math.isfinite(v))
    p99 = percentile(total, 99)
    culprits = sorted({str(e.culprit) for e in results})
    observing = sum(1 for e in results if e.observing)
    lines = [
        f"`make bench` (`.venv/bin/python -m tests.perf.bench_safety`), run on "
        f"{time.strftime('%Y-%m-%d at %H:%M UTC', time.gmtime())}: {len(results)} showers on the whole "
        f"control host ({len(SERVICES) + 2} services under `pyros start`, the clock at 1x, at night with the "
        f"dome open), "
        f"{seconds / 60:.1f} min. "
        f"Monitor poll every {used['monitor period_s']:g} s and majordome tick {used['majordome tick_s']:g} s "
        f"(their defaults); hold {used['hold_s']:g} s and shutter travel {used['shutter_time_s']:g} s "
        f"(shortened). Culprits seen: {', '.join(culprits)}. A sequence was being executed when "
        f"{observing} of the showers began; the others fell while the majordome waited for the next one (an "
        "aborted sequence is planned again for later). The close leaves in the same decision as the abort.",
        "",
        "| part | p50 s | p90 s | p99 s | max s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in (("rain reported → monitor's poll sees it", poll),
                         ("that poll → dome receives `close`", chain),
                         ("**rain reported → dome receives `close`**", total)):
        lines.append(f"| {name} | {percentile(values, 50):.3f} | {percentile(values, 90):.3f} | "
                     f"{percentile(values, 99):.3f} | {percentile(values, 100):.3f} |")
    lines += ["", "| target | measured | limit | result |", "|---|---:|---:|---|",
              f"| p99 rain → close, {len(results)} episodes | {p99:.3f} s | < {TARGET_P99_S:g} s | "
              f"{'PASS' if p99 < TARGET_P99_S and lost == 0 else 'FAIL'} |"]
    if lost:
        lines.append(f"\n{lost} episode(s) saw no close within {EPISODE_TIMEOUT_S:g} s.")
    lines += ["", machine_line("tests.perf.bench_safety")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--episodes``, ``--seed``, ``--no-doc``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    args = parser.parse_args(argv)
    began = time.monotonic()
    results, used = measure(args.episodes, args.seed)
    section = report(results, used, time.monotonic() - began)
    print(section)
    if not args.no_doc:
        replace_section("safety", section, HEADING)


if __name__ == "__main__":
    main()
