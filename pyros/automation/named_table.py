"""The head of a job or scenario table: its name, and no unknown field."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

__all__ = ["named_table"]


def named_table(kind: str, where: str, table: Any, allowed: Collection[str]) -> tuple[str, str]:
    """Check that ``table`` is a table with a non-empty ``name`` and only ``allowed`` fields.

    Args:
        kind: What the table declares (``job``, ``scenario``), for messages.
        where: Where the table is (e.g. ``jobs[2]``), for messages.
        table: The table read from the configuration.
        allowed: Its allowed fields.

    Returns:
        The name, and the place to quote in later messages (``job 'x' (jobs[2])``).

    Raises:
        ValueError: Naming the table and the field at fault.
    """
    if not isinstance(table, Mapping):
        raise ValueError(f"{where} must be a table, got {type(table).__name__} {table!r}")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}.name must be non-empty text, got {name!r}")
    where = f"{kind} {name!r} ({where})"
    unknown = set(table) - set(allowed)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))} "
                         f"(allowed: {', '.join(sorted(allowed))})")
    return name, where
