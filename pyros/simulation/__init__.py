"""What the simulators share: scenario files (timed events in observatory seconds)."""

from pyros.simulation.scenario import MAX_SCENARIO_BYTES, Scenario, ScenarioError, ScenarioEvent, load_scenario

__all__ = ["MAX_SCENARIO_BYTES", "Scenario", "ScenarioError", "ScenarioEvent", "load_scenario"]
