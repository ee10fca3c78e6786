"""Exceptions raised by the PyROS client and service APIs.

Two families are kept apart, as ARCHITECTURE.md section 2 requires:

* :class:`TransportError` and its subclasses: the request did not complete
  (nobody serves it, the broker gave up, no reply in time, garbled reply).
  The command may or may not have run.
* :class:`CommandError`: the command reached the service, ran (or was
  refused by it) and failed. It carries the error ``type`` and ``message``
  that the service put in its reply.
"""

from __future__ import annotations

from typing import Any


class PyrosError(Exception):
    """Base class of every PyROS exception."""


class ConfigError(PyrosError):
    """A configuration value is unknown, missing or of the wrong type."""


class MessageError(PyrosError):
    """A message body could not be decoded or is not of the documented form."""


class TransportError(PyrosError):
    """The request did not complete; the outcome of the command is unknown."""


class ServiceUnavailable(TransportError):
    """No live worker served the service before the broker's deadline."""


class RetryExhausted(TransportError):
    """Workers died holding the request more often than the broker's retry cap."""


class RequestTimeout(TransportError, TimeoutError):
    """No reply arrived in time, after every retry."""


class ProtocolError(TransportError):
    """A peer answered with frames that do not follow the protocol."""


class CommandError(PyrosError):
    """The service ran or refused the command and reported a failure.

    Attributes:
        type: The error type named by the service (e.g. ``BadArgument``).
        message: The human-readable explanation.
        data: Any data the service attached to the failed reply.
    """

    def __init__(self, type: str, message: str, data: Any = None) -> None:  # noqa: A002
        super().__init__(f"{type}: {message}")
        self.type = type
        self.message = message
        self.data = data


BROKER_ERRORS: dict[str, type[TransportError]] = {
    "ServiceUnavailable": ServiceUnavailable,
    "RetryExhausted": RetryExhausted,
}
"""Error types the broker itself puts in replies, mapped to client exceptions."""
