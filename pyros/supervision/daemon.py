"""Running the supervisor in the background: detaching, readiness and the pid file.

:func:`detach` turns the calling process into a daemon the classic way (fork,
``setsid``, fork again; standard input from ``/dev/null``, output and errors
appended to a log file). The original process keeps the read end of a pipe and
waits on it with :func:`wait_ready`; the daemon writes its pid to it with
:func:`notify_ready` once it is up, or exits, which closes the pipe.

:class:`PidFile` holds an exclusive ``flock`` on its file for the life of the
process, so a pid file whose holder is alive is refused and a stale one (its
process died without removing it) is taken over.
"""

from __future__ import annotations

import fcntl
import os
import select
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO


class AlreadyRunning(Exception):
    """A live process holds the pid file.

    Attributes:
        path: The pid file.
        pid: The pid written in it, or None if it could not be read.
    """

    def __init__(self, path: Path, pid: int | None) -> None:
        super().__init__(f"{path} is held by the running process {pid if pid is not None else '(pid unknown)'}")
        self.path = path
        self.pid = pid


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    return int(text) if text.isdigit() else None


class PidFile:
    """A pid file locked with ``flock`` while its process runs.

    Args:
        path: The file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def check(self) -> None:
        """Refuse if a live process holds the file.

        Raises:
            AlreadyRunning: naming the holder's pid.
        """
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(self.path, _read_pid(fd)) from None
        finally:
            os.close(fd)  # releases the shared lock taken to look

    def acquire(self) -> None:
        """Lock the file and write this process's pid into it (a stale file is taken over).

        Raises:
            AlreadyRunning: if a live process holds it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(self.path, pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        """Remove the file and unlock it (nothing happens if it was not acquired)."""
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None


@dataclass(frozen=True)
class Detached:
    """One side of :func:`detach`.

    Attributes:
        in_daemon: True in the daemon, False in the original process.
        ready_fd: The readiness pipe: its write end in the daemon (for :func:`notify_ready`), its read
            end in the original process (for :func:`wait_ready`).
    """

    in_daemon: bool
    ready_fd: int


def _redirect_stdio(log_path: Path) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def detach(log_path: str | Path) -> Detached:
    """Fork a daemon: new session, no terminal, stdin from /dev/null, stdout and stderr appended to ``log_path``.

    Call it before any thread or ZeroMQ context exists. It returns twice: in the
    original process (which should :func:`wait_ready` and exit) and in the
    daemon (which should :func:`notify_ready` once it is up). The daemon keeps
    the working directory, so relative paths of the configuration still hold.

    Args:
        log_path: The daemon's log file (its directory must exist).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    first = os.fork()
    if first > 0:
        os.close(write_fd)
        os.waitpid(first, 0)
        return Detached(in_daemon=False, ready_fd=read_fd)
    os.close(read_fd)
    try:
        os.setsid()
        if os.fork() > 0:
            os._exit(0)  # the session leader goes: the daemon can never get a controlling terminal
        _redirect_stdio(Path(log_path))
    except OSError as exc:
        os.write(2, f"cannot detach: {exc}\n".encode())
        os._exit(1)
    return Detached(in_daemon=True, ready_fd=write_fd)


def notify_ready(ready_fd: int) -> None:
    """In the daemon: tell the original process that it is up (writes the daemon's pid, closes the pipe).

    If the original process is gone (it gave up waiting), the daemon runs on all the same.
    """
    try:
        os.write(ready_fd, f"{os.getpid()}\n".encode("ascii"))
    except BrokenPipeError:
        pass
    finally:
        os.close(ready_fd)


def wait_ready(ready_fd: int, timeout: float) -> int | None:
    """In the original process: wait for the daemon's :func:`notify_ready`.

    Args:
        ready_fd: The read end of the pipe (closed on return).
        timeout: Seconds to wait.

    Returns:
        The daemon's pid, or None if it exited without being ready.

    Raises:
        TimeoutError: if the daemon neither got ready nor exited in time.
    """
    deadline = time.monotonic() + timeout
    received = b""
    try:
        while b"\n" not in received:
            remaining = deadline - time.monotonic()
            readable, _, _ = select.select([ready_fd], [], [], max(0.0, remaining))
            if not readable:
                raise TimeoutError(f"the daemon did not report ready within {timeout:g} s")
            chunk = os.read(ready_fd, 64)
            if not chunk:
                return None
            received += chunk
    finally:
        os.close(ready_fd)
    text = received.split(b"\n", 1)[0].decode("ascii", errors="replace")
    return int(text) if text.isdigit() else None


def read_tail(handle: IO[bytes], lines: int) -> list[str]:
    """Read an open binary file to its end; return its last ``lines`` lines, decoded, with their line ends."""
    return [line.decode(errors="replace") for line in deque(handle, maxlen=max(0, lines))]


def tail(path: str | Path, lines: int) -> list[str]:
    """The last ``lines`` lines of a text file (with their line ends); none if it does not exist."""
    try:
        with Path(path).open("rb") as handle:
            return read_tail(handle, lines)
    except FileNotFoundError:
        return []
