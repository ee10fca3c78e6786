"""Titanic benchmark: durable acceptance rate and end-to-end rate (``make bench``).

* **Acceptance**: 8 concurrent clients (sockets of one client process, one
  request in flight each) call ``titanic.request`` in a loop for a fixed
  window; each request is on disk (SQLite WAL, ``synchronous=FULL``) before
  its 200 reply. Measured with the target service down (requests accumulate,
  the dispatcher keeps trying: target >= 2,000 accepted/s), then again while
  the dispatcher forwards them to a live echo service on the same cores.
* **End to end**: 2,000 requests submitted by the 8 clients, timed until every
  one has a stored reply from the echo service (read from Titanic's database).

Broker, Titanic and the echo service are real processes on loopback TCP. Three
runs each; medians. Results go to ``docs/performance.md`` between
``<!-- bench:titanic:start -->`` and ``<!-- bench:titanic:end -->``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import zmq

from pyros.messages import Request, new_id
from pyros.testing import BrokerProcess, ManagedProcess, wait_until
from pyros.titanic.store import TitanicStore
from tests.perf.wire import MDPC01
from tests.perf.doc_section import replace_section

CLIENTS = 8
TARGET_ACCEPTED = 2000.0


def _submitter(endpoint: str, clients: int, duration: float, count: int, ready: Any, go: Any, out: Any) -> None:
    """``clients`` 7/MDP client sockets, each with one ``titanic.request`` in flight.

    Sets ``ready`` once connected, waits for ``go``, then submits for ``duration`` seconds (or ``count``
    requests in all) and puts the UUIDs of the accepted requests on ``out``.
    One process drives every socket, so that the harness takes little of the
    two cores it shares with the broker, Titanic and the echo service.
    """
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    body = Request(id=new_id(), cmd="echo", args={"text": "bench"}).encode()
    frames = [b"", MDPC01, b"titanic.request", b"echo", body]
    socks = []
    for _ in range(clients):
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)
        socks.append(sock)
    poller = zmq.Poller()
    for sock in socks:
        poller.register(sock, zmq.POLLIN)
    uids: list[str] = []
    errors = 0
    ready.set()
    go.wait(60)
    deadline = time.monotonic() + duration
    sent = 0
    for sock in socks:
        sock.send_multipart(frames)
        sent += 1
    in_flight = len(socks)
    while in_flight:
        events = poller.poll(10_000)
        if not events:
            raise TimeoutError(f"no reply from titanic.request in 10 s with {in_flight} in flight")
        for sock, _ in events:
            reply = sock.recv_multipart()
            in_flight -= 1
            # ["", MDPC01, "titanic.request", "200", uuid]
            if len(reply) == 5 and reply[3] == b"200":
                uids.append(reply[4].decode("ascii"))
            else:
                errors += 1
            more = sent < count if count else time.monotonic() < deadline
            if more:
                sock.send_multipart(frames)
                sent += 1
                in_flight += 1
    for sock in socks:
        sock.close()
    ctx.term()
    out.put((uids, errors))


def _run_clients(endpoint: str, duration: float = 0.0, count: int = 0) -> tuple[list[str], float]:
    """Run the submitter process; return the accepted UUIDs and the seconds from ``go`` to the last reply."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    go = ctx.Event()
    ready = ctx.Event()
    proc = ctx.Process(target=_submitter, args=(endpoint, CLIENTS, duration, count, ready, go, queue))
    proc.start()
    if not ready.wait(60):
        proc.kill()
        raise TimeoutError("the submitter process did not start")
    started = time.perf_counter()
    go.set()
    uids, errors = queue.get(timeout=300)
    elapsed = time.perf_counter() - started
    proc.join(30)
    if errors:
        raise RuntimeError(f"{errors} submissions were refused by titanic.request")
    return uids, elapsed


def _echo(endpoint: str) -> ManagedProcess:
    return ManagedProcess([sys.executable, "-m", "pyros", "serve", "servers.echo:EchoService", "--broker", endpoint,
                           "--slots", "8"])


