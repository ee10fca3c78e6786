"""The majordome's decisions, as pure functions over explicit tables (``docs/majordome.md``).

Modules:

* :mod:`~pyros.majordome.situation`: what the majordome sees at one instant.
* :mod:`~pyros.majordome.lifecycle`: its states, the transition table, and what each state wants
  of the devices.
"""
