"""Recovery benchmark: re-registration after a broker SIGKILL, restart after a worker SIGKILL (``make bench``).

Two figures of issue 3, measured with real processes over loopback TCP:

* **Broker re-registration**: a broker and several ``pyros serve
  servers.echo:EchoService`` worker processes (service ``echo``, one instance
  name each, several slots per name) share one heartbeat interval. The broker
  is SIGKILLed and a new one started at once on the same endpoint; timed from
  the new broker answering MMI until ``mmi.workers`` shows every slot of every
  name registered again (polled every 10 ms). Target: <= 3 heartbeat
  intervals. The time from the SIGKILL itself is reported too.
* **Supervisor restart**: ``pyros start`` supervises one echo service (a
  temporary TOML configuration). Its process is SIGKILLed; timed until
  (a) the supervisor reports a new pid running and (b) ``echo`` answers a
  request again. Target for (b): <= 2 s. Each kill follows a run longer than
  the restart policy's ``stable_after``, so every restart uses the initial
  backoff. The parts are timed too: exit detected by the supervisor, the
  backoff it drew, the new process spawned, the new instance registered with
  the broker, the dead instance's workers forgotten by the broker.

Several runs (5 by default); medians, minima and maxima. Results go to
``docs/performance.md`` between ``<!-- bench:recovery:start -->`` and
``<!-- bench:recovery:end -->``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Mapping, Sequence

import psutil

from pyros.client import Client
from pyros.supervision.restart_policy import RestartPolicy
from pyros.testing import BrokerProcess, ManagedProcess, free_endpoint, wait_until
from tests.perf.doc_section import replace_section

HEADING = "## Recovery"
SERVICE = "echo"
CLASS_PATH = "servers.echo:EchoService"
HOST = "bench"
POLL = 0.01
"""Seconds between two looks at the broker or the supervisor while timing."""
TARGET_INTERVALS = 3.0
"""Broker re-registration target, in heartbeat intervals."""
TARGET_RESTART = 2.0
"""Supervisor restart target (echo answering again), seconds."""
RECOVERY_TIMEOUT = 30.0
"""Seconds a recovery may take before the run is abandoned with an error."""
POLICY = RestartPolicy()
"""The restart policy ``pyros start`` uses (its defaults)."""
_DELAY = re.compile(r"restarting in ([0-9.]+(?:e[-+]?[0-9]+)?) s")

Samples = dict[str, list[float]]


# ------------------------------------------------------------------ helpers


def write_config(directory: Path, endpoint: str, heartbeat_interval: float, heartbeat_liveness: int) -> Path:
    """Write the site configuration of a benchmark: broker, free K/V ports, host ``bench`` with ``echo``.

    Args:
        directory: Where to write ``site.toml``.
        endpoint: Broker endpoint.
        heartbeat_interval: Heartbeat interval of every peer, seconds.
        heartbeat_liveness: Silent intervals before a peer is dead.

    Returns:
        The file's path.
    """
    path = directory / "site.toml"
    path.write_text(f"""
[broker]
endpoint = "{endpoint}"
bind = "{endpoint}"
heartbeat_interval = {heartbeat_interval!r}
heartbeat_liveness = {heartbeat_liveness}

[kv]
snapshot = "{free_endpoint()}"
publisher = "{free_endpoint()}"
collector = "{free_endpoint()}"

