"""Declarative scenarios: "when a K/V key matches a condition, call a service command".

A scenario is a table of the core's ``scenarios`` list::

    {name = "unsafe-alert",
     when = {key = "/env/safety", field = "safe", op = "eq", value = false},
     then = [{service = "echo", command = "echo", args = {text = "conditions became unsafe"}}],
     cooldown_s = 600}

``when``:

* ``key``: a K/V key (``/env/safety``), or a prefix ending in ``/*`` (``/env/weather/*``) matching
  every key below it; each matching key is followed on its own;
* ``field`` (optional): a dotted path into the value (``safe``, ``values.0.value``; a number
  indexes a list); without it the whole value is compared;
* ``op``: ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``, ``in`` (``value`` is a list) or
  ``changed`` (no ``value``: the field differs from the previous value seen for that key);
* ``value``: a literal. Booleans equal only booleans; ordering compares numbers only.

A rule **fires on the edge**: when a key goes from not matching to matching (``changed``: on each
change after the first value seen). While it stays matching, nothing more happens. A key never
seen before counts as not matching, so a condition already true when the core starts fires once.
A deleted key, a missing field or an ill-typed value does not match; the last two are recorded as
the rule's ``last_error``. ``once = true`` fires at most once (until the rule is enabled again);
``cooldown_s`` (observatory seconds) drops edges that come sooner than that after a firing. A
disabled rule keeps following its keys but does not fire.

Nothing is evaluated as code. :class:`ScenarioEngine` is pure: feed it ``update(key, value, now)``
and it returns the :class:`Firing` list; the core calls the services.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyros.automation.actions import ServiceCall, check_literal, parse_action
from pyros.automation.named_table import named_table, named_tables
from pyros.clock import format_instant

__all__ = [
    "OPERATORS",
    "Condition",
    "Firing",
    "ScenarioEngine",
    "ScenarioRule",
    "parse_scenario",
    "parse_scenarios",
]

OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "changed")
"""The comparisons a condition may make."""

_ORDERING = {"lt": lambda a, b: a < b, "le": lambda a, b: a <= b, "gt": lambda a, b: a > b,
             "ge": lambda a, b: a >= b}
_KEY = re.compile(r"^(/[^/*\s]+)+$")
_PREFIX = re.compile(r"^(/[^/*\s]+)*/\*$")
_RULE_KEYS = {"name", "when", "then", "once", "cooldown_s", "enabled"}
_WHEN_KEYS = {"key", "field", "op", "value"}
_MISSING = object()


class MalformedValue(ValueError):
    """A K/V value that a condition cannot be evaluated on (recorded, never raised out of the engine)."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """Equality where a boolean equals only a boolean (``True != 1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@dataclass(frozen=True)
class Condition:
    """What a key's value must satisfy.

    Attributes:
        key: An exact key, or a prefix ending in ``/*``.
        field: Path into the value, split on dots (empty: the whole value).
        op: One of :data:`OPERATORS`.
        value: The literal compared with (unused by ``changed``).
    """

    key: str
    field: tuple[str, ...]
    op: str
    value: Any = None

    @property
    def is_prefix(self) -> bool:
        """Whether :attr:`key` is a prefix (``.../*``)."""
        return self.key.endswith("/*")

    @property
    def subtree(self) -> str:
        """The K/V subtree (``/a/b/``) holding every key this condition can match."""
        return self.key[:-1] if self.is_prefix else self.key[: self.key.rfind("/") + 1]

    def covers(self, key: str) -> bool:
        """Whether ``key`` is one this condition follows."""
        if self.is_prefix:
            return key.startswith(self.key[:-1]) and len(key) > len(self.key) - 1
        return key == self.key

    def extract(self, value: Any) -> Any:
        """The part of ``value`` the condition looks at.

        Raises:
            MalformedValue: If the path does not lead anywhere in ``value``.
        """
        current = value
        for depth, step in enumerate(self.field):
            path = ".".join(self.field[: depth + 1])
            if isinstance(current, dict):
                if step not in current:
                    raise MalformedValue(f"field {path!r} is missing")
                current = current[step]
            elif isinstance(current, list):
                if not step.isdigit() or int(step) >= len(current):
                    raise MalformedValue(f"field {path!r}: no item {step!r} in a list of {len(current)}")
                current = current[int(step)]
            else:
                raise MalformedValue(f"field {path!r}: {type(current).__name__} {current!r} has no fields")
        return current

    def holds(self, observed: Any) -> bool:
        """Whether the extracted value satisfies the comparison (not for ``changed``).

        Raises:
            MalformedValue: If an ordering compares something other than a number.
        """
        if self.op == "eq":
            return _same(observed, self.value)
        if self.op == "ne":
            return not _same(observed, self.value)
        if self.op == "in":
            return any(_same(observed, item) for item in self.value)
        if not _is_number(observed) or (isinstance(observed, float) and math.isnan(observed)):
            raise MalformedValue(f"{type(observed).__name__} {observed!r} is not a number for {self.op!r}")
        return bool(_ORDERING[self.op](observed, self.value))

    def describe(self) -> str:
        """E.g. ``/env/safety safe eq False``."""
        where = self.key + (f" {'.'.join(self.field)}" if self.field else "")
        return f"{where} changed" if self.op == "changed" else f"{where} {self.op} {self.value!r}"


@dataclass(frozen=True)
class ScenarioRule:
    """One declared scenario.

    Attributes:
        name: Unique name.
        when: The condition.
        then: The calls made when it fires, in order.
        once: Fire at most once (until enabled again).
        cooldown_s: Observatory seconds after a firing during which edges are dropped.
        enabled: Whether it fires at start.
    """

    name: str
    when: Condition
    then: tuple[ServiceCall, ...]
    once: bool = False
    cooldown_s: float = 0.0
    enabled: bool = True


@dataclass(frozen=True)
class Firing:
    """A rule that fired.

    Attributes:
        rule: The rule's name.
        key: The key whose update made it fire.
        value: That key's value.
        at: Observatory instant (UNIX seconds).
        actions: The calls to make, in order.
    """

    rule: str
    key: str
    value: Any
    at: float
    actions: tuple[ServiceCall, ...]


@dataclass
class _RuleState:
    """What the engine knows of a rule."""

    rule: ScenarioRule
    enabled: bool
    matching: dict[str, bool] = field(default_factory=dict)
    previous: dict[str, Any] = field(default_factory=dict)
    spent: bool = False
    fired: int = 0
    last_fired: float | None = None
    last_key: str | None = None
    suppressed: int = 0
    errors: int = 0
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        rule = self.rule
        return {"name": rule.name, "when": rule.when.describe(), "then": [a.describe() for a in rule.then],
                "enabled": self.enabled, "once": rule.once, "spent": self.spent, "cooldown_s": rule.cooldown_s,
                "matching": sorted(key for key, on in self.matching.items() if on),
                "fired": self.fired, "last_fired": None if self.last_fired is None else format_instant(self.last_fired),
                "last_key": self.last_key, "suppressed": self.suppressed, "errors": self.errors,
                "last_error": self.last_error}


def _number(where: str, value: Any) -> float:
    if not _is_number(value) or not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number, got {value!r}")
    return value


def _condition(where: str, table: Any) -> Condition:
    if not isinstance(table, Mapping):
        raise ValueError(f"{where} must be a table {{key, field?, op, value}}, got {table!r}")
    unknown = set(table) - _WHEN_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))} "
                         f"(allowed: {', '.join(sorted(_WHEN_KEYS))})")
    key = table.get("key")
    if not isinstance(key, str) or not (_KEY.match(key) or _PREFIX.match(key)) or key == "/*":
        raise ValueError(f"{where}.key must be a K/V key such as /env/safety, or a prefix such as "
                         f"/env/weather/* ('*' only as the last segment), got {key!r}")
    path = table.get("field", "")
    if not isinstance(path, str) or (path and any(not step for step in path.split("."))):
        raise ValueError(f"{where}.field must be a dotted path such as 'safe' or 'values.0.value', got {path!r}")
    op = table.get("op")
    if op not in OPERATORS:
        raise ValueError(f"{where}.op must be one of {', '.join(OPERATORS)}, got {op!r}")
    fields = tuple(path.split(".")) if path else ()
    if op == "changed":
        if "value" in table:
            raise ValueError(f"{where}.value does not apply to op 'changed'")
        return Condition(key, fields, op)
    if "value" not in table:
        raise ValueError(f"{where}.value is missing (what op {op!r} compares with)")
    value = check_literal(f"{where}.value", table["value"])
    if op == "in" and not isinstance(value, list):
        raise ValueError(f"{where}.value must be a list for op 'in', got {value!r}")
    if op in _ORDERING:
        _number(f"{where}.value (op {op!r})", value)
    return Condition(key, fields, op, value)


