"""Declarative scenarios: validation, edges, cooldown, once, malformed values."""

from __future__ import annotations

import pytest

from pyros.automation.actions import ServiceCall
from pyros.automation.scenarios import ScenarioEngine, parse_scenarios

ALERT = {"service": "echo", "command": "echo", "args": {"text": "unsafe"}}


def engine(*rules: dict) -> ScenarioEngine:
    return ScenarioEngine(parse_scenarios(list(rules)))


def rule(name: str = "r", **fields: object) -> dict:
    table: dict = {"name": name, "when": {"key": "/env/safety", "field": "safe", "op": "eq", "value": False},
                   "then": [ALERT]}
    table.update(fields)
    return table


def fired(e: ScenarioEngine, key: str, value: object, now: float) -> list[str]:
    return [f.rule for f in e.update(key, value, now)]


def test_fires_on_the_edge_not_while_the_condition_stays_true() -> None:
    e = engine(rule())
    assert fired(e, "/env/safety", {"safe": True}, 0.0) == []
    [firing] = e.update("/env/safety", {"safe": False, "culprit": "wind"}, 1.0)
    assert (firing.rule, firing.key, firing.at) == ("r", "/env/safety", 1.0)
    assert firing.actions == (ServiceCall("echo", "echo", {"text": "unsafe"}),)
    assert firing.value == {"safe": False, "culprit": "wind"}
    assert fired(e, "/env/safety", {"safe": False, "culprit": "rain"}, 2.0) == []  # still matching
    assert fired(e, "/env/safety", {"safe": True}, 3.0) == []
    assert fired(e, "/env/safety", {"safe": False}, 4.0) == ["r"]  # a new edge
    assert fired(e, "/env/other", {"safe": False}, 5.0) == []
    [state] = e.states()
    assert state["fired"] == 2 and state["matching"] == ["/env/safety"]
    assert state["last_fired"] == "1970-01-01T00:00:04Z"


def test_a_condition_true_at_first_sight_fires_and_deletion_resets() -> None:
    e = engine(rule())
    assert fired(e, "/env/safety", {"safe": False}, 0.0) == ["r"]
    assert fired(e, "/env/safety", None, 1.0) == []       # deleted: not matching
    assert fired(e, "/env/safety", {"safe": False}, 2.0) == ["r"]


def test_cooldown_drops_edges_too_soon_after_a_firing() -> None:
    e = engine(rule(cooldown_s=600))
    assert fired(e, "/env/safety", {"safe": False}, 0.0) == ["r"]
    e.update("/env/safety", {"safe": True}, 10.0)
    assert fired(e, "/env/safety", {"safe": False}, 599.0) == []   # in the cooldown
    e.update("/env/safety", {"safe": True}, 650.0)
    assert fired(e, "/env/safety", {"safe": False}, 700.0) == ["r"]
    assert e.states()[0]["suppressed"] == 1


def test_once_fires_once_until_enabled_again_and_disabled_rules_do_not_fire() -> None:
    e = engine(rule(once=True))
    assert fired(e, "/env/safety", {"safe": False}, 0.0) == ["r"]
    e.update("/env/safety", {"safe": True}, 1.0)
    assert fired(e, "/env/safety", {"safe": False}, 2.0) == []
    assert e.states()[0]["spent"]
    e.set_enabled("r", False)
    e.update("/env/safety", {"safe": True}, 3.0)
    assert fired(e, "/env/safety", {"safe": False}, 4.0) == []     # disabled: the edge is not fired
    state = e.set_enabled("r", True)
    assert state["enabled"] and not state["spent"]
    assert fired(e, "/env/safety", {"safe": False}, 5.0) == []     # still matching: no new edge
    e.update("/env/safety", {"safe": True}, 6.0)
    assert fired(e, "/env/safety", {"safe": False}, 7.0) == ["r"]
    with pytest.raises(KeyError, match="no scenario named 'x'"):
        e.set_enabled("x", True)


