"""A worker process for integration tests: ``python -m tests.integration.worker_proc``.

Modes:
    echo:  answer every request with ``{"args": ..., "pid": ...}``.
    hold:  print ``HOLDING <id>`` on stdout and never answer (to be killed mid-request).
    crash: exit the process at once when a request arrives (dies holding it).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from pyros.messages import decode_request, ok_reply
from pyros.worker import SendPartial, Worker


def main() -> None:
    """Run one worker until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--mode", choices=["echo", "hold", "crash"], default="echo")
    parser.add_argument("--heartbeat-interval", type=float, default=0.5)
    opts = parser.parse_args()
    release = threading.Event()

    def handler(body: list[bytes], send_partial: SendPartial) -> list[bytes]:
        request = decode_request(body[0])
        if opts.mode == "crash":
            os._exit(3)
        if opts.mode == "hold":
            print(f"HOLDING {request.id}", flush=True)
            release.wait()
        return [ok_reply(request.id, {"args": request.args, "pid": os.getpid()})]

    worker = Worker(opts.endpoint, handler, [opts.service], slots=1, heartbeat_interval=opts.heartbeat_interval)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop(timeout=0))
    print("READY", flush=True)
    worker.run()
    sys.exit(0)


if __name__ == "__main__":
    main()
