"""Supervision of service processes: when and whether to restart them.

The supervisor itself (which spawns one process per configured service) lives
elsewhere; this package holds the pure decision logic it consults, see
:mod:`pyros.supervision.restart_policy`.
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
