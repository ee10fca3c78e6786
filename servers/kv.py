"""The K/V (Clone) server process.

Run it with ``python -m servers.kv --snapshot tcp://127.0.0.1:5556
--publisher tcp://127.0.0.1:5557 --collector tcp://127.0.0.1:5558``.
SIGINT and SIGTERM stop it cleanly.
"""

from __future__ import annotations

import argparse
import sys

from pyros.kv.server import CloneServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv: Arguments without the program name (``sys.argv[1:]`` by default).

    Returns:
        The parsed options.
    """
    parser = argparse.ArgumentParser(prog="python -m servers.kv", description="PyROS K/V (12/CHP) server")
    parser.add_argument("--snapshot", required=True, help="endpoint to bind the snapshot ROUTER socket on")
    parser.add_argument("--publisher", required=True, help="endpoint to bind the updates PUB socket on")
    parser.add_argument("--collector", required=True, help="endpoint to bind the collector PULL socket on")
    parser.add_argument("--hugz-interval", type=float, default=1.0,
                        help="seconds of silence after which a HUGZ is published (default 1.0)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not args.hugz_interval > 0:
        parser.error("--hugz-interval must be > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point: bind, serve until SIGINT/SIGTERM, return the exit status."""
    args = parse_args(argv)
    server = CloneServer(args.snapshot, args.publisher, args.collector, hugz_interval=args.hugz_interval)
    server.install_signal_handlers()
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