[hosts.{HOST}.services.{SERVICE}]
class = "{CLASS_PATH}"
""", encoding="utf-8")
    return path


def pyros(config: Path, *args: str) -> ManagedProcess:
    """Start ``python -m pyros --config CONFIG ARGS...`` with its output discarded."""
    return ManagedProcess([sys.executable, "-m", "pyros", "--config", str(config), *args],
                          stderr=subprocess.DEVNULL)


def watching(predicate: Callable[[], bool], procs: Mapping[str, ManagedProcess]) -> Callable[[], bool]:
    """Wrap ``predicate`` so that it fails at once, naming the process, when one of ``procs`` has exited.

    Raises:
        RuntimeError: from the returned function, when a watched process is gone.
    """
    def check() -> bool:
        for label, proc in procs.items():
            if not proc.alive():
                raise RuntimeError(f"{label} (pid {proc.pid}) exited with status {proc.proc.returncode}")
        return predicate()

    return check


def registered(table: Mapping[str, Mapping[str, int]], expected: Mapping[str, int]) -> bool:
    """True when ``mmi.workers`` shows exactly the expected number of workers for every expected name."""
    return all(table.get(name, {}).get("workers") == count for name, count in expected.items())


def instance_names(table: Mapping[str, Any], pid: int) -> list[str]:
    """Names ``echo.<host>-<pid>`` of the default-named instance run by process ``pid``."""
    return [name for name in table if name.startswith(f"{SERVICE}.") and name.endswith(f"-{pid}")]


class Stages:
    """First times at which the stages of one recovery were seen, in seconds from a start.

    Args:
        timeout: Seconds the recovery may take.
        what: What recovers (for the timeout error).
    """

    def __init__(self, timeout: float, what: str) -> None:
        self.start = time.perf_counter()
        self.timeout = timeout
        self.what = what
        self.at: dict[str, float] = {}

    def mark(self, stage: str) -> None:
        """Record ``stage`` now unless it was already seen."""
        self.at.setdefault(stage, time.perf_counter() - self.start)

    def __contains__(self, stage: str) -> bool:
        return stage in self.at

    def check_deadline(self) -> None:
        """Raise when the recovery took longer than its timeout.

        Raises:
            TimeoutError: naming the stages reached so far.
        """
        if time.perf_counter() - self.start > self.timeout:
            reached = ", ".join(f"{k} at {v:.3f} s" for k, v in self.at.items()) or "none"
            raise TimeoutError(f"{self.what} not done within {self.timeout:g} s; stages reached: {reached}")


def summary(values: Sequence[float], fmt: str = ".3f") -> tuple[str, str, str]:
    """Median, minimum and maximum of ``values``, formatted (``—`` when there are none)."""
    kept = [v for v in values if not math.isnan(v)]
    if not kept:
        return "—", "—", "—"
    return (format(statistics.median(kept), fmt), format(min(kept), fmt), format(max(kept), fmt))


def row(label: str, values: Sequence[float], target: str = "—", result: str = "—", fmt: str = ".3f") -> str:
    """One line of the results table: measure | median | min | max | runs | target | result."""
    median, low, high = summary(values, fmt)
    runs = ", ".join(format(v, fmt) for v in values)
    return f"| {label} | {median} | {low} | {high} | {runs} | {target} | {result} |"


def verdict(values: Sequence[float], limit: float) -> str:
    """``PASS`` when the median of ``values`` is at most ``limit``."""
    return "PASS" if values and statistics.median(values) <= limit else "FAIL"


# ------------------------------------------------------- broker re-registration


def broker_run(brokers: list[BrokerProcess], expected: Mapping[str, int],
               workers: Mapping[str, ManagedProcess]) -> tuple[float, float, float]:
    """SIGKILL the broker, start a new one on its endpoint, wait until every slot is registered again.

    Args:
        brokers: One-element holder of the running broker; replaced by the new one.
        expected: Workers per service name when every slot is registered.
        workers: The worker processes (a dead one fails the run at once).

    Returns:
        ``(new broker start-up, re-registration from the new broker ready, from the SIGKILL)``, seconds.
    """
    old = brokers[0]
    killed = time.perf_counter()
    old.kill()
    brokers[0] = BrokerProcess(old.endpoint, heartbeat_interval=old.heartbeat_interval,
                               heartbeat_liveness=old.heartbeat_liveness)
    ready = time.perf_counter()
    table: dict[str, Any] = {}
    with brokers[0].client(timeout=1.0, retries=2) as client:
        def complete() -> bool:
            table.clear()
            table.update(client.workers())
            return registered(table, expected)

        try:
            wait_until(watching(complete, workers), timeout=RECOVERY_TIMEOUT, interval=POLL,
                       what="re-registration of every worker slot")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; last mmi.workers {table}; expected {dict(expected)}") from None
    done = time.perf_counter()
    return ready - killed, done - ready, done - killed


def measure_broker(runs: int, heartbeat_interval: float, heartbeat_liveness: int, processes: int,
                   slots: int) -> Samples:
    """Re-registration after broker SIGKILLs, ``runs`` times; return the figures per kind (seconds)."""
    results: Samples = {"startup": [], "from_ready": [], "from_kill": []}
    expected = {SERVICE: processes * slots, **{f"{SERVICE}.bench{i}": slots for i in range(processes)}}
    workers: dict[str, ManagedProcess] = {}
    brokers = [BrokerProcess(heartbeat_interval=heartbeat_interval, heartbeat_liveness=heartbeat_liveness)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), brokers[0].endpoint, heartbeat_interval, heartbeat_liveness)
            for i in range(processes):
                workers[f"worker bench{i}"] = pyros(config, "serve", CLASS_PATH, "--name", SERVICE,
                                                    "--instance", f"bench{i}", "--slots", str(slots))
            with brokers[0].client(timeout=1.0, retries=2) as client:
                wait_until(watching(lambda: registered(client.workers(), expected), workers), timeout=60,
                           what=f"{processes} worker processes registered with {slots} slots per name")
            for run in range(runs):
                # Let every slot exchange heartbeats with the current broker before the next crash.
                time.sleep(2 * heartbeat_interval)
                startup, from_ready, from_kill = broker_run(brokers, expected, workers)
                results["startup"].append(startup)
                results["from_ready"].append(from_ready)
                results["from_kill"].append(from_kill)
                print(f"broker run {run + 1}: new broker ready {startup:.3f} s after the SIGKILL; every slot "
                      f"registered {from_ready:.3f} s later ({from_ready / heartbeat_interval:.2f} intervals), "
                      f"{from_kill:.3f} s after the SIGKILL", flush=True)
    finally:
        for proc in workers.values():
            proc.stop()
        brokers[0].stop()
    return results


# ------------------------------------------------------------ supervisor restart


def echo_row(client: Client) -> dict[str, Any]:
    """The supervisor's status row of the echo service."""
    rows = client.call(f"supervisor.{HOST}", "processes")
    for entry in rows:
        if entry["name"] == SERVICE:
            return dict(entry)
    raise RuntimeError(f"supervisor.{HOST} does not list {SERVICE!r}: {rows}")


