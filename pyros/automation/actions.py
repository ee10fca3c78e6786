"""What a job or a scenario does: call a service command with literal arguments, or a built-in action.

An action is data, never code::

    {service = "scheduler", command = "replan", args = {reason = "night_start"}}
    {builtin = "downsample_history", args = {older_than_days = 7, bucket_minutes = 10}}

Arguments are literals (text, numbers, booleans, lists and tables of them) sent as they are in the
request body. :class:`Outcome` records how one execution went.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from pyros.clock import format_instant
from pyros.errors import CommandError
from pyros.messages import pack

__all__ = [
    "BUILTIN_ACTIONS",
    "Action",
    "BuiltinAction",
    "Outcome",
    "ServiceCall",
    "check_literal",
    "parse_action",
    "perform",
    "summarise",
]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")
"""Service and command names (as the broker and ``@command`` accept them)."""

RESULT_LIMIT_BYTES = 4096
"""Largest result (packed) kept as it is in an :class:`Outcome`; a larger one is kept as truncated text."""


def _check_downsampling_args(where: str, args: Mapping[str, Any]) -> None:
    from pyros.automation.downsampling import DownsamplingRule

    DownsamplingRule.from_mapping(args, where=where)


BUILTIN_ACTIONS: dict[str, Callable[[str, Mapping[str, Any]], None]] = {
    "downsample_history": _check_downsampling_args,
}
"""Built-in action name → checker of its arguments (raises ValueError naming ``where``)."""


def check_literal(where: str, value: Any) -> Any:
    """Check that an argument value is a literal that can travel in a request body.

    Args:
        where: What the value is (e.g. ``jobs[0].action.args.reason``), for the error message.
        value: The value: text, an int, a finite float, a bool, ``None``, or a list or table
            (text keys) of them.

    Returns:
        The value unchanged.

    Raises:
        ValueError: Naming ``where`` for any other value (a TOML date, an infinite number, ...).
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value!r} is not a finite number")
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_literal(f"{where}[{index}]", item)
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: table keys must be text, got {key!r}")
            check_literal(f"{where}.{key}", item)
        return value
    raise ValueError(f"{where}: {type(value).__name__} {value!r} is not a literal argument "
                     f"(use text, numbers, booleans, lists or tables; write dates as ISO 8601 text)")


@dataclass(frozen=True)
class ServiceCall:
    """Call ``command`` of ``service`` with ``args`` (through the broker).

    Attributes:
        service: Service name (or ``<service>.<instance>``).
        command: Command name.
        args: Literal arguments.
    """

    service: str
    command: str
    args: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The call as ``pyros call`` would spell it, e.g. ``scheduler replan reason='night_start'``."""
        args = " ".join(f"{name}={value!r}" for name, value in self.args.items())
        return f"{self.service} {self.command}" + (f" {args}" if args else "")

    def to_dict(self) -> dict[str, Any]:
        """The action as a table (``service``, ``command``, ``args``)."""
        return {"service": self.service, "command": self.command, "args": dict(self.args)}


@dataclass(frozen=True)
class BuiltinAction:
    """Run a built-in action of the core (see :data:`BUILTIN_ACTIONS`).

    Attributes:
        name: The built-in action's name.
        args: Its arguments (checked when the action is parsed).
    """

    name: str
    args: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The action as text, e.g. ``builtin downsample_history older_than_days=7``."""
        args = " ".join(f"{name}={value!r}" for name, value in self.args.items())
        return f"builtin {self.name}" + (f" {args}" if args else "")

    def to_dict(self) -> dict[str, Any]:
        """The action as a table (``builtin``, ``args``)."""
        return {"builtin": self.name, "args": dict(self.args)}


Action = Union[ServiceCall, BuiltinAction]
"""Anything a job or a scenario does."""


def _name(where: str, table: Mapping[str, Any], key: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"{where}.{key} must be a name matching {_NAME.pattern}, got {value!r}")
    return value


def parse_action(where: str, table: Any, *, builtins: bool = True) -> Action:
    """Read an action from its table.

    Args:
        where: Where the table is in the configuration (e.g. ``jobs[2].action``), for error messages.
        table: ``{service, command, args?}`` or, when ``builtins``, ``{builtin, args?}``.
        builtins: Whether built-in actions are allowed here.

    Returns:
        The action.

    Raises:
        ValueError: Naming ``where`` and the field at fault.
    """
    if not isinstance(table, Mapping):
        raise ValueError(f"{where} must be a table, got {type(table).__name__} {table!r}")
    args = table.get("args", {})
    if not isinstance(args, Mapping):
        raise ValueError(f"{where}.args must be a table of arguments, got {type(args).__name__} {args!r}")
    check_literal(f"{where}.args", dict(args))
    if "builtin" in table:
        if not builtins:
            raise ValueError(f"{where}: built-in actions are not allowed here (give service and command)")
        unknown = set(table) - {"builtin", "args"}
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))} of a built-in "
                             f"action (allowed: builtin, args)")
        name = table["builtin"]
        if name not in BUILTIN_ACTIONS:
            raise ValueError(f"{where}.builtin: unknown built-in action {name!r} "
                             f"(known: {', '.join(sorted(BUILTIN_ACTIONS))})")
        BUILTIN_ACTIONS[name](f"{where}.args", args)
        return BuiltinAction(name, dict(args))
    unknown = set(table) - {"service", "command", "args"}
    if unknown:
        allowed = "service, command, args" + (" (or builtin, args)" if builtins else "")
        raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))} (allowed: {allowed})")
    return ServiceCall(_name(where, table, "service"), _name(where, table, "command"), dict(args))


def summarise(data: Any) -> Any:
    """Keep a result as it is when it packs into :data:`RESULT_LIMIT_BYTES`, else as truncated text."""
    try:
        if len(pack(data)) <= RESULT_LIMIT_BYTES:
            return data
    except (TypeError, ValueError):
        pass
    text = repr(data)
    return text if len(text) <= RESULT_LIMIT_BYTES else text[:RESULT_LIMIT_BYTES] + "..."


@dataclass(frozen=True)
class Outcome:
    """How one execution of an action went.

    Attributes:
        action: The action, described as text.
        started: Observatory instant it started (UNIX seconds).
        finished: Observatory instant it ended.
        ok: Whether it succeeded.
        result: What it returned (see :func:`summarise`), when ``ok``.
        error: ``"<type>: <message>"`` when not ``ok`` (the service's error type for a failed command).
    """

    action: str
    started: float
    finished: float
    ok: bool
    result: Any = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The outcome with ISO 8601 instants."""
        return {"action": self.action, "started": format_instant(self.started),
                "finished": format_instant(self.finished), "ok": self.ok, "result": self.result,
                "error": self.error}


def perform(action: Action, execute: Callable[[Action], Any], now: Callable[[], float]) -> Outcome:
    """Execute an action and record how it went; never raises for a failure of the action.

    Args:
        action: What to do.
        execute: Does it (an MDP call, a built-in action) and returns its result, raising on failure.
        now: Reads the observatory time (UNIX seconds).

    Returns:
        The outcome: ``ok`` with the (summarised) result, or the error as ``"<type>: <message>"``.
    """
    started = now()
    try:
        result = execute(action)
    except Exception as exc:  # noqa: BLE001 - any failure of the action is recorded, never propagated
        # a service's own failure already reads "<its error type>: <message>"
        error = str(exc) if isinstance(exc, CommandError) else f"{type(exc).__name__}: {exc}"
        return Outcome(action.describe(), started, now(), False, error=error)
    return Outcome(action.describe(), started, now(), True, result=summarise(result))
