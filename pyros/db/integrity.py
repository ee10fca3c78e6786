"""Turn a database's refusal of a write (``IntegrityError``) into an error naming the field.

PostgreSQL reports the constraint, table and column of a violation; SQLite
reports them in its message (``UNIQUE constraint failed: users.username``,
``CHECK constraint failed: ck_targets_ra_deg``), except for foreign keys.
Constraint names follow :data:`pyros.db.base.NAMING_CONVENTION`, so a name
leads back to its column through the metadata.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, MetaData, UniqueConstraint
from sqlalchemy.exc import IntegrityError

from pyros.db.errors import ConstraintViolation
from pyros.db.field_rules import RULE_KEY

_SQLITE_COLUMNS = re.compile(r"^(UNIQUE|NOT NULL) constraint failed: (.+)$")
_SQLITE_CHECK = re.compile(r"^CHECK constraint failed: (.+)$")

_PG_UNIQUE, _PG_NOT_NULL, _PG_FOREIGN_KEY, _PG_CHECK = "23505", "23502", "23503", "23514"


def _constraint_fields(metadata: MetaData) -> dict[str, tuple[str, str]]:
    """Map each named constraint to (field, what it requires)."""
    fields: dict[str, tuple[str, str]] = {}
    for table in metadata.tables.values():
        for constraint in table.constraints:
            name = constraint.name
            if not isinstance(name, str):
                continue
            if isinstance(constraint, CheckConstraint):
                field = constraint.info.get("field") or table.name
                column = table.columns.get(field.split(".")[-1]) if "." in field else None
                rule = column.info.get(RULE_KEY) if column is not None else None
                fields[name] = (field, rule.describe() if rule is not None else str(constraint.sqltext))
            elif isinstance(constraint, UniqueConstraint):
                columns = ", ".join(f"{table.name}.{c.name}" for c in constraint.columns)
                fields[name] = (columns, "the value is already used")
            elif isinstance(constraint, ForeignKeyConstraint):
                columns = ", ".join(f"{table.name}.{c.name}" for c in constraint.columns)
                fields[name] = (columns, f"must name an existing {constraint.referred_table.name} row "
                                         "and no other row may still refer to a deleted one")
    return fields


def explain_integrity_error(error: IntegrityError, metadata: MetaData) -> ConstraintViolation:
    """Describe a refused write in terms of the data model.

    Args:
        error: The exception SQLAlchemy raised.
        metadata: The metadata of the tables (for constraint names).

    Returns:
        A :class:`~pyros.db.errors.ConstraintViolation` whose message names the
        field (``table.column``) when the database said which it was.
    """
    original: Any = error.orig
    diag = getattr(original, "diag", None)
    if diag is not None:
        return _explain_postgresql(original, diag, metadata)
    return _explain_sqlite(str(original), metadata)


def _explain_postgresql(original: Any, diag: Any, metadata: MetaData) -> ConstraintViolation:
    code = getattr(original, "sqlstate", None)
    constraint = diag.constraint_name
    if code == _PG_NOT_NULL and diag.table_name and diag.column_name:
        field = f"{diag.table_name}.{diag.column_name}"
        return ConstraintViolation(f"{field}: is required", field=field)
    known = _constraint_fields(metadata).get(constraint or "")
    if known is not None:
        field, requirement = known
        return ConstraintViolation(f"{field}: {requirement} (constraint {constraint})", field=field,
                                   constraint=constraint)
    detail = (diag.message_detail or diag.message_primary or str(original)).strip()
    kind = {_PG_UNIQUE: "duplicate value", _PG_FOREIGN_KEY: "dangling reference", _PG_CHECK: "check failed"}
    return ConstraintViolation(f"{kind.get(code or '', 'refused by the database')}: {detail}", constraint=constraint)


def _explain_sqlite(message: str, metadata: MetaData) -> ConstraintViolation:
    match = _SQLITE_COLUMNS.match(message)
    if match:
        kind, field = match.groups()
        requirement = "the value is already used" if kind == "UNIQUE" else "is required"
        return ConstraintViolation(f"{field}: {requirement}", field=field)
    match = _SQLITE_CHECK.match(message)
    if match:
        constraint = match.group(1)
        known = _constraint_fields(metadata).get(constraint)
        if known is not None:
            field, requirement = known
            return ConstraintViolation(f"{field}: {requirement} (constraint {constraint})", field=field,
                                       constraint=constraint)
        return ConstraintViolation(f"check failed: {constraint}", constraint=constraint)
    if message.startswith("FOREIGN KEY constraint failed"):
        return ConstraintViolation("a reference names a row that does not exist, or a deleted row "
                                   "is still referred to (FOREIGN KEY constraint failed)")
    return ConstraintViolation(f"refused by the database: {message}")
