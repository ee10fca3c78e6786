"""Process harness of the broker benchmark: brokers, workers, clients, probes, RSS.

Every party is its own OS process started with ``python -m`` from the
repository root, so brokers, workers and clients never share a GIL. Children
get ``PR_SET_PDEATHSIG`` (Linux) so that they die with the harness, and are
always stopped in ``finally`` blocks (SIGTERM, then SIGKILL after a timeout).
Every wait has a deadline; no receive blocks forever.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import select
import signal
import socket
import subprocess
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import zmq

from tests.perf.wire import (
    DISCONNECT,
    HEARTBEAT,
    MDPC01,
    MDPW01,
    PROBE_SERVICE,
    READY,
    REPLY,
    REQUEST,
    new_socket,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
"""Working directory of every child process."""

START_TIMEOUT = 20.0
"""Seconds a broker, worker or client process may take to become ready."""
STOP_TIMEOUT = 3.0
"""Seconds between SIGTERM and SIGKILL when stopping a child."""
STALL_TIMEOUT = 10.0
"""Seconds without any reply after which a client gives up."""

_PR_SET_PDEATHSIG = 1
try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:  # not glibc Linux: children just lack the death signal
    _LIBC = None


def _die_with_parent() -> None:
    """Ask the kernel to SIGTERM this (child) process when the harness dies."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class HarnessError(RuntimeError):
    """A child process failed to start, answer or finish in time."""


@dataclass(frozen=True)
class Shape:
    """Load shape: clients x workers x requests in flight per client, body size.

    Attributes:
        clients: Number of client DEALER sockets.
        workers: Number of worker processes (ignored by the echo router).
        inflight: Requests each client keeps in flight.
        size: Body size in bytes.
    """

    clients: int
    workers: int
    inflight: int
    size: int

    @property
    def label(self) -> str:
        """Human-readable form, e.g. ``4x2x8 / 64 B``."""
        if self.size % 1024 == 0:
            size = f"{self.size // 1024} KiB"
        else:
            size = f"{self.size} B"
        return f"{self.clients}x{self.workers}x{self.inflight} / {size}"

    @classmethod
    def parse(cls, text: str) -> Shape:
        """Parse ``CxWxK/SIZE`` (SIZE in bytes, or with a ``k`` suffix for KiB).

        Args:
            text: e.g. ``4x2x8/64`` or ``1x1x1/64k``.

        Returns:
            The shape.

        Raises:
            ValueError: Malformed text or non-positive numbers.
        """
        counts, _, size_text = text.strip().partition("/")
        parts = counts.lower().split("x")
        size_text = size_text.strip().lower() or "64"
        if len(parts) != 3:
            raise ValueError(f"shape {text!r} is not CxWxK/SIZE")
        size = int(size_text[:-1]) * 1024 if size_text.endswith("k") else int(size_text)
        shape = cls(int(parts[0]), int(parts[1]), int(parts[2]), size)
        if min(shape.clients, shape.workers, shape.inflight) < 1 or shape.size < 8:
            raise ValueError(f"shape {text!r}: counts must be >= 1 and size >= 8")
        return shape


@dataclass(frozen=True)
class BrokerSpec:
    """How to start one broker under test.

    Attributes:
        name: Short name used in reports (``echo``, ``minimal``, ``pyros``).
        module: Module run with ``python -m``; it must accept ``--bind ENDPOINT``.
        extra_args: Further command-line arguments.
        mdp: Whether it is an MDP broker (needs workers, probed with a round trip
            through a worker) rather than the echo router.
    """

    name: str
    module: str
    extra_args: tuple[str, ...] = ()
    mdp: bool = True

    def argv(self, endpoint: str) -> list[str]:
        """Command line of the broker process.

        Args:
            endpoint: Endpoint to bind.

        Returns:
            The full ``argv``.
        """
        return [sys.executable, "-m", self.module, "--bind", endpoint, *self.extra_args]