def parse_scenario(where: str, table: Any) -> ScenarioRule:
    """Read one scenario from its table.

    Args:
        where: Where the table is (e.g. ``scenarios[0]``), for error messages.
        table: The scenario's table (see the module documentation).

    Returns:
        The rule.

    Raises:
        ValueError: Naming the scenario and the field at fault.
    """
    name, where = named_table("scenario", where, table, _RULE_KEYS)
    if "when" not in table:
        raise ValueError(f"{where}.when is missing")
    when = _condition(f"{where}.when", table["when"])
    then = table.get("then")
    if isinstance(then, Mapping):
        then = [then]
    if isinstance(then, (str, bytes)) or not isinstance(then, Sequence) or not then:
        raise ValueError(f"{where}.then must be a non-empty list of calls {{service, command, args}}, got {then!r}")
    actions = tuple(parse_action(f"{where}.then[{i}]", item, builtins=False) for i, item in enumerate(then))
    once = table.get("once", False)
    if not isinstance(once, bool):
        raise ValueError(f"{where}.once must be true or false, got {once!r}")
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError(f"{where}.enabled must be true or false, got {enabled!r}")
    cooldown_s = float(_number(f"{where}.cooldown_s", table.get("cooldown_s", 0.0)))
    if cooldown_s < 0:
        raise ValueError(f"{where}.cooldown_s must be >= 0 observatory seconds, got {cooldown_s:g}")
    return ScenarioRule(name, when, actions, once, cooldown_s, enabled)  # type: ignore[arg-type]