def test_prefix_keys_follow_each_key_on_its_own() -> None:
    e = engine({"name": "wind", "when": {"key": "/env/weather/*", "field": "decision", "op": "eq", "value": "unsafe"},
                "then": [ALERT]})
    assert fired(e, "/env/weather/wind_speed", {"decision": "unsafe"}, 0.0) == ["wind"]
    assert fired(e, "/env/weather/rain", {"decision": "unsafe"}, 1.0) == ["wind"]
    assert fired(e, "/env/weather/wind_speed", {"decision": "unsafe"}, 2.0) == []
    assert fired(e, "/env/weather", {"decision": "unsafe"}, 3.0) == []     # the prefix itself is not below it
    assert fired(e, "/env/weatherman", {"decision": "unsafe"}, 3.0) == []
    assert e.states()[0]["matching"] == ["/env/weather/rain", "/env/weather/wind_speed"]


@pytest.mark.parametrize(("op", "value", "seen", "matches"), [
    ("eq", 1, 1.0, True), ("eq", 1, True, False), ("eq", False, 0, False), ("eq", "open", "open", True),
    ("ne", "open", "closed", True), ("ne", True, True, False), ("ne", 0, False, True),
    ("lt", 0, -1.5, True), ("lt", 0, 0, False), ("le", 0, 0, True), ("gt", 10, 10.5, True), ("ge", 10, 9, False),
    ("in", ["open", "opening"], "opening", True), ("in", [1, 2], True, False), ("in", ["a"], "b", False),
    ("eq", [1, 2], [1, 2], True), ("eq", {"a": 1}, {"a": True}, False),
])
def test_comparisons(op: str, value: object, seen: object, matches: bool) -> None:
    e = engine({"name": "c", "when": {"key": "/k/v", "op": op, "value": value}, "then": [ALERT]})
    assert fired(e, "/k/v", seen, 0.0) == (["c"] if matches else [])


def test_changed_fires_on_each_change_after_the_first_value() -> None:
    e = engine({"name": "mode", "when": {"key": "/majordome/mode", "field": "mode", "op": "changed"}, "then": [ALERT]})
    assert fired(e, "/majordome/mode", {"mode": "auto"}, 0.0) == []
    assert fired(e, "/majordome/mode", {"mode": "auto", "since": 5}, 1.0) == []
    assert fired(e, "/majordome/mode", {"mode": "manual"}, 2.0) == ["mode"]
    assert fired(e, "/majordome/mode", {"mode": "auto"}, 3.0) == ["mode"]


def test_nested_fields_and_malformed_values_are_recorded_not_raised() -> None:
    e = engine({"name": "t", "when": {"key": "/env/site/temp", "field": "values.0.value", "op": "lt", "value": 0},
                "then": [ALERT]})
    assert fired(e, "/env/site/temp", {"values": [{"value": -3.0}]}, 0.0) == ["t"]
    assert fired(e, "/env/site/temp", {"values": [{"value": "cold"}]}, 1.0) == []
    assert e.states()[0]["last_error"] == "/env/site/temp: str 'cold' is not a number for 'lt'"
    assert fired(e, "/env/site/temp", {"values": []}, 2.0) == []
    assert "no item '0' in a list of 0" in e.states()[0]["last_error"]
    assert fired(e, "/env/site/temp", 42, 3.0) == []
    assert "int 42 has no fields" in e.states()[0]["last_error"]
    assert fired(e, "/env/site/temp", {"other": 1}, 4.0) == []
    assert "field 'values' is missing" in e.states()[0]["last_error"]
    assert fired(e, "/env/site/temp", {"values": [{"value": float("nan")}]}, 5.0) == []
    assert e.states()[0]["errors"] == 5
    assert fired(e, "/env/site/temp", {"values": [{"value": -1}]}, 6.0) == ["t"]  # malformed counted as not matching


def test_subtrees_cover_every_key_with_the_fewest_subscriptions() -> None:
    e = engine(rule("a"), {"name": "b", "when": {"key": "/env/weather/*", "op": "changed"}, "then": [ALERT]},
               {"name": "c", "when": {"key": "/device/dome/shutter", "op": "eq", "value": "open"}, "then": [ALERT]},
               {"name": "d", "when": {"key": "/clock", "op": "changed"}, "then": [ALERT]})
    assert e.subtrees() == ["/"]  # /clock sits at the root
    e2 = engine(rule("a"), {"name": "b", "when": {"key": "/env/weather/*", "op": "changed"}, "then": [ALERT]},
                {"name": "c", "when": {"key": "/device/dome/shutter", "op": "eq", "value": "open"}, "then": [ALERT]})
    assert e2.subtrees() == ["/device/dome/", "/env/"]


