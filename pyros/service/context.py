"""What a command may know about the request that invoked it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyros.messages import Partial

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallContext:
    """The request being served, given to a command that declares a parameter of this type.

    A command parameter annotated ``CallContext`` is not a wire argument: the
    runtime fills it. Built-in commands use it to stream progress.

    Attributes:
        request_id: The request's ``id``.
        command: The command name.
        level: The caller's access level.
        send_partial: The transport's callback taking an encoded PARTIAL body.
        principal: Who the caller is (see :meth:`pyros.service.AccessPolicy.principal_for`).
    """

    request_id: str
    command: str
    level: str
    send_partial: Callable[[bytes], None] | None = None
    principal: str = "anonymous"

    def progress(self, progress: dict[str, Any]) -> bool:
        """Stream one progress report to the caller (an 18/MDP PARTIAL).

        Never raises: a failure of the transport is logged and reported by
        the return value, and the command carries on.

        Args:
            progress: The ``progress`` map of the PARTIAL body.

        Returns:
            Whether the report was handed to the transport.
        """
        if self.send_partial is None:
            return False
        try:
            body = Partial(id=self.request_id, progress=progress).encode()
            self.send_partial(body)
        except Exception:  # noqa: BLE001 - the transport is not ours to trust
            logger.warning("could not send progress of request %s", self.request_id, exc_info=True)
            return False
        return True
