"""When to restart a supervised service process, and when to give up.

The supervisor starts each configured service as its own process. When one
exits, the supervisor asks a :class:`RestartPolicy` what to do; the answer is
a :class:`Decision`: restart at a given time, stop (the exit was expected), or
give up (FATAL) because the process keeps dying quickly.

Everything here is pure: the caller passes the current time (``now``, float
seconds on whatever clock the supervisor uses) and, where jitter is applied, a
:class:`random.Random`. Nothing sleeps, spawns or starts threads, and no input
is mutated: every transition returns a new :class:`ChildHistory`.

The ideas follow the OCS host manager: a failure counts against a process
only if its run was short (shorter than ``stable_after``), quick failures are
only remembered for ``window`` seconds, and ``max_quick_failures`` of them
inside the window mean the process is given up on. Restart delays grow
geometrically from ``initial_backoff`` up to ``max_backoff``, and a run that
lasted ``stable_after`` seconds or more resets that growth.

State machine of one child (:data:`ALLOWED_TRANSITIONS`)::

    STOPPED  -> STARTING                     (start requested)
    STARTING -> RUNNING                      (process is up)
    STARTING -> BACKOFF | FATAL | STOPPED    (process exited during start)
    STARTING -> STOPPING                     (stop requested)
    RUNNING  -> BACKOFF | FATAL | STOPPED    (process exited)
    RUNNING  -> STOPPING                     (stop requested)
    BACKOFF  -> STARTING                     (restart time reached)
    BACKOFF  -> STOPPED                      (stop requested while waiting)
    STOPPING -> STOPPED                      (process exited after stop)
    FATAL    -> STOPPED                      (operator reset)

Typical use by a supervisor::

    history = policy.on_starting(ChildHistory(), now)   # spawned
    history = policy.on_started(history, now)           # confirmed up
    ...
    decision = policy.on_exit(history, now, None, code, expected=False, rng=rng)
    history = decision.history
    if decision.action is Action.RESTART:
        ...  # spawn again at decision.at, calling on_starting
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

__all__ = [
    "ALLOWED_TRANSITIONS",
    "Action",
    "ChildHistory",
    "ChildState",
    "Decision",
    "RestartPolicy",
    "check_transition",
]


class ChildState(enum.Enum):
    """Lifecycle state of one supervised child process."""

    STOPPED = "stopped"
    """No process, none wanted (initial state, or after an expected exit)."""
    STARTING = "starting"
    """The process was spawned and is not yet confirmed up."""
    RUNNING = "running"
    """The process is up."""
    BACKOFF = "backoff"
    """The process died unexpectedly; a restart is scheduled."""
    STOPPING = "stopping"
    """A stop was requested; waiting for the process to exit."""
    FATAL = "fatal"
    """The process kept dying quickly and was given up on until a reset."""


ALLOWED_TRANSITIONS: Mapping[ChildState, frozenset[ChildState]] = MappingProxyType(
    {
        ChildState.STOPPED: frozenset({ChildState.STARTING}),
        ChildState.STARTING: frozenset(
            {
                ChildState.RUNNING,
                ChildState.BACKOFF,
                ChildState.FATAL,
                ChildState.STOPPED,
                ChildState.STOPPING,
            }
        ),
        ChildState.RUNNING: frozenset(
            {
                ChildState.BACKOFF,
                ChildState.FATAL,
                ChildState.STOPPED,
                ChildState.STOPPING,
            }
        ),
        ChildState.BACKOFF: frozenset({ChildState.STARTING, ChildState.STOPPED}),
        ChildState.STOPPING: frozenset({ChildState.STOPPED}),
        ChildState.FATAL: frozenset({ChildState.STOPPED}),
    }
)
"""For each state, the states a child may move to next (see the module doc).

