"""The one notion of observatory time (ARCHITECTURE.md section 5).

Observatory logic (night boundaries, hold times, poll periods, schedules,
exposure and slew durations, scenario times, FITS ``DATE-OBS``) asks a
:class:`Clock` for the time and never calls :func:`time.time` or
:meth:`datetime.datetime.now` itself. Protocol machinery (heartbeats, TTLs,
socket timeouts) keeps using the monotonic wall clock.

A clock is either *real* (observatory time is UTC as read from the wall
clock) or *simulated*. A simulated clock is the linear map::

    obs = start + speed * (wall - anchor)

where ``wall`` is the UNIX wall time (real UTC, :func:`time.time`),
``anchor`` the wall instant at which observatory time was ``start``, and
``speed`` the number of observatory seconds that pass per wall second. The
three numbers are written in the runtime configuration
(:meth:`Clock.to_config`), so every process computes the same observatory
time without exchanging messages.

Every conversion is an exact linear map (or its inverse), so a night run at
100x gives the same sequence of observatory instants as the same night at
10x; only the wall time it takes changes.

Instants are float UNIX seconds (UTC). A simulated clock keeps its ``start``
at microsecond resolution (the resolution of ISO 8601 text written by
:func:`format_instant`), so a clock rebuilt from :meth:`Clock.to_config`
computes exactly the same times as the original.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Protocol

__all__ = [
    "Clock",
    "ClockSettings",
    "format_instant",
    "get_clock",
    "next_multiple",
    "parse_instant",
    "set_clock",
]

_MODES = ("real", "simulated")


class ClockSettings(Protocol):
    """What :meth:`Clock.from_config` reads: the ``clock`` section of the config.

    :class:`pyros.config.ClockConfig` satisfies it; a plain mapping with the
    same keys (such as the result of :meth:`Clock.to_config`) is accepted too.
    """

    @property
    def mode(self) -> str:
        """``"real"`` or ``"simulated"``."""
        ...

    @property
    def start(self) -> str | float | datetime | None:
        """Observatory instant at the anchor (simulated mode only)."""
        ...

    @property
    def speed(self) -> float:
        """Observatory seconds per wall second."""
        ...

    @property
    def anchor(self) -> str | float | datetime | None:
        """Wall instant at which observatory time equals ``start``."""
        ...


def parse_instant(value: str | float | datetime) -> float:
    """Turn an instant into float UNIX seconds (UTC).

    Args:
        value: UNIX seconds (int or float, or a string holding a number), an
            ISO 8601 string with an explicit offset (``Z`` or ``+HH:MM``), or
            a timezone-aware :class:`~datetime.datetime`.

    Returns:
        The instant as UNIX seconds.

    Raises:
        ValueError: If the value is not finite, is an ISO string or datetime
            without a time zone (ambiguous: give ``Z`` for UTC), cannot be
            parsed, or is of another type. The message names the value.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid instant {value!r}: expected UNIX seconds or an ISO 8601 string, got bool")
    if isinstance(value, (int, float)):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise ValueError(f"invalid instant {value!r}: not a finite number of seconds")
        return seconds
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"invalid instant {value!r}: datetime has no time zone (use UTC)")
        return value.timestamp()
    if isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            pass
        else:
            if not math.isfinite(seconds):
                raise ValueError(f"invalid instant {value!r}: not a finite number of seconds")
            return seconds
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"invalid instant {value!r}: not UNIX seconds nor an ISO 8601 date and time") from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValueError(f"invalid instant {value!r}: ISO 8601 time has no offset (append 'Z' for UTC)")
        return parsed.timestamp()
    raise ValueError(
        f"invalid instant {value!r}: expected UNIX seconds or an ISO 8601 string, got {type(value).__name__}"
    )


def _to_datetime(seconds: float) -> datetime:
    """Return the aware UTC datetime of UNIX ``seconds`` (nearest microsecond)."""
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"instant {seconds!r} is outside the range of dates") from None


