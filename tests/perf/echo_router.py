"""No-hop echo: a ROUTER that sends every message straight back to its sender.

This is the transport's physical limit for the benchmark: clients send the same
7/MDP client frames they would send to a broker and get them back unchanged,
with no worker hop. Run as::

    python -m tests.perf.echo_router --bind tcp://127.0.0.1:5555
"""

from __future__ import annotations


import zmq

from tests.perf.wire import new_socket, run_bound_server


def serve(endpoint: str) -> None:
    """Echo every multipart message back to its sender until terminated.

    Args:
        endpoint: ZeroMQ endpoint to bind, e.g. ``tcp://127.0.0.1:5555``.
    """
    ctx = zmq.Context()
    sock = new_socket(ctx, zmq.ROUTER)
    try:
        sock.bind(endpoint)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        recv = sock.recv_multipart
        send = sock.send_multipart
        nb = zmq.NOBLOCK
        while True:
            if not poller.poll(1000):
                continue
            while True:
                try:
                    frames = recv(nb, copy=False)
                except zmq.Again:
                    break
                send(frames, copy=False)
    finally:
        sock.close(0)
        ctx.term()


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.
    """
    run_bound_server(serve, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
