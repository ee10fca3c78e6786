"""Checks of the values given to columns, in Python and in the database.

A column declares its rule once, in ``info``::

    ra_deg: Mapped[float] = mapped_column(info=field_rule(ge=0.0, lt=360.0))

From that one declaration (see :class:`pyros.db.base.Base`):

* assigning a value to the attribute checks it at once: its Python type must
  fit the column type (an ``int`` for an Integer, a finite number for a Float,
  a string no longer than the column for a String, an aware datetime for a
  timestamp, JSON-serialisable data for a JSON column, ``None`` only when the
  column is nullable), then the rule; a bad value raises
  :class:`~pyros.db.errors.InvalidField` naming ``table.column``;
* the table gets a ``CHECK`` constraint with the same bounds, so that rows
  written by other means are held to them too.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Float, Integer, Numeric, String

from pyros.db.errors import InvalidField
from pyros.db.timestamps import UTCDateTime, as_utc

RULE_KEY = "pyros_rule"
"""Key of a column's ``info`` holding its :class:`FieldRule`."""


def _sql_literal(value: float | str) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


@dataclass(frozen=True)
class FieldRule:
    """Bounds and choices a column's value must satisfy (``None`` values are not checked).

    Attributes:
        ge: Smallest allowed value (inclusive).
        gt: Value that the column must exceed.
        le: Largest allowed value (inclusive).
        lt: Value that the column must stay below.
        choices: The only allowed values (strings).
        non_empty: A string must contain something other than blanks.
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] | None = None
    non_empty: bool = False

    def describe(self) -> str:
        """Say in words what the rule requires, e.g. ``must be >= 0 and < 360``."""
        bounds = [f"{symbol} {bound:g}" for symbol, bound in
                  ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt)) if bound is not None]
        parts = ["must be " + " and ".join(bounds)] if bounds else []
        if self.choices is not None:
            parts.append("must be one of " + ", ".join(self.choices))
        if self.non_empty:
            parts.append("must not be blank")
        return "; ".join(parts)

    def check(self, field: str, value: Any) -> None:
        """Raise :class:`InvalidField` naming ``field`` if ``value`` breaks the rule."""
        if value is None:
            return
        if isinstance(value, (int, float)) and (
            (self.ge is not None and not value >= self.ge)
            or (self.gt is not None and not value > self.gt)
            or (self.le is not None and not value <= self.le)
            or (self.lt is not None and not value < self.lt)
        ):
            raise InvalidField(field, value, self.describe())
        if self.choices is not None and value not in self.choices:
            raise InvalidField(field, value, self.describe())
        if self.non_empty and isinstance(value, str) and not value.strip():
            raise InvalidField(field, value, self.describe())

    def sql(self, column: str) -> str:
        """Return the SQL condition enforcing the rule on ``column`` (for a CHECK constraint)."""
        terms = [f"{column} {symbol} {_sql_literal(bound)}" for symbol, bound in
                 ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt)) if bound is not None]
        if self.choices is not None:
            terms.append(f"{column} IN ({', '.join(_sql_literal(c) for c in self.choices)})")
        if self.non_empty:
            terms.append(f"length(trim({column})) > 0")
        return " AND ".join(terms)


def field_rule(**bounds: Any) -> dict[str, FieldRule]:
    """Return a column ``info`` dict carrying a :class:`FieldRule` built from ``bounds``.

    Raises:
        TypeError: For an unknown keyword.
    """
    return {RULE_KEY: FieldRule(**bounds)}


def checked_value(column: Column[Any], field: str, value: Any) -> Any:
    """Check a value assigned to ``column`` and return it in the column's Python type.

    Args:
        column: The mapped column.
        field: Its name for messages (``table.column``).
        value: The value assigned.

    Returns:
        The value, converted where the conversion is exact (a NumPy integer to
        ``int``, a number to ``float``, a datetime to UTC).

    Raises:
        InvalidField: naming ``field`` when the value does not fit.
    """
    if value is None:
        if column.nullable or column.primary_key:
            return None
        raise InvalidField(field, value, "is required")
    kind = column.type
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise InvalidField(field, value, "must be true or false")
    elif isinstance(kind, Integer):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise InvalidField(field, value, "must be an integer")
        value = int(value)
    elif isinstance(kind, (Float, Numeric)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InvalidField(field, value, "must be a number")
        value = float(value)
        if not math.isfinite(value):
            raise InvalidField(field, value, "must be a finite number")
    elif isinstance(kind, String):
        if not isinstance(value, str):
            raise InvalidField(field, value, "must be text")
        if kind.length is not None and len(value) > kind.length:
            raise InvalidField(field, value, f"must be at most {kind.length} characters long")
    elif isinstance(kind, UTCDateTime):
        if not isinstance(value, datetime):
            raise InvalidField(field, value, "must be a timezone-aware datetime")
        try:
            value = as_utc(value, field)
        except ValueError:
            raise InvalidField(field, value, "must be a timezone-aware datetime (naive ones are ambiguous)") from None
    elif isinstance(kind, JSON):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidField(field, value, f"must be JSON data ({exc})") from None
    rule = column.info.get(RULE_KEY)
    if rule is not None:
        rule.check(field, value)
    return value
