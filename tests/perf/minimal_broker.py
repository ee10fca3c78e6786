"""Minimal 7/MDP routing loop: the protocol's throughput limit in Python.

One ROUTER socket; every poll drains all ready messages without blocking; idle
workers and waiting requests live in per-service deques. Frames are forwarded
as they come, without validation, heartbeats, expiry or statistics:

* worker ``READY [service]``: the worker joins the service's idle deque;
* client ``REQUEST [client, "", MDPC01, service, body...]``: sent to an idle
  worker as ``[worker, "", MDPW01, 0x02, client, "", body...]`` or queued;
* worker ``REPLY [worker, "", MDPW01, 0x03, client, "", body...]``: sent to the
  client as ``[client, "", MDPC01, service, body...]``; the worker becomes idle
  again and takes the oldest queued request of its service, if any;
* anything else (worker ``HEARTBEAT``, ``DISCONNECT``, garbage) is ignored.

The only state besides the deques is the service each worker announced, which
is needed to address the reply. Run as::

    python -m tests.perf.minimal_broker --bind tcp://127.0.0.1:5555
"""

from __future__ import annotations

from collections import deque

import zmq

from tests.perf.wire import MDPC01, MDPW01, READY, REPLY, REQUEST, new_socket, run_bound_server


class _Service:
    """Idle workers and waiting requests of one service."""

    __slots__ = ("idle", "waiting")

    def __init__(self) -> None:
        """Create empty deques."""
        self.idle: deque[bytes] = deque()
        self.waiting: deque[list[bytes]] = deque()


def serve(endpoint: str) -> None:
    """Route 7/MDP requests and replies until terminated.

    Args:
        endpoint: ZeroMQ endpoint to bind, e.g. ``tcp://127.0.0.1:5555``.
    """
    ctx = zmq.Context()
    sock = new_socket(ctx, zmq.ROUTER)
    services: dict[bytes, _Service] = {}
    service_of: dict[bytes, bytes] = {}
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
                    frames = recv(nb)
                except zmq.Again:
                    break
                if len(frames) < 4:
                    continue
                sender = frames[0]
                header = frames[2]
                if header == MDPC01:
                    service = services.get(frames[3])
                    if service is None:
                        service = services[frames[3]] = _Service()
                    if service.idle:
                        send([service.idle.popleft(), b"", MDPW01, REQUEST, sender, b"", *frames[4:]])
                    else:
                        service.waiting.append(frames)
                elif header == MDPW01:
                    command = frames[3]
                    if command == REPLY:
                        name = service_of.get(sender)
                        if name is None or len(frames) < 6:
                            continue
                        send([frames[4], b"", MDPC01, name, *frames[6:]])
                    elif command == READY and len(frames) > 4:
                        name = frames[4]
                        service_of[sender] = name
                        if name not in services:
                            services[name] = _Service()
                    else:
                        continue
                    service = services[name]
                    if service.waiting:
                        request = service.waiting.popleft()
                        send([sender, b"", MDPW01, REQUEST, request[0], b"", *request[4:]])
                    else:
                        service.idle.append(sender)
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
