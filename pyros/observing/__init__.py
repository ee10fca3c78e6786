"""Executing one sequence: the checks at dispatch and the plan of what to do (``docs/observer.md``).

Modules, one concept each:

* :mod:`~pyros.observing.reasons`: the machine-readable reason codes of a refusal or a failure.
* :mod:`~pyros.observing.dispatch`: the pure check made before a sequence starts.
* :mod:`~pyros.observing.safety`: reading the environment monitor's ``/env/safety`` verdict.
* :mod:`~pyros.observing.run_geometry`: the target's airmass and Moon distance across a run.
* :mod:`~pyros.observing.sequence_plan`: a stored sequence as the steps to execute.
* :mod:`~pyros.observing.device_calls`: starting a device operation and following it to its end.

The ``observer`` service (``servers/observer.py``) puts them together.
"""
