"""Helpers for tests that run real PyROS processes over loopback sockets.

``BrokerProcess`` starts ``python -m servers.broker`` on a free loopback port and
waits until it answers ``mmi.echo``; stopping it sends SIGTERM and, if it does
not exit in time, SIGKILL. Nothing here sleeps for a fixed time: every wait is
a poll with a deadline.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from pyros.client import Client
from pyros.errors import TransportError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_endpoint() -> str:
    """Return ``tcp://127.0.0.1:<free port>``."""
    return f"tcp://127.0.0.1:{free_port()}"


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02,
               what: str = "condition") -> None:
    """Poll ``predicate`` until it is true.

    Raises:
        TimeoutError: naming ``what`` if it stays false for ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached within {timeout:g} s")
        time.sleep(interval)


def child_env() -> dict[str, str]:
    """Environment for child Python processes that can import the project."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class ManagedProcess:
    """A child process stopped with SIGTERM, then SIGKILL, on exit."""

    def __init__(self, argv: Sequence[str], *, stdout: int | None = subprocess.DEVNULL,
                 stderr: int | None = None) -> None:
        self.argv = list(argv)
        self.proc = subprocess.Popen(self.argv, env=child_env(), cwd=str(PROJECT_ROOT), stdout=stdout,
                                     stderr=stderr)

    @property
    def pid(self) -> int:
        """Process id."""
        return self.proc.pid

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait, then SIGKILL; return the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return int(self.proc.returncode)

    def kill(self) -> None:
        """SIGKILL at once (a crash, as far as peers can tell)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class BrokerProcess(ManagedProcess):
    """``python -m servers.broker`` on a loopback endpoint, ready when constructed.

    Args:
        endpoint: Where to bind (a free loopback port by default).
        heartbeat_interval: Broker heartbeat interval in seconds.
        heartbeat_liveness: Broker liveness in intervals.
        service_timeout: Wait for absent services, seconds.
        retry_cap: Requeue cap.
        ready_timeout: How long to wait for the broker to answer.
    """

    def __init__(self, endpoint: str | None = None, *, heartbeat_interval: float = 0.5,
                 heartbeat_liveness: int = 3, service_timeout: float = 2.0, retry_cap: int = 3,
                 ready_timeout: float = 20.0, extra: Sequence[str] = ()) -> None:
        self.endpoint = endpoint or free_endpoint()
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_liveness = heartbeat_liveness
        super().__init__([sys.executable, "-m", "servers.broker", "--bind", self.endpoint,
                          "--heartbeat-interval", str(heartbeat_interval),
                          "--heartbeat-liveness", str(heartbeat_liveness),
                          "--service-timeout", str(service_timeout), "--retry-cap", str(retry_cap), *extra],
                         stderr=subprocess.DEVNULL)
        try:
            self.wait_ready(ready_timeout)
        except BaseException:
            self.kill()
            raise

    def wait_ready(self, timeout: float) -> None:
        """Block until the broker answers ``mmi.echo``."""
        deadline = time.monotonic() + timeout
        with Client(self.endpoint, timeout=0.25, retries=0) as client:
            while True:
                if not self.alive():
                    raise RuntimeError(f"broker exited with status {self.proc.returncode}")
                try:
                    client.mmi("mmi.echo", b"ping")
                    return
                except TransportError:
                    if time.monotonic() >= deadline:
                        raise TimeoutError(f"broker on {self.endpoint} not ready after {timeout:g} s") from None

    def __enter__(self) -> BrokerProcess:
        return self

    def client(self, **kw: object) -> Client:
        """A client connected to this broker."""
        return Client(self.endpoint, **kw)  # type: ignore[arg-type]
