"""What can be wrong with a PLC status, located by its JSON path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from pyros.errors import PyrosError

ROOT_PATH = "$"
"""The path of the whole status (or of the raw input before it is a JSON value)."""
MAX_REPORTED_PROBLEMS = 50
"""Most problems spelled out in an :class:`InvalidPlcStatus` message; the rest are counted."""


def json_path(parts: Iterable[str | int]) -> str:
    """Spell a path into a JSON document the way every PLC error names it.

    Args:
        parts: Object keys and array indexes from the root, e.g. ``["device", 2, "values", 3, "value"]``.

    Returns:
        ``device[2].values[3].value``; ``$`` for the root itself.
    """
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or ROOT_PATH


@dataclass(frozen=True)
class PlcStatusProblem:
    """One thing wrong with a PLC status.

    Attributes:
        path: Where, as a JSON path into the status object (``device[2].values[3].value``); ``$`` for the whole
            input. A status wrapped in a one-element list (the seed's shape) is addressed without the list.
        message: What is wrong.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        """A plain mapping (for replies and logs)."""
        return {"path": self.path, "message": self.message}


class InvalidPlcStatus(PyrosError, ValueError):
    """A PLC status was refused; nothing of it should be used.

    Attributes:
        problems: Every problem found (at least one), in document order.
    """

    def __init__(self, problems: Sequence[PlcStatusProblem]) -> None:
        if not problems:
            raise ValueError("an invalid PLC status has at least one problem")
        self.problems: tuple[PlcStatusProblem, ...] = tuple(problems)
        shown = "; ".join(str(problem) for problem in self.problems[:MAX_REPORTED_PROBLEMS])
        hidden = len(self.problems) - MAX_REPORTED_PROBLEMS
        if hidden > 0:
            shown += f"; and {hidden} more"
        count = f"{len(self.problems)} problems" if len(self.problems) > 1 else "1 problem"
        super().__init__(f"invalid PLC status ({count}): {shown}")

    @classmethod
    def at(cls, path: str, message: str) -> InvalidPlcStatus:
        """The error for a single problem.

        Args:
            path: Where (see :attr:`PlcStatusProblem.path`).
            message: What is wrong.
        """
        return cls([PlcStatusProblem(path, message)])


_PATH_PART = re.compile(r"\[(\d+)\]|\.?([^.\[]+)")


def path_sort_key(path: str) -> tuple[tuple[int, int | str], ...]:
    """A key that orders JSON paths as their places in the document (``device[2]`` before ``device[10]``).

    Args:
        path: A path as :func:`json_path` spells it.
    """
    if path == ROOT_PATH:
        return ()
    return tuple((0, int(index)) if index else (1, key) for index, key in _PATH_PART.findall(path))
