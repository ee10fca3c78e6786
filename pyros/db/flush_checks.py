"""Checks a session runs just before it writes: rows as a whole, and the rows they refer to.

Attribute assignments already check single values (:mod:`pyros.db.field_rules`).
Before each flush, for every new or changed row, :func:`check_before_flush`

* calls :meth:`~pyros.db.base.Base.check_row` (rules across several columns,
  e.g. a time window must end after it starts);
* checks that each foreign key set by id names an existing row (e.g. an
  observation request for user 999 fails with ``requests.user_id: must name an
  existing users row (by id), got 999``), with one query per referenced table.

The database's own constraints stay in force behind these checks; these only
make the errors say which field was wrong on every backend (SQLite reports a
dangling foreign key without naming it).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Column, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from pyros.db.base import Base
from pyros.db.errors import InvalidField


def check_before_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    """``before_flush`` listener: run row checks and reference checks (see the module docstring).

    Raises:
        InvalidField: naming the first field at fault; nothing has been written.
    """
    with session.no_autoflush:
        changed = [obj for obj in session.new if isinstance(obj, Base)]
        changed += [obj for obj in session.dirty if isinstance(obj, Base) and session.is_modified(obj)]
        for obj in changed:
            obj.check_row()
        _check_references(session, changed)


def _check_references(session: Session, rows: list[Base]) -> None:
    wanted: dict[Column[Any], dict[Any, str]] = defaultdict(dict)
    for obj in rows:
        state = inspect(obj)
        for prop in state.mapper.column_attrs:
            column = prop.columns[0]
            if not isinstance(column, Column) or not column.foreign_keys:
                continue
            value = state.dict.get(prop.key)
            if value is None or (state.has_identity and not state.attrs[prop.key].history.added):
                continue
            (foreign_key,) = column.foreign_keys
            wanted[foreign_key.column].setdefault(value, f"{column.table.name}.{column.name}")
    for target, values in wanted.items():
        pending = _pending_keys(session, target)
        needed = [v for v in values if v not in pending]
        if not needed:
            continue
        found = set(session.execute(select(target).where(target.in_(needed))).scalars())
        for value in needed:
            if value not in found:
                raise InvalidField(values[value], value,
                                   f"must name an existing {target.table.name} row (by {target.name})")


def _pending_keys(session: Session, target: Column[Any]) -> set[Any]:
    """Return the values of ``target`` on rows about to be inserted in the same flush."""
    keys = set()
    for obj in session.new:
        mapper = inspect(obj).mapper
        if target.table in mapper.tables:
            prop = mapper.get_property_by_column(target)
            value = inspect(obj).dict.get(prop.key)
            if value is not None:
                keys.add(value)
    return keys
