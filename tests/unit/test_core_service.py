"""The core service's own logic, without processes: configuration errors, scenario calls and their failures."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pyros.automation.actions import Action, ServiceCall
from pyros.errors import CommandError
from pyros.service import Refusal
from servers.core import CoreService

CALL = {"service": "echo", "command": "echo", "args": {"text": "unsafe"}}
UNSAFE = {"name": "unsafe", "when": {"key": "/env/safety", "field": "safe", "op": "eq", "value": False},
          "then": [CALL, {"service": "dome", "command": "close"}]}


def test_bad_configuration_fails_at_construction_naming_the_culprit() -> None:
    with pytest.raises(ValueError, match=r"job 'j' \(jobs\[0\]\)\.trigger must be one of"):
        CoreService(jobs=[{"name": "j", "trigger": "hourly", "action": CALL}])
    with pytest.raises(ValueError, match=r"scenario 's' \(scenarios\[0\]\)\.when\.op must be one of"):
        CoreService(scenarios=[{"name": "s", "when": {"key": "/a", "op": "~=", "value": 1}, "then": [CALL]}])
    with pytest.raises(ValueError, match="call_timeout_s must be"):
        CoreService(call_timeout_s=0)


def test_commands_before_start_and_unknown_names_are_refused() -> None:
    core = CoreService(scenarios=[UNSAFE])
    with pytest.raises(Refusal, match="has not started"):
        core.jobs()
    with pytest.raises(Refusal, match="no scenario named 'nope'"):
        core.enable("nope")
    assert core.disable("unsafe")["enabled"] is False


def test_a_fired_scenario_makes_its_calls_in_order_and_records_failures() -> None:
    core = CoreService(scenarios=[UNSAFE])
    calls: list[ServiceCall] = []
    done = threading.Event()

    def execute(action: Action) -> Any:
        calls.append(action)  # type: ignore[arg-type]
        if isinstance(action, ServiceCall) and action.service == "dome":
            done.set()
            raise CommandError("AccessDenied", "needs operator")
        return "ok"

    core._execute = execute  # type: ignore[method-assign]
    [firing] = core.engine.update("/env/safety", {"safe": False}, 0.0)
    core._run_firing(firing)
    assert done.is_set() and [c.service for c in calls] == ["echo", "dome"]
    [state] = core.scenarios()
    assert state["fired"] == 1 and state["errors"] == 1
    assert state["last_error"] == "dome close: AccessDenied: needs operator"
    assert [(c["ok"], c["result"], c["error"]) for c in state["calls"]] == [
        (True, "ok", None), (False, None, "AccessDenied: needs operator")]
