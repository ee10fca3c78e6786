"""The declarative base of every PyROS table.

* Constraint names follow one convention (``pk_``, ``fk_``, ``uq_``, ``ix_``,
  ``ck_`` + table + columns), so the migrations name them identically on SQLite
  and PostgreSQL and an error reported by the database can be traced back to
  its column.
* ``datetime`` attributes are stored as aware UTC instants
  (:class:`~pyros.db.timestamps.UTCDateTime`), ``dict`` attributes as JSON.
* Every column attribute checks what is assigned to it (type, nullability and
  its :func:`~pyros.db.field_rules.field_rule`), and each rule also becomes a
  ``CHECK`` constraint named ``ck_<table>_<column>``.
* :meth:`Base.check_row` is the hook for checks across several columns; the
  session runs it before writing (see :mod:`pyros.db.flush_checks`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, MetaData, Table, event
from sqlalchemy.orm import DeclarativeBase, Mapper

from pyros.db.field_rules import RULE_KEY, checked_value
from pyros.db.timestamps import UTCDateTime

NAMING_CONVENTION: dict[str, str] = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}
"""How constraints are named (SQLAlchemy naming convention tokens)."""


class Base(DeclarativeBase):
    """Base class of the mapped entities (see the module docstring)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Map the class, then add a CHECK constraint for each column rule."""
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if isinstance(table, Table):
            _add_check_constraints(table)

    def check_row(self) -> None:
        """Check rules that involve several columns; called before the row is written.

        Raises:
            InvalidField: naming the column at fault. The base class checks nothing.
        """


def _add_check_constraints(table: Table) -> None:
    for column in table.columns:
        rule = column.info.get(RULE_KEY)
        if rule is not None:
            table.append_constraint(CheckConstraint(rule.sql(column.name), name=column.name,
                                                    info={"field": f"{table.name}.{column.name}"}))


@event.listens_for(Base, "mapper_configured", propagate=True)
def _install_value_checks(mapper: Mapper[Any], cls: type[Base]) -> None:
    """Make every column attribute of a mapped class check what is assigned to it."""
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if not isinstance(column, Column):
            continue
        field = f"{column.table.name}.{column.name}"

        def check(target: Any, value: Any, oldvalue: Any, initiator: Any, column: Column[Any] = column,
                  field: str = field) -> Any:
            return checked_value(column, field, value)

        event.listen(getattr(cls, prop.key), "set", check, retval=True)