A state never "transitions" to itself; operations that leave the state
unchanged do not go through :func:`check_transition`.
"""


def check_transition(old: ChildState, new: ChildState) -> None:
    """Refuse a state change that the state machine does not allow.

    Args:
        old: The current state.
        new: The requested next state.

    Raises:
        ValueError: If ``old -> new`` is not in :data:`ALLOWED_TRANSITIONS`.
    """
    allowed = ALLOWED_TRANSITIONS[old]
    if new not in allowed:
        choices = ", ".join(sorted(s.name for s in allowed)) or "nothing"
        raise ValueError(
            f"illegal child state transition {old.name} -> {new.name}; "
            f"from {old.name} only {choices} is allowed"
        )


class Action(enum.Enum):
    """What the supervisor should do after a child exited."""

    RESTART = "restart"
    """Spawn the child again at :attr:`Decision.at`."""
    FATAL = "fatal"
    """Give up on the child until an operator resets it."""
    STOPPED = "stopped"
    """The exit was expected; leave the child down."""


@dataclass(frozen=True)
class ChildHistory:
    """What the policy remembers about one child; never mutated.

    Attributes:
        state: The child's current lifecycle state.
        quick_failures: Times of unexpected exits of unstable runs (runs
            shorter than ``stable_after``), oldest first, not yet forgotten.
        consecutive_failures: Unexpected exits since the last stable run.
        current_backoff: The last restart delay scheduled, before jitter;
            ``0.0`` when the backoff is reset.
        started_at: When the current (or last) process was spawned, if ever.
    """

    state: ChildState = ChildState.STOPPED
    quick_failures: tuple[float, ...] = ()
    consecutive_failures: int = 0
    current_backoff: float = 0.0
    started_at: float | None = None


@dataclass(frozen=True)
class Decision:
    """The answer of :meth:`RestartPolicy.on_exit`.

    Attributes:
        action: Restart, give up, or stay stopped.
        history: The child's history after the exit (state BACKOFF, FATAL or
            STOPPED to match ``action``).
        at: For RESTART, when to spawn the child again (``now + delay``);
            otherwise None.
        delay: For RESTART, the jittered backoff in seconds; otherwise None.
        reason: Human-readable explanation, for logs and status displays.
    """

    action: Action
    history: ChildHistory
    at: float | None = None
    delay: float | None = None
    reason: str = ""


def _check_number(name: str, value: object) -> float:
    """Return ``value`` as a finite float, or raise ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def _describe_exit(exit_code: int | None) -> str:
    """Say in words how a process ended, for a target state of "up"."""
    if exit_code is None:
        return "exited with an unknown status"
    if exit_code == 0:
        return "exited by itself with code 0"
    if exit_code < 0:
        return f"crashed (killed by signal {-exit_code})"
    return f"crashed with exit code {exit_code}"