@pytest.mark.parametrize(("table", "message"), [
    ({"when": {}, "then": [ALERT]}, r"scenarios\[0\]\.name must be non-empty"),
    ({"name": "s", "then": [ALERT]}, r"scenario 's' \(scenarios\[0\]\)\.when is missing"),
    ({"name": "s", "when": {"key": "env/safety", "op": "eq", "value": 1}, "then": [ALERT]}, r"\.when\.key must be"),
    ({"name": "s", "when": {"key": "/env/*/x", "op": "eq", "value": 1}, "then": [ALERT]}, r"\.when\.key must be"),
    ({"name": "s", "when": {"key": "/*", "op": "eq", "value": 1}, "then": [ALERT]}, r"\.when\.key must be"),
    ({"name": "s", "when": {"key": "/a", "op": "matches", "value": 1}, "then": [ALERT]}, r"\.when\.op must be one of"),
    ({"name": "s", "when": {"key": "/a", "op": "eq"}, "then": [ALERT]}, r"\.when\.value is missing"),
    ({"name": "s", "when": {"key": "/a", "op": "changed", "value": 1}, "then": [ALERT]},
     r"does not apply to op 'changed'"),
    ({"name": "s", "when": {"key": "/a", "op": "in", "value": 1}, "then": [ALERT]}, r"must be a list for op 'in'"),
    ({"name": "s", "when": {"key": "/a", "op": "gt", "value": "10"}, "then": [ALERT]}, r"must be a finite number"),
    ({"name": "s", "when": {"key": "/a", "field": "a..b", "op": "eq", "value": 1}, "then": [ALERT]},
     r"\.when\.field must be a dotted path"),
    ({"name": "s", "when": {"key": "/a", "op": "eq", "value": 1, "code": "x"}, "then": [ALERT]},
     r"\.when: unknown field\(s\) code"),
    ({"name": "s", "when": {"key": "/a", "op": "eq", "value": 1}, "then": []}, r"\.then must be a non-empty list"),
    ({"name": "s", "when": {"key": "/a", "op": "eq", "value": 1}, "then": "echo echo"}, r"\.then must be"),
    ({"name": "s", "when": {"key": "/a", "op": "eq", "value": 1}, "then": [{"service": "echo"}]},
     r"\.then\[0\]\.command must be a name"),
    ({"name": "s", "when": {"key": "/a", "op": "eq", "value": 1}, "then": [{"builtin": "downsample_history"}]},
     r"built-in actions are not allowed"),
    ({"name": "s", "when": {"key": "/a", "op": "eq", "value": 1}, "then": [ALERT], "cooldown_s": -1},
     r"\.cooldown_s must be >= 0"),
    ({"name": "s", "when": {"key": "/a", "op": "eq", "value": 1}, "then": [ALERT], "once": 1},
     r"\.once must be true or false"),
    ({"name": "s", "when": {"key": "/a", "op": "eq", "value": 1}, "then": [ALERT], "exec": "print()"},
     r"unknown field\(s\) exec"),
])
def test_bad_scenarios_are_refused_naming_the_rule_and_the_field(table: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_scenarios([table])


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match=r"scenario 'r' \(scenarios\[1\]\): the name is used"):
        parse_scenarios([rule(), rule()])


def test_a_single_call_table_is_accepted_as_then() -> None:
    [parsed] = parse_scenarios([rule(then=ALERT)])
    assert parsed.then == (ServiceCall("echo", "echo", {"text": "unsafe"}),)


def test_record_error_is_shown_in_the_state() -> None:
    e = engine(rule())
    e.record_error("r", "echo echo: ServiceUnavailable: no worker")
    assert e.states()[0]["last_error"] == "echo echo: ServiceUnavailable: no worker"
