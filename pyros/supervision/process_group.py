"""Run a group of service processes and keep them in their target state.

:class:`ProcessGroup` owns the child processes of one host. Each child has a
target state (up or down); :meth:`ProcessGroup.poll` — called every few tenths
of a second by the supervisor's loop — notices exits, asks the
:class:`~pyros.supervision.restart_policy.RestartPolicy` what to do, and
spawns children whose restart time has come. Stopping sends SIGTERM, then
SIGKILL after a grace time. Each child's standard output and error go to its
own log file.

Children can be added, removed and given a new command line while the group
runs (the supervisor's ``reload``): a removed child is stopped like any other
and leaves the group once its process has exited.

Only process management lives here: publishing states to the K/V store and the
``supervisor.<host>`` MDP service are built on top of it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Mapping, Sequence

import psutil

from pyros.supervision.restart_policy import Action, ChildHistory, ChildState, RestartPolicy


@dataclass(frozen=True)
class ChildSpec:
    """How to run one service process.

    Attributes:
        name: Service name, unique on the host.
        argv: Command line.
        env: Extra environment variables.
        cwd: Working directory (default: the supervisor's).
    """

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None


@dataclass
class _Child:
    spec: ChildSpec
    target_up: bool = False
    history: ChildHistory = field(default_factory=ChildHistory)
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    restart_at: float | None = None
    stop_deadline: float | None = None
    started_at: float | None = None
    restarts: int = 0
    last_exit: int | None = None
    reason: str = ""
    respawn_after_stop: bool = False
    removing: bool = False


class ProcessGroup:
    """The supervised processes of one host.

    Args:
        specs: The children.
        log_dir: Where ``<name>.log`` files are written.
        policy: Restart policy.
        grace: Seconds between SIGTERM and SIGKILL when stopping.
        clock: Monotonic clock.
        rng: Random source for the policy's jitter.
        spawn: Starts a process (``subprocess.Popen`` by default; injectable for tests).
    """

    def __init__(self, specs: Sequence[ChildSpec], log_dir: str | Path, *, policy: RestartPolicy | None = None,
                 grace: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None,
                 spawn: Callable[..., subprocess.Popen[bytes]] = subprocess.Popen) -> None:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate child names in {names}")
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.policy = policy or RestartPolicy()
        self.grace = grace
        self._clock = clock
        self._rng = rng or random.Random()
        self._spawn = spawn
        self._children = {s.name: _Child(s) for s in specs}

    @property
    def names(self) -> list[str]:
        """Child names, in configuration order (children being removed left out)."""
        return [name for name, child in self._children.items() if not child.removing]

    def specs(self) -> list[ChildSpec]:
        """The children's specs, in configuration order (children being removed left out)."""
        return [child.spec for child in self._children.values() if not child.removing]

    def log_path(self, name: str) -> Path:
        """The log file of a child."""
        self._child(name)
        return self.log_dir / f"{name}.log"

    def _child(self, name: str) -> _Child:
        child = self._children.get(name)
        if child is None:
            raise KeyError(f"no service {name!r} on this host; known: {', '.join(self._children) or 'none'}")
        return child

    # -------------------------------------------------------------- commands

    def start(self, name: str) -> None:
        """Set the target state up; spawn now unless it is already running (clears FATAL).

        A child still stopping is started again as soon as its process has exited.
        """
        child = self._child(name)
        if child.history.state is ChildState.STOPPING:
            child.respawn_after_stop = True
            return
        child.target_up = True
        if child.history.state is ChildState.FATAL:
            child.history = self.policy.reset(child.history)
        if child.history.state in (ChildState.STOPPED, ChildState.BACKOFF):
            self._spawn_child(child, self._clock())

    def stop(self, name: str) -> None:
        """Set the target state down; SIGTERM now, SIGKILL after the grace time."""
        child = self._child(name)
        child.target_up = False
        child.restart_at = None
        child.respawn_after_stop = False
        state = child.history.state
        if state in (ChildState.STARTING, ChildState.RUNNING):
            child.history = self.policy.on_stop_requested(child.history)
            child.stop_deadline = self._clock() + self.grace
            self._signal(child, signal.SIGTERM)
        elif state is ChildState.BACKOFF:
            child.history = self.policy.on_stop_requested(child.history)

    def restart(self, name: str) -> None:
        """Stop (if running) and start again as soon as the old process has exited (clears FATAL)."""
        self.stop(name)
        self.start(name)

    def add(self, spec: ChildSpec) -> None:
        """Add a child with its target state down (:meth:`start` it).

        A child that is being removed and still stopping is kept, with the new spec.

        Raises:
            ValueError: if the group already has a child of that name.
        """
        existing = self._children.get(spec.name)
        if existing is None:
            self._children[spec.name] = _Child(spec)
        elif existing.removing:
            existing.spec = spec
            existing.removing = False
        else:
            raise ValueError(f"service {spec.name!r} is already supervised")

    def remove(self, name: str) -> None:
        """Stop a child and drop it from the group once its process has exited."""
        child = self._child(name)
        self.stop(name)
        child.removing = True
        self._drop_if_removed(child)

    def replace(self, spec: ChildSpec) -> None:
        """Give a child a new spec; restart it with that spec if its target state is up.

        A child whose target state is down keeps it and uses the new spec at its next start.
        """
        child = self._child(spec.name)
        child.spec = spec
        if child.target_up or child.respawn_after_stop:
            self.restart(spec.name)

    def start_all(self) -> None:
        """Start every child."""
        for name in self._children:
            self.start(name)

    def stop_all(self, timeout: float | None = None) -> None:
        """Stop every child and wait (polling) until all have exited or ``timeout`` passes."""
        for name in list(self._children):
            self.stop(name)
        deadline = self._clock() + (self.grace + 5.0 if timeout is None else timeout)
        while self.any_alive() and self._clock() < deadline:
            self.poll()
            time.sleep(0.02)
        self.poll()

    # ----------------------------------------------------------------- loop

    def poll(self) -> None:
        """Reap exits, apply the policy, escalate stops, spawn what is due."""
        now = self._clock()
        for child in list(self._children.values()):
            process = child.process
            if process is not None:
                code = process.poll()
                if code is None:
                    if child.history.state is ChildState.STARTING:
                        child.history = self.policy.on_started(child.history, now)
                    if child.stop_deadline is not None and now >= child.stop_deadline:
                        self._signal(child, signal.SIGKILL)
                        child.stop_deadline = None
                    continue
                self._reap(child, code, now)
            if child.target_up and child.restart_at is not None and now >= child.restart_at:
                self._spawn_child(child, now)

    def any_alive(self) -> bool:
        """True while any child process runs."""
        return any(c.process is not None and c.process.poll() is None for c in self._children.values())

    def _reap(self, child: _Child, code: int, now: float) -> None:
        child.process = None
        child.last_exit = code
        child.stop_deadline = None
        if child.log is not None:
            child.log.close()
            child.log = None
        decision = self.policy.on_exit(child.history, now, child.started_at, code, expected=not child.target_up,
                                       rng=self._rng)
        child.history = decision.history
        child.reason = decision.reason
        child.restart_at = decision.at if decision.action is Action.RESTART else None
        if self._drop_if_removed(child):
            return
        if child.respawn_after_stop:  # the second half of restart()
            child.respawn_after_stop = False
            child.target_up = True
            self._spawn_child(child, now)

    def _drop_if_removed(self, child: _Child) -> bool:
        """Drop a child being removed once it has no process; return whether it was dropped."""
        if not child.removing or child.process is not None:
            return False
        del self._children[child.spec.name]
        return True

    def _spawn_child(self, child: _Child, now: float) -> None:
        if child.started_at is not None:
            child.restarts += 1
        child.history = self.policy.on_starting(child.history, now)
        log = open(self.log_path(child.spec.name), "ab")  # noqa: SIM115 - closed when the child is reaped
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {' '.join(child.spec.argv)}\n".encode())
        log.flush()
        env = dict(os.environ)
        env.update(child.spec.env)
        try:
            child.process = self._spawn(list(child.spec.argv), stdout=log, stderr=subprocess.STDOUT, env=env,
                                        cwd=child.spec.cwd, start_new_session=True)
        except OSError as exc:
            log.write(f"--- cannot start: {exc}\n".encode())
            log.close()
            decision = self.policy.on_exit(child.history, now, now, None, expected=False, rng=self._rng)
            child.history, child.reason = decision.history, f"cannot start: {exc}; {decision.reason}"
            child.restart_at = decision.at if decision.action is Action.RESTART else None
            return
        child.log = log
        child.started_at = now
        child.restart_at = None

    @staticmethod
    def _signal(child: _Child, sig: int) -> None:
        if child.process is not None and child.process.poll() is None:
            try:
                child.process.send_signal(sig)
            except ProcessLookupError:
                pass

    # --------------------------------------------------------------- status

    def status(self) -> list[dict[str, Any]]:
        """One row per child: name, state, target, pid, uptime, restarts, CPU seconds, RSS MiB, last exit, reason."""
        now = self._clock()
        rows = []
        for name, child in self._children.items():
            alive = child.process is not None and child.process.poll() is None
            cpu_s = rss_mib = None
            if alive and child.process is not None:
                try:
                    usage = psutil.Process(child.process.pid)
                    times = usage.cpu_times()
                    cpu_s = round(times.user + times.system, 2)
                    rss_mib = round(usage.memory_info().rss / 2**20, 1)
                except psutil.Error:  # exited between poll() and here
                    pass
            rows.append({
                "name": name,
                "state": child.history.state.name.lower(),
                "target": "up" if child.target_up else "down",
                "pid": child.process.pid if alive and child.process is not None else None,
                "uptime": now - child.started_at if alive and child.started_at is not None else None,
                "restarts": child.restarts,
                "cpu_s": cpu_s,
                "rss_mib": rss_mib,
                "last_exit": child.last_exit,
                "reason": child.reason,
            })
        return rows