@dataclass(frozen=True)
class RestartPolicy:
    """Restart settings and the pure transitions of a child's history.

    Attributes:
        initial_backoff: First restart delay in seconds (> 0).
        max_backoff: Largest restart delay in seconds (>= initial_backoff).
        multiplier: Growth factor of the delay per quick failure (>= 1).
        jitter: Fraction in [0, 1]; each delay is multiplied by a uniform
            factor in ``[1 - jitter, 1 + jitter]``.
        stable_after: A run at least this long (seconds) is a stable start,
            which resets the backoff and the consecutive failure count (> 0).
        window: Quick failures older than this many seconds are forgotten
            (> 0).
        max_quick_failures: This many quick failures inside ``window`` make
            the child FATAL (integer >= 1).
    """

    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.2
    stable_after: float = 10.0
    window: float = 60.0
    max_quick_failures: int = 5

    def __post_init__(self) -> None:
        """Validate the settings.

        Raises:
            ValueError: Naming the first invalid field.
        """
        initial = _check_number("initial_backoff", self.initial_backoff)
        if initial <= 0:
            raise ValueError(f"initial_backoff must be > 0, got {self.initial_backoff!r}")
        maximum = _check_number("max_backoff", self.max_backoff)
        if maximum < initial:
            raise ValueError(
                f"max_backoff must be >= initial_backoff ({self.initial_backoff!r}), "
                f"got {self.max_backoff!r}"
            )
        if _check_number("multiplier", self.multiplier) < 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier!r}")
        jitter = _check_number("jitter", self.jitter)
        if not 0 <= jitter <= 1:
            raise ValueError(f"jitter must be within [0, 1], got {self.jitter!r}")
        if _check_number("stable_after", self.stable_after) <= 0:
            raise ValueError(f"stable_after must be > 0, got {self.stable_after!r}")
        if _check_number("window", self.window) <= 0:
            raise ValueError(f"window must be > 0, got {self.window!r}")
        if (
            isinstance(self.max_quick_failures, bool)
            or not isinstance(self.max_quick_failures, int)
            or self.max_quick_failures < 1
        ):
            raise ValueError(
                f"max_quick_failures must be an integer >= 1, "
                f"got {self.max_quick_failures!r}"
            )

    # -- helpers -----------------------------------------------------------

    def recent_failures(self, history: ChildHistory, now: float) -> tuple[float, ...]:
        """Return the quick failures of ``history`` still inside the window.

        A failure at time ``t`` is kept while ``now - t <= window``.

        Args:
            history: The child's history.
            now: The current time.

        Returns:
            The kept failure times, oldest first.
        """
        return tuple(t for t in history.quick_failures if now - t <= self.window)

    def stability(self, history: ChildHistory, now: float) -> float:
        """Quantify how stable a child is, like the OCS stability factor.

        Args:
            history: The child's history.
            now: The current time.

        Returns:
            1.0 with no quick failure inside the window, falling linearly to
            0.0 at ``max_quick_failures`` of them.
        """
        count = len(self.recent_failures(history, now))
        return max(0.0, 1.0 - count / self.max_quick_failures)

    def _jittered(self, base: float, rng: random.Random) -> float:
        """Apply ±jitter to ``base``, clamped to exactly that range."""
        if self.jitter == 0:
            return base
        low = base * (1.0 - self.jitter)
        high = base * (1.0 + self.jitter)
        value = base * (1.0 + rng.uniform(-self.jitter, self.jitter))
        return min(max(value, low), high)

    @staticmethod
    def _move(history: ChildHistory, new: ChildState) -> ChildHistory:
        """Return ``history`` in state ``new`` after checking the transition."""
        check_transition(history.state, new)
        return replace(history, state=new)

    # -- transitions -------------------------------------------------------

    def on_starting(self, history: ChildHistory, now: float) -> ChildHistory:
        """Record that the child's process was just spawned.

        Args:
            history: The child's history, in STOPPED or BACKOFF.
            now: The spawn time; runs are measured from it.

        Returns:
            The history in STARTING.

        Raises:
            ValueError: From any other state (a FATAL child needs
                :meth:`reset` first).
        """
        _check_number("now", now)
        return replace(
            self._move(history, ChildState.STARTING),
            started_at=float(now),
            quick_failures=self.recent_failures(history, now),
        )

    def on_started(self, history: ChildHistory, now: float) -> ChildHistory:
        """Record that the spawned process is up (e.g. its worker registered).

        The run length still counts from the spawn time of
        :meth:`on_starting`; ``now`` only serves to forget old failures.

        Args:
            history: The child's history, in STARTING.
            now: The current time.

        Returns:
            The history in RUNNING.

        Raises:
            ValueError: From any state other than STARTING.
        """
        _check_number("now", now)
        started_at = history.started_at if history.started_at is not None else float(now)
        return replace(
            self._move(history, ChildState.RUNNING),
            started_at=started_at,
            quick_failures=self.recent_failures(history, now),
        )

    def on_stop_requested(self, history: ChildHistory) -> ChildHistory:
        """Record that the target state became "down".

        Args:
            history: The child's history.

        Returns:
            STARTING/RUNNING -> STOPPING (the caller then signals the
            process); BACKOFF -> STOPPED (the pending restart is cancelled);
            STOPPED, STOPPING and FATAL are returned unchanged.
        """
        if history.state in (ChildState.STARTING, ChildState.RUNNING):
            return self._move(history, ChildState.STOPPING)
        if history.state is ChildState.BACKOFF:
            return self._move(history, ChildState.STOPPED)
        return history

    def on_exit(
        self,
        history: ChildHistory,
        now: float,
        started_at: float | None,
        exit_code: int | None,
        expected: bool,
        *,
        rng: random.Random,
    ) -> Decision:
        """Decide what to do after the child's process exited.

        An exit is a failure unless ``expected`` is true (the target state is
        "down") or the child was STOPPING. Exit code 0 while the target state
        is "up" is still a failure: a service should not exit by itself.

        A failing run that lasted at least ``stable_after`` resets the backoff
        and the consecutive count and is restarted after ``initial_backoff``.
        A shorter run is a quick failure: it is remembered for ``window``
        seconds and the delay grows by ``multiplier`` up to ``max_backoff``;
        when ``max_quick_failures`` quick failures lie inside the window the
        child becomes FATAL.

        Args:
            history: The child's history, in STARTING, RUNNING or STOPPING.
            now: The exit time.
            started_at: When the exited process was spawned; None to use
                ``history.started_at`` (or ``now`` if that is unknown).
            exit_code: The process's return code (negative: killed by that
                signal), or None if unknown.
            expected: True if the child is meant to be down.
            rng: Source of the jitter.

        Returns:
            The decision, carrying the new history.

        Raises:
            ValueError: If no process was running (state STOPPED, BACKOFF or
                FATAL), or ``started_at`` is after ``now``.
        """
        now = _check_number("now", now)
        if started_at is None:
            started_at = history.started_at if history.started_at is not None else now
        started_at = _check_number("started_at", started_at)
        if started_at > now:
            raise ValueError(f"started_at ({started_at!r}) is after now ({now!r})")
        if history.state not in (ChildState.STARTING, ChildState.RUNNING, ChildState.STOPPING):
            raise ValueError(f"exit reported for a child in state {history.state.name}")
        recent = self.recent_failures(history, now)

        if expected or history.state is ChildState.STOPPING:
            stopped = replace(self._move(history, ChildState.STOPPED), quick_failures=recent)
            return Decision(
                Action.STOPPED,
                stopped,
                reason=f"stopped as requested (exit code {exit_code})",
            )

        how = _describe_exit(exit_code)
        ran = now - started_at
        if ran >= self.stable_after:
            base = self.initial_backoff
            consecutive = 1
            reason = f"{how} after a stable run of {ran:.3g} s"
        else:
            recent = recent + (now,)
            consecutive = history.consecutive_failures + 1
            if history.consecutive_failures == 0 or history.current_backoff <= 0:
                base = self.initial_backoff
            else:
                base = min(history.current_backoff * self.multiplier, self.max_backoff)
            reason = (
                f"{how} after {ran:.3g} s; {len(recent)} quick failure(s) "
                f"within {self.window:g} s"
            )
            if len(recent) >= self.max_quick_failures:
                fatal = replace(
                    self._move(history, ChildState.FATAL),
                    quick_failures=recent,
                    consecutive_failures=consecutive,
                )
                return Decision(
                    Action.FATAL,
                    fatal,
                    reason=(
                        f"giving up: {len(recent)} quick failures (runs shorter "
                        f"than {self.stable_after:g} s) within {self.window:g} s; "
                        f"last {how}"
                    ),
                )
        delay = self._jittered(base, rng)
        waiting = replace(
            self._move(history, ChildState.BACKOFF),
            quick_failures=recent,
            consecutive_failures=consecutive,
            current_backoff=base,
        )
        return Decision(
            Action.RESTART,
            waiting,
            at=now + delay,
            delay=delay,
            reason=f"{reason}; restarting in {delay:.3g} s",
        )

    def reset(self, history: ChildHistory) -> ChildHistory:
        """Forget all failures, as for an operator's manual restart.

        Args:
            history: The child's history.

        Returns:
            A history with no failures and no backoff; a FATAL child becomes
            STOPPED (ready for :meth:`on_starting`), other states are kept.
        """
        state = history.state
        if state is ChildState.FATAL:
            check_transition(state, ChildState.STOPPED)
            state = ChildState.STOPPED
        return replace(
            history,
            state=state,
            quick_failures=(),
            consecutive_failures=0,
            current_backoff=0.0,
        )