def backoff_of(reason: str) -> float:
    """The restart delay the supervisor drew, from its reason text (NaN if absent)."""
    found = _DELAY.search(reason or "")
    return float(found.group(1)) if found else math.nan


def wait_stable(client: Client, supervisor: ManagedProcess) -> int:
    """Wait until echo has run for longer than the policy's ``stable_after`` and answers; return its pid."""
    def stable() -> bool:
        entry = echo_row(client)
        return entry["state"] == "running" and (entry["uptime"] or 0.0) >= POLICY.stable_after + 0.2

    wait_until(watching(stable, {"supervisor": supervisor}), timeout=POLICY.stable_after + 60, interval=0.2,
               what=f"echo running for {POLICY.stable_after:g} s under the supervisor")
    if client.call(SERVICE, "echo", text="stable", timeout=5.0, retries=1) != "stable":
        raise RuntimeError("echo answered with something else than its text")
    return int(echo_row(client)["pid"])


def ask_echo(endpoint: str, stages: Stages) -> None:
    """Call ``echo`` once with a client of its own, marking ``asked`` and ``answered`` (run in a thread).

    Raises:
        RuntimeError: when the reply is not the text sent.
    """
    with Client(endpoint, timeout=RECOVERY_TIMEOUT, retries=0) as client:
        stages.mark("asked")
        if client.call(SERVICE, "echo", text="back") != "back":
            raise RuntimeError("echo answered with something else than its text")
        stages.mark("answered")


def supervisor_run(client: Client, supervisor: ManagedProcess, slots: int) -> dict[str, float]:
    """SIGKILL the supervised echo process and time its recovery.

    Once the new instance is registered, one request is sent to ``echo`` from another thread while the
    broker and the supervisor are still polled.

    Returns:
        Seconds from the SIGKILL to each stage: ``detected`` (the supervisor's state left running),
        ``spawned`` (a new child of the supervisor exists), ``reported`` (the supervisor reports the new pid
        running), ``registered`` (every slot of the new instance registered), ``expired`` (the broker holds
        no worker of the dead process any more), ``asked`` (the request to ``echo`` sent), ``answered``
        (``echo`` answered it); plus ``backoff``, the restart delay the supervisor drew, and ``wait``, how
        long that request took (long when the broker handed it to workers of the dead process).
    """
    old_pid = wait_stable(client, supervisor)
    parent = psutil.Process(supervisor.pid)
    new_pid: int | None = None
    backoff = math.nan
    alive = watching(lambda: True, {"supervisor": supervisor})
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ask-echo") as pool:
        answer: Future[None] | None = None
        os.kill(old_pid, signal.SIGKILL)
        stages = Stages(RECOVERY_TIMEOUT, "echo's restart")
        while not (answer is not None and answer.done() and "reported" in stages and "expired" in stages):
            alive()
            stages.check_deadline()
            if new_pid is None:
                new_pid = next((child.pid for child in parent.children() if child.pid != old_pid), None)
                if new_pid is not None:
                    stages.mark("spawned")
            if "reported" not in stages:
                entry = echo_row(client)
                restarted = entry["pid"] not in (None, old_pid)
                if entry["state"] != "running" or restarted:
                    stages.mark("detected")
                    backoff = backoff_of(entry["reason"])
                if entry["state"] == "running" and restarted:
                    stages.mark("reported")
            if "expired" not in stages or "registered" not in stages:
                table = client.workers()
                names = instance_names(table, new_pid) if new_pid is not None else []
                if names and registered(table, {name: slots for name in names}):
                    stages.mark("registered")
                # Only the new instance's workers left, under its own name and under the service name.
                fresh = sum(table[name]["workers"] for name in names)
                if not instance_names(table, old_pid) and table.get(SERVICE, {}).get("workers", 0) == fresh:
                    stages.mark("expired")
            if "registered" in stages and answer is None:
                answer = pool.submit(ask_echo, client.endpoint, stages)
            time.sleep(POLL)
        answer.result()  # re-raise what went wrong in the thread
    return {**stages.at, "backoff": backoff, "wait": stages.at["answered"] - stages.at["asked"]}