def measure(runs: int, duration: float, e2e_requests: int) -> dict[str, list[float]]:
    """Run the measurements; return lists of rates per kind.

    Each run measures, in this order: acceptance while the target service is
    down (requests accumulate; the dispatcher keeps trying), acceptance while
    the dispatcher forwards them to a live echo service on the same cores, and
    the end-to-end rate.
    """
    results: dict[str, list[float]] = {"accepted": [], "accepted_dispatching": [], "end_to_end": []}
    with tempfile.TemporaryDirectory() as tmp, BrokerProcess(heartbeat_interval=2.5) as broker:
        database = Path(tmp) / "titanic.db"
        titanic = ManagedProcess([sys.executable, "-m", "pyros", "titanic", "--broker", broker.endpoint,
                                  "--database", str(database), "--concurrency", "64"])
        echo: ManagedProcess | None = None
        reader = TitanicStore(database)

        def backlog() -> int:
            counts = reader.counts()
            return counts["pending"] + counts["dispatched"]

        try:
            with broker.client(timeout=5) as client:
                wait_until(lambda: client.service_exists("titanic.request"), timeout=30, what="titanic up")
                for run in range(runs):
                    # 1. Acceptance with the echo service down.
                    uids, elapsed = _run_clients(broker.endpoint, duration=duration)
                    down = len(uids) / elapsed
                    results["accepted"].append(down)
                    echo = _echo(broker.endpoint)
                    wait_until(lambda: client.service_exists("echo"), timeout=30, what="echo up")
                    wait_until(lambda: backlog() == 0, timeout=300, what="backlog drained")
                    # 2. Acceptance while dispatching.
                    uids, elapsed = _run_clients(broker.endpoint, duration=duration)
                    live = len(uids) / elapsed
                    results["accepted_dispatching"].append(live)
                    wait_until(lambda: backlog() == 0, timeout=300, what="backlog drained")
                    # 3. End to end: time until every submitted request has a stored reply.
                    replied_before = reader.counts()["replied"]
                    started = time.perf_counter()
                    uids, _ = _run_clients(broker.endpoint, count=e2e_requests)
                    wait_until(lambda: reader.counts()["replied"] - replied_before >= len(uids), timeout=300,
                               interval=0.01, what="every request replied")
                    e2e = len(uids) / (time.perf_counter() - started)
                    results["end_to_end"].append(e2e)
                    echo.stop()
                    echo = None
                    wait_until(lambda: not client.service_exists("echo"), timeout=30, what="echo gone")
                    print(f"run {run + 1}: accepted {down:,.0f}/s (service down), {live:,.0f}/s (dispatching), "
                          f"end to end {e2e:,.0f}/s", flush=True)
        finally:
            reader.close()
            if echo is not None:
                echo.stop()
            titanic.stop()
    return results


def _runs(values: list[float]) -> str:
    return ", ".join(f"{r:,.0f}" for r in values)


def report(results: dict[str, list[float]], runs: int, duration: float, e2e_requests: int) -> str:
    """Markdown section with medians and the target."""
    acc = statistics.median(results["accepted"])
    live = statistics.median(results["accepted_dispatching"])
    e2e = statistics.median(results["end_to_end"])
    verdict = "PASS" if acc >= TARGET_ACCEPTED else "FAIL"
    return "\n".join([
        f"### Titanic benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"{runs} runs; {CLIENTS} concurrent clients (one request in flight each); SQLite WAL with "
        f"`synchronous=FULL` (each request on disk before its 200); acceptance window {duration:g} s; end to end "
        f"{e2e_requests} requests through `servers.echo` until every reply is stored. Broker, Titanic, echo and "
        "the client process share the machine's cores. Medians.",
        "",
        "| measure | median | runs | target | result |",
        "|---|---:|---|---:|---|",
        f"| accepted/s, target service down (requests accumulate) | {acc:,.0f} | {_runs(results['accepted'])} | "
        f"≥ {TARGET_ACCEPTED:,.0f} | {verdict} |",
        f"| accepted/s while dispatching to echo | {live:,.0f} | {_runs(results['accepted_dispatching'])} | — | — |",
        f"| end to end/s | {e2e:,.0f} | {_runs(results['end_to_end'])} | — | — |",
        "",
        f"Machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} after. "
        "Reproduce: `.venv/bin/python -m tests.perf.bench_titanic`.",
    ])


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--runs``, ``--duration``, ``--requests``, ``--no-doc``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0, help="acceptance window, seconds")
    parser.add_argument("--requests", type=int, default=2000, help="end-to-end requests per run")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args(argv)
    results = measure(args.runs, args.duration, args.requests)
    section = report(results, args.runs, args.duration, args.requests)
    print(section)
    if not args.no_doc:
        replace_section("titanic", section, "## Titanic")


if __name__ == "__main__":
    main()
