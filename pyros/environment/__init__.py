"""The environment monitor's pure core: what each quantity means, whether it is safe, and the site's safety.

* :mod:`~pyros.environment.quantities`: the quantities the monitor knows, their units and words;
* :mod:`~pyros.environment.readings`: one sensor reading, as the monitor receives it;
* :mod:`~pyros.environment.scale`: the words of a quantity's values;
* :mod:`~pyros.environment.thresholds`: the ``unsafe_if`` limits;
* :mod:`~pyros.environment.settings`: the monitor's whole configuration, checked;
* :mod:`~pyros.environment.synthesis`: a reading turned into ``{value, meaning, decision}``;
* :mod:`~pyros.environment.tracker`: the safe/unsafe state machine with its hold time.

Nothing here reads a clock, the network or a database: callers pass the time (docs/monitor.md).
"""

from pyros.environment.quantities import QUANTITIES, QuantitySpec
from pyros.environment.readings import Reading
from pyros.environment.settings import MonitorSettings
from pyros.environment.synthesis import QuantitySynthesis, synthesise, synthesise_all
from pyros.environment.scale import Scale
from pyros.environment.thresholds import Threshold
from pyros.environment.tracker import SafetyState, SafetyTracker, UnsafeReason

__all__ = ["QUANTITIES", "MonitorSettings", "QuantitySpec", "QuantitySynthesis", "Reading", "SafetyState",
           "SafetyTracker", "Scale", "Threshold", "UnsafeReason", "synthesise", "synthesise_all"]
