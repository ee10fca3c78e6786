"""The exception that turns into an error reply of a chosen type."""

from __future__ import annotations


class Refusal(Exception):
    """A request is refused, or a command fails, with a named error type.

    The runtime answers it with ``{"ok": false, "error": {"type":
    error_type, "message": message}}``. The framework raises it for its own
    errors (``BadArgument``, ``AccessDenied``, ``UnknownCommand``, ...);
    service authors may raise it too when they want an error type that is not
    the name of an exception class.

    Attributes:
        error_type: The ``error.type`` of the reply.
        message: The ``error.message`` of the reply.
    """

    def __init__(self, error_type: str, message: str) -> None:
        """Create the refusal.

        Args:
            error_type: The ``error.type`` of the reply (e.g. ``BadArgument``).
            message: A human-readable explanation naming what was wrong.
        """
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
