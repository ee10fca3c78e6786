"""PyROS: robotic observatory control over ZeroMQ Majordomo microservices.

The names most programs need are importable from here::

    from pyros import Client, Service, command, operation, Session
"""

from __future__ import annotations

from pyros.aio_client import AsyncClient
from pyros.client import Client
from pyros.errors import (CommandError, ConfigError, ProtocolError, PyrosError, RequestTimeout, RetryExhausted,
                          ServiceUnavailable, TransportError)
from pyros.service import AccessPolicy, Service, Session, command, operation

__version__ = "0.1.0"

__all__ = [
    "AccessPolicy", "AsyncClient", "Client", "CommandError", "ConfigError", "ProtocolError", "PyrosError",
    "RequestTimeout", "RetryExhausted", "Service", "ServiceUnavailable", "Session", "TransportError", "command",
    "operation", "__version__",
]
