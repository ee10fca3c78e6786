"""What the simulators share: scenario files (timed events in observatory seconds), the user simulator."""

from pyros.simulation.scenario import MAX_SCENARIO_BYTES, Scenario, ScenarioError, ScenarioEvent, load_scenario
from pyros.simulation.user_simulator import Submission, UserSimulator

__all__ = ["MAX_SCENARIO_BYTES", "Scenario", "ScenarioError", "ScenarioEvent", "Submission", "UserSimulator",
           "load_scenario"]
