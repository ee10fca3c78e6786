"""7/MDP v0.1 frame constants and socket helpers shared by the benchmark processes.

The benchmark keeps its own copy of the few protocol bytes it needs so that it
measures the broker against the wire format, independently of the package code.
"""

from __future__ import annotations

import argparse
import signal
from typing import Callable, Final

import zmq

MDPC01: Final = b"MDPC01"
"""7/MDP client header."""
MDPW01: Final = b"MDPW01"
"""7/MDP worker header."""
READY: Final = b"\x01"
REQUEST: Final = b"\x02"
REPLY: Final = b"\x03"
HEARTBEAT: Final = b"\x04"
DISCONNECT: Final = b"\x05"

BENCH_SERVICE: Final = b"bench"
"""Service name the benchmark workers register and the clients call."""
PROBE_SERVICE: Final = b"bench.probe"
"""Service name of the start-up probe, distinct so it never takes bench traffic."""


def new_socket(ctx: zmq.Context[zmq.Socket[bytes]], kind: int) -> zmq.Socket[bytes]:
    """Create a socket that never blocks process exit.

    Args:
        ctx: ZeroMQ context.
        kind: Socket type, e.g. ``zmq.DEALER``.

    Returns:
        The socket with ``LINGER=0``.
    """
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    return sock


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit(0)`` so ``finally`` blocks close sockets."""

    def _handler(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _handler)



def run_bound_server(serve: Callable[[str], None], description: str, argv: list[str] | None = None) -> None:
    """Command line of a reference broker: ``--bind ENDPOINT``, then serve until SIGTERM or Ctrl-C.

    Args:
        serve: Serves on the endpoint it is given until the process is told to stop.
        description: First line of the program's help.
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bind", required=True, help="endpoint to bind, e.g. tcp://127.0.0.1:5555")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    try:
        serve(args.bind)
    except KeyboardInterrupt:
        pass
