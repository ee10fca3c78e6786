"""The night planner: which sequences run, in which order, at what time (``docs/scheduler.md``).

Modules:

* :mod:`~pyros.scheduling.problem`: what is asked (sequences, night, origin).
* :mod:`~pyros.scheduling.overheads`: transitions between sequences.
* :mod:`~pyros.scheduling.visibility`: when each sequence may start.
* :mod:`~pyros.scheduling.timeline`: an order with earliest and latest starts.
* :mod:`~pyros.scheduling.planner`: construction, improvement, times, reasons.
* :mod:`~pyros.scheduling.plan`: the answer (entries, reasons for the left out).
* :mod:`~pyros.scheduling.verify`: an independent checker of plans.
* :mod:`~pyros.scheduling.store`: problems from the database, plans into it.
"""
