"""Reading Google-style docstrings for ``describe``."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_SECTIONS = frozenset(
    {
        "args",
        "arguments",
        "parameters",
        "params",
        "keyword args",
        "keyword arguments",
        "returns",
        "return",
        "yields",
        "yield",
        "raises",
        "except",
        "exceptions",
        "note",
        "notes",
        "example",
        "examples",
        "attributes",
        "see also",
        "warning",
        "warnings",
        "todo",
        "references",
    }
)
_ARG_SECTIONS = frozenset({"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"})
_RETURN_SECTIONS = frozenset({"returns", "return", "yields", "yield"})
_HEADER = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*$")
_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


@dataclass(frozen=True)
class Docstring:
    """The parts of a Google-style docstring that ``describe`` shows.

    Attributes:
        description: Everything before the first section (summary and body).
        params: Documentation of each argument named in the ``Args`` section.
        returns: The text of the ``Returns`` section.
    """

    description: str = ""
    params: dict[str, str] = field(default_factory=dict)
    returns: str = ""


def _section_of(line: str) -> str | None:
    match = _HEADER.match(line)
    if match and match.group(1).strip().lower() in _SECTIONS:
        return match.group(1).strip().lower()
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _parse_args(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    content = [line for line in lines if line.strip()]
    if not content:
        return params
    entry_indent = min(_indent(line) for line in content)
    current: str | None = None
    for line in lines:
        if not line.strip():
            continue
        if _indent(line) == entry_indent:
            match = _ENTRY.match(line.strip())
            if match:
                current = match.group(1)
                params[current] = match.group(2).strip()
                continue
        if current is not None:
            params[current] = (params[current] + " " + line.strip()).strip()
    return params


def parse_docstring(doc: str | None) -> Docstring:
    """Split a Google-style docstring into description, arguments and returns.

    Args:
        doc: The raw docstring, or ``None``.

    Returns:
        The parsed parts; empty strings and an empty map where absent.
    """
    if not doc:
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    description: list[str] = []
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines:
        header = _section_of(line) if _indent(line) == 0 else None
        if header is not None:
            current = header
            sections.setdefault(current, [])
            continue
        if current is not None and line.strip() and _indent(line) == 0:
            current = None  # unindented text after a section ends that section
        if current is None:
            description.append(line)
        else:
            sections[current].append(line)
    params: dict[str, str] = {}
    returns = ""
    for name, body in sections.items():
        if name in _ARG_SECTIONS:
            params.update(_parse_args(body))
        elif name in _RETURN_SECTIONS:
            returns = " ".join(line.strip() for line in body if line.strip())
    return Docstring(description="\n".join(description).strip(), params=params, returns=returns)