class Child:
    """A child process with its log file; stdout/stdin pipes when asked for."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, *, pipes: bool) -> None:
        """Start the process.

        Args:
            name: Label for messages.
            argv: Command line.
            log_path: File receiving stderr (and stdout unless ``pipes``).
            pipes: Give the child a stdin and a stdout pipe (line protocol).
        """
        self.name = name
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._buffer = b""
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            list(argv),
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipes else self._log,
            stderr=self._log,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - the harness is single-threaded
        )

    @property
    def pid(self) -> int:
        """Process id."""
        return self.proc.pid

    def alive(self) -> bool:
        """Tell whether the process is still running."""
        return self.proc.poll() is None

    def read_line(self, timeout: float) -> str:
        """Read one line from the child's stdout pipe.

        Args:
            timeout: Seconds to wait for a complete line.

        Returns:
            The line without its newline.

        Raises:
            HarnessError: Timeout, or the child closed stdout (exited).
        """
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError(f"{self.name}: no output line within {timeout:.0f} s{self.tail()}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    self.proc.poll()
                    raise HarnessError(f"{self.name}: exited (code {self.proc.returncode}){self.tail()}")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode(errors="replace").strip()

    def write_line(self, line: str) -> None:
        """Send one line to the child's stdin.

        Args:
            line: Text without newline.
        """
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def wait(self, timeout: float) -> int:
        """Wait for the child to exit on its own.

        Args:
            timeout: Seconds to wait.

        Returns:
            Its exit code.

        Raises:
            HarnessError: It did not exit in time.
        """
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError(f"{self.name}: still running after {timeout:.0f} s{self.tail()}") from None

    def stop(self) -> None:
        """Stop the child: SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT`; close pipes."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(STOP_TIMEOUT)
        finally:
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    try:
                        pipe.close()
                    except OSError:
                        pass
            self._log.close()

    def tail(self, lines: int = 15) -> str:
        """Last lines of the child's log, formatted for an error message.

        Args:
            lines: How many lines to keep.

        Returns:
            ``""`` for an empty log, else a newline-prefixed indented excerpt.
        """
        try:
            self._log.flush()
            text = self.log_path.read_text(errors="replace").rstrip()
        except (OSError, ValueError):
            return ""
        if not text:
            return ""
        kept = text.splitlines()[-lines:]
        return "\n    " + "\n    ".join(kept)


def stop_all(children: Sequence[Child]) -> None:
    """Stop children in reverse start order, never raising.

    Args:
        children: Processes to stop.
    """
    for child in reversed(children):
        try:
            child.stop()
        except Exception as exc:  # noqa: BLE001 - keep stopping the others
            print(f"warning: could not stop {child.name} (pid {child.pid}): {exc}", file=sys.stderr)


def free_port() -> int:
    """Pick a free TCP port on the loopback interface.

    Returns:
        A port number that was free a moment ago.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    """Resident set size of a process.

    Args:
        pid: Process id.

    Returns:
        ``VmRSS`` from ``/proc/PID/status`` in KiB.

    Raises:
        HarnessError: The process is gone or the field is missing.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError as exc:
        raise HarnessError(f"cannot read RSS of pid {pid}: {exc}") from exc
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise HarnessError(f"no VmRSS for pid {pid}")


def _recv(sock: zmq.Socket[bytes], deadline: float, alive: Callable[[], bool], what: str) -> list[bytes]:
    """Receive one multipart message before a deadline.

    Args:
        sock: Socket to read.
        deadline: ``time.monotonic()`` limit.
        alive: Returns ``False`` once the broker process has died.
        what: Description for the error message.

    Returns:
        The frames.

    Raises:
        HarnessError: Timeout or dead broker.
    """
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise HarnessError(f"probe: no {what} in time")
        if not alive():
            raise HarnessError(f"probe: broker exited while waiting for {what}")
        if sock.poll(int(min(left, 0.1) * 1000) + 1, zmq.POLLIN):
            return sock.recv_multipart(zmq.NOBLOCK)


def probe(endpoint: str, mdp: bool, timeout: float, alive: Callable[[], bool]) -> None:
    """Wait until a broker answers a full round trip.

    For an MDP broker a probe worker registers the ``bench.probe`` service, a
    probe client calls it, the worker answers, the client gets the reply, and
    the worker sends ``DISCONNECT``. For the echo router the client's request
    must simply come back unchanged.

    Args:
        endpoint: Broker endpoint.
        mdp: Probe with a worker (MDP broker) or not (echo router).
        timeout: Seconds for the whole round trip, including broker start-up.
        alive: Returns ``False`` once the broker process has died.

    Raises:
        HarnessError: No correct round trip in time.
    """
    deadline = time.monotonic() + timeout
    ctx = zmq.Context()
    client = new_socket(ctx, zmq.DEALER)
    worker = new_socket(ctx, zmq.DEALER) if mdp else None
    request = [b"", MDPC01, PROBE_SERVICE, b"probe"]
    try:
        if worker is not None:
            worker.connect(endpoint)
            worker.send_multipart([b"", MDPW01, READY, PROBE_SERVICE])
        client.connect(endpoint)
        client.send_multipart(request)
        if worker is not None:
            while True:
                frames = _recv(worker, deadline, alive, "REQUEST at the probe worker")
                if len(frames) >= 3 and frames[1] == MDPW01 and frames[2] == HEARTBEAT:
                    continue
                if len(frames) < 6 or frames[1] != MDPW01 or frames[2] != REQUEST or frames[4] != b"":
                    raise HarnessError(f"probe: worker got unexpected frames {frames!r}")
                worker.send_multipart([b"", MDPW01, REPLY, frames[3], b"", *frames[5:]])
                break
        reply = _recv(client, deadline, alive, "reply at the probe client")
        if reply != request:
            raise HarnessError(f"probe: client got {reply!r}, expected {request!r}")
        if worker is not None:
            worker.send_multipart([b"", MDPW01, DISCONNECT])
            worker.close(linger=500)
    finally:
        client.close(0)
        if worker is not None and not worker.closed:
            worker.close(0)
        ctx.term()


def percentile(sorted_values: Sequence[int], q: float) -> float:
    """Nearest-rank percentile.

    Args:
        sorted_values: Ascending values, not empty.
        q: Quantile in ``(0, 1]``.

    Returns:
        The value at rank ``ceil(q * n)``.
    """
    rank = max(1, math.ceil(q * len(sorted_values)))
    return float(sorted_values[rank - 1])


@dataclass
class Measurement:
    """Outcome of one timed measurement of one broker at one shape.

    Attributes:
        broker: Broker name.
        shape: Load shape.
        ok: No error, loss or stall, and some requests completed.
        req_per_s: Completed requests per second in the window.
        p50_us: Median latency in microseconds.
        p99_us: 99th-percentile latency in microseconds.
        completed: Requests completed in the window.
        note: Why the measurement is not ``ok``.
    """

    broker: str
    shape: Shape
    ok: bool = False
    req_per_s: float = float("nan")
    p50_us: float = float("nan")
    p99_us: float = float("nan")
    completed: int = 0
    note: str = ""


@dataclass
class RssResult:
    """Broker memory before and after a fixed number of requests.

    Attributes:
        broker: Broker name.
        shape: Load shape.
        requests: Requests completed between the two readings.
        before_kib: VmRSS after the warm-up.
        after_kib: VmRSS after the requests.
        seconds: Duration of the counted requests.
        ok: All requests completed without error.
        note: Why the result is not ``ok``.
    """

    broker: str
    shape: Shape
    requests: int
    before_kib: int = 0
    after_kib: int = 0
    seconds: float = float("nan")
    ok: bool = False
    note: str = ""

    @property
    def growth_mib(self) -> float:
        """RSS growth in MiB."""
        return (self.after_kib - self.before_kib) / 1024.0


@dataclass
class _ClientRun:
    """Merged results of the client processes of one run."""

    counters: dict[str, Any] = field(default_factory=dict)
    latencies: array[int] = field(default_factory=lambda: array("q"))
    problems: list[str] = field(default_factory=list)


class Harness:
    """Starts brokers, workers and clients as processes and measures them."""

    def __init__(self, workdir: Path, *, heartbeat: float, client_procs: str, verbose: bool = False) -> None:
        """Configure the harness.

        Args:
            workdir: Directory for logs and client result files.
            heartbeat: Worker heartbeat interval in seconds.
            client_procs: ``single`` (all clients in one process) or ``per-client``.
            verbose: Print each started process to stderr.
        """
        self.workdir = workdir
        self.heartbeat = heartbeat
        self.client_procs = client_procs
        self.verbose = verbose
        self._serial = 0
        self._results = 0

    def _spawn(self, name: str, argv: Sequence[str], *, pipes: bool) -> Child:
        """Start one child with a unique log file.

        Args:
            name: Label.
            argv: Command line.
            pipes: Line protocol over stdin/stdout.

        Returns:
            The child.
        """
        self._serial += 1
        log = self.workdir / f"{self._serial:05d}-{name}.log"
        child = Child(name, argv, log, pipes=pipes)
        if self.verbose:
            print(f"    started {name} pid {child.pid}: {' '.join(argv[2:])}", file=sys.stderr)
        return child

    def start_broker(self, spec: BrokerSpec, children: list[Child]) -> tuple[Child, str]:
        """Start a broker on a free port and wait until a probe round trip succeeds.

        Args:
            spec: Broker to start.
            children: List the new child is appended to (for cleanup).

        Returns:
            The broker child and its endpoint.

        Raises:
            HarnessError: It did not start or answer within :data:`START_TIMEOUT`.
        """
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        broker = self._spawn(spec.name, spec.argv(endpoint), pipes=False)
        children.append(broker)
        try:
            probe(endpoint, spec.mdp, START_TIMEOUT, broker.alive)
        except HarnessError as exc:
            raise HarnessError(f"{spec.name} broker: {exc}{broker.tail()}") from None
        return broker, endpoint

    def start_workers(self, endpoint: str, count: int, children: list[Child]) -> None:
        """Start worker processes and wait until each has sent ``READY``.

        Args:
            endpoint: Broker endpoint.
            count: Number of workers, one process each.
            children: List the new children are appended to.
        """
        argv = [sys.executable, "-m", "tests.perf.bench_worker", "--connect", endpoint]
        argv += ["--heartbeat", str(self.heartbeat)]
        started = []
        for i in range(count):
            child = self._spawn(f"worker{i}", argv, pipes=True)
            children.append(child)
            started.append(child)
        for child in started:
            line = child.read_line(START_TIMEOUT)
            if line != "ready":
                raise HarnessError(f"{child.name}: unexpected output {line!r}")

    def run_clients(self, endpoint: str, shape: Shape, command: Callable[[int], str], timeout: float) -> _ClientRun:
        """Start the client process(es), send them the start command and merge results.

        Args:
            endpoint: Broker endpoint.
            shape: Load shape (clients, in flight, body size).
            command: Start command for process ``i`` (see :mod:`tests.perf.bench_client`).
            timeout: Seconds the clients may run after the start command.

        Returns:
            Summed counters, all latencies and any problems.
        """
        if self.client_procs == "single":
            groups = [shape.clients]
        else:
            groups = [1] * shape.clients
        children: list[Child] = []
        run = _ClientRun()
        try:
            outs = []
            for i, clients in enumerate(groups):
                self._results += 1
                out = self.workdir / f"result-{self._results:05d}"
                argv = [sys.executable, "-m", "tests.perf.bench_client", "--connect", endpoint]
                argv += ["--clients", str(clients), "--inflight", str(shape.inflight), "--size", str(shape.size)]
                argv += ["--stall", str(STALL_TIMEOUT), "--out", str(out)]
                children.append(self._spawn(f"clients{i}", argv, pipes=True))
                outs.append(out)
            for child in children:
                line = child.read_line(START_TIMEOUT)
                if line != "ready":
                    raise HarnessError(f"{child.name}: unexpected output {line!r}")
            for i, child in enumerate(children):
                child.write_line(command(i))
            deadline = time.monotonic() + timeout
            for child, out in zip(children, outs, strict=True):
                code = child.wait(max(0.1, deadline - time.monotonic()))
                if code != 0:
                    run.problems.append(f"{child.name} exited with code {code}{child.tail()}")
                    continue
                counters = json.loads(out.with_suffix(".json").read_text())
                for key, value in counters.items():
                    if key == "window_ns":
                        run.counters[key] = max(run.counters.get(key, 0), value)
                    else:
                        run.counters[key] = run.counters.get(key, 0) + value
                run.latencies.frombytes(out.with_suffix(".lat").read_bytes())
                out.with_suffix(".lat").unlink()
        finally:
            stop_all(children)
        counters = run.counters
        if counters.get("stalled"):
            run.problems.append(f"stalled: no reply for {STALL_TIMEOUT:.0f} s")
        for key in ("errors", "lost"):
            if counters.get(key):
                run.problems.append(f"{counters[key]} {key}")
        return run

    def measure(self, spec: BrokerSpec, shape: Shape, warmup: float, duration: float) -> Measurement:
        """One timed measurement with a fresh broker and fresh workers and clients.

        Args:
            spec: Broker under test.
            shape: Load shape.
            warmup: Seconds of load before recording.
            duration: Seconds of recorded load.

        Returns:
            The measurement; failures are reported in it, not raised.
        """
        result = Measurement(spec.name, shape)
        children: list[Child] = []
        try:
            _, endpoint = self.start_broker(spec, children)
            if spec.mdp:
                self.start_workers(endpoint, shape.workers, children)
            go = time.monotonic_ns() + 50_000_000
            t0 = go + int(warmup * 1e9)
            t1 = t0 + int(duration * 1e9)
            run = self.run_clients(
                endpoint, shape, lambda i: f"timed {go} {t0} {t1}", warmup + duration + STALL_TIMEOUT + 15.0
            )
        except HarnessError as exc:
            result.note = str(exc)
            return result
        finally:
            stop_all(children)
        latencies = sorted(run.latencies)
        result.completed = int(run.counters.get("completed", 0))
        window = run.counters.get("window_ns", 0) / 1e9
        if latencies and window > 0:
            result.req_per_s = result.completed / window
            result.p50_us = percentile(latencies, 0.50) / 1000.0
            result.p99_us = percentile(latencies, 0.99) / 1000.0
        if not latencies:
            run.problems.append("no request completed")
        result.ok = not run.problems
        result.note = "; ".join(run.problems)
        return result

    def measure_rss(self, spec: BrokerSpec, shape: Shape, warm_requests: int, requests: int) -> RssResult:
        """Broker RSS before and after a fixed number of requests.

        Args:
            spec: MDP broker under test.
            shape: Load shape.
            warm_requests: Requests completed before the first reading.
            requests: Requests completed between the readings.

        Returns:
            The readings; failures are reported in it, not raised.
        """
        result = RssResult(spec.name, shape, requests)
        children: list[Child] = []

        def split(total: int) -> Callable[[int], str]:
            groups = 1 if self.client_procs == "single" else shape.clients
            return lambda i: f"count {total // groups + (1 if i < total % groups else 0)}"

        try:
            broker, endpoint = self.start_broker(spec, children)
            if spec.mdp:
                self.start_workers(endpoint, shape.workers, children)
            budget = 60.0 + requests / 500.0
            warm = self.run_clients(endpoint, shape, split(warm_requests), 60.0 + warm_requests / 500.0)
            if warm.problems:
                result.note = "warm-up: " + "; ".join(warm.problems)
                return result
            result.before_kib = rss_kib(broker.pid)
            started = time.monotonic()
            run = self.run_clients(endpoint, shape, split(requests), budget)
            result.seconds = time.monotonic() - started
            result.after_kib = rss_kib(broker.pid)
            done = int(run.counters.get("completed", 0))
            if done != requests:
                run.problems.append(f"{done} of {requests} requests completed")
            result.ok = not run.problems
            result.note = "; ".join(run.problems)
        except HarnessError as exc:
            result.note = str(exc)
        finally:
            stop_all(children)
        return result
