"""K/V (Clone) benchmark: update fan-out and late-joiner snapshot (``make bench``).

* **Fan-out**: 10 subscriber processes (each a :class:`KVSubscriber` on subtree
  ``""``) and one publisher process sending N updates (values ``0..N-1`` cycling
  over a fixed set of keys) as fast as it can, or paced with ``--rate``. Reported:
  the publish rate, the delivery rate (N / time from the first publish until the
  last subscriber applied the final update) and losses (updates a subscriber
  never saw, plus resyncs, plus keys whose final value differs from the
  publisher's). Target: >= 10,000 updates/s delivered to all, none lost.
* **Late joiner**: 100,000 keys are loaded into the server (published, then
  awaited by a probe subscriber); a fresh :class:`KVSubscriber` is timed from
  construction until :meth:`KVSubscriber.wait_synced` returns with every key.
  Target: < 1 s.

The server is ``python -m servers.kv`` in its own process on loopback TCP. Three
runs each; medians. Results go to ``docs/performance.md`` between
``<!-- bench:kv:start -->`` and ``<!-- bench:kv:end -->``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from pyros.kv.publisher import KVPublisher
from pyros.kv.subscriber import KVSubscriber
from pyros.testing import ManagedProcess, free_endpoint, wait_until
from tests.perf.doc_section import replace_section

SUBSCRIBERS = 10
FANOUT_KEYS = 1000
TARGET_RATE = 10_000.0
TARGET_SNAPSHOT = 1.0
HEADING = "## Key/value store"


@dataclass(frozen=True)
class Endpoints:
    """The three endpoints of the K/V server.

    Attributes:
        snapshot: ROUTER snapshot endpoint.
        publisher: PUB updates endpoint.
        collector: PULL collector endpoint.
    """

    snapshot: str
    publisher: str
    collector: str


@dataclass(frozen=True)
class SubscriberResult:
    """What one fan-out subscriber process observed.

    Attributes:
        index: Subscriber number.
        received: Updates of this run seen through the change callback.
        done_at: ``time.monotonic()`` when the final update was applied, or ``None``.
        resyncs: Resyncs (any reason) during the run.
        mismatched: Keys of this run whose final value differs from the publisher's.
    """

    index: int
    received: int
    done_at: float | None
    resyncs: int
    mismatched: int


def _fan_key(run: int, i: int) -> str:
    """Key written by update ``i`` of fan-out run ``run``."""
    return f"fan/{run}/{i % FANOUT_KEYS}"


def _expected_final(run: int, count: int) -> dict[str, int]:
    """The publisher's final state for run ``run`` after ``count`` updates."""
    return {_fan_key(run, i): i for i in range(max(0, count - FANOUT_KEYS), count)}


def _resyncs(sub: KVSubscriber) -> int:
    """Total resyncs recorded by a subscriber's cache."""
    return sum(n for reason, n in sub.cache.counts.items() if reason.startswith("resync_"))


def _subscriber(index: int, endpoints: Endpoints, run: int, count: int, timeout: float,
                ready: Any, out: Any) -> None:
    """Fan-out subscriber process: mirror everything, count this run's updates, report.

    Args:
        index: Subscriber number.
        endpoints: Server endpoints.
        run: Run number (selects the key prefix).
        count: Updates the publisher sends.
        timeout: Seconds to wait for the final update.
        ready: Queue on which ``index`` is put once synced.
        out: Queue receiving a :class:`SubscriberResult`.
    """
    prefix = f"fan/{run}/"
    last = count - 1
    received = 0
    done = threading.Event()
    done_at: list[float] = []

    def on_change(key: str, value: Any) -> None:
        nonlocal received
        received += 1
        if value == last and not done_at:
            done_at.append(time.monotonic())
            done.set()

    sub = KVSubscriber(endpoints.snapshot, endpoints.publisher, "")
    try:
        if not sub.wait_synced(30):
            raise TimeoutError(f"subscriber {index} not synced within 30 s")
        before = _resyncs(sub)
        sub.add_callback(prefix, on_change)
        ready.put(index)
        done.wait(timeout)
        # The final update is the last one: nothing of this run can still be in flight.
        contents = {k: v for k, v in sub.contents().items() if k.startswith(prefix)}
        expected = _expected_final(run, count)
        mismatched = sum(1 for k, v in expected.items() if contents.get(k) != v) + len(contents.keys() - expected)
        out.put(SubscriberResult(index, received, done_at[0] if done_at else None, _resyncs(sub) - before,
                                 mismatched))
    finally:
        sub.stop()


