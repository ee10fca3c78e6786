"""Exceptions of the INDI client library (:mod:`pyros.indi`).

Three families, by what the caller can do about them:

* :class:`IndiStreamError` (and :class:`IndiLimitError`): the byte stream from
  the server cannot be parsed, or a safety limit was exceeded. The parser is
  dead afterwards and the client drops the connection.
* :class:`IndiMessageError`: one well-formed element does not follow the INDI
  schema (missing attribute, unknown state, bad number...). The parser reports
  it as an :class:`~pyros.indi.messages.InvalidElement` and goes on.
* :class:`IndiConnectionError`, :class:`IndiTimeout`, :class:`IndiPropertyAlert`,
  :class:`IndiUnknownProperty`: what a client call can raise (no connection,
  no answer in time, the device answered with the ``Alert`` state, a command
  for a property the server has not defined).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyros.errors import PyrosError

if TYPE_CHECKING:
    from pyros.indi.vector import PropertyVector


class IndiError(PyrosError):
    """Base class of every INDI library error."""


class IndiStreamError(IndiError):
    """The byte stream is not a valid INDI XML stream; the connection cannot go on."""


class IndiLimitError(IndiStreamError):
    """The stream exceeded a safety limit (element size, nesting depth, BLOB size)."""


class IndiMessageError(IndiError, ValueError):
    """A well-formed XML element does not follow the INDI protocol schema."""


class IndiConnectionError(IndiError, ConnectionError):
    """No connection to the INDI server, or the connection was lost."""


class IndiTimeout(IndiError, TimeoutError):
    """An expected property update did not arrive in time."""


class IndiPropertyAlert(IndiError):
    """The device set a property to the ``Alert`` state while we waited for it.

    Attributes:
        vector: The property vector in the ``Alert`` state.
    """

    def __init__(self, message: str, vector: PropertyVector) -> None:
        super().__init__(message)
        self.vector = vector


class IndiUnknownProperty(IndiError, LookupError):
    """A command names a device or property the INDI server has not defined."""
