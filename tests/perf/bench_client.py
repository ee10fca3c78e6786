"""Benchmark clients: C pipelined 7/MDP v0.1 DEALER clients in one process.

Each client keeps K requests ``["", MDPC01, "bench", body]`` in flight; the
body is an 8-byte big-endian sequence number followed by padding up to the body
size. Latency is ``perf_counter_ns`` at receive minus at send, matched by the
sequence number. Replies must come back as ``["", MDPC01, service, body]``
with the same body size; anything else counts as an error.

Protocol with the harness: the process connects, prints ``ready``, then reads
one line from stdin:

* ``timed WARM T0 T1`` (``time.monotonic_ns`` values): send from ``WARM``,
  record completions in ``[T0, T1)``, stop at ``T1``;
* ``count N``: complete ``N`` requests in total (split over the clients).

Results go to ``OUT.json`` (counters) and ``OUT.lat`` (int64 latencies in ns,
native byte order). The process exits on its own; a stall (no reply for
``--stall`` seconds while requests are in flight) ends it with ``stalled``.
"""

from __future__ import annotations

import argparse
import json
import select
import struct
import sys
import time
from array import array
from pathlib import Path
from typing import Any

import zmq

from tests.perf.wire import BENCH_SERVICE, MDPC01, exit_on_sigterm, new_socket

_SEQ = struct.Struct(">Q")


def _wait_command(timeout: float) -> list[str]:
    """Read the harness' start command from stdin.

    Args:
        timeout: Seconds to wait for it.

    Returns:
        The command split on whitespace.

    Raises:
        TimeoutError: No command came in time.
    """
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    if not ready:
        raise TimeoutError("no start command from the harness")
    line = sys.stdin.readline()
    if not line:
        raise TimeoutError("harness closed stdin")
    return line.split()


def run(
    socks: list[zmq.Socket[bytes]],
    inflight: int,
    size: int,
    service: bytes,
    command: list[str],
    stall_s: float,
) -> tuple[dict[str, Any], array[int]]:
    """Drive the clients until the window ends or the count is reached.

    Args:
        socks: Connected DEALER sockets, one per client.
        inflight: Requests each client keeps in flight.
        size: Body size in bytes (at least 8).
        service: Service name to call.
        command: ``["timed", warm, t0, t1]`` or ``["count", n]``.
        stall_s: Seconds without any reply after which the run is abandoned.

    Returns:
        Counters and the recorded latencies in nanoseconds.
    """
    clock = time.perf_counter_ns
    offset = time.monotonic_ns() - clock()
    timed = command[0] == "timed"
    if timed:
        warm, t0, t1 = (int(v) - offset for v in command[1:4])
        budget = [1 << 62] * len(socks)
    else:
        warm = t0 = clock()
        t1 = 1 << 62
        total = int(command[1])
        budget = [total // len(socks) + (1 if i < total % len(socks) else 0) for i in range(len(socks))]
    pad = b"\x00" * (size - _SEQ.size)
    pack = _SEQ.pack
    unpack_from = _SEQ.unpack_from
    pending: dict[int, int] = {}
    latencies: array[int] = array("q")
    record = latencies.append
    seq = 0
    sent = [0] * len(socks)
    received = 0
    completed = 0
    errors = 0
    stalled = False

    delay = (warm - clock()) / 1e9
    if delay > 0:
        time.sleep(delay)
    for i, sock in enumerate(socks):
        for _ in range(min(inflight, budget[i])):
            seq += 1
            pending[seq] = clock()
            sock.send_multipart([b"", MDPC01, service, pack(seq) + pad])
            sent[i] += 1
    poller = zmq.Poller()
    index: dict[zmq.Socket[bytes], int] = {}
    for i, sock in enumerate(socks):
        poller.register(sock, zmq.POLLIN)
        index[sock] = i
    nb = zmq.NOBLOCK
    stall_ns = int(stall_s * 1e9)
    last_progress = clock()
    while pending:
        now = clock()
        if now >= t1:
            break
        events = poller.poll(min(100, max(1, (t1 - now) // 1_000_000)))
        if not events:
            if clock() - last_progress > stall_ns:
                stalled = True
                break
            continue
        for sock, _ in events:
            i = index[sock]
            while True:
                try:
                    frames = sock.recv_multipart(nb)
                except zmq.Again:
                    break
                now = clock()
                received += 1
                body = frames[-1]
                key = unpack_from(body)[0] if len(body) >= 8 else -1
                started = pending.pop(key, None)
                if started is None or len(frames) != 4 or frames[1] != MDPC01 or len(body) != size:
                    errors += 1
                    continue
                if t0 <= now < t1:
                    record(now - started)
                    completed += 1
                if now < t1 and sent[i] < budget[i]:
                    seq += 1
                    pending[seq] = clock()
                    sock.send_multipart([b"", MDPC01, service, pack(seq) + pad])
                    sent[i] += 1
        last_progress = clock()
    end = min(clock(), t1)
    lost = sum(1 for started in pending.values() if end - started > 1_000_000_000)
    counters = {
        "completed": completed,
        "received": received,
        "sent": sum(sent),
        "errors": errors,
        "stalled": stalled,
        "lost": lost if timed else len(pending),
        "window_ns": (t1 - t0) if timed else end - t0,
    }
    return counters, latencies


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, connect, wait for the start command and run.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connect", required=True, help="broker endpoint")
    parser.add_argument("--clients", type=int, default=1, help="DEALER sockets in this process")
    parser.add_argument("--inflight", type=int, default=1, help="requests in flight per client")
    parser.add_argument("--size", type=int, default=64, help="body size in bytes (>= 8)")
    parser.add_argument("--service", default=BENCH_SERVICE.decode(), help="service to call")
    parser.add_argument("--stall", type=float, default=10.0, help="seconds without replies before giving up")
    parser.add_argument("--out", required=True, type=Path, help="result path prefix (.json and .lat are added)")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    size = max(8, args.size)
    ctx = zmq.Context()
    socks = [new_socket(ctx, zmq.DEALER) for _ in range(args.clients)]
    try:
        for sock in socks:
            sock.connect(args.connect)
        print("ready", flush=True)
        command = _wait_command(60.0)
        counters, latencies = run(socks, args.inflight, size, args.service.encode(), command, args.stall)
        args.out.with_suffix(".lat").write_bytes(latencies.tobytes())
        args.out.with_suffix(".json").write_text(json.dumps(counters))
    finally:
        for sock in socks:
            sock.close(0)
        ctx.term()


if __name__ == "__main__":
    main()