def measure_supervisor(runs: int, heartbeat_interval: float, heartbeat_liveness: int) -> tuple[Samples, int]:
    """Restarts of a SIGKILLed echo process by ``pyros start``, ``runs`` times.

    Returns:
        The seconds of each stage per kind (see :func:`supervisor_run`), and the slots per name of the
        supervised echo service.
    """
    kinds = ("detected", "backoff", "spawned", "reported", "expired", "registered", "answered", "wait")
    results: Samples = {kind: [] for kind in kinds}
    supervisor: ManagedProcess | None = None
    orphans: list[psutil.Process] = []
    slots = 0
    with tempfile.TemporaryDirectory() as tmp, \
            BrokerProcess(heartbeat_interval=heartbeat_interval, heartbeat_liveness=heartbeat_liveness) as broker:
        config = write_config(Path(tmp), broker.endpoint, heartbeat_interval, heartbeat_liveness)
        try:
            supervisor = pyros(config, "start", "--host", HOST, "--log-dir", str(Path(tmp) / "logs"))
            with broker.client(timeout=2.0, retries=2) as client:
                wait_until(watching(lambda: client.service_exists(f"supervisor.{HOST}")
                                    and client.service_exists(SERVICE), {"supervisor": supervisor}),
                           timeout=60, what="the supervisor and its echo service registered")
                wait_stable(client, supervisor)  # every slot registered long since
                slots = int(client.workers()[SERVICE]["workers"])
                for run in range(runs):
                    at = supervisor_run(client, supervisor, slots)
                    for kind in kinds:
                        results[kind].append(at[kind])
                    print(f"supervisor run {run + 1}: exit detected {at['detected']:.3f} s, backoff "
                          f"{at['backoff']:.3f} s, spawned {at['spawned']:.3f} s, new instance registered "
                          f"{at['registered']:.3f} s, echo answered {at['answered']:.3f} s (request sent then "
                          f"waited {at['wait']:.3f} s), supervisor reported "
                          f"the new pid {at['reported']:.3f} s, dead instance expired {at['expired']:.3f} s "
                          "after the SIGKILL", flush=True)
        finally:
            if supervisor is not None:
                try:
                    orphans = psutil.Process(supervisor.pid).children(recursive=True)
                except psutil.Error:
                    pass
                supervisor.stop(timeout=30)
            for child in orphans:  # the children run in their own sessions: make sure none outlives us
                try:
                    child.kill()
                except psutil.Error:
                    pass
    return results, slots


# ------------------------------------------------------------------- report


def held_note(supervised: Samples, heartbeat_interval: float, heartbeat_liveness: int) -> str:
    """Say in how many runs the first request after the restart waited for the broker to expire dead workers."""
    held = sum(1 for wait, answered, expired in zip(supervised["wait"], supervised["answered"],
                                                     supervised["expired"])
               if wait > heartbeat_interval / 2 and answered >= expired - 0.05)
    return (f"In {held} of {len(supervised['wait'])} runs the request sent once the new instance had registered "
            "was handed to workers of the dead process (the broker still lists them as waiting, ahead of the new "
            "ones) and was answered only after the broker had expired them: "
            f"{heartbeat_liveness} × {heartbeat_interval:g} s = {heartbeat_liveness * heartbeat_interval:g} s "
            "after their last message.")


