"""The head of a job or scenario table: its name, and no unknown field."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol, TypeVar

__all__ = ["named_table", "named_tables"]


class _Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=_Named)


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


def named_tables(kind: str, key: str, tables: Any, parse: Callable[[str, Any], T]) -> list[T]:
    """Read a list of named tables (``jobs``, ``scenarios``), each with ``parse``, names unique.

    Args:
        kind: What each table declares (``job``, ``scenario``), for messages.
        key: The list's key in the configuration (``jobs``, ``scenarios``).
        tables: The list read from the configuration (``None`` for none).
        parse: Reads one table, given where it is (``jobs[2]``) and the table.

    Returns:
        The parsed items, in order.

    Raises:
        ValueError: For a list that is not one, a bad table, or a name used twice.
    """
    if tables is None:
        return []
    if isinstance(tables, (str, bytes)) or not isinstance(tables, Sequence):
        raise ValueError(f"{key} must be a list of tables, got {type(tables).__name__} {tables!r}")
    items: list[T] = []
    seen: set[str] = set()
    for index, table in enumerate(tables):
        item = parse(f"{key}[{index}]", table)
        if item.name in seen:
            raise ValueError(f"{kind} {item.name!r} ({key}[{index}]): the name is used by another {kind}")
        seen.add(item.name)
        items.append(item)
    return items