def parse_scenarios(tables: Any) -> list[ScenarioRule]:
    """Read the core's ``scenarios`` list.

    Args:
        tables: A list of scenario tables (``None`` for none).

    Returns:
        The rules, in order.

    Raises:
        ValueError: For a bad scenario (naming it and the field) or a name used twice.
    """
    return named_tables("scenario", "scenarios", tables, parse_scenario)


class ScenarioEngine:
    """Evaluates the rules on K/V updates; thread-safe, and free of I/O.

    Args:
        rules: The rules (from :func:`parse_scenarios`).

    Raises:
        ValueError: If two rules have the same name.
    """

    def __init__(self, rules: Sequence[ScenarioRule]) -> None:
        self._states: dict[str, _RuleState] = {}
        for rule in rules:
            if rule.name in self._states:
                raise ValueError(f"scenario {rule.name!r}: the name is used by another scenario")
            self._states[rule.name] = _RuleState(rule, rule.enabled)
        self._lock = threading.Lock()

    @property
    def rules(self) -> list[ScenarioRule]:
        """The rules, in order."""
        return [state.rule for state in self._states.values()]

    def subtrees(self) -> list[str]:
        """The fewest K/V subtrees (``/a/``) covering every key the rules follow."""
        chosen: list[str] = []
        for subtree in sorted({state.rule.when.subtree for state in self._states.values()}, key=len):
            if not any(subtree.startswith(other) for other in chosen):
                chosen.append(subtree)
        return sorted(chosen)

    def update(self, key: str, value: Any, now: float) -> list[Firing]:
        """Take one K/V update into account.

        Args:
            key: The key that changed.
            value: Its decoded value, or ``None`` when it was deleted.
            now: Observatory UNIX seconds.

        Returns:
            The rules that fire, in declaration order.
        """
        firings: list[Firing] = []
        with self._lock:
            for state in self._states.values():
                if state.rule.when.covers(key) and self._edge(state, key, value):
                    firing = self._fire(state, key, value, now)
                    if firing is not None:
                        firings.append(firing)
        return firings

    def _edge(self, state: _RuleState, key: str, value: Any) -> bool:
        """Update the rule's view of ``key``; whether it went from not matching to matching."""
        condition = state.rule.when
        if value is None:
            state.matching[key] = False
            state.previous.pop(key, None)
            return False
        try:
            observed = condition.extract(value)
            if condition.op == "changed":
                before = state.previous.get(key, _MISSING)
                state.previous[key] = observed
                state.matching[key] = before is not _MISSING and not _same(before, observed)
                return state.matching[key]
            now_matching = condition.holds(observed)
        except MalformedValue as exc:
            state.errors += 1
            state.last_error = f"{key}: {exc}"
            state.matching[key] = False
            return False
        was_matching = state.matching.get(key, False)
        state.matching[key] = now_matching
        return now_matching and not was_matching

    def _fire(self, state: _RuleState, key: str, value: Any, now: float) -> Firing | None:
        rule = state.rule
        if not state.enabled or state.spent:
            return None
        if state.last_fired is not None and now - state.last_fired < rule.cooldown_s:
            state.suppressed += 1
            return None
        state.fired += 1
        state.last_fired = now
        state.last_key = key
        state.spent = rule.once
        return Firing(rule.name, key, value, now, rule.then)

    def set_enabled(self, name: str, enabled: bool) -> dict[str, Any]:
        """Enable or disable a rule; enabling re-arms a spent ``once`` rule.

        Args:
            name: The rule's name.
            enabled: The new state.

        Returns:
            The rule's state (as :meth:`states` gives it).

        Raises:
            KeyError: If there is no such rule.
        """
        with self._lock:
            state = self._state(name)
            state.enabled = enabled
            if enabled:
                state.spent = False
            return state.to_dict()

    def record_error(self, name: str, message: str) -> None:
        """Record a failure of one of a rule's calls as its ``last_error``.

        Raises:
            KeyError: If there is no such rule.
        """
        with self._lock:
            state = self._state(name)
            state.errors += 1
            state.last_error = message

    def states(self) -> list[dict[str, Any]]:
        """Each rule's state: ``name``, ``when``, ``then``, ``enabled``, ``once``, ``spent``, ``cooldown_s``,
        ``matching`` (keys matching now), ``fired``, ``last_fired``, ``last_key``, ``suppressed``,
        ``errors``, ``last_error``."""
        with self._lock:
            return [state.to_dict() for state in self._states.values()]

    def _state(self, name: str) -> _RuleState:
        state = self._states.get(name)
        if state is None:
            raise KeyError(f"no scenario named {name!r} (known: {', '.join(self._states) or 'none'})")
        return state