def format_instant(seconds: float) -> str:
    """Format UNIX seconds as ISO 8601 UTC text ending in ``Z``.

    Microseconds are written only when non-zero; the text parses back with
    :func:`parse_instant` to the instant rounded to the microsecond.

    Args:
        seconds: The instant as UNIX seconds.

    Returns:
        Text such as ``2024-06-01T04:00:00Z`` or ``2024-06-01T04:00:00.250000Z``.

    Raises:
        ValueError: If the instant is not finite or not a representable date.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        raise ValueError(f"cannot format instant {seconds!r}: expected finite UNIX seconds")
    return _to_datetime(seconds).isoformat().replace("+00:00", "Z")


def next_multiple(instant: float, period: float) -> float:
    """The first multiple of ``period`` (seconds since the UNIX epoch) strictly after ``instant``.

    Periodic work (the monitor's polls, the majordome's ticks, the scheduler's looks) waits for
    it rather than for ``period`` after its last round: its rounds fall on one grid of
    observatory time, the same in every process, at every clock speed, however long each round
    took, so that a night replayed at another speed sees its rounds at the same instants.

    Args:
        instant: Observatory UNIX seconds.
        period: Seconds, > 0.

    Raises:
        ValueError: If ``period`` is not a positive finite number or ``instant`` is not finite.
    """
    if isinstance(period, bool) or not isinstance(period, (int, float)) or not math.isfinite(period) or period <= 0:
        raise ValueError(f"period must be a positive number of seconds, got {period!r}")
    if isinstance(instant, bool) or not isinstance(instant, (int, float)) or not math.isfinite(instant):
        raise ValueError(f"instant must be finite UNIX seconds, got {instant!r}")
    return (math.floor(instant / period) + 1) * period


def _quantise(seconds: float) -> float:
    """Round an instant to the microsecond, the resolution of ISO 8601 text."""
    return _to_datetime(seconds).timestamp()


def _check_duration(name: str, seconds: float) -> float:
    """Return ``seconds`` as a float, raising ValueError if negative or not finite."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ValueError(f"{name} must be a number of seconds, got {type(seconds).__name__} {seconds!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {seconds!r}")
    return float(seconds)


def _check_number(name: str, value: float) -> float:
    """Return ``value`` as a float, raising ValueError if not a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


class Clock:
    """Observatory time: real UTC or a simulated linear clock.

    A clock is immutable after construction and safe to share between
    threads. The ``wall``, ``monotonic`` and ``sleeper`` functions are
    injectable so that tests run on fake time.

    Args:
        start: Observatory instant at the anchor (UNIX seconds, ISO 8601
            text with an offset, or an aware datetime); ``None`` for real
            time. Kept at microsecond resolution.
        speed: Observatory seconds per wall second; must be > 0, and 1.0
            for a real clock.
        anchor: Wall instant (UNIX seconds, ISO text or aware datetime) at
            which observatory time equals ``start``; ``None`` means the
            wall time at construction. Must be ``None`` for a real clock.
        wall: Reads the wall clock in UNIX seconds (default :func:`time.time`).
        monotonic: Reads the monotonic clock (default :func:`time.monotonic`).
        sleeper: Sleeps for wall seconds (default :func:`time.sleep`).

    Raises:
        ValueError: If ``speed`` is not a finite number > 0, if a real clock
            is given a speed other than 1.0 or an anchor, or if ``start`` or
            ``anchor`` is not a valid instant.
    """

    __slots__ = ("_anchor", "_monotonic", "_sleeper", "_speed", "_start", "_wall")

    def __init__(
        self,
        start: float | str | datetime | None = None,
        speed: float = 1.0,
        anchor: float | str | datetime | None = None,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleeper: Callable[[float], None] = time.sleep,
    ) -> None:
        if isinstance(speed, bool) or not isinstance(speed, (int, float)):
            raise ValueError(f"speed must be a number > 0, got {type(speed).__name__} {speed!r}")
        if not math.isfinite(speed) or speed <= 0:
            raise ValueError(f"speed must be a finite number > 0, got {speed!r}")
        self._wall = wall
        self._monotonic = monotonic
        self._sleeper = sleeper
        self._speed = float(speed)
        if start is None:
            if self._speed != 1.0:
                raise ValueError(f"speed must be 1.0 for a real clock (start is None), got {speed!r}")
            if anchor is not None:
                raise ValueError(f"anchor {anchor!r} given for a real clock (start is None)")
            self._start: float | None = None
            self._anchor: float | None = None
        else:
            self._start = _quantise(parse_instant(start))
            self._anchor = float(wall()) if anchor is None else parse_instant(anchor)

    # ------------------------------------------------------------------ construction

    @classmethod
    def real(
        cls,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleeper: Callable[[float], None] = time.sleep,
    ) -> Clock:
        """Return a clock that reads real UTC.

        Args:
            wall: Wall-clock function (injectable for tests).
            monotonic: Monotonic-clock function.
            sleeper: Sleep function taking wall seconds.

        Returns:
            A real clock.
        """
        return cls(None, 1.0, None, wall=wall, monotonic=monotonic, sleeper=sleeper)

    @classmethod
    def simulated(
        cls,
        start: float | str | datetime,
        speed: float = 1.0,
        anchor: float | str | datetime | None = None,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleeper: Callable[[float], None] = time.sleep,
    ) -> Clock:
        """Return a simulated clock.

        Args:
            start: Observatory instant at the anchor.
            speed: Observatory seconds per wall second (> 0).
            anchor: Wall instant at which observatory time is ``start``;
                ``None`` for now.
            wall: Wall-clock function (injectable for tests).
            monotonic: Monotonic-clock function.
            sleeper: Sleep function taking wall seconds.

        Returns:
            A simulated clock.

        Raises:
            ValueError: If ``start`` is None or any argument is invalid.
        """
        if start is None:
            raise ValueError("a simulated clock needs a start instant, got None")
        return cls(start, speed, anchor, wall=wall, monotonic=monotonic, sleeper=sleeper)

    @classmethod
    def from_config(
        cls,
        clock_cfg: ClockSettings | Mapping[str, Any],
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleeper: Callable[[float], None] = time.sleep,
    ) -> Clock:
        """Build a clock from the ``clock`` section of the configuration.

        Args:
            clock_cfg: A :class:`pyros.config.ClockConfig`, or a mapping with
                the keys ``mode``, ``start``, ``speed`` and ``anchor``
                (missing keys take the defaults: real mode, speed 1.0).
            wall: Wall-clock function (injectable for tests).
            monotonic: Monotonic-clock function.
            sleeper: Sleep function taking wall seconds.

        Returns:
            The clock the section describes. In simulated mode with no
            anchor, the anchor is the wall time now.

        Raises:
            ValueError: If the mode is unknown, a simulated clock has no
                start, a real clock has a start, anchor or speed other than
                1.0, or a value is invalid.
        """
        if isinstance(clock_cfg, Mapping):
            unknown = set(clock_cfg) - {"mode", "start", "speed", "anchor"}
            if unknown:
                raise ValueError(f"unknown clock setting(s): {', '.join(sorted(map(str, unknown)))}")
            mode = clock_cfg.get("mode", "real")
            start = clock_cfg.get("start")
            speed = clock_cfg.get("speed", 1.0)
            anchor = clock_cfg.get("anchor")
        else:
            mode, start, speed, anchor = clock_cfg.mode, clock_cfg.start, clock_cfg.speed, clock_cfg.anchor
        if mode not in _MODES:
            raise ValueError(f"clock mode must be 'real' or 'simulated', got {mode!r}")
        if mode == "real":
            if start is not None:
                raise ValueError(f"clock start {start!r} given in real mode")
            return cls(None, speed, anchor, wall=wall, monotonic=monotonic, sleeper=sleeper)
        if start is None:
            raise ValueError("clock mode 'simulated' needs a start instant")
        return cls(start, speed, anchor, wall=wall, monotonic=monotonic, sleeper=sleeper)

    def to_config(self) -> dict[str, Any]:
        """Return the ``clock`` config values that reproduce this clock exactly.

        Put them in the runtime configuration of child processes so they
        compute the same observatory time. Keys whose value would be
        ``None`` are omitted (TOML has no null).

        Returns:
            ``{"mode": "real", "speed": 1.0}`` or ``{"mode": "simulated",
            "start": <ISO 8601 text>, "speed": <float>, "anchor": <UNIX
            seconds>}``.
        """
        if self._start is None:
            return {"mode": "real", "speed": 1.0}
        return {
            "mode": "simulated",
            "start": format_instant(self._start),
            "speed": self._speed,
            "anchor": self._anchor,
        }

    # ------------------------------------------------------------------ properties

    @property
    def is_simulated(self) -> bool:
        """True for a simulated clock, False for real UTC."""
        return self._start is not None

    @property
    def speed(self) -> float:
        """Observatory seconds per wall second (1.0 for a real clock)."""
        return self._speed

    @property
    def start(self) -> float | None:
        """Observatory instant at the anchor (UNIX seconds), None if real."""
        return self._start

    @property
    def anchor(self) -> float | None:
        """Wall instant (UNIX seconds) at which time was ``start``, None if real."""
        return self._anchor

    def __repr__(self) -> str:
        if self._start is None:
            return "Clock.real()"
        return f"Clock.simulated(start={format_instant(self._start)!r}, speed={self._speed!r}, anchor={self._anchor!r})"

    # ------------------------------------------------------------------ reading the time

    def obs_time_of(self, wall_instant: float) -> float:
        """Return the observatory instant at a given wall instant.

        Args:
            wall_instant: UNIX wall seconds.

        Returns:
            Observatory UNIX seconds.
        """
        if self._start is None or self._anchor is None:
            return wall_instant
        return self._start + self._speed * (wall_instant - self._anchor)

    def now(self) -> float:
        """Return the observatory time now, in UNIX seconds (UTC)."""
        return self.obs_time_of(self._wall())

    def now_datetime(self) -> datetime:
        """Return the observatory time now as an aware UTC datetime."""
        return _to_datetime(self.now())

    def isoformat(self) -> str:
        """Return the observatory time now as ISO 8601 text ending in ``Z``."""
        return format_instant(self.now())

    # ------------------------------------------------------------------ conversions

    def wall_delay(self, obs_seconds: float) -> float:
        """Convert an observatory duration into wall seconds (divide by speed).

        Args:
            obs_seconds: A duration in observatory seconds (may be negative).

        Returns:
            The wall duration.
        """
        return obs_seconds / self._speed

    def obs_delay(self, wall_seconds: float) -> float:
        """Convert a wall duration into observatory seconds (multiply by speed).

        Args:
            wall_seconds: A duration in wall seconds (may be negative).

        Returns:
            The observatory duration.
        """
        return wall_seconds * self._speed

    def wall_time_of(self, obs_instant: float) -> float:
        """Return the UNIX wall instant at which an observatory instant occurs.

        Args:
            obs_instant: Observatory UNIX seconds.

        Returns:
            Wall UNIX seconds (in the past if the instant has passed).
        """
        if self._start is None or self._anchor is None:
            return obs_instant
        return self._anchor + (obs_instant - self._start) / self._speed

    def monotonic_deadline(self, obs_instant: float) -> float:
        """Return the monotonic-clock reading at which an observatory instant occurs.

        Use it to drive poll loops and socket timeouts, which run on the
        monotonic clock and are immune to wall-clock steps.

        Args:
            obs_instant: Observatory UNIX seconds.

        Returns:
            The value :func:`time.monotonic` (or the injected function) will
            have at that instant.
        """
        remaining = self.wall_time_of(obs_instant) - self._wall()
        return self._monotonic() + remaining

    def wall_datetime_of(self, obs_datetime: datetime) -> datetime:
        """Return the wall datetime at which an observatory datetime occurs.

        Feed the result to APScheduler 3.x (or anything else that reads the
        wall clock) so a job defined in observatory time fires at the right
        moment.

        Args:
            obs_datetime: An aware observatory datetime.

        Returns:
            The aware UTC wall datetime.

        Raises:
            ValueError: If ``obs_datetime`` is naive.
        """
        if not isinstance(obs_datetime, datetime):
            raise ValueError(f"expected an aware datetime, got {type(obs_datetime).__name__} {obs_datetime!r}")
        return _to_datetime(self.wall_time_of(parse_instant(obs_datetime)))

    # ------------------------------------------------------------------ waiting

    def sleep(self, obs_seconds: float) -> None:
        """Sleep for an observatory duration (its wall equivalent).

        Args:
            obs_seconds: Observatory seconds, >= 0.

        Raises:
            ValueError: If ``obs_seconds`` is negative or not finite.
        """
        seconds = _check_duration("obs_seconds", obs_seconds)
        if seconds > 0:
            self._sleeper(self.wall_delay(seconds))

    def sleep_until(self, obs_instant: float) -> None:
        """Sleep until an observatory instant; return at once if it has passed.

        Args:
            obs_instant: Observatory UNIX seconds.

        Raises:
            ValueError: If ``obs_instant`` is not a finite number.
        """
        remaining = self.wall_time_of(_check_number("obs_instant", obs_instant)) - self._wall()
        if remaining > 0:
            self._sleeper(remaining)

    def wait(self, event: threading.Event, obs_seconds: float | None) -> bool:
        """Wait for an event with a timeout in observatory seconds.

        Args:
            event: The event to wait for.
            obs_seconds: Observatory seconds (>= 0), or None to wait forever.

        Returns:
            True if the event is set, False on timeout.

        Raises:
            ValueError: If ``obs_seconds`` is negative or not finite.
        """
        if obs_seconds is None:
            return event.wait()
        return event.wait(self.wall_delay(_check_duration("obs_seconds", obs_seconds)))

    def wait_until(self, event: threading.Event, obs_instant: float) -> bool:
        """Wait for an event until an observatory instant.

        Args:
            event: The event to wait for.
            obs_instant: Observatory UNIX seconds (if passed, only checks the event).

        Returns:
            True if the event is set, False on timeout.

        Raises:
            ValueError: If ``obs_instant`` is not a finite number.
        """
        remaining = self.wall_time_of(_check_number("obs_instant", obs_instant)) - self._wall()
        return event.wait(max(0.0, remaining))

    def call_later(self, obs_seconds: float, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> threading.Timer:
        """Call ``fn(*args, **kwargs)`` in a daemon thread after an observatory delay.

        Args:
            obs_seconds: Observatory seconds, >= 0.
            fn: The function to call.
            *args: Positional arguments for ``fn``.
            **kwargs: Keyword arguments for ``fn``.

        Returns:
            The started timer; ``cancel()`` stops it if it has not fired.

        Raises:
            ValueError: If ``obs_seconds`` is negative or not finite.
        """
        delay = self.wall_delay(_check_duration("obs_seconds", obs_seconds))
        timer = threading.Timer(delay, fn, args, kwargs)
        timer.daemon = True
        timer.start()
        return timer

    def call_at(self, obs_instant: float, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> threading.Timer:
        """Call ``fn(*args, **kwargs)`` in a daemon thread at an observatory instant.

        Args:
            obs_instant: Observatory UNIX seconds; if passed, ``fn`` runs at once.
            fn: The function to call.
            *args: Positional arguments for ``fn``.
            **kwargs: Keyword arguments for ``fn``.

        Returns:
            The started timer; ``cancel()`` stops it if it has not fired.

        Raises:
            ValueError: If ``obs_instant`` is not a finite number.
        """
        delay = max(0.0, self.wall_time_of(_check_number("obs_instant", obs_instant)) - self._wall())
        timer = threading.Timer(delay, fn, args, kwargs)
        timer.daemon = True
        timer.start()
        return timer


_clock_lock = threading.Lock()
_clock: Clock = Clock.real()


def get_clock() -> Clock:
    """Return the process-wide observatory clock (real UTC unless set)."""
    return _clock


def set_clock(clock: Clock) -> Clock:
    """Install the process-wide observatory clock.

    Args:
        clock: The clock every component of this process should use.

    Returns:
        The clock that was installed before (handy to restore it in tests).

    Raises:
        TypeError: If ``clock`` is not a :class:`Clock`.
    """
    global _clock
    if not isinstance(clock, Clock):
        raise TypeError(f"set_clock expects a Clock, got {type(clock).__name__}")
    with _clock_lock:
        previous, _clock = _clock, clock
    return previous
