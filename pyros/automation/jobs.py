"""Job declarations and their fire instants in observatory time.

A job is a table of the core's ``jobs`` list::

    {name = "nightly-thinning", trigger = "cron", cron = {hour = 12, minute = 30},
     action = {builtin = "downsample_history", args = {older_than_days = 7, bucket_minutes = 10}}}
    {name = "poll", trigger = "interval", every_s = 600, action = {service = "echo", command = "ping"}}
    {name = "replan", trigger = "night_start", offset_s = 0,
     action = {service = "scheduler", command = "replan", args = {reason = "night_start"}}}

Triggers, all in observatory time:

* ``cron``: APScheduler 3.x cron fields (``year``, ``month``, ``day``, ``week``, ``day_of_week``,
  ``hour``, ``minute``, ``second``) read in UTC; fields finer than the finest one given default to
  their minimum (``hour = 20`` fires at 20:00:00);
* ``interval``: every ``every_s`` observatory seconds, counted from when the core started;
* ``night_start`` / ``night_end``: the start or end of each night of the site plus ``offset_s``
  observatory seconds (negative: before; at most a day either way).

:meth:`JobSpec.next_fire` gives the first fire instant strictly after a given instant; the
:mod:`~pyros.automation.job_runner` turns it into wall time through the clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Union

from apscheduler.triggers.cron import CronTrigger

from pyros.automation.actions import Action, parse_action
from pyros.automation.named_table import named_table, named_tables
from pyros.automation.nights import NightFinder, next_night_event

__all__ = [
    "CRON_FIELDS",
    "MAX_NIGHT_OFFSET_S",
    "TRIGGERS",
    "CronTiming",
    "IntervalTiming",
    "JobSpec",
    "NightTiming",
    "Timing",
    "parse_job",
    "parse_jobs",
]

TRIGGERS = ("cron", "interval", "night_start", "night_end")
"""The kinds of trigger a job may have."""

CRON_FIELDS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
"""The cron fields a ``cron`` table may give (APScheduler 3.x names)."""

MAX_NIGHT_OFFSET_S = 86400.0
"""Largest offset (either way) from a night's start or end, observatory seconds."""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_JOB_KEYS = {"name", "trigger", "cron", "every_s", "offset_s", "action", "enabled"}
_TRIGGER_KEYS = {"cron": {"cron"}, "interval": {"every_s"}, "night_start": {"offset_s"}, "night_end": {"offset_s"}}


def _datetime_after(instant: float) -> datetime:
    """The aware UTC datetime one microsecond after ``instant`` (floored to the microsecond)."""
    return _EPOCH + timedelta(microseconds=math.floor(instant * 1e6) + 1)


@dataclass(frozen=True)
class CronTiming:
    """Cron fields read in UTC observatory time.

    Attributes:
        fields: The fields as given (field name → int or text such as ``"*/5"`` or ``"mon-fri"``).
    """

    fields: dict[str, int | str]

    def trigger(self) -> CronTrigger:
        """The APScheduler cron trigger of these fields, in UTC."""
        return CronTrigger(timezone=timezone.utc, **self.fields)

    def next_fire(self, after: float, origin: float, nights: NightFinder | None) -> float | None:
        """The first instant matching the fields strictly after ``after`` (``origin``, ``nights`` unused)."""
        fire = self.trigger().get_next_fire_time(None, _datetime_after(after))
        return None if fire is None else fire.timestamp()

    def describe(self) -> str:
        """E.g. ``cron hour=20 minute=0 (UTC)``."""
        return "cron " + " ".join(f"{name}={value}" for name, value in self.fields.items()) + " (UTC)"


@dataclass(frozen=True)
class IntervalTiming:
    """Every ``every_s`` observatory seconds from ``origin`` (the core's start).

    Attributes:
        every_s: The period, observatory seconds (> 0).
    """

    every_s: float

    def next_fire(self, after: float, origin: float, nights: NightFinder | None) -> float | None:
        """The first ``origin + k * every_s`` (k >= 1) strictly after ``after`` (``nights`` unused)."""
        k = max(1, math.floor((after - origin) / self.every_s) + 1)
        fire = origin + k * self.every_s
        while fire <= after:  # rounding of the division
            k += 1
            fire = origin + k * self.every_s
        return fire

    def describe(self) -> str:
        """E.g. ``every 600 s``."""
        return f"every {self.every_s:g} s"


