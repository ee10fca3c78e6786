"""Automation of the observatory without code: timed jobs and declarative scenarios.

The ``core`` service (:mod:`servers.core`) is built from these pure parts:

* :mod:`~pyros.automation.actions`: what a job or a scenario does, a call of a service command
  with literal arguments (or a built-in action), and the record of an outcome;
* :mod:`~pyros.automation.jobs`: job declarations and their next fire instant in observatory time
  (cron fields, an interval, or the start or end of the night plus an offset);
* :mod:`~pyros.automation.nights`: the nights of the site, as the jobs see them;
* :mod:`~pyros.automation.job_runner`: APScheduler 3.x one-shot triggers armed at the wall instant
  of each observatory fire time, re-armed at every firing;
* :mod:`~pyros.automation.scenarios`: "when a K/V key matches a condition, call a service command"
  rules, evaluated on every K/V update, firing on edges;
* :mod:`~pyros.automation.downsampling`: thinning old rows of the environment history.

Nothing here evaluates text as code: conditions are a fixed set of comparisons and actions are calls
with literal arguments. ``docs/core.md`` gives the syntax.
"""

from __future__ import annotations

from pyros.automation.actions import Action, BuiltinAction, Outcome, ServiceCall, parse_action
from pyros.automation.jobs import JobSpec, parse_jobs
from pyros.automation.scenarios import Firing, ScenarioEngine, ScenarioRule, parse_scenarios

__all__ = [
    "Action",
    "BuiltinAction",
    "Firing",
    "JobSpec",
    "Outcome",
    "ScenarioEngine",
    "ScenarioRule",
    "ServiceCall",
    "parse_action",
    "parse_jobs",
    "parse_scenarios",
]
