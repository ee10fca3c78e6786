"""What can be wrong with a request document, said precisely."""

from __future__ import annotations

from dataclasses import dataclass

from pyros.errors import PyrosError


@dataclass(frozen=True)
class RequestProblem:
    """One thing wrong with a request document.

    Attributes:
        message: What is wrong.
        line: Line of the element in the document (None when the document could not be read at all).
        element: Path of the element, e.g. ``/request/sequence[2]/target``.
        attribute: The attribute at fault, if one is.
    """

    message: str
    line: int | None = None
    element: str | None = None
    attribute: str | None = None

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.element:
            where.append(self.element)
        if self.attribute:
            where.append(f"@{self.attribute}")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, object]:
        """A plain mapping (for replies and ``--json`` output)."""
        return {"message": self.message, "line": self.line, "element": self.element, "attribute": self.attribute}


class InvalidRequest(PyrosError):
    """A request document was refused; nothing of it was stored.

    Attributes:
        problems: Every problem found (at least one).
    """

    def __init__(self, problems: list[RequestProblem]) -> None:
        if not problems:
            raise ValueError("an invalid request has at least one problem")
        self.problems = list(problems)
        count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
        super().__init__(f"invalid request ({count}): " + "; ".join(str(p) for p in problems))