def _publisher(collector: str, run: int, count: int, rate: float, go: Any, finish: Any, out: Any) -> None:
    """Fan-out publisher process: wait for ``go``, publish ``count`` updates, report the times.

    The socket stays open until ``finish`` is set (closing drops unsent messages).

    Args:
        collector: Server collector endpoint.
        run: Run number (selects the key prefix).
        count: Updates to send.
        rate: Updates per second to pace to, or 0 for as fast as possible.
        go: Event starting the publication.
        finish: Event after which the socket may be closed.
        out: Queue receiving ``(started, ended)`` monotonic times.
    """
    keys = [_fan_key(run, i) for i in range(FANOUT_KEYS)]
    with KVPublisher(collector) as pub:
        if not go.wait(60):
            raise TimeoutError("publisher never told to start")
        started = time.monotonic()
        for i in range(count):
            if rate and i % 100 == 0:
                ahead = started + i / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            pub.set(keys[i % FANOUT_KEYS], i)
        out.put((started, time.monotonic()))
        finish.wait(300)


def _kill(procs: list[Any]) -> None:
    """Terminate (then kill) multiprocessing children still alive."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.kill()
            p.join(5)


def fanout_run(endpoints: Endpoints, run: int, count: int, rate: float) -> tuple[float, float, int]:
    """One fan-out run.

    Returns:
        ``(publish rate, delivery rate to all subscribers, losses)``.
    """
    ctx = mp.get_context("spawn")
    ready, results, times = ctx.Queue(), ctx.Queue(), ctx.Queue()
    go, finish = ctx.Event(), ctx.Event()
    timeout = max(60.0, count / 1000.0)
    procs = [ctx.Process(target=_subscriber, args=(i, endpoints, run, count, timeout, ready, results))
             for i in range(SUBSCRIBERS)]
    procs.append(ctx.Process(target=_publisher, args=(endpoints.collector, run, count, rate, go, finish, times)))
    try:
        for p in procs:
            p.start()
        for _ in range(SUBSCRIBERS):
            ready.get(timeout=60)
        go.set()
        started, ended = times.get(timeout=timeout)
        subs: list[SubscriberResult] = [results.get(timeout=timeout + 30) for _ in range(SUBSCRIBERS)]
        finish.set()
    finally:
        finish.set()
        _kill(procs)
    losses = sum(max(0, count - s.received) + s.resyncs + s.mismatched + (s.done_at is None) for s in subs)
    finished = [s.done_at for s in subs if s.done_at is not None]
    delivered = count / (max(finished) - started) if len(finished) == SUBSCRIBERS else 0.0
    return count / (ended - started), delivered, losses


def load_keys(endpoints: Endpoints, keys: int) -> None:
    """Publish ``keys`` keys under ``snap/`` and wait until a probe subscriber holds them all."""
    seen: set[str] = set()
    probe = KVSubscriber(endpoints.snapshot, endpoints.publisher, "/snap/")
    try:
        if not probe.wait_synced(30):
            raise TimeoutError("probe subscriber not synced within 30 s")
        probe.add_callback("/snap/", lambda key, _value: seen.add(key))
        with KVPublisher(endpoints.collector) as pub:
            for i in range(keys):
                pub.set(f"/snap/{i}", {"n": i, "pad": "x" * 32})
            wait_until(lambda: len(seen) >= keys, timeout=120, interval=0.05, what=f"{keys} keys loaded")
    finally:
        probe.stop()


def snapshot_run(endpoints: Endpoints, keys: int) -> float:
    """Time one late joiner from construction until synced with every ``/snap/`` key.

    Returns:
        Seconds.
    """
    started = time.perf_counter()
    sub = KVSubscriber(endpoints.snapshot, endpoints.publisher, "")
    try:
        if not sub.wait_synced(60):
            raise TimeoutError("late joiner not synced within 60 s")
        elapsed = time.perf_counter() - started
        held = sum(1 for k in sub.raw_contents() if k.startswith("/snap/"))
        if held < keys:
            raise RuntimeError(f"late joiner synced with {held} of {keys} keys")
        return elapsed
    finally:
        sub.stop()


def measure(runs: int, updates: int, keys: int, rate: float, hugz_interval: float) -> dict[str, list[float]]:
    """Run the measurements against one server process; return the figures per kind."""
    results: dict[str, list[float]] = {"publish": [], "delivered": [], "losses": [], "snapshot": []}
    endpoints = Endpoints(free_endpoint(), free_endpoint(), free_endpoint())
    server = ManagedProcess([sys.executable, "-m", "servers.kv", "--snapshot", endpoints.snapshot,
                             "--publisher", endpoints.publisher, "--collector", endpoints.collector,
                             "--hugz-interval", str(hugz_interval)])
    try:
        probe = KVSubscriber(endpoints.snapshot, endpoints.publisher, "")
        try:
            if not probe.wait_synced(30):
                raise TimeoutError("K/V server not answering within 30 s")
        finally:
            probe.stop()
        for run in range(runs):
            publish, delivered, losses = fanout_run(endpoints, run, updates, rate)
            results["publish"].append(publish)
            results["delivered"].append(delivered)
            results["losses"].append(float(losses))
            print(f"fan-out run {run + 1}: published {publish:,.0f}/s, delivered to all {delivered:,.0f}/s, "
                  f"losses {losses}", flush=True)
        load_keys(endpoints, keys)
        for run in range(runs):
            elapsed = snapshot_run(endpoints, keys)
            results["snapshot"].append(elapsed)
            print(f"late joiner run {run + 1}: {keys:,} keys synced in {elapsed:.3f} s", flush=True)
    finally:
        server.stop()
    return results


def report(results: dict[str, list[float]], runs: int, updates: int, keys: int, rate: float,
           hugz_interval: float, command: str) -> str:
    """Markdown section with medians and targets."""
    publish = statistics.median(results["publish"])
    delivered = statistics.median(results["delivered"])
    losses = max(results["losses"])
    snapshot = statistics.median(results["snapshot"])
    fan_ok = delivered >= TARGET_RATE and losses == 0
    pace = f"paced to {rate:,.0f}/s" if rate else "as fast as possible"

    def runs_of(kind: str, fmt: str) -> str:
        return ", ".join(format(v, fmt) for v in results[kind])

    return "\n".join([
        f"### K/V benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"{runs} runs; `servers.kv` (HUGZ every {hugz_interval:g} s) in its own process; fan-out: "
        f"{SUBSCRIBERS} subscriber processes on subtree `\"\"`, one publisher process sending {updates:,} "
        f"updates ({pace}) over {FANOUT_KEYS:,} keys; delivered = updates / time from the first publish until "
        "the last subscriber applied the final one; losses = updates a subscriber never saw + resyncs + "
        "final values differing from the publisher's (worst run). Late joiner: fresh `KVSubscriber` from "
        f"construction to `wait_synced()` with {keys:,} keys. Medians.",
        "",
        "| measure | median | runs | target | result |",
        "|---|---:|---|---:|---|",
        f"| fan-out published/s | {publish:,.0f} | {runs_of('publish', ',.0f')} | — | — |",
        f"| fan-out delivered to all {SUBSCRIBERS}/s | {delivered:,.0f} | {runs_of('delivered', ',.0f')} | "
        f"≥ {TARGET_RATE:,.0f} | {'PASS' if delivered >= TARGET_RATE else 'FAIL'} |",
        f"| fan-out losses | {statistics.median(results['losses']):.0f} | {runs_of('losses', '.0f')} | 0 | "
        f"{'PASS' if losses == 0 else 'FAIL'} |",
        f"| late joiner, {keys:,} keys, s | {snapshot:.3f} | {runs_of('snapshot', '.3f')} | "
        f"< {TARGET_SNAPSHOT:g} | {'PASS' if snapshot < TARGET_SNAPSHOT else 'FAIL'} |",
        "",
        f"Fan-out overall: {'PASS' if fan_ok else 'FAIL'}. "
        f"Machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} after. "
        f"Reproduce: `{command}`.",
    ])


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--runs``, ``--updates``, ``--keys``, ``--rate``, ``--hugz-interval``, ``--quick``, ``--no-doc``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--updates", type=int, default=50_000, help="fan-out updates per run")
    parser.add_argument("--keys", type=int, default=100_000, help="keys loaded for the late joiner")
    parser.add_argument("--rate", type=float, default=0.0, help="pace the publisher (updates/s; 0 = flat out)")
    parser.add_argument("--hugz-interval", type=float, default=1.0, help="server HUGZ interval, seconds")
    parser.add_argument("--quick", action="store_true", help="1 run, 10,000 updates, 20,000 keys")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.updates, args.keys = 1, 10_000, 20_000
    command = ".venv/bin/python -m tests.perf.bench_kv" + " ".join(
        [""] + [a for a in (sys.argv[1:] if argv is None else argv) if a != "--no-doc"])
    results = measure(args.runs, args.updates, args.keys, args.rate, args.hugz_interval)
    section = report(results, args.runs, args.updates, args.keys, args.rate, args.hugz_interval, command)
    print(section)
    if not args.no_doc:
        replace_section("kv", section, HEADING)


if __name__ == "__main__":
    main()