def report(broker: Samples, supervised: Samples, runs: int, heartbeat_interval: float, heartbeat_liveness: int,
           processes: int, slots: int, supervised_slots: int, command: str) -> str:
    """Markdown section: setup, the table with medians, minima, maxima and targets, the machine."""
    interval_limit = TARGET_INTERVALS * heartbeat_interval
    intervals = [v / heartbeat_interval for v in broker["from_ready"]]
    registration = verdict(broker["from_ready"], interval_limit)
    restart = verdict(supervised["answered"], TARGET_RESTART)
    policy = (f"initial backoff {POLICY.initial_backoff:g} s ± {POLICY.jitter:.0%}, stable after "
              f"{POLICY.stable_after:g} s")
    return "\n".join([
        f"### Recovery benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"{runs} runs of each; real processes on loopback TCP; heartbeat interval {heartbeat_interval:g} s, "
        f"liveness {heartbeat_liveness} for every peer; MMI and the supervisor polled every {POLL * 1000:g} ms.",
        "",
        f"* **Broker SIGKILL**: {processes} `pyros serve {CLASS_PATH}` processes (names `{SERVICE}` and "
        f"`{SERVICE}.bench<i>`, {slots} slots each: {processes * slots * 2} worker connections). A new broker "
        "is started on the same endpoint as soon as the old one is killed; re-registration is timed from the "
        "new broker answering `mmi.echo` until `mmi.workers` shows every slot of every name.",
        f"* **Worker SIGKILL under `pyros start`**: one supervised `{SERVICE}` (default instance name, "
        f"{supervised_slots} slots per name), killed after a stable run so that each restart uses the initial backoff "
        f"(restart policy: {policy}; the supervisor looks at its children every 0.1 s). Stages from the SIGKILL: "
        "the supervisor's state leaves running; a new child process exists; every slot of the new instance "
        "is registered; `echo` answers (a request sent once registered); the supervisor reports the new pid "
        "running; the broker forgets the dead instance's workers (a message to them fails with EHOSTUNREACH "
        "once their connection has closed; at the latest, liveness expiry).",
        "",
        held_note(supervised, heartbeat_interval, heartbeat_liveness),
        "",
        "| measure | median | min | max | runs | target | result |",
        "|---|---:|---:|---:|---|---:|---|",
        row("broker SIGKILL: all slots re-registered, from new broker ready, s", broker["from_ready"],
            f"≤ {interval_limit:g}", registration),
        row("same, in heartbeat intervals", intervals, f"≤ {TARGET_INTERVALS:g}", registration, fmt=".2f"),
        row("broker SIGKILL: new broker ready (start-up), s", broker["startup"]),
        row("broker SIGKILL: all slots re-registered, from the SIGKILL, s", broker["from_kill"]),
        row("worker SIGKILL: (b) echo answers again, s", supervised["answered"], f"≤ {TARGET_RESTART:g}",
            restart),
        row("worker SIGKILL: (a) supervisor reports a new pid running, s", supervised["reported"]),
        row("— exit detected by the supervisor, s", supervised["detected"]),
        row("— restart backoff drawn, s", supervised["backoff"]),
        row("— new process spawned, s", supervised["spawned"]),
        row("— new instance registered (all slots), s", supervised["registered"]),
        row("— dead instance's workers forgotten by the broker, s", supervised["expired"]),
        row("— wait of the first request sent once registered, s", supervised["wait"]),
        "",
        f"Machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} after. "
        f"Reproduce: `{command}`.",
    ])


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--runs``, ``--heartbeat-interval``, ``--liveness``, ``--workers``, ``--slots``, ``--no-doc``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--heartbeat-interval", type=float, default=2.5,
                        help="seconds, for every peer (default: the site default of etc/pyros.toml)")
    parser.add_argument("--liveness", type=int, default=3, help="heartbeat liveness, intervals")
    parser.add_argument("--workers", type=int, default=3, help="worker processes in the broker benchmark")
    parser.add_argument("--slots", type=int, default=4, help="slots per name of each worker process")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    command = ".venv/bin/python -m tests.perf.bench_recovery" + " ".join(
        [""] + [a for a in (sys.argv[1:] if argv is None else argv) if a != "--no-doc"])
    broker = measure_broker(args.runs, args.heartbeat_interval, args.liveness, args.workers, args.slots)
    supervised, supervised_slots = measure_supervisor(args.runs, args.heartbeat_interval, args.liveness)
    section = report(broker, supervised, args.runs, args.heartbeat_interval, args.liveness, args.workers,
                     args.slots, supervised_slots, command)
    print(section)
    if not args.no_doc:
        replace_section("recovery", section, HEADING)


if __name__ == "__main__":
    main()
