"""One 7/MDP v0.1 echo worker in its own process, for the broker benchmark.

Registers with ``READY``, answers every ``REQUEST`` with a ``REPLY`` carrying
the same body, sends a ``HEARTBEAT`` every ``--heartbeat`` seconds (so a real
broker does not expire it), ignores broker heartbeats, and re-registers on a
broker ``DISCONNECT``. Prints ``ready`` once its ``READY`` has been queued.
Run as::

    python -m tests.perf.bench_worker --connect tcp://127.0.0.1:5555
"""

from __future__ import annotations

import argparse
import sys
import time

import zmq

from tests.perf.wire import (
    BENCH_SERVICE,
    DISCONNECT,
    HEARTBEAT,
    MDPW01,
    READY,
    REPLY,
    REQUEST,
    exit_on_sigterm,
    new_socket,
)


def _connect(ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str, service: bytes) -> zmq.Socket[bytes]:
    """Open a DEALER to the broker and register.

    Args:
        ctx: ZeroMQ context.
        endpoint: Broker endpoint.
        service: Service name to announce.

    Returns:
        The connected socket.
    """
    sock = new_socket(ctx, zmq.DEALER)
    sock.connect(endpoint)
    sock.send_multipart([b"", MDPW01, READY, service])
    return sock


def serve(endpoint: str, service: bytes, heartbeat: float) -> None:
    """Answer requests until terminated.

    Args:
        endpoint: Broker endpoint.
        service: Service name to register.
        heartbeat: Seconds between the worker's heartbeats.
    """
    ctx = zmq.Context()
    sock = _connect(ctx, endpoint, service)
    print("ready", flush=True)
    interval_ns = int(heartbeat * 1e9)
    next_beat = time.monotonic_ns() + interval_ns
    poll_ms = max(1, min(1000, int(heartbeat * 1000)))
    nb = zmq.NOBLOCK
    try:
        while True:
            sock.poll(poll_ms, zmq.POLLIN)
            recv = sock.recv_multipart
            send = sock.send_multipart
            while True:
                try:
                    frames = recv(nb)
                except zmq.Again:
                    break
                if len(frames) < 3:
                    continue
                command = frames[2]
                if command == REQUEST:
                    send([b"", MDPW01, REPLY, *frames[3:]])
                elif command == DISCONNECT:
                    sock.close(0)
                    sock = _connect(ctx, endpoint, service)
                    break
            now = time.monotonic_ns()
            if now >= next_beat:
                sock.send_multipart([b"", MDPW01, HEARTBEAT])
                next_beat = now + interval_ns
    finally:
        sock.close(0)
        ctx.term()


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connect", required=True, help="broker endpoint")
    parser.add_argument("--service", default=BENCH_SERVICE.decode(), help="service name (default: bench)")
    parser.add_argument("--heartbeat", type=float, default=2.5, help="seconds between heartbeats (default 2.5)")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    try:
        serve(args.connect, args.service.encode(), args.heartbeat)
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