@dataclass(frozen=True)
class NightTiming:
    """A night's start or end plus an offset.

    Attributes:
        edge: ``night_start`` or ``night_end``.
        offset_s: Observatory seconds added to the edge.
    """

    edge: Literal["night_start", "night_end"]
    offset_s: float

    def next_fire(self, after: float, origin: float, nights: NightFinder | None) -> float | None:
        """The first edge plus offset strictly after ``after`` (``origin`` unused).

        Raises:
            ValueError: If no night finder is given.
        """
        if nights is None:
            raise ValueError(f"a {self.edge} job needs the site's nights (no night finder given)")
        return next_night_event(nights, self.edge, self.offset_s, after)

    def describe(self) -> str:
        """E.g. ``night_start + 600 s``."""
        if self.offset_s == 0:
            return self.edge
        return f"{self.edge} {'+' if self.offset_s > 0 else '-'} {abs(self.offset_s):g} s"


Timing = Union[CronTiming, IntervalTiming, NightTiming]
"""When a job fires."""


@dataclass(frozen=True)
class JobSpec:
    """One declared job.

    Attributes:
        name: Unique name.
        timing: When it fires.
        action: What it does.
        enabled: Whether it is armed (a disabled job runs only by ``run_job``).
    """

    name: str
    timing: Timing
    action: Action
    enabled: bool = True

    @property
    def needs_nights(self) -> bool:
        """Whether the job hangs on the nights of the site."""
        return isinstance(self.timing, NightTiming)

    def next_fire(self, after: float, *, origin: float, nights: NightFinder | None = None) -> float | None:
        """The job's first fire instant strictly after ``after``, in observatory UNIX seconds.

        Args:
            after: Observatory UNIX seconds.
            origin: When the counting of ``interval`` jobs began (the core's start).
            nights: The site's nights (needed by night jobs).

        Returns:
            The instant, or ``None`` if the job never fires again.
        """
        return self.timing.next_fire(after, origin, nights)


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number of seconds, got {value!r}")
    return float(value)


def _timing(where: str, trigger: Any, table: Mapping[str, Any]) -> Timing:
    if trigger not in TRIGGERS:
        raise ValueError(f"{where}.trigger must be one of {', '.join(TRIGGERS)}, got {trigger!r}")
    misplaced = (set(table) & {"cron", "every_s", "offset_s"}) - _TRIGGER_KEYS[trigger]
    if misplaced:
        raise ValueError(f"{where}: {', '.join(sorted(misplaced))} does not apply to trigger {trigger!r}")
    if trigger == "cron":
        fields = table.get("cron")
        if not isinstance(fields, Mapping) or not fields:
            raise ValueError(f"{where}.cron must be a table of cron fields ({', '.join(CRON_FIELDS)}), got {fields!r}")
        for name, value in fields.items():
            if name not in CRON_FIELDS:
                raise ValueError(f"{where}.cron.{name}: unknown cron field (known: {', '.join(CRON_FIELDS)})")
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ValueError(f"{where}.cron.{name} must be an integer or cron text, got {value!r}")
        timing = CronTiming(dict(fields))
        try:
            timing.trigger()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}.cron: {exc}") from None
        return timing
    if trigger == "interval":
        if "every_s" not in table:
            raise ValueError(f"{where}.every_s is missing (observatory seconds between two runs)")
        every_s = _number(f"{where}.every_s", table["every_s"])
        if every_s <= 0:
            raise ValueError(f"{where}.every_s must be > 0 observatory seconds, got {table['every_s']!r}")
        return IntervalTiming(every_s)
    offset_s = _number(f"{where}.offset_s", table.get("offset_s", 0.0))
    if abs(offset_s) > MAX_NIGHT_OFFSET_S:
        raise ValueError(f"{where}.offset_s must be within +-{MAX_NIGHT_OFFSET_S:g} s, got {offset_s:g}")
    return NightTiming(trigger, offset_s)


def parse_job(where: str, table: Any) -> JobSpec:
    """Read one job from its table.

    Args:
        where: Where the table is (e.g. ``jobs[2]``), for error messages.
        table: The job's table (see the module documentation).

    Returns:
        The job.

    Raises:
        ValueError: Naming the job and the field at fault.
    """
    name, where = named_table("job", where, table, _JOB_KEYS)
    if "trigger" not in table:
        raise ValueError(f"{where}.trigger is missing (one of {', '.join(TRIGGERS)})")
    timing = _timing(where, table["trigger"], table)
    if "action" not in table:
        raise ValueError(f"{where}.action is missing")
    action = parse_action(f"{where}.action", table["action"])
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError(f"{where}.enabled must be true or false, got {enabled!r}")
    return JobSpec(name, timing, action, enabled)


def parse_jobs(tables: Any) -> list[JobSpec]:
    """Read the core's ``jobs`` list.

    Args:
        tables: A list of job tables (``None`` for none).

    Returns:
        The jobs, in order.

    Raises:
        ValueError: For a bad job (naming it and the field) or a name used twice.
    """
    return named_tables("job", "jobs", tables, parse_job)
