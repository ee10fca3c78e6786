"""A real ``indiserver`` with INDI's simulator drivers on a free loopback port, for integration tests.

Needs Debian's ``indi-bin`` (``indiserver`` and the ``indi_simulator_*`` drivers); without it the
tests skip, which ``PYROS_REQUIRE_ALL=1`` (CI) turns into failures. Each server runs in its own
process group with ``HOME`` in a temporary directory (the simulators keep configuration and park data
in ``~/.indi``) and its own local socket, and the whole group is killed at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from pyros.clock import Clock, get_clock, set_clock
from pyros.testing import free_port, wait_until

START_TIMEOUT = 30.0
"""Seconds for indiserver to listen and a driver to define its properties."""
MOTION_TIMEOUT = 120.0
"""Seconds for a simulated slew, shutter or park (they take 5 to 20 s)."""
TELESCOPE = "Telescope Simulator"
CCD = "CCD Simulator"
DOME = "Dome Simulator"
WHEEL = "Filter Simulator"
WEATHER = "Weather Simulator"


class IndiServer:
    """``indiserver`` with some drivers, in its own process group, on a free loopback port."""

    def __init__(self, directory: Path, drivers: tuple[str, ...]) -> None:
        executable = shutil.which("indiserver")
        if executable is None:
            pytest.skip("indiserver not found on PATH (Debian package indi-bin)")
        missing = [driver for driver in drivers if shutil.which(driver) is None]
        if missing:
            pytest.skip(f"INDI drivers not found on PATH: {', '.join(missing)} (Debian package indi-bin)")
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log_path = directory / "indiserver.log"
        env = dict(os.environ, HOME=str(directory))
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [executable, "-v", "-p", str(self.port), "-u", str(directory / "indiserver.socket"), *drivers],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=directory,
                start_new_session=True)
        try:
            wait_until(self._listening, timeout=START_TIMEOUT, what=f"indiserver listening on port {self.port}")
        except BaseException:
            self.stop()
            raise

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"indiserver exited with status {self.proc.returncode}:\n{self.log()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                return True
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (indiserver and its drivers)."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL it if indiserver is still there after 10 s."""
        self.kill(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.proc.wait(10)
        self.kill(signal.SIGKILL)  # drivers that outlived their server


@pytest.fixture(autouse=True)
def real_clock() -> Iterator[None]:
    """The real observatory clock for the test (INDI simulators move in real time); the previous one after."""
    previous = get_clock()
    set_clock(Clock.real())
    yield
    set_clock(previous)
