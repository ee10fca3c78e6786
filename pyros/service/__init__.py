"""The transport-independent service framework.

A service is a plain class::

    from typing import Literal
    from pyros.service import Service, Session, command, operation

    class Dome(Service):
        '''Dome controller.'''

        service_name = "dome"
        version = "1.2.0"

        @command(level="operator", timeout=10.0)
        def set_speed(self, degrees_per_s: float, mode: Literal["fast", "slow"] = "fast") -> dict:
            '''Set the rotation speed (the docstring's Args section documents parameters).'''

        @operation(level="operator")
        def open(self, session: Session, speed: float = 1.0) -> dict:
            ...

served by a :class:`ServiceRuntime`, which turns request bodies into reply
bodies (the MDP worker layer owns the sockets)::

    runtime = ServiceRuntime(Dome(), access=AccessPolicy({"tok": "operator"}))
    reply = runtime.handle(request_body, send_partial)

Error types in replies made by the framework: ``BadRequest`` (body is not a
request), ``DuplicateId``, ``AccessDenied``, ``UnknownCommand``,
``BadArgument``, ``CommandTimeout``, ``BadResult``, ``CommandFailed`` (a bare
``Exception``, or a thread could not be started), ``Busy``,
``UnknownSession``, ``ShuttingDown``, ``StartFailed``, ``InternalError``;
otherwise the class name of the exception a command raised.
"""

from __future__ import annotations

from pyros.service.access import LEVELS, AccessPolicy
from pyros.service.base import Service
from pyros.service.quantity import Quantity
from pyros.service.builtin_commands import BUILTIN_NAMES
from pyros.service.command import CommandSpec, ParamSpec, command, operation
from pyros.service.context import CallContext
from pyros.service.refusal import Refusal
from pyros.service.runtime import ServiceRuntime
from pyros.service.session import Session
from pyros.service.session_state import STATUSES

__all__ = [
    "BUILTIN_NAMES",
    "LEVELS",
    "STATUSES",
    "AccessPolicy",
    "CallContext",
    "CommandSpec",
    "ParamSpec",
    "Quantity",
    "Refusal",
    "Service",
    "ServiceRuntime",
    "Session",
    "command",
    "operation",
]
