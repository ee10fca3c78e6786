"""Supervision of service processes: the parts the supervisor (``servers.supervisor``) is built from.

- :mod:`pyros.supervision.restart_policy`: when and whether to restart a child (pure);
- :mod:`pyros.supervision.process_group`: the child processes of one host, kept in their target state;
- :mod:`pyros.supervision.spec_diff`: what a configuration reload changes (pure);
- :mod:`pyros.supervision.kv_states`: the children's states in the K/V store, and reading them back;
- :mod:`pyros.supervision.daemon`: detaching, readiness and the pid file of ``pyros start --detach``.
"""

from __future__ import annotations

from pyros.supervision.restart_policy import (
    ALLOWED_TRANSITIONS,
    Action,
    ChildHistory,
    ChildState,
    Decision,
    RestartPolicy,
    check_transition,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "Action",
    "ChildHistory",
    "ChildState",
    "Decision",
    "RestartPolicy",
    "check_transition",
]
